/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The packet block: many packets in one byte string, the unit every
 * packet sink stores (a SQLCipher row, or a sealed segment block).
 * Layout, all little-endian:
 *   block header (32 bytes): magic "PRB1", version u16 (1), flags u16,
 *     count u32, reserved u32, first_ts_ns u64, last_ts_ns u64
 *   then count packet entries, each:
 *     ts_ns u64, flow_id u64, cap_len u32, wire_len u32, iface u16,
 *     pflags u16, then cap_len data bytes, then zero padding to 4 bytes
 * Version 1 holds consecutive packets of a session: the i-th entry is
 * packet first_seq + i, first_seq being the index row's. Version 2 holds
 * packets with gaps between them (one traffic class of a store that
 * keeps classes in separate blocks: pr_store_int.h, lanes): the header
 * has 8 more bytes, first_seq u64 (40 bytes in all), and each entry 4
 * more after pflags, seq_delta u32 (its packet's number less first_seq,
 * 0 for the first entry, growing strictly). The builder writes version 1
 * until a packet does not follow the one before, then turns the block
 * into version 2. The builder has no I/O; the parser checks every length
 * against the buffer. Any thread; one builder or iterator per thread.
 */
#ifndef PR_BLOCK_H
#define PR_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PR_BLOCK_MAGIC 0x31425250u /* "PRB1" read as little-endian u32 */
#define PR_BLOCK_VERSION 1u
#define PR_BLOCK_HDR_LEN 32u
#define PR_BLOCK_PKT_HDR_LEN 28u
#define PR_BLOCK_VERSION_SEQ 2u
#define PR_BLOCK_HDR_LEN_SEQ 40u
#define PR_BLOCK_PKT_HDR_LEN_SEQ 32u

struct pr_block_pkt {
	uint64_t ts_ns;
	uint64_t flow_id;
	uint32_t cap_len;
	uint32_t wire_len;
	uint16_t iface;
	uint16_t pflags;
	const uint8_t *data; /* cap_len bytes; borrowed */
	/*
	 * The packet's number in its session: set by the iterator (see
	 * pr_block_iter_set_first_seq), ignored by pr_block_builder_add().
	 */
	uint64_t seq;
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
	uint64_t first_seq, last_seq; /* numbers of the first and last packet */
	bool with_seq; /* version 2: the packets do not follow each other */
	uint8_t *alt; /* spare buffer for the turn into version 2 */
	size_t alt_cap;
};

void pr_block_builder_init(struct pr_block_builder *b);
void pr_block_builder_fini(struct pr_block_builder *b);
/* Append one packet, numbered one after the packet before. 0 or -ENOMEM. */
int pr_block_builder_add(struct pr_block_builder *b, const struct pr_block_pkt *pkt);
/*
 * Append packet number seq. A seq that is not last_seq + 1 turns the
 * block into version 2. 0, -ENOMEM, or -ERANGE when seq is not above
 * last_seq or too far (2^32) from first_seq: the block must be finished
 * first.
 */
int pr_block_builder_add_seq(struct pr_block_builder *b, const struct pr_block_pkt *pkt,
			     uint64_t seq);
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
	uint16_t version;
	uint32_t entry_hdr; /* bytes of an entry before its data */
	uint64_t first_seq; /* version 2: from the header; version 1: 0 until set */
	uint64_t seq; /* number of the last packet returned */
};

/* Check the header. 0 or -EBADMSG (bad magic, version, or a length beyond len). */
int pr_block_iter_init(struct pr_block_iter *it, const uint8_t *buf, size_t len);
/*
 * The number of a version 1 block's first packet (its index row knows
 * it; the block does not). A version 2 block keeps its own.
 */
void pr_block_iter_set_first_seq(struct pr_block_iter *it, uint64_t first_seq);
/* 1 with *pkt filled, 0 after the last packet, -EBADMSG on a damaged entry. */
int pr_block_iter_next(struct pr_block_iter *it, struct pr_block_pkt *pkt);

#endif /* PR_BLOCK_H */
