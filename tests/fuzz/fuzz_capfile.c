// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the capture-file reader (pr_capfile). The input is
 * copied into an exactly sized heap buffer, so AddressSanitizer catches a
 * read one byte past the end, and every packet's bytes are summed so a
 * data pointer or length that strays outside the buffer is touched too.
 * Interface lookups and the error accessors are exercised as a caller
 * would. Single-threaded; owns nothing between runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_capfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the sum alive so the compiler cannot drop the reads. */
static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pr_capfile_pkt pkt;
	struct pr_capfile *cf = NULL;
	uint8_t *copy = malloc(size ? size : 1);
	uint64_t sum = 0;
	int ret;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (pr_capfile_open_mem(copy, size, &cf)) {
		sum += strlen(pr_capfile_open_error());
		goto out;
	}
	while ((ret = pr_capfile_next(cf, &pkt)) == 1) {
		const struct pr_capfile_iface *ifc = pr_capfile_iface(cf, pkt.iface);

		if (!ifc || pkt.wire_len < pkt.cap_len || pkt.offset >= pr_capfile_size(cf))
			abort();
		for (uint32_t i = 0; i < pkt.cap_len; i++)
			sum += pkt.data[i];
		sum += pkt.ts_ns + ifc->linktype + strlen(ifc->name) + strlen(ifc->description);
	}
	/* An error must be sticky and explained; a clean end must stay an end. */
	if (pr_capfile_next(cf, &pkt) != ret || (ret < 0 && !pr_capfile_errmsg(cf)[0]))
		abort();
	sum += pr_capfile_offset(cf) + pr_capfile_iface_count(cf);
out:
	pr_capfile_close(cf);
	free(copy);
	sink += sum;
	return 0;
}
