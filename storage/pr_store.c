// SPDX-License-Identifier: Apache-2.0
/*
 * The packet store on SQLCipher: what every part of it shares (API in
 * pr_store.h, the object in pr_store_int.h). Errors are kept as a sentence
 * in the store and returned as negative errno values; writes happen in
 * one open transaction that a failure rolls back whole, so the file
 * always holds exactly the committed data. The thread that opened a
 * store is the only one that may use it; the store owns its connection,
 * statements, block buffer and path copy.
 */
#define PR_LOG_MODULE "store"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_store_int.h"
#include "pr_store_schema.h"

int pr_store_fail(struct pr_store *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int pr_store_fail(struct pr_store *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

/* "<what>: <SQLite's message>", returned as a negative errno. */
int pr_store_sql_fail(struct pr_store *st, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int pr_store_sql_fail(struct pr_store *st, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(st->errmsg))
		snprintf(st->errmsg + n, sizeof(st->errmsg) - n, ": %s", sqlite3_errmsg(st->db));
	return pr_store_sqlite_errno(rc);
}

/*
 * A write failed: the message is already saved. A constraint violation
 * undoes only its own statement, so the transaction carries on. Anything
 * else (full disk, I/O error) may have cost SQLite the transaction or left
 * it half done: roll it back so the file keeps exactly what was committed,
 * and forget the pending packets and counters, which were part of it; the
 * current session is reloaded from its committed row on the next write.
 */
void pr_store_txn_abort(struct pr_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_txn = false;
	pr_store_gate_leave(st);
	st->have_cur = false;
	for (uint32_t i = 0; i < MAX_LANES; i++) {
		pr_block_builder_reset(&st->lanes[i].blk);
		st->lanes[i].n_flows = 0;
	}
	/* Rows waiting for their bytes go too: their counters were part of the pending data. */
	st->n_pend_blocks = 0;
	st->n_pend_flow_ids = 0;
	st->n_pend_flows = 0;
	st->n_points = 0;
	st->point_settled = st->point_committed;
}

int pr_store_write_fail(struct pr_store *st, int err)
{
	if (err != -EEXIST || sqlite3_get_autocommit(st->db))
		pr_store_txn_abort(st);
	return err;
}

/* Statements of the write path are prepared once and kept. */
int pr_store_prepare(struct pr_store *st, sqlite3_stmt **stmt, const char *sql)
{
	int rc = *stmt ? SQLITE_OK : sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);

	return rc == SQLITE_OK ? 0 : pr_store_sql_fail(st, rc, "prepare statement");
}

int pr_store_exec(struct pr_store *st, const char *sql, const char *what)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : pr_store_sql_fail(st, rc, "%s", what);
}

int pr_store_check_writable(struct pr_store *st)
{
	return st->readonly ? pr_store_fail(st, -EROFS, "%s: store opened read-only", st->path) : 0;
}

/*
 * IMMEDIATE takes the write lock at once: a deferred transaction that
 * reads first could fail with SQLITE_BUSY when it upgrades to write
 * while a reader holds an older snapshot.
 */
int pr_store_txn_begin(struct pr_store *st)
{
	int err = 0;

	if (st->in_txn)
		goto out;
	err = pr_store_gate_enter(st);
	if (err)
		goto out;
	err = pr_store_exec(st, "BEGIN IMMEDIATE", "begin transaction");
	if (!err)
		st->in_txn = true;
	else
		pr_store_gate_leave(st);
out:
	return err;
}

uint64_t pr_store_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pr_store_close(struct pr_store *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->ins_block);
	sqlite3_finalize(st->ins_flow);
	sqlite3_finalize(st->ins_l7);
	sqlite3_finalize(st->upd_session);
	if (st->sink)
		st->sink->ops->destroy(st->sink);
	/* An open transaction is rolled back by the close: only commits persist. */
	sqlite3_close_v2(st->db);
	pr_store_gate_leave(st);
	for (uint32_t i = 0; i < MAX_LANES; i++) {
		pr_block_builder_fini(&st->lanes[i].blk);
		free(st->lanes[i].flows);
	}
	free(st->pend_blocks);
	free(st->pend_flow_ids);
	free(st->pend_flows);
	free(st->path);
	free(st);
}

enum pr_store_mode pr_store_get_mode(const struct pr_store *st)
{
	return st->mode;
}

const char *pr_store_mode_name(enum pr_store_mode mode)
{
	return mode == PR_STORE_MODE_DB ? "db" : "segments";
}

const char *pr_store_errmsg(const struct pr_store *st)
{
	return st ? st->errmsg : "no store";
}

bool pr_store_is_encrypted(const struct pr_store *st)
{
	return st && st->encrypted;
}

bool pr_store_is_readonly(const struct pr_store *st)
{
	return st && st->readonly;
}

int pr_store_checkpoint(struct pr_store *st, bool truncate)
{
	int rc = sqlite3_wal_checkpoint_v2(
		st->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
		NULL, NULL);

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return truncate ? -EBUSY : 0; /* passive: what could be copied was */
	if (rc != SQLITE_OK)
		return pr_store_sql_fail(st, rc, "checkpoint");
	return 0;
}
