// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the store's retention and lifecycle API
 * (storage/pr_store_admin.c): store info and its rate, verify (clean,
 * tampered, cut, missing and orphan segments, wrong counts, carrying on
 * past each problem), delete-session with crypto-shredding (no byte of a
 * deleted key left in the database, -wal or -shm of a plaintext store, a
 * copy of its segment that no key left in the store opens), pinning,
 * retention by age and by size on a synthetic clock (pinned sessions and
 * segments being written kept, expired_packets, a partly expired session
 * read and exported as exactly what is left), and rekey (segment files
 * byte for byte, the old key refused, every packet read with the new one,
 * refused while another connection is open). The group setup creates a
 * temporary directory that the teardown removes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
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
#define SQLITE_HAS_CODEC 1 /* Debian's SQLCipher declares sqlite3_key() only then */
#include <sqlcipher/sqlite3.h>

#include "pr_cli.h"
#include "pr_seal.h"
#include "pr_sink.h"
#include "pr_store.h"

#define RAW_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define NEW_KEY "a new passphrase for the store"
#define BASE_TS 1700000000000000000ull
#define DAY_NS (86400ull * 1000000000ull)

static char dir[256];

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
	snprintf(dir, sizeof(dir), "/tmp/test_pr_store_admin.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
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

static bool file_has(const char *path, const void *needle, size_t nl)
{
	size_t len;
	uint8_t *buf = read_all(path, &len);
	bool found = buf && memmem(buf, len, needle, nl);

	free(buf);
	return found;
}

/* Any of the database, its -wal and its -shm holds needle. */
static bool store_files_have(const char *path, const void *needle, size_t nl)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[600];

	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		if (file_has(p, needle, nl))
			return true;
	}
	return false;
}

static bool exists(const char *path)
{
	struct stat sb;

	return !stat(path, &sb);
}

static uint64_t size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : (uint64_t)sb.st_size;
}

static int open_cfg(const char *path, const char *key, bool create, enum pr_store_mode mode,
		    struct pr_store **st)
{
	struct pr_store_cfg cfg = {
		.path = path,
		.key = key,
		.create = create,
		.store_mode = mode,
		.block_max_packets = 50,
	};

	return pr_store_open(&cfg, st);
}

/* A test-side connection, for what the API does not show (keys, closed times). */
static sqlite3 *raw_open(const char *path, const char *key)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (key) {
		char k[80];

		snprintf(k, sizeof(k), "x'%s'", key);
		assert_int_equal(sqlite3_key(db, k, (int)strlen(k)), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA cipher_page_size = 65536", NULL, NULL,
					      NULL),
				 SQLITE_OK);
	}
	return db;
}

static void raw_exec(const char *path, const char *key, const char *sql)
{
	sqlite3 *db = raw_open(path, key);

	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *key, const char *sql)
{
	sqlite3 *db = raw_open(path, key);
	sqlite3_stmt *s;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Packet i of session tag: its data carries the tag, its time stamp encodes both. */
static void pkt_make(uint32_t tag, uint32_t i, uint8_t *buf, struct pr_block_pkt *p)
{
	uint32_t cl = 100 + (i * 37) % 400;

	for (uint32_t j = 0; j < cl; j++)
		buf[j] = (uint8_t)(i * 7 + j + tag);
	snprintf((char *)buf + 14, 24, "PRTAG-%06u-", tag);
	memset(p, 0, sizeof(*p));
	p->ts_ns = BASE_TS + (uint64_t)tag * 1000000000000ull + (uint64_t)i * 1000;
	p->flow_id = 1 + i % 4;
	p->cap_len = cl;
	p->wire_len = cl + 4;
	p->data = buf;
}

struct run {
	int sess; /* index into the sessions being written */
	uint32_t packets;
};

/*
 * Write sessions in runs: each run adds packets to one session, numbered
 * on from its last; a run of another session starts a new segment. The
 * sessions get tags tag0, tag0 + 1, ...; ids go to ids[]. Sessions are
 * ended unless keep_running.
 */
static void write_runs(const char *path, const char *key, enum pr_store_mode mode, int nsess,
		       uint32_t tag0, const struct run *runs, int nruns, int64_t *ids,
		       bool keep_running, struct pr_store **keep)
{
	static const struct pr_store_iface ifc = {
		.index = 0, .linktype = 1, .snaplen = 65535, .tsresol = 9, .name = "eth0"
	};
	uint32_t next[8] = { 0 };
	uint8_t buf[1024];
	struct pr_store *st = NULL;
	struct pr_block_pkt p;

	assert_true(nsess <= 8);
	assert_int_equal(open_cfg(path, key, true, mode, &st), 0);
	for (int s = 0; s < nsess; s++) {
		struct pr_session_info info = { .source_kind = "file", .snaplen = 65535 };

		snprintf(info.name, sizeof(info.name), "tag%u", tag0 + (uint32_t)s);
		info.start_ts_ns = BASE_TS + (uint64_t)(tag0 + (uint32_t)s) * DAY_NS;
		assert_int_equal(pr_store_session_begin(st, &info, &ids[s]), 0);
		assert_int_equal(pr_store_session_add_iface(st, ids[s], &ifc), 0);
	}
	for (int r = 0; r < nruns; r++) {
		int s = runs[r].sess;

		for (uint32_t i = 0; i < runs[r].packets; i++) {
			pkt_make(tag0 + (uint32_t)s, next[s]++, buf, &p);
			assert_int_equal(pr_store_add_packet(st, ids[s], &p), 0);
		}
		assert_int_equal(pr_store_commit(st), 0);
	}
	if (!keep_running)
		for (int s = 0; s < nsess; s++)
			assert_int_equal(pr_store_session_end(st, ids[s], PR_SESSION_COMPLETED,
							      "end of file"),
					 0);
	if (keep) {
		*keep = st;
		return;
	}
	pr_store_close(st);
}

/* One session of n packets in its own segment. */
static int64_t write_one(const char *path, const char *key, enum pr_store_mode mode, uint32_t tag,
			 uint32_t n)
{
	struct run r = { 0, n };
	int64_t id;

	write_runs(path, key, mode, 1, tag, &r, 1, &id, false, NULL);
	return id;
}

/* The session's packets are exactly tag's packets first..first+count-1. */
static void expect_packets(struct pr_store *st, int64_t id, uint32_t tag, uint32_t first,
			   uint32_t count)
{
	struct pr_store_pkt_iter *it = NULL;
	struct pr_block_pkt got, want;
	uint8_t buf[1024];
	uint32_t n = 0;
	int rc;

	assert_int_equal(pr_store_pkt_iter_create(st, id, &it), 0);
	while ((rc = pr_store_pkt_iter_next(it, &got)) == 1) {
		assert_true(n < count);
		pkt_make(tag, first + n, buf, &want);
		assert_int_equal(got.ts_ns, want.ts_ns);
		assert_int_equal(got.cap_len, want.cap_len);
		assert_int_equal(got.wire_len, want.wire_len);
		assert_memory_equal(got.data, want.data, want.cap_len);
		n++;
	}
	if (rc)
		fprintf(stderr, "read: %s\n", pr_store_errmsg(st));
	assert_int_equal(rc, 0);
	assert_int_equal(n, count);
	pr_store_pkt_iter_destroy(it);
}

/* ---- verify ---- */

struct seen {
	int n;
	uint32_t kinds[32];
	int64_t blocks[32];
	int64_t segments[32];
};

static int seen_cb(void *ctx, const struct pr_store_verify_problem *p)
{
	struct seen *s = ctx;

	fprintf(stderr, "  problem %s: session %lld block %lld segment %lld: %s\n",
		pr_store_problem_name(p->kind), (long long)p->session, (long long)p->block,
		(long long)p->segment, p->what);
	assert_true(p->what[0] != 0);
	if (s->n < 32) {
		s->kinds[s->n] = p->kind;
		s->blocks[s->n] = p->block;
		s->segments[s->n] = p->segment;
	}
	s->n++;
	return 0;
}

static void verify_store(const char *path, const char *key, int64_t session, struct seen *seen,
			 struct pr_store_verify_result *res)
{
	struct pr_store *st = NULL;

	memset(seen, 0, sizeof(*seen));
	assert_int_equal(open_cfg(path, key, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_verify(st, session, seen_cb, seen, res), 0);
	assert_int_equal(res->problems, (uint64_t)seen->n);
	pr_store_close(st);
}

/* The segment file and on-disk place of the nth block (0-based) of a session. */
static void block_at(const char *path, const char *key, int64_t id, int nth, char *file, size_t len,
		     int64_t *block, int64_t *segment, long long *off, long long *dlen)
{
	sqlite3 *db = raw_open(path, key);
	sqlite3_stmt *s;
	char sql[300];

	snprintf(sql, sizeof(sql),
		 "SELECT g.file, b.id, b.segment_id, b.seg_offset, b.seg_len FROM packet_blocks b "
		 "JOIN segments g ON g.id = b.segment_id WHERE b.session_id = %lld "
		 "ORDER BY b.first_seq LIMIT 1 OFFSET %d",
		 (long long)id, nth);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(file, len, "%s.segments/%s", path, (const char *)sqlite3_column_text(s, 0));
	*block = sqlite3_column_int64(s, 1);
	*segment = sqlite3_column_int64(s, 2);
	*off = sqlite3_column_int64(s, 3);
	*dlen = sqlite3_column_int64(s, 4);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void flip(const char *file, long long off)
{
	int fd = open(file, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_verify(void **state)
{
	struct pr_store_verify_result res;
	struct pr_store *st = NULL;
	char path[512], file[700], side[760];
	int64_t id[2], block, seg;
	long long off, len;
	struct seen seen;

	(void)state;
	path_in(path, sizeof(path), "verify.db");
	id[0] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 1, 500); /* 10 blocks */
	id[1] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 2, 120); /* 3 blocks */

	verify_store(path, RAW_KEY, 0, &seen, &res);
	assert_int_equal(res.problems, 0);
	assert_int_equal(res.sessions, 2);
	assert_int_equal(res.segments, 2);
	assert_int_equal(res.blocks, 13);
	assert_int_equal(res.blocks_ok, 13);
	assert_int_equal(res.packets_ok, 620);

	/* One changed byte: that block, named; every other block is still checked. */
	block_at(path, RAW_KEY, id[0], 3, file, sizeof(file), &block, &seg, &off, &len);
	flip(file, off + 64 + 50);
	verify_store(path, RAW_KEY, 0, &seen, &res);
	assert_int_equal(res.problems, 1);
	assert_int_equal(seen.kinds[0], PR_PROBLEM_BLOCK_DAMAGED);
	assert_int_equal(seen.blocks[0], block);
	assert_int_equal(seen.segments[0], seg);
	assert_int_equal(res.blocks, 13);
	assert_int_equal(res.blocks_ok, 12);
	assert_int_equal(res.packets_ok, 570);
	/* The packet iterator stops at the first damage; verify went on. */
	verify_store(path, RAW_KEY, id[1], &seen, &res);
	assert_int_equal(res.problems, 0);
	assert_int_equal(res.sessions, 1);
	assert_int_equal(res.blocks_ok, 3);
	flip(file, off + 64 + 50);

	/* Cut inside block 8 of 10: the file is short, blocks 8 and 9 cannot be read. */
	block_at(path, RAW_KEY, id[0], 8, file, sizeof(file), &block, &seg, &off, &len);
	assert_int_equal(truncate(file, off + len / 2), 0);
	verify_store(path, RAW_KEY, id[0], &seen, &res);
	assert_int_equal(seen.kinds[0], PR_PROBLEM_SEGMENT_SHORT);
	assert_int_equal(res.problems, 3);
	assert_int_equal(seen.blocks[1], block);
	assert_int_equal(res.blocks_ok, 8);

	/* The file gone: said once for the segment, not once per block. */
	assert_int_equal(unlink(file), 0);
	verify_store(path, RAW_KEY, 0, &seen, &res);
	assert_int_equal(res.problems, 1);
	assert_int_equal(seen.kinds[0], PR_PROBLEM_SEGMENT_MISSING);
	assert_int_equal(seen.segments[0], seg);
	assert_int_equal(res.blocks_ok, 3);

	/* A file no row names, and a session row that counts other packets. */
	snprintf(side, sizeof(side), "%s.segments/s000099-00000099.seg", path);
	assert_int_equal(close(open(side, O_CREAT | O_WRONLY, 0600)), 0);
	raw_exec(path, RAW_KEY, "UPDATE sessions SET packets = packets + 1 WHERE id = 2");
	verify_store(path, RAW_KEY, 0, &seen, &res);
	assert_int_equal(res.problems, 3);
	assert_int_equal(seen.kinds[1], PR_PROBLEM_SESSION_COUNT);
	assert_int_equal(seen.kinds[2], PR_PROBLEM_SEGMENT_ORPHAN);
	/* One session only: no orphan search. */
	verify_store(path, RAW_KEY, id[1], &seen, &res);
	assert_int_equal(res.problems, 1);

	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_verify(st, 77, NULL, NULL, &res), -ENOENT);
	pr_store_close(st);
}

/* A db-mode store verifies its row blobs the same way. */
static void test_verify_db_mode(void **state)
{
	struct pr_store_verify_result res;
	struct seen seen;
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "verify-db.db");
	write_one(path, NULL, PR_STORE_MODE_DB, 5, 260);
	verify_store(path, NULL, 0, &seen, &res);
	assert_int_equal(res.problems, 0);
	assert_int_equal(res.segments, 0);
	assert_int_equal(res.blocks, 6);
	assert_int_equal(res.blocks_ok, 6);
	assert_int_equal(res.packets_ok, 260);
	raw_exec(path, NULL, "UPDATE packet_blocks SET pkt_count = 49 WHERE first_seq = 50");
	verify_store(path, NULL, 0, &seen, &res);
	/* The block differs from its row (its last_seq still covers 50-99), and the total. */
	assert_int_equal(seen.kinds[0], PR_PROBLEM_BLOCK_INDEX);
	assert_int_equal(seen.kinds[1], PR_PROBLEM_SESSION_COUNT);
	assert_int_equal(res.problems, 2);
	/* A row whose range leaves packets out, and one that starts inside the one before. */
	raw_exec(path, NULL,
		 "UPDATE packet_blocks SET pkt_count = 50, last_seq = 98 WHERE first_seq = 50");
	verify_store(path, NULL, 0, &seen, &res);
	assert_int_equal(seen.kinds[0], PR_PROBLEM_BLOCK_INDEX); /* 50 in a range of 49 */
	assert_int_equal(seen.kinds[1], PR_PROBLEM_BLOCK_INDEX); /* ends at 99, not 98 */
	assert_int_equal(seen.kinds[2], PR_PROBLEM_BLOCK_INDEX); /* packet 99 in no block */
	assert_int_equal(res.problems, 3);
	raw_exec(path, NULL,
		 "UPDATE packet_blocks SET last_seq = 99 WHERE first_seq = 50;"
		 "UPDATE packet_blocks SET first_seq = 99 WHERE first_seq = 100");
	verify_store(path, NULL, 0, &seen, &res);
	assert_int_equal(seen.kinds[0], PR_PROBLEM_BLOCK_INDEX);
	assert_int_equal(res.problems >= 1, 1);
}

/* ---- delete-session ---- */

struct key_list {
	int n;
	uint8_t key[16][32];
};

static void keys_of(const char *path, const char *where, struct key_list *kl)
{
	sqlite3 *db = raw_open(path, NULL);
	sqlite3_stmt *s;
	char sql[200];

	memset(kl, 0, sizeof(*kl));
	snprintf(sql, sizeof(sql), "SELECT data_key FROM segments WHERE %s ORDER BY id", where);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_bytes(s, 0), 32);
		assert_true(kl->n < 16);
		memcpy(kl->key[kl->n++], sqlite3_column_blob(s, 0), 32);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* Open the first block of a copied segment file with key. */
static int open_first_block(const char *file, const uint8_t key[32], int64_t segment)
{
	const uint8_t *out;
	const char *why;
	size_t len, olen, blen;
	uint8_t *buf = read_all(file, &len);
	struct pr_seal *seal = NULL;
	int err;

	assert_non_null(buf);
	assert_true(len > 4096 + 64);
	/* The block's length on disk is in its header; open() checks it again. */
	blen = pr_sink_seg_block_size((size_t)(buf[4096 + 32] | buf[4096 + 33] << 8 |
					       buf[4096 + 34] << 16 |
					       (uint32_t)buf[4096 + 35] << 24));
	assert_true(4096 + blen <= len);
	assert_int_equal(pr_seal_create(&seal), 0);
	err = pr_sink_seg_block_open(seal, key, segment, 0, buf + 4096, blen, &out, &olen, &why);
	pr_seal_destroy(seal);
	free(buf);
	return err;
}

/*
 * Crypto-shredding on a plaintext store, where the keys are in clear in
 * the files: after delete-session no byte sequence of its keys is left in
 * the database, -wal or -shm (the other sessions' keys are: the search
 * works), its segment files are gone, and a copy of one, put aside
 * before, opens with its old key but with none that the store still has.
 */
static void test_delete_shreds(void **state)
{
	static const struct run runs[] = { { 0, 120 }, { 1, 120 }, { 0, 60 }, { 2, 80 } };
	struct pr_store_delete_result res;
	struct pr_session_info si;
	struct key_list gone, kept;
	struct pr_store *st = NULL;
	char path[512], seg[700], copy[700], where[64];
	int64_t ids[3], block, segid;
	long long off, len;
	size_t n;
	uint8_t *data;

	(void)state;
	path_in(path, sizeof(path), "shred.db");
	write_runs(path, NULL, PR_STORE_MODE_SEGMENTS, 3, 10, runs, 4, ids, false, NULL);
	snprintf(where, sizeof(where), "session_id = %lld", (long long)ids[0]);
	keys_of(path, where, &gone);
	assert_int_equal(gone.n, 2); /* session 0 was written in two runs: two segments */
	snprintf(where, sizeof(where), "session_id != %lld", (long long)ids[0]);
	keys_of(path, where, &kept);
	assert_int_equal(kept.n, 2);
	for (int i = 0; i < gone.n; i++)
		assert_true(store_files_have(path, gone.key[i], 32));
	/*
	 * A connection without secure_delete (SQLite's default; Debian's
	 * SQLCipher is built with it on) leaves a deleted row's bytes in the
	 * free space of its page: put a stale copy of a key there, as such a
	 * writer would when SQLite moves a row it updates.
	 */
	{
		sqlite3 *db = raw_open(path, NULL);
		sqlite3_stmt *s;

		assert_int_equal(sqlite3_exec(db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(
			sqlite3_prepare_v2(db,
					   "INSERT INTO segments(id, session_id, file, "
					   "data_key, created_ts) VALUES (999, 999, '', ?, 1)",
					   -1, &s, NULL),
			SQLITE_OK);
		sqlite3_bind_blob(s, 1, gone.key[1], 32, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
		sqlite3_finalize(s);
		assert_int_equal(sqlite3_exec(db, "DELETE FROM segments WHERE id = 999", NULL, NULL,
					      NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}

	block_at(path, NULL, ids[0], 0, seg, sizeof(seg), &block, &segid, &off, &len);
	snprintf(copy, sizeof(copy), "%s/shred-copy.seg", dir);
	data = read_all(seg, &n);
	assert_non_null(data);
	{
		FILE *f = fopen(copy, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, n, f), n);
		fclose(f);
	}
	free(data);
	assert_int_equal(open_first_block(copy, gone.key[0], segid), 0);

	assert_int_equal(open_cfg(path, NULL, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_delete_session(st, ids[0], &res), 0);
	assert_int_equal(res.packets, 180);
	assert_int_equal(res.segments, 2);
	assert_int_equal(res.files_removed, 2);
	assert_true(res.wal_clean);
	/*
	 * Looked at while the store is still open, so that closing it (which
	 * checkpoints and removes the WAL) hides nothing.
	 */
	for (int i = 0; i < gone.n; i++)
		assert_false(store_files_have(path, gone.key[i], 32));
	assert_int_equal(pr_store_session_get(st, ids[0], &si), -ENOENT);
	assert_int_equal(pr_store_delete_session(st, ids[0], &res), -ENOENT);
	/* The others read back whole, through the same store object and a new one. */
	expect_packets(st, ids[1], 11, 0, 120);
	pr_store_close(st);
	assert_int_equal(open_cfg(path, NULL, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	expect_packets(st, ids[2], 12, 0, 80);
	pr_store_close(st);

	for (int i = 0; i < gone.n; i++)
		assert_false(store_files_have(path, gone.key[i], 32));
	for (int i = 0; i < kept.n; i++)
		assert_true(store_files_have(path, kept.key[i], 32));
	assert_false(exists(seg));
	assert_int_equal(raw_int(path, NULL, "SELECT count(*) FROM segments"), 2);
	assert_int_equal(raw_int(path, NULL, "SELECT count(*) FROM flows WHERE session_id = 1"), 0);
	assert_int_equal(
		raw_int(path, NULL, "SELECT count(*) FROM interfaces WHERE session_id = 1"), 0);
	/* The copy: its own key would open it, and that key is nowhere any more. */
	keys_of(path, "1", &kept);
	for (int i = 0; i < kept.n; i++)
		assert_int_equal(open_first_block(copy, kept.key[i], segid), -EBADMSG);
}

/* Refusals: pinned, being captured, read-only, no such session. */
static void test_delete_refused(void **state)
{
	struct pr_store_session_life life;
	struct pr_store *st = NULL, *ro = NULL;
	struct pr_store_cfg rcfg = { .readonly = true };
	char path[512];
	int64_t ids[2];
	struct run r = { 1, 70 };

	(void)state;
	path_in(path, sizeof(path), "refuse.db");
	ids[0] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 20, 60);
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_session_pin(st, ids[0], true), 0);
	assert_int_equal(pr_store_session_life_get(st, ids[0], &life), 0);
	assert_true(life.pinned);
	assert_int_equal(life.stored_packets, 60);
	assert_int_equal(life.segments, 1);
	assert_int_equal(pr_store_delete_session(st, ids[0], NULL), -EPERM);
	assert_non_null(strstr(pr_store_errmsg(st), "unpin"));
	assert_int_equal(pr_store_session_pin(st, 42, true), -ENOENT);
	assert_int_equal(pr_store_session_life_get(st, 42, &life), -ENOENT);
	pr_store_close(st);

	/* A session this process is still capturing. */
	{
		struct pr_store *w = NULL;
		struct run runs[2] = { { 0, 10 }, r };
		int64_t two[2];

		write_runs(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 2, 21, runs, 2, two, true, &w);
		ids[1] = two[1];
		assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
		assert_int_equal(pr_store_delete_session(st, ids[1], NULL), -EBUSY);
		assert_non_null(strstr(pr_store_errmsg(st), "being captured"));
		pr_store_close(st);
		assert_int_equal(pr_store_session_end(w, two[0], PR_SESSION_COMPLETED, ""), 0);
		assert_int_equal(pr_store_session_end(w, two[1], PR_SESSION_COMPLETED, ""), 0);
		pr_store_close(w);
	}

	rcfg.path = path;
	rcfg.key = RAW_KEY;
	assert_int_equal(pr_store_open(&rcfg, &ro), 0);
	assert_int_equal(pr_store_delete_session(ro, ids[1], NULL), -EROFS);
	assert_int_equal(pr_store_session_pin(ro, ids[1], true), -EROFS);
	assert_int_equal(pr_store_set_retention(ro, 1, 0), -EROFS);
	assert_int_equal(pr_store_rekey(ro, NEW_KEY), -EROFS);
	pr_store_close(ro);

	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_session_pin(st, ids[0], false), 0);
	assert_int_equal(pr_store_delete_session(st, ids[0], NULL), 0);
	assert_int_equal(pr_store_delete_session(st, ids[1], NULL), 0);
	expect_packets(st, ids[1] - 1, 21, 0, 10);
	pr_store_close(st);
}

/* db mode: the rows go with secure_delete, so the packet bytes leave the file. */
static void test_delete_db_mode(void **state)
{
	struct pr_store_delete_result res;
	struct pr_store *st = NULL;
	char path[512], tag[32];
	int64_t a, b;

	(void)state;
	path_in(path, sizeof(path), "del-db.db");
	a = write_one(path, NULL, PR_STORE_MODE_DB, 30, 300);
	b = write_one(path, NULL, PR_STORE_MODE_DB, 31, 100);
	snprintf(tag, sizeof(tag), "PRTAG-%06u-", 30);
	assert_true(store_files_have(path, tag, strlen(tag)));
	/* A per-session table of a newer schema (drop_stats, version 3) loses its rows too. */
	raw_exec(path, NULL,
		 "CREATE TABLE IF NOT EXISTS drop_stats(session_id INTEGER NOT NULL, wall_ts "
		 "INTEGER NOT NULL, pkt_ts INTEGER NOT NULL, packets INTEGER NOT NULL, "
		 "drops_ring_full INTEGER NOT NULL, drops_kernel INTEGER NOT NULL, drops_iface "
		 "INTEGER NOT NULL, drops_too_big INTEGER NOT NULL, drops_store INTEGER NOT NULL);"
		 "INSERT INTO drop_stats(session_id, wall_ts, pkt_ts, packets, drops_ring_full, "
		 "drops_kernel, drops_iface, drops_too_big, drops_store) VALUES "
		 "(1, 1, 1, 1, 1, 0, 0, 0, 0), (2, 1, 1, 1, 1, 0, 0, 0, 0);");
	assert_int_equal(open_cfg(path, NULL, false, PR_STORE_MODE_DB, &st), 0);
	assert_int_equal(pr_store_delete_session(st, a, &res), 0);
	assert_int_equal(res.packets, 300);
	assert_int_equal(res.segments, 0);
	assert_true(res.wal_clean);
	expect_packets(st, b, 31, 0, 100);
	pr_store_close(st);
	assert_false(store_files_have(path, tag, strlen(tag)));
	snprintf(tag, sizeof(tag), "PRTAG-%06u-", 31);
	assert_true(store_files_have(path, tag, strlen(tag)));
	assert_int_equal(
		raw_int(path, NULL, "SELECT count(*) FROM drop_stats WHERE session_id = 1"), 0);
	assert_int_equal(
		raw_int(path, NULL, "SELECT count(*) FROM drop_stats WHERE session_id = 2"), 1);
}

/* ---- retention ---- */

/* Set the closed time of each segment of a session (oldest id first) to ts[]. */
static void set_closed(const char *path, const char *key, int64_t session, const uint64_t *ts,
		       int n)
{
	char sql[256];

	for (int i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql),
			 "UPDATE segments SET closed_ts = %lld WHERE id = (SELECT id FROM segments "
			 "WHERE session_id = %lld ORDER BY id LIMIT 1 OFFSET %d)",
			 (long long)ts[i], (long long)session, i);
		raw_exec(path, key, sql);
	}
}

struct items {
	int n;
	struct pr_store_retention_item it[16];
};

static int items_cb(void *ctx, const struct pr_store_retention_item *it)
{
	struct items *v = ctx;

	assert_true(v->n < 16);
	v->it[v->n++] = *it;
	return 0;
}

#define NOW (BASE_TS + 100 * DAY_NS)

/* By age: what is older than the limit goes, oldest first; pinned sessions stay. */
static void test_retention_age(void **state)
{
	struct pr_store_retention_result res;
	struct pr_store_session_life life;
	struct pr_store *st = NULL;
	struct items items = { 0 };
	uint64_t days, bytes, t;
	char path[512], seg[700];
	int64_t ids[4], block, segid;
	long long off, len;

	(void)state;
	path_in(path, sizeof(path), "age.db");
	for (int i = 0; i < 4; i++)
		ids[i] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 40 + (uint32_t)i, 60);
	/* Closed 50, 40, 20 and 5 days before NOW; the 40-day-old session is pinned. */
	t = NOW - 50 * DAY_NS;
	set_closed(path, RAW_KEY, ids[0], &t, 1);
	t = NOW - 40 * DAY_NS;
	set_closed(path, RAW_KEY, ids[1], &t, 1);
	t = NOW - 20 * DAY_NS;
	set_closed(path, RAW_KEY, ids[2], &t, 1);
	t = NOW - 5 * DAY_NS;
	set_closed(path, RAW_KEY, ids[3], &t, 1);
	block_at(path, RAW_KEY, ids[0], 0, seg, sizeof(seg), &block, &segid, &off, &len);

	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_get_retention(st, &days, &bytes), 0);
	assert_int_equal(days, 0);
	assert_int_equal(bytes, 0);
	/* No limits: nothing. */
	assert_int_equal(pr_store_retention_enforce(st, NOW, NULL, NULL, &res), 0);
	assert_int_equal(res.segments, 0);
	assert_int_equal(pr_store_set_retention(st, PR_STORE_RETENTION_MAX_DAYS + 1, 0), -EINVAL);
	assert_int_equal(pr_store_set_retention(st, 30, 0), 0);
	assert_int_equal(pr_store_session_pin(st, ids[1], true), 0);

	assert_int_equal(pr_store_retention_plan(st, NOW, items_cb, &items, &res), 0);
	assert_int_equal(items.n, 1);
	assert_int_equal(items.it[0].session, ids[0]);
	assert_int_equal(items.it[0].reason, PR_RETENTION_AGE);
	assert_int_equal(items.it[0].packets, 60);
	assert_int_equal(items.it[0].age_ts_ns, NOW - 50 * DAY_NS);
	assert_int_equal(res.kept_pinned, 1);
	assert_true(exists(seg)); /* a plan deletes nothing */

	items.n = 0;
	assert_int_equal(pr_store_retention_enforce(st, NOW, items_cb, &items, &res), 0);
	assert_int_equal(items.n, 1);
	assert_int_equal(res.segments, 1);
	assert_int_equal(res.packets, 60);
	assert_int_equal(res.retention_days, 30);
	assert_true(res.wal_clean);
	assert_false(exists(seg));
	assert_int_equal(pr_store_session_life_get(st, ids[0], &life), 0);
	assert_int_equal(life.expired_packets, 60);
	assert_int_equal(life.stored_packets, 0);
	assert_int_equal(life.segments, 0);
	expect_packets(st, ids[0], 40, 0, 0);
	expect_packets(st, ids[1], 41, 0, 60);
	pr_store_close(st);

	/* 16 days later the 20-day-old one goes too; the pinned one never. */
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_retention_enforce(st, NOW + 16 * DAY_NS, NULL, NULL, &res), 0);
	assert_int_equal(res.segments, 1);
	assert_int_equal(res.kept_pinned, 1);
	assert_int_equal(pr_store_session_life_get(st, ids[2], &life), 0);
	assert_int_equal(life.expired_packets, 60);
	assert_int_equal(pr_store_session_life_get(st, ids[3], &life), 0);
	assert_int_equal(life.expired_packets, 0);
	{
		struct pr_store_verify_result vr;

		assert_int_equal(pr_store_verify(st, 0, NULL, NULL, &vr), 0);
		assert_int_equal(vr.problems, 0);
	}
	pr_store_close(st);
}

/* By size: oldest first, exactly as many as it takes. */
static void test_retention_size(void **state)
{
	struct pr_store_retention_result res;
	struct pr_store_info in;
	struct pr_store *st = NULL;
	struct items items = { 0 };
	char path[512], seg[3][700];
	int64_t ids[3], block, segid;
	long long off, len;
	uint64_t t, total, limit;

	(void)state;
	path_in(path, sizeof(path), "size.db");
	for (int i = 0; i < 3; i++) {
		ids[i] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 50 + (uint32_t)i,
				   200 + 100 * (uint32_t)i);
		block_at(path, RAW_KEY, ids[i], 0, seg[i], sizeof(seg[i]), &block, &segid, &off,
			 &len);
		t = NOW - (uint64_t)(3 - i) * DAY_NS;
		set_closed(path, RAW_KEY, ids[i], &t, 1);
	}
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_get_info(st, NOW, &in), 0);
	total = in.db_bytes + in.segment_bytes;
	assert_int_equal(in.segment_bytes, size_of(seg[0]) + size_of(seg[1]) + size_of(seg[2]));
	/* Above the limit by half of the second segment: the first two must go. */
	limit = total - size_of(seg[0]) - size_of(seg[1]) / 2;
	assert_int_equal(pr_store_set_retention(st, 0, limit), 0);
	assert_int_equal(pr_store_retention_enforce(st, NOW, items_cb, &items, &res), 0);
	assert_int_equal(items.n, 2);
	assert_int_equal(items.it[0].session, ids[0]);
	assert_int_equal(items.it[1].session, ids[1]);
	assert_int_equal(items.it[0].reason, PR_RETENTION_SIZE);
	assert_int_equal(res.packets, 200 + 300);
	assert_false(res.over_size);
	assert_true(res.size_after <= limit);
	assert_false(exists(seg[0]));
	assert_false(exists(seg[1]));
	assert_true(exists(seg[2]));
	expect_packets(st, ids[2], 52, 0, 400);
	/* Below the limit now: a second run deletes nothing. */
	assert_int_equal(pr_store_retention_enforce(st, NOW, NULL, NULL, &res), 0);
	assert_int_equal(res.segments, 0);
	/* A limit below what is left: everything that may go goes, and it says so. */
	assert_int_equal(pr_store_set_retention(st, 0, 1), 0);
	assert_int_equal(pr_store_retention_enforce(st, NOW, NULL, NULL, &res), 0);
	assert_int_equal(res.segments, 1);
	assert_true(res.over_size);
	pr_store_close(st);
}

/* Parse a nanosecond pcap: count packets, check each against tag's packets from first. */
static void expect_pcap(const char *file, uint32_t tag, uint32_t first, uint32_t count)
{
	uint8_t want_buf[1024];
	struct pr_block_pkt want;
	size_t len, off = 24;
	uint8_t *buf = read_all(file, &len);
	uint32_t n = 0;

	assert_non_null(buf);
	assert_true(len >= 24);
	assert_int_equal(buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24, 0xa1b23c4du);
	while (off + 16 <= len) {
		const uint8_t *h = buf + off;
		uint32_t sec = h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24;
		uint32_t ns = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
		uint32_t incl = h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24;

		pkt_make(tag, first + n, want_buf, &want);
		assert_int_equal((uint64_t)sec * 1000000000ull + ns, want.ts_ns);
		assert_int_equal(incl, want.cap_len);
		assert_true(off + 16 + incl <= len);
		assert_memory_equal(h + 16, want.data, incl);
		off += 16 + incl;
		n++;
	}
	assert_int_equal(off, len);
	assert_int_equal(n, count);
	free(buf);
}

/*
 * A session in three segments loses its oldest one: reading and exporting
 * it give exactly the packets left, numbered on from those that expired.
 */
static void test_retention_partial_session(void **state)
{
	static const struct run runs[] = {
		{ 0, 100 }, { 1, 50 }, { 0, 100 }, { 1, 50 }, { 0, 100 },
	};
	struct pr_store_retention_result res;
	struct pr_store_session_life life;
	struct pr_store_verify_result vr;
	struct pr_session_info si;
	struct pr_store *st = NULL;
	uint64_t ts[3];
	char path[512], out[600], sid[24], key[80];
	int64_t ids[2];

	(void)state;
	path_in(path, sizeof(path), "partial.db");
	write_runs(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 2, 60, runs, 5, ids, false, NULL);
	ts[0] = NOW - 10 * DAY_NS;
	ts[1] = NOW - 2 * DAY_NS;
	ts[2] = NOW - 1 * DAY_NS;
	set_closed(path, RAW_KEY, ids[0], ts, 3);
	set_closed(path, RAW_KEY, ids[1], ts + 1, 2);

	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_set_retention(st, 7, 0), 0);
	assert_int_equal(pr_store_retention_enforce(st, NOW, NULL, NULL, &res), 0);
	assert_int_equal(res.segments, 1);
	assert_int_equal(res.packets, 100);
	assert_int_equal(pr_store_session_life_get(st, ids[0], &life), 0);
	assert_int_equal(life.expired_packets, 100);
	assert_int_equal(life.stored_packets, 200);
	assert_int_equal(life.segments, 2);
	assert_int_equal(pr_store_session_get(st, ids[0], &si), 0);
	assert_int_equal(si.packets, 300); /* the session's count stays what was captured */
	expect_packets(st, ids[0], 60, 100, 200);
	expect_packets(st, ids[1], 61, 0, 100);
	assert_int_equal(pr_store_verify(st, 0, NULL, NULL, &vr), 0);
	assert_int_equal(vr.problems, 0);
	pr_store_close(st);

	/* What `export` writes for it: the 200 packets left, no more, no fewer. */
	snprintf(out, sizeof(out), "%s/partial.pcap", dir);
	snprintf(sid, sizeof(sid), "%lld", (long long)ids[0]);
	snprintf(key, sizeof(key), "%s", RAW_KEY);
	{
		char a0[] = "export", a1[] = "-d", a3[] = "--session", a5[] = "--output",
		     a7[] = "--encryption-key", a9[] = "-q";
		char *argv[] = { a0, a1, path, a3, sid, a5, out, a7, key, a9, NULL };

		assert_int_equal(pr_cmd_export(10, argv), 0);
	}
	expect_pcap(out, 60, 100, 200);
}

/* Never a segment still being written, whatever the limits; never a db-mode store. */
static void test_retention_open_segment_and_db_mode(void **state)
{
	static const struct run runs[] = { { 0, 80 } };
	struct pr_store_retention_result res;
	struct pr_store *w = NULL, *st = NULL;
	char path[512];
	int64_t id;

	(void)state;
	path_in(path, sizeof(path), "open.db");
	write_runs(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 1, 70, runs, 1, &id, true, &w);
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_set_retention(st, 1, 1), 0);
	assert_int_equal(pr_store_retention_enforce(st, NOW + 1000 * DAY_NS, NULL, NULL, &res), 0);
	assert_int_equal(res.segments, 0);
	assert_int_equal(res.kept_open, 1);
	assert_true(res.over_size);
	pr_store_close(st);
	assert_int_equal(pr_store_session_end(w, id, PR_SESSION_COMPLETED, ""), 0);
	pr_store_close(w);

	path_in(path, sizeof(path), "ret-db.db");
	write_one(path, NULL, PR_STORE_MODE_DB, 71, 10);
	assert_int_equal(open_cfg(path, NULL, false, PR_STORE_MODE_DB, &st), 0);
	assert_int_equal(pr_store_set_retention(st, 30, 0), -EOPNOTSUPP);
	assert_non_null(strstr(pr_store_errmsg(st), "store mode db"));
	assert_int_equal(pr_store_set_retention(st, 0, 0), 0);
	assert_int_equal(pr_store_retention_plan(st, NOW, NULL, NULL, &res), -EOPNOTSUPP);
	assert_int_equal(pr_store_retention_enforce(st, NOW, NULL, NULL, &res), -EOPNOTSUPP);
	pr_store_close(st);
}

/* ---- store info ---- */

static void test_info(void **state)
{
	struct pr_store_info in;
	struct pr_session_info s1, s2;
	struct pr_store *st = NULL, *w = NULL;
	char path[512], side[600];
	uint64_t capture, limit;
	int64_t ids[2], run_id;
	double want;
	static const struct run r = { 0, 30 };

	(void)state;
	path_in(path, sizeof(path), "info.db");
	ids[0] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 80, 100);
	ids[1] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 81, 50);
	write_runs(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 1, 82, &r, 1, &run_id, true, &w);

	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_session_pin(st, ids[1], true), 0);
	assert_int_equal(pr_store_session_get(st, ids[0], &s1), 0);
	assert_int_equal(pr_store_session_get(st, ids[1], &s2), 0);
	assert_int_equal(pr_store_get_info(st, NOW * 2, &in), 0);
	assert_int_equal(in.mode, PR_STORE_MODE_SEGMENTS);
	assert_true(in.encrypted);
	assert_int_equal(in.sessions, 3);
	assert_int_equal(in.pinned_sessions, 1);
	assert_int_equal(in.running_sessions, 1);
	assert_int_equal(in.segments, 3);
	assert_int_equal(in.segment_files, 3);
	assert_int_equal(in.packets, 180);
	assert_int_equal(in.expired_packets, 0);
	assert_int_equal(in.oldest_ts_ns, BASE_TS + 80 * 1000000000000ull);
	assert_int_equal(in.newest_ts_ns, BASE_TS + 82 * 1000000000000ull + 29 * 1000);
	snprintf(side, sizeof(side), "%s.segments", path);
	assert_int_equal(in.db_bytes, size_of(path));
	assert_int_equal(in.size_bytes, in.db_bytes + in.wal_bytes + in.segment_bytes);
	/* Two ended sessions from their start to their end, the running one up to now_ns. */
	capture = (s1.end_ts_ns - s1.start_ts_ns) + (s2.end_ts_ns - s2.start_ts_ns) +
		  (NOW * 2 - (BASE_TS + 82 * DAY_NS));
	/* Summed in double: exact to about 1 ns in 10^9. */
	assert_true(in.capture_ns + capture / 1000000000 + 2 >= capture &&
		    in.capture_ns <= capture + capture / 1000000000 + 2);
	assert_true(in.have_rate);
	assert_true(in.bytes_per_day > 0);
	assert_true(in.have_fs);
	assert_true(in.have_days_left);
	assert_false(in.limited_by_retention);
	assert_int_equal(in.retention_days, 0);

	/*
	 * About 10 days of room under retention_bytes: that limit comes first.
	 * (Setting it wrote to the WAL, which counts in the rate, not in the room.)
	 */
	limit = in.db_bytes + in.segment_bytes + (uint64_t)(in.bytes_per_day * 10);
	assert_int_equal(pr_store_set_retention(st, 30, limit), 0);
	assert_int_equal(pr_store_get_info(st, NOW * 2, &in), 0);
	assert_int_equal(in.retention_days, 30);
	assert_int_equal(in.retention_bytes, limit);
	assert_true(in.limited_by_retention);
	want = (double)(limit - in.db_bytes - in.segment_bytes) / in.bytes_per_day;
	assert_true(in.days_left > want - 1e-6 && in.days_left < want + 1e-6);
	assert_true(in.days_left > 5 && in.days_left <= 10);
	pr_store_close(st);
	assert_int_equal(pr_store_session_end(w, run_id, PR_SESSION_COMPLETED, ""), 0);
	pr_store_close(w);
}

/* ---- rekey ---- */

static void test_rekey(void **state)
{
	struct pr_store *st = NULL, *other = NULL;
	char path[512], seg[700], seg2[700];
	uint8_t *before, *after;
	size_t n1, n2;
	int64_t ids[2], block, segid;
	long long off, len;

	(void)state;
	path_in(path, sizeof(path), "rekey.db");
	ids[0] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 90, 400);
	ids[1] = write_one(path, RAW_KEY, PR_STORE_MODE_SEGMENTS, 91, 120);
	block_at(path, RAW_KEY, ids[0], 0, seg, sizeof(seg), &block, &segid, &off, &len);
	block_at(path, RAW_KEY, ids[1], 0, seg2, sizeof(seg2), &block, &segid, &off, &len);
	before = read_all(seg, &n1);
	assert_non_null(before);

	/* Not while another connection has the store open. */
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &other), 0);
	assert_int_equal(pr_store_rekey(st, NEW_KEY), -EBUSY);
	assert_non_null(strstr(pr_store_errmsg(st), "another process"));
	expect_packets(other, ids[1], 91, 0, 120); /* still readable, still the old key */
	pr_store_close(other);
	assert_int_equal(pr_store_rekey(st, ""), -EINVAL);
	assert_int_equal(pr_store_rekey(st, NEW_KEY), 0);
	/* The same object goes on under the new key, and the lock is gone. */
	expect_packets(st, ids[0], 90, 0, 400);
	assert_int_equal(open_cfg(path, NEW_KEY, false, PR_STORE_MODE_SEGMENTS, &other), 0);
	pr_store_close(other);
	pr_store_close(st);

	after = read_all(seg, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
	assert_true(exists(seg2));
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st),
			 -EKEYREJECTED);
	assert_int_equal(open_cfg(path, NEW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	expect_packets(st, ids[0], 90, 0, 400);
	expect_packets(st, ids[1], 91, 0, 120);
	/* Back to a raw key, then a plaintext store is refused. */
	assert_int_equal(pr_store_rekey(st, RAW_KEY), 0);
	pr_store_close(st);
	assert_int_equal(open_cfg(path, NEW_KEY, false, PR_STORE_MODE_SEGMENTS, &st),
			 -EKEYREJECTED);
	assert_int_equal(open_cfg(path, RAW_KEY, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	expect_packets(st, ids[1], 91, 0, 120);
	pr_store_close(st);

	path_in(path, sizeof(path), "rekey-plain.db");
	write_one(path, NULL, PR_STORE_MODE_SEGMENTS, 92, 10);
	assert_int_equal(open_cfg(path, NULL, false, PR_STORE_MODE_SEGMENTS, &st), 0);
	assert_int_equal(pr_store_rekey(st, NEW_KEY), -EOPNOTSUPP);
	assert_non_null(strstr(pr_store_errmsg(st), "not encrypted"));
	pr_store_close(st);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pr_store_problem_name(PR_PROBLEM_BLOCK_DAMAGED), "damaged_block");
	assert_string_equal(pr_store_problem_name(PR_PROBLEM_SEGMENT_ORPHAN), "orphan_segment");
	assert_string_equal(pr_store_problem_name(PR_PROBLEM_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_verify_db_mode),
		cmocka_unit_test(test_delete_shreds),
		cmocka_unit_test(test_delete_refused),
		cmocka_unit_test(test_delete_db_mode),
		cmocka_unit_test(test_retention_age),
		cmocka_unit_test(test_retention_size),
		cmocka_unit_test(test_retention_partial_session),
		cmocka_unit_test(test_retention_open_segment_and_db_mode),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
