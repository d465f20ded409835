// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target over the ring record decoder: the consumer half of
 * dataplane/include/pr_ring.h, which reads slots written by another
 * process and must not trust them. A ring header made by pr_shm_format()
 * is placed in a buffer that ends exactly at the last slot (so
 * AddressSanitizer sees a read one byte past it); the input becomes the
 * slot memory and the indices:
 *
 *   byte 0      log2 of the slot count (0..8), and bit 7: producer mode
 *   byte 1      release policy: 0 = once at the end, n = every n records
 *   bytes 2-9   consumer index at attach (any u64, so indices may wrap)
 *   bytes 10-11 published slots, modulo slot count + 1
 *   bytes 12-   slot memory (zero-filled when short)
 *
 * Every record the consumer returns is touched over its declared length
 * and handed to the per-type length checks the control plane applies.
 * In producer mode the tail of the input is instead a list of record
 * lengths that are produced and consumed through the real producer, and
 * the consumer must read back exactly what was written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_record.h"
#include "pr_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_BYTES 12u
#define MAX_LOG2_SLOTS 8u

static void check(int cond)
{
	if (!cond)
		abort();
}

static volatile uint8_t g_sink;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t x = 0;

	for (size_t i = 0; i < n; i++)
		x ^= b[i];
	g_sink ^= x;
}

/*
 * The length checks the control plane makes before it uses a record
 * (controlplane/pr_cmd_capture.c, pr_cmd_replay.c; the dataplane's tx
 * loop). Returns 1 when the record may be used, and then reads every byte
 * the user would read.
 */
static int record_usable(const struct pr_rec_hdr *h)
{
	switch (h->type) {
	case PR_REC_PACKET: {
		const struct pr_rec_packet *r = (const struct pr_rec_packet *)h;

		if (h->len < sizeof(*r) || r->cap_len > h->len - sizeof(*r))
			return 0;
		touch(r->data, r->cap_len);
		return 1;
	}
	case PR_REC_IFACE: {
		const struct pr_rec_iface *r = (const struct pr_rec_iface *)h;

		if (h->len < sizeof(*r))
			return 0;
		touch(r->name, strnlen(r->name, sizeof(r->name)));
		touch(r->description, strnlen(r->description, sizeof(r->description)));
		return 1;
	}
	case PR_REC_FLOW:
		if (h->len < sizeof(struct pr_rec_flow))
			return 0;
		touch(h, sizeof(struct pr_rec_flow));
		return 1;
	case PR_REC_STATS:
		if (h->len < sizeof(struct pr_rec_stats))
			return 0;
		touch(((const struct pr_rec_stats *)h)->counters, sizeof(uint64_t) * PR_STAT_MAX);
		return 1;
	case PR_REC_END: {
		const struct pr_rec_end *r = (const struct pr_rec_end *)h;

		if (h->len < sizeof(*r))
			return 0;
		touch(r->message, strnlen(r->message, sizeof(r->message)));
		return 1;
	}
	case PR_REC_TX_PACKET: {
		const struct pr_rec_tx_packet *r = (const struct pr_rec_tx_packet *)h;

		if (h->len < sizeof(*r) || r->len > h->len - sizeof(*r))
			return 0;
		touch(r->data, r->len);
		return 1;
	}
	case PR_REC_TX_TIMING:
		if (h->len < sizeof(struct pr_rec_tx_timing))
			return 0;
		touch(h, sizeof(struct pr_rec_tx_timing));
		return 1;
	case PR_REC_META: {
		const struct pr_rec_meta *r = (const struct pr_rec_meta *)h;

		if (h->len < sizeof(*r) || r->data_len > h->len - sizeof(*r))
			return 0;
		touch(r->app, strnlen(r->app, sizeof(r->app)));
		touch(r->kind, strnlen(r->kind, sizeof(r->kind)));
		touch(r->data, r->data_len);
		return 1;
	}
	case PR_REC_TX_END:
	case PR_REC_ALERT:
		return 1;
	default:
		/* peek() never returns PAD or an unknown type. */
		abort();
	}
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A lone ring in an exactly-sized, cache-aligned buffer: header from a formatted region. */
static struct pr_ring_header *ring_make(uint32_t slots)
{
	size_t shm = pr_shm_size(1, slots, 1);
	size_t bytes = pr_ring_bytes(slots);
	void *region = aligned_alloc(PR_CACHE_LINE, PR_ALIGN_UP(shm, (size_t)PR_CACHE_LINE));
	struct pr_ring_header *h = aligned_alloc(PR_CACHE_LINE, bytes);

	check(region && h);
	memset(region, 0, shm);
	check(pr_shm_format(region, shm, 1, slots, 1) == 0);
	check(pr_shm_check(region, shm) == 0);
	memcpy(h, pr_shm_ring(region, 0), sizeof(*h));
	free(region);
	memset(h + 1, 0, bytes - sizeof(*h));
	return h;
}

/* Consume what the input says was published. */
static void consume_raw(struct pr_ring_header *h, uint8_t release_every, uint64_t tail,
			uint32_t published)
{
	struct pr_ring_cons c;
	const uint8_t *slots = (const uint8_t *)(h + 1);
	const uint8_t *end = slots + (size_t)h->slot_count * PR_RING_SLOT_SIZE;
	const struct pr_rec_hdr *rec;
	uint64_t prod = tail + published;
	uint32_t n = 0;

	atomic_store(&h->cons, tail);
	atomic_store(&h->prod, prod);
	check(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX) == 0);
	while ((rec = pr_ring_cons_peek(&c))) {
		const uint8_t *p = (const uint8_t *)rec;
		uint64_t before = c.tail;

		/* Each record starts on a slot, lies inside the slots and inside what was published. */
		check(p >= slots && p < end && (size_t)(p - slots) % PR_RING_SLOT_SIZE == 0);
		check(rec->len >= sizeof(*rec) && rec->len <= (size_t)(end - p));
		check(rec->type != PR_REC_PAD && rec->type < PR_REC_TYPE_MAX);
		touch(rec, rec->len);
		record_usable(rec);
		pr_ring_cons_advance(&c, rec);
		/* Progress (indices are modular), and never past what was published. */
		check(c.tail - before >= 1 && c.tail - before <= h->slot_count);
		check(c.tail - tail <= published);
		/* A record takes at least one slot, so there are at most that many. */
		check(++n <= published);
		if (release_every && n % release_every == 0) {
			pr_ring_cons_release(&c);
			check(atomic_load(&h->cons) == c.tail);
		}
	}
	pr_ring_cons_release(&c);
	if (c.error) {
		check(c.error == -EBADMSG);
		check(!pr_ring_cons_peek(&c) && c.error == -EBADMSG);
	} else {
		check(c.tail == prod);
	}
}

/*
 * Produce records of the lengths the input lists (each two bytes), reading
 * them back whenever the ring fills: the consumer must see the same
 * records, whole and in order, whatever index the ring started at.
 */
static void produce_consume(struct pr_ring_header *h, uint64_t start, const uint8_t *lens,
			    size_t n_lens)
{
	struct pr_ring_prod p;
	struct pr_ring_cons c;
	uint32_t max_len = h->slot_count / 2 * PR_RING_SLOT_SIZE;
	size_t produced = 0, consumed = 0;

	atomic_store(&h->cons, start);
	atomic_store(&h->prod, start);
	check(pr_ring_prod_init(&p, h, PR_RING_ROLE_RX) == 0);
	check(pr_ring_cons_init(&c, h, PR_RING_ROLE_RX) == 0);
	while (consumed < n_lens) {
		const struct pr_rec_hdr *rec;

		while (produced < n_lens) {
			uint16_t v = (uint16_t)(lens[2 * produced] | lens[2 * produced + 1] << 8);
			uint32_t len = sizeof(struct pr_rec_hdr) + 4 + v % 2048u;
			struct pr_rec_hdr *w;

			if (len > max_len) {
				/* Too big for this ring: refused, even when it is empty. */
				check(!pr_ring_prod_reserve(&p, len));
				len = max_len;
			}
			w = pr_ring_prod_reserve(&p, len);
			if (!w)
				break;
			w->type = PR_REC_ALERT;
			w->flags = (uint16_t)produced;
			w->len = len;
			memset(w + 1, (int)(produced & 0xff), len - sizeof(*w));
			pr_ring_prod_commit(&p);
			produced++;
			if (v & 0x8000)
				pr_ring_prod_publish(&p);
		}
		pr_ring_prod_publish(&p);
		/* The ring is empty when the loop above starts, so something was written. */
		check(produced > consumed);
		while ((rec = pr_ring_cons_peek(&c))) {
			const uint8_t *b = (const uint8_t *)(rec + 1);

			check(consumed < produced);
			check(rec->type == PR_REC_ALERT && rec->flags == (uint16_t)consumed);
			for (size_t i = 0; i < rec->len - sizeof(*rec); i++)
				check(b[i] == (uint8_t)(consumed & 0xff));
			pr_ring_cons_advance(&c, rec);
			consumed++;
		}
		check(c.error == 0 && consumed == produced);
		pr_ring_cons_release(&c);
		check(pr_ring_prod_backlog(&p) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[HDR_BYTES] = { 0 };
	struct pr_ring_header *h;
	uint32_t slots;
	size_t body = size > HDR_BYTES ? size - HDR_BYTES : 0;

	if (size)
		memcpy(hdr, data, size < HDR_BYTES ? size : HDR_BYTES);
	slots = 1u << ((hdr[0] & 0x7f) % (MAX_LOG2_SLOTS + 1));
	h = ring_make(slots);
	if (hdr[0] & 0x80) {
		/* Lengths, at most a few laps' worth so one input stays fast. */
		size_t n = body / 2 < 1024 ? body / 2 : 1024;

		if (slots >= 2)
			produce_consume(h, get_u64(hdr + 2), data + HDR_BYTES, n);
	} else {
		size_t cap = (size_t)slots * PR_RING_SLOT_SIZE;
		uint16_t pub = (uint16_t)(hdr[10] | hdr[11] << 8);

		memcpy(h + 1, data + HDR_BYTES, body < cap ? body : cap);
		consume_raw(h, hdr[1], get_u64(hdr + 2), pub % (slots + 1));
	}
	free(h);
	return 0;
}
