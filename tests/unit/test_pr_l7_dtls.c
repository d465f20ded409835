// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the DTLS parser (dataplane/l7/pr_l7_dtls.c) over the TLS
 * hello and certificate code it shares (pr_l7_tls.c). A DTLS 1.2 first
 * flight is built here from RFC 6347: a ClientHello, the server's
 * HelloVerifyRequest, the ClientHello again with its cookie, a
 * ServerHello, and a Certificate in three fragments over two datagrams
 * (one fragment repeated, one out of order), then ChangeCipherSpec and an
 * encrypted record. JA3, JA4 ("d" for DTLS, then "d2" for 1.2) and JA3S are compared with
 * values computed independently (Python hashlib); the certificate's
 * digest with OpenSSL's SHA-256 of the bytes put in. The group setup
 * creates one context. Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the datagrams are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_quic/, config 2 of fuzz_l7_quic.c).
 */
#include <openssl/evp.h>

#include "l7_test.h"

#define CFG_DTLS 2

/* A DTLS record of epoch 0 holding one handshake fragment. */
static void record(struct buf *b, uint8_t rtype, uint16_t rseq, uint8_t htype, uint32_t len,
		   uint16_t mseq, uint32_t foff, const uint8_t *frag, uint32_t flen)
{
	put8(b, rtype);
	put16(b, 0xfefd);
	put16(b, 0);
	put16(b, 0);
	put32(b, rseq);
	put16(b, 12 + flen);
	put8(b, htype);
	put8(b, len >> 16);
	put16(b, len & 0xffff);
	put16(b, mseq);
	put8(b, foff >> 16);
	put16(b, foff & 0xffff);
	put8(b, flen >> 16);
	put16(b, flen & 0xffff);
	putn(b, frag, flen);
}

static void client_hello(struct buf *m, int cookie)
{
	size_t el, x, y;

	put16(m, 0xfefd);
	for (int i = 0; i < 32; i++)
		put8(m, (unsigned int)i);
	put8(m, 0); /* session id */
	put8(m, cookie ? 16 : 0);
	for (int i = 0; cookie && i < 16; i++)
		put8(m, 0xc0);
	put16(m, 4);
	put16(m, 0xc02b);
	put16(m, 0xc02f);
	put8(m, 1);
	put8(m, 0);
	el = mark(m, 2);
	put16(m, 0);
	x = mark(m, 2);
	y = mark(m, 2);
	put8(m, 0);
	put16(m, 12);
	puts_(m, "dtls.example");
	fix(m, y, 2);
	fix(m, x, 2);
	putn(m, (uint8_t[]){ 0, 10, 0, 4, 0, 2, 0, 29 }, 8);
	putn(m, (uint8_t[]){ 0, 11, 0, 2, 1, 0 }, 6);
	putn(m, (uint8_t[]){ 0, 13, 0, 4, 0, 2, 4, 3 }, 8);
	putn(m, (uint8_t[]){ 0, 14, 0, 5, 0, 2, 0, 1, 0 }, 9); /* use_srtp */
	fix(m, el, 2);
}

static void test_first_flight(void **state)
{
	struct buf ch1 = { 0 }, ch2 = { 0 }, c1 = { 0 }, c2 = { 0 }, s1 = { 0 }, s2 = { 0 };
	struct buf sh = { 0 }, cert = { 0 }, tail = { 0 };
	uint8_t der[600], dg[32], hv[3] = { 0xfe, 0xfd, 0 };
	char hex[65];
	unsigned int dl = 0;
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	client_hello(&ch1, 0);
	client_hello(&ch2, 1);
	record(&c1, 22, 0, 1, (uint32_t)ch1.len, 0, 0, ch1.b, (uint32_t)ch1.len);
	record(&c2, 22, 1, 1, (uint32_t)ch2.len, 1, 0, ch2.b, (uint32_t)ch2.len);
	/* HelloVerifyRequest, then in the server's second flight: ServerHello, Certificate. */
	record(&s1, 22, 0, 3, 3, 0, 0, hv, 3);
	put16(&sh, 0xfefd);
	for (int i = 0; i < 32; i++)
		put8(&sh, 0x50);
	put8(&sh, 0);
	put16(&sh, 0xc02b);
	put8(&sh, 0);
	putn(&sh, (uint8_t[]){ 0, 11, 0xff, 0x01, 0, 1, 0, 0, 11, 0, 2, 1, 0 }, 13);
	record(&s2, 22, 1, 2, (uint32_t)sh.len, 1, 0, sh.b, (uint32_t)sh.len);
	/* A certificate message: one 600-byte "certificate" (not DER: only digested). */
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 7);
	put8(&cert, 0);
	put16(&cert, 603);
	put8(&cert, 0);
	put16(&cert, 600);
	putn(&cert, der, sizeof(der));
	/* Fragments [0,300) and [300,500) now, a repeat of [0,300) too... */
	record(&s2, 22, 2, 11, (uint32_t)cert.len, 2, 0, cert.b, 300);
	record(&s2, 22, 3, 11, (uint32_t)cert.len, 2, 0, cert.b, 300);
	record(&s2, 22, 4, 11, (uint32_t)cert.len, 2, 300, cert.b + 300, 200);
	/* ... the rest later, then ChangeCipherSpec; nothing after it is read. */
	record(&tail, 22, 5, 11, (uint32_t)cert.len, 2, 500, cert.b + 500,
	       (uint32_t)cert.len - 500);
	putn(&tail, (uint8_t[]){ 20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1, 1 }, 14);
	record(&tail, 22, 7, 1, (uint32_t)ch1.len, 3, 0, ch1.b, (uint32_t)ch1.len);

	conn_init(&c, PR_L7_PROTO_UDP, 50000, 4433);
	send_buf(&c, 0, &c1);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_DTLS);
	send_buf(&c, 1, &s1);
	send_buf(&c, 0, &c2);
	send_buf(&c, 1, &s2);
	assert_int_equal(count(PR_L7_TXN_TLS_CERTIFICATE), 0);
	send_buf(&c, 1, &tail);
	assert_true(pr_l7_flow_done(&c.st) == false);
	pr_l7_flow_end(g_ctx, &c.st);

	assert_int_equal(count(PR_L7_TXN_TLS_CLIENT_HELLO), 2);
	t = find(PR_L7_TXN_TLS_CLIENT_HELLO, 1);
	assert_int_equal(t->app, PR_L7_APP_DTLS);
	assert_int_equal(t->u.tls_ch.record_version, 0xfefd);
	assert_string_equal(t->u.tls_ch.sni, "dtls.example");
	assert_string_equal(t->u.tls_ch.ja3_string, "65277,49195-49199,0-10-11-13-14,29,0");
	assert_string_equal(t->u.tls_ch.ja3, "4be36967c5e064cf6e5647d762aac444");
	assert_string_equal(t->u.tls_ch.ja4, "dd2d020500_b6f57f3be927_e7b9f644117a");
	t = find(PR_L7_TXN_TLS_SERVER_HELLO, 0);
	assert_non_null(t);
	assert_string_equal(t->u.tls_sh.ja3s_string, "65277,49195,65281-11");
	assert_string_equal(t->u.tls_sh.ja3s, "3e053507e9bcc8143a88bf0b50e88b2a");
	assert_int_equal(t->u.tls_sh.ja4s[0], 'd');
	t = find(PR_L7_TXN_TLS_CERTIFICATE, 0);
	assert_non_null(t);
	assert_int_equal(t->dir, PR_L7_DIR_S2C);
	assert_int_equal(t->u.tls_cert.der_len, 600);
	assert_int_equal(t->u.tls_cert.chain_len, 1);
	assert_true(t->u.tls_cert.flags & PR_L7_TLS_CERT_PARSE_ERROR);
	assert_int_equal(EVP_Digest(der, sizeof(der), dg, &dl, EVP_sha256(), NULL), 1);
	for (unsigned int i = 0; i < dl; i++)
		snprintf(hex + 2 * i, 3, "%02x", dg[i]);
	assert_string_equal(t->u.tls_cert.sha256, hex);
	/* The ClientHello after ChangeCipherSpec (in the server's direction) was not read. */
	assert_int_equal(count(PR_L7_TXN_TLS_CLIENT_HELLO), 2);
	{
		const struct buf *ms[4] = { &c1, &s1, &c2, &s2 };

		seed("dtls_first_flight", CFG_DTLS, ms, 4, 0xa);
	}
}

/* A fragment from the middle of a message whose start was never seen is passed over. */
static void test_orphan_fragment(void **state)
{
	struct buf ch = { 0 }, d = { 0 };
	struct conn c;

	(void)state;
	client_hello(&ch, 0);
	record(&d, 22, 0, 1, (uint32_t)ch.len, 0, 0, ch.b, 40);
	record(&d, 22, 1, 1, (uint32_t)ch.len, 0, 60, ch.b + 60, (uint32_t)ch.len - 60);
	conn_init(&c, PR_L7_PROTO_UDP, 50000, 4433);
	send_buf(&c, 0, &d);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_DTLS);
	assert_int_equal(count(PR_L7_TXN_TLS_CLIENT_HELLO), 0);
	/* The missing piece comes: still incomplete, the tail was not kept. */
	d.len = 0;
	record(&d, 22, 2, 1, (uint32_t)ch.len, 0, 40, ch.b + 40, 20);
	send_buf(&c, 0, &d);
	assert_int_equal(count(PR_L7_TXN_TLS_CLIENT_HELLO), 0);
	pr_l7_flow_end(g_ctx, &c.st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_first_flight, l7t_reset),
		cmocka_unit_test_setup(test_orphan_fragment, l7t_reset),
	};

	return cmocka_run_group_tests(tests, l7t_setup, l7t_teardown);
}
