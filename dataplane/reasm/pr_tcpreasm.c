// SPDX-License-Identifier: Apache-2.0
/*
 * TCP stream reassembly (see pr_tcpreasm.h). Each direction of a flow
 * keeps the sequence number of the next byte to deliver and a list of
 * held runs, sorted by sequence number, each in a chunk of the core's
 * pool (a segment larger than a chunk takes several). A segment at or
 * before the next byte is delivered at once, minus what was delivered
 * before, and then every held run it made contiguous; a segment after it
 * is held. Sequence numbers are compared by signed 32-bit difference, so
 * wrap-around is harmless. Chunks know their owner, so a chunk held by a
 * flow that ended without pr_tcpreasm_flow_end() (its state no longer
 * lists it) is found and taken back when the pool runs dry. Only the core
 * that created the context calls it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pr_compiler.h"
#include "pr_tcpreasm.h"

#define TH_SYN 0x02
#define TH_ACK 0x10

#define CHUNK_BYTES_MIN 64u
#define CHUNK_BYTES_MAX 65535u
#define CHUNK_COUNT_MAX 65535u
/* Chunks the reclaim scan looks at before the pool is called empty. */
#define RECLAIM_SCAN 64u

/* tdir.flags */
#define D_SEQ 0x01 /* next_seq and isn are set */
#define D_PASS 0x02 /* past depth_bytes: segments pass through as they come */

struct tdir {
	uint32_t next_seq; /* the next byte to deliver */
	uint32_t isn; /* sequence number of the direction's first byte */
	uint32_t held; /* bytes in held chunks */
	uint16_t head; /* 1 + index of the first held chunk; 0: none */
	uint8_t flags; /* D_* */
	uint8_t reserved;
};

struct tflow {
	struct tdir d[2];
} __attribute__((may_alias));

PR_STATIC_ASSERT(sizeof(struct tflow) <= sizeof(struct pr_tcpreasm_state),
		 "tcp reassembly state fits struct pr_tcpreasm_state");

struct chunk {
	struct tflow *owner; /* NULL when free */
	uint32_t seq;
	uint16_t len;
	uint16_t next; /* 1 + index: the owner's next held chunk, or the next free one */
	uint8_t dir;
};

struct pr_tcpreasm {
	struct pr_tcpreasm_cfg cfg;
	struct chunk *chunks;
	uint8_t *mem; /* chunk_count * chunk_bytes */
	uint16_t free_head;
	uint16_t hand; /* where the reclaim scan goes on */
	uint32_t in_use; /* chunks off the free list */
	struct pr_tcpreasm_stats st;
};

static inline struct tflow *tflow(struct pr_tcpreasm_state *st)
{
	return (struct tflow *)st;
}

static inline int32_t sdiff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline uint8_t *chunk_data(const struct pr_tcpreasm *r, uint16_t c)
{
	return r->mem + (size_t)(c - 1) * r->cfg.chunk_bytes;
}

void pr_tcpreasm_destroy(struct pr_tcpreasm *r)
{
	if (!r)
		return;
	free(r->chunks);
	free(r->mem);
	free(r);
}

int pr_tcpreasm_create(const struct pr_tcpreasm_cfg *cfg, struct pr_tcpreasm **out)
{
	struct pr_tcpreasm *r;

	if (!cfg || !out)
		return -EINVAL;
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	if (!r->cfg.depth_bytes)
		r->cfg.depth_bytes = PR_TCPREASM_DEPTH_DEFAULT;
	if (!r->cfg.max_held_bytes)
		r->cfg.max_held_bytes = PR_TCPREASM_MAX_HELD_DEFAULT;
	if (!r->cfg.chunk_bytes)
		r->cfg.chunk_bytes = PR_TCPREASM_CHUNK_BYTES_DEFAULT;
	if (!r->cfg.chunk_count)
		r->cfg.chunk_count = PR_TCPREASM_CHUNK_COUNT_DEFAULT;
	if (r->cfg.chunk_bytes < CHUNK_BYTES_MIN || r->cfg.chunk_bytes > CHUNK_BYTES_MAX ||
	    r->cfg.chunk_count > CHUNK_COUNT_MAX || r->cfg.depth_bytes > (1u << 30)) {
		free(r);
		return -EINVAL;
	}
	r->chunks = calloc(r->cfg.chunk_count, sizeof(*r->chunks));
	r->mem = malloc((size_t)r->cfg.chunk_count * r->cfg.chunk_bytes);
	if (!r->chunks || !r->mem) {
		pr_tcpreasm_destroy(r);
		return -ENOMEM;
	}
	/* Touch every page now: no page faults on the dataplane later. */
	memset(r->mem, 0, (size_t)r->cfg.chunk_count * r->cfg.chunk_bytes);
	for (uint32_t i = 0; i < r->cfg.chunk_count; i++)
		r->chunks[i].next = i + 1 < r->cfg.chunk_count ? (uint16_t)(i + 2) : 0;
	r->free_head = r->cfg.chunk_count ? 1 : 0;
	*out = r;
	return 0;
}

void pr_tcpreasm_flow_init(struct pr_tcpreasm_state *st)
{
	memset(st, 0, sizeof(*st));
}

uint32_t pr_tcpreasm_held(const struct pr_tcpreasm_state *st, uint8_t dir)
{
	return ((const struct tflow *)st)->d[dir & 1].held;
}

uint32_t pr_tcpreasm_chunks_in_use(const struct pr_tcpreasm *r)
{
	return r->in_use;
}

void pr_tcpreasm_stats(const struct pr_tcpreasm *r, struct pr_tcpreasm_stats *out)
{
	*out = r->st;
}

static void chunk_put(struct pr_tcpreasm *r, uint16_t c)
{
	struct chunk *ch = &r->chunks[c - 1];

	ch->owner = NULL;
	ch->next = r->free_head;
	r->free_head = c;
	r->in_use--;
}

/* Is chunk c still on its owner's list? (An owner that ended without flow_end lost it.) */
static bool chunk_listed(const struct pr_tcpreasm *r, uint16_t c)
{
	const struct chunk *ch = &r->chunks[c - 1];
	uint32_t steps = 0;

	for (uint16_t i = ch->owner->d[ch->dir].head; i && steps < CHUNK_COUNT_MAX;
	     i = r->chunks[i - 1].next, steps++)
		if (i == c)
			return true;
	return false;
}

static uint16_t chunk_get(struct pr_tcpreasm *r, struct tflow *fl, uint8_t d)
{
	uint16_t c = r->free_head;

	if (c) {
		r->free_head = r->chunks[c - 1].next;
		r->in_use++;
	} else {
		for (uint32_t i = 0; i < PR_MIN(RECLAIM_SCAN, r->cfg.chunk_count); i++) {
			uint16_t h = (uint16_t)(r->hand + 1);

			r->hand = (uint16_t)((r->hand + 1u) % r->cfg.chunk_count);
			if (r->chunks[h - 1].owner && !chunk_listed(r, h)) {
				r->st.chunks_reclaimed++;
				c = h;
				break;
			}
		}
		if (!c)
			return 0;
	}
	r->chunks[c - 1].owner = fl;
	r->chunks[c - 1].dir = d;
	r->chunks[c - 1].next = 0;
	return c;
}

/* Account a delivery and make it. */
static void give(struct pr_tcpreasm *r, uint8_t d, uint32_t seq, uint8_t flags, const uint8_t *data,
		 uint32_t len, pr_tcpreasm_deliver_fn deliver, void *arg)
{
	r->st.delivered_bytes += len;
	if (deliver)
		deliver(arg, d, seq, flags, data, len);
}

/* Deliver held runs that are now at or before the next byte. */
static void drain(struct pr_tcpreasm *r, struct tflow *fl, uint8_t d,
		  pr_tcpreasm_deliver_fn deliver, void *arg)
{
	struct tdir *ds = &fl->d[d];

	while (ds->head) {
		uint16_t c = ds->head;
		struct chunk *ch = &r->chunks[c - 1];
		uint32_t end = ch->seq + ch->len;

		if (sdiff(ch->seq, ds->next_seq) > 0)
			break;
		ds->head = ch->next;
		ds->held -= ch->len;
		if (sdiff(end, ds->next_seq) > 0) {
			uint32_t skip = ds->next_seq - ch->seq;

			ds->next_seq = end;
			give(r, d, ch->seq + skip, 0, chunk_data(r, c) + skip, ch->len - skip,
			     deliver, arg);
		}
		chunk_put(r, c);
	}
}

/* The hole before the first held run will not fill: jump over it and deliver. */
static void hole_give_up(struct pr_tcpreasm *r, struct tflow *fl, uint8_t d,
			 pr_tcpreasm_deliver_fn deliver, void *arg)
{
	struct tdir *ds = &fl->d[d];

	while (ds->head) {
		r->st.gaps++;
		ds->next_seq = r->chunks[ds->head - 1].seq;
		drain(r, fl, d, deliver, arg);
	}
}

/* Put [seq, seq + len) in chunks before *pp (no held byte is in that range). */
static bool hold_run(struct pr_tcpreasm *r, struct tflow *fl, uint8_t d, uint16_t *pp, uint32_t seq,
		     const uint8_t *data, uint32_t len)
{
	while (len) {
		uint32_t n = PR_MIN(len, r->cfg.chunk_bytes);
		uint16_t c = chunk_get(r, fl, d);

		if (!c)
			return false;
		r->chunks[c - 1].seq = seq;
		r->chunks[c - 1].len = (uint16_t)n;
		memcpy(chunk_data(r, c), data, n);
		r->chunks[c - 1].next = *pp;
		*pp = c;
		pp = &r->chunks[c - 1].next;
		fl->d[d].held += n;
		seq += n;
		data += n;
		len -= n;
	}
	return true;
}

/*
 * Hold seq/data/len (after the next byte, inside the depth). Held runs
 * stay sorted and never overlap: only the bytes no held run has yet are
 * added, so the copy that came first wins. Returns false when the pool
 * ran dry part way (what was held stays held).
 */
static bool hold(struct pr_tcpreasm *r, struct tflow *fl, uint8_t d, uint32_t seq,
		 const uint8_t *data, uint32_t len)
{
	struct tdir *ds = &fl->d[d];
	uint32_t rel = seq - ds->next_seq, end = rel + len;
	uint16_t *pp = &ds->head;

	/* Offsets from the next byte grow along the list. */
	while (rel < end) {
		const struct chunk *ch = *pp ? &r->chunks[*pp - 1] : NULL;
		uint32_t crel = ch ? ch->seq - ds->next_seq : end;

		if (ch && crel + ch->len <= rel) {
			pp = &r->chunks[*pp - 1].next;
			continue;
		}
		if (crel > rel) {
			uint32_t n = PR_MIN(crel, end) - rel;

			if (!hold_run(r, fl, d, pp, ds->next_seq + rel,
				      data + (rel - (seq - ds->next_seq)), n))
				return false;
			rel += n;
			/* Step over what was just put in. */
			while (*pp && r->chunks[*pp - 1].seq - ds->next_seq < rel)
				pp = &r->chunks[*pp - 1].next;
			continue;
		}
		/* rel falls inside a held run: those bytes are there already. */
		rel = crel + ch->len;
		pp = &r->chunks[*pp - 1].next;
	}
	return true;
}

/*
 * A segment at or before the next byte: deliver its new bytes up to the
 * first held run, then the held runs it joined, and go on with the rest
 * (held bytes came first, so they win over this segment's copy).
 */
static void in_order(struct pr_tcpreasm *r, struct tflow *fl, uint8_t d, uint32_t seq,
		     const uint8_t *data, uint32_t len, pr_tcpreasm_deliver_fn deliver, void *arg)
{
	struct tdir *ds = &fl->d[d];
	uint32_t old = ds->next_seq - seq;

	if (old >= len) {
		r->st.retransmits++;
		return;
	}
	if (old)
		r->st.overlaps++;
	while (old < len) {
		uint32_t n = len - old;

		if (ds->head)
			n = PR_MIN(n, r->chunks[ds->head - 1].seq - ds->next_seq);
		ds->next_seq += n;
		give(r, d, seq + old, 0, data + old, n, deliver, arg);
		drain(r, fl, d, deliver, arg);
		if (sdiff(seq + len, ds->next_seq) <= 0)
			break;
		old = ds->next_seq - seq;
	}
	if (!ds->head && ds->next_seq - ds->isn >= r->cfg.depth_bytes)
		ds->flags |= D_PASS;
}

void pr_tcpreasm_segment(struct pr_tcpreasm *r, struct pr_tcpreasm_state *st,
			 const struct pr_tcpreasm_seg *seg, pr_tcpreasm_deliver_fn deliver,
			 void *arg)
{
	struct tflow *fl = tflow(st);
	uint8_t d = seg->dir & 1;
	struct tdir *ds = &fl->d[d], *peer = &fl->d[!d];
	uint32_t seq = seg->seq, len = seg->len, depth_end, n;
	const uint8_t *data = seg->data;

	r->st.segments++;
	/*
	 * The peer acknowledges bytes past the first run this direction
	 * holds: the receiver had the bytes of the hole before it, so they
	 * were sent, and only the capture missed them.
	 */
	if ((seg->tcp_flags & TH_ACK) && peer->head) {
		const struct chunk *ch = &r->chunks[peer->head - 1];

		if (sdiff(seg->ack, ch->seq + ch->len) >= 0) {
			r->st.gaps_acked++;
			hole_give_up(r, fl, !d, deliver, arg);
		}
	}
	if (seg->tcp_flags & TH_SYN) {
		if (ds->flags & D_SEQ) {
			r->st.retransmits++;
			return;
		}
		ds->flags |= D_SEQ;
		ds->isn = seq + 1;
		ds->next_seq = seq + 1 + len;
		give(r, d, seq, PR_TCPREASM_SYN, data, len, deliver, arg);
		return;
	}
	if (!len)
		return;
	if (!(ds->flags & D_SEQ)) {
		/* No SYN seen: the stream starts with the first byte we see. */
		ds->flags |= D_SEQ;
		ds->isn = seq;
		ds->next_seq = seq;
	}
	if (ds->flags & D_PASS) {
		/* Past the depth: nothing is held; old bytes still go, a hole is jumped. */
		if (sdiff(seq, ds->next_seq) > 0)
			ds->next_seq = seq;
		in_order(r, fl, d, seq, data, len, deliver, arg);
		return;
	}
	if (sdiff(seq, ds->next_seq) <= 0) {
		in_order(r, fl, d, seq, data, len, deliver, arg);
		return;
	}
	/* Early: hold what falls inside the depth. */
	depth_end = ds->isn + r->cfg.depth_bytes;
	if (sdiff(seq, depth_end) >= 0) {
		r->st.beyond_depth++;
		return;
	}
	n = sdiff(seq + len, depth_end) > 0 ? depth_end - seq : len;
	if (n < len)
		r->st.beyond_depth++;
	if (ds->held + n <= r->cfg.max_held_bytes && hold(r, fl, d, seq, data, n)) {
		r->st.held_segments++;
		return;
	}
	if (ds->held + n > r->cfg.max_held_bytes)
		r->st.held_limit++;
	else
		r->st.pool_empty++;
	/* Give the hole up: what is held goes, then this segment, after its own gap if any. */
	hole_give_up(r, fl, d, deliver, arg);
	if (sdiff(seq, ds->next_seq) > 0) {
		r->st.gaps++;
		ds->next_seq = seq;
	}
	in_order(r, fl, d, seq, data, n, deliver, arg);
}

void pr_tcpreasm_flow_end(struct pr_tcpreasm *r, struct pr_tcpreasm_state *st,
			  pr_tcpreasm_deliver_fn deliver, void *arg)
{
	struct tflow *fl = tflow(st);

	for (uint8_t d = 0; d < 2; d++) {
		struct tdir *ds = &fl->d[d];

		if (deliver) {
			hole_give_up(r, fl, d, deliver, arg);
			continue;
		}
		while (ds->head) {
			uint16_t c = ds->head;

			ds->head = r->chunks[c - 1].next;
			chunk_put(r, c);
		}
		ds->held = 0;
	}
	memset(st, 0, sizeof(*st));
}
