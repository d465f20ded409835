// SPDX-License-Identifier: Apache-2.0
/*
 * L2-L4 decoder. Walks one captured frame from its link layer (Ethernet,
 * SLL/SLL2, BSD/OpenBSD loopback, raw IP, PPP, 802.11 with or without
 * radiotap, NFLOG) through VLAN/QinQ tags, LLC/SNAP, MPLS (with pseudowire
 * control word and inner Ethernet) and PPPoE to the first IPv4/IPv6 header,
 * its options or extension headers and the TCP/UDP/SCTP/ICMP/ICMPv6 header,
 * and fills struct pr_decoded: pr_decode_outer(), which stops at the
 * outermost IP header. pr_decode() (pr_tunnel.c) then looks into tunnels
 * and decodes the innermost IP packet, which becomes the flow key. Called per
 * packet by the dataplane cores and by the control plane for query
 * filters; it owns nothing, keeps no state, never allocates or logs, and
 * every load is checked against cap_len first and done byte-wise, so any
 * alignment and any input is safe.
 */
#include "pr_decode.h"

#include <stddef.h>
#include <string.h>

#include "pr_compiler.h"
#include "pr_parse_bytes.h"
#include "pr_tunnel.h"

/*
 * Bounds on header chains: enough for every real stack, small enough that a
 * crafted frame costs a few dozen steps at most.
 */
#define MAX_VLANS 16
#define MAX_MPLS 16
#define MAX_L2_STEPS 40
#define MAX_IPV6_EXT 16
#define MAX_NFLOG_TLVS 64
#define MAX_RADIOTAP_WORDS 8

/*
 * Linktypes decoded beyond the header's list: PPP in HDLC-like framing,
 * PPPoE without Ethernet, and Cisco HDLC (an ethertype after two bytes).
 */
#define LINKTYPE_PPP_HDLC 50
#define LINKTYPE_PPP_ETHER 51
#define LINKTYPE_C_HDLC 104
#define LINKTYPE_JUNIPER_ETHER 178

/* Offsets in struct pr_decoded are 16 bits wide. */
#define OFF_MAX 0xffffu

#define ETH_P_IPV4 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_IPV6 0x86dd
#define ETH_P_MPLS_UC 0x8847
#define ETH_P_MPLS_MC 0x8848
#define ETH_P_PPPOE_SESS 0x8864
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ1 0x9100
#define ETH_P_QINQ2 0x9200

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

#define ARPHRD_NETLINK 824

#define NFULA_PAYLOAD 9
#define NLA_TYPE_MASK 0x3fff

#define RADIOTAP_F_FCS 0x10
#define RADIOTAP_F_DATAPAD 0x20

static inline uint16_t rd16le(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*
 * Inside an IP datagram a header can be cut for two reasons: the capture
 * ended (truncated) or the IP length itself says it cannot fit (malformed).
 * Returns the flag to report, or 0 when the n bytes are there.
 */
static inline uint32_t need(uint32_t cap, uint32_t ip_end, uint32_t off, uint32_t n)
{
	if ((uint64_t)off + n > ip_end)
		return PR_DEC_MALFORMED;
	if ((uint64_t)off + n > cap)
		return PR_DEC_TRUNCATED;
	return 0;
}

static inline uint16_t family_ethertype(uint32_t family)
{
	/* AF_INET6 is 10 on Linux, 24 on Net/OpenBSD, 28 on FreeBSD, 30 on macOS. */
	switch (family) {
	case 2:
		return ETH_P_IPV4;
	case 10:
	case 24:
	case 28:
	case 30:
		return ETH_P_IPV6;
	default:
		return 0;
	}
}

static void decode_l4(const uint8_t *p, uint32_t cap, uint32_t off, uint32_t ip_end,
		      bool len_unknown, struct pr_decoded *out)
{
	const uint8_t *h = p + off;
	uint32_t end = PR_MIN(ip_end, cap);
	uint32_t f, hlen, ulen;

	if (unlikely(off > OFF_MAX)) {
		out->flags |= PR_DEC_MALFORMED;
		return;
	}
	out->l4_off = (uint16_t)off;

	switch (out->ip_proto) {
	case 6: /* TCP */
		f = need(cap, ip_end, off, 4);
		if (f)
			goto bad;
		out->sport = rd16(h);
		out->dport = rd16(h + 2);
		out->flags |= PR_DEC_L4;
		f = need(cap, ip_end, off, 20);
		if (f)
			goto bad;
		out->tcp_seq = rd32(h + 4);
		out->tcp_ack = rd32(h + 8);
		out->tcp_flags = h[13];
		hlen = (uint32_t)(h[12] >> 4) * 4;
		if (hlen < 20) {
			f = PR_DEC_MALFORMED;
			goto bad;
		}
		f = need(cap, ip_end, off, hlen);
		if (f)
			goto bad;
		break;
	case 17: /* UDP */
		f = need(cap, ip_end, off, 4);
		if (f)
			goto bad;
		out->sport = rd16(h);
		out->dport = rd16(h + 2);
		out->flags |= PR_DEC_L4;
		f = need(cap, ip_end, off, 8);
		if (f)
			goto bad;
		hlen = 8;
		ulen = rd16(h + 4);
		/*
		 * Zero is legal only where the IP length is unknown too: IPv6
		 * jumbograms (RFC 2675) and segmentation-offload captures.
		 */
		if (ulen == 0 && len_unknown)
			ulen = end - off;
		if (ulen < 8) {
			f = PR_DEC_MALFORMED;
			goto bad;
		}
		if ((uint64_t)off + ulen < end)
			end = off + ulen;
		break;
	case 132: /* SCTP */
		f = need(cap, ip_end, off, 4);
		if (f)
			goto bad;
		out->sport = rd16(h);
		out->dport = rd16(h + 2);
		out->flags |= PR_DEC_L4;
		hlen = 12;
		f = need(cap, ip_end, off, hlen);
		if (f)
			goto bad;
		break;
	case 1: /* ICMP */
	case 58: /* ICMPv6 */
		f = need(cap, ip_end, off, 2);
		if (f)
			goto bad;
		out->sport = rd16(h);
		out->flags |= PR_DEC_L4;
		hlen = 8;
		f = need(cap, ip_end, off, hlen);
		if (f)
			goto bad;
		/* Echo request/reply: the identifier tells concurrent pings apart. */
		if (out->ip_proto == 1 ? (h[0] == 0 || h[0] == 8) : (h[0] == 128 || h[0] == 129))
			out->dport = rd16(h + 4);
		break;
	default:
		/*
		 * Tunnels, ESP, No Next Header and the rest: no ports, and the
		 * payload is everything the IP datagram carries.
		 */
		hlen = 0;
		break;
	}
	out->payload_off = off + hlen;
	out->payload_len = end - (off + hlen);
	return;
bad:
	out->flags |= f;
}

static void decode_ipv4(const uint8_t *p, uint32_t cap, uint32_t off, struct pr_decoded *out)
{
	const uint8_t *ip = p + off;
	uint32_t hlen, tlen, l4;
	bool len_unknown = false;
	uint16_t frag;

	if (unlikely(off > OFF_MAX)) {
		out->flags |= PR_DEC_MALFORMED;
		return;
	}
	out->l3_off = (uint16_t)off;
	if (!have(cap, off, 1)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || hlen < 20) {
		out->flags |= PR_DEC_MALFORMED;
		return;
	}
	if (!have(cap, off, hlen)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	tlen = rd16(ip + 2);
	if (tlen == 0) {
		/* TSO/GSO captures leave the length to the NIC: trust the capture. */
		len_unknown = true;
		tlen = cap - off;
	}
	out->flags |= PR_DEC_IPV4;
	out->ip_version = 4;
	out->ip_total_len = (uint16_t)PR_MIN(tlen, 0xffffu);
	out->ttl = ip[8];
	out->ip_proto = ip[9];
	memcpy(out->src_ip, ip + 12, 4);
	memcpy(out->dst_ip, ip + 16, 4);
	if (tlen < hlen) {
		out->flags |= PR_DEC_MALFORMED;
		return;
	}

	frag = rd16(ip + 6);
	l4 = off + hlen;
	if (frag & 0x3fff) {
		out->flags |= PR_DEC_FRAGMENT;
		out->frag_id = rd16(ip + 4);
		out->frag_offset = (uint16_t)((frag & 0x1fff) << 3);
		out->frag_more = (frag & 0x2000) != 0;
		if (out->frag_offset) {
			out->payload_off = l4;
			out->payload_len = PR_MIN(off + tlen, cap) - l4;
			return;
		}
		out->flags |= PR_DEC_FRAG_FIRST;
	}
	decode_l4(p, cap, l4, off + tlen, len_unknown, out);
}

static void decode_ipv6(const uint8_t *p, uint32_t cap, uint32_t off, struct pr_decoded *out)
{
	const uint8_t *ip = p + off;
	const uint8_t *h;
	uint32_t plen, ip_end, hlen, f = 0;
	bool len_unknown = false;
	uint16_t frag;
	uint8_t nh;

	if (unlikely(off > OFF_MAX)) {
		out->flags |= PR_DEC_MALFORMED;
		return;
	}
	out->l3_off = (uint16_t)off;
	if (!have(cap, off, 1)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	if ((ip[0] >> 4) != 6) {
		out->flags |= PR_DEC_MALFORMED;
		return;
	}
	if (!have(cap, off, 40)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	plen = rd16(ip + 4);
	if (plen == 0) {
		/* Jumbogram (RFC 2675) or a segmentation-offload capture. */
		len_unknown = true;
		plen = cap - off - 40;
	}
	ip_end = off + 40 + plen;
	nh = ip[6];
	out->flags |= PR_DEC_IPV6;
	out->ip_version = 6;
	out->ip_total_len = (uint16_t)PR_MIN(40 + plen, 0xffffu);
	out->ttl = ip[7];
	memcpy(out->src_ip, ip + 8, 16);
	memcpy(out->dst_ip, ip + 24, 16);

	off += 40;
	for (int i = 0;; i++) {
		out->ip_proto = nh;
		if (i == MAX_IPV6_EXT) {
			f = PR_DEC_MALFORMED;
			break;
		}
		h = p + off;
		switch (nh) {
		case 0: /* hop-by-hop options */
		case 43: /* routing */
		case 60: /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
			f = need(cap, ip_end, off, 2);
			if (f)
				break;
			hlen = ((uint32_t)h[1] + 1) * 8;
			break;
		case 51: /* AH counts 4-byte units, minus 2 */
			f = need(cap, ip_end, off, 2);
			if (f)
				break;
			hlen = ((uint32_t)h[1] + 2) * 4;
			break;
		case 44: /* fragment */
			f = need(cap, ip_end, off, 8);
			if (f)
				break;
			hlen = 8;
			frag = rd16(h + 2);
			out->frag_id = rd32(h + 4);
			out->frag_offset = frag & 0xfff8;
			out->frag_more = frag & 1;
			/* An atomic fragment (offset 0, no M) is a whole packet (RFC 6946). */
			if (out->frag_offset || out->frag_more)
				out->flags |= PR_DEC_FRAGMENT;
			if (out->frag_offset) {
				out->ip_proto = h[0];
				out->payload_off = off + 8;
				out->payload_len = PR_MIN(ip_end, cap) - (off + 8);
				return;
			}
			if (out->frag_more)
				out->flags |= PR_DEC_FRAG_FIRST;
			break;
		default:
			decode_l4(p, cap, off, ip_end, len_unknown, out);
			return;
		}
		if (f)
			break;
		f = need(cap, ip_end, off, hlen);
		if (f)
			break;
		nh = h[0];
		off += hlen;
	}
	out->flags |= f;
}

static void decode_l3(const uint8_t *p, uint32_t cap, uint32_t off, uint16_t type,
		      struct pr_decoded *out)
{
	out->l2_ethertype = type;
	if (type == ETH_P_IPV4)
		decode_ipv4(p, cap, off, out);
	else if (type == ETH_P_IPV6)
		decode_ipv6(p, cap, off, out);
	else
		out->flags |= PR_DEC_NON_IP;
}

/* Raw IP with no link header: the version nibble is all there is. */
static void decode_raw(const uint8_t *p, uint32_t cap, uint32_t off, struct pr_decoded *out)
{
	if (!have(cap, off, 1)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	switch (p[off] >> 4) {
	case 4:
		decode_l3(p, cap, off, ETH_P_IPV4, out);
		break;
	case 6:
		decode_l3(p, cap, off, ETH_P_IPV6, out);
		break;
	default:
		out->flags |= PR_DEC_NON_IP;
		break;
	}
}

/*
 * Everything that follows an ethertype: VLAN tags, LLC/SNAP, MPLS, PPPoE,
 * down to ARP or IP. off is the first byte after the ethertype field. One
 * loop with a step budget instead of recursion, so stacked encapsulations
 * (MPLS pseudowire carrying VLAN-tagged Ethernet ...) cost bounded work.
 */
static void decode_ethertype(const uint8_t *p, uint32_t cap, uint32_t off, uint16_t type,
			     struct pr_decoded *out)
{
	const uint8_t *h;
	uint32_t f = 0;

	for (int step = 0; step < MAX_L2_STEPS; step++) {
		h = p + off;
		out->l2_ethertype = type;
		switch (type) {
		case ETH_P_IPV4:
		case ETH_P_IPV6:
			decode_l3(p, cap, off, type, out);
			return;
		case ETH_P_8021Q:
		case ETH_P_8021AD:
		case ETH_P_QINQ1:
		case ETH_P_QINQ2:
			if (!have(cap, off, 4)) {
				f = PR_DEC_TRUNCATED;
				goto out;
			}
			if (out->vlan_count == MAX_VLANS) {
				f = PR_DEC_MALFORMED;
				goto out;
			}
			if (out->vlan_count < PR_DEC_MAX_VLANS)
				out->vlan[out->vlan_count] = rd16(h) & 0x0fff;
			out->vlan_count++;
			type = rd16(h + 2);
			off += 4;
			break;
		case ETH_P_MPLS_UC:
		case ETH_P_MPLS_MC:
			for (;;) {
				if (!have(cap, off, 4)) {
					f = PR_DEC_TRUNCATED;
					goto out;
				}
				if (out->mpls_count == MAX_MPLS) {
					f = PR_DEC_MALFORMED;
					goto out;
				}
				out->mpls_count++;
				off += 4;
				if (p[off - 2] & 0x01) /* bottom of stack */
					break;
			}
			if (!have(cap, off, 1)) {
				f = PR_DEC_TRUNCATED;
				goto out;
			}
			/*
			 * MPLS does not say what it carries; guess from the
			 * first nibble as every analyser does. 0 is the
			 * pseudowire control word (RFC 4385) before an
			 * Ethernet frame.
			 */
			switch (p[off] >> 4) {
			case 4:
				decode_l3(p, cap, off, ETH_P_IPV4, out);
				out->l2_ethertype = type;
				return;
			case 6:
				decode_l3(p, cap, off, ETH_P_IPV6, out);
				out->l2_ethertype = type;
				return;
			case 0:
				if (!have(cap, off, 4 + 14)) {
					f = PR_DEC_TRUNCATED;
					goto out;
				}
				type = rd16(p + off + 4 + 12);
				off += 4 + 14;
				break;
			default:
				f = PR_DEC_NON_IP;
				goto out;
			}
			break;
		case ETH_P_PPPOE_SESS:
			if (!have(cap, off, 8)) {
				f = PR_DEC_TRUNCATED;
				goto out;
			}
			off += 8;
			switch (rd16(h + 6)) {
			case PPP_IPV4:
				decode_l3(p, cap, off, ETH_P_IPV4, out);
				break;
			case PPP_IPV6:
				decode_l3(p, cap, off, ETH_P_IPV6, out);
				break;
			default:
				out->flags |= PR_DEC_NON_IP;
				break;
			}
			out->l2_ethertype = type;
			return;
		case ETH_P_ARP:
			f = PR_DEC_ARP | PR_DEC_NON_IP;
			goto out;
		default:
			if (type >= 0x0600) {
				f = PR_DEC_NON_IP;
				goto out;
			}
			/*
			 * An 802.3 length: LLC follows. Only SNAP with an
			 * ethertype OUI (RFC 1042, 802.1H) can carry IP.
			 */
			if (!have(cap, off, 3)) {
				f = PR_DEC_TRUNCATED;
				goto out;
			}
			if (h[0] != 0xaa || h[1] != 0xaa || h[2] != 0x03) {
				f = PR_DEC_NON_IP;
				goto out;
			}
			if (!have(cap, off, 8)) {
				f = PR_DEC_TRUNCATED;
				goto out;
			}
			type = rd16(h + 6);
			if (h[3] != 0 || h[4] != 0 || (h[5] != 0 && h[5] != 0xf8) ||
			    type < 0x0600) {
				f = PR_DEC_NON_IP;
				goto out;
			}
			off += 8;
			break;
		}
	}
	f = PR_DEC_MALFORMED;
out:
	out->flags |= f;
}

static void decode_ethernet(const uint8_t *p, uint32_t cap, struct pr_decoded *out)
{
	if (!have(cap, 0, 14)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	decode_ethertype(p, cap, 14, rd16(p + 12), out);
}

/*
 * Juniper's "MGC" pseudo-header (JunOS monitoring and port mirroring):
 * magic "MGC", a flags byte, and when flag 0x80 is set a 2-byte length of
 * extension TLVs that follow. Then the Ethernet frame, or with flag 0x02
 * (layer 2 stripped) a 4-byte cookie and the bare IP packet.
 */
static void decode_juniper_ether(const uint8_t *p, uint32_t cap, struct pr_decoded *out)
{
	uint32_t off = 4;

	if (!have(cap, 0, 4)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	if (p[0] != 'M' || p[1] != 'G' || p[2] != 'C') {
		out->flags |= PR_DEC_MALFORMED | PR_DEC_NON_IP;
		return;
	}
	if (p[3] & 0x80) {
		if (!have(cap, 4, 2)) {
			out->flags |= PR_DEC_TRUNCATED;
			return;
		}
		off = 6 + rd16(p + 4);
	}
	if (p[3] & 0x02) {
		decode_raw(p, cap, off + 4, out);
		return;
	}
	if (!have(cap, off, 14)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	decode_ethertype(p, cap, off + 14, rd16(p + off + 12), out);
}

/*
 * Linux cooked headers. The protocol field is an ethertype except for a few
 * small values (1 Novell 802.3, 4 802.2 LLC, CAN, ...), and for netlink
 * captures it is a netlink family.
 */
static void decode_sll(const uint8_t *p, uint32_t cap, uint32_t hdr_len, uint16_t hatype,
		       uint16_t proto, struct pr_decoded *out)
{
	if (hatype == ARPHRD_NETLINK || (proto < 0x0600 && proto != 0x0004)) {
		out->l2_ethertype = proto;
		out->flags |= PR_DEC_NON_IP;
		return;
	}
	decode_ethertype(p, cap, hdr_len, proto, out);
}

static void decode_ppp(const uint8_t *p, uint32_t cap, struct pr_decoded *out)
{
	uint32_t off = 0;
	uint16_t proto;

	if (have(cap, 0, 2) && p[0] == 0xff && p[1] == 0x03)
		off = 2;
	if (!have(cap, off, 1)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	/* Protocol field compression (RFC 1661): an odd first byte is the whole field. */
	if (p[off] & 0x01) {
		proto = p[off];
		off += 1;
	} else {
		if (!have(cap, off, 2)) {
			out->flags |= PR_DEC_TRUNCATED;
			return;
		}
		proto = rd16(p + off);
		off += 2;
	}
	if (proto == PPP_IPV4)
		decode_l3(p, cap, off, ETH_P_IPV4, out);
	else if (proto == PPP_IPV6)
		decode_l3(p, cap, off, ETH_P_IPV6, out);
	else
		out->flags |= PR_DEC_NON_IP;
}

/* off is the start of the 802.11 header; datapad: radiotap says the header is padded to 4. */
static void decode_80211(const uint8_t *p, uint32_t cap, uint32_t off, bool datapad,
			 struct pr_decoded *out)
{
	const uint8_t *h = p + off;
	uint32_t hlen = 24, qos_off = 0;
	uint8_t fc0, fc1, subtype;

	if (!have(cap, off, 2)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	fc0 = h[0];
	fc1 = h[1];
	subtype = fc0 >> 4;
	/*
	 * Only data frames (version 0, type 2) with a body can carry IP;
	 * subtypes with bit 2 set are null functions. A protected body is
	 * encrypted, so there is nothing to read.
	 */
	if ((fc0 & 0x0f) != 0x08 || (subtype & 0x4) || (fc1 & 0x40)) {
		out->flags |= PR_DEC_NON_IP;
		return;
	}
	if ((fc1 & 0x03) == 0x03) /* ToDS and FromDS: four addresses */
		hlen += 6;
	if (subtype & 0x8) {
		qos_off = hlen;
		hlen += 2;
		if (fc1 & 0x80) /* order bit on QoS data: HT control follows */
			hlen += 4;
	}
	if (!have(cap, off, hlen)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	/* An A-MSDU carries subframes (DA, SA, length, then LLC); read the first. */
	if (qos_off && (h[qos_off] & 0x80))
		hlen += 14;
	if (datapad)
		hlen = PR_ALIGN_UP(hlen, 4u);
	if (!have(cap, off, hlen)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	/* The body starts with LLC: an 802.3 length (any, here 0) takes that branch. */
	decode_ethertype(p, cap, off + hlen, 0, out);
}

static void decode_radiotap(const uint8_t *p, uint32_t cap, struct pr_decoded *out)
{
	uint32_t len, present, word, foff = 8;
	uint8_t rflags = 0;
	int i;

	if (!have(cap, 0, 8)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	len = rd16le(p + 2);
	if (p[0] != 0 || len < 8) {
		out->flags |= PR_DEC_MALFORMED;
		return;
	}
	if (len > cap) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	/*
	 * The Flags field says whether an FCS ends the frame and whether the
	 * 802.11 header is padded. It is field 1 of the first present word,
	 * after the extra present words and an 8-aligned TSFT if there is one.
	 */
	present = rd32le(p + 4);
	word = present;
	for (i = 0; (word & 0x80000000u) && i < MAX_RADIOTAP_WORDS; i++) {
		if (foff + 4 > len)
			break;
		word = rd32le(p + foff);
		foff += 4;
	}
	if ((present & 0x2) && !(word & 0x80000000u)) {
		if (present & 0x1)
			foff = PR_ALIGN_UP(foff, 8u) + 8;
		if (foff < len)
			rflags = p[foff];
	}
	if ((rflags & RADIOTAP_F_FCS) && cap - len >= 4)
		cap -= 4;
	decode_80211(p, cap, len, rflags & RADIOTAP_F_DATAPAD, out);
}

/*
 * NFLOG: family byte, version, resource id, then netlink attributes in the
 * logging host's byte order. The first attribute is always small (the
 * packet header), so a zero first byte with a non-zero second one means the
 * host was big-endian.
 */
static void decode_nflog(const uint8_t *p, uint32_t cap, struct pr_decoded *out)
{
	uint32_t off = 4, tlen, ttype, end;
	bool be;
	uint16_t type;

	if (!have(cap, 0, 8)) {
		out->flags |= PR_DEC_TRUNCATED;
		return;
	}
	be = p[4] == 0 && p[5] != 0;
	for (int i = 0; i < MAX_NFLOG_TLVS; i++) {
		if (off == cap) {
			/* Logged without a payload. */
			out->flags |= PR_DEC_NON_IP;
			return;
		}
		if (!have(cap, off, 4)) {
			out->flags |= PR_DEC_TRUNCATED;
			return;
		}
		tlen = be ? rd16(p + off) : rd16le(p + off);
		ttype = (be ? rd16(p + off + 2) : rd16le(p + off + 2)) & NLA_TYPE_MASK;
		if (tlen < 4) {
			out->flags |= PR_DEC_MALFORMED;
			return;
		}
		if (ttype == NFULA_PAYLOAD) {
			end = (uint64_t)off + tlen < cap ? off + tlen : cap;
			type = family_ethertype(p[0]);
			if (type)
				decode_l3(p, end, off + 4, type, out);
			else
				decode_raw(p, end, off + 4, out);
			return;
		}
		tlen = PR_ALIGN_UP(tlen, 4u);
		if (tlen > cap - off) {
			out->flags |= PR_DEC_TRUNCATED;
			return;
		}
		off += tlen;
	}
	out->flags |= PR_DEC_MALFORMED;
}

void pr_decode_outer(uint32_t linktype, const uint8_t *pkt, uint32_t cap_len,
		     struct pr_decoded *out)
{
	uint32_t family;
	uint16_t type;

	memset(out, 0, sizeof(*out));
	switch (linktype) {
	case PR_LINKTYPE_ETHERNET:
		decode_ethernet(pkt, cap_len, out);
		break;
	case PR_LINKTYPE_RAW:
	case 12: /* DLT_RAW on most systems, written as the linktype by old tools */
	case 14: /* DLT_RAW on OpenBSD */
		decode_raw(pkt, cap_len, 0, out);
		break;
	case PR_LINKTYPE_IPV4:
		decode_l3(pkt, cap_len, 0, ETH_P_IPV4, out);
		break;
	case PR_LINKTYPE_IPV6:
		decode_l3(pkt, cap_len, 0, ETH_P_IPV6, out);
		break;
	case PR_LINKTYPE_LINUX_SLL:
		if (!have(cap_len, 0, 16)) {
			out->flags |= PR_DEC_TRUNCATED;
			break;
		}
		decode_sll(pkt, cap_len, 16, rd16(pkt + 2), rd16(pkt + 14), out);
		break;
	case PR_LINKTYPE_LINUX_SLL2:
		if (!have(cap_len, 0, 20)) {
			out->flags |= PR_DEC_TRUNCATED;
			break;
		}
		decode_sll(pkt, cap_len, 20, rd16(pkt + 8), rd16(pkt), out);
		break;
	case PR_LINKTYPE_NULL:
	case PR_LINKTYPE_LOOP:
		if (!have(cap_len, 0, 4)) {
			out->flags |= PR_DEC_TRUNCATED;
			break;
		}
		/*
		 * NULL is in the capturing host's order; families are small,
		 * so a value with high bits set was written the other way.
		 * Some writers put an ethertype in the low half instead of a
		 * family; Wireshark accepts that too.
		 */
		if (linktype == PR_LINKTYPE_LOOP) {
			family = rd32(pkt);
		} else {
			family = rd32le(pkt);
			if (family > 0xffff)
				family = rd32(pkt);
		}
		type = family_ethertype(family);
		if (!type && ((family & 0xffff) == ETH_P_IPV4 || (family & 0xffff) == ETH_P_IPV6))
			type = (uint16_t)family;
		decode_l3(pkt, cap_len, 4, type, out);
		break;
	case PR_LINKTYPE_PPP:
	case LINKTYPE_PPP_HDLC:
		decode_ppp(pkt, cap_len, out);
		break;
	case LINKTYPE_PPP_ETHER:
		decode_ethertype(pkt, cap_len, 0, ETH_P_PPPOE_SESS, out);
		break;
	case LINKTYPE_C_HDLC:
		if (!have(cap_len, 0, 4)) {
			out->flags |= PR_DEC_TRUNCATED;
			break;
		}
		decode_ethertype(pkt, cap_len, 4, rd16(pkt + 2), out);
		break;
	case LINKTYPE_JUNIPER_ETHER:
		decode_juniper_ether(pkt, cap_len, out);
		break;
	case PR_LINKTYPE_IEEE802_11:
		decode_80211(pkt, cap_len, 0, false, out);
		break;
	case PR_LINKTYPE_IEEE802_11_RADIOTAP:
		decode_radiotap(pkt, cap_len, out);
		break;
	case PR_LINKTYPE_NFLOG:
		decode_nflog(pkt, cap_len, out);
		break;
	default:
		out->flags |= PR_DEC_UNKNOWN_LINKTYPE | PR_DEC_NON_IP;
		break;
	}
}

void pr_decode_ethertype(const uint8_t *p, uint32_t cap, uint32_t off, uint16_t type,
			 struct pr_decoded *out)
{
	decode_ethertype(p, cap, off, type, out);
}

const char *pr_linktype_name(uint32_t linktype)
{
	static const char *const user[16] = {
		"USER0", "USER1", "USER2",  "USER3",  "USER4",	"USER5",  "USER6",  "USER7",
		"USER8", "USER9", "USER10", "USER11", "USER12", "USER13", "USER14", "USER15",
	};

	if (linktype >= 147 && linktype <= 162)
		return user[linktype - 147];
	switch (linktype) {
	case PR_LINKTYPE_NULL:
		return "NULL";
	case PR_LINKTYPE_ETHERNET:
		return "EN10MB";
	case 6:
		return "IEEE802";
	case 7:
		return "ARCNET";
	case 8:
		return "SLIP";
	case PR_LINKTYPE_PPP:
		return "PPP";
	case 10:
		return "FDDI";
	case 12:
	case 14:
	case PR_LINKTYPE_RAW:
		return "RAW";
	case LINKTYPE_PPP_HDLC:
		return "PPP_SERIAL";
	case LINKTYPE_PPP_ETHER:
		return "PPP_ETHER";
	case LINKTYPE_C_HDLC:
		return "C_HDLC";
	case LINKTYPE_JUNIPER_ETHER:
		return "JUNIPER_ETHER";
	case PR_LINKTYPE_IEEE802_11:
		return "IEEE802_11";
	case 107:
		return "FRELAY";
	case PR_LINKTYPE_LOOP:
		return "LOOP";
	case PR_LINKTYPE_LINUX_SLL:
		return "LINUX_SLL";
	case 119:
		return "PRISM_HEADER";
	case PR_LINKTYPE_IEEE802_11_RADIOTAP:
		return "IEEE802_11_RADIO";
	case 163:
		return "IEEE802_11_RADIO_AVS";
	case 192:
		return "PPI";
	case 220:
		return "USB_LINUX_MMAPPED";
	case PR_LINKTYPE_IPV4:
		return "IPV4";
	case PR_LINKTYPE_IPV6:
		return "IPV6";
	case PR_LINKTYPE_NFLOG:
		return "NFLOG";
	case 274:
		return "ETHERNET_MPACKET";
	case PR_LINKTYPE_LINUX_SLL2:
		return "LINUX_SLL2";
	default:
		return NULL;
	}
}
