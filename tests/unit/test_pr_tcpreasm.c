// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of TCP stream reassembly (dataplane/reasm/pr_tcpreasm.c):
 * streams cut into segments here and handed in in order, out of order,
 * retransmitted with other bytes, overlapping, across the sequence-number
 * wrap; holes given up by an acknowledgement, by the per-direction limit,
 * by an empty pool and at flow end; the depth; and chunks taken back from
 * a flow that was never ended. What is delivered is collected per
 * direction with the sequence numbers it came with and compared with the
 * stream. Each test creates its own context. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_tcpreasm.h"

#define STREAM 70000

struct sink {
	uint8_t data[2][STREAM];
	uint32_t len[2]; /* bytes received */
	uint32_t next[2]; /* sequence number after the last delivery */
	uint32_t jumps[2]; /* deliveries that skipped bytes */
	uint32_t syn[2];
	uint32_t base[2]; /* sequence number of data[d][0] */
	int started[2];
};

static struct sink g_sink;

static void deliver(void *arg, uint8_t dir, uint32_t seq, uint8_t flags, const uint8_t *data,
		    uint32_t len)
{
	struct sink *s = arg;

	if (flags & PR_TCPREASM_SYN) {
		s->syn[dir]++;
		s->base[dir] = seq + 1;
		s->next[dir] = seq + 1;
		s->started[dir] = 1;
	}
	if (!len)
		return;
	if (!s->started[dir]) {
		s->base[dir] = seq;
		s->next[dir] = seq;
		s->started[dir] = 1;
	}
	/* Never backwards: every byte once. */
	assert_true((int32_t)(seq - s->next[dir]) >= 0);
	if (seq != s->next[dir])
		s->jumps[dir]++;
	assert_true(seq - s->base[dir] + len <= STREAM);
	memcpy(s->data[dir] + (seq - s->base[dir]), data, len);
	s->len[dir] += len;
	s->next[dir] = seq + len;
}

static uint8_t stream_byte(uint32_t i)
{
	return (uint8_t)(i * 7u + (i >> 9));
}

static struct pr_tcpreasm *ctx(uint32_t depth, uint32_t held, uint32_t chunk, uint32_t count)
{
	struct pr_tcpreasm_cfg cfg = { .depth_bytes = depth,
				       .max_held_bytes = held,
				       .chunk_bytes = chunk,
				       .chunk_count = count };
	struct pr_tcpreasm *r = NULL;

	assert_int_equal(pr_tcpreasm_create(&cfg, &r), 0);
	memset(&g_sink, 0, sizeof(g_sink));
	return r;
}

static uint8_t g_stream[STREAM];

static uint32_t umin(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Segment [off, off + len) of the stream of direction dir, whose first byte is isn + 1. */
static void seg(struct pr_tcpreasm *r, struct pr_tcpreasm_state *st, uint8_t dir, uint32_t isn,
		uint32_t off, uint32_t len, uint8_t flags, uint32_t ack)
{
	struct pr_tcpreasm_seg s = {
		.data = g_stream + off,
		.len = len,
		.seq = isn + 1 + off,
		.ack = ack,
		.dir = dir,
		.tcp_flags = flags,
	};

	pr_tcpreasm_segment(r, st, &s, deliver, &g_sink);
}

static void syn(struct pr_tcpreasm *r, struct pr_tcpreasm_state *st, uint8_t dir, uint32_t isn)
{
	struct pr_tcpreasm_seg s = { .seq = isn, .dir = dir, .tcp_flags = 0x02 };

	pr_tcpreasm_segment(r, st, &s, deliver, &g_sink);
}

static int setup(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < STREAM; i++)
		g_stream[i] = stream_byte(i);
	return 0;
}

static void test_in_and_out_of_order(void **state)
{
	struct pr_tcpreasm *r = ctx(0, 0, 0, 0);
	struct pr_tcpreasm_state st;
	struct pr_tcpreasm_stats s;
	const uint32_t isn = 0xfffff000u; /* the stream crosses the wrap */

	(void)state;
	pr_tcpreasm_flow_init(&st);
	syn(r, &st, 0, isn);
	assert_int_equal(g_sink.syn[0], 1);
	seg(r, &st, 0, isn, 0, 1000, 0x18, 0);
	seg(r, &st, 0, isn, 3000, 1000, 0x18, 0); /* early */
	seg(r, &st, 0, isn, 2000, 1000, 0x18, 0); /* early */
	assert_int_equal(g_sink.len[0], 1000);
	assert_int_equal(pr_tcpreasm_held(&st, 0), 2000);
	assert_int_equal(pr_tcpreasm_chunks_in_use(r), 2);
	seg(r, &st, 0, isn, 1000, 1000, 0x18, 0); /* fills the hole: all of it comes */
	assert_int_equal(g_sink.len[0], 4000);
	assert_int_equal(pr_tcpreasm_held(&st, 0), 0);
	assert_int_equal(pr_tcpreasm_chunks_in_use(r), 0);
	assert_memory_equal(g_sink.data[0], g_stream, 4000);
	assert_int_equal(g_sink.jumps[0], 0);
	/* A segment larger than a chunk is held in several. */
	seg(r, &st, 0, isn, 5000, 5000, 0x18, 0);
	seg(r, &st, 0, isn, 4000, 1000, 0x18, 0);
	assert_int_equal(g_sink.len[0], 10000);
	assert_memory_equal(g_sink.data[0], g_stream, 10000);
	pr_tcpreasm_stats(r, &s);
	assert_int_equal(s.held_segments, 3);
	assert_int_equal(s.gaps, 0);
	pr_tcpreasm_flow_end(r, &st, deliver, &g_sink);
	pr_tcpreasm_destroy(r);
}

static void test_retransmit_and_overlap(void **state)
{
	struct pr_tcpreasm *r = ctx(0, 0, 0, 0);
	struct pr_tcpreasm_state st;
	struct pr_tcpreasm_stats s;
	struct pr_tcpreasm_seg other;
	uint8_t junk[600];
	const uint32_t isn = 1000;

	(void)state;
	memset(junk, 'X', sizeof(junk));
	pr_tcpreasm_flow_init(&st);
	syn(r, &st, 1, isn);
	seg(r, &st, 1, isn, 0, 500, 0x18, 0);
	seg(r, &st, 1, isn, 0, 500, 0x18, 0); /* retransmission */
	seg(r, &st, 1, isn, 250, 500, 0x18, 0); /* half old */
	/* Held bytes: the first copy wins over a later one with other content. */
	seg(r, &st, 1, isn, 1000, 500, 0x18, 0);
	other = (struct pr_tcpreasm_seg){
		.data = junk, .len = 600, .seq = isn + 1 + 900, .dir = 1, .tcp_flags = 0x18
	};
	pr_tcpreasm_segment(r, &st, &other, deliver, &g_sink);
	seg(r, &st, 1, isn, 1000, 500, 0x18, 0); /* the same held bytes again */
	seg(r, &st, 1, isn, 750, 150, 0x18, 0);
	/* Bytes 900..999 came only in the other copy; 1000..1499 as first held. */
	assert_int_equal(g_sink.len[1], 1500);
	assert_memory_equal(g_sink.data[1], g_stream, 900);
	assert_memory_equal(g_sink.data[1] + 900, junk, 100);
	assert_memory_equal(g_sink.data[1] + 1000, g_stream + 1000, 500);
	/* An in-order segment over held bytes: the held ones came first and win. */
	seg(r, &st, 1, isn, 2000, 500, 0x18, 0);
	other.seq = isn + 1 + 1500;
	pr_tcpreasm_segment(r, &st, &other, deliver, &g_sink);
	assert_int_equal(g_sink.len[1], 2500);
	assert_memory_equal(g_sink.data[1] + 1500, junk, 500);
	assert_memory_equal(g_sink.data[1] + 2000, g_stream + 2000, 500);
	pr_tcpreasm_stats(r, &s);
	assert_int_equal(s.retransmits, 1);
	assert_true(s.overlaps >= 1);
	/* A second SYN (a retransmitted one) is not delivered again. */
	syn(r, &st, 1, isn);
	assert_int_equal(g_sink.syn[1], 1);
	pr_tcpreasm_flow_end(r, &st, NULL, NULL);
	pr_tcpreasm_destroy(r);
}

static void test_holes_given_up(void **state)
{
	struct pr_tcpreasm *r = ctx(0, 3000, 1024, 0);
	struct pr_tcpreasm_state st;
	struct pr_tcpreasm_stats s;
	const uint32_t isn = 7;

	(void)state;
	pr_tcpreasm_flow_init(&st);
	syn(r, &st, 0, isn);
	seg(r, &st, 0, isn, 0, 100, 0x18, 0);
	seg(r, &st, 0, isn, 200, 100, 0x18, 0); /* 100..199 never comes */
	/* The peer acknowledges only up to the hole: nothing happens. */
	seg(r, &st, 1, 5000, 0, 0, 0x10, isn + 1 + 150);
	assert_int_equal(g_sink.len[0], 100);
	/* ... then past the held run: the capture lost the hole. */
	seg(r, &st, 1, 5000, 0, 0, 0x10, isn + 1 + 300);
	assert_int_equal(g_sink.len[0], 200);
	assert_int_equal(g_sink.jumps[0], 1);
	assert_memory_equal(g_sink.data[0] + 200, g_stream + 200, 100);

	/* Holding more than max_held_bytes gives the hole up. */
	seg(r, &st, 0, isn, 1000, 1400, 0x18, 0);
	seg(r, &st, 0, isn, 2400, 1400, 0x18, 0);
	assert_int_equal(pr_tcpreasm_held(&st, 0), 2800);
	seg(r, &st, 0, isn, 3800, 1400, 0x18, 0);
	assert_int_equal(pr_tcpreasm_held(&st, 0), 0);
	assert_int_equal(g_sink.len[0], 200 + 4200);
	assert_int_equal(g_sink.jumps[0], 2);
	assert_memory_equal(g_sink.data[0] + 1000, g_stream + 1000, 4200);

	/* At flow end, held bytes are delivered after their hole. */
	seg(r, &st, 0, isn, 6000, 100, 0x18, 0);
	pr_tcpreasm_flow_end(r, &st, deliver, &g_sink);
	assert_int_equal(g_sink.len[0], 4500);
	assert_int_equal(g_sink.jumps[0], 3);
	pr_tcpreasm_stats(r, &s);
	assert_int_equal(s.gaps, 3);
	assert_int_equal(s.gaps_acked, 1);
	assert_int_equal(s.held_limit, 1);
	pr_tcpreasm_destroy(r);
}

static void test_pool_and_reclaim(void **state)
{
	struct pr_tcpreasm *r = ctx(0, 0, 256, 4);
	struct pr_tcpreasm_state a, b;
	struct pr_tcpreasm_stats s;

	(void)state;
	pr_tcpreasm_flow_init(&a);
	pr_tcpreasm_flow_init(&b);
	syn(r, &a, 0, 0);
	seg(r, &a, 0, 0, 1000, 1024, 0x18, 0); /* four chunks: the whole pool */
	assert_int_equal(pr_tcpreasm_held(&a, 0), 1024);
	assert_int_equal(pr_tcpreasm_chunks_in_use(r), 4);
	/* Flow b finds the pool empty: its own hole goes at once. */
	syn(r, &b, 0, 0);
	seg(r, &b, 0, 0, 500, 100, 0x18, 0);
	pr_tcpreasm_stats(r, &s);
	assert_int_equal(s.pool_empty, 1);
	assert_int_equal(pr_tcpreasm_held(&b, 0), 0);
	/* Flow a is started again without flow_end: its chunks are orphans, taken back. */
	pr_tcpreasm_flow_init(&a);
	syn(r, &b, 1, 0);
	seg(r, &b, 1, 0, 500, 100, 0x18, 0);
	assert_int_equal(pr_tcpreasm_held(&b, 1), 100);
	pr_tcpreasm_stats(r, &s);
	assert_int_equal(s.chunks_reclaimed, 1);
	/* A reclaimed chunk changes hands: still 4 in use (3 orphans and b's). */
	assert_int_equal(pr_tcpreasm_chunks_in_use(r), 4);
	pr_tcpreasm_flow_end(r, &b, NULL, NULL);
	assert_int_equal(pr_tcpreasm_chunks_in_use(r), 3);
	pr_tcpreasm_destroy(r);
}

static void test_depth(void **state)
{
	struct pr_tcpreasm *r = ctx(4000, 0, 0, 0);
	struct pr_tcpreasm_state st;
	struct pr_tcpreasm_stats s;
	const uint32_t isn = 99;

	(void)state;
	pr_tcpreasm_flow_init(&st);
	syn(r, &st, 0, isn);
	seg(r, &st, 0, isn, 0, 1000, 0x18, 0);
	seg(r, &st, 0, isn, 3500, 1000, 0x18, 0); /* half inside the depth */
	seg(r, &st, 0, isn, 5000, 1000, 0x18, 0); /* all beyond: dropped */
	assert_int_equal(pr_tcpreasm_held(&st, 0), 500);
	seg(r, &st, 0, isn, 1000, 2500, 0x18, 0);
	assert_int_equal(g_sink.len[0], 4000);
	assert_memory_equal(g_sink.data[0], g_stream, 4000);
	/* Past the depth segments pass as they come, holes and all. */
	seg(r, &st, 0, isn, 6000, 10, 0x18, 0);
	seg(r, &st, 0, isn, 7000, 10, 0x18, 0);
	assert_int_equal(g_sink.len[0], 4020);
	assert_int_equal(g_sink.jumps[0], 2);
	assert_int_equal(pr_tcpreasm_held(&st, 0), 0);
	pr_tcpreasm_stats(r, &s);
	assert_int_equal(s.beyond_depth, 2);
	pr_tcpreasm_flow_end(r, &st, NULL, NULL);
	pr_tcpreasm_destroy(r);
}

/* Random cuts, shuffled with duplicates, both directions, no SYN: the streams come back whole. */
static void test_random(void **state)
{
	struct pr_tcpreasm *r = ctx(STREAM, STREAM, 0, 0);
	static struct pr_tcpreasm_seg segs[2000];
	struct pr_tcpreasm_state st;
	struct pr_tcpreasm_stats s;
	uint32_t seed = 777;

	(void)state;
	for (int round = 0; round < 20; round++) {
		uint32_t n = 0, total = 20000 + (uint32_t)round * 2000;
		uint32_t isn[2] = { 0xffff0000u + (uint32_t)round * 977, 12345u * (uint32_t)round };

		memset(&g_sink, 0, sizeof(g_sink));
		pr_tcpreasm_flow_init(&st);
		for (uint8_t d = 0; d < 2; d++) {
			syn(r, &st, d, isn[d]);
			for (uint32_t off = 0; off < total;) {
				uint32_t len;

				seed = seed * 1103515245u + 12345u;
				len = umin(1 + (seed >> 8) % 3000, total - off);
				segs[n++] = (struct pr_tcpreasm_seg){ .data = g_stream + off,
								      .len = len,
								      .seq = isn[d] + 1 + off,
								      .dir = d,
								      .tcp_flags = 0x08 };
				/* Every fourth or so twice. */
				if ((seed >> 20) % 4 == 0) {
					segs[n] = segs[n - 1];
					n++;
				}
				off += len;
			}
		}
		for (uint32_t i = n - 1; i > 0; i--) {
			struct pr_tcpreasm_seg t;
			uint32_t j;

			seed = seed * 1103515245u + 12345u;
			/* Shuffle only locally, as a network reorders. */
			j = i - (seed >> 8) % umin(i + 1, 8u);
			t = segs[i];
			segs[i] = segs[j];
			segs[j] = t;
		}
		for (uint32_t i = 0; i < n; i++)
			pr_tcpreasm_segment(r, &st, &segs[i], deliver, &g_sink);
		pr_tcpreasm_flow_end(r, &st, deliver, &g_sink);
		for (uint8_t d = 0; d < 2; d++) {
			assert_int_equal(g_sink.len[d], total);
			assert_int_equal(g_sink.jumps[d], 0);
			assert_memory_equal(g_sink.data[d], g_stream, total);
		}
	}
	pr_tcpreasm_stats(r, &s);
	assert_int_equal(s.gaps, 0);
	assert_true(s.held_segments > 0);
	pr_tcpreasm_destroy(r);
}

static void test_config(void **state)
{
	struct pr_tcpreasm_cfg bad = { .chunk_bytes = 10 };
	struct pr_tcpreasm *r = (struct pr_tcpreasm *)1;

	(void)state;
	assert_int_equal(pr_tcpreasm_create(&bad, &r), -22);
	assert_null(r);
	assert_int_equal(pr_tcpreasm_create(NULL, &r), -22);
	pr_tcpreasm_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_and_out_of_order),
		cmocka_unit_test(test_retransmit_and_overlap),
		cmocka_unit_test(test_holes_given_up),
		cmocka_unit_test(test_pool_and_reclaim),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
