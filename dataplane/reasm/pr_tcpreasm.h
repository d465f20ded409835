/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP stream reassembly for the first bytes of each direction of a flow,
 * per core. Segments go in as captured; bytes come out in sequence order
 * through a callback, each run with its sequence number, so that a
 * consumer (dataplane/l7) sees the stream as the receiver did:
 * retransmitted and overlapping bytes are dropped (the copy that arrived
 * first wins), segments that arrive early are held until the hole before
 * them fills. Only the first depth_bytes of a direction are reassembled;
 * after that nothing is held: bytes seen before are still dropped, and a
 * segment after a hole is delivered at once, past the hole.
 *
 * A hole that will not fill is given up, and the held bytes after it are
 * delivered with the jump in sequence numbers that tells the consumer
 * bytes are missing (counted in `gaps`), when: the peer acknowledges bytes
 * past the first held run (the receiver has the missing bytes; the capture
 * lost them), the direction holds more than max_held_bytes, the core's
 * chunk pool is empty, or the caller flushes the flow. Held bytes live in
 * fixed-size chunks of a pool allocated at create time; a flow state is
 * 32 bytes the caller keeps beside its flow table (a side array indexed
 * like its entries). Per segment: no allocation, no lock, no log line.
 * Dataplane core only: one context per core, a state used only with the
 * context of its core.
 */
#ifndef PR_TCPREASM_H
#define PR_TCPREASM_H

#include <stdint.h>

#define PR_TCPREASM_DEPTH_DEFAULT 65536u /* bytes per direction */
#define PR_TCPREASM_MAX_HELD_DEFAULT 65536u /* bytes held per direction */
#define PR_TCPREASM_CHUNK_BYTES_DEFAULT 2048u
#define PR_TCPREASM_CHUNK_COUNT_DEFAULT 4096u /* 8 MiB per core */

struct pr_tcpreasm_cfg {
	uint32_t depth_bytes; /* reassembled bytes per direction, from its first byte */
	uint32_t max_held_bytes; /* out-of-order bytes one direction may hold */
	uint32_t chunk_bytes; /* data bytes per pool chunk (64..65535) */
	uint32_t chunk_count; /* chunks per core (at most 65535) */
};

struct pr_tcpreasm_stats {
	uint64_t segments; /* segments handed in (with or without payload) */
	uint64_t delivered_bytes;
	uint64_t held_segments; /* segments that arrived early and were held */
	uint64_t retransmits; /* segments whose bytes were all delivered or held before */
	uint64_t overlaps; /* segments partly made of bytes seen before */
	uint64_t gaps; /* holes given up (bytes the capture never had) */
	uint64_t gaps_acked; /* ... of which because the peer acknowledged past them */
	uint64_t held_limit; /* ... of which because the direction held max_held_bytes */
	uint64_t pool_empty; /* ... of which because the chunk pool was empty */
	uint64_t beyond_depth; /* early bytes past depth_bytes, dropped while a hole was open */
	uint64_t chunks_reclaimed; /* chunks taken back from flows that ended without flow_end */
};

/* Per-flow state; the layout is private to dataplane/reasm/. */
#define PR_TCPREASM_STATE_SIZE 32
struct pr_tcpreasm_state {
	uint64_t opaque[PR_TCPREASM_STATE_SIZE / 8];
};

/* One segment as captured; dir is 0 or 1 (the caller's flow direction). */
struct pr_tcpreasm_seg {
	const uint8_t *data; /* payload (borrowed for the call) */
	uint32_t len;
	uint32_t seq;
	uint32_t ack; /* valid with the ACK flag */
	uint8_t dir;
	uint8_t tcp_flags; /* FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10 */
};

/*
 * Receives in-order bytes of direction dir starting at sequence number
 * seq. A SYN is delivered once, with PR_TCPREASM_SYN in flags, seq its own
 * sequence number, and its payload (TCP Fast Open) if any. data is valid
 * only during the call.
 */
#define PR_TCPREASM_SYN 0x02
typedef void (*pr_tcpreasm_deliver_fn)(void *arg, uint8_t dir, uint32_t seq, uint8_t flags,
				       const uint8_t *data, uint32_t len);

struct pr_tcpreasm;

/* Zero fields of cfg take the defaults. Returns 0, -EINVAL or -ENOMEM. Startup only. */
int pr_tcpreasm_create(const struct pr_tcpreasm_cfg *cfg, struct pr_tcpreasm **out);
void pr_tcpreasm_destroy(struct pr_tcpreasm *r); /* NULL is a no-op */

/* Start a flow's state (it holds nothing). */
void pr_tcpreasm_flow_init(struct pr_tcpreasm_state *st);

/* One segment: delivers what became in order, before returning. Dataplane core only. */
void pr_tcpreasm_segment(struct pr_tcpreasm *r, struct pr_tcpreasm_state *st,
			 const struct pr_tcpreasm_seg *seg, pr_tcpreasm_deliver_fn deliver,
			 void *arg);

/*
 * The flow ends: deliver what both directions still hold, past their
 * holes (deliver may be NULL to drop it), and give the chunks back. The
 * state may be started again afterwards. A flow whose end is never
 * reported keeps its chunks until the pool runs dry, then loses them.
 */
void pr_tcpreasm_flow_end(struct pr_tcpreasm *r, struct pr_tcpreasm_state *st,
			  pr_tcpreasm_deliver_fn deliver, void *arg);

/* Bytes direction dir of a flow holds. */
uint32_t pr_tcpreasm_held(const struct pr_tcpreasm_state *st, uint8_t dir);

/*
 * Chunks of the pool in use (held by flows, or orphaned by flows that
 * ended without flow_end until they are reclaimed). 0 means no flow holds
 * anything: a caller can skip looking at flow states. Dataplane core only.
 */
uint32_t pr_tcpreasm_chunks_in_use(const struct pr_tcpreasm *r);

void pr_tcpreasm_stats(const struct pr_tcpreasm *r, struct pr_tcpreasm_stats *out);

#endif /* PR_TCPREASM_H */
