/* SPDX-License-Identifier: Apache-2.0 */
/*
 * L2-L4 packet decoder. Reads one captured frame of a given LINKTYPE_* and
 * fills a struct pr_decoded with offsets and the fields the flow table
 * needs. Never reads past cap_len; never allocates; never fails: what it
 * could not decode is said in flags (truncated, malformed, non-IP).
 * Dataplane cores, per packet; also the control plane (query filters).
 */
#ifndef PR_DECODE_H
#define PR_DECODE_H

#include <stdbool.h>
#include <stdint.h>

/* LINKTYPE_* values (tcpdump.org/linktypes.html) the decoder understands. */
#define PR_LINKTYPE_NULL 0 /* BSD loopback, host byte order family */
#define PR_LINKTYPE_ETHERNET 1
#define PR_LINKTYPE_PPP 9
#define PR_LINKTYPE_RAW 101
#define PR_LINKTYPE_IEEE802_11 105
#define PR_LINKTYPE_LOOP 108 /* OpenBSD loopback, network byte order family */
#define PR_LINKTYPE_LINUX_SLL 113
#define PR_LINKTYPE_IEEE802_11_RADIOTAP 127
#define PR_LINKTYPE_IPV4 228
#define PR_LINKTYPE_IPV6 229
#define PR_LINKTYPE_NFLOG 239
#define PR_LINKTYPE_LINUX_SLL2 276

/* pr_decoded.flags */
#define PR_DEC_TRUNCATED 0x0001u /* cap_len ended inside a header */
#define PR_DEC_MALFORMED 0x0002u /* an impossible field (IHL < 5, bad length, ...) */
#define PR_DEC_NON_IP 0x0004u /* no IP layer (ARP, LLDP, unknown ethertype/linktype) */
#define PR_DEC_ARP 0x0008u
#define PR_DEC_IPV4 0x0010u
#define PR_DEC_IPV6 0x0020u
#define PR_DEC_FRAGMENT 0x0040u /* IPv4 or IPv6 fragment (first or later) */
#define PR_DEC_FRAG_FIRST 0x0080u /* fragment with offset 0: carries the L4 header */
#define PR_DEC_L4 0x0100u /* sport/dport (or ICMP type/code) are valid */
#define PR_DEC_UNKNOWN_LINKTYPE 0x0200u
#define PR_DEC_TUNNEL 0x0400u /* L3/L4 fields are the innermost packet's; see outer_* */

/* pr_decoded.tun_type: the innermost tunnel a packet was taken out of. */
enum pr_tun_type {
	PR_TUN_NONE = 0,
	PR_TUN_IPIP = 1, /* IPv4 in IPv4/IPv6 (IP protocol 4) */
	PR_TUN_IPV6_IN_IP = 2, /* IPv6 in IPv4/IPv6 (IP protocol 41: 6in4, 6in6) */
	PR_TUN_GRE = 3, /* GRE version 0; id: the key */
	PR_TUN_ERSPAN = 4, /* ERSPAN type I, II or III over GRE; id: the session id */
	PR_TUN_VXLAN = 5, /* UDP 4789; id: the VNI */
	PR_TUN_VXLAN_GPE = 6, /* UDP 4790; id: the VNI */
	PR_TUN_GENEVE = 7, /* UDP 6081; id: the VNI */
	PR_TUN_GTPU = 8, /* GTPv1-U G-PDU on UDP 2152; id: the TEID */
	PR_TUN_TEREDO = 9, /* IPv6 in UDP 3544 */
};

/* Tunnels a packet is taken out of, at most: deeper nesting stays where it is. */
#define PR_DEC_MAX_TUNNELS 4

#define PR_DEC_MAX_VLANS 4

struct pr_decoded {
	uint32_t flags; /* PR_DEC_* */
	uint16_t l2_ethertype; /* last ethertype before L3 (0x0800, 0x86dd, 0x0806, ...) */
	uint8_t vlan_count; /* VLAN tags seen, outermost first (may exceed PR_DEC_MAX_VLANS) */
	uint8_t mpls_count;
	uint16_t vlan[PR_DEC_MAX_VLANS]; /* 12-bit VLAN ids, outermost first */
	uint16_t l3_off; /* offset of the (first) IP header; valid with PR_DEC_IPV4/6 */
	uint16_t l4_off; /* offset of the TCP/UDP/ICMP/... header; valid with PR_DEC_L4 */
	uint32_t payload_off; /* first byte after the L4 header */
	uint32_t payload_len; /* captured payload bytes (bounded by cap_len and IP length) */
	uint8_t ip_version; /* 4 or 6 */
	uint8_t ip_proto; /* final upper-layer protocol after IPv6 extension headers */
	uint8_t ttl; /* IPv4 TTL or IPv6 hop limit */
	uint8_t tcp_flags; /* TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10, ...) */
	uint8_t src_ip[16]; /* IPv4: first 4 bytes, rest zero */
	uint8_t dst_ip[16];
	uint16_t sport; /* TCP/UDP/SCTP ports; ICMP/ICMPv6: type << 8 | code */
	uint16_t dport; /* ICMP/ICMPv6 echo request/reply: identifier, else 0 */
	uint32_t tcp_seq;
	uint32_t tcp_ack;
	uint32_t frag_id; /* IPv4 identification or IPv6 fragment identification */
	uint16_t frag_offset; /* in bytes */
	bool frag_more; /* more fragments follow */
	uint16_t ip_total_len; /* IPv4 total length / IPv6 40 + payload length */
	/*
	 * Tunnels (PR_DEC_TUNNEL): the fields above are the innermost IP
	 * packet's, so that flows are keyed on it; these are the outermost IP
	 * header's and the innermost tunnel's. VLAN and MPLS stay the outer
	 * frame's. An inner packet that is not IP leaves the packet on its
	 * outer header (no PR_DEC_TUNNEL).
	 */
	uint8_t tun_count; /* tunnels descended into (0 without PR_DEC_TUNNEL) */
	uint8_t tun_type; /* enum pr_tun_type of the innermost one */
	uint8_t outer_ip_version; /* 4 or 6 */
	uint8_t outer_ip_proto; /* 4, 41, 47 or 17 */
	uint32_t tun_id; /* VNI, GRE key, TEID or ERSPAN session id; 0 when none */
	uint16_t outer_l3_off;
	uint16_t outer_sport; /* outer UDP ports (VXLAN, GENEVE, GTP-U, Teredo), else 0 */
	uint16_t outer_dport;
	uint8_t outer_src_ip[16];
	uint8_t outer_dst_ip[16];
};

/*
 * Decode one frame. cap_len bytes at pkt are readable. Always fills out
 * completely (zeroing what it did not find). Any thread; no state.
 */
void pr_decode(uint32_t linktype, const uint8_t *pkt, uint32_t cap_len, struct pr_decoded *out);

/*
 * The same without looking into tunnels: the outermost IP header is the
 * key. For a datagram rebuilt from fragments, whose fragments were keyed
 * on it.
 */
void pr_decode_outer(uint32_t linktype, const uint8_t *pkt, uint32_t cap_len,
		     struct pr_decoded *out);

/* "vxlan", "gre", ... for enum pr_tun_type; "none" for 0, NULL when unknown. */
const char *pr_tun_name(uint8_t type);

/* Short name of a linktype ("EN10MB", "LINUX_SLL2", ...) or NULL if unknown. */
const char *pr_linktype_name(uint32_t linktype);

#endif /* PR_DECODE_H */
