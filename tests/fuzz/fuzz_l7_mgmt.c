// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the management, directory and session parsers of
 * dataplane/l7: LDAP, Kerberos, SNMP, NTP, DHCP and DHCPv6, NetBIOS name
 * and datagram services, NBSS and SMB, SIP. An input is a script of
 * segments or datagrams in both directions of two flows
 * (tests/fuzz/fuzz_l7.h). Configs: 0 LDAP TCP 389, 1 CLDAP UDP 389,
 * 2 Kerberos UDP 88, 3 Kerberos TCP 88, 4 SNMP UDP 161, 5 NTP UDP 123,
 * 6 DHCP UDP 68->67, 7 DHCPv6 UDP 546->547, 8 NBNS UDP 137, 9 NBDS UDP 138,
 * 10 SMB TCP 445, 11 NBSS/SMB TCP 139, 12 SIP UDP 5060, 13 SIP TCP 5060.
 * Seeds are written by tests/unit/test_pr_l7_mgmt.c and
 * test_pr_l7_sessions.c. Single-threaded; owns only the per-segment copies.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_l7.h"

static const struct l7_fuzz_proto protos[] = {
	{ PR_L7_PROTO_TCP, 50000, 389 }, { PR_L7_PROTO_UDP, 50000, 389 },
	{ PR_L7_PROTO_UDP, 50000, 88 },	 { PR_L7_PROTO_TCP, 50000, 88 },
	{ PR_L7_PROTO_UDP, 50000, 161 }, { PR_L7_PROTO_UDP, 123, 123 },
	{ PR_L7_PROTO_UDP, 68, 67 },	 { PR_L7_PROTO_UDP, 546, 547 },
	{ PR_L7_PROTO_UDP, 137, 137 },	 { PR_L7_PROTO_UDP, 138, 138 },
	{ PR_L7_PROTO_TCP, 50000, 445 }, { PR_L7_PROTO_TCP, 50000, 139 },
	{ PR_L7_PROTO_UDP, 5060, 5060 }, { PR_L7_PROTO_TCP, 50000, 5060 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return l7_fuzz_run(data, size, protos, sizeof(protos) / sizeof(protos[0]));
}
