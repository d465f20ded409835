// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the metrics' packet classifier
 * (pr_sm_proto_of_packet() in controlplane/metrics), which the capture
 * loop runs on every stored packet. The first byte picks the link type
 * among those it opens (and one it does not); the rest is the packet,
 * copied into a buffer of exactly its length so that ASan sees any read
 * past the end. The result must be one of the protocols.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_sensor_metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t linktypes[] = { 1, 113, 276, 0, 108, 101, 228, 229, 147 };
	uint32_t lt;
	uint8_t *p;

	if (!size)
		return 0;
	lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
	p = malloc(size - 1 ? size - 1 : 1);
	if (!p)
		return 0;
	memcpy(p, data + 1, size - 1);
	if ((unsigned)pr_sm_proto_of_packet(lt, p, (uint32_t)(size - 1)) >= PR_SM_PROTO_MAX)
		abort();
	free(p);
	return 0;
}
