/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Making, mapping and naming the shared-memory region of pr_record.h,
 * for whichever process makes it (the control plane for a capture it
 * starts, packetrecorder-dataplane when it runs on its own) and whichever
 * attaches to it. A private region is named after its maker's pid
 * ("/packetrecorder-PID-RANDOM"); a named instance is
 * "/packetrecorder.NAME", its control socket "RUNDIR/packetrecorder.NAME.sock"
 * (RUNDIR: $XDG_RUNTIME_DIR when writable, else /tmp), and both are kept in
 * the region's header so an attaching process needs only the name.
 * Startup and shutdown paths only; any thread.
 */
#ifndef PR_SHM_H
#define PR_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pr_dpcfg.h"
#include "pr_record.h"

#define PR_SHM_NAME_MAX 80
#define PR_SHM_CTL_MAX 108
#define PR_INSTANCE_MAX 48 /* bytes of an instance name */

/* An instance name: 1 to 48 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool pr_shm_instance_valid(const char *name);

/*
 * The region and socket names of instance name (checked valid), or of a
 * private region of this process when name is NULL (a random part keeps
 * two of one process apart).
 */
void pr_shm_names(const char *name, char *shm, size_t shm_len, char *ctl, size_t ctl_len);

/*
 * Make the region shm_name (it must not exist: -EEXIST) for cfg (checked
 * with pr_dpcfg_check: the worker count, ring_bytes and mode come from it)
 * with a tx ring of tx_ring_bytes (0: 64 KiB), every page allocated now
 * (a sparse region on a small /dev/shm would SIGBUS later), laid out with
 * the settings, flags, instance and ctl_path in its header. Maps it at
 * *base (*size bytes). Returns 0 or -errno with err naming the region.
 */
int pr_shm_create(const char *shm_name, const struct pr_dp_cfg *cfg, uint64_t tx_ring_bytes,
		  uint32_t flags, const char *instance, const char *ctl_path, void **base,
		  size_t *size, char *err, size_t errlen);

/*
 * Map an existing region and check it (pr_shm_check). Returns 0, -ENOENT
 * (no such region), -EPROTO (not a region of this layout version), or
 * another -errno; err says which.
 */
int pr_shm_open(const char *shm_name, void **base, size_t *size, char *err, size_t errlen);

/* Unmap (base may be NULL or MAP_FAILED). */
void pr_shm_close(void *base, size_t size);

/* Is process pid alive (signal 0 reaches it, or exists but is not ours)? pid <= 0: no. */
bool pr_shm_pid_alive(int32_t pid);

/*
 * Claim the region as its consumer: consumer_pid becomes our pid if it is
 * 0 or names a process that is gone. Returns 0, or -EBUSY with *holder
 * set to the live consumer's pid.
 */
int pr_shm_consumer_claim(void *base, int32_t *holder);
/* Give it up (only if we hold it). */
void pr_shm_consumer_release(void *base);

#endif /* PR_SHM_H */
