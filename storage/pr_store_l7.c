// SPDX-License-Identifier: Apache-2.0
/*
 * L7 metadata rows (table l7_meta, schema version 4): one per parser
 * transaction of a flow and one "app" row per detected flow. Written by
 * the store's writer thread inside its open transaction; a row names no
 * packet bytes, so unlike flow rows it need not wait for a commit point.
 * Read by any connection.
 */
#include <errno.h>
#include <string.h>

#include "pr_store.h"
#include "pr_store_int.h"

int pr_store_add_l7(struct pr_store *st, int64_t session, const struct pr_store_l7 *m)
{
	sqlite3_stmt *s;
	int rc, err;

	err = pr_store_check_writable(st);
	if (!err)
		err = pr_store_txn_begin(st);
	if (!err)
		err = pr_store_prepare(
			st, &st->ins_l7,
			"INSERT INTO l7_meta(session_id, flow_id, ts, app, kind, dir, "
			"fields) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (err)
		return err;
	s = st->ins_l7;
	sqlite3_bind_int64(s, 1, session);
	sqlite3_bind_int64(s, 2, (int64_t)m->flow_id);
	sqlite3_bind_int64(s, 3, (int64_t)m->ts_ns);
	sqlite3_bind_text(s, 4, m->app, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, m->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, m->dir);
	sqlite3_bind_text(s, 7, m->fields ? m->fields : "{}", -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "insert l7 metadata");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return err;
}

int pr_store_l7_foreach(struct pr_store *st, int64_t session, uint64_t flow_id, const char *app,
			pr_store_l7_fn fn, void *ctx)
{
	sqlite3_stmt *s = NULL;
	struct pr_store_l7 m;
	int rc, ret = 0;

	/* A store opened read-only below schema 4 was not migrated: no table, no metadata. */
	if (st->schema_version < 4)
		return 0;
	/*
	 * Two texts, not "(?2 = 0 OR flow_id = ?2)": with the OR SQLite
	 * cannot use l7_meta_flow's flow_id column, and reading one flow's
	 * rows scanned every row of its session (flows --json over a session
	 * of 7,000 flows took 13 s, quadratic in its flows).
	 */
	rc = sqlite3_prepare_v2(st->db,
				flow_id ? "SELECT flow_id, ts, app, kind, dir, fields FROM l7_meta "
					  "WHERE session_id = ?1 AND flow_id = ?2 "
					  "AND (?3 IS NULL OR app = ?3) ORDER BY rowid" :
					  "SELECT flow_id, ts, app, kind, dir, fields FROM l7_meta "
					  "WHERE session_id = ?1 "
					  "AND (?3 IS NULL OR app = ?3) ORDER BY rowid",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return pr_store_sql_fail(st, rc, "read l7 metadata of session %lld",
					 (long long)session);
	sqlite3_bind_int64(s, 1, session);
	if (flow_id)
		sqlite3_bind_int64(s, 2, (int64_t)flow_id);
	if (app)
		sqlite3_bind_text(s, 3, app, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(s, 2);
		const char *k = (const char *)sqlite3_column_text(s, 3);
		const char *f = (const char *)sqlite3_column_text(s, 5);

		m.flow_id = (uint64_t)sqlite3_column_int64(s, 0);
		m.ts_ns = (uint64_t)sqlite3_column_int64(s, 1);
		m.app = a ? a : "";
		m.kind = k ? k : "";
		m.dir = (uint8_t)sqlite3_column_int(s, 4);
		m.fields = f ? f : "{}";
		ret = fn(ctx, &m);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = pr_store_sql_fail(st, rc, "read l7 metadata of session %lld",
					(long long)session);
	sqlite3_finalize(s);
	return ret;
}
