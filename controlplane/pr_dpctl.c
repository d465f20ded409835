// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_dpctl.h. A private region lives in /dev/shm under a
 * name made of our pid and a random part, a named instance under
 * "packetrecorder.NAME"; the control socket sits in the run directory
 * ($XDG_RUNTIME_DIR, else /tmp) under the same name (pr_shm.h).
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
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pr_log.h"
#include "pr_shm.h"

struct pr_dp {
	char shm_name[PR_SHM_NAME_MAX];
	char ctl_path[PR_SHM_CTL_MAX];
	char dataplane[PATH_MAX];
	void *base;
	size_t size;
	pid_t pid; /* the dataplane: our child, or (attached) the region's */
	bool child; /* we started it */
	bool detached; /* it outlives us: own session, no die-with-parent */
	int pidfd; /* attached: a pidfd of the dataplane, -1 without */
	bool reaped; /* it has exited (child: and we reaped it) */
	int status; /* child: its wait status */
	bool keep_region; /* destroy leaves the region (it still holds records) */
	struct pr_ring_cons report; /* the tx core's */
	struct pr_ring_prod tx;
};

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

static struct pr_dp *dp_new(void)
{
	struct pr_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	dp->base = MAP_FAILED;
	dp->pid = -1;
	dp->pidfd = -1;
	return dp;
}

int pr_dp_create_instance(const struct pr_config *cfg, const struct pr_dp_cfg *dpc,
			  uint64_t tx_ring_bytes, const char *instance, struct pr_dp **out,
			  char *err, size_t errlen)
{
	struct pr_dp *dp;
	int ret;

	*out = NULL;
	if (instance && !pr_shm_instance_valid(instance)) {
		snprintf(err, errlen,
			 "instance \"%s\": 1 to %d letters, digits, '.', '_' or '-', not "
			 "starting with '.' or '-'",
			 instance, PR_INSTANCE_MAX);
		return -EINVAL;
	}
	dp = dp_new();
	if (!dp)
		return -ENOMEM;
	pr_shm_names(instance, dp->shm_name, sizeof(dp->shm_name), dp->ctl_path,
		     sizeof(dp->ctl_path));
	dp->detached = instance != NULL;
	find_dataplane(cfg, dp->dataplane, sizeof(dp->dataplane));
	sweep_stale("/dev/shm", "");
	{
		/* The socket's directory: everything before its last '/'. */
		char dir[PR_SHM_CTL_MAX];

		snprintf(dir, sizeof(dir), "%s", dp->ctl_path);
		*strrchr(dir, '/') = 0;
		sweep_stale(dir, ".sock");
	}
	ret = pr_shm_create(dp->shm_name, dpc, tx_ring_bytes, dp->detached ? PR_SHM_F_DETACHED : 0,
			    instance, dp->ctl_path, &dp->base, &dp->size, err, errlen);
	if (ret) {
		if (ret == -EEXIST && instance)
			snprintf(err, errlen,
				 "instance %s exists (shared memory /dev/shm%s): a dataplane runs "
				 "under that name, or left records; `capture --attach %s` stores "
				 "them and removes it",
				 instance, dp->shm_name, instance);
		dp->base = MAP_FAILED;
		free(dp);
		return ret;
	}
	/* We consume its rings from the start: a dataplane that waits for room knows we live. */
	atomic_store(&((struct pr_shm_header *)dp->base)->consumer_pid, (int32_t)getpid());
	ret = pr_ring_cons_init(&dp->report, pr_shm_report_ring(dp->base), PR_RING_ROLE_RX);
	if (!ret)
		ret = pr_ring_prod_init(&dp->tx, pr_shm_tx_ring(dp->base), PR_RING_ROLE_TX);
	if (ret) {
		snprintf(err, errlen, "shared memory %s: layout failed", dp->shm_name);
		pr_dp_destroy(dp);
		return ret;
	}
	*out = dp;
	return 0;
}

int pr_dp_create(const struct pr_config *cfg, const struct pr_dp_cfg *dpc, uint64_t tx_ring_bytes,
		 struct pr_dp **out, char *err, size_t errlen)
{
	return pr_dp_create_instance(cfg, dpc, tx_ring_bytes, NULL, out, err, errlen);
}

int pr_dp_attach(const char *instance, struct pr_dp **out, char *err, size_t errlen)
{
	struct pr_shm_header *sh;
	struct pr_dp *dp;
	int32_t holder = 0, pid;
	int ret;

	*out = NULL;
	if (!pr_shm_instance_valid(instance)) {
		snprintf(err, errlen, "instance \"%s\": not a valid instance name", instance);
		return -EINVAL;
	}
	dp = dp_new();
	if (!dp)
		return -ENOMEM;
	pr_shm_names(instance, dp->shm_name, sizeof(dp->shm_name), dp->ctl_path,
		     sizeof(dp->ctl_path));
	ret = pr_shm_open(dp->shm_name, &dp->base, &dp->size, err, errlen);
	if (ret) {
		dp->base = MAP_FAILED;
		if (ret == -ENOENT)
			snprintf(err, errlen, "no instance %s (no /dev/shm%s)", instance,
				 dp->shm_name);
		free(dp);
		return ret;
	}
	sh = dp->base;
	dp->detached = true;
	dp->keep_region = true; /* until what it holds is stored */
	if (sh->ctl_path[0] && memchr(sh->ctl_path, 0, sizeof(sh->ctl_path)))
		snprintf(dp->ctl_path, sizeof(dp->ctl_path), "%s", sh->ctl_path);
	ret = pr_shm_consumer_claim(dp->base, &holder);
	if (ret) {
		snprintf(err, errlen, "instance %s: process %d is storing it already", instance,
			 (int)holder);
		pr_shm_close(dp->base, dp->size);
		free(dp);
		return ret;
	}
	/*
	 * Watch the dataplane through a pidfd: it is not our child, and a pid
	 * number could be reused by the time we look.
	 */
	pid = atomic_load(&sh->dataplane_pid);
	if (pid > 0) {
		dp->pid = pid;
		dp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (dp->pidfd < 0 && errno == ESRCH)
			dp->reaped = true;
	} else {
		/* Made but never run, or it ended and went: nothing will come. */
		dp->reaped = atomic_load(&sh->state) != PR_SHM_STATE_INIT || pid == 0;
	}
	*out = dp;
	return 0;
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
	if (!dp->detached)
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
		if (dp->detached) {
			/*
			 * Its own session: no terminal's hangup or Ctrl-C reaches it,
			 * and it lives on when we die; a later control plane attaches.
			 */
			setsid();
		} else {
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
		}
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
	dp->child = true;
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
	if (!dp->reaped && dp->child) {
		r = waitpid(dp->pid, &dp->status, WNOHANG);
		if (r == dp->pid)
			dp->reaped = true;
		else if (r < 0 && errno == ECHILD)
			dp->reaped = true;
	} else if (!dp->reaped) {
		/* Not ours to wait for: its pidfd becomes readable when it exits. */
		if (dp->pidfd >= 0) {
			struct pollfd pfd = { .fd = dp->pidfd, .events = POLLIN };

			dp->reaped = poll(&pfd, 1, 0) > 0;
		} else {
			dp->reaped = !pr_shm_pid_alive(dp->pid);
		}
	}
	if (dp->reaped && status)
		*status = dp->status;
	return dp->reaped;
}

void pr_dp_describe_exit(const struct pr_dp *dp, char *buf, size_t len)
{
	if (dp->child)
		pr_dp_describe_status(dp->status, buf, len);
	else
		snprintf(buf, len, "(pid %d, not started by this process) is gone", (int)dp->pid);
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
		if (dp->child) {
			waitpid(dp->pid, &dp->status, 0);
		} else if (dp->pidfd >= 0) {
			struct pollfd pfd = { .fd = dp->pidfd, .events = POLLIN };

			poll(&pfd, 1, 1000);
		}
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

void pr_dp_set_session(struct pr_dp *dp, int64_t session, const char *store_path)
{
	struct pr_shm_header *sh = dp->base;

	snprintf(sh->store_path, sizeof(sh->store_path), "%s", store_path);
	/* The id publishes the path: a reader that sees the id sees the path. */
	atomic_store_explicit(&sh->session_id, session, memory_order_release);
}

int64_t pr_dp_session(const struct pr_dp *dp, char *store_path, size_t len)
{
	const struct pr_shm_header *sh = dp->base;
	int64_t id = atomic_load_explicit(&sh->session_id, memory_order_acquire);

	if (id && store_path)
		snprintf(store_path, len, "%.*s", (int)sizeof(sh->store_path), sh->store_path);
	return id;
}

const struct pr_dp_cfg *pr_dp_cfg(const struct pr_dp *dp)
{
	return pr_shm_cfg(dp->base);
}

const char *pr_dp_instance(const struct pr_dp *dp)
{
	return ((const struct pr_shm_header *)dp->base)->instance;
}

void pr_dp_consumed(struct pr_dp *dp)
{
	dp->keep_region = false;
}

void pr_dp_destroy(struct pr_dp *dp)
{
	if (!dp)
		return;
	/*
	 * A dataplane we started and that still runs is stopped the hard way
	 * (we only get here after asking nicely, or on a failure before it
	 * mattered), except one that is to outlive us holding records.
	 */
	if (dp->child && dp->pid > 0 && !dp->reaped && !dp->keep_region) {
		kill(dp->pid, SIGKILL);
		waitpid(dp->pid, NULL, 0);
	}
	if (dp->base != MAP_FAILED) {
		pr_shm_consumer_release(dp->base);
		munmap(dp->base, dp->size);
	}
	if (!dp->keep_region) {
		shm_unlink(dp->shm_name);
		unlink(dp->ctl_path);
	}
	if (dp->pidfd >= 0)
		close(dp->pidfd);
	free(dp);
}
