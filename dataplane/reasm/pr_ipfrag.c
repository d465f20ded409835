// SPDX-License-Identifier: Apache-2.0
/*
 * IP fragment reassembly (see pr_ipfrag.h). A table of max_datagrams
 * slots, found by a hash of (version, addresses, identification and, for
 * IPv4, protocol). Each slot owns a fixed region: header room in front
 * (where the first fragment's IP header, or IPv6's unfragmentable part,
 * is put so that it ends where the payload starts), the payload area, and
 * a bitmap with one bit per 8-byte unit of payload: fragment offsets are
 * counted in those units, and every fragment but the last covers whole
 * units, so the bitmap tells exactly which bytes are held. A datagram is
 * complete when its last fragment told its length, its first fragment
 * gave the header, and the bytes held add up. The rebuilt datagram is
 * handed back in place; its slot is freed at the next call. Only the core
 * that created the table calls it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pr_compiler.h"
#include "pr_ipfrag.h"

/* Room for the IPv4 header (60 bytes at most) or IPv6's unfragmentable part. */
#define HDR_ROOM 256u
#define KEY_LEN 40u
#define MAX_DATAGRAMS 65535u
#define MAX_FRAGMENTS 8192u

/* slot.flags */
#define S_USED 0x01
#define S_HAVE_FIRST 0x02 /* the offset-0 fragment (and so the header) is held */
#define S_HAVE_END 0x04 /* the last fragment (MF clear) told the payload length */
#define S_DEAD 0x08 /* given up: later fragments are dropped until the slot times out */

struct slot {
	uint8_t key[KEY_LEN];
	uint64_t first_ts;
	uint32_t total; /* payload length, once S_HAVE_END */
	uint32_t have; /* distinct payload bytes held */
	uint32_t max_end; /* largest fragment end seen */
	uint16_t nfrags;
	uint16_t hdr_len; /* header bytes kept in front of the payload */
	uint16_t nh_off; /* IPv6: offset in the header of the byte naming the fragment header */
	uint16_t hnext; /* hash chain or free list: 1 + slot index, 0 ends */
	uint8_t next_hdr; /* IPv6: the fragment header's next header */
	uint8_t version;
	uint8_t flags; /* S_* */
	uint8_t reserved;
};

struct pr_ipfrag {
	struct pr_ipfrag_cfg cfg;
	struct slot *slots;
	uint16_t *bucket; /* 1 + slot index of the chain's first slot, 0: empty */
	uint8_t *mem; /* per slot: HDR_ROOM + payload area */
	uint64_t *bits; /* per slot: one bit per 8-byte unit */
	size_t slot_bytes;
	size_t bit_words; /* uint64_t words of bitmap per slot */
	uint32_t nbuckets; /* a power of two */
	uint32_t used;
	uint16_t free_head;
	uint16_t done; /* 1 + the slot handed back by the last call, freed at the next */
	struct pr_ipfrag_stats st;
};

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t key_hash(const uint8_t *k)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < KEY_LEN; i++)
		h = (h ^ k[i]) * 16777619u;
	return h ^ (h >> 15);
}

void pr_ipfrag_destroy(struct pr_ipfrag *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->bucket);
	free(t->mem);
	free(t->bits);
	free(t);
}

int pr_ipfrag_create(const struct pr_ipfrag_cfg *cfg, struct pr_ipfrag **out)
{
	struct pr_ipfrag *t;
	size_t n;

	if (!cfg || !out)
		return -EINVAL;
	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	if (!t->cfg.max_datagrams)
		t->cfg.max_datagrams = PR_IPFRAG_MAX_DATAGRAMS_DEFAULT;
	if (!t->cfg.max_datagram_bytes)
		t->cfg.max_datagram_bytes = PR_IPFRAG_MAX_DATAGRAM_BYTES_DEFAULT;
	if (!t->cfg.max_fragments)
		t->cfg.max_fragments = PR_IPFRAG_MAX_FRAGMENTS_DEFAULT;
	if (!t->cfg.timeout_ns)
		t->cfg.timeout_ns = PR_IPFRAG_TIMEOUT_NS_DEFAULT;
	if (t->cfg.max_datagrams > MAX_DATAGRAMS || t->cfg.max_datagram_bytes < 8 ||
	    t->cfg.max_datagram_bytes > 65535 || t->cfg.max_fragments > MAX_FRAGMENTS) {
		free(t);
		return -EINVAL;
	}
	n = t->cfg.max_datagrams;
	t->bit_words = (t->cfg.max_datagram_bytes + 8 * 64 - 1) / (8 * 64);
	t->slot_bytes = HDR_ROOM + PR_ALIGN_UP((size_t)t->cfg.max_datagram_bytes, (size_t)64);
	for (t->nbuckets = 16; t->nbuckets < 2 * n; t->nbuckets *= 2)
		;
	t->slots = calloc(n, sizeof(*t->slots));
	t->bucket = calloc(t->nbuckets, sizeof(*t->bucket));
	/* Touched now (calloc of fresh pages is lazy): no page faults on the dataplane later. */
	t->mem = malloc(n * t->slot_bytes);
	t->bits = calloc(n * t->bit_words, sizeof(uint64_t));
	if (!t->slots || !t->bucket || !t->mem || !t->bits) {
		pr_ipfrag_destroy(t);
		return -ENOMEM;
	}
	memset(t->mem, 0, n * t->slot_bytes);
	memset(t->bits, 0, n * t->bit_words * sizeof(uint64_t));
	for (size_t i = 0; i < n; i++)
		t->slots[i].hnext = i + 1 < n ? (uint16_t)(i + 2) : 0;
	t->free_head = 1;
	*out = t;
	return 0;
}

static void slot_unlink(struct pr_ipfrag *t, uint16_t idx)
{
	struct slot *s = &t->slots[idx - 1];
	uint16_t *pp = &t->bucket[key_hash(s->key) & (t->nbuckets - 1)];

	while (*pp && *pp != idx)
		pp = &t->slots[*pp - 1].hnext;
	if (*pp)
		*pp = s->hnext;
}

static void slot_free(struct pr_ipfrag *t, uint16_t idx)
{
	struct slot *s = &t->slots[idx - 1];

	slot_unlink(t, idx);
	memset(t->bits + (size_t)(idx - 1) * t->bit_words, 0, t->bit_words * sizeof(uint64_t));
	memset(s, 0, sizeof(*s));
	s->hnext = t->free_head;
	t->free_head = idx;
	t->used--;
}

/* A datagram still in progress is dropped: counted as timed out or evicted. */
static void slot_drop(struct pr_ipfrag *t, uint16_t idx, uint64_t *counter)
{
	if (!(t->slots[idx - 1].flags & S_DEAD))
		(*counter)++;
	slot_free(t, idx);
}

static inline bool expired(const struct pr_ipfrag *t, const struct slot *s, uint64_t now)
{
	return now > s->first_ts && now - s->first_ts > t->cfg.timeout_ns;
}

void pr_ipfrag_expire(struct pr_ipfrag *t, uint64_t now_ns)
{
	if (t->done) {
		slot_free(t, t->done);
		t->done = 0;
	}
	for (uint32_t i = 0; i < t->cfg.max_datagrams && t->used; i++)
		if ((t->slots[i].flags & S_USED) && expired(t, &t->slots[i], now_ns))
			slot_drop(t, (uint16_t)(i + 1), &t->st.timeouts);
}

/* A free slot for a new datagram: expired ones go first, else the oldest. */
static uint16_t slot_alloc(struct pr_ipfrag *t, uint64_t now)
{
	uint16_t idx;

	if (!t->free_head) {
		uint32_t oldest = 0;

		pr_ipfrag_expire(t, now);
		if (!t->free_head) {
			for (uint32_t i = 1; i < t->cfg.max_datagrams; i++)
				if (t->slots[i].first_ts < t->slots[oldest].first_ts)
					oldest = i;
			slot_drop(t, (uint16_t)(oldest + 1), &t->st.evicted);
		}
	}
	idx = t->free_head;
	t->free_head = t->slots[idx - 1].hnext;
	t->used++;
	return idx;
}

/* What one fragment says, from its IP header(s). */
struct frag {
	uint8_t key[KEY_LEN];
	const uint8_t *payload;
	uint32_t off; /* payload offset in the datagram, bytes */
	uint32_t len; /* payload bytes of this fragment */
	uint32_t hdr_len; /* IPv4 header / IPv6 unfragmentable part */
	uint16_t nh_off;
	uint8_t next_hdr;
	uint8_t version;
	bool more;
};

/* IPv6 extension headers that may come before the fragment header. */
static bool v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140 || nh == 51;
}

/*
 * Read the fragment fields. Returns PR_IPFRAG_HELD for a fragment (f
 * filled), PR_IPFRAG_NOT_FRAGMENT or PR_IPFRAG_DROPPED (malformed).
 */
static enum pr_ipfrag_result parse(const uint8_t *p, uint32_t len, struct frag *f)
{
	uint32_t end;

	memset(f->key, 0, sizeof(f->key));
	if (len < 1)
		return PR_IPFRAG_DROPPED;
	f->version = p[0] >> 4;
	if (f->version == 4) {
		uint32_t hl, tl;
		uint16_t fo;

		if (len < 20)
			return PR_IPFRAG_DROPPED;
		hl = (uint32_t)(p[0] & 15) * 4;
		tl = be16(p + 2);
		fo = be16(p + 6);
		if (!(fo & 0x3fff))
			return PR_IPFRAG_NOT_FRAGMENT;
		if (hl < 20 || tl < hl || len < tl)
			return PR_IPFRAG_DROPPED; /* impossible, or cut by the snap length */
		f->hdr_len = hl;
		f->off = (uint32_t)(fo & 0x1fff) * 8;
		f->more = fo & 0x2000;
		f->payload = p + hl;
		f->len = tl - hl;
		f->key[0] = 4;
		f->key[1] = p[9];
		memcpy(f->key + 2, p + 4, 2);
		memcpy(f->key + 8, p + 12, 8);
		end = f->off + f->len;
		/* An IPv4 datagram is at most 65535 bytes, header included. */
		if (end + hl > 65535)
			return PR_IPFRAG_DROPPED;
		return PR_IPFRAG_HELD;
	}
	if (f->version == 6) {
		uint32_t off = 40, ip_end, nh_off = 6;
		uint8_t nh;

		if (len < 40)
			return PR_IPFRAG_DROPPED;
		if (!be16(p + 4))
			return PR_IPFRAG_NOT_FRAGMENT; /* a jumbogram is never fragmented */
		ip_end = 40u + be16(p + 4);
		if (len < ip_end)
			return PR_IPFRAG_DROPPED;
		nh = p[6];
		for (int i = 0; v6_ext(nh) && i < 8; i++) {
			uint32_t hl;

			if (off + 2 > ip_end)
				return PR_IPFRAG_DROPPED;
			hl = nh == 51 ? ((uint32_t)p[off + 1] + 2) * 4 :
					((uint32_t)p[off + 1] + 1) * 8;
			nh_off = off;
			nh = p[off];
			off += hl;
		}
		if (nh != 44)
			return PR_IPFRAG_NOT_FRAGMENT;
		if (off + 8 > ip_end)
			return PR_IPFRAG_DROPPED;
		f->off = be16(p + off + 2) & 0xfff8u;
		f->more = p[off + 3] & 1;
		if (!f->off && !f->more)
			return PR_IPFRAG_NOT_FRAGMENT; /* an atomic fragment is a whole packet (RFC 6946) */
		if (off > HDR_ROOM)
			return PR_IPFRAG_DROPPED;
		f->hdr_len = off;
		f->nh_off = (uint16_t)nh_off;
		f->next_hdr = p[off];
		f->payload = p + off + 8;
		f->len = ip_end - off - 8;
		f->key[0] = 6;
		memcpy(f->key + 4, p + off + 4, 4);
		memcpy(f->key + 8, p + 8, 32);
		return PR_IPFRAG_HELD;
	}
	return PR_IPFRAG_NOT_FRAGMENT;
}

static uint16_t lookup(struct pr_ipfrag *t, const uint8_t *key, uint32_t *bucket)
{
	uint16_t idx;

	*bucket = key_hash(key) & (t->nbuckets - 1);
	for (idx = t->bucket[*bucket]; idx; idx = t->slots[idx - 1].hnext)
		if (!memcmp(t->slots[idx - 1].key, key, KEY_LEN))
			return idx;
	return 0;
}

static enum pr_ipfrag_result give_up(struct pr_ipfrag *t, struct slot *s, uint64_t *counter)
{
	(*counter)++;
	if (!(s->flags & S_DEAD))
		t->st.dropped++;
	s->flags |= S_DEAD;
	return PR_IPFRAG_DROPPED;
}

static uint16_t csum_ipv4(const uint8_t *h, uint32_t n)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += be16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The datagram of slot idx is complete: rebuild its header in front of the payload. */
static enum pr_ipfrag_result finish(struct pr_ipfrag *t, uint16_t idx, const uint8_t **out,
				    uint32_t *out_len)
{
	struct slot *s = &t->slots[idx - 1];
	uint8_t *base = t->mem + (size_t)(idx - 1) * t->slot_bytes;
	uint8_t *h = base + HDR_ROOM - s->hdr_len;
	uint32_t n = s->hdr_len + s->total;
	uint16_t c;

	if (s->version == 4) {
		if (n > 65535)
			return give_up(t, s, &t->st.too_big);
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		h[6] = 0;
		h[7] = 0;
		h[10] = 0;
		h[11] = 0;
		c = csum_ipv4(h, s->hdr_len);
		h[10] = (uint8_t)(c >> 8);
		h[11] = (uint8_t)c;
	} else {
		uint32_t plen = n - 40;

		if (plen > 65535)
			return give_up(t, s, &t->st.too_big);
		h[4] = (uint8_t)(plen >> 8);
		h[5] = (uint8_t)plen;
		h[s->nh_off] = s->next_hdr;
	}
	t->st.reassembled++;
	t->done = idx;
	*out = h;
	*out_len = n;
	return PR_IPFRAG_DONE;
}

enum pr_ipfrag_result pr_ipfrag_add(struct pr_ipfrag *t, const uint8_t *l3, uint32_t len,
				    uint64_t ts_ns, const uint8_t **out, uint32_t *out_len)
{
	enum pr_ipfrag_result r;
	struct frag f;
	struct slot *s;
	uint64_t *bits;
	uint8_t *base;
	uint32_t bucket, end, u0, u1;
	bool overlap;
	uint16_t idx;

	*out = NULL;
	*out_len = 0;
	if (t->done) {
		slot_free(t, t->done);
		t->done = 0;
	}
	r = parse(l3, len, &f);
	if (r == PR_IPFRAG_NOT_FRAGMENT)
		return r;
	t->st.fragments++;
	if (r == PR_IPFRAG_DROPPED) {
		t->st.malformed++;
		return r;
	}
	end = f.off + f.len;
	idx = lookup(t, f.key, &bucket);
	if (idx && expired(t, &t->slots[idx - 1], ts_ns)) {
		slot_drop(t, idx, &t->st.timeouts);
		idx = 0;
	}
	if (!idx) {
		idx = slot_alloc(t, ts_ns);
		s = &t->slots[idx - 1];
		memcpy(s->key, f.key, KEY_LEN);
		s->first_ts = ts_ns;
		s->version = f.version;
		s->flags = S_USED;
		/* slot_alloc() may have emptied a chain: look the bucket up again. */
		bucket = key_hash(f.key) & (t->nbuckets - 1);
		s->hnext = t->bucket[bucket];
		t->bucket[bucket] = idx;
	}
	s = &t->slots[idx - 1];
	if (s->flags & S_DEAD) {
		t->st.dead_fragments++;
		return PR_IPFRAG_DROPPED;
	}
	if (++s->nfrags > t->cfg.max_fragments)
		return give_up(t, s, &t->st.too_many);
	if (end > t->cfg.max_datagram_bytes)
		return give_up(t, s, &t->st.too_big);
	/*
	 * Every fragment but the last carries whole 8-byte units; the last
	 * one fixes the length, which no other fragment may pass.
	 */
	if ((f.more && (f.len & 7)) || (f.more && !f.len))
		return give_up(t, s, &t->st.malformed);
	if (!f.more) {
		if (((s->flags & S_HAVE_END) && s->total != end) || s->max_end > end)
			return give_up(t, s, &t->st.malformed);
		s->flags |= S_HAVE_END;
		s->total = end;
	} else if ((s->flags & S_HAVE_END) && end > s->total) {
		return give_up(t, s, &t->st.malformed);
	}
	s->max_end = PR_MAX(s->max_end, end);

	base = t->mem + (size_t)(idx - 1) * t->slot_bytes;
	bits = t->bits + (size_t)(idx - 1) * t->bit_words;
	u0 = f.off / 8;
	u1 = (end + 7) / 8;
	overlap = false;
	for (uint32_t u = u0; u < u1; u++) {
		uint32_t b0 = u * 8, b1 = PR_MIN(b0 + 8, end);

		if (bits[u / 64] & (1ull << (u % 64))) {
			if (f.version == 6) {
				/* RFC 5722: a datagram with overlapping fragments is dropped. */
				return give_up(t, s, &t->st.overlaps);
			}
			/* IPv4: the bytes that came first stay. */
			overlap = true;
			continue;
		}
		bits[u / 64] |= 1ull << (u % 64);
		memcpy(base + HDR_ROOM + b0, f.payload + (b0 - f.off), b1 - b0);
		s->have += b1 - b0;
	}
	if (overlap)
		t->st.overlaps++;
	if (!f.off && !(s->flags & S_HAVE_FIRST)) {
		s->flags |= S_HAVE_FIRST;
		s->hdr_len = (uint16_t)f.hdr_len;
		s->nh_off = f.nh_off;
		s->next_hdr = f.next_hdr;
		memcpy(base + HDR_ROOM - f.hdr_len, l3, f.hdr_len);
	}
	if ((s->flags & (S_HAVE_FIRST | S_HAVE_END)) == (S_HAVE_FIRST | S_HAVE_END) &&
	    s->have == s->total)
		return finish(t, idx, out, out_len);
	return PR_IPFRAG_HELD;
}

uint32_t pr_ipfrag_pending(const struct pr_ipfrag *t)
{
	return t->used - (t->done ? 1 : 0);
}

void pr_ipfrag_stats(const struct pr_ipfrag *t, struct pr_ipfrag_stats *out)
{
	*out = t->st;
}
