/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tunnel headers: given a decoded packet, says whether what its IP layer
 * carries is a tunnel (GRE with ERSPAN I/II/III, VXLAN, VXLAN-GPE, GENEVE,
 * IP-in-IP and IPv6-in-IP, GTP-U, Teredo) and where the inner packet
 * starts. pr_decode() uses it to key the packet on its innermost IP header.
 * No state, no allocation; every load checked against the outer datagram.
 */
#ifndef PR_TUNNEL_H
#define PR_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "pr_decode.h"

/* What the inner packet is, in pr_tun_hop.inner. */
#define PR_TUN_INNER_ETHERNET 0x6558 /* a whole Ethernet frame (transparent bridging) */
/* Any other value is an ethertype: 0x0800 IPv4, 0x86dd IPv6, 0x8847 MPLS, ... */

struct pr_tun_hop {
	uint8_t type; /* PR_TUN_* */
	uint32_t id; /* VNI, GRE key, TEID or ERSPAN session id; 0 when the tunnel has none */
	uint32_t inner_off; /* first byte of the inner packet */
	uint32_t end; /* first byte after the outer datagram's payload (bound for the inner) */
	uint16_t inner; /* PR_TUN_INNER_ETHERNET or an ethertype */
};

/* The UDP ports pr_tunnel_find() looks at. */
#define PR_TUN_UDP_VXLAN 4789
#define PR_TUN_UDP_VXLAN_GPE 4790
#define PR_TUN_UDP_GENEVE 6081
#define PR_TUN_UDP_GTPU 2152
#define PR_TUN_UDP_TEREDO 3544

/*
 * Could d's IP header carry a tunnel? A test on its protocol and ports
 * only, so that the packets of every other flow cost no call per packet.
 */
static inline bool pr_tunnel_maybe(const struct pr_decoded *d)
{
	switch (d->ip_proto) {
	case 4:
	case 41:
	case 47:
		return true;
	case 17:
		return d->dport == PR_TUN_UDP_VXLAN || d->dport == PR_TUN_UDP_VXLAN_GPE ||
		       d->dport == PR_TUN_UDP_GENEVE || d->sport == PR_TUN_UDP_GTPU ||
		       d->dport == PR_TUN_UDP_GTPU || d->sport == PR_TUN_UDP_TEREDO ||
		       d->dport == PR_TUN_UDP_TEREDO;
	default:
		return false;
	}
}

/*
 * d is the decode of pkt (cap bytes) as far as its outermost (or current)
 * IP header. True, with hop filled, when that IP header carries a tunnel
 * whose header is whole in the capture; false for everything else
 * (fragments, malformed headers, unknown protocols, GRE version 1 ...).
 */
bool pr_tunnel_find(const uint8_t *pkt, uint32_t cap, const struct pr_decoded *d,
		    struct pr_tun_hop *hop);

/*
 * For pr_tunnel.c: decode p (cap bytes) into out from offset off, where a
 * payload of ethertype type starts (IPv4, IPv6, MPLS, VLAN, PPPoE, ...),
 * as pr_decode_outer() does after a link header. out must be zeroed.
 */
void pr_decode_ethertype(const uint8_t *p, uint32_t cap, uint32_t off, uint16_t type,
			 struct pr_decoded *out);

#endif /* PR_TUNNEL_H */
