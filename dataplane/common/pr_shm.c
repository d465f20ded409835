// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_shm.h over POSIX shared memory (shm_open, mmap).
 */
#include "pr_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pr_ring.h"

bool pr_shm_instance_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > PR_INSTANCE_MAX || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       n;
}

static const char *rundir(void)
{
	const char *d = getenv("XDG_RUNTIME_DIR");

	return d && d[0] && !access(d, W_OK) ? d : "/tmp";
}

void pr_shm_names(const char *name, char *shm, size_t shm_len, char *ctl, size_t ctl_len)
{
	if (name) {
		snprintf(shm, shm_len, "/packetrecorder.%s", name);
		snprintf(ctl, ctl_len, "%s/packetrecorder.%s.sock", rundir(), name);
		return;
	} else {
		uint32_t rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)time(NULL) ^ (uint32_t)getpid();
		snprintf(shm, shm_len, "/packetrecorder-%d-%08x", (int)getpid(), rnd);
		snprintf(ctl, ctl_len, "%s/packetrecorder-%d-%08x.sock", rundir(), (int)getpid(),
			 rnd);
	}
}

static uint32_t pow2_floor(uint64_t v)
{
	uint32_t p = 1;

	while ((uint64_t)p * 2 <= v && p < (1u << 30))
		p *= 2;
	return p;
}

int pr_shm_create(const char *shm_name, const struct pr_dp_cfg *cfg, uint64_t tx_ring_bytes,
		  uint32_t flags, const char *instance, const char *ctl_path, void **base,
		  size_t *size, char *err, size_t errlen)
{
	uint32_t workers = cfg->mode == PR_DP_MODE_CAPTURE ? cfg->workers : 1;
	uint32_t rx_slots, tx_slots;
	struct pr_shm_header *sh;
	void *b = MAP_FAILED;
	size_t sz;
	int fd, ret;

	*base = NULL;
	*size = 0;
	ret = pr_dpcfg_check(cfg, err, errlen);
	if (ret)
		return ret;
	rx_slots = pow2_floor(cfg->ring_bytes / PR_RING_SLOT_SIZE);
	tx_slots = pow2_floor((tx_ring_bytes ? tx_ring_bytes : 65536) / PR_RING_SLOT_SIZE);
	sz = pr_shm_size(workers, rx_slots, tx_slots);
	fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "shared memory %s: %s", shm_name, strerror(errno));
		return ret;
	}
	/*
	 * Allocate the pages now: a sparse region on a small /dev/shm would
	 * kill both processes with SIGBUS on first touch instead of failing here.
	 */
	ret = ftruncate(fd, (off_t)sz) ? errno : posix_fallocate(fd, 0, (off_t)sz);
	if (ret) {
		snprintf(
			err, errlen,
			"shared memory %s: %zu bytes: %s (make /dev/shm larger or lower ring_bytes)",
			shm_name, sz, strerror(ret));
		ret = -ret;
		goto fail;
	}
	b = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "shared memory %s: map: %s", shm_name, strerror(errno));
		goto fail;
	}
	ret = pr_shm_format_cfg(b, sz, cfg, workers, rx_slots, tx_slots);
	if (ret) {
		snprintf(err, errlen, "shared memory %s: layout failed", shm_name);
		goto fail;
	}
	/* The magic is written; these fields are read only after the maker starts a reader. */
	sh = b;
	sh->flags = flags;
	snprintf(sh->instance, sizeof(sh->instance), "%s", instance ? instance : "");
	snprintf(sh->ctl_path, sizeof(sh->ctl_path), "%s", ctl_path ? ctl_path : "");
	close(fd);
	*base = b;
	*size = sz;
	return 0;
fail:
	if (b != MAP_FAILED)
		munmap(b, sz);
	close(fd);
	shm_unlink(shm_name);
	return ret;
}

int pr_shm_open(const char *shm_name, void **base, size_t *size, char *err, size_t errlen)
{
	struct stat sb;
	void *b;
	int fd, ret;

	*base = NULL;
	*size = 0;
	fd = shm_open(shm_name, O_RDWR, 0);
	if (fd < 0 || fstat(fd, &sb)) {
		ret = -errno;
		snprintf(err, errlen, "shared memory %s: %s", shm_name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	b = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (b == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "shared memory %s: map: %s", shm_name, strerror(errno));
		return ret;
	}
	if (pr_shm_check(b, (size_t)sb.st_size)) {
		munmap(b, (size_t)sb.st_size);
		snprintf(err, errlen,
			 "shared memory %s: not a packetrecorder region of this version", shm_name);
		return -EPROTO;
	}
	*base = b;
	*size = (size_t)sb.st_size;
	return 0;
}

void pr_shm_close(void *base, size_t size)
{
	if (base && base != MAP_FAILED)
		munmap(base, size);
}

bool pr_shm_pid_alive(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int pr_shm_consumer_claim(void *base, int32_t *holder)
{
	struct pr_shm_header *sh = base;
	int32_t me = (int32_t)getpid();
	int32_t cur = atomic_load(&sh->consumer_pid);

	for (;;) {
		if (cur == me)
			return 0;
		if (cur > 0 && pr_shm_pid_alive(cur)) {
			*holder = cur;
			return -EBUSY;
		}
		if (atomic_compare_exchange_weak(&sh->consumer_pid, &cur, me))
			return 0;
	}
}

void pr_shm_consumer_release(void *base)
{
	struct pr_shm_header *sh = base;
	int32_t me = (int32_t)getpid();

	atomic_compare_exchange_strong(&sh->consumer_pid, &me, 0);
}
