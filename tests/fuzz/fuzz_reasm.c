// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for dataplane/reasm: IP fragment reassembly and TCP
 * stream reassembly, driven by a script. The bytes every fragment and
 * segment carries are a function of where they sit in their datagram or
 * stream, so whatever order, overlap and loss the fuzzer makes up, each
 * rebuilt datagram and each delivered byte can be checked: a datagram
 * must hold exactly the function's bytes, a stream must come out in
 * order, each byte once, with the function's value. Besides, raw inputs
 * are handed in as IP packets (other addresses, so they never mix with the
 * checked datagrams) to exercise the header parsing.
 *
 *   byte 0   bit 0: small tables (2 datagram slots of 256 bytes, 4 TCP
 *            chunks of 64 bytes, 256 held bytes, 512 bytes of depth)
 *   then ops [op][a][b][c][d]:
 *     op & 3 == 0: fragment of checked datagram (op >> 2) & 7: IPv4 or
 *                  IPv6 (op bit 5), offset a * 8, length b (c bit 0: not
 *                  the last; c bit 1: payload length b * 8 instead)
 *     op & 3 == 1: raw IP packet: the next a bytes of the input
 *     op & 3 == 2: TCP segment of flow (op >> 2) & 1, direction (op >> 3)
 *                  & 1: offset a << 8 | b, length c * 4, flags from d
 *                  (SYN, ACK with the acknowledgement a << 8 | c into the
 *                  other direction)
 *     op & 3 == 3: end flow (op >> 2) & 1 (delivering, or with op bit 3
 *                  starting it again without ending: its chunks orphaned)
 *
 * Each op's packet is an exactly sized heap copy. Single-threaded; the
 * tables live for the process.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_ipfrag.h"
#include "pr_tcpreasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t isn[2][2] = { { 0xfffff00fu, 1000 }, { 77, 0x7ffffff0u } };

static uint8_t dgram_byte(uint32_t id, uint32_t i)
{
	return (uint8_t)(i * 29u + id * 101u + (i >> 7));
}

static uint8_t stream_byte(uint32_t f, uint32_t d, uint32_t seq)
{
	return (uint8_t)(seq * 31u + d * 17u + f * 5u + (seq >> 8));
}

struct tcp_check {
	uint32_t flow;
	uint32_t next[2];
	bool started[2];
};

static struct tcp_check g_tc[2];

static void deliver(void *arg, uint8_t dir, uint32_t seq, uint8_t flags, const uint8_t *p,
		    uint32_t len)
{
	struct tcp_check *c = arg;

	if (dir > 1)
		abort();
	if (flags & PR_TCPREASM_SYN) {
		if (c->started[dir])
			abort(); /* one SYN per direction of a flow's life */
		c->started[dir] = true;
		c->next[dir] = seq + 1;
		seq++;
	} else if (!c->started[dir]) {
		c->started[dir] = true;
		c->next[dir] = seq;
	}
	if ((int32_t)(seq - c->next[dir]) < 0)
		abort(); /* a byte twice, or going backwards */
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != stream_byte(c->flow, dir, seq + i))
			abort();
	c->next[dir] = seq + len;
}

static void tables(int small, struct pr_ipfrag **ft, struct pr_tcpreasm **tr)
{
	static struct pr_ipfrag *f[2];
	static struct pr_tcpreasm *t[2];

	if (!f[small]) {
		struct pr_ipfrag_cfg fc = { 0 };
		struct pr_tcpreasm_cfg tc = { 0 };

		if (small) {
			fc = (struct pr_ipfrag_cfg){ .max_datagrams = 2,
						     .max_datagram_bytes = 256,
						     .max_fragments = 8 };
			tc = (struct pr_tcpreasm_cfg){ .depth_bytes = 512,
						       .max_held_bytes = 256,
						       .chunk_bytes = 64,
						       .chunk_count = 4 };
		} else {
			fc.max_datagrams = 8;
			tc.chunk_count = 64;
		}
		if (pr_ipfrag_create(&fc, &f[small]) || pr_tcpreasm_create(&tc, &t[small]))
			abort();
	}
	*ft = f[small];
	*tr = t[small];
}

static void check_datagram(const uint8_t *out, uint32_t n)
{
	uint32_t hl, id;

	if (n < 20)
		abort();
	if ((out[0] >> 4) == 4) {
		hl = (uint32_t)(out[0] & 15) * 4;
		id = out[5] & 7;
		if ((uint32_t)(out[2] << 8 | out[3]) != n || out[6] || out[7])
			abort();
	} else {
		hl = 40;
		id = out[39] & 7;
		if ((uint32_t)(out[4] << 8 | out[5]) + 40 != n || out[6] != 17)
			abort();
	}
	for (uint32_t i = hl; i < n; i++)
		if (out[i] != dgram_byte(id, i - hl))
			abort();
}

/* A fragment of checked datagram id (addresses 192.0.2.1 -> .2, or 2001:db8::1 -> ::2). */
static uint32_t fragment(uint8_t *pkt, bool v6, uint32_t id, uint32_t off, uint32_t len, bool more)
{
	uint32_t h = v6 ? 48 : 20;

	memset(pkt, 0, h);
	if (v6) {
		uint32_t plen = 8 + len;
		uint16_t fo = (uint16_t)(off | (more ? 1 : 0));

		pkt[0] = 0x60;
		pkt[4] = (uint8_t)(plen >> 8);
		pkt[5] = (uint8_t)plen;
		pkt[6] = 44;
		pkt[7] = 64;
		pkt[8] = 0x20;
		pkt[9] = 0x01;
		pkt[10] = 0x0d;
		pkt[11] = 0xb8;
		pkt[23] = 1;
		memcpy(pkt + 24, pkt + 8, 15);
		pkt[39] = (uint8_t)(0x10 | id);
		pkt[40] = 17;
		pkt[42] = (uint8_t)(fo >> 8);
		pkt[43] = (uint8_t)fo;
		pkt[47] = (uint8_t)id;
	} else {
		uint32_t tl = 20 + len;
		uint16_t fo = (uint16_t)(off / 8 | (more ? 0x2000 : 0));

		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(tl >> 8);
		pkt[3] = (uint8_t)tl;
		pkt[5] = (uint8_t)id;
		pkt[6] = (uint8_t)(fo >> 8);
		pkt[7] = (uint8_t)fo;
		pkt[9] = 17;
		memcpy(pkt + 12, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
	}
	for (uint32_t i = 0; i < len; i++)
		pkt[h + i] = dgram_byte(id, off + i);
	return h + len;
}

static void ip_op(struct pr_ipfrag *ft, const uint8_t *p, size_t n, uint64_t ts)
{
	uint8_t *copy = malloc(n ? n : 1);
	const uint8_t *out;
	uint32_t out_len;

	if (!copy)
		return;
	memcpy(copy, p, n);
	if (pr_ipfrag_add(ft, copy, (uint32_t)n, ts, &out, &out_len) == PR_IPFRAG_DONE)
		check_datagram(out, out_len);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pr_tcpreasm_state st[2];
	static uint8_t pkt[65536 + 64];
	struct pr_ipfrag *ft;
	struct pr_tcpreasm *tr;
	size_t off = 1;
	uint64_t ts = 0;

	if (size < 1)
		return 0;
	tables(data[0] & 1, &ft, &tr);
	for (int f = 0; f < 2; f++) {
		pr_tcpreasm_flow_init(&st[f]);
		memset(&g_tc[f], 0, sizeof(g_tc[f]));
		g_tc[f].flow = (uint32_t)f;
	}
	while (off + 5 <= size) {
		uint8_t op = data[off], a = data[off + 1], b = data[off + 2], c = data[off + 3],
			d = data[off + 4];
		int f = (op >> 2) & 1;

		off += 5;
		ts += (uint64_t)d * 1000000000ull / 8; /* up to 32 s per op: timeouts happen */
		switch (op & 3) {
		case 0: {
			bool v6 = op & 0x20;
			uint32_t len = (c & 2) ? (uint32_t)b * 8 : b;
			uint32_t n = fragment(pkt, v6, (op >> 2) & 7, (uint32_t)a * 8, len, c & 1);

			ip_op(ft, pkt, n, ts);
			break;
		}
		case 1: {
			size_t n = a;

			if (n > size - off)
				n = size - off;
			memcpy(pkt, data + off, n);
			/* Other addresses than the checked datagrams'. */
			if (n >= 20 && (pkt[0] >> 4) == 4)
				pkt[12] = 10;
			if (n >= 40 && (pkt[0] >> 4) == 6)
				pkt[8] = 0xfe;
			ip_op(ft, pkt, n, ts);
			off += n;
			break;
		}
		case 2: {
			int dir = (op >> 3) & 1;
			uint32_t len = (uint32_t)c * 4;
			uint32_t seq = isn[f][dir] + ((uint32_t)a << 8 | b);
			struct pr_tcpreasm_seg s = {
				.data = NULL,
				.len = len,
				.seq = seq,
				.ack = isn[f][!dir] + ((uint32_t)a << 8 | c),
				.dir = (uint8_t)dir,
				.tcp_flags = (uint8_t)(d & 0x12),
			};
			uint8_t *copy = malloc(len ? len : 1);

			if (!copy)
				break;
			/* A SYN's payload starts one after its sequence number. */
			for (uint32_t i = 0; i < len; i++)
				copy[i] = stream_byte((uint32_t)f, (uint32_t)dir,
						      seq + i + ((d & 0x02) ? 1 : 0));
			s.data = copy;
			pr_tcpreasm_segment(tr, &st[f], &s, deliver, &g_tc[f]);
			free(copy);
			break;
		}
		default:
			if (op & 8) {
				pr_tcpreasm_flow_init(&st[f]); /* its chunks are left behind */
			} else {
				pr_tcpreasm_flow_end(tr, &st[f], deliver, &g_tc[f]);
			}
			memset(&g_tc[f], 0, sizeof(g_tc[f]));
			g_tc[f].flow = (uint32_t)f;
			break;
		}
	}
	pr_tcpreasm_flow_end(tr, &st[0], deliver, &g_tc[0]);
	pr_tcpreasm_flow_end(tr, &st[1], deliver, &g_tc[1]);
	pr_ipfrag_expire(ft, UINT64_MAX);
	return 0;
}
