// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the L2-L4 decoder (pr_decode). Every frame is built byte
 * by byte here so the expected offsets follow from the layout, and each is
 * decoded from an exactly sized heap copy so that AddressSanitizer sees any
 * read past cap_len. Single-threaded; owns nothing beyond each test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_decode.h"

struct pkt {
	uint8_t b[512];
	uint32_t len;
};

static const uint8_t ip4_src[4] = { 192, 0, 2, 1 };
static const uint8_t ip4_dst[4] = { 198, 51, 100, 7 };
static const uint8_t ip6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t ip6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

static void put8(struct pkt *p, unsigned int v)
{
	assert_true(p->len < sizeof(p->b));
	p->b[p->len++] = (uint8_t)v;
}

static void put16(struct pkt *p, unsigned int v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void put16le(struct pkt *p, unsigned int v)
{
	put8(p, v & 0xff);
	put8(p, v >> 8);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void putn(struct pkt *p, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(p, src[i]);
}

static void putz(struct pkt *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(p, 0);
}

static void put_eth(struct pkt *p, unsigned int type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

	putn(p, macs, sizeof(macs));
	put16(p, type);
}

/* IHL above 5 is filled with NOP options. */
static void put_ipv4(struct pkt *p, unsigned int ihl, unsigned int tot, unsigned int id,
		     unsigned int frag, unsigned int ttl, unsigned int proto)
{
	put8(p, 0x40 | ihl);
	put8(p, 0);
	put16(p, tot);
	put16(p, id);
	put16(p, frag);
	put8(p, ttl);
	put8(p, proto);
	put16(p, 0);
	putn(p, ip4_src, 4);
	putn(p, ip4_dst, 4);
	for (unsigned int i = 5; i < ihl; i++)
		put32(p, 0x01010101);
}

static void put_ipv6(struct pkt *p, unsigned int plen, unsigned int nh, unsigned int hlim)
{
	put32(p, 0x60000000);
	put16(p, plen);
	put8(p, nh);
	put8(p, hlim);
	putn(p, ip6_src, 16);
	putn(p, ip6_dst, 16);
}

static void put_tcp(struct pkt *p, unsigned int sport, unsigned int dport, uint32_t seq,
		    uint32_t ack, unsigned int doff, unsigned int flags)
{
	put16(p, sport);
	put16(p, dport);
	put32(p, seq);
	put32(p, ack);
	put8(p, doff << 4);
	put8(p, flags);
	put16(p, 65535);
	put16(p, 0);
	put16(p, 0);
}

static void put_udp(struct pkt *p, unsigned int sport, unsigned int dport, unsigned int ulen)
{
	put16(p, sport);
	put16(p, dport);
	put16(p, ulen);
	put16(p, 0);
}

static void put_mpls(struct pkt *p, uint32_t label, bool bos)
{
	put32(p, label << 12 | (bos ? 1u << 8 : 0) | 64);
}

/* IPv4/UDP 1111 -> 53 with 4 payload bytes. */
static void put_ipv4_udp(struct pkt *p)
{
	put_ipv4(p, 5, 20 + 8 + 4, 1, 0, 64, 17);
	put_udp(p, 1111, 53, 8 + 4);
	put32(p, 0xdeadbeef);
}

/* IPv6/TCP 40000 -> 443 ACK, 3 payload bytes. */
static void put_ipv6_tcp(struct pkt *p)
{
	put_ipv6(p, 20 + 3, 6, 61);
	put_tcp(p, 40000, 443, 7, 9, 5, 0x10);
	put8(p, 'a');
	put8(p, 'b');
	put8(p, 'c');
}

static void decode_cap(uint32_t linktype, const struct pkt *p, uint32_t cap, struct pr_decoded *d)
{
	uint8_t *copy = malloc(cap ? cap : 1);

	assert_non_null(copy);
	memcpy(copy, p->b, cap);
	memset(d, 0xa5, sizeof(*d));
	pr_decode(linktype, copy, cap, d);
	free(copy);
}

static void decode(uint32_t linktype, const struct pkt *p, struct pr_decoded *d)
{
	decode_cap(linktype, p, p->len, d);
}

static void check_ipv4_addrs(const struct pr_decoded *d)
{
	static const uint8_t zero[12];

	assert_int_equal(d->ip_version, 4);
	assert_memory_equal(d->src_ip, ip4_src, 4);
	assert_memory_equal(d->dst_ip, ip4_dst, 4);
	assert_memory_equal(d->src_ip + 4, zero, 12);
	assert_memory_equal(d->dst_ip + 4, zero, 12);
}

static void check_ipv6_addrs(const struct pr_decoded *d)
{
	assert_int_equal(d->ip_version, 6);
	assert_memory_equal(d->src_ip, ip6_src, 16);
	assert_memory_equal(d->dst_ip, ip6_dst, 16);
}

/* Everything put_ipv4_udp() promises, with the IPv4 header at l3. */
static void check_ipv4_udp(const struct pr_decoded *d, unsigned int l3)
{
	assert_int_equal(d->flags, PR_DEC_IPV4 | PR_DEC_L4);
	check_ipv4_addrs(d);
	assert_int_equal(d->l3_off, l3);
	assert_int_equal(d->l4_off, l3 + 20);
	assert_int_equal(d->ip_proto, 17);
	assert_int_equal(d->ip_total_len, 32);
	assert_int_equal(d->ttl, 64);
	assert_int_equal(d->sport, 1111);
	assert_int_equal(d->dport, 53);
	assert_int_equal(d->payload_off, l3 + 28);
	assert_int_equal(d->payload_len, 4);
}

static void check_ipv6_tcp(const struct pr_decoded *d, unsigned int l3)
{
	assert_int_equal(d->flags, PR_DEC_IPV6 | PR_DEC_L4);
	check_ipv6_addrs(d);
	assert_int_equal(d->l3_off, l3);
	assert_int_equal(d->l4_off, l3 + 40);
	assert_int_equal(d->ip_proto, 6);
	assert_int_equal(d->ip_total_len, 63);
	assert_int_equal(d->ttl, 61);
	assert_int_equal(d->sport, 40000);
	assert_int_equal(d->dport, 443);
	assert_int_equal(d->tcp_seq, 7);
	assert_int_equal(d->tcp_ack, 9);
	assert_int_equal(d->tcp_flags, 0x10);
	assert_int_equal(d->payload_off, l3 + 60);
	assert_int_equal(d->payload_len, 3);
}

/* Ethernet/IPv4/TCP SYN with MSS, SACK-permitted, timestamps, NOP, window scale: 74 bytes. */
static void build_syn(struct pkt *p)
{
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	static const uint8_t sack_ok[2] = { 4, 2 };
	static const uint8_t ts[10] = { 8, 10, 0, 0, 0, 1, 0, 0, 0, 0 };
	static const uint8_t nop_wscale[4] = { 1, 3, 3, 7 };

	put_eth(p, 0x0800);
	put_ipv4(p, 5, 60, 0x1c46, 0x4000, 64, 6);
	put_tcp(p, 51234, 80, 0x01020304, 0, 10, 0x02);
	putn(p, mss, sizeof(mss));
	putn(p, sack_ok, sizeof(sack_ok));
	putn(p, ts, sizeof(ts));
	putn(p, nop_wscale, sizeof(nop_wscale));
}

static void test_eth_ipv4_tcp_syn_options(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	build_syn(&p);
	assert_int_equal(p.len, 74);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.l2_ethertype, 0x0800);
	assert_int_equal(d.vlan_count, 0);
	assert_int_equal(d.mpls_count, 0);
	check_ipv4_addrs(&d);
	assert_int_equal(d.l3_off, 14);
	assert_int_equal(d.l4_off, 34);
	assert_int_equal(d.ip_proto, 6);
	assert_int_equal(d.ttl, 64);
	assert_int_equal(d.ip_total_len, 60);
	assert_int_equal(d.sport, 51234);
	assert_int_equal(d.dport, 80);
	assert_int_equal(d.tcp_seq, 0x01020304);
	assert_int_equal(d.tcp_ack, 0);
	assert_int_equal(d.tcp_flags, 0x02);
	assert_int_equal(d.payload_off, 74);
	assert_int_equal(d.payload_len, 0);
	assert_int_equal(d.frag_id, 0);
	assert_int_equal(d.frag_offset, 0);
	assert_false(d.frag_more);
}

static void test_udp_ethernet_padding(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 20 + 8 + 2, 7, 0, 128, 17);
	put_udp(&p, 5353, 5353, 8 + 2);
	put16(&p, 0xabcd);
	putz(&p, 60 - p.len);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	check_ipv4_addrs(&d);
	assert_int_equal(d.ip_total_len, 30);
	assert_int_equal(d.sport, 5353);
	assert_int_equal(d.dport, 5353);
	assert_int_equal(d.payload_off, 42);
	assert_int_equal(d.payload_len, 2);
}

static void test_qinq_three_tags(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x88a8);
	put16(&p, 0xa064); /* PCP 5, VID 100 */
	put16(&p, 0x8100);
	put16(&p, 0x10c8); /* DEI, VID 200 */
	put16(&p, 0x8100);
	put16(&p, 0x012c); /* VID 300 */
	put16(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	check_ipv4_udp(&d, 26);
	assert_int_equal(d.vlan_count, 3);
	assert_int_equal(d.vlan[0], 100);
	assert_int_equal(d.vlan[1], 200);
	assert_int_equal(d.vlan[2], 300);
	assert_int_equal(d.vlan[3], 0);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_vlan_deep_stack(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x9100);
	for (unsigned int i = 1; i <= 6; i++) {
		put16(&p, i);
		put16(&p, i < 6 ? 0x9200 : 0x86dd);
	}
	put_ipv6_tcp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	check_ipv6_tcp(&d, 14 + 6 * 4);
	assert_int_equal(d.vlan_count, 6);
	for (unsigned int i = 0; i < PR_DEC_MAX_VLANS; i++)
		assert_int_equal(d.vlan[i], i + 1);
}

static void test_vlan_too_many_tags(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x8100);
	for (unsigned int i = 0; i < 20; i++) {
		put16(&p, 10);
		put16(&p, 0x8100);
	}
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_MALFORMED);
	assert_int_equal(d.vlan_count, 16);
	assert_int_equal(d.vlan[0], 10);
}

static void test_8023_llc_snap(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 8 + 32); /* 802.3 length */
	put8(&p, 0xaa);
	put8(&p, 0xaa);
	put8(&p, 0x03);
	putz(&p, 3);
	put16(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	check_ipv4_udp(&d, 22);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_8023_llc_stp_non_ip(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 38);
	put8(&p, 0x42);
	put8(&p, 0x42);
	put8(&p, 0x03);
	putz(&p, 35);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_NON_IP);
	assert_int_equal(d.l2_ethertype, 38);
}

static void test_mpls_two_labels_ipv4(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x8847);
	put_mpls(&p, 1000, false);
	put_mpls(&p, 2000, true);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	check_ipv4_udp(&d, 22);
	assert_int_equal(d.mpls_count, 2);
	assert_int_equal(d.vlan_count, 0);
	assert_int_equal(d.l2_ethertype, 0x8847);
}

static void test_mpls_control_word_inner_ethernet(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x8100);
	put16(&p, 7);
	put16(&p, 0x8847);
	put_mpls(&p, 16, true);
	put32(&p, 0); /* pseudowire control word */
	put_eth(&p, 0x8100);
	put16(&p, 42);
	put16(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	check_ipv4_udp(&d, 14 + 4 + 4 + 4 + 14 + 4);
	assert_int_equal(d.mpls_count, 1);
	assert_int_equal(d.vlan_count, 2);
	assert_int_equal(d.vlan[0], 7);
	assert_int_equal(d.vlan[1], 42);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_pppoe_ipv6_udp(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x8864);
	put8(&p, 0x11);
	put8(&p, 0x00);
	put16(&p, 0x1234);
	put16(&p, 2 + 40 + 8 + 4);
	put16(&p, 0x0057);
	put_ipv6(&p, 8 + 4, 17, 255);
	put_udp(&p, 546, 547, 8 + 4);
	put32(&p, 0x01020304);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV6 | PR_DEC_L4);
	check_ipv6_addrs(&d);
	assert_int_equal(d.l2_ethertype, 0x8864);
	assert_int_equal(d.l3_off, 22);
	assert_int_equal(d.l4_off, 62);
	assert_int_equal(d.ip_proto, 17);
	assert_int_equal(d.ttl, 255);
	assert_int_equal(d.ip_total_len, 52);
	assert_int_equal(d.sport, 546);
	assert_int_equal(d.dport, 547);
	assert_int_equal(d.payload_off, 70);
	assert_int_equal(d.payload_len, 4);
}

static void test_pppoe_discovery_non_ip(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x8863);
	put8(&p, 0x11);
	put8(&p, 0x09); /* PADI */
	put16(&p, 0);
	put16(&p, 0);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_NON_IP);
	assert_int_equal(d.l2_ethertype, 0x8863);
}

static void test_arp(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0806);
	put16(&p, 1);
	put16(&p, 0x0800);
	put8(&p, 6);
	put8(&p, 4);
	put16(&p, 1);
	putz(&p, 20);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_ARP | PR_DEC_NON_IP);
	assert_int_equal(d.l2_ethertype, 0x0806);
	assert_int_equal(d.ip_version, 0);
	assert_int_equal(d.l3_off, 0);
}

static void test_ipv4_fragment_first(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 20 + 8 + 16, 0xbeef, 0x2000, 64, 17); /* MF, offset 0 */
	put_udp(&p, 4000, 53, 8 + 3000);
	putz(&p, 16);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_FRAGMENT | PR_DEC_FRAG_FIRST | PR_DEC_L4);
	check_ipv4_addrs(&d);
	assert_int_equal(d.frag_id, 0xbeef);
	assert_int_equal(d.frag_offset, 0);
	assert_true(d.frag_more);
	assert_int_equal(d.sport, 4000);
	assert_int_equal(d.dport, 53);
	assert_int_equal(d.payload_off, 42);
	/* bounded by the IP length, not the UDP length of the whole datagram */
	assert_int_equal(d.payload_len, 16);
}

static void test_ipv4_fragment_later(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 20 + 24, 0xbeef, 185, 64, 17); /* offset 1480, last */
	put_udp(&p, 9, 9, 9); /* looks like UDP but is fragment data */
	putz(&p, 16);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_FRAGMENT);
	check_ipv4_addrs(&d);
	assert_int_equal(d.ip_proto, 17);
	assert_int_equal(d.frag_id, 0xbeef);
	assert_int_equal(d.frag_offset, 1480);
	assert_false(d.frag_more);
	assert_int_equal(d.sport, 0);
	assert_int_equal(d.dport, 0);
	assert_int_equal(d.payload_off, 34);
	assert_int_equal(d.payload_len, 24);
}

static void test_ipv4_options_skipped(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 8, 32 + 8, 1, 0, 1, 17);
	put_udp(&p, 67, 68, 8);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.l4_off, 14 + 32);
	assert_int_equal(d.sport, 67);
	assert_int_equal(d.dport, 68);
	assert_int_equal(d.payload_off, 14 + 40);
	assert_int_equal(d.payload_len, 0);
}

static void test_ipv4_total_len_zero_tso(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 0, 1, 0x4000, 64, 6);
	put_tcp(&p, 1, 2, 3, 4, 5, 0x18);
	putz(&p, 100);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.ip_total_len, 140);
	assert_int_equal(d.payload_off, 54);
	assert_int_equal(d.payload_len, 100);
}

static void test_ipv4_total_len_below_ihl(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 19, 1, 0, 64, 6);
	put_tcp(&p, 1, 2, 3, 4, 5, 0x10);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_MALFORMED);
	check_ipv4_addrs(&d);
	assert_int_equal(d.sport, 0);
}

static void test_snaplen_cut_payload(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 1500, 1, 0x4000, 64, 6);
	put_tcp(&p, 443, 50000, 3, 4, 5, 0x18);
	putz(&p, 42);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	/* Only headers count as truncation; a short payload shows in payload_len. */
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.ip_total_len, 1500);
	assert_int_equal(d.payload_off, 54);
	assert_int_equal(d.payload_len, 42);
}

static void test_ipv6_hop_by_hop_fragment(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x86dd);
	put_ipv6(&p, 8 + 8 + 8 + 8, 0, 64);
	put8(&p, 44); /* hop-by-hop: next header fragment, 8 bytes */
	put8(&p, 0);
	put8(&p, 1); /* PadN, 4 bytes */
	put8(&p, 4);
	putz(&p, 4);
	put8(&p, 17); /* fragment: next header UDP, offset 0, M */
	put8(&p, 0);
	put16(&p, 0x0001);
	put32(&p, 0xdeadbeef);
	put_udp(&p, 5000, 6000, 1000);
	putz(&p, 8);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV6 | PR_DEC_FRAGMENT | PR_DEC_FRAG_FIRST | PR_DEC_L4);
	check_ipv6_addrs(&d);
	assert_int_equal(d.ip_proto, 17);
	assert_int_equal(d.ip_total_len, 72);
	assert_int_equal(d.frag_id, 0xdeadbeef);
	assert_int_equal(d.frag_offset, 0);
	assert_true(d.frag_more);
	assert_int_equal(d.l4_off, 14 + 40 + 16);
	assert_int_equal(d.sport, 5000);
	assert_int_equal(d.dport, 6000);
	assert_int_equal(d.payload_off, 14 + 40 + 16 + 8);
	assert_int_equal(d.payload_len, 8);
}

static void test_ipv6_fragment_later(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x86dd);
	put_ipv6(&p, 8 + 16, 44, 64);
	put8(&p, 6);
	put8(&p, 0);
	put16(&p, 1448); /* offset 181 * 8, last fragment */
	put32(&p, 77);
	putz(&p, 16);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV6 | PR_DEC_FRAGMENT);
	assert_int_equal(d.ip_proto, 6);
	assert_int_equal(d.frag_id, 77);
	assert_int_equal(d.frag_offset, 1448);
	assert_false(d.frag_more);
	assert_int_equal(d.payload_off, 14 + 48);
	assert_int_equal(d.payload_len, 16);
}

static void test_ipv6_routing_tcp(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x86dd);
	put_ipv6(&p, 24 + 20, 43, 64);
	put8(&p, 6); /* segment routing header with one segment: 24 bytes */
	put8(&p, 2);
	put8(&p, 4);
	put8(&p, 0);
	put8(&p, 0);
	putz(&p, 3);
	putn(&p, ip6_dst, 16);
	put_tcp(&p, 179, 33000, 100, 200, 5, 0x11);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV6 | PR_DEC_L4);
	check_ipv6_addrs(&d);
	assert_int_equal(d.ip_proto, 6);
	assert_int_equal(d.l3_off, 14);
	assert_int_equal(d.l4_off, 14 + 40 + 24);
	assert_int_equal(d.sport, 179);
	assert_int_equal(d.dport, 33000);
	assert_int_equal(d.tcp_seq, 100);
	assert_int_equal(d.tcp_ack, 200);
	assert_int_equal(d.tcp_flags, 0x11);
	assert_int_equal(d.payload_off, 14 + 40 + 24 + 20);
	assert_int_equal(d.payload_len, 0);
}

static void test_ipv6_ah_dstopts_udp(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_ipv6(&p, 24 + 8 + 8, 51, 64);
	put8(&p, 60); /* AH, 24 bytes: (4 + 2) * 4 */
	put8(&p, 4);
	putz(&p, 22);
	put8(&p, 17); /* destination options, 8 bytes */
	put8(&p, 0);
	putz(&p, 6);
	put_udp(&p, 500, 500, 8);
	decode(PR_LINKTYPE_IPV6, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV6 | PR_DEC_L4);
	assert_int_equal(d.ip_proto, 17);
	assert_int_equal(d.l4_off, 40 + 24 + 8);
	assert_int_equal(d.sport, 500);
}

static void test_ipv6_no_next_header(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_ipv6(&p, 8, 59, 64);
	putz(&p, 8);
	decode(PR_LINKTYPE_RAW, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV6);
	assert_int_equal(d.ip_proto, 59);
	assert_int_equal(d.sport, 0);
}

/* pr_decode_outer() stops at the GRE header; pr_decode() opens it. */
static void test_gre_outer_only(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 20 + 4 + 32, 1, 0, 64, 47);
	put16(&p, 0);
	put16(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4 | PR_DEC_TUNNEL);
	assert_int_equal(d.tun_type, PR_TUN_GRE);
	assert_int_equal(d.l3_off, 38);
	assert_int_equal(d.sport, 1111);
	memset(&d, 0xa5, sizeof(d));
	pr_decode_outer(PR_LINKTYPE_ETHERNET, p.b, p.len, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4);
	check_ipv4_addrs(&d);
	assert_int_equal(d.ip_proto, 47);
	assert_int_equal(d.l3_off, 14);
	assert_int_equal(d.sport, 0);
	assert_int_equal(d.payload_off, 34);
	assert_int_equal(d.payload_len, 36);
}

static void test_sctp_ports(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_ipv4(&p, 5, 20 + 12, 1, 0, 64, 132);
	put16(&p, 2905);
	put16(&p, 2906);
	put32(&p, 0x11223344);
	put32(&p, 0);
	decode(PR_LINKTYPE_IPV4, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.sport, 2905);
	assert_int_equal(d.dport, 2906);
	assert_int_equal(d.payload_off, 32);
	assert_int_equal(d.payload_len, 0);
}

static void test_icmp_echo_id(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 20 + 8 + 8, 1, 0, 64, 1);
	put8(&p, 8);
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, 0x4d2e);
	put16(&p, 1);
	putz(&p, 8);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.ip_proto, 1);
	assert_int_equal(d.sport, 0x0800);
	assert_int_equal(d.dport, 0x4d2e);
	assert_int_equal(d.payload_off, 42);
	assert_int_equal(d.payload_len, 8);
}

static void test_icmp_error_not_descended(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_ipv4(&p, 5, 20 + 8 + 32, 1, 0, 64, 1);
	put8(&p, 3); /* port unreachable */
	put8(&p, 3);
	put16(&p, 0);
	put32(&p, 0);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_IPV4, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.sport, 0x0303);
	assert_int_equal(d.dport, 0);
	assert_int_equal(d.l4_off, 20);
	assert_int_equal(d.payload_off, 28);
	assert_int_equal(d.payload_len, 32);
}

static void test_icmpv6_echo(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x86dd);
	put_ipv6(&p, 8 + 4, 58, 64);
	put8(&p, 129);
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, 0xbeef);
	put16(&p, 3);
	put32(&p, 0);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV6 | PR_DEC_L4);
	assert_int_equal(d.ip_proto, 58);
	assert_int_equal(d.sport, 129 << 8);
	assert_int_equal(d.dport, 0xbeef);
	assert_int_equal(d.payload_off, 14 + 48);
	assert_int_equal(d.payload_len, 4);
}

static void test_linux_sll(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put16(&p, 4); /* sent by us */
	put16(&p, 1); /* ARPHRD_ETHER */
	put16(&p, 6);
	putz(&p, 8);
	put16(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_LINUX_SLL, &p, &d);
	check_ipv4_udp(&d, 16);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_linux_sll2(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put16(&p, 0x86dd);
	put16(&p, 0);
	put32(&p, 3); /* ifindex */
	put16(&p, 1);
	put8(&p, 0);
	put8(&p, 6);
	putz(&p, 8);
	put_ipv6_tcp(&p);
	decode(PR_LINKTYPE_LINUX_SLL2, &p, &d);
	check_ipv6_tcp(&d, 20);
	assert_int_equal(d.l2_ethertype, 0x86dd);
}

static void test_raw_ipv4(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_RAW, &p, &d);
	check_ipv4_udp(&d, 0);
	decode(12, &p, &d);
	check_ipv4_udp(&d, 0);
	decode(14, &p, &d);
	check_ipv4_udp(&d, 0);
	decode(PR_LINKTYPE_IPV4, &p, &d);
	check_ipv4_udp(&d, 0);
}

static void test_raw_ipv6(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_ipv6_tcp(&p);
	decode(PR_LINKTYPE_RAW, &p, &d);
	check_ipv6_tcp(&d, 0);
	decode(PR_LINKTYPE_IPV6, &p, &d);
	check_ipv6_tcp(&d, 0);
	/* the IPv4 linktype insists on version 4 */
	decode(PR_LINKTYPE_IPV4, &p, &d);
	assert_int_equal(d.flags, PR_DEC_MALFORMED);
}

static void test_null_little_endian(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 2);
	putz(&p, 3);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_NULL, &p, &d);
	check_ipv4_udp(&d, 4);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_null_big_endian(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put32(&p, 30); /* AF_INET6 on macOS */
	put_ipv6_tcp(&p);
	decode(PR_LINKTYPE_NULL, &p, &d);
	check_ipv6_tcp(&d, 4);
	assert_int_equal(d.l2_ethertype, 0x86dd);
}

static void test_null_unknown_family(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put32(&p, 0x07000000); /* 7 in little-endian */
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_NULL, &p, &d);
	assert_int_equal(d.flags, PR_DEC_NON_IP);
}

static void test_null_ethertype_in_low_half(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put16(&p, 0x0f00);
	put16(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_NULL, &p, &d);
	check_ipv4_udp(&d, 4);
}

static void test_loop(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put32(&p, 24); /* AF_INET6 on OpenBSD, network order */
	put_ipv6_tcp(&p);
	decode(PR_LINKTYPE_LOOP, &p, &d);
	check_ipv6_tcp(&d, 4);

	p.len = 0;
	put32(&p, 2);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_LOOP, &p, &d);
	check_ipv4_udp(&d, 4);
}

static void test_ppp_address_control(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0xff);
	put8(&p, 0x03);
	put16(&p, 0x0021);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_PPP, &p, &d);
	check_ipv4_udp(&d, 4);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_ppp_compressed_protocol(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0x57);
	put_ipv6_tcp(&p);
	decode(PR_LINKTYPE_PPP, &p, &d);
	check_ipv6_tcp(&d, 1);

	p.len = 0;
	put16(&p, 0xc021); /* LCP */
	putz(&p, 8);
	decode(PR_LINKTYPE_PPP, &p, &d);
	assert_int_equal(d.flags, PR_DEC_NON_IP);
}

static void test_ppp_hdlc_and_ppp_ether(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0xff);
	put8(&p, 0x03);
	put16(&p, 0x0057);
	put_ipv6_tcp(&p);
	decode(50, &p, &d);
	check_ipv6_tcp(&d, 4);

	p.len = 0;
	put8(&p, 0x11);
	put8(&p, 0);
	put16(&p, 1);
	put16(&p, 2 + 32);
	put16(&p, 0x0021);
	put_ipv4_udp(&p);
	decode(51, &p, &d);
	check_ipv4_udp(&d, 8);
	assert_int_equal(d.l2_ethertype, 0x8864);
}

static void test_cisco_hdlc_mpls(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0x0f);
	put8(&p, 0x00);
	put16(&p, 0x8847);
	put_mpls(&p, 18, true);
	put_ipv4_udp(&p);
	decode(104, &p, &d);
	check_ipv4_udp(&d, 8);
	assert_int_equal(d.mpls_count, 1);
	assert_int_equal(d.l2_ethertype, 0x8847);
}

/* Juniper "MGC" header with 16 bytes of extensions, then Ethernet; truncated and bad magic too. */
static void test_juniper_ether(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;
	uint32_t full;

	(void)state;
	put8(&p, 'M');
	put8(&p, 'G');
	put8(&p, 'C');
	put8(&p, 0x80);
	put16(&p, 16);
	putz(&p, 16);
	put_eth(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(178, &p, &d);
	check_ipv4_udp(&d, 22 + 14);
	assert_string_equal(pr_linktype_name(178), "JUNIPER_ETHER");
	full = p.len;
	for (p.len = 0; p.len < 22 + 14; p.len++) {
		decode(178, &p, &d);
		assert_true(d.flags & PR_DEC_TRUNCATED);
		assert_false(d.flags & PR_DEC_IPV4);
	}
	p.len = full;
	p.b[1] = 'X';
	decode(178, &p, &d);
	assert_true(d.flags & PR_DEC_MALFORMED);
	assert_false(d.flags & PR_DEC_IPV4);
}

static void put_snap(struct pkt *p, unsigned int type)
{
	put8(p, 0xaa);
	put8(p, 0xaa);
	put8(p, 0x03);
	putz(p, 3);
	put16(p, type);
}

static void test_radiotap_qos_data_snap_udp(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0);
	put8(&p, 0);
	put16le(&p, 18);
	put32(&p, 0x07000000); /* present: TSFT, flags, rate (little-endian) */
	putz(&p, 8);
	put8(&p, 0); /* flags */
	put8(&p, 2); /* rate */
	put8(&p, 0x88); /* QoS data */
	put8(&p, 0x01); /* ToDS */
	put16(&p, 0);
	putz(&p, 18); /* three addresses */
	put16(&p, 0);
	put16(&p, 0x0000); /* QoS control */
	put_snap(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_IEEE802_11_RADIOTAP, &p, &d);
	check_ipv4_udp(&d, 18 + 26 + 8);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_radiotap_fcs_datapad(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0);
	put8(&p, 0);
	put16le(&p, 10);
	put32(&p, 0x02000000); /* present: flags */
	put8(&p, 0x30); /* FCS at end, header padded to 4 */
	put8(&p, 0);
	put8(&p, 0x88);
	put8(&p, 0x02); /* FromDS */
	putz(&p, 22);
	put16(&p, 0);
	putz(&p, 2); /* padding to 28 */
	put_snap(&p, 0x86dd);
	put_ipv6_tcp(&p);
	put32(&p, 0x11223344); /* FCS */
	decode(PR_LINKTYPE_IEEE802_11_RADIOTAP, &p, &d);
	check_ipv6_tcp(&d, 10 + 28 + 8);
}

static void test_80211_four_address_ht_control(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0x88);
	put8(&p, 0x83); /* ToDS, FromDS, order */
	put16(&p, 0);
	putz(&p, 18);
	put16(&p, 0);
	putz(&p, 6); /* fourth address */
	put16(&p, 0); /* QoS control */
	put32(&p, 0); /* HT control */
	put_snap(&p, 0x86dd);
	put_ipv6_tcp(&p);
	decode(PR_LINKTYPE_IEEE802_11, &p, &d);
	check_ipv6_tcp(&d, 36 + 8);
}

static void test_80211_protected_non_ip(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 0x08);
	put8(&p, 0x41); /* ToDS, protected */
	putz(&p, 22);
	put_snap(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_IEEE802_11, &p, &d);
	assert_int_equal(d.flags, PR_DEC_NON_IP);

	p.b[0] = 0x80; /* beacon */
	p.b[1] = 0x00;
	decode(PR_LINKTYPE_IEEE802_11, &p, &d);
	assert_int_equal(d.flags, PR_DEC_NON_IP);
}

static void test_nflog(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 2); /* AF_INET */
	put8(&p, 0);
	put16(&p, 0);
	put16le(&p, 8); /* NFULA_PACKET_HDR */
	put16le(&p, 1);
	put16(&p, 0x0800);
	put8(&p, 3);
	put8(&p, 0);
	put16le(&p, 9); /* NFULA_PREFIX "test", padded to 12 */
	put16le(&p, 10);
	putn(&p, (const uint8_t *)"test", 5);
	putz(&p, 3);
	put16le(&p, 4 + 32); /* NFULA_PAYLOAD */
	put16le(&p, 9);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_NFLOG, &p, &d);
	check_ipv4_udp(&d, 28);
	assert_int_equal(d.l2_ethertype, 0x0800);
}

static void test_nflog_big_endian_host(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put8(&p, 10); /* AF_INET6 */
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, 8);
	put16(&p, 1);
	put16(&p, 0x86dd);
	put8(&p, 3);
	put8(&p, 0);
	put16(&p, 4 + 63);
	put16(&p, 9);
	put_ipv6_tcp(&p);
	put8(&p, 0); /* attribute padding */
	decode(PR_LINKTYPE_NFLOG, &p, &d);
	check_ipv6_tcp(&d, 16);
}

static void test_truncated_every_byte(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	build_syn(&p);
	for (uint32_t cap = 0; cap < p.len; cap++) {
		decode_cap(PR_LINKTYPE_ETHERNET, &p, cap, &d);
		assert_true(d.flags & PR_DEC_TRUNCATED);
		assert_false(d.flags & (PR_DEC_MALFORMED | PR_DEC_NON_IP));
		assert_int_equal(d.payload_off, 0);
		assert_int_equal(d.payload_len, 0);
		if (cap < 34) {
			assert_false(d.flags & PR_DEC_IPV4);
			assert_int_equal(d.ip_version, 0);
		} else {
			assert_true(d.flags & PR_DEC_IPV4);
			check_ipv4_addrs(&d);
			assert_int_equal(d.ip_total_len, 60);
		}
		if (cap < 38) {
			assert_false(d.flags & PR_DEC_L4);
			assert_int_equal(d.sport, 0);
		} else {
			assert_true(d.flags & PR_DEC_L4);
			assert_int_equal(d.sport, 51234);
			assert_int_equal(d.dport, 80);
		}
		assert_int_equal(d.tcp_seq, cap < 54 ? 0 : 0x01020304);
		assert_int_equal(d.tcp_flags, cap < 54 ? 0 : 0x02);
	}
	decode_cap(PR_LINKTYPE_ETHERNET, &p, p.len, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.payload_off, 74);
}

static void test_malformed_ihl(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 4, 40, 1, 0, 64, 6);
	put_tcp(&p, 1, 2, 3, 4, 5, 0x02);
	putz(&p, 4);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_MALFORMED);
	assert_int_equal(d.ip_version, 0);
	assert_int_equal(d.sport, 0);
}

static void test_malformed_tcp_data_offset(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 40, 1, 0, 64, 6);
	put_tcp(&p, 1234, 80, 3, 4, 4, 0x02);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	/* the ports were read, so L4 stays; no payload is claimed */
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4 | PR_DEC_MALFORMED);
	assert_int_equal(d.sport, 1234);
	assert_int_equal(d.dport, 80);
	assert_int_equal(d.payload_off, 0);
	assert_int_equal(d.payload_len, 0);
}

static void test_tcp_header_beyond_ip_length(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 40, 1, 0, 64, 6);
	put_tcp(&p, 1234, 80, 3, 4, 8, 0x02); /* 32-byte header in 20 bytes of IP */
	putz(&p, 12);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4 | PR_DEC_MALFORMED);
	assert_int_equal(d.payload_off, 0);
}

static void test_udp_length_below_8(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4(&p, 5, 28, 1, 0, 64, 17);
	put_udp(&p, 53, 1024, 7);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4 | PR_DEC_MALFORMED);
	assert_int_equal(d.sport, 53);
	assert_int_equal(d.dport, 1024);
	assert_int_equal(d.payload_off, 0);
}

static void test_unknown_linktype(void **state)
{
	static const uint8_t zero[sizeof(struct pr_decoded)];
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	put_ipv4_udp(&p);
	decode(147, &p, &d);
	assert_int_equal(d.flags, PR_DEC_UNKNOWN_LINKTYPE | PR_DEC_NON_IP);
	/* everything else zeroed, whatever was there before */
	d.flags = 0;
	assert_memory_equal(&d, zero, sizeof(d));
}

static void test_linktype_names(void **state)
{
	(void)state;
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_NULL), "NULL");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_ETHERNET), "EN10MB");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_PPP), "PPP");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_RAW), "RAW");
	assert_string_equal(pr_linktype_name(12), "RAW");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_IEEE802_11), "IEEE802_11");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_LOOP), "LOOP");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_LINUX_SLL), "LINUX_SLL");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_IEEE802_11_RADIOTAP), "IEEE802_11_RADIO");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_IPV4), "IPV4");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_IPV6), "IPV6");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_NFLOG), "NFLOG");
	assert_string_equal(pr_linktype_name(PR_LINKTYPE_LINUX_SLL2), "LINUX_SLL2");
	assert_string_equal(pr_linktype_name(6), "IEEE802");
	assert_string_equal(pr_linktype_name(104), "C_HDLC");
	assert_string_equal(pr_linktype_name(147), "USER0");
	assert_string_equal(pr_linktype_name(162), "USER15");
	assert_null(pr_linktype_name(163 + 1000));
	assert_null(pr_linktype_name(0xffffffffu));
}

/* ---- tunnels: the inner packet is the key, the outer one is kept apart ---- */

static const uint8_t o4_src[4] = { 10, 1, 0, 1 };
static const uint8_t o4_dst[4] = { 10, 2, 0, 2 };

static void put_ipv4_outer(struct pkt *p, unsigned int tot, unsigned int frag, unsigned int proto)
{
	put8(p, 0x45);
	put8(p, 0);
	put16(p, tot);
	put16(p, 9);
	put16(p, frag);
	put8(p, 30);
	put8(p, proto);
	put16(p, 0);
	putn(p, o4_src, 4);
	putn(p, o4_dst, 4);
}

/* Ethernet, outer IPv4, UDP to dport: the IP total length is patched by finish_outer(). */
static void put_outer_udp(struct pkt *p, unsigned int sport, unsigned int dport)
{
	put_eth(p, 0x0800);
	put_ipv4_outer(p, 0, 0, 17);
	put_udp(p, sport, dport, 0);
}

/* Fill in the outer IPv4 total length (at 14) and, for UDP, its length. */
static void finish_outer(struct pkt *p)
{
	unsigned int tot = p->len - 14;

	p->b[16] = (uint8_t)(tot >> 8);
	p->b[17] = (uint8_t)tot;
	if (p->b[14 + 9] == 17) {
		p->b[14 + 20 + 4] = (uint8_t)((tot - 20) >> 8);
		p->b[14 + 20 + 5] = (uint8_t)(tot - 20);
	}
}

/* d is put_ipv4_udp()'s packet at l3, taken out of a tunnel with outer o4_src -> o4_dst. */
static void check_tunnelled_ipv4_udp(const struct pr_decoded *d, unsigned int l3, unsigned int type,
				     uint32_t id)
{
	struct pr_decoded inner = *d;

	assert_true(d->flags & PR_DEC_TUNNEL);
	inner.flags &= ~PR_DEC_TUNNEL;
	check_ipv4_udp(&inner, l3);
	assert_int_equal(d->tun_count, 1);
	assert_int_equal(d->tun_type, type);
	assert_int_equal(d->tun_id, id);
	assert_int_equal(d->outer_ip_version, 4);
	assert_int_equal(d->outer_l3_off, 14);
	assert_memory_equal(d->outer_src_ip, o4_src, 4);
	assert_memory_equal(d->outer_dst_ip, o4_dst, 4);
	assert_int_equal(d->l2_ethertype, 0x0800);
}

/* Ethernet, outer IPv4 and a GRE header with these flags and protocol type. */
static void put_outer_gre(struct pkt *p, unsigned int flags, unsigned int ptype)
{
	put_eth(p, 0x0800);
	put_ipv4_outer(p, 0, 0, 47);
	put16(p, flags);
	put16(p, ptype);
}

/* End the frame with an inner Ethernet + put_ipv4_udp() and decode it; returns the inner l3. */
static unsigned int end_eth_ipv4_udp(struct pkt *p, struct pr_decoded *d)
{
	unsigned int inner;

	put_eth(p, 0x0800);
	inner = p->len;
	put_ipv4_udp(p);
	finish_outer(p);
	decode(PR_LINKTYPE_ETHERNET, p, d);
	return inner;
}

static void test_tunnel_vxlan(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;
	unsigned int inner;

	(void)state;
	put_outer_udp(&p, 50000, 4789);
	put32(&p, 0x08000000);
	put32(&p, 0x12345600);
	inner = end_eth_ipv4_udp(&p, &d);
	check_tunnelled_ipv4_udp(&d, inner, PR_TUN_VXLAN, 0x123456);
	assert_int_equal(d.outer_ip_proto, 17);
	assert_int_equal(d.outer_sport, 50000);
	assert_int_equal(d.outer_dport, 4789);
	/* Without the I flag it is not VXLAN: the packet stays on its UDP header. */
	p.b[14 + 28] = 0;
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.dport, 4789);
	assert_memory_equal(d.src_ip, o4_src, 4);
	assert_int_equal(d.tun_count, 0);
}

static void test_tunnel_vxlan_inner_not_ip(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_outer_udp(&p, 50000, 4789);
	put32(&p, 0x08000000);
	put32(&p, 0x00000100);
	put_eth(&p, 0x0806);
	putz(&p, 28);
	finish_outer(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_memory_equal(d.dst_ip, o4_dst, 4);
	assert_int_equal(d.dport, 4789);
	assert_int_equal(d.payload_len, 8 + 14 + 28);
}

static void test_tunnel_gre_key_seq_ipv6(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d, inner;

	(void)state;
	put_outer_gre(&p, 0xb000, 0x86dd); /* C, K, S */
	put32(&p, 0); /* checksum, reserved */
	put32(&p, 0xcafe0001); /* key */
	put32(&p, 77); /* sequence */
	put_ipv6_tcp(&p);
	finish_outer(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	inner = d;
	inner.flags &= ~PR_DEC_TUNNEL;
	check_ipv6_tcp(&inner, 14 + 20 + 16);
	assert_int_equal(d.tun_type, PR_TUN_GRE);
	assert_int_equal(d.tun_id, 0xcafe0001);
	assert_int_equal(d.outer_ip_proto, 47);
	assert_int_equal(d.outer_sport, 0);
	/* GRE version 1 (PPTP) is not looked into. */
	p.b[14 + 21] = 0x01;
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4);
	assert_int_equal(d.ip_proto, 47);
	assert_memory_equal(d.src_ip, o4_src, 4);
}

static void test_tunnel_erspan(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;
	unsigned int inner;

	(void)state;
	/* Type I: GRE 0x88be without a sequence number, the frame right away. */
	put_outer_gre(&p, 0x0000, 0x88be);
	inner = end_eth_ipv4_udp(&p, &d);
	check_tunnelled_ipv4_udp(&d, inner, PR_TUN_ERSPAN, 0);

	/* Type II: with S, an 8-byte header holding session 0x155. */
	memset(&p, 0, sizeof(p));
	put_outer_gre(&p, 0x1000, 0x88be);
	put32(&p, 5);
	put32(&p, 0x10002155);
	put32(&p, 0);
	inner = end_eth_ipv4_udp(&p, &d);
	check_tunnelled_ipv4_udp(&d, inner, PR_TUN_ERSPAN, 0x155);

	/* Type III with the O flag: 12 bytes and an 8-byte platform subheader. */
	memset(&p, 0, sizeof(p));
	put_outer_gre(&p, 0x1000, 0x22eb);
	put32(&p, 6);
	put32(&p, 0x20000042);
	put32(&p, 0x11223344);
	put32(&p, 0x00000001);
	putz(&p, 8);
	inner = end_eth_ipv4_udp(&p, &d);
	check_tunnelled_ipv4_udp(&d, inner, PR_TUN_ERSPAN, 0x42);
}

static void test_tunnel_geneve_options(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;
	unsigned int inner;

	(void)state;
	put_outer_udp(&p, 40000, 6081);
	put16(&p, 0x0200); /* version 0, 2 words of options */
	put16(&p, 0x6558);
	put32(&p, 0x00abcd00);
	putz(&p, 8);
	inner = end_eth_ipv4_udp(&p, &d);
	check_tunnelled_ipv4_udp(&d, inner, PR_TUN_GENEVE, 0xabcd);
	/* Options that run past the datagram: not looked into. */
	p.b[14 + 28] = 0x3f;
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.dport, 6081);
}

static void test_tunnel_gtpu_extension(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;
	unsigned int inner;

	(void)state;
	put_outer_udp(&p, 2152, 2152);
	put8(&p, 0x36); /* version 1, PT, E, S */
	put8(&p, 0xff); /* G-PDU */
	put16(&p, 0);
	put32(&p, 0x01020304);
	put16(&p, 1); /* sequence */
	put8(&p, 0); /* N-PDU */
	put8(&p, 0x85); /* PDU session container follows */
	put8(&p, 1); /* one 4-byte word */
	put8(&p, 0x10);
	put8(&p, 0x05);
	put8(&p, 0); /* no more extensions */
	inner = p.len;
	put_ipv4_udp(&p);
	finish_outer(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	check_tunnelled_ipv4_udp(&d, inner, PR_TUN_GTPU, 0x01020304);
	/* An echo request (type 1) carries no user packet. */
	p.b[14 + 28 + 1] = 1;
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.dport, 2152);
	/* An extension header of length 0 would never end: not looked into. */
	p.b[14 + 28 + 1] = 0xff;
	p.b[14 + 28 + 12] = 0;
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
}

static void test_tunnel_teredo_origin(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d, inner;

	(void)state;
	put_outer_udp(&p, 3544, 61000);
	put16(&p, 0x0000); /* origin indication */
	put16(&p, 0x1234);
	put32(&p, 0x01020304);
	put_ipv6_tcp(&p);
	finish_outer(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	inner = d;
	inner.flags &= ~PR_DEC_TUNNEL;
	check_ipv6_tcp(&inner, 14 + 28 + 8);
	assert_int_equal(d.tun_type, PR_TUN_TEREDO);
	assert_int_equal(d.outer_sport, 3544);
	/* Ordinary traffic from port 3544 that is not IPv6 stays UDP. */
	p.b[14 + 28 + 8] = 0x45;
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_L4);
	assert_int_equal(d.sport, 3544);
}

static void test_tunnel_ip_in_ip(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d, inner;

	(void)state;
	/* 6in4 */
	put_eth(&p, 0x0800);
	put_ipv4_outer(&p, 0, 0, 41);
	put_ipv6_tcp(&p);
	finish_outer(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	inner = d;
	inner.flags &= ~PR_DEC_TUNNEL;
	check_ipv6_tcp(&inner, 34);
	assert_int_equal(d.tun_type, PR_TUN_IPV6_IN_IP);
	assert_int_equal(d.outer_ip_proto, 41);
	/* Protocol 41 with an IPv4 header inside is not 6in4. */
	memset(&p, 0, sizeof(p));
	put_eth(&p, 0x0800);
	put_ipv4_outer(&p, 0, 0, 41);
	put_ipv4_udp(&p);
	finish_outer(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4);
	assert_memory_equal(d.src_ip, o4_src, 4);
	/* pr_decode_outer() never looks inside. */
	p.b[14 + 9] = 4;
	pr_decode_outer(PR_LINKTYPE_ETHERNET, p.b, p.len, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4);
	assert_int_equal(d.ip_proto, 4);
	pr_decode(PR_LINKTYPE_ETHERNET, p.b, p.len, &d);
	check_tunnelled_ipv4_udp(&d, 34, PR_TUN_IPIP, 0);
}

/* IPIP six deep: four are opened, the fifth header is the key. */
static void test_tunnel_nesting_bounded(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;

	(void)state;
	put_eth(&p, 0x0800);
	for (int i = 0; i < 6; i++)
		put_ipv4_outer(&p, 20 * (6 - i) + 32, 0, 4);
	put_ipv4_udp(&p);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.tun_count, PR_DEC_MAX_TUNNELS);
	assert_int_equal(d.l3_off, 14 + 20 * PR_DEC_MAX_TUNNELS);
	assert_int_equal(d.ip_proto, 4);
	assert_int_equal(d.outer_l3_off, 14);
}

/* An outer fragment is not looked into; a cut inner packet is bounded. */
static void test_tunnel_fragment_and_truncation(void **state)
{
	struct pkt p = { 0 };
	struct pr_decoded d;
	uint32_t cap;

	(void)state;
	put_outer_udp(&p, 50000, 4789);
	put32(&p, 0x08000000);
	put32(&p, 0x00000700);
	put_eth(&p, 0x0800);
	put_ipv4_udp(&p);
	finish_outer(&p);
	p.b[14 + 6] = 0x20; /* more fragments */
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_int_equal(d.flags, PR_DEC_IPV4 | PR_DEC_FRAGMENT | PR_DEC_FRAG_FIRST | PR_DEC_L4);
	assert_int_equal(d.dport, 4789);
	p.b[14 + 6] = 0;
	/* Every cut: never a read past it; the tunnel opens once the inner IP header is whole. */
	for (cap = 0; cap <= p.len; cap++) {
		decode_cap(PR_LINKTYPE_ETHERNET, &p, cap, &d);
		if (cap >= 14 + 28 + 8 + 14 + 20) {
			assert_true(d.flags & PR_DEC_TUNNEL);
			assert_memory_equal(d.src_ip, ip4_src, 4);
		} else {
			assert_false(d.flags & PR_DEC_TUNNEL);
		}
	}
	/* Bytes after the outer datagram are not the inner packet's. */
	p.b[17] = (uint8_t)(p.b[17] - 4);
	p.b[14 + 20 + 5] = (uint8_t)(p.b[14 + 20 + 5] - 4);
	decode(PR_LINKTYPE_ETHERNET, &p, &d);
	assert_true(d.flags & PR_DEC_TUNNEL);
	assert_int_equal(d.payload_off, 92);
	assert_int_equal(d.payload_len, 0);
}

static void test_tunnel_names(void **state)
{
	(void)state;
	assert_string_equal(pr_tun_name(PR_TUN_NONE), "none");
	assert_string_equal(pr_tun_name(PR_TUN_VXLAN), "vxlan");
	assert_string_equal(pr_tun_name(PR_TUN_GTPU), "gtp-u");
	assert_string_equal(pr_tun_name(PR_TUN_TEREDO), "teredo");
	assert_null(pr_tun_name(200));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_ipv4_tcp_syn_options),
		cmocka_unit_test(test_udp_ethernet_padding),
		cmocka_unit_test(test_qinq_three_tags),
		cmocka_unit_test(test_vlan_deep_stack),
		cmocka_unit_test(test_vlan_too_many_tags),
		cmocka_unit_test(test_8023_llc_snap),
		cmocka_unit_test(test_8023_llc_stp_non_ip),
		cmocka_unit_test(test_mpls_two_labels_ipv4),
		cmocka_unit_test(test_mpls_control_word_inner_ethernet),
		cmocka_unit_test(test_pppoe_ipv6_udp),
		cmocka_unit_test(test_pppoe_discovery_non_ip),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ipv4_fragment_first),
		cmocka_unit_test(test_ipv4_fragment_later),
		cmocka_unit_test(test_ipv4_options_skipped),
		cmocka_unit_test(test_ipv4_total_len_zero_tso),
		cmocka_unit_test(test_ipv4_total_len_below_ihl),
		cmocka_unit_test(test_snaplen_cut_payload),
		cmocka_unit_test(test_ipv6_hop_by_hop_fragment),
		cmocka_unit_test(test_ipv6_fragment_later),
		cmocka_unit_test(test_ipv6_routing_tcp),
		cmocka_unit_test(test_ipv6_ah_dstopts_udp),
		cmocka_unit_test(test_ipv6_no_next_header),
		cmocka_unit_test(test_gre_outer_only),
		cmocka_unit_test(test_sctp_ports),
		cmocka_unit_test(test_icmp_echo_id),
		cmocka_unit_test(test_icmp_error_not_descended),
		cmocka_unit_test(test_icmpv6_echo),
		cmocka_unit_test(test_linux_sll),
		cmocka_unit_test(test_linux_sll2),
		cmocka_unit_test(test_raw_ipv4),
		cmocka_unit_test(test_raw_ipv6),
		cmocka_unit_test(test_null_little_endian),
		cmocka_unit_test(test_null_big_endian),
		cmocka_unit_test(test_null_unknown_family),
		cmocka_unit_test(test_null_ethertype_in_low_half),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_ppp_address_control),
		cmocka_unit_test(test_ppp_compressed_protocol),
		cmocka_unit_test(test_ppp_hdlc_and_ppp_ether),
		cmocka_unit_test(test_cisco_hdlc_mpls),
		cmocka_unit_test(test_juniper_ether),
		cmocka_unit_test(test_radiotap_qos_data_snap_udp),
		cmocka_unit_test(test_radiotap_fcs_datapad),
		cmocka_unit_test(test_80211_four_address_ht_control),
		cmocka_unit_test(test_80211_protected_non_ip),
		cmocka_unit_test(test_nflog),
		cmocka_unit_test(test_nflog_big_endian_host),
		cmocka_unit_test(test_truncated_every_byte),
		cmocka_unit_test(test_malformed_ihl),
		cmocka_unit_test(test_malformed_tcp_data_offset),
		cmocka_unit_test(test_tcp_header_beyond_ip_length),
		cmocka_unit_test(test_udp_length_below_8),
		cmocka_unit_test(test_unknown_linktype),
		cmocka_unit_test(test_linktype_names),
		cmocka_unit_test(test_tunnel_vxlan),
		cmocka_unit_test(test_tunnel_vxlan_inner_not_ip),
		cmocka_unit_test(test_tunnel_gre_key_seq_ipv6),
		cmocka_unit_test(test_tunnel_erspan),
		cmocka_unit_test(test_tunnel_geneve_options),
		cmocka_unit_test(test_tunnel_gtpu_extension),
		cmocka_unit_test(test_tunnel_teredo_origin),
		cmocka_unit_test(test_tunnel_ip_in_ip),
		cmocka_unit_test(test_tunnel_nesting_bounded),
		cmocka_unit_test(test_tunnel_fragment_and_truncation),
		cmocka_unit_test(test_tunnel_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
