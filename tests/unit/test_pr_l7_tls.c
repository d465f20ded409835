// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the TLS parser (dataplane/l7/pr_l7_tls.c) and of the
 * framework under it (pr_l7.c: detection, TCP ordering, buffers). Every
 * handshake is built byte by byte here. Fingerprints are checked against
 * values published with their specifications (the JA3 README's example,
 * the JA4 and JA4S documents' examples) or computed independently
 * (Python hashlib over the expected strings). The certificate is made at
 * test time with OpenSSL and embedded in a Certificate message. The group
 * setup creates one context; each test starts fresh flow states.
 * Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the handshakes are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_tls/, see tests/fuzz/fuzz_l7.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pr_l7.h"

#define MAX_TXN 16

struct buf {
	uint8_t b[16384];
	size_t len;
};

struct capture {
	struct pr_l7_txn t[MAX_TXN];
	unsigned int n;
};

struct conn {
	struct pr_l7_state st;
	uint32_t seq[2];
};

static struct pr_l7_ctx *g_ctx;
static struct capture g_cap;

static void put8(struct buf *b, unsigned int v)
{
	assert_true(b->len < sizeof(b->b));
	b->b[b->len++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned int v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void putn(struct buf *b, const void *p, size_t n)
{
	assert_true(b->len + n <= sizeof(b->b));
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

/* Reserve a big-endian length field of w bytes; fix() fills it in later. */
static size_t mark(struct buf *b, int w)
{
	size_t at = b->len;

	for (int i = 0; i < w; i++)
		put8(b, 0);
	return at;
}

static void fix(struct buf *b, size_t at, int w)
{
	size_t v = b->len - at - (size_t)w;

	for (int i = w - 1; i >= 0; i--, v >>= 8)
		b->b[at + (size_t)i] = (uint8_t)(v & 0xff);
}

static void cap_emit(void *arg, const struct pr_l7_txn *t)
{
	struct capture *c = arg;

	assert_true(c->n < MAX_TXN);
	c->t[c->n++] = *t;
}

static const struct pr_l7_txn *find(uint8_t kind, unsigned int nth)
{
	for (unsigned int i = 0; i < g_cap.n; i++)
		if (g_cap.t[i].kind == kind && nth-- == 0)
			return &g_cap.t[i];
	return NULL;
}

static void conn_init(struct conn *c, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	pr_l7_flow_init(&c->st, PR_L7_PROTO_TCP, 50000, sport);
	c->seq[0] = 1000;
	c->seq[1] = 70000;
}

/* Send len bytes in direction dir as segments of at most seg bytes. */
static void send_ctx(struct pr_l7_ctx *ctx, struct conn *c, uint8_t dir, const uint8_t *p,
		     size_t len, size_t seg)
{
	while (len) {
		size_t n = len < seg ? len : seg;
		uint8_t *copy = malloc(n);
		struct pr_l7_pkt pkt = {
			.data = copy,
			.len = (uint32_t)n,
			.seq = c->seq[dir],
			.ts_ns = 1700000000000000000ull,
			.flow_id = 42,
			.dir = dir,
			.has_seq = 1,
		};

		/* Exactly sized copies: AddressSanitizer sees any read past a segment. */
		assert_non_null(copy);
		memcpy(copy, p, n);
		pr_l7_process(ctx, &c->st, &pkt, cap_emit, &g_cap);
		free(copy);
		c->seq[dir] += (uint32_t)n;
		p += n;
		len -= n;
	}
}

static void send(struct conn *c, uint8_t dir, const struct buf *b, size_t seg)
{
	send_ctx(g_ctx, c, dir, b->b, b->len, seg);
}

/* Write a fuzz seed for fuzz_l7_tls (tests/fuzz/fuzz_l7.h framing) when asked to. */
static void seed(const char *name, const struct buf *c2s, const struct buf *s2c)
{
	const char *dir = getenv("PR_L7_SEED_DIR");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputc(0, f); /* config byte */
	for (int d = 0; d < 2; d++) {
		const struct buf *b = d ? s2c : c2s;

		if (!b)
			continue;
		fputc(d, f);
		fputc((int)(b->len & 0xff), f);
		fputc((int)(b->len >> 8), f);
		fwrite(b->b, 1, b->len, f);
	}
	fclose(f);
}

/* ---- handshakes ---- */

/* The ClientHello of the JA4 document's example, with GREASE values added. */
static void client_hello_ja4_example(struct buf *b)
{
	static const uint16_t ciphers[] = { 0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
					    0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
					    0x009c, 0x009d, 0x002f, 0x0035 };
	static const uint16_t sigalgs[] = { 0x0403, 0x0804, 0x0401, 0x0503,
					    0x0805, 0x0501, 0x0806, 0x0601 };
	uint8_t zero[32] = { 0 };
	size_t rec, hs, l, e, x;

	put8(b, 0x16);
	put16(b, 0x0301);
	rec = mark(b, 2);
	put8(b, 1);
	hs = mark(b, 3);
	put16(b, 0x0303);
	putn(b, zero, 32);
	put8(b, 32);
	putn(b, zero, 32);
	l = mark(b, 2);
	for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		put16(b, ciphers[i]);
	fix(b, l, 2);
	put8(b, 1);
	put8(b, 0);
	e = mark(b, 2);
	put16(b, 0x1a1a); /* GREASE */
	put16(b, 0);
	put16(b, 0x001b); /* compress_certificate */
	put16(b, 3);
	put8(b, 2);
	put16(b, 2);
	put16(b, 0x0000); /* server_name */
	x = mark(b, 2);
	l = mark(b, 2);
	put8(b, 0);
	put16(b, 11);
	putn(b, "example.com", 11);
	fix(b, l, 2);
	fix(b, x, 2);
	put16(b, 0x0033); /* key_share, empty */
	put16(b, 2);
	put16(b, 0);
	put16(b, 0x0010); /* ALPN: h2, http/1.1 */
	x = mark(b, 2);
	l = mark(b, 2);
	put8(b, 2);
	putn(b, "h2", 2);
	put8(b, 8);
	putn(b, "http/1.1", 8);
	fix(b, l, 2);
	fix(b, x, 2);
	put16(b, 0x4469); /* ALPS */
	put16(b, 5);
	put16(b, 3);
	put8(b, 2);
	putn(b, "h2", 2);
	put16(b, 0x0017);
	put16(b, 0);
	put16(b, 0x002d);
	put16(b, 2);
	put8(b, 1);
	put8(b, 1);
	put16(b, 0x000d); /* signature_algorithms */
	put16(b, 2 + 2 * 8);
	put16(b, 2 * 8);
	for (int i = 0; i < 8; i++)
		put16(b, sigalgs[i]);
	put16(b, 0x0005);
	put16(b, 5);
	putn(b, "\x01\x00\x00\x00\x00", 5);
	put16(b, 0x0023);
	put16(b, 0);
	put16(b, 0x0012);
	put16(b, 0);
	put16(b, 0x002b); /* supported_versions: GREASE, 1.3, 1.2 */
	put16(b, 7);
	put8(b, 6);
	put16(b, 0x2a2a);
	put16(b, 0x0304);
	put16(b, 0x0303);
	put16(b, 0xff01);
	put16(b, 1);
	put8(b, 0);
	put16(b, 0x000b);
	put16(b, 2);
	put8(b, 1);
	put8(b, 0);
	put16(b, 0x000a); /* supported_groups: GREASE, x25519, P-256, P-384 */
	put16(b, 10);
	put16(b, 8);
	put16(b, 0x2a2a);
	put16(b, 0x001d);
	put16(b, 0x0017);
	put16(b, 0x0018);
	put16(b, 0x0015); /* padding */
	put16(b, 4);
	put16(b, 0);
	put16(b, 0);
	put16(b, 0x3a3a); /* GREASE */
	put16(b, 1);
	put8(b, 0);
	fix(b, e, 2);
	fix(b, hs, 3);
	fix(b, rec, 2);
}

/* The JA3 README's example: TLS 1.0, twelve ciphers, SNI + groups + point formats. */
static void client_hello_ja3_readme(struct buf *b)
{
	static const uint16_t ciphers[] = {
		47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4
	};
	uint8_t zero[32] = { 0 };
	size_t rec, hs, l, e, x;

	put8(b, 0x16);
	put16(b, 0x0301);
	rec = mark(b, 2);
	put8(b, 1);
	hs = mark(b, 3);
	put16(b, 0x0301);
	putn(b, zero, 32);
	put8(b, 0);
	l = mark(b, 2);
	for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		put16(b, ciphers[i]);
	fix(b, l, 2);
	put8(b, 1);
	put8(b, 0);
	e = mark(b, 2);
	put16(b, 0x0000);
	x = mark(b, 2);
	l = mark(b, 2);
	put8(b, 0);
	put16(b, 8);
	putn(b, "a.test.x", 8);
	fix(b, l, 2);
	fix(b, x, 2);
	put16(b, 0x000a);
	put16(b, 8);
	put16(b, 6);
	put16(b, 23);
	put16(b, 24);
	put16(b, 25);
	put16(b, 0x000b);
	put16(b, 2);
	put8(b, 1);
	put8(b, 0);
	fix(b, e, 2);
	fix(b, hs, 3);
	fix(b, rec, 2);
}

/* ServerHello of the JA4S document's example: TLS 1.2, c030, extensions 0005,0017,ff01,0000. */
static void server_hello_ja4s_example(struct buf *b, bool tls13, bool hrr)
{
	static const uint8_t hrr_random[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
		0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
		0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	};
	uint8_t rnd[32];
	size_t rec, hs, e;

	memset(rnd, 7, sizeof(rnd));
	put8(b, 0x16);
	put16(b, 0x0303);
	rec = mark(b, 2);
	put8(b, 2);
	hs = mark(b, 3);
	put16(b, 0x0303);
	putn(b, hrr ? hrr_random : rnd, 32);
	put8(b, 0);
	put16(b, tls13 ? 0x1301 : 0xc030);
	put8(b, 0);
	e = mark(b, 2);
	if (tls13) {
		put16(b, 0x0033);
		put16(b, 2);
		put16(b, 0x001d);
		put16(b, 0x002b);
		put16(b, 2);
		put16(b, 0x0304);
	} else {
		put16(b, 0x0005);
		put16(b, 0);
		put16(b, 0x0017);
		put16(b, 0);
		put16(b, 0xff01);
		put16(b, 1);
		put8(b, 0);
		put16(b, 0x0000);
		put16(b, 0);
	}
	fix(b, e, 2);
	fix(b, hs, 3);
	fix(b, rec, 2);
}

/* A self-signed EC certificate with fixed names, serial, validity and SANs. */
static uint8_t *make_cert(int *len)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	X509_EXTENSION *ext;
	uint8_t *der = NULL;

	assert_non_null(pk);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), 0x0123456789abcdefull),
			 1);
	assert_int_equal(ASN1_TIME_set_string(X509_getm_notBefore(x), "20240101000000Z"), 1);
	assert_int_equal(ASN1_TIME_set_string(X509_getm_notAfter(x), "20340101000000Z"), 1);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Example, Inc.", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test.example", -1,
				   -1, 0);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
				  "DNS:test.example,DNS:www.test.example,IP:192.0.2.1");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	*len = i2d_X509(x, &der);
	assert_true(*len > 0);
	X509_free(x);
	EVP_PKEY_free(pk);
	return der;
}

/* Certificate message (leaf + copies) and ServerHelloDone, in one record. */
static void certificate_msg(struct buf *b, const uint8_t *der, int len, int copies)
{
	size_t rec, hs, l, c;

	put8(b, 0x16);
	put16(b, 0x0303);
	rec = mark(b, 2);
	put8(b, 11);
	hs = mark(b, 3);
	l = mark(b, 3);
	for (int i = 0; i < copies; i++) {
		c = mark(b, 3);
		putn(b, der, (size_t)len);
		fix(b, c, 3);
	}
	fix(b, l, 3);
	fix(b, hs, 3);
	put8(b, 14); /* ServerHelloDone */
	put8(b, 0);
	put16(b, 0);
	fix(b, rec, 2);
}

/* ---- tests ---- */

static int setup(void **state)
{
	struct pr_l7_cfg cfg = { 0 };

	(void)state;
	return pr_l7_ctx_create(&cfg, -1, &g_ctx);
}

static int teardown(void **state)
{
	(void)state;
	pr_l7_ctx_destroy(g_ctx);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	memset(&g_cap, 0, sizeof(g_cap));
	return 0;
}

static void test_state_size(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct pr_l7_state), PR_L7_STATE_SIZE);
	assert_string_equal(pr_l7_app_name(PR_L7_APP_TLS), "tls");
	assert_string_equal(pr_l7_app_name(PR_L7_APP_UNKNOWN), "unknown");
	assert_non_null(pr_l7_ops_get(PR_L7_APP_SMTP));
	assert_null(pr_l7_ops_get(PR_L7_APP_COUNT));
}

static void test_ja4_example(void **state)
{
	struct buf ch = { .len = 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	client_hello_ja4_example(&ch);
	seed("ja4_example", &ch, NULL);
	conn_init(&c, 443);
	send(&c, PR_L7_DIR_C2S, &ch, 1500);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_TLS);
	t = find(PR_L7_TXN_TLS_CLIENT_HELLO, 0);
	assert_non_null(t);
	assert_int_equal(t->flow_id, 42);
	assert_int_equal(t->dir, PR_L7_DIR_C2S);
	assert_string_equal(t->u.tls_ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	assert_string_equal(
		t->u.tls_ch.ja4_r,
		"t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,"
		"cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,"
		"ff01_0403,0804,0401,0503,0805,0501,0806,0601");
	assert_string_equal(t->u.tls_ch.ja3_string,
			    "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-"
			    "156-157-47-53,27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,"
			    "29-23-24,0");
	assert_string_equal(t->u.tls_ch.ja3, "c000e2caf3a25423f9de6c8a4b12a975");
	assert_string_equal(t->u.tls_ch.sni, "example.com");
	assert_string_equal(t->u.tls_ch.alpn, "h2,http/1.1");
	assert_int_equal(t->u.tls_ch.version, 0x0303);
	assert_int_equal(t->u.tls_ch.max_version, 0x0304);
	assert_int_equal(t->u.tls_ch.record_version, 0x0301);
	assert_int_equal(t->u.tls_ch.session_id_len, 32);
	/* Lists keep GREASE, as on the wire. */
	assert_int_equal(t->u.tls_ch.n_ciphers, 16);
	assert_int_equal(t->u.tls_ch.ciphers[0], 0x0a0a);
	assert_int_equal(t->u.tls_ch.n_exts, 18);
	assert_int_equal(t->u.tls_ch.n_groups, 4);
	assert_int_equal(t->u.tls_ch.groups[1], 0x001d);
	assert_int_equal(t->u.tls_ch.n_sigalgs, 8);
	assert_int_equal(t->u.tls_ch.sigalgs[7], 0x0601);
	assert_int_equal(t->u.tls_ch.n_ecpf, 1);
	assert_true(t->u.tls_ch.flags & PR_L7_TLS_CH_SNI);
	assert_true(t->u.tls_ch.flags & PR_L7_TLS_CH_ALPN);
	assert_true(t->u.tls_ch.flags & PR_L7_TLS_CH_SUPPORTED_VERSIONS);
	assert_false(t->u.tls_ch.flags & PR_L7_TLS_CH_LISTS_CUT);
}

static void test_ja3_readme_example(void **state)
{
	struct buf ch = { .len = 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	client_hello_ja3_readme(&ch);
	seed("ja3_readme", &ch, NULL);
	/* Not a TLS port: found by its record header. */
	conn_init(&c, 8444);
	send(&c, PR_L7_DIR_C2S, &ch, 1500);
	t = find(PR_L7_TXN_TLS_CLIENT_HELLO, 0);
	assert_non_null(t);
	assert_string_equal(t->u.tls_ch.ja3_string,
			    "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
	assert_string_equal(t->u.tls_ch.ja3, "ada70206e40642a3e4461f35503241d5");
	/* Independently: sha256 of the sorted ciphers and of "000a,000b". */
	assert_string_equal(t->u.tls_ch.ja4, "t10d120300_d94e65cdb899_33a13ba74d1c");
	assert_string_equal(t->u.tls_ch.sni, "a.test.x");
	assert_int_equal(t->u.tls_ch.max_version, 0x0301);
}

/* One byte per segment, and the hello split over three records: the same results. */
static void test_split_everywhere(void **state)
{
	struct buf ch = { .len = 0 }, re = { .len = 0 };
	const struct pr_l7_txn *t;
	size_t body, off;
	struct conn c;

	(void)state;
	client_hello_ja4_example(&ch);
	body = ch.len - 5;
	for (off = 5; off < ch.len;) {
		size_t n = off == 5 ? 3 : (ch.len - off > 100 ? 100 : ch.len - off);

		put8(&re, 0x16);
		put16(&re, 0x0301);
		put16(&re, (unsigned int)n);
		putn(&re, ch.b + off, n);
		off += n;
	}
	assert_true(re.len > ch.len);
	(void)body;
	seed("split_records", &re, NULL);
	conn_init(&c, 443);
	send(&c, PR_L7_DIR_C2S, &re, 1);
	t = find(PR_L7_TXN_TLS_CLIENT_HELLO, 0);
	assert_non_null(t);
	assert_string_equal(t->u.tls_ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	assert_string_equal(t->u.tls_ch.ja3, "c000e2caf3a25423f9de6c8a4b12a975");
	assert_int_equal(g_cap.n, 1);
}

static void test_server_hello_ja4s(void **state)
{
	struct buf ch = { .len = 0 }, sh = { .len = 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	client_hello_ja3_readme(&ch);
	server_hello_ja4s_example(&sh, false, false);
	seed("ja4s_example", &ch, &sh);
	conn_init(&c, 443);
	send(&c, PR_L7_DIR_C2S, &ch, 1500);
	send(&c, PR_L7_DIR_S2C, &sh, 1500);
	t = find(PR_L7_TXN_TLS_SERVER_HELLO, 0);
	assert_non_null(t);
	assert_int_equal(t->dir, PR_L7_DIR_S2C);
	assert_string_equal(t->u.tls_sh.ja4s, "t120400_c030_4e8089b08790");
	assert_string_equal(t->u.tls_sh.ja3s_string, "771,49200,5-23-65281-0");
	assert_string_equal(t->u.tls_sh.ja3s, "7d8fd34fdb13a7fff30d5a52846b6c4c");
	assert_int_equal(t->u.tls_sh.cipher, 0xc030);
	assert_int_equal(t->u.tls_sh.selected_version, 0x0303);
	assert_false(t->u.tls_sh.flags & PR_L7_TLS_SH_TLS13);
	assert_false(pr_l7_flow_done(&c.st));
}

static void test_tls13_and_hrr(void **state)
{
	struct buf ch = { .len = 0 }, hrr = { .len = 0 }, sh = { .len = 0 }, more = { .len = 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	client_hello_ja4_example(&ch);
	server_hello_ja4s_example(&hrr, true, true);
	server_hello_ja4s_example(&sh, true, false);
	conn_init(&c, 443);
	send(&c, PR_L7_DIR_C2S, &ch, 1500);
	send(&c, PR_L7_DIR_S2C, &hrr, 1500);
	/* After a HelloRetryRequest the client says hello again. */
	send(&c, PR_L7_DIR_C2S, &ch, 1500);
	send(&c, PR_L7_DIR_S2C, &sh, 1500);
	assert_int_equal(g_cap.n, 4);
	t = find(PR_L7_TXN_TLS_SERVER_HELLO, 0);
	assert_true(t->u.tls_sh.flags & PR_L7_TLS_SH_HRR);
	t = find(PR_L7_TXN_TLS_SERVER_HELLO, 1);
	assert_false(t->u.tls_sh.flags & PR_L7_TLS_SH_HRR);
	assert_true(t->u.tls_sh.flags & PR_L7_TLS_SH_TLS13);
	assert_int_equal(t->u.tls_sh.selected_version, 0x0304);
	assert_string_equal(t->u.tls_sh.ja4s, "t130200_1301_234ea6891581");
	/* The server's direction is done: the rest is encrypted, even what looks like a hello. */
	send(&c, PR_L7_DIR_S2C, &sh, 1500);
	assert_int_equal(g_cap.n, 4);
	/* The client's ChangeCipherSpec ends the client's direction too. */
	put8(&more, 0x14);
	put16(&more, 0x0303);
	put16(&more, 1);
	put8(&more, 1);
	send(&c, PR_L7_DIR_C2S, &more, 1500);
	assert_true(pr_l7_flow_done(&c.st));
}

static void check_cert(const struct pr_l7_txn *t, const uint8_t *der, int len, int chain)
{
	unsigned char dg[32];
	char hex[65];
	unsigned int dl = 0;

	assert_non_null(t);
	assert_int_equal(t->dir, PR_L7_DIR_S2C);
	assert_int_equal(t->u.tls_cert.flags & PR_L7_TLS_CERT_PARSE_ERROR, 0);
	assert_string_equal(t->u.tls_cert.subject, "CN=test.example,O=Example\\, Inc.,C=US");
	assert_string_equal(t->u.tls_cert.issuer, "CN=test.example,O=Example\\, Inc.,C=US");
	assert_string_equal(t->u.tls_cert.serial, "0123456789abcdef");
	assert_string_equal(t->u.tls_cert.not_before_str, "2024-01-01T00:00:00Z");
	assert_string_equal(t->u.tls_cert.not_after_str, "2034-01-01T00:00:00Z");
	assert_int_equal(t->u.tls_cert.not_before, 1704067200);
	assert_string_equal(t->u.tls_cert.sans, "test.example,www.test.example,192.0.2.1");
	assert_int_equal(t->u.tls_cert.der_len, len);
	assert_int_equal(t->u.tls_cert.chain_len, chain);
	assert_int_equal(EVP_Digest(der, (size_t)len, dg, &dl, EVP_sha256(), NULL), 1);
	for (unsigned int i = 0; i < dl; i++)
		snprintf(hex + 2 * i, 3, "%02x", dg[i]);
	assert_string_equal(t->u.tls_cert.sha256, hex);
	assert_int_equal(strlen(t->u.tls_cert.sha1), 40);
}

static void test_certificate(void **state)
{
	struct buf ch = { .len = 0 }, s2c = { .len = 0 };
	struct conn c;
	uint8_t *der;
	int len;

	(void)state;
	der = make_cert(&len);
	client_hello_ja3_readme(&ch);
	server_hello_ja4s_example(&s2c, false, false);
	certificate_msg(&s2c, der, len, 3);
	seed("certificate", &ch, &s2c);
	conn_init(&c, 443);
	send(&c, PR_L7_DIR_C2S, &ch, 1500);
	/* Small segments: the Certificate message is collected over many of them. */
	send(&c, PR_L7_DIR_S2C, &s2c, 97);
	check_cert(find(PR_L7_TXN_TLS_CERTIFICATE, 0), der, len, 3);
	assert_false(find(PR_L7_TXN_TLS_CERTIFICATE, 0)->u.tls_cert.flags &
		     PR_L7_TLS_CERT_CHAIN_CUT);
	OPENSSL_free(der);
}

/* A chain larger than a buffer: the leaf is still read, the chain counted as far as held. */
static void test_certificate_chain_cut(void **state)
{
	struct pr_l7_cfg cfg = { .buf_bytes = 1024, .buf_count = 2 };
	struct pr_l7_ctx *ctx;
	struct buf s2c = { .len = 0 };
	struct pr_l7_stats st;
	const struct pr_l7_txn *t;
	struct conn c;
	uint8_t *der;
	int len;

	(void)state;
	assert_int_equal(pr_l7_ctx_create(&cfg, -1, &ctx), 0);
	der = make_cert(&len);
	assert_true(len < 1000);
	server_hello_ja4s_example(&s2c, false, false);
	certificate_msg(&s2c, der, len, 4);
	conn_init(&c, 443);
	send_ctx(ctx, &c, PR_L7_DIR_S2C, s2c.b, s2c.len, 300);
	/* As many whole certificates as fit in the buffer after the 3-byte list length. */
	t = find(PR_L7_TXN_TLS_CERTIFICATE, 0);
	check_cert(t, der, len, (1024 - 3) / (len + 3));
	assert_true(t->u.tls_cert.flags & PR_L7_TLS_CERT_CHAIN_CUT);
	pr_l7_flow_end(ctx, &c.st);
	pr_l7_ctx_stats(ctx, &st);
	assert_int_equal(st.buf_exhausted, 0);
	pr_l7_ctx_destroy(ctx);
	OPENSSL_free(der);
}

static void test_retransmit_and_gap(void **state)
{
	struct buf ch = { .len = 0 };
	struct pr_l7_stats before, after;
	struct conn c;

	(void)state;
	client_hello_ja4_example(&ch);
	pr_l7_ctx_stats(g_ctx, &before);
	conn_init(&c, 443);
	send(&c, PR_L7_DIR_C2S, &ch, 200);
	/* The whole hello again, as a retransmission: nothing new. */
	c.seq[0] -= (uint32_t)ch.len;
	send(&c, PR_L7_DIR_C2S, &ch, 200);
	assert_int_equal(g_cap.n, 1);
	pr_l7_ctx_stats(g_ctx, &after);
	assert_true(after.retransmits >= before.retransmits + 2);

	/* A hole in the client's bytes stops that direction. */
	conn_init(&c, 443);
	send_ctx(g_ctx, &c, PR_L7_DIR_C2S, ch.b, 50, 50);
	c.seq[0] += 10;
	send_ctx(g_ctx, &c, PR_L7_DIR_C2S, ch.b + 60, ch.len - 60, 1500);
	pr_l7_ctx_stats(g_ctx, &after);
	assert_int_equal(after.gaps, before.gaps + 1);
	assert_int_equal(g_cap.n, 1);
	pr_l7_flow_end(g_ctx, &c.st);
}

static void test_not_tls(void **state)
{
	static const uint8_t junk[] = "\x17\x03\x03\x00\x10random bytes here";
	struct conn c;
	int i;

	(void)state;
	conn_init(&c, 443);
	for (i = 0; i < 10 && !pr_l7_flow_done(&c.st); i++)
		send_ctx(g_ctx, &c, (uint8_t)(i & 1), junk, sizeof(junk) - 1, 1500);
	assert_true(pr_l7_flow_done(&c.st));
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_UNKNOWN);
	assert_int_equal(g_cap.n, 0);
}

/* Two flows, one buffer: the second flow takes it, the first one's direction stops. */
static void test_buffer_pool_exhausted(void **state)
{
	struct pr_l7_cfg cfg = { .buf_count = 1 };
	struct pr_l7_ctx *ctx;
	struct buf ch = { .len = 0 };
	struct pr_l7_stats st;
	struct conn a, b;

	(void)state;
	assert_int_equal(pr_l7_ctx_create(&cfg, -1, &ctx), 0);
	client_hello_ja4_example(&ch);
	conn_init(&a, 443);
	conn_init(&b, 443);
	send_ctx(ctx, &a, PR_L7_DIR_C2S, ch.b, 100, 100);
	send_ctx(ctx, &b, PR_L7_DIR_C2S, ch.b, 100, 100);
	send_ctx(ctx, &a, PR_L7_DIR_C2S, ch.b + 100, ch.len - 100, 1500);
	send_ctx(ctx, &b, PR_L7_DIR_C2S, ch.b + 100, ch.len - 100, 1500);
	pr_l7_ctx_stats(ctx, &st);
	assert_int_equal(st.buf_exhausted, 1);
	assert_int_equal(g_cap.n, 1);
	/*
	 * A flow whose end was never reported while it held the buffer (its
	 * state reused at once): the buffer is taken back without harm.
	 */
	pr_l7_flow_end(ctx, &a.st);
	pr_l7_flow_end(ctx, &b.st);
	conn_init(&b, 443);
	send_ctx(ctx, &b, PR_L7_DIR_C2S, ch.b, 100, 100);
	conn_init(&b, 443);
	conn_init(&a, 443);
	send_ctx(ctx, &a, PR_L7_DIR_C2S, ch.b, 100, 100);
	send_ctx(ctx, &a, PR_L7_DIR_C2S, ch.b + 100, ch.len - 100, 1500);
	pr_l7_ctx_stats(ctx, &st);
	assert_int_equal(st.buf_reclaimed, 1);
	assert_int_equal(st.buf_exhausted, 1);
	assert_int_equal(g_cap.n, 2);
	pr_l7_flow_end(ctx, &a.st);
	pr_l7_ctx_destroy(ctx);
}

static void test_bad_config(void **state)
{
	struct pr_l7_cfg cfg = { .buf_bytes = 16 };
	struct pr_l7_ctx *ctx = (struct pr_l7_ctx *)1;

	(void)state;
	assert_int_equal(pr_l7_ctx_create(&cfg, -1, &ctx), -EINVAL);
	assert_null(ctx);
	cfg.buf_bytes = 0;
	cfg.buf_count = 70000;
	assert_int_equal(pr_l7_ctx_create(&cfg, -1, &ctx), -EINVAL);
	pr_l7_ctx_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_state_size, reset),
		cmocka_unit_test_setup(test_ja4_example, reset),
		cmocka_unit_test_setup(test_ja3_readme_example, reset),
		cmocka_unit_test_setup(test_split_everywhere, reset),
		cmocka_unit_test_setup(test_server_hello_ja4s, reset),
		cmocka_unit_test_setup(test_tls13_and_hrr, reset),
		cmocka_unit_test_setup(test_certificate, reset),
		cmocka_unit_test_setup(test_certificate_chain_cut, reset),
		cmocka_unit_test_setup(test_retransmit_and_gap, reset),
		cmocka_unit_test_setup(test_not_tls, reset),
		cmocka_unit_test_setup(test_buffer_pool_exhausted, reset),
		cmocka_unit_test_setup(test_bad_config, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
