// SPDX-License-Identifier: Apache-2.0
/*
 * The packet block codec (layout in pr_block.h). The builder appends
 * packets to one growing buffer and writes the block header last, so
 * adding a packet is one bounds check and two memcpy calls; the iterator
 * walks a stored block and checks every length against the buffer before
 * touching the bytes it covers, since blocks come back from disk and may be
 * damaged or hostile. Fields are encoded explicitly as little-endian
 * through memcpy, so neither side depends on the host byte order or does a
 * misaligned load. No I/O, no state outside the caller's structs: any
 * thread, one builder or iterator per thread.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pr_block.h"
#include "pr_compiler.h"

/* Offsets inside the block header and a packet entry (see pr_block.h). */
#define HDR_MAGIC 0
#define HDR_VERSION 4
#define HDR_FLAGS 6
#define HDR_COUNT 8
#define HDR_RESERVED 12
#define HDR_FIRST_TS 16
#define HDR_LAST_TS 24

#define PKT_TS 0
#define PKT_FLOW_ID 8
#define PKT_CAP_LEN 16
#define PKT_WIRE_LEN 20
#define PKT_IFACE 24
#define PKT_PFLAGS 26

/* First allocation: enough for a few full-size frames without regrowing. */
#define BUILDER_MIN_CAP 16384u

PR_STATIC_ASSERT(PR_BLOCK_PKT_HDR_LEN % 4 == 0, "entries stay 4-byte aligned");

static inline void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline size_t pad4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

void pr_block_builder_init(struct pr_block_builder *b)
{
	memset(b, 0, sizeof(*b));
}

void pr_block_builder_fini(struct pr_block_builder *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void pr_block_builder_reset(struct pr_block_builder *b)
{
	b->len = 0;
	b->count = 0;
	b->first_ts_ns = 0;
	b->last_ts_ns = 0;
	b->wire_bytes = 0;
}

/*
 * Doubling keeps appends amortised O(1); a block is flushed at about
 * 1 MiB, so after the first few blocks the buffer never grows again.
 */
static int reserve(struct pr_block_builder *b, size_t need)
{
	size_t cap = b->cap ? b->cap : BUILDER_MIN_CAP;
	uint8_t *buf;
	int err = 0;

	if (need <= b->cap)
		goto out;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			err = -ENOMEM;
			goto out;
		}
		cap *= 2;
	}
	buf = realloc(b->buf, cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	b->buf = buf;
	b->cap = cap;
out:
	return err;
}

int pr_block_builder_add(struct pr_block_builder *b, const struct pr_block_pkt *pkt)
{
	size_t start = b->len ? b->len : PR_BLOCK_HDR_LEN;
	size_t data_len = pad4(pkt->cap_len);
	uint8_t *p;
	int err;

	/* The count field is 32 bits: a block can never hold more. */
	err = b->count == UINT32_MAX ? -ENOMEM :
				       reserve(b, start + PR_BLOCK_PKT_HDR_LEN + data_len);
	if (err)
		goto out;

	p = b->buf + start;
	put64(p + PKT_TS, pkt->ts_ns);
	put64(p + PKT_FLOW_ID, pkt->flow_id);
	put32(p + PKT_CAP_LEN, pkt->cap_len);
	put32(p + PKT_WIRE_LEN, pkt->wire_len);
	put16(p + PKT_IFACE, pkt->iface);
	put16(p + PKT_PFLAGS, pkt->pflags);
	p += PR_BLOCK_PKT_HDR_LEN;
	if (pkt->cap_len)
		memcpy(p, pkt->data, pkt->cap_len);
	/* Zero the padding so a block's bytes depend only on its packets. */
	if (data_len > pkt->cap_len)
		memset(p + pkt->cap_len, 0, data_len - pkt->cap_len);

	/*
	 * The header's time range is the minimum and maximum, not the first
	 * and last packet: packets merged from several cores are not strictly
	 * ordered, and the range is what a time query relies on.
	 */
	if (!b->count || pkt->ts_ns < b->first_ts_ns)
		b->first_ts_ns = pkt->ts_ns;
	if (!b->count || pkt->ts_ns > b->last_ts_ns)
		b->last_ts_ns = pkt->ts_ns;
	b->count++;
	b->wire_bytes += pkt->wire_len;
	b->len = start + PR_BLOCK_PKT_HDR_LEN + data_len;
out:
	return err;
}

const uint8_t *pr_block_builder_finish(struct pr_block_builder *b, size_t *len)
{
	const uint8_t *out = NULL;

	*len = 0;
	/* An empty block is still a valid block: a header with count 0. */
	if (!b->len) {
		if (reserve(b, PR_BLOCK_HDR_LEN))
			goto out;
		b->len = PR_BLOCK_HDR_LEN;
	}
	put32(b->buf + HDR_MAGIC, PR_BLOCK_MAGIC);
	put16(b->buf + HDR_VERSION, PR_BLOCK_VERSION);
	put16(b->buf + HDR_FLAGS, 0);
	put32(b->buf + HDR_COUNT, b->count);
	put32(b->buf + HDR_RESERVED, 0);
	put64(b->buf + HDR_FIRST_TS, b->first_ts_ns);
	put64(b->buf + HDR_LAST_TS, b->last_ts_ns);
	*len = b->len;
	out = b->buf;
out:
	return out;
}

int pr_block_iter_init(struct pr_block_iter *it, const uint8_t *buf, size_t len)
{
	uint32_t count;
	int err = -EBADMSG;

	memset(it, 0, sizeof(*it));
	if (!buf || len < PR_BLOCK_HDR_LEN)
		goto out;
	if (get32(buf + HDR_MAGIC) != PR_BLOCK_MAGIC ||
	    get16(buf + HDR_VERSION) != PR_BLOCK_VERSION)
		goto out;
	/*
	 * No flag is defined in version 1. A set one would mean an encoding
	 * (compression, say) that this reader does not know; refuse rather
	 * than hand out garbage.
	 */
	if (get16(buf + HDR_FLAGS))
		goto out;
	count = get32(buf + HDR_COUNT);
	/* Each entry takes at least its header: a larger count cannot fit. */
	if ((uint64_t)count * PR_BLOCK_PKT_HDR_LEN > len - PR_BLOCK_HDR_LEN)
		goto out;
	it->buf = buf;
	it->len = len;
	it->off = PR_BLOCK_HDR_LEN;
	it->count = count;
	it->first_ts_ns = get64(buf + HDR_FIRST_TS);
	it->last_ts_ns = get64(buf + HDR_LAST_TS);
	err = 0;
out:
	return err;
}

int pr_block_iter_next(struct pr_block_iter *it, struct pr_block_pkt *pkt)
{
	const uint8_t *p;
	uint32_t cap_len;
	size_t left;
	int ret = -EBADMSG;

	/* A failed init leaves buf NULL: the iterator only reports the damage. */
	if (!it->buf)
		goto out;
	left = it->len - it->off;
	/* Bytes after the last counted entry mean the count is wrong. */
	if (it->seen == it->count) {
		ret = left ? -EBADMSG : 0;
		goto out;
	}
	if (left < PR_BLOCK_PKT_HDR_LEN)
		goto out;
	p = it->buf + it->off;
	cap_len = get32(p + PKT_CAP_LEN);
	/* Compare in size_t on the remaining bytes: no sum can overflow. */
	if (pad4(cap_len) > left - PR_BLOCK_PKT_HDR_LEN)
		goto out;

	pkt->ts_ns = get64(p + PKT_TS);
	pkt->flow_id = get64(p + PKT_FLOW_ID);
	pkt->cap_len = cap_len;
	pkt->wire_len = get32(p + PKT_WIRE_LEN);
	pkt->iface = get16(p + PKT_IFACE);
	pkt->pflags = get16(p + PKT_PFLAGS);
	pkt->data = p + PR_BLOCK_PKT_HDR_LEN;
	it->off += PR_BLOCK_PKT_HDR_LEN + pad4(cap_len);
	it->seen++;
	ret = 1;
out:
	return ret;
}
