// SPDX-License-Identifier: Apache-2.0
/*
 * Retention and lifecycle of a store (DESIGN.md section 4): what it holds
 * and how fast it grows, an integrity check of every block that carries
 * on past each problem, deleting a session by destroying its segment keys
 * (crypto-shredding), pinning, retention by age and size that deletes
 * whole segments oldest first and never rewrites data, and changing the
 * SQLCipher key without touching the segment files. Keys are destroyed
 * with SQLite's secure_delete on, the table that holds them rewritten
 * whole and the WAL emptied afterwards, so that no page of the store's
 * files keeps a copy. The thread that opened the store only; owns nothing
 * beyond each call.
 */
#define _GNU_SOURCE
#define PR_LOG_MODULE "store"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "pr_store_int.h"

#define NS_PER_DAY (86400ull * 1000000000ull)
/*
 * The checkpoint that empties the WAL after keys were destroyed waits at
 * most this long for readers: it also holds off a capture writing the
 * same store, whose own wait for the write lock is BUSY_TIMEOUT_MS.
 */
#define SHRED_CHECKPOINT_MS 1000
#define SEG_FILE_MAX 64 /* sizeof(item.file): the sink names files "sNNNNNN-NNNNNNNN.seg" */

static const char *const problem_names[PR_PROBLEM_MAX] = {
	"damaged_block",   "unreadable_block", "index_mismatch",      "session_count",
	"missing_segment", "short_segment",    "segment_without_key", "orphan_segment",
};

const char *pr_store_problem_name(uint32_t kind)
{
	return kind < PR_PROBLEM_MAX ? problem_names[kind] : "unknown";
}

/*
 * Run sql with its parameters bound to args[0..nargs) and read the first
 * row's first ncols columns as unsigned values (NULL is 0). No row: all
 * 0 and *found false.
 */
static int query_row(struct pr_store *st, const char *sql, const int64_t *args, int nargs,
		     uint64_t *cols, int ncols, bool *found, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	memset(cols, 0, sizeof(*cols) * (size_t)ncols);
	if (found)
		*found = false;
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "%s", what);
		goto out;
	}
	for (int i = 0; i < nargs; i++)
		sqlite3_bind_int64(s, i + 1, args[i]);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++)
			cols[i] = (uint64_t)sqlite3_column_int64(s, i);
		if (found)
			*found = true;
	} else if (rc != SQLITE_DONE) {
		err = pr_store_sql_fail(st, rc, "%s", what);
	}
out:
	sqlite3_finalize(s);
	return err;
}

static uint64_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) || !S_ISREG(sb.st_mode) ? 0 : (uint64_t)sb.st_size;
}

/* The regular files of dir (none if it does not exist): how many, how many bytes. */
static void dir_size(const char *dir, uint64_t *bytes, uint64_t *files)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(dir);

	*bytes = *files = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (lstat(path, &sb) || !S_ISREG(sb.st_mode))
			continue;
		*bytes += (uint64_t)sb.st_size;
		(*files)++;
	}
	closedir(d);
}

static void store_size(struct pr_store *st, uint64_t *db_bytes, uint64_t *wal_bytes,
		       uint64_t *seg_bytes, uint64_t *seg_files)
{
	char side[PATH_MAX + 16];

	*db_bytes = file_size(st->path);
	snprintf(side, sizeof(side), "%s-wal", st->path);
	*wal_bytes = file_size(side);
	snprintf(side, sizeof(side), "%s-shm", st->path);
	*wal_bytes += file_size(side);
	*seg_bytes = *seg_files = 0;
	if (pr_sink_seg_dir(st->path, side, sizeof(side)))
		dir_size(side, seg_bytes, seg_files);
}

/* The size retention keeps below its limit: database and segment files. */
static uint64_t retention_size(struct pr_store *st)
{
	uint64_t db, wal, seg, files;

	store_size(st, &db, &wal, &seg, &files);
	return db + seg;
}

/* A retention limit from pr_meta; 0 when unset. */
static int meta_get_u64(struct pr_store *st, const char *key, uint64_t *out)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *v;
	int rc, err = 0;

	*out = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM pr_meta WHERE key = ?", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_text(s, 0);
		*out = v ? strtoull((const char *)v, NULL, 10) : 0;
	} else if (rc != SQLITE_DONE) {
		err = pr_store_sql_fail(st, rc, "read %s", key);
	}
	sqlite3_finalize(s);
	return err;
}

/* Set a limit in pr_meta (inside the open transaction); 0 removes it. */
static int meta_put_u64(struct pr_store *st, const char *key, uint64_t v)
{
	sqlite3_stmt *s = NULL;
	char buf[32];
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db,
				v ? "INSERT OR REPLACE INTO pr_meta(key, value) VALUES (?, ?)" :
				    "DELETE FROM pr_meta WHERE key = ?",
				-1, &s, NULL);
	if (rc == SQLITE_OK) {
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		if (v)
			sqlite3_bind_text(s, 2, buf, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "set %s", key);
	sqlite3_finalize(s);
	return err;
}

int pr_store_get_retention(struct pr_store *st, uint64_t *days, uint64_t *bytes)
{
	int err = meta_get_u64(st, "retention_days", days);

	return err ? err : meta_get_u64(st, "retention_bytes", bytes);
}

int pr_store_set_retention(struct pr_store *st, uint64_t days, uint64_t bytes)
{
	int err;

	err = pr_store_check_writable(st);
	if (err)
		goto out;
	if (days > PR_STORE_RETENTION_MAX_DAYS) {
		err = pr_store_fail(st, -EINVAL, "retention of %" PRIu64 " days: at most %u", days,
				    PR_STORE_RETENTION_MAX_DAYS);
		goto out;
	}
	if ((days || bytes) && st->mode != PR_STORE_MODE_SEGMENTS) {
		err = pr_store_fail(
			st, -EOPNOTSUPP,
			"%s: retention deletes whole segments, and this store keeps its "
			"packets in the database (store mode db): delete sessions with "
			"delete-session instead",
			st->path);
		goto out;
	}
	err = pr_store_commit(st);
	if (!err)
		err = pr_store_txn_begin(st);
	if (!err)
		err = meta_put_u64(st, "retention_days", days);
	if (!err)
		err = meta_put_u64(st, "retention_bytes", bytes);
	if (err) {
		err = pr_store_write_fail(st, err);
		goto out;
	}
	err = pr_store_commit(st);
out:
	return err;
}

/* ---- store-info ---- */

/* Capture time behind the stored data, and the session counts. */
static int info_sessions(struct pr_store *st, uint64_t now_ns, struct pr_store_info *out)
{
	sqlite3_stmt *s = NULL;
	double capture = 0;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT start_ts, end_ts, status, pinned, packets, expired_packets "
				"FROM sessions",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "store info: sessions");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint64_t start = (uint64_t)sqlite3_column_int64(s, 0);
		uint64_t end = (uint64_t)sqlite3_column_int64(s, 1);
		uint32_t status = (uint32_t)sqlite3_column_int64(s, 2);
		uint64_t packets = (uint64_t)sqlite3_column_int64(s, 4);
		uint64_t expired = (uint64_t)sqlite3_column_int64(s, 5);
		double share = 1;

		out->sessions++;
		if (sqlite3_column_int64(s, 3))
			out->pinned_sessions++;
		if (status == PR_SESSION_RUNNING)
			out->running_sessions++;
		out->expired_packets += expired;
		if (!end)
			end = status == PR_SESSION_RUNNING ? now_ns : start;
		/* What retention deleted no longer takes space: neither does its time count. */
		if (packets)
			share = (double)(packets - (expired < packets ? expired : packets)) /
				(double)packets;
		if (end > start)
			capture += (double)(end - start) * share;
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "store info: sessions");
	out->capture_ns = (uint64_t)capture;
out:
	sqlite3_finalize(s);
	return err;
}

int pr_store_get_info(struct pr_store *st, uint64_t now_ns, struct pr_store_info *out)
{
	char dir[PATH_MAX];
	struct statvfs vfs;
	uint64_t v[3], headroom;
	int err;

	memset(out, 0, sizeof(*out));
	if (!now_ns)
		now_ns = pr_store_now_ns();
	out->mode = st->mode;
	out->encrypted = st->encrypted;
	out->readonly = st->readonly;
	err = info_sessions(st, now_ns, out);
	if (!err)
		err = query_row(st,
				"SELECT coalesce(sum(pkt_count), 0), coalesce(min(first_ts), 0), "
				"coalesce(max(last_ts), 0) FROM packet_blocks",
				NULL, 0, v, 3, NULL, "store info: blocks");
	if (err)
		goto out;
	out->packets = v[0];
	out->oldest_ts_ns = v[1];
	out->newest_ts_ns = v[2];
	err = query_row(st, "SELECT count(*) FROM segments", NULL, 0, v, 1, NULL,
			"store info: segments");
	if (err)
		goto out;
	out->segments = v[0];
	err = pr_store_get_retention(st, &out->retention_days, &out->retention_bytes);
	if (err)
		goto out;
	store_size(st, &out->db_bytes, &out->wal_bytes, &out->segment_bytes, &out->segment_files);
	out->size_bytes = out->db_bytes + out->wal_bytes + out->segment_bytes;
	if (out->capture_ns && out->size_bytes) {
		out->have_rate = true;
		out->bytes_per_day =
			(double)out->size_bytes * ((double)NS_PER_DAY / (double)out->capture_ns);
	}
	snprintf(dir, sizeof(dir), "%s", st->path);
	if (!statvfs(dirname(dir), &vfs)) {
		out->have_fs = true;
		out->fs_free_bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
	}
	if (!out->have_rate || !out->have_fs)
		goto out;
	headroom = out->fs_free_bytes;
	if (out->retention_bytes) {
		uint64_t kept = out->db_bytes + out->segment_bytes;
		uint64_t left = out->retention_bytes > kept ? out->retention_bytes - kept : 0;

		if (left <= headroom) {
			headroom = left;
			out->limited_by_retention = true;
		}
	}
	out->have_days_left = true;
	out->days_left = (double)headroom / out->bytes_per_day;
out:
	return err;
}

/* ---- verify ---- */

struct verify {
	struct pr_store *st;
	pr_store_verify_fn fn;
	void *ctx;
	struct pr_store_verify_result *res;
	char dir[PATH_MAX];
	/* Segments whose blocks cannot be read at all: said once, not once per block. */
	int64_t *dead;
	size_t n_dead, cap_dead;
};

struct where {
	int64_t session, block, segment;
	uint64_t first_seq;
	const char *file;
};

static int problem(struct verify *v, uint32_t kind, int err, const struct where *w, const char *fmt,
		   ...) __attribute__((format(printf, 5, 6)));

static int problem(struct verify *v, uint32_t kind, int err, const struct where *w, const char *fmt,
		   ...)
{
	struct pr_store_verify_problem p = {
		.kind = kind,
		.err = err,
		.session = w->session,
		.block = w->block,
		.segment = w->segment,
		.first_seq = w->first_seq,
	};
	va_list ap;

	snprintf(p.file, sizeof(p.file), "%s", w->file ? w->file : "");
	va_start(ap, fmt);
	vsnprintf(p.what, sizeof(p.what), fmt, ap);
	va_end(ap);
	v->res->problems++;
	return v->fn ? v->fn(v->ctx, &p) : 0;
}

static int dead_add(struct verify *v, int64_t segment)
{
	if (v->n_dead == v->cap_dead) {
		size_t cap = v->cap_dead ? v->cap_dead * 2 : 16;
		int64_t *p = realloc(v->dead, cap * sizeof(*p));

		if (!p)
			return pr_store_fail(v->st, -ENOMEM, "verify: %s", strerror(ENOMEM));
		v->dead = p;
		v->cap_dead = cap;
	}
	v->dead[v->n_dead++] = segment;
	return 0;
}

static bool dead_has(const struct verify *v, int64_t segment)
{
	for (size_t i = 0; i < v->n_dead; i++)
		if (v->dead[i] == segment)
			return true;
	return false;
}

static bool plain_name(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

/* Each segment of session: its key, its file, and the file's length. */
static int verify_segments(struct verify *v, int64_t session)
{
	struct pr_store *st = v->st;
	char path[PATH_MAX];
	sqlite3_stmt *s = NULL;
	struct stat sb;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT g.id, g.file, coalesce(length(g.data_key), 0), "
				"coalesce(max(b.seg_offset + b.seg_len), 0), count(b.id) "
				"FROM segments g LEFT JOIN packet_blocks b ON "
				"b.session_id = g.session_id AND b.segment_id = g.id "
				"WHERE g.session_id = ? GROUP BY g.id ORDER BY g.id",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = pr_store_sql_fail(st, rc, "verify: segments of session %lld",
					(long long)session);
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *file = (const char *)sqlite3_column_text(s, 1);
		uint64_t need = (uint64_t)sqlite3_column_int64(s, 3);
		uint64_t blocks = (uint64_t)sqlite3_column_int64(s, 4);
		struct where w = {
			.session = session,
			.segment = sqlite3_column_int64(s, 0),
			.file = file ? file : "",
		};

		v->res->segments++;
		if (sqlite3_column_int64(s, 2) != 32) {
			ret = problem(v, PR_PROBLEM_SEGMENT_NO_KEY, -ENOKEY, &w,
				      "its key is gone: its %" PRIu64 " blocks cannot be read",
				      blocks);
			if (!ret)
				ret = dead_add(v, w.segment);
			continue;
		}
		if (!plain_name(w.file) ||
		    snprintf(path, sizeof(path), "%s/%s", v->dir, w.file) >= (int)sizeof(path)) {
			ret = problem(v, PR_PROBLEM_SEGMENT_MISSING, -EINVAL, &w,
				      "its row names no file in %s", v->dir);
			if (!ret)
				ret = dead_add(v, w.segment);
			continue;
		}
		if (stat(path, &sb)) {
			int err = -errno;

			ret = problem(v, PR_PROBLEM_SEGMENT_MISSING, err, &w,
				      "file %s: %s: its %" PRIu64 " blocks cannot be read", path,
				      strerror(-err), blocks);
			if (!ret)
				ret = dead_add(v, w.segment);
			continue;
		}
		if ((uint64_t)sb.st_size < need)
			ret = problem(v, PR_PROBLEM_SEGMENT_SHORT, -EBADMSG, &w,
				      "file %s has %lld bytes, its blocks need %" PRIu64, path,
				      (long long)sb.st_size, need);
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = pr_store_sql_fail(st, rc, "verify: segments of session %lld",
					(long long)session);
out:
	sqlite3_finalize(s);
	return ret;
}

/* The block's packets against its header and its index row. */
static int verify_block_data(struct verify *v, sqlite3_stmt *s, const struct where *w,
			     const uint8_t *data, size_t len)
{
	uint64_t count = (uint64_t)sqlite3_column_int64(s, 2);
	uint64_t first_ts = (uint64_t)sqlite3_column_int64(s, 3);
	uint64_t last_ts = (uint64_t)sqlite3_column_int64(s, 4);
	uint64_t bytes = (uint64_t)sqlite3_column_int64(s, 5);
	uint64_t last_seq = (uint64_t)sqlite3_column_int64(s, 12);
	uint64_t n = 0, wire = 0, lo = 0, hi = 0;
	struct pr_block_iter it;
	struct pr_block_pkt pkt;
	int rc;

	if (pr_block_iter_init(&it, data, len))
		return problem(v, PR_PROBLEM_BLOCK_DAMAGED, -EBADMSG, w,
			       "damaged packet block: bad header");
	pr_block_iter_set_first_seq(&it, w->first_seq);
	if (it.first_seq != w->first_seq)
		return problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, w,
			       "starts at packet %" PRIu64 ", the index says %" PRIu64,
			       it.first_seq, w->first_seq);
	while ((rc = pr_block_iter_next(&it, &pkt)) == 1) {
		if (!n || pkt.ts_ns < lo)
			lo = pkt.ts_ns;
		if (!n || pkt.ts_ns > hi)
			hi = pkt.ts_ns;
		wire += pkt.wire_len;
		n++;
	}
	if (rc < 0)
		return problem(v, PR_PROBLEM_BLOCK_DAMAGED, -EBADMSG, w,
			       "damaged packet block: packet entry %" PRIu64 " does not parse", n);
	if (n != it.count)
		return problem(v, PR_PROBLEM_BLOCK_DAMAGED, -EBADMSG, w,
			       "damaged packet block: %" PRIu64 " packets, its header says %u", n,
			       it.count);
	if (n != count)
		return problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, w,
			       "%" PRIu64 " packets, the index says %" PRIu64, n, count);
	if (wire != bytes)
		return problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, w,
			       "%" PRIu64 " wire bytes, the index says %" PRIu64, wire, bytes);
	if (n && (lo != first_ts || hi != last_ts))
		return problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, w,
			       "packets from %" PRIu64 " to %" PRIu64 " ns, the index says %" PRIu64
			       " to %" PRIu64,
			       lo, hi, first_ts, last_ts);
	if (n && it.seq != last_seq)
		return problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, w,
			       "ends at packet %" PRIu64 ", the index says %" PRIu64, it.seq,
			       last_seq);
	v->res->blocks_ok++;
	v->res->packets_ok += n;
	return 0;
}

/*
 * Every block of session in index order; *indexed gets the packets the
 * index names. The rows cover the packets without a gap from the first
 * packet that retention left (expired). Blocks of different lanes
 * interleave (each holds one class's packets with others between them:
 * fewer packets than its range); blocks of consecutive packets may not
 * overlap each other.
 */
static int verify_blocks(struct verify *v, int64_t session, uint64_t expired, uint64_t *indexed)
{
	struct pr_store *st = v->st;
	uint64_t next = expired, next_dense = expired;
	sqlite3_stmt *s = NULL;
	char sql[512];
	int rc, ret = 0;

	*indexed = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT b.id, b.first_seq, b.pkt_count, b.first_ts, b.last_ts, "
		 "b.bytes, b.segment_id, b.seg_offset, b.seg_len, b.seg_seq, "
		 "CASE WHEN b.segment_id = 0 THEN b.data END, g.file, %s "
		 "FROM packet_blocks b LEFT JOIN segments g ON g.id = b.segment_id "
		 "WHERE b.session_id = ? ORDER BY b.first_seq, b.id",
		 LAST_SEQ_SQL(st));
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = pr_store_sql_fail(st, rc, "verify: blocks of session %lld",
					(long long)session);
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pr_sink_ref ref = {
			.segment_id = sqlite3_column_int64(s, 6),
			.offset = (uint64_t)sqlite3_column_int64(s, 7),
			.length = (uint32_t)sqlite3_column_int64(s, 8),
			.seq = (uint64_t)sqlite3_column_int64(s, 9),
		};
		uint64_t count = (uint64_t)sqlite3_column_int64(s, 2);
		uint64_t last = (uint64_t)sqlite3_column_int64(s, 12);
		struct where w = {
			.session = session,
			.block = sqlite3_column_int64(s, 0),
			.segment = ref.segment_id,
			.first_seq = (uint64_t)sqlite3_column_int64(s, 1),
			.file = (const char *)sqlite3_column_text(s, 11),
		};
		const uint8_t *data;
		size_t len;
		int err;

		v->res->blocks++;
		*indexed += count;
		if (!count || last < w.first_seq || last - w.first_seq >= UINT32_MAX ||
		    count > last - w.first_seq + 1)
			ret = problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, &w,
				      "%" PRIu64 " packets cannot lie between packets %" PRIu64
				      " and %" PRIu64,
				      count, w.first_seq, last);
		else if (w.first_seq > next)
			ret = problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, &w,
				      "packets %" PRIu64 " to %" PRIu64
				      " of the session are in no block",
				      next, w.first_seq - 1);
		else if (w.first_seq < next_dense && count == last - w.first_seq + 1)
			ret = problem(v, PR_PROBLEM_BLOCK_INDEX, -EBADMSG, &w,
				      "starts at packet %" PRIu64 ", inside the block before it",
				      w.first_seq);
		if (!ret && last + 1 > next)
			next = last + 1;
		if (!ret && count == last - w.first_seq + 1 && last + 1 > next_dense)
			next_dense = last + 1;
		if (ret || (ref.segment_id && dead_has(v, ref.segment_id)))
			continue;
		if (ref.segment_id && !w.file) {
			ret = problem(v, PR_PROBLEM_BLOCK_UNREADABLE, -ENOENT, &w,
				      "its segment %" PRId64 " has no row", ref.segment_id);
			continue;
		}
		if (ref.segment_id) {
			/* The sink authenticates it; its message names segment and block. */
			err = st->sink->ops->get(st->sink, &ref, NULL, 0, NULL, &data, &len);
			if (err) {
				ret = problem(v,
					      err == -EBADMSG ? PR_PROBLEM_BLOCK_DAMAGED :
								PR_PROBLEM_BLOCK_UNREADABLE,
					      err, &w, "%s", st->errmsg);
				continue;
			}
		} else {
			data = sqlite3_column_blob(s, 10);
			len = (size_t)sqlite3_column_bytes(s, 10);
		}
		ret = verify_block_data(v, s, &w, data, len);
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = pr_store_sql_fail(st, rc, "verify: blocks of session %lld",
					(long long)session);
out:
	sqlite3_finalize(s);
	return ret;
}

/*
 * Segment files that no row names. The segment a capture is writing has
 * its row in the capture's open transaction, so files of running sessions
 * are left out.
 */
static int verify_orphans(struct verify *v)
{
	struct pr_store *st = v->st;
	sqlite3_stmt *named = NULL, *running = NULL;
	struct dirent *de;
	DIR *d;
	int rc, ret = 0;

	d = opendir(v->dir);
	if (!d)
		return 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT 1 FROM segments WHERE file = ?", -1, &named, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "SELECT status FROM sessions WHERE id = ?", -1,
					&running, NULL);
	if (rc != SQLITE_OK) {
		ret = pr_store_sql_fail(st, rc, "verify: segment files");
		goto out;
	}
	while (!ret && (de = readdir(d))) {
		struct where w = { .file = de->d_name };
		long long sid;

		if (de->d_name[0] == '.')
			continue;
		sqlite3_bind_text(named, 1, de->d_name, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(named);
		sqlite3_reset(named);
		if (rc == SQLITE_ROW)
			continue;
		if (sscanf(de->d_name, "s%lld-", &sid) == 1 && sid > 0) {
			w.session = sid;
			sqlite3_bind_int64(running, 1, sid);
			rc = sqlite3_step(running);
			if (rc == SQLITE_ROW &&
			    sqlite3_column_int(running, 0) == PR_SESSION_RUNNING) {
				sqlite3_reset(running);
				continue;
			}
			sqlite3_reset(running);
		}
		ret = problem(v, PR_PROBLEM_SEGMENT_ORPHAN, -ENOENT, &w,
			      "%s/%s: no segment row names this file (its key, if it had one, is "
			      "gone)",
			      v->dir, de->d_name);
	}
out:
	sqlite3_finalize(named);
	sqlite3_finalize(running);
	closedir(d);
	return ret;
}

int pr_store_verify(struct pr_store *st, int64_t session, pr_store_verify_fn fn, void *ctx,
		    struct pr_store_verify_result *res)
{
	struct verify v = { .st = st, .fn = fn, .ctx = ctx, .res = res };
	struct pr_session_info info;
	sqlite3_stmt *s = NULL;
	int rc, ret;

	memset(res, 0, sizeof(*res));
	if (!pr_sink_seg_dir(st->path, v.dir, sizeof(v.dir))) {
		ret = pr_store_fail(st, -ENAMETOOLONG, "%s: %s", st->path, strerror(ENAMETOOLONG));
		goto out;
	}
	if (session) {
		ret = pr_store_session_load(st, session, &info);
		if (ret)
			goto out;
	}
	/* Our own pending rows would be counted by the index but not yet be in any file. */
	ret = pr_store_commit(st);
	if (ret)
		goto out;
	rc = sqlite3_prepare_v2(st->db,
				"SELECT id, packets, expired_packets FROM sessions "
				"WHERE ?1 = 0 OR id = ?1 ORDER BY id",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = pr_store_sql_fail(st, rc, "verify: sessions");
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		uint64_t packets = (uint64_t)sqlite3_column_int64(s, 1);
		uint64_t expired = (uint64_t)sqlite3_column_int64(s, 2);
		struct where w = { .session = id };
		uint64_t indexed;

		res->sessions++;
		ret = verify_segments(&v, id);
		if (!ret)
			ret = verify_blocks(&v, id, expired, &indexed);
		if (!ret && indexed + expired != packets)
			ret = problem(&v, PR_PROBLEM_SESSION_COUNT, -EBADMSG, &w,
				      "the session row counts %" PRIu64
				      " packets, the index holds %" PRIu64 " and %" PRIu64
				      " expired",
				      packets, indexed, expired);
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = pr_store_sql_fail(st, rc, "verify: sessions");
	if (!ret && !session && st->mode == PR_STORE_MODE_SEGMENTS)
		ret = verify_orphans(&v);
out:
	sqlite3_finalize(s);
	free(v.dead);
	return ret;
}

/* ---- deleting segments and sessions ---- */

/* Turn secure_delete on; *was: whether it was on already. */
static int secure_delete_on(struct pr_store *st, bool *was)
{
	uint64_t v;
	int err;

	err = query_row(st, "PRAGMA secure_delete", NULL, 0, &v, 1, NULL, "read secure_delete");
	*was = v != 0;
	if (!err && !*was)
		err = pr_store_exec(st, "PRAGMA secure_delete = ON", "turn secure_delete on");
	return err;
}

/*
 * Before deleting data (delete-session, retention): mark the sessions of
 * dead writers interrupted, commit what is pending, and turn secure_delete
 * on (*was: its setting before, for secure_delete_restore()).
 */
static int destroy_prepare(struct pr_store *st, bool *was)
{
	int err = pr_store_recover(st);

	if (err < 0)
		return err;
	err = pr_store_commit(st);
	return err ? err : secure_delete_on(st, was);
}

static void secure_delete_restore(struct pr_store *st, bool was)
{
	if (!was)
		sqlite3_exec(st->db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL);
}

/*
 * Rewrite the segments table whole, inside the open transaction and with
 * secure_delete on. Deleting rows zeroes only their own bytes: the free
 * space of the table's pages can still hold older copies of a key, left
 * by a connection without secure_delete (SQLite's default, though
 * Debian's SQLCipher is built with it on) that deleted a row or moved one
 * it updated. Emptying the table without a WHERE clears every page of it
 * (the root zeroed under secure_delete, the others freed and zeroed), and
 * the rows put back fill clean pages. The table is small: one row per
 * segment.
 */
static int segments_rewrite(struct pr_store *st)
{
	return pr_store_exec(st,
			     "DROP TABLE IF EXISTS temp.pr_keep_segments;"
			     "CREATE TEMP TABLE pr_keep_segments AS SELECT * FROM main.segments;"
			     "DELETE FROM main.segments;"
			     "INSERT INTO main.segments SELECT * FROM temp.pr_keep_segments;"
			     "DROP TABLE temp.pr_keep_segments;",
			     "rewrite the segment keys");
}

/*
 * Empty the WAL after a commit that destroyed keys: its frames still
 * hold the pages as they were before. Waits SHRED_CHECKPOINT_MS at most.
 */
static bool wal_empty(struct pr_store *st)
{
	int err;

	sqlite3_busy_timeout(st->db, SHRED_CHECKPOINT_MS);
	err = pr_store_checkpoint(st, true);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	return !err;
}

/* Destroy one segment's key and delete its row (inside the open transaction). */
static int segment_row_delete(struct pr_store *st, int64_t where_id, const char *where_col)
{
	char sql[160];
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	for (int i = 0; i < 2 && !err; i++) {
		/* Overwritten first: the new value takes the old one's place in the page. */
		snprintf(sql, sizeof(sql),
			 i ? "DELETE FROM segments WHERE %s = ?" :
			     "UPDATE segments SET data_key = zeroblob(32) WHERE %s = ?",
			 where_col);
		rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, where_id);
			rc = sqlite3_step(s);
		}
		if (rc != SQLITE_DONE)
			err = pr_store_sql_fail(st, rc, "destroy segment keys");
		sqlite3_finalize(s);
		s = NULL;
	}
	return err;
}

/* Run a DELETE/UPDATE with one parameter; *changes: rows it changed. */
static int exec_id(struct pr_store *st, const char *sql, int64_t id, uint64_t *changes,
		   const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "%s", what);
	else if (changes)
		*changes = (uint64_t)sqlite3_changes(st->db);
	sqlite3_finalize(s);
	return err;
}

/* Run a statement with parameters ?1 = a and ?2 = b. */
static int exec_ids(struct pr_store *st, const char *sql, int64_t a, int64_t b, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, a);
		sqlite3_bind_int64(s, 2, b);
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "%s", what);
	sqlite3_finalize(s);
	return err;
}

/*
 * Per-session tables that newer schema versions add (drop_stats, version
 * 3): their rows of session go with it, where the table exists.
 */
static int side_tables_delete(struct pr_store *st, int64_t session)
{
	static const char *const tables[] = { "drop_stats" };
	char sql[96];
	uint64_t n;
	int err = 0;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && !err; i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
			 tables[i]);
		err = query_row(st, sql, NULL, 0, &n, 1, NULL, "look for per-session tables");
		if (err || !n)
			continue;
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE session_id = ?", tables[i]);
		err = exec_id(st, sql, session, NULL, "delete the session's rows");
	}
	return err;
}

struct seg_name {
	int64_t id;
	char file[SEG_FILE_MAX];
};

/* The segments of session: ids and file names, for unlinking after the commit. */
static int session_segments(struct pr_store *st, int64_t session, struct seg_name **out,
			    size_t *n_out)
{
	struct seg_name *v = NULL, *grown;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT id, file FROM segments WHERE session_id = ?", -1,
				&s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "segments of session %lld", (long long)session);
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *f = sqlite3_column_text(s, 1);

		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				err = pr_store_fail(st, -ENOMEM, "delete: %s", strerror(ENOMEM));
				goto out;
			}
			v = grown;
		}
		v[n].id = sqlite3_column_int64(s, 0);
		snprintf(v[n].file, sizeof(v[n].file), "%s", f ? (const char *)f : "");
		n++;
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "segments of session %lld", (long long)session);
out:
	sqlite3_finalize(s);
	if (err) {
		free(v);
		v = NULL;
		n = 0;
	}
	*out = v;
	*n_out = n;
	return err;
}

/*
 * After the commit: the files of the deleted segments, then any other
 * file of the session (a segment a crash left uncommitted). Returns the
 * first error; the keys are gone whatever happens here.
 */
static int session_files_remove(struct pr_store *st, int64_t session, const struct seg_name *segs,
				size_t n, uint64_t *removed)
{
	char dir[PATH_MAX], prefix[32];
	struct dirent *de;
	DIR *d;
	int err = 0, e;

	for (size_t i = 0; i < n; i++) {
		if (!segs[i].file[0])
			continue;
		e = st->sink->ops->delete_segment(st->sink, segs[i].id, segs[i].file);
		if (!e)
			(*removed)++;
		else if (!err)
			err = e;
	}
	if (st->mode != PR_STORE_MODE_SEGMENTS || !pr_sink_seg_dir(st->path, dir, sizeof(dir)))
		return err;
	d = opendir(dir);
	if (!d)
		return err;
	snprintf(prefix, sizeof(prefix), "s%06lld-", (long long)session);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		e = st->sink->ops->delete_segment(st->sink, 0, de->d_name);
		if (!e)
			(*removed)++;
		else if (!err)
			err = e;
	}
	closedir(d);
	return err;
}

int pr_store_delete_session(struct pr_store *st, int64_t session,
			    struct pr_store_delete_result *res)
{
	struct pr_store_delete_result r = { 0 };
	struct pr_session_info info;
	struct seg_name *segs = NULL;
	uint64_t v[2], pinned;
	bool was_secure = true, secure = false;
	size_t nsegs = 0;
	int err;

	err = pr_store_check_writable(st);
	if (err)
		goto out;
	/* A session whose writer died is interrupted, not running: it may go. */
	err = destroy_prepare(st, &was_secure);
	if (err)
		goto out;
	secure = true;
	/* Checked under the write lock: nobody pins it or starts on it meanwhile. */
	err = pr_store_txn_begin(st);
	if (!err)
		err = pr_store_session_load(st, session, &info);
	if (!err)
		err = query_row(st, "SELECT pinned FROM sessions WHERE id = ?", &session, 1,
				&pinned, 1, NULL, "read session");
	if (err)
		goto fail;
	if (pinned) {
		err = pr_store_fail(st, -EPERM,
				    "session %lld is pinned: unpin it first to delete it",
				    (long long)session);
		goto fail;
	}
	if (info.status == PR_SESSION_RUNNING) {
		err = pr_store_fail(st, -EBUSY,
				    "session %lld is being captured (process %d): stop the capture "
				    "first",
				    (long long)session, (int)info.writer_pid);
		goto fail;
	}
	err = query_row(st,
			"SELECT coalesce(sum(pkt_count), 0), count(*) FROM packet_blocks "
			"WHERE session_id = ?",
			&session, 1, v, 2, NULL, "count the session's blocks");
	if (!err)
		err = session_segments(st, session, &segs, &nsegs);
	if (err)
		goto fail;
	r.packets = v[0];
	r.blocks = v[1];
	r.segments = nsegs;
	err = segment_row_delete(st, session, "session_id");
	if (!err)
		err = exec_id(st, "DELETE FROM packet_blocks WHERE session_id = ?", session, NULL,
			      "delete the session's blocks");
	if (!err)
		err = exec_id(st, "DELETE FROM flows WHERE session_id = ?", session, &r.flows,
			      "delete the session's flows");
	if (!err)
		err = exec_id(st, "DELETE FROM interfaces WHERE session_id = ?", session, NULL,
			      "delete the session's interfaces");
	if (!err)
		err = side_tables_delete(st, session);
	if (!err)
		err = exec_id(st, "DELETE FROM sessions WHERE id = ?", session, NULL,
			      "delete the session");
	if (!err && nsegs)
		err = segments_rewrite(st);
	if (err)
		goto fail;
	if (st->have_cur && st->cur.id == session)
		st->have_cur = false;
	err = pr_store_commit(st);
	if (err)
		goto out;
	err = session_files_remove(st, session, segs, nsegs, &r.files_removed);
	r.wal_clean = wal_empty(st);
	goto out;
fail:
	err = pr_store_write_fail(st, err);
out:
	if (secure)
		secure_delete_restore(st, was_secure);
	free(segs);
	if (res)
		*res = r;
	return err;
}

int pr_store_session_pin(struct pr_store *st, int64_t session, bool pinned)
{
	uint64_t changed = 0;
	int err;

	err = pr_store_check_writable(st);
	if (!err)
		err = pr_store_txn_begin(st);
	if (err)
		goto out;
	err = exec_id(st,
		      pinned ? "UPDATE sessions SET pinned = 1 WHERE id = ?" :
			       "UPDATE sessions SET pinned = 0 WHERE id = ?",
		      session, &changed, "pin session");
	if (!err && !changed)
		err = pr_store_fail(st, -ENOENT, "session %lld: no such session",
				    (long long)session);
	if (err) {
		err = pr_store_write_fail(st, err);
		goto out;
	}
	err = pr_store_commit(st);
out:
	return err;
}

int pr_store_session_life_get(struct pr_store *st, int64_t session,
			      struct pr_store_session_life *out)
{
	uint64_t v[2];
	bool found;
	int err;

	memset(out, 0, sizeof(*out));
	err = query_row(st, "SELECT pinned, expired_packets FROM sessions WHERE id = ?", &session,
			1, v, 2, &found, "read session");
	if (!err && !found)
		err = pr_store_fail(st, -ENOENT, "session %lld: no such session",
				    (long long)session);
	if (err)
		goto out;
	out->pinned = v[0] != 0;
	out->expired_packets = v[1];
	err = query_row(
		st, "SELECT coalesce(sum(pkt_count), 0) FROM packet_blocks WHERE session_id = ?",
		&session, 1, v, 1, NULL, "count the session's packets");
	if (err)
		goto out;
	out->stored_packets = v[0];
	err = query_row(st, "SELECT count(*) FROM segments WHERE session_id = ?", &session, 1, v, 1,
			NULL, "count the session's segments");
	out->segments = v[0];
out:
	return err;
}

/* ---- retention ---- */

struct candidate {
	struct pr_store_retention_item item;
	bool pinned;
	bool open; /* being written: never deleted */
};

static int cand_cmp(const void *a, const void *b)
{
	const struct pr_store_retention_item *x = &((const struct candidate *)a)->item;
	const struct pr_store_retention_item *y = &((const struct candidate *)b)->item;

	if (x->age_ts_ns != y->age_ts_ns)
		return x->age_ts_ns < y->age_ts_ns ? -1 : 1;
	return x->segment < y->segment ? -1 : x->segment > y->segment;
}

/* Every segment with what retention needs to know, oldest first. */
static int candidates_load(struct pr_store *st, const char *dir, struct candidate **out,
			   size_t *n_out)
{
	struct candidate *v = NULL, *grown;
	size_t n = 0, cap = 0;
	char path[PATH_MAX];
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(
		st->db,
		"SELECT g.id, g.session_id, g.file, g.closed_ts, g.created_ts, "
		"coalesce(s.status, -1), coalesce(s.pinned, 0), coalesce(s.end_ts, 0), "
		"(SELECT count(*) FROM packet_blocks b "
		" WHERE b.session_id = g.session_id AND b.segment_id = g.id), "
		"(SELECT coalesce(sum(b.pkt_count), 0) FROM packet_blocks b "
		" WHERE b.session_id = g.session_id AND b.segment_id = g.id) "
		"FROM segments g LEFT JOIN sessions s ON s.id = g.session_id",
		-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "retention: list segments");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *f = sqlite3_column_text(s, 2);
		uint64_t closed = (uint64_t)sqlite3_column_int64(s, 3);
		uint64_t created = (uint64_t)sqlite3_column_int64(s, 4);
		int64_t status = sqlite3_column_int64(s, 5);
		uint64_t end = (uint64_t)sqlite3_column_int64(s, 7);
		struct candidate *c;

		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				err = pr_store_fail(st, -ENOMEM, "retention: %s", strerror(ENOMEM));
				goto out;
			}
			v = grown;
		}
		c = &v[n++];
		memset(c, 0, sizeof(*c));
		c->item.segment = sqlite3_column_int64(s, 0);
		c->item.session = sqlite3_column_int64(s, 1);
		snprintf(c->item.file, sizeof(c->item.file), "%s", f ? (const char *)f : "");
		c->pinned = sqlite3_column_int64(s, 6) != 0;
		c->item.blocks = (uint64_t)sqlite3_column_int64(s, 8);
		c->item.packets = (uint64_t)sqlite3_column_int64(s, 9);
		/*
		 * Open (closed_ts 0): being written while its session runs; a
		 * writer that died left it open, and it is as old as the end
		 * that recovery gave the session.
		 */
		c->open = !closed && status == PR_SESSION_RUNNING;
		c->item.age_ts_ns = closed ? closed : end ? end : created;
		if (c->item.file[0] && plain_name(c->item.file) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, c->item.file) < (int)sizeof(path))
			c->item.file_bytes = file_size(path);
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "retention: list segments");
	else if (n) /* qsort() takes no NULL, even for nothing to sort */
		qsort(v, n, sizeof(*v), cand_cmp);
out:
	sqlite3_finalize(s);
	if (err) {
		free(v);
		v = NULL;
		n = 0;
	}
	*out = v;
	*n_out = n;
	return err;
}

/*
 * Choose: walk the segments oldest first and take each while it is older
 * than the age limit or the store is above the size limit. The database
 * itself does not shrink when rows go, so only the files count as freed.
 * Chosen candidates are moved to the front; returns how many.
 */
static size_t choose(struct candidate *c, size_t n, uint64_t now_ns,
		     struct pr_store_retention_result *res)
{
	uint64_t days_ns = res->retention_days * NS_PER_DAY, total = res->size_before;
	size_t chosen = 0;

	for (size_t i = 0; i < n; i++) {
		bool old, over;

		if (c[i].open) {
			res->kept_open++;
			continue;
		}
		old = res->retention_days && now_ns >= days_ns &&
		      c[i].item.age_ts_ns <= now_ns - days_ns;
		over = res->retention_bytes && total > res->retention_bytes;
		if (!old && !over)
			break;
		if (c[i].pinned) {
			res->kept_pinned++;
			continue;
		}
		c[i].item.reason = old ? PR_RETENTION_AGE : PR_RETENTION_SIZE;
		total -= c[i].item.file_bytes < total ? c[i].item.file_bytes : total;
		res->segments++;
		res->blocks += c[i].item.blocks;
		res->packets += c[i].item.packets;
		res->bytes += c[i].item.file_bytes;
		c[chosen++] = c[i];
	}
	res->size_after = total;
	res->over_size = res->retention_bytes && total > res->retention_bytes;
	return chosen;
}

/* The limits, the size, and the chosen segments (at the front of *cands). */
static int retention_select(struct pr_store *st, uint64_t now_ns, struct candidate **cands,
			    size_t *chosen, struct pr_store_retention_result *res)
{
	char dir[PATH_MAX];
	size_t n = 0;
	int err;

	memset(res, 0, sizeof(*res));
	*cands = NULL;
	*chosen = 0;
	if (st->mode != PR_STORE_MODE_SEGMENTS) {
		err = pr_store_fail(
			st, -EOPNOTSUPP,
			"%s: retention deletes whole segments, and this store keeps its "
			"packets in the database (store mode db): delete sessions with "
			"delete-session instead",
			st->path);
		goto out;
	}
	if (!pr_sink_seg_dir(st->path, dir, sizeof(dir))) {
		err = pr_store_fail(st, -ENAMETOOLONG, "%s: %s", st->path, strerror(ENAMETOOLONG));
		goto out;
	}
	err = pr_store_get_retention(st, &res->retention_days, &res->retention_bytes);
	if (err)
		goto out;
	res->size_before = res->size_after = retention_size(st);
	if (!res->retention_days && !res->retention_bytes)
		goto out;
	err = candidates_load(st, dir, cands, &n);
	if (!err)
		*chosen = choose(*cands, n, now_ns, res);
out:
	return err;
}

int pr_store_retention_plan(struct pr_store *st, uint64_t now_ns, pr_store_retention_fn fn,
			    void *ctx, struct pr_store_retention_result *res)
{
	struct candidate *c = NULL;
	size_t n = 0;
	int err;

	err = retention_select(st, now_ns, &c, &n, res);
	for (size_t i = 0; !err && fn && i < n; i++)
		err = fn(ctx, &c[i].item);
	free(c);
	return err;
}

int pr_store_retention_enforce(struct pr_store *st, uint64_t now_ns, pr_store_retention_fn fn,
			       void *ctx, struct pr_store_retention_result *res)
{
	struct candidate *c = NULL;
	bool was_secure = true, secure = false;
	size_t n = 0;
	int err;

	memset(res, 0, sizeof(*res));
	err = pr_store_check_writable(st);
	if (err)
		goto out;
	if (st->mode != PR_STORE_MODE_SEGMENTS) {
		err = retention_select(st, now_ns, &c, &n, res);
		goto out;
	}
	/* Segments that a dead writer left open become deletable once it is known dead. */
	err = destroy_prepare(st, &was_secure);
	if (err)
		goto out;
	secure = true;
	/* Chosen under the write lock: what is deleted is what was chosen. */
	err = pr_store_txn_begin(st);
	if (!err)
		err = retention_select(st, now_ns, &c, &n, res);
	if (err || !n)
		goto fail;
	for (size_t i = 0; i < n && !err; i++) {
		const struct pr_store_retention_item *it = &c[i].item;

		err = exec_ids(st,
			       "UPDATE sessions SET expired_packets = expired_packets + ?1 "
			       "WHERE id = ?2",
			       (int64_t)it->packets, it->session,
			       "retention: count expired packets");
		if (!err)
			err = exec_ids(st,
				       "DELETE FROM packet_blocks WHERE session_id = ?2 AND "
				       "segment_id = ?1",
				       it->segment, it->session,
				       "retention: delete the index rows");
		if (!err)
			err = segment_row_delete(st, it->segment, "id");
	}
	if (!err)
		err = segments_rewrite(st);
	if (err)
		goto fail;
	err = pr_store_commit(st);
	if (err)
		goto out;
	/* The keys are gone: the files hold nothing anyone can read, and go now. */
	for (size_t i = 0; i < n; i++) {
		int e = c[i].item.file[0] ?
				st->sink->ops->delete_segment(st->sink, c[i].item.segment,
							      c[i].item.file) :
				0;

		if (e && !err)
			err = e;
		if (fn && !err)
			err = fn(ctx, &c[i].item);
	}
	res->wal_clean = wal_empty(st);
	res->size_after = retention_size(st);
	res->over_size = res->retention_bytes && res->size_after > res->retention_bytes;
	goto out;
fail:
	/* A failure rolls everything back; with nothing chosen nothing was written. */
	if (err)
		err = pr_store_write_fail(st, err);
	else
		err = pr_store_commit(st);
out:
	if (secure)
		secure_delete_restore(st, was_secure);
	free(c);
	return err;
}

/* ---- rekey ---- */

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

int pr_store_rekey(struct pr_store *st, const char *newkey)
{
	char raw[3 + 64 + 1];
	const char *k = newkey;
	bool exclusive = false, locked = false;
	int n, rc, err;

	err = pr_store_check_writable(st);
	if (err)
		goto out;
	if (!st->encrypted) {
		err = pr_store_fail(st, -EOPNOTSUPP,
				    "%s: the store is not encrypted: rekey changes the key of an "
				    "encrypted store and cannot encrypt a plaintext one",
				    st->path);
		goto out;
	}
	if (!newkey || !newkey[0]) {
		err = pr_store_fail(st, -EINVAL, "rekey: the new key is empty");
		goto out;
	}
	err = pr_store_commit(st);
	if (!err)
		err = pr_store_exec(st, "PRAGMA locking_mode = EXCLUSIVE", "rekey: locking mode");
	if (err)
		goto out;
	exclusive = true;
	/*
	 * In exclusive mode a write transaction takes the database file's
	 * exclusive lock and keeps it after the commit. In WAL mode every
	 * other connection holds a shared lock on that file for as long as
	 * it is open, so this succeeds only when nobody else uses the store,
	 * and then nobody else can open it until the lock goes: no reader
	 * or writer with the old key in its cache sees pages change under it.
	 */
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			err = pr_store_fail(st, -EBUSY,
					    "%s: another process has the store open: stop it "
					    "(a capture, a reader) and run rekey again",
					    st->path);
		else
			err = pr_store_sql_fail(st, rc, "rekey: lock the store");
		goto out;
	}
	locked = true;
	/*
	 * SQLCipher rewrites every page under the new key in one transaction.
	 * In WAL mode that goes to the WAL first: a crash before its commit
	 * leaves the store under the old key, whole. FULL makes the commit
	 * durable before the checkpoint starts to copy the pages over the
	 * database file (page 1, where the key is checked, first).
	 */
	err = pr_store_exec(st, "PRAGMA synchronous = FULL", "rekey: synchronous mode");
	if (err)
		goto out;
	n = (int)strlen(newkey);
	if (n == 64 && all_hex(newkey, 64)) {
		snprintf(raw, sizeof(raw), "x'%s'", newkey);
		k = raw;
		n = 67;
	}
	rc = sqlite3_rekey(st->db, k, n);
	explicit_bzero(raw, sizeof(raw));
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "rekey");
		goto out;
	}
	rc = sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "rekey: read back under the new key");
		goto out;
	}
	/* Nobody else is there to wait for: this empties the WAL of old-key pages. */
	err = pr_store_checkpoint(st, true);
	if (err)
		pr_store_fail(st, err, "%s: rekey: empty the WAL: %s", st->path,
			      err == -EBUSY ? "busy" : st->errmsg);
out:
	if (exclusive)
		sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL; PRAGMA locking_mode = NORMAL",
			     NULL, NULL, NULL);
	/* The exclusive lock goes with the end of the next write transaction. */
	if (locked)
		sqlite3_exec(st->db, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL);
	return err;
}
