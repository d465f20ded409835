// SPDX-License-Identifier: Apache-2.0
/*
 * EIGRP, IP protocol 88 (RFC 7868): one transaction per packet with the
 * header (version, opcode, flags, sequence, acknowledgement, autonomous
 * system) and what its TLVs say: the K values and hold time of the
 * parameter TLV, the software version, and the destinations of the IPv4
 * and IPv6 internal and external route TLVs ("10.1.0.0/16"). Every TLV
 * length is checked against the packet, every prefix length against its
 * address family. Called by pr_l7.c on the dataplane core that owns the
 * flow.
 */
#include <stdio.h>
#include <string.h>

#include "pr_l7_int.h"

#define HDR 20
#define TLV_PARAM 0x0001
#define TLV_SW_VERSION 0x0004
#define TLV_V4_INT 0x0102
#define TLV_V4_EXT 0x0103
#define TLV_V6_INT 0x0402
#define TLV_V6_EXT 0x0403

/*
 * A route TLV's destinations: after fixed bytes come prefix length and
 * address bytes, possibly several times (IPv4 TLVs may list more).
 */
static void destinations(struct pr_l7_eigrp *e, struct l7_sb *sb, const uint8_t *v, uint32_t n,
			 uint32_t fixed, uint32_t alen)
{
	uint32_t off = fixed;

	while (off < n) {
		uint32_t plen = v[off], nb = (plen + 7) / 8;
		uint8_t addr[16] = { 0 };
		char one[PR_L7_ADDR_MAX + 4];
		struct l7_sb sbo;

		if (plen > alen * 8 || 1 + nb > n - off)
			return;
		memcpy(addr, v + off + 1, nb);
		l7_sb_init(&sbo, one, sizeof(one));
		l7_sb_addr(&sbo, addr, alen);
		l7_sb_putc(&sbo, '/');
		l7_sb_u32(&sbo, plen);
		if (sb->len + 1 + sbo.len < sb->cap) {
			l7_sb_sep(sb);
			l7_sb_putn(sb, one, sbo.len);
		}
		if (e->n_routes < 0xffff)
			e->n_routes++;
		off += 1 + nb;
		if (alen == 16)
			return; /* IPv6 TLVs carry one destination */
	}
}

static uint32_t eigrp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			    const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_txn *t;
	struct pr_l7_eigrp *e;
	struct l7_sb routes;

	if (len < HDR) {
		ctx->st.malformed++;
		return len;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_EIGRP);
	e = &t->u.eigrp;
	memset(e, 0, offsetof(struct pr_l7_eigrp, routes));
	l7_sb_init(&routes, e->routes, sizeof(e->routes));
	e->version = p[0];
	e->opcode = p[1];
	e->flags = l7_be32(p + 4);
	e->seq = l7_be32(p + 8);
	e->ack = l7_be32(p + 12);
	e->as = l7_be16(p + 18);
	for (uint32_t off = HDR; off + 4 <= len;) {
		uint16_t type = l7_be16(p + off), tl = l7_be16(p + off + 2);
		const uint8_t *v = p + off + 4;
		uint32_t vn;

		if (tl < 4 || tl > len - off) {
			ctx->st.malformed++;
			break;
		}
		vn = tl - 4u;
		switch (type) {
		case TLV_PARAM:
			if (vn >= 8) {
				memcpy(e->k, v, 5);
				e->hold_time = l7_be16(v + 6);
			}
			break;
		case TLV_SW_VERSION:
			if (vn >= 4)
				snprintf(e->sw_version, sizeof(e->sw_version), "%u.%u/%u.%u", v[0],
					 v[1], v[2], v[3]);
			break;
		case TLV_V4_INT: /* next hop, delay, bandwidth, MTU, hops, reliability, load, tag */
			destinations(e, &routes, v, vn, 20, 4);
			break;
		case TLV_V4_EXT: /* next hop, external data (20), then the metric (16) */
			destinations(e, &routes, v, vn, 40, 4);
			break;
		case TLV_V6_INT:
			destinations(e, &routes, v, vn, 32, 16);
			break;
		case TLV_V6_EXT:
			destinations(e, &routes, v, vn, 56, 16);
			break;
		default:
			break;
		}
		off += tl;
	}
	l7_txn_emit(ctx);
	return len;
}

static bool eigrp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			 const uint8_t *p, uint32_t len)
{
	(void)dir;
	(void)client_port;
	(void)server_port;
	return ip_proto == PR_L7_PROTO_EIGRP && len >= HDR && p[0] == 2;
}

static void eigrp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_eigrp_ops = {
	.name = "eigrp",
	.app_id = PR_L7_APP_EIGRP,
	.l4 = PR_L7_L4_IP,
	.detect = eigrp_detect,
	.init = eigrp_init,
	.parse = eigrp_parse,
};
