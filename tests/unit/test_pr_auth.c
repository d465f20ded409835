// SPDX-License-Identifier: Apache-2.0
/*
 * API keys (controlplane/auth/): keys from all three sources are accepted
 * and nothing else is (a prefix, a longer string, another case, the empty
 * string); bad keys stop creation with an error that names the source and
 * the key's number but never its text; the key file's comments and blank
 * lines; a reload swaps the set and a failed reload keeps the old one;
 * failures are counted; header parsing of x-api-key and Bearer; and which
 * listen addresses count as loopback. The group setup makes a temporary
 * directory for key files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_auth.h"

#define K1 "k1-0123456789abcdef"
#define K2 "k2-0123456789abcdef"
#define K3 "k3-0123456789abcdef"
#define K4 "k4-0123456789abcdef"

static char dir[256], file[300];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_pr_auth.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/keys", dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *text)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int check(struct pr_auth *a, const char *k)
{
	return pr_auth_check(a, k, strlen(k));
}

static void test_sources(void **state)
{
	struct pr_auth_cfg cfg = { .key = K1, .keys = " " K2 ", ," K3 " ", .keys_file = file };
	struct pr_auth *a;
	char err[256];

	(void)state;
	write_file("# rotation 2024\n\n  " K4 "  \n");
	assert_int_equal(pr_auth_create(&cfg, &a, err, sizeof(err)), 0);
	assert_true(pr_auth_enabled(a));
	assert_int_equal(pr_auth_key_count(a), 4);
	assert_int_equal(check(a, K1), 0);
	assert_int_equal(check(a, K2), 0);
	assert_int_equal(check(a, K3), 0);
	assert_int_equal(check(a, K4), 0);
	assert_int_equal(pr_auth_failures(a), 0);
	assert_int_equal(check(a, "k1-0123456789abcde"), -EACCES); /* a prefix */
	assert_int_equal(check(a, K1 "0"), -EACCES);
	assert_int_equal(check(a, "K1-0123456789ABCDEF"), -EACCES);
	assert_int_equal(check(a, ""), -EACCES);
	assert_int_equal(check(a, "# rotation 2024"), -EACCES);
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(pr_auth_check(a, K1 "trailing", strlen(K1)), 0);
	assert_int_equal(pr_auth_failures(a), 5);
	pr_auth_count_failure(a);
	assert_int_equal(pr_auth_failures(a), 6);
	pr_auth_destroy(a);
}

static void test_no_keys(void **state)
{
	struct pr_auth_cfg cfg = { 0 };
	struct pr_auth *a;
	char err[256];

	(void)state;
	assert_int_equal(pr_auth_create(&cfg, &a, err, sizeof(err)), 0);
	assert_false(pr_auth_enabled(a));
	assert_int_equal(check(a, K1), -EACCES);
	pr_auth_destroy(a);
}

static void test_bad_keys(void **state)
{
	struct pr_auth_cfg cfg = { .keys = K1 ",short" };
	struct pr_auth *a = (struct pr_auth *)&cfg;
	char err[256];

	(void)state;
	assert_int_equal(pr_auth_create(&cfg, &a, err, sizeof(err)), -EINVAL);
	assert_null(a);
	assert_non_null(strstr(err, "PACKETRECORDER_API_KEYS: key 2:"));
	assert_null(strstr(err, "short"));
	cfg = (struct pr_auth_cfg){ .key = "with space 0123456789" };
	assert_int_equal(pr_auth_create(&cfg, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "PACKETRECORDER_API_KEY: key 1: character 5"));
	cfg = (struct pr_auth_cfg){ .keys_file = "/nonexistent/keys" };
	assert_int_equal(pr_auth_create(&cfg, &a, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/keys"));
	write_file(K1 "\nbad\xc3\xa9key-0123456789\n");
	cfg = (struct pr_auth_cfg){ .keys_file = file };
	assert_int_equal(pr_auth_create(&cfg, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "key 2: character 4"));
}

static void test_reload(void **state)
{
	struct pr_auth_cfg cfg = { .key = K1, .keys_file = file };
	struct pr_auth *a;
	char err[256];

	(void)state;
	write_file(K2 "\n");
	assert_int_equal(pr_auth_create(&cfg, &a, err, sizeof(err)), 0);
	assert_int_equal(check(a, K2), 0);
	write_file(K3 "\n");
	assert_int_equal(pr_auth_reload(a, err, sizeof(err)), 0);
	assert_int_equal(check(a, K2), -EACCES);
	assert_int_equal(check(a, K3), 0);
	assert_int_equal(check(a, K1), 0);
	/* A broken file keeps what worked. */
	write_file("tiny\n");
	assert_int_equal(pr_auth_reload(a, err, sizeof(err)), -EINVAL);
	assert_int_equal(check(a, K3), 0);
	unlink(file);
	assert_int_equal(pr_auth_reload(a, err, sizeof(err)), -ENOENT);
	assert_int_equal(check(a, K3), 0);
	pr_auth_destroy(a);
}

static void test_headers(void **state)
{
	const char *k;
	size_t n;

	(void)state;
	assert_true(pr_auth_header_key("x-api-key", 9, "abc", 3, &k, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(k, "abc", 3);
	assert_true(pr_auth_header_key("Authorization", 13, "bearer  tok", 11, &k, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(k, "tok", 3);
	assert_false(pr_auth_header_key("authorization", 13, "Basic dXNlcg==", 14, &k, &n));
	assert_false(pr_auth_header_key("x-api-keys", 10, "abc", 3, &k, &n));
}

static void test_loopback(void **state)
{
	(void)state;
	assert_true(pr_auth_addr_is_loopback("127.0.0.1:50051"));
	assert_true(pr_auth_addr_is_loopback("127.8.9.10:1"));
	assert_true(pr_auth_addr_is_loopback("[::1]:50051"));
	assert_true(pr_auth_addr_is_loopback("localhost:8080"));
	assert_true(pr_auth_addr_is_loopback("unix:/run/pr.sock"));
	assert_false(pr_auth_addr_is_loopback("0.0.0.0:50051"));
	assert_false(pr_auth_addr_is_loopback(":50051"));
	assert_false(pr_auth_addr_is_loopback("[::]:50051"));
	assert_false(pr_auth_addr_is_loopback("10.0.0.1:50051"));
	assert_false(pr_auth_addr_is_loopback("sensor.example:50051"));
	assert_false(pr_auth_addr_is_loopback("[::ffff:10.0.0.1]:1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sources),	 cmocka_unit_test(test_no_keys),
		cmocka_unit_test(test_bad_keys), cmocka_unit_test(test_reload),
		cmocka_unit_test(test_headers),	 cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
