// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the streaming JSON writer (controlplane/json/pr_json.c). Each
 * test writes into an open_memstream() buffer and compares the exact
 * bytes; a property test runs random byte strings through the string
 * escaper, checks that the output is strict UTF-8 and decodes back to the
 * input; when python3 is installed, representative documents are also
 * handed to its json module as a second opinion. Single thread.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "pr_json.h"

struct out {
	char *buf;
	size_t len;
	FILE *f;
	struct pr_json j;
};

static void out_open(struct out *o, bool pretty)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
	pr_json_init(&o->j, o->f);
	o->j.pretty_arrays = pretty;
}

/* The bytes written so far; valid until out_close(). */
static const char *out_str(struct out *o)
{
	assert_int_equal(fflush(o->f), 0);
	return o->buf;
}

static void out_close(struct out *o)
{
	fclose(o->f);
	free(o->buf);
	o->buf = NULL;
}

/* Write the bytes s[0..n) as one JSON string and compare with want. */
static void expect_strn(const char *s, size_t n, const char *want)
{
	struct out o;

	out_open(&o, false);
	pr_json_strn(&o.j, s, n);
	assert_string_equal(out_str(&o), want);
	out_close(&o);
}

static void expect_str(const char *s, const char *want)
{
	expect_strn(s, strlen(s), want);
}

/*
 * Ask python3 whether doc is valid JSON, decoding the bytes as strict
 * UTF-8 first. 1 yes, 0 no, -1 python3 is not available.
 */
static int python_accepts(const char *doc, size_t len)
{
	FILE *p = popen("python3 -c 'import json,sys; "
			"json.loads(sys.stdin.buffer.read().decode(\"utf-8\"))' 2>/dev/null",
			"w");
	int st;

	if (!p)
		return -1;
	fwrite(doc, 1, len, p);
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127)
		return -1;
	return WEXITSTATUS(st) == 0;
}

/* ---------------------------------------------------------- structure */

static void test_scalars(void **state)
{
	struct out o;

	(void)state;
	out_open(&o, false);
	pr_json_arr_begin(&o.j);
	pr_json_bool(&o.j, true);
	pr_json_bool(&o.j, false);
	pr_json_null(&o.j);
	pr_json_str(&o.j, NULL);
	pr_json_str(&o.j, "");
	pr_json_u64(&o.j, 0);
	pr_json_u64(&o.j, UINT64_MAX);
	pr_json_i64(&o.j, -1);
	pr_json_i64(&o.j, INT64_MIN);
	pr_json_i64(&o.j, INT64_MAX);
	pr_json_arr_end(&o.j);
	assert_string_equal(out_str(&o), "[true,false,null,null,\"\",0,18446744073709551615,-1,"
					 "-9223372036854775808,9223372036854775807]");
	pr_json_end(&o.j);
	assert_string_equal(out_str(&o) + o.len - 2, "]\n");
	out_close(&o);
}

static void test_doubles(void **state)
{
	struct out o;

	(void)state;
	out_open(&o, false);
	pr_json_arr_begin(&o.j);
	pr_json_double(&o.j, 0.0);
	pr_json_double(&o.j, 0.5);
	pr_json_double(&o.j, -2.25);
	pr_json_double(&o.j, 3.0);
	pr_json_double(&o.j, 0.001234);
	pr_json_double(&o.j, 1e-7);
	pr_json_double(&o.j, 1234567.0);
	pr_json_double(&o.j, NAN);
	pr_json_double(&o.j, INFINITY);
	pr_json_double(&o.j, -INFINITY);
	pr_json_arr_end(&o.j);
	assert_string_equal(out_str(&o),
			    "[0,0.5,-2.25,3,0.001234,1e-07,1.23457e+06,null,null,null]");
	out_close(&o);

	out_open(&o, false);
	pr_json_obj_begin(&o.j);
	pr_json_kv_double(&o.j, "nan", NAN);
	pr_json_kv_double(&o.j, "s", 0.01);
	pr_json_obj_end(&o.j);
	assert_string_equal(out_str(&o), "{\"nan\":null,\"s\":0.01}");
	out_close(&o);
}

static void test_hex(void **state)
{
	static const uint8_t b[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff, 0x10 };
	struct out o;

	(void)state;
	out_open(&o, false);
	pr_json_arr_begin(&o.j);
	pr_json_hex(&o.j, b, sizeof(b));
	pr_json_hex(&o.j, b, 0);
	pr_json_hex(&o.j, b + 4, 1);
	pr_json_arr_end(&o.j);
	assert_string_equal(out_str(&o), "[\"00017f80abcdefff10\",\"\",\"ab\"]");
	out_close(&o);
}

static void test_nested(void **state)
{
	struct out o;

	(void)state;
	out_open(&o, false);
	pr_json_obj_begin(&o.j);
	pr_json_kv_u64(&o.j, "a", 1);
	pr_json_key(&o.j, "b");
	pr_json_arr_begin(&o.j);
	pr_json_u64(&o.j, 1);
	pr_json_arr_begin(&o.j);
	pr_json_arr_end(&o.j);
	pr_json_obj_begin(&o.j);
	pr_json_obj_end(&o.j);
	pr_json_obj_begin(&o.j);
	pr_json_kv_str(&o.j, "c", "d");
	pr_json_key(&o.j, "e");
	pr_json_null(&o.j);
	pr_json_obj_end(&o.j);
	pr_json_arr_begin(&o.j);
	pr_json_i64(&o.j, -5);
	pr_json_arr_begin(&o.j);
	pr_json_u64(&o.j, 6);
	pr_json_arr_end(&o.j);
	pr_json_arr_end(&o.j);
	pr_json_u64(&o.j, 7);
	pr_json_arr_end(&o.j);
	pr_json_key(&o.j, "f");
	pr_json_obj_begin(&o.j);
	pr_json_kv_bool(&o.j, "g", false);
	pr_json_kv_i64(&o.j, "h", -9);
	pr_json_obj_end(&o.j);
	pr_json_kv_str(&o.j, "i", NULL);
	pr_json_obj_end(&o.j);
	assert_string_equal(out_str(&o),
			    "{\"a\":1,\"b\":[1,[],{},{\"c\":\"d\",\"e\":null},[-5,[6]],7],"
			    "\"f\":{\"g\":false,\"h\":-9},\"i\":null}");
	out_close(&o);
}

/* Two documents in a row through one writer, as a listing and a summary would be. */
static void test_sequential_documents(void **state)
{
	struct out o;

	(void)state;
	out_open(&o, false);
	pr_json_obj_begin(&o.j);
	pr_json_kv_u64(&o.j, "n", 1);
	pr_json_obj_end(&o.j);
	pr_json_end(&o.j);
	pr_json_init(&o.j, o.f);
	o.j.pretty_arrays = false;
	pr_json_arr_begin(&o.j);
	pr_json_u64(&o.j, 2);
	pr_json_arr_end(&o.j);
	pr_json_end(&o.j);
	assert_string_equal(out_str(&o), "{\"n\":1}\n[2]\n");
	out_close(&o);
}

/* The default: a top-level array puts one element per line, nested ones stay inline. */
static void test_pretty_arrays(void **state)
{
	struct out o;

	(void)state;
	out_open(&o, true);
	assert_true(o.j.pretty_arrays);
	pr_json_arr_begin(&o.j);
	pr_json_obj_begin(&o.j);
	pr_json_kv_u64(&o.j, "a", 1);
	pr_json_key(&o.j, "l");
	pr_json_arr_begin(&o.j);
	pr_json_u64(&o.j, 1);
	pr_json_u64(&o.j, 2);
	pr_json_arr_end(&o.j);
	pr_json_obj_end(&o.j);
	pr_json_obj_begin(&o.j);
	pr_json_kv_u64(&o.j, "a", 2);
	pr_json_obj_end(&o.j);
	pr_json_arr_end(&o.j);
	pr_json_end(&o.j);
	assert_string_equal(out_str(&o), "[\n{\"a\":1,\"l\":[1,2]},\n{\"a\":2}\n]\n");
	out_close(&o);

	out_open(&o, true);
	pr_json_arr_begin(&o.j);
	pr_json_arr_end(&o.j);
	pr_json_end(&o.j);
	assert_string_equal(out_str(&o), "[]\n");
	out_close(&o);
}

/*
 * Deeper than PR_JSON_MAX_DEPTH: the writer must stay inside its state
 * array (UBSan's bounds check catches an index past it) and still put
 * every comma in the right place.
 */
static void test_deep_nesting(void **state)
{
	enum { DEPTH = PR_JSON_MAX_DEPTH + 8 };
	char want[16 * DEPTH + 64], *w = want;
	struct out o;
	int d;

	(void)state;
	out_open(&o, false);
	for (d = 0; d < DEPTH; d++) {
		pr_json_arr_begin(&o.j);
		pr_json_u64(&o.j, (uint64_t)d);
		w += sprintf(w, "[%d,", d);
	}
	pr_json_arr_begin(&o.j);
	pr_json_arr_end(&o.j);
	pr_json_obj_begin(&o.j);
	pr_json_kv_u64(&o.j, "k", 1);
	pr_json_kv_u64(&o.j, "l", 2);
	pr_json_obj_end(&o.j);
	w += sprintf(w, "[],{\"k\":1,\"l\":2}");
	for (d = DEPTH - 1; d >= 0; d--) {
		pr_json_u64(&o.j, (uint64_t)d);
		pr_json_arr_end(&o.j);
		w += sprintf(w, ",%d]", d);
	}
	assert_string_equal(out_str(&o), want);
	assert_int_equal(o.j.depth, 0);
	out_close(&o);
}

/* ------------------------------------------------------------- escaping */

static void test_escape_ascii(void **state)
{
	(void)state;
	expect_str("plain text 123 ~!@$%^&*()/", "\"plain text 123 ~!@$%^&*()/\"");
	expect_str("say \"hi\"", "\"say \\\"hi\\\"\"");
	expect_str("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	expect_str("\\\"", "\"\\\\\\\"\"");
	expect_str("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
	expect_str("\b\f\v", "\"\\u0008\\u000c\\u000b\"");
	expect_str("\x01\x1f\x20", "\"\\u0001\\u001f \"");
	expect_str("del\x7f", "\"del\\u007f\"");
	expect_strn("a\0b", 3, "\"a\\u0000b\"");
	expect_strn("xyz", 0, "\"\"");
	/* strn stops at n, even inside a longer string. */
	expect_strn("abcdef", 3, "\"abc\"");
}

static void test_escape_keys(void **state)
{
	struct out o;

	(void)state;
	out_open(&o, false);
	pr_json_obj_begin(&o.j);
	pr_json_kv_str(&o.j, "q\"k", "v\\");
	pr_json_kv_u64(&o.j, "nl\n", 1);
	pr_json_obj_end(&o.j);
	assert_string_equal(out_str(&o), "{\"q\\\"k\":\"v\\\\\",\"nl\\n\":1}");
	out_close(&o);
}

static void test_utf8_valid(void **state)
{
	(void)state;
	/* U+00E9, U+20AC, U+1F600, and the edges of each length. */
	expect_str("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	expect_str("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	expect_str("\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\"");
	expect_str("\xc2\x80", "\"\xc2\x80\""); /* U+0080 */
	expect_str("\xdf\xbf", "\"\xdf\xbf\""); /* U+07FF */
	expect_str("\xe0\xa0\x80", "\"\xe0\xa0\x80\""); /* U+0800 */
	expect_str("\xed\x9f\xbf", "\"\xed\x9f\xbf\""); /* U+D7FF */
	expect_str("\xee\x80\x80", "\"\xee\x80\x80\""); /* U+E000 */
	expect_str("\xef\xbf\xbf", "\"\xef\xbf\xbf\""); /* U+FFFF */
	expect_str("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\""); /* U+10000 */
	expect_str("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
}

static void test_utf8_invalid(void **state)
{
	(void)state;
	/* Stray continuation bytes and bytes that never start a sequence. */
	expect_str("\x80", "\"\\u0080\"");
	expect_str("a\xbfZ", "\"a\\u00bfZ\"");
	expect_str("\xc0\x80", "\"\\u00c0\\u0080\""); /* overlong NUL */
	expect_str("\xc1\xbf", "\"\\u00c1\\u00bf\"");
	expect_str("\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\"");
	expect_str("\xfe\xff", "\"\\u00fe\\u00ff\"");
	/* Truncated sequences, at the end and before an ASCII byte. */
	expect_str("\xc3", "\"\\u00c3\"");
	expect_str("\xe2\x82", "\"\\u00e2\\u0082\"");
	expect_str("\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\"");
	expect_str("\xe2(\xa1", "\"\\u00e2(\\u00a1\"");
	expect_strn("\xc3\xa9", 1, "\"\\u00c3\"");
	/* A valid sequence right after a broken one is still passed through. */
	expect_str("\xe2\xc3\xa9", "\"\\u00e2\xc3\xa9\"");
	/* Overlong 3- and 4-byte forms. */
	expect_str("\xe0\x80\x80", "\"\\u00e0\\u0080\\u0080\"");
	expect_str("\xe0\x9f\xbf", "\"\\u00e0\\u009f\\u00bf\"");
	expect_str("\xf0\x80\x80\x80", "\"\\u00f0\\u0080\\u0080\\u0080\"");
	expect_str("\xf0\x8f\xbf\xbf", "\"\\u00f0\\u008f\\u00bf\\u00bf\"");
	/* UTF-16 surrogates are not characters. */
	expect_str("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	expect_str("\xed\xbf\xbf", "\"\\u00ed\\u00bf\\u00bf\"");
	/* Above U+10FFFF. */
	expect_str("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"");
}

/* ------------------------------------------------------ property checks */

/* Length of the strict UTF-8 sequence at p (RFC 3629), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	return len;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Check that s[0..n) is one JSON string of strict UTF-8 with no raw
 * control characters, and decode it the way the writer means it: \u00XX
 * stands for the byte XX. Returns the decoded length, or -1.
 */
static long decode_json_string(const char *s, size_t n, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 1, o = 0;

	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return -1;
	while (i < n - 1) {
		size_t k;

		if (p[i] == '"' || p[i] < 0x20)
			return -1;
		if (p[i] != '\\') {
			k = utf8_seq(p + i, n - 1 - i);
			if (!k)
				return -1;
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
			continue;
		}
		if (i + 1 >= n - 1)
			return -1;
		switch (p[i + 1]) {
		case '"':
		case '\\':
			out[o++] = p[i + 1];
			i += 2;
			break;
		case 'n':
			out[o++] = '\n';
			i += 2;
			break;
		case 'r':
			out[o++] = '\r';
			i += 2;
			break;
		case 't':
			out[o++] = '\t';
			i += 2;
			break;
		case 'u':
			if (i + 6 > n - 1 || p[i + 2] != '0' || p[i + 3] != '0' ||
			    hexval(p[i + 4]) < 0 || hexval(p[i + 5]) < 0)
				return -1;
			out[o++] = (unsigned char)(hexval(p[i + 4]) << 4 | hexval(p[i + 5]));
			i += 6;
			break;
		default:
			return -1;
		}
	}
	return (long)o;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_strings_roundtrip(void **state)
{
	/* Bytes weighted towards the interesting ranges: controls, ASCII, lead and continuation bytes. */
	static const unsigned char pool[] = {
		0x00, 0x01, 0x08, 0x09, 0x0a, 0x0d, 0x1f, 0x20, '"',  '\\', 'a',  '/',	0x7f,
		0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xdf, 0xe0, 0xe1,
		0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff,
	};
	unsigned char in[64], dec[64];
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rng_next(&rng) % sizeof(in);
		struct out o;
		long dn;

		for (size_t i = 0; i < n; i++) {
			uint64_t r = rng_next(&rng);

			in[i] = (r & 1) ? pool[(r >> 8) % sizeof(pool)] : (unsigned char)(r >> 16);
		}
		out_open(&o, false);
		pr_json_strn(&o.j, (const char *)in, n);
		out_str(&o);
		dn = decode_json_string(o.buf, o.len, dec);
		if (dn != (long)n || memcmp(dec, in, n)) {
			char hex[sizeof(in) * 2 + 1];

			for (size_t i = 0; i < n; i++)
				sprintf(hex + 2 * i, "%02x", in[i]);
			hex[2 * n] = 0;
			out_close(&o);
			fail_msg(
				"input %s: output is not strict UTF-8 JSON or does not decode back",
				hex);
		}
		out_close(&o);
	}
}

static void test_python_accepts(void **state)
{
	static const unsigned char nasty[] = "q\"b\\c\n\x01\x7f\x80\xc0\xc3\xa9\xed\xa0\x80"
					     "\xf0\x9f\x98\x80\xf4\x90\x80\x80\xe0\x80\x80\xff";
	struct out o;
	int ok;

	(void)state;
	out_open(&o, true);
	pr_json_arr_begin(&o.j);
	for (int i = 0; i < 3; i++) {
		pr_json_obj_begin(&o.j);
		pr_json_kv_u64(&o.j, "u", UINT64_MAX);
		pr_json_kv_i64(&o.j, "i", INT64_MIN);
		pr_json_kv_double(&o.j, "d", i == 1 ? NAN : 1e-7);
		pr_json_kv_double(&o.j, "big", 1e300);
		pr_json_kv_bool(&o.j, "b", i & 1);
		pr_json_key(&o.j, "s");
		pr_json_strn(&o.j, (const char *)nasty, sizeof(nasty) - 1);
		pr_json_key(&o.j, "h");
		pr_json_hex(&o.j, nasty, 4);
		pr_json_key(&o.j, "e");
		pr_json_arr_begin(&o.j);
		pr_json_arr_end(&o.j);
		pr_json_obj_end(&o.j);
	}
	pr_json_arr_end(&o.j);
	pr_json_end(&o.j);
	out_str(&o);
	ok = python_accepts(o.buf, o.len);
	if (ok < 0) {
		out_close(&o);
		skip();
	}
	assert_int_equal(ok, 1);
	/* And the oracle itself says no to broken JSON. */
	assert_int_equal(python_accepts("[1,]", 4), 0);
	assert_int_equal(python_accepts("[\"\xed\xa0\x80\"]", 7), 0);
	out_close(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_sequential_documents),
		cmocka_unit_test(test_pretty_arrays),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_escape_ascii),
		cmocka_unit_test(test_escape_keys),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_random_strings_roundtrip),
		cmocka_unit_test(test_python_accepts),
	};

	return cmocka_run_group_tests_name("pr_json", tests, NULL, NULL);
}
