// SPDX-License-Identifier: Apache-2.0
/*
 * SNMP over UDP ports 161 and 162 (v1 RFC 1157, v2c RFC 3416, v3 RFC
 * 3412/3414): one transaction per message with its version, community
 * (v1, v2c) or USM user and engine id (v3), PDU type, request id, error
 * status and index (getbulk: non-repeaters and max-repetitions), the v1
 * trap's enterprise and trap numbers, and the names of the variable
 * bindings. A v3 message whose PDU is encrypted reports what its header
 * says. BER is read with pr_l7_ber.h: every length is checked against its
 * container. Called by pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_ber.h"

#define PDU_TRAP_V1 4

static void octets_text(char *dst, size_t cap, const struct l7_rd *v)
{
	l7_copy_text(dst, cap, v->p, l7_rd_left(v));
}

/* request-id .. variable-bindings of a PDU (or the v1 trap's fields). */
static bool pdu(struct pr_l7_snmp *s, struct l7_rd r)
{
	struct l7_ber e, vb, name;
	struct l7_sb oids, one;
	char tmp[256];
	int64_t v;

	if (s->pdu_type == PDU_TRAP_V1) {
		struct l7_sb ent;

		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_OID, &e))
			return false;
		l7_sb_init(&ent, s->enterprise, sizeof(s->enterprise));
		l7_ber_oid(&ent, e.val.p, l7_rd_left(&e.val));
		if (!l7_ber_next(&r, &e)) /* agent-addr */
			return false;
		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_INTEGER, &e) || !l7_ber_int(&e, &v))
			return false;
		s->generic_trap = (int32_t)v;
		if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_INTEGER, &e) || !l7_ber_int(&e, &v))
			return false;
		s->specific_trap = (int32_t)v;
		if (!l7_ber_next(&r, &e)) /* time-stamp */
			return false;
	} else {
		int32_t *dst[3] = { &s->request_id, &s->error_status, &s->error_index };

		for (int i = 0; i < 3; i++) {
			if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_INTEGER, &e) ||
			    !l7_ber_int(&e, &v))
				return false;
			*dst[i] = (int32_t)v;
		}
	}
	if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &e))
		return false;
	l7_sb_init(&oids, s->oids, sizeof(s->oids));
	while (l7_rd_left(&e.val)) {
		if (!l7_ber_expect(&e.val, BER_UNIVERSAL, BER_SEQUENCE, &vb) ||
		    !l7_ber_expect(&vb.val, BER_UNIVERSAL, BER_OID, &name))
			return false;
		if (s->n_varbinds < 0xffff)
			s->n_varbinds++;
		/* Whole names only: one that does not fit ends the list. */
		l7_sb_init(&one, tmp, sizeof(tmp));
		l7_ber_oid(&one, name.val.p, l7_rd_left(&name.val));
		if (!one.cut && oids.len + 1 + one.len < oids.cap) {
			l7_sb_sep(&oids);
			l7_sb_putn(&oids, tmp, one.len);
		}
	}
	return true;
}

/* A v3 message after its version: header, security parameters, scoped PDU. */
static bool v3(struct pr_l7_snmp *s, struct l7_rd *r)
{
	struct l7_ber e, f, usm, x;
	struct l7_sb sb;

	/* msgGlobalData: msgID, msgMaxSize, msgFlags, msgSecurityModel. */
	if (!l7_ber_expect(r, BER_UNIVERSAL, BER_SEQUENCE, &e) ||
	    !l7_ber_expect(&e.val, BER_UNIVERSAL, BER_INTEGER, &f) ||
	    !l7_ber_expect(&e.val, BER_UNIVERSAL, BER_INTEGER, &f) ||
	    !l7_ber_expect(&e.val, BER_UNIVERSAL, BER_OCTET_STRING, &f))
		return false;
	if (l7_rd_left(&f.val))
		s->msg_flags = f.val.p[0];
	/* msgSecurityParameters: an OCTET STRING holding the USM sequence. */
	if (!l7_ber_expect(r, BER_UNIVERSAL, BER_OCTET_STRING, &e))
		return false;
	if (l7_ber_expect(&e.val, BER_UNIVERSAL, BER_SEQUENCE, &usm) &&
	    l7_ber_expect(&usm.val, BER_UNIVERSAL, BER_OCTET_STRING, &x)) {
		l7_sb_init(&sb, s->engine_id, sizeof(s->engine_id));
		l7_sb_hex(&sb, x.val.p, PR_MIN(l7_rd_left(&x.val), (sizeof(s->engine_id) - 1) / 2));
		if (l7_ber_next(&usm.val, &x) && l7_ber_next(&usm.val, &x) &&
		    l7_ber_expect(&usm.val, BER_UNIVERSAL, BER_OCTET_STRING, &x))
			octets_text(s->user, sizeof(s->user), &x.val);
	}
	/* msgData: a ScopedPDU, or its encryption. */
	if (!l7_ber_next(r, &e))
		return false;
	if (l7_ber_is(&e, BER_UNIVERSAL, BER_OCTET_STRING)) {
		s->pdu_type = PR_L7_SNMP_PDU_ENCRYPTED;
		return true;
	}
	if (!l7_ber_is(&e, BER_UNIVERSAL, BER_SEQUENCE) ||
	    !l7_ber_expect(&e.val, BER_UNIVERSAL, BER_OCTET_STRING, &x) || /* contextEngineID */
	    !l7_ber_expect(&e.val, BER_UNIVERSAL, BER_OCTET_STRING, &x) || /* contextName */
	    !l7_ber_next(&e.val, &x) || x.cls != BER_CONTEXT || x.tag > 8)
		return false;
	s->pdu_type = (uint8_t)x.tag;
	return pdu(s, x.val);
}

static uint32_t snmp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct l7_rd r = l7_rd_make(p, len);
	struct pr_l7_txn *t;
	struct pr_l7_snmp *s;
	struct l7_ber msg, e;
	int64_t v;
	bool ok;

	if (!l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &msg) ||
	    !l7_ber_expect(&msg.val, BER_UNIVERSAL, BER_INTEGER, &e) || !l7_ber_int(&e, &v) ||
	    v < 0 || v > 3) {
		ctx->st.malformed++;
		return len;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SNMP);
	s = &t->u.snmp;
	memset(s, 0, sizeof(*s));
	s->version = (uint8_t)v;
	if (v == 3) {
		ok = v3(s, &msg.val);
	} else {
		ok = l7_ber_expect(&msg.val, BER_UNIVERSAL, BER_OCTET_STRING, &e);
		if (ok)
			octets_text(s->community, sizeof(s->community), &e.val);
		ok = ok && l7_ber_next(&msg.val, &e) && e.cls == BER_CONTEXT && e.tag <= 8;
		if (ok) {
			s->pdu_type = (uint8_t)e.tag;
			ok = pdu(s, e.val);
		}
	}
	if (!ok) {
		s->truncated = 1;
		ctx->st.malformed++;
	}
	l7_txn_emit(ctx);
	return len;
}

/* Port 161 or 162 and a message that starts as SNMP does: SEQUENCE { INTEGER 0..3 ... */
static bool snmp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	struct l7_rd r = l7_rd_make(p, len);
	struct l7_ber msg, e;
	int64_t v;

	(void)ip_proto;
	(void)dir;
	if (server_port != 161 && server_port != 162 && client_port != 161 && client_port != 162)
		return false;
	return l7_ber_expect(&r, BER_UNIVERSAL, BER_SEQUENCE, &msg) &&
	       l7_ber_expect(&msg.val, BER_UNIVERSAL, BER_INTEGER, &e) && l7_ber_int(&e, &v) &&
	       v >= 0 && v <= 3;
}

static void snmp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_snmp_ops = {
	.name = "snmp",
	.app_id = PR_L7_APP_SNMP,
	.l4 = PR_L7_L4_UDP,
	.detect = snmp_detect,
	.init = snmp_init,
	.parse = snmp_parse,
};
