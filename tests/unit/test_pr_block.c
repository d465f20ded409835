// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the packet block codec (storage/pr_block.c): round trips
 * from empty to large blocks, the exact byte layout of pr_block.h, and a
 * damaged block in every way we can think of (header fields, counts,
 * lengths, truncation at every byte), where the iterator must stop with
 * -EBADMSG and never read past the buffer. Damaged inputs are copied into
 * exactly-sized heap buffers so AddressSanitizer sees any overread. The
 * group setup builds the small reference block the damage tests start from.
 * Version 2 (packets with gaps between them): the turn from version 1,
 * numbers read back, the limits, and damaged numbers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_block.h"

struct ref_block {
	struct pr_block_builder b;
	uint8_t *bytes; /* copy of the finished block */
	size_t len;
	uint8_t payload[3][16];
	struct pr_block_pkt pkts[3];
};

static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
	/* malloc(0) may return NULL; keep one byte so the pointer is real. */
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	return copy;
}

static void fill_pkt(struct pr_block_pkt *pkt, uint32_t i, uint32_t cap_len, const uint8_t *data)
{
	pkt->ts_ns = 1700000000000000000ull + (uint64_t)i * 1000003u + 1;
	pkt->flow_id = 0x0102030405060708ull * (i + 1);
	pkt->cap_len = cap_len;
	pkt->wire_len = cap_len + i % 5;
	pkt->iface = (uint16_t)(i % 3);
	pkt->pflags = (uint16_t)(i & 7);
	pkt->data = data;
}

static void assert_pkt_equal(const struct pr_block_pkt *a, const struct pr_block_pkt *b)
{
	assert_int_equal(a->ts_ns, b->ts_ns);
	assert_int_equal(a->flow_id, b->flow_id);
	assert_int_equal(a->cap_len, b->cap_len);
	assert_int_equal(a->wire_len, b->wire_len);
	assert_int_equal(a->iface, b->iface);
	assert_int_equal(a->pflags, b->pflags);
	if (a->cap_len)
		assert_memory_equal(a->data, b->data, a->cap_len);
}

static int group_setup(void **state)
{
	static const uint32_t lens[3] = { 0, 5, 13 };
	struct ref_block *r = calloc(1, sizeof(*r));
	const uint8_t *p;

	if (!r)
		return -1;
	pr_block_builder_init(&r->b);
	for (uint32_t i = 0; i < 3; i++) {
		for (uint32_t j = 0; j < sizeof(r->payload[i]); j++)
			r->payload[i][j] = (uint8_t)(0xa0 + i * 16 + j);
		fill_pkt(&r->pkts[i], i, lens[i], r->payload[i]);
		if (pr_block_builder_add(&r->b, &r->pkts[i]))
			return -1;
	}
	p = pr_block_builder_finish(&r->b, &r->len);
	if (!p)
		return -1;
	r->bytes = malloc(r->len);
	if (!r->bytes)
		return -1;
	memcpy(r->bytes, p, r->len);
	*state = r;
	return 0;
}

static int group_teardown(void **state)
{
	struct ref_block *r = *state;

	if (r) {
		pr_block_builder_fini(&r->b);
		free(r->bytes);
		free(r);
	}
	return 0;
}

/* Iterate a copy of buf; return the packets seen, and the final result in *res. */
static int iterate(const uint8_t *buf, size_t len, const struct pr_block_pkt *expect,
		   uint32_t nexpect, int *res)
{
	uint8_t *copy = dup_exact(buf, len);
	struct pr_block_iter it;
	struct pr_block_pkt pkt;
	int n = 0, rc;

	rc = pr_block_iter_init(&it, copy, len);
	while (!rc) {
		rc = pr_block_iter_next(&it, &pkt);
		if (rc != 1)
			break;
		assert_true((uint32_t)n < nexpect);
		assert_pkt_equal(&pkt, &expect[n]);
		/* The data pointer must lie inside the buffer we handed in. */
		assert_true(pkt.data >= copy && pkt.data + pkt.cap_len <= copy + len);
		n++;
		rc = 0;
	}
	free(copy);
	*res = rc;
	return n;
}

static void roundtrip(uint32_t count, uint32_t (*len_of)(uint32_t))
{
	struct pr_block_builder b;
	struct pr_block_pkt *pkts = calloc(count ? count : 1, sizeof(*pkts));
	uint8_t **data = calloc(count ? count : 1, sizeof(*data));
	uint64_t wire = 0, min_ts = UINT64_MAX, max_ts = 0;
	const uint8_t *out;
	size_t len;
	int res, n;

	assert_non_null(pkts);
	assert_non_null(data);
	pr_block_builder_init(&b);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t cl = len_of(i);

		data[i] = malloc(cl ? cl : 1);
		assert_non_null(data[i]);
		for (uint32_t j = 0; j < cl; j++)
			data[i][j] = (uint8_t)(i * 7 + j);
		fill_pkt(&pkts[i], i, cl, data[i]);
		/* Out-of-order timestamps: the header carries min and max. */
		if (i % 10 == 9)
			pkts[i].ts_ns -= 5000000;
		assert_int_equal(pr_block_builder_add(&b, &pkts[i]), 0);
		wire += pkts[i].wire_len;
		if (pkts[i].ts_ns < min_ts)
			min_ts = pkts[i].ts_ns;
		if (pkts[i].ts_ns > max_ts)
			max_ts = pkts[i].ts_ns;
	}
	assert_int_equal(b.count, count);
	assert_int_equal(b.wire_bytes, wire);
	out = pr_block_builder_finish(&b, &len);
	assert_non_null(out);
	assert_int_equal(len % 4, 0);

	n = iterate(out, len, pkts, count, &res);
	assert_int_equal(res, 0);
	assert_int_equal(n, count);
	{
		struct pr_block_iter it;

		assert_int_equal(pr_block_iter_init(&it, out, len), 0);
		assert_int_equal(it.count, count);
		assert_int_equal(it.first_ts_ns, count ? min_ts : 0);
		assert_int_equal(it.last_ts_ns, count ? max_ts : 0);
	}

	/* A reset builder produces the same bytes again from its kept buffer. */
	{
		uint8_t *first = dup_exact(out, len);
		size_t len2;

		pr_block_builder_reset(&b);
		for (uint32_t i = 0; i < count; i++)
			assert_int_equal(pr_block_builder_add(&b, &pkts[i]), 0);
		out = pr_block_builder_finish(&b, &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(out, first, len);
		free(first);
	}

	for (uint32_t i = 0; i < count; i++)
		free(data[i]);
	free(data);
	free(pkts);
	pr_block_builder_fini(&b);
}

static uint32_t len_small(uint32_t i)
{
	return (i * 37) % 1600;
}

static uint32_t len_extremes(uint32_t i)
{
	static const uint32_t l[] = { 0, 65535, 1, 2, 3, 4, 65535, 0, 1514 };

	return l[i % (sizeof(l) / sizeof(l[0]))];
}

static void test_roundtrip_empty(void **state)
{
	(void)state;
	roundtrip(0, len_small);
}

static void test_roundtrip_one(void **state)
{
	(void)state;
	roundtrip(1, len_small);
}

static void test_roundtrip_many(void **state)
{
	(void)state;
	roundtrip(1000, len_small);
}

static void test_roundtrip_extremes(void **state)
{
	(void)state;
	roundtrip(40, len_extremes);
}

/* The bytes of a one-packet block, written out by hand from pr_block.h. */
static void test_layout(void **state)
{
	static const uint8_t data[3] = { 0xde, 0xad, 0xbe };
	static const uint8_t expect[] = {
		'P',  'R',  'B',  '1',	1,    0,    0,	  0, /* magic, version 1, flags 0 */
		1,    0,    0,	  0,	0,    0,    0,	  0, /* count 1, reserved */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* first ts */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* last ts */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* ts */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* flow id */
		3,    0,    0,	  0,	0xdc, 0x05, 0,	  0, /* cap_len 3, wire_len 1500 */
		2,    0,    0x01, 0x80, /* iface 2, pflags 0x8001 */
		0xde, 0xad, 0xbe, 0, /* data, padding */
	};
	struct pr_block_builder b;
	struct pr_block_pkt pkt = {
		.ts_ns = 0x0102030405060708ull,
		.flow_id = 0x8877665544332211ull,
		.cap_len = 3,
		.wire_len = 1500,
		.iface = 2,
		.pflags = 0x8001,
		.data = data,
	};
	const uint8_t *out;
	size_t len;

	(void)state;
	assert_int_equal(sizeof(expect), PR_BLOCK_HDR_LEN + PR_BLOCK_PKT_HDR_LEN + 4);
	pr_block_builder_init(&b);
	assert_int_equal(pr_block_builder_add(&b, &pkt), 0);
	out = pr_block_builder_finish(&b, &len);
	assert_int_equal(len, sizeof(expect));
	assert_memory_equal(out, expect, sizeof(expect));
	pr_block_builder_fini(&b);
}

/* The iterator must not care where the buffer starts (no aligned loads). */
static void test_misaligned_buffer(void **state)
{
	struct ref_block *r = *state;
	uint8_t *raw = malloc(r->len + 3);
	struct pr_block_iter it;
	struct pr_block_pkt pkt;
	int n = 0;

	assert_non_null(raw);
	memcpy(raw + 3, r->bytes, r->len);
	assert_int_equal(pr_block_iter_init(&it, raw + 3, r->len), 0);
	while (pr_block_iter_next(&it, &pkt) == 1)
		assert_pkt_equal(&pkt, &r->pkts[n++]);
	assert_int_equal(n, 3);
	free(raw);
}

static void expect_bad_init(const uint8_t *buf, size_t len)
{
	uint8_t *copy = dup_exact(buf, len);
	struct pr_block_iter it;

	assert_int_equal(pr_block_iter_init(&it, copy, len), -EBADMSG);
	free(copy);
}

static void test_corrupted_header(void **state)
{
	struct ref_block *r = *state;
	uint8_t *b = dup_exact(r->bytes, r->len);
	struct pr_block_iter it;

	b[0] ^= 0x01; /* magic */
	expect_bad_init(b, r->len);
	memcpy(b, r->bytes, r->len);
	b[4] = 3; /* version: 1 and 2 exist */
	expect_bad_init(b, r->len);
	memcpy(b, r->bytes, r->len);
	b[6] = 1; /* an unknown flag */
	expect_bad_init(b, r->len);
	memcpy(b, r->bytes, r->len);
	b[11] = 0x40; /* count far beyond the buffer */
	expect_bad_init(b, r->len);
	expect_bad_init(b, 0);
	assert_int_equal(pr_block_iter_init(&it, NULL, 100), -EBADMSG);
	free(b);
}

/* Cut the reference block at every length: packets before the cut, then -EBADMSG. */
static void test_truncated_everywhere(void **state)
{
	struct ref_block *r = *state;
	int res, n;

	for (size_t len = 0; len < r->len; len++) {
		n = iterate(r->bytes, len, r->pkts, 3, &res);
		assert_int_equal(res, -EBADMSG);
		assert_true(n < 3);
	}
	n = iterate(r->bytes, r->len, r->pkts, 3, &res);
	assert_int_equal(res, 0);
	assert_int_equal(n, 3);
}

static void test_count_mismatch(void **state)
{
	struct ref_block *r = *state;
	uint8_t *b = dup_exact(r->bytes, r->len);
	int res, n;

	/* Fewer than stored: the bytes left over are damage, not silence. */
	b[8] = 2;
	n = iterate(b, r->len, r->pkts, 3, &res);
	assert_int_equal(n, 2);
	assert_int_equal(res, -EBADMSG);

	/* More than the buffer can hold even as bare entry headers: init refuses. */
	b[8] = 4;
	n = iterate(b, r->len, r->pkts, 3, &res);
	assert_int_equal(n, 0);
	assert_int_equal(res, -EBADMSG);
	free(b);
}

/* A count that passes the size check at init but names a missing entry. */
static void test_count_beyond_entries(void **state)
{
	static uint8_t payload[100];
	struct pr_block_builder bld;
	struct pr_block_pkt pkt;
	const uint8_t *out;
	uint8_t *b;
	size_t len;
	int res, n;

	(void)state;
	pr_block_builder_init(&bld);
	fill_pkt(&pkt, 0, sizeof(payload), payload);
	assert_int_equal(pr_block_builder_add(&bld, &pkt), 0);
	out = pr_block_builder_finish(&bld, &len);
	b = dup_exact(out, len);
	b[8] = 2;
	n = iterate(b, len, &pkt, 1, &res);
	assert_int_equal(n, 1);
	assert_int_equal(res, -EBADMSG);
	free(b);
	pr_block_builder_fini(&bld);
}

static void test_cap_len_beyond_end(void **state)
{
	struct ref_block *r = *state;
	size_t second = PR_BLOCK_HDR_LEN + PR_BLOCK_PKT_HDR_LEN; /* first packet has 0 bytes */
	uint8_t *b = dup_exact(r->bytes, r->len);
	int res, n;

	/*
	 * cap_len of the second packet: one more than the bytes after its
	 * entry header (its own 8 and the third entry's 28 + 16), then huge.
	 */
	b[second + 16] = 8 + PR_BLOCK_PKT_HDR_LEN + 16 + 1;
	n = iterate(b, r->len, r->pkts, 3, &res);
	assert_int_equal(n, 1);
	assert_int_equal(res, -EBADMSG);
	memset(b + second + 16, 0xff, 4);
	n = iterate(b, r->len, r->pkts, 3, &res);
	assert_int_equal(n, 1);
	assert_int_equal(res, -EBADMSG);
	free(b);
}

/* After the end, next keeps returning 0; after damage, keeps failing. */
static void test_iter_sticky_end(void **state)
{
	struct ref_block *r = *state;
	struct pr_block_iter it;
	struct pr_block_pkt pkt;

	assert_int_equal(pr_block_iter_init(&it, r->bytes, r->len), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pr_block_iter_next(&it, &pkt), 1);
	assert_int_equal(pr_block_iter_next(&it, &pkt), 0);
	assert_int_equal(pr_block_iter_next(&it, &pkt), 0);
	/* A failed init leaves an iterator that only reports the damage. */
	assert_int_equal(pr_block_iter_init(&it, r->bytes, 3), -EBADMSG);
	assert_int_equal(pr_block_iter_next(&it, &pkt), -EBADMSG);
}

/* Build pkts[i] numbered seqs[i] with add_seq; returns a malloc'd copy of the block. */
static uint8_t *build_seq(const struct pr_block_pkt *pkts, const uint64_t *seqs, uint32_t n,
			  size_t *len)
{
	struct pr_block_builder b;
	const uint8_t *out;
	uint8_t *copy;

	pr_block_builder_init(&b);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(pr_block_builder_add_seq(&b, &pkts[i], seqs[i]), 0);
	out = pr_block_builder_finish(&b, len);
	assert_non_null(out);
	copy = dup_exact(out, *len);
	pr_block_builder_fini(&b);
	return copy;
}

/* Packets of one class among others: version 2, every number read back. */
static void test_seq_gaps(void **state)
{
	static const uint64_t seqs[5] = { 1000, 1001, 1005, 70000, 4294968295ull };
	static const uint32_t lens[5] = { 0, 7, 60, 1, 1514 };
	static uint8_t payload[1514];
	struct pr_block_pkt pkts[5], got;
	struct pr_block_iter it;
	uint8_t *blk;
	size_t len;
	uint32_t n = 0;

	(void)state;
	for (uint32_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (uint32_t i = 0; i < 5; i++)
		fill_pkt(&pkts[i], i, lens[i], payload);
	blk = build_seq(pkts, seqs, 5, &len);
	/* Header 40, five 32-byte entries, data padded to 4 bytes. */
	assert_int_equal(len, 40 + 5 * 32 + 0 + 8 + 60 + 4 + 1516);
	assert_int_equal(blk[4], 2);
	assert_int_equal(pr_block_iter_init(&it, blk, len), 0);
	/* A version 2 block keeps its own first number. */
	pr_block_iter_set_first_seq(&it, 7);
	while (pr_block_iter_next(&it, &got) == 1) {
		assert_pkt_equal(&got, &pkts[n]);
		assert_int_equal(got.seq, seqs[n]);
		n++;
	}
	assert_int_equal(n, 5);
	free(blk);
}

/* Consecutive numbers stay version 1, byte for byte what pr_block_builder_add() writes. */
static void test_seq_consecutive(void **state)
{
	struct ref_block *r = *state;
	static const uint64_t seqs[3] = { 41, 42, 43 };
	struct pr_block_iter it;
	struct pr_block_pkt got;
	uint8_t *blk;
	size_t len;
	uint32_t n = 0;

	blk = build_seq(r->pkts, seqs, 3, &len);
	assert_int_equal(len, r->len);
	assert_memory_equal(blk, r->bytes, len);
	assert_int_equal(pr_block_iter_init(&it, blk, len), 0);
	pr_block_iter_set_first_seq(&it, 41);
	while (pr_block_iter_next(&it, &got) == 1)
		assert_int_equal(got.seq, seqs[n++]);
	assert_int_equal(n, 3);
	free(blk);
}

/* Numbers that do not grow, or grow too far, are refused and leave the block as it was. */
static void test_seq_limits(void **state)
{
	struct ref_block *r = *state;
	struct pr_block_builder b;
	const uint8_t *out;
	size_t len;

	pr_block_builder_init(&b);
	assert_int_equal(pr_block_builder_add_seq(&b, &r->pkts[0], 10), 0);
	assert_int_equal(pr_block_builder_add_seq(&b, &r->pkts[1], 12), 0);
	assert_int_equal(pr_block_builder_add_seq(&b, &r->pkts[2], 12), -ERANGE);
	assert_int_equal(pr_block_builder_add_seq(&b, &r->pkts[2], 11), -ERANGE);
	assert_int_equal(pr_block_builder_add_seq(&b, &r->pkts[2], 10 + (1ull << 32)), -ERANGE);
	assert_int_equal(b.count, 2);
	out = pr_block_builder_finish(&b, &len);
	assert_int_equal(iterate(out, len, r->pkts, 2, &(int){ 0 }), 2);
	/* After a reset the next block may start anywhere, as version 1. */
	pr_block_builder_reset(&b);
	assert_int_equal(pr_block_builder_add_seq(&b, &r->pkts[0], 5), 0);
	out = pr_block_builder_finish(&b, &len);
	assert_int_equal(out[4], 1);
	pr_block_builder_fini(&b);
}

/* Damaged numbers, and a version 2 block cut at every length. */
static void test_seq_damaged(void **state)
{
	struct ref_block *r = *state;
	static const uint64_t seqs[3] = { 100, 102, 103 };
	size_t second, len;
	uint8_t *blk, *b;
	int res, n;

	blk = build_seq(r->pkts, seqs, 3, &len);
	for (size_t cut = 0; cut < len; cut++) {
		n = iterate(blk, cut, r->pkts, 3, &res);
		assert_int_equal(res, -EBADMSG);
		assert_true(n < 3);
	}
	assert_int_equal(iterate(blk, len, r->pkts, 3, &res), 3);
	assert_int_equal(res, 0);
	/* The first entry must be the header's packet. */
	b = dup_exact(blk, len);
	b[40 + 28] = 1;
	assert_int_equal(iterate(b, len, r->pkts, 3, &res), 0);
	assert_int_equal(res, -EBADMSG);
	/* A later entry may not go back to, or repeat, a number. */
	memcpy(b, blk, len);
	second = 40 + 32; /* the first packet has no data */
	b[second + 28] = 0;
	assert_int_equal(iterate(b, len, r->pkts, 3, &res), 1);
	assert_int_equal(res, -EBADMSG);
	/* A count that fits version 1 entries but not version 2 ones. */
	memcpy(b, blk, len);
	b[8] = (uint8_t)((len - 40) / 32 + 1);
	assert_int_equal(iterate(b, len, r->pkts, 3, &res), 0);
	assert_int_equal(res, -EBADMSG);
	free(b);
	free(blk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_empty),
		cmocka_unit_test(test_roundtrip_one),
		cmocka_unit_test(test_roundtrip_many),
		cmocka_unit_test(test_roundtrip_extremes),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_misaligned_buffer),
		cmocka_unit_test(test_corrupted_header),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_count_mismatch),
		cmocka_unit_test(test_count_beyond_entries),
		cmocka_unit_test(test_cap_len_beyond_end),
		cmocka_unit_test(test_iter_sticky_end),
		cmocka_unit_test(test_seq_gaps),
		cmocka_unit_test(test_seq_consecutive),
		cmocka_unit_test(test_seq_limits),
		cmocka_unit_test(test_seq_damaged),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
