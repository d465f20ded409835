// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the flow export parsers of dataplane/l7: NetFlow
 * v5/v9 and IPFIX (pr_l7_netflow.c, with its per-core template cache) and
 * sFlow (pr_l7_sflow.c). An input is a script of datagrams in both
 * directions of two flows (tests/fuzz/fuzz_l7.h); the two flows carry
 * different ids, so templates of one are not the other's. Configs: 0 UDP
 * 2055, 1 UDP 4739, 2 sFlow UDP 6343. Seeds are written by
 * tests/unit/test_pr_l7_flowexp.c. Single-threaded; owns only the
 * per-datagram copies.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_l7.h"

static const struct l7_fuzz_proto protos[] = {
	{ PR_L7_PROTO_UDP, 50000, 2055 },
	{ PR_L7_PROTO_UDP, 50000, 4739 },
	{ PR_L7_PROTO_UDP, 50000, 6343 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return l7_fuzz_run(data, size, protos, sizeof(protos) / sizeof(protos[0]));
}
