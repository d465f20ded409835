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

#include "pr_log.h"
#include "pr_ring.h"
#include "pr_rx.h"
#include "pr_txcore.h"
#include "pr_workers.h"

#ifndef PR_VERSION
#define PR_VERSION "0.1.0"
#endif

static atomic_bool stop_flag;

struct dp_opts {
	const char *shm;
	const char *ctl;
	const char *backend;
	const char *backend_args;
	const char *interface;
	const char *read_path;
	const char *filter;
	uint32_t snaplen;
	bool promisc;
	uint32_t buffer_size;
	uint64_t count;
	double duration_s;
	bool tx;
	bool die_with_parent;
	struct pr_flow_cfg flow;
};

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, true);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder-dataplane --shm NAME [options]\n"
		"\n"
		"The capture process of packetrecorder. It is started by `packetrecorder capture`\n"
		"and `packetrecorder replay`; run it by hand only to debug.\n"
		"\n"
		"  --shm NAME               shared-memory region made by the control plane (required)\n"
		"  --ctl PATH               unix socket for commands (stop, ping)\n"
		"  --backend NAME           capture backend: pcap (default), afxdp, dpdk\n"
		"  --backend-args STR       backend settings (afxdp: key=value,...; dpdk: the EAL\n"
		"                           arguments, split like shell words; see BACKENDS.md)\n"
		"  -i, --interface IF       capture live from IF (or send on IF with --tx)\n"
		"  -r, --read FILE          read a pcap/pcapng file (- = stdin)\n"
		"  -f, --filter EXPR        BPF capture filter (tcpdump syntax)\n"
		"  -s, --snaplen N          bytes kept per packet (default 65535)\n"
		"      --promisc / --no-promisc   promiscuous mode (default on)\n"
		"  -b, --buffer-size BYTES  kernel capture buffer (default 10485760)\n"
		"  -c, --count N            stop after N stored packets (0 = no limit)\n"
		"  -t, --duration SEC       stop after SEC seconds (0 = no limit)\n"
		"      --tx                 send packets from the tx ring out of --interface\n"
		"      --flow-max N         flow table size in flows (default 262144)\n"
		"      --flow-idle-timeout S      (default 300)\n"
		"      --flow-active-timeout S    (default 3600, 0 = never)\n"
		"      --flow-closed-timeout S    (default 5)\n"
		"      --die-with-parent    stop when the parent process dies\n"
		"  -v, --verbose            more messages\n"
		"  -h, --help, --version\n");
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		PR_ERR("%s: not a number: \"%s\"", opt, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct dp_opts *o)
{
	enum {
		O_SHM = 256,
		O_CTL,
		O_BACKEND,
		O_BACKEND_ARGS,
		O_PROMISC,
		O_NO_PROMISC,
		O_TX,
		O_FLOW_MAX,
		O_FLOW_IDLE,
		O_FLOW_ACTIVE,
		O_FLOW_CLOSED,
		O_DIE,
		O_VERSION,
	};
	static const struct option longopts[] = {
		{ "shm", required_argument, NULL, O_SHM },
		{ "ctl", required_argument, NULL, O_CTL },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "backend-args", required_argument, NULL, O_BACKEND_ARGS },
		{ "interface", required_argument, NULL, 'i' },
		{ "read", required_argument, NULL, 'r' },
		{ "filter", required_argument, NULL, 'f' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "promisc", no_argument, NULL, O_PROMISC },
		{ "no-promisc", no_argument, NULL, O_NO_PROMISC },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 't' },
		{ "tx", no_argument, NULL, O_TX },
		{ "flow-max", required_argument, NULL, O_FLOW_MAX },
		{ "flow-idle-timeout", required_argument, NULL, O_FLOW_IDLE },
		{ "flow-active-timeout", required_argument, NULL, O_FLOW_ACTIVE },
		{ "flow-closed-timeout", required_argument, NULL, O_FLOW_CLOSED },
		{ "die-with-parent", no_argument, NULL, O_DIE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "i:r:f:s:b:c:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_SHM:
			o->shm = optarg;
			break;
		case O_CTL:
			o->ctl = optarg;
			break;
		case O_BACKEND:
			o->backend = optarg;
			break;
		case O_BACKEND_ARGS:
			o->backend_args = optarg;
			break;
		case 'i':
			o->interface = optarg;
			break;
		case 'r':
			o->read_path = optarg;
			break;
		case 'f':
			o->filter = optarg;
			break;
		case 's':
			if (parse_u64("--snaplen", optarg, &v) || !v || v > PR_MAX_SNAPLEN) {
				PR_ERR("--snaplen: must be 1..%u", PR_MAX_SNAPLEN);
				return -EINVAL;
			}
			o->snaplen = (uint32_t)v;
			break;
		case O_PROMISC:
			o->promisc = true;
			break;
		case O_NO_PROMISC:
			o->promisc = false;
			break;
		case 'b':
			if (parse_u64("--buffer-size", optarg, &v) || v > UINT32_MAX)
				return -EINVAL;
			o->buffer_size = (uint32_t)v;
			break;
		case 'c':
			if (parse_u64("--count", optarg, &o->count))
				return -EINVAL;
			break;
		case 't': {
			char *end;

			o->duration_s = strtod(optarg, &end);
			if (end == optarg || *end || o->duration_s < 0) {
				PR_ERR("--duration: not a number of seconds: \"%s\"", optarg);
				return -EINVAL;
			}
			break;
		}
		case O_TX:
			o->tx = true;
			break;
		case O_FLOW_MAX:
			if (parse_u64("--flow-max", optarg, &v) || !v || v > (1u << 26))
				return -EINVAL;
			o->flow.max_flows = (uint32_t)v;
			break;
		case O_FLOW_IDLE:
			if (parse_u64("--flow-idle-timeout", optarg, &v) || v > UINT32_MAX)
				return -EINVAL;
			o->flow.idle_timeout_s = (uint32_t)v;
			break;
		case O_FLOW_ACTIVE:
			if (parse_u64("--flow-active-timeout", optarg, &v) || v > UINT32_MAX)
				return -EINVAL;
			o->flow.active_timeout_s = (uint32_t)v;
			break;
		case O_FLOW_CLOSED:
			if (parse_u64("--flow-closed-timeout", optarg, &v) || v > UINT32_MAX)
				return -EINVAL;
			o->flow.tcp_closed_timeout_s = (uint32_t)v;
			break;
		case O_DIE:
			o->die_with_parent = true;
			break;
		case 'v':
			pr_log_set_level(pr_log_get_level() + 1);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_VERSION:
			printf("packetrecorder-dataplane %s\n", PR_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		PR_ERR("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (!o->shm) {
		PR_ERR("--shm is required (this program is started by packetrecorder)");
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
	struct dp_opts o = {
		.backend = "pcap",
		.snaplen = 65535,
		.promisc = true,
		.buffer_size = 10 * 1024 * 1024,
		.flow = {
			.max_flows = 262144,
			.idle_timeout_s = 300,
			.active_timeout_s = 3600,
			.tcp_closed_timeout_s = 5,
		},
	};
	struct pr_rx_cfg rcfg;
	const struct pr_rx_ops *ops = NULL;
	struct pr_rx *rx = NULL;
	struct pr_workers *ws = NULL;
	struct pr_shm_header *sh;
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t ctl_tid;
	struct stat sb;
	char err[512] = "";
	void *base = MAP_FAILED;
	int ctl_fd = -1, shm_fd = -1, ret, rc = 1;

	pid_t parent = getppid();

	pr_log_set_program("packetrecorder-dataplane");
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

	shm_fd = shm_open(o.shm, O_RDWR, 0);
	if (shm_fd < 0 || fstat(shm_fd, &sb)) {
		PR_ERR("shared memory %s: %s", o.shm, strerror(errno));
		goto out;
	}
	base = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
	if (base == MAP_FAILED) {
		PR_ERR("shared memory %s: map: %s", o.shm, strerror(errno));
		goto out;
	}
	if (pr_shm_check(base, (size_t)sb.st_size)) {
		PR_ERR("shared memory %s: not a packetrecorder region of this version", o.shm);
		goto out;
	}
	sh = base;
	atomic_fetch_add(&sh->generation, 1);
	sh->dataplane_pid = (uint32_t)getpid();

	ops = pr_rx_ops_find(o.backend);
	if (!ops) {
		char known[128] = "";

		for (const char *const *n = pr_rx_ops_names(); *n; n++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 known[0] ? ", " : "", *n);
		snprintf(err, sizeof(err), "unknown backend \"%s\" (known: %s)", o.backend, known);
		PR_ERR("%s", err);
		pr_workers_fail_rings(base, -EINVAL, err);
		rc = 3;
		goto out;
	}
	memset(&rcfg, 0, sizeof(rcfg));
	rcfg.interface = o.interface;
	rcfg.read_path = o.read_path;
	rcfg.snaplen = o.snaplen;
	rcfg.promisc = o.promisc;
	rcfg.buffer_size = o.buffer_size;
	rcfg.tx_only = o.tx;
	rcfg.backend_args = o.backend_args;
	if (o.tx) {
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
				.filter = o.filter,
				.max_packets = o.count,
				.duration_ns = (uint64_t)(o.duration_s * 1e9),
				.flow = o.flow,
				.stats_interval_ms = 100,
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
	if (o.tx) {
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
	if (base != MAP_FAILED)
		munmap(base, (size_t)sb.st_size);
	/* The control plane created the region and removes it; if it died, we do. */
	if (o.die_with_parent && o.shm && getppid() != parent)
		shm_unlink(o.shm);
	if (shm_fd >= 0)
		close(shm_fd);
	return rc;
}
