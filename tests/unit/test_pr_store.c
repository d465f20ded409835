// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the SQLCipher packet store (storage/pr_store.c): a full
 * session written and read back exactly with a passphrase and with a raw
 * key; every way to open a file with the wrong key, no key, or a file
 * that is not ours, each leaving the file byte for byte unchanged; that
 * packet bytes never reach an encrypted file in clear; recovery of a
 * session whose writer was killed; damaged blocks; and, where a tmpfs can
 * be mounted in a private mount namespace, a full disk. The group setup
 * creates a temporary directory that the teardown removes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#define SQLITE_HAS_CODEC 1 /* Debian's SQLCipher declares sqlite3_key() only then */
#include <sqlcipher/sqlite3.h>

#include "pr_record.h"
#include "pr_store.h"

#define PASSPHRASE "correct horse battery staple"
#define RAW_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define MARKER "PRMARKER-payload-7f3a9c"
#define NPKTS 1000u

struct fixture {
	char dir[256];
};

static struct fixture fx;

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", fx.dir, name);
}

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
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_pr_store.XXXXXX");
	return mkdtemp(fx.dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc(n ? (size_t)n : 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static bool file_exists(const char *path)
{
	struct stat sb;

	return !stat(path, &sb);
}

static bool file_contains(const char *path, const char *needle)
{
	size_t len, nl = strlen(needle);
	uint8_t *buf = read_all(path, &len);
	bool found = false;

	for (size_t i = 0; buf && i + nl <= len && !found; i++)
		found = !memcmp(buf + i, needle, nl);
	free(buf);
	return found;
}

static bool file_exists_suffix(const char *path, const char *suffix)
{
	char side[600];

	snprintf(side, sizeof(side), "%s%s", path, suffix);
	return file_exists(side);
}

/* The file and its WAL as they are now, to compare after a failed open. */
struct snapshot {
	uint8_t *db;
	size_t db_len;
	bool wal, shm;
};

static void snap_take(const char *path, struct snapshot *s)
{
	char side[512];

	s->db = read_all(path, &s->db_len);
	assert_non_null(s->db);
	snprintf(side, sizeof(side), "%s-wal", path);
	s->wal = file_exists(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	s->shm = file_exists(side);
}

static void snap_assert_same(const char *path, struct snapshot *s)
{
	struct snapshot now;

	snap_take(path, &now);
	assert_int_equal(now.db_len, s->db_len);
	assert_memory_equal(now.db, s->db, s->db_len);
	assert_int_equal(now.wal, s->wal);
	assert_int_equal(now.shm, s->shm);
	free(now.db);
	free(s->db);
	s->db = NULL;
}

/* Where the stores these tests create keep their packets (segments by default). */
static enum pr_store_mode test_mode = PR_STORE_MODE_SEGMENTS;
static bool test_compress; /* stores these tests create compress their segment blocks */

static int open_store(const char *path, const char *key, bool create, bool readonly,
		      struct pr_store **st)
{
	struct pr_store_cfg cfg = {
		.path = path,
		.key = key,
		.create = create,
		.readonly = readonly,
		.store_mode = test_mode,
		.compress = test_compress,
	};

	return pr_store_open(&cfg, st);
}

/* The deterministic packet i of the test session. */
static uint32_t pkt_cap_len(uint32_t i)
{
	if (i == 500)
		return 65535;
	if (i % 100 == 7)
		return 0;
	return 60 + (i * 37) % 1454;
}

static void pkt_make(uint32_t i, uint8_t *buf, struct pr_block_pkt *pkt)
{
	uint32_t cl = pkt_cap_len(i);

	for (uint32_t j = 0; j < cl; j++)
		buf[j] = (uint8_t)(i * 13 + j);
	if (cl >= sizeof(MARKER))
		memcpy(buf + 20, MARKER, sizeof(MARKER) - 1);
	pkt->ts_ns = 1700000000000000000ull + (uint64_t)i * 1234567u + 89;
	pkt->flow_id = i % 3 ? 1000 + i % 3 : 0;
	pkt->cap_len = cl;
	pkt->wire_len = cl + (i % 4) * 100;
	pkt->iface = (uint16_t)(i % 2);
	pkt->pflags = (uint16_t)(i % 5 == 0 ? 1 : 0);
	pkt->data = buf;
}

static void flow_make(int n, struct pr_store_flow *f)
{
	memset(f, 0, sizeof(*f));
	switch (n) {
	case 0: /* IPv6 TCP, inserted first but second in time */
		f->flow_id = 1001;
		f->first_ts_ns = 1700000000000000500ull;
		f->last_ts_ns = 1700000001000000001ull;
		f->ip_version = 6;
		f->ip_proto = 6;
		inet_pton(AF_INET6, "2001:db8::1", f->src_ip);
		inet_pton(AF_INET6, "fe80::aa:bbff:fecc:ddee", f->dst_ip);
		f->src_port = 51514;
		f->dst_port = 443;
		f->vlan = 100;
		f->iface = 1;
		f->packets[0] = 300;
		f->packets[1] = 33;
		f->bytes[0] = 450000;
		f->bytes[1] = 2112;
		f->tcp_state = PR_TCP_CLOSED;
		f->end_reason = PR_FLOW_END_FIN;
		f->tcp_flags[0] = 0x1b;
		f->tcp_flags[1] = 0x12;
		f->app = 7;
		break;
	case 1: /* IPv4 UDP, first in time */
		f->flow_id = 1002;
		f->first_ts_ns = 1700000000000000089ull;
		f->last_ts_ns = 1700000000000000090ull;
		f->ip_version = 4;
		f->ip_proto = 17;
		inet_pton(AF_INET, "192.0.2.10", f->src_ip);
		inet_pton(AF_INET, "198.51.100.255", f->dst_ip);
		f->src_port = 53;
		f->dst_port = 40000;
		f->packets[0] = 1;
		f->bytes[0] = 80;
		f->end_reason = PR_FLOW_END_IDLE;
		break;
	default: /* same first_ts as flow 0, lower id: ordered before it */
		f->flow_id = 999;
		f->first_ts_ns = 1700000000000000500ull;
		f->last_ts_ns = 1700000000000000500ull;
		f->ip_version = 4;
		f->ip_proto = 1;
		inet_pton(AF_INET, "10.0.0.1", f->src_ip);
		inet_pton(AF_INET, "10.0.0.2", f->dst_ip);
		f->src_port = 8 << 8;
		f->dst_port = 0x1234;
		f->end_reason = PR_FLOW_END_SHUTDOWN;
		break;
	}
}

static const struct pr_store_iface test_ifaces[2] = {
	{ .index = 0,
	  .linktype = 1,
	  .snaplen = 65535,
	  .tsresol = 9,
	  .name = "eth0",
	  .description = "uplink tap" },
	{ .index = 1,
	  .linktype = 113,
	  .snaplen = 262144,
	  .tsresol = 6,
	  .name = "any",
	  .description = "" },
};

/* Every reason its own value: a column read or written in the wrong place shows. */
static const uint64_t test_drops[PR_DROP_REASON_MAX] = { 11, 22, 33, 44,  55, 66,
							 77, 88, 99, 111, 122 };
#define TEST_FILTERED 7
/* received = packets + filtered + drops, as capture stores it */
#define TEST_RECEIVED \
	(NPKTS + TEST_FILTERED + 11 + 22 + 33 + 44 + 55 + 66 + 77 + 88 + 99 + 111 + 122)

/* Write the reference session: 2 interfaces, NPKTS packets over several blocks, 3 flows. */
static int64_t write_session(const char *path, const char *key)
{
	struct pr_session_info info = {
		.name = "test-session",
		.source = "eth0",
		.source_kind = "interface",
		.filter = "tcp or udp",
		.start_ts_ns = 1700000000000000001ull,
		.snaplen = 65535,
	};
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	struct pr_store_flow f;
	int64_t id = 0;

	assert_non_null(buf);
	assert_int_equal(open_store(path, key, true, false, &st), 0);
	assert_int_equal(pr_store_is_encrypted(st), key != NULL);
	assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
	assert_true(id > 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pr_store_session_add_iface(st, id, &test_ifaces[i]), 0);
	for (uint32_t i = 0; i < NPKTS; i++) {
		pkt_make(i, buf, &pkt);
		assert_int_equal(pr_store_add_packet(st, id, &pkt), 0);
		/* A commit in mid-block: the next block starts at an odd sequence. */
		if (i == 600)
			assert_int_equal(pr_store_commit(st), 0);
	}
	for (int n = 0; n < 3; n++) {
		flow_make(n, &f);
		assert_int_equal(pr_store_add_flow(st, id, &f), 0);
	}
	assert_int_equal(pr_store_session_set_drops(st, id, test_drops), 0);
	assert_int_equal(pr_store_session_set_received(st, id, TEST_RECEIVED, TEST_FILTERED), 0);
	assert_int_equal(pr_store_session_end(st, id, PR_SESSION_COMPLETED, "end of file"), 0);
	pr_store_close(st);
	free(buf);
	return id;
}

static int iface_cb(void *ctx, const struct pr_store_iface *ifc)
{
	int *n = ctx;
	const struct pr_store_iface *e = &test_ifaces[*n];

	assert_true(*n < 2);
	assert_int_equal(ifc->index, e->index);
	assert_int_equal(ifc->linktype, e->linktype);
	assert_int_equal(ifc->snaplen, e->snaplen);
	assert_int_equal(ifc->tsresol, e->tsresol);
	assert_string_equal(ifc->name, e->name);
	assert_string_equal(ifc->description, e->description);
	(*n)++;
	return 0;
}

static int flow_cb(void *ctx, const struct pr_store_flow *f)
{
	static const int order[3] = { 1, 2, 0 }; /* by first_ts, then flow id */
	int *n = ctx;
	struct pr_store_flow e;

	assert_true(*n < 3);
	flow_make(order[*n], &e);
	assert_int_equal(f->flow_id, e.flow_id);
	assert_int_equal(f->first_ts_ns, e.first_ts_ns);
	assert_int_equal(f->last_ts_ns, e.last_ts_ns);
	assert_int_equal(f->ip_version, e.ip_version);
	assert_int_equal(f->ip_proto, e.ip_proto);
	assert_memory_equal(f->src_ip, e.src_ip, 16);
	assert_memory_equal(f->dst_ip, e.dst_ip, 16);
	assert_int_equal(f->src_port, e.src_port);
	assert_int_equal(f->dst_port, e.dst_port);
	assert_int_equal(f->vlan, e.vlan);
	assert_int_equal(f->iface, e.iface);
	assert_int_equal(f->packets[0], e.packets[0]);
	assert_int_equal(f->packets[1], e.packets[1]);
	assert_int_equal(f->bytes[0], e.bytes[0]);
	assert_int_equal(f->bytes[1], e.bytes[1]);
	assert_int_equal(f->tcp_state, e.tcp_state);
	assert_int_equal(f->end_reason, e.end_reason);
	assert_int_equal(f->tcp_flags[0], e.tcp_flags[0]);
	assert_int_equal(f->tcp_flags[1], e.tcp_flags[1]);
	assert_int_equal(f->app, e.app);
	(*n)++;
	return 0;
}

static int session_count_cb(void *ctx, const struct pr_session_info *s)
{
	int *n = ctx;

	assert_true(s->id > 0);
	(*n)++;
	return 0;
}

static void verify_packets(struct pr_store *st, int64_t id, uint32_t count)
{
	uint8_t *buf = malloc(65536);
	struct pr_store_pkt_iter *it = NULL;
	struct pr_block_pkt got, want;
	uint32_t n = 0;
	int rc;

	assert_non_null(buf);
	assert_int_equal(pr_store_pkt_iter_create(st, id, &it), 0);
	while ((rc = pr_store_pkt_iter_next(it, &got)) == 1) {
		assert_true(n < count);
		pkt_make(n, buf, &want);
		assert_int_equal(got.ts_ns, want.ts_ns);
		assert_int_equal(got.flow_id, want.flow_id);
		assert_int_equal(got.cap_len, want.cap_len);
		assert_int_equal(got.wire_len, want.wire_len);
		assert_int_equal(got.iface, want.iface);
		assert_int_equal(got.pflags, want.pflags);
		if (want.cap_len)
			assert_memory_equal(got.data, want.data, want.cap_len);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, count);
	pr_store_pkt_iter_destroy(it);
	free(buf);
}

static void expected_counters(uint32_t count, uint64_t *bytes, uint64_t *captured)
{
	uint8_t *buf = malloc(65536);
	struct pr_block_pkt p;

	assert_non_null(buf);
	*bytes = *captured = 0;
	for (uint32_t i = 0; i < count; i++) {
		pkt_make(i, buf, &p);
		*bytes += p.wire_len;
		*captured += p.cap_len;
	}
	free(buf);
}

static void verify_session(const char *path, const char *key, int64_t id, bool readonly)
{
	struct pr_store *st = NULL;
	struct pr_session_info s;
	uint64_t bytes, captured;
	int n;

	assert_int_equal(open_store(path, key, false, readonly, &st), 0);
	assert_int_equal(pr_store_session_get(st, id, &s), 0);
	assert_int_equal(s.id, id);
	assert_string_equal(s.name, "test-session");
	assert_string_equal(s.source, "eth0");
	assert_string_equal(s.source_kind, "interface");
	assert_string_equal(s.filter, "tcp or udp");
	assert_int_equal(s.start_ts_ns, 1700000000000000001ull);
	assert_true(s.end_ts_ns > s.start_ts_ns);
	assert_int_equal(s.status, PR_SESSION_COMPLETED);
	assert_string_equal(s.message, "end of file");
	assert_int_equal(s.packets, NPKTS);
	expected_counters(NPKTS, &bytes, &captured);
	assert_int_equal(s.bytes, bytes);
	assert_int_equal(s.captured_bytes, captured);
	assert_int_equal(s.first_pkt_ts_ns, 1700000000000000089ull);
	assert_int_equal(s.last_pkt_ts_ns, 1700000000000000089ull + (NPKTS - 1) * 1234567ull);
	assert_memory_equal(s.drops, test_drops, sizeof(test_drops));
	assert_int_equal(s.received, TEST_RECEIVED);
	assert_int_equal(s.filtered, TEST_FILTERED);
	assert_int_equal(s.flows, 3);
	assert_int_equal(s.snaplen, 65535);
	assert_int_equal(s.writer_pid, getpid());

	n = 0;
	assert_int_equal(pr_store_ifaces_foreach(st, id, iface_cb, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(pr_store_flows_foreach(st, id, flow_cb, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(pr_store_sessions_foreach(st, session_count_cb, &n), 0);
	assert_int_equal(n, 1);
	verify_packets(st, id, NPKTS);
	pr_store_close(st);
}

static void test_roundtrip_passphrase(void **state)
{
	char path[512];
	int64_t id;

	(void)state;
	path_in(path, sizeof(path), "pass.db");
	id = write_session(path, PASSPHRASE);
	verify_session(path, PASSPHRASE, id, false);
	verify_session(path, PASSPHRASE, id, true);
}

static void test_roundtrip_raw_key(void **state)
{
	char path[512];
	int64_t id;

	(void)state;
	path_in(path, sizeof(path), "raw.db");
	id = write_session(path, RAW_KEY);
	verify_session(path, RAW_KEY, id, true);
	/* The same key in SQLCipher's literal form opens the same file. */
	verify_session(path, "x'" RAW_KEY "'", id, true);
}

static void test_roundtrip_plaintext(void **state)
{
	char path[512];
	int64_t id;

	(void)state;
	path_in(path, sizeof(path), "plain.db");
	id = write_session(path, NULL);
	verify_session(path, NULL, id, false);
	verify_session(path, "", id, true);
}

static void expect_open_fails(const char *path, const char *key, int err, const char *msg_part)
{
	struct pr_store *st = (struct pr_store *)1;
	struct snapshot snap;

	snap_take(path, &snap);
	assert_int_equal(open_store(path, key, false, false, &st), err);
	assert_null(st);
	if (!strstr(pr_store_open_error(), msg_part))
		fail_msg("message \"%s\" lacks \"%s\"", pr_store_open_error(), msg_part);
	assert_non_null(strstr(pr_store_open_error(), path));
	assert_int_equal(open_store(path, key, true, false, &st), err);
	snap_assert_same(path, &snap);
	/*
	 * A read-only open fails the same way. It may leave an empty -wal and
	 * -shm beside a WAL-mode file, as any SQLite reader does (the last
	 * read-write connection removes them), so only the file is compared.
	 */
	snap_take(path, &snap);
	assert_int_equal(open_store(path, key, false, true, &st), err);
	snap.wal = file_exists_suffix(path, "-wal");
	snap.shm = file_exists_suffix(path, "-shm");
	snap_assert_same(path, &snap);
}

static void test_wrong_key(void **state)
{
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "pass.db");
	expect_open_fails(path, "not the passphrase", -EKEYREJECTED, "wrong encryption key");
	expect_open_fails(path, RAW_KEY, -EKEYREJECTED, "wrong encryption key");
	path_in(path, sizeof(path), "raw.db");
	expect_open_fails(path, PASSPHRASE, -EKEYREJECTED, "wrong encryption key");
	expect_open_fails(path, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			  -EKEYREJECTED, "wrong encryption key");
}

static void test_no_key_on_encrypted(void **state)
{
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "pass.db");
	expect_open_fails(path, NULL, -EKEYREJECTED, "database is encrypted: give the key");
	expect_open_fails(path, "", -EKEYREJECTED, "--encryption-key or PACKETRECORDER_DB_KEY");
}

static void test_key_on_plaintext(void **state)
{
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "plain.db");
	expect_open_fails(path, PASSPHRASE, -EKEYREJECTED,
			  "database is not encrypted, but a key was given");
}

static void test_missing_file(void **state)
{
	struct pr_store *st = NULL;
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "nonexistent.db");
	assert_int_equal(open_store(path, NULL, false, false, &st), -ENOENT);
	assert_non_null(strstr(pr_store_open_error(), "no such database"));
	assert_int_equal(open_store(path, PASSPHRASE, false, true, &st), -ENOENT);
	assert_int_equal(open_store(path, NULL, true, true, &st), -ENOENT);
	assert_false(file_exists(path));
}

/* Does any segment file of the store at path contain needle? */
static bool segments_contain(const char *path, const char *needle)
{
	char dir[600], f[900];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s.segments", path);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", dir, de->d_name);
		found = file_contains(f, needle);
	}
	closedir(d);
	return found;
}

/*
 * Packet bytes reach a file in clear only in a plaintext store in db
 * mode: segments are sealed even where the database is not encrypted.
 */
static void test_marker_only_in_plaintext(void **state)
{
	const char *names[3] = { "pass.db", "raw.db", "plain.db" };
	char path[512], wal[520];

	(void)state;
	for (int i = 0; i < 3; i++) {
		path_in(path, sizeof(path), names[i]);
		snprintf(wal, sizeof(wal), "%s-wal", path);
		assert_false(file_contains(path, MARKER));
		assert_false(file_contains(wal, MARKER));
		assert_false(segments_contain(path, MARKER));
	}
	path_in(path, sizeof(path), "plain-dbmode.db");
	test_mode = PR_STORE_MODE_DB;
	write_session(path, NULL);
	test_mode = PR_STORE_MODE_SEGMENTS;
	assert_true(file_contains(path, MARKER));
	path_in(path, sizeof(path), "raw-dbmode.db");
	test_mode = PR_STORE_MODE_DB;
	write_session(path, RAW_KEY);
	test_mode = PR_STORE_MODE_SEGMENTS;
	assert_false(file_contains(path, MARKER));
}

/* The same check while a writer holds committed data in its WAL. */
static void test_marker_in_open_wal(void **state)
{
	struct pr_session_info info = { .name = "wal" };
	uint8_t *buf = malloc(65536);
	struct pr_block_pkt pkt;
	struct pr_store *st[2] = { NULL, NULL };
	const char *keys[2] = { RAW_KEY, NULL };
	char path[2][512], wal[520];
	int64_t id;

	(void)state;
	assert_non_null(buf);
	path_in(path[0], sizeof(path[0]), "wal-enc.db");
	path_in(path[1], sizeof(path[1]), "wal-plain.db");
	test_mode = PR_STORE_MODE_DB;
	for (int k = 0; k < 2; k++) {
		assert_int_equal(open_store(path[k], keys[k], true, false, &st[k]), 0);
		assert_int_equal(pr_store_session_begin(st[k], &info, &id), 0);
		for (uint32_t i = 0; i < 300; i++) {
			pkt_make(i, buf, &pkt);
			assert_int_equal(pr_store_add_packet(st[k], id, &pkt), 0);
		}
		assert_int_equal(pr_store_commit(st[k]), 0);
		snprintf(wal, sizeof(wal), "%s-wal", path[k]);
		assert_true(file_exists(wal));
		assert_int_equal(file_contains(wal, MARKER) || file_contains(path[k], MARKER),
				 k == 1);
	}
	test_mode = PR_STORE_MODE_SEGMENTS;
	pr_store_close(st[0]);
	pr_store_close(st[1]);
	free(buf);
}

static void test_missing_session(void **state)
{
	struct pr_store_pkt_iter *it = (struct pr_store_pkt_iter *)1;
	struct pr_session_info s;
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt = { 0 };
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "raw.db");
	assert_int_equal(open_store(path, RAW_KEY, false, false, &st), 0);
	assert_int_equal(pr_store_session_get(st, 424242, &s), -ENOENT);
	assert_int_equal(pr_store_pkt_iter_create(st, 424242, &it), -ENOENT);
	assert_null(it);
	assert_int_equal(pr_store_add_packet(st, 424242, &pkt), -ENOENT);
	assert_int_equal(pr_store_session_end(st, 424242, PR_SESSION_COMPLETED, ""), -ENOENT);
	assert_non_null(strstr(pr_store_errmsg(st), "424242"));
	pr_store_close(st);
}

static void test_readonly_refuses_writes(void **state)
{
	struct pr_session_info info = { .name = "x" };
	struct pr_store *st = NULL;
	char path[512];
	int64_t id;

	(void)state;
	path_in(path, sizeof(path), "plain.db");
	assert_int_equal(open_store(path, NULL, false, true, &st), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id), -EROFS);
	assert_int_equal(pr_store_recover(st), -EROFS);
	assert_int_equal(pr_store_commit(st), 0);
	pr_store_close(st);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_not_a_database(void **state)
{
	static const char text[] = "this is a text file, not a database\n";
	uint8_t rnd[8192];
	char path[512];
	uint32_t x = 0x12345678;
	struct pr_store *st = NULL;
	int err;

	(void)state;
	path_in(path, sizeof(path), "text.txt");
	write_file(path, text, sizeof(text) - 1);
	expect_open_fails(path, NULL, -EBADMSG, "not a database");
	expect_open_fails(path, PASSPHRASE, -EBADMSG, "not a database");

	/* Random whole pages look exactly like an encrypted file. */
	for (size_t i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	path_in(path, sizeof(path), "random.bin");
	write_file(path, rnd, sizeof(rnd));
	expect_open_fails(path, NULL, -EKEYREJECTED, "database is encrypted");
	expect_open_fails(path, PASSPHRASE, -EKEYREJECTED,
			  "wrong encryption key, or not a database");

	/* An empty file is only initialised when asked to create. */
	path_in(path, sizeof(path), "empty.db");
	write_file(path, "", 0);
	assert_int_equal(open_store(path, NULL, false, false, &st), -EBADMSG);
	assert_non_null(strstr(pr_store_open_error(), "empty file"));
	assert_int_equal(open_store(path, NULL, true, true, &st), -EBADMSG);
	err = open_store(path, NULL, true, false, &st);
	assert_int_equal(err, 0);
	pr_store_close(st);
}

/* A SQLite database of some other program: ours to refuse, not to migrate. */
static void test_foreign_sqlite(void **state)
{
	char path[512];
	sqlite3 *db;

	(void)state;
	path_in(path, sizeof(path), "foreign.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes(x); INSERT INTO notes VALUES(1)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	expect_open_fails(path, NULL, -EBADMSG, "not a packetrecorder database");
}

static void test_newer_schema(void **state)
{
	struct pr_store *st = NULL;
	char path[512];
	sqlite3 *db;

	(void)state;
	path_in(path, sizeof(path), "newer.db");
	assert_int_equal(open_store(path, NULL, true, false, &st), 0);
	pr_store_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_open_fails(path, NULL, -EBADMSG, "created by a newer packetrecorder (schema 99)");
}

static int64_t *mmap_shared_id(void)
{
	void *p = mmap(NULL, sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	assert_true(p != MAP_FAILED);
	memset(p, 0, sizeof(int64_t));
	return p;
}

static void munmap_shared_id(int64_t *p)
{
	munmap(p, sizeof(*p));
}

/* Recovery: a child commits 250 packets, adds 120 more and is killed. */
#define CHILD_COMMITTED 250u
#define CHILD_EXTRA 120u

static void child_write_and_die(const char *path, int64_t *id_out)
{
	struct pr_store_cfg cfg = {
		.path = path,
		.key = RAW_KEY,
		.create = true,
		.block_max_packets = 100,
	};
	struct pr_session_info info = { .name = "killed", .source_kind = "interface" };
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	struct pr_store_flow f;
	int64_t id;

	if (!buf || pr_store_open(&cfg, &st) || pr_store_session_begin(st, &info, &id))
		_exit(2);
	*id_out = id;
	for (uint32_t i = 0; i < CHILD_COMMITTED + CHILD_EXTRA; i++) {
		pkt_make(i, buf, &pkt);
		if (pr_store_add_packet(st, id, &pkt))
			_exit(3);
		if (i + 1 == CHILD_COMMITTED) {
			flow_make(1, &f);
			if (pr_store_add_flow(st, id, &f) || pr_store_commit(st))
				_exit(4);
		}
	}
	flow_make(0, &f);
	if (pr_store_add_flow(st, id, &f))
		_exit(5);
	/* Two more blocks are in the open transaction: they must not survive. */
	kill(getpid(), SIGKILL);
	_exit(6);
}

/*
 * Run child_write_and_die() in a child and wait for its SIGKILL. The
 * child's session id comes back through a shared anonymous page.
 */
static int64_t *fork_killed_writer(const char *path)
{
	int64_t *shared_id = mmap_shared_id();
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		child_write_and_die(path, shared_id);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	return shared_id;
}

static void test_recover_killed_writer(void **state)
{
	int64_t *shared_id;
	struct pr_session_info s;
	struct pr_store *st = NULL;
	uint64_t bytes, captured;
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "recover.db");
	shared_id = fork_killed_writer(path);

	assert_int_equal(open_store(path, RAW_KEY, false, false, &st), 0);
	assert_int_equal(pr_store_session_get(st, *shared_id, &s), 0);
	assert_int_equal(s.status, PR_SESSION_RUNNING);
	assert_int_equal(pr_store_recover(st), 1);
	assert_int_equal(pr_store_recover(st), 0);
	assert_int_equal(pr_store_session_get(st, *shared_id, &s), 0);
	assert_int_equal(s.status, PR_SESSION_INTERRUPTED);
	assert_string_equal(pr_session_status_name(s.status), "interrupted");
	assert_int_equal(s.packets, CHILD_COMMITTED);
	expected_counters(CHILD_COMMITTED, &bytes, &captured);
	assert_int_equal(s.bytes, bytes);
	assert_int_equal(s.captured_bytes, captured);
	assert_int_equal(s.flows, 1);
	assert_int_equal(s.first_pkt_ts_ns, 1700000000000000089ull);
	assert_int_equal(s.last_pkt_ts_ns,
			 1700000000000000089ull + (CHILD_COMMITTED - 1) * 1234567ull);
	assert_int_equal(s.end_ts_ns, s.last_pkt_ts_ns);
	assert_non_null(strstr(s.message, "interrupted: the capture process died"));
	verify_packets(st, *shared_id, CHILD_COMMITTED);
	pr_store_close(st);
	munmap_shared_id(shared_id);
}

/* A running session of this live process is left alone. */
static void test_recover_skips_live_writer(void **state)
{
	struct pr_session_info info = { .name = "live" }, s;
	struct pr_store *st = NULL, *other = NULL;
	char path[512];
	int64_t id;

	(void)state;
	path_in(path, sizeof(path), "live.db");
	assert_int_equal(open_store(path, NULL, true, false, &st), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
	assert_int_equal(open_store(path, NULL, false, false, &other), 0);
	assert_int_equal(pr_store_recover(other), 0);
	assert_int_equal(pr_store_session_get(other, id, &s), 0);
	assert_int_equal(s.status, PR_SESSION_RUNNING);
	assert_string_equal(pr_session_status_name(s.status), "running");
	pr_store_close(other);
	pr_store_close(st);
}

/*
 * A pid that is alive but belongs to a process started at another time
 * (pid reuse) or a session from an earlier boot is a dead writer.
 */
static void test_recover_reused_pid(void **state)
{
	struct pr_session_info info = { .name = "reused" }, s;
	struct pr_store *st = NULL;
	char path[512], sql[256];
	sqlite3 *db;
	int64_t id[2];

	(void)state;
	path_in(path, sizeof(path), "reused.db");
	assert_int_equal(open_store(path, NULL, true, false, &st), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id[0]), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id[1]), 0);
	assert_int_equal(pr_store_commit(st), 0);
	pr_store_close(st);
	/* Session 1: our parent's pid (alive), with a start time that is not its own. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "UPDATE sessions SET writer_pid = %d, writer_start = 1 WHERE id = %lld",
		 (int)getppid(), (long long)id[0]);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	/* Session 2: our own pid and start time, but written in another boot. */
	snprintf(sql, sizeof(sql),
		 "UPDATE sessions SET writer_boot_id = 'another-boot' WHERE id = %lld",
		 (long long)id[1]);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(open_store(path, NULL, false, false, &st), 0);
	assert_int_equal(pr_store_recover(st), 2);
	assert_int_equal(pr_store_session_get(st, id[0], &s), 0);
	assert_int_equal(s.status, PR_SESSION_INTERRUPTED);
	assert_int_equal(pr_store_session_get(st, id[1], &s), 0);
	assert_int_equal(s.status, PR_SESSION_INTERRUPTED);
	pr_store_close(st);
}

/* Two sessions written in alternation keep their own order and counters. */
static void test_interleaved_sessions(void **state)
{
	struct pr_store_cfg cfg = { .create = true, .block_max_packets = 7 };
	struct pr_session_info info = { .name = "a" }, s;
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	char path[512];
	int64_t id[2];

	(void)state;
	assert_non_null(buf);
	path_in(path, sizeof(path), "two.db");
	cfg.path = path;
	assert_int_equal(pr_store_open(&cfg, &st), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id[0]), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id[1]), 0);
	for (uint32_t i = 0; i < 100; i++) {
		pkt_make(i / 2, buf, &pkt);
		assert_int_equal(pr_store_add_packet(st, id[i % 2], &pkt), 0);
	}
	assert_int_equal(pr_store_commit(st), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(pr_store_session_get(st, id[k], &s), 0);
		assert_int_equal(s.packets, 50);
		verify_packets(st, id[k], 50);
	}
	pr_store_close(st);
	free(buf);
}

/*
 * A reader opens the file while a writer holds an open transaction (WAL):
 * it is not blocked, sees only what was committed, and sees a commit
 * as soon as it happens.
 */
static void test_reader_during_write(void **state)
{
	struct pr_session_info info = { .name = "busy" }, s;
	uint8_t *buf = malloc(65536);
	struct pr_store *wr = NULL, *rd = NULL;
	struct pr_block_pkt pkt;
	char path[512];
	int64_t id;
	int n = 0;

	(void)state;
	assert_non_null(buf);
	path_in(path, sizeof(path), "busy.db");
	assert_int_equal(open_store(path, PASSPHRASE, true, false, &wr), 0);
	assert_int_equal(pr_store_session_begin(wr, &info, &id), 0);
	for (uint32_t i = 0; i < 600; i++) {
		pkt_make(i, buf, &pkt);
		assert_int_equal(pr_store_add_packet(wr, id, &pkt), 0);
	}
	assert_int_equal(open_store(path, PASSPHRASE, false, true, &rd), 0);
	assert_int_equal(pr_store_sessions_foreach(rd, session_count_cb, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pr_store_session_get(rd, id, &s), 0);
	assert_int_equal(s.packets, 0);
	verify_packets(rd, id, 0);
	assert_int_equal(pr_store_commit(wr), 0);
	assert_int_equal(pr_store_session_get(rd, id, &s), 0);
	assert_int_equal(s.packets, 600);
	verify_packets(rd, id, 600);
	pr_store_close(rd);
	pr_store_close(wr);
	free(buf);
}

/*
 * Two writers in one process, as in the daemon: one that begins its next
 * transaction right after each commit (an ingest), and one that starts a
 * session. With only SQLite's busy handler the second slept through the
 * moments the lock was free and failed after 5 s with "database is
 * locked"; the write gate queues it behind the transaction in progress.
 */
struct hog {
	const char *path;
	atomic_bool ready, stop;
	int err;
	unsigned txns;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *hog_main(void *arg)
{
	struct pr_session_info info = { .name = "hog" };
	struct hog *h = arg;
	struct pr_store *st = NULL;
	int64_t id;

	h->err = open_store(h->path, PASSPHRASE, false, false, &st);
	while (!h->err && !atomic_load(&h->stop)) {
		/* Each transaction holds the write lock for 400 ms; the next follows at once. */
		h->err = pr_store_session_begin(st, &info, &id);
		/* The session row is committed at once; its interface opens the transaction. */
		if (!h->err)
			h->err = pr_store_session_add_iface(st, id, &test_ifaces[0]);
		atomic_store(&h->ready, true);
		if (!h->err)
			usleep(400000);
		if (!h->err)
			h->err = pr_store_session_end(st, id, PR_SESSION_COMPLETED, "");
		if (!h->err)
			h->err = pr_store_commit(st);
		h->txns++;
	}
	atomic_store(&h->ready, true);
	pr_store_close(st);
	return NULL;
}

static void test_writers_take_turns(void **state)
{
	struct pr_session_info info = { .name = "second" };
	struct hog h = { 0 };
	struct pr_store *st = NULL;
	pthread_t thr;
	char path[512];
	uint64_t t0, waited;
	int64_t id;

	(void)state;
	path_in(path, sizeof(path), "turns.db");
	assert_int_equal(open_store(path, PASSPHRASE, true, false, &st), 0);
	h.path = path;
	assert_int_equal(pthread_create(&thr, NULL, hog_main, &h), 0);
	while (!atomic_load(&h.ready))
		usleep(1000);
	usleep(100000);
	for (int round = 0; round < 3; round++) {
		t0 = now_ms();
		assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
		assert_int_equal(pr_store_commit(st), 0);
		waited = now_ms() - t0;
		/* Behind one 400 ms transaction, not a busy timeout (5 s). */
		assert_true(waited < 3000);
	}
	atomic_store(&h.stop, true);
	pthread_join(thr, NULL);
	assert_int_equal(h.err, 0);
	assert_true(h.txns >= 1);
	pr_store_close(st);
}

/* A refused row (duplicate interface) fails alone: pending packets survive. */
static void test_duplicate_iface_keeps_pending(void **state)
{
	struct pr_session_info info = { .name = "dup" }, s;
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	char path[512];
	int64_t id;

	(void)state;
	assert_non_null(buf);
	path_in(path, sizeof(path), "dup.db");
	assert_int_equal(open_store(path, NULL, true, false, &st), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
	assert_int_equal(pr_store_session_add_iface(st, id, &test_ifaces[0]), 0);
	for (uint32_t i = 0; i < 300; i++) {
		pkt_make(i, buf, &pkt);
		assert_int_equal(pr_store_add_packet(st, id, &pkt), 0);
	}
	assert_int_equal(pr_store_session_add_iface(st, id, &test_ifaces[0]), -EEXIST);
	assert_non_null(strstr(pr_store_errmsg(st), "insert interface 0"));
	pkt.cap_len = PR_MAX_SNAPLEN + 1;
	assert_int_equal(pr_store_add_packet(st, id, &pkt), -EMSGSIZE);
	assert_int_equal(pr_store_commit(st), 0);
	assert_int_equal(pr_store_session_get(st, id, &s), 0);
	assert_int_equal(s.packets, 300);
	verify_packets(st, id, 300);
	pr_store_close(st);
	free(buf);
}

/* A block whose bytes were damaged on disk: -EBADMSG naming session and block. */
static void test_damaged_block(void **state)
{
	struct pr_store_pkt_iter *it = NULL;
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	char path[512], expect[64];
	sqlite3 *db;
	int64_t id;
	int rc, n = 0;

	(void)state;
	path_in(path, sizeof(path), "damaged.db");
	test_mode = PR_STORE_MODE_DB;
	id = write_session(path, NULL);
	test_mode = PR_STORE_MODE_SEGMENTS;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* Cut the second block short: its last packets run past the end. */
	assert_int_equal(
		sqlite3_exec(db,
			     "UPDATE packet_blocks SET data = substr(data, 1, length(data) - 9)"
			     " WHERE id = (SELECT id FROM packet_blocks ORDER BY first_seq"
			     " LIMIT 1 OFFSET 1)",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(open_store(path, NULL, false, true, &st), 0);
	assert_int_equal(pr_store_pkt_iter_create(st, id, &it), 0);
	while ((rc = pr_store_pkt_iter_next(it, &pkt)) == 1)
		n++;
	assert_int_equal(rc, -EBADMSG);
	assert_true(n >= 256 && n < 512);
	assert_int_equal(pr_store_pkt_iter_next(it, &pkt), -EBADMSG);
	snprintf(expect, sizeof(expect), "session %lld block ", (long long)id);
	assert_non_null(strstr(pr_store_errmsg(st), expect));
	assert_non_null(strstr(pr_store_errmsg(st), "damaged"));
	pr_store_pkt_iter_destroy(it);
	pr_store_close(st);
}

/*
 * A full disk, on a 4 MiB tmpfs mounted in a private mount namespace of a
 * child process, so nothing outside the test sees it. Needs root or
 * unprivileged user namespaces; skipped otherwise.
 */
#define SKIP_CODE 77

#define CHILD_CHECK(cond)                                                                        \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			return 1;                                                                \
		}                                                                                \
	} while (0)

static int write_id_map(const char *file, const char *map)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, map, strlen(map)) == (ssize_t)strlen(map);
	close(fd);
	return ok ? 0 : -1;
}

static int private_tmpfs(const char *dir)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWNS)) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
			return -1;
		write_id_map("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if (write_id_map("/proc/self/uid_map", map))
			return -1;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if (write_id_map("/proc/self/gid_map", map))
			return -1;
	}
	/* Without this, a shared / would carry the mount back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	return mount("tmpfs", dir, "tmpfs", 0, "size=4m");
}

static int disk_full_child(const char *dir)
{
	struct pr_session_info info = { .name = "full" }, s;
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	uint64_t committed = 0, added = 0;
	char path[600];
	int64_t id;
	int err = 0;

	if (private_tmpfs(dir)) {
		fprintf(stderr, "cannot mount a tmpfs (%s): skipping the full-disk test\n",
			strerror(errno));
		return SKIP_CODE;
	}
	snprintf(path, sizeof(path), "%s/full.db", dir);
	CHILD_CHECK(buf != NULL);
	CHILD_CHECK(open_store(path, RAW_KEY, true, false, &st) == 0);
	CHILD_CHECK(pr_store_session_begin(st, &info, &id) == 0);
	while (!err && added < 100000) {
		pkt_make((uint32_t)added % NPKTS, buf, &pkt);
		err = pr_store_add_packet(st, id, &pkt);
		if (err)
			break;
		added++;
		if (added % 200 == 0) {
			err = pr_store_commit(st);
			if (!err)
				committed = added;
		}
	}
	fprintf(stderr, "disk full after %llu packets, %llu committed: %s\n",
		(unsigned long long)added, (unsigned long long)committed, pr_store_errmsg(st));
	CHILD_CHECK(err == -ENOSPC);
	CHILD_CHECK(committed > 0);
	/* The database or a segment file, whichever met the full disk first. */
	CHILD_CHECK(strstr(pr_store_errmsg(st), "database or disk is full") != NULL ||
		    strstr(pr_store_errmsg(st), strerror(ENOSPC)) != NULL);
	/* The failed transaction is gone; what was committed reads back whole. */
	CHILD_CHECK(pr_store_session_get(st, id, &s) == 0);
	CHILD_CHECK(s.packets == committed);
	pr_store_close(st);
	st = NULL;
	if (open_store(path, RAW_KEY, false, true, &st))
		fprintf(stderr, "reopen: %s\n", pr_store_open_error());
	CHILD_CHECK(st != NULL);
	CHILD_CHECK(pr_store_session_get(st, id, &s) == 0);
	CHILD_CHECK(s.packets == committed);
	{
		struct pr_store_pkt_iter *it = NULL;
		uint64_t n = 0;
		int rc;

		CHILD_CHECK(pr_store_pkt_iter_create(st, id, &it) == 0);
		while ((rc = pr_store_pkt_iter_next(it, &pkt)) == 1)
			n++;
		CHILD_CHECK(rc == 0 && n == committed);
		pr_store_pkt_iter_destroy(it);
	}
	pr_store_close(st);
	free(buf);
	return 0;
}

/* Path of the segment file of block number nth (0-based) of session id, and its offset. */
static void block_location(const char *path, const char *key, int64_t id, int nth, char *file,
			   size_t len, long long *off, long long *seg_len)
{
	sqlite3_stmt *st;
	char sql[256];
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (key) {
		char k[80];

		snprintf(k, sizeof(k), "x'%s'", key);
		assert_int_equal(sqlite3_key(db, k, (int)strlen(k)), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA cipher_page_size = 65536", NULL, NULL,
					      NULL),
				 SQLITE_OK);
	}
	snprintf(sql, sizeof(sql),
		 "SELECT s.file, b.seg_offset, b.seg_len FROM packet_blocks b JOIN segments s ON "
		 "s.id = b.segment_id WHERE b.session_id = %lld ORDER BY b.first_seq LIMIT 1 "
		 "OFFSET %d",
		 (long long)id, nth);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(file, len, "%s.segments/%s", path, (const char *)sqlite3_column_text(st, 0));
	*off = sqlite3_column_int64(st, 1);
	*seg_len = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Read the session's packets until an error; returns it, *n the packets read. */
static int read_until_error(const char *path, const char *key, int64_t id, int *n)
{
	struct pr_store_pkt_iter *it = NULL;
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	int rc;

	*n = 0;
	assert_int_equal(open_store(path, key, false, true, &st), 0);
	assert_int_equal(pr_store_pkt_iter_create(st, id, &it), 0);
	while ((rc = pr_store_pkt_iter_next(it, &pkt)) == 1)
		(*n)++;
	if (rc)
		fprintf(stderr, "as expected: %s\n", pr_store_errmsg(st));
	pr_store_pkt_iter_destroy(it);
	pr_store_close(st);
	return rc;
}

static void flip_byte(const char *file, long long off)
{
	int fd = open(file, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/*
 * Sealed segments: one changed byte in a block's data, in its header, or
 * a cut file, is an integrity error naming segment and block; the blocks
 * before it read back whole.
 */
static void test_segment_tamper(void **state)
{
	char path[512], file[700];
	long long off, len;
	int64_t id;
	int n;

	(void)state;
	path_in(path, sizeof(path), "tamper.db");
	id = write_session(path, RAW_KEY);
	verify_session(path, RAW_KEY, id, true);
	block_location(path, RAW_KEY, id, 1, file, sizeof(file), &off, &len);
	assert_true(len >= 4096 && len % 4096 == 0);

	flip_byte(file, off + 64 + 100); /* sealed data */
	assert_int_equal(read_until_error(path, RAW_KEY, id, &n), -EBADMSG);
	assert_int_equal(n, 256);
	flip_byte(file, off + 64 + 100);
	assert_int_equal(read_until_error(path, RAW_KEY, id, &n), 0);
	assert_int_equal(n, NPKTS);

	flip_byte(file, off + 24); /* header: the session id, authenticated */
	assert_int_equal(read_until_error(path, RAW_KEY, id, &n), -EBADMSG);
	assert_int_equal(n, 256);
	flip_byte(file, off + 24);

	flip_byte(file, off + 8); /* header: the segment id, checked against the index */
	assert_int_equal(read_until_error(path, RAW_KEY, id, &n), -EBADMSG);
	flip_byte(file, off + 8);

	assert_int_equal(truncate(file, off + len / 2), 0); /* cut inside the second block */
	assert_int_equal(read_until_error(path, RAW_KEY, id, &n), -EBADMSG);
	assert_int_equal(n, 256);
}

/* Every segment has its own key; block numbers (nonces) never repeat in one. */
static void test_segment_keys_and_nonces(void **state)
{
	char path[512], k[80];
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t id1, id2;

	(void)state;
	path_in(path, sizeof(path), "nonces.db");
	id1 = write_session(path, RAW_KEY);
	id2 = write_session(path, RAW_KEY);
	assert_true(id2 > id1);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(k, sizeof(k), "x'%s'", RAW_KEY);
	assert_int_equal(sqlite3_key(db, k, (int)strlen(k)), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA cipher_page_size = 65536", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*), count(DISTINCT data_key), "
					    "count(DISTINCT session_id) FROM segments",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int(st, 0) >= 2);
	assert_int_equal(sqlite3_column_int(st, 1), sqlite3_column_int(st, 0));
	assert_int_equal(sqlite3_column_int(st, 2), 2);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM (SELECT segment_id, seg_seq, "
					    "count(*) AS n FROM packet_blocks GROUP BY 1, 2 "
					    "HAVING n > 1)",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	/* Crypto-shredding: without its key a segment cannot be read at all. */
	sqlite3_close(db);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_key(db, k, (int)strlen(k)), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA cipher_page_size = 65536", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE segments SET data_key = NULL WHERE session_id = 1",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	{
		int n;

		assert_int_equal(read_until_error(path, RAW_KEY, id1, &n), -ENOKEY);
		assert_int_equal(n, 0);
		assert_int_equal(read_until_error(path, RAW_KEY, id2, &n), 0);
		assert_int_equal(n, NPKTS);
	}
}

/*
 * A writer killed after it appended blocks that it never committed: the
 * recovery cuts the segment back to its last committed block.
 */
static void test_segment_torn_tail(void **state)
{
	struct pr_store *st = NULL;
	char path[512], file[700];
	long long off, len;
	struct stat sb;
	int64_t *shared_id;

	(void)state;
	path_in(path, sizeof(path), "torn.db");
	shared_id = fork_killed_writer(path);
	block_location(path, RAW_KEY, *shared_id, 1, file, sizeof(file), &off, &len);
	assert_int_equal(stat(file, &sb), 0);
	/* Committed: 250 packets in blocks of 100; three more blocks were put, not committed. */
	assert_true(sb.st_size > off + len);
	assert_int_equal(open_store(path, RAW_KEY, false, false, &st), 0);
	assert_int_equal(pr_store_recover(st), 1);
	verify_packets(st, *shared_id, CHILD_COMMITTED);
	pr_store_close(st);
	block_location(path, RAW_KEY, *shared_id, 2, file, sizeof(file), &off, &len);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_size, off + len);
	munmap_shared_id(shared_id);
}

/* Read a query's packets: their indexes (ts encodes them), count, blocks skipped. */
static int run_query(struct pr_store *st, int64_t id, const struct pr_store_pkt_query *q,
		     uint32_t *idx, uint64_t *skipped)
{
	struct pr_store_pkt_iter *it = NULL;
	struct pr_block_pkt pkt;
	uint64_t rd;
	int n = 0, rc;

	assert_int_equal(pr_store_pkt_iter_create_query(st, id, q, &it), 0);
	while ((rc = pr_store_pkt_iter_next(it, &pkt)) == 1) {
		uint32_t i = (uint32_t)((pkt.ts_ns - 1700000000000000000ull) / 1000);

		assert_int_equal(pkt.flow_id, 10 + i / 300);
		idx[n++] = i;
	}
	assert_int_equal(rc, 0);
	pr_store_pkt_iter_stats(it, &rd, skipped);
	pr_store_pkt_iter_destroy(it);
	return n;
}

/*
 * The block index answers "packets of flow X", "between T1 and T2" and
 * "the last N" exactly, skipping blocks that cannot hold them, in both
 * store modes.
 */
static void test_query_index(void **state)
{
	static uint32_t idx[2000];
	struct pr_session_info info = { .name = "query" };
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	uint64_t skipped;
	char path[512];
	int64_t id;
	int n;

	(void)state;
	assert_non_null(buf);
	for (int mode = 0; mode < 2; mode++) {
		struct pr_store_pkt_query q;

		test_mode = mode ? PR_STORE_MODE_DB : PR_STORE_MODE_SEGMENTS;
		snprintf(path, sizeof(path), "%s/query%d.db", fx.dir, mode);
		assert_int_equal(open_store(path, RAW_KEY, true, false, &st), 0);
		assert_int_equal(pr_store_get_mode(st), test_mode);
		assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
		for (uint32_t i = 0; i < 2000; i++) {
			pkt_make(i, buf, &pkt);
			pkt.ts_ns = 1700000000000000000ull + (uint64_t)i * 1000;
			pkt.flow_id = 10 + i / 300;
			assert_int_equal(pr_store_add_packet(st, id, &pkt), 0);
			if (i % 500 == 499)
				assert_int_equal(pr_store_commit(st), 0);
		}
		assert_int_equal(pr_store_commit(st), 0);

		q = (struct pr_store_pkt_query){ .has_flow = true, .flow_id = 12 };
		n = run_query(st, id, &q, idx, &skipped);
		assert_int_equal(n, 300);
		for (int i = 0; i < n; i++)
			assert_int_equal(idx[i], 600 + i);
		assert_true(skipped >= 4);

		q = (struct pr_store_pkt_query){ .from_ns = 1700000000000000000ull + 100000,
						 .to_ns = 1700000000000000000ull + 199000 };
		n = run_query(st, id, &q, idx, &skipped);
		assert_int_equal(n, 100);
		assert_int_equal(idx[0], 100);
		assert_int_equal(idx[99], 199);

		q = (struct pr_store_pkt_query){ .last_n = 10 };
		n = run_query(st, id, &q, idx, &skipped);
		assert_int_equal(n, 10);
		assert_int_equal(idx[0], 1990);

		q = (struct pr_store_pkt_query){ .has_flow = true,
						 .flow_id = 13,
						 .from_ns = 1700000000000000000ull + 950000 };
		n = run_query(st, id, &q, idx, &skipped);
		assert_int_equal(n, 250);
		assert_int_equal(idx[0], 950);

		q = (struct pr_store_pkt_query){ .has_flow = true, .flow_id = 99 };
		assert_int_equal(run_query(st, id, &q, idx, &skipped), 0);
		assert_true(skipped >= 7);
		pr_store_close(st);
		st = NULL;
	}
	test_mode = PR_STORE_MODE_SEGMENTS;
	free(buf);
}

/* Bytes of all segment files of the store at path. */
static long long segments_size(const char *path)
{
	char dir[600], f[900];
	struct dirent *de;
	long long total = 0;
	struct stat sb;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s.segments", path);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		snprintf(f, sizeof(f), "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && !stat(f, &sb))
			total += sb.st_size;
	}
	closedir(d);
	return total;
}

/*
 * zstd before sealing: the same packets read back, the segments are
 * smaller, and a changed byte is still an integrity error.
 */
static void test_segment_compress(void **state)
{
	char plain[512], packed[512], file[700];
	long long off, len;
	int64_t id;
	int n;

	(void)state;
	path_in(plain, sizeof(plain), "nozstd.db");
	path_in(packed, sizeof(packed), "zstd.db");
	write_session(plain, RAW_KEY);
	test_compress = true;
	id = write_session(packed, RAW_KEY);
	test_compress = false;
	verify_session(packed, RAW_KEY, id, true);
	fprintf(stderr, "segments: %lld bytes plain, %lld compressed\n", segments_size(plain),
		segments_size(packed));
	assert_true(segments_size(packed) < segments_size(plain) * 3 / 4);
	block_location(packed, RAW_KEY, id, 1, file, sizeof(file), &off, &len);
	flip_byte(file, off + 64 + 10);
	assert_int_equal(read_until_error(packed, RAW_KEY, id, &n), -EBADMSG);
	assert_int_equal(n, 256);
}

/* Run child(dir) in a forked child, dir a new directory; SKIP_CODE skips. */
static void run_forked(const char *name, int (*child)(const char *dir))
{
	char dir[512];
	int status;
	pid_t pid;

	path_in(dir, sizeof(dir), name);
	assert_int_equal(mkdir(dir, 0700), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(child(dir));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == SKIP_CODE)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_disk_full(void **state)
{
	(void)state;
	run_forked("tiny", disk_full_child);
}

/* Every byte of the database, its -wal and its -shm (NULL where missing). */
struct full_snapshot {
	uint8_t *data[3];
	size_t len[3];
};

static void full_snap(const char *path, struct full_snapshot *s)
{
	static const char *const sfx[3] = { "", "-wal", "-shm" };
	char side[512];

	for (int i = 0; i < 3; i++) {
		snprintf(side, sizeof(side), "%s%s", path, sfx[i]);
		s->len[i] = 0;
		s->data[i] = file_exists(side) ? read_all(side, &s->len[i]) : NULL;
	}
}

static void full_snap_assert_same(const char *path, struct full_snapshot *s)
{
	struct full_snapshot now;

	full_snap(path, &now);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(now.data[i] != NULL, s->data[i] != NULL);
		assert_int_equal(now.len[i], s->len[i]);
		if (s->len[i])
			assert_memory_equal(now.data[i], s->data[i], s->len[i]);
		free(now.data[i]);
	}
}

static void full_snap_free(struct full_snapshot *s)
{
	for (int i = 0; i < 3; i++)
		free(s->data[i]);
}

/*
 * A writer killed with a WAL full of committed pages, then every way of
 * opening it with a wrong or missing key: all refused, and the database,
 * the WAL and the -shm stay byte for byte as the crash left them (a
 * read-write connection would replay the WAL and checkpoint it on close).
 */
static void test_wrong_key_on_crashed_store(void **state)
{
	static const char *const wrong =
		"ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	struct full_snapshot snap;
	struct pr_store *st = NULL;
	struct pr_store_cfg cfg;
	int64_t *shared_id;
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "crashed.db");
	shared_id = fork_killed_writer(path);
	assert_true(file_exists_suffix(path, "-wal"));
	full_snap(path, &snap);
	assert_non_null(snap.data[1]);
	assert_true(snap.len[1] > 0);

	for (int ro = 0; ro < 2; ro++) {
		assert_int_equal(open_store(path, wrong, false, ro, &st), -EKEYREJECTED);
		assert_int_equal(open_store(path, PASSPHRASE, false, ro, &st), -EKEYREJECTED);
		assert_int_equal(open_store(path, NULL, false, ro, &st), -EKEYREJECTED);
		assert_int_equal(open_store(path, wrong, true, ro, &st), -EKEYREJECTED);
		full_snap_assert_same(path, &snap);
	}
	cfg = (struct pr_store_cfg){ .path = path, .key = wrong, .readonly_fallback = true };
	assert_int_equal(pr_store_open(&cfg, &st), -EKEYREJECTED);
	full_snap_assert_same(path, &snap);

	/* The right key replays the WAL: every committed packet is there. */
	assert_int_equal(open_store(path, RAW_KEY, false, false, &st), 0);
	assert_int_equal(pr_store_recover(st), 1);
	verify_packets(st, *shared_id, CHILD_COMMITTED);
	pr_store_close(st);
	full_snap_free(&snap);
	munmap_shared_id(shared_id);
}

static int child_open_close(const char *path)
{
	struct pr_store *st = NULL;
	struct pr_session_info s;
	int ok = 1;

	if (open_store(path, PASSPHRASE, false, false, &st) || pr_store_session_get(st, 1, &s))
		ok = 0;
	pr_store_close(st);
	st = NULL;
	if (open_store(path, "not the key", false, false, &st) != -EKEYREJECTED)
		ok = 0;
	pr_store_close(st);
	return ok ? 0 : 1;
}

/*
 * A second connection in the writer's process (the capture's
 * checkpointer) must not release the writer's locks. If it did, another
 * process closing its connection would believe itself the last one,
 * checkpoint and delete the WAL the writer still appends to, and what
 * the writer commits after that would be lost.
 */
static void test_second_connection_keeps_locks(void **state)
{
	struct pr_session_info info = { .name = "locks" }, s;
	uint8_t *buf = malloc(65536);
	struct pr_store *wr = NULL, *ck = NULL, *rd = NULL;
	struct pr_block_pkt pkt;
	struct stat wal_before, wal_after;
	char path[512], wal[520];
	int status;
	int64_t id;
	pid_t pid;

	(void)state;
	assert_non_null(buf);
	path_in(path, sizeof(path), "locks.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(open_store(path, PASSPHRASE, true, false, &wr), 0);
	assert_int_equal(pr_store_session_begin(wr, &info, &id), 0);
	assert_int_equal(id, 1);
	for (uint32_t i = 0; i < 300; i++) {
		pkt_make(i, buf, &pkt);
		assert_int_equal(pr_store_add_packet(wr, id, &pkt), 0);
	}
	assert_int_equal(pr_store_commit(wr), 0);
	/* The second connection of this process, then once more to be sure. */
	assert_int_equal(open_store(path, PASSPHRASE, false, false, &ck), 0);
	pr_store_close(ck);
	ck = NULL;
	assert_int_equal(open_store(path, PASSPHRASE, false, false, &ck), 0);
	assert_int_equal(stat(wal, &wal_before), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(child_open_close(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The WAL the writer appends to is still the file of that name. */
	assert_int_equal(stat(wal, &wal_after), 0);
	assert_true(wal_after.st_ino == wal_before.st_ino);
	for (uint32_t i = 300; i < 700; i++) {
		pkt_make(i, buf, &pkt);
		assert_int_equal(pr_store_add_packet(wr, id, &pkt), 0);
	}
	assert_int_equal(pr_store_commit(wr), 0);
	assert_int_equal(open_store(path, PASSPHRASE, false, true, &rd), 0);
	assert_int_equal(pr_store_session_get(rd, id, &s), 0);
	assert_int_equal(s.packets, 700);
	verify_packets(rd, id, 700);
	pr_store_close(rd);
	pr_store_close(ck);
	pr_store_close(wr);
	rd = NULL;
	assert_int_equal(open_store(path, PASSPHRASE, false, true, &rd), 0);
	verify_packets(rd, id, 700);
	pr_store_close(rd);
	free(buf);
}

static mode_t mode_of(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 07777;
}

/* A new store's files get the store's mode whatever the umask: 0600 by default. */
static void test_file_modes(void **state)
{
	static const unsigned int modes[2] = { 0, 0640 };
	struct pr_session_info info = { .name = "modes" };
	struct pr_store *st = NULL, *rd = NULL;
	char path[512], side[520];
	mode_t old = umask(0);
	int64_t id;

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct pr_store_cfg cfg = { .create = true, .file_mode = modes[i] };
		mode_t want = modes[i] ? modes[i] : 0600;

		snprintf(path, sizeof(path), "%s/mode%d.db", fx.dir, i);
		cfg.path = path;
		assert_int_equal(pr_store_open(&cfg, &st), 0);
		assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
		assert_int_equal(pr_store_commit(st), 0);
		/* A reader keeps -wal and -shm in place after the writer is gone. */
		assert_int_equal(open_store(path, NULL, false, true, &rd), 0);
		assert_int_equal(mode_of(path), want);
		snprintf(side, sizeof(side), "%s-wal", path);
		assert_int_equal(mode_of(side), want);
		snprintf(side, sizeof(side), "%s-shm", path);
		assert_int_equal(mode_of(side), want);
		pr_store_close(rd);
		pr_store_close(st);
		rd = st = NULL;
	}
	{
		struct pr_store_cfg cfg = { .path = path, .create = true, .file_mode = 01777 };

		snprintf(path, sizeof(path), "%s/mode-bad.db", fx.dir);
		assert_int_equal(pr_store_open(&cfg, &st), -EINVAL);
		assert_false(file_exists(path));
	}
	umask(old);
}

/* A failed create removes the file it made, and only that. */
static void test_failed_create_cleans_up(void **state)
{
	struct pr_store *st = NULL;
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "no-such-dir/x.db");
	assert_int_equal(open_store(path, RAW_KEY, true, false, &st), -ENOENT);
	assert_non_null(strstr(pr_store_open_error(), "cannot create"));
}

static int readonly_media_child(const char *dir)
{
	struct pr_session_info info = { .name = "ro" }, s;
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	struct pr_store_cfg cfg;
	struct pr_block_pkt pkt;
	char path[600];
	int64_t id;

	if (private_tmpfs(dir)) {
		fprintf(stderr, "cannot mount a tmpfs (%s): skipping the read-only media test\n",
			strerror(errno));
		return SKIP_CODE;
	}
	snprintf(path, sizeof(path), "%s/ro.db", dir);
	CHILD_CHECK(buf != NULL);
	CHILD_CHECK(open_store(path, RAW_KEY, true, false, &st) == 0);
	CHILD_CHECK(pr_store_session_begin(st, &info, &id) == 0);
	for (uint32_t i = 0; i < 400; i++) {
		pkt_make(i, buf, &pkt);
		CHILD_CHECK(pr_store_add_packet(st, id, &pkt) == 0);
	}
	CHILD_CHECK(pr_store_session_end(st, id, PR_SESSION_COMPLETED, "done") == 0);
	pr_store_close(st);
	st = NULL;
	CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);

	/* Asked to write: refused, naming why. */
	CHILD_CHECK(open_store(path, RAW_KEY, false, false, &st) == -EROFS);
	CHILD_CHECK(strstr(pr_store_open_error(), "cannot write") != NULL);
	/* Asked to read: works, on read-only media, and says it is read-only. */
	cfg = (struct pr_store_cfg){ .path = path, .key = RAW_KEY, .readonly_fallback = true };
	CHILD_CHECK(pr_store_open(&cfg, &st) == 0);
	CHILD_CHECK(pr_store_is_readonly(st));
	CHILD_CHECK(pr_store_session_get(st, id, &s) == 0);
	CHILD_CHECK(s.packets == 400 && s.status == PR_SESSION_COMPLETED);
	{
		struct pr_store_pkt_iter *it = NULL;
		uint64_t n = 0;
		int rc;

		CHILD_CHECK(pr_store_pkt_iter_create(st, id, &it) == 0);
		while ((rc = pr_store_pkt_iter_next(it, &pkt)) == 1)
			n++;
		CHILD_CHECK(rc == 0 && n == 400);
		pr_store_pkt_iter_destroy(it);
	}
	CHILD_CHECK(pr_store_session_begin(st, &info, &id) == -EROFS);
	CHILD_CHECK(pr_store_recover(st) <= 0);
	pr_store_close(st);
	st = NULL;
	/* The wrong key stays wrong there too. */
	cfg.key = PASSPHRASE;
	CHILD_CHECK(pr_store_open(&cfg, &st) == -EKEYREJECTED);
	free(buf);
	return 0;
}

static void test_readonly_media(void **state)
{
	(void)state;
	run_forked("romedia", readonly_media_child);
}

/*
 * Pipelined commits (pr_store_commit_async): rounds of ASYNC_PER_ROUND
 * packets and one flow, each round a commit point. Blocks of 100 packets
 * and the flush at each point make three blocks a round.
 */
#define ASYNC_ROUNDS 12
#define ASYNC_PER_ROUND 230u

static void async_round(struct pr_store *st, int64_t id, int r, uint8_t *buf)
{
	struct pr_block_pkt pkt;
	struct pr_store_flow f;

	for (uint32_t i = (uint32_t)(r - 1) * ASYNC_PER_ROUND; i < (uint32_t)r * ASYNC_PER_ROUND;
	     i++) {
		pkt_make(i, buf, &pkt);
		assert_int_equal(pr_store_add_packet(st, id, &pkt), 0);
	}
	flow_make(r % 3, &f);
	f.flow_id = 5000 + (uint64_t)r;
	assert_int_equal(pr_store_add_flow(st, id, &f), 0);
}

static int count_cb(void *ctx, const struct pr_store_flow *f)
{
	(void)f;
	(*(int *)ctx)++;
	return 0;
}

/* What a second connection sees: exactly the rounds up to point c, counters included. */
static void expect_committed_rounds(const char *path, int64_t id, uint64_t c)
{
	struct pr_store *rd = NULL;
	struct pr_session_info s;
	uint64_t bytes, captured;
	int flows = 0;

	assert_int_equal(open_store(path, RAW_KEY, false, true, &rd), 0);
	assert_int_equal(pr_store_session_get(rd, id, &s), 0);
	assert_int_equal(s.packets, c * ASYNC_PER_ROUND);
	expected_counters((uint32_t)(c * ASYNC_PER_ROUND), &bytes, &captured);
	assert_int_equal(s.bytes, bytes);
	assert_int_equal(s.captured_bytes, captured);
	assert_int_equal(s.flows, c);
	assert_int_equal(pr_store_flows_foreach(rd, id, count_cb, &flows), 0);
	assert_int_equal(flows, (int)c);
	verify_packets(rd, id, (uint32_t)(c * ASYNC_PER_ROUND));
	pr_store_close(rd);
}

/*
 * After every pr_store_commit_async() another connection sees whole
 * points only: the blocks and flows of every point up to the committed
 * one, none of a later one, and the session's counters as of that
 * point. pr_store_commit() then commits the rest. A db store commits
 * each point at once.
 */
static void test_commit_async(void **state)
{
	struct pr_session_info info = { .name = "async", .source_kind = "interface" };
	enum pr_store_mode modes[2] = { PR_STORE_MODE_SEGMENTS, PR_STORE_MODE_DB };
	uint8_t *buf = malloc(65536);

	(void)state;
	assert_non_null(buf);
	for (int m = 0; m < 2; m++) {
		struct pr_store_cfg cfg = { .key = RAW_KEY,
					    .create = true,
					    .block_max_packets = 100 };
		struct pr_store *st = NULL;
		uint64_t point, c, last_c = 0;
		char path[512];
		int64_t id;

		path_in(path, sizeof(path), m ? "async-db.db" : "async-seg.db");
		cfg.path = path;
		cfg.store_mode = modes[m];
		assert_int_equal(pr_store_open(&cfg, &st), 0);
		assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
		assert_int_equal(pr_store_committed_point(st), 0);
		for (int r = 1; r <= ASYNC_ROUNDS; r++) {
			async_round(st, id, r, buf);
			assert_int_equal(pr_store_commit_async(st, &point), 0);
			assert_int_equal(point, r);
			c = pr_store_committed_point(st);
			assert_true(c >= last_c && c <= point);
			if (modes[m] == PR_STORE_MODE_DB)
				assert_int_equal(c, point);
			expect_committed_rounds(path, id, c);
			last_c = c;
		}
		assert_int_equal(pr_store_commit(st), 0);
		assert_int_equal(pr_store_committed_point(st), ASYNC_ROUNDS);
		expect_committed_rounds(path, id, ASYNC_ROUNDS);
		assert_int_equal(pr_store_session_end(st, id, PR_SESSION_COMPLETED, "done"), 0);
		pr_store_close(st);
		expect_committed_rounds(path, id, ASYNC_ROUNDS);
	}
	free(buf);
}

/* What the killed pipelined writer shares with the test: its session and committed point. */
struct async_shared {
	int64_t id;
	uint64_t committed;
	uint64_t points;
};

static void child_async_and_die(const char *path, struct async_shared *sh)
{
	struct pr_store_cfg cfg = {
		.path = path,
		.key = RAW_KEY,
		.create = true,
		.block_max_packets = 100,
	};
	struct pr_session_info info = { .name = "killed-async", .source_kind = "interface" };
	uint8_t *buf = malloc(65536);
	struct pr_store *st = NULL;
	uint64_t point;
	int64_t id;

	if (!buf || pr_store_open(&cfg, &st) || pr_store_session_begin(st, &info, &id))
		_exit(2);
	sh->id = id;
	for (int r = 1; r <= ASYNC_ROUNDS; r++) {
		async_round(st, id, r, buf);
		if (pr_store_commit_async(st, &point))
			_exit(3);
		sh->points = point;
		sh->committed = pr_store_committed_point(st);
	}
	/* A round more in the open transaction and the block builder, never committed. */
	async_round(st, id, ASYNC_ROUNDS + 1, buf);
	kill(getpid(), SIGKILL);
	_exit(6);
}

/*
 * A pipelined writer killed with points waiting for the disk: recovery
 * keeps exactly the committed points (packets, counters, flows), and
 * cuts the segment back to the last block they name.
 */
static void test_commit_async_killed(void **state)
{
	struct async_shared *sh;
	struct pr_session_info s;
	struct pr_store *st = NULL;
	char path[512], file[700];
	long long off, len;
	struct stat sb;
	int status;
	pid_t pid;

	(void)state;
	path_in(path, sizeof(path), "async-killed.db");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		child_async_and_die(path, sh);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(sh->points, ASYNC_ROUNDS);
	assert_true(sh->committed <= ASYNC_ROUNDS);
	print_message("killed with point %llu of %d committed\n", (unsigned long long)sh->committed,
		      ASYNC_ROUNDS);

	assert_int_equal(open_store(path, RAW_KEY, false, false, &st), 0);
	assert_int_equal(pr_store_recover(st), 1);
	assert_int_equal(pr_store_session_get(st, sh->id, &s), 0);
	assert_int_equal(s.status, PR_SESSION_INTERRUPTED);
	pr_store_close(st);
	expect_committed_rounds(path, sh->id, sh->committed);
	if (sh->committed) {
		block_location(path, RAW_KEY, sh->id, (int)(3 * sh->committed - 1), file,
			       sizeof(file), &off, &len);
		assert_int_equal(stat(file, &sb), 0);
		assert_int_equal(sb.st_size, off + len);
	}
	munmap(sh, sizeof(*sh));
}

/*
 * Lanes: a realistic mix of services interleaved (Ethernet/IPv4 frames:
 * HTTP, DNS, ICMP, QUIC, SSH), so that each class goes to blocks of its
 * own. LANE_PKTS packets; packet i belongs to flow lane_flow(i).
 */
#define LANE_PKTS 6000u

struct lane_svc {
	uint8_t proto;
	uint16_t port;
	uint16_t len;
};

static const struct lane_svc lane_svcs[5] = {
	{ 6, 80, 1514 }, { 17, 53, 90 }, { 1, 0, 98 }, { 17, 443, 1200 }, { 6, 22, 200 },
};

/* Services in a skewed mix: HTTP most, DNS every seventh packet, a little of the rest. */
static uint32_t lane_svc_of(uint32_t i)
{
	return i % 7 == 3 ? 1 : i % 13 == 5 ? 2 : i % 17 == 2 ? 3 : i % 29 == 11 ? 4 : 0;
}

/* Each service has 20 flows (clients 10.0.0.1-20), taken in turn. */
static uint64_t lane_flow(uint32_t i)
{
	return 100 + lane_svc_of(i) * 20 + (i / 7) % 20;
}

static void lane_pkt(uint32_t i, uint8_t *buf, struct pr_block_pkt *pkt)
{
	const struct lane_svc *sv = &lane_svcs[lane_svc_of(i)];
	uint32_t client = (uint32_t)(lane_flow(i) % 20) + 1;
	uint8_t *ip = buf + 14, *l4 = buf + 34;

	memset(buf, 0, sv->len);
	memset(buf, 0x02, 6);
	memset(buf + 6, 0x04, 6);
	buf[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((sv->len - 14) >> 8);
	ip[3] = (uint8_t)(sv->len - 14);
	ip[8] = 64;
	ip[9] = sv->proto;
	ip[12] = 10;
	ip[15] = (uint8_t)client;
	ip[16] = 192;
	ip[18] = 2;
	ip[19] = 1;
	if (sv->proto != 1) {
		/* Client port 40000 + client, to the service's port. */
		l4[0] = (uint8_t)((40000 + client) >> 8);
		l4[1] = (uint8_t)(40000 + client);
		l4[2] = (uint8_t)(sv->port >> 8);
		l4[3] = (uint8_t)sv->port;
	} else {
		l4[0] = 8;
	}
	for (uint32_t j = 42; j < sv->len; j++)
		buf[j] = (uint8_t)(i * 31 + j);
	*pkt = (struct pr_block_pkt){
		.ts_ns = 1700000000000000000ull + (uint64_t)i * 1000,
		.flow_id = lane_flow(i),
		.cap_len = sv->len,
		.wire_len = sv->len,
		.data = buf,
	};
}

static int64_t write_lanes(const char *path, enum pr_store_mode mode, uint32_t lanes)
{
	struct pr_store_cfg cfg = {
		.path = path,
		.key = RAW_KEY,
		.create = true,
		.store_mode = mode,
		.block_max_packets = 64,
		.block_lanes = lanes,
	};
	struct pr_session_info info = { .name = "lanes", .source_kind = "interface" };
	struct pr_store_iface ifc = { .linktype = 1, .snaplen = 65535, .tsresol = 9 };
	uint8_t *buf = malloc(2048);
	struct pr_store *st = NULL;
	struct pr_block_pkt pkt;
	uint64_t point;
	int64_t id;

	assert_non_null(buf);
	snprintf(ifc.name, sizeof(ifc.name), "eth0");
	assert_int_equal(pr_store_open(&cfg, &st), 0);
	assert_int_equal(pr_store_session_begin(st, &info, &id), 0);
	assert_int_equal(pr_store_session_add_iface(st, id, &ifc), 0);
	for (uint32_t i = 0; i < LANE_PKTS; i++) {
		lane_pkt(i, buf, &pkt);
		assert_int_equal(pr_store_add_packet(st, id, &pkt), 0);
		if (i % 1000 == 999)
			assert_int_equal(pr_store_commit_async(st, &point), 0);
	}
	assert_int_equal(pr_store_session_end(st, id, PR_SESSION_COMPLETED, "done"), 0);
	pr_store_close(st);
	free(buf);
	return id;
}

/* Read a query's packets: each must be the packet its number says, in order. */
static uint32_t read_lanes(struct pr_store *st, int64_t id, const struct pr_store_pkt_query *q,
			   uint32_t *first, uint64_t *rd, uint64_t *sk)
{
	struct pr_store_pkt_iter *it = NULL;
	struct pr_block_pkt got, want;
	uint8_t *buf = malloc(2048);
	uint64_t prev = 0;
	uint32_t n = 0;
	int rc;

	assert_non_null(buf);
	assert_int_equal(pr_store_pkt_iter_create_query(st, id, q, &it), 0);
	while ((rc = pr_store_pkt_iter_next(it, &got)) == 1) {
		assert_true(got.seq < LANE_PKTS);
		assert_true(!n || got.seq > prev);
		assert_int_equal(pr_store_pkt_iter_index(it), got.seq);
		lane_pkt((uint32_t)got.seq, buf, &want);
		assert_int_equal(got.ts_ns, want.ts_ns);
		assert_int_equal(got.flow_id, want.flow_id);
		assert_int_equal(got.cap_len, want.cap_len);
		assert_memory_equal(got.data, want.data, want.cap_len);
		if (!n && first)
			*first = (uint32_t)got.seq;
		prev = got.seq;
		n++;
	}
	assert_int_equal(rc, 0);
	pr_store_pkt_iter_stats(it, rd, sk);
	pr_store_pkt_iter_destroy(it);
	free(buf);
	return n;
}

static int no_problem(void *ctx, const struct pr_store_verify_problem *p)
{
	(void)ctx;
	print_message("problem: %s\n", p->what);
	return 0;
}

/*
 * Lanes keep each service in blocks of its own: every packet reads back
 * in session order across the interleaved blocks, a filter that wants
 * one service's flows reads only that service's blocks, and queries by
 * flow, time and last N stay exact; verify finds nothing wrong. Both
 * store modes, and one lane (every block of consecutive packets) alike.
 */
static void test_lanes(void **state)
{
	enum pr_store_mode modes[3] = { PR_STORE_MODE_SEGMENTS, PR_STORE_MODE_DB,
					PR_STORE_MODE_SEGMENTS };
	uint32_t lanes[3] = { 0, 0, 1 };

	(void)state;
	for (int m = 0; m < 3; m++) {
		struct pr_store_pkt_query q = { 0 };
		struct pr_store_verify_result res;
		uint64_t skip[80], rd, sk, dns = 0;
		struct pr_store *st = NULL;
		uint32_t n, first;
		size_t n_skip = 0;
		char path[512];
		int64_t id;

		snprintf(path, sizeof(path), "%s/lanes-%d.db", fx.dir, m);
		id = write_lanes(path, modes[m], lanes[m]);
		assert_int_equal(open_store(path, RAW_KEY, false, true, &st), 0);
		/* Everything, in order. */
		assert_int_equal(read_lanes(st, id, &q, &first, &rd, &sk), LANE_PKTS);
		assert_int_equal(first, 0);
		print_message("lanes %u: %llu blocks\n", lanes[m], (unsigned long long)rd);
		/* The DNS flows only, as a filter on them would skip the rest. */
		for (uint64_t f = 100; f < 200; f++)
			if (f < 120 || f >= 140)
				skip[n_skip++] = f;
		for (uint32_t i = 0; i < LANE_PKTS; i++)
			dns += lane_svc_of(i) == 1;
		q.skip_flows = skip;
		q.n_skip_flows = n_skip;
		n = read_lanes(st, id, &q, NULL, &rd, &sk);
		/* Skipping is by the flows a block holds; packets of skipped flows in read blocks come too. */
		assert_true(n >= dns);
		print_message(
			"lanes %u: DNS flows only: %u packets from %llu blocks, %llu skipped\n",
			lanes[m], n, (unsigned long long)rd, (unsigned long long)sk);
		if (lanes[m] != 1) {
			/* Only the DNS lane's blocks are read: none holds another service. */
			assert_int_equal(n, dns);
			assert_true(rd <= dns / 64 + 7);
			assert_true(sk > 4 * rd);
		} else {
			assert_true(sk < rd);
		}
		/* One flow; a time range; the last 50. */
		q = (struct pr_store_pkt_query){ .has_flow = true, .flow_id = 125 };
		n = read_lanes(st, id, &q, &first, &rd, &sk);
		assert_true(n > 0 && lane_flow(first) == 125);
		q = (struct pr_store_pkt_query){ .from_ns = 1700000000000000000ull + 2000 * 1000,
						 .to_ns = 1700000000000000000ull + 2999 * 1000 };
		assert_int_equal(read_lanes(st, id, &q, &first, &rd, &sk), 1000);
		assert_int_equal(first, 2000);
		q = (struct pr_store_pkt_query){ .last_n = 50 };
		assert_int_equal(read_lanes(st, id, &q, &first, &rd, &sk), 50);
		assert_int_equal(first, LANE_PKTS - 50);
		assert_int_equal(pr_store_verify(st, id, no_problem, NULL, &res), 0);
		assert_int_equal(res.problems, 0);
		assert_int_equal(res.packets_ok, LANE_PKTS);
		pr_store_close(st);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pr_session_status_name(PR_SESSION_COMPLETED), "completed");
	assert_string_equal(pr_session_status_name(PR_SESSION_FAILED), "failed");
	assert_string_equal(pr_session_status_name(99), "unknown");
	assert_string_equal(pr_drop_reason_name(PR_DROP_RING_FULL), "ring_full");
	assert_string_equal(pr_drop_reason_name(PR_DROP_KERNEL), "kernel");
	assert_string_equal(pr_drop_reason_name(PR_DROP_IFACE), "interface");
	assert_string_equal(pr_drop_reason_name(PR_DROP_TOO_BIG), "too_big");
	assert_string_equal(pr_drop_reason_name(PR_DROP_STORE), "store");
	assert_string_equal(pr_drop_reason_name(PR_DROP_REASON_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_passphrase),
		cmocka_unit_test(test_roundtrip_raw_key),
		cmocka_unit_test(test_roundtrip_plaintext),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_no_key_on_encrypted),
		cmocka_unit_test(test_key_on_plaintext),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_marker_only_in_plaintext),
		cmocka_unit_test(test_marker_in_open_wal),
		cmocka_unit_test(test_missing_session),
		cmocka_unit_test(test_readonly_refuses_writes),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_foreign_sqlite),
		cmocka_unit_test(test_newer_schema),
		cmocka_unit_test(test_recover_killed_writer),
		cmocka_unit_test(test_recover_skips_live_writer),
		cmocka_unit_test(test_recover_reused_pid),
		cmocka_unit_test(test_interleaved_sessions),
		cmocka_unit_test(test_reader_during_write),
		cmocka_unit_test(test_writers_take_turns),
		cmocka_unit_test(test_duplicate_iface_keeps_pending),
		cmocka_unit_test(test_damaged_block),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_wrong_key_on_crashed_store),
		cmocka_unit_test(test_second_connection_keeps_locks),
		cmocka_unit_test(test_file_modes),
		cmocka_unit_test(test_failed_create_cleans_up),
		cmocka_unit_test(test_readonly_media),
		cmocka_unit_test(test_segment_tamper),
		cmocka_unit_test(test_segment_keys_and_nonces),
		cmocka_unit_test(test_segment_torn_tail),
		cmocka_unit_test(test_query_index),
		cmocka_unit_test(test_segment_compress),
		cmocka_unit_test(test_commit_async),
		cmocka_unit_test(test_commit_async_killed),
		cmocka_unit_test(test_lanes),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
