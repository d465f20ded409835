// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the routing and network-layer parsers of
 * dataplane/l7: BGP (pr_l7_bgp.c), OSPF, EIGRP, RIP and RIPng, ICMP,
 * ICMPv6 and SCTP chunks. An input is a script of segments or packets in both directions
 * of two flows (tests/fuzz/fuzz_l7.h). Configs: 0 BGP over TCP 179, 1 OSPF
 * (IP 89), 2 EIGRP (IP 88), 3 RIP (UDP 520), 4 RIPng (UDP 521), 5 ICMP,
 * 6 ICMPv6, 7 SCTP (IP 132). Seeds are written by tests/unit/test_pr_l7_routing.c.
 * Single-threaded; owns only the per-segment copies.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_l7.h"

static const struct l7_fuzz_proto protos[] = {
	{ PR_L7_PROTO_TCP, 40000, 179 }, { PR_L7_PROTO_OSPF, 0, 0 },	{ PR_L7_PROTO_EIGRP, 0, 0 },
	{ PR_L7_PROTO_UDP, 520, 520 },	 { PR_L7_PROTO_UDP, 521, 521 }, { PR_L7_PROTO_ICMP, 0, 0 },
	{ PR_L7_PROTO_ICMPV6, 0, 0 },	 { PR_L7_PROTO_SCTP, 0, 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return l7_fuzz_run(data, size, protos, sizeof(protos) / sizeof(protos[0]));
}
