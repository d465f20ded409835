// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the command-line helpers in controlplane/pr_cli.c that
 * need no store: the terminal escaping of pr_cli_esc() (exact outputs,
 * column and buffer limits that never split a character or an escape, and
 * a property test: random bytes never come out as a control byte or as
 * invalid UTF-8), and the scrubbing of --encryption-key from argv by
 * pr_cli_common_opt(). Single thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_cli.h"
#include "pr_json.h"

static void expect_esc(const char *in, const char *want)
{
	char buf[PR_CLI_ESC_SIZE(64)];

	pr_cli_esc(buf, sizeof(buf), in, 0);
	assert_string_equal(buf, want);
}

static void test_esc_exact(void **state)
{
	(void)state;
	expect_esc("plain name.pcap", "plain name.pcap");
	expect_esc("a\nb\rc\td", "a\\nb\\rc\\td");
	expect_esc("\x1b[31mred", "\\e[31mred");
	expect_esc("back\\slash", "back\\\\slash");
	expect_esc("\x01\x1f\x7f", "\\x01\\x1f\\x7f");
	expect_esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_esc("\xff", "\\xff");
	expect_esc("a\xc3", "a\\xc3"); /* cut sequence */
	expect_esc("\xc0\x80", "\\xc0\\x80"); /* overlong NUL */
	expect_esc("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	expect_esc("\xc2\x9b"
		   "2J",
		   "\\xc2\\x9b2J"); /* C1 CSI */
	expect_esc("\xc2\xa0", "\xc2\xa0"); /* U+00A0 is printable */
	expect_esc("x\xe2\x80\xaey", "x\\xe2\\x80\\xaey"); /* U+202E right-to-left override */
	expect_esc("\xe2\x81\xa6", "\\xe2\\x81\\xa6"); /* U+2066 */
	expect_esc("", "");
}

static void test_esc_limits(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(pr_cli_esc(buf, sizeof(buf), "abcdef", 3), 3);
	assert_string_equal(buf, "abc");
	/* An escape is never cut: "\n" does not fit in the one column left. */
	assert_int_equal(pr_cli_esc(buf, sizeof(buf), "a\nb", 2), 1);
	assert_string_equal(buf, "a");
	assert_int_equal(pr_cli_esc(buf, sizeof(buf), "a\nb", 3), 3);
	assert_string_equal(buf, "a\\n");
	/* A character is one column however many bytes it has. */
	assert_int_equal(pr_cli_esc(buf, sizeof(buf), "\xc3\xa9\xc3\xa9\xc3\xa9", 2), 2);
	assert_string_equal(buf, "\xc3\xa9\xc3\xa9");
	/* The buffer: 4 bytes hold "a\n" and the NUL, not the "b". */
	assert_int_equal(pr_cli_esc(buf, 4, "a\nb", 0), 3);
	assert_string_equal(buf, "a\\n");
	assert_int_equal(pr_cli_esc(buf, 3, "\xc3\xa9\xc3\xa9", 0), 1);
	assert_string_equal(buf, "\xc3\xa9");
	assert_int_equal(pr_cli_esc(buf, 1, "abc", 0), 0);
	assert_string_equal(buf, "");
}

static void test_esc_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char in[48], out[PR_CLI_ESC_SIZE(sizeof(in))];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n = 0, len;

		for (size_t i = 0; i + 1 < sizeof(in); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Mostly high bytes and controls: the interesting cases. */
			in[i] = (char)((x & 3) ? (x >> 8) : (x >> 8) & 0x1f);
			if (!in[i])
				in[i] = '\n';
			n++;
		}
		in[n] = 0;
		pr_cli_esc(out, sizeof(out), in, 0);
		len = strlen(out);
		for (size_t i = 0; i < len;) {
			const uint8_t *p = (const uint8_t *)out + i;
			size_t l = pr_json_utf8_len(p, len - i);

			assert_true(l > 0);
			if (l == 1)
				assert_true(p[0] >= 0x20 && p[0] != 0x7f);
			if (l == 2)
				assert_false(p[0] == 0xc2 && p[1] < 0xa0);
			i += l;
		}
	}
}

static void test_key_scrubbed(void **state)
{
	char arg[] = "my secret key";
	struct pr_cli cli;

	(void)state;
	pr_cli_init(&cli, "test");
	assert_int_equal(pr_cli_common_opt(&cli, PR_OPT_KEY, arg), 1);
	assert_string_equal(arg, "xxxxxxxxxxxxx");
	assert_true(cli.key_given);
	assert_string_equal(cli.key, "my secret key");
	assert_int_equal(pr_cli_prepare(&cli), 0);
	assert_string_equal(cli.key, "my secret key");
	pr_cli_fini(&cli);
	assert_null(cli.key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esc_exact),
		cmocka_unit_test(test_esc_limits),
		cmocka_unit_test(test_esc_random),
		cmocka_unit_test(test_key_scrubbed),
	};

	return cmocka_run_group_tests_name("pr_cli", tests, NULL, NULL);
}
