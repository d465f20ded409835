// SPDX-License-Identifier: Apache-2.0
/*
 * The packet store's schema: an array of numbered migrations, each applied
 * in its own transaction that also bumps PRAGMA user_version, so a crash
 * between two migrations leaves a database at a well-defined version and
 * the next open carries on. Migrations only ever add; a released one is
 * never edited, since databases in the field were built from its text.
 * Called by pr_store.c on the opening thread; owns nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "pr_compiler.h"
#include "pr_store_schema.h"

/*
 * Version 1. Timestamps are ns since the Unix epoch and counters are
 * unsigned 64-bit values stored in SQLite's signed integers (bit for bit;
 * the store converts back). Session ids are AUTOINCREMENT because users
 * and logs refer to them: a deleted session's id must never come back.
 * packet_blocks.bytes sums the wire lengths of the block's packets. The two flow indexes serve "flows in time order"
 * and "this flow id"; more indexes would slow every insert, so none more.
 */
static const char migration_1[] =
	"CREATE TABLE pr_meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE sessions("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL DEFAULT '',"
	" source TEXT NOT NULL DEFAULT '',"
	" source_kind TEXT NOT NULL DEFAULT '',"
	" filter TEXT NOT NULL DEFAULT '',"
	" start_ts INTEGER NOT NULL DEFAULT 0,"
	" end_ts INTEGER NOT NULL DEFAULT 0,"
	" first_pkt_ts INTEGER NOT NULL DEFAULT 0,"
	" last_pkt_ts INTEGER NOT NULL DEFAULT 0,"
	" packets INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0,"
	" captured_bytes INTEGER NOT NULL DEFAULT 0,"
	" drops_ring_full INTEGER NOT NULL DEFAULT 0,"
	" drops_kernel INTEGER NOT NULL DEFAULT 0,"
	" drops_iface INTEGER NOT NULL DEFAULT 0,"
	" drops_too_big INTEGER NOT NULL DEFAULT 0,"
	" drops_store INTEGER NOT NULL DEFAULT 0,"
	" flows INTEGER NOT NULL DEFAULT 0,"
	" snaplen INTEGER NOT NULL DEFAULT 0,"
	" status INTEGER NOT NULL DEFAULT 0,"
	" writer_pid INTEGER NOT NULL DEFAULT 0,"
	" writer_host TEXT NOT NULL DEFAULT '',"
	" writer_boot_id TEXT NOT NULL DEFAULT '',"
	" writer_start INTEGER NOT NULL DEFAULT 0,"
	" message TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE interfaces("
	" session_id INTEGER NOT NULL,"
	" idx INTEGER NOT NULL,"
	" name TEXT NOT NULL DEFAULT '',"
	" description TEXT NOT NULL DEFAULT '',"
	" linktype INTEGER NOT NULL,"
	" snaplen INTEGER NOT NULL,"
	" tsresol INTEGER NOT NULL,"
	" PRIMARY KEY(session_id, idx));"
	"CREATE TABLE packet_blocks("
	" id INTEGER PRIMARY KEY,"
	" session_id INTEGER NOT NULL,"
	" first_seq INTEGER NOT NULL,"
	" pkt_count INTEGER NOT NULL,"
	" first_ts INTEGER NOT NULL,"
	" last_ts INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" data BLOB NOT NULL);"
	"CREATE INDEX packet_blocks_session_seq ON packet_blocks(session_id, first_seq);"
	"CREATE TABLE flows("
	" session_id INTEGER NOT NULL,"
	" flow_id INTEGER NOT NULL,"
	" ip_version INTEGER NOT NULL,"
	" ip_proto INTEGER NOT NULL,"
	" src_ip TEXT,"
	" src_port INTEGER NOT NULL,"
	" dst_ip TEXT,"
	" dst_port INTEGER NOT NULL,"
	" vlan INTEGER NOT NULL,"
	" iface INTEGER NOT NULL,"
	" first_ts INTEGER NOT NULL,"
	" last_ts INTEGER NOT NULL,"
	" packets_ts INTEGER NOT NULL,"
	" packets_tc INTEGER NOT NULL,"
	" bytes_ts INTEGER NOT NULL,"
	" bytes_tc INTEGER NOT NULL,"
	" tcp_state INTEGER NOT NULL,"
	" end_reason INTEGER NOT NULL,"
	" tcp_flags_ts INTEGER NOT NULL,"
	" tcp_flags_tc INTEGER NOT NULL,"
	" app INTEGER NOT NULL);"
	"CREATE INDEX flows_session_time ON flows(session_id, first_ts, flow_id);"
	"CREATE INDEX flows_session_flow ON flows(session_id, flow_id);";

/*
 * Version 2: sealed segments (DESIGN.md section 4). A block in a segment
 * keeps an empty data blob and says where it is (segment, offset, length
 * on disk, number in the segment = its nonce). A segment belongs to one
 * session and has its own data key, kept here, in the encrypted database:
 * deleting the row destroys the segment's data. The time index serves
 * "packets between T1 and T2"; flow_ids, the sorted distinct flow ids of
 * a block (u64 little-endian each), lets "the packets of flow X" skip
 * every block without it before reading or decrypting it. A segment's
 * closed_ts (wall clock, 0 while written) is its age for retention; a
 * pinned session is never deleted by retention; expired_packets counts a
 * session's packets whose segments retention deleted. A store from version 1 keeps its blocks
 * in rows: its store_mode is db.
 */
static const char migration_2[] =
	"ALTER TABLE packet_blocks ADD COLUMN segment_id INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE packet_blocks ADD COLUMN seg_offset INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE packet_blocks ADD COLUMN seg_len INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE packet_blocks ADD COLUMN seg_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE packet_blocks ADD COLUMN flow_ids BLOB;"
	"CREATE TABLE segments("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" session_id INTEGER NOT NULL,"
	" file TEXT NOT NULL,"
	" data_key BLOB,"
	" created_ts INTEGER NOT NULL,"
	" closed_ts INTEGER NOT NULL DEFAULT 0);"
	"ALTER TABLE sessions ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN expired_packets INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX segments_session ON segments(session_id);"
	"CREATE INDEX packet_blocks_session_time ON packet_blocks(session_id, first_ts);"
	"INSERT OR IGNORE INTO pr_meta(key, value) VALUES('store_mode', 'db');";

/*
 * Version 3: the completeness map. drop_stats keeps each change of a
 * session's cumulative drop counters as capture received them (wall
 * clock), with the time stamp of the last packet stored by then and how
 * many there were, so that an export can say between which packets the
 * capture lost some. The sensor's signing key lives in pr_meta and needs
 * no table.
 */
static const char migration_3[] =
	"CREATE TABLE drop_stats("
	" session_id INTEGER NOT NULL,"
	" wall_ts INTEGER NOT NULL,"
	" pkt_ts INTEGER NOT NULL,"
	" packets INTEGER NOT NULL,"
	" drops_ring_full INTEGER NOT NULL,"
	" drops_kernel INTEGER NOT NULL,"
	" drops_iface INTEGER NOT NULL,"
	" drops_too_big INTEGER NOT NULL,"
	" drops_store INTEGER NOT NULL);"
	"CREATE INDEX drop_stats_session ON drop_stats(session_id, wall_ts);";

/*
 * Version 4: L7 metadata (issue 8), one row per parser transaction (a TLS
 * hello, a DNS message, an HTTP request ...) and one "app" row per
 * detected flow, keyed by flow id. fields is a JSON object under the
 * field names of the flow JSON, so that SQL users read it with json_extract.
 */
static const char migration_4[] =
	"CREATE TABLE l7_meta("
	" session_id INTEGER NOT NULL,"
	" flow_id INTEGER NOT NULL,"
	" ts INTEGER NOT NULL,"
	" app TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" dir INTEGER NOT NULL,"
	" fields TEXT NOT NULL);"
	"CREATE INDEX l7_meta_flow ON l7_meta(session_id, flow_id);";

/*
 * Version 5: lanes. A block may hold one traffic class's packets with
 * others between them (block version 2): first_seq and pkt_count no
 * longer give its last packet, last_seq does. NULL in rows written
 * before: their last packet is first_seq + pkt_count - 1.
 */
static const char migration_5[] = "ALTER TABLE packet_blocks ADD COLUMN last_seq INTEGER;";

/*
 * Version 6: drop accounting that adds up. A session keeps what reached
 * the capture point (received) and what filters rejected (filtered), and
 * drops of the AF_XDP and DPDK backends by reason, so that received =
 * packets + filtered + every drops_ column. drop_stats gets the same
 * reasons.
 */
static const char migration_6[] =
	"ALTER TABLE sessions ADD COLUMN received INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN drops_no_socket INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN drops_xsk_rx INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN drops_xsk_ring_full INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN drops_nic_missed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN drops_nic_nombuf INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN drops_nic_errors INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE drop_stats ADD COLUMN drops_no_socket INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE drop_stats ADD COLUMN drops_xsk_rx INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE drop_stats ADD COLUMN drops_xsk_ring_full INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE drop_stats ADD COLUMN drops_nic_missed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE drop_stats ADD COLUMN drops_nic_nombuf INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE drop_stats ADD COLUMN drops_nic_errors INTEGER NOT NULL DEFAULT 0;";

/* migrations[i] takes a database from version i to version i + 1. */
static const char *const migrations[] = {
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
	migration_6,
};

PR_STATIC_ASSERT(PR_ARRAY_SIZE(migrations) == PR_STORE_SCHEMA_VERSION,
		 "one migration per schema version");

int pr_store_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

static int sql_fail(sqlite3 *db, int rc, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int sql_fail(sqlite3 *db, int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - n, ": %s", sqlite3_errmsg(db));
	return pr_store_sqlite_errno(rc);
}

/* The first column of a one-row query as an integer. */
static int query_int(sqlite3 *db, const char *sql, const char *param, long long *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		goto out;
	if (param)
		sqlite3_bind_text(stmt, 1, param, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
out:
	sqlite3_finalize(stmt);
	return rc;
}

int pr_store_schema_check(sqlite3 *db, int *version, char *err, size_t errlen)
{
	long long objects, has_meta, uv;
	int rc, ret = 0;

	*version = 0;
	rc = query_int(db, "SELECT count(*) FROM sqlite_master", NULL, &objects);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "read schema");
		goto out;
	}
	rc = query_int(db, "PRAGMA user_version", NULL, &uv);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "read schema version");
		goto out;
	}
	if (!objects && !uv)
		goto out;

	rc = query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
		       "pr_meta", &has_meta);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "read schema");
	} else if (!has_meta || uv < PR_STORE_SCHEMA_MIN_READ) {
		snprintf(err, errlen, "not a packetrecorder database");
		ret = -EBADMSG;
	} else if (uv > PR_STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "created by a newer packetrecorder (schema %lld)", uv);
		ret = -EBADMSG;
	} else {
		*version = (int)uv;
	}
out:
	return ret;
}

static int meta_set(sqlite3 *db, const char *key, const char *value, bool replace)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db,
				replace ?
					"INSERT OR REPLACE INTO pr_meta(key, value) VALUES (?, ?)" :
					"INSERT OR IGNORE INTO pr_meta(key, value) VALUES (?, ?)",
				-1, &stmt, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	sqlite3_finalize(stmt);
	return rc;
}

/* One migration in one transaction: the schema change and its version move together. */
static int migrate_one(sqlite3 *db, int to, const char *created_by, char *err, size_t errlen)
{
	char buf[64];
	long long uv;
	int rc, ret = 0;

	/*
	 * IMMEDIATE takes the write lock first, then the version is read
	 * again: two processes creating one file at once must not both run
	 * the same migration.
	 */
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "schema migration %d: begin", to);
		goto out;
	}
	rc = query_int(db, "PRAGMA user_version", NULL, &uv);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "schema migration %d: read version", to);
		goto out;
	}
	if (uv >= to)
		goto commit;
	rc = sqlite3_exec(db, migrations[to - 1], NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "schema migration %d", to);
		goto out;
	}
	snprintf(buf, sizeof(buf), "%d", to);
	rc = meta_set(db, "schema_version", buf, true);
	if (rc == SQLITE_OK)
		rc = meta_set(db, "format", "packetrecorder", false);
	if (rc == SQLITE_OK)
		rc = meta_set(db, "created_by", created_by, false);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "schema migration %d: pr_meta", to);
		goto out;
	}
	/* PRAGMA takes no bound parameters; the value is our own integer. */
	snprintf(buf, sizeof(buf), "PRAGMA user_version = %d", to);
	rc = sqlite3_exec(db, buf, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "schema migration %d: set version", to);
		goto out;
	}
commit:
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		ret = sql_fail(db, rc, err, errlen, "schema migration %d: commit", to);
out:
	if (ret && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int pr_store_schema_migrate(sqlite3 *db, const char *created_by, char *err, size_t errlen)
{
	long long uv;
	int rc, ret = 0;

	rc = query_int(db, "PRAGMA user_version", NULL, &uv);
	if (rc != SQLITE_OK) {
		ret = sql_fail(db, rc, err, errlen, "read schema version");
		goto out;
	}
	for (int to = (int)uv + 1; to <= PR_STORE_SCHEMA_VERSION; to++) {
		ret = migrate_one(db, to, created_by, err, errlen);
		if (ret)
			goto out;
	}
out:
	return ret;
}
