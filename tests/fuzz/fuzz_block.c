// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target over the packet block reader (storage/pr_block.c). The
 * input is taken as a stored block: the iterator must walk it or stop with
 * -EBADMSG, never reading outside it. The packets it does return are built
 * into a new block with the same numbers, which must read back to the
 * same packets, so the builder and the reader are checked against each
 * other on every input (version 1 and 2 alike).
 * The input is copied into an exactly-sized buffer so that AddressSanitizer
 * catches a read one byte past the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop after this many packets: a hostile count must not make a run slow. */
#define MAX_PKTS 4096u

static void check(int cond)
{
	if (!cond)
		abort();
}

static void compare_rebuilt(const struct pr_block_pkt *pkts, uint32_t n)
{
	struct pr_block_builder b;
	struct pr_block_iter it;
	struct pr_block_pkt pkt;
	const uint8_t *out;
	uint32_t i = 0;
	size_t len;
	int rc;

	pr_block_builder_init(&b);
	for (uint32_t k = 0; k < n; k++)
		check(pr_block_builder_add_seq(&b, &pkts[k], pkts[k].seq) == 0);
	out = pr_block_builder_finish(&b, &len);
	check(out != NULL);
	check(pr_block_iter_init(&it, out, len) == 0);
	pr_block_iter_set_first_seq(&it, n ? pkts[0].seq : 0);
	while ((rc = pr_block_iter_next(&it, &pkt)) == 1) {
		check(i < n);
		check(pkt.ts_ns == pkts[i].ts_ns && pkt.flow_id == pkts[i].flow_id);
		check(pkt.cap_len == pkts[i].cap_len && pkt.wire_len == pkts[i].wire_len);
		check(pkt.iface == pkts[i].iface && pkt.pflags == pkts[i].pflags);
		check(pkt.seq == pkts[i].seq);
		check(!pkt.cap_len || !memcmp(pkt.data, pkts[i].data, pkt.cap_len));
		i++;
	}
	check(rc == 0 && i == n);
	pr_block_builder_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pr_block_pkt *pkts = NULL;
	struct pr_block_iter it;
	uint8_t *copy = NULL;
	uint32_t n = 0;
	int rc;

	copy = malloc(size ? size : 1);
	pkts = calloc(MAX_PKTS, sizeof(*pkts));
	if (!copy || !pkts)
		goto out;
	memcpy(copy, data, size);

	rc = pr_block_iter_init(&it, copy, size);
	if (rc) {
		check(rc == -EBADMSG);
		goto out;
	}
	while (n < MAX_PKTS && (rc = pr_block_iter_next(&it, &pkts[n])) == 1) {
		check(pkts[n].data >= copy && pkts[n].data + pkts[n].cap_len <= copy + size);
		n++;
	}
	check(rc == 1 || rc == 0 || rc == -EBADMSG);
	compare_rebuilt(pkts, n);
out:
	free(pkts);
	free(copy);
	return 0;
}
