// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the flow filter (controlplane/query/pr_flowwhere.c): the
 * parser (precedence, quoting, errors with their positions, the length,
 * node and nesting limits) and the evaluation against hand-written flow
 * objects shaped like flows --json (lists of DNS and HTTP transactions,
 * lists of values, numbers beyond 2^63, shortcuts, missing fields). Each
 * expression is checked by the exact set of flows it selects. Single
 * thread.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "pr_flowwhere.h"

enum { F_TLS, F_DNS, F_HTTP, F_GRE, F_QUIC, F_COUNT };
#define B(x) (1u << (x))
#define ALL (B(F_COUNT) - 1)

static const char *const flow_text[F_COUNT] = {
	[F_TLS] =
		"{\"flow_id\":1,\"src_ip\":\"10.1.2.3\",\"src_port\":40001,"
		"\"dst_ip\":\"192.0.2.10\",\"dst_port\":443,\"ip_proto\":6,\"bytes\":6526,"
		"\"tcp_state\":\"closed\",\"app\":\"tls\",\"tls\":{\"sni\":\"www.Example.com\","
		"\"ja3\":\"a0e9f5d64349fb13191bc781f81f42e1\",\"ja4\":\"t13d1516h2_8daaf6152771\","
		"\"alpn\":[\"h2\",\"http/1.1\"],\"cert_sans\":[\"a.example.org\",\"b.test\"],"
		"\"version\":\"TLSv1.2\"}}",
	[F_DNS] = "{\"flow_id\":2,\"src_ip\":\"10.1.0.5\",\"src_port\":53000,"
		  "\"dst_ip\":\"192.0.2.53\",\"dst_port\":53,\"ip_proto\":17,\"bytes\":168,"
		  "\"tcp_state\":\"none\",\"app\":\"dns\",\"dns\":["
		  "{\"id\":1,\"qname\":\"foo.example.com\",\"qtype\":1,\"response\":false},"
		  "{\"id\":1,\"qname\":\"foo.example.com\",\"qtype\":1,\"rcode\":0,\"answers\":"
		  "[{\"name\":\"foo.example.com\",\"type\":1,\"ttl\":300,\"data\":\"192.0.2.7\"}]},"
		  "{\"id\":2,\"qname\":\"bar.test.org\",\"qtype\":28}]}",
	[F_HTTP] = "{\"flow_id\":3,\"src_ip\":\"10.9.0.1\",\"src_port\":40003,"
		   "\"dst_ip\":\"192.0.2.80\",\"dst_port\":80,\"ip_proto\":6,\"bytes\":9000,"
		   "\"tcp_state\":\"fin_wait\",\"app\":\"http\",\"http\":["
		   "{\"method\":\"GET\",\"host\":\"a.example\",\"user_agent\":\"curl/8.0\","
		   "\"status\":200},{\"method\":\"POST\",\"host\":\"b.example\","
		   "\"user_agent\":\"Mozilla/5.0 (X11)\",\"status\":404}]}",
	[F_GRE] = "{\"flow_id\":4,\"src_ip\":\"2001:db8::1\",\"src_port\":0,"
		  "\"dst_ip\":\"2001:db8::2\",\"dst_port\":0,\"ip_proto\":47,\"bytes\":100,"
		  "\"tcp_state\":\"none\",\"app\":null,\"big\":18446744073709551615,"
		  "\"neg\":-10,\"ratio\":0.5,\"flag\":false,\"empty\":\"\",\"none\":[],"
		  "\"note\":\"say \\\"hi\\\" \\\\ ok\"}",
	[F_QUIC] = "{\"flow_id\":5,\"src_ip\":\"10.1.2.4\",\"src_port\":50000,"
		   "\"dst_ip\":\"192.0.2.11\",\"dst_port\":443,\"ip_proto\":17,\"bytes\":2600,"
		   "\"tcp_state\":\"none\",\"app\":\"quic\",\"quic\":{\"sni\":\"quic.example.net\","
		   "\"ja4\":\"q13d0310h3_55b375c5d22e\"}}",
};

static struct json_object *flows[F_COUNT];

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < F_COUNT; i++) {
		flows[i] = json_tokener_parse(flow_text[i]);
		if (!flows[i])
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < F_COUNT; i++)
		json_object_put(flows[i]);
	return 0;
}

/* The set of fixture flows expr selects; fails the test if it does not compile. */
static unsigned sel(const char *expr)
{
	struct pr_flowwhere *w;
	char err[256];
	unsigned set = 0;
	int ret = pr_flowwhere_compile(expr, &w, err, sizeof(err));

	if (ret)
		fail_msg("%s: %d %s", expr, ret, err);
	for (int i = 0; i < F_COUNT; i++)
		if (pr_flowwhere_match(w, flows[i]))
			set |= B(i);
	pr_flowwhere_destroy(w);
	return set;
}

#define assert_sel(expr, want)                                                                  \
	do {                                                                                    \
		unsigned got_ = sel(expr);                                                      \
		if (got_ != (unsigned)(want))                                                   \
			fail_msg("%s: selected 0x%x, want 0x%x", expr, got_, (unsigned)(want)); \
	} while (0)

/* expr must fail with -EINVAL and exactly the message want. */
static void assert_err(const char *expr, const char *want)
{
	struct pr_flowwhere *w = (void *)1;
	char err[256];
	int ret = pr_flowwhere_compile(expr, &w, err, sizeof(err));

	if (ret != -EINVAL || w)
		fail_msg("%s: compiled (%d), want the error %s", expr, ret, want);
	if (strcmp(err, want))
		fail_msg("%s: error \"%s\", want \"%s\"", expr, err, want);
}

static void test_precedence(void **state)
{
	(void)state;
	/* and before or */
	assert_sel("app == dns or app == tls and port == 80", B(F_DNS));
	assert_sel("app == tls and port == 80 or app == dns", B(F_DNS));
	assert_sel("(app == dns or app == tls) and port == 443", B(F_TLS));
	/* not before and, and it applies to the comparison */
	assert_sel("not app == dns and app", B(F_TLS) | B(F_HTTP) | B(F_QUIC));
	assert_sel("not (app == dns or app == http)", B(F_TLS) | B(F_GRE) | B(F_QUIC));
	assert_sel("not not app", ALL & ~B(F_GRE));
	assert_sel("not(app)", B(F_GRE));
	/* long chains and nesting */
	assert_sel("app == tls or app == dns or app == http or app == quic", ALL & ~B(F_GRE));
	assert_sel("app and port == 443 and ip_proto == 6 and bytes > 100", B(F_TLS));
	assert_sel("((((app == tls))))", B(F_TLS));
	assert_sel("(app == tls or (app == dns and (qname ~ org or port == 1)))",
		   B(F_TLS) | B(F_DNS));
	/* whitespace is optional around operators and parentheses */
	assert_sel("port==53", B(F_DNS));
	assert_sel("  (port>=443)and(app!=quic)  ", B(F_TLS) | B(F_DNS) | B(F_HTTP));
}

static void test_quotes(void **state)
{
	(void)state;
	assert_sel("http.user_agent == \"Mozilla/5.0 (X11)\"", B(F_HTTP));
	assert_sel("note == \"say \\\"hi\\\" \\\\ ok\"", B(F_GRE));
	/* Backslashes other than \" and \\ stay for the regular expression. */
	assert_sel("qname ~ \"\\.com$\"", B(F_DNS));
	assert_sel("qname ~ \\.org$", B(F_DNS));
	assert_sel("sni ~ \"\\.com$\"", B(F_TLS));
	assert_sel("sni ~ \"\\\\.com$\"", B(F_TLS)); /* \\. is the regex \. too */
	/* A quoted word is a value like a bare one, numbers included. */
	assert_sel("app == \"tls\"", B(F_TLS));
	assert_sel("port == \"53\"", B(F_DNS));
	assert_sel("app == \"\"", 0);
	assert_sel("empty == \"\"", B(F_GRE));
	/* Keywords as values. */
	assert_sel("app == and or app == not", 0);
}

static void test_errors(void **state)
{
	(void)state;
	assert_err("tls.sni ~ ", "at 11: expected a value after \"~\", got the end");
	assert_err("tls.sni ~ )", "at 11: expected a value after \"~\", got \")\"");
	assert_err("app == dns and", "at 15: expected a field name, got the end");
	assert_err("app == dns or or x", "at 15: expected a field name, got \"or\"");
	assert_err("(app == dns", "at 12: expected \")\" to close the \"(\" at 1, got the end");
	assert_err("app == (dns)", "at 8: expected a value after \"==\", got \"(\"");
	assert_err("app = dns", "at 5: unexpected \"=\" (compare with \"==\")");
	assert_err("! app", "at 1: unexpected \"!\" (negate with \"not\")");
	assert_err("app == \"dns", "at 8: unterminated string (no closing '\"')");
	assert_err("app == \"dns\\\"", "at 8: unterminated string (no closing '\"')");
	assert_err("port < abc", "at 8: expected a number after \"<\", got \"abc\"");
	assert_err("port >= 1e", "at 9: expected a number after \">=\", got \"1e\"");
	assert_err("port > 0x10", "at 8: expected a number after \">\", got \"0x10\"");
	assert_err("app dns", "at 5: expected \"and\", \"or\" or the end, got \"dns\"");
	assert_err("app == dns)", "at 11: expected \"and\", \"or\" or the end, got \")\"");
	assert_err("", "at 1: empty expression");
	assert_err("   ", "at 4: empty expression");
	assert_err(")", "at 1: expected a field name, got \")\"");
	assert_err("1abc == 2", "at 1: \"1abc\" is not a field name (names of letters, digits, "
				"'_' and '-', joined by '.')");
	assert_err("tls..sni", "at 1: \"tls..sni\" is not a field name (names of letters, "
			       "digits, '_' and '-', joined by '.')");
	assert_err("\"app\" == dns", "at 1: expected a field name, got \"\"app\"\"");
	assert_err("sni ~ \"(a)\\\\1\"",
		   "at 7: back-references (\\1 ... \\9) are not supported in \"\"(a)\\\\1\"\"");
	assert_err("ip in 10.0.0.0/33", "at 7: expected an address or network (10.0.0.0/8, "
					"2001:db8::/32) after \"in\", got \"10.0.0.0/33\"");
	assert_err("ip in example", "at 7: expected an address or network (10.0.0.0/8, "
				    "2001:db8::/32) after \"in\", got \"example\"");
	/* A control byte in the token is not echoed to the terminal. */
	assert_err("app\x1b[2J dns", "at 1: \"app?[2J\" is not a field name (names of letters, "
				     "digits, '_' and '-', joined by '.')");

	/* The regex library's message follows the position and the pattern. */
	struct pr_flowwhere *w = NULL;
	char err[256];

	assert_int_equal(pr_flowwhere_compile("sni ~ \"((\"", &w, err, sizeof(err)), -EINVAL);
	assert_null(w);
	assert_non_null(strstr(err, "at 7: bad regular expression \"\"((\"\": "));
	/* A short or absent error buffer is fine. */
	assert_int_equal(pr_flowwhere_compile("app ==", &w, err, 8), -EINVAL);
	assert_string_equal(err, "at 7: e");
	assert_int_equal(pr_flowwhere_compile("app ==", &w, NULL, 0), -EINVAL);
}

static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
	size_t len = strlen(head) + strlen(unit) * (size_t)n + strlen(tail) + 1;
	char *s = malloc(len), *p = s;

	assert_non_null(s);
	p += sprintf(p, "%s", head);
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s", unit);
	sprintf(p, "%s", tail);
	return s;
}

/* Every expression of list is refused, with a message that contains why. */
static void assert_all_refused(const char *const *list, size_t n, const char *why)
{
	struct pr_flowwhere *w;
	char err[256];

	for (size_t i = 0; i < n; i++) {
		w = NULL;
		assert_int_equal(pr_flowwhere_compile(list[i], &w, err, sizeof(err)), -EINVAL);
		assert_null(w);
		if (!strstr(err, why))
			fail_msg("%s: \"%s\", not \"%s\"", list[i], err, why);
	}
}

static void test_limits(void **state)
{
	struct pr_flowwhere *w = NULL;
	char err[256], *s, *t;

	(void)state;
	/* length: 4096 bytes compile, 4097 do not */
	s = repeat("app", " ", PR_FLOWWHERE_MAX_LEN - 3, "");
	assert_int_equal(pr_flowwhere_compile(s, &w, err, sizeof(err)), 0);
	pr_flowwhere_destroy(w);
	free(s);
	s = repeat("app", " ", PR_FLOWWHERE_MAX_LEN - 2, "");
	assert_err(s, "the expression is longer than 4096 bytes (the limit)");
	free(s);

	/* nodes: 255 terms + their or list are 256; one more term is too many */
	s = repeat("a", " or a", 254, "");
	assert_int_equal(pr_flowwhere_compile(s, &w, err, sizeof(err)), 0);
	pr_flowwhere_destroy(w);
	free(s);
	s = repeat("a", " or a", 255, "");
	assert_err(s, "at 1276: more than 256 comparisons and operators (the limit of an "
		      "expression)");
	free(s);

	/* nesting: 64 levels of parentheses or not, not 65 */
	s = repeat("", "(", 64, "app == tls");
	t = repeat(s, ")", 64, "");
	free(s);
	s = t;
	assert_int_equal(pr_flowwhere_compile(s, &w, err, sizeof(err)), 0);
	assert_true(pr_flowwhere_match(w, flows[F_TLS]));
	pr_flowwhere_destroy(w);
	free(s);
	s = repeat("", "(", 65, "app");
	assert_err(s, "at 65: nested deeper than 64 parentheses and \"not\" (the limit)");
	free(s);
	s = repeat("", "not ", 64, "app");
	assert_int_equal(pr_flowwhere_compile(s, &w, err, sizeof(err)), 0);
	assert_true(pr_flowwhere_match(w, flows[F_TLS])); /* an even number of nots */
	assert_false(pr_flowwhere_match(w, flows[F_GRE]));
	pr_flowwhere_destroy(w);
	free(s);
	s = repeat("", "not ", 65, "app");
	assert_err(s, "at 257: nested deeper than 64 parentheses and \"not\" (the limit)");
	free(s);
	/* The deepest input that fits the length limit fails cleanly, in bounded recursion. */
	s = repeat("", "(", PR_FLOWWHERE_MAX_LEN, "");
	assert_err(s, "at 65: nested deeper than 64 parentheses and \"not\" (the limit)");
	free(s);
	s = repeat("", "not(", PR_FLOWWHERE_MAX_LEN / 4, "");
	assert_err(s, "at 129: nested deeper than 64 parentheses and \"not\" (the limit)");
	free(s);

	/*
	 * Regular expressions: nested bounded repetitions multiply when the
	 * compiler expands them; 16.6 million atoms took glibc 37 s and 3.4 GB.
	 * 10,000 compile; the expression's total is bounded, not each one's.
	 */
	static const char *const too_big[] = {
		"sni ~ \"((a{255}){255}){255}\"",
		"sni ~ \"(a{200}){200}\"",
		"sni ~ \"a{30000}\"",
		"sni ~ \"([a-z]{50}[0-9]{50}){300}\"",
		"sni ~ \"((((a+)+)+)+){16}{16}{16}\"",
		"sni ~ \"(a{100}){100}\" or sni ~ \"(a{100}){100}\" or sni !~ \"(a{10}){10}\"",
	};
	assert_all_refused(too_big, sizeof(too_big) / sizeof(too_big[0]),
			   "is too large once its repetitions are expanded");
	/*
	 * Nodes that match the empty string cost the compiler the cube of
	 * their number: each of these took it seconds to minutes with few
	 * atoms (the first is what the fuzzer found: 20 minutes).
	 */
	static const char *const too_empty[] = {
		"sni ~ \"(a{100}||||||||||||||||||||||||||||||||||||||||||||||||||||||){100}\"",
		"sni ~ \"(()*){3000}\"",
		"sni ~ \"a{1,20000}\"",
		"sni ~ \"(a?){10000}\"",
		"sni ~ \"((a|)*){2000}\"",
		"sni ~ \"(a+){1000}\"",
		"sni ~ \"^a{0,600}$\" or sni ~ \"b{0,600}\"",
	};
	assert_all_refused(too_empty, sizeof(too_empty) / sizeof(too_empty[0]),
			   "optional parts, groups and alternatives");
	/*
	 * A loop whose body can match nothing makes glibc's closures recurse:
	 * the first ran for minutes inside both counts, the second (found by
	 * the fuzzer) 20 s. Refused, with what to do instead.
	 */
	static const char *const loops_empty[] = {
		"sni ~ \"(((e*|)*|)*|){80}\"",
		"sni ~ \"(e***||b***||c***){7}\"",
		"sni ~ \"a**\"",
		"sni ~ \"(a|)*\"",
		"sni ~ \"(a?){10}\"",
		"sni ~ \"(a|b?)+\"",
		"sni ~ \"x(a{0,3}){5}\"",
		"sni ~ \"((a)|(b?))*\"",
		"sni ~ \"^*\"",
	};
	assert_all_refused(loops_empty, sizeof(loops_empty) / sizeof(loops_empty[0]),
			   "repeats ('*', '+', {m,n}) a part that can match nothing");
	/* Repeating what must match something, or making an optional part optional, is fine. */
	static const char *const loops_ok[] = {
		"sni ~ \"(a?)?\"",  "sni ~ \"(a+)*\"",	    "sni ~ \"(ab*)*\"",
		"sni ~ \"(^a)*\"",  "sni ~ \"((a)(b?))*\"", "sni ~ \"x(a{1,3}){5}\"",
		"sni ~ \"(.*a)+\"", "sni ~ \"[*]*\"",	    "sni ~ \"\\**\"",
	};
	for (size_t i = 0; i < sizeof(loops_ok) / sizeof(loops_ok[0]); i++) {
		assert_int_equal(pr_flowwhere_compile(loops_ok[i], &w, err, sizeof(err)), 0);
		pr_flowwhere_destroy(w);
	}
	/* What a name or an address needs stays well inside. */
	assert_int_equal(
		pr_flowwhere_compile("sni ~ \"^(www\\.)?([a-z0-9-]{1,63}\\.){1,4}[a-z]{2,63}$\" or "
				     "dst_ip ~ \"^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25"
				     "[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$\"",
				     &w, err, sizeof(err)),
		0);
	assert_true(pr_flowwhere_match(w, flows[F_TLS]));
	pr_flowwhere_destroy(w);
	assert_int_equal(pr_flowwhere_compile("sni ~ \"(a{100}){100}\" or sni ~ \"(b{100}){100}\"",
					      &w, err, sizeof(err)),
			 0);
	assert_false(pr_flowwhere_match(w, flows[F_TLS]));
	pr_flowwhere_destroy(w);
	/* Braces that are no repetition are left to the compiler, which refuses them. */
	assert_int_equal(pr_flowwhere_compile("sni ~ \"[{]{3}\"", &w, err, sizeof(err)), 0);
	pr_flowwhere_destroy(w);
	assert_int_equal(pr_flowwhere_compile("sni ~ \"a{\"", &w, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad regular expression"));
	assert_int_equal(pr_flowwhere_compile("sni ~ \"a{99999999999}\"", &w, err, sizeof(err)),
			 -EINVAL);
	assert_null(w);
}

static void test_lists(void **state)
{
	(void)state;
	/* Any element of a list of transactions. */
	assert_sel("dns.qname == bar.test.org", B(F_DNS));
	assert_sel("dns.qname == foo.example.com", B(F_DNS));
	assert_sel("dns.qtype == 28", B(F_DNS));
	assert_sel("dns.answers.data == 192.0.2.7", B(F_DNS));
	assert_sel("dns.answers.ttl >= 300", B(F_DNS));
	assert_sel("http.status >= 400", B(F_HTTP));
	assert_sel("http.status == 200 and http.method == POST", B(F_HTTP));
	/* Lists of values. */
	assert_sel("tls.alpn == h2", B(F_TLS));
	assert_sel("tls.alpn == h3", 0);
	assert_sel("tls.cert_sans ~ \"\\.test$\"", B(F_TLS));
	/* != and !~: no element matches, so a missing field is "not equal". */
	assert_sel("dns.qname != foo.example.com", ALL & ~B(F_DNS));
	assert_sel("dns.qname != nothing.example", ALL);
	assert_sel("http.host !~ example", ALL & ~B(F_HTTP));
	assert_sel("tls.alpn != h2", ALL & ~B(F_TLS));
	assert_sel("not tls.alpn == h2", ALL & ~B(F_TLS));
	/* A bare field: exists and is not empty. */
	assert_sel("http", B(F_HTTP));
	assert_sel("tls", B(F_TLS));
	assert_sel("dns.answers", B(F_DNS));
	assert_sel("dns.rcode", B(F_DNS)); /* 0 is a value */
	assert_sel("none", 0); /* [] */
	assert_sel("empty", 0); /* "" */
	assert_sel("flag", 0); /* false */
	assert_sel("dns.response", 0);
	assert_sel("dns.response == false", B(F_DNS));
	assert_sel("flag == false", B(F_GRE));
}

static void test_numbers(void **state)
{
	(void)state;
	assert_sel("src_port > 40000", B(F_TLS) | B(F_DNS) | B(F_HTTP) | B(F_QUIC));
	assert_sel("src_port > 40001", B(F_DNS) | B(F_HTTP) | B(F_QUIC));
	assert_sel("src_port >= 40001 and src_port <= 40003", B(F_TLS) | B(F_HTTP));
	assert_sel("bytes < 168", B(F_GRE));
	assert_sel("bytes <= 168", B(F_GRE) | B(F_DNS));
	assert_sel("bytes == 6526.0", B(F_TLS));
	assert_sel("bytes > 6.5e3", B(F_TLS) | B(F_HTTP));
	assert_sel("ratio == 0.5 and ratio < 1 and ratio > 0.4 and ratio >= 5e-1", B(F_GRE));
	assert_sel("neg < -5 and neg > -11 and neg == -10", B(F_GRE));
	assert_sel("neg >= 0", 0);
	/* 2^64-1: exact, not rounded through a double */
	assert_sel("big == 18446744073709551615", B(F_GRE));
	assert_sel("big > 18446744073709551614", B(F_GRE));
	assert_sel("big < 18446744073709551615", 0);
	assert_sel("big > 99999999999999999999", 0); /* beyond 64 bits: compared as doubles */
	/* A value that is not a number never orders. */
	assert_sel("app < 5 or tls.version > 1", 0);
	assert_sel("src_port == abc", 0);
	assert_sel("src_port != abc", ALL);
	/* A number as text for ~ */
	assert_sel("dst_port ~ ^44", B(F_TLS) | B(F_QUIC));
	assert_sel("dst_port !~ ^44", B(F_DNS) | B(F_HTTP) | B(F_GRE));
	assert_sel("flow_id == 1", B(F_TLS));
}

static void test_shortcuts(void **state)
{
	(void)state;
	assert_sel("sni ~ example", B(F_TLS) | B(F_QUIC));
	assert_sel("sni ~ EXAMPLE\\.COM", B(F_TLS)); /* ~ ignores case */
	assert_sel("sni == www.example.com", 0); /* == does not */
	assert_sel("sni == www.Example.com", B(F_TLS));
	assert_sel("ja4 ~ ^q13", B(F_QUIC));
	assert_sel("ja4", B(F_TLS) | B(F_QUIC));
	assert_sel("ja3 == a0e9f5d64349fb13191bc781f81f42e1", B(F_TLS));
	assert_sel("qname ~ example", B(F_DNS));
	assert_sel("host == b.example", B(F_HTTP));
	assert_sel("user_agent ~ ^curl/", B(F_HTTP));
	assert_sel("ua ~ mozilla", B(F_HTTP));
	assert_sel("port == 53 or port == 443", B(F_DNS) | B(F_TLS) | B(F_QUIC));
	assert_sel("port == 40003", B(F_HTTP));
	assert_sel("port != 443", B(F_DNS) | B(F_HTTP) | B(F_GRE));
	assert_sel("ip == 2001:db8::2", B(F_GRE));
	assert_sel("addr == 10.1.2.3", B(F_TLS));
	assert_sel("ip ~ ^192\\.0\\.2\\.1", B(F_TLS) | B(F_QUIC));
	/* A typo is a path like any other: no error, no match. */
	assert_sel("snii ~ example", 0);
	assert_sel("tls.sni.deeper == x", 0);
	assert_sel("nosuch != x", ALL);
	/* Networks */
	assert_sel("ip in 10.0.0.0/8", ALL & ~B(F_GRE));
	assert_sel("ip in 10.1.0.0/16", B(F_TLS) | B(F_DNS) | B(F_QUIC));
	assert_sel("src_ip in 10.1.2.2/31", B(F_TLS));
	assert_sel("src_ip in 10.1.2.4", B(F_QUIC));
	assert_sel("ip in 192.0.2.0/29", 0);
	assert_sel("ip in 192.0.2.8/29", B(F_TLS) | B(F_QUIC));
	assert_sel("ip in 2001:db8::/32", B(F_GRE));
	assert_sel("dst_ip in 2001:db8::2/128", B(F_GRE));
	assert_sel("ip in 0.0.0.0/0", ALL & ~B(F_GRE));
	assert_sel("ip in ::/0", B(F_GRE));
	assert_sel("app in 10.0.0.0/8", 0);
}

static void test_missing(void **state)
{
	(void)state;
	assert_sel("not app", B(F_GRE)); /* "app": null */
	assert_sel("app", ALL & ~B(F_GRE));
	assert_sel("app == null", 0);
	assert_sel("nosuch.field == x", 0);
	assert_sel("nosuch", 0);
	assert_sel("not nosuch", ALL);
	assert_sel("tcp_state == none", B(F_DNS) | B(F_GRE) | B(F_QUIC));
	/* A field that is an object or a list is not compared with a value. */
	assert_sel("tls == x or http ~ .", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence), cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_errors),	   cmocka_unit_test(test_limits),
		cmocka_unit_test(test_lists),	   cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_shortcuts),  cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
