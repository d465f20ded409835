// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the TLS parser (dataplane/l7/pr_l7_tls.c) and the
 * TCP handling under it: an input is a script of segments in both
 * directions of two TCP flows (tests/fuzz/fuzz_l7.h). Config index 0 is
 * port 443, 1 a port nothing hints at; either way detection decides by
 * content, so other parsers run too when the bytes look like theirs.
 * Single-threaded; owns only the per-segment copies.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_l7.h"

static const struct l7_fuzz_proto protos[] = {
	{ PR_L7_PROTO_TCP, 50000, 443 },
	{ PR_L7_PROTO_TCP, 50000, 8444 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return l7_fuzz_run(data, size, protos, sizeof(protos) / sizeof(protos[0]));
}
