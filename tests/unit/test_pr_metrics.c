// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the metrics registry (controlplane/metrics/pr_metrics.c)
 * and the packetrecorder series (pr_sensor_metrics.c): what registration
 * refuses, the exact text of each metric type (label escaping, cumulative
 * histogram buckets, numbers in their shortest form), hidden series,
 * counters that never go down, the series cap, collectors, counts that
 * stay exact under concurrent updates from several threads, the store
 * collector against a real store, and `promtool check metrics` on the
 * whole packetrecorder family set when promtool is installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_events.h"
#include "pr_metrics.h"
#include "pr_sensor_metrics.h"
#include "pr_store.h"

static char *render(struct pr_metrics *m)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(pr_metrics_render(m, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_register_checks(void **state)
{
	static const char *const l_ok[] = { "a", "b" };
	static const char *const l_dup[] = { "a", "a" };
	static const char *const l_reserved[] = { "__name" };
	static const char *const l_le[] = { "le" };
	static const char *const l_bad[] = { "9x" };
	static const double b_ok[] = { 0.1, 1 };
	static const double b_unsorted[] = { 1, 0.1 };
	static const double b_inf[] = { 1, INFINITY };
	struct pr_metrics *m;
	struct pr_metric *f;
	struct {
		struct pr_metric_def def;
		int want;
	} cases[] = {
		{ { PR_METRIC_COUNTER, "x_total", "h", NULL, 0, NULL, 0, 0 }, 0 },
		{ { PR_METRIC_COUNTER, "x_total", "h", NULL, 0, NULL, 0, 0 }, -EEXIST },
		{ { PR_METRIC_COUNTER, "no_suffix", "h", NULL, 0, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "g_total", "h", NULL, 0, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "1bad", "h", NULL, 0, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "bad-name", "h", NULL, 0, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "", "h", NULL, 0, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "ns:ok", "h", l_ok, 2, NULL, 0, 0 }, 0 },
		{ { PR_METRIC_GAUGE, "dup_labels", "h", l_dup, 2, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "reserved", "h", l_reserved, 1, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "badlabel", "h", l_bad, 1, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "le_gauge_ok", "h", l_le, 1, NULL, 0, 0 }, 0 },
		{ { PR_METRIC_HISTOGRAM, "h_le", "h", l_le, 1, b_ok, 2, 0 }, -EINVAL },
		{ { PR_METRIC_HISTOGRAM, "h_none", "h", NULL, 0, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_HISTOGRAM, "h_unsorted", "h", NULL, 0, b_unsorted, 2, 0 }, -EINVAL },
		{ { PR_METRIC_HISTOGRAM, "h_inf", "h", NULL, 0, b_inf, 2, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "g_buckets", "h", NULL, 0, b_ok, 2, 0 }, -EINVAL },
		{ { PR_METRIC_HISTOGRAM, "h_seconds", "h", NULL, 0, b_ok, 2, 0 }, 0 },
		{ { 99, "typeless", "h", NULL, 0, NULL, 0, 0 }, -EINVAL },
		{ { PR_METRIC_GAUGE, "too_many", "h", l_ok, PR_METRIC_MAX_LABELS + 1, NULL, 0, 0 },
		  -EINVAL },
	};

	(void)state;
	assert_int_equal(pr_metrics_create(&m), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = pr_metrics_register(m, &cases[i].def, &f);

		if (got != cases[i].want)
			fail_msg("case %zu (%s): got %d, want %d", i, cases[i].def.name, got,
				 cases[i].want);
		if (!got)
			assert_ptr_equal(pr_metrics_find(m, cases[i].def.name), f);
		else
			assert_null(f);
	}
	assert_null(pr_metrics_find(m, "nope"));
	pr_metrics_destroy(m);
	pr_metrics_destroy(NULL);
}

static void test_render_exact(void **state)
{
	static const char *const l2[] = { "method", "code" };
	static const double b[] = { 0.001, 0.1, 1 };
	struct pr_metric_def dc = {
		PR_METRIC_COUNTER, "req_total", "Requests\\answered\nby code", l2, 2, NULL, 0, 0
	};
	struct pr_metric_def dg = { PR_METRIC_GAUGE, "temp_celsius", NULL, NULL, 0, NULL, 0, 0 };
	struct pr_metric_def dh = {
		PR_METRIC_HISTOGRAM, "lat_seconds", "Latency", NULL, 0, b, 3, 0
	};
	struct pr_metric *fc, *fg, *fh;
	struct pr_metric_series *s1, *s2, *g, *h, *again;
	struct pr_metrics *m;
	char *text;
	double sum = 0;

	(void)state;
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_metrics_register(m, &dc, &fc), 0);
	assert_int_equal(pr_metrics_register(m, &dg, &fg), 0);
	assert_int_equal(pr_metrics_register(m, &dh, &fh), 0);
	assert_int_equal(pr_metric_series(fc, (const char *const[]){ "GET", "200" }, &s1), 0);
	assert_int_equal(pr_metric_series(fc, (const char *const[]){ "a\"b\\c\nd", "500" }, &s2),
			 0);
	assert_int_equal(pr_metric_series(fc, (const char *const[]){ "GET", "200" }, &again), 0);
	assert_ptr_equal(s1, again);
	assert_int_equal(pr_metric_series(fc, NULL, &again), -EINVAL);
	assert_int_equal(pr_metric_series(fc, (const char *const[]){ "GET", NULL }, &again),
			 -EINVAL);
	assert_int_equal(pr_metric_series(fg, NULL, &g), 0);
	assert_int_equal(pr_metric_series(fh, NULL, &h), 0);
	pr_metric_inc(s1, 3);
	pr_metric_inc(s1, 4);
	pr_metric_inc(s2, 1);
	pr_metric_set(g, 21.5);
	pr_metric_add(g, 0.1);
	/* Wrong-type updates are ignored, not misapplied. */
	pr_metric_set(s1, 99);
	pr_metric_inc(g, 5);
	pr_metric_observe(g, 1);
	pr_metric_observe(h, 0.0005);
	pr_metric_observe(h, 0.001); /* a bound is inclusive: le="0.001" */
	pr_metric_observe(h, 0.5);
	pr_metric_observe(h, 7);
	pr_metric_observe(h, NAN); /* not counted */
	text = render(m);
	assert_string_equal(text, "# HELP req_total Requests\\\\answered\\nby code\n"
				  "# TYPE req_total counter\n"
				  "req_total{method=\"GET\",code=\"200\"} 7\n"
				  "req_total{method=\"a\\\"b\\\\c\\nd\",code=\"500\"} 1\n"
				  "# TYPE temp_celsius gauge\n"
				  "temp_celsius 21.6\n"
				  "# HELP lat_seconds Latency\n"
				  "# TYPE lat_seconds histogram\n"
				  "lat_seconds_bucket{le=\"0.001\"} 2\n"
				  "lat_seconds_bucket{le=\"0.1\"} 2\n"
				  "lat_seconds_bucket{le=\"1\"} 3\n"
				  "lat_seconds_bucket{le=\"+Inf\"} 4\n"
				  "lat_seconds_sum 7.5015\n"
				  "lat_seconds_count 4\n");
	free(text);
	assert_true(pr_metric_series_value(s1, NULL) == 7);
	assert_true(fabs(pr_metric_series_value(g, NULL) - 21.6) < 1e-9);
	assert_true(pr_metric_series_value(h, &sum) == 4);
	assert_true(fabs(sum - 7.5015) < 1e-12);
	pr_metrics_destroy(m);
}

static void test_numbers(void **state)
{
	struct pr_metric_def dg = { PR_METRIC_GAUGE, "g", NULL, NULL, 0, NULL, 0, 0 };
	struct pr_metric *f;
	struct pr_metric_series *g;
	struct pr_metrics *m;
	struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "g 0\n" },
		{ -3, "g -3\n" },
		{ 0.1, "g 0.1\n" },
		{ 1e-7, "g 1e-07\n" },
		{ 1.0 / 3, "g 0.3333333333333333\n" },
		{ 9007199254740991.0, "g 9007199254740991\n" },
		{ 1e300, "g 1e+300\n" },
		{ INFINITY, "g +Inf\n" },
		{ -INFINITY, "g -Inf\n" },
		{ NAN, "g NaN\n" },
	};

	(void)state;
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_metrics_register(m, &dg, &f), 0);
	assert_int_equal(pr_metric_series(f, NULL, &g), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text, *line;

		pr_metric_set(g, cases[i].v);
		text = render(m);
		line = strstr(text, "\ng ");
		assert_non_null(line);
		assert_string_equal(line + 1, cases[i].want);
		free(text);
	}
	pr_metrics_destroy(m);
}

static void test_hide_counter_set_cap(void **state)
{
	static const char *const l[] = { "worker" };
	struct pr_metric_def dg = { PR_METRIC_GAUGE, "ring_ratio", NULL, l, 1, NULL, 0, 2 };
	struct pr_metric_def dc = { PR_METRIC_COUNTER, "mirror_total", NULL, NULL, 0, NULL, 0, 0 };
	struct pr_metric_series *w0, *w1, *w2, *c;
	struct pr_metric *fg, *fc;
	struct pr_metrics *m;
	char *text;

	(void)state;
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_metrics_register(m, &dg, &fg), 0);
	assert_int_equal(pr_metrics_register(m, &dc, &fc), 0);
	assert_int_equal(pr_metric_series(fg, (const char *const[]){ "0" }, &w0), 0);
	assert_int_equal(pr_metric_series(fg, (const char *const[]){ "1" }, &w1), 0);
	/* max_series 2: a third combination is refused, the first two still found. */
	assert_int_equal(pr_metric_series(fg, (const char *const[]){ "2" }, &w2), -ENOSPC);
	assert_null(w2);
	assert_int_equal(pr_metric_series(fg, (const char *const[]){ "1" }, &w2), 0);
	assert_ptr_equal(w1, w2);
	pr_metric_set(w0, 0.25);
	pr_metric_set(w1, 0.5);
	pr_metric_series_hide(w1);
	text = render(m);
	assert_non_null(strstr(text, "ring_ratio{worker=\"0\"} 0.25\n"));
	assert_null(strstr(text, "worker=\"1\""));
	free(text);
	/* An update shows it again, with its new value. */
	pr_metric_set(w1, 0.75);
	text = render(m);
	assert_non_null(strstr(text, "ring_ratio{worker=\"1\"} 0.75\n"));
	free(text);

	assert_int_equal(pr_metric_series(fc, NULL, &c), 0);
	pr_metric_counter_set(c, 10);
	pr_metric_counter_set(c, 4); /* a restarted source must not make it go down */
	pr_metric_inc(c, 1);
	pr_metric_counter_set(c, 20);
	text = render(m);
	assert_non_null(strstr(text, "mirror_total 20\n"));
	free(text);
	pr_metrics_destroy(m);
}

struct coll {
	struct pr_metric_series *g;
	int calls;
};

static void collect(void *ctx, struct pr_metrics *m)
{
	struct coll *c = ctx;

	(void)m;
	c->calls++;
	pr_metric_set(c->g, c->calls * 10);
}

static void test_collectors(void **state)
{
	struct pr_metric_def dg = { PR_METRIC_GAUGE, "collected", NULL, NULL, 0, NULL, 0, 0 };
	struct pr_metric *f;
	struct pr_metrics *m;
	struct coll c = { 0 };
	char *text;

	(void)state;
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_metrics_register(m, &dg, &f), 0);
	assert_int_equal(pr_metric_series(f, NULL, &c.g), 0);
	assert_int_equal(pr_metrics_add_collector(m, collect, &c), 0);
	text = render(m);
	assert_non_null(strstr(text, "collected 10\n"));
	free(text);
	text = render(m);
	assert_non_null(strstr(text, "collected 20\n"));
	free(text);
	pr_metrics_remove_collector(m, collect, &c);
	pr_metrics_remove_collector(m, collect, &c); /* twice: a no-op */
	text = render(m);
	assert_non_null(strstr(text, "collected 20\n"));
	assert_int_equal(c.calls, 2);
	free(text);
	pr_metrics_destroy(m);
}

#define THREADS 4
#define ROUNDS 100000

struct race {
	struct pr_metrics *m;
	struct pr_metric *fc, *fh;
	int id;
};

/* Each thread looks its series up itself and renders now and then. */
static void *race_main(void *arg)
{
	struct race *r = arg;
	struct pr_metric_series *shared, *mine, *h;
	char own[16];

	snprintf(own, sizeof(own), "t%d", r->id);
	if (pr_metric_series(r->fc, (const char *const[]){ "shared" }, &shared) ||
	    pr_metric_series(r->fc, (const char *const[]){ own }, &mine) ||
	    pr_metric_series(r->fh, NULL, &h))
		return (void *)1;
	for (int i = 0; i < ROUNDS; i++) {
		pr_metric_inc(shared, 1);
		pr_metric_inc(mine, 2);
		pr_metric_observe(h, (i % 3) ? 0.5 : 2);
		if (i % 20000 == 0) {
			char *text = NULL;

			if (pr_metrics_render(r->m, &text, NULL))
				return (void *)1;
			free(text);
		}
	}
	return NULL;
}

static void test_concurrent_updates(void **state)
{
	static const char *const l[] = { "who" };
	static const double b[] = { 1 };
	struct pr_metric_def dc = { PR_METRIC_COUNTER, "hits_total", NULL, l, 1, NULL, 0, 0 };
	struct pr_metric_def dh = { PR_METRIC_HISTOGRAM, "obs_seconds", NULL, NULL, 0, b, 1, 0 };
	struct race r[THREADS];
	pthread_t tid[THREADS];
	struct pr_metrics *m;
	struct pr_metric *fc, *fh;
	char *text, want[128];
	long expect_small = 0;

	(void)state;
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_metrics_register(m, &dc, &fc), 0);
	assert_int_equal(pr_metrics_register(m, &dh, &fh), 0);
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct race){ m, fc, fh, i };
		assert_int_equal(pthread_create(&tid[i], NULL, race_main, &r[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		void *ret;

		assert_int_equal(pthread_join(tid[i], &ret), 0);
		assert_null(ret);
	}
	for (int i = 0; i < ROUNDS; i++)
		expect_small += (i % 3) ? 1 : 0;
	text = render(m);
	snprintf(want, sizeof(want), "hits_total{who=\"shared\"} %d\n", THREADS * ROUNDS);
	assert_non_null(strstr(text, want));
	for (int i = 0; i < THREADS; i++) {
		snprintf(want, sizeof(want), "hits_total{who=\"t%d\"} %d\n", i, 2 * ROUNDS);
		assert_non_null(strstr(text, want));
	}
	snprintf(want, sizeof(want), "obs_seconds_bucket{le=\"1\"} %ld\n", THREADS * expect_small);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "obs_seconds_count %d\n", THREADS * ROUNDS);
	assert_non_null(strstr(text, want));
	/* 0.5 and 2 are exact in binary: the sum is exact too. */
	snprintf(want, sizeof(want), "obs_seconds_sum %.0f\n",
		 THREADS * (0.5 * (double)expect_small + 2.0 * (double)(ROUNDS - expect_small)));
	assert_non_null(strstr(text, want));
	free(text);
	pr_metrics_destroy(m);
}

/* A store with one finished session of a few packets, in a temporary directory. */
static void make_store(char *dir, size_t dlen, char *db, size_t len)
{
	struct pr_store_cfg cfg = { .create = true, .key = "metrics test key" };
	struct pr_session_info si = { 0 };
	struct pr_store *st;
	int64_t id;
	uint8_t data[60] = { 0 };

	snprintf(dir, dlen, "/tmp/pr_metrics_XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, len, "%s/m.db", dir);
	cfg.path = db;
	assert_int_equal(pr_store_open(&cfg, &st), 0);
	snprintf(si.name, sizeof(si.name), "unit");
	snprintf(si.source, sizeof(si.source), "lo");
	snprintf(si.source_kind, sizeof(si.source_kind), "interface");
	si.start_ts_ns = 1700000000000000000ull;
	assert_int_equal(pr_store_session_begin(st, &si, &id), 0);
	for (int i = 0; i < 5; i++) {
		struct pr_block_pkt p = {
			.ts_ns = 1700000000000000000ull + (uint64_t)i * 1000,
			.cap_len = sizeof(data),
			.wire_len = sizeof(data),
			.data = data,
		};

		assert_int_equal(pr_store_add_packet(st, id, &p), 0);
	}
	assert_int_equal(pr_store_session_end(st, id, PR_SESSION_COMPLETED, "done"), 0);
	pr_store_close(st);
}

static void rm_store(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* promtool check metrics on text, when promtool is installed: 0 ok, 1 not ok, -1 not run. */
static int promtool_check(const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/pr_metrics_promtool_XXXXXX", cmd[256];
	FILE *f, *p;
	size_t n = 0;
	int fd, st;

	if (system("command -v promtool >/dev/null 2>&1"))
		return -1;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	st = pclose(p);
	unlink(path);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static void test_sensor_metrics(void **state)
{
	struct pr_sensor_metrics_cfg cfg = { 0 };
	struct pr_sensor_metrics *sm;
	struct pr_events *bus;
	struct pr_events_sub *sub;
	struct pr_metrics *m;
	char dir[64], db[128], out[4096], *text;
	int rc;

	(void)state;
	make_store(dir, sizeof(dir), db, sizeof(db));
	cfg.db_path = db;
	cfg.db_key = "metrics test key";
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_sensor_metrics_create(m, &cfg, &sm), 0);
	assert_int_equal(pr_events_create(NULL, &bus), 0);
	assert_int_equal(pr_sensor_metrics_watch_events(sm, bus), 0);
	assert_int_equal(pr_events_subscribe(bus, NULL, &sub), 0);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_CAPTURE_STARTED, 1, NULL, NULL), 0);

	pr_sensor_metrics_packets(sm, pr_sm_proto_of(4, 6), 10, 15000);
	pr_sensor_metrics_packets(sm, pr_sm_proto_of(6, 58), 1, 90);
	pr_sensor_metrics_packets(sm, pr_sm_proto_of(0, 0), 2, 120);
	pr_metric_inc(sm->drops[PR_DROP_RING_FULL], 3);
	pr_sensor_metrics_ring(sm, "eth0", 0, 0.5);
	pr_sensor_metrics_ring(sm, "eth0", 1, 0.25);
	pr_sensor_metrics_ring_gone(sm, "eth0", 1);
	pr_metric_observe(sm->storage_write, 0.003);
	pr_sensor_metrics_request(sm, PR_SM_API_HTTP, "GET", "/api/v1/sessions/{id}", "404", 0.002);
	pr_sensor_metrics_request(sm, PR_SM_API_GRPC, "/packetrecorder.v1.Sensor/GetStats", NULL,
				  "OK", -1);
	pr_sensor_metrics_auth_failure(sm, PR_SM_API_HTTP, true);
	pr_sensor_metrics_auth_failure(sm, PR_SM_API_GRPC, false);
	text = render(m);
	assert_non_null(strstr(text, "packetrecorder_packets_total{protocol=\"tcp\"} 10\n"));
	assert_non_null(strstr(text, "packetrecorder_bytes_total{protocol=\"tcp\"} 15000\n"));
	assert_non_null(strstr(text, "packetrecorder_packets_total{protocol=\"icmpv6\"} 1\n"));
	assert_non_null(strstr(text, "packetrecorder_packets_total{protocol=\"non_ip\"} 2\n"));
	/* Known in advance: shown as 0 before anything is seen. */
	assert_non_null(strstr(text, "packetrecorder_packets_total{protocol=\"sctp\"} 0\n"));
	assert_non_null(strstr(
		text, "packetrecorder_drops_total{reason=\"ring_full\",stage=\"dataplane\"} 3\n"));
	assert_non_null(
		strstr(text, "packetrecorder_drops_total{reason=\"kernel\",stage=\"rx\"} 0\n"));
	assert_non_null(
		strstr(text, "packetrecorder_drops_total{reason=\"store\",stage=\"storage\"} 0\n"));
	/* The backends' own losses happen before the dataplane sees the frame. */
	assert_non_null(strstr(
		text, "packetrecorder_drops_total{reason=\"xsk_rx_ring_full\",stage=\"rx\"} 0\n"));
	assert_non_null(
		strstr(text, "packetrecorder_drops_total{reason=\"nic_missed\",stage=\"rx\"} 0\n"));
	assert_non_null(strstr(
		text,
		"packetrecorder_ring_occupancy_ratio{interface=\"eth0\",worker=\"0\"} 0.5\n"));
	assert_null(strstr(text,
			   "packetrecorder_ring_occupancy_ratio{interface=\"eth0\",worker=\"1\"}"));
	assert_non_null(
		strstr(text, "packetrecorder_storage_write_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(text, "packetrecorder_http_requests_total{method=\"GET\",route=\""
				     "/api/v1/sessions/{id}\",code=\"404\"} 1\n"));
	assert_non_null(strstr(text, "packetrecorder_http_request_duration_seconds_count{route=\""
				     "/api/v1/sessions/{id}\"} 1\n"));
	assert_non_null(strstr(text, "packetrecorder_grpc_requests_total{method=\""
				     "/packetrecorder.v1.Sensor/GetStats\",code=\"OK\"} 1\n"));
	assert_non_null(strstr(
		text, "packetrecorder_auth_failures_total{api=\"http\",reason=\"missing\"} 1\n"));
	assert_non_null(strstr(
		text, "packetrecorder_auth_failures_total{api=\"grpc\",reason=\"invalid\"} 1\n"));
	assert_non_null(strstr(
		text, "packetrecorder_events_published_total{type=\"capture_started\"} 1\n"));
	assert_non_null(strstr(text, "packetrecorder_event_subscribers 1\n"));
	assert_non_null(strstr(text, "packetrecorder_build_info{version=\""));
	/* The store, read through the collector's own connection. */
	assert_non_null(strstr(text, "packetrecorder_storage_up 1\n"));
	assert_non_null(strstr(text, "packetrecorder_storage_sessions 1\n"));
	assert_non_null(strstr(text, "packetrecorder_storage_packets 5\n"));
	assert_non_null(strstr(text, "packetrecorder_active_sessions 0\n"));
	assert_non_null(strstr(text, "\npacketrecorder_storage_free_bytes "));
	{
		const char *p = strstr(text, "\npacketrecorder_storage_size_bytes ");

		assert_non_null(p);
		assert_true(strtod(p + strlen("\npacketrecorder_storage_size_bytes "), NULL) > 0);
	}
	rc = promtool_check(text, out, sizeof(out));
	if (rc > 0)
		fail_msg("promtool check metrics:\n%s\n---\n%s", out, text);
	if (rc < 0)
		print_message("promtool not installed: the format check was not run\n");
	free(text);

	pr_events_unsubscribe(sub);
	pr_sensor_metrics_destroy(sm);
	pr_events_destroy(bus);
	pr_metrics_destroy(m);
	rm_store(dir);
}

/* A store that cannot be opened: storage_up says so, nothing else breaks. */
static void test_sensor_metrics_no_store(void **state)
{
	struct pr_sensor_metrics_cfg cfg = { .db_path = "/nonexistent/dir/x.db" };
	struct pr_sensor_metrics *sm;
	struct pr_metrics *m;
	char *text;

	(void)state;
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_sensor_metrics_create(m, &cfg, &sm), 0);
	text = render(m);
	assert_non_null(strstr(text, "packetrecorder_storage_up 0\n"));
	assert_null(strstr(text, "\npacketrecorder_storage_retention_left_seconds "));
	free(text);
	pr_sensor_metrics_destroy(sm);
	pr_metrics_destroy(m);
}

/* Ethernet + the given EtherType chain and payload. */
static size_t eth(uint8_t *buf, const uint8_t *tail, size_t n)
{
	memset(buf, 0xaa, 12);
	memcpy(buf + 12, tail, n);
	return 12 + n;
}

static void test_proto_of_packet(void **state)
{
	static const uint8_t ipv4_tcp[] = { 0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6 };
	static const uint8_t qinq_udp[] = { 0x88, 0xa8, 0, 1,  0x81, 0x00, 0, 2, 0x08, 0x00,
					    0x45, 0,	0, 28, 0,    0,	   0, 0, 64,   17 };
	static const uint8_t three_tags[] = { 0x81, 0x00, 0, 1, 0x81, 0x00, 0,	  2,
					      0x81, 0x00, 0, 3, 0x08, 0x00, 0x45, 0,
					      0,    28,	  0, 0, 0,    0,    64,	  17 };
	static const uint8_t arp[] = { 0x08, 0x06, 0, 1, 8, 0 };
	static const uint8_t llc[] = { 0x00, 0x26, 0x42, 0x42, 0x03 };
	static const uint8_t mpls[] = { 0x88, 0x47, 0, 0, 0x11, 64 };
	uint8_t ipv6[2 + 40 + 8 + 8] = { 0x86, 0xdd, 0x60 };
	uint8_t buf[256], sll[16 + 20] = { 0 }, sll2[20 + 20] = { 0 }, lo[4 + 20] = { 0 };
	size_t n;

	(void)state;
	n = eth(buf, ipv4_tcp, sizeof(ipv4_tcp));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_TCP);
	/* Cut anywhere before the protocol byte: "other", never a read past the end. */
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)cut), PR_SM_PROTO_OTHER);
	n = eth(buf, qinq_udp, sizeof(qinq_udp));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_UDP);
	n = eth(buf, three_tags, sizeof(three_tags));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_OTHER);
	n = eth(buf, arp, sizeof(arp));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_NON_IP);
	n = eth(buf, llc, sizeof(llc));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_NON_IP);
	n = eth(buf, mpls, sizeof(mpls));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_OTHER);
	/* IPv6: hop-by-hop (8 bytes), then a fragment header, then ICMPv6. */
	ipv6[2 + 6] = 0;
	ipv6[2 + 40] = 44;
	ipv6[2 + 41] = 0;
	ipv6[2 + 48] = 58;
	n = eth(buf, ipv6, sizeof(ipv6));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_ICMPV6);
	for (size_t cut = 0; cut < 14 + 40 + 8 + 1; cut++)
		assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)cut), PR_SM_PROTO_OTHER);
	/* A hop-by-hop length that points past the packet. */
	ipv6[2 + 41] = 200;
	n = eth(buf, ipv6, sizeof(ipv6));
	assert_int_equal(pr_sm_proto_of_packet(1, buf, (uint32_t)n), PR_SM_PROTO_OTHER);
	/* Linux cooked v1 and v2, loopback both ways, raw IP. */
	sll[14] = 0x08;
	sll[16] = 0x45;
	sll[16 + 9] = 132;
	assert_int_equal(pr_sm_proto_of_packet(113, sll, sizeof(sll)), PR_SM_PROTO_SCTP);
	sll2[0] = 0x08;
	sll2[20] = 0x45;
	sll2[20 + 9] = 47;
	assert_int_equal(pr_sm_proto_of_packet(276, sll2, sizeof(sll2)), PR_SM_PROTO_GRE);
	lo[0] = 2;
	lo[4] = 0x45;
	lo[4 + 9] = 1;
	assert_int_equal(pr_sm_proto_of_packet(0, lo, sizeof(lo)), PR_SM_PROTO_ICMP);
	memset(lo, 0, 4);
	lo[3] = 2;
	assert_int_equal(pr_sm_proto_of_packet(0, lo, sizeof(lo)), PR_SM_PROTO_ICMP);
	assert_int_equal(pr_sm_proto_of_packet(108, lo, sizeof(lo)), PR_SM_PROTO_ICMP);
	lo[3] = 7;
	assert_int_equal(pr_sm_proto_of_packet(108, lo, sizeof(lo)), PR_SM_PROTO_NON_IP);
	lo[4 + 9] = 99;
	assert_int_equal(pr_sm_proto_of_packet(101, lo + 4, 20), PR_SM_PROTO_OTHER);
	lo[4 + 9] = 17;
	assert_int_equal(pr_sm_proto_of_packet(228, lo + 4, 20), PR_SM_PROTO_UDP);
	assert_int_equal(pr_sm_proto_of_packet(105, lo, sizeof(lo)), PR_SM_PROTO_OTHER);
	assert_int_equal(pr_sm_proto_of_packet(1, NULL, 0), PR_SM_PROTO_OTHER);
}

static void test_capture_drops(void **state)
{
	struct pr_sensor_metrics *sm;
	struct pr_sm_capture a, b;
	struct pr_metrics *m;
	uint64_t d[PR_DROP_REASON_MAX] = { 0 };

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(pr_metrics_create(&m), 0);
	assert_int_equal(pr_sensor_metrics_create(m, NULL, &sm), 0);
	d[PR_DROP_RING_FULL] = 10;
	pr_sensor_metrics_capture_drops(sm, &a, d);
	d[PR_DROP_RING_FULL] = 15;
	d[PR_DROP_KERNEL] = 3;
	pr_sensor_metrics_capture_drops(sm, &a, d);
	/* A second capture adds its own. */
	memset(d, 0, sizeof(d));
	d[PR_DROP_RING_FULL] = 7;
	pr_sensor_metrics_capture_drops(sm, &b, d);
	/* The first one's dataplane restarted: its counters start over. */
	memset(d, 0, sizeof(d));
	d[PR_DROP_RING_FULL] = 2;
	pr_sensor_metrics_capture_drops(sm, &a, d);
	assert_true(pr_metric_series_value(sm->drops[PR_DROP_RING_FULL], NULL) == 15 + 7 + 2);
	assert_true(pr_metric_series_value(sm->drops[PR_DROP_KERNEL], NULL) == 3);
	pr_sensor_metrics_destroy(sm);
	pr_metrics_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_checks),
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_hide_counter_set_cap),
		cmocka_unit_test(test_collectors),
		cmocka_unit_test(test_concurrent_updates),
		cmocka_unit_test(test_sensor_metrics),
		cmocka_unit_test(test_sensor_metrics_no_store),
		cmocka_unit_test(test_proto_of_packet),
		cmocka_unit_test(test_capture_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
