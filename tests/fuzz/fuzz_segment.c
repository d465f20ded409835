// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target over the segment block reader (storage/sink/
 * pr_sink_seg.c) and the block parser behind it. Each input is used three
 * ways:
 *   1. as the bytes of a sealed block on disk: opening must fail cleanly
 *      (a random input never authenticates) and never read outside it;
 *   2. as the plaintext of a block that is sealed and opened again: the
 *      round trip must give the same bytes, which then go through the
 *      packet block parser as a stored block would;
 *   3. sealed, then one byte (chosen by the input) changed: opening must
 *      fail with -EBADMSG, whichever byte it was.
 * Buffers are exactly sized so that AddressSanitizer sees a read past the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_block.h"
#include "pr_seal.h"
#include "pr_sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS 4096u

static const uint8_t key[PR_SEAL_KEY_LEN] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					      23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static void check(int cond)
{
	if (!cond)
		abort();
}

static void parse_block(const uint8_t *blk, size_t len)
{
	struct pr_block_iter it;
	struct pr_block_pkt pkt;
	uint32_t n = 0;

	if (pr_block_iter_init(&it, blk, len))
		return;
	while (n++ < MAX_PKTS && pr_block_iter_next(&it, &pkt) == 1)
		check(pkt.cap_len == 0 || (pkt.data >= blk && pkt.data + pkt.cap_len <= blk + len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pr_seal *seal;
	const uint8_t *out;
	const char *why;
	size_t out_len, disk;
	uint8_t *buf;

	if (!seal && pr_seal_create(&seal))
		abort();
	/* 1. The input as a block on disk. */
	buf = malloc(size ? size : 1);
	check(buf != NULL);
	memcpy(buf, data, size);
	check(pr_sink_seg_block_open(seal, key, 7, 3, buf, size, &out, &out_len, &why) != 0);
	free(buf);

	/* 2. The input as a block's plaintext, sealed and opened again. */
	disk = pr_sink_seg_block_size(size);
	buf = malloc(disk);
	check(buf != NULL);
	check(pr_sink_seg_block_seal(seal, key, 7, 99, 3, data, size, buf) == 0);
	check(pr_sink_seg_block_open(seal, key, 7, 3, buf, disk, &out, &out_len, &why) == 0);
	check(out_len == size && (!size || !memcmp(out, data, size)));
	parse_block(out, out_len);
	/* Opened under another block number or segment it must fail. */
	check(pr_sink_seg_block_seal(seal, key, 7, 99, 3, data, size, buf) == 0);
	check(pr_sink_seg_block_open(seal, key, 7, 4, buf, disk, &out, &out_len, &why) == -EBADMSG);
	check(pr_sink_seg_block_open(seal, key, 8, 3, buf, disk, &out, &out_len, &why) == -EBADMSG);

	/* 3. One changed byte of header, data or tag. */
	if (size >= 4) {
		size_t used = 64 + size + PR_SEAL_TAG_LEN;
		size_t at = (((size_t)data[0] << 16) | ((size_t)data[1] << 8) | data[2]) % used;

		check(pr_sink_seg_block_seal(seal, key, 7, 99, 3, data, size, buf) == 0);
		buf[at] ^= (uint8_t)(data[3] | 1);
		check(pr_sink_seg_block_open(seal, key, 7, 3, buf, disk, &out, &out_len, &why) ==
		      -EBADMSG);
	}
	free(buf);
	return 0;
}
