// SPDX-License-Identifier: Apache-2.0
/*
 * NetBIOS over UDP (RFC 1001/1002): the name service on port 137 (NBNS:
 * queries, registrations, releases, refreshes, node status) and the
 * datagram service on port 138 (NBDS: browser announcements and other
 * mailslot traffic). One transaction per packet: the NetBIOS name written
 * as Wireshark writes it ("WORKGROUP<1d>"), flags, the addresses of NB
 * records, the names of a node status answer; for datagrams the source
 * and destination names, source address and the SMB mailslot name.
 * Names in the first-level encoding are decoded; compression pointers
 * may only point backwards. Called by pr_l7.c on the dataplane core that
 * owns the flow.
 */
#include <stdio.h>
#include <string.h>

#include "pr_l7_int.h"

#define NB_HDR 12
#define T_NB 0x20
#define T_NBSTAT 0x21
#define NAME_JUMPS 8

uint32_t l7_netbios_name(const uint8_t *msg, uint32_t len, uint32_t off, char *dst, size_t cap)
{
	uint32_t pos = off, after = 0, start = off;
	struct l7_sb sb;
	bool first = true;

	l7_sb_init(&sb, dst, cap);
	for (int jumps = 0;;) {
		uint8_t l;

		if (pos >= len)
			return 0;
		l = msg[pos];
		if (!l) {
			return after ? after : pos + 1;
		}
		if ((l & 0xc0) == 0xc0) {
			uint32_t target;

			if (pos + 1 >= len || ++jumps > NAME_JUMPS)
				return 0;
			target = (uint32_t)(l & 0x3f) << 8 | msg[pos + 1];
			if (!after)
				after = pos + 2;
			if (target >= start)
				return 0; /* only backwards: no loops */
			start = target;
			pos = target;
			continue;
		}
		if (l & 0xc0 || pos + 1u + l > len)
			return 0;
		if (first) {
			uint8_t name[16];
			int n = 15;

			if (l != 32)
				return 0;
			for (int i = 0; i < 16; i++) {
				uint8_t hi = msg[pos + 1 + 2 * i] - 'A',
					lo = msg[pos + 2 + 2 * i] - 'A';

				if (hi > 15 || lo > 15)
					return 0;
				name[i] = (uint8_t)(hi << 4 | lo);
			}
			while (n > 0 && name[n - 1] == ' ')
				n--;
			/* As Wireshark writes it: other bytes than printable ASCII as <xx>. */
			for (int i = 0; i <= n; i++) {
				uint8_t c = i < n ? name[i] : name[15];
				char hex[6];

				if (i < n && c >= 0x20 && c < 0x7f) {
					l7_sb_putc(&sb, (char)c);
				} else {
					snprintf(hex, sizeof(hex), "<%02x>", c);
					l7_sb_putn(&sb, hex, 4);
				}
			}
			first = false;
		} else {
			l7_sb_putc(&sb, '.');
			if (sb.len + l + 1 <= sb.cap) {
				l7_copy_text(sb.p + sb.len, sb.cap - sb.len, msg + pos + 1, l);
				sb.len += l;
			}
		}
		pos += 1u + l;
	}
}

static void nbns(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		 uint32_t len)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_NBNS);
	struct pr_l7_nbns *nb = &t->u.nbns;
	struct l7_sb addrs, names;
	uint32_t off = NB_HDR, nrec;
	uint16_t f;

	memset(nb, 0, offsetof(struct pr_l7_nbns, name));
	nb->name[0] = '\0';
	l7_sb_init(&addrs, nb->addrs, sizeof(nb->addrs));
	l7_sb_init(&names, nb->names, sizeof(nb->names));
	nb->id = l7_be16(p);
	f = l7_be16(p + 2);
	nb->opcode = (f >> 11) & 15;
	nb->rcode = f & 15;
	nb->flags = (uint8_t)((f & 0x8000 ? PR_L7_NBNS_RESPONSE : 0) |
			      (f & 0x0400 ? PR_L7_NBNS_AA : 0) | (f & 0x0200 ? PR_L7_NBNS_TC : 0) |
			      (f & 0x0100 ? PR_L7_NBNS_RD : 0) | (f & 0x0080 ? PR_L7_NBNS_RA : 0) |
			      (f & 0x0010 ? PR_L7_NBNS_BROADCAST : 0));
	nb->qdcount = l7_be16(p + 4);
	nb->ancount = l7_be16(p + 6);
	nb->nscount = l7_be16(p + 8);
	nb->arcount = l7_be16(p + 10);
	if (nb->qdcount) {
		off = l7_netbios_name(p, len, off, nb->name, sizeof(nb->name));
		if (!off || off + 4 > len)
			goto bad;
		nb->qtype = l7_be16(p + off);
		off += 4;
	}
	nrec = (uint32_t)nb->ancount + nb->nscount + nb->arcount;
	for (uint32_t i = 0; i < nrec && i < 16; i++) {
		char name[PR_L7_NAME_MAX];
		uint16_t type, rdlen;

		off = l7_netbios_name(p, len, off, name, sizeof(name));
		if (!off || off + 10 > len)
			goto bad;
		type = l7_be16(p + off);
		rdlen = l7_be16(p + off + 8);
		if (!i) {
			nb->ttl = l7_be32(p + off + 4);
			if (!nb->qdcount) {
				memcpy(nb->name, name, sizeof(nb->name));
				nb->qtype = type;
			}
		}
		off += 10;
		if (rdlen > len - off)
			goto bad;
		if (type == T_NB) {
			/* NB_FLAGS and an IPv4 address per entry. */
			for (uint32_t k = 0; k + 6 <= rdlen; k += 6) {
				l7_sb_sep(&addrs);
				l7_sb_addr(&addrs, p + off + k + 2, 4);
			}
		} else if (type == T_NBSTAT && rdlen >= 1) {
			uint8_t n = p[off];

			nb->n_names = n;
			for (uint32_t k = 0; k < n && 1 + 18u * (k + 1) <= rdlen; k++) {
				const uint8_t *e = p + off + 1 + 18 * k;
				char one[80];
				int m = 15;

				struct l7_sb o;

				while (m > 0 && e[m - 1] == ' ')
					m--;
				l7_sb_init(&o, one, sizeof(one));
				for (int c = 0; c <= m; c++) {
					uint8_t ch = c < m ? e[c] : e[15];
					char hex[6];

					if (c < m && ch >= 0x20 && ch < 0x7f) {
						l7_sb_putc(&o, (char)ch);
					} else {
						snprintf(hex, sizeof(hex), "<%02x>", ch);
						l7_sb_putn(&o, hex, 4);
					}
				}
				if (names.len + 1 + o.len < names.cap) {
					l7_sb_sep(&names);
					l7_sb_putn(&names, one, o.len);
				}
			}
		}
		off += rdlen;
	}
	l7_txn_emit(ctx);
	return;
bad:
	nb->flags |= PR_L7_NBNS_MALFORMED;
	ctx->st.malformed++;
	l7_txn_emit(ctx);
}

/* The SMB Transaction carrying a mailslot message: its name ("\MAILSLOT\BROWSE"). */
static void mailslot(char *dst, size_t cap, const uint8_t *p, uint32_t n)
{
	uint32_t wc, bc, off;

	if (n < 33 || memcmp(p, "\xffSMB", 4) || p[4] != 0x25)
		return;
	wc = p[32];
	off = 33 + 2 * wc;
	if (off + 2 > n)
		return;
	bc = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8;
	off += 2;
	if (bc > n - off)
		bc = n - off;
	if ((p[10] | p[11] << 8) & 0x8000)
		return; /* a Unicode name: mailslots are ASCII in practice */
	l7_copy_text(dst, cap, p + off, strnlen((const char *)p + off, bc));
}

static void nbds(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		 uint32_t len)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_NBDS);
	struct pr_l7_nbds *nb = &t->u.nbds;
	uint32_t off;

	memset(nb, 0, offsetof(struct pr_l7_nbds, src_name));
	nb->src_name[0] = nb->dst_name[0] = nb->mailslot[0] = '\0';
	nb->msg_type = p[0];
	nb->flags = p[1];
	nb->dgm_id = l7_be16(p + 2);
	l7_addr_text(nb->src_ip, p + 4, 4);
	nb->src_port = l7_be16(p + 8);
	switch (nb->msg_type) {
	case 0x10: /* direct unique, direct group, broadcast: length, offset, names, data */
	case 0x11:
	case 0x12:
		off = l7_netbios_name(p, len, 14, nb->src_name, sizeof(nb->src_name));
		if (off)
			off = l7_netbios_name(p, len, off, nb->dst_name, sizeof(nb->dst_name));
		if (!off) {
			ctx->st.malformed++;
			break;
		}
		mailslot(nb->mailslot, sizeof(nb->mailslot), p + off, len - off);
		break;
	case 0x13: /* error */
		if (len > 10)
			nb->error = p[10];
		break;
	case 0x14: /* query request and its answers: a destination name */
	case 0x15:
	case 0x16:
		if (!l7_netbios_name(p, len, 10, nb->dst_name, sizeof(nb->dst_name)))
			ctx->st.malformed++;
		break;
	default:
		break;
	}
	l7_txn_emit(ctx);
}

static uint32_t netbios_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			      const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);

	if (fl->sport == 138 || fl->cport == 138) {
		if (len >= 10)
			nbds(ctx, fl, d, p, len);
		else
			ctx->st.malformed++;
	} else if (len >= NB_HDR) {
		nbns(ctx, fl, d, p, len);
	} else {
		ctx->st.malformed++;
	}
	return len;
}

static bool netbios_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port,
			   uint16_t server_port, const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	if (server_port == 137 || client_port == 137)
		return len >= NB_HDR && ((l7_be16(p + 2) >> 11) & 15) <= 9 && l7_be16(p + 4) <= 1;
	if (server_port == 138 || client_port == 138)
		return len >= 10 && p[0] >= 0x10 && p[0] <= 0x16;
	return false;
}

static void netbios_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_netbios_ops = {
	.name = "netbios",
	.app_id = PR_L7_APP_NETBIOS,
	.l4 = PR_L7_L4_UDP,
	.detect = netbios_detect,
	.init = netbios_init,
	.parse = netbios_parse,
};
