// SPDX-License-Identifier: Apache-2.0
/*
 * The completeness map and manifests: loss intervals from synthetic
 * drop_stats rows (growth by reason, bounds by the packets around them or
 * by the wall clock, overlap with a packet-time range, counters that do
 * not grow, loss before the first packet); the same from a real store
 * (rows recorded by pr_store_stats_add(), bounds looked up in the stored
 * packets); the manifest signature member split off and checked by
 * pr_manifest_verify(), and every one-byte change of a signed manifest
 * or of its file reported.
 */
#include <errno.h>
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

/*
 * An observation at packet time ts after `packets` packets: wall clock
 * 5 ns later, the next stored packet 10 ns later, and the first packet
 * stamped after the wall clock the next one.
 */
static struct pr_store_drop_row row(uint64_t ts, uint64_t packets, uint64_t ring, uint64_t kernel)
{
	struct pr_store_drop_row r = {
		.wall_ts_ns = ts + 5,
		.pkt_ts_ns = ts,
		.packets = packets,
		.next_ts_ns = ts + 10,
		.wall_packet = packets + 1,
	};

	r.drops[PR_DROP_RING_FULL] = ring;
	r.drops[PR_DROP_KERNEL] = kernel;
	return r;
}

static void test_no_loss(void **state)
{
	struct pr_store_drop_row rows[] = { row(0, 0, 0, 0), row(100, 10, 0, 0) };
	struct pr_drop_interval iv[4];

	(void)state;
	assert_int_equal(pr_drop_intervals_compute(rows, 2, true, 0, 0, iv, 4), 0);
	assert_int_equal(pr_drop_intervals_compute(NULL, 0, true, 0, 0, iv, 4), 0);
}

static void test_intervals(void **state)
{
	struct pr_store_drop_row rows[] = {
		row(0, 0, 0, 0),    row(100, 10, 3, 0),	 row(200, 20, 3, 0),
		row(300, 30, 3, 7), row(400, 40, 10, 7),
	};
	struct pr_drop_interval iv[4];

	(void)state;
	assert_int_equal(pr_drop_intervals_compute(rows, 5, true, 0, 0, iv, 4), 3);
	/* Ring full, live: before the next stored packet and the wall clock, the earlier. */
	assert_int_equal(iv[0].from_ts_ns, 0);
	assert_int_equal(iv[0].to_ts_ns, 105);
	assert_int_equal(iv[0].after_packet, 0);
	assert_int_equal(iv[0].before_packet, 10);
	assert_int_equal(iv[0].from_wall_ns, 5);
	assert_int_equal(iv[0].to_wall_ns, 105);
	assert_int_equal(iv[0].lost[PR_DROP_RING_FULL], 3);
	assert_int_equal(iv[0].lost_total, 3);
	/* Kernel: bounded by the wall clock, in time and in packets. */
	assert_int_equal(iv[1].from_ts_ns, 200);
	assert_int_equal(iv[1].to_ts_ns, 305);
	assert_int_equal(iv[1].after_packet, 20);
	assert_int_equal(iv[1].before_packet, 31);
	assert_int_equal(iv[1].lost[PR_DROP_KERNEL], 7);
	assert_int_equal(iv[1].lost[PR_DROP_RING_FULL], 0);
	assert_int_equal(iv[2].lost[PR_DROP_RING_FULL], 7);
	assert_int_equal(iv[2].from_ts_ns, 300);
	assert_int_equal(iv[2].to_ts_ns, 405);
	/* Only those that overlap [210, 290]. */
	assert_int_equal(pr_drop_intervals_compute(rows, 5, true, 210, 290, iv, 4), 1);
	assert_int_equal(iv[0].to_ts_ns, 305);
	/* Overlap at the edges counts. */
	assert_int_equal(pr_drop_intervals_compute(rows, 5, true, 305, 0, iv, 4), 2);
	assert_int_equal(pr_drop_intervals_compute(rows, 5, true, 0, 200, iv, 4), 2);
	/* max limits what is written, not the count. */
	assert_int_equal(pr_drop_intervals_compute(rows, 5, true, 0, 0, iv, 1), 3);
}

/* A file: packet times are not wall-clock times, so only the packets bound a loss. */
static void test_file_bounds(void **state)
{
	struct pr_store_drop_row rows[] = { row(0, 0, 0, 0), row(100, 10, 2, 0),
					    row(200, 20, 5, 0) };
	struct pr_drop_interval iv[2];

	(void)state;
	rows[2].next_ts_ns = 0; /* no packet was stored after the last observation */
	assert_int_equal(pr_drop_intervals_compute(rows, 3, false, 0, 0, iv, 2), 2);
	assert_int_equal(iv[0].to_ts_ns, 110);
	assert_int_equal(iv[0].before_packet, 10);
	/* Lost after the last stored packet: open to the end, whatever the wall clock says. */
	assert_int_equal(iv[1].from_ts_ns, 100);
	assert_int_equal(iv[1].to_ts_ns, 0);
	assert_int_equal(iv[1].after_packet, 10);
	assert_int_equal(iv[1].before_packet, 20);
	/* An open end overlaps every later range. */
	assert_int_equal(pr_drop_intervals_compute(rows, 3, false, 1000, 0, iv, 2), 1);
	/* Live, the same loss ends at the observation's wall clock. */
	assert_int_equal(pr_drop_intervals_compute(rows, 3, true, 0, 0, iv, 2), 2);
	assert_int_equal(iv[1].to_ts_ns, 205);
}

/*
 * Ring-full and kernel drops in one interval: the looser bound of the two
 * (the kernel's), and a loss starts at the latest observation of
 * unchanged counters, not at the change before it.
 */
static void test_mixed_and_plateau(void **state)
{
	struct pr_store_drop_row rows[] = { row(0, 0, 0, 0), row(150, 15, 0, 0),
					    row(200, 20, 4, 6) };
	struct pr_drop_interval iv[2];

	(void)state;
	rows[2].wall_packet = 27;
	rows[2].wall_ts_ns = 260;
	assert_int_equal(pr_drop_intervals_compute(rows, 3, true, 0, 0, iv, 2), 1);
	assert_int_equal(iv[0].from_ts_ns, 150);
	assert_int_equal(iv[0].after_packet, 15);
	assert_int_equal(iv[0].to_ts_ns, 260);
	assert_int_equal(iv[0].before_packet, 27);
	assert_int_equal(iv[0].lost_total, 10);
}

static void test_first_row_and_reset(void **state)
{
	/* The first row already counts drops: lost since the start. */
	struct pr_store_drop_row rows[] = { row(50, 5, 2, 0), row(60, 6, 1, 0) };
	struct pr_drop_interval iv[2];

	(void)state;
	assert_int_equal(pr_drop_intervals_compute(rows, 2, true, 0, 0, iv, 2), 1);
	assert_int_equal(iv[0].from_ts_ns, 0);
	assert_int_equal(iv[0].after_packet, 0);
	assert_int_equal(iv[0].lost_total, 2);
}

/* Add packets first..last-1 of the test session: packet i is stamped 1000 * i. */
static void add_packets(struct pr_store *st, int64_t sid, uint64_t first, uint64_t last)
{
	static const uint8_t data[60];

	for (uint64_t i = first; i < last; i++) {
		struct pr_block_pkt p = {
			.ts_ns = 1000 * i,
			.cap_len = sizeof(data),
			.wire_len = sizeof(data),
			.data = data,
		};

		assert_int_equal(pr_store_add_packet(st, sid, &p), 0);
	}
}

static void stats_at(struct pr_store *st, int64_t sid, uint64_t wall, uint64_t ring,
		     uint64_t kernel, int want)
{
	uint64_t d[PR_DROP_REASON_MAX] = { 0 };

	d[PR_DROP_RING_FULL] = ring;
	d[PR_DROP_KERNEL] = kernel;
	assert_int_equal(pr_store_stats_add(st, sid, wall, d), want);
}

/*
 * A real store: unchanged counters keep one row with their latest
 * observation; a ring-full loss ends at the first packet stored after it
 * (or the wall clock, if earlier), a kernel loss at the wall clock and the
 * first packet stamped after it, and the final counters add one more
 * interval that runs past the last stored packet.
 */
static void test_store_intervals(void **state)
{
	char dir[] = "/tmp/test_pr_manifest.XXXXXX", path[64];
	struct pr_session_info info = { .snaplen = 65535 };
	struct pr_store_cfg cfg = { .create = true, .store_mode = PR_STORE_MODE_DB };
	struct pr_store_drop_row *rows = NULL;
	struct pr_drop_interval *iv = NULL;
	uint64_t final[PR_DROP_REASON_MAX] = { 0 };
	struct pr_store *st = NULL;
	bool have_rows;
	size_t n;
	int64_t sid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.db", dir);
	cfg.path = path;
	assert_int_equal(pr_store_open(&cfg, &st), 0);
	snprintf(info.name, sizeof(info.name), "veth0");
	snprintf(info.source, sizeof(info.source), "veth0");
	snprintf(info.source_kind, sizeof(info.source_kind), "interface");
	assert_int_equal(pr_store_session_begin(st, &info, &sid), 0);

	stats_at(st, sid, 500, 0, 0, 1); /* the baseline */
	add_packets(st, sid, 0, 10);
	stats_at(st, sid, 9500, 0, 0, 0); /* a new row: the latest observation */
	add_packets(st, sid, 10, 20);
	stats_at(st, sid, 19500, 0, 0, 0); /* ... which is updated */
	stats_at(st, sid, 19700, 5, 0, 1); /* 5 lost to a full ring */
	add_packets(st, sid, 20, 30);
	stats_at(st, sid, 29500, 5, 0, 0);
	stats_at(st, sid, 35500, 5, 3, 1); /* 3 lost in the kernel */
	add_packets(st, sid, 30, 40);
	final[PR_DROP_RING_FULL] = 7; /* 2 more: only the session's final counters say so */
	final[PR_DROP_KERNEL] = 3;
	assert_int_equal(pr_store_session_set_drops(st, sid, final), 0);
	assert_int_equal(pr_store_session_end(st, sid, PR_SESSION_COMPLETED, "stopped"), 0);

	assert_int_equal(pr_store_stats_get(st, sid, &rows, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(rows[1].packets, 20);
	assert_int_equal(rows[1].wall_ts_ns, 19500);
	assert_int_equal(rows[1].pkt_ts_ns, 19000);
	assert_int_equal(rows[2].drops[PR_DROP_RING_FULL], 5);
	assert_int_equal(rows[3].packets, 30);
	free(rows);

	assert_int_equal(pr_store_drop_intervals(st, sid, 0, 0, &iv, &n, &have_rows), 0);
	assert_true(have_rows);
	assert_int_equal(n, 3);
	/* After packet 19, before packet 20 (stamped 20000) and the wall clock 19700. */
	assert_int_equal(iv[0].lost[PR_DROP_RING_FULL], 5);
	assert_int_equal(iv[0].after_packet, 20);
	assert_int_equal(iv[0].before_packet, 20);
	assert_int_equal(iv[0].from_ts_ns, 19000);
	assert_int_equal(iv[0].to_ts_ns, 19700);
	assert_int_equal(iv[0].from_wall_ns, 19500);
	/* The kernel's: after packet 29, before the first packet stamped after 35500. */
	assert_int_equal(iv[1].lost[PR_DROP_KERNEL], 3);
	assert_int_equal(iv[1].lost_total, 3);
	assert_int_equal(iv[1].after_packet, 30);
	assert_int_equal(iv[1].from_ts_ns, 29000);
	assert_int_equal(iv[1].to_ts_ns, 35500);
	assert_int_equal(iv[1].before_packet, 36);
	/* The last 2: after every stored packet, up to the session's end. */
	assert_int_equal(iv[2].lost_total, 2);
	assert_int_equal(iv[2].after_packet, 30);
	assert_int_equal(iv[2].before_packet, 40);
	assert_true(iv[2].to_ts_ns > 1000000000ull);
	free(iv);

	/* Only what overlaps packet times from 36000 on. */
	assert_int_equal(pr_store_drop_intervals(st, sid, 36000, 0, &iv, &n, &have_rows), 0);
	assert_int_equal(n, 1);
	assert_int_equal(iv[0].lost_total, 2);
	free(iv);
	assert_int_equal(pr_store_drop_intervals(st, sid + 1, 0, 0, &iv, &n, &have_rows), -ENOENT);
	pr_store_close(st);
	unlink(path);
	rmdir(dir);
}

/* Change byte i of buf[0..len) to c; false when it already is c. */
static bool set_byte(char *buf, size_t i, int c)
{
	if ((unsigned char)buf[i] == (unsigned char)c)
		return false;
	buf[i] = (char)c;
	return true;
}

/*
 * A manifest signed by a store's sensor key verifies; every one-byte
 * change of it (each byte flipped in its lowest bit, its case bit and its
 * top bit, or replaced by white space, a digit or a letter) and every
 * one-byte change of the exported file does not. Only the final newline
 * may go, as it is outside the signed bytes and carries nothing.
 */
static void test_manifest_one_byte(void **state)
{
	static const int repl[] = { '\r', '\n', ' ', '0', 'a', 'A', '}', '"' };
	char dir[] = "/tmp/test_pr_manifest.XXXXXX", db[64], file[64];
	struct pr_store_cfg cfg = { .create = true, .store_mode = PR_STORE_MODE_DB };
	uint8_t sha[PR_SHA256_LEN], sig[PR_SENSOR_SIG_LEN], pub[PR_SENSOR_PUBKEY_LEN];
	char shahex[2 * PR_SHA256_LEN + 1], pubhex[2 * PR_SENSOR_PUBKEY_LEN + 1];
	char canon[2048], *text = NULL, *bad;
	struct pr_manifest_check r;
	struct pr_store *st = NULL;
	uint64_t size, checked = 0;
	size_t len = 0, clen;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/s.db", dir);
	snprintf(file, sizeof(file), "%s/x.pcap", dir);
	cfg.path = db;
	assert_int_equal(pr_store_open(&cfg, &st), 0);
	f = fopen(file, "w");
	assert_non_null(f);
	for (int i = 0; i < 300; i++)
		fputc(i * 7 + 3, f);
	fclose(f);
	assert_int_equal(pr_manifest_sha256_file(file, sha, &size), 0);
	pr_manifest_hex(sha, sizeof(sha), shahex);
	assert_int_equal(pr_store_sensor_pubkey(st, pub), 0);
	pr_manifest_hex(pub, sizeof(pub), pubhex);
	clen = (size_t)snprintf(
		canon, sizeof(canon),
		"{\"format\":\"%s\",\"format_version\":1,\"session\":{\"id\":1,\"packets\":40},"
		"\"completeness\":{\"no_loss\":false,\"lost_packets\":10,\"drop_intervals\":["
		"{\"from_ns\":19000,\"to_ns\":19700,\"after_packet\":20,\"before_packet\":20,"
		"\"lost\":5,\"by_reason\":{\"ring_full\":5}}]},\"file_name\":\"x.pcap\","
		"\"file_bytes\":%llu,\"file_sha256\":\"%s\",\"signature_algorithm\":\"Ed25519\","
		"\"sensor_public_key\":\"%s\"}",
		PR_MANIFEST_FORMAT, (unsigned long long)size, shahex, pubhex);
	assert_true(clen < sizeof(canon));
	assert_int_equal(pr_store_sensor_sign(st, canon, clen, sig), 0);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(pr_manifest_write(f, canon, clen, sig), 0);
	fclose(f);
	assert_int_equal(pr_manifest_verify(text, len, file, pub, &r), 0);
	assert_true(pr_manifest_check_ok(&r));
	/* Without its newline it is still the same manifest. */
	assert_int_equal(text[len - 1], '\n');
	assert_int_equal(pr_manifest_verify(text, len - 1, file, pub, &r), 0);
	assert_true(pr_manifest_check_ok(&r));

	bad = malloc(len);
	assert_non_null(bad);
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)text[i];
		int cand[3 + sizeof(repl) / sizeof(repl[0])] = { c ^ 0x01, c ^ 0x20, c ^ 0x80 };

		for (size_t k = 0; k < sizeof(repl) / sizeof(repl[0]); k++)
			cand[3 + k] = repl[k];
		for (size_t k = 0; k < sizeof(cand) / sizeof(cand[0]); k++) {
			memcpy(bad, text, len);
			if (!set_byte(bad, i, cand[k]))
				continue;
			assert_int_equal(pr_manifest_verify(bad, len, file, pub, &r), 0);
			if (pr_manifest_check_ok(&r))
				fail_msg("byte %zu of the manifest changed from 0x%02x to 0x%02x: "
					 "still verifies",
					 i, c, cand[k]);
			/* The manifest's own key cannot hide a change either. */
			assert_int_equal(pr_manifest_verify(bad, len, file, NULL, &r), 0);
			if (pr_manifest_check_ok(&r))
				fail_msg("byte %zu changed to 0x%02x: verifies with the manifest's "
					 "own key",
					 i, cand[k]);
			checked++;
		}
	}
	assert_true(checked > 8 * len);
	free(bad);

	/* Every byte of the file, each changed in one bit. */
	for (long i = 0; i < (long)size; i++) {
		FILE *g = fopen(file, "r+");
		int c;

		assert_non_null(g);
		fseek(g, i, SEEK_SET);
		c = fgetc(g);
		fseek(g, i, SEEK_SET);
		fputc(c ^ 0x10, g);
		fclose(g);
		assert_int_equal(pr_manifest_verify(text, len, file, pub, &r), 0);
		assert_true(r.parsed && r.sig_ok && r.size_ok);
		if (r.hash_ok)
			fail_msg("byte %ld of the file changed: the hash still matches", i);
		g = fopen(file, "r+");
		fseek(g, i, SEEK_SET);
		fputc(c, g);
		fclose(g);
	}
	assert_int_equal(pr_manifest_verify(text, len, file, pub, &r), 0);
	assert_true(pr_manifest_check_ok(&r));
	free(text);
	pr_store_close(st);
	unlink(file);
	unlink(db);
	rmdir(dir);
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
		cmocka_unit_test(test_file_bounds),
		cmocka_unit_test(test_mixed_and_plateau),
		cmocka_unit_test(test_first_row_and_reset),
		cmocka_unit_test(test_store_intervals),
		cmocka_unit_test(test_manifest_verify),
		cmocka_unit_test(test_manifest_one_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
