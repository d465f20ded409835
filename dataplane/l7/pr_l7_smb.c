// SPDX-License-Identifier: Apache-2.0
/*
 * NetBIOS session service (RFC 1002, TCP port 139) and SMB over it or
 * over direct TCP (port 445): the NBSS session request's called and
 * calling names and its answer, and the SMB messages that say what a
 * session is: SMB1 and SMB2/3 NEGOTIATE (the dialects a client offers,
 * the one the server picks), SESSION_SETUP answers (whether the login
 * worked), TREE_CONNECT (the share and whether it was granted). Other
 * SMB messages are framed and passed over; a message larger than a
 * buffer is read as far as its header and skipped. An SMB3 transform
 * (encrypted) or compression header ends the direction. SMB is
 * little-endian. Called by pr_l7.c on the dataplane core that owns the
 * flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define NBSS_MESSAGE 0x00
#define NBSS_REQUEST 0x81
#define NBSS_POSITIVE 0x82
#define NBSS_NEGATIVE 0x83
#define NBSS_RETARGET 0x84
#define NBSS_KEEPALIVE 0x85

#define SMB1_NEGOTIATE 0x72
#define SMB1_SESSION_SETUP 0x73
#define SMB1_TREE_CONNECT 0x75
#define SMB2_NEGOTIATE 0
#define SMB2_SESSION_SETUP 1
#define SMB2_TREE_CONNECT 3

#define SMB1_HDR 32
#define SMB2_HDR 64
#define COMPOUND_MAX 16

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* UTF-16LE (n bytes) as UTF-8, up to a NUL; unpaired surrogates become '?'. */
static void utf16_text(char *dst, size_t cap, const uint8_t *p, uint32_t n)
{
	struct l7_sb sb;

	l7_sb_init(&sb, dst, cap);
	for (uint32_t i = 0; i + 1 < n; i += 2) {
		uint32_t c = le16(p + i);
		char u[4];

		if (!c)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 3 < n && le16(p + i + 2) >= 0xdc00 &&
		    le16(p + i + 2) < 0xe000) {
			c = 0x10000 + ((c - 0xd800) << 10) + (le16(p + i + 2) - 0xdc00u);
			i += 2;
		} else if (c >= 0xd800 && c < 0xe000) {
			c = '?';
		}
		if (c < 0x20 || c == 0x7f) {
			l7_sb_putc(&sb, '?');
		} else if (c < 0x80) {
			l7_sb_putc(&sb, (char)c);
		} else if (c < 0x800) {
			u[0] = (char)(0xc0 | c >> 6);
			u[1] = (char)(0x80 | (c & 0x3f));
			l7_sb_putn(&sb, u, 2);
		} else if (c < 0x10000) {
			u[0] = (char)(0xe0 | c >> 12);
			u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			u[2] = (char)(0x80 | (c & 0x3f));
			l7_sb_putn(&sb, u, 3);
		} else {
			u[0] = (char)(0xf0 | c >> 18);
			u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			u[3] = (char)(0x80 | (c & 0x3f));
			l7_sb_putn(&sb, u, 4);
		}
	}
}

static struct pr_l7_smb *smb_begin(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d,
				   uint8_t version)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SMB);
	struct pr_l7_smb *s = &t->u.smb;

	memset(s, 0, offsetof(struct pr_l7_smb, dialects));
	s->dialects[0] = s->called[0] = s->calling[0] = s->path[0] = '\0';
	s->version = version;
	return s;
}

/* SMB1: n bytes held of the message (the header included). */
static void smb1(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p, uint32_t n)
{
	uint8_t cmd = p[4], wc;
	bool resp = p[9] & 0x80;
	struct pr_l7_smb *s;
	struct l7_sb sb;
	uint32_t bo, bc;

	if (cmd != SMB1_NEGOTIATE && cmd != SMB1_TREE_CONNECT &&
	    !(cmd == SMB1_SESSION_SETUP && resp))
		return;
	s = smb_begin(ctx, fl, d, 1);
	s->nbss_type = NBSS_MESSAGE;
	s->command = cmd;
	s->status = le32(p + 5);
	s->flags = resp ? PR_L7_SMB_RESPONSE : 0;
	wc = n > SMB1_HDR ? p[SMB1_HDR] : 0;
	bo = SMB1_HDR + 1 + 2u * wc; /* the byte count, then the bytes */
	bc = bo + 2 <= n ? le16(p + bo) : 0;
	bo += 2;
	bc = bo <= n ? PR_MIN(bc, n - bo) : 0;
	if (cmd == SMB1_NEGOTIATE && !resp) {
		l7_sb_init(&sb, s->dialects, sizeof(s->dialects));
		for (uint32_t i = 0; i < bc;) {
			size_t sl;

			if (p[bo + i] != 0x02)
				break; /* a buffer format byte precedes each dialect */
			i++;
			sl = strnlen((const char *)p + bo + i, bc - i);
			if (sb.len + 1 + sl < sb.cap) {
				l7_sb_sep(&sb);
				l7_copy_text(sb.p + sb.len, sb.cap - sb.len, p + bo + i, sl);
				sb.len += sl;
			}
			if (s->n_dialects < 0xffff)
				s->n_dialects++;
			i += (uint32_t)sl + 1;
		}
	} else if (cmd == SMB1_NEGOTIATE && wc >= 1 && SMB1_HDR + 3 <= n) {
		s->dialect = le16(p + SMB1_HDR + 1);
	} else if (cmd == SMB1_TREE_CONNECT && !resp && wc >= 4 && SMB1_HDR + 9 <= n) {
		uint32_t pw = le16(p + SMB1_HDR + 1 + 6), at = bo + pw;

		if (at < bo + bc) {
			if (le16(p + 10) & 0x8000) {
				at += (at & 1); /* Unicode strings are 2-aligned from the header */
				if (at < bo + bc)
					utf16_text(s->path, sizeof(s->path), p + at, bo + bc - at);
			} else {
				l7_copy_text(s->path, sizeof(s->path), p + at,
					     strnlen((const char *)p + at, bo + bc - at));
			}
		}
	}
	l7_txn_emit(ctx);
}

/* SMB2 (and 3): each message of a compound chain, n bytes held. */
static void smb2(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p, uint32_t n)
{
	for (int k = 0; k < COMPOUND_MAX && n >= SMB2_HDR && !memcmp(p, "\xfeSMB", 4); k++) {
		uint16_t cmd = le16(p + 12);
		bool resp = le32(p + 16) & 1;
		uint32_t next = le32(p + 20);
		const uint8_t *b = p + SMB2_HDR;
		uint32_t bn = (next >= SMB2_HDR && next <= n ? next : n) - SMB2_HDR;
		struct pr_l7_smb *s;
		struct l7_sb sb;

		if (cmd == SMB2_NEGOTIATE || cmd == SMB2_TREE_CONNECT ||
		    (cmd == SMB2_SESSION_SETUP && resp)) {
			s = smb_begin(ctx, fl, d, 2);
			s->nbss_type = NBSS_MESSAGE;
			s->command = cmd;
			s->status = le32(p + 8);
			s->flags = resp ? PR_L7_SMB_RESPONSE : 0;
			if (cmd == SMB2_NEGOTIATE && !resp && bn >= 36) {
				uint32_t cnt = le16(b + 2);

				l7_sb_init(&sb, s->dialects, sizeof(s->dialects));
				s->n_dialects = (uint16_t)cnt;
				for (uint32_t i = 0; i < cnt && 36 + 2 * i + 2 <= bn; i++) {
					l7_sb_sep(&sb);
					l7_sb_hex16(&sb, le16(b + 36 + 2 * i));
				}
			} else if (cmd == SMB2_NEGOTIATE && resp && bn >= 6) {
				s->dialect = le16(b + 4);
			} else if (cmd == SMB2_TREE_CONNECT && !resp && bn >= 8) {
				/* The path's offset is from the start of the SMB2 header. */
				uint32_t po = le16(b + 4), pl = le16(b + 6);

				if (po >= SMB2_HDR && po < SMB2_HDR + bn)
					utf16_text(s->path, sizeof(s->path), p + po,
						   PR_MIN(pl, SMB2_HDR + bn - po));
			}
			l7_txn_emit(ctx);
		}
		/* Compound: the next header is 8-aligned, after this one. */
		if (!next || next < SMB2_HDR || next >= n || (next & 7))
			return;
		p += next;
		n -= next;
	}
}

/* One NBSS packet: type at p[0], n bytes of it held (of 4 + mlen). */
static void packet(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		   uint32_t n)
{
	const uint8_t *m = p + 4;
	uint32_t mn = n - 4;
	struct pr_l7_smb *s;
	uint32_t off;

	switch (p[0]) {
	case NBSS_MESSAGE:
		if (mn >= 4 && !memcmp(m, "\xffSMB", 4) && mn >= SMB1_HDR) {
			smb1(ctx, fl, d, m, mn);
		} else if (mn >= 4 && !memcmp(m, "\xfeSMB", 4)) {
			smb2(ctx, fl, d, m, mn);
		} else if (mn >= 4 && (!memcmp(m, "\xfdSMB", 4) || !memcmp(m, "\xfcSMB", 4))) {
			s = smb_begin(ctx, fl, d, 2);
			s->flags = PR_L7_SMB_ENCRYPTED;
			l7_txn_emit(ctx);
			l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
		}
		break;
	case NBSS_REQUEST:
		s = smb_begin(ctx, fl, d, 0);
		s->nbss_type = p[0];
		off = l7_netbios_name(m, mn, 0, s->called, sizeof(s->called));
		if (off)
			l7_netbios_name(m, mn, off, s->calling, sizeof(s->calling));
		l7_txn_emit(ctx);
		break;
	case NBSS_POSITIVE:
	case NBSS_NEGATIVE:
	case NBSS_RETARGET:
		s = smb_begin(ctx, fl, d, 0);
		s->nbss_type = p[0];
		s->flags = PR_L7_SMB_RESPONSE;
		if (p[0] == NBSS_NEGATIVE && mn >= 1)
			s->status = m[0]; /* the NBSS error code */
		l7_txn_emit(ctx);
		break;
	default:
		break;
	}
}

static bool nbss_type_ok(uint8_t t)
{
	return t == NBSS_MESSAGE || (t >= NBSS_REQUEST && t <= NBSS_KEEPALIVE);
}

static uint32_t smb_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	while (len - off >= 4 && !l7_dir_done(fl, d)) {
		const uint8_t *q = p + off;
		/* Direct TCP (445) has a 24-bit length; NBSS a 17-bit one with the same layout. */
		uint32_t ml = (uint32_t)q[1] << 16 | l7_be16(q + 2);

		if (!nbss_type_ok(q[0]) || (q[0] != NBSS_MESSAGE && (q[1] & 0xfe))) {
			l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			return off;
		}
		if (ml > len - off - 4) {
			if (!ctx->buf_full)
				break;
			/* Larger than a buffer (a read or write): its header is enough. */
			ctx->st.oversize++;
			packet(ctx, fl, d, q, len - off);
			l7_dir_skip(fl, d, ml - (len - off - 4));
			return len;
		}
		packet(ctx, fl, d, q, 4 + ml);
		off += 4 + ml;
	}
	return off;
}

/* Port 139 or 445 and an NBSS header (an SMB message behind it on 445). */
static bool smb_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	if (server_port == 445 || client_port == 445)
		return len >= 8 && p[0] == NBSS_MESSAGE && p[5] == 'S' && p[6] == 'M' &&
		       p[7] == 'B' &&
		       (p[4] == 0xff || p[4] == 0xfe || p[4] == 0xfd || p[4] == 0xfc);
	if (server_port == 139 || client_port == 139)
		return len >= 4 && nbss_type_ok(p[0]) && (p[0] == NBSS_MESSAGE || !(p[1] & 0xfe));
	return false;
}

/* After a gap: an NBSS header with an SMB message behind it (a bare header says too little). */
static bool smb_resync(struct pr_l7_state *st, uint8_t dir, const uint8_t *p, uint32_t len)
{
	(void)st;
	(void)dir;
	return len >= 8 && p[0] == NBSS_MESSAGE && p[5] == 'S' && p[6] == 'M' && p[7] == 'B' &&
	       (p[4] == 0xff || p[4] == 0xfe || p[4] == 0xfd || p[4] == 0xfc);
}

static void smb_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_smb_ops = {
	.name = "smb",
	.app_id = PR_L7_APP_SMB,
	.l4 = PR_L7_L4_TCP,
	.detect = smb_detect,
	.init = smb_init,
	.parse = smb_parse,
	.resync = smb_resync,
};
