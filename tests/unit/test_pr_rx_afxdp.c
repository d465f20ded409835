// SPDX-License-Identifier: Apache-2.0
/*
 * The afxdp backend against the real kernel (label: privileged). The test
 * process moves into a network namespace of its own (unshare), so the veth
 * pairs it makes vanish with it whatever happens. Skipped (exit 77) when
 * not root, when namespaces or veth cannot be made, or when this build has
 * no AF_XDP backend.
 *
 * - the XDP program loads and attaches in native and in generic mode, and
 *   is gone from the interface after the last close;
 * - frames sent from the peer arrive exactly once with their bytes, on a
 *   1-queue veth and, spread by flow hash, over both queues of a 2-queue
 *   veth with one instance per queue; the program's counters add up;
 * - early-drop rules added and removed at run time drop and count exactly
 *   the frames they match;
 * - a tx-only instance sends frames that the peer receives unchanged.
 */
#define _GNU_SOURCE /* unshare() */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef PR_HAVE_AF_XDP
int main(void)
{
	printf("test_pr_rx_afxdp: skipped: this build has no AF_XDP backend\n");
	return 77;
}
#else

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "pr_log.h"
#include "pr_rx.h"
#include "pr_rx_afxdp.h"
#include "pr_xdp_capture_shared.h"

#define FRAME_LEN 128

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A veth pair cap<->gen, both up, no IPv6 chatter. */
static int veth_make(const char *cap, const char *gen, int queues)
{
	char q[64] = "";

	if (queues > 1)
		snprintf(q, sizeof(q), "numrxqueues %d numtxqueues %d", queues, queues);
	if (sh("ip link add %s %s type veth peer name %s %s 2>/dev/null", cap, q, gen, q))
		return -1;
	sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 net.ipv6.conf.%s.disable_ipv6=1", cap, gen);
	if (sh("ip link set %s up && ip link set %s up", cap, gen))
		return -1;
	return 0;
}

/* A UDP/IPv4 frame whose payload names seq; source port varies by flow. */
static size_t frame_make(uint8_t *f, uint32_t seq, uint16_t sport, uint16_t dport, uint32_t saddr)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 2 }, src[6] = { 2, 0, 0, 0, 0, 1 };
	uint16_t v;
	uint32_t a;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	v = htons(FRAME_LEN - 14);
	memcpy(f + 16, &v, 2);
	f[22] = 64;
	f[23] = 17;
	a = htonl(saddr);
	memcpy(f + 26, &a, 4);
	a = htonl(0x0a4d0002);
	memcpy(f + 30, &a, 4);
	v = htons(sport);
	memcpy(f + 34, &v, 2);
	v = htons(dport);
	memcpy(f + 36, &v, 2);
	v = htons(FRAME_LEN - 34);
	memcpy(f + 38, &v, 2);
	snprintf((char *)f + 42, FRAME_LEN - 42, "afxdp-test seq=%08u", seq);
	for (size_t i = 42 + 24; i < FRAME_LEN; i++)
		f[i] = (uint8_t)(seq * 31 + i);
	return FRAME_LEN;
}

static int gen_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -1;
	return fd;
}

/*
 * Frames read by drain() so far. A concurrent sender stays at most
 * SEND_WINDOW frames ahead of it, well inside the socket's rings: these
 * tests check that every frame the rings could hold arrives exactly once,
 * however slowly the reader runs (sanitizers, a loaded machine); a reader
 * that falls behind an unpaced sender loses frames by design, counted as
 * ring-full drops, and that is another question.
 */
#define SEND_WINDOW 512
static atomic_uint g_drained;

static void send_frames_paced(const char *ifname, uint32_t seq0, uint32_t n, uint32_t flows,
			      uint16_t dport, uint32_t saddr, bool paced)
{
	uint8_t f[FRAME_LEN];
	int fd = gen_socket(ifname);

	assert_true(fd >= 0);
	for (uint32_t i = 0; i < n; i++) {
		size_t len = frame_make(f, seq0 + i, (uint16_t)(40000 + (seq0 + i) % flows), dport,
					saddr);

		while (paced && i >= atomic_load(&g_drained) + SEND_WINDOW)
			usleep(100);

		while (send(fd, f, len, 0) < 0) {
			assert_true(errno == ENOBUFS || errno == EAGAIN);
			usleep(200);
		}
	}
	close(fd);
}

static void send_frames(const char *ifname, uint32_t seq0, uint32_t n, uint32_t flows,
			uint16_t dport, uint32_t saddr)
{
	send_frames_paced(ifname, seq0, n, flows, dport, saddr, false);
}

struct sender {
	pthread_t tid;
	const char *ifname;
	uint32_t seq0, n, flows, saddr;
	uint16_t dport;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	send_frames_paced(s->ifname, s->seq0, s->n, s->flows, s->dport, s->saddr, true);
	return NULL;
}

/* Send from a thread of its own while the test reads: rings hold a few thousand. */
static void sender_start(struct sender *s, const char *ifname, uint32_t seq0, uint32_t n,
			 uint32_t flows, uint16_t dport, uint32_t saddr)
{
	atomic_store(&g_drained, 0);
	*s = (struct sender){ .ifname = ifname,
			      .seq0 = seq0,
			      .n = n,
			      .flows = flows,
			      .saddr = saddr,
			      .dport = dport };
	assert_int_equal(pthread_create(&s->tid, NULL, sender_main, s), 0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Read from every instance until want frames came or 3 s passed without
 * a frame; check
 * each frame against what was sent (seq0.. with their bytes) and count
 * each seq once. Returns the frames read; per_queue gets each instance's.
 */
static uint32_t drain(struct pr_rx **rx, int nrx, uint32_t seq0, uint32_t want, uint32_t flows,
		      uint16_t dport, uint32_t saddr, uint32_t *per_queue)
{
	struct pr_rx_pkt pkts[PR_BURST];
	uint8_t *seen = calloc(want ? want : 1, 1);
	uint32_t got = 0;
	uint64_t deadline = now_ms() + 3000;

	assert_non_null(seen);
	while (now_ms() < deadline) {
		int idle = 0;

		for (int q = 0; q < nrx; q++) {
			int n = pr_rx_afxdp_ops.rx_burst(rx[q], pkts, PR_BURST);

			assert_true(n >= 0);
			if (!n) {
				idle++;
				continue;
			}
			for (int i = 0; i < n; i++) {
				uint8_t want_f[FRAME_LEN];
				unsigned seq;

				assert_int_equal(pkts[i].cap_len, FRAME_LEN);
				assert_int_equal(sscanf((const char *)pkts[i].data + 42,
							"afxdp-test seq=%8u", &seq),
						 1);
				assert_true(seq >= seq0 && seq < seq0 + want);
				frame_make(want_f, seq, (uint16_t)(40000 + seq % flows), dport,
					   saddr);
				assert_memory_equal(pkts[i].data, want_f, FRAME_LEN);
				assert_int_equal(seen[seq - seq0], 0);
				seen[seq - seq0] = 1;
				if (per_queue)
					per_queue[q]++;
				got++;
			}
			atomic_store(&g_drained, got);
			deadline = now_ms() + 3000;
			pr_rx_afxdp_ops.release_burst(rx[q], pkts, (uint16_t)n);
		}
		if (got >= want && idle == nrx)
			break;
		if (idle == nrx)
			usleep(1000);
	}
	free(seen);
	return got;
}

static struct pr_rx *open_rx(const char *ifname, uint16_t queue, uint16_t nb, const char *args)
{
	struct pr_rx_cfg cfg = {
		.interface = ifname,
		.snaplen = 65535,
		.queue = queue,
		.nb_queues = nb,
		.backend_args = args,
	};
	struct pr_rx *rx = NULL;
	char err[512] = "";
	int ret = pr_rx_afxdp_ops.open(&cfg, &rx, err, sizeof(err));

	if (ret)
		fail_msg("open %s queue %u (%s): %s", ifname, queue, args ? args : "", err);
	return rx;
}

static uint32_t xdp_prog_on(const char *ifname, uint8_t *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	assert_int_equal(bpf_xdp_query((int)if_nametoindex(ifname), 0, &q), 0);
	if (mode)
		*mode = q.attach_mode;
	return q.prog_id;
}

static void test_load_modes(void **state)
{
	static const struct {
		const char *args;
		bool native;
		uint8_t mode;
	} cases[] = {
		{ "mode=native", true, XDP_ATTACHED_DRV },
		{ "mode=generic", false, XDP_ATTACHED_SKB },
		{ "mode=native,attach=libbpf", true, XDP_ATTACHED_DRV },
		{ "mode=generic,attach=libbpf", false, XDP_ATTACHED_SKB },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pr_afxdp_info info;
		struct pr_rx *rx = open_rx("afc0", 0, 1, cases[c].args);
		uint8_t mode = 0;
		uint32_t n;

		assert_int_equal(pr_afxdp_info_get(rx, &info), 0);
		assert_int_equal(info.native, cases[c].native);
		assert_false(info.zerocopy); /* veth has no zero-copy */
		assert_true(info.prog_id > 0);
		assert_int_equal(xdp_prog_on("afc0", &mode), (uint32_t)info.prog_id);
		assert_int_equal(mode, cases[c].mode);
		/* It captures in that mode too. */
		send_frames("afg0", 0, 100, 1, 9000, 0x0a4d0001);
		n = drain(&rx, 1, 0, 100, 1, 9000, 0x0a4d0001, NULL);
		assert_int_equal(n, 100);
		pr_rx_afxdp_ops.close(rx);
		assert_int_equal(xdp_prog_on("afc0", NULL), 0);
	}
}

static void test_one_queue_exact(void **state)
{
	struct pr_rx *rx = open_rx("afc0", 0, 1, NULL);
	struct pr_rx_stats st;
	const uint32_t N = 50000;
	struct sender snd;
	uint32_t n;

	(void)state;
	sender_start(&snd, "afg0", 1000, N, 7, 9001, 0x0a4d0001);
	n = drain(&rx, 1, 1000, N, 7, 9001, 0x0a4d0001, NULL);
	pthread_join(snd.tid, NULL);
	assert_int_equal(n, N);
	assert_int_equal(pr_rx_afxdp_ops.stats(rx, &st), 0);
	assert_int_equal(st.received, N);
	assert_int_equal(st.kernel_drops, 0);
	assert_int_equal(st.no_socket + st.xsk_rx_dropped + st.xsk_rx_ring_full, 0);
	pr_rx_afxdp_ops.close(rx);
}

static void test_two_queues(void **state)
{
	struct pr_rx *rx[2];
	struct pr_rx_stats st0, st1;
	uint32_t per_q[2] = { 0, 0 };
	const uint32_t N = 30000;
	struct sender snd;
	uint32_t n;

	(void)state;
	rx[0] = open_rx("afc1", 0, 2, NULL);
	rx[1] = open_rx("afc1", 1, 2, NULL);
	/* 64 flows: the sender's tx hash puts them on both veth queues. */
	sender_start(&snd, "afg1", 0, N, 64, 9002, 0x0a4d0001);
	n = drain(rx, 2, 0, N, 64, 9002, 0x0a4d0001, per_q);
	pthread_join(snd.tid, NULL);
	assert_int_equal(n, N);
	assert_true(per_q[0] > 0);
	assert_true(per_q[1] > 0);
	assert_int_equal(pr_rx_afxdp_ops.stats(rx[0], &st0), 0);
	assert_int_equal(pr_rx_afxdp_ops.stats(rx[1], &st1), 0);
	/* The program's counters come with queue 0 only: a sum counts each once. */
	assert_int_equal(st0.received + st1.received, N);
	assert_int_equal(st1.received, 0);
	assert_int_equal(st0.kernel_drops + st1.kernel_drops, 0);
	pr_rx_afxdp_ops.close(rx[1]);
	/* The program stays while an instance is open, and goes with the last. */
	assert_true(xdp_prog_on("afc1", NULL) > 0);
	pr_rx_afxdp_ops.close(rx[0]);
	assert_int_equal(xdp_prog_on("afc1", NULL), 0);
}

/* One instance captures queue 0 of two: the others' frames are counted as no_socket. */
static void test_uncaptured_queue_counts(void **state)
{
	struct pr_rx *rx = open_rx("afc1", 0, 1, NULL);
	struct pr_rx_stats st;
	const uint32_t N = 4000;
	uint32_t n;

	(void)state;
	send_frames("afg1", 0, N, 64, 9003, 0x0a4d0001);
	n = drain(&rx, 1, 0, N, 64, 9003, 0x0a4d0001, NULL);
	assert_int_equal(pr_rx_afxdp_ops.stats(rx, &st), 0);
	assert_true(n > 0 && n < N);
	assert_int_equal(st.received, N);
	assert_int_equal(st.no_socket, N - n);
	assert_int_equal(n + st.kernel_drops, N);
	pr_rx_afxdp_ops.close(rx);
}

static void test_rules(void **state)
{
	struct pr_rx *rx = open_rx("afc0", 0, 1, "drop=proto:6");
	struct pr_afxdp_rule port, net, net6;
	struct pr_rx_stats st;
	char err[256];
	uint32_t n;

	(void)state;
	assert_int_equal(pr_afxdp_rule_parse("udp:9100", &port, err, sizeof(err)), 0);
	assert_int_equal(pr_afxdp_rule_parse("net:10.99.0.0/16", &net, err, sizeof(err)), 0);
	assert_int_equal(pr_afxdp_rule_parse("net:fd00::/8", &net6, err, sizeof(err)), 0);
	assert_int_equal(net6.family, 6);
	assert_int_equal(net.prefixlen, 16);
	/* Bad rules say what is wrong. */
	assert_int_equal(pr_afxdp_rule_parse("udp:70000", &port, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "70000"));
	assert_int_equal(pr_afxdp_rule_parse("net:10.1.2.3/33", &net, err, sizeof(err)), -EINVAL);
	assert_int_equal(pr_afxdp_rule_parse("vlan:3", &net, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "vlan"));
	assert_int_equal(pr_afxdp_rule_parse("udp:9100", &port, err, sizeof(err)), 0);
	assert_int_equal(pr_afxdp_rule_parse("net:10.99.0.0/16", &net, err, sizeof(err)), 0);

	/* The proto:6 rule from the arguments does not touch UDP. */
	send_frames("afg0", 0, 300, 3, 9100, 0x0a4d0001);
	assert_int_equal(drain(&rx, 1, 0, 300, 3, 9100, 0x0a4d0001, NULL), 300);

	/* A port rule added while running drops exactly its frames. */
	assert_int_equal(pr_afxdp_rule_set(rx, &port, true), 0);
	send_frames("afg0", 0, 500, 3, 9100, 0x0a4d0001);
	send_frames("afg0", 500, 200, 3, 9101, 0x0a4d0001);
	n = drain(&rx, 1, 500, 200, 3, 9101, 0x0a4d0001, NULL);
	assert_int_equal(n, 200);
	assert_int_equal(pr_rx_afxdp_ops.stats(rx, &st), 0);
	assert_int_equal(st.rule_port, 500);
	assert_int_equal(st.rule_proto, 0);

	/* A prefix rule on the source address. */
	assert_int_equal(pr_afxdp_rule_set(rx, &net, true), 0);
	send_frames("afg0", 0, 250, 3, 9101, 0x0a630107); /* 10.99.1.7 */
	send_frames("afg0", 250, 50, 3, 9101, 0x0a640107); /* 10.100.1.7 */
	assert_int_equal(drain(&rx, 1, 250, 50, 3, 9101, 0x0a640107, NULL), 50);
	assert_int_equal(pr_rx_afxdp_ops.stats(rx, &st), 0);
	assert_int_equal(st.rule_prefix, 250);

	/* Removed, they drop nothing more. */
	assert_int_equal(pr_afxdp_rule_set(rx, &port, false), 0);
	assert_int_equal(pr_afxdp_rule_set(rx, &net, false), 0);
	send_frames("afg0", 0, 100, 3, 9100, 0x0a630107);
	assert_int_equal(drain(&rx, 1, 0, 100, 3, 9100, 0x0a630107, NULL), 100);
	assert_int_equal(pr_rx_afxdp_ops.stats(rx, &st), 0);
	assert_int_equal(st.rule_port, 500);
	assert_int_equal(st.rule_prefix, 250);
	/* received = delivered + rule drops + losses */
	assert_int_equal(st.received, 300 + 500 + 200 + 250 + 50 + 100);
	assert_int_equal(st.kernel_drops, 0);
	pr_rx_afxdp_ops.close(rx);
}

static void test_bad_args(void **state)
{
	static const char *const bad[] = {
		"frames=abc",
		"rx_ring=1000",
		"mode=turbo",
		"nokey",
		"colour=blue",
		"frame_size=3000",
		"frames=1024,fill_ring=512",
		"drop=udp:x",
	};
	struct pr_rx_cfg cfg = { .interface = "afc0", .snaplen = 65535 };
	struct pr_rx *rx = NULL;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.backend_args = bad[i];
		err[0] = 0;
		assert_int_equal(pr_rx_afxdp_ops.open(&cfg, &rx, err, sizeof(err)), -EINVAL);
		assert_null(rx);
		assert_true(err[0] != 0);
	}
	cfg.backend_args = NULL;
	cfg.interface = "nosuchif0";
	assert_int_equal(pr_rx_afxdp_ops.open(&cfg, &rx, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "nosuchif0"));
	cfg.interface = "afc0";
	cfg.queue = 5;
	assert_int_equal(pr_rx_afxdp_ops.open(&cfg, &rx, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no queue 5"));
	/* Nothing was left attached by the failures. */
	assert_int_equal(xdp_prog_on("afc0", NULL), 0);
}

static void test_tx(void **state)
{
	struct pr_rx_cfg tcfg = { .interface = "afg0", .snaplen = 65535, .tx_only = true };
	struct pr_rx *tx = NULL, *rx = open_rx("afc0", 0, 1, NULL);
	struct pr_tx_pkt pk[PR_BURST];
	uint8_t frames[PR_BURST][FRAME_LEN];
	char err[512];
	const uint32_t N = 3000;
	uint32_t sent = 0;

	(void)state;
	assert_int_equal(pr_rx_afxdp_ops.open(&tcfg, &tx, err, sizeof(err)), 0);
	while (sent < N) {
		uint16_t k = (uint16_t)(N - sent < PR_BURST ? N - sent : PR_BURST);
		int r;

		for (uint16_t i = 0; i < k; i++) {
			frame_make(frames[i], sent + i, (uint16_t)(40000 + (sent + i) % 5), 9200,
				   0x0a4d0001);
			pk[i].data = frames[i];
			pk[i].len = FRAME_LEN;
		}
		r = pr_rx_afxdp_ops.tx_burst(tx, pk, k);
		assert_true(r > 0);
		sent += (uint32_t)r;
		/* Keep the receiver's rings from filling while we send. */
		if (sent % 512 < PR_BURST)
			usleep(2000);
	}
	pr_rx_afxdp_ops.close(tx); /* waits for the completions */
	assert_int_equal(drain(&rx, 1, 0, N, 5, 9200, 0x0a4d0001, NULL), N);
	pr_rx_afxdp_ops.close(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_load_modes),
		cmocka_unit_test(test_one_queue_exact),
		cmocka_unit_test(test_two_queues),
		cmocka_unit_test(test_uncaptured_queue_counts),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_tx),
	};

	if (geteuid() != 0) {
		printf("test_pr_rx_afxdp: skipped: needs root (network namespace, XDP)\n");
		return 77;
	}
	/*
	 * Our own network namespace: every veth made here goes when the
	 * process ends. And our own mount namespace with a fresh /sys, which
	 * shows the interfaces of the namespace that mounts it (as `ip netns
	 * exec` does).
	 */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || umount2("/sys", MNT_DETACH) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL)) {
		printf("test_pr_rx_afxdp: skipped: own network namespace and /sys: %s\n",
		       strerror(errno));
		return 77;
	}
	sh("ip link set lo up");
	if (veth_make("afc0", "afg0", 1) || veth_make("afc1", "afg1", 2)) {
		printf("test_pr_rx_afxdp: skipped: cannot make veth pairs\n");
		return 77;
	}
	if (getenv("PR_TEST_VERBOSE"))
		pr_log_set_level(PR_LOG_INFO);
	{
		/* Can XDP load here at all? If not, say why and skip. */
		struct pr_rx_cfg cfg = { .interface = "afc0", .snaplen = 65535 };
		struct pr_rx *rx = NULL;
		char err[512] = "";
		int ret = pr_rx_afxdp_ops.open(&cfg, &rx, err, sizeof(err));

		if (ret == -EPERM || ret == -EOPNOTSUPP || ret == -ENOTSUP || ret == -ENOSYS) {
			printf("test_pr_rx_afxdp: skipped: XDP cannot load here: %s\n", err);
			return 77;
		}
		if (ret) {
			printf("test_pr_rx_afxdp: afxdp open failed: %s\n", err);
			return 1;
		}
		pr_rx_afxdp_ops.close(rx);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif /* PR_HAVE_AF_XDP */
