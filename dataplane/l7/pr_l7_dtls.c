// SPDX-License-Identifier: Apache-2.0
/*
 * DTLS over UDP (RFC 4347, 6347, 9147 for the first flight; and the
 * pre-standard version 0x0100 of OpenSSL and Cisco AnyConnect), on any
 * port: the records of epoch 0 of each datagram, their handshake
 * messages put together from fragments (in order; a fragment that does
 * not continue the message is passed over), and the ClientHello,
 * ServerHello and Certificate handed to the TLS code: SNI, ALPN, JA3, JA4
 * with the "d" prefix, JA3S, JA4S, the leaf certificate. A record of a
 * later epoch, ChangeCipherSpec or application data ends the direction.
 * Called by pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define REC_HDR 13
#define HS_HDR 12

#define REC_CCS 20
#define REC_ALERT 21
#define REC_HANDSHAKE 22
#define REC_APPDATA 23

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_HELLO_VERIFY 3
#define HS_CERTIFICATE 11

static bool version_ok(uint16_t v)
{
	return v == 0xfeff || v == 0xfefd || v == 0xfefc || v == 0x0100;
}

static bool interesting(uint8_t t)
{
	return t == HS_CLIENT_HELLO || t == HS_SERVER_HELLO || t == HS_CERTIFICATE;
}

/* One fragment (or a whole message) of a handshake message of type t and length len. */
static void fragment(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, uint8_t t, uint32_t len,
		     uint16_t mseq, uint32_t foff, const uint8_t *frag, uint32_t flen,
		     uint16_t rec_version)
{
	struct l7_dtls *s = &fl->u.dtls;
	struct l7_dir *ds = &fl->dir[d];
	uint8_t *buf;
	uint32_t n;

	if (!foff && flen == len) {
		s->rec_version[d] = rec_version;
		l7_tls_message(ctx, fl, d, t, frag, len, len);
		return;
	}
	if (!s->len[d] || s->seq[d] != mseq || s->type[d] != t) {
		if (foff)
			return; /* the middle of a message whose start was not seen */
		s->len[d] = len;
		s->have[d] = 0;
		s->seq[d] = mseq;
		s->type[d] = t;
		s->rec_version[d] = rec_version;
	}
	if (foff != s->have[d] || foff + flen > s->len[d])
		return; /* a repeat, or out of order: not put together */
	buf = l7_buf_get(ctx, fl, d);
	if (!buf)
		return;
	/* What does not fit the buffer is counted, not kept (a long certificate chain). */
	n = ds->buf_len < ctx->buf_bytes ? PR_MIN(flen, ctx->buf_bytes - ds->buf_len) : 0;
	memcpy(buf + ds->buf_len, frag, n);
	ds->buf_len += n;
	s->have[d] += flen;
	if (s->have[d] < s->len[d])
		return;
	l7_tls_message(ctx, fl, d, t, buf, ds->buf_len, s->len[d]);
	s->len[d] = 0;
	if (!l7_dir_done(fl, d))
		l7_buf_put(ctx, fl, d);
}

/* The handshake messages of one record (several may share it). */
static void handshake(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *h,
		      uint32_t n, uint16_t rec_version)
{
	while (n >= HS_HDR && !l7_dir_done(fl, d)) {
		uint32_t len = l7_be24(h + 1), foff = l7_be24(h + 6), flen = l7_be24(h + 9);

		if (flen > n - HS_HDR || foff > len || flen > len - foff) {
			l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			return;
		}
		if (interesting(h[0]))
			fragment(ctx, fl, d, h[0], len, l7_be16(h + 4), foff, h + HS_HDR, flen,
				 rec_version);
		h += HS_HDR + flen;
		n -= HS_HDR + flen;
	}
}

static uint32_t dtls_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	while (len - off >= REC_HDR && !l7_dir_done(fl, d)) {
		const uint8_t *r = p + off;
		uint16_t ver = l7_be16(r + 1), epoch = l7_be16(r + 3), rlen = l7_be16(r + 11);

		if (rlen > len - off - REC_HDR || !version_ok(ver) || r[0] < REC_CCS ||
		    r[0] > REC_APPDATA) {
			ctx->st.malformed++;
			break;
		}
		/* Protected from here on: a new epoch, ChangeCipherSpec, application data. */
		if (epoch || r[0] == REC_CCS || r[0] == REC_APPDATA) {
			l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
			break;
		}
		if (r[0] == REC_HANDSHAKE)
			handshake(ctx, fl, d, r + REC_HDR, rlen, ver);
		off += REC_HDR + rlen;
	}
	return len;
}

/* A handshake record of epoch 0 that starts a ClientHello, HelloVerifyRequest or ServerHello. */
static bool dtls_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	(void)client_port;
	(void)server_port;
	return len >= REC_HDR + HS_HDR && p[0] == REC_HANDSHAKE && version_ok(l7_be16(p + 1)) &&
	       !l7_be16(p + 3) && l7_be16(p + 11) >= HS_HDR &&
	       (p[13] == HS_CLIENT_HELLO || p[13] == HS_HELLO_VERIFY || p[13] == HS_SERVER_HELLO);
}

static void dtls_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_dtls_ops = {
	.name = "dtls",
	.app_id = PR_L7_APP_DTLS,
	.l4 = PR_L7_L4_UDP,
	.detect = dtls_detect,
	.init = dtls_init,
	.parse = dtls_parse,
};
