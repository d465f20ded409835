// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the DNS parser (dataplane/l7/pr_l7_dns.c): an input
 * is a script of datagrams (UDP) or segments (TCP, length-prefixed
 * messages) in both directions (tests/fuzz/fuzz_l7.h). Config index 0 is
 * UDP port 53, 1 TCP port 53, 2 mDNS, 3 LLMNR. Single-threaded; owns only
 * the per-segment copies.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_l7.h"

static const struct l7_fuzz_proto protos[] = {
	{ PR_L7_PROTO_UDP, 40000, 53 },
	{ PR_L7_PROTO_TCP, 40000, 53 },
	{ PR_L7_PROTO_UDP, 5353, 5353 },
	{ PR_L7_PROTO_UDP, 40000, 5355 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return l7_fuzz_run(data, size, protos, sizeof(protos) / sizeof(protos[0]));
}
