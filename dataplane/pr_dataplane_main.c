// SPDX-License-Identifier: Apache-2.0
/*
 * packetrecorder-dataplane: the capture process. It attaches to the
 * shared-memory region the control plane created (--shm), opens a capture
 * backend on each worker's queue, and runs the workers (pr_workers), each
 * filling its own record ring;
 * or, with --tx, sends the packets the control plane puts on the tx ring at
 * the times they carry. A unix socket (--ctl) takes commands ("stop",
 * "ping"); SIGINT/SIGTERM stop cleanly as well. It is normally started by
 * `packetrecorder capture` / `replay`, not by hand.
 *
 * Threads: one per worker core (pr_workers: as many as the region has
 * worker rings), or the tx core on the main thread (pr_txcore); and a
 * control-socket thread that only sets the stop flag.
 */
#define PR_LOG_MODULE "dataplane"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pr_dpcfg.h"
#include "pr_log.h"
#include "pr_ring.h"
#include "pr_rx.h"
#include "pr_shm.h"
#include "pr_txcore.h"
#include "pr_workers.h"

#ifndef PR_VERSION
#define PR_VERSION "0.1.0"
#endif

static atomic_bool stop_flag;

struct dp_opts {
	const char *shm;
	const char *instance; /* run on its own under this name: make the region */
	const char *ctl;
	bool die_with_parent;
	/* settings given on the command line (a region made by hand, later) */
	struct pr_dp_cfg cfg;
	unsigned n_settings;
	char first_setting[48];
};

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, true);
}

/* Short forms of some settings, as capture and tcpdump spell them. */
static const struct {
	char c;
	const char *key;
} shorts[] = {
	{ 'i', "interface" },	{ 'r', "read" },  { 'f', "filter" },   { 's', "snaplen" },
	{ 'b', "buffer_size" }, { 'c', "count" }, { 't', "duration" },
};

/* A setting's option name: its key with '-' for '_'. */
static const char *opt_name(const char *key)
{
	static char buf[48];

	snprintf(buf, sizeof(buf), "%s", key);
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = '-';
	return buf;
}

static void usage(FILE *f)
{
	size_t n;
	const struct pr_dpcfg_opt *t = pr_dpcfg_opts(&n);

	fprintf(f,
		"usage: packetrecorder-dataplane --shm NAME [--ctl PATH] [--die-with-parent] [-v]\n"
		"       packetrecorder-dataplane --instance NAME (-i IF | -r FILE) [settings] [-v]\n"
		"\n"
		"The capture process of packetrecorder. `packetrecorder capture` and `replay`\n"
		"start it on a shared-memory region holding its settings (--shm). With\n"
		"--instance it runs on its own: it makes the region itself, from the settings\n"
		"below, and captures into it until stopped; `packetrecorder capture --attach\n"
		"NAME` stores what it captures, and may come, go and come back meanwhile.\n"
		"\n"
		"  --shm NAME               shared-memory region made by the control plane\n"
		"  --instance NAME          run on its own as instance NAME\n"
		"  --ctl PATH               unix socket for commands (stop, ping)\n"
		"  --die-with-parent        stop when the parent process dies\n"
		"  -v, --verbose            more messages\n"
		"  -h, --help, --version\n"
		"\n"
		"Settings (each also a key of the region's settings block; see\n"
		"docs/packetrecorder-dataplane.md):\n");
	for (size_t i = 0; i < n; i++) {
		char name[64], sh[8] = "    ";

		snprintf(name, sizeof(name), "%s", t[i].key);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = '-';
		for (size_t k = 0; k < sizeof(shorts) / sizeof(shorts[0]); k++)
			if (!strcmp(shorts[k].key, t[i].key))
				snprintf(sh, sizeof(sh), "-%c, ", shorts[k].c);
		fprintf(f, "  %s--%-22s %s (default: %s)\n", sh, name, t[i].doc,
			t[i].def[0] ? t[i].def : "none");
	}
	fprintf(f, "      --tx                     send from the tx ring out of --interface\n");
}

static int parse_opts(int argc, char **argv, struct dp_opts *o)
{
	enum {
		O_SHM = 256,
		O_INSTANCE,
		O_CTL,
		O_TX,
		O_NO_PROMISC,
		O_DIE,
		O_VERSION,
		O_SETTING = 1000, /* + index in the settings table */
	};
	static const struct option fixed[] = {
		{ "shm", required_argument, NULL, O_SHM },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "ctl", required_argument, NULL, O_CTL },
		{ "tx", no_argument, NULL, O_TX },
		{ "no-promisc", no_argument, NULL, O_NO_PROMISC },
		{ "die-with-parent", no_argument, NULL, O_DIE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
	};
	/* The settings' options come from their table: defined there and only there. */
	static char names[64][40];
	struct option longopts[sizeof(fixed) / sizeof(fixed[0]) + 64 + 1];
	size_t nt, nl = 0;
	const struct pr_dpcfg_opt *t = pr_dpcfg_opts(&nt);
	char err[256];
	int c;

	if (nt > 64)
		return -E2BIG;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		longopts[nl++] = fixed[i];
	for (size_t i = 0; i < nt; i++) {
		snprintf(names[i], sizeof(names[i]), "%s", t[i].key);
		for (char *p = names[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		longopts[nl++] = (struct option){ names[i],
						  t[i].type == PR_DPCFG_BOOL ? optional_argument :
									       required_argument,
						  NULL, O_SETTING + (int)i };
	}
	longopts[nl] = (struct option){ NULL, 0, NULL, 0 };

	while ((c = getopt_long(argc, argv, "i:r:f:s:b:c:t:vh", longopts, NULL)) != -1) {
		const char *key = NULL, *val = optarg;

		switch (c) {
		case O_SHM:
			o->shm = optarg;
			continue;
		case O_INSTANCE:
			o->instance = optarg;
			continue;
		case O_CTL:
			o->ctl = optarg;
			continue;
		case O_TX:
			o->cfg.mode = PR_DP_MODE_TX;
			key = "";
			break;
		case O_NO_PROMISC:
			key = "promisc";
			val = "0";
			break;
		case O_DIE:
			o->die_with_parent = true;
			continue;
		case 'v':
			pr_log_set_level(pr_log_get_level() + 1);
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case O_VERSION:
			printf("packetrecorder-dataplane %s\n", PR_VERSION);
			exit(0);
		default:
			if (c >= O_SETTING && c < O_SETTING + (int)nt) {
				key = t[c - O_SETTING].key;
				if (!val)
					val = "1"; /* a bool given alone: on */
				break;
			}
			for (size_t k = 0; k < sizeof(shorts) / sizeof(shorts[0]); k++)
				if (c == shorts[k].c)
					key = shorts[k].key;
			if (key)
				break;
			usage(stderr);
			return -EINVAL;
		}
		if (key[0] && pr_dpcfg_set(&o->cfg, key, val, err, sizeof(err))) {
			const char *why = strstr(err, ": ");

			PR_ERR("--%s: %s", opt_name(key), why ? why + 2 : err);
			return -EINVAL;
		}
		if (!o->n_settings++)
			snprintf(o->first_setting, sizeof(o->first_setting), "--%s",
				 key[0] ? opt_name(key) : "tx");
	}
	if (optind < argc) {
		PR_ERR("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (!o->shm == !o->instance) {
		PR_ERR("give --shm NAME (a region packetrecorder made) or --instance NAME (run on "
		       "its own)");
		return -EINVAL;
	}
	if (o->instance) {
		if (!pr_shm_instance_valid(o->instance)) {
			PR_ERR("--instance \"%s\": 1 to %d letters, digits, '.', '_' or '-', not "
			       "starting with '.' or '-'",
			       o->instance, PR_INSTANCE_MAX);
			return -EINVAL;
		}
		if (o->die_with_parent) {
			PR_ERR("--instance runs on its own: no --die-with-parent");
			return -EINVAL;
		}
		if (pr_dpcfg_check(&o->cfg, err, sizeof(err))) {
			PR_ERR("%s", err);
			return -EINVAL;
		}
		return 0;
	}
	if (o->n_settings) {
		/* One place holds the settings: the region. Two could disagree. */
		PR_ERR("%s: with --shm the settings come from the region (its maker chose them)",
		       o->first_setting);
		return -EINVAL;
	}
	return 0;
}

static void *ctl_thread(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		char buf[128];
		const char *reply;
		ssize_t n;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break; /* the socket was shut down at exit */
		}
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			buf[strcspn(buf, "\r\n")] = 0;
			if (!strcmp(buf, "stop")) {
				atomic_store(&stop_flag, true);
				reply = "ok\n";
			} else if (!strcmp(buf, "ping")) {
				reply = "pong\n";
			} else {
				reply = "error: unknown command\n";
			}
			if (write(fd, reply, strlen(reply)) < 0)
				PR_DBG("ctl reply failed");
		}
		close(fd);
	}
	return NULL;
}

static int ctl_start(const char *path, int *lfd_out, pthread_t *tid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = pthread_create(tid, NULL, ctl_thread, (void *)(intptr_t)fd);
	if (err) {
		close(fd);
		unlink(path);
		return -err;
	}
	*lfd_out = fd;
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_opts o = { 0 };
	const struct pr_dp_cfg *cfg;
	struct pr_rx_cfg rcfg;
	const struct pr_rx_ops *ops = NULL;
	struct pr_rx *rx = NULL;
	struct pr_workers *ws = NULL;
	struct pr_shm_header *sh;
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t ctl_tid;
	char err[512] = "", shm_name[PR_SHM_NAME_MAX], ctl_path[PR_SHM_CTL_MAX];
	void *base = MAP_FAILED;
	size_t size = 0;
	int ctl_fd = -1, ret, rc = 1;

	pid_t parent = getppid();

	pr_log_set_program("packetrecorder-dataplane");
	pr_dpcfg_defaults(&o.cfg);
	if (parse_opts(argc, argv, &o))
		return 3;
	if (o.die_with_parent) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			return 1; /* the parent died before prctl */
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.instance) {
		/* On its own: the region is ours to make, named so a control plane finds it. */
		pr_shm_names(o.instance, shm_name, sizeof(shm_name), ctl_path, sizeof(ctl_path));
		ret = pr_shm_create(shm_name, &o.cfg, 0, PR_SHM_F_DETACHED, o.instance, ctl_path,
				    &base, &size, err, sizeof(err));
		if (ret) {
			if (ret == -EEXIST)
				PR_ERR("instance %s exists (/dev/shm%s): a dataplane runs under "
				       "that name, or left records that `packetrecorder capture "
				       "--attach %s` stores and removes",
				       o.instance, shm_name, o.instance);
			else
				PR_ERR("%s", err);
			base = MAP_FAILED;
			goto out;
		}
		o.shm = shm_name;
		if (!o.ctl)
			o.ctl = ctl_path;
		PR_NOTICE(
			"instance %s: capturing into /dev/shm%s; `packetrecorder capture --attach "
			"%s` stores it",
			o.instance, shm_name, o.instance);
	} else {
		ret = pr_shm_open(o.shm, &base, &size, err, sizeof(err));
		if (ret) {
			PR_ERR("%s", err);
			base = MAP_FAILED;
			goto out;
		}
	}
	sh = base;
	atomic_fetch_add(&sh->generation, 1);
	atomic_store(&sh->dataplane_pid, (int32_t)getpid());
	cfg = pr_shm_cfg(base); /* --instance: a copy of o.cfg, made above */
	if (pr_dpcfg_check(cfg, err, sizeof(err))) {
		pr_workers_fail_rings(base, -EINVAL, err);
		PR_ERR("shared memory %s: settings: %s", o.shm, err);
		goto out;
	}

	ops = pr_rx_ops_find(cfg->backend);
	if (!ops) {
		char known[128] = "";

		for (const char *const *n = pr_rx_ops_names(); *n; n++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 known[0] ? ", " : "", *n);
		snprintf(err, sizeof(err), "unknown backend \"%s\" (known: %s)", cfg->backend,
			 known);
		PR_ERR("%s", err);
		pr_workers_fail_rings(base, -EINVAL, err);
		rc = 3;
		goto out;
	}
	memset(&rcfg, 0, sizeof(rcfg));
	rcfg.interface = cfg->interface[0] ? cfg->interface : NULL;
	rcfg.read_path = cfg->read_path[0] ? cfg->read_path : NULL;
	rcfg.snaplen = cfg->snaplen;
	rcfg.promisc = cfg->promisc != 0;
	rcfg.buffer_size = (uint32_t)cfg->buffer_size;
	rcfg.tx_only = cfg->mode == PR_DP_MODE_TX;
	rcfg.backend_args = cfg->backend_args[0] ? cfg->backend_args : NULL;
	if (rcfg.tx_only) {
		ret = ops->open(&rcfg, &rx, err, sizeof(err));
		if (ret) {
			struct pr_ring_prod p;
			struct pr_rec_end end = { .hdr = { .type = PR_REC_END,
							   .len = sizeof(end) } };
			void *slot;

			/* Tell the consumer why, through the ring, then fail. */
			end.reason = PR_END_ERROR;
			end.error = ret;
			snprintf(end.message, sizeof(end.message), "%.255s", err);
			if (!pr_ring_prod_init(&p, pr_shm_report_ring(base), PR_RING_ROLE_RX) &&
			    (slot = pr_ring_prod_reserve(&p, sizeof(end)))) {
				memcpy(slot, &end, sizeof(end));
				pr_ring_prod_commit(&p);
				pr_ring_prod_publish(&p);
			} else {
				PR_ERR("%s", err);
			}
			goto out;
		}
	} else {
		struct pr_workers_cfg wcfg = {
			.ops = ops,
			.rx = rcfg,
			.lcore = {
				.filter = cfg->filter[0] ? cfg->filter : NULL,
				.max_packets = cfg->count,
				.duration_ns = cfg->duration_ns,
				.flow = {
					.max_flows = cfg->flow_max,
					.idle_timeout_s = cfg->flow_idle_timeout_s,
					.active_timeout_s = cfg->flow_active_timeout_s,
					.tcp_closed_timeout_s = cfg->flow_tcp_closed_timeout_s,
				},
				.ipfrag_max_datagrams = cfg->ipfrag_max_datagrams,
				.ipfrag_timeout_ns = (uint64_t)cfg->ipfrag_timeout_s * 1000000000ull,
				.l7_depth_bytes = cfg->l7_depth_bytes,
				.l7_buf_bytes = cfg->l7_buf_bytes,
				.l7_buf_count = cfg->l7_buf_count,
				.tcp_reasm_held_bytes = cfg->tcp_reasm_held_bytes,
				.tcp_reasm_chunks = cfg->tcp_reasm_chunks,
				.stats_interval_ms = cfg->stats_interval_ms,
			},
			.count = sh->worker_count,
		};

		/* A failure is told to the consumer through END records on every ring. */
		ret = pr_workers_create(&wcfg, base, &ws, err, sizeof(err));
		if (ret)
			goto out;
	}
	if (o.ctl) {
		ret = ctl_start(o.ctl, &ctl_fd, &ctl_tid);
		if (ret)
			PR_WARN("control socket %s: %s", o.ctl, strerror(-ret));
	}
	atomic_store(&sh->state, PR_SHM_STATE_RUNNING);
	if (rcfg.tx_only) {
		ret = pr_txcore_run(ops, rx, base, &stop_flag);
		rc = ret ? 1 : 0;
	} else {
		ret = pr_workers_run(ws, &stop_flag);
		rc = ret < 0 || ret == PR_END_ERROR ? 1 : 0;
	}
	atomic_store(&sh->state, PR_SHM_STATE_DONE);
out:
	if (ctl_fd >= 0) {
		/* shutdown() wakes the thread's accept() with an error; then it returns. */
		shutdown(ctl_fd, SHUT_RDWR);
		pthread_join(ctl_tid, NULL);
		close(ctl_fd);
		unlink(o.ctl);
	}
	pr_workers_destroy(ws);
	if (ops && rx)
		ops->close(rx);
	pr_shm_close(base, size);
	/*
	 * The control plane created the region and removes it; if it died, we
	 * do. A detached region stays: it holds what the next control plane
	 * stores, and that one removes it.
	 */
	if (o.die_with_parent && o.shm && getppid() != parent)
		shm_unlink(o.shm);
	return rc;
}
