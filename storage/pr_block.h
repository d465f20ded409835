/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The packet block: many packets in one byte string, the unit every
 * packet sink stores (a SQLCipher row today, a sealed segment block later).
 * Layout, all little-endian:
 *   block header (32 bytes): magic "PRB1", version u16 (1), flags u16,
 *     count u32, reserved u32, first_ts_ns u64, last_ts_ns u64
 *   then count packet entries, each:
 *     ts_ns u64, flow_id u64, cap_len u32, wire_len u32, iface u16,
 *     pflags u16, then cap_len data bytes, then zero padding to 4 bytes
 * The builder has no I/O; the parser checks every length against the
 * buffer. Any thread; one builder or iterator per thread.
 */
#ifndef PR_BLOCK_H
#define PR_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#define PR_BLOCK_MAGIC 0x31425250u /* "PRB1" read as little-endian u32 */
#define PR_BLOCK_VERSION 1u
#define PR_BLOCK_HDR_LEN 32u
#define PR_BLOCK_PKT_HDR_LEN 28u

struct pr_block_pkt {
	uint64_t ts_ns;
	uint64_t flow_id;
	uint32_t cap_len;
	uint32_t wire_len;
	uint16_t iface;
	uint16_t pflags;
	const uint8_t *data; /* cap_len bytes; borrowed */
};

/* A growing block. Caller-owned storage: init/fini. */
struct pr_block_builder {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t count;
	uint64_t first_ts_ns;
	uint64_t last_ts_ns;
	uint64_t wire_bytes; /* sum of wire_len */
};

void pr_block_builder_init(struct pr_block_builder *b);
void pr_block_builder_fini(struct pr_block_builder *b);
/* Append one packet. 0 or -ENOMEM. */
int pr_block_builder_add(struct pr_block_builder *b, const struct pr_block_pkt *pkt);
/* Finish the header; returns the bytes to store (valid until the next add/reset). */
const uint8_t *pr_block_builder_finish(struct pr_block_builder *b, size_t *len);
/* Empty the builder, keeping its buffer. */
void pr_block_builder_reset(struct pr_block_builder *b);

/* Iterator over a stored block. Caller-owned storage. */
struct pr_block_iter {
	const uint8_t *buf;
	size_t len;
	size_t off;
	uint32_t count; /* from the header */
	uint32_t seen;
	uint64_t first_ts_ns;
	uint64_t last_ts_ns;
};

/* Check the header. 0 or -EBADMSG (bad magic, version, or a length beyond len). */
int pr_block_iter_init(struct pr_block_iter *it, const uint8_t *buf, size_t len);
/* 1 with *pkt filled, 0 after the last packet, -EBADMSG on a damaged entry. */
int pr_block_iter_next(struct pr_block_iter *it, struct pr_block_pkt *pkt);

#endif /* PR_BLOCK_H */
