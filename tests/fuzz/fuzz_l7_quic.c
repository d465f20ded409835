// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the TLS-over-UDP parsers: QUIC (pr_l7_quic.c) and
 * DTLS (pr_l7_dtls.c); an input is a script of datagrams in both
 * directions (tests/fuzz/fuzz_l7.h). Config index 0 is UDP to port 443, 1
 * to 8443, 2 to 4433 (the DTLS seeds of tests/unit/test_pr_l7_dtls.c). The seeds written by
 * tests/unit/test_pr_l7_quic.c carry properly sealed Initial packets, so
 * the replay runs real decryption; in the fuzz build, where pr_l7 is
 * compiled with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, a packet whose
 * authentication tag is all zeros is taken as plaintext, so libFuzzer can
 * reach the frame parser, the CRYPTO reassembly and the TLS hellos behind
 * them. Single-threaded; owns only the per-datagram copies.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_l7.h"

static const struct l7_fuzz_proto protos[] = {
	{ PR_L7_PROTO_UDP, 50000, 443 },
	{ PR_L7_PROTO_UDP, 50000, 8443 },
	{ PR_L7_PROTO_UDP, 50000, 4433 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return l7_fuzz_run(data, size, protos, sizeof(protos) / sizeof(protos[0]));
}
