// SPDX-License-Identifier: Apache-2.0
/*
 * QUIC over UDP (RFC 9000/9001; version 1, version 2 of RFC 9369, and
 * drafts 29 to 32): the Initial packets of both sides. Their protection
 * uses keys anyone can derive from the destination connection id of the
 * client's Initial (RFC 9001 5.2), so they are unprotected here (header
 * protection with AES-128-ECB, payload with AES-128-GCM, through OpenSSL),
 * their CRYPTO frames are put together in the direction's borrowed buffer
 * (in any order, the bytes that came first win), and the ClientHello and
 * ServerHello inside go to the TLS code: SNI, ALPN, JA3, JA4 with the "q"
 * prefix, JA3S, JA4S. Everything after the hellos is protected with keys
 * an observer does not have: a direction stops after its hello. Called by
 * pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "pr_l7_int.h"

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2

#define FRAME_PADDING 0x00
#define FRAME_PING 0x01
#define FRAME_ACK 0x02
#define FRAME_ACK_ECN 0x03
#define FRAME_CRYPTO 0x06
#define FRAME_CLOSE 0x1c
#define FRAME_CLOSE_APP 0x1d

#define TAG_LEN 16
#define SAMPLE_LEN 16
#define MAX_CID 20

struct qversion {
	uint32_t version;
	const uint8_t *salt;
	bool v2; /* RFC 9369: other packet type numbers and "quicv2 " labels */
};

static const uint8_t salt_v1[20] = { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
				     0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a };
static const uint8_t salt_v2[20] = { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
				     0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 };
static const uint8_t salt_d29[20] = { 0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
				      0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99 };

static const struct qversion versions[] = {
	{ 0x00000001u, salt_v1, false },  { 0x6b3343cfu, salt_v2, true },
	{ 0xff00001du, salt_d29, false }, { 0xff00001eu, salt_d29, false },
	{ 0xff00001fu, salt_d29, false }, { 0xff000020u, salt_d29, false },
};

static const struct qversion *qversion(uint32_t v)
{
	for (size_t i = 0; i < PR_ARRAY_SIZE(versions); i++)
		if (versions[i].version == v)
			return &versions[i];
	return NULL;
}

/* Long header packet types: Initial is 0 in v1, 1 in v2; Retry 3 and 0. */
static inline bool is_initial(const struct qversion *v, uint8_t first)
{
	return ((first >> 4) & 3) == (v->v2 ? 1 : 0);
}

static inline bool is_retry(const struct qversion *v, uint8_t first)
{
	return ((first >> 4) & 3) == (v->v2 ? 0 : 3);
}

/* A variable-length integer (RFC 9000 16) at p[*off], n bytes readable. */
static bool varint(const uint8_t *p, uint32_t n, uint32_t *off, uint64_t *v)
{
	uint32_t len;

	if (*off >= n)
		return false;
	len = 1u << (p[*off] >> 6);
	if (len > n - *off)
		return false;
	*v = p[*off] & 0x3f;
	for (uint32_t i = 1; i < len; i++)
		*v = *v << 8 | p[*off + i];
	*off += len;
	return true;
}

/* HMAC-SHA256 of a || b under key. */
static bool hmac256(struct pr_l7_ctx *ctx, const uint8_t *key, size_t klen, const uint8_t *a,
		    size_t na, const uint8_t *b, size_t nb, uint8_t out[32])
{
	static char digest[] = "SHA256";
	OSSL_PARAM params[2];
	size_t ol = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	return EVP_MAC_init(ctx->mac_ctx, key, klen, params) &&
	       EVP_MAC_update(ctx->mac_ctx, a, na) &&
	       (!nb || EVP_MAC_update(ctx->mac_ctx, b, nb)) &&
	       EVP_MAC_final(ctx->mac_ctx, out, &ol, 32) && ol == 32;
}

/* HKDF-Expand-Label (RFC 8446 7.1) with an empty context, n <= 32. */
static bool expand_label(struct pr_l7_ctx *ctx, const uint8_t secret[32], const char *label,
			 uint8_t *out, size_t n)
{
	uint8_t info[64], t[32];
	size_t ll = strlen(label), k = 0;

	info[k++] = (uint8_t)(n >> 8);
	info[k++] = (uint8_t)n;
	info[k++] = (uint8_t)(6 + ll);
	memcpy(info + k, "tls13 ", 6);
	k += 6;
	memcpy(info + k, label, ll);
	k += ll;
	info[k++] = 0;
	info[k++] = 1; /* HKDF-Expand's counter: one block is enough */
	if (!hmac256(ctx, secret, 32, info, k, NULL, 0, t))
		return false;
	memcpy(out, t, n);
	return true;
}

struct qkeys {
	uint8_t key[16];
	uint8_t iv[12];
	uint8_t hp[16];
};

/* The Initial keys of one side, from the client's destination connection id. */
static bool initial_keys(struct pr_l7_ctx *ctx, const struct qversion *v, const uint8_t *dcid,
			 size_t dcid_len, bool server, struct qkeys *k)
{
	uint8_t prk[32], secret[32];

	return hmac256(ctx, v->salt, 20, dcid, dcid_len, NULL, 0, prk) &&
	       expand_label(ctx, prk, server ? "server in" : "client in", secret, 32) &&
	       expand_label(ctx, secret, v->v2 ? "quicv2 key" : "quic key", k->key, 16) &&
	       expand_label(ctx, secret, v->v2 ? "quicv2 iv" : "quic iv", k->iv, 12) &&
	       expand_label(ctx, secret, v->v2 ? "quicv2 hp" : "quic hp", k->hp, 16);
}

static bool hp_mask(struct pr_l7_ctx *ctx, const uint8_t hp[16], const uint8_t *sample,
		    uint8_t mask[16])
{
	int ol = 0;

	return EVP_EncryptInit_ex2(ctx->cipher_ctx, ctx->aes128_ecb, hp, NULL, NULL) &&
	       EVP_CIPHER_CTX_set_padding(ctx->cipher_ctx, 0) &&
	       EVP_EncryptUpdate(ctx->cipher_ctx, mask, &ol, sample, SAMPLE_LEN) && ol == 16;
}

static bool aead_open(struct pr_l7_ctx *ctx, const struct qkeys *k, const uint8_t nonce[12],
		      const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
		      const uint8_t *tag, uint8_t *out)
{
	uint8_t tagc[TAG_LEN];
	int ol = 0, fl = 0;

	memcpy(tagc, tag, TAG_LEN);
	return EVP_DecryptInit_ex2(ctx->cipher_ctx, ctx->aes128_gcm, k->key, nonce, NULL) &&
	       EVP_DecryptUpdate(ctx->cipher_ctx, NULL, &ol, aad, (int)aad_len) &&
	       EVP_DecryptUpdate(ctx->cipher_ctx, out, &ol, ct, (int)ct_len) &&
	       EVP_CIPHER_CTX_ctrl(ctx->cipher_ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tagc) &&
	       EVP_DecryptFinal_ex(ctx->cipher_ctx, out + ol, &fl) > 0;
}

/* The data area of the CRYPTO buffer; a bitmap of the bytes held follows it. */
static inline uint32_t crypto_cap(const struct pr_l7_ctx *ctx)
{
	return (ctx->buf_bytes / 9 * 8) & ~7u;
}

/* CRYPTO frame data at stream offset off: keep the bytes not held yet. */
static void crypto_add(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, uint64_t off,
		       const uint8_t *p, uint64_t n)
{
	struct l7_dir *ds = &fl->dir[d];
	uint32_t cap = crypto_cap(ctx), end;
	uint8_t *buf, *bits;

	if (!n || off >= cap)
		return;
	buf = l7_buf_get(ctx, fl, d);
	if (!buf)
		return;
	bits = buf + cap;
	if (!ds->buf_len)
		memset(bits, 0, cap / 8); /* a fresh buffer: nothing held yet */
	end = (uint32_t)PR_MIN(off + n, (uint64_t)cap);
	for (uint32_t i = (uint32_t)off; i < end; i++) {
		if (bits[i / 8] & (1u << (i % 8)))
			continue;
		bits[i / 8] |= (uint8_t)(1u << (i % 8));
		buf[i] = p[i - off];
	}
	ds->buf_len = PR_MAX(ds->buf_len, end);
	while (fl->u.quic.have[d] < cap &&
	       (bits[fl->u.quic.have[d] / 8] & (1u << (fl->u.quic.have[d] % 8))))
		fl->u.quic.have[d]++;
}

/* Frames of a decrypted Initial payload. False when they do not parse. */
static bool frames(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		   uint32_t n)
{
	uint32_t off = 0;

	while (off < n && !l7_dir_done(fl, d)) {
		uint64_t type, a, b, c;

		if (!varint(p, n, &off, &type))
			return false;
		switch (type) {
		case FRAME_PADDING:
		case FRAME_PING:
			break;
		case FRAME_ACK:
		case FRAME_ACK_ECN:
			/* Largest, delay, range count, first range, then gap/length pairs. */
			if (!varint(p, n, &off, &a) || !varint(p, n, &off, &a) ||
			    !varint(p, n, &off, &c) || !varint(p, n, &off, &a) || c > n)
				return false;
			for (uint64_t i = 0; i < 2 * c + (type == FRAME_ACK_ECN ? 3 : 0); i++)
				if (!varint(p, n, &off, &a))
					return false;
			break;
		case FRAME_CRYPTO:
			if (!varint(p, n, &off, &a) || !varint(p, n, &off, &b) || b > n - off)
				return false;
			crypto_add(ctx, fl, d, a, p + off, b);
			off += (uint32_t)b;
			break;
		case FRAME_CLOSE:
		case FRAME_CLOSE_APP:
			if (!varint(p, n, &off, &a) ||
			    (type == FRAME_CLOSE && !varint(p, n, &off, &a)) ||
			    !varint(p, n, &off, &b) || b > n - off)
				return false;
			off += (uint32_t)b;
			break;
		default:
			return false; /* nothing else may be in an Initial packet */
		}
	}
	return true;
}

/* A hello complete at the start of the CRYPTO stream goes to the TLS code. */
static void crypto_hello(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d)
{
	struct l7_dir *ds = &fl->dir[d];
	uint32_t have = fl->u.quic.have[d], hlen;
	const uint8_t *buf;

	if (have < 4 || !ds->buf)
		return;
	buf = l7_buf_get(ctx, fl, d);
	hlen = l7_be24(buf + 1);
	if (4 + hlen > crypto_cap(ctx)) {
		l7_dir_stop(ctx, fl, d, L7_STOP_OVERSIZE);
		return;
	}
	if (have < 4 + hlen)
		return;
	if (buf[0] == HS_CLIENT_HELLO && d == PR_L7_DIR_C2S)
		l7_tls_client_hello(ctx, fl, d, buf + 4, hlen);
	else if (buf[0] == HS_SERVER_HELLO && d == PR_L7_DIR_S2C)
		l7_tls_server_hello(ctx, fl, d, buf + 4, hlen);
	/* What follows the hellos is protected with keys we do not have. */
	l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
}

/*
 * One Initial packet: q[0..end) with the packet number at pn_off. The
 * plaintext goes to the second half of the scratch area (the packet is at
 * most half of it), the header with its protection removed to the first.
 */
static void initial(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const struct qversion *v,
		    const uint8_t *q, uint32_t pn_off, uint32_t end, const uint8_t *dcid,
		    uint8_t dcid_len)
{
	struct l7_quic *qs = &fl->u.quic;
	uint8_t *hdr = (uint8_t *)ctx->scratch, *plain = hdr + L7_SCRATCH_BYTES / 2;
	uint8_t mask[16], nonce[12];
	struct qkeys k;
	uint32_t pnl, pn = 0, ct_len;

	if (d == PR_L7_DIR_C2S) {
		/* The keys of both sides come from the client's (latest) choice. */
		qs->version = v->version;
		qs->dcid_len = dcid_len;
		memcpy(qs->dcid, dcid, dcid_len);
	} else if (!qs->version) {
		return; /* the client's Initial was not seen: no keys */
	}
	if (!ctx->mac_ctx || !ctx->aes128_ecb || !ctx->aes128_gcm || end > L7_SCRATCH_BYTES / 2 ||
	    pn_off + 4 + SAMPLE_LEN > end)
		return;
	/* qs->version was taken from a known version above, so qversion() finds it. */
	if (!initial_keys(ctx, qversion(qs->version), qs->dcid, qs->dcid_len, d == PR_L7_DIR_S2C,
			  &k) ||
	    !hp_mask(ctx, k.hp, q + pn_off + 4, mask))
		return;
	pnl = ((q[0] ^ mask[0]) & 3) + 1;
	if (pn_off + pnl + TAG_LEN > end)
		return;
	memcpy(hdr, q, pn_off + pnl);
	hdr[0] ^= mask[0] & 0x0f;
	for (uint32_t i = 0; i < pnl; i++) {
		hdr[pn_off + i] ^= mask[1 + i];
		pn = pn << 8 | hdr[pn_off + i];
	}
	/* Initial packet numbers start at 0: the truncated number is the number. */
	memcpy(nonce, k.iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	ct_len = end - pn_off - pnl - TAG_LEN;
	if (!aead_open(ctx, &k, nonce, hdr, pn_off + pnl, q + pn_off + pnl, ct_len,
		       q + end - TAG_LEN, plain)) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		/* Fuzz builds only: an all-zero tag marks a plaintext payload. */
		static const uint8_t zero[TAG_LEN];

		if (!memcmp(q + end - TAG_LEN, zero, TAG_LEN)) {
			memcpy(plain, q + pn_off + pnl, ct_len);
			goto opened;
		}
#endif
		ctx->st.undecryptable++;
		return;
	}
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
opened:
#endif
	if (!frames(ctx, fl, d, plain, ct_len)) {
		l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
		return;
	}
	if (!l7_dir_done(fl, d))
		crypto_hello(ctx, fl, d);
}

/* One datagram: its long-header packets (coalesced ones too); Initial ones are opened. */
static uint32_t quic_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	while (len - off >= 7 && !l7_dir_done(fl, d)) {
		const uint8_t *q = p + off;
		const struct qversion *v;
		uint32_t n = len - off, pos, dcl;
		uint64_t tok, plen;

		if (!(q[0] & 0x80))
			break; /* a short header packet runs to the end of the datagram */
		v = qversion(l7_be32(q + 1));
		if (!v || is_retry(v, q[0]))
			break;
		dcl = q[5];
		if (dcl > MAX_CID || 7 + dcl > n || q[6 + dcl] > MAX_CID)
			break;
		pos = 7 + dcl + q[6 + dcl];
		if (is_initial(v, q[0]) && (!varint(q, n, &pos, &tok) || tok > n - pos))
			break;
		if (is_initial(v, q[0]))
			pos += (uint32_t)tok;
		if (!varint(q, n, &pos, &plen) || plen > n - pos)
			break;
		if (is_initial(v, q[0]))
			initial(ctx, fl, d, v, q, pos, pos + (uint32_t)plen, q + 6, (uint8_t)dcl);
		off += pos + (uint32_t)plen;
	}
	return len;
}

/* A long header Initial packet of a version we can open. */
static bool quic_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	const struct qversion *v;

	(void)ip_proto;
	(void)dir;
	(void)client_port;
	(void)server_port;
	if (len < 7 || (p[0] & 0xc0) != 0xc0)
		return false;
	v = qversion(l7_be32(p + 1));
	return v && is_initial(v, p[0]) && p[5] <= MAX_CID && 7u + p[5] <= len &&
	       p[6 + p[5]] <= MAX_CID;
}

static void quic_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_quic_ops = {
	.name = "quic",
	.app_id = PR_L7_APP_QUIC,
	.l4 = PR_L7_L4_UDP,
	.detect = quic_detect,
	.init = quic_init,
	.parse = quic_parse,
};
