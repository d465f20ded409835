// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the routing and network-layer parsers of dataplane/l7:
 * BGP (pr_l7_bgp.c), OSPF (pr_l7_ospf.c), EIGRP (pr_l7_eigrp.c), RIP and
 * RIPng (pr_l7_rip.c), ICMP and ICMPv6 (pr_l7_icmp.c). Every message is
 * built byte by byte here, from the RFCs' layouts; the expected values are
 * the ones put in. Hostile inputs: segments of a few bytes, gaps, bad
 * markers and lengths, lists longer than the transaction holds, options of
 * zero length, truncated messages. The group setup creates one context.
 * Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the messages are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_routing/, configs of fuzz_l7_routing.c).
 */
#include "l7_test.h"

/* fuzz_l7_routing.c's configs */
#define CFG_BGP 0
#define CFG_OSPF 1
#define CFG_EIGRP 2
#define CFG_RIP 3
#define CFG_RIPNG 4
#define CFG_ICMP 5
#define CFG_ICMP6 6
#define CFG_SCTP 7

/* ---- BGP ---- */

static size_t bgp_hdr(struct buf *b, unsigned int type)
{
	size_t at;

	for (int i = 0; i < 16; i++)
		put8(b, 0xff);
	at = mark(b, 2);
	put8(b, type);
	return at;
}

static void bgp_end(struct buf *b, size_t len_at)
{
	size_t total = b->len - (len_at - 16);

	b->b[len_at] = (uint8_t)(total >> 8);
	b->b[len_at + 1] = (uint8_t)total;
}

static void bgp_open(struct buf *b, uint16_t as2, uint32_t as4, const uint8_t id[4], int add_path)
{
	size_t at = bgp_hdr(b, 1), ol, pl;

	put8(b, 4);
	put16(b, as2);
	put16(b, 90);
	putn(b, id, 4);
	ol = mark(b, 1);
	put8(b, 2); /* capabilities */
	pl = mark(b, 1);
	put8(b, 1); /* multiprotocol IPv4 unicast */
	put8(b, 4);
	put32(b, 0x00010001);
	put8(b, 65);
	put8(b, 4);
	put32(b, as4);
	if (add_path) {
		put8(b, 69);
		put8(b, 4);
		put16(b, 1);
		put8(b, 1);
		put8(b, 3); /* send and receive */
	}
	fix(b, pl, 1);
	fix(b, ol, 1);
	bgp_end(b, at);
}

static void prefix(struct buf *b, int path_id, uint32_t id, unsigned int plen, const uint8_t *a)
{
	if (path_id)
		put32(b, id);
	put8(b, plen);
	putn(b, a, (plen + 7) / 8);
}

static void test_bgp_session(void **state)
{
	static const uint8_t id1[4] = { 10, 0, 0, 1 }, id2[4] = { 10, 0, 0, 2 };
	static const uint8_t p1[2] = { 10, 1 }, p2[3] = { 192, 168, 1 }, p3[2] = { 172, 16 };
	struct buf o1 = { 0 }, o2 = { 0 }, up = { 0 }, more = { 0 };
	const struct pr_l7_txn *t;
	struct conn c;
	size_t at, wl, al, sl;

	(void)state;
	bgp_open(&o1, 23456, 4200000001u, id1, 1);
	bgp_open(&o2, 65002, 65002, id2, 1);
	/* UPDATE: withdrawn with path ids, AS_PATH of 4-byte numbers with a set, NLRI. */
	at = bgp_hdr(&up, 2);
	wl = mark(&up, 2);
	prefix(&up, 1, 7, 16, p3);
	fix(&up, wl, 2);
	al = mark(&up, 2);
	put8(&up, 0x40); /* ORIGIN */
	put8(&up, 1);
	put8(&up, 1);
	put8(&up, 0);
	put8(&up, 0x40); /* AS_PATH */
	put8(&up, 2);
	sl = mark(&up, 1);
	put8(&up, 2); /* AS_SEQUENCE */
	put8(&up, 2);
	put32(&up, 4200000001u);
	put32(&up, 65001);
	put8(&up, 1); /* AS_SET */
	put8(&up, 2);
	put32(&up, 1);
	put32(&up, 2);
	fix(&up, sl, 1);
	put8(&up, 0x40); /* NEXT_HOP */
	put8(&up, 3);
	put8(&up, 4);
	putn(&up, id1, 4);
	fix(&up, al, 2);
	prefix(&up, 1, 1, 16, p1);
	prefix(&up, 1, 2, 24, p2);
	bgp_end(&up, at);
	/* KEEPALIVE and NOTIFICATION (cease, administrative shutdown) back to back. */
	bgp_end(&more, bgp_hdr(&more, 4));
	at = bgp_hdr(&more, 3);
	put8(&more, 6);
	put8(&more, 2);
	bgp_end(&more, at);

	conn_init(&c, PR_L7_PROTO_TCP, 40000, 179);
	send_seg(&c, 0, o1.b, o1.len, 7); /* the OPEN in 7-byte segments */
	send_buf(&c, 1, &o2);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_BGP);
	send_seg(&c, 0, up.b, up.len, 11);
	send_buf(&c, 1, &more);

	t = find(PR_L7_TXN_BGP, 0);
	assert_non_null(t);
	assert_int_equal(t->u.bgp.type, 1);
	assert_int_equal(t->u.bgp.my_as, 4200000001u);
	assert_int_equal(t->u.bgp.hold_time, 90);
	assert_string_equal(t->u.bgp.router_id, "10.0.0.1");
	assert_string_equal(t->u.bgp.caps, "1,65,69");
	assert_true(t->u.bgp.flags & PR_L7_BGP_AS4);
	t = find(PR_L7_TXN_BGP, 2);
	assert_non_null(t);
	assert_int_equal(t->u.bgp.type, 2);
	assert_string_equal(t->u.bgp.as_path, "4200000001 65001 {1,2}");
	assert_string_equal(t->u.bgp.next_hop, "10.0.0.1");
	assert_string_equal(t->u.bgp.announced, "10.1.0.0/16,192.168.1.0/24");
	assert_string_equal(t->u.bgp.withdrawn, "172.16.0.0/16");
	assert_int_equal(t->u.bgp.n_announced, 2);
	assert_int_equal(t->u.bgp.n_withdrawn, 1);
	assert_int_equal(t->u.bgp.flags & (PR_L7_BGP_AS4 | PR_L7_BGP_ADD_PATH),
			 PR_L7_BGP_AS4 | PR_L7_BGP_ADD_PATH);
	assert_int_equal(find(PR_L7_TXN_BGP, 3)->u.bgp.type, 4);
	t = find(PR_L7_TXN_BGP, 4);
	assert_int_equal(t->u.bgp.type, 3);
	assert_int_equal(t->u.bgp.err_code, 6);
	assert_int_equal(t->u.bgp.err_subcode, 2);
	assert_int_equal(count(PR_L7_TXN_BGP), 5);
	pr_l7_flow_end(g_ctx, &c.st);
	{
		const struct buf *ms[4] = { &o1, &o2, &up, &more };

		seed("bgp_session", CFG_BGP, ms, 4, 0xa);
	}
}

/* Without OPENs (a capture that starts late): sizes are found from the bytes. */
static void test_bgp_mid_session_and_mp(void **state)
{
	static const uint8_t v6[4] = { 0x20, 0x01, 0x0d, 0xb8 }, p1[2] = { 10, 9 };
	static const uint8_t nh6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct buf up = { 0 }, vpn = { 0 };
	const struct pr_l7_txn *t;
	struct pr_l7_stats st;
	struct conn c;
	size_t at, al, x;

	(void)state;
	at = bgp_hdr(&up, 2);
	put16(&up, 0);
	al = mark(&up, 2);
	put8(&up, 0x40); /* AS_PATH, 2-byte numbers */
	put8(&up, 2);
	put8(&up, 6);
	put8(&up, 2);
	put8(&up, 2);
	put16(&up, 65001);
	put16(&up, 65002);
	put8(&up, 0x90); /* MP_REACH_NLRI, extended length: IPv6 unicast */
	put8(&up, 14);
	x = mark(&up, 2);
	put16(&up, 2);
	put8(&up, 1);
	put8(&up, 16);
	putn(&up, nh6, 16);
	put8(&up, 0);
	prefix(&up, 0, 0, 32, v6);
	fix(&up, x, 2);
	put8(&up, 0x80); /* MP_UNREACH_NLRI: IPv6 */
	put8(&up, 15);
	x = mark(&up, 1);
	put16(&up, 2);
	put8(&up, 1);
	prefix(&up, 0, 0, 32, v6);
	fix(&up, x, 1);
	fix(&up, al, 2);
	prefix(&up, 0, 0, 16, p1);
	bgp_end(&up, at);
	/* MPLS VPN (SAFI 128): a label, a route distinguisher, then 10.9.0.0/16. */
	at = bgp_hdr(&vpn, 2);
	put16(&vpn, 0);
	al = mark(&vpn, 2);
	put8(&vpn, 0x80);
	put8(&vpn, 14);
	x = mark(&vpn, 1);
	put16(&vpn, 1);
	put8(&vpn, 128);
	put8(&vpn, 12);
	for (int i = 0; i < 8; i++)
		put8(&vpn, 0);
	putn(&vpn, p1, 2);
	put16(&vpn, 0x0909);
	put8(&vpn, 0);
	put8(&vpn, 24 + 64 + 16);
	put8(&vpn, 0x00); /* label 16, bottom of stack */
	put8(&vpn, 0x01);
	put8(&vpn, 0x01);
	for (int i = 0; i < 8; i++)
		put8(&vpn, (unsigned int)i);
	putn(&vpn, p1, 2);
	fix(&vpn, x, 1);
	fix(&vpn, al, 2);
	bgp_end(&vpn, at);

	conn_init(&c, PR_L7_PROTO_TCP, 179, 51000);
	send_buf(&c, 0, &up);
	/* A hole (lost bytes), then a segment that starts a message: parsing goes on. */
	c.seq[0] += 100;
	send_buf(&c, 0, &vpn);
	pr_l7_ctx_stats(g_ctx, &st);
	assert_true(st.resyncs >= 1);
	t = find(PR_L7_TXN_BGP, 0);
	assert_non_null(t);
	assert_string_equal(t->u.bgp.as_path, "65001 65002");
	assert_false(t->u.bgp.flags & PR_L7_BGP_AS4);
	assert_string_equal(t->u.bgp.next_hop, "2001:db8::1");
	assert_string_equal(t->u.bgp.announced, "2001:db8::/32,10.9.0.0/16");
	assert_string_equal(t->u.bgp.withdrawn, "2001:db8::/32");
	assert_int_equal(t->u.bgp.afi, 2);
	t = find(PR_L7_TXN_BGP, 1);
	assert_non_null(t);
	assert_string_equal(t->u.bgp.announced, "10.9.0.0/16");
	assert_int_equal(t->u.bgp.safi, 128);
	pr_l7_flow_end(g_ctx, &c.st);
	{
		const struct buf *ms[2] = { &up, &vpn };

		seed("bgp_mid_session_mp", CFG_BGP, ms, 2, 0);
	}
}

static void test_bgp_hostile(void **state)
{
	struct buf big = { 0 }, bad = { 0 };
	struct pr_l7_stats before, after;
	const struct pr_l7_txn *t;
	struct conn c;
	size_t at;

	(void)state;
	/* 300 prefixes: more than the text holds; counted all the same. */
	at = bgp_hdr(&big, 2);
	put16(&big, 0);
	put16(&big, 0);
	for (unsigned int i = 0; i < 300; i++) {
		uint8_t p[3] = { 10, (uint8_t)(i >> 8), (uint8_t)i };

		prefix(&big, 0, 0, 24, p);
	}
	bgp_end(&big, at);
	/* A broken marker. */
	at = bgp_hdr(&bad, 4);
	bgp_end(&bad, at);
	bad.b[3] = 0;

	conn_init(&c, PR_L7_PROTO_TCP, 40000, 179);
	send_buf(&c, 0, &big);
	t = find(PR_L7_TXN_BGP, 0);
	assert_non_null(t);
	assert_int_equal(t->u.bgp.n_announced, 300);
	assert_true(t->u.bgp.flags & PR_L7_BGP_LISTS_CUT);
	assert_true(strlen(t->u.bgp.announced) < sizeof(t->u.bgp.announced));
	pr_l7_ctx_stats(g_ctx, &before);
	send_buf(&c, 0, &bad);
	pr_l7_ctx_stats(g_ctx, &after);
	assert_int_equal(after.malformed, before.malformed + 1);
	assert_int_equal(count(PR_L7_TXN_BGP), 1);
	/* A length below the header's own: malformed too (a fresh flow). */
	pr_l7_flow_end(g_ctx, &c.st);
	bad.b[3] = 0xff;
	bad.b[16] = 0;
	bad.b[17] = 18;
	conn_init(&c, PR_L7_PROTO_TCP, 40000, 179);
	send_buf(&c, 0, &bad);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_NONE);
	pr_l7_flow_end(g_ctx, &c.st);
	seed1("bgp_many_prefixes", CFG_BGP, &big);
}

/* ---- OSPF ---- */

static size_t ospf2_hdr(struct buf *b, unsigned int type)
{
	size_t at;

	put8(b, 2);
	put8(b, type);
	at = mark(b, 2);
	putn(b, (uint8_t[]){ 1, 1, 1, 1 }, 4); /* router id */
	putn(b, (uint8_t[]){ 0, 0, 0, 0 }, 4); /* area */
	put16(b, 0); /* checksum */
	put16(b, 0); /* no authentication */
	for (int i = 0; i < 8; i++)
		put8(b, 0);
	return at;
}

static void ospf_len(struct buf *b, size_t at)
{
	size_t n = b->len;

	b->b[at] = (uint8_t)(n >> 8);
	b->b[at + 1] = (uint8_t)n;
}

static void lsa_hdr(struct buf *b, int v3, unsigned int type, unsigned int len)
{
	put16(b, 1); /* age */
	if (v3) {
		put16(b, type);
	} else {
		put8(b, 0x22); /* options */
		put8(b, type);
	}
	putn(b, (uint8_t[]){ 1, 1, 1, 1 }, 4);
	putn(b, (uint8_t[]){ 2, 2, 2, 2 }, 4);
	put32(b, 0x80000001);
	put16(b, 0);
	put16(b, len);
}

static void test_ospf(void **state)
{
	struct buf hello = { 0 }, lsu = { 0 }, v3 = { 0 };
	const struct pr_l7_txn *t;
	size_t at;

	(void)state;
	at = ospf2_hdr(&hello, 1);
	putn(&hello, (uint8_t[]){ 255, 255, 255, 0 }, 4);
	put16(&hello, 10);
	put8(&hello, 2);
	put8(&hello, 1);
	put32(&hello, 40);
	putn(&hello, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	putn(&hello, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	putn(&hello, (uint8_t[]){ 2, 2, 2, 2 }, 4);
	putn(&hello, (uint8_t[]){ 3, 3, 3, 3 }, 4);
	ospf_len(&hello, at);
	/* LS update: a router LSA, a network LSA, and a third whose length runs past the end. */
	at = ospf2_hdr(&lsu, 4);
	put32(&lsu, 3);
	lsa_hdr(&lsu, 0, 1, 24);
	put32(&lsu, 0);
	lsa_hdr(&lsu, 0, 2, 28);
	put32(&lsu, 0xffffff00);
	put32(&lsu, 0x01010101);
	lsa_hdr(&lsu, 0, 5, 200);
	ospf_len(&lsu, at);
	/* OSPFv3 LS acknowledgement: an intra-area prefix LSA header, a router LSA header. */
	put8(&v3, 3);
	put8(&v3, 5);
	at = mark(&v3, 2);
	putn(&v3, (uint8_t[]){ 4, 4, 4, 4 }, 4);
	putn(&v3, (uint8_t[]){ 0, 0, 0, 1 }, 4);
	put16(&v3, 0);
	put8(&v3, 7); /* instance */
	put8(&v3, 0);
	lsa_hdr(&v3, 1, 0x2009, 20);
	lsa_hdr(&v3, 1, 0x2001, 20);
	ospf_len(&v3, at);

	one(PR_L7_PROTO_OSPF, 0, 0, &hello);
	one(PR_L7_PROTO_OSPF, 0, 0, &lsu);
	one(PR_L7_PROTO_OSPF, 0, 0, &v3);
	t = find(PR_L7_TXN_OSPF, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_OSPF);
	assert_int_equal(t->u.ospf.type, 1);
	assert_string_equal(t->u.ospf.router_id, "1.1.1.1");
	assert_string_equal(t->u.ospf.area_id, "0.0.0.0");
	assert_string_equal(t->u.ospf.mask, "255.255.255.0");
	assert_string_equal(t->u.ospf.dr, "10.0.0.1");
	assert_string_equal(t->u.ospf.bdr, "10.0.0.2");
	assert_int_equal(t->u.ospf.hello_interval, 10);
	assert_int_equal(t->u.ospf.dead_interval, 40);
	assert_int_equal(t->u.ospf.priority, 1);
	assert_int_equal(t->u.ospf.n_neighbors, 2);
	t = find(PR_L7_TXN_OSPF, 1);
	assert_int_equal(t->u.ospf.type, 4);
	assert_int_equal(t->u.ospf.n_lsas, 2);
	assert_int_equal(t->u.ospf.lsa_types, (1u << 1) | (1u << 2));
	t = find(PR_L7_TXN_OSPF, 2);
	assert_int_equal(t->u.ospf.version, 3);
	assert_int_equal(t->u.ospf.instance, 7);
	assert_string_equal(t->u.ospf.area_id, "0.0.0.1");
	assert_int_equal(t->u.ospf.n_lsas, 2);
	assert_int_equal(t->u.ospf.lsa_types, (1u << 9) | (1u << 1));
	seed1("ospf_hello", CFG_OSPF, &hello);
	seed1("ospf_lsu", CFG_OSPF, &lsu);
	seed1("ospf_v3_ack", CFG_OSPF, &v3);
}

/* ---- EIGRP ---- */

static void eigrp_hdr(struct buf *b, unsigned int opcode, uint16_t as)
{
	put8(b, 2);
	put8(b, opcode);
	put16(b, 0);
	put32(b, 0);
	put32(b, 5); /* sequence */
	put32(b, 0);
	put16(b, 0);
	put16(b, as);
}

static void test_eigrp(void **state)
{
	struct buf hello = { 0 }, up = { 0 };
	const struct pr_l7_txn *t;
	struct pr_l7_stats before, after;
	size_t at;

	(void)state;
	eigrp_hdr(&hello, 5, 100);
	put16(&hello, 0x0001); /* parameters: K1..K5, reserved, hold time */
	put16(&hello, 12);
	putn(&hello, (uint8_t[]){ 1, 0, 1, 0, 0, 0 }, 6);
	put16(&hello, 15);
	put16(&hello, 0x0004); /* software version */
	put16(&hello, 8);
	putn(&hello, (uint8_t[]){ 12, 4, 1, 2 }, 4);

	eigrp_hdr(&up, 1, 100);
	put16(&up, 0x0102); /* IPv4 internal: next hop, metric, then 10.1.0.0/16 */
	at = mark(&up, 2);
	for (int i = 0; i < 20; i++)
		put8(&up, 0);
	put8(&up, 16);
	putn(&up, (uint8_t[]){ 10, 1 }, 2);
	up.b[at] = 0;
	up.b[at + 1] = (uint8_t)(up.len - at + 2);
	put16(&up, 0x0103); /* IPv4 external: 172.16.0.0/12 */
	at = mark(&up, 2);
	for (int i = 0; i < 40; i++)
		put8(&up, 0);
	put8(&up, 12);
	putn(&up, (uint8_t[]){ 172, 16 }, 2);
	up.b[at + 1] = (uint8_t)(up.len - at + 2);
	put16(&up, 0x0402); /* IPv6 internal: 2001:db8:1::/48 */
	at = mark(&up, 2);
	for (int i = 0; i < 32; i++)
		put8(&up, 0);
	put8(&up, 48);
	putn(&up, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 1 }, 6);
	up.b[at + 1] = (uint8_t)(up.len - at + 2);
	put16(&up, 0x0102); /* a TLV longer than what is left */
	put16(&up, 200);

	one(PR_L7_PROTO_EIGRP, 0, 0, &hello);
	pr_l7_ctx_stats(g_ctx, &before);
	one(PR_L7_PROTO_EIGRP, 0, 0, &up);
	pr_l7_ctx_stats(g_ctx, &after);
	t = find(PR_L7_TXN_EIGRP, 0);
	assert_non_null(t);
	assert_int_equal(t->u.eigrp.opcode, 5);
	assert_int_equal(t->u.eigrp.as, 100);
	assert_int_equal(t->u.eigrp.hold_time, 15);
	assert_int_equal(t->u.eigrp.k[0], 1);
	assert_int_equal(t->u.eigrp.k[2], 1);
	assert_string_equal(t->u.eigrp.sw_version, "12.4/1.2");
	t = find(PR_L7_TXN_EIGRP, 1);
	assert_int_equal(t->u.eigrp.opcode, 1);
	assert_int_equal(t->u.eigrp.seq, 5);
	assert_string_equal(t->u.eigrp.routes, "10.1.0.0/16,172.16.0.0/12,2001:db8:1::/48");
	assert_int_equal(t->u.eigrp.n_routes, 3);
	assert_int_equal(after.malformed, before.malformed + 1);
	seed1("eigrp_hello", CFG_EIGRP, &hello);
	seed1("eigrp_update", CFG_EIGRP, &up);
}

/* ---- RIP ---- */

static void rte4(struct buf *b, unsigned int afi, const uint8_t a[4], const uint8_t m[4],
		 uint32_t metric)
{
	put16(b, afi);
	put16(b, 0);
	putn(b, a, 4);
	putn(b, m, 4);
	put32(b, 0);
	put32(b, metric);
}

static void test_rip(void **state)
{
	static const uint8_t zero[4], a1[4] = { 10, 0, 0, 0 }, m1[4] = { 255, 0, 0, 0 };
	static const uint8_t a2[4] = { 192, 168, 1, 0 }, m2[4] = { 255, 255, 255, 0 };
	struct buf v2 = { 0 }, req = { 0 }, ng = { 0 };
	const struct pr_l7_txn *t;

	(void)state;
	put8(&v2, 2);
	put8(&v2, 2);
	put16(&v2, 0);
	put16(&v2, 0xffff); /* simple password authentication */
	put16(&v2, 2);
	puts_(&v2, "secretsecret1234");
	rte4(&v2, 2, a1, m1, 1);
	rte4(&v2, 2, a2, m2, 2);
	/* RIPv1: a request for the whole table (AFI 0, metric 16). */
	put8(&req, 1);
	put8(&req, 1);
	put16(&req, 0);
	rte4(&req, 0, zero, zero, 16);
	/* RIPng: a next hop entry, then a prefix. */
	put8(&ng, 2);
	put8(&ng, 1);
	put16(&ng, 0);
	for (int i = 0; i < 18; i++)
		put8(&ng, i == 0 ? 0xfe : i == 1 ? 0x80 : 0);
	put8(&ng, 0);
	put8(&ng, 0xff);
	putn(&ng, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 0 }, 16);
	put16(&ng, 0);
	put8(&ng, 64);
	put8(&ng, 3);

	one(PR_L7_PROTO_UDP, 520, 520, &v2);
	one(PR_L7_PROTO_UDP, 520, 520, &req);
	one(PR_L7_PROTO_UDP, 521, 521, &ng);
	t = find(PR_L7_TXN_RIP, 0);
	assert_non_null(t);
	assert_int_equal(t->u.rip.version, 2);
	assert_int_equal(t->u.rip.command, 2);
	assert_int_equal(t->u.rip.auth_type, 2);
	assert_int_equal(t->u.rip.n_routes, 2);
	assert_string_equal(t->u.rip.routes, "10.0.0.0/8 metric 1,192.168.1.0/24 metric 2");
	/* The password is nowhere in the transaction. */
	assert_null(memmem(t, sizeof(*t), "secret", 6));
	t = find(PR_L7_TXN_RIP, 1);
	assert_int_equal(t->u.rip.version, 1);
	assert_int_equal(t->u.rip.command, 1);
	assert_int_equal(t->u.rip.n_routes, 0);
	t = find(PR_L7_TXN_RIP, 2);
	assert_true(t->u.rip.ng);
	assert_string_equal(t->u.rip.routes, "2001:db8:2::/64 metric 3");
	seed1("rip_v2_auth", CFG_RIP, &v2);
	seed1("rip_v1_request", CFG_RIP, &req);
	seed1("ripng", CFG_RIPNG, &ng);
}

/* ---- ICMP ---- */

static void test_icmp4(void **state)
{
	struct buf echo = { 0 }, unreach = { 0 }, frag = { 0 }, redir = { 0 }, tiny = { 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	putn(&echo, (uint8_t[]){ 8, 0, 0, 0, 0x12, 0x34, 0, 7 }, 8);
	puts_(&echo, "abcdefgh");
	/* Port unreachable quoting UDP 10.0.0.1:5353 -> 10.0.0.2:53. */
	putn(&unreach, (uint8_t[]){ 3, 3, 0, 0, 0, 0, 0, 0 }, 8);
	putn(&unreach,
	     (uint8_t[]){ 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 }, 20);
	putn(&unreach, (uint8_t[]){ 0x14, 0xe9, 0, 53, 0, 20, 0, 0 }, 8);
	/* Fragmentation needed (MTU 1400), quoting a later fragment: no ports. */
	putn(&frag, (uint8_t[]){ 3, 4, 0, 0, 0, 0, 0x05, 0x78 }, 8);
	putn(&frag, (uint8_t[]){ 0x45, 0, 5,  220, 0, 1, 0x00, 0x10, 64, 6,
				 0,    0, 10, 0,   0, 1, 10,   0,    0,	 2 },
	     20);
	putn(&frag, (uint8_t[]){ 1, 2, 3, 4, 5, 6, 7, 8 }, 8);
	putn(&redir, (uint8_t[]){ 5, 1, 0, 0, 192, 168, 0, 254 }, 8);
	putn(&tiny, (uint8_t[]){ 8, 0, 0 }, 3);

	one(PR_L7_PROTO_ICMP, 0, 0, &echo);
	one(PR_L7_PROTO_ICMP, 0, 0, &unreach);
	one(PR_L7_PROTO_ICMP, 0, 0, &frag);
	one(PR_L7_PROTO_ICMP, 0, 0, &redir);
	/* Shorter than an ICMP header: not recognised, nothing emitted. */
	conn_init(&c, PR_L7_PROTO_ICMP, 0, 0);
	send_buf(&c, 0, &tiny);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_NONE);
	pr_l7_flow_end(g_ctx, &c.st);
	assert_int_equal(count(PR_L7_TXN_ICMP), 4);
	t = find(PR_L7_TXN_ICMP, 0);
	assert_int_equal(t->app, PR_L7_APP_ICMP);
	assert_int_equal(t->u.icmp.version, 4);
	assert_int_equal(t->u.icmp.type, 8);
	assert_int_equal(t->u.icmp.id, 0x1234);
	assert_int_equal(t->u.icmp.seq, 7);
	t = find(PR_L7_TXN_ICMP, 1);
	assert_int_equal(t->u.icmp.flags, PR_L7_ICMP_QUOTED | PR_L7_ICMP_QUOTED_PORTS);
	assert_int_equal(t->u.icmp.q_proto, 17);
	assert_string_equal(t->u.icmp.q_src, "10.0.0.1");
	assert_string_equal(t->u.icmp.q_dst, "10.0.0.2");
	assert_int_equal(t->u.icmp.q_sport, 5353);
	assert_int_equal(t->u.icmp.q_dport, 53);
	t = find(PR_L7_TXN_ICMP, 2);
	assert_int_equal(t->u.icmp.value, 1400);
	assert_int_equal(t->u.icmp.flags, PR_L7_ICMP_QUOTED);
	assert_int_equal(t->u.icmp.q_proto, 6);
	t = find(PR_L7_TXN_ICMP, 3);
	assert_string_equal(t->u.icmp.target, "192.168.0.254");
	seed1("icmp_echo", CFG_ICMP, &echo);
	seed1("icmp_unreach", CFG_ICMP, &unreach);
}

static void test_icmp6(void **state)
{
	static const uint8_t a1[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t a2[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	struct buf ptb = { 0 }, ra = { 0 }, na = { 0 }, badopt = { 0 };
	const struct pr_l7_txn *t;

	(void)state;
	/* Packet too big (MTU 1280) quoting UDP over IPv6 with a hop-by-hop header. */
	putn(&ptb, (uint8_t[]){ 2, 0, 0, 0, 0, 0, 5, 0 }, 8);
	putn(&ptb, (uint8_t[]){ 0x60, 0, 0, 0, 0, 16, 0, 64 }, 8);
	putn(&ptb, a1, 16);
	putn(&ptb, a2, 16);
	putn(&ptb, (uint8_t[]){ 17, 0, 1, 4, 0, 0, 0, 0 }, 8);
	putn(&ptb, (uint8_t[]){ 0x30, 0x39, 0x01, 0xbb, 0, 8, 0, 0 }, 8);
	/* Router advertisement: prefix, MTU, DNS server, source link-layer address. */
	putn(&ra, (uint8_t[]){ 134, 0, 0, 0, 64, 0xc0, 0x07, 0x08 }, 8);
	put32(&ra, 30000);
	put32(&ra, 1000);
	putn(&ra, (uint8_t[]){ 3, 4, 64, 0xc0 }, 4);
	put32(&ra, 86400);
	put32(&ra, 14400);
	put32(&ra, 0);
	putn(&ra, a1, 16);
	putn(&ra, (uint8_t[]){ 5, 1, 0, 0 }, 4);
	put32(&ra, 1500);
	putn(&ra, (uint8_t[]){ 25, 3, 0, 0 }, 4);
	put32(&ra, 600);
	putn(&ra, a2, 16);
	putn(&ra, (uint8_t[]){ 1, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 }, 8);
	/* Neighbor advertisement: router, solicited, override. */
	putn(&na, (uint8_t[]){ 136, 0, 0, 0, 0xe0, 0, 0, 0 }, 8);
	putn(&na, a2, 16);
	/* A solicitation whose first option has length 0: the options end there. */
	putn(&badopt, (uint8_t[]){ 135, 0, 0, 0, 0, 0, 0, 0 }, 8);
	putn(&badopt, a1, 16);
	putn(&badopt, (uint8_t[]){ 1, 0, 1, 2, 3, 4, 5, 6, 1, 1, 9, 9, 9, 9, 9, 9 }, 16);

	one(PR_L7_PROTO_ICMPV6, 0, 0, &ptb);
	one(PR_L7_PROTO_ICMPV6, 0, 0, &ra);
	one(PR_L7_PROTO_ICMPV6, 0, 0, &na);
	one(PR_L7_PROTO_ICMPV6, 0, 0, &badopt);
	t = find(PR_L7_TXN_ICMP, 0);
	assert_int_equal(t->u.icmp.version, 6);
	assert_int_equal(t->u.icmp.value, 1280);
	assert_int_equal(t->u.icmp.q_proto, 17);
	assert_string_equal(t->u.icmp.q_src, "2001:db8::1");
	assert_int_equal(t->u.icmp.q_sport, 12345);
	assert_int_equal(t->u.icmp.q_dport, 443);
	t = find(PR_L7_TXN_ICMP, 1);
	assert_int_equal(t->u.icmp.ra_hop_limit, 64);
	assert_int_equal(t->u.icmp.ra_flags, 0xc0);
	assert_int_equal(t->u.icmp.ra_lifetime, 0x0708);
	assert_int_equal(t->u.icmp.ra_reachable, 30000);
	assert_string_equal(t->u.icmp.prefixes, "2001:db8::1/64");
	assert_int_equal(t->u.icmp.mtu, 1500);
	assert_string_equal(t->u.icmp.rdnss, "2001:db8::2");
	assert_string_equal(t->u.icmp.lladdr, "02:00:5e:00:53:01");
	t = find(PR_L7_TXN_ICMP, 2);
	assert_string_equal(t->u.icmp.target, "2001:db8::2");
	assert_int_equal(t->u.icmp.flags,
			 PR_L7_ICMP_ND_ROUTER | PR_L7_ICMP_ND_SOLICITED | PR_L7_ICMP_ND_OVERRIDE);
	t = find(PR_L7_TXN_ICMP, 3);
	assert_string_equal(t->u.icmp.target, "2001:db8::1");
	assert_string_equal(t->u.icmp.lladdr, "");
	seed1("icmp6_ptb", CFG_ICMP6, &ptb);
	seed1("icmp6_ra", CFG_ICMP6, &ra);
}

/* ---- SCTP ---- */

static void sctp_common(struct buf *b, uint32_t vtag)
{
	put16(b, 36412); /* S1AP's port, for show: the parser does not look at ports */
	put16(b, 36412);
	put32(b, vtag);
	put32(b, 0); /* CRC32c, not checked */
}

static void sctp_data(struct buf *b, uint32_t tsn, uint32_t ppid, const char *payload)
{
	size_t n = strlen(payload);

	put8(b, 0); /* DATA */
	put8(b, 0x03); /* B and E */
	put16(b, (unsigned int)(16 + n));
	put32(b, tsn);
	put16(b, 1); /* stream */
	put16(b, 0);
	put32(b, ppid);
	puts_(b, payload);
	while (b->len % 4)
		put8(b, 0); /* padding, not counted in the length */
}

static void test_sctp(void **state)
{
	struct buf init = { 0 }, data = { 0 }, abrt = { 0 }, bad = { 0 };
	const struct pr_l7_txn *t;
	struct pr_l7_stats before, after;

	(void)state;
	sctp_common(&init, 0);
	put8(&init, 1); /* INIT */
	put8(&init, 0);
	put16(&init, 20 + 8);
	put32(&init, 0x11223344); /* initiate tag */
	put32(&init, 106496); /* a_rwnd */
	put16(&init, 10); /* outbound streams */
	put16(&init, 65535); /* inbound streams */
	put32(&init, 1000); /* initial TSN */
	put16(&init, 5); /* IPv4 address parameter */
	put16(&init, 8);
	putn(&init, (uint8_t[]){ 10, 0, 0, 1 }, 4);

	/* Three DATA chunks (two PPIDs, one twice), a SACK, an unknown chunk type. */
	sctp_common(&data, 0x11223344);
	sctp_data(&data, 1000, 18, "s1ap-setup");
	sctp_data(&data, 1001, 46, "diameter");
	sctp_data(&data, 1002, 18, "x");
	put8(&data, 3); /* SACK */
	put8(&data, 0);
	put16(&data, 16);
	put32(&data, 999);
	put32(&data, 106496);
	put16(&data, 0);
	put16(&data, 0);
	put8(&data, 77);
	put8(&data, 0);
	put16(&data, 4);

	sctp_common(&abrt, 0x11223344);
	put8(&abrt, 6); /* ABORT, cause 13: protocol violation */
	put8(&abrt, 0);
	put16(&abrt, 8);
	put16(&abrt, 13);
	put16(&abrt, 4);

	/* A chunk that claims more than the packet holds: the walk stops there. */
	sctp_common(&bad, 7);
	put8(&bad, 0);
	put8(&bad, 3);
	put16(&bad, 4000);
	put32(&bad, 1);

	one(PR_L7_PROTO_SCTP, 0, 0, &init);
	t = find(PR_L7_TXN_SCTP, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_SCTP);
	assert_string_equal(t->u.sctp.chunks, "INIT");
	assert_int_equal(t->u.sctp.initiate_tag, 0x11223344);
	assert_int_equal(t->u.sctp.a_rwnd, 106496);
	assert_int_equal(t->u.sctp.out_streams, 10);
	assert_int_equal(t->u.sctp.in_streams, 65535);
	assert_int_equal(t->u.sctp.initial_tsn, 1000);

	one(PR_L7_PROTO_SCTP, 0, 0, &data);
	t = find(PR_L7_TXN_SCTP, 1);
	assert_int_equal(t->u.sctp.vtag, 0x11223344);
	assert_string_equal(t->u.sctp.chunks, "DATA,DATA,DATA,SACK,TYPE_77");
	assert_int_equal(t->u.sctp.n_chunks, 5);
	assert_int_equal(t->u.sctp.n_data, 3);
	assert_int_equal(t->u.sctp.data_bytes, 10 + 8 + 1);
	assert_string_equal(t->u.sctp.ppids, "18,46");
	assert_int_equal(t->u.sctp.flags, 0);

	one(PR_L7_PROTO_SCTP, 0, 0, &abrt);
	t = find(PR_L7_TXN_SCTP, 2);
	assert_string_equal(t->u.sctp.chunks, "ABORT");
	assert_int_equal(t->u.sctp.cause, 13);

	/* Not detected at all: the first chunk's length does not fit. */
	pr_l7_ctx_stats(g_ctx, &before);
	one(PR_L7_PROTO_SCTP, 0, 0, &bad);
	pr_l7_ctx_stats(g_ctx, &after);
	assert_int_equal(count(PR_L7_TXN_SCTP), 3);
	assert_int_equal(after.detected[PR_L7_APP_SCTP], before.detected[PR_L7_APP_SCTP]);
	/* Detected on a good packet, then a bad one: what was walked is kept, flagged. */
	{
		struct conn c;

		conn_init(&c, PR_L7_PROTO_SCTP, 0, 0);
		send_buf(&c, 0, &abrt);
		send_buf(&c, 1, &bad);
		pr_l7_flow_end(g_ctx, &c.st);
	}
	t = find(PR_L7_TXN_SCTP, 4);
	assert_non_null(t);
	assert_int_equal(t->u.sctp.flags, PR_L7_SCTP_MALFORMED);
	assert_int_equal(t->u.sctp.n_chunks, 0);
	seed1("sctp_init", CFG_SCTP, &init);
	seed1("sctp_data", CFG_SCTP, &data);
	seed1("sctp_abort", CFG_SCTP, &abrt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bgp_session, l7t_reset),
		cmocka_unit_test_setup(test_bgp_mid_session_and_mp, l7t_reset),
		cmocka_unit_test_setup(test_bgp_hostile, l7t_reset),
		cmocka_unit_test_setup(test_ospf, l7t_reset),
		cmocka_unit_test_setup(test_eigrp, l7t_reset),
		cmocka_unit_test_setup(test_rip, l7t_reset),
		cmocka_unit_test_setup(test_icmp4, l7t_reset),
		cmocka_unit_test_setup(test_icmp6, l7t_reset),
		cmocka_unit_test_setup(test_sctp, l7t_reset),
	};

	return cmocka_run_group_tests(tests, l7t_setup, l7t_teardown);
}
