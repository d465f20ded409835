// SPDX-License-Identifier: Apache-2.0
/*
 * ICMP (RFC 792 and later) and ICMPv6 (RFC 4443, Neighbor Discovery of
 * RFC 4861, RFC 8335 extended echo): one transaction per message with its
 * type and code and what the type carries: echo identifier and sequence;
 * for errors (destination unreachable, time exceeded, parameter problem,
 * redirect, packet too big) the flow of the packet they quote (protocol,
 * addresses, ports) so that the error can be linked to it, and the MTU or
 * pointer; for Neighbor Discovery the target, link-layer address, router
 * advertisement parameters, prefixes, MTU and DNS servers. The data the
 * caller hands over starts at the ICMP header. Called by pr_l7.c on the
 * dataplane core that owns the flow.
 */
#include <stdio.h>
#include <string.h>

#include "pr_l7_int.h"

/* ND option types (RFC 4861 4.6, RFC 8106). */
#define ND_SRC_LLADDR 1
#define ND_TGT_LLADDR 2
#define ND_PREFIX 3
#define ND_MTU 5
#define ND_RDNSS 25

/* Extension headers skipped to reach a quoted packet's ports. */
#define QUOTE_EXT_MAX 4

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 33 || proto == 136;
}

/* The packet an error quotes (from its IP header on): its flow. */
static void quote(struct pr_l7_icmp *ic, const uint8_t *q, uint32_t n)
{
	uint32_t off;
	uint8_t proto;

	if (n >= 20 && (q[0] >> 4) == 4) {
		off = (uint32_t)(q[0] & 15) * 4;
		proto = q[9];
		l7_addr_text(ic->q_src, q + 12, 4);
		l7_addr_text(ic->q_dst, q + 16, 4);
		ic->flags |= PR_L7_ICMP_QUOTED;
		/* Ports only in the first fragment. */
		if (l7_be16(q + 6) & 0x1fff)
			off = n;
	} else if (n >= 40 && (q[0] >> 4) == 6) {
		proto = q[6];
		off = 40;
		l7_addr_text(ic->q_src, q + 8, 16);
		l7_addr_text(ic->q_dst, q + 24, 16);
		ic->flags |= PR_L7_ICMP_QUOTED;
		for (int i = 0; i < QUOTE_EXT_MAX && off + 8 <= n; i++) {
			if (proto == 0 || proto == 43 || proto == 60) {
				uint32_t hl = ((uint32_t)q[off + 1] + 1) * 8;

				proto = q[off];
				off += hl;
			} else if (proto == 44) {
				bool later = l7_be16(q + off + 2) & 0xfff8;

				proto = q[off];
				off = later ? n : off + 8; /* a later fragment has no ports */
			} else {
				break;
			}
		}
	} else {
		return;
	}
	ic->q_proto = proto;
	if (has_ports(proto) && off + 4 <= n) {
		ic->q_sport = l7_be16(q + off);
		ic->q_dport = l7_be16(q + off + 2);
		ic->flags |= PR_L7_ICMP_QUOTED_PORTS;
	}
}

static void mac_text(char *dst, const uint8_t *p)
{
	snprintf(dst, 18, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

/* Neighbor Discovery options at p[0..n). */
static void nd_options(struct pr_l7_icmp *ic, const uint8_t *p, uint32_t n)
{
	struct l7_sb pre, dns;

	l7_sb_init(&pre, ic->prefixes, sizeof(ic->prefixes));
	l7_sb_init(&dns, ic->rdnss, sizeof(ic->rdnss));
	for (uint32_t off = 0; off + 2 <= n;) {
		uint32_t ol = (uint32_t)p[off + 1] * 8;
		const uint8_t *o = p + off;

		if (!ol || ol > n - off)
			return; /* a zero length is invalid (RFC 4861 4.6) */
		switch (o[0]) {
		case ND_SRC_LLADDR:
		case ND_TGT_LLADDR:
			if (ol == 8)
				mac_text(ic->lladdr, o + 2);
			break;
		case ND_PREFIX:
			if (ol == 32) {
				l7_sb_sep(&pre);
				l7_sb_addr(&pre, o + 16, 16);
				l7_sb_putc(&pre, '/');
				l7_sb_u32(&pre, o[2]);
			}
			break;
		case ND_MTU:
			if (ol == 8)
				ic->mtu = l7_be32(o + 4);
			break;
		case ND_RDNSS:
			for (uint32_t a = 8; a + 16 <= ol; a += 16) {
				l7_sb_sep(&dns);
				l7_sb_addr(&dns, o + a, 16);
			}
			break;
		default:
			break;
		}
		off += ol;
	}
}

static void icmp4(struct pr_l7_icmp *ic, const uint8_t *p, uint32_t len)
{
	switch (ic->type) {
	case 0: /* echo reply */
	case 8: /* echo request */
	case 13: /* timestamp */
	case 14:
	case 15: /* information */
	case 16:
	case 17: /* address mask */
	case 18:
		if (len >= 8) {
			ic->id = l7_be16(p + 4);
			ic->seq = l7_be16(p + 6);
		}
		break;
	case 42: /* extended echo (RFC 8335): a 16-bit id and an 8-bit sequence */
	case 43:
		if (len >= 8) {
			ic->id = l7_be16(p + 4);
			ic->seq = p[6];
		}
		break;
	case 3: /* destination unreachable: code 4 carries the next-hop MTU */
		if (len >= 8 && ic->code == 4)
			ic->value = l7_be16(p + 6);
		/* fall through */
	case 4: /* source quench */
	case 11: /* time exceeded */
		if (len > 8)
			quote(ic, p + 8, len - 8);
		break;
	case 12: /* parameter problem: the pointer */
		if (len >= 8)
			ic->value = p[4];
		if (len > 8)
			quote(ic, p + 8, len - 8);
		break;
	case 5: /* redirect: the gateway */
		if (len >= 8)
			l7_addr_text(ic->target, p + 4, 4);
		if (len > 8)
			quote(ic, p + 8, len - 8);
		break;
	case 9: /* router advertisement: lifetime and the first router address */
		if (len >= 8)
			ic->ra_lifetime = l7_be16(p + 6);
		if (len >= 16 && p[4] && p[5] >= 2)
			l7_addr_text(ic->target, p + 8, 4);
		break;
	default:
		break;
	}
}

static void icmp6(struct pr_l7_icmp *ic, const uint8_t *p, uint32_t len)
{
	switch (ic->type) {
	case 128: /* echo request, reply */
	case 129:
		if (len >= 8) {
			ic->id = l7_be16(p + 4);
			ic->seq = l7_be16(p + 6);
		}
		break;
	case 160: /* extended echo (RFC 8335) */
	case 161:
		if (len >= 8) {
			ic->id = l7_be16(p + 4);
			ic->seq = p[6];
		}
		break;
	case 1: /* destination unreachable */
	case 3: /* time exceeded */
		if (len > 8)
			quote(ic, p + 8, len - 8);
		break;
	case 2: /* packet too big: the MTU */
	case 4: /* parameter problem: the pointer */
		if (len >= 8)
			ic->value = l7_be32(p + 4);
		if (len > 8)
			quote(ic, p + 8, len - 8);
		break;
	case 133: /* router solicitation */
		if (len >= 8)
			nd_options(ic, p + 8, len - 8);
		break;
	case 134: /* router advertisement */
		if (len >= 16) {
			ic->ra_hop_limit = p[4];
			ic->ra_flags = p[5];
			ic->ra_lifetime = l7_be16(p + 6);
			ic->ra_reachable = l7_be32(p + 8);
			ic->ra_retrans = l7_be32(p + 12);
			nd_options(ic, p + 16, len - 16);
		}
		break;
	case 135: /* neighbor solicitation */
	case 136: /* neighbor advertisement */
		if (len >= 24) {
			if (ic->type == 136)
				ic->flags |= (p[4] & 0x80 ? PR_L7_ICMP_ND_ROUTER : 0) |
					     (p[4] & 0x40 ? PR_L7_ICMP_ND_SOLICITED : 0) |
					     (p[4] & 0x20 ? PR_L7_ICMP_ND_OVERRIDE : 0);
			l7_addr_text(ic->target, p + 8, 16);
			nd_options(ic, p + 24, len - 24);
		}
		break;
	case 137: /* redirect: target, then the destination (as the quoted one) */
		if (len >= 40) {
			l7_addr_text(ic->target, p + 8, 16);
			l7_addr_text(ic->q_dst, p + 24, 16);
			nd_options(ic, p + 40, len - 40);
		}
		break;
	default:
		break;
	}
}

static uint32_t icmp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_txn *t;
	struct pr_l7_icmp *ic;

	if (len < 4) {
		ctx->st.malformed++;
		return len;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_ICMP);
	ic = &t->u.icmp;
	memset(ic, 0, sizeof(*ic));
	ic->version = fl->ip_proto == PR_L7_PROTO_ICMP ? 4 : 6;
	ic->type = p[0];
	ic->code = p[1];
	if (ic->version == 4)
		icmp4(ic, p, len);
	else
		icmp6(ic, p, len);
	l7_txn_emit(ctx);
	return len;
}

static bool icmp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	(void)dir;
	(void)client_port;
	(void)server_port;
	(void)p;
	return (ip_proto == PR_L7_PROTO_ICMP || ip_proto == PR_L7_PROTO_ICMPV6) && len >= 4;
}

static void icmp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_icmp_ops = {
	.name = "icmp",
	.app_id = PR_L7_APP_ICMP,
	.l4 = PR_L7_L4_IP,
	.detect = icmp_detect,
	.init = icmp_init,
	.parse = icmp_parse,
};
