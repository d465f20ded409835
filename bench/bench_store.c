// SPDX-License-Identifier: Apache-2.0
/*
 * bench_store: the store's write path alone, and its queries, for
 * bench/bench_store.py (beside dd, tcpdump and netsniff-ng).
 *
 * Write: N packets of S bytes into a new store in one thread, as the
 * capture's ring consumer drives it: a commit every 64 MiB of packet
 * bytes (the capture's default commit_max_bytes), the session ended,
 * the WAL truncated and the store closed: timed to its final sync.
 *
 *   bench_store --db PATH --packets N --size S --mode segments|db [--key HEX64]
 *               [--commit-mb MB]   (default 64, as capture's commit_max_bytes)
 *               [--commit wait|async]  pr_store_commit() (default) or
 *                                  pr_store_commit_async(): the disk syncs one
 *                                  commit while the next is written
 *               [--flow-run N]     flow ids in runs of N packets (default: 1000
 *                                  flows interleaved)
 *               [--ts-step NS]     time between packets (default 1000 ns)
 *               [--lanes N]        the store's block_lanes (default 0: the store's)
 * The JSON line also gives store_wait_s/store_waits: the time the writer
 * waited for the disk up to the final checkpoint (pr_store_get_io_stats()),
 * which tells a disk-bound run from a CPU-bound one.
 * Packets are Ethernet/IPv4/UDP frames of one service (port 9000) from
 * one client address per flow.
 *
 * Query: open the store read-only, read the packets of session 1 that a
 * query wants through the block index (no output), close: timed whole.
 *
 *   bench_store --db PATH --key HEX64 --query flow=ID|time=FROM_NS:TO_NS|last=N
 *
 * Prints one JSON object; exit 0 on success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "pr_store.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int run_query(const char *db, const char *key, const char *query)
{
	struct pr_store_cfg cfg = { .path = db, .key = key, .readonly = true };
	struct pr_store_pkt_query q = { 0 };
	struct pr_store_pkt_iter *it = NULL;
	unsigned long long a = 0, b = 0, packets = 0, bytes = 0;
	uint64_t rd = 0, sk = 0;
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	double t0, t1;
	int rc;

	if (sscanf(query, "flow=%llu", &a) == 1) {
		q.has_flow = true;
		q.flow_id = a;
	} else if (sscanf(query, "time=%llu:%llu", &a, &b) == 2) {
		q.from_ns = a;
		q.to_ns = b;
	} else if (sscanf(query, "last=%llu", &a) == 1) {
		q.last_n = a;
	} else {
		fprintf(stderr, "bench_store: --query flow=ID|time=FROM:TO|last=N\n");
		return 3;
	}
	t0 = now_s();
	if (pr_store_open(&cfg, &st)) {
		fprintf(stderr, "bench_store: %s\n", pr_store_open_error());
		return 1;
	}
	rc = pr_store_pkt_iter_create_query(st, 1, &q, &it);
	while (!rc && (rc = pr_store_pkt_iter_next(it, &pkt)) == 1) {
		packets++;
		bytes += pkt.cap_len;
		rc = 0;
	}
	if (rc < 0)
		fprintf(stderr, "bench_store: %s\n", pr_store_errmsg(st));
	if (it)
		pr_store_pkt_iter_stats(it, &rd, &sk);
	pr_store_pkt_iter_destroy(it);
	pr_store_close(st);
	t1 = now_s();
	printf("{\"query\":\"%s\",\"packets\":%llu,\"bytes\":%llu,\"blocks_read\":%llu,"
	       "\"blocks_skipped\":%llu,\"seconds\":%.4f}\n",
	       query, packets, bytes, (unsigned long long)rd, (unsigned long long)sk, t1 - t0);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *key = NULL, *mode = "segments", *commit = "wait", *query = NULL;
	unsigned long long n = 1000000, size = 1500, commit_bytes = 64u << 20;
	unsigned long long flow_run = 0, ts_step = 1000, lanes = 0;
	struct pr_session_info info = { .name = "bench", .source_kind = "file", .snaplen = 65535 };
	struct pr_store_cfg cfg = { .create = true };
	struct pr_store_io_stats io = { 0 };
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	unsigned long long pending = 0;
	double t0, t1, c0, c1;
	uint8_t *buf;
	int64_t id;
	int err = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--db"))
			db = argv[i + 1];
		else if (!strcmp(argv[i], "--packets"))
			n = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--size"))
			size = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--mode"))
			mode = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			key = argv[i + 1];
		else if (!strcmp(argv[i], "--flow-run"))
			flow_run = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--ts-step"))
			ts_step = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--commit"))
			commit = argv[i + 1];
		else if (!strcmp(argv[i], "--commit-mb"))
			commit_bytes = strtoull(argv[i + 1], NULL, 10) << 20;
		else if (!strcmp(argv[i], "--query"))
			query = argv[i + 1];
		else if (!strcmp(argv[i], "--lanes"))
			lanes = strtoull(argv[i + 1], NULL, 10);
	}
	if (db && query)
		return run_query(db, key, query);
	if (!db || size < 42 || size > 65535 || (strcmp(mode, "segments") && strcmp(mode, "db")) ||
	    (strcmp(commit, "wait") && strcmp(commit, "async"))) {
		fprintf(stderr, "usage: bench_store --db PATH --packets N --size S "
				"--mode segments|db [--key HEX64] [--commit wait|async]\n"
				"       bench_store --db PATH [--key HEX64] --query "
				"flow=ID|time=FROM:TO|last=N\n");
		return 3;
	}
	buf = malloc(size);
	if (!buf)
		return 1;
	for (unsigned long long i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	/* Ethernet, IPv4 10.0.x.y -> 192.0.2.1, UDP 20000 -> 9000. */
	memcpy(buf + 12, "\x08\x00\x45\x00", 4);
	buf[16] = (uint8_t)((size - 14) >> 8);
	buf[17] = (uint8_t)(size - 14);
	memcpy(buf + 18, "\x00\x00\x00\x00\x40\x11\x00\x00\x0a\x00", 10);
	memcpy(buf + 30, "\xc0\x00\x02\x01\x4e\x20\x23\x28", 8);
	buf[38] = (uint8_t)((size - 34) >> 8);
	buf[39] = (uint8_t)(size - 34);
	cfg.path = db;
	cfg.key = key;
	cfg.block_lanes = (uint32_t)lanes;
	cfg.store_mode = strcmp(mode, "db") ? PR_STORE_MODE_SEGMENTS : PR_STORE_MODE_DB;
	t0 = now_s();
	c0 = cpu_s();
	err = pr_store_open(&cfg, &st);
	if (err) {
		fprintf(stderr, "bench_store: %s\n", pr_store_open_error());
		return 1;
	}
	err = pr_store_session_begin(st, &info, &id);
	if (!err) {
		struct pr_store_iface ifc = { .linktype = 1, .snaplen = 65535, .tsresol = 9 };

		snprintf(ifc.name, sizeof(ifc.name), "bench0");
		err = pr_store_session_add_iface(st, id, &ifc);
	}
	for (unsigned long long i = 0; !err && i < n; i++) {
		pkt = (struct pr_block_pkt){
			.ts_ns = 1700000000000000000ull + i * ts_step,
			/* Interleaved flows, or runs of flow_run packets per flow, as on a quiet link. */
			.flow_id = flow_run ? i / flow_run : i % 1000,
			.cap_len = (uint32_t)size,
			.wire_len = (uint32_t)size,
			.data = buf,
		};
		/* The flow's client address; and no two packets alike, as on a real link. */
		buf[28] = (uint8_t)(pkt.flow_id >> 8);
		buf[29] = (uint8_t)pkt.flow_id;
		buf[42] = (uint8_t)i;
		buf[43] = (uint8_t)(i >> 8);
		err = pr_store_add_packet(st, id, &pkt);
		pending += size;
		if (!err && pending >= commit_bytes) {
			uint64_t point;

			err = strcmp(commit, "async") ? pr_store_commit(st) :
							pr_store_commit_async(st, &point);
			pending = 0;
		}
	}
	if (!err)
		err = pr_store_session_end(st, id, PR_SESSION_COMPLETED, "bench");
	if (!err)
		err = pr_store_checkpoint(st, true);
	pr_store_get_io_stats(st, &io);
	if (err)
		fprintf(stderr, "bench_store: %s\n", pr_store_errmsg(st));
	pr_store_close(st);
	t1 = now_s();
	c1 = cpu_s();
	printf("{\"mode\":\"%s\",\"commit\":\"%s\",\"encrypted\":%s,\"packets\":%llu,\"size\":%llu,"
	       "\"bytes\":%llu,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"mb_per_s\":%.1f,"
	       "\"kpps\":%.1f,\"store_wait_s\":%.3f,\"store_waits\":%llu}\n",
	       mode, commit, key ? "true" : "false", n, size, n * size, t1 - t0, c1 - c0,
	       (double)(n * size) / 1e6 / (t1 - t0), (double)n / 1e3 / (t1 - t0),
	       (double)io.wait_ns / 1e9, (unsigned long long)io.waits);
	free(buf);
	return err ? 1 : 0;
}
