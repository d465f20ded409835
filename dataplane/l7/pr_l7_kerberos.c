// SPDX-License-Identifier: Apache-2.0
/*
 * Kerberos V5 (RFC 4120) over UDP and TCP port 88 (TCP: a 4-byte length
 * before each message). One transaction per message: its type, the
 * realm, client and service principal names ("krbtgt/EXAMPLE.COM"), the
 * encryption types a request offers and the one a reply or ticket uses,
 * and an error's code and text. Everything encrypted stays so. DER is
 * read with pr_l7_ber.h. Called by pr_l7.c on the dataplane core that
 * owns the flow.
 */
#include <string.h>

#include "pr_l7_ber.h"

#define AS_REQ 10
#define AS_REP 11
#define TGS_REQ 12
#define TGS_REP 13
#define AP_REQ 14
#define AP_REP 15
#define KRB_ERROR 30

#define TCP_MSG_MAX (1u << 20)

/* Context-tagged fields of a SEQUENCE: up to 13 of them ([0] .. [12]). */
#define FIELDS 13

struct fields {
	struct l7_rd f[FIELDS];
	bool has[FIELDS];
};

/* The [n] EXPLICIT fields of a SEQUENCE's contents, in any order. */
static bool fields_read(struct l7_rd r, struct fields *fs)
{
	struct l7_ber e;

	memset(fs, 0, sizeof(*fs));
	while (l7_rd_left(&r)) {
		if (!l7_ber_next(&r, &e))
			return false;
		if (e.cls == BER_CONTEXT && e.tag < FIELDS) {
			fs->f[e.tag] = e.val;
			fs->has[e.tag] = true;
		}
	}
	return true;
}

static bool int_of(struct l7_rd r, int64_t *v)
{
	struct l7_ber e;

	return l7_ber_expect(&r, BER_UNIVERSAL, BER_INTEGER, &e) && l7_ber_int(&e, v);
}

/* A GeneralString (or any string) inside an EXPLICIT tag. */
static void string_of(struct l7_rd r, char *dst, size_t cap)
{
	struct l7_ber e;

	if (l7_ber_next(&r, &e))
		l7_copy_text(dst, cap, e.val.p, l7_rd_left(&e.val));
}

/* PrincipalName ::= SEQUENCE { name-type [0], name-string [1] SEQUENCE OF KerberosString } */
static void principal(struct l7_rd r, char *dst, size_t cap)
{
	struct l7_ber seq, strs, s;
	struct fields fs;
	struct l7_sb sb;

	l7_sb_init(&sb, dst, cap);
	if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &seq) || !fields_read(seq.val, &fs) ||
	    !fs.has[1] || !l7_ber_expect(&fs.f[1], BER_UNIVERSAL, BER_SEQUENCE, &strs))
		return;
	while (l7_rd_left(&strs.val) && l7_ber_next(&strs.val, &s)) {
		if (sb.len)
			l7_sb_putc(&sb, '/');
		if (sb.len + l7_rd_left(&s.val) + 1 > sb.cap)
			return;
		l7_copy_text(sb.p + sb.len, sb.cap - sb.len, s.val.p, l7_rd_left(&s.val));
		sb.len += l7_rd_left(&s.val);
	}
}

/* EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1], cipher [2] } */
static void enc_etype(struct l7_rd r, int32_t *etype)
{
	struct l7_ber seq;
	struct fields fs;
	int64_t v;

	if (l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &seq) && fields_read(seq.val, &fs) &&
	    fs.has[0] && int_of(fs.f[0], &v))
		*etype = (int32_t)v;
}

/* Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] } */
static void ticket(struct pr_l7_kerberos *k, struct l7_rd r)
{
	struct l7_ber app, seq;
	struct fields fs;

	if (!l7_ber_expect(&r, BER_APPLICATION, 1, &app) ||
	    !l7_ber_expect(&app.val, BER_UNIVERSAL, BER_SEQUENCE, &seq) ||
	    !fields_read(seq.val, &fs))
		return;
	if (fs.has[1] && !k->realm[0])
		string_of(fs.f[1], k->realm, sizeof(k->realm));
	if (fs.has[2] && !k->sname[0])
		principal(fs.f[2], k->sname, sizeof(k->sname));
	if (fs.has[3] && !k->enc_etype)
		enc_etype(fs.f[3], &k->enc_etype);
}

static bool kdc_req(struct pr_l7_kerberos *k, struct fields *fs)
{
	struct l7_ber body, et, x;
	struct fields b;
	struct l7_sb sb;
	int64_t v;

	if (!fs->has[4] || !l7_ber_expect(&fs->f[4], BER_UNIVERSAL, BER_SEQUENCE, &body) ||
	    !fields_read(body.val, &b))
		return false;
	if (b.has[1])
		principal(b.f[1], k->cname, sizeof(k->cname));
	if (b.has[2])
		string_of(b.f[2], k->realm, sizeof(k->realm));
	if (b.has[3])
		principal(b.f[3], k->sname, sizeof(k->sname));
	l7_sb_init(&sb, k->etypes, sizeof(k->etypes));
	if (b.has[8] && l7_ber_expect(&b.f[8], BER_UNIVERSAL, BER_SEQUENCE, &et)) {
		while (l7_rd_left(&et.val) && l7_ber_next(&et.val, &x) && l7_ber_int(&x, &v)) {
			l7_sb_sep(&sb);
			if (v < 0) {
				l7_sb_putc(&sb, '-');
				v = -v;
			}
			l7_sb_u32(&sb, (uint32_t)v);
		}
	}
	return true;
}

/* The message inside its [APPLICATION n] tag. */
static bool krb_message(struct pr_l7_kerberos *k, const uint8_t *p, uint32_t n)
{
	struct l7_rd r = l7_rd_make(p, n);
	struct l7_ber app, seq;
	struct fields fs;
	int64_t v;

	if (!l7_ber_next(&r, &app) || app.cls != BER_APPLICATION)
		return false;
	k->msg_type = (uint8_t)app.tag;
	if (!l7_ber_expect(&app.val, BER_UNIVERSAL, BER_SEQUENCE, &seq) ||
	    !fields_read(seq.val, &fs))
		return false;
	switch (k->msg_type) {
	case AS_REQ:
	case TGS_REQ:
		if (fs.has[1] && int_of(fs.f[1], &v))
			k->pvno = (uint8_t)v;
		return kdc_req(k, &fs);
	case AS_REP:
	case TGS_REP:
		if (fs.has[0] && int_of(fs.f[0], &v))
			k->pvno = (uint8_t)v;
		if (fs.has[3])
			string_of(fs.f[3], k->realm, sizeof(k->realm));
		if (fs.has[4])
			principal(fs.f[4], k->cname, sizeof(k->cname));
		if (fs.has[6])
			enc_etype(fs.f[6], &k->enc_etype);
		if (fs.has[5])
			ticket(k, fs.f[5]);
		return true;
	case AP_REQ:
		if (fs.has[3])
			ticket(k, fs.f[3]);
		return true;
	case AP_REP:
		if (fs.has[2])
			enc_etype(fs.f[2], &k->enc_etype);
		return true;
	case KRB_ERROR:
		if (fs.has[6] && int_of(fs.f[6], &v))
			k->error_code = (int32_t)v;
		if (fs.has[9])
			string_of(fs.f[9], k->realm, sizeof(k->realm));
		else if (fs.has[7])
			string_of(fs.f[7], k->realm, sizeof(k->realm));
		if (fs.has[8])
			principal(fs.f[8], k->cname, sizeof(k->cname));
		if (fs.has[10])
			principal(fs.f[10], k->sname, sizeof(k->sname));
		if (fs.has[11])
			string_of(fs.f[11], k->e_text, sizeof(k->e_text));
		return true;
	default:
		return true;
	}
}

static void message(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		    uint32_t n)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_KERBEROS);
	struct pr_l7_kerberos *k = &t->u.krb;

	memset(k, 0, sizeof(*k));
	if (!krb_message(k, p, n)) {
		ctx->st.malformed++;
		if (!k->msg_type)
			return;
		k->truncated = 1;
	}
	l7_txn_emit(ctx);
}

static uint32_t krb_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	if (fl->ip_proto == PR_L7_PROTO_UDP) {
		message(ctx, fl, d, p, len);
		return len;
	}
	while (len - off >= 4) {
		uint32_t ml = l7_be32(p + off);

		if (ml & 0x80000000u || ml > TCP_MSG_MAX) {
			l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			return off;
		}
		if (ml > len - off - 4) {
			if (!ctx->buf_full)
				break;
			ctx->st.oversize++;
			l7_dir_skip(fl, d, ml - (len - off - 4));
			return len;
		}
		message(ctx, fl, d, p + off + 4, ml);
		off += 4 + ml;
	}
	return off;
}

static bool is_krb_tag(uint8_t b)
{
	uint8_t t = b & 0x1f;

	return (b & 0xe0) == 0x60 && ((t >= AS_REQ && t <= AP_REP) || t == KRB_ERROR);
}

/* Port 88 and an [APPLICATION n] tag of a Kerberos message (TCP: after the length). */
static bool krb_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	(void)dir;
	if (server_port != 88 && client_port != 88)
		return false;
	if (ip_proto == PR_L7_PROTO_UDP)
		return len >= 2 && is_krb_tag(p[0]);
	return len >= 6 && !(p[0] & 0x80) && is_krb_tag(p[4]);
}

static bool krb_resync(struct pr_l7_state *st, uint8_t dir, const uint8_t *p, uint32_t len)
{
	(void)st;
	(void)dir;
	return len >= 6 && !(p[0] & 0x80) && is_krb_tag(p[4]);
}

static void krb_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_kerberos_ops = {
	.name = "kerberos",
	.app_id = PR_L7_APP_KERBEROS,
	.l4 = PR_L7_L4_TCP | PR_L7_L4_UDP,
	.detect = krb_detect,
	.init = krb_init,
	.parse = krb_parse,
	.resync = krb_resync,
};
