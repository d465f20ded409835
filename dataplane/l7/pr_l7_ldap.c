// SPDX-License-Identifier: Apache-2.0
/*
 * LDAP (RFC 4511) over TCP ports 389 and 3268 and connectionless over UDP
 * 389 (CLDAP): one transaction per LDAPMessage with its message id and
 * operation, and per operation: the bind's version, DN, authentication
 * choice and SASL mechanism (never the password or credentials); the
 * search's base, scope, filter (written as RFC 4515 text) and attribute
 * count; the DN of entries, modifications, additions, deletions and
 * comparisons; the extended request's OID; and every result's code,
 * matched DN and diagnostic message. A StartTLS extended request answered
 * with success hands the flow to the TLS parser. Messages that span
 * segments are collected by pr_l7.c; one larger than a buffer is skipped.
 * A SASL-protected session (no LDAPMessage where one is due) stops the
 * direction. Called by pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_ber.h"

#define OP_BIND_REQ 0
#define OP_BIND_RESP 1
#define OP_SEARCH_REQ 3
#define OP_SEARCH_ENTRY 4
#define OP_SEARCH_DONE 5
#define OP_MODIFY_REQ 6
#define OP_ADD_REQ 8
#define OP_DEL_REQ 10
#define OP_MODDN_REQ 12
#define OP_COMPARE_REQ 14
#define OP_EXT_REQ 23
#define OP_EXT_RESP 24

#define STARTTLS_OID "1.3.6.1.4.1.1466.20037"
#define FILTER_DEPTH 16

/* Responses that are an LDAPResult (with or without more after it). */
static bool is_result(uint8_t op)
{
	return op == 1 || op == 5 || op == 7 || op == 9 || op == 11 || op == 13 || op == 15 ||
	       op == 24;
}

static void str_to(char *dst, size_t cap, const struct l7_rd *v)
{
	l7_copy_text(dst, cap, v->p, l7_rd_left(v));
}

/* An assertion value, escaped as RFC 4515 3 says (and every non-printable byte too). */
static void filter_value(struct l7_sb *sb, const struct l7_rd *v)
{
	static const char hex[] = "0123456789abcdef";

	for (const uint8_t *c = v->p; c < v->end; c++) {
		if (*c == '*' || *c == '(' || *c == ')' || *c == '\\' || *c < 0x20 || *c == 0x7f) {
			char e[3] = { '\\', hex[*c >> 4], hex[*c & 15] };

			l7_sb_putn(sb, e, 3);
		} else {
			l7_sb_putc(sb, (char)*c);
		}
	}
}

static void filter_text(struct l7_sb *sb, const struct l7_rd *v)
{
	l7_sb_putn(sb, (const char *)v->p, l7_rd_left(v));
}

/* One Filter element as RFC 4515 text; false when it does not parse. */
static bool filter(struct l7_sb *sb, const struct l7_ber *f, int depth)
{
	struct l7_rd r = f->val;
	struct l7_ber a, b;

	if (f->cls != BER_CONTEXT || depth > FILTER_DEPTH)
		return false;
	l7_sb_putc(sb, '(');
	switch (f->tag) {
	case 0: /* and */
	case 1: /* or */
		l7_sb_putc(sb, f->tag ? '|' : '&');
		while (l7_rd_left(&r))
			if (!l7_ber_next(&r, &a) || !filter(sb, &a, depth + 1))
				return false;
		break;
	case 2: /* not */
		l7_sb_putc(sb, '!');
		if (!l7_ber_next(&r, &a) || !filter(sb, &a, depth + 1))
			return false;
		break;
	case 3: /* equalityMatch */
	case 5: /* greaterOrEqual */
	case 6: /* lessOrEqual */
	case 8: /* approxMatch */
		if (!l7_ber_next(&r, &a) || !l7_ber_next(&r, &b))
			return false;
		filter_text(sb, &a.val);
		l7_sb_putn(sb,
			   f->tag == 3 ? "=" :
			   f->tag == 5 ? ">=" :
			   f->tag == 6 ? "<=" :
					 "~=",
			   f->tag == 3 ? 1 : 2);
		filter_value(sb, &b.val);
		break;
	case 4: { /* substrings: type, then initial / any / final pieces */
		struct l7_ber seq;
		bool first = true;

		if (!l7_ber_next(&r, &a) || !l7_ber_next(&r, &seq))
			return false;
		filter_text(sb, &a.val);
		l7_sb_putc(sb, '=');
		while (l7_rd_left(&seq.val)) {
			if (!l7_ber_next(&seq.val, &b))
				return false;
			if (b.tag != 0 || !first)
				l7_sb_putc(sb, '*');
			filter_value(sb, &b.val);
			first = false;
			if (b.tag == 2)
				break;
		}
		if (first || b.tag != 2)
			l7_sb_putc(sb, '*');
		break;
	}
	case 7: /* present */
		filter_text(sb, &r);
		l7_sb_putn(sb, "=*", 2);
		break;
	case 9: { /* extensibleMatch: [1] rule, [2] type, [3] value, [4] dnAttributes */
		struct l7_rd rule = { NULL, NULL, true }, type = rule, value = rule;
		bool dn = false;

		while (l7_rd_left(&r)) {
			if (!l7_ber_next(&r, &a))
				return false;
			if (a.tag == 1)
				rule = a.val;
			else if (a.tag == 2)
				type = a.val;
			else if (a.tag == 3)
				value = a.val;
			else if (a.tag == 4)
				dn = l7_rd_left(&a.val) && a.val.p[0];
		}
		if (!type.bad)
			filter_text(sb, &type);
		if (dn)
			l7_sb_putn(sb, ":dn", 3);
		if (!rule.bad) {
			l7_sb_putc(sb, ':');
			filter_text(sb, &rule);
		}
		l7_sb_putn(sb, ":=", 2);
		if (!value.bad)
			filter_value(sb, &value);
		break;
	}
	default:
		return false;
	}
	l7_sb_putc(sb, ')');
	return true;
}

/* resultCode, matchedDN, diagnosticMessage. */
static bool result(struct pr_l7_ldap *l, struct l7_rd *r)
{
	struct l7_ber e;
	int64_t v;

	if (!l7_ber_expect(r, BER_UNIVERSAL, BER_ENUMERATED, &e) || !l7_ber_int(&e, &v))
		return false;
	l->result = (uint8_t)v;
	if (!l7_ber_expect(r, BER_UNIVERSAL, BER_OCTET_STRING, &e))
		return false;
	str_to(l->matched, sizeof(l->matched), &e.val);
	if (!l7_ber_expect(r, BER_UNIVERSAL, BER_OCTET_STRING, &e))
		return false;
	str_to(l->diag, sizeof(l->diag), &e.val);
	return true;
}

static bool operation(struct pr_l7_ldap *l, const struct l7_ber *op)
{
	struct l7_rd r = op->val;
	struct l7_ber e;
	int64_t v;

	switch (l->op) {
	case OP_BIND_REQ:
		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_INTEGER, &e) || !l7_ber_int(&e, &v))
			return false;
		l->version = (uint8_t)v;
		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_OCTET_STRING, &e))
			return false;
		str_to(l->name, sizeof(l->name), &e.val);
		if (!l7_ber_next(&r, &e) || e.cls != BER_CONTEXT)
			return false;
		l->auth = (uint8_t)e.tag;
		if (e.tag == 3 && l7_ber_expect(&e.val, BER_UNIVERSAL, BER_OCTET_STRING, &e))
			str_to(l->mechanism, sizeof(l->mechanism), &e.val);
		return true;
	case OP_SEARCH_REQ: {
		struct l7_sb sb;

		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_OCTET_STRING, &e))
			return false;
		str_to(l->name, sizeof(l->name), &e.val);
		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_ENUMERATED, &e) || !l7_ber_int(&e, &v))
			return false;
		l->scope = (uint8_t)v;
		/* derefAliases, sizeLimit, timeLimit, typesOnly, then the filter. */
		for (int i = 0; i < 4; i++)
			if (!l7_ber_next(&r, &e))
				return false;
		if (!l7_ber_next(&r, &e))
			return false;
		l7_sb_init(&sb, l->filter, sizeof(l->filter));
		if (!filter(&sb, &e, 0))
			l->filter[0] = '\0';
		if (l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &e)) {
			struct l7_ber attr;

			while (l7_rd_left(&e.val) && l7_ber_next(&e.val, &attr))
				l->n_attrs++;
		}
		return true;
	}
	case OP_SEARCH_ENTRY:
	case OP_MODIFY_REQ:
	case OP_ADD_REQ:
	case OP_MODDN_REQ:
	case OP_COMPARE_REQ:
		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_OCTET_STRING, &e))
			return false;
		str_to(l->name, sizeof(l->name), &e.val);
		if ((l->op == OP_SEARCH_ENTRY || l->op == OP_ADD_REQ) &&
		    l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &e)) {
			struct l7_ber attr;

			while (l7_rd_left(&e.val) && l7_ber_next(&e.val, &attr))
				l->n_attrs++;
		}
		return true;
	case OP_DEL_REQ: /* the DN is the operation's own contents */
		str_to(l->name, sizeof(l->name), &r);
		return true;
	case OP_EXT_REQ:
		if (!l7_ber_next(&r, &e) || !l7_ber_is(&e, BER_CONTEXT, 0))
			return false;
		str_to(l->name, sizeof(l->name), &e.val);
		return true;
	default:
		return is_result(l->op) ? result(l, &r) : true;
	}
}

/* One LDAPMessage of n bytes at p. */
static void message(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		    uint32_t n)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_LDAP_MESSAGE);
	struct pr_l7_ldap *l = &t->u.ldap;
	struct l7_rd r = l7_rd_make(p, n);
	struct l7_ber msg, e, op;
	int64_t v;

	memset(l, 0, offsetof(struct pr_l7_ldap, name));
	l->name[0] = l->filter[0] = l->mechanism[0] = l->diag[0] = l->matched[0] = '\0';
	if (fl->ip_proto == PR_L7_PROTO_UDP)
		l->flags |= PR_L7_LDAP_UDP;
	if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &msg) ||
	    !l7_ber_expect(&msg.val, BER_UNIVERSAL, BER_INTEGER, &e) || !l7_ber_int(&e, &v) ||
	    !l7_ber_next(&msg.val, &op) || op.cls != BER_APPLICATION || op.tag > 25) {
		ctx->st.malformed++;
		return;
	}
	l->msg_id = (uint32_t)v;
	l->op = (uint8_t)op.tag;
	if (!operation(l, &op)) {
		l->flags |= PR_L7_LDAP_TRUNCATED;
		ctx->st.malformed++;
	}
	l7_txn_emit(ctx);
	if (fl->ip_proto != PR_L7_PROTO_TCP)
		return;
	if (l->op == OP_EXT_REQ && !strcmp(l->name, STARTTLS_OID)) {
		fl->u.ldap.starttls = 1;
		fl->u.ldap.starttls_id = l->msg_id;
	} else if (l->op == OP_EXT_RESP && fl->u.ldap.starttls &&
		   fl->u.ldap.starttls_id == l->msg_id) {
		fl->u.ldap.starttls = 0;
		if (l->result == 0)
			l7_flow_switch(ctx, fl, PR_L7_APP_TLS);
	}
}

/* Length of the BER element at p (header included): 0 when not there yet, -1 when not BER. */
static int64_t element_len(const uint8_t *p, uint32_t n)
{
	uint32_t len = 0, k;

	if (n < 2)
		return 0;
	if (p[1] < 0x80)
		return 2 + p[1];
	k = p[1] & 0x7f;
	if (!k || k > 4)
		return -1;
	if (n < 2 + k)
		return 0;
	for (uint32_t i = 0; i < k; i++)
		len = len << 8 | p[2 + i];
	return (int64_t)2 + k + len;
}

static uint32_t ldap_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	if (fl->ip_proto == PR_L7_PROTO_UDP) {
		/* CLDAP answers a search with its entries and its result in one datagram. */
		while (off < len && p[off] == 0x30) {
			int64_t ml = element_len(p + off, len - off);

			if (ml <= 0 || ml > len - off) {
				ctx->st.malformed++;
				break;
			}
			message(ctx, fl, d, p + off, (uint32_t)ml);
			off += (uint32_t)ml;
		}
		return len;
	}
	while (off < len && fl->app == PR_L7_APP_LDAP && !l7_dir_done(fl, d)) {
		int64_t ml;

		if (p[off] != 0x30) {
			/* SASL integrity or privacy: length-prefixed opaque buffers from here. */
			l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
			return off;
		}
		ml = element_len(p + off, len - off);
		if (ml < 0) {
			l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			return off;
		}
		if (!ml || ml > len - off) {
			if (!ml || !ctx->buf_full)
				break;
			ctx->st.oversize++;
			l7_dir_skip(fl, d, (uint64_t)ml - (len - off));
			return len;
		}
		message(ctx, fl, d, p + off, (uint32_t)ml);
		off += (uint32_t)ml;
	}
	return off;
}

/* A message start: SEQUENCE { INTEGER, [APPLICATION n] ... }. */
static bool message_start(const uint8_t *p, uint32_t len)
{
	struct l7_rd r;
	uint32_t k;

	if (len < 7 || p[0] != 0x30)
		return false;
	/* Past the SEQUENCE header (its length may reach beyond this segment). */
	k = p[1] < 0x80 ? 2 : 2 + (p[1] & 0x7fu);
	if (k > 6 || k + 3 > len)
		return false;
	r = l7_rd_make(p + k, len - k);
	{
		struct l7_ber e;

		return l7_ber_expect(&r, BER_UNIVERSAL, BER_INTEGER, &e) && l7_rd_left(&r) >= 1 &&
		       (r.p[0] >> 6) == BER_APPLICATION;
	}
}

/* An LDAP port and a message start. */
static bool ldap_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	return (server_port == 389 || server_port == 3268 || client_port == 389 ||
		client_port == 3268) &&
	       message_start(p, len);
}

static bool ldap_resync(struct pr_l7_state *st, uint8_t dir, const uint8_t *p, uint32_t len)
{
	(void)st;
	(void)dir;
	return message_start(p, len);
}

static void ldap_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_ldap_ops = {
	.name = "ldap",
	.app_id = PR_L7_APP_LDAP,
	.l4 = PR_L7_L4_TCP | PR_L7_L4_UDP,
	.detect = ldap_detect,
	.init = ldap_init,
	.parse = ldap_parse,
	.resync = ldap_resync,
};
