// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the flow table (dataplane/flow/pr_flow.c). Packets are
 * struct pr_decoded filled by hand, so the tests do not depend on the
 * decoder. The group setup creates one table that every test shares; the
 * per-test setup flushes it so each test starts empty. Tests that need a
 * different configuration (memcap) create their own table. Single thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_flow.h"

#define NS(s) ((uint64_t)(s)*1000000000ull)
#define T0 NS(1700000000)
#define MAX_RECS 256
#define CORE_ID 3
#define SCAN_ALL 100000u

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

struct capture {
	struct pr_rec_flow rec[MAX_RECS];
	unsigned int n;
};

static struct pr_flow_table *g_ft;
static struct capture g_cap;

static const struct pr_flow_cfg g_cfg = {
	.max_flows = 1024,
	.idle_timeout_s = 30,
	.tcp_closed_timeout_s = 5,
	.active_timeout_s = 120,
	.hash_seed = 0x1234abcd,
	.core_id = CORE_ID,
	.frag_cache_entries = 64,
};

static void cap_emit(void *ctx, const struct pr_rec_flow *rec)
{
	struct capture *c = ctx;

	assert_true(c->n < MAX_RECS);
	c->rec[c->n++] = *rec;
}

static struct pr_decoded ip_pkt(int ver, const char *src, const char *dst, uint8_t proto)
{
	struct pr_decoded d;
	int af = ver == 4 ? AF_INET : AF_INET6;

	memset(&d, 0, sizeof(d));
	d.flags = ver == 4 ? PR_DEC_IPV4 : PR_DEC_IPV6;
	d.ip_version = (uint8_t)ver;
	d.ip_proto = proto;
	assert_int_equal(inet_pton(af, src, d.src_ip), 1);
	assert_int_equal(inet_pton(af, dst, d.dst_ip), 1);
	return d;
}

static struct pr_decoded l4_pkt(int ver, uint8_t proto, const char *src, uint16_t sp,
				const char *dst, uint16_t dp)
{
	struct pr_decoded d = ip_pkt(ver, src, dst, proto);

	d.flags |= PR_DEC_L4;
	d.sport = sp;
	d.dport = dp;
	return d;
}

static struct pr_decoded tcp_pkt(int ver, const char *src, uint16_t sp, const char *dst,
				 uint16_t dp, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct pr_decoded d = l4_pkt(ver, 6, src, sp, dst, dp);

	d.tcp_flags = flags;
	d.tcp_seq = seq;
	d.tcp_ack = ack;
	return d;
}

static struct pr_decoded udp4(const char *src, uint16_t sp, const char *dst, uint16_t dp)
{
	return l4_pkt(4, 17, src, sp, dst, dp);
}

static struct pr_decoded icmp_pkt(int ver, const char *src, const char *dst, uint8_t type,
				  uint8_t code, uint16_t ident)
{
	return l4_pkt(ver, ver == 4 ? 1 : 58, src, (uint16_t)(type << 8 | code), dst, ident);
}

static uint64_t feed_on(struct pr_flow_table *ft, const struct pr_decoded *d, uint32_t wire,
			uint64_t ts, uint16_t iface)
{
	uint64_t id = UINT64_MAX;

	pr_flow_lookup_burst(ft, d, &wire, &ts, &iface, 1, &id, cap_emit, &g_cap);
	return id;
}

static uint64_t feed(const struct pr_decoded *d, uint32_t wire, uint64_t ts)
{
	return feed_on(g_ft, d, wire, ts, 1);
}

static void assert_ip(const uint8_t *got, int ver, const char *want)
{
	uint8_t w[16] = { 0 };

	assert_int_equal(inet_pton(ver == 4 ? AF_INET : AF_INET6, want, w), 1);
	assert_memory_equal(got, w, 16);
}

static struct pr_flow_stats stats(void)
{
	struct pr_flow_stats st;

	pr_flow_table_stats(g_ft, &st);
	return st;
}

static uint32_t flush_all(void)
{
	return pr_flow_flush(g_ft, PR_FLOW_END_SHUTDOWN, cap_emit, &g_cap);
}

static int group_setup(void **state)
{
	(void)state;
	return pr_flow_table_create(&g_cfg, -1, &g_ft);
}

static int group_teardown(void **state)
{
	(void)state;
	pr_flow_table_destroy(g_ft);
	g_ft = NULL;
	return 0;
}

static void discard_emit(void *ctx, const struct pr_rec_flow *rec)
{
	(void)ctx;
	(void)rec;
}

static int test_setup(void **state)
{
	(void)state;
	pr_flow_flush(g_ft, PR_FLOW_END_SHUTDOWN, discard_emit, NULL);
	memset(&g_cap, 0, sizeof(g_cap));
	return 0;
}

static void test_create_invalid(void **state)
{
	struct pr_flow_cfg cfg = g_cfg;
	struct pr_flow_table *ft = NULL;

	(void)state;
	cfg.max_flows = 0;
	assert_int_equal(pr_flow_table_create(&cfg, -1, &ft), -EINVAL);
	assert_int_equal(pr_flow_table_create(NULL, -1, &ft), -EINVAL);
	cfg.max_flows = 16;
	cfg.hash_seed = 0; /* getrandom() path */
	cfg.frag_cache_entries = 0;
	assert_int_equal(pr_flow_table_create(&cfg, 0, &ft), 0);
	assert_non_null(ft);
	pr_flow_table_destroy(ft);
	pr_flow_table_destroy(NULL);
}

/* Client 10.0.0.9 sorts above the server, so the key is stored swapped. */
static void test_tcp_handshake_fin(void **state)
{
	const char *c = "10.0.0.9", *s = "10.0.0.2";
	struct pr_decoded p[] = {
		tcp_pkt(4, c, 40000, s, 80, SYN, 1000, 0),
		tcp_pkt(4, s, 80, c, 40000, SYN | ACK, 5000, 1001),
		tcp_pkt(4, c, 40000, s, 80, ACK, 1001, 5001),
		tcp_pkt(4, c, 40000, s, 80, PSH | ACK, 1001, 5001),
		tcp_pkt(4, s, 80, c, 40000, PSH | ACK, 5001, 1101),
		tcp_pkt(4, c, 40000, s, 80, ACK, 1101, 6461),
		tcp_pkt(4, c, 40000, s, 80, FIN | ACK, 1101, 6461),
		tcp_pkt(4, s, 80, c, 40000, FIN | ACK, 6461, 1102),
		tcp_pkt(4, c, 40000, s, 80, ACK, 1102, 6462),
		/* an abortive close after both FINs: the connection still closed normally */
		tcp_pkt(4, c, 40000, s, 80, RST, 1102, 0),
	};
	const uint32_t wire[] = { 74, 74, 66, 166, 1526, 66, 66, 66, 66, 54 };
	struct pr_flow_stats before = stats(), after;
	uint64_t id = 0, last = 0;
	size_t i;

	(void)state;
	for (i = 0; i < PR_ARRAY_SIZE(p); i++) {
		uint64_t got = feed(&p[i], wire[i], T0 + i * 1000000);

		if (i == 0)
			id = got;
		assert_int_equal(got, id);
		last = T0 + i * 1000000;
	}
	assert_int_not_equal(id, 0);
	assert_int_equal(id >> 48, CORE_ID);
	after = stats();
	assert_int_equal(after.created, before.created + 1);
	assert_int_equal(after.active, 1);

	/* Trailing ACKs still count for tcp_closed_timeout_s after the last packet. */
	assert_int_equal(pr_flow_expire(g_ft, last + NS(5) - 1, SCAN_ALL, cap_emit, &g_cap), 0);
	assert_int_equal(g_cap.n, 0);
	assert_int_equal(pr_flow_expire(g_ft, last + NS(5), SCAN_ALL, cap_emit, &g_cap), 1);
	assert_int_equal(g_cap.n, 1);

	const struct pr_rec_flow *r = &g_cap.rec[0];

	assert_int_equal(r->hdr.type, PR_REC_FLOW);
	assert_int_equal(r->hdr.len, sizeof(struct pr_rec_flow));
	assert_int_equal(r->flow_id, id);
	assert_int_equal(r->end_reason, PR_FLOW_END_FIN);
	assert_int_equal(r->tcp_state, PR_TCP_CLOSED);
	assert_ip(r->src_ip, 4, c);
	assert_ip(r->dst_ip, 4, s);
	assert_int_equal(r->src_port, 40000);
	assert_int_equal(r->dst_port, 80);
	assert_int_equal(r->ip_version, 4);
	assert_int_equal(r->ip_proto, 6);
	assert_int_equal(r->vlan, 0);
	assert_int_equal(r->iface, 1);
	assert_int_equal(r->packets[0], 7);
	assert_int_equal(r->packets[1], 3);
	assert_int_equal(r->bytes[0], 74 + 66 + 166 + 66 + 66 + 66 + 54);
	assert_int_equal(r->bytes[1], 74 + 1526 + 66);
	assert_int_equal(r->tcp_flags[0], SYN | ACK | PSH | FIN | RST);
	assert_int_equal(r->tcp_flags[1], SYN | ACK | PSH | FIN);
	assert_int_equal(r->first_ts_ns, T0);
	assert_int_equal(r->last_ts_ns, last);
	after = stats();
	assert_int_equal(after.ended, before.ended + 1);
	assert_int_equal(after.active, 0);
}

static void test_synack_first(void **state)
{
	struct pr_decoded synack =
		tcp_pkt(4, "10.0.0.2", 443, "10.0.0.9", 5555, SYN | ACK, 7000, 3001);
	struct pr_decoded ack = tcp_pkt(4, "10.0.0.9", 5555, "10.0.0.2", 443, ACK, 3001, 7001);
	struct pr_decoded resyn = tcp_pkt(4, "10.0.0.9", 5555, "10.0.0.2", 443, SYN, 3000, 0);
	uint64_t id;

	(void)state;
	id = feed(&synack, 60, T0);
	assert_int_not_equal(id, 0);
	assert_int_equal(feed(&ack, 54, T0 + 1000), id);
	/* The client's SYN, retransmitted late: its ISN is the SYN-ACK's ack - 1. */
	assert_int_equal(feed(&resyn, 60, T0 + 2000), id);
	assert_int_equal(g_cap.n, 0);
	assert_int_equal(flush_all(), 1);
	assert_int_equal(g_cap.n, 1);
	assert_ip(g_cap.rec[0].src_ip, 4, "10.0.0.9");
	assert_ip(g_cap.rec[0].dst_ip, 4, "10.0.0.2");
	assert_int_equal(g_cap.rec[0].src_port, 5555);
	assert_int_equal(g_cap.rec[0].dst_port, 443);
	assert_int_equal(g_cap.rec[0].packets[0], 2);
	assert_int_equal(g_cap.rec[0].packets[1], 1);
	assert_int_equal(g_cap.rec[0].bytes[0], 114);
	assert_int_equal(g_cap.rec[0].bytes[1], 60);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_ESTABLISHED);
	assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_SHUTDOWN);
}

static void test_midstream(void **state)
{
	struct pr_decoded a = tcp_pkt(4, "192.168.1.50", 22, "192.168.1.7", 51000, PSH | ACK, 1, 2);
	struct pr_decoded b = tcp_pkt(4, "192.168.1.7", 51000, "192.168.1.50", 22, ACK, 2, 100);
	uint64_t id;

	(void)state;
	id = feed(&a, 200, T0);
	assert_int_equal(feed(&b, 60, T0 + 10), id);
	assert_int_equal(flush_all(), 1);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_MIDSTREAM);
	assert_ip(g_cap.rec[0].src_ip, 4, "192.168.1.50");
	assert_int_equal(g_cap.rec[0].src_port, 22);
	assert_int_equal(g_cap.rec[0].dst_port, 51000);
	assert_int_equal(g_cap.rec[0].packets[0], 1);
	assert_int_equal(g_cap.rec[0].packets[1], 1);
	assert_int_equal(g_cap.rec[0].tcp_flags[0], PSH | ACK);
	assert_int_equal(g_cap.rec[0].tcp_flags[1], ACK);
}

static void test_rst(void **state)
{
	struct pr_decoded syn = tcp_pkt(4, "10.1.1.1", 3333, "10.1.1.2", 25, SYN, 42, 0);
	struct pr_decoded rst = tcp_pkt(4, "10.1.1.2", 25, "10.1.1.1", 3333, RST | ACK, 0, 43);
	struct pr_decoded late = tcp_pkt(4, "10.1.1.1", 3333, "10.1.1.2", 25, ACK, 43, 1);
	uint64_t id;

	(void)state;
	id = feed(&syn, 60, T0);
	assert_int_equal(feed(&rst, 54, T0 + NS(1)), id);
	assert_int_equal(feed(&late, 54, T0 + NS(2)), id);
	assert_int_equal(pr_flow_expire(g_ft, T0 + NS(6), SCAN_ALL, cap_emit, &g_cap), 0);
	assert_int_equal(pr_flow_expire(g_ft, T0 + NS(7), SCAN_ALL, cap_emit, &g_cap), 1);
	assert_int_equal(g_cap.rec[0].flow_id, id);
	assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_RST);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_RESET);
	assert_int_equal(g_cap.rec[0].packets[0], 2);
	assert_int_equal(g_cap.rec[0].packets[1], 1);
	assert_int_equal(g_cap.rec[0].tcp_flags[1], RST | ACK);
}

static void test_udp_idle(void **state)
{
	struct pr_decoded q = udp4("10.2.0.1", 53000, "10.2.0.53", 53);
	struct pr_decoded a = udp4("10.2.0.53", 53, "10.2.0.1", 53000);
	uint64_t id;

	(void)state;
	id = feed(&q, 80, T0);
	assert_int_equal(feed(&a, 120, T0 + NS(1)), id);
	assert_int_equal(pr_flow_expire(g_ft, T0 + NS(31) - 1, SCAN_ALL, cap_emit, &g_cap), 0);
	assert_int_equal(pr_flow_expire(g_ft, T0 + NS(31), SCAN_ALL, cap_emit, &g_cap), 1);
	assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_IDLE);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_NONE);
	assert_int_equal(g_cap.rec[0].ip_proto, 17);
	assert_ip(g_cap.rec[0].src_ip, 4, "10.2.0.1");
	assert_int_equal(g_cap.rec[0].src_port, 53000);
	assert_int_equal(g_cap.rec[0].dst_port, 53);
	assert_int_equal(g_cap.rec[0].bytes[0], 80);
	assert_int_equal(g_cap.rec[0].bytes[1], 120);
	assert_int_equal(stats().active, 0);
	/* The next packet of the tuple is a new flow. */
	assert_int_not_equal(feed(&q, 80, T0 + NS(40)), id);
}

/*
 * Bounded work per call, yet every flow is eventually checked: a closed TCP
 * flow at the LRU head, behind 100 UDP flows that are not idle yet, is
 * found by the sweep; later the idle UDP flows go out from the LRU tail.
 */
static void test_expire_bounded(void **state)
{
	char addr[32];
	struct pr_decoded d;
	uint32_t got, total = 0, calls = 0;
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(addr, sizeof(addr), "10.3.0.%d", i + 1);
		d = udp4(addr, 1000, "10.3.255.1", 2000);
		feed(&d, 100, T0 + (uint64_t)i);
	}
	d = tcp_pkt(4, "10.4.0.1", 1, "10.4.0.2", 2, FIN | ACK, 1, 1);
	feed(&d, 60, T0 + NS(2));
	d = tcp_pkt(4, "10.4.0.2", 2, "10.4.0.1", 1, FIN | ACK, 1, 2);
	feed(&d, 60, T0 + NS(2));
	assert_int_equal(stats().active, 101);
	while (g_cap.n == 0) {
		got = pr_flow_expire(g_ft, T0 + NS(10), 4, cap_emit, &g_cap);
		assert_true(got <= 1);
		/* one sweep of the 1024 entries at (at least) 2 per call */
		assert_true(++calls <= 512);
	}
	assert_int_equal(g_cap.rec[0].ip_proto, 6);
	assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_FIN);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_CLOSED);
	assert_int_equal(stats().active, 100);

	calls = 0;
	while (total < 100) {
		got = pr_flow_expire(g_ft, T0 + NS(100), 4, cap_emit, &g_cap);
		assert_true(got <= 4);
		total += got;
		assert_true(++calls <= 100);
	}
	assert_int_equal(g_cap.n, 101);
	assert_int_equal(stats().active, 0);
	for (i = 1; i < 101; i++) {
		assert_int_equal(g_cap.rec[i].end_reason, PR_FLOW_END_IDLE);
		assert_int_equal(g_cap.rec[i].ip_proto, 17);
	}
	/* The LRU tail gives them in the order they went quiet. */
	assert_ip(g_cap.rec[1].src_ip, 4, "10.3.0.1");
	assert_ip(g_cap.rec[100].src_ip, 4, "10.3.0.100");
}

static void test_active_timeout(void **state)
{
	struct pr_decoded up = udp4("10.5.0.1", 4000, "10.5.0.2", 5000);
	struct pr_decoded down = udp4("10.5.0.2", 5000, "10.5.0.1", 4000);
	uint64_t id1, id2, id3;
	int i;

	(void)state;
	/* A packet every 10 s for 200 s; the one at 120 s starts the second record. */
	id1 = feed(&up, 100, T0);
	for (i = 1; i < 12; i++)
		assert_int_equal(feed(i % 2 ? &down : &up, 100, T0 + NS(10 * i)), id1);
	assert_int_equal(g_cap.n, 0);
	id2 = feed(&down, 100, T0 + NS(120));
	assert_int_not_equal(id2, id1);
	assert_int_not_equal(id2, 0);
	assert_int_equal(g_cap.n, 1);
	assert_int_equal(g_cap.rec[0].flow_id, id1);
	assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_ACTIVE_TIMEOUT);
	assert_int_equal(g_cap.rec[0].packets[0] + g_cap.rec[0].packets[1], 12);
	assert_int_equal(g_cap.rec[0].first_ts_ns, T0);
	assert_int_equal(g_cap.rec[0].last_ts_ns, T0 + NS(110));
	for (i = 13; i < 24; i++)
		assert_int_equal(feed(&up, 100, T0 + NS(10 * i)), id2);

	/* The sweep cuts it too; the continuation keeps the original src even if
	 * its first packet comes from the other side. */
	assert_int_equal(pr_flow_expire(g_ft, T0 + NS(240), SCAN_ALL, cap_emit, &g_cap), 1);
	assert_int_equal(g_cap.rec[1].flow_id, id2);
	assert_int_equal(g_cap.rec[1].end_reason, PR_FLOW_END_ACTIVE_TIMEOUT);
	assert_int_equal(g_cap.rec[1].first_ts_ns, T0 + NS(120));
	assert_int_equal(g_cap.rec[1].packets[0], 11);
	assert_int_equal(g_cap.rec[1].packets[1], 1);
	assert_ip(g_cap.rec[1].src_ip, 4, "10.5.0.1");
	assert_int_equal(stats().active, 0);
	id3 = feed(&down, 100, T0 + NS(241));
	assert_int_not_equal(id3, id2);
	assert_int_not_equal(id3, id1);
	assert_int_equal(flush_all(), 1);
	assert_int_equal(g_cap.rec[2].flow_id, id3);
	assert_ip(g_cap.rec[2].src_ip, 4, "10.5.0.1");
	assert_int_equal(g_cap.rec[2].src_port, 4000);
	assert_int_equal(g_cap.rec[2].packets[0], 0);
	assert_int_equal(g_cap.rec[2].packets[1], 1);
}

static void test_syn_reuse_after_close(void **state)
{
	const char *c = "10.6.0.1", *s = "10.6.0.2";
	struct pr_decoded p[] = {
		tcp_pkt(4, c, 1234, s, 80, SYN, 100, 0),
		tcp_pkt(4, s, 80, c, 1234, SYN | ACK, 900, 101),
		tcp_pkt(4, c, 1234, s, 80, ACK, 101, 901),
		tcp_pkt(4, c, 1234, s, 80, FIN | ACK, 101, 901),
		tcp_pkt(4, s, 80, c, 1234, FIN | ACK, 901, 102),
		tcp_pkt(4, c, 1234, s, 80, ACK, 102, 902),
	};
	struct pr_decoded syn2 = tcp_pkt(4, c, 1234, s, 80, SYN, 77777, 0);
	struct pr_decoded syn3 = tcp_pkt(4, c, 1234, s, 80, SYN, 88888, 0);
	uint64_t id, id2, id3;
	size_t i;

	(void)state;
	id = feed(&p[0], 60, T0);
	for (i = 1; i < PR_ARRAY_SIZE(p); i++)
		assert_int_equal(feed(&p[i], 60, T0 + i), id);
	/* Well inside tcp_closed_timeout_s: the SYN alone says a new connection began. */
	id2 = feed(&syn2, 60, T0 + NS(1));
	assert_int_not_equal(id2, id);
	assert_int_equal(g_cap.n, 1);
	assert_int_equal(g_cap.rec[0].flow_id, id);
	assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_REUSED);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_CLOSED);
	assert_int_equal(g_cap.rec[0].packets[0], 4);
	assert_int_equal(g_cap.rec[0].packets[1], 2);
	/* A SYN with yet another ISN on an open (SYN_SENT) flow is also a new connection. */
	id3 = feed(&syn3, 60, T0 + NS(2));
	assert_int_not_equal(id3, id2);
	assert_int_equal(g_cap.n, 2);
	assert_int_equal(g_cap.rec[1].flow_id, id2);
	assert_int_equal(g_cap.rec[1].end_reason, PR_FLOW_END_REUSED);
	assert_int_equal(g_cap.rec[1].tcp_state, PR_TCP_SYN_SENT);
	assert_int_equal(g_cap.rec[1].packets[0], 1);
	assert_int_equal(flush_all(), 1);
	assert_int_equal(g_cap.rec[2].flow_id, id3);
	assert_int_equal(g_cap.rec[2].tcp_state, PR_TCP_SYN_SENT);
	assert_int_equal(g_cap.rec[2].first_ts_ns, T0 + NS(2));
}

/* After a reset even a SYN with the old ISN is a new connection. */
static void test_syn_reuse_after_rst(void **state)
{
	struct pr_decoded syn = tcp_pkt(4, "10.6.1.1", 999, "10.6.1.2", 22, SYN, 500, 0);
	struct pr_decoded rst = tcp_pkt(4, "10.6.1.2", 22, "10.6.1.1", 999, RST | ACK, 0, 501);
	struct pr_decoded syn2 = tcp_pkt(4, "10.6.1.1", 999, "10.6.1.2", 22, SYN, 9000, 0);
	uint64_t id, id2;

	(void)state;
	id = feed(&syn, 60, T0);
	assert_int_equal(feed(&rst, 60, T0 + 1), id);
	/* The same ISN again is the client retrying: tshark keeps one stream, so do we. */
	assert_int_equal(feed(&syn, 60, T0 + 2), id);
	assert_int_equal(g_cap.n, 0);
	assert_int_equal(feed(&rst, 60, T0 + 3), id);
	/* A new ISN is a new connection on the same tuple. */
	id2 = feed(&syn2, 60, T0 + 4);
	assert_int_not_equal(id2, id);
	assert_int_equal(g_cap.n, 1);
	assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_REUSED);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_RESET);
	assert_int_equal(g_cap.rec[0].packets[0], 2);
	assert_int_equal(g_cap.rec[0].packets[1], 2);
}

static void test_syn_retransmit(void **state)
{
	struct pr_decoded syn = tcp_pkt(6, "2001:db8::1", 50000, "2001:db8::2", 443, SYN, 31337, 0);
	uint64_t id;

	(void)state;
	id = feed(&syn, 80, T0);
	assert_int_equal(feed(&syn, 80, T0 + NS(1)), id);
	assert_int_equal(feed(&syn, 80, T0 + NS(3)), id);
	assert_int_equal(g_cap.n, 0);
	assert_int_equal(flush_all(), 1);
	assert_int_equal(g_cap.rec[0].packets[0], 3);
	assert_int_equal(g_cap.rec[0].packets[1], 0);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_SYN_SENT);
}

static void test_icmp_echo(void **state)
{
	struct pr_decoded req = icmp_pkt(4, "10.7.0.1", "10.7.0.2", 8, 0, 0x1234);
	struct pr_decoded rep = icmp_pkt(4, "10.7.0.2", "10.7.0.1", 0, 0, 0x1234);
	struct pr_decoded other = icmp_pkt(4, "10.7.0.1", "10.7.0.2", 8, 0, 0x1235);
	struct pr_decoded unreach = icmp_pkt(4, "10.7.0.2", "10.7.0.1", 3, 3, 0);
	struct pr_decoded unreach_r = icmp_pkt(4, "10.7.0.1", "10.7.0.2", 3, 3, 0);
	/* Type/code 0x1234 must not collide with echo identifier 0x1234. */
	struct pr_decoded odd = icmp_pkt(4, "10.7.0.1", "10.7.0.2", 0x12, 0x34, 0);
	struct pr_decoded req6 = icmp_pkt(6, "fe80::1", "fe80::2", 128, 0, 7);
	struct pr_decoded rep6 = icmp_pkt(6, "fe80::2", "fe80::1", 129, 0, 7);
	uint64_t id, id6, idu;

	(void)state;
	id = feed(&req, 98, T0);
	assert_int_equal(feed(&rep, 98, T0 + 100), id);
	assert_int_equal(feed(&req, 98, T0 + NS(1)), id);
	assert_int_not_equal(feed(&other, 98, T0 + NS(1)), id);
	idu = feed(&unreach, 70, T0 + NS(1));
	assert_int_not_equal(idu, id);
	/* Non-echo types key on addresses and type/code, both directions alike. */
	assert_int_equal(feed(&unreach_r, 70, T0 + NS(1)), idu);
	assert_int_not_equal(feed(&odd, 70, T0 + NS(1)), id);
	id6 = feed(&req6, 118, T0);
	assert_int_equal(feed(&rep6, 118, T0 + 100), id6);
	assert_int_not_equal(id6, id);
	assert_int_equal(stats().active, 5);
	assert_int_equal(flush_all(), 5);
	for (unsigned int i = 0; i < g_cap.n; i++) {
		const struct pr_rec_flow *r = &g_cap.rec[i];

		if (r->flow_id == id) {
			assert_ip(r->src_ip, 4, "10.7.0.1");
			assert_int_equal(r->src_port, 0x0800);
			assert_int_equal(r->dst_port, 0x1234);
			assert_int_equal(r->packets[0], 2);
			assert_int_equal(r->packets[1], 1);
			assert_int_equal(r->ip_proto, 1);
		} else if (r->flow_id == idu) {
			assert_ip(r->src_ip, 4, "10.7.0.2");
			assert_int_equal(r->src_port, 0x0303);
			assert_int_equal(r->dst_port, 0);
			assert_int_equal(r->packets[0], 1);
			assert_int_equal(r->packets[1], 1);
		} else if (r->flow_id == id6) {
			assert_ip(r->src_ip, 6, "fe80::1");
			assert_int_equal(r->src_port, 128 << 8);
			assert_int_equal(r->dst_port, 7);
			assert_int_equal(r->packets[0], 1);
			assert_int_equal(r->packets[1], 1);
			assert_int_equal(r->ip_version, 6);
			assert_int_equal(r->ip_proto, 58);
		}
	}
}

static void test_vlan(void **state)
{
	struct pr_decoded a = udp4("10.8.0.1", 1000, "10.8.0.2", 2000);
	struct pr_decoded b = a;
	struct pr_decoded b_rev = udp4("10.8.0.2", 2000, "10.8.0.1", 1000);
	uint64_t ida, idb;

	(void)state;
	a.vlan_count = 1;
	a.vlan[0] = 10;
	b.vlan_count = 2; /* QinQ: only the outer tag keys the flow */
	b.vlan[0] = 20;
	b.vlan[1] = 10;
	b_rev.vlan_count = 2;
	b_rev.vlan[0] = 20;
	b_rev.vlan[1] = 99;
	ida = feed(&a, 100, T0);
	idb = feed(&b, 100, T0 + 1);
	assert_int_not_equal(ida, idb);
	assert_int_equal(feed(&b_rev, 100, T0 + 2), idb);
	assert_int_equal(flush_all(), 2);
	assert_int_equal(g_cap.rec[0].flow_id, ida);
	assert_int_equal(g_cap.rec[0].vlan, 10);
	assert_int_equal(g_cap.rec[1].flow_id, idb);
	assert_int_equal(g_cap.rec[1].vlan, 20);
	assert_int_equal(g_cap.rec[1].packets[1], 1);
}

static void test_ipv6(void **state)
{
	const char *c = "2001:db8:ffff::10", *s = "2001:db8::80";
	struct pr_decoded syn = tcp_pkt(6, c, 60000, s, 80, SYN, 5, 0);
	struct pr_decoded synack = tcp_pkt(6, s, 80, c, 60000, SYN | ACK, 9, 6);
	struct pr_decoded ack = tcp_pkt(6, c, 60000, s, 80, ACK, 6, 10);
	/* Same ports and the v4-mapped-looking low bytes must not meet a v4 flow. */
	struct pr_decoded udp6 = l4_pkt(6, 17, "::1", 53, "::2", 53);
	struct pr_decoded udp6r = l4_pkt(6, 17, "::2", 53, "::1", 53);
	uint64_t id, idu;

	(void)state;
	id = feed(&syn, 86, T0);
	assert_int_equal(feed(&synack, 86, T0 + 1), id);
	assert_int_equal(feed(&ack, 74, T0 + 2), id);
	idu = feed(&udp6, 100, T0 + 3);
	assert_int_equal(feed(&udp6r, 100, T0 + 4), idu);
	assert_int_not_equal(idu, id);
	assert_int_equal(flush_all(), 2);
	assert_int_equal(g_cap.rec[0].flow_id, id);
	assert_int_equal(g_cap.rec[0].ip_version, 6);
	assert_ip(g_cap.rec[0].src_ip, 6, c);
	assert_ip(g_cap.rec[0].dst_ip, 6, s);
	assert_int_equal(g_cap.rec[0].tcp_state, PR_TCP_ESTABLISHED);
	assert_int_equal(g_cap.rec[0].packets[0], 2);
	assert_int_equal(g_cap.rec[0].packets[1], 1);
	assert_int_equal(g_cap.rec[1].packets[0], 1);
	assert_int_equal(g_cap.rec[1].packets[1], 1);
}

static void test_fragments(void **state)
{
	struct pr_decoded first = udp4("10.9.0.1", 7000, "10.9.0.2", 8000);
	struct pr_decoded later = ip_pkt(4, "10.9.0.1", "10.9.0.2", 17);
	struct pr_decoded orphan = ip_pkt(4, "10.9.0.1", "10.9.0.2", 17);
	struct pr_flow_stats before = stats(), after;
	uint64_t id, ido;

	(void)state;
	first.flags |= PR_DEC_FRAGMENT | PR_DEC_FRAG_FIRST;
	first.frag_id = 77;
	first.frag_more = true;
	later.flags |= PR_DEC_FRAGMENT;
	later.frag_id = 77;
	later.frag_offset = 1480;
	later.frag_more = true;
	orphan.flags |= PR_DEC_FRAGMENT;
	orphan.frag_id = 99;
	orphan.frag_offset = 1480;

	id = feed(&first, 1514, T0);
	assert_int_equal(feed(&later, 1514, T0 + 10), id);
	later.frag_offset = 2960;
	later.frag_more = false;
	assert_int_equal(feed(&later, 500, T0 + 20), id);
	ido = feed(&orphan, 600, T0 + 30);
	assert_int_not_equal(ido, 0);
	assert_int_not_equal(ido, id);
	after = stats();
	assert_int_equal(after.frag_hits, before.frag_hits + 2);
	assert_int_equal(after.frag_misses, before.frag_misses + 1);
	assert_int_equal(flush_all(), 2);
	assert_int_equal(g_cap.rec[0].flow_id, id);
	assert_int_equal(g_cap.rec[0].packets[0], 3);
	assert_int_equal(g_cap.rec[0].bytes[0], 1514 + 1514 + 500);
	assert_int_equal(g_cap.rec[0].src_port, 7000);
	assert_int_equal(g_cap.rec[0].dst_port, 8000);
	assert_int_equal(g_cap.rec[0].last_ts_ns, T0 + 20);
	assert_int_equal(g_cap.rec[1].flow_id, ido);
	assert_int_equal(g_cap.rec[1].src_port, 0);
	assert_int_equal(g_cap.rec[1].dst_port, 0);
	assert_int_equal(g_cap.rec[1].ip_proto, 17);
	assert_int_equal(g_cap.rec[1].packets[0], 1);
	assert_int_equal(g_cap.rec[1].bytes[0], 600);
}

/*
 * Trains in flight at once share a fragment-cache set without losing each
 * other: a one-set cache (4 entries) under many hash seeds, four trains
 * interleaved, every later fragment on its own train's flow. A fifth train
 * pushes out the oldest, and says so in frag_replaced.
 */
static void test_fragment_trains_share_a_set(void **state)
{
	struct pr_flow_cfg cfg = g_cfg;
	uint32_t seed;

	(void)state;
	cfg.frag_cache_entries = 4;
	for (seed = 1; seed <= 64; seed++) {
		struct pr_flow_table *ft = NULL;
		struct pr_decoded first[5], later[5];
		struct pr_flow_stats st;
		uint64_t id[5];
		unsigned int t;

		cfg.hash_seed = seed * 2654435761u;
		assert_int_equal(pr_flow_table_create(&cfg, -1, &ft), 0);
		memset(&g_cap, 0, sizeof(g_cap));
		for (t = 0; t < 5; t++) {
			first[t] = udp4("10.9.1.1", (uint16_t)(7000 + t), "10.9.1.2", 8000);
			first[t].flags |= PR_DEC_FRAGMENT | PR_DEC_FRAG_FIRST;
			first[t].frag_id = 100 + t;
			first[t].frag_more = true;
			later[t] = ip_pkt(4, "10.9.1.1", "10.9.1.2", 17);
			later[t].flags |= PR_DEC_FRAGMENT;
			later[t].frag_id = 100 + t;
			later[t].frag_offset = 1480;
		}
		for (t = 0; t < 4; t++)
			id[t] = feed_on(ft, &first[t], 1514, T0 + t, 1);
		for (t = 0; t < 4; t++)
			assert_int_equal(feed_on(ft, &later[3 - t], 600, T0 + 10 + t, 1),
					 id[3 - t]);
		pr_flow_table_stats(ft, &st);
		assert_int_equal(st.frag_hits, 4);
		assert_int_equal(st.frag_misses, 0);
		assert_int_equal(st.frag_replaced, 0);
		/* The fifth live train replaces the oldest (train 0): its later fragment misses. */
		id[4] = feed_on(ft, &first[4], 1514, T0 + 20, 1);
		assert_int_equal(feed_on(ft, &later[4], 600, T0 + 21, 1), id[4]);
		assert_int_not_equal(feed_on(ft, &later[0], 600, T0 + 22, 1), id[0]);
		assert_int_equal(feed_on(ft, &later[1], 600, T0 + 23, 1), id[1]);
		pr_flow_table_stats(ft, &st);
		assert_int_equal(st.frag_replaced, 1);
		assert_int_equal(st.frag_misses, 1);
		pr_flow_flush(ft, PR_FLOW_END_SHUTDOWN, discard_emit, NULL);
		pr_flow_table_destroy(ft);
	}
}

/* GRE, ESP, a truncated L4: tracked on addresses and protocol, ports 0. */
static void test_no_l4(void **state)
{
	struct pr_decoded gre = ip_pkt(4, "10.10.0.1", "10.10.0.2", 47);
	struct pr_decoded gre_r = ip_pkt(4, "10.10.0.2", "10.10.0.1", 47);
	struct pr_decoded esp = ip_pkt(4, "10.10.0.1", "10.10.0.2", 50);
	uint64_t id;

	(void)state;
	id = feed(&gre, 200, T0);
	assert_int_not_equal(id, 0);
	assert_int_equal(feed(&gre_r, 200, T0 + 1), id);
	assert_int_not_equal(feed(&esp, 200, T0 + 2), id);
	assert_int_equal(flush_all(), 2);
	assert_int_equal(g_cap.rec[0].ip_proto, 47);
	assert_int_equal(g_cap.rec[0].src_port, 0);
	assert_int_equal(g_cap.rec[0].packets[0], 1);
	assert_int_equal(g_cap.rec[0].packets[1], 1);
	assert_int_equal(g_cap.rec[1].ip_proto, 50);
}

static void test_memcap_eviction(void **state)
{
	struct pr_flow_cfg cfg = g_cfg;
	struct pr_flow_table *ft = NULL;
	struct pr_flow_stats st;
	struct pr_decoded d;
	uint64_t ids[20];
	int i;

	(void)state;
	cfg.max_flows = 8;
	assert_int_equal(pr_flow_table_create(&cfg, -1, &ft), 0);
	for (i = 0; i < 20; i++) {
		d = udp4("10.11.0.1", (uint16_t)(1000 + i), "10.11.0.2", 53);
		ids[i] = feed_on(ft, &d, 100, T0 + (uint64_t)i, 0);
		assert_int_not_equal(ids[i], 0);
		pr_flow_table_stats(ft, &st);
		assert_true(st.active <= 8);
	}
	pr_flow_table_stats(ft, &st);
	assert_int_equal(st.created, 20);
	assert_int_equal(st.evicted, 12);
	assert_int_equal(st.ended, 12);
	assert_int_equal(st.active, 8);
	assert_int_equal(g_cap.n, 12);
	for (i = 0; i < 12; i++) {
		assert_int_equal(g_cap.rec[i].end_reason, PR_FLOW_END_EVICTED);
		assert_int_equal(g_cap.rec[i].flow_id, ids[i]);
		assert_int_equal(g_cap.rec[i].src_port, 1000 + i);
		assert_int_equal(g_cap.rec[i].packets[0], 1);
	}

	/* Least recently used, not least recently created: touch flow 12, then add one. */
	d = udp4("10.11.0.2", 53, "10.11.0.1", 1012);
	assert_int_equal(feed_on(ft, &d, 100, T0 + 100, 0), ids[12]);
	d = udp4("10.11.0.1", 5000, "10.11.0.2", 53);
	feed_on(ft, &d, 100, T0 + 101, 0);
	assert_int_equal(g_cap.n, 13);
	assert_int_equal(g_cap.rec[12].flow_id, ids[13]);
	pr_flow_table_destroy(ft);
}

/*
 * Random traffic over more tuples than the table holds, checked packet by
 * packet against a plain model of an exact LRU cache: every live flow must
 * be found again under its id, and every eviction must hit the model's
 * least recently used flow. This exercises the index's removals heavily.
 */
#define MODEL_CAP 64
#define MODEL_TUPLES 200

static void test_random_vs_model(void **state)
{
	struct pr_flow_cfg cfg = g_cfg;
	struct pr_flow_table *ft = NULL;
	uint64_t model_id[MODEL_TUPLES] = { 0 };
	uint64_t model_used[MODEL_TUPLES] = { 0 };
	uint32_t rng = 12345, step;
	unsigned int live = 0, evictions = 0;
	struct pr_flow_stats st;

	(void)state;
	cfg.max_flows = MODEL_CAP;
	cfg.idle_timeout_s = 0;
	cfg.active_timeout_s = 0;
	assert_int_equal(pr_flow_table_create(&cfg, -1, &ft), 0);
	for (step = 1; step <= 50000; step++) {
		unsigned int t, j, victim = MODEL_TUPLES;
		struct pr_decoded d;
		uint64_t id;

		rng = rng * 1103515245u + 12345u;
		t = (rng >> 8) % MODEL_TUPLES;
		d = (rng >> 30) & 1 ? udp4("10.20.0.1", (uint16_t)(100 + t), "10.20.0.2", 7) :
				      udp4("10.20.0.2", 7, "10.20.0.1", (uint16_t)(100 + t));
		g_cap.n = 0;
		if (!model_id[t] && live == MODEL_CAP) {
			for (j = 0; j < MODEL_TUPLES; j++)
				if (model_id[j] &&
				    (victim == MODEL_TUPLES || model_used[j] < model_used[victim]))
					victim = j;
		}
		id = feed_on(ft, &d, 60, T0 + step, 0);
		assert_int_not_equal(id, 0);
		if (model_id[t]) {
			assert_int_equal(id, model_id[t]);
			assert_int_equal(g_cap.n, 0);
		} else {
			if (victim != MODEL_TUPLES) {
				assert_int_equal(g_cap.n, 1);
				assert_int_equal(g_cap.rec[0].flow_id, model_id[victim]);
				assert_int_equal(g_cap.rec[0].end_reason, PR_FLOW_END_EVICTED);
				model_id[victim] = 0;
				live--;
				evictions++;
			} else {
				assert_int_equal(g_cap.n, 0);
			}
			model_id[t] = id;
			live++;
		}
		model_used[t] = step;
	}
	pr_flow_table_stats(ft, &st);
	assert_int_equal(st.active, MODEL_CAP);
	assert_int_equal(st.evicted, evictions);
	assert_true(evictions > 10000);
	pr_flow_table_destroy(ft);
}

static void test_flush(void **state)
{
	struct pr_decoded a = udp4("10.12.0.1", 1, "10.12.0.2", 2);
	struct pr_decoded b = udp4("10.12.0.1", 3, "10.12.0.2", 4);
	struct pr_decoded c = tcp_pkt(4, "10.12.0.1", 5, "10.12.0.2", 6, SYN, 1, 0);
	struct pr_flow_stats before = stats();
	unsigned int i;

	(void)state;
	feed(&a, 100, T0);
	feed(&b, 100, T0 + 1);
	feed(&c, 100, T0 + 2);
	assert_int_equal(stats().active, 3);
	assert_int_equal(flush_all(), 3);
	assert_int_equal(g_cap.n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(g_cap.rec[i].end_reason, PR_FLOW_END_SHUTDOWN);
		assert_int_equal(g_cap.rec[i].first_ts_ns, T0 + i);
	}
	assert_int_equal(stats().active, 0);
	assert_int_equal(stats().ended, before.ended + 3);
	assert_int_equal(flush_all(), 0);
	/* The table works again after a flush. */
	assert_int_not_equal(feed(&a, 100, T0 + 10), 0);
	assert_int_equal(stats().active, 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void count_emit(void *ctx, const struct pr_rec_flow *rec)
{
	uint64_t *n = ctx;

	assert_int_not_equal(rec->flow_id, 0);
	(*n)++;
}

static uint64_t feed_count(const struct pr_decoded *d, uint64_t ts, uint64_t *nrec)
{
	uint32_t wire = 60;
	uint16_t ifc = 0;
	uint64_t id = 0;

	pr_flow_lookup_burst(g_ft, d, &wire, &ts, &ifc, 1, &id, count_emit, nrec);
	return id;
}

static void test_flow_ids_unique(void **state)
{
	static uint64_t ids[3000];
	struct pr_decoded d;
	uint64_t nrec = 0;
	unsigned int i, n = 0;

	(void)state;
	/* More flows than the table holds (evictions), tuple reuse and idle ends. */
	for (i = 0; i < 2000; i++) {
		d = udp4("10.13.0.1", (uint16_t)(i + 1), "10.13.0.2", 9);
		ids[n++] = feed_count(&d, T0 + i, &nrec);
	}
	for (i = 0; i < 500; i++) {
		d = tcp_pkt(4, "10.13.0.3", 7, "10.13.0.4", 8, SYN, i + 1, 0);
		ids[n++] = feed_count(&d, T0 + NS(1) + i, &nrec);
	}
	for (i = 0; i < 500; i++) {
		d = udp4("10.13.0.5", 1, "10.13.0.6", 2);
		ids[n++] = feed_count(&d, T0 + NS(2) + NS(40) * i, &nrec);
	}
	/* 2000 - 1024 evicted, then one more for each of the two single-tuple runs. */
	assert_int_equal(nrec, 978 + 499 + 499);
	qsort(ids, n, sizeof(ids[0]), cmp_u64);
	for (i = 0; i < n; i++) {
		assert_int_not_equal(ids[i], 0);
		assert_int_equal(ids[i] >> 48, CORE_ID);
	}
	for (i = 1; i < n; i++)
		assert_true(ids[i] != ids[i - 1]);
}

static void test_non_ip(void **state)
{
	struct pr_decoded arp, ip[3];
	uint32_t wire[3] = { 60, 60, 60 };
	uint64_t ts[3] = { T0, T0, T0 };
	uint16_t ifc[3] = { 2, 2, 2 };
	uint64_t ids[3] = { 77, 77, 77 };
	struct pr_flow_stats before = stats();

	(void)state;
	memset(&arp, 0, sizeof(arp));
	arp.flags = PR_DEC_NON_IP | PR_DEC_ARP;
	arp.l2_ethertype = 0x0806;
	ip[0] = arp;
	ip[1] = udp4("10.14.0.1", 1, "10.14.0.2", 2);
	memset(&ip[2], 0, sizeof(ip[2]));
	ip[2].flags = PR_DEC_NON_IP | PR_DEC_UNKNOWN_LINKTYPE;
	pr_flow_lookup_burst(g_ft, ip, wire, ts, ifc, 3, ids, cap_emit, &g_cap);
	assert_int_equal(ids[0], 0);
	assert_int_not_equal(ids[1], 0);
	assert_int_equal(ids[2], 0);
	assert_int_equal(stats().created, before.created + 1);
	assert_int_equal(flush_all(), 1);
	assert_int_equal(g_cap.rec[0].iface, 2);
}

static void test_out_of_order(void **state)
{
	struct pr_decoded up = udp4("10.15.0.1", 1, "10.15.0.2", 2);
	struct pr_decoded down = udp4("10.15.0.2", 2, "10.15.0.1", 1);
	uint64_t id;

	(void)state;
	id = feed(&up, 100, T0 + NS(100));
	assert_int_equal(feed(&down, 100, T0 + NS(95)), id);
	/* Far older than first_ts: no underflow into a huge "elapsed", no timeout. */
	assert_int_equal(feed(&up, 100, 1), id);
	assert_int_equal(feed(&down, 100, T0 + NS(101)), id);
	assert_int_equal(g_cap.n, 0);
	/* The expiry clock behind the flow's last packet must not end it either. */
	assert_int_equal(pr_flow_expire(g_ft, T0, SCAN_ALL, cap_emit, &g_cap), 0);
	assert_int_equal(pr_flow_expire(g_ft, 0, SCAN_ALL, cap_emit, &g_cap), 0);
	assert_int_equal(flush_all(), 1);
	assert_int_equal(g_cap.rec[0].first_ts_ns, T0 + NS(100));
	assert_int_equal(g_cap.rec[0].last_ts_ns, T0 + NS(101));
	assert_int_equal(g_cap.rec[0].packets[0], 2);
	assert_int_equal(g_cap.rec[0].packets[1], 2);
}

/* A burst longer than one internal chunk, with two flows and non-IP interleaved. */
static void test_long_burst(void **state)
{
	struct pr_decoded d[100];
	uint32_t wire[100];
	uint64_t ts[100], ids[100];
	uint16_t ifc[100];
	unsigned int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		if (i % 3 == 0)
			d[i] = udp4("10.16.0.1", 10, "10.16.0.2", 20);
		else if (i % 3 == 1)
			d[i] = tcp_pkt(4, "10.16.0.2", 80, "10.16.0.1", 9999, ACK, i, 1);
		else {
			memset(&d[i], 0, sizeof(d[i]));
			d[i].flags = PR_DEC_NON_IP;
		}
		wire[i] = 100 + i;
		ts[i] = T0 + i;
		ifc[i] = 4;
	}
	pr_flow_lookup_burst(g_ft, d, wire, ts, ifc, 100, ids, cap_emit, &g_cap);
	for (i = 0; i < 100; i++) {
		if (i % 3 == 0)
			assert_int_equal(ids[i], ids[0]);
		else if (i % 3 == 1)
			assert_int_equal(ids[i], ids[1]);
		else
			assert_int_equal(ids[i], 0);
	}
	assert_int_not_equal(ids[0], ids[1]);
	assert_int_equal(flush_all(), 2);
	assert_int_equal(g_cap.rec[0].packets[0] + g_cap.rec[1].packets[0], 34 + 33);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test_setup(test_tcp_handshake_fin, test_setup),
		cmocka_unit_test_setup(test_synack_first, test_setup),
		cmocka_unit_test_setup(test_midstream, test_setup),
		cmocka_unit_test_setup(test_rst, test_setup),
		cmocka_unit_test_setup(test_udp_idle, test_setup),
		cmocka_unit_test_setup(test_expire_bounded, test_setup),
		cmocka_unit_test_setup(test_active_timeout, test_setup),
		cmocka_unit_test_setup(test_syn_reuse_after_close, test_setup),
		cmocka_unit_test_setup(test_syn_reuse_after_rst, test_setup),
		cmocka_unit_test_setup(test_syn_retransmit, test_setup),
		cmocka_unit_test_setup(test_icmp_echo, test_setup),
		cmocka_unit_test_setup(test_vlan, test_setup),
		cmocka_unit_test_setup(test_ipv6, test_setup),
		cmocka_unit_test_setup(test_fragments, test_setup),
		cmocka_unit_test_setup(test_fragment_trains_share_a_set, test_setup),
		cmocka_unit_test_setup(test_no_l4, test_setup),
		cmocka_unit_test_setup(test_memcap_eviction, test_setup),
		cmocka_unit_test_setup(test_random_vs_model, test_setup),
		cmocka_unit_test_setup(test_flush, test_setup),
		cmocka_unit_test_setup(test_flow_ids_unique, test_setup),
		cmocka_unit_test_setup(test_non_ip, test_setup),
		cmocka_unit_test_setup(test_out_of_order, test_setup),
		cmocka_unit_test_setup(test_long_burst, test_setup),
	};

	return cmocka_run_group_tests_name("pr_flow", tests, group_setup, group_teardown);
}
