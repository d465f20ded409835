// SPDX-License-Identifier: Apache-2.0
/*
 * NTP over UDP port 123 (RFC 5905 and the versions before it): one
 * transaction per packet. Time packets (modes 1-5) give version, mode,
 * leap indicator, stratum, poll, precision, root delay and dispersion,
 * the reference id and the four timestamps; control packets (mode 6,
 * ntpq) their opcode, flags, sequence and association; private packets
 * (mode 7, ntpdc) their request code and flags. Called by pr_l7.c on the
 * dataplane core that owns the flow.
 */
#include <stdio.h>
#include <string.h>

#include "pr_l7_int.h"

#define NTP_LEN 48 /* a time packet without extension fields or MAC */
#define NTP_CTL_LEN 12

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)l7_be32(p) << 32 | l7_be32(p + 4);
}

/* Stratum 0 and 1 carry four ASCII characters (a kiss code or a clock source). */
static void refid_text(char *dst, uint8_t stratum, const uint8_t *r)
{
	if (stratum <= 1) {
		size_t n = 0;

		while (n < 4 && r[n])
			n++;
		l7_copy_text(dst, PR_L7_ADDR_MAX, r, n);
	} else {
		snprintf(dst, PR_L7_ADDR_MAX, "%u.%u.%u.%u", r[0], r[1], r[2], r[3]);
	}
}

static uint32_t ntp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_txn *t;
	struct pr_l7_ntp *n;
	uint8_t mode;

	if (len < NTP_CTL_LEN) {
		ctx->st.malformed++;
		return len;
	}
	mode = p[0] & 7;
	if (mode != 6 && mode != 7 && len < NTP_LEN) {
		ctx->st.malformed++;
		return len;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_NTP);
	n = &t->u.ntp;
	memset(n, 0, sizeof(*n));
	n->version = (p[0] >> 3) & 7;
	n->mode = mode;
	if (mode == 6) {
		n->flags = (uint8_t)((p[1] & 0x80 ? PR_L7_NTP_RESPONSE : 0) |
				     (p[1] & 0x40 ? PR_L7_NTP_ERROR : 0) |
				     (p[1] & 0x20 ? PR_L7_NTP_MORE : 0));
		n->opcode = p[1] & 0x1f;
		n->sequence = l7_be16(p + 2);
		n->assoc_id = l7_be16(p + 6);
	} else if (mode == 7) {
		/* The first byte is R, M, version, mode; the request code is the fourth. */
		n->flags = (uint8_t)((p[0] & 0x80 ? PR_L7_NTP_RESPONSE : 0) |
				     (p[0] & 0x40 ? PR_L7_NTP_MORE : 0));
		n->opcode = p[3];
	} else {
		n->leap = p[0] >> 6;
		n->stratum = p[1];
		n->poll = (int8_t)p[2];
		n->precision = (int8_t)p[3];
		n->root_delay = l7_be32(p + 4);
		n->root_dispersion = l7_be32(p + 8);
		refid_text(n->refid, n->stratum, p + 12);
		n->ref_ts = be64(p + 16);
		n->org_ts = be64(p + 24);
		n->rec_ts = be64(p + 32);
		n->xmt_ts = be64(p + 40);
	}
	l7_txn_emit(ctx);
	return len;
}

/* Port 123 and a version NTP has had (1 to 4). */
static bool ntp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	uint8_t v, mode;

	(void)ip_proto;
	(void)dir;
	if (server_port != 123 && client_port != 123)
		return false;
	if (len < NTP_CTL_LEN)
		return false;
	v = (p[0] >> 3) & 7;
	mode = p[0] & 7;
	return v >= 1 && v <= 4 && (mode == 6 || mode == 7 || len >= NTP_LEN);
}

static void ntp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_ntp_ops = {
	.name = "ntp",
	.app_id = PR_L7_APP_NTP,
	.l4 = PR_L7_L4_UDP,
	.detect = ntp_detect,
	.init = ntp_init,
	.parse = ntp_parse,
};
