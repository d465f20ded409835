// SPDX-License-Identifier: Apache-2.0
/*
 * DHCP over UDP ports 67/68 (RFC 2131/2132) and DHCPv6 over 546/547 (RFC
 * 8415): one transaction per message with its type, transaction id,
 * client hardware address or DUID, the address assigned, the server, the
 * relay, hostname and FQDN, vendor class, lease time and the parameter
 * request list (the options a client asks for, which tells one client
 * stack from another). DHCP options in the file and sname fields
 * (option overload) are read too; DHCPv6 relay messages are opened to the
 * message they carry (four levels at most). Called by pr_l7.c on the
 * dataplane core that owns the flow.
 */
#include <stdio.h>
#include <string.h>

#include "pr_l7_int.h"

#define BOOTP_LEN 236
#define MAGIC 0x63825363u

#define OPT_PAD 0
#define OPT_HOSTNAME 12
#define OPT_REQUESTED_IP 50
#define OPT_LEASE 51
#define OPT_OVERLOAD 52
#define OPT_MSG_TYPE 53
#define OPT_SERVER_ID 54
#define OPT_PARAMS 55
#define OPT_VENDOR_CLASS 60
#define OPT_CLIENT_ID 61
#define OPT_FQDN 81
#define OPT_END 255

#define V6_CLIENT_ID 1
#define V6_SERVER_ID 2
#define V6_IA_NA 3
#define V6_IA_TA 4
#define V6_IAADDR 5
#define V6_ORO 6
#define V6_RELAY_MSG 9
#define V6_VENDOR_CLASS 16
#define V6_FQDN 39
#define V6_RELAY_FORW 12
#define V6_RELAY_REPL 13
#define V6_RELAY_DEPTH 4

static void hex_text(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	struct l7_sb sb;

	l7_sb_init(&sb, dst, cap);
	l7_sb_hex(&sb, p, PR_MIN(n, (cap - 1) / 2));
}

/* A DNS name in wire form (RFC 1035 3.1), labels joined by '.'. */
static void wire_name(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	struct l7_sb sb;

	l7_sb_init(&sb, dst, cap);
	for (size_t off = 0; off < n && p[off];) {
		size_t l = p[off];

		if (l > 63 || l >= n - off)
			return;
		if (sb.len)
			l7_sb_putc(&sb, '.');
		if (sb.len + l + 1 > sb.cap)
			return;
		l7_copy_text(sb.p + sb.len, sb.cap - sb.len, p + off + 1, l);
		sb.len += l;
		off += l + 1;
	}
}

/* Options at p[0..n); returns the overload option's value (0 when absent). */
static uint8_t options4(struct pr_l7_dhcp *dh, const uint8_t *p, size_t n)
{
	uint8_t overload = 0;

	for (size_t off = 0; off < n;) {
		uint8_t code = p[off], ol;
		const uint8_t *v;

		if (code == OPT_PAD) {
			off++;
			continue;
		}
		if (code == OPT_END || off + 2 > n || p[off + 1] > n - off - 2)
			break;
		ol = p[off + 1];
		v = p + off + 2;
		switch (code) {
		case OPT_MSG_TYPE:
			if (ol == 1)
				dh->msg_type = v[0];
			break;
		case OPT_HOSTNAME:
			l7_copy_text(dh->hostname, sizeof(dh->hostname), v, ol);
			break;
		case OPT_REQUESTED_IP:
			if (ol == 4)
				l7_addr_text(dh->requested_ip, v, 4);
			break;
		case OPT_LEASE:
			if (ol == 4)
				dh->lease_time = l7_be32(v);
			break;
		case OPT_OVERLOAD:
			if (ol == 1)
				overload = v[0];
			break;
		case OPT_SERVER_ID:
			if (ol == 4)
				l7_addr_text(dh->server_id, v, 4);
			break;
		case OPT_PARAMS: {
			struct l7_sb sb;

			l7_sb_init(&sb, dh->params, sizeof(dh->params));
			for (uint8_t i = 0; i < ol; i++) {
				l7_sb_sep(&sb);
				l7_sb_u32(&sb, v[i]);
			}
			break;
		}
		case OPT_VENDOR_CLASS:
			l7_copy_text(dh->vendor_class, sizeof(dh->vendor_class), v, ol);
			break;
		case OPT_CLIENT_ID:
			hex_text(dh->client_id, sizeof(dh->client_id), v, ol);
			break;
		case OPT_FQDN:
			/* Flags, two obsolete rcodes, then the name: wire form with the E flag. */
			if (ol > 3) {
				if (v[0] & 0x04)
					wire_name(dh->fqdn, sizeof(dh->fqdn), v + 3, ol - 3u);
				else
					l7_copy_text(dh->fqdn, sizeof(dh->fqdn), v + 3, ol - 3u);
			}
			break;
		default:
			break;
		}
		off += 2u + ol;
	}
	return overload;
}

static bool dhcp4(struct pr_l7_dhcp *dh, const uint8_t *p, uint32_t len)
{
	uint8_t overload;

	if (len < BOOTP_LEN + 4)
		return false;
	dh->version = 4;
	dh->op = p[0];
	dh->hops = p[3];
	dh->xid = l7_be32(p + 4);
	l7_addr_text(dh->ciaddr, p + 12, 4);
	l7_addr_text(dh->yiaddr, p + 16, 4);
	if (l7_be32(p + 24))
		l7_addr_text(dh->relay, p + 24, 4);
	if (p[1] == 1 && p[2] == 6)
		snprintf(dh->client_mac, sizeof(dh->client_mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 p[28], p[29], p[30], p[31], p[32], p[33]);
	if (l7_be32(p + BOOTP_LEN) != MAGIC)
		return true; /* plain BOOTP */
	overload = options4(dh, p + BOOTP_LEN + 4, len - BOOTP_LEN - 4);
	if (overload & 1)
		options4(dh, p + 108, 128); /* file */
	if (overload & 2)
		options4(dh, p + 44, 64); /* sname */
	return true;
}

static void ia_options(struct pr_l7_dhcp *dh, struct l7_rd r)
{
	while (l7_rd_left(&r) >= 4) {
		uint16_t code = l7_rd_u16(&r);
		struct l7_rd v = l7_rd_sub(&r, l7_rd_u16(&r));

		/* The first IA address: the address assigned. */
		if (code == V6_IAADDR && l7_rd_left(&v) >= 24 && !dh->yiaddr[0]) {
			l7_addr_text(dh->yiaddr, v.p, 16);
			dh->lease_time = l7_be32(v.p + 20);
		}
	}
}

static bool dhcp6(struct pr_l7_dhcp *dh, const uint8_t *p, uint32_t len, int depth)
{
	struct l7_rd r;

	if (len < 4)
		return false;
	dh->version = 6;
	dh->msg_type = p[0];
	if (p[0] == V6_RELAY_FORW || p[0] == V6_RELAY_REPL) {
		if (len < 34)
			return false;
		dh->hops = p[1];
		if (!dh->relay[0])
			l7_addr_text(dh->relay, p + 2, 16);
		r = l7_rd_make(p + 34, len - 34);
	} else {
		dh->xid = l7_be32(p) & 0xffffff;
		r = l7_rd_make(p + 4, len - 4);
	}
	while (l7_rd_left(&r) >= 4) {
		uint16_t code = l7_rd_u16(&r);
		uint16_t ol = l7_rd_u16(&r);
		struct l7_rd v = l7_rd_sub(&r, ol);

		if (v.bad)
			return false;
		switch (code) {
		case V6_RELAY_MSG:
			/* The message relayed is what the transaction reports. */
			if (depth < V6_RELAY_DEPTH)
				return dhcp6(dh, v.p, ol, depth + 1);
			return false;
		case V6_CLIENT_ID:
			hex_text(dh->client_id, sizeof(dh->client_id), v.p, ol);
			break;
		case V6_SERVER_ID:
			hex_text(dh->server_id, sizeof(dh->server_id), v.p, ol);
			break;
		case V6_IA_NA:
			if (ol >= 12)
				ia_options(dh, l7_rd_make(v.p + 12, ol - 12u));
			break;
		case V6_IA_TA:
			if (ol >= 4)
				ia_options(dh, l7_rd_make(v.p + 4, ol - 4u));
			break;
		case V6_ORO: {
			struct l7_sb sb;

			l7_sb_init(&sb, dh->params, sizeof(dh->params));
			while (l7_rd_left(&v) >= 2) {
				l7_sb_sep(&sb);
				l7_sb_u32(&sb, l7_rd_u16(&v));
			}
			break;
		}
		case V6_VENDOR_CLASS:
			/* An enterprise number, then length-prefixed strings: the first one. */
			if (ol >= 6 && l7_be16(v.p + 4) <= ol - 6u)
				l7_copy_text(dh->vendor_class, sizeof(dh->vendor_class), v.p + 6,
					     l7_be16(v.p + 4));
			break;
		case V6_FQDN:
			if (ol > 1)
				wire_name(dh->fqdn, sizeof(dh->fqdn), v.p + 1, ol - 1u);
			break;
		default:
			break;
		}
	}
	return true;
}

static uint32_t dhcp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_DHCP);
	struct pr_l7_dhcp *dh = &t->u.dhcp;
	bool v6 = fl->cport == 546 || fl->cport == 547 || fl->sport == 546 || fl->sport == 547;

	memset(dh, 0, sizeof(*dh));
	if (!(v6 ? dhcp6(dh, p, len, 0) : dhcp4(dh, p, len))) {
		ctx->st.malformed++;
		if (!dh->version)
			return len;
	}
	l7_txn_emit(ctx);
	return len;
}

static bool dhcp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	if ((client_port == 68 || client_port == 67) && (server_port == 67 || server_port == 68))
		return len >= BOOTP_LEN && (p[0] == 1 || p[0] == 2);
	if ((client_port == 546 || client_port == 547) &&
	    (server_port == 546 || server_port == 547))
		return len >= 4 && p[0] >= 1 && p[0] <= 37;
	return false;
}

static void dhcp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_dhcp_ops = {
	.name = "dhcp",
	.app_id = PR_L7_APP_DHCP,
	.l4 = PR_L7_L4_UDP,
	.detect = dhcp_detect,
	.init = dhcp_init,
	.parse = dhcp_parse,
};
