/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the unit tests of the L7 parsers added with the routing,
 * management, NetBIOS/SMB, flow export, ICMP and SIP families share: a
 * byte builder (big- and little-endian), a context created by the group
 * setup, a capture of every emitted transaction, senders for datagrams,
 * IP protocol messages and TCP segments (each an exactly sized heap copy,
 * so AddressSanitizer sees a read past it), and the writer of fuzz seeds
 * in the script format of tests/fuzz/fuzz_l7.h (PR_L7_SEED_DIR). Header
 * only, one test program per include; single-threaded.
 */
#ifndef PR_L7_TEST_H
#define PR_L7_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_l7.h"

#define L7T_MAX_TXN 48

struct buf {
	uint8_t b[32768];
	size_t len;
};

struct capture {
	struct pr_l7_txn t[L7T_MAX_TXN];
	unsigned int n;
};

/* A flow under test: its state and the next sequence number of each direction. */
struct conn {
	struct pr_l7_state st;
	uint64_t flow_id; /* 42 unless a test sets another */
	uint8_t proto;
	uint32_t seq[2];
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

static PR_UNUSED void le16(struct buf *b, unsigned int v)
{
	put8(b, v & 0xff);
	put8(b, v >> 8);
}

static PR_UNUSED void le32(struct buf *b, uint32_t v)
{
	le16(b, v & 0xffff);
	le16(b, v >> 16);
}

static void putn(struct buf *b, const void *p, size_t n)
{
	assert_true(b->len + n <= sizeof(b->b));
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

static PR_UNUSED void puts_(struct buf *b, const char *s)
{
	putn(b, s, strlen(s));
}

/* Reserve a big-endian length field of w bytes; fix() fills it in later. */
static PR_UNUSED size_t mark(struct buf *b, int w)
{
	size_t at = b->len;

	for (int i = 0; i < w; i++)
		put8(b, 0);
	return at;
}

static PR_UNUSED void fix(struct buf *b, size_t at, int w)
{
	size_t v = b->len - at - (size_t)w;

	for (int i = w - 1; i >= 0; i--, v >>= 8)
		b->b[at + (size_t)i] = (uint8_t)(v & 0xff);
}

/* A BER element: tag, then its length (short or long form), then the contents. */
static PR_UNUSED void ber(struct buf *b, unsigned int tag, const struct buf *content)
{
	put8(b, tag);
	if (content->len < 0x80) {
		put8(b, (unsigned int)content->len);
	} else if (content->len < 0x100) {
		put8(b, 0x81);
		put8(b, (unsigned int)content->len);
	} else {
		put8(b, 0x82);
		put16(b, (unsigned int)content->len);
	}
	putn(b, content->b, content->len);
}

static PR_UNUSED void ber_raw(struct buf *b, unsigned int tag, const void *p, size_t n)
{
	struct buf c = { .len = 0 };

	putn(&c, p, n);
	ber(b, tag, &c);
}

static PR_UNUSED void ber_int(struct buf *b, unsigned int tag, int64_t v)
{
	uint8_t tmp[8];
	int n = 8;

	for (int i = 7; i >= 0; i--, v >>= 8)
		tmp[i] = (uint8_t)(v & 0xff);
	/* Minimal two's complement: drop leading bytes that only repeat the sign. */
	while (n > 1 && ((tmp[8 - n] == 0 && !(tmp[9 - n] & 0x80)) ||
			 (tmp[8 - n] == 0xff && (tmp[9 - n] & 0x80))))
		n--;
	ber_raw(b, tag, tmp + 8 - n, (size_t)n);
}

static PR_UNUSED void ber_str(struct buf *b, unsigned int tag, const char *s)
{
	ber_raw(b, tag, s, strlen(s));
}

static void cap_emit(void *arg, const struct pr_l7_txn *t)
{
	struct capture *c = arg;

	assert_true(c->n < L7T_MAX_TXN);
	c->t[c->n++] = *t;
}

static PR_UNUSED const struct pr_l7_txn *find(uint8_t kind, unsigned int nth)
{
	for (unsigned int i = 0; i < g_cap.n; i++)
		if (g_cap.t[i].kind == kind && nth-- == 0)
			return &g_cap.t[i];
	return NULL;
}

static PR_UNUSED unsigned int count(uint8_t kind)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < g_cap.n; i++)
		n += g_cap.t[i].kind == kind;
	return n;
}

static PR_UNUSED void conn_init(struct conn *c, uint8_t proto, uint16_t cport, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->proto = proto;
	c->flow_id = 42;
	pr_l7_flow_init(&c->st, proto, cport, sport);
	c->seq[0] = 1000;
	c->seq[1] = 500000;
}

/* len bytes in direction dir: TCP as segments of at most seg bytes, else one packet. */
static PR_UNUSED void send_seg(struct conn *c, uint8_t dir, const uint8_t *p, size_t len,
			       size_t seg)
{
	if (c->proto != PR_L7_PROTO_TCP)
		seg = len ? len : 1;
	do {
		size_t n = len < seg ? len : seg;
		uint8_t *copy = malloc(n ? n : 1);
		struct pr_l7_pkt pkt = {
			.data = copy,
			.len = (uint32_t)n,
			.seq = c->seq[dir],
			.ts_ns = 1700000000000000000ull,
			.flow_id = c->flow_id,
			.dir = dir,
			.has_seq = c->proto == PR_L7_PROTO_TCP,
		};

		assert_non_null(copy);
		memcpy(copy, p, n);
		pr_l7_process(g_ctx, &c->st, &pkt, cap_emit, &g_cap);
		free(copy);
		c->seq[dir] += (uint32_t)n;
		p += n;
		len -= n;
	} while (len);
}

static PR_UNUSED void send_buf(struct conn *c, uint8_t dir, const struct buf *b)
{
	send_seg(c, dir, b->b, b->len, b->len ? b->len : 1);
}

/* One message on a fresh flow (proto, ports), direction 0. */
static PR_UNUSED void one(uint8_t proto, uint16_t cport, uint16_t sport, const struct buf *b)
{
	struct conn c;

	conn_init(&c, proto, cport, sport);
	send_buf(&c, 0, b);
	pr_l7_flow_end(g_ctx, &c.st);
}

/*
 * Write a fuzz seed: config byte cfg, then each message as a chunk in
 * its direction (dirs: bit i set for a message from the server).
 */
static PR_UNUSED void seed(const char *name, uint8_t cfg, const struct buf *const *msgs, size_t n,
			   unsigned int dirs)
{
	const char *dir = getenv("PR_L7_SEED_DIR");
	char path[4096];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputc(cfg, f);
	for (size_t i = 0; i < n; i++) {
		size_t len = msgs[i]->len < 65535 ? msgs[i]->len : 65535;

		fputc((int)((dirs >> i) & 1), f);
		fputc((int)(len & 0xff), f);
		fputc((int)(len >> 8), f);
		fwrite(msgs[i]->b, 1, len, f);
	}
	fclose(f);
}

static PR_UNUSED void seed1(const char *name, uint8_t cfg, const struct buf *m)
{
	const struct buf *ms[1] = { m };

	seed(name, cfg, ms, 1, 0);
}

static int l7t_reset(void **state)
{
	(void)state;
	memset(&g_cap, 0, sizeof(g_cap));
	return 0;
}

static int l7t_setup(void **state)
{
	struct pr_l7_cfg cfg = { 0 };

	(void)state;
	return pr_l7_ctx_create(&cfg, -1, &g_ctx) ? -1 : 0;
}

static int l7t_teardown(void **state)
{
	(void)state;
	pr_l7_ctx_destroy(g_ctx);
	g_ctx = NULL;
	return 0;
}

#endif /* PR_L7_TEST_H */
