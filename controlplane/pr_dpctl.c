// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_dpctl.h. The region lives in /dev/shm under a name
 * made of our pid and a random part; the control socket sits in the run
 * directory ($XDG_RUNTIME_DIR, else /tmp) under the same name.
 */
#define _GNU_SOURCE /* pipe2 */
#define PR_LOG_MODULE "dpctl"

#include "pr_dpctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pr_log.h"

struct pr_dp {
	char shm_name[64];
	char ctl_path[108];
	char dataplane[PATH_MAX];
	void *base;
	size_t size;
	pid_t pid;
	bool reaped;
	int status;
	struct pr_ring_cons report; /* the tx core's */
	struct pr_ring_prod tx;
};

static uint32_t pow2_floor(uint64_t v)
{
	uint32_t p = 1;

	while ((uint64_t)p * 2 <= v && p < (1u << 30))
		p *= 2;
	return p;
}

static void copy_str(char *out, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(out, src, n);
	out[n] = 0;
}

static bool executable(const char *p)
{
	return access(p, X_OK) == 0;
}

static void find_dataplane(const struct pr_config *cfg, char *out, size_t len)
{
	char self[PATH_MAX], cand[PATH_MAX + 64];
	const char *env = getenv("PACKETRECORDER_DATAPLANE");
	ssize_t n;

	if (env && env[0]) {
		snprintf(out, len, "%s", env);
		return;
	}
	if (cfg->dataplane_path[0]) {
		snprintf(out, len, "%s", cfg->dataplane_path);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(cand, sizeof(cand), "%s/packetrecorder-dataplane", self);
			if (executable(cand)) {
				copy_str(out, len, cand);
				return;
			}
			/* Running from the build tree: controlplane/ next to dataplane/. */
			snprintf(cand, sizeof(cand), "%s/../dataplane/packetrecorder-dataplane",
				 self);
			if (executable(cand)) {
				copy_str(out, len, cand);
				return;
			}
		}
	}
#ifdef PR_DATAPLANE_INSTALL_PATH
	if (executable(PR_DATAPLANE_INSTALL_PATH)) {
		snprintf(out, len, "%s", PR_DATAPLANE_INSTALL_PATH);
		return;
	}
#endif
	snprintf(out, len, "packetrecorder-dataplane");
}

/*
 * Remove regions and sockets left by control planes that were killed
 * (kill -9 runs no cleanup). Their names carry the owner's pid.
 */
static void sweep_stale(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512];
		char *end;
		long pid;
		size_t n = strlen(de->d_name), sl = strlen(suffix);

		if (strncmp(de->d_name, "packetrecorder-", 15) || n < sl ||
		    strcmp(de->d_name + n - sl, suffix))
			continue;
		pid = strtol(de->d_name + 15, &end, 10);
		if (pid <= 0 || *end != '-' || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

int pr_dp_create(const struct pr_config *cfg, const struct pr_dp_cfg *dpc, uint64_t tx_ring_bytes,
		 struct pr_dp **out, char *err, size_t errlen)
{
	uint32_t workers = dpc->mode == PR_DP_MODE_CAPTURE ? dpc->workers : 1;
	struct pr_dp *dp = calloc(1, sizeof(*dp));
	uint32_t rnd = 0, rx_slots, tx_slots;
	const char *rundir = getenv("XDG_RUNTIME_DIR");
	int fd = -1, ret;

	*out = NULL;
	if (!dp)
		return -ENOMEM;
	dp->base = MAP_FAILED;
	dp->pid = -1;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)time(NULL);
	snprintf(dp->shm_name, sizeof(dp->shm_name), "/packetrecorder-%d-%08x", (int)getpid(), rnd);
	if (!rundir || !rundir[0] || access(rundir, W_OK))
		rundir = "/tmp";
	snprintf(dp->ctl_path, sizeof(dp->ctl_path), "%s/packetrecorder-%d-%08x.sock", rundir,
		 (int)getpid(), rnd);
	find_dataplane(cfg, dp->dataplane, sizeof(dp->dataplane));
	sweep_stale("/dev/shm", "");
	sweep_stale(rundir, ".sock");

	rx_slots = pow2_floor(cfg->ring_bytes / PR_RING_SLOT_SIZE);
	tx_slots = pow2_floor((tx_ring_bytes ? tx_ring_bytes : 65536) / PR_RING_SLOT_SIZE);
	ret = pr_dpcfg_check(dpc, err, errlen);
	if (ret) {
		free(dp);
		return ret;
	}
	dp->size = pr_shm_size(workers, rx_slots, tx_slots);
	fd = shm_open(dp->shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "shared memory %s: %s", dp->shm_name, strerror(errno));
		goto err;
	}
	/*
	 * Allocate the pages now: a sparse region on a small /dev/shm would
	 * kill both processes with SIGBUS on first touch instead of failing here.
	 */
	ret = ftruncate(fd, (off_t)dp->size) ? errno : posix_fallocate(fd, 0, (off_t)dp->size);
	if (ret) {
		snprintf(
			err, errlen,
			"shared memory %s: %zu bytes: %s (make /dev/shm larger or lower ring_bytes)",
			dp->shm_name, dp->size, strerror(ret));
		ret = -ret;
		goto err;
	}
	dp->base = mmap(NULL, dp->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dp->base == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "shared memory %s: map: %s", dp->shm_name, strerror(errno));
		goto err;
	}
	close(fd);
	fd = -1;
	ret = pr_shm_format_cfg(dp->base, dp->size, dpc, workers, rx_slots, tx_slots);
	if (!ret)
		ret = pr_ring_cons_init(&dp->report, pr_shm_report_ring(dp->base), PR_RING_ROLE_RX);
	if (!ret)
		ret = pr_ring_prod_init(&dp->tx, pr_shm_tx_ring(dp->base), PR_RING_ROLE_TX);
	if (ret) {
		snprintf(err, errlen, "shared memory %s: layout failed", dp->shm_name);
		goto err;
	}
	*out = dp;
	return 0;
err:
	if (fd >= 0)
		close(fd);
	pr_dp_destroy(dp);
	return ret;
}

int pr_dp_spawn(struct pr_dp *dp, const char *const *args, char *err, size_t errlen)
{
	const char *argv[64];
	size_t n = 0;
	int pipefd[2];
	pid_t pid;
	int child_errno = 0;

	argv[n++] = dp->dataplane;
	argv[n++] = "--shm";
	argv[n++] = dp->shm_name;
	argv[n++] = "--ctl";
	argv[n++] = dp->ctl_path;
	argv[n++] = "--die-with-parent";
	for (size_t i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	/* A close-on-exec pipe tells us whether exec itself worked. */
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pipefd[0]);
		close(pipefd[1]);
		snprintf(err, errlen, "start %s: %s", dp->dataplane, strerror(e));
		return -e;
	}
	if (pid == 0) {
		int e;

		sigset_t none;

		close(pipefd[0]);
		/*
		 * A mask survives exec: the daemon blocks SIGTERM and SIGINT in
		 * every thread (it takes them with sigtimedwait), and the
		 * dataplane must still get them, the death signal below too.
		 */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		{
			/* execvp's prototype predates const; it does not write argv. */
			union {
				const char **c;
				char *const *n;
			} av = { .c = argv };

			execvp(argv[0], av.n);
		}
		e = errno;
		if (write(pipefd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &child_errno, sizeof(child_errno)) == sizeof(child_errno)) {
		close(pipefd[0]);
		waitpid(pid, NULL, 0);
		snprintf(err, errlen,
			 "start %s: %s (set dataplane_path in the config or "
			 "PACKETRECORDER_DATAPLANE)",
			 dp->dataplane, strerror(child_errno));
		return -child_errno;
	}
	close(pipefd[0]);
	dp->pid = pid;
	return 0;
}

void pr_dp_stop(struct pr_dp *dp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	bool sent = false;

	if (dp->pid <= 0 || dp->reaped)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", dp->ctl_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && write(fd, "stop\n", 5) == 5)
			sent = true;
		close(fd);
	}
	if (!sent)
		kill(dp->pid, SIGTERM);
}

int pr_dp_exited(struct pr_dp *dp, int *status)
{
	pid_t r;

	if (dp->pid <= 0)
		return 1;
	if (!dp->reaped) {
		r = waitpid(dp->pid, &dp->status, WNOHANG);
		if (r == dp->pid)
			dp->reaped = true;
		else if (r < 0 && errno == ECHILD)
			dp->reaped = true;
	}
	if (dp->reaped && status)
		*status = dp->status;
	return dp->reaped;
}

void pr_dp_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with wait status 0x%x", status);
}

int pr_dp_wait(struct pr_dp *dp, int timeout_ms)
{
	struct timespec pause = { 0, 10000000 };
	int status = 0;

	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (pr_dp_exited(dp, &status))
			return status;
		nanosleep(&pause, NULL);
	}
	if (dp->pid > 0 && !dp->reaped) {
		kill(dp->pid, SIGKILL);
		waitpid(dp->pid, &dp->status, 0);
		dp->reaped = true;
	}
	return dp->status;
}

pid_t pr_dp_pid(const struct pr_dp *dp)
{
	return dp->pid;
}

bool pr_dp_started(const struct pr_dp *dp)
{
	const struct pr_shm_header *sh = dp->base;

	return atomic_load_explicit(&sh->state, memory_order_acquire) != PR_SHM_STATE_INIT;
}

uint32_t pr_dp_rx_rings(const struct pr_dp *dp)
{
	return ((const struct pr_shm_header *)dp->base)->worker_count;
}

struct pr_ring_header *pr_dp_rx_ring(struct pr_dp *dp, uint32_t i)
{
	return pr_shm_worker_ring(dp->base, i);
}

struct pr_ring_cons *pr_dp_report_cons(struct pr_dp *dp)
{
	return &dp->report;
}

struct pr_ring_prod *pr_dp_tx_prod(struct pr_dp *dp)
{
	return &dp->tx;
}

void pr_dp_destroy(struct pr_dp *dp)
{
	if (!dp)
		return;
	if (dp->pid > 0 && !dp->reaped) {
		kill(dp->pid, SIGKILL);
		waitpid(dp->pid, NULL, 0);
	}
	if (dp->base != MAP_FAILED)
		munmap(dp->base, dp->size);
	shm_unlink(dp->shm_name);
	unlink(dp->ctl_path);
	free(dp);
}
