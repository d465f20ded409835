// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of IP fragment reassembly (dataplane/reasm/pr_ipfrag.c):
 * IPv4 and IPv6 datagrams cut into fragments here, handed in in order, out
 * of order, duplicated and overlapping; the rebuilt datagram is compared
 * byte for byte with the original and decoded again with pr_decode. Also
 * the limits (size, fragment count, table slots), the timeout and the
 * malformed inputs. Each test creates its own table. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_decode.h"
#include "pr_ipfrag.h"

#define S (1000000000ull)

static uint8_t pattern(uint32_t i, uint32_t salt)
{
	return (uint8_t)((i * 131u + salt * 7u) ^ (i >> 8));
}

/* An IPv4 fragment of a UDP datagram whose payload bytes are pattern(i). */
static uint32_t v4_frag(uint8_t *pkt, uint16_t id, const uint8_t *payload, uint32_t off,
			uint32_t len, int more, uint8_t proto)
{
	uint16_t fo = (uint16_t)((off / 8) | (more ? 0x2000 : 0));
	uint32_t tl = 20 + len;

	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(tl >> 8);
	pkt[3] = (uint8_t)tl;
	pkt[4] = (uint8_t)(id >> 8);
	pkt[5] = (uint8_t)id;
	pkt[6] = (uint8_t)(fo >> 8);
	pkt[7] = (uint8_t)fo;
	pkt[8] = 64;
	pkt[9] = proto;
	memcpy(pkt + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	memcpy(pkt + 20, payload + off, len);
	return tl;
}

/* A UDP datagram of n bytes (header included) as the payload of IP. */
static void udp_payload(uint8_t *p, uint32_t n, uint32_t salt)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = pattern(i, salt);
	p[0] = 0x30;
	p[1] = 0x39;
	p[2] = 0x00;
	p[3] = 0x35;
	p[4] = (uint8_t)(n >> 8);
	p[5] = (uint8_t)n;
	p[6] = 0;
	p[7] = 0;
}

static struct pr_ipfrag *table(uint32_t slots, uint32_t max_bytes, uint32_t max_frags)
{
	struct pr_ipfrag_cfg cfg = { .max_datagrams = slots,
				     .max_datagram_bytes = max_bytes,
				     .max_fragments = max_frags };
	struct pr_ipfrag *t = NULL;

	assert_int_equal(pr_ipfrag_create(&cfg, &t), 0);
	return t;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void check_v4(const uint8_t *out, uint32_t out_len, const uint8_t *payload, uint32_t n)
{
	struct pr_decoded d;
	uint32_t sum = 0;

	assert_int_equal(out_len, 20 + n);
	assert_int_equal(be16(out + 2), 20 + n);
	assert_int_equal(be16(out + 6), 0);
	for (int i = 0; i < 20; i += 2)
		sum += be16(out + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff); /* header checksum valid */
	assert_memory_equal(out + 20, payload, n);
	pr_decode(PR_LINKTYPE_RAW, out, out_len, &d);
	assert_true(d.flags & PR_DEC_L4);
	assert_false(d.flags & PR_DEC_FRAGMENT);
	assert_int_equal(d.ip_proto, 17);
	assert_int_equal(d.dport, 53);
	assert_int_equal(d.payload_len, n - 8);
}

static void test_v4_in_and_out_of_order(void **state)
{
	static const int orders[3][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 1, 2, 0 } };
	uint8_t payload[3000], pkt[1600];
	struct pr_ipfrag *t = table(0, 0, 0);
	struct pr_ipfrag_stats st;
	const uint8_t *out;
	uint32_t out_len, n;

	(void)state;
	udp_payload(payload, sizeof(payload), 1);
	for (int o = 0; o < 3; o++) {
		for (int k = 0; k < 3; k++) {
			int i = orders[o][k];
			uint32_t off = (uint32_t)i * 1480;
			uint32_t len = i == 2 ? sizeof(payload) - 2960 : 1480;
			enum pr_ipfrag_result r;

			n = v4_frag(pkt, (uint16_t)(100 + o), payload, off, len, i < 2, 17);
			r = pr_ipfrag_add(t, pkt, n, (uint64_t)k * 1000, &out, &out_len);
			assert_int_equal(r, k < 2 ? PR_IPFRAG_HELD : PR_IPFRAG_DONE);
		}
		check_v4(out, out_len, payload, sizeof(payload));
	}
	/* A whole datagram is not ours to hold. */
	n = v4_frag(pkt, 7, payload, 0, 100, 0, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_NOT_FRAGMENT);
	pr_ipfrag_stats(t, &st);
	assert_int_equal(st.fragments, 9);
	assert_int_equal(st.reassembled, 3);
	assert_int_equal(pr_ipfrag_pending(t), 0);
	pr_ipfrag_destroy(t);
}

static void test_v4_overlap_first_wins(void **state)
{
	uint8_t payload[64], other[64], pkt[200];
	struct pr_ipfrag *t = table(0, 0, 0);
	struct pr_ipfrag_stats st;
	const uint8_t *out;
	uint32_t out_len, n;

	(void)state;
	udp_payload(payload, sizeof(payload), 2);
	memset(other, 0xee, sizeof(other));
	/* Bytes 16..47 first, then a different copy of 8..31, then the rest. */
	n = v4_frag(pkt, 9, payload, 16, 32, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_HELD);
	n = v4_frag(pkt, 9, other, 8, 24, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_HELD);
	n = v4_frag(pkt, 9, payload, 48, 16, 0, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_HELD);
	n = v4_frag(pkt, 9, payload, 0, 8, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DONE);
	/* 8..15 came only in the other copy; 16..31 stayed as they came first. */
	assert_memory_equal(out + 20, payload, 8);
	assert_memory_equal(out + 28, other + 8, 8);
	assert_memory_equal(out + 36, payload + 16, 48);
	pr_ipfrag_stats(t, &st);
	assert_int_equal(st.overlaps, 1);
	pr_ipfrag_destroy(t);
}

/* An IPv6 fragment with a destination options header before the fragment header. */
static uint32_t v6_frag(uint8_t *pkt, uint32_t id, const uint8_t *payload, uint32_t off,
			uint32_t len, int more)
{
	uint32_t plen = 8 + 8 + len;
	uint16_t fo = (uint16_t)(off | (more ? 1 : 0));

	memset(pkt, 0, 56);
	pkt[0] = 0x60;
	pkt[4] = (uint8_t)(plen >> 8);
	pkt[5] = (uint8_t)plen;
	pkt[6] = 60; /* destination options */
	pkt[7] = 64;
	pkt[8] = 0x20;
	pkt[23] = 1;
	pkt[24] = 0x20;
	pkt[39] = 2;
	pkt[40] = 44; /* then the fragment header */
	pkt[41] = 0;
	pkt[42] = 1; /* PadN of 4 */
	pkt[43] = 4;
	pkt[48] = 17;
	pkt[50] = (uint8_t)(fo >> 8);
	pkt[51] = (uint8_t)fo;
	pkt[52] = (uint8_t)(id >> 24);
	pkt[53] = (uint8_t)(id >> 16);
	pkt[54] = (uint8_t)(id >> 8);
	pkt[55] = (uint8_t)id;
	memcpy(pkt + 56, payload + off, len);
	return 56 + len;
}

static void test_v6(void **state)
{
	uint8_t payload[2500], pkt[1600];
	struct pr_ipfrag *t = table(0, 0, 0);
	struct pr_ipfrag_stats st;
	struct pr_decoded d;
	const uint8_t *out;
	uint32_t out_len, n;

	(void)state;
	udp_payload(payload, sizeof(payload), 3);
	n = v6_frag(pkt, 0xabcdef01, payload, 1232, sizeof(payload) - 1232, 0);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_HELD);
	n = v6_frag(pkt, 0xabcdef01, payload, 0, 1232, 1);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DONE);
	/* Base header and destination options, the fragment header gone. */
	assert_int_equal(out_len, 48 + sizeof(payload));
	assert_int_equal(be16(out + 4), 8 + sizeof(payload));
	assert_int_equal(out[6], 60);
	assert_int_equal(out[40], 17);
	assert_memory_equal(out + 48, payload, sizeof(payload));
	pr_decode(PR_LINKTYPE_RAW, out, out_len, &d);
	assert_true(d.flags & PR_DEC_L4);
	assert_false(d.flags & PR_DEC_FRAGMENT);
	assert_int_equal(d.ip_proto, 17);
	assert_int_equal(d.payload_len, sizeof(payload) - 8);

	/* Overlap: RFC 5722 drops the datagram, and what comes after it. */
	n = v6_frag(pkt, 5, payload, 0, 64, 1);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_HELD);
	n = v6_frag(pkt, 5, payload, 56, 64, 1);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	n = v6_frag(pkt, 5, payload, 120, 8, 0);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	/* An atomic fragment is a whole packet. */
	n = v6_frag(pkt, 6, payload, 0, 64, 0);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_NOT_FRAGMENT);
	pr_ipfrag_stats(t, &st);
	assert_int_equal(st.overlaps, 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.dead_fragments, 1);
	pr_ipfrag_destroy(t);
}

static void test_timeout_and_eviction(void **state)
{
	uint8_t payload[64], pkt[200];
	struct pr_ipfrag *t = table(2, 0, 0);
	struct pr_ipfrag_stats st;
	const uint8_t *out;
	uint32_t out_len, n;

	(void)state;
	udp_payload(payload, sizeof(payload), 4);
	n = v4_frag(pkt, 1, payload, 0, 32, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 1 * S, &out, &out_len), PR_IPFRAG_HELD);
	/* The rest comes 31 s later: the first half is gone, this starts anew. */
	n = v4_frag(pkt, 1, payload, 32, 32, 0, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 32 * S, &out, &out_len), PR_IPFRAG_HELD);
	pr_ipfrag_stats(t, &st);
	assert_int_equal(st.timeouts, 1);
	/* Two more datagrams in a table of two: the oldest (id 1) goes. */
	n = v4_frag(pkt, 2, payload, 0, 32, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 33 * S, &out, &out_len), PR_IPFRAG_HELD);
	n = v4_frag(pkt, 3, payload, 0, 32, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 34 * S, &out, &out_len), PR_IPFRAG_HELD);
	pr_ipfrag_stats(t, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(pr_ipfrag_pending(t), 2);
	/* Datagram 2 still completes; then everything expires. */
	n = v4_frag(pkt, 2, payload, 32, 32, 0, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 35 * S, &out, &out_len), PR_IPFRAG_DONE);
	check_v4(out, out_len, payload, sizeof(payload));
	pr_ipfrag_expire(t, 100 * S);
	assert_int_equal(pr_ipfrag_pending(t), 0);
	pr_ipfrag_stats(t, &st);
	assert_int_equal(st.timeouts, 2);
	pr_ipfrag_destroy(t);
}

static void test_limits_and_malformed(void **state)
{
	uint8_t payload[4096], pkt[4200];
	struct pr_ipfrag *t = table(0, 1024, 4);
	struct pr_ipfrag_stats st;
	const uint8_t *out;
	uint32_t out_len, n;

	(void)state;
	udp_payload(payload, sizeof(payload), 5);
	/* Reaching past max_datagram_bytes. */
	n = v4_frag(pkt, 1, payload, 1016, 16, 0, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	n = v4_frag(pkt, 1, payload, 0, 16, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	/* More than max_fragments. */
	for (uint32_t i = 0; i < 5; i++) {
		n = v4_frag(pkt, 2, payload, i * 8, 8, 1, 17);
		assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len),
				 i < 4 ? PR_IPFRAG_HELD : PR_IPFRAG_DROPPED);
	}
	/* A fragment that is not the last must carry whole 8-byte units. */
	n = v4_frag(pkt, 3, payload, 0, 12, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	/* A fragment past the end another one set. */
	n = v4_frag(pkt, 4, payload, 16, 16, 0, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_HELD);
	n = v4_frag(pkt, 4, payload, 32, 8, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	/* Cut by the snap length; IHL below 5; not IP at all. */
	n = v4_frag(pkt, 5, payload, 0, 64, 1, 17);
	assert_int_equal(pr_ipfrag_add(t, pkt, n - 1, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	pkt[0] = 0x44;
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	assert_int_equal(pr_ipfrag_add(t, pkt, 0, 0, &out, &out_len), PR_IPFRAG_DROPPED);
	pkt[0] = 0x10;
	assert_int_equal(pr_ipfrag_add(t, pkt, n, 0, &out, &out_len), PR_IPFRAG_NOT_FRAGMENT);
	pr_ipfrag_stats(t, &st);
	assert_int_equal(st.too_big, 1);
	assert_int_equal(st.too_many, 1);
	assert_int_equal(st.dead_fragments, 1);
	assert_true(st.malformed >= 4);
	assert_int_equal(st.reassembled, 0);
	pr_ipfrag_destroy(t);

	{
		struct pr_ipfrag_cfg bad = { .max_datagram_bytes = 70000 };

		assert_int_equal(pr_ipfrag_create(&bad, &t), -22);
		assert_null(t);
		pr_ipfrag_destroy(NULL);
	}
}

/* Random cuts, shuffled, some twice, interleaved datagrams: every one comes back whole. */
static void test_random_shuffles(void **state)
{
	struct pr_ipfrag *t = table(16, 0, 256);
	static uint8_t payload[4][9000];
	static uint8_t pkts[4 * 128][1600];
	static uint32_t lens[4 * 128];
	uint32_t seed = 12345;
	const uint8_t *out;
	uint32_t out_len;

	(void)state;
	for (int round = 0; round < 50; round++) {
		uint32_t np = 0, size[4], done = 0;

		for (int g = 0; g < 4; g++) {
			uint32_t off = 0;

			seed = seed * 1103515245u + 12345u;
			size[g] = 100 + (seed >> 8) % 8800;
			udp_payload(payload[g], size[g], (uint32_t)(round * 4 + g));
			while (off < size[g]) {
				uint32_t len;

				seed = seed * 1103515245u + 12345u;
				len = 8 * (20 + (seed >> 8) % 166);
				if (off + len >= size[g])
					len = size[g] - off;
				/* At least two fragments: a whole datagram is not held. */
				if (!off && len == size[g])
					len = size[g] / 16 * 8;
				lens[np] = v4_frag(pkts[np], (uint16_t)(round * 4 + g), payload[g],
						   off, len, off + len < size[g], 17);
				np++;
				/* Every third fragment twice. */
				if (np % 3 == 0) {
					memcpy(pkts[np], pkts[np - 1], lens[np - 1]);
					lens[np] = lens[np - 1];
					np++;
				}
				off += len;
			}
		}
		for (uint32_t i = np - 1; i > 0; i--) {
			uint32_t j, l;
			uint8_t tmp[1600];

			seed = seed * 1103515245u + 12345u;
			j = (seed >> 8) % (i + 1);
			memcpy(tmp, pkts[i], lens[i]);
			memcpy(pkts[i], pkts[j], lens[j]);
			memcpy(pkts[j], tmp, lens[i]);
			l = lens[i];
			lens[i] = lens[j];
			lens[j] = l;
		}
		for (uint32_t i = 0; i < np; i++) {
			uint64_t ts = (uint64_t)round * 1000 + i;
			int g;

			if (pr_ipfrag_add(t, pkts[i], lens[i], ts, &out, &out_len) !=
			    PR_IPFRAG_DONE)
				continue;
			g = (be16(out + 4) - round * 4) & 3;
			check_v4(out, out_len, payload[g], size[g]);
			done++;
		}
		assert_int_equal(done, 4);
	}
	pr_ipfrag_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_in_and_out_of_order),
		cmocka_unit_test(test_v4_overlap_first_wins),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_timeout_and_eviction),
		cmocka_unit_test(test_limits_and_malformed),
		cmocka_unit_test(test_random_shuffles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
