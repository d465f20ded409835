// SPDX-License-Identifier: Apache-2.0
/*
 * OSPF, IP protocol 89: OSPFv2 (RFC 2328) and OSPFv3 (RFC 5340). One
 * transaction per packet: version, type, router id, area, authentication
 * type; for hellos the mask, intervals, priority, designated and backup
 * designated routers and the number of neighbors; for database
 * descriptions, link state requests, updates and acknowledgements the
 * number of LSAs and the set of LSA types they carry (OSPFv3: function
 * codes). Every LSA length is checked against the packet. Called by
 * pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define V2_HDR 24
#define V3_HDR 16
#define LSA_HDR 20

#define T_HELLO 1
#define T_DBD 2
#define T_LSR 3
#define T_LSU 4
#define T_LSACK 5

/* The LSA type of a header at h: v2 one byte, v3 the function code of 16 bits. */
static uint32_t lsa_type(const uint8_t *h, uint8_t version)
{
	return version == 2 ? h[3] : l7_be16(h + 2) & 0x1fff;
}

static void lsa_seen(struct pr_l7_ospf *o, uint32_t type)
{
	if (type < 32)
		o->lsa_types |= 1u << type;
	o->n_lsas++;
}

static void body(struct pr_l7_ospf *o, const uint8_t *b, uint32_t n)
{
	uint32_t off;

	switch (o->type) {
	case T_HELLO:
		if (o->version == 2 && n >= 20) {
			l7_addr_text(o->mask, b, 4);
			o->hello_interval = l7_be16(b + 4);
			o->priority = b[7];
			o->dead_interval = l7_be32(b + 8);
			l7_addr_text(o->dr, b + 12, 4);
			l7_addr_text(o->bdr, b + 16, 4);
			o->n_neighbors = (uint16_t)((n - 20) / 4);
		} else if (o->version == 3 && n >= 20) {
			o->priority = b[4];
			o->hello_interval = l7_be16(b + 8);
			o->dead_interval = l7_be16(b + 10);
			l7_addr_text(o->dr, b + 12, 4);
			l7_addr_text(o->bdr, b + 16, 4);
			o->n_neighbors = (uint16_t)((n - 20) / 4);
		}
		break;
	case T_DBD:
		/* v2: MTU, options, flags, sequence; v3: reserved, options, MTU, reserved, flags, sequence. */
		for (off = o->version == 2 ? 8 : 12; off + LSA_HDR <= n; off += LSA_HDR)
			lsa_seen(o, lsa_type(b + off, o->version));
		break;
	case T_LSR:
		for (off = 0; off + 12 <= n; off += 12)
			lsa_seen(o, o->version == 2 ? l7_be32(b + off) :
						      l7_be16(b + off + 2) & 0x1fff);
		break;
	case T_LSU:
		if (n < 4)
			break;
		off = 4;
		for (uint32_t i = 0; i < l7_be32(b) && off + LSA_HDR <= n; i++) {
			uint32_t ll = l7_be16(b + off + 18);

			if (ll < LSA_HDR || ll > n - off)
				break; /* an LSA longer than the packet: stop counting */
			lsa_seen(o, lsa_type(b + off, o->version));
			off += ll;
		}
		break;
	case T_LSACK:
		for (off = 0; off + LSA_HDR <= n; off += LSA_HDR)
			lsa_seen(o, lsa_type(b + off, o->version));
		break;
	default:
		break;
	}
}

static uint32_t ospf_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_txn *t;
	struct pr_l7_ospf *o;
	uint32_t hl, plen;

	if (len < V3_HDR || (p[0] != 2 && p[0] != 3) || (p[0] == 2 && len < V2_HDR)) {
		ctx->st.malformed++;
		return len;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_OSPF);
	o = &t->u.ospf;
	memset(o, 0, sizeof(*o));
	o->version = p[0];
	o->type = p[1];
	o->length = l7_be16(p + 2);
	l7_addr_text(o->router_id, p + 4, 4);
	l7_addr_text(o->area_id, p + 8, 4);
	if (o->version == 2) {
		o->auth_type = l7_be16(p + 14);
		hl = V2_HDR;
	} else {
		o->instance = p[14];
		hl = V3_HDR;
	}
	/* The length field bounds the body (a cryptographic trailer may follow it). */
	plen = o->length >= hl && o->length <= len ? o->length : len;
	body(o, p + hl, plen - hl);
	l7_txn_emit(ctx);
	return len;
}

static bool ospf_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	(void)dir;
	(void)client_port;
	(void)server_port;
	return ip_proto == PR_L7_PROTO_OSPF && len >= V3_HDR && (p[0] == 2 || p[0] == 3) &&
	       p[1] >= T_HELLO && p[1] <= T_LSACK;
}

static void ospf_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_ospf_ops = {
	.name = "ospf",
	.app_id = PR_L7_APP_OSPF,
	.l4 = PR_L7_L4_IP,
	.detect = ospf_detect,
	.init = ospf_init,
	.parse = ospf_parse,
};
