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
#define HDR_FIRST_SEQ 32 /* version 2 */

#define PKT_TS 0
#define PKT_FLOW_ID 8
#define PKT_CAP_LEN 16
#define PKT_WIRE_LEN 20
#define PKT_IFACE 24
#define PKT_PFLAGS 26
#define PKT_SEQ_DELTA 28 /* version 2 */

/* First allocation: enough for a few full-size frames without regrowing. */
#define BUILDER_MIN_CAP 16384u

PR_STATIC_ASSERT(PR_BLOCK_PKT_HDR_LEN % 4 == 0, "entries stay 4-byte aligned");
PR_STATIC_ASSERT(PR_BLOCK_PKT_HDR_LEN_SEQ % 4 == 0 && PR_BLOCK_HDR_LEN_SEQ % 4 == 0,
		 "version 2 entries stay 4-byte aligned");

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
	free(b->alt);
	memset(b, 0, sizeof(*b));
}

void pr_block_builder_reset(struct pr_block_builder *b)
{
	b->len = 0;
	b->count = 0;
	b->first_ts_ns = 0;
	b->last_ts_ns = 0;
	b->wire_bytes = 0;
	b->first_seq = 0;
	b->last_seq = 0;
	b->with_seq = false;
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

/*
 * Rewrite the version 1 entries so far as version 2 ones (4 more bytes
 * each, after a header 8 bytes longer), through the spare buffer. It
 * happens once per block, and with interleaved classes at its second or
 * third packet, so it copies little.
 */
static int turn_seq(struct pr_block_builder *b)
{
	size_t need = b->len + (PR_BLOCK_HDR_LEN_SEQ - PR_BLOCK_HDR_LEN) +
		      (size_t)b->count * (PR_BLOCK_PKT_HDR_LEN_SEQ - PR_BLOCK_PKT_HDR_LEN);
	size_t in = PR_BLOCK_HDR_LEN, out = PR_BLOCK_HDR_LEN_SEQ;
	uint8_t *tmp;
	size_t cap;

	if (b->alt_cap < need) {
		cap = b->cap > need ? b->cap : need;
		tmp = realloc(b->alt, cap);
		if (!tmp)
			return -ENOMEM;
		b->alt = tmp;
		b->alt_cap = cap;
	}
	for (uint32_t i = 0; i < b->count; i++) {
		size_t data_len = pad4(get32(b->buf + in + PKT_CAP_LEN));

		memcpy(b->alt + out, b->buf + in, PR_BLOCK_PKT_HDR_LEN);
		put32(b->alt + out + PKT_SEQ_DELTA, i);
		memcpy(b->alt + out + PR_BLOCK_PKT_HDR_LEN_SEQ, b->buf + in + PR_BLOCK_PKT_HDR_LEN,
		       data_len);
		in += PR_BLOCK_PKT_HDR_LEN + data_len;
		out += PR_BLOCK_PKT_HDR_LEN_SEQ + data_len;
	}
	tmp = b->buf;
	cap = b->cap;
	b->buf = b->alt;
	b->cap = b->alt_cap;
	b->alt = tmp;
	b->alt_cap = cap;
	b->len = out;
	b->with_seq = true;
	return 0;
}

int pr_block_builder_add(struct pr_block_builder *b, const struct pr_block_pkt *pkt)
{
	return pr_block_builder_add_seq(b, pkt, b->count ? b->last_seq + 1 : 0);
}

int pr_block_builder_add_seq(struct pr_block_builder *b, const struct pr_block_pkt *pkt,
			     uint64_t seq)
{
	size_t start, data_len = pad4(pkt->cap_len), hdr;
	uint8_t *p;
	int err = 0;

	if (b->count && (seq <= b->last_seq || seq - b->first_seq > UINT32_MAX)) {
		err = -ERANGE;
		goto out;
	}
	if (b->count && !b->with_seq && seq != b->last_seq + 1) {
		err = turn_seq(b);
		if (err)
			goto out;
	}
	hdr = b->with_seq ? PR_BLOCK_PKT_HDR_LEN_SEQ : PR_BLOCK_PKT_HDR_LEN;
	start = b->len ? b->len : PR_BLOCK_HDR_LEN;
	/* The count field is 32 bits: a block can never hold more. */
	err = b->count == UINT32_MAX ? -ENOMEM : reserve(b, start + hdr + data_len);
	if (err)
		goto out;

	p = b->buf + start;
	put64(p + PKT_TS, pkt->ts_ns);
	put64(p + PKT_FLOW_ID, pkt->flow_id);
	put32(p + PKT_CAP_LEN, pkt->cap_len);
	put32(p + PKT_WIRE_LEN, pkt->wire_len);
	put16(p + PKT_IFACE, pkt->iface);
	put16(p + PKT_PFLAGS, pkt->pflags);
	if (b->with_seq)
		put32(p + PKT_SEQ_DELTA, (uint32_t)(seq - b->first_seq));
	p += hdr;
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
	if (!b->count)
		b->first_seq = seq;
	b->last_seq = seq;
	b->count++;
	b->wire_bytes += pkt->wire_len;
	b->len = start + hdr + data_len;
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
	put16(b->buf + HDR_VERSION, b->with_seq ? PR_BLOCK_VERSION_SEQ : PR_BLOCK_VERSION);
	put16(b->buf + HDR_FLAGS, 0);
	put32(b->buf + HDR_COUNT, b->count);
	put32(b->buf + HDR_RESERVED, 0);
	put64(b->buf + HDR_FIRST_TS, b->first_ts_ns);
	put64(b->buf + HDR_LAST_TS, b->last_ts_ns);
	if (b->with_seq)
		put64(b->buf + HDR_FIRST_SEQ, b->first_seq);
	*len = b->len;
	out = b->buf;
out:
	return out;
}

int pr_block_iter_init(struct pr_block_iter *it, const uint8_t *buf, size_t len)
{
	size_t hdr = PR_BLOCK_HDR_LEN;
	uint16_t version;
	uint32_t count;
	int err = -EBADMSG;

	memset(it, 0, sizeof(*it));
	if (!buf || len < PR_BLOCK_HDR_LEN)
		goto out;
	version = get16(buf + HDR_VERSION);
	if (get32(buf + HDR_MAGIC) != PR_BLOCK_MAGIC ||
	    (version != PR_BLOCK_VERSION && version != PR_BLOCK_VERSION_SEQ))
		goto out;
	if (version == PR_BLOCK_VERSION_SEQ) {
		hdr = PR_BLOCK_HDR_LEN_SEQ;
		if (len < hdr)
			goto out;
		it->first_seq = get64(buf + HDR_FIRST_SEQ);
	}
	/*
	 * No flag is defined in versions 1 and 2. A set one would mean an
	 * encoding (compression, say) that this reader does not know; refuse
	 * rather than hand out garbage.
	 */
	if (get16(buf + HDR_FLAGS))
		goto out;
	it->version = version;
	it->entry_hdr = version == PR_BLOCK_VERSION_SEQ ? PR_BLOCK_PKT_HDR_LEN_SEQ :
							  PR_BLOCK_PKT_HDR_LEN;
	count = get32(buf + HDR_COUNT);
	/* Each entry takes at least its header: a larger count cannot fit. */
	if ((uint64_t)count * it->entry_hdr > len - hdr)
		goto out;
	it->buf = buf;
	it->len = len;
	it->off = hdr;
	it->count = count;
	it->first_ts_ns = get64(buf + HDR_FIRST_TS);
	it->last_ts_ns = get64(buf + HDR_LAST_TS);
	err = 0;
out:
	return err;
}

void pr_block_iter_set_first_seq(struct pr_block_iter *it, uint64_t first_seq)
{
	if (it->version == PR_BLOCK_VERSION)
		it->first_seq = first_seq;
}

int pr_block_iter_next(struct pr_block_iter *it, struct pr_block_pkt *pkt)
{
	const uint8_t *p;
	uint32_t cap_len;
	uint64_t seq;
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
	if (left < it->entry_hdr)
		goto out;
	p = it->buf + it->off;
	cap_len = get32(p + PKT_CAP_LEN);
	/* Compare in size_t on the remaining bytes: no sum can overflow. */
	if (pad4(cap_len) > left - it->entry_hdr)
		goto out;
	if (it->version == PR_BLOCK_VERSION_SEQ) {
		uint32_t delta = get32(p + PKT_SEQ_DELTA);

		/* The first entry is the header's packet; later ones only grow. */
		if (it->seen ? it->first_seq + delta <= it->seq : delta != 0)
			goto out;
		seq = it->first_seq + delta;
	} else {
		seq = it->first_seq + it->seen;
	}

	pkt->ts_ns = get64(p + PKT_TS);
	pkt->flow_id = get64(p + PKT_FLOW_ID);
	pkt->cap_len = cap_len;
	pkt->wire_len = get32(p + PKT_WIRE_LEN);
	pkt->iface = get16(p + PKT_IFACE);
	pkt->pflags = get16(p + PKT_PFLAGS);
	pkt->data = p + it->entry_hdr;
	pkt->seq = seq;
	it->seq = seq;
	it->off += it->entry_hdr + pad4(cap_len);
	it->seen++;
	ret = 1;
out:
	return ret;
}
