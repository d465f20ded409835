// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the text-protocol parsers: SSH (dataplane/l7/pr_l7_ssh.c:
 * identification strings, KEXINIT and HASSH / HASSH-server, SSH-1) and
 * SMTP (pr_l7_smtp.c: banner, commands, DATA bodies and their end marker,
 * BDAT, AUTH without its credentials, STARTTLS handing the flow to the TLS
 * parser, implicit TLS). HASSH values were computed independently (Python
 * hashlib over the expected "kex;enc;mac;cmp" strings). The group setup
 * creates one context; each test starts fresh flow states.
 * Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the exchanges are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_http/, see tests/fuzz/fuzz_l7.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_l7.h"

#define MAX_TXN 32

struct buf {
	uint8_t b[4096];
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

static void put32(struct buf *b, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		put8(b, (v >> (8 * i)) & 0xff);
}

static void puts_(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	assert_true(b->len + n <= sizeof(b->b));
	memcpy(b->b + b->len, s, n);
	b->len += n;
}

static void namelist(struct buf *b, const char *s)
{
	put32(b, (uint32_t)strlen(s));
	puts_(b, s);
}

/* A banner line and a KEXINIT packet (unencrypted binary packet, padding 4..). */
static void ssh_side(struct buf *b, const char *banner, const char *kex, const char *enc,
		     const char *mac, const char *cmp)
{
	struct buf p = { .len = 0 };
	size_t pad;

	puts_(b, banner);
	puts_(b, "\r\n");
	put8(&p, 20);
	for (int i = 0; i < 16; i++)
		put8(&p, 0xaa);
	namelist(&p, kex);
	namelist(&p, "ssh-ed25519,rsa-sha2-512");
	namelist(&p, enc);
	namelist(&p, "aes256-ctr");
	namelist(&p, mac);
	namelist(&p, "hmac-sha1");
	namelist(&p, cmp);
	namelist(&p, "none");
	namelist(&p, "");
	namelist(&p, "");
	put8(&p, 0);
	put32(&p, 0);
	pad = 8 - (p.len + 5) % 8;
	if (pad < 4)
		pad += 8;
	put32(b, (uint32_t)(p.len + pad + 1));
	put8(b, (unsigned int)pad);
	memcpy(b->b + b->len, p.b, p.len);
	b->len += p.len;
	for (size_t i = 0; i < pad; i++)
		put8(b, 0);
}

static void cap_emit(void *arg, const struct pr_l7_txn *t)
{
	struct capture *c = arg;

	assert_true(c->n < MAX_TXN);
	c->t[c->n++] = *t;
}

static void conn_init(struct conn *c, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	pr_l7_flow_init(&c->st, PR_L7_PROTO_TCP, 40001, sport);
	c->seq[0] = 7;
	c->seq[1] = 70000;
}

static void send(struct conn *c, uint8_t dir, const uint8_t *p, size_t len, size_t seg)
{
	while (len) {
		size_t n = len < seg ? len : seg;
		uint8_t *copy = malloc(n);
		struct pr_l7_pkt pkt = {
			.data = copy,
			.len = (uint32_t)n,
			.seq = c->seq[dir],
			.dir = dir,
			.has_seq = 1,
		};

		assert_non_null(copy);
		memcpy(copy, p, n);
		pr_l7_process(g_ctx, &c->st, &pkt, cap_emit, &g_cap);
		free(copy);
		c->seq[dir] += (uint32_t)n;
		p += n;
		len -= n;
	}
}

static void sends(struct conn *c, uint8_t dir, const char *s)
{
	send(c, dir, (const uint8_t *)s, strlen(s), 1500);
}

static void seed(const char *name, uint8_t cfg, const struct buf *c2s, const struct buf *s2c)
{
	const char *dir = getenv("PR_L7_SEED_DIR");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputc(cfg, f);
	/* Server first: SSH and SMTP servers speak first. */
	for (int d = 1; d >= 0; d--) {
		const struct buf *b = d ? s2c : c2s;

		fputc(d, f);
		fputc((int)(b->len & 0xff), f);
		fputc((int)(b->len >> 8), f);
		fwrite(b->b, 1, b->len, f);
	}
	fclose(f);
}

static const struct pr_l7_txn *nth(uint8_t kind, unsigned int i)
{
	for (unsigned int k = 0; k < g_cap.n; k++)
		if (g_cap.t[k].kind == kind && i-- == 0)
			return &g_cap.t[k];
	return NULL;
}

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

/* ---- SSH ---- */

static void test_ssh_hassh(void **state)
{
	struct buf cli = { .len = 0 }, srv = { .len = 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	ssh_side(&cli, "SSH-2.0-OpenSSH_9.2p1 Debian-2",
		 "curve25519-sha256,diffie-hellman-group14-sha256",
		 "aes128-ctr,aes256-gcm@openssh.com", "hmac-sha2-256", "none,zlib@openssh.com");
	ssh_side(&srv, "SSH-2.0-srv", "curve25519-sha256,diffie-hellman-group14-sha256",
		 "aes256-ctr", "hmac-sha1", "none");
	seed("ssh", 1, &cli, &srv);
	conn_init(&c, 2222);
	/* Server first, and its KEXINIT in small pieces. */
	send(&c, PR_L7_DIR_S2C, srv.b, srv.len, 50);
	send(&c, PR_L7_DIR_C2S, cli.b, cli.len, 1500);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_SSH);
	assert_string_equal(nth(PR_L7_TXN_SSH_BANNER, 0)->u.ssh_banner.banner, "SSH-2.0-srv");
	t = nth(PR_L7_TXN_SSH_BANNER, 1);
	assert_int_equal(t->dir, PR_L7_DIR_C2S);
	assert_string_equal(t->u.ssh_banner.banner, "SSH-2.0-OpenSSH_9.2p1 Debian-2");
	t = nth(PR_L7_TXN_SSH_KEXINIT, 0);
	assert_int_equal(t->dir, PR_L7_DIR_S2C);
	/* HASSH-server takes the server-to-client lists. */
	assert_string_equal(t->u.ssh_kex.hassh_string,
			    "curve25519-sha256,diffie-hellman-group14-sha256;aes256-ctr;hmac-sha1;"
			    "none");
	assert_string_equal(t->u.ssh_kex.hassh, "ec533e8b63734be039f4747583343cb8");
	t = nth(PR_L7_TXN_SSH_KEXINIT, 1);
	assert_int_equal(t->dir, PR_L7_DIR_C2S);
	assert_string_equal(t->u.ssh_kex.hassh_string,
			    "curve25519-sha256,diffie-hellman-group14-sha256;aes128-ctr,aes256-gcm@"
			    "openssh.com;hmac-sha2-256;none,zlib@openssh.com");
	assert_string_equal(t->u.ssh_kex.hassh, "7b3f76e580e44aea1e396d8af55a8228");
	assert_string_equal(t->u.ssh_kex.host_key_algorithms, "ssh-ed25519,rsa-sha2-512");
	/* Both KEXINITs seen: nothing more to read. */
	assert_true(pr_l7_flow_done(&c.st));
}

static void test_ssh1_and_junk(void **state)
{
	struct conn c;

	(void)state;
	conn_init(&c, 22);
	sends(&c, PR_L7_DIR_S2C, "SSH-1.5-OldServer\n");
	sends(&c, PR_L7_DIR_S2C, "\x01\x02\x03\x04whatever");
	sends(&c, PR_L7_DIR_C2S, "SSH-1.5-OldClient\r\n");
	assert_int_equal(g_cap.n, 2);
	assert_true(pr_l7_flow_done(&c.st));
	/* A packet length no implementation sends stops the direction. */
	conn_init(&c, 22);
	sends(&c, PR_L7_DIR_S2C, "SSH-2.0-x\r\n\xff\xff\xff\xff\x04\x14");
	sends(&c, PR_L7_DIR_C2S, "SSH-2.0-y\r\n");
	assert_int_equal(g_cap.n, 4);
}

/* ---- SMTP ---- */

static void test_smtp_session(void **state)
{
	static const char srv[] = "220 mx.example.org ESMTP Postfix\r\n"
				  "250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
				  "250 ok\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n250 queued\r\n"
				  "250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n";
	static const char cli[] = "EHLO client.example.net\r\n"
				  "MAIL FROM:<alice@example.net> SIZE=100\r\n"
				  "RCPT TO:<bob@example.org>\r\n"
				  "RCPT TO:<carol@example.org>\r\n"
				  "DATA\r\n"
				  "Subject: hi\r\n\r\n"
				  "RCPT TO:<in-the-body@example.org>\r\n"
				  "..a dot-stuffed line\r\n"
				  ".\r\n"
				  "MAIL FROM:<>\r\n"
				  "RCPT TO:<dave@example.org>\r\n"
				  "BDAT 23 LAST\r\n"
				  "RCPT TO:<chunk@x.org>\r\n"
				  "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"
				  "QUIT\r\n";
	struct buf bs = { .len = 0 }, bc = { .len = 0 };
	const struct pr_l7_txn *t;
	struct conn c;
	const char *p;

	(void)state;
	puts_(&bs, srv);
	puts_(&bc, cli);
	seed("smtp", 2, &bc, &bs);
	conn_init(&c, 25);
	/* Replies interleaved with commands as a real session has them. */
	sends(&c, PR_L7_DIR_S2C, "220 mx.example.org ESMTP Postfix\r\n");
	sends(&c, PR_L7_DIR_C2S, "EHLO client.example.net\r\n");
	sends(&c, PR_L7_DIR_S2C, "250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
	sends(&c, PR_L7_DIR_C2S,
	      "MAIL FROM:<alice@example.net> SIZE=100\r\nRCPT TO:<bob@example.org>\r\n"
	      "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	sends(&c, PR_L7_DIR_S2C, "250 ok\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n");
	/* The body, its end marker split over three segments. */
	p = strstr(cli, "Subject");
	send(&c, PR_L7_DIR_C2S, (const uint8_t *)p, (size_t)(strstr(p, "\r\n.\r\n") - p) + 2, 1500);
	sends(&c, PR_L7_DIR_C2S, ".");
	sends(&c, PR_L7_DIR_C2S, "\r");
	sends(&c, PR_L7_DIR_C2S, "\nMAIL FROM:<>\r\n");
	sends(&c, PR_L7_DIR_S2C, "250 queued\r\n250 ok\r\n");
	sends(&c, PR_L7_DIR_C2S,
	      "RCPT TO:<dave@example.org>\r\nBDAT 23 LAST\r\nRCPT TO:<chunk@x.org>\r\n");
	sends(&c, PR_L7_DIR_C2S, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n");

	t = nth(PR_L7_TXN_SMTP_BANNER, 0);
	assert_non_null(t);
	assert_int_equal(t->u.smtp.reply_code, 220);
	assert_string_equal(t->u.smtp.arg, "mx.example.org ESMTP Postfix");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 0)->u.smtp.verb, "EHLO");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 0)->u.smtp.arg, "client.example.net");
	t = nth(PR_L7_TXN_SMTP_COMMAND, 1);
	assert_string_equal(t->u.smtp.verb, "MAIL");
	assert_string_equal(t->u.smtp.arg, "alice@example.net");
	assert_string_equal(t->u.smtp.line, "MAIL FROM:<alice@example.net> SIZE=100");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 2)->u.smtp.arg, "bob@example.org");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 3)->u.smtp.arg, "carol@example.org");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 4)->u.smtp.verb, "DATA");
	/* Nothing from the body; the next mail's commands, not the BDAT chunk. */
	t = nth(PR_L7_TXN_SMTP_COMMAND, 5);
	assert_string_equal(t->u.smtp.verb, "MAIL");
	assert_string_equal(t->u.smtp.arg, "");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 6)->u.smtp.arg, "dave@example.org");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 7)->u.smtp.verb, "BDAT");
	t = nth(PR_L7_TXN_SMTP_COMMAND, 8);
	assert_string_equal(t->u.smtp.verb, "AUTH");
	assert_string_equal(t->u.smtp.line, "AUTH PLAIN");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 9)->u.smtp.verb, "QUIT");
	assert_null(nth(PR_L7_TXN_SMTP_COMMAND, 10));
}

/* A minimal ClientHello record (TLS 1.2, one cipher, no extensions). */
static void tiny_hello(struct buf *b)
{
	static const uint8_t hello[] = {
		0x16, 0x03, 0x01, 0x00, 0x2d, 0x01, 0x00, 0x00, 0x29, 0x03, 0x03, 0, 0,
		0,    0,    0,	  0,	0,    0,    0,	  0,	0,    0,    0,	  0, 0,
		0,    0,    0,	  0,	0,    0,    0,	  0,	0,    0,    0,	  0, 0,
		0,    0,    0,	  0,	0,    0,    0x02, 0xc0, 0x2f, 0x01, 0x00,
	};

	memcpy(b->b + b->len, hello, sizeof(hello));
	b->len += sizeof(hello);
}

static void test_smtp_starttls(void **state)
{
	struct buf hello = { .len = 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	tiny_hello(&hello);
	conn_init(&c, 587);
	sends(&c, PR_L7_DIR_S2C, "220-mail.example ESMTP\r\n220 second line\r\n");
	sends(&c, PR_L7_DIR_C2S, "EHLO x\r\n");
	sends(&c, PR_L7_DIR_S2C, "250-mail.example\r\n250 STARTTLS\r\n");
	sends(&c, PR_L7_DIR_C2S, "STARTTLS\r\n");
	sends(&c, PR_L7_DIR_S2C, "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_TLS);
	send(&c, PR_L7_DIR_C2S, hello.b, hello.len, 1500);
	t = nth(PR_L7_TXN_TLS_CLIENT_HELLO, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_TLS);
	assert_string_equal(t->u.tls_ch.ja3_string, "771,49199,,,");
	assert_string_equal(nth(PR_L7_TXN_SMTP_COMMAND, 1)->u.smtp.verb, "STARTTLS");
	assert_int_equal(nth(PR_L7_TXN_SMTP_BANNER, 0)->u.smtp.reply_code, 220);
	assert_null(nth(PR_L7_TXN_SMTP_BANNER, 1));
}

/* A plain banner, then the client starts TLS without STARTTLS (port 465 setups). */
static void test_smtp_implicit_tls(void **state)
{
	struct buf hello = { .len = 0 };
	struct conn c;

	(void)state;
	tiny_hello(&hello);
	conn_init(&c, 465);
	sends(&c, PR_L7_DIR_S2C, "220 v02.example.org ESMTP Postfix\r\n");
	send(&c, PR_L7_DIR_C2S, hello.b, hello.len, 1500);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_TLS);
	assert_non_null(nth(PR_L7_TXN_TLS_CLIENT_HELLO, 0));
}

static void test_smtp_detection(void **state)
{
	struct conn c;

	(void)state;
	/* A client opening with EHLO, on any port. */
	conn_init(&c, 10025);
	sends(&c, PR_L7_DIR_C2S, "EHLO me\r\n");
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_SMTP);
	/* An FTP banner is not SMTP. */
	conn_init(&c, 21);
	sends(&c, PR_L7_DIR_S2C, "220 ProFTPD Server ready\r\n");
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_NONE);
	assert_int_equal(g_cap.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ssh_hassh, reset),
		cmocka_unit_test_setup(test_ssh1_and_junk, reset),
		cmocka_unit_test_setup(test_smtp_session, reset),
		cmocka_unit_test_setup(test_smtp_starttls, reset),
		cmocka_unit_test_setup(test_smtp_implicit_tls, reset),
		cmocka_unit_test_setup(test_smtp_detection, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
