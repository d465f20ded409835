// SPDX-License-Identifier: Apache-2.0
/*
 * The completeness map and manifests: loss intervals from synthetic
 * drop_stats rows (growth by reason, overlap with a packet-time range,
 * counters that do not grow, loss before the first packet), and the
 * manifest signature member split off and checked by pr_manifest_verify().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_manifest.h"
#include "pr_store.h"

static struct pr_store_drop_row row(uint64_t ts, uint64_t packets, uint64_t ring, uint64_t kernel)
{
	struct pr_store_drop_row r = { .wall_ts_ns = ts + 5, .pkt_ts_ns = ts, .packets = packets };

	r.drops[PR_DROP_RING_FULL] = ring;
	r.drops[PR_DROP_KERNEL] = kernel;
	return r;
}

static void test_no_loss(void **state)
{
	struct pr_store_drop_row rows[] = { row(0, 0, 0, 0), row(100, 10, 0, 0) };
	struct pr_drop_interval iv[4];

	(void)state;
	assert_int_equal(pr_drop_intervals_compute(rows, 2, 0, 0, iv, 4), 0);
	assert_int_equal(pr_drop_intervals_compute(NULL, 0, 0, 0, iv, 4), 0);
}

static void test_intervals(void **state)
{
	struct pr_store_drop_row rows[] = {
		row(0, 0, 0, 0),    row(100, 10, 3, 0),	 row(200, 20, 3, 0),
		row(300, 30, 3, 7), row(400, 40, 10, 7),
	};
	struct pr_drop_interval iv[4];

	(void)state;
	assert_int_equal(pr_drop_intervals_compute(rows, 5, 0, 0, iv, 4), 3);
	assert_int_equal(iv[0].from_ts_ns, 0);
	assert_int_equal(iv[0].to_ts_ns, 100);
	assert_int_equal(iv[0].after_packet, 0);
	assert_int_equal(iv[0].before_packet, 10);
	assert_int_equal(iv[0].lost[PR_DROP_RING_FULL], 3);
	assert_int_equal(iv[0].lost_total, 3);
	assert_int_equal(iv[1].from_ts_ns, 200);
	assert_int_equal(iv[1].to_ts_ns, 300);
	assert_int_equal(iv[1].lost[PR_DROP_KERNEL], 7);
	assert_int_equal(iv[1].lost[PR_DROP_RING_FULL], 0);
	assert_int_equal(iv[2].lost[PR_DROP_RING_FULL], 7);
	/* Only those that overlap [210, 290]. */
	assert_int_equal(pr_drop_intervals_compute(rows, 5, 210, 290, iv, 4), 1);
	assert_int_equal(iv[0].to_ts_ns, 300);
	/* Overlap at the edges counts. */
	assert_int_equal(pr_drop_intervals_compute(rows, 5, 300, 0, iv, 4), 2);
	assert_int_equal(pr_drop_intervals_compute(rows, 5, 0, 200, iv, 4), 2);
	/* max limits what is written, not the count. */
	assert_int_equal(pr_drop_intervals_compute(rows, 5, 0, 0, iv, 1), 3);
}

static void test_first_row_and_reset(void **state)
{
	/* The first row already counts drops: lost since the start. */
	struct pr_store_drop_row rows[] = { row(50, 5, 2, 0), row(60, 6, 1, 0) };
	struct pr_drop_interval iv[2];

	(void)state;
	assert_int_equal(pr_drop_intervals_compute(rows, 2, 0, 0, iv, 2), 1);
	assert_int_equal(iv[0].from_ts_ns, 0);
	assert_int_equal(iv[0].lost_total, 2);
}

static void test_manifest_verify(void **state)
{
	static const char canon[] = "{\"format\":\"" PR_MANIFEST_FORMAT
				    "\",\"file_bytes\":3,\"file_sha256\":\"ba7816bf8f01cfea4141"
				    "40de5dae2223b00361a396177a9cb410ff61f20015ad\","
				    "\"sensor_public_key\":\"";
	char path[] = "/tmp/test_pr_manifest.XXXXXX";
	struct pr_manifest_check r;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	/* A manifest without a valid signature member is not parsed. */
	assert_int_equal(pr_manifest_verify(canon, strlen(canon), path, NULL, &r), 0);
	assert_false(r.parsed);
	assert_false(pr_manifest_check_ok(&r));
	/* A well-formed one with a wrong signature: hash ok, signature not. */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	{
		uint8_t sig[PR_SENSOR_SIG_LEN] = { 0 };
		char body[512];

		snprintf(body, sizeof(body), "%s%064d\"}", canon, 0);
		assert_int_equal(pr_manifest_write(f, body, strlen(body), sig), 0);
	}
	fclose(f);
	assert_int_equal(pr_manifest_verify(text, len, path, NULL, &r), 0);
	assert_true(r.parsed);
	assert_true(r.hash_ok);
	assert_true(r.size_ok);
	assert_false(r.sig_ok);
	free(text);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_loss),
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_first_row_and_reset),
		cmocka_unit_test(test_manifest_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
