// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the text protocols: HTTP/1.x, SSH and SMTP
 * (dataplane/l7/pr_l7_http.c, pr_l7_ssh.c, pr_l7_smtp.c, and TLS after
 * STARTTLS). An input is a script of segments in both directions
 * (tests/fuzz/fuzz_l7.h). Config index 0 is TCP port 80, 1 port 22, 2 port
 * 25, 3 UDP port 1900 (SSDP). Single-threaded; owns only the per-segment
 * copies.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_l7.h"

static const struct l7_fuzz_proto protos[] = {
	{ PR_L7_PROTO_TCP, 50123, 80 },
	{ PR_L7_PROTO_TCP, 50123, 22 },
	{ PR_L7_PROTO_TCP, 50123, 25 },
	{ PR_L7_PROTO_UDP, 50123, 1900 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return l7_fuzz_run(data, size, protos, sizeof(protos) / sizeof(protos[0]));
}
