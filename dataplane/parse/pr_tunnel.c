// SPDX-License-Identifier: Apache-2.0
/*
 * Tunnel headers after an IP header (pr_tunnel.h). Each parser checks what
 * the standard fixes (versions, flags that must be set, message types) so
 * that ordinary traffic that happens to use a tunnel's port is left alone,
 * and reads only inside the outer datagram's captured payload.
 *
 *   GRE         RFC 2784/2890: version 0, no routing; C, K, S fields skipped
 *   ERSPAN      GRE 0x88be without S (type I) or with S (type II, 8 bytes),
 *               GRE 0x22eb (type III, 12 bytes and an optional 8)
 *   VXLAN       RFC 7348, UDP destination port 4789, the I flag set
 *   VXLAN-GPE   UDP destination port 4790, next protocol IPv4/IPv6/Ethernet/MPLS
 *   GENEVE      RFC 8926, UDP destination port 6081, version 0
 *   GTP-U       3GPP TS 29.281, UDP port 2152 either side, version 1, G-PDU
 *   Teredo      RFC 4380, UDP port 3544 either side, after the optional
 *               authentication and origin indications, an IPv6 header
 *   IP-in-IP    IP protocols 4 and 41
 *
 * And pr_decode(): the outer decode, then each tunnel's inner packet in
 * turn, at most PR_DEC_MAX_TUNNELS deep.
 */
#include "pr_tunnel.h"

#include <stddef.h>
#include <string.h>

#include "pr_compiler.h"

#include "pr_parse_bytes.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_MPLS_UC 0x8847

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_VERSION 0x0007

#define GRE_P_ERSPAN_2 0x88be /* type I without a sequence number, type II with */
#define GRE_P_ERSPAN_3 0x22eb

#define GTP_MAX_EXT 8

/* The first nibble of an IP header as an ethertype, or 0. */
static uint16_t ip_by_version(const uint8_t *p, uint32_t end, uint32_t off)
{
	if (!have(end, off, 1))
		return 0;
	switch (p[off] >> 4) {
	case 4:
		return ETH_P_IPV4;
	case 6:
		return ETH_P_IPV6;
	default:
		return 0;
	}
}

static bool gre(const uint8_t *p, uint32_t end, uint32_t off, struct pr_tun_hop *hop)
{
	uint16_t fl, ptype;
	uint32_t hw;

	if (!have(end, off, 4))
		return false;
	fl = rd16(p + off);
	ptype = rd16(p + off + 2);
	/* Version 1 is PPTP's enhanced GRE (PPP inside); routing is obsolete (RFC 2784). */
	if ((fl & GRE_VERSION) || (fl & GRE_R))
		return false;
	off += 4;
	if (fl & GRE_C)
		off += 4;
	if (fl & GRE_K) {
		if (!have(end, off, 4))
			return false;
		hop->id = rd32(p + off);
		off += 4;
	}
	if (fl & GRE_S)
		off += 4;
	hop->type = PR_TUN_GRE;
	hop->inner = ptype;
	switch (ptype) {
	case GRE_P_ERSPAN_2:
		hop->type = PR_TUN_ERSPAN;
		hop->inner = PR_TUN_INNER_ETHERNET;
		hop->id = 0;
		if (!(fl & GRE_S))
			break; /* type I: the mirrored frame right away */
		if (!have(end, off, 8) || (p[off] >> 4) != 1)
			return false;
		hop->id = rd16(p + off + 2) & 0x3ff;
		off += 8;
		break;
	case GRE_P_ERSPAN_3:
		if (!have(end, off, 12) || (p[off] >> 4) != 2)
			return false;
		hop->type = PR_TUN_ERSPAN;
		hop->inner = PR_TUN_INNER_ETHERNET;
		hop->id = rd16(p + off + 2) & 0x3ff;
		hw = rd16(p + off + 10);
		/* Frame type 0 is Ethernet; the O flag adds a platform subheader. */
		if ((hw >> 10) & 0x1f)
			return false;
		off += 12 + ((hw & 1) ? 8 : 0);
		break;
	default:
		break;
	}
	hop->inner_off = off;
	return have(end, off, 1);
}

static bool vxlan(const uint8_t *p, uint32_t end, uint32_t off, struct pr_tun_hop *hop)
{
	if (!have(end, off, 8) || !(p[off] & 0x08))
		return false;
	hop->type = PR_TUN_VXLAN;
	hop->id = rd32(p + off + 4) >> 8;
	hop->inner = PR_TUN_INNER_ETHERNET;
	hop->inner_off = off + 8;
	return true;
}

static bool vxlan_gpe(const uint8_t *p, uint32_t end, uint32_t off, struct pr_tun_hop *hop)
{
	static const uint16_t next[] = { 0, ETH_P_IPV4,	  ETH_P_IPV6, PR_TUN_INNER_ETHERNET,
					 0, ETH_P_MPLS_UC };

	/* The P flag says a next protocol is given; version 0. */
	if (!have(end, off, 8) || !(p[off] & 0x04) || (p[off] & 0x30))
		return false;
	if (p[off + 3] >= sizeof(next) / sizeof(next[0]) || !next[p[off + 3]])
		return false;
	hop->type = PR_TUN_VXLAN_GPE;
	hop->id = rd32(p + off + 4) >> 8;
	hop->inner = next[p[off + 3]];
	hop->inner_off = off + 8;
	return true;
}

static bool geneve(const uint8_t *p, uint32_t end, uint32_t off, struct pr_tun_hop *hop)
{
	uint32_t optlen;

	if (!have(end, off, 8) || (p[off] >> 6) != 0)
		return false;
	optlen = (uint32_t)(p[off] & 0x3f) * 4;
	hop->type = PR_TUN_GENEVE;
	hop->id = rd32(p + off + 4) >> 8;
	hop->inner = rd16(p + off + 2);
	hop->inner_off = off + 8 + optlen;
	return have(end, hop->inner_off, 1);
}

static bool gtpu(const uint8_t *p, uint32_t end, uint32_t off, struct pr_tun_hop *hop)
{
	uint8_t fl, next;
	uint32_t len;

	/* Version 1, protocol type GTP (not GTP'), message type G-PDU. */
	if (!have(end, off, 8))
		return false;
	fl = p[off];
	if ((fl >> 5) != 1 || !(fl & 0x10) || p[off + 1] != 0xff)
		return false;
	hop->type = PR_TUN_GTPU;
	hop->id = rd32(p + off + 4);
	off += 8;
	if (fl & 0x07) {
		/* Sequence number, N-PDU number and next extension type come together. */
		if (!have(end, off, 4))
			return false;
		next = p[off + 3];
		off += 4;
		for (int i = 0; next; i++) {
			if (i == GTP_MAX_EXT || !have(end, off, 1))
				return false;
			len = (uint32_t)p[off] * 4;
			if (!len || !have(end, off, len))
				return false;
			next = p[off + len - 1];
			off += len;
		}
	}
	hop->inner = ip_by_version(p, end, off);
	hop->inner_off = off;
	return hop->inner != 0;
}

static bool teredo(const uint8_t *p, uint32_t end, uint32_t off, struct pr_tun_hop *hop)
{
	uint32_t plen;

	/* An authentication indication, then an origin indication, both optional. */
	if (have(end, off, 4) && rd16(p + off) == 0x0001)
		off += 4 + (uint32_t)p[off + 2] + p[off + 3] + 8 + 1;
	if (have(end, off, 8) && rd16(p + off) == 0x0000)
		off += 8;
	if (!have(end, off, 40) || (p[off] >> 4) != 6)
		return false;
	plen = rd16(p + off + 4);
	if (plen > end - off - 40)
		return false;
	hop->type = PR_TUN_TEREDO;
	hop->id = 0;
	hop->inner = ETH_P_IPV6;
	hop->inner_off = off;
	return true;
}

bool pr_tunnel_find(const uint8_t *pkt, uint32_t cap, const struct pr_decoded *d,
		    struct pr_tun_hop *hop)
{
	uint32_t off = d->payload_off, end;

	if (!(d->flags & (PR_DEC_IPV4 | PR_DEC_IPV6)) ||
	    (d->flags & (PR_DEC_FRAGMENT | PR_DEC_MALFORMED)) || !off)
		return false;
	end = off + d->payload_len;
	if (end > cap || end < off)
		return false;
	hop->id = 0;
	hop->end = end;
	switch (d->ip_proto) {
	case 4:
	case 41:
		hop->type = d->ip_proto == 4 ? PR_TUN_IPIP : PR_TUN_IPV6_IN_IP;
		hop->inner = d->ip_proto == 4 ? ETH_P_IPV4 : ETH_P_IPV6;
		hop->inner_off = off;
		return ip_by_version(pkt, end, off) == hop->inner;
	case 47:
		return gre(pkt, end, off, hop);
	case 17:
		if (!(d->flags & PR_DEC_L4))
			return false;
		if (d->dport == PR_TUN_UDP_VXLAN)
			return vxlan(pkt, end, off, hop);
		if (d->dport == PR_TUN_UDP_VXLAN_GPE)
			return vxlan_gpe(pkt, end, off, hop);
		if (d->dport == PR_TUN_UDP_GENEVE)
			return geneve(pkt, end, off, hop);
		if (d->sport == PR_TUN_UDP_GTPU || d->dport == PR_TUN_UDP_GTPU)
			return gtpu(pkt, end, off, hop);
		if (d->sport == PR_TUN_UDP_TEREDO || d->dport == PR_TUN_UDP_TEREDO)
			return teredo(pkt, end, off, hop);
		return false;
	default:
		return false;
	}
}

/*
 * Decode the packet a tunnel carries into out, which holds the decode of
 * the packet around it. The inner packet is bounded by the outer
 * datagram. True when the inner packet has an IP header; otherwise out is
 * left as it was: the packet stays on its outer header.
 */
static bool decode_inner(const uint8_t *p, const struct pr_tun_hop *hop, struct pr_decoded *out)
{
	struct pr_decoded outer = *out;
	uint32_t off = hop->inner_off;

	memset(out, 0, sizeof(*out));
	if (hop->inner == PR_TUN_INNER_ETHERNET) {
		if (have(hop->end, off, 14))
			pr_decode_ethertype(p, hop->end, off + 14, rd16(p + off + 12), out);
	} else {
		pr_decode_ethertype(p, hop->end, off, hop->inner, out);
	}
	/* Inner VLAN tags are not the capture's: the outer ones key the flow. */
	out->vlan_count = outer.vlan_count;
	memcpy(out->vlan, outer.vlan, sizeof(out->vlan));
	out->mpls_count = outer.mpls_count;
	if (!(out->flags & (PR_DEC_IPV4 | PR_DEC_IPV6))) {
		*out = outer;
		return false;
	}
	out->l2_ethertype = outer.l2_ethertype;
	out->flags |= PR_DEC_TUNNEL;
	out->tun_count = (uint8_t)(outer.tun_count + 1);
	out->tun_type = hop->type;
	out->tun_id = hop->id;
	if (outer.tun_count) {
		out->outer_ip_version = outer.outer_ip_version;
		out->outer_ip_proto = outer.outer_ip_proto;
		out->outer_l3_off = outer.outer_l3_off;
		out->outer_sport = outer.outer_sport;
		out->outer_dport = outer.outer_dport;
		memcpy(out->outer_src_ip, outer.outer_src_ip, 16);
		memcpy(out->outer_dst_ip, outer.outer_dst_ip, 16);
	} else {
		out->outer_ip_version = outer.ip_version;
		out->outer_ip_proto = outer.ip_proto;
		out->outer_l3_off = outer.l3_off;
		if (outer.ip_proto == 17) {
			out->outer_sport = outer.sport;
			out->outer_dport = outer.dport;
		}
		memcpy(out->outer_src_ip, outer.src_ip, 16);
		memcpy(out->outer_dst_ip, outer.dst_ip, 16);
	}
	return true;
}

void pr_decode(uint32_t linktype, const uint8_t *pkt, uint32_t cap_len, struct pr_decoded *out)
{
	struct pr_tun_hop hop;

	pr_decode_outer(linktype, pkt, cap_len, out);
	for (int depth = 0; depth < PR_DEC_MAX_TUNNELS && pr_tunnel_maybe(out); depth++) {
		if (!pr_tunnel_find(pkt, cap_len, out, &hop) || !decode_inner(pkt, &hop, out))
			break;
	}
}

const char *pr_tun_name(uint8_t type)
{
	static const char *const n[] = {
		[PR_TUN_NONE] = "none",
		[PR_TUN_IPIP] = "ipip",
		[PR_TUN_IPV6_IN_IP] = "ipv6-in-ip",
		[PR_TUN_GRE] = "gre",
		[PR_TUN_ERSPAN] = "erspan",
		[PR_TUN_VXLAN] = "vxlan",
		[PR_TUN_VXLAN_GPE] = "vxlan-gpe",
		[PR_TUN_GENEVE] = "geneve",
		[PR_TUN_GTPU] = "gtp-u",
		[PR_TUN_TEREDO] = "teredo",
	};

	return type < PR_ARRAY_SIZE(n) ? n[type] : NULL;
}
