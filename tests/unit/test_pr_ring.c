// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the shared-memory region and the SPSC record rings
 * (dataplane/include/pr_ring.h, pr_record.h): region layout and checks,
 * the ring header checks, producer/consumer round trips across the wrap
 * (PAD records), a full ring, refused oversize records, corrupt records the
 * consumer must reject without reading past the slot array, a two-thread
 * stress run and a producer and consumer in two processes. Rings used for
 * the corruption tests end exactly at a PROT_NONE page, so a read past the
 * slots faults even without AddressSanitizer. Single test thread, except
 * the stress test (two threads) and the fork test (two processes).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_record.h"
#include "pr_ring.h"

#define SLOT PR_RING_SLOT_SIZE

/* A test record: the sequence number and a checksum of the payload follow the header. */
struct test_rec {
	struct pr_rec_hdr hdr;
	uint64_t seq;
	uint32_t sum;
	uint32_t plen;
	uint8_t payload[];
};

/* A region of pr_shm_size() bytes, zeroed and cache-line aligned. */
struct region {
	void *base;
	size_t size;
};

static void region_make(struct region *r, uint32_t rx_rings, uint32_t rx_slots, uint32_t tx_slots)
{
	r->size = pr_shm_size(rx_rings, rx_slots, tx_slots);
	r->base = aligned_alloc(PR_CACHE_LINE, PR_ALIGN_UP(r->size, (size_t)PR_CACHE_LINE));
	assert_non_null(r->base);
	memset(r->base, 0, r->size);
	assert_int_equal(pr_shm_format(r->base, r->size, rx_rings, rx_slots, tx_slots), 0);
}

static void region_free(struct region *r)
{
	free(r->base);
	r->base = NULL;
}

/*
 * A lone ring whose last slot ends where a PROT_NONE page begins. The
 * header is copied from a formatted region so it is what the control plane
 * would see.
 */
struct guarded_ring {
	uint8_t *map;
	size_t map_len;
	struct pr_ring_header *h;
};

static void guarded_make(struct guarded_ring *g, uint32_t slots)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = pr_ring_bytes(slots);
	size_t body = PR_ALIGN_UP(bytes, page);
	struct region r;

	g->map_len = body + page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + body, page, PROT_NONE), 0);
	g->h = (struct pr_ring_header *)(g->map + body - bytes);
	region_make(&r, 1, slots, slots);
	memcpy(g->h, pr_shm_ring(r.base, 0), sizeof(*g->h));
	region_free(&r);
	assert_int_equal(pr_ring_check(g->h, PR_RING_ROLE_RX), 0);
}

static void guarded_free(struct guarded_ring *g)
{
	munmap(g->map, g->map_len);
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t payload_sum(uint64_t seq, const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u ^ (uint32_t)seq ^ (uint32_t)(seq >> 32);

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void rec_fill(struct test_rec *r, uint64_t seq, uint32_t len)
{
	r->hdr.type = PR_REC_PACKET;
	r->hdr.flags = (uint16_t)seq;
	r->hdr.len = len;
	r->seq = seq;
	r->plen = len - (uint32_t)sizeof(*r);
	for (uint32_t i = 0; i < r->plen; i++)
		r->payload[i] = (uint8_t)(seq * 131u + i * 7u);
	r->sum = payload_sum(seq, r->payload, r->plen);
}

/* 0 when rec is the record rec_fill(seq, len) wrote, else which check failed. */
static int rec_verify(const struct pr_rec_hdr *h, uint64_t seq, uint32_t len)
{
	const struct test_rec *r = (const struct test_rec *)h;

	if (h->type != PR_REC_PACKET || h->len != len || h->flags != (uint16_t)seq)
		return 1;
	if (r->seq != seq)
		return 2;
	if (r->plen != len - sizeof(*r) || r->sum != payload_sum(seq, r->payload, r->plen))
		return 3;
	for (uint32_t i = 0; i < r->plen; i++)
		if (r->payload[i] != (uint8_t)(seq * 131u + i * 7u))
			return 4;
	return 0;
}

static uint32_t slot_index(const struct pr_ring_header *h, const void *p)
{
	return (uint32_t)(((const uint8_t *)p - (const uint8_t *)(h + 1)) / SLOT);
}

/* Reserve, fill, commit; returns the record's first slot index. */
static uint32_t produce(struct pr_ring_prod *p, uint64_t seq, uint32_t len)
{
	struct test_rec *r = pr_ring_prod_reserve(p, len);

	assert_non_null(r);
	rec_fill(r, seq, len);
	pr_ring_prod_commit(p);
	return slot_index(p->h, r);
}

static void consume_one(struct pr_ring_cons *c, uint64_t seq, uint32_t len)
{
	const struct pr_rec_hdr *h = pr_ring_cons_peek(c);

	assert_non_null(h);
	assert_int_equal(rec_verify(h, seq, len), 0);
	pr_ring_cons_advance(c, h);
}

/* ---------------------------------------------------------------- region */

static void test_shm_format_layout(void **state)
{
	struct region r;
	struct pr_shm_header *sh;
	size_t off;

	(void)state;
	region_make(&r, 3, 128, 32);
	sh = r.base;
	assert_int_equal(sh->magic, PR_SHM_MAGIC);
	assert_int_equal(sh->version, PR_SHM_VERSION);
	assert_int_equal(sh->header_size, sizeof(*sh));
	assert_int_equal(sh->worker_count, 3);
	assert_int_equal(sh->ring_count, 5);
	assert_int_equal(sh->total_size, r.size);
	assert_int_equal(sh->slot_size, SLOT);
	assert_int_equal(sh->rx_slot_count, 128);
	assert_int_equal(sh->tx_slot_count, 32);
	assert_int_equal(r.size, sizeof(*sh) + PR_SHM_CFG_BYTES +
					 3 * (sizeof(struct pr_ring_header) + 128 * SLOT) +
					 sizeof(struct pr_ring_header) +
					 PR_SHM_REPORT_SLOTS * SLOT +
					 sizeof(struct pr_ring_header) + 32 * SLOT);
	/* The settings block right after the header: the defaults, with the worker count. */
	assert_int_equal(sh->cfg_offset, sizeof(*sh));
	assert_int_equal(sh->cfg_size, sizeof(struct pr_dp_cfg));
	assert_int_equal(pr_shm_cfg(r.base)->version, PR_DPCFG_VERSION);
	assert_int_equal(pr_shm_cfg(r.base)->workers, 3);
	/* Workers 0..2, then the tx core's report ring, then the tx ring. */
	assert_ptr_equal(pr_shm_worker_ring(r.base, 2), pr_shm_ring(r.base, 2));
	assert_ptr_equal(pr_shm_report_ring(r.base), pr_shm_ring(r.base, 3));
	assert_ptr_equal(pr_shm_tx_ring(r.base), pr_shm_ring(r.base, 4));
	off = sizeof(*sh) + PR_SHM_CFG_BYTES;
	for (uint32_t i = 0; i < 5; i++) {
		struct pr_ring_header *h = pr_shm_ring(r.base, i);
		uint32_t role = i == 4 ? PR_RING_ROLE_TX : PR_RING_ROLE_RX;

		assert_int_equal(sh->ring_offset[i], off);
		assert_ptr_equal(h, (uint8_t *)r.base + off);
		assert_int_equal((uintptr_t)h % PR_CACHE_LINE, 0);
		assert_int_equal(h->magic, PR_RING_MAGIC);
		assert_int_equal(h->version, PR_RING_VERSION);
		assert_int_equal(h->slot_size, SLOT);
		assert_int_equal(h->slot_count, i == 4 ? 32 : i == 3 ? PR_SHM_REPORT_SLOTS : 128);
		assert_int_equal(h->role, role);
		assert_int_equal(h->index, i);
		assert_int_equal(atomic_load(&h->prod), 0);
		assert_int_equal(atomic_load(&h->cons), 0);
		assert_int_equal(pr_ring_check(h, role), 0);
		off += pr_ring_bytes(h->slot_count);
	}
	assert_int_equal(off, r.size);
	assert_int_equal(pr_shm_check(r.base, r.size), 0);
	/* A mapping larger than the region is fine; a smaller one is not. */
	assert_int_equal(pr_shm_check(r.base, r.size + 4096), 0);
	assert_int_equal(pr_shm_check(r.base, r.size - 1), -EPROTO);
	assert_int_equal(pr_shm_check(r.base, sizeof(*sh) - 1), -EPROTO);
	region_free(&r);
}

static void test_shm_format_invalid(void **state)
{
	size_t size = pr_shm_size(PR_SHM_MAX_WORKERS + 1, 64, 64);
	void *base = aligned_alloc(PR_CACHE_LINE, PR_ALIGN_UP(size, (size_t)PR_CACHE_LINE));
	struct pr_shm_header *sh = base;

	(void)state;
	assert_non_null(base);
	memset(base, 0, size);
	assert_int_equal(pr_shm_format(base, size, 0, 64, 64), -EINVAL);
	assert_int_equal(pr_shm_format(base, size, PR_SHM_MAX_WORKERS + 1, 64, 64), -EINVAL);
	assert_int_equal(pr_shm_format(base, size, 1, 0, 64), -EINVAL);
	assert_int_equal(pr_shm_format(base, size, 1, 48, 64), -EINVAL);
	assert_int_equal(pr_shm_format(base, size, 1, 64, 0), -EINVAL);
	assert_int_equal(pr_shm_format(base, size, 1, 64, 100), -EINVAL);
	assert_int_equal(pr_shm_format(base, pr_shm_size(2, 64, 64) - 1, 2, 64, 64), -EINVAL);
	/* None of the refusals wrote anything. */
	assert_int_equal(sh->magic, 0);
	/* The most workers there can be: 64 worker rings + the report and tx rings. */
	size = pr_shm_size(PR_SHM_MAX_WORKERS, 64, 64);
	assert_int_equal(pr_shm_format(base, size, PR_SHM_MAX_WORKERS, 64, 64), 0);
	assert_int_equal(sh->ring_count, PR_SHM_MAX_RINGS);
	assert_int_equal(sh->worker_count, PR_SHM_MAX_WORKERS);
	assert_int_equal(sh->total_size, size);
	assert_int_equal(pr_shm_check(base, size), 0);
	assert_int_equal(pr_shm_check(base, pr_shm_size(PR_SHM_MAX_WORKERS - 1, 64, 64)), -EPROTO);
	free(base);
}

static void test_shm_check_rejects(void **state)
{
	struct region r;
	struct pr_shm_header *sh, saved;

	(void)state;
	region_make(&r, 2, 64, 16);
	sh = r.base;
	saved = *sh;

#define EXPECT_REJECT(stmt)                                              \
	do {                                                             \
		stmt;                                                    \
		assert_int_equal(pr_shm_check(r.base, r.size), -EPROTO); \
		memcpy(sh, &saved, sizeof(saved));                       \
		assert_int_equal(pr_shm_check(r.base, r.size), 0);       \
	} while (0)

	EXPECT_REJECT(sh->magic = PR_RING_MAGIC);
	EXPECT_REJECT(sh->magic ^= 1);
	EXPECT_REJECT(sh->version = PR_SHM_VERSION + 1);
	EXPECT_REJECT(sh->version = 0);
	EXPECT_REJECT(sh->header_size = sizeof(*sh) - 8);
	EXPECT_REJECT(sh->header_size = sizeof(*sh) + 64);
	EXPECT_REJECT(sh->slot_size = SLOT * 2);
	EXPECT_REJECT(sh->slot_size = 0);
	EXPECT_REJECT(sh->ring_count = 1);
	EXPECT_REJECT(sh->ring_count = 3);
	EXPECT_REJECT(sh->ring_count = PR_SHM_MAX_RINGS + 1);
	EXPECT_REJECT(sh->cfg_size = sizeof(struct pr_dp_cfg) - 8);
	EXPECT_REJECT(sh->cfg_offset = 0);
	EXPECT_REJECT(sh->worker_count = 0);
	EXPECT_REJECT(sh->worker_count = 3);
	EXPECT_REJECT(sh->worker_count = PR_SHM_MAX_WORKERS + 1);
	EXPECT_REJECT(sh->total_size = r.size + 1);
	EXPECT_REJECT(sh->ring_offset[0] = r.size + 1);
	EXPECT_REJECT(sh->ring_offset[2] = r.size - 1);
	EXPECT_REJECT(sh->ring_offset[2] = ~0ull);
	/* The last ring would run past the region if it had more slots. */
	EXPECT_REJECT(sh->tx_slot_count = 32);
	EXPECT_REJECT(sh->rx_slot_count = 1u << 30);
#undef EXPECT_REJECT
	region_free(&r);
}

static void test_ring_check_fields(void **state)
{
	struct region r;
	struct pr_ring_header *h, saved;
	struct pr_ring_prod p;
	struct pr_ring_cons c;

	(void)state;
	region_make(&r, 1, 64, 16);
	h = pr_shm_ring(r.base, 0);
	memcpy(&saved, h, sizeof(saved));
	assert_int_equal(pr_ring_check(h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_check(pr_shm_tx_ring(r.base), PR_RING_ROLE_TX), 0);

#define EXPECT_REJECT(stmt)                                                           \
	do {                                                                          \
		stmt;                                                                 \
		assert_int_equal(pr_ring_check(h, PR_RING_ROLE_RX), -EPROTO);         \
		assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), -EPROTO); \
		assert_int_equal(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX), -EPROTO); \
		memcpy(h, &saved, sizeof(saved));                                     \
		assert_int_equal(pr_ring_check(h, PR_RING_ROLE_RX), 0);               \
	} while (0)

	EXPECT_REJECT(h->magic = PR_SHM_MAGIC);
	EXPECT_REJECT(h->magic = 0);
	EXPECT_REJECT(h->version = PR_RING_VERSION + 1);
	EXPECT_REJECT(h->slot_size = SLOT / 2);
	EXPECT_REJECT(h->slot_size = SLOT + 1);
	EXPECT_REJECT(h->slot_count = 0);
	EXPECT_REJECT(h->slot_count = 63);
	EXPECT_REJECT(h->slot_count = 96);
	EXPECT_REJECT(h->role = PR_RING_ROLE_TX);
	EXPECT_REJECT(h->role = 0);
#undef EXPECT_REJECT
	/* The wrong end of the right ring. */
	assert_int_equal(pr_ring_cons_init(&c, pr_shm_tx_ring(r.base), PR_RING_ROLE_RX), -EPROTO);
	assert_int_equal(pr_ring_prod_init(&p, pr_shm_ring(r.base, 0), PR_RING_ROLE_TX), -EPROTO);

	assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), 0);
	assert_ptr_equal(p.h, h);
	assert_ptr_equal(p.slots, (uint8_t *)h + sizeof(*h));
	assert_int_equal(p.slot_count, 64);
	assert_int_equal(p.mask, 63);
	assert_int_equal(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX), 0);
	assert_ptr_equal(c.slots, p.slots);
	assert_int_equal(c.error, 0);
	region_free(&r);
}

/* ----------------------------------------------------------- round trips */

static void test_slots_of(void **state)
{
	(void)state;
	assert_int_equal(pr_ring_slots_of(0), 0);
	assert_int_equal(pr_ring_slots_of(1), 1);
	assert_int_equal(pr_ring_slots_of(SLOT), 1);
	assert_int_equal(pr_ring_slots_of(SLOT + 1), 2);
	assert_int_equal(pr_ring_slots_of(sizeof(struct pr_rec_packet) + PR_MAX_SNAPLEN),
			 (sizeof(struct pr_rec_packet) + PR_MAX_SNAPLEN + SLOT - 1) / SLOT);
	assert_int_equal(pr_ring_bytes(16), sizeof(struct pr_ring_header) + 16 * SLOT);
	assert_true(pr_ring_is_pow2(1));
	assert_true(pr_ring_is_pow2(1u << 31));
	assert_false(pr_ring_is_pow2(0));
	assert_false(pr_ring_is_pow2(12));
}

/*
 * Every length from the smallest record to half the ring, one at a time
 * and in batches, over many laps so records start at every slot.
 */
static void test_roundtrip_sizes(void **state)
{
	struct region r;
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	struct pr_ring_header *h;
	uint32_t max_len = 32 * SLOT;
	uint64_t seq = 0, done = 0, slots_used = 0;

	(void)state;
	region_make(&r, 1, 64, 16);
	h = pr_shm_ring(r.base, 0);
	assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX), 0);

	/* One at a time. */
	for (uint32_t len = sizeof(struct test_rec); len <= max_len; len++) {
		produce(&p, seq, len);
		/* Invisible to the consumer until published. */
		assert_null(pr_ring_cons_peek(&c));
		pr_ring_prod_publish(&p);
		consume_one(&c, seq, len);
		assert_null(pr_ring_cons_peek(&c));
		pr_ring_cons_release(&c);
		assert_int_equal(pr_ring_prod_backlog(&p), 0);
		seq++;
	}
	/* In batches: fill while there is room, then drain. */
	for (uint32_t round = 0; round < 4000; round++) {
		uint64_t first = seq;

		for (;;) {
			uint32_t len = sizeof(struct test_rec) +
				       (uint32_t)(splitmix(seq) % (max_len - 23));
			struct test_rec *rec = pr_ring_prod_reserve(&p, len);

			if (!rec)
				break;
			rec_fill(rec, seq++, len);
			pr_ring_prod_commit(&p);
			slots_used += pr_ring_slots_of(len);
		}
		assert_true(seq > first);
		pr_ring_prod_publish(&p);
		for (uint64_t s = first; s < seq; s++)
			consume_one(&c, s,
				    sizeof(struct test_rec) +
					    (uint32_t)(splitmix(s) % (max_len - 23)));
		assert_null(pr_ring_cons_peek(&c));
		pr_ring_cons_release(&c);
		done += seq - first;
	}
	assert_int_equal(c.error, 0);
	assert_int_equal(atomic_load(&h->cons), atomic_load(&h->prod));
	/* The indices never wrap; PAD records account for the rest. */
	assert_true(atomic_load(&h->prod) >= slots_used);
	assert_true(done > 4000);
	region_free(&r);
}

/* The exact PAD placement at the wrap, and a record that ends at the last slot. */
static void test_pad_at_wrap(void **state)
{
	struct region r;
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	struct pr_ring_header *h;
	const struct pr_rec_hdr *pad;
	uint8_t *slots;

	(void)state;
	region_make(&r, 1, 16, 16);
	h = pr_shm_ring(r.base, 0);
	slots = (uint8_t *)(h + 1);
	assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX), 0);

	assert_int_equal(produce(&p, 0, 3 * SLOT), 0);
	assert_int_equal(produce(&p, 1, 8 * SLOT - 5), 3);
	pr_ring_prod_publish(&p);
	consume_one(&c, 0, 3 * SLOT);
	consume_one(&c, 1, 8 * SLOT - 5);
	pr_ring_cons_release(&c);
	assert_int_equal(atomic_load(&h->prod), 11);

	/* 5 slots left before the end, 7 needed: a 5-slot PAD, then slot 0. */
	assert_int_equal(produce(&p, 2, 7 * SLOT), 0);
	pad = (const struct pr_rec_hdr *)(slots + 11 * SLOT);
	assert_int_equal(pad->type, PR_REC_PAD);
	assert_int_equal(pad->len, 5 * SLOT);
	assert_int_equal(p.head, 23);
	pr_ring_prod_publish(&p);
	assert_int_equal(pr_ring_prod_backlog(&p), 12);
	/* The consumer skips the PAD. */
	consume_one(&c, 2, 7 * SLOT);
	assert_int_equal(c.tail, 23);
	pr_ring_cons_release(&c);

	/* 9 slots to the end (7..15), a record of 8 then 1 fits exactly: no PAD. */
	assert_int_equal(produce(&p, 3, 8 * SLOT), 7);
	assert_int_equal(produce(&p, 4, SLOT), 15);
	assert_int_equal(produce(&p, 5, sizeof(struct test_rec)), 0);
	assert_int_equal(p.head, 33);
	pr_ring_prod_publish(&p);
	consume_one(&c, 3, 8 * SLOT);
	consume_one(&c, 4, SLOT);
	consume_one(&c, 5, sizeof(struct test_rec));
	assert_null(pr_ring_cons_peek(&c));
	assert_int_equal(c.error, 0);
	region_free(&r);
}

static void test_full_then_release(void **state)
{
	struct region r;
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	struct pr_ring_header *h;
	uint64_t seq;

	(void)state;
	region_make(&r, 1, 16, 16);
	h = pr_shm_ring(r.base, 0);
	assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX), 0);

	for (seq = 0; seq < 8; seq++)
		produce(&p, seq, 2 * SLOT);
	assert_null(pr_ring_prod_reserve(&p, 1));
	assert_int_equal(p.head, 16);
	pr_ring_prod_publish(&p);
	assert_int_equal(pr_ring_prod_backlog(&p), 16);

	/* Read but not released: the producer still has no room. */
	consume_one(&c, 0, 2 * SLOT);
	assert_null(pr_ring_prod_reserve(&p, 1));
	pr_ring_cons_release(&c);
	assert_int_equal(pr_ring_prod_backlog(&p), 14);
	/* Two slots are free now, not three. */
	assert_null(pr_ring_prod_reserve(&p, 2 * SLOT + 1));
	produce(&p, 8, 2 * SLOT);
	assert_null(pr_ring_prod_reserve(&p, 1));
	pr_ring_prod_publish(&p);

	for (seq = 1; seq < 9; seq++)
		consume_one(&c, seq, 2 * SLOT);
	assert_null(pr_ring_cons_peek(&c));
	pr_ring_cons_release(&c);
	assert_int_equal(pr_ring_prod_backlog(&p), 0);

	/*
	 * Head at 18 (slot 2). Fill slots 2..15, free the first record only,
	 * then a record that starts the next lap at slot 0.
	 */
	produce(&p, 9, 6 * SLOT); /* slots 2..7 */
	produce(&p, 10, 8 * SLOT); /* slots 8..15 */
	pr_ring_prod_publish(&p);
	consume_one(&c, 9, 6 * SLOT);
	pr_ring_cons_release(&c);
	assert_int_equal(produce(&p, 11, 6 * SLOT), 0);
	/* 2 slots free (6, 7): 3 do not fit. */
	assert_null(pr_ring_prod_reserve(&p, 3 * SLOT));
	pr_ring_prod_publish(&p);
	consume_one(&c, 10, 8 * SLOT);
	consume_one(&c, 11, 6 * SLOT);
	pr_ring_cons_release(&c);
	/* Head at slot 6: 10 to the end; 8 wanted and fits without PAD. */
	assert_int_equal(produce(&p, 12, 8 * SLOT), 6);
	pr_ring_prod_publish(&p);
	/* Slot 14: 2 to the end, 8 free in all; a 7-slot record needs 2 + 7 = 9: refused. */
	assert_int_equal(p.head & p.mask, 14);
	assert_null(pr_ring_prod_reserve(&p, 7 * SLOT));
	/* The refusal wrote no PAD and moved nothing. */
	assert_int_equal(p.head & p.mask, 14);
	consume_one(&c, 12, 8 * SLOT);
	assert_null(pr_ring_cons_peek(&c));
	pr_ring_cons_release(&c);
	assert_int_equal(produce(&p, 13, 7 * SLOT), 0);
	pr_ring_prod_publish(&p);
	consume_one(&c, 13, 7 * SLOT);
	assert_int_equal(c.error, 0);
	region_free(&r);
}

static void test_oversize_refused(void **state)
{
	struct region r;
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	struct pr_ring_header *h;

	(void)state;
	region_make(&r, 1, 64, 16);
	h = pr_shm_ring(r.base, 0);
	assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX), 0);
	/* Half the ring is the limit, even when the ring is empty. */
	assert_null(pr_ring_prod_reserve(&p, 32 * SLOT + 1));
	assert_null(pr_ring_prod_reserve(&p, 64 * SLOT));
	assert_null(pr_ring_prod_reserve(&p, UINT32_MAX / 2));
	assert_int_equal(p.head, 0);
	produce(&p, 0, 32 * SLOT);
	pr_ring_prod_publish(&p);
	consume_one(&c, 0, 32 * SLOT);
	/* One slot ring: nothing ever fits. */
	region_free(&r);
	region_make(&r, 1, 1, 1);
	h = pr_shm_ring(r.base, 0);
	assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), 0);
	assert_null(pr_ring_prod_reserve(&p, sizeof(struct pr_rec_hdr)));
	region_free(&r);
}

/* A consumer attaching to a ring in use starts at cons, and a new producer at prod. */
static void test_attach_midstream(void **state)
{
	struct region r;
	struct pr_ring_prod p, p2;
	struct pr_ring_cons c, c2;
	struct pr_ring_header *h;

	(void)state;
	region_make(&r, 1, 64, 16);
	h = pr_shm_ring(r.base, 0);
	assert_int_equal(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX), 0);
	for (uint64_t s = 0; s < 5; s++)
		produce(&p, s, 100);
	pr_ring_prod_publish(&p);
	consume_one(&c, 0, 100);
	consume_one(&c, 1, 100);
	pr_ring_cons_release(&c);

	assert_int_equal(pr_ring_cons_init(&c2, h, PR_RING_ROLE_RX), 0);
	assert_int_equal(c2.tail, 4);
	consume_one(&c2, 2, 100);
	assert_int_equal(pr_ring_prod_init(&p2, h, PR_RING_ROLE_RX), 0);
	assert_int_equal(p2.head, 10);
	produce(&p2, 5, 100);
	pr_ring_prod_publish(&p2);
	consume_one(&c2, 3, 100);
	consume_one(&c2, 4, 100);
	consume_one(&c2, 5, 100);
	assert_null(pr_ring_cons_peek(&c2));
	region_free(&r);
}

/* ------------------------------------------------------------ corruption */

/* Write a raw header at slot idx of the guarded ring and publish prod. */
static void corrupt_setup(struct guarded_ring *g, struct pr_ring_cons *c, uint64_t tail,
			  uint64_t prod, uint32_t idx, uint16_t type, uint32_t len)
{
	struct pr_rec_hdr *rec;

	guarded_make(g, 16);
	rec = (struct pr_rec_hdr *)((uint8_t *)(g->h + 1) + (size_t)idx * SLOT);
	rec->type = type;
	rec->len = len;
	atomic_store(&g->h->cons, tail);
	atomic_store(&g->h->prod, prod);
	assert_int_equal(pr_ring_cons_init(c, g->h, PR_RING_ROLE_RX), 0);
}

static void expect_bad(struct guarded_ring *g, struct pr_ring_cons *c)
{
	uint64_t tail = c->tail;

	assert_null(pr_ring_cons_peek(c));
	assert_int_equal(c->error, -EBADMSG);
	assert_int_equal(c->tail, tail);
	/* Sticky: a second peek neither reads on nor clears the error. */
	assert_null(pr_ring_cons_peek(c));
	assert_int_equal(c->error, -EBADMSG);
	guarded_free(g);
}

static void test_corrupt_records(void **state)
{
	struct guarded_ring g;
	struct pr_ring_cons c;

	(void)state;
	/* len 0, and shorter than the header. */
	corrupt_setup(&g, &c, 0, 4, 0, PR_REC_PACKET, 0);
	expect_bad(&g, &c);
	corrupt_setup(&g, &c, 0, 4, 0, PR_REC_PACKET, sizeof(struct pr_rec_hdr) - 1);
	expect_bad(&g, &c);
	/* A PAD with len 0 would make the consumer spin in place. */
	corrupt_setup(&g, &c, 0, 4, 0, PR_REC_PAD, 0);
	expect_bad(&g, &c);
	/* Longer than what was published. */
	corrupt_setup(&g, &c, 0, 2, 0, PR_REC_PACKET, 2 * SLOT + 1);
	expect_bad(&g, &c);
	corrupt_setup(&g, &c, 100, 101, 100 & 15, PR_REC_PACKET, 2 * SLOT);
	expect_bad(&g, &c);
	/* Past the end of the slot array (prod claims plenty). */
	corrupt_setup(&g, &c, 14, 30, 14, PR_REC_PACKET, 3 * SLOT);
	expect_bad(&g, &c);
	corrupt_setup(&g, &c, 15, 31, 15, PR_REC_PAD, 2 * SLOT);
	expect_bad(&g, &c);
	/* Longer than the whole ring. */
	corrupt_setup(&g, &c, 0, 16, 0, PR_REC_PACKET, 17 * SLOT);
	expect_bad(&g, &c);
	corrupt_setup(&g, &c, 0, 16, 0, PR_REC_PACKET, 0x7fffffffu);
	expect_bad(&g, &c);
	/* Unknown types. */
	corrupt_setup(&g, &c, 0, 4, 0, PR_REC_TYPE_MAX, SLOT);
	expect_bad(&g, &c);
	corrupt_setup(&g, &c, 0, 4, 0, 0xffff, SLOT);
	expect_bad(&g, &c);
}

/*
 * One length near 2^32, checked in a child process: should the slot count
 * wrap to 0, a PAD record would make peek() spin forever, and the alarm
 * turns that into a failure instead of a hung test. Exit status: 0, or
 * which check failed.
 */
static int len_near_4g_child(uint16_t type, uint32_t len)
{
	struct guarded_ring g;
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	struct pr_rec_hdr *rec;

	alarm(5);
	if (pr_ring_slots_of(len) < len / SLOT)
		return 1;
	guarded_make(&g, 16);
	rec = (struct pr_rec_hdr *)(g.h + 1);
	rec->type = type;
	rec->len = len;
	atomic_store(&g.h->prod, 16);
	if (pr_ring_cons_init(&c, g.h, PR_RING_ROLE_RX))
		return 2;
	if (pr_ring_cons_peek(&c) || c.error != -EBADMSG || c.tail != 0)
		return 3;
	atomic_store(&g.h->prod, 0);
	if (pr_ring_prod_init(&p, g.h, PR_RING_ROLE_RX))
		return 4;
	if (pr_ring_prod_reserve(&p, len) || p.head != 0)
		return 5;
	guarded_free(&g);
	return 0;
}

/*
 * A length near 2^32: a slot count computed in 32 bits would wrap to 0,
 * pass every bound and hand out a 4 GiB record that advance never moves
 * past (or, for a PAD, loop in peek). The consumer must treat it as
 * corrupt like any other length that does not fit, and the producer must
 * refuse to reserve it.
 */
static void test_len_near_4g(void **state)
{
	static const uint32_t lens[] = { UINT32_MAX, 0xffffffc1u, 0xffffffc0u, 0xffffff80u };
	static const uint16_t types[] = { PR_REC_PACKET, PR_REC_PAD };

	(void)state;
	for (size_t t = 0; t < PR_ARRAY_SIZE(types); t++) {
		for (size_t i = 0; i < PR_ARRAY_SIZE(lens); i++) {
			pid_t pid;
			int st;

			fflush(NULL);
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0)
				_exit(len_near_4g_child(types[t], lens[i]));
			assert_int_equal(waitpid(pid, &st, 0), pid);
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				fail_msg("type %u len 0x%x: %s %d", types[t], lens[i],
					 WIFEXITED(st) ? "failed check" : "killed by signal",
					 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
	}
}

/* A corrupt record after good ones: the good ones are delivered first. */
static void test_corrupt_after_good(void **state)
{
	struct guarded_ring g;
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	struct pr_rec_hdr *bad;

	(void)state;
	guarded_make(&g, 16);
	assert_int_equal(pr_ring_prod_init(&p, g.h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_cons_init(&c, g.h, PR_RING_ROLE_RX), 0);
	produce(&p, 0, 100);
	produce(&p, 1, 3 * SLOT);
	bad = pr_ring_prod_reserve(&p, SLOT);
	assert_non_null(bad);
	bad->type = 42;
	bad->len = SLOT;
	pr_ring_prod_commit(&p);
	produce(&p, 3, 100);
	pr_ring_prod_publish(&p);
	consume_one(&c, 0, 100);
	consume_one(&c, 1, 3 * SLOT);
	assert_null(pr_ring_cons_peek(&c));
	assert_int_equal(c.error, -EBADMSG);
	assert_int_equal(c.tail, 5);
	guarded_free(&g);
}

/* ---------------------------------------------------------------- stress */

#define STRESS_RECORDS 1000000u
#define STRESS_SLOTS 1024u
#define STRESS_BATCH 32u

/* Mostly small records, now and then one large enough to force frequent PADs. */
static uint32_t stress_len(uint64_t seq)
{
	uint64_t x = splitmix(seq);

	if ((x & 255) == 0)
		return sizeof(struct test_rec) +
		       (uint32_t)((x >> 8) % (STRESS_SLOTS / 2 * SLOT - sizeof(struct test_rec)));
	return sizeof(struct test_rec) + (uint32_t)((x >> 8) % 200);
}

struct stress {
	struct pr_ring_header *h;
	uint64_t produced;
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	struct pr_ring_prod p;
	uint32_t unpublished = 0;

	if (pr_ring_prod_init(&p, s->h, PR_RING_ROLE_RX))
		return NULL;
	for (uint64_t seq = 0; seq < STRESS_RECORDS; seq++) {
		uint32_t len = stress_len(seq);
		struct test_rec *r;
		unsigned spins = 0;

		while (!(r = pr_ring_prod_reserve(&p, len))) {
			/* Full: let the consumer see what we have before waiting on it. */
			pr_ring_prod_publish(&p);
			unpublished = 0;
			if (++spins > 64)
				sched_yield();
		}
		rec_fill(r, seq, len);
		pr_ring_prod_commit(&p);
		if (++unpublished == STRESS_BATCH) {
			pr_ring_prod_publish(&p);
			unpublished = 0;
		}
		s->produced = seq + 1;
	}
	pr_ring_prod_publish(&p);
	return NULL;
}

static void test_stress_two_threads(void **state)
{
	struct region r;
	struct stress s = { 0 };
	struct pr_ring_cons c;
	pthread_t tid;
	uint64_t seq = 0, bad_seq = UINT64_MAX;
	unsigned since_release = 0, idle = 0;
	int bad = 0;

	(void)state;
	region_make(&r, 1, STRESS_SLOTS, 16);
	s.h = pr_shm_ring(r.base, 0);
	assert_int_equal(pr_ring_cons_init(&c, s.h, PR_RING_ROLE_RX), 0);
	assert_int_equal(pthread_create(&tid, NULL, stress_producer, &s), 0);
	while (seq < STRESS_RECORDS) {
		const struct pr_rec_hdr *h = pr_ring_cons_peek(&c);

		if (!h) {
			if (c.error)
				break;
			pr_ring_cons_release(&c);
			since_release = 0;
			if (++idle > 64)
				sched_yield();
			continue;
		}
		idle = 0;
		if (!bad && (bad = rec_verify(h, seq, stress_len(seq))))
			bad_seq = seq;
		pr_ring_cons_advance(&c, h);
		seq++;
		if (++since_release == 64) {
			pr_ring_cons_release(&c);
			since_release = 0;
		}
	}
	pr_ring_cons_release(&c);
	assert_int_equal(pthread_join(tid, NULL), 0);
	if (bad)
		fail_msg("record %llu failed check %d", (unsigned long long)bad_seq, bad);
	assert_int_equal(c.error, 0);
	assert_int_equal(seq, STRESS_RECORDS);
	assert_int_equal(s.produced, STRESS_RECORDS);
	assert_null(pr_ring_cons_peek(&c));
	assert_int_equal(atomic_load(&s.h->prod), atomic_load(&s.h->cons));
	region_free(&r);
}

/* ----------------------------------------------------------- two processes */

#define FORK_RECORDS 100000u
#define FORK_TX_RECORDS 20000u
#define FORK_TIMEOUT_NS (20ull * 1000000000ull)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t fork_len(uint64_t seq)
{
	return sizeof(struct test_rec) + (uint32_t)(splitmix(seq ^ 0x5a5a) % (8 * SLOT));
}

/*
 * The child: the dataplane's side. Produces on rx ring 0, then consumes
 * the tx ring up to a TX_END record. Exit status: 0 or which step failed.
 * No cmocka calls here: its longjmp must not run in the child.
 */
static int fork_child(void *base, size_t size)
{
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	const struct pr_rec_hdr *h;
	uint64_t deadline = now_ns() + FORK_TIMEOUT_NS, seq = 0;

	if (pr_shm_check(base, size))
		return 10;
	if (pr_ring_prod_init(&p, pr_shm_ring(base, 0), PR_RING_ROLE_RX) ||
	    pr_ring_cons_init(&c, pr_shm_tx_ring(base), PR_RING_ROLE_TX))
		return 11;
	for (seq = 0; seq < FORK_RECORDS; seq++) {
		uint32_t len = fork_len(seq);
		struct test_rec *r;

		while (!(r = pr_ring_prod_reserve(&p, len))) {
			pr_ring_prod_publish(&p);
			if (now_ns() > deadline)
				return 12;
			sched_yield();
		}
		rec_fill(r, seq, len);
		pr_ring_prod_commit(&p);
		if ((seq & 15) == 15)
			pr_ring_prod_publish(&p);
	}
	pr_ring_prod_publish(&p);
	seq = 0;
	for (;;) {
		h = pr_ring_cons_peek(&c);
		if (!h) {
			if (c.error)
				return 13;
			pr_ring_cons_release(&c);
			if (now_ns() > deadline)
				return 14;
			sched_yield();
			continue;
		}
		if (h->type == PR_REC_TX_END)
			break;
		if (rec_verify(h, seq, fork_len(seq)))
			return 15;
		seq++;
		pr_ring_cons_advance(&c, h);
	}
	pr_ring_cons_advance(&c, h);
	pr_ring_cons_release(&c);
	return seq == FORK_TX_RECORDS ? 0 : 16;
}

static void test_two_processes(void **state)
{
	size_t size = pr_shm_size(1, 512, 256);
	void *base;
	struct pr_ring_cons c;
	struct pr_ring_prod p;
	struct pr_rec_hdr *end;
	uint64_t seq = 0, deadline;
	pid_t pid;
	int status, bad = 0;

	(void)state;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	assert_int_equal(pr_shm_format(base, size, 1, 512, 256), 0);
	assert_int_equal(pr_ring_cons_init(&c, pr_shm_ring(base, 0), PR_RING_ROLE_RX), 0);
	assert_int_equal(pr_ring_prod_init(&p, pr_shm_tx_ring(base), PR_RING_ROLE_TX), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fork_child(base, size));

	deadline = now_ns() + FORK_TIMEOUT_NS;
	while (seq < FORK_RECORDS && now_ns() < deadline) {
		const struct pr_rec_hdr *h = pr_ring_cons_peek(&c);

		if (!h) {
			if (c.error)
				break;
			pr_ring_cons_release(&c);
			sched_yield();
			continue;
		}
		if (!bad && rec_verify(h, seq, fork_len(seq)))
			bad = 1;
		pr_ring_cons_advance(&c, h);
		seq++;
	}
	pr_ring_cons_release(&c);
	/* The other direction: the control plane produces on the tx ring. */
	for (uint64_t s = 0; s < FORK_TX_RECORDS && now_ns() < deadline; s++) {
		uint32_t len = fork_len(s);
		struct test_rec *r;

		while (!(r = pr_ring_prod_reserve(&p, len)) && now_ns() < deadline) {
			pr_ring_prod_publish(&p);
			sched_yield();
		}
		if (!r)
			break;
		rec_fill(r, s, len);
		pr_ring_prod_commit(&p);
		pr_ring_prod_publish(&p);
	}
	while (!(end = pr_ring_prod_reserve(&p, sizeof(*end))) && now_ns() < deadline)
		sched_yield();
	if (end) {
		end->type = PR_REC_TX_END;
		end->flags = 0;
		end->len = sizeof(*end);
		pr_ring_prod_commit(&p);
		pr_ring_prod_publish(&p);
	}
	if (now_ns() >= deadline)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(c.error, 0);
	assert_int_equal(seq, FORK_RECORDS);
	assert_non_null(end);
	/* The child released everything it read. */
	assert_int_equal(atomic_load(&pr_shm_tx_ring(base)->cons),
			 atomic_load(&pr_shm_tx_ring(base)->prod));
	munmap(base, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shm_format_layout),
		cmocka_unit_test(test_shm_format_invalid),
		cmocka_unit_test(test_shm_check_rejects),
		cmocka_unit_test(test_ring_check_fields),
		cmocka_unit_test(test_slots_of),
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_pad_at_wrap),
		cmocka_unit_test(test_full_then_release),
		cmocka_unit_test(test_oversize_refused),
		cmocka_unit_test(test_attach_midstream),
		cmocka_unit_test(test_corrupt_records),
		cmocka_unit_test(test_len_near_4g),
		cmocka_unit_test(test_corrupt_after_good),
		cmocka_unit_test(test_stress_two_threads),
		cmocka_unit_test(test_two_processes),
	};

	return cmocka_run_group_tests_name("pr_ring", tests, NULL, NULL);
}
