/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Single-producer/single-consumer record rings in the shared-memory region
 * of pr_record.h, and the helpers that lay the region out and check it.
 *
 * The hot path inlines these functions, so the two small structs below are
 * defined here; no other module touches their fields. A producer reserves a
 * record, fills it, commits it, and publishes once per burst (one release
 * store); a consumer peeks, advances, and releases once per batch. Each side
 * caches the other side's index and reloads it only when the cache says the
 * ring is full (producer) or empty (consumer).
 *
 * Producer: one dataplane worker per worker ring, the tx core for its
 * report ring, the control plane for the tx ring. Consumer: the other
 * side. Never two threads on one end.
 */
#ifndef PR_RING_H
#define PR_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pr_compiler.h"
#include "pr_dpcfg.h"
#include "pr_record.h"

struct pr_ring_prod {
	struct pr_ring_header *h;
	uint8_t *slots;
	uint32_t slot_count;
	uint32_t mask;
	uint64_t head; /* next slot to write (local, published on publish) */
	uint64_t cons_cache; /* last consumer index read */
	uint32_t reserved; /* slots of the reserved, uncommitted record */
};

struct pr_ring_cons {
	struct pr_ring_header *h;
	uint8_t *slots;
	uint32_t slot_count;
	uint32_t mask;
	uint64_t tail; /* next slot to read (local, released on release) */
	uint64_t prod_cache; /* last producer index read */
	int error; /* -EBADMSG once a corrupt record was seen; sticky */
};

static inline uint32_t pr_ring_slots_of(uint32_t len)
{
	/* In 64 bits: a length near 4 GiB must not wrap to 0 slots (a hostile producer). */
	return (uint32_t)(((uint64_t)len + PR_RING_SLOT_SIZE - 1) / PR_RING_SLOT_SIZE);
}

static inline size_t pr_ring_bytes(uint32_t slot_count)
{
	return sizeof(struct pr_ring_header) + (size_t)slot_count * PR_RING_SLOT_SIZE;
}

/* The settings block, rounded up so the rings stay cache-line aligned. */
#define PR_SHM_CFG_BYTES PR_ALIGN_UP(sizeof(struct pr_dp_cfg), (size_t)PR_CACHE_LINE)

static inline size_t pr_shm_size(uint32_t workers, uint32_t rx_slots, uint32_t tx_slots)
{
	return sizeof(struct pr_shm_header) + PR_SHM_CFG_BYTES +
	       (size_t)workers * pr_ring_bytes(rx_slots) + pr_ring_bytes(PR_SHM_REPORT_SLOTS) +
	       pr_ring_bytes(tx_slots);
}

static inline int pr_ring_is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Slots ring i of a region with this header must have (see pr_record.h for the order). */
static inline uint32_t pr_shm_ring_slots(const struct pr_shm_header *sh, uint32_t i)
{
	if (i < sh->worker_count)
		return sh->rx_slot_count;
	return i == sh->worker_count ? PR_SHM_REPORT_SLOTS : sh->tx_slot_count;
}

/*
 * Lay out a zeroed region of pr_shm_size() bytes: header, settings (cfg,
 * or the defaults when NULL; its worker count is set to workers), one rx
 * ring per worker, the tx core's report ring and the tx ring. Whoever
 * creates the region, before a dataplane uses it. Returns 0 or -EINVAL (no
 * worker or more than PR_SHM_MAX_WORKERS, slot counts not powers of two,
 * size).
 */
static inline int pr_shm_format_cfg(void *base, size_t size, const struct pr_dp_cfg *cfg,
				    uint32_t workers, uint32_t rx_slots, uint32_t tx_slots)
{
	struct pr_shm_header *sh = (struct pr_shm_header *)base;
	struct pr_dp_cfg *dc = (struct pr_dp_cfg *)((uint8_t *)base + sizeof(*sh));
	size_t off = sizeof(*sh) + PR_SHM_CFG_BYTES;
	uint32_t i;

	if (!workers || workers > PR_SHM_MAX_WORKERS || !pr_ring_is_pow2(rx_slots) ||
	    !pr_ring_is_pow2(tx_slots) || size < pr_shm_size(workers, rx_slots, tx_slots))
		return -EINVAL;
	memset(sh, 0, sizeof(*sh));
	sh->version = PR_SHM_VERSION;
	sh->header_size = sizeof(*sh);
	sh->worker_count = workers;
	sh->ring_count = workers + 2;
	sh->total_size = size;
	sh->slot_size = PR_RING_SLOT_SIZE;
	sh->rx_slot_count = rx_slots;
	sh->tx_slot_count = tx_slots;
	sh->cfg_offset = sizeof(*sh);
	sh->cfg_size = sizeof(*dc);
	if (cfg)
		*dc = *cfg;
	else
		pr_dpcfg_defaults(dc);
	dc->workers = workers;
	for (i = 0; i < sh->ring_count; i++) {
		struct pr_ring_header *rh = (struct pr_ring_header *)((uint8_t *)base + off);

		memset(rh, 0, sizeof(*rh));
		rh->magic = PR_RING_MAGIC;
		rh->version = PR_RING_VERSION;
		rh->slot_size = PR_RING_SLOT_SIZE;
		rh->slot_count = pr_shm_ring_slots(sh, i);
		rh->role = i == workers + 1 ? PR_RING_ROLE_TX : PR_RING_ROLE_RX;
		rh->index = i;
		sh->ring_offset[i] = off;
		off += pr_ring_bytes(rh->slot_count);
	}
	/* The magic goes last, so a reader never sees a half-made header. */
	atomic_thread_fence(memory_order_release);
	sh->magic = PR_SHM_MAGIC;
	return 0;
}

static inline int pr_shm_format(void *base, size_t size, uint32_t workers, uint32_t rx_slots,
				uint32_t tx_slots)
{
	return pr_shm_format_cfg(base, size, NULL, workers, rx_slots, tx_slots);
}

/*
 * Check a mapped region before use. Returns 0 or -EPROTO (wrong magic,
 * version, header size, ring count, or a ring that does not fit in size).
 * Any side.
 */
static inline int pr_shm_check(const void *base, size_t size)
{
	const struct pr_shm_header *sh = (const struct pr_shm_header *)base;
	uint32_t i;

	if (size < sizeof(*sh) || sh->magic != PR_SHM_MAGIC || sh->version != PR_SHM_VERSION ||
	    sh->header_size != sizeof(*sh) || sh->slot_size != PR_RING_SLOT_SIZE ||
	    !sh->worker_count || sh->worker_count > PR_SHM_MAX_WORKERS ||
	    sh->ring_count != sh->worker_count + 2 || sh->total_size > size ||
	    sh->cfg_size != sizeof(struct pr_dp_cfg) || sh->cfg_offset != sizeof(*sh) ||
	    size - sizeof(*sh) < PR_SHM_CFG_BYTES)
		return -EPROTO;
	for (i = 0; i < sh->ring_count; i++) {
		uint32_t slots = pr_shm_ring_slots(sh, i);
		const struct pr_ring_header *rh;

		if (sh->ring_offset[i] > size || size - sh->ring_offset[i] < pr_ring_bytes(slots))
			return -EPROTO;
		/* A ring claiming more slots than the region gave it would run past the end. */
		rh = (const struct pr_ring_header *)((const uint8_t *)base + sh->ring_offset[i]);
		if (rh->slot_count != slots)
			return -EPROTO;
	}
	return 0;
}

/* Ring i in region order (pr_record.h). The region must have passed pr_shm_check(). */
static inline struct pr_ring_header *pr_shm_ring(void *base, uint32_t i)
{
	return (struct pr_ring_header *)((uint8_t *)base +
					 ((struct pr_shm_header *)base)->ring_offset[i]);
}

/* The settings block (check it with pr_dpcfg_check() before use). */
static inline struct pr_dp_cfg *pr_shm_cfg(void *base)
{
	return (struct pr_dp_cfg *)((uint8_t *)base + ((struct pr_shm_header *)base)->cfg_offset);
}

/* Worker i's rx ring (producer: worker i). */
static inline struct pr_ring_header *pr_shm_worker_ring(void *base, uint32_t i)
{
	return pr_shm_ring(base, i);
}

/* The tx core's report ring (producer: the tx core). */
static inline struct pr_ring_header *pr_shm_report_ring(void *base)
{
	return pr_shm_ring(base, ((struct pr_shm_header *)base)->worker_count);
}

/* The tx ring (producer: the control plane's replay scheduler). */
static inline struct pr_ring_header *pr_shm_tx_ring(void *base)
{
	return pr_shm_ring(base, ((struct pr_shm_header *)base)->worker_count + 1);
}

/* Check the four fields the consumer and producer rely on. 0 or -EPROTO. */
static inline int pr_ring_check(const struct pr_ring_header *h, uint32_t role)
{
	if (h->magic != PR_RING_MAGIC || h->version != PR_RING_VERSION ||
	    h->slot_size != PR_RING_SLOT_SIZE || !pr_ring_is_pow2(h->slot_count) || h->role != role)
		return -EPROTO;
	return 0;
}

static inline int pr_ring_prod_init(struct pr_ring_prod *p, struct pr_ring_header *h, uint32_t role)
{
	int err = pr_ring_check(h, role);

	if (err)
		return err;
	memset(p, 0, sizeof(*p));
	p->h = h;
	p->slots = (uint8_t *)(h + 1);
	p->slot_count = h->slot_count;
	p->mask = h->slot_count - 1;
	p->head = atomic_load_explicit(&h->prod, memory_order_relaxed);
	p->cons_cache = atomic_load_explicit(&h->cons, memory_order_acquire);
	return 0;
}

static inline int pr_ring_cons_init(struct pr_ring_cons *c, struct pr_ring_header *h, uint32_t role)
{
	int err = pr_ring_check(h, role);

	if (err)
		return err;
	memset(c, 0, sizeof(*c));
	c->h = h;
	c->slots = (uint8_t *)(h + 1);
	c->slot_count = h->slot_count;
	c->mask = h->slot_count - 1;
	c->tail = atomic_load_explicit(&h->cons, memory_order_relaxed);
	c->prod_cache = atomic_load_explicit(&h->prod, memory_order_acquire);
	return 0;
}

/*
 * Reserve room for a record, leaving at least keep slots free after it
 * (ignored when keep is half the ring or more): a producer keeps the last
 * slots of its ring for records that must get through when the ring is
 * otherwise full (its final counters and END). See pr_ring_prod_reserve().
 */
static inline void *pr_ring_prod_reserve_keep(struct pr_ring_prod *p, uint32_t len, uint32_t keep)
{
	uint32_t need = pr_ring_slots_of(len);
	uint32_t idx = (uint32_t)(p->head & p->mask);
	uint32_t room_to_end = p->slot_count - idx;
	uint32_t total = need <= room_to_end ? need : room_to_end + need;
	uint64_t limit = p->slot_count - (keep < p->slot_count / 2 ? keep : 0);

	if (unlikely(need > p->slot_count / 2))
		return NULL;
	if (p->head + total - p->cons_cache > limit) {
		p->cons_cache = atomic_load_explicit(&p->h->cons, memory_order_acquire);
		if (p->head + total - p->cons_cache > limit)
			return NULL;
	}
	if (need > room_to_end) {
		struct pr_rec_hdr *pad =
			(struct pr_rec_hdr *)(p->slots + (size_t)idx * PR_RING_SLOT_SIZE);

		pad->type = PR_REC_PAD;
		pad->flags = 0;
		pad->len = room_to_end * PR_RING_SLOT_SIZE;
		p->head += room_to_end;
		idx = 0;
	}
	p->reserved = need;
	return p->slots + (size_t)idx * PR_RING_SLOT_SIZE;
}

/*
 * Reserve room for a record of len bytes (header included) and return where
 * to write it, or NULL when the ring has no room now (or never can: len
 * larger than half the ring). The caller fills the record, sets hdr.len =
 * len, then calls pr_ring_prod_commit(). Nothing is visible before publish.
 */
static inline void *pr_ring_prod_reserve(struct pr_ring_prod *p, uint32_t len)
{
	return pr_ring_prod_reserve_keep(p, len, 0);
}

static inline void pr_ring_prod_commit(struct pr_ring_prod *p)
{
	p->head += p->reserved;
	p->reserved = 0;
}

/* Make every committed record visible to the consumer: once per burst. */
static inline void pr_ring_prod_publish(struct pr_ring_prod *p)
{
	atomic_store_explicit(&p->h->prod, p->head, memory_order_release);
}

/* Records committed but not yet read by the consumer, in slots. */
static inline uint64_t pr_ring_prod_backlog(struct pr_ring_prod *p)
{
	return p->head - atomic_load_explicit(&p->h->cons, memory_order_acquire);
}

/*
 * Return the next record, or NULL when the ring is empty or corrupt (then
 * c->error is -EBADMSG and stays so). PAD records are skipped here. The
 * record stays valid until pr_ring_cons_release() after it was advanced.
 */
static inline const struct pr_rec_hdr *pr_ring_cons_peek(struct pr_ring_cons *c)
{
	for (;;) {
		const struct pr_rec_hdr *rec;
		uint32_t idx, slots;

		if (unlikely(c->error))
			return NULL;
		if (c->tail == c->prod_cache) {
			c->prod_cache = atomic_load_explicit(&c->h->prod, memory_order_acquire);
			if (c->tail == c->prod_cache)
				return NULL;
		}
		idx = (uint32_t)(c->tail & c->mask);
		rec = (const struct pr_rec_hdr *)(c->slots + (size_t)idx * PR_RING_SLOT_SIZE);
		slots = pr_ring_slots_of(rec->len);
		/* The producer is another process: never trust a length blindly. */
		if (unlikely(rec->len < sizeof(*rec) || rec->type >= PR_REC_TYPE_MAX ||
			     slots > c->slot_count - idx || slots > c->prod_cache - c->tail)) {
			c->error = -EBADMSG;
			return NULL;
		}
		if (rec->type != PR_REC_PAD)
			return rec;
		c->tail += slots;
	}
}

static inline void pr_ring_cons_advance(struct pr_ring_cons *c, const struct pr_rec_hdr *rec)
{
	c->tail += pr_ring_slots_of(rec->len);
}

/* Hand the slots read so far back to the producer: once per batch. */
static inline void pr_ring_cons_release(struct pr_ring_cons *c)
{
	atomic_store_explicit(&c->h->cons, c->tail, memory_order_release);
}

#endif /* PR_RING_H */
