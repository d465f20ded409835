// SPDX-License-Identifier: Apache-2.0
/*
 * TLS (SSL 3.0 to TLS 1.3) over TCP. Records are framed as they stream by,
 * with no copy: only the body of a handshake message that spans records or
 * segments is collected in the direction's borrowed buffer (one message at
 * a time, given back when it is done). From a ClientHello: versions, SNI,
 * ALPN, the cipher, extension, group, point-format and signature-algorithm
 * lists, JA3 (Salesforce) and JA4 (FoxIO); from a ServerHello: the chosen
 * version, cipher and ALPN, JA3S and JA4S; from a Certificate message: the
 * leaf certificate, parsed by OpenSSL. A direction stops at
 * ChangeCipherSpec or application data (encrypted from there on), and the
 * server's after a TLS 1.3 ServerHello, whose certificate is encrypted.
 * Called by pr_l7.c on the dataplane core that owns the flow.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pr_l7_int.h"

#define REC_CCS 20
#define REC_ALERT 21
#define REC_HANDSHAKE 22
#define REC_APPDATA 23
#define REC_HEARTBEAT 24
/* TLSCiphertext may carry 2^14 + 2048 bytes. */
#define REC_MAX (16384 + 2048)

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE 11

#define EXT_SERVER_NAME 0x0000
#define EXT_SUPPORTED_GROUPS 0x000a
#define EXT_EC_POINT_FORMATS 0x000b
#define EXT_SIGNATURE_ALGORITHMS 0x000d
#define EXT_ALPN 0x0010
#define EXT_SESSION_TICKET 0x0023
#define EXT_PRE_SHARED_KEY 0x0029
#define EXT_SUPPORTED_VERSIONS 0x002b

/* l7_tls_dir.flags */
#define TLS_D_IN_MSG 0x01 /* the handshake header is complete: collecting the body */
#define TLS_D_BUFFERED 0x02 /* the body is being copied into the direction's buffer */

/* ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest"), RFC 8446 4.1.3. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static const char hexdig[] = "0123456789abcdef";

/* A bounded reader over one message. */
struct rd {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
};

static inline bool rd_need(struct rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	return true;
}

static inline uint8_t rd_u8(struct rd *r)
{
	return rd_need(r, 1) ? *r->p++ : 0;
}

static inline uint16_t rd_u16(struct rd *r)
{
	uint16_t v;

	if (!rd_need(r, 2))
		return 0;
	v = l7_be16(r->p);
	r->p += 2;
	return v;
}

/* A sub-reader over the next n bytes, which the outer reader then skips. */
static inline struct rd rd_sub(struct rd *r, size_t n)
{
	struct rd s = { r->p, r->p, true };

	if (rd_need(r, n)) {
		s.end = r->p + n;
		s.bad = false;
		r->p += n;
	}
	return s;
}

static inline size_t rd_left(const struct rd *r)
{
	return r->bad ? 0 : (size_t)(r->end - r->p);
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* JA4's two ALPN characters from the first protocol (n bytes at p). */
static void ja4_alpn(const uint8_t *p, size_t n, char out[2])
{
	if (!n) {
		out[0] = '0';
		out[1] = '0';
	} else if (is_alnum(p[0]) && is_alnum(p[n - 1])) {
		out[0] = (char)p[0];
		out[1] = (char)p[n - 1];
	} else {
		out[0] = hexdig[p[0] >> 4];
		out[1] = hexdig[p[n - 1] & 15];
	}
}

static void ja4_version(uint16_t v, char out[2])
{
	const char *s;

	switch (v) {
	case 0x0304:
		s = "13";
		break;
	case 0x0303:
		s = "12";
		break;
	case 0x0302:
		s = "11";
		break;
	case 0x0301:
		s = "10";
		break;
	case 0x0300:
		s = "s3";
		break;
	case 0x0002:
		s = "s2";
		break;
	case 0xfeff:
		s = "d1";
		break;
	case 0xfefd:
		s = "d2";
		break;
	case 0xfefc:
		s = "d3";
		break;
	default:
		s = "00";
		break;
	}
	out[0] = s[0];
	out[1] = s[1];
}

static void two_digits(uint32_t n, char out[2])
{
	if (n > 99)
		n = 99;
	out[0] = (char)('0' + n / 10);
	out[1] = (char)('0' + n % 10);
}

/* Append v[0..n) as 4-digit hex, ',' joined. */
static void sb_hex_list(struct l7_sb *sb, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			l7_sb_putc(sb, ',');
		l7_sb_hex16(sb, v[i]);
	}
}

/* First 12 hex digits of SHA-256 over s, or twelve zeros when s is empty. */
static void ja4_hash12(struct pr_l7_ctx *ctx, const char *s, size_t n, char out[12])
{
	char hex[65];

	if (!n || !l7_digest_hex(ctx, ctx->sha256, s, n, hex))
		memset(hex, '0', 12);
	memcpy(out, hex, 12);
}

/* Collect the non-GREASE u16 values of a list (2-byte entries) into dst (at most cap). */
static size_t list_u16(struct rd r, uint16_t *dst, size_t cap, bool *cut)
{
	size_t n = 0;

	while (rd_left(&r) >= 2) {
		uint16_t v = rd_u16(&r);

		if (l7_is_grease(v))
			continue;
		if (n < cap)
			dst[n++] = v;
		else
			*cut = true;
	}
	return n;
}

/* ---- ClientHello ---- */

/* What the fingerprints need, beside what goes into the transaction. */
struct ch_lists {
	struct rd ciphers;
	struct rd exts; /* the whole extensions block */
	struct rd groups;
	struct rd ecpf;
	struct rd sigalgs;
	const uint8_t *alpn1; /* first ALPN protocol */
	size_t alpn1_len;
	bool has_exts;
};

static void ja3_client(struct pr_l7_ctx *ctx, struct pr_l7_tls_client_hello *ch,
		       const struct ch_lists *l)
{
	struct l7_sb sb;
	struct rd r;
	bool first;

	l7_sb_init(&sb, ctx->scratch, L7_SCRATCH_BYTES);
	l7_sb_u32(&sb, ch->version);
	l7_sb_putc(&sb, ',');
	first = true;
	for (r = l->ciphers; rd_left(&r) >= 2;) {
		uint16_t v = rd_u16(&r);

		if (l7_is_grease(v))
			continue;
		if (!first)
			l7_sb_putc(&sb, '-');
		l7_sb_u32(&sb, v);
		first = false;
	}
	l7_sb_putc(&sb, ',');
	first = true;
	for (r = l->exts; rd_left(&r) >= 4;) {
		uint16_t type = rd_u16(&r);
		uint16_t len = rd_u16(&r);

		rd_sub(&r, len);
		if (l7_is_grease(type))
			continue;
		if (!first)
			l7_sb_putc(&sb, '-');
		l7_sb_u32(&sb, type);
		first = false;
	}
	l7_sb_putc(&sb, ',');
	first = true;
	for (r = l->groups; rd_left(&r) >= 2;) {
		uint16_t v = rd_u16(&r);

		if (l7_is_grease(v))
			continue;
		if (!first)
			l7_sb_putc(&sb, '-');
		l7_sb_u32(&sb, v);
		first = false;
	}
	l7_sb_putc(&sb, ',');
	for (r = l->ecpf, first = true; rd_left(&r) >= 1; first = false) {
		if (!first)
			l7_sb_putc(&sb, '-');
		l7_sb_u32(&sb, rd_u8(&r));
	}
	l7_digest_hex(ctx, ctx->md5, sb.p, sb.len, ch->ja3);
	l7_copy_text(ch->ja3_string, sizeof(ch->ja3_string), (const uint8_t *)sb.p, sb.len);
}

/* JA4's first character: the transport (t TCP, q QUIC, d DTLS). */
static char ja4_proto(const struct l7_flow *fl)
{
	return fl->app == PR_L7_APP_QUIC ? 'q' : fl->app == PR_L7_APP_DTLS ? 'd' : 't';
}

static void ja4_client(struct pr_l7_ctx *ctx, const struct l7_flow *fl,
		       struct pr_l7_tls_client_hello *ch, const struct ch_lists *l)
{
	uint16_t *ciph = ctx->sort_a, *ext = ctx->sort_b;
	size_t nc, ne = 0, ne_all = 0, nsig;
	bool cut = false;
	struct l7_sb sb, raw;
	char a[10];
	struct rd r;

	nc = list_u16(l->ciphers, ciph, L7_SORT_ENTRIES, &cut);
	for (r = l->exts; rd_left(&r) >= 4;) {
		uint16_t type = rd_u16(&r);

		rd_sub(&r, rd_u16(&r));
		if (l7_is_grease(type))
			continue;
		ne_all++;
		if (type == EXT_SERVER_NAME || type == EXT_ALPN)
			continue;
		if (ne < L7_SORT_ENTRIES)
			ext[ne++] = type;
		else
			cut = true;
	}
	l7_sort_u16(ciph, nc);
	l7_sort_u16(ext, ne);

	a[0] = ja4_proto(fl);
	ja4_version(ch->max_version, a + 1);
	a[3] = (ch->flags & PR_L7_TLS_CH_SNI) ? 'd' : 'i';
	two_digits((uint32_t)nc, a + 4);
	two_digits((uint32_t)ne_all, a + 6);
	ja4_alpn(l->alpn1, l->alpn1_len, a + 8);
	memcpy(ch->ja4, a, 10);
	ch->ja4[10] = '_';

	/* The raw form is built alongside: a_ciphers_exts[_sigalgs]. */
	l7_sb_init(&raw, ch->ja4_r, sizeof(ch->ja4_r));
	l7_sb_putn(&raw, a, 10);
	l7_sb_putc(&raw, '_');

	l7_sb_init(&sb, ctx->scratch, L7_SCRATCH_BYTES);
	sb_hex_list(&sb, ciph, nc);
	ja4_hash12(ctx, sb.p, sb.len, ch->ja4 + 11);
	l7_sb_putn(&raw, sb.p, sb.len);
	l7_sb_putc(&raw, '_');
	ch->ja4[23] = '_';

	l7_sb_init(&sb, ctx->scratch, L7_SCRATCH_BYTES);
	sb_hex_list(&sb, ext, ne);
	/* Signature algorithms keep their order; reuse the cipher array, already hashed. */
	nsig = list_u16(l->sigalgs, ciph, L7_SORT_ENTRIES, &cut);
	if (nsig) {
		l7_sb_putc(&sb, '_');
		sb_hex_list(&sb, ciph, nsig);
	}
	if (ne)
		ja4_hash12(ctx, sb.p, sb.len, ch->ja4 + 24);
	else
		memset(ch->ja4 + 24, '0', 12);
	ch->ja4[36] = '\0';
	l7_sb_putn(&raw, sb.p, sb.len);
	if (cut || sb.cut)
		ch->flags |= PR_L7_TLS_CH_LISTS_CUT;
}

void l7_tls_client_hello(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			 uint32_t n)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_TLS_CLIENT_HELLO);
	struct pr_l7_tls_client_hello *ch = &t->u.tls_ch;
	struct rd r = { p, p + n, false }, e;
	struct ch_lists l;
	struct l7_sb alpn;
	bool cut = false;

	memset(ch, 0, offsetof(struct pr_l7_tls_client_hello, sni));
	ch->sni[0] = '\0';
	memset(&l, 0, sizeof(l));
	l.ciphers.bad = l.exts.bad = l.groups.bad = l.ecpf.bad = l.sigalgs.bad = true;
	l7_sb_init(&alpn, ch->alpn, sizeof(ch->alpn));

	/* QUIC carries handshake messages in CRYPTO frames, without records. */
	ch->record_version = fl->app == PR_L7_APP_TLS  ? fl->u.tls.d[d].rec_version :
			     fl->app == PR_L7_APP_DTLS ? fl->u.dtls.rec_version[d] :
							 0;
	ch->version = rd_u16(&r);
	ch->max_version = ch->version;
	rd_sub(&r, 32);
	ch->session_id_len = rd_u8(&r);
	rd_sub(&r, ch->session_id_len);
	if (fl->app == PR_L7_APP_DTLS)
		rd_sub(&r, rd_u8(&r)); /* DTLS's cookie (RFC 6347 4.2.1) */
	l.ciphers = rd_sub(&r, rd_u16(&r));
	rd_sub(&r, rd_u8(&r));
	if (r.bad || (rd_left(&l.ciphers) & 1)) {
		l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
		return;
	}
	ch->n_ciphers = (uint16_t)PR_MIN(rd_left(&l.ciphers) / 2, 0xffffu);
	for (e = l.ciphers; rd_left(&e) >= 2;) {
		uint16_t v = rd_u16(&e);
		size_t i = (size_t)(e.p - l.ciphers.p) / 2 - 1;

		if (i < PR_L7_TLS_MAX_CIPHERS)
			ch->ciphers[i] = v;
	}
	if (ch->n_ciphers > PR_L7_TLS_MAX_CIPHERS)
		cut = true;
	if (rd_left(&r) >= 2) {
		l.exts = rd_sub(&r, rd_u16(&r));
		l.has_exts = true;
	}
	for (e = l.exts; rd_left(&e) >= 4;) {
		uint16_t type = rd_u16(&e);
		struct rd x = rd_sub(&e, rd_u16(&e));
		struct rd y;

		if (ch->n_exts < PR_L7_TLS_MAX_EXTS)
			ch->exts[ch->n_exts] = type;
		else
			cut = true;
		if (ch->n_exts < 0xffff)
			ch->n_exts++;
		switch (type) {
		case EXT_SERVER_NAME:
			ch->flags |= PR_L7_TLS_CH_SNI;
			y = rd_sub(&x, rd_u16(&x));
			while (rd_left(&y) >= 3) {
				uint8_t nt = rd_u8(&y);
				struct rd name = rd_sub(&y, rd_u16(&y));

				if (nt == 0 && !name.bad) {
					l7_copy_text(ch->sni, sizeof(ch->sni), name.p,
						     rd_left(&name));
					break;
				}
			}
			break;
		case EXT_SUPPORTED_GROUPS:
			l.groups = rd_sub(&x, rd_u16(&x));
			ch->n_groups = (uint16_t)(rd_left(&l.groups) / 2);
			for (y = l.groups; rd_left(&y) >= 2;) {
				size_t i = (size_t)(y.p - l.groups.p) / 2;
				uint16_t v = rd_u16(&y);

				if (i < PR_L7_TLS_MAX_GROUPS)
					ch->groups[i] = v;
				else
					cut = true;
			}
			break;
		case EXT_EC_POINT_FORMATS:
			l.ecpf = rd_sub(&x, rd_u8(&x));
			ch->n_ecpf = (uint16_t)rd_left(&l.ecpf);
			for (size_t i = 0; i < rd_left(&l.ecpf); i++) {
				if (i < PR_L7_TLS_MAX_ECPF)
					ch->ecpf[i] = l.ecpf.p[i];
				else
					cut = true;
			}
			break;
		case EXT_SIGNATURE_ALGORITHMS:
			l.sigalgs = rd_sub(&x, rd_u16(&x));
			ch->n_sigalgs = (uint16_t)(rd_left(&l.sigalgs) / 2);
			for (y = l.sigalgs; rd_left(&y) >= 2;) {
				size_t i = (size_t)(y.p - l.sigalgs.p) / 2;
				uint16_t v = rd_u16(&y);

				if (i < PR_L7_TLS_MAX_SIGALGS)
					ch->sigalgs[i] = v;
				else
					cut = true;
			}
			break;
		case EXT_ALPN:
			ch->flags |= PR_L7_TLS_CH_ALPN;
			y = rd_sub(&x, rd_u16(&x));
			while (rd_left(&y) >= 1) {
				struct rd proto = rd_sub(&y, rd_u8(&y));

				if (proto.bad)
					break;
				if (!l.alpn1) {
					l.alpn1 = proto.p;
					l.alpn1_len = rd_left(&proto);
				}
				if (alpn.len)
					l7_sb_putc(&alpn, ',');
				if (alpn.len + rd_left(&proto) + 1 < alpn.cap) {
					l7_copy_text(alpn.p + alpn.len, alpn.cap - alpn.len,
						     proto.p, rd_left(&proto));
					alpn.len += rd_left(&proto);
				}
			}
			break;
		case EXT_SESSION_TICKET:
			if (rd_left(&x))
				ch->flags |= PR_L7_TLS_CH_SESSION_TICKET;
			break;
		case EXT_PRE_SHARED_KEY:
			ch->flags |= PR_L7_TLS_CH_PSK;
			break;
		case EXT_SUPPORTED_VERSIONS:
			ch->flags |= PR_L7_TLS_CH_SUPPORTED_VERSIONS;
			y = rd_sub(&x, rd_u8(&x));
			ch->max_version = 0;
			while (rd_left(&y) >= 2) {
				uint16_t v = rd_u16(&y);

				if (!l7_is_grease(v) && v > ch->max_version)
					ch->max_version = v;
			}
			break;
		default:
			break;
		}
	}
	if (cut)
		ch->flags |= PR_L7_TLS_CH_LISTS_CUT;
	ja3_client(ctx, ch, &l);
	ja4_client(ctx, fl, ch, &l);
	l7_txn_emit(ctx);
}

/* ---- ServerHello ---- */

void l7_tls_server_hello(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			 uint32_t n)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_TLS_SERVER_HELLO);
	struct pr_l7_tls_server_hello *sh = &t->u.tls_sh;
	struct rd r = { p, p + n, false }, exts = { p, p, false }, e, random;
	const uint8_t *alpn = NULL;
	size_t alpn_len = 0, ne = 0;
	struct l7_sb sb;
	uint16_t *ext = ctx->sort_a;
	bool first = true, draft;
	char hash[13];

	memset(sh, 0, offsetof(struct pr_l7_tls_server_hello, alpn));
	sh->alpn[0] = '\0';
	sh->version = rd_u16(&r);
	random = rd_sub(&r, 32);
	/*
	 * TLS 1.3 drafts before 22 (version 0x7fXX here) had neither a
	 * session id nor a compression method in the ServerHello.
	 */
	draft = (sh->version >> 8) == 0x7f && (sh->version & 0xff) < 22;
	if (!draft) {
		sh->session_id_len = rd_u8(&r);
		rd_sub(&r, sh->session_id_len);
	}
	sh->cipher = rd_u16(&r);
	if (!draft)
		sh->compression = rd_u8(&r);
	if (r.bad) {
		l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
		return;
	}
	if (!memcmp(random.p, hrr_random, sizeof(hrr_random)))
		sh->flags |= PR_L7_TLS_SH_HRR;
	if (rd_left(&r) >= 2)
		exts = rd_sub(&r, rd_u16(&r));
	sh->selected_version = sh->version;
	for (e = exts; rd_left(&e) >= 4;) {
		uint16_t type = rd_u16(&e);
		struct rd x = rd_sub(&e, rd_u16(&e)), y;

		if (sh->n_exts < PR_L7_TLS_MAX_EXTS)
			sh->exts[sh->n_exts] = type;
		if (sh->n_exts < 0xffff)
			sh->n_exts++;
		if (!l7_is_grease(type) && ne < L7_SORT_ENTRIES)
			ext[ne++] = type;
		if (type == EXT_SUPPORTED_VERSIONS && rd_left(&x) >= 2) {
			sh->selected_version = rd_u16(&x);
			sh->flags |= PR_L7_TLS_SH_SUPPORTED_VERSIONS;
		} else if (type == EXT_ALPN) {
			y = rd_sub(&x, rd_u16(&x));
			y = rd_sub(&y, rd_u8(&y));
			if (!y.bad) {
				alpn = y.p;
				alpn_len = rd_left(&y);
				sh->flags |= PR_L7_TLS_SH_ALPN;
				l7_copy_text(sh->alpn, sizeof(sh->alpn), alpn, alpn_len);
			}
		}
	}
	if (sh->selected_version == 0x0304 || (sh->selected_version >> 8) == 0x7f)
		sh->flags |= PR_L7_TLS_SH_TLS13;

	/* JA3S: SSLVersion,Cipher,SSLExtension (decimal, '-' joined). */
	l7_sb_init(&sb, ctx->scratch, L7_SCRATCH_BYTES);
	l7_sb_u32(&sb, sh->version);
	l7_sb_putc(&sb, ',');
	l7_sb_u32(&sb, sh->cipher);
	l7_sb_putc(&sb, ',');
	for (size_t i = 0; i < ne; i++) {
		if (!first)
			l7_sb_putc(&sb, '-');
		l7_sb_u32(&sb, ext[i]);
		first = false;
	}
	l7_digest_hex(ctx, ctx->md5, sb.p, sb.len, sh->ja3s);
	l7_copy_text(sh->ja3s_string, sizeof(sh->ja3s_string), (const uint8_t *)sb.p, sb.len);

	/* JA4S: t, version, extension count, ALPN _ cipher _ hash of the extensions in order. */
	sh->ja4s[0] = ja4_proto(fl);
	ja4_version(sh->selected_version, sh->ja4s + 1);
	two_digits((uint32_t)ne, sh->ja4s + 3);
	ja4_alpn(alpn, alpn_len, sh->ja4s + 5);
	sh->ja4s[7] = '_';
	for (int i = 0; i < 4; i++)
		sh->ja4s[8 + i] = hexdig[(sh->cipher >> (12 - 4 * i)) & 15];
	sh->ja4s[12] = '_';
	l7_sb_init(&sb, ctx->scratch, L7_SCRATCH_BYTES);
	sb_hex_list(&sb, ext, ne);
	ja4_hash12(ctx, sb.p, sb.len, hash);
	memcpy(sh->ja4s + 13, hash, 12);
	sh->ja4s[25] = '\0';
	l7_txn_emit(ctx);

	/* After a TLS 1.3 ServerHello everything the server sends is encrypted. */
	if ((sh->flags & PR_L7_TLS_SH_TLS13) && !(sh->flags & PR_L7_TLS_SH_HRR))
		l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
}

/* ---- Certificate ---- */

static void put_hex(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t i;

	if (!cap)
		return;
	for (i = 0; i < n && 2 * i + 2 < cap; i++) {
		dst[2 * i] = hexdig[p[i] >> 4];
		dst[2 * i + 1] = hexdig[p[i] & 15];
	}
	dst[2 * i] = '\0';
}

/* RFC 4514 text of a name as OpenSSL's -nameopt RFC2253 writes it, but UTF-8 kept. */
static void name_text(struct pr_l7_ctx *ctx, const X509_NAME *name, char *dst, size_t cap)
{
	const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	char *mem = NULL;
	long n;

	dst[0] = '\0';
	(void)BIO_reset(ctx->bio);
	if (X509_NAME_print_ex(ctx->bio, name, 0, flags) < 0)
		return;
	n = BIO_get_mem_data(ctx->bio, &mem);
	if (n > 0 && mem) {
		size_t k = PR_MIN((size_t)n, cap - 1);

		memcpy(dst, mem, k);
		dst[k] = '\0';
	}
	(void)BIO_reset(ctx->bio);
}

static int64_t asn1_time(const ASN1_TIME *at, char *dst, size_t cap)
{
	struct tm tm;

	dst[0] = '\0';
	if (!at || !ASN1_TIME_to_tm(at, &tm))
		return 0;
	if (!strftime(dst, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		dst[0] = '\0';
	return (int64_t)timegm(&tm);
}

static void sans_text(X509 *x, char *dst, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	struct l7_sb sb;

	l7_sb_init(&sb, dst, cap);
	if (!gens)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char ip[INET6_ADDRSTRLEN];
		const char *s = NULL;
		size_t n = 0;

		if (g->type == GEN_DNS) {
			s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
			n = (size_t)ASN1_STRING_length(g->d.dNSName);
		} else if (g->type == GEN_IPADD) {
			int len = ASN1_STRING_length(g->d.iPAddress);
			const uint8_t *a = ASN1_STRING_get0_data(g->d.iPAddress);

			if ((len == 4 && inet_ntop(AF_INET, a, ip, sizeof(ip))) ||
			    (len == 16 && inet_ntop(AF_INET6, a, ip, sizeof(ip)))) {
				s = ip;
				n = strlen(ip);
			}
		}
		if (!s)
			continue;
		if (sb.len)
			l7_sb_putc(&sb, ',');
		if (sb.len + n + 1 <= sb.cap) {
			l7_copy_text(sb.p + sb.len, sb.cap - sb.len, (const uint8_t *)s, n);
			sb.len += n;
		} else {
			sb.cut = true;
		}
	}
	GENERAL_NAMES_free(gens);
}

/* The value of the first eight hex digits (fewer if the string is shorter). */
static uint32_t hex_prefix(const char *h)
{
	uint32_t v = 0;

	for (int i = 0; i < 8 && h[i]; i++)
		v = v << 4 | (uint32_t)(h[i] <= '9' ? h[i] - '0' : h[i] - 'a' + 10);
	return v;
}

/*
 * What a certificate says, from one parse to another (the cache): every
 * field but the per-message chain_len, PR_L7_TLS_CERT_CHAIN_CUT and the
 * cache key (sha256), strings copied only as far as they go.
 */
static void cert_copy(struct pr_l7_tls_cert *dst, const struct pr_l7_tls_cert *src)
{
	dst->flags = (uint8_t)((dst->flags & PR_L7_TLS_CERT_CHAIN_CUT) |
			       (src->flags & PR_L7_TLS_CERT_PARSE_ERROR));
	dst->der_len = src->der_len;
	dst->not_before = src->not_before;
	dst->not_after = src->not_after;
	strcpy(dst->not_before_str, src->not_before_str);
	strcpy(dst->not_after_str, src->not_after_str);
	strcpy(dst->sha1, src->sha1);
	strcpy(dst->serial, src->serial);
	strcpy(dst->subject, src->subject);
	strcpy(dst->issuer, src->issuer);
	strcpy(dst->sans, src->sans);
}

/*
 * The leaf of a Certificate message (TLS <= 1.2: a 3-byte list length,
 * then 3-byte length + DER per certificate). have bytes of the body are in
 * hand, of hlen; when the message outgrew the buffer, the chain is counted
 * only as far as it is held.
 */
static void certificate(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			uint32_t have, uint32_t hlen)
{
	struct pr_l7_txn *t;
	struct pr_l7_tls_cert *c;
	const uint8_t *leaf = NULL, *q;
	uint32_t list_len, off = 3, leaf_len = 0, count = 0;
	struct l7_cert_entry *e;
	X509 *x;

	if (have < 3)
		return;
	list_len = l7_be24(p);
	while (off + 3 <= have && off + 3 <= 3 + list_len) {
		uint32_t cl = l7_be24(p + off);

		if (cl > have - off - 3)
			break;
		if (!leaf) {
			leaf = p + off + 3;
			leaf_len = cl;
		}
		count++;
		off += 3 + cl;
	}
	if (!leaf) {
		/* Empty (a client without a certificate), or a leaf larger than a buffer. */
		if (list_len)
			ctx->st.oversize++;
		return;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_TLS_CERTIFICATE);
	c = &t->u.tls_cert;
	memset(c, 0, offsetof(struct pr_l7_tls_cert, subject));
	c->subject[0] = c->issuer[0] = c->sans[0] = '\0';
	c->chain_len = (uint8_t)PR_MIN(count, 255u);
	if (have < hlen || off != 3 + list_len)
		c->flags |= PR_L7_TLS_CERT_CHAIN_CUT;
	c->der_len = leaf_len;
	l7_digest_hex(ctx, ctx->sha256, leaf, leaf_len, c->sha256);
	e = &ctx->cert_cache[hex_prefix(c->sha256) & ctx->cert_cache_mask];
	if (c->sha256[0] && !strcmp(e->cert.sha256, c->sha256)) {
		cert_copy(c, &e->cert);
		ctx->st.cert_cache_hits++;
		l7_txn_emit(ctx);
		return;
	}
	l7_digest_hex(ctx, ctx->sha1, leaf, leaf_len, c->sha1);
	q = leaf;
	x = d2i_X509(NULL, &q, (long)leaf_len);
	if (!x) {
		c->flags |= PR_L7_TLS_CERT_PARSE_ERROR;
		ctx->st.cert_errors++;
	} else {
		const ASN1_INTEGER *sn = X509_get0_serialNumber(x);

		name_text(ctx, X509_get_subject_name(x), c->subject, sizeof(c->subject));
		name_text(ctx, X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
		if (sn) {
			size_t neg = ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER;

			if (neg)
				c->serial[0] = '-';
			put_hex(c->serial + neg, sizeof(c->serial) - neg, ASN1_STRING_get0_data(sn),
				(size_t)ASN1_STRING_length(sn));
		}
		c->not_before = asn1_time(X509_get0_notBefore(x), c->not_before_str,
					  sizeof(c->not_before_str));
		c->not_after = asn1_time(X509_get0_notAfter(x), c->not_after_str,
					 sizeof(c->not_after_str));
		sans_text(x, c->sans, sizeof(c->sans));
		X509_free(x);
	}
	if (c->sha256[0]) {
		cert_copy(&e->cert, c);
		strcpy(e->cert.sha256, c->sha256);
	}
	l7_txn_emit(ctx);
}

/* ---- framing ---- */

static bool interesting(uint8_t hs_type)
{
	return hs_type == HS_CLIENT_HELLO || hs_type == HS_SERVER_HELLO ||
	       hs_type == HS_CERTIFICATE;
}

/* A handshake message of hlen body bytes, have of which are at p. */
void l7_tls_message(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, uint8_t type,
		    const uint8_t *p, uint32_t have, uint32_t hlen)
{
	if (type == HS_CERTIFICATE) {
		certificate(ctx, fl, d, p, have, hlen);
		return;
	}
	if (have < hlen) {
		ctx->st.oversize++;
		return;
	}
	if (type == HS_CLIENT_HELLO)
		l7_tls_client_hello(ctx, fl, d, p, hlen);
	else
		l7_tls_server_hello(ctx, fl, d, p, hlen);
}

/* n bytes of handshake records: split into messages, collecting a split one. */
static void handshake_bytes(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			    uint32_t n)
{
	struct l7_tls_dir *td = &fl->u.tls.d[d];
	struct l7_dir *ds = &fl->dir[d];

	while (n && !l7_dir_done(fl, d)) {
		uint32_t k;

		if (!(td->flags & TLS_D_IN_MSG)) {
			k = PR_MIN(4u - td->hhave_hdr, n);
			memcpy(td->hhdr + td->hhave_hdr, p, k);
			td->hhave_hdr = (uint8_t)(td->hhave_hdr + k);
			p += k;
			n -= k;
			if (td->hhave_hdr < 4)
				return;
			td->hhave_hdr = 0;
			td->hlen = l7_be24(td->hhdr + 1);
			td->hhave = 0;
			td->flags |= TLS_D_IN_MSG;
			td->flags &= (uint8_t)~TLS_D_BUFFERED;
		}
		k = PR_MIN(td->hlen - td->hhave, n);
		if (interesting(td->hhdr[0])) {
			if (!(td->flags & TLS_D_BUFFERED) && td->hhave == 0 && k == td->hlen) {
				/* The whole body is in this packet: parse it in place. */
				l7_tls_message(ctx, fl, d, td->hhdr[0], p, k, td->hlen);
			} else {
				uint8_t *buf = l7_buf_get(ctx, fl, d);
				uint32_t c;

				if (!buf)
					return;
				td->flags |= TLS_D_BUFFERED;
				c = PR_MIN(k, ctx->buf_bytes - ds->buf_len);
				memcpy(buf + ds->buf_len, p, c);
				ds->buf_len += c;
				if (td->hhave + k == td->hlen)
					l7_tls_message(ctx, fl, d, td->hhdr[0], buf, ds->buf_len,
						       td->hlen);
			}
		}
		td->hhave += k;
		p += k;
		n -= k;
		if (td->hhave == td->hlen) {
			td->flags &= (uint8_t) ~(TLS_D_IN_MSG | TLS_D_BUFFERED);
			if (ds->buf)
				l7_buf_put(ctx, fl, d);
		}
	}
}

static uint32_t tls_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *data, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct l7_tls_dir *td = &fl->u.tls.d[d];
	const uint8_t *p = data, *end = data + len;

	while (p < end && !l7_dir_done(fl, d)) {
		uint32_t n;

		if (!td->rleft) {
			uint16_t ver, rlen;

			n = PR_MIN(5u - td->rhave, (uint32_t)(end - p));
			memcpy(td->rhdr + td->rhave, p, n);
			td->rhave = (uint8_t)(td->rhave + n);
			p += n;
			if (td->rhave < 5)
				break;
			td->rhave = 0;
			ver = l7_be16(td->rhdr + 1);
			rlen = l7_be16(td->rhdr + 3);
			if (td->rhdr[0] < REC_CCS || td->rhdr[0] > REC_HEARTBEAT ||
			    (ver >> 8) != 3 || rlen > REC_MAX) {
				l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
				break;
			}
			if (td->rhdr[0] == REC_CCS || td->rhdr[0] == REC_APPDATA) {
				/* Encrypted from here on. */
				l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
				break;
			}
			td->rtype = td->rhdr[0];
			td->rleft = rlen;
			if (td->rtype == REC_HANDSHAKE && !(td->flags & TLS_D_IN_MSG) &&
			    !td->hhave_hdr)
				td->rec_version = ver;
			continue;
		}
		n = PR_MIN((uint32_t)td->rleft, (uint32_t)(end - p));
		if (td->rtype == REC_HANDSHAKE)
			handshake_bytes(ctx, fl, d, p, n);
		p += n;
		td->rleft = (uint16_t)(td->rleft - n);
	}
	return len;
}

/*
 * A TLS record header carrying a ClientHello or ServerHello: type 22,
 * version 3.x, a sane length. On the usual TLS ports three bytes suffice
 * (a first segment that short happens with some stacks).
 */
static bool tls_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	(void)client_port;
	if (len < 3 || p[0] != REC_HANDSHAKE || p[1] != 3 || p[2] > 4)
		return false;
	if (len < 6)
		return server_port == 443 || server_port == 465 || server_port == 636 ||
		       server_port == 853 || server_port == 993 || server_port == 995 ||
		       server_port == 8443;
	/* A hello may be fragmented into records as short as one byte. */
	return l7_be16(p + 3) >= 1 && l7_be16(p + 3) <= REC_MAX &&
	       (p[5] == HS_CLIENT_HELLO || p[5] == HS_SERVER_HELLO);
}

static void tls_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_tls_ops = {
	.name = "tls",
	.app_id = PR_L7_APP_TLS,
	.l4 = PR_L7_L4_TCP,
	.detect = tls_detect,
	.init = tls_init,
	.parse = tls_parse,
};
