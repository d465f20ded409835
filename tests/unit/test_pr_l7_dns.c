// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the DNS parser (dataplane/l7/pr_l7_dns.c): queries and
 * responses over UDP (DNS, mDNS, LLMNR ports) and TCP (length prefix,
 * messages split over segments and several per segment), compression
 * pointers including hostile ones, every answer type the parser writes as
 * text, EDNS and the header flags. Messages are built byte by byte here.
 * The group setup creates one context; each test starts fresh flow states.
 * Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the messages are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_dns/, see tests/fuzz/fuzz_l7.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_l7.h"

#define MAX_TXN 8

struct buf {
	uint8_t b[4096];
	size_t len;
};

struct capture {
	struct pr_l7_txn t[MAX_TXN];
	unsigned int n;
};

static struct pr_l7_ctx *g_ctx;
static struct capture g_cap;

static void put8(struct buf *b, unsigned int v)
{
	assert_true(b->len < sizeof(b->b));
	b->b[b->len++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned int v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static void putn(struct buf *b, const void *p, size_t n)
{
	assert_true(b->len + n <= sizeof(b->b));
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

/* A name in labels ("www.example.com" -> 3www7example3com0). */
static void put_name(struct buf *b, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		put8(b, (unsigned int)n);
		putn(b, name, n);
		name += n + (dot ? 1 : 0);
	}
	put8(b, 0);
}

static void header(struct buf *b, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
		   uint16_t ns, uint16_t ar)
{
	put16(b, id);
	put16(b, flags);
	put16(b, qd);
	put16(b, an);
	put16(b, ns);
	put16(b, ar);
}

/* A record: name as a pointer to offset ptr (or a full name when ptr is 0). */
static size_t rr_begin(struct buf *b, uint16_t ptr, const char *name, uint16_t type, uint32_t ttl)
{
	size_t at;

	if (ptr)
		put16(b, 0xc000 | ptr);
	else
		put_name(b, name);
	put16(b, type);
	put16(b, 1);
	put32(b, ttl);
	at = b->len;
	put16(b, 0);
	return at;
}

static void rr_end(struct buf *b, size_t at)
{
	size_t n = b->len - at - 2;

	b->b[at] = (uint8_t)(n >> 8);
	b->b[at + 1] = (uint8_t)n;
}

static void cap_emit(void *arg, const struct pr_l7_txn *t)
{
	struct capture *c = arg;

	assert_true(c->n < MAX_TXN);
	c->t[c->n++] = *t;
}

static void send_pkt(struct pr_l7_state *st, uint8_t dir, const uint8_t *p, size_t len,
		     uint32_t seq)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct pr_l7_pkt pkt = {
		.data = copy,
		.len = (uint32_t)len,
		.seq = seq,
		.dir = dir,
		.has_seq = seq != 0,
	};

	assert_non_null(copy);
	memcpy(copy, p, len);
	pr_l7_process(g_ctx, st, &pkt, cap_emit, &g_cap);
	free(copy);
}

static void seed(const char *name, int tcp, const struct buf *q, const struct buf *r)
{
	const char *dir = getenv("PR_L7_SEED_DIR");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputc(tcp, f);
	for (int d = 0; d < 2; d++) {
		const struct buf *b = d ? r : q;

		if (!b)
			continue;
		fputc(d, f);
		fputc((int)(b->len & 0xff), f);
		fputc((int)(b->len >> 8), f);
		fwrite(b->b, 1, b->len, f);
	}
	fclose(f);
}

static int setup(void **state)
{
	struct pr_l7_cfg cfg = { 0 };

	(void)state;
	return pr_l7_ctx_create(&cfg, -1, &g_ctx);
}

static int teardown(void **state)
{
	(void)state;
	pr_l7_ctx_destroy(g_ctx);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	memset(&g_cap, 0, sizeof(g_cap));
	return 0;
}

static void query(struct buf *b, uint16_t id, const char *name, uint16_t qtype)
{
	header(b, id, 0x0100, 1, 0, 0, 1);
	put_name(b, name);
	put16(b, qtype);
	put16(b, 1);
	/* OPT: UDP size 1232, DO set */
	put8(b, 0);
	put16(b, 41);
	put16(b, 1232);
	put32(b, 0x00008000);
	put16(b, 0);
}

/* A response to "www.example.com" with one record of every type the parser writes out. */
static void response(struct buf *b)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	size_t at;

	header(b, 0x1234, 0x8180, 1, 9, 0, 0);
	put_name(b, "www.example.com"); /* at offset 12 */
	put16(b, 1);
	put16(b, 1);
	at = rr_begin(b, 12, NULL, 5, 300); /* CNAME -> cdn.example.net */
	put8(b, 3);
	putn(b, "cdn", 3);
	put16(b, 0xc000 | 16); /* "example.com" */
	rr_end(b, at);
	at = rr_begin(b, 12, NULL, 1, 60); /* A */
	putn(b, "\xc0\x00\x02\x01", 4);
	rr_end(b, at);
	at = rr_begin(b, 12, NULL, 28, 60); /* AAAA */
	putn(b, v6, 16);
	rr_end(b, at);
	at = rr_begin(b, 16, NULL, 15, 3600); /* MX 10 mail.example.com */
	put16(b, 10);
	put8(b, 4);
	putn(b, "mail", 4);
	put16(b, 0xc000 | 16);
	rr_end(b, at);
	at = rr_begin(b, 16, NULL, 16, 30); /* TXT */
	put8(b, 5);
	putn(b, "v=spf", 5);
	put8(b, 4);
	putn(b, "-all", 4);
	rr_end(b, at);
	at = rr_begin(b, 16, NULL, 2, 86400); /* NS */
	put8(b, 3);
	putn(b, "ns1", 3);
	put16(b, 0xc000 | 16);
	rr_end(b, at);
	at = rr_begin(b, 0, "_sip._udp.example.com", 33, 10); /* SRV 0 5 5060 sip */
	put16(b, 0);
	put16(b, 5);
	put16(b, 5060);
	put8(b, 3);
	putn(b, "sip", 3);
	put16(b, 0xc000 | 16);
	rr_end(b, at);
	at = rr_begin(b, 0, "1.2.0.192.in-addr.arpa", 12, 5); /* PTR */
	put16(b, 0xc000 | 12);
	rr_end(b, at);
	at = rr_begin(b, 16, NULL, 6, 900); /* SOA */
	put8(b, 3);
	putn(b, "ns1", 3);
	put16(b, 0xc000 | 16);
	put8(b, 10);
	putn(b, "hostmaster", 10);
	put16(b, 0xc000 | 16);
	put32(b, 2024010101);
	put32(b, 7200);
	put32(b, 3600);
	put32(b, 1209600);
	put32(b, 300);
	rr_end(b, at);
}

static void test_udp_query(void **state)
{
	struct buf q = { .len = 0 };
	struct pr_l7_state st;
	const struct pr_l7_dns *d;

	(void)state;
	query(&q, 0xbeef, "www.example.com", 28);
	seed("udp_query", 0, &q, NULL);
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 40000, 53);
	send_pkt(&st, PR_L7_DIR_C2S, q.b, q.len, 0);
	assert_int_equal(pr_l7_flow_app(&st), PR_L7_APP_DNS);
	assert_int_equal(g_cap.n, 1);
	assert_int_equal(g_cap.t[0].kind, PR_L7_TXN_DNS_MESSAGE);
	d = &g_cap.t[0].u.dns;
	assert_int_equal(d->id, 0xbeef);
	assert_string_equal(d->qname, "www.example.com");
	assert_int_equal(d->qtype, 28);
	assert_int_equal(d->qclass, 1);
	assert_int_equal(d->flags & (PR_L7_DNS_RESPONSE | PR_L7_DNS_RD | PR_L7_DNS_TCP),
			 PR_L7_DNS_RD);
	assert_true(d->flags & PR_L7_DNS_EDNS);
	assert_true(d->flags & PR_L7_DNS_DO);
	assert_int_equal(d->edns_udp_size, 1232);
	assert_int_equal(d->n_answers, 0);
	assert_false(d->flags & PR_L7_DNS_MALFORMED);
}

static void test_udp_response_types(void **state)
{
	struct buf r = { .len = 0 };
	struct pr_l7_state st;
	const struct pr_l7_dns *d;
	static const struct {
		uint16_t type;
		uint32_t ttl;
		const char *name;
		const char *data;
	} want[] = {
		{ 5, 300, "www.example.com", "cdn.example.com" },
		{ 1, 60, "www.example.com", "192.0.2.1" },
		{ 28, 60, "www.example.com", "2001:db8::1" },
		{ 15, 3600, "example.com", "10 mail.example.com" },
		{ 16, 30, "example.com", "v=spf -all" },
		{ 2, 86400, "example.com", "ns1.example.com" },
		{ 33, 10, "_sip._udp.example.com", "0 5 5060 sip.example.com" },
		{ 12, 5, "1.2.0.192.in-addr.arpa", "www.example.com" },
		{ 6, 900, "example.com",
		  "ns1.example.com hostmaster.example.com 2024010101 7200 3600 1209600 300" },
	};

	(void)state;
	response(&r);
	seed("udp_response", 0, NULL, &r);
	/* The response comes first: the flow's client is still the side not on port 53. */
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 40000, 53);
	send_pkt(&st, PR_L7_DIR_S2C, r.b, r.len, 0);
	assert_int_equal(g_cap.n, 1);
	d = &g_cap.t[0].u.dns;
	assert_int_equal(g_cap.t[0].dir, PR_L7_DIR_S2C);
	assert_true(d->flags & PR_L7_DNS_RESPONSE);
	assert_true(d->flags & PR_L7_DNS_RA);
	assert_int_equal(d->rcode, 0);
	assert_int_equal(d->ancount, 9);
	assert_int_equal(d->n_answers, 9);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(d->answers[i].type, want[i].type);
		assert_int_equal(d->answers[i].ttl, want[i].ttl);
		assert_string_equal(d->answers[i].name, want[i].name);
		assert_string_equal(d->answers[i].data, want[i].data);
	}
	assert_false(d->flags & PR_L7_DNS_MALFORMED);
}

/* Pointers to themselves, forward and in a cycle: ended at once, never followed for ever. */
static void test_hostile_pointers(void **state)
{
	struct buf m = { .len = 0 };
	struct pr_l7_state st;
	const struct pr_l7_dns *d;

	(void)state;
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 40000, 53);

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	put16(&m, 0xc000 | 12); /* the question's name points at itself */
	put16(&m, 1);
	put16(&m, 1);
	send_pkt(&st, PR_L7_DIR_C2S, m.b, m.len, 0);

	m.len = 0;
	header(&m, 2, 0x8180, 1, 1, 0, 0);
	put_name(&m, "a.example");
	put16(&m, 1);
	put16(&m, 1);
	put16(&m, 0xc000 | 40); /* answer name: a forward pointer */
	put16(&m, 1);
	send_pkt(&st, PR_L7_DIR_S2C, m.b, m.len, 0);

	m.len = 0;
	header(&m, 3, 0x0100, 1, 0, 0, 0);
	put8(&m, 1); /* "x" then a pointer back to offset 12: x.x.x.x... */
	put8(&m, 'x');
	put16(&m, 0xc000 | 12);
	put16(&m, 1);
	put16(&m, 1);
	seed("pointer_loop", 0, &m, NULL);
	send_pkt(&st, PR_L7_DIR_C2S, m.b, m.len, 0);

	m.len = 0;
	header(&m, 4, 0x0100, 5, 0, 0, 0); /* counts larger than the message */
	send_pkt(&st, PR_L7_DIR_C2S, m.b, m.len, 0);

	assert_int_equal(g_cap.n, 4);
	for (unsigned int i = 0; i < 4; i++) {
		d = &g_cap.t[i].u.dns;
		assert_int_equal(d->id, i + 1);
		assert_true(d->flags & PR_L7_DNS_MALFORMED);
	}
	/* The second message's question was fine. */
	assert_string_equal(g_cap.t[1].u.dns.qname, "a.example");
}

static void test_names_escaped(void **state)
{
	struct buf m = { .len = 0 };
	struct pr_l7_state st;

	(void)state;
	header(&m, 7, 0x0100, 1, 0, 0, 0);
	put8(&m, 7);
	putn(&m, "a b\x01.\\\xc3", 7);
	put8(&m, 2);
	putn(&m, "\xa9z", 2);
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 40000, 53);
	send_pkt(&st, PR_L7_DIR_C2S, m.b, m.len, 0);
	assert_int_equal(g_cap.n, 1);
	/* Space and control bytes as \DDD, '.' and '\' escaped, UTF-8 (c3 a9) kept. */
	assert_string_equal(g_cap.t[0].u.dns.qname, "a\\032b\\001\\.\\\\\xc3.\xa9z");

	m.len = 0;
	header(&m, 8, 0x0100, 1, 0, 0, 0);
	put8(&m, 0); /* the root */
	put16(&m, 2);
	put16(&m, 1);
	send_pkt(&st, PR_L7_DIR_C2S, m.b, m.len, 0);
	assert_string_equal(g_cap.t[1].u.dns.qname, ".");
}

static void test_tcp_framing(void **state)
{
	struct buf q = { .len = 0 }, r = { .len = 0 }, two = { .len = 0 }, tcp_r = { .len = 0 };
	struct pr_l7_state st;
	uint32_t cseq = 100, sseq = 9000;

	(void)state;
	query(&q, 0x0101, "www.example.com", 1);
	response(&r);
	/* Two queries in one segment. */
	put16(&two, (unsigned int)q.len);
	putn(&two, q.b, q.len);
	put16(&two, (unsigned int)q.len);
	putn(&two, q.b, q.len);
	put16(&tcp_r, (unsigned int)r.len);
	putn(&tcp_r, r.b, r.len);
	seed("tcp", 1, &two, &tcp_r);

	pr_l7_flow_init(&st, PR_L7_PROTO_TCP, 40000, 53);
	send_pkt(&st, PR_L7_DIR_C2S, two.b, two.len, cseq);
	cseq += (uint32_t)two.len;
	assert_int_equal(pr_l7_flow_app(&st), PR_L7_APP_DNS);
	assert_int_equal(g_cap.n, 2);
	/* The response: the length prefix split, then the message in three pieces. */
	send_pkt(&st, PR_L7_DIR_S2C, tcp_r.b, 1, sseq);
	send_pkt(&st, PR_L7_DIR_S2C, tcp_r.b + 1, 40, sseq + 1);
	send_pkt(&st, PR_L7_DIR_S2C, tcp_r.b + 41, 100, sseq + 41);
	/* A retransmission of what was seen, overlapping the rest. */
	send_pkt(&st, PR_L7_DIR_S2C, tcp_r.b + 100, tcp_r.len - 100, sseq + 100);
	assert_int_equal(g_cap.n, 3);
	assert_true(g_cap.t[2].u.dns.flags & PR_L7_DNS_TCP);
	assert_int_equal(g_cap.t[2].u.dns.n_answers, 9);
	assert_string_equal(g_cap.t[2].u.dns.answers[8].data,
			    "ns1.example.com hostmaster.example.com 2024010101 7200 3600 1209600 "
			    "300");
	pr_l7_flow_end(g_ctx, &st);
	(void)cseq;
}

static void test_ports_and_detection(void **state)
{
	struct buf q = { .len = 0 };
	struct pr_l7_state st;

	(void)state;
	query(&q, 5, "printer.local", 12);
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 5353, 5353);
	send_pkt(&st, PR_L7_DIR_C2S, q.b, q.len, 0);
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 51000, 5355);
	send_pkt(&st, PR_L7_DIR_C2S, q.b, q.len, 0);
	assert_int_equal(g_cap.n, 2);
	assert_string_equal(g_cap.t[0].u.dns.qname, "printer.local");

	/* Not on a DNS port: not DNS, however it looks. */
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 51000, 5300);
	for (int i = 0; i < 8; i++)
		send_pkt(&st, PR_L7_DIR_C2S, q.b, q.len, 0);
	assert_int_equal(pr_l7_flow_app(&st), PR_L7_APP_UNKNOWN);
	/* On port 53 but not a DNS header (opcode 15, 4000 questions). */
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 51000, 53);
	send_pkt(&st, PR_L7_DIR_C2S,
		 (const uint8_t *)"\x00\x01\x78\x00\x0f\xa0\x00\x00\x00\x00\x00\x00", 12, 0);
	assert_int_equal(pr_l7_flow_app(&st), PR_L7_APP_NONE);
	assert_int_equal(g_cap.n, 2);
}

static void test_truncated_and_rcode(void **state)
{
	struct buf m = { .len = 0 };
	struct pr_l7_state st;

	(void)state;
	header(&m, 9, 0x8383, 1, 0, 0, 0); /* QR, TC, RD, RA; NXDOMAIN */
	put_name(&m, "nope.example");
	put16(&m, 1);
	put16(&m, 1);
	pr_l7_flow_init(&st, PR_L7_PROTO_UDP, 40000, 53);
	send_pkt(&st, PR_L7_DIR_S2C, m.b, m.len, 0);
	assert_int_equal(g_cap.n, 1);
	assert_true(g_cap.t[0].u.dns.flags & PR_L7_DNS_TC);
	assert_int_equal(g_cap.t[0].u.dns.rcode, 3);
	/* A datagram cut inside the question: what was read is kept, marked malformed. */
	send_pkt(&st, PR_L7_DIR_S2C, m.b, m.len - 3, 0);
	assert_int_equal(g_cap.n, 2);
	assert_true(g_cap.t[1].u.dns.flags & PR_L7_DNS_MALFORMED);
	/* Shorter than a header: counted, not emitted. */
	send_pkt(&st, PR_L7_DIR_S2C, m.b, 5, 0);
	assert_int_equal(g_cap.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_udp_query, reset),
		cmocka_unit_test_setup(test_udp_response_types, reset),
		cmocka_unit_test_setup(test_hostile_pointers, reset),
		cmocka_unit_test_setup(test_names_escaped, reset),
		cmocka_unit_test_setup(test_tcp_framing, reset),
		cmocka_unit_test_setup(test_ports_and_detection, reset),
		cmocka_unit_test_setup(test_truncated_and_rcode, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
