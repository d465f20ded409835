// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of pr_dpdk_args: the --dpdk-args word splitter (quoting,
 * escapes, errors, limits) and the option test the dpdk backend uses to
 * add its EAL defaults only where the user gave none.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pr_dpdk_args.h"

static char buf[4096], err[256];
static char *argv_[PR_DPDK_ARGS_MAX];

static int split(const char *s)
{
	err[0] = 0;
	return pr_dpdk_args_split(s, buf, sizeof(buf), argv_, PR_DPDK_ARGS_MAX, err, sizeof(err));
}

/* s must split into exactly the words given (NULL-terminated). */
static void expect_words(const char *s, ...)
{
	va_list ap;
	int n = split(s), i = 0;
	const char *w;

	if (n < 0)
		fail_msg("\"%s\": %s", s, err);
	va_start(ap, s);
	while ((w = va_arg(ap, const char *))) {
		if (i >= n)
			fail_msg("\"%s\": %d words, expected more (next \"%s\")", s, n, w);
		if (strcmp(argv_[i], w))
			fail_msg("\"%s\": word %d is \"%s\", expected \"%s\"", s, i, argv_[i], w);
		i++;
	}
	va_end(ap);
	if (i != n)
		fail_msg("\"%s\": %d words, expected %d", s, n, i);
}

static void test_plain(void **state)
{
	(void)state;
	expect_words("", NULL);
	expect_words("   \t\n ", NULL);
	expect_words("--no-huge", "--no-huge", NULL);
	expect_words("  --vdev net_null0,copy=1   --no-huge\t-m 256 ", "--vdev", "net_null0,copy=1",
		     "--no-huge", "-m", "256", NULL);
	assert_int_equal(split(NULL), 0);
}

static void test_quotes(void **state)
{
	(void)state;
	expect_words("--vdev 'net_pcap0,rx_pcap=/a b.pcap'", "--vdev",
		     "net_pcap0,rx_pcap=/a b.pcap", NULL);
	expect_words("--vdev \"net_pcap0,rx_pcap=/a b.pcap\"", "--vdev",
		     "net_pcap0,rx_pcap=/a b.pcap", NULL);
	/* Quotes join with what touches them, as in a shell. */
	expect_words("a'b c'd\"e f\"g", "ab cde fg", NULL);
	expect_words("'' \"\"", "", "", NULL);
	/* Inside '...' nothing is special; inside "..." only \" and \\. */
	expect_words("'$HOME \\n \"x\"'", "$HOME \\n \"x\"", NULL);
	expect_words("\"a\\\"b\\\\c\\d\"", "a\"b\\c\\d", NULL);
	expect_words("a\\ b \\'c", "a b", "'c", NULL);
	/* Nothing is expanded: no variables, globs or home directories. */
	expect_words("$PATH * ~ `id` $(id)", "$PATH", "*", "~", "`id`", "$(id)", NULL);
}

static void test_errors(void **state)
{
	char big[PR_DPDK_ARGS_MAX * 2 + 8];
	char small[8];

	(void)state;
	assert_int_equal(split("--vdev 'net_null0"), -EINVAL);
	assert_non_null(strstr(err, "unterminated ' quote starting at offset 7"));
	assert_int_equal(split("a \"b"), -EINVAL);
	assert_non_null(strstr(err, "unterminated \" quote starting at offset 2"));
	assert_int_equal(split("a \"b\\\""), -EINVAL);
	assert_int_equal(split("abc\\"), -EINVAL);
	assert_non_null(strstr(err, "backslash at the end"));

	/* PR_DPDK_ARGS_MAX words fit, one more does not. */
	memset(big, 0, sizeof(big));
	for (int i = 0; i < PR_DPDK_ARGS_MAX; i++) {
		big[2 * i] = 'x';
		big[2 * i + 1] = ' ';
	}
	assert_int_equal(split(big), PR_DPDK_ARGS_MAX);
	big[2 * PR_DPDK_ARGS_MAX] = 'y';
	assert_int_equal(split(big), -E2BIG);
	assert_non_null(strstr(err, "more than 64 arguments"));

	/* A buffer that cannot hold the string is refused, never overrun. */
	assert_int_equal(pr_dpdk_args_split("--no-huge", small, sizeof(small), argv_, 4, err,
					    sizeof(err)),
			 -E2BIG);
	assert_int_equal(
		pr_dpdk_args_split("-m 64", small, sizeof(small), argv_, 4, err, sizeof(err)), 2);
}

static void test_has(void **state)
{
	static const char *const lcores[] = { "-l", "-c", "--lcores", NULL };
	static const char *const mem[] = { "--in-memory", "--file-prefix", NULL };

	(void)state;
	assert_int_equal(split("--vdev net_null0 -l 1"), 4);
	assert_true(pr_dpdk_args_has(argv_, 4, lcores));
	assert_false(pr_dpdk_args_has(argv_, 4, mem));
	assert_int_equal(split("-l1-2"), 1);
	assert_true(pr_dpdk_args_has(argv_, 1, lcores));
	assert_int_equal(split("--lcores=0@(0,1)"), 1);
	assert_true(pr_dpdk_args_has(argv_, 1, lcores));
	assert_int_equal(split("--file-prefix=pr1"), 1);
	assert_true(pr_dpdk_args_has(argv_, 1, mem));
	/* A longer option that starts like one of the names is another option. */
	assert_int_equal(split("--log-level=notice --lcoresx --in-memoryx"), 3);
	assert_false(pr_dpdk_args_has(argv_, 3, lcores));
	assert_false(pr_dpdk_args_has(argv_, 3, mem));
	/* After "--" nothing is an EAL option. */
	assert_int_equal(split("-- -l 1"), 3);
	assert_false(pr_dpdk_args_has(argv_, 3, lcores));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
