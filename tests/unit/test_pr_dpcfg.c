// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the dataplane settings table (pr_dpcfg.h): defaults,
 * parsing of each type with its bounds and its messages, exact seconds,
 * the text form reading back to the same value for every key, the whole
 * struct check a dataplane runs on the block it finds in the region, and
 * the configuration file taking its dataplane keys from the same table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pr_config.h"
#include "pr_dpcfg.h"

static void test_defaults(void **state)
{
	struct pr_dp_cfg c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	pr_dpcfg_defaults(&c);
	assert_int_equal(c.version, PR_DPCFG_VERSION);
	assert_int_equal(c.size, sizeof(c));
	assert_int_equal(c.mode, PR_DP_MODE_CAPTURE);
	assert_int_equal(c.workers, 1);
	assert_string_equal(c.backend, "pcap");
	assert_string_equal(c.interface, "");
	assert_int_equal(c.snaplen, 65535);
	assert_int_equal(c.promisc, 1);
	assert_int_equal(c.buffer_size, 10u << 20);
	assert_int_equal(c.count, 0);
	assert_int_equal(c.duration_ns, 0);
	assert_int_equal(c.flow_max, 262144);
	assert_int_equal(c.flow_idle_timeout_s, 300);
	assert_int_equal(c.flow_active_timeout_s, 3600);
	assert_int_equal(c.flow_tcp_closed_timeout_s, 5);
	assert_int_equal(c.stats_interval_ms, 100);
}

static void test_set(void **state)
{
	struct pr_dp_cfg c;
	char err[256];

	(void)state;
	pr_dpcfg_defaults(&c);
	assert_int_equal(pr_dpcfg_set(&c, "workers", "4", err, sizeof(err)), 0);
	assert_int_equal(c.workers, 4);
	assert_int_equal(pr_dpcfg_set(&c, "workers", "0", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "workers: bad value \"0\" (a number from 1 to 64)");
	assert_int_equal(pr_dpcfg_set(&c, "workers", "65", err, sizeof(err)), -EINVAL);
	assert_int_equal(c.workers, 4); /* a refused value changes nothing */
	assert_int_equal(pr_dpcfg_set(&c, "buffer_size", "16m", err, sizeof(err)), 0);
	assert_int_equal(c.buffer_size, 16u << 20);
	assert_int_equal(pr_dpcfg_set(&c, "buffer_size", "12q", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "k/m/g"));
	assert_int_equal(pr_dpcfg_set(&c, "promisc", "off", err, sizeof(err)), 0);
	assert_int_equal(c.promisc, 0);
	assert_int_equal(pr_dpcfg_set(&c, "promisc", "maybe", err, sizeof(err)), -EINVAL);
	assert_int_equal(pr_dpcfg_set(&c, "duration", "0.25", err, sizeof(err)), 0);
	assert_int_equal(c.duration_ns, 250000000ull);
	assert_int_equal(pr_dpcfg_set(&c, "duration", "2.000000001", err, sizeof(err)), 0);
	assert_int_equal(c.duration_ns, 2000000001ull);
	assert_int_equal(pr_dpcfg_set(&c, "duration", "1.", err, sizeof(err)), -EINVAL);
	assert_int_equal(pr_dpcfg_set(&c, "duration", "-1", err, sizeof(err)), -EINVAL);
	assert_int_equal(pr_dpcfg_set(&c, "interface", "veth0", err, sizeof(err)), 0);
	assert_string_equal(c.interface, "veth0");
	{
		char big[300];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		assert_int_equal(pr_dpcfg_set(&c, "interface", big, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "interface: value too long (at most 255 bytes)");
	}
	assert_int_equal(pr_dpcfg_set(&c, "no_such_key", "1", err, sizeof(err)), -ENOENT);
}

/* Every key's text form reads back to the same value. */
static void test_format_roundtrip(void **state)
{
	struct pr_dp_cfg a, b;
	size_t n;
	const struct pr_dpcfg_opt *t = pr_dpcfg_opts(&n);
	char err[256], val[2048];

	(void)state;
	pr_dpcfg_defaults(&a);
	assert_int_equal(pr_dpcfg_set(&a, "duration", "12.5", err, sizeof(err)), 0);
	assert_int_equal(pr_dpcfg_set(&a, "filter", "tcp port 80", err, sizeof(err)), 0);
	assert_int_equal(pr_dpcfg_set(&a, "count", "18446744073709551615", err, sizeof(err)), 0);
	memset(&b, 0, sizeof(b));
	b.version = a.version;
	b.size = a.size;
	b.mode = a.mode;
	for (size_t i = 0; i < n; i++) {
		size_t l;

		pr_dpcfg_format(&a, &t[i], val, sizeof(val));
		l = strlen(val);
		/* Strings are written quoted, as a file holds them. */
		if (t[i].type == PR_DPCFG_STR) {
			assert_true(l >= 2 && val[0] == '"' && val[l - 1] == '"');
			val[l - 1] = 0;
			memmove(val, val + 1, l - 1);
		}
		assert_int_equal(pr_dpcfg_set(&b, t[i].key, val, err, sizeof(err)), 0);
	}
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_check(void **state)
{
	struct pr_dp_cfg c;
	char err[256];

	(void)state;
	pr_dpcfg_defaults(&c);
	/* Neither an interface nor a file. */
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), -EINVAL);
	snprintf(c.read_path, sizeof(c.read_path), "x.pcap");
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), 0);
	snprintf(c.interface, sizeof(c.interface), "eth0");
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), -EINVAL);
	c.read_path[0] = 0;
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), 0);

	c.flow_max = 1;
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "flow_max: 1 is not from 64 to 67108864");
	c.flow_max = 1024;
	memset(c.filter, 'a', sizeof(c.filter));
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "filter: not terminated");
	c.filter[0] = 0;
	c.version = PR_DPCFG_VERSION + 1;
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), -EINVAL);
	c.version = PR_DPCFG_VERSION;
	c.mode = 7;
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), -EINVAL);
	c.mode = PR_DP_MODE_TX;
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), 0);
	c.interface[0] = 0;
	assert_int_equal(pr_dpcfg_check(&c, err, sizeof(err)), -EINVAL);
}

/* The configuration file's dataplane keys are the table's, with its bounds. */
static void test_config_file(void **state)
{
	struct pr_config cfg;
	char err[256];
	static const char good[] = "workers = 3\nflow_max = 1000\nstats_interval_ms = 50\n";
	static const char notfile[] = "interface = eth0\n";
	static const char bad[] = "workers = 99\n";

	(void)state;
	pr_config_defaults(&cfg);
	assert_int_equal(cfg.dp.workers, 1);
	assert_int_equal(pr_config_parse(&cfg, good, strlen(good), "t", err, sizeof(err)), 0);
	assert_int_equal(cfg.dp.workers, 3);
	assert_int_equal(cfg.dp.flow_max, 1000);
	assert_int_equal(cfg.dp.stats_interval_ms, 50);
	/* Settings of one capture (its source, filter, limits) are not file keys. */
	assert_int_equal(pr_config_parse(&cfg, notfile, strlen(notfile), "t", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t:1: unknown key \"interface\"");
	assert_int_equal(pr_config_parse(&cfg, bad, strlen(bad), "t", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t:1: workers: bad value \"99\" (a number from 1 to 64)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	 cmocka_unit_test(test_set),
		cmocka_unit_test(test_format_roundtrip), cmocka_unit_test(test_check),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
