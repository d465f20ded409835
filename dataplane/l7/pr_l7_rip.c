// SPDX-License-Identifier: Apache-2.0
/*
 * RIP over UDP: RIPv1 and RIPv2 on port 520 (RFC 1058, RFC 2453, keyed
 * message digest of RFC 4822) and RIPng on port 521 (RFC 2080). One
 * transaction per packet: command, version, the authentication type
 * (a simple password is never copied), and the routes: "prefix/len
 * metric m" (RIPv1 has no mask: the address alone), the first ones that
 * fit. Called by pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define RIP_HDR 4
#define RTE_LEN 20
#define AFI_AUTH 0xffff
#define AFI_INET 2
#define RIPNG_NEXT_HOP 0xff

static int mask_len(uint32_t m)
{
	int n = 0;

	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return m ? -1 : n; /* a mask with holes is shown as an address */
}

/* Append one route if it fits whole (a cut entry would be wrong). */
static void route(struct l7_sb *sb, const char *s, size_t n)
{
	if (sb->len + 1 + n < sb->cap) {
		l7_sb_sep(sb);
		l7_sb_putn(sb, s, n);
	}
}

static uint32_t rip_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_txn *t;
	struct pr_l7_rip *r;
	struct l7_sb routes, one;
	char tmp[96];

	if (len < RIP_HDR) {
		ctx->st.malformed++;
		return len;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_RIP);
	r = &t->u.rip;
	memset(r, 0, offsetof(struct pr_l7_rip, routes));
	l7_sb_init(&routes, r->routes, sizeof(r->routes));
	r->command = p[0];
	r->version = p[1];
	r->ng = fl->sport == 521 || fl->cport == 521;
	for (uint32_t off = RIP_HDR; off + RTE_LEN <= len; off += RTE_LEN) {
		const uint8_t *e = p + off;

		l7_sb_init(&one, tmp, sizeof(tmp));
		if (r->ng) {
			if (e[19] == RIPNG_NEXT_HOP)
				continue;
			l7_sb_addr(&one, e, 16);
			l7_sb_putc(&one, '/');
			l7_sb_u32(&one, e[18]);
			l7_sb_putn(&one, " metric ", 8);
			l7_sb_u32(&one, e[19]);
		} else if (l7_be16(e) == AFI_AUTH) {
			/* The first entry authenticates; a digest's trailer is one too. */
			if (!r->auth_type)
				r->auth_type = l7_be16(e + 2);
			continue;
		} else {
			int ml = r->version >= 2 ? mask_len(l7_be32(e + 8)) : -1;

			/* AFI 0 with metric 16 asks for the whole table: no route. */
			if (l7_be16(e) != AFI_INET)
				continue;
			l7_sb_addr(&one, e + 4, 4);
			if (ml >= 0) {
				l7_sb_putc(&one, '/');
				l7_sb_u32(&one, (uint32_t)ml);
			}
			l7_sb_putn(&one, " metric ", 8);
			l7_sb_u32(&one, l7_be32(e + 16));
		}
		if (r->n_routes < 0xffff)
			r->n_routes++;
		route(&routes, tmp, one.len);
	}
	l7_txn_emit(ctx);
	return len;
}

/* Port 520 or 521, command request or response, a version RIP has. */
static bool rip_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	if (server_port != 520 && client_port != 520 && server_port != 521 && client_port != 521)
		return false;
	return len >= RIP_HDR && (p[0] == 1 || p[0] == 2) && p[1] >= 1 && p[1] <= 2;
}

static void rip_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_rip_ops = {
	.name = "rip",
	.app_id = PR_L7_APP_RIP,
	.l4 = PR_L7_L4_UDP,
	.detect = rip_detect,
	.init = rip_init,
	.parse = rip_parse,
};
