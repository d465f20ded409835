/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control plane's handle on one dataplane process: it creates the
 * shared-memory region (rings), private or named as an instance, starts
 * packetrecorder-dataplane on it (tied to us, or detached so that it
 * outlives us), or attaches to the region of a dataplane that runs on its
 * own or that a dead control plane started; sends it commands over its
 * unix socket, notices when it exits (within a poll), and removes the
 * region and socket once what they hold is stored.
 * Main thread of the control plane.
 */
#ifndef PR_DPCTL_H
#define PR_DPCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pr_config.h"
#include "pr_ring.h"

struct pr_dp;

/*
 * Create the region: the dataplane's settings (dpc, checked; copied into
 * the region, where the dataplane reads them), one rx ring of
 * cfg->ring_bytes per worker (dpc->workers in capture mode, none used in
 * tx mode), the tx core's report ring, and a tx ring (tx_ring_bytes;
 * small unless replaying). Returns 0 or -errno (err says why).
 */
int pr_dp_create(const struct pr_config *cfg, const struct pr_dp_cfg *dpc, uint64_t tx_ring_bytes,
		 struct pr_dp **out, char *err, size_t errlen);
/*
 * The same for a named instance (pr_shm.h names; NULL: private, as
 * pr_dp_create). A named instance's dataplane is started detached by
 * pr_dp_spawn(): its own session, no die-with-parent, so that it captures
 * on when this process dies; a later `capture --attach NAME` goes on. We
 * are its consumer from the start. -EEXIST (err says what to do) when
 * the instance exists, -EINVAL for a bad name.
 */
int pr_dp_create_instance(const struct pr_config *cfg, const struct pr_dp_cfg *dpc,
			  uint64_t tx_ring_bytes, const char *instance, struct pr_dp **out,
			  char *err, size_t errlen);
/*
 * Attach to instance NAME's region as its consumer: made by a
 * packetrecorder-dataplane running on its own, or by a control plane that
 * died. The dataplane is watched through a pidfd. Returns 0, -ENOENT (no
 * such instance), -EPROTO (not a region of this version), -EBUSY (another
 * live process consumes it; err names it), -EINVAL (bad name). The region
 * stays after pr_dp_destroy() unless pr_dp_consumed() was called.
 */
int pr_dp_attach(const char *instance, struct pr_dp **out, char *err, size_t errlen);
/* The settings the region carries (the dataplane's: source, filter, workers, ...). */
const struct pr_dp_cfg *pr_dp_cfg(const struct pr_dp *dp);
const char *pr_dp_instance(const struct pr_dp *dp); /* "" for a private region */
/*
 * The session the consumer stores into, kept in the region so that the
 * next consumer goes on with it: set it once the session exists; read it
 * (0: none yet; store_path gets the store's path).
 */
void pr_dp_set_session(struct pr_dp *dp, int64_t session, const char *store_path);
int64_t pr_dp_session(const struct pr_dp *dp, char *store_path, size_t len);
/* Everything the rings held is stored: destroy may remove the region and socket. */
void pr_dp_consumed(struct pr_dp *dp);
/*
 * Start the dataplane on the region. It takes its settings from there; args
 * (NULL-terminated, or NULL) are extra options such as -v. The child gets
 * --shm, --ctl and --die-with-parent, runs in its own process group (a
 * terminal's Ctrl-C reaches only us; we stop it cleanly).
 */
int pr_dp_spawn(struct pr_dp *dp, const char *const *args, char *err, size_t errlen);
/* Ask it to stop: the control socket, or SIGTERM if that fails. */
void pr_dp_stop(struct pr_dp *dp);
/*
 * Has it exited? Returns 1 (and its wait status) once it has, 0 while it
 * runs. Never blocks.
 */
int pr_dp_exited(struct pr_dp *dp, int *status);
/* Describe a wait status: "exited with status 1", "killed by signal 9". */
void pr_dp_describe_status(int status, char *buf, size_t len);
/* How it ended: the wait status of our child, or that an attached one is gone. */
void pr_dp_describe_exit(const struct pr_dp *dp, char *buf, size_t len);
/* Wait for exit up to timeout_ms, then SIGKILL. Returns its wait status (0 when not our child). */
int pr_dp_wait(struct pr_dp *dp, int timeout_ms);
pid_t pr_dp_pid(const struct pr_dp *dp);
/* Has the dataplane opened its source and started its cores (region state RUNNING or DONE)? */
bool pr_dp_started(const struct pr_dp *dp);

/* The rx rings of the region (one per worker core), for a consumer to attach. */
uint32_t pr_dp_rx_rings(const struct pr_dp *dp);
struct pr_ring_header *pr_dp_rx_ring(struct pr_dp *dp, uint32_t i);
/* The consumer end of the tx core's report ring (its interface, counters, END). */
struct pr_ring_cons *pr_dp_report_cons(struct pr_dp *dp);
struct pr_ring_prod *pr_dp_tx_prod(struct pr_dp *dp);

/*
 * Kill our child if it still runs (unless the region is to be kept), give
 * up being the consumer, unmap, and unlink the region and socket unless
 * they are kept (attached, not yet consumed). NULL is a no-op.
 */
void pr_dp_destroy(struct pr_dp *dp);

#endif /* PR_DPCTL_H */
