// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the HTTP/1.x parser (dataplane/l7/pr_l7_http.c): request
 * and response fields, pipelined requests, bodies skipped by
 * Content-Length and chunk by chunk, responses without a body (HEAD, 204,
 * 304, 1xx), the end of HTTP on a flow (CONNECT, 101, a body to the close),
 * header blocks split down to one byte per segment, SSDP over UDP, the
 * window, and what is not HTTP. The group setup creates one context; each
 * test starts fresh flow states. Single-threaded.
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

#define MAX_TXN 16

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

static void cap_emit(void *arg, const struct pr_l7_txn *t)
{
	struct capture *c = arg;

	assert_true(c->n < MAX_TXN);
	c->t[c->n++] = *t;
}

static void conn_init(struct conn *c, uint8_t proto, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	pr_l7_flow_init(&c->st, proto, 50123, sport);
	c->seq[0] = 1;
	c->seq[1] = 1;
}

static void send_ctx(struct pr_l7_ctx *ctx, struct conn *c, uint8_t dir, const char *s, size_t seg)
{
	size_t len = strlen(s);

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
		memcpy(copy, s, n);
		pr_l7_process(ctx, &c->st, &pkt, cap_emit, &g_cap);
		free(copy);
		c->seq[dir] += (uint32_t)n;
		s += n;
		len -= n;
	}
}

static void send(struct conn *c, uint8_t dir, const char *s, size_t seg)
{
	send_ctx(g_ctx, c, dir, s, seg);
}

static void seed(const char *name, uint8_t cfg, const char *c2s, const char *s2c)
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
	for (int d = 0; d < 2; d++) {
		const char *s = d ? s2c : c2s;
		size_t n = s ? strlen(s) : 0;

		if (!s)
			continue;
		fputc(d, f);
		fputc((int)(n & 0xff), f);
		fputc((int)(n >> 8), f);
		fwrite(s, 1, n, f);
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

static const char req1[] = "GET /index.html?q=1 HTTP/1.1\r\n"
			   "Host: www.example.com\r\n"
			   "User-Agent: curl/8.5.0\r\n"
			   "Referer:  http://example.org/   \r\n"
			   "Accept: */*\r\n"
			   "\r\n";

static void test_request_fields(void **state)
{
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	send(&c, PR_L7_DIR_C2S, req1, 1500);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_HTTP);
	t = nth(PR_L7_TXN_HTTP_REQUEST, 0);
	assert_non_null(t);
	assert_string_equal(t->u.http.method, "GET");
	assert_string_equal(t->u.http.uri, "/index.html?q=1");
	assert_string_equal(t->u.http.host, "www.example.com");
	assert_string_equal(t->u.http.user_agent, "curl/8.5.0");
	assert_string_equal(t->u.http.referer, "http://example.org/");
	assert_int_equal(t->u.http.version_major, 1);
	assert_int_equal(t->u.http.version_minor, 1);
	assert_int_equal(t->u.http.index, 1);
	assert_int_equal(t->u.http.content_length, -1);
	assert_int_equal(t->u.http.present,
			 PR_L7_HTTP_HOST | PR_L7_HTTP_USER_AGENT | PR_L7_HTTP_REFERER);
}

/* Three pipelined requests and their responses, bodies skipped in every framing. */
static void test_pipelined_exchange(void **state)
{
	static const char c2s[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
				  "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
				  "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n"
				  "Content-Type: text/plain\r\n\r\nhello=world"
				  "GET /d HTTP/1.1\r\nhost: h2\r\nuser-agent: x\r\n\r\n";
	static const char s2c[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 20\r\n"
				  "Content-Type: text/html\r\n\r\nHTTP/1.1 999 inside!"
				  "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
				  "HTTP/1.1 100 Continue\r\n\r\n"
				  "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "5;ext=1\r\nHTTP/\r\n1a\r\nHTTP/1.1 999 not a status!\r\n0\r\n"
				  "Trailer: x\r\n\r\n"
				  "HTTP/1.0 304 Not Modified\r\nContent-Length: 77\r\n\r\n";
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	seed("pipelined", 0, c2s, s2c);
	conn_init(&c, PR_L7_PROTO_TCP, 8080);
	send(&c, PR_L7_DIR_C2S, c2s, 1500);
	send(&c, PR_L7_DIR_S2C, s2c, 37);
	assert_non_null(nth(PR_L7_TXN_HTTP_REQUEST, 3));
	assert_null(nth(PR_L7_TXN_HTTP_REQUEST, 4));
	assert_string_equal(nth(PR_L7_TXN_HTTP_REQUEST, 1)->u.http.method, "HEAD");
	t = nth(PR_L7_TXN_HTTP_REQUEST, 2);
	assert_string_equal(t->u.http.method, "POST");
	assert_int_equal(t->u.http.content_length, 11);
	assert_string_equal(t->u.http.content_type, "text/plain");
	t = nth(PR_L7_TXN_HTTP_REQUEST, 3);
	assert_string_equal(t->u.http.host, "h2");
	assert_string_equal(t->u.http.user_agent, "x");
	assert_int_equal(t->u.http.index, 4);

	t = nth(PR_L7_TXN_HTTP_RESPONSE, 0);
	assert_int_equal(t->u.http.status, 200);
	assert_string_equal(t->u.http.server, "nginx");
	assert_string_equal(t->u.http.content_type, "text/html");
	assert_int_equal(t->u.http.content_length, 20);
	/* The HEAD response announces 5000 bytes but has no body. */
	assert_int_equal(nth(PR_L7_TXN_HTTP_RESPONSE, 1)->u.http.content_length, 5000);
	assert_int_equal(nth(PR_L7_TXN_HTTP_RESPONSE, 2)->u.http.status, 100);
	t = nth(PR_L7_TXN_HTTP_RESPONSE, 3);
	assert_int_equal(t->u.http.status, 201);
	assert_true(t->u.http.present & PR_L7_HTTP_CHUNKED);
	t = nth(PR_L7_TXN_HTTP_RESPONSE, 4);
	assert_int_equal(t->u.http.status, 304);
	assert_int_equal(t->u.http.version_minor, 0);
	assert_null(nth(PR_L7_TXN_HTTP_RESPONSE, 5));
	assert_false(pr_l7_flow_done(&c.st));
}

static void test_split_one_byte(void **state)
{
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	send(&c, PR_L7_DIR_C2S, req1, 1);
	send(&c, PR_L7_DIR_C2S, req1, 2);
	assert_int_equal(g_cap.n, 2);
	t = nth(PR_L7_TXN_HTTP_REQUEST, 1);
	assert_string_equal(t->u.http.user_agent, "curl/8.5.0");
	assert_int_equal(t->u.http.index, 2);
	pr_l7_flow_end(g_ctx, &c.st);
}

/* Malformed request lines are split as Wireshark splits them: the URI ends at a space. */
static void test_odd_request_lines(void **state)
{
	struct conn c;

	(void)state;
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	send(&c, PR_L7_DIR_C2S, "OPTIONS HTTP/1.1\nHost: x\n\nGET /HTTP/1.1\n\n", 1500);
	send(&c, PR_L7_DIR_C2S, "POST / HTTP/1.\r\n\r\nM-SEARCH * HTTP/1.1\r\n\r\n", 1500);
	assert_int_equal(g_cap.n, 4);
	assert_string_equal(g_cap.t[0].u.http.uri, "HTTP/1.1");
	assert_string_equal(g_cap.t[0].u.http.host, "x");
	assert_string_equal(g_cap.t[1].u.http.uri, "/HTTP/1.1");
	assert_string_equal(g_cap.t[2].u.http.uri, "/");
	assert_string_equal(g_cap.t[3].u.http.method, "M-SEARCH");
	assert_string_equal(g_cap.t[3].u.http.uri, "*");
}

static void test_end_of_http(void **state)
{
	struct conn c;

	(void)state;
	/* CONNECT + 200: a tunnel follows. */
	conn_init(&c, PR_L7_PROTO_TCP, 3128);
	send(&c, PR_L7_DIR_C2S, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	     1500);
	send(&c, PR_L7_DIR_S2C, "HTTP/1.1 200 Connection established\r\n\r\n", 1500);
	assert_true(pr_l7_flow_done(&c.st));
	/* 101: another protocol follows. */
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	send(&c, PR_L7_DIR_C2S, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 1500);
	send(&c, PR_L7_DIR_S2C, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 1500);
	assert_true(pr_l7_flow_done(&c.st));
	/* No length: the body runs to the close, the server's side is done. */
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	send(&c, PR_L7_DIR_C2S, "GET / HTTP/1.0\r\n\r\n", 1500);
	send(&c, PR_L7_DIR_S2C, "HTTP/1.0 200 OK\r\n\r\nGET /not-a-request HTTP/1.1\r\n\r\n", 1500);
	assert_false(pr_l7_flow_done(&c.st));
	assert_int_equal(g_cap.n, 6);
}

static void test_not_http(void **state)
{
	struct conn c;

	(void)state;
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	for (int i = 0; i < 8; i++)
		send(&c, (uint8_t)(i & 1), "hello there, this is not http\r\n", 1500);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_UNKNOWN);
	/* Detected, then garbage where the next request should be: the direction stops. */
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	send(&c, PR_L7_DIR_C2S, req1, 1500);
	send(&c, PR_L7_DIR_C2S, "\x01\x02garbage line\r\n\r\n", 1500);
	send(&c, PR_L7_DIR_C2S, req1, 1500);
	assert_int_equal(g_cap.n, 1);
}

static void test_udp_ssdp(void **state)
{
	static const char msearch[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
				      "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
	struct conn c;
	uint8_t buf[sizeof(msearch)];
	struct pr_l7_pkt pkt = { .data = buf, .len = sizeof(msearch) - 1, .dir = 0 };

	(void)state;
	seed("ssdp", 3, msearch, NULL);
	conn_init(&c, PR_L7_PROTO_UDP, 1900);
	memcpy(buf, msearch, sizeof(msearch));
	pr_l7_process(g_ctx, &c.st, &pkt, cap_emit, &g_cap);
	pr_l7_process(g_ctx, &c.st, &pkt, cap_emit, &g_cap);
	assert_int_equal(g_cap.n, 2);
	assert_string_equal(g_cap.t[1].u.http.host, "239.255.255.250:1900");
	assert_int_equal(g_cap.t[1].u.http.index, 2);
}

static void test_window(void **state)
{
	struct pr_l7_cfg cfg = { .depth_bytes = { [PR_L7_APP_HTTP] = 300 } };
	struct pr_l7_ctx *ctx;
	struct pr_l7_stats st;
	struct conn c;

	(void)state;
	assert_int_equal(pr_l7_ctx_create(&cfg, -1, &ctx), 0);
	conn_init(&c, PR_L7_PROTO_TCP, 80);
	for (int i = 0; i < 5; i++)
		send_ctx(ctx, &c, PR_L7_DIR_C2S, req1, 1500);
	pr_l7_ctx_stats(ctx, &st);
	/* 300 bytes hold two requests of 126; the third is cut by the window. */
	assert_int_equal(g_cap.n, 2);
	assert_int_equal(st.depth_reached, 1);
	pr_l7_flow_end(ctx, &c.st);
	pr_l7_ctx_destroy(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_request_fields, reset),
		cmocka_unit_test_setup(test_pipelined_exchange, reset),
		cmocka_unit_test_setup(test_split_one_byte, reset),
		cmocka_unit_test_setup(test_odd_request_lines, reset),
		cmocka_unit_test_setup(test_end_of_http, reset),
		cmocka_unit_test_setup(test_not_http, reset),
		cmocka_unit_test_setup(test_udp_ssdp, reset),
		cmocka_unit_test_setup(test_window, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
