// SPDX-License-Identifier: Apache-2.0
/*
 * Recovery of sessions left "running" by a writer that died: found by
 * host, boot id, pid and process start time, recounted from their
 * committed rows and marked interrupted. The thread that opened the
 * store only.
 */
#define PR_LOG_MODULE "store"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "pr_log.h"
#include "pr_store_int.h"

/* This boot's id (/proc/sys/kernel/random/boot_id), or "" where there is none. */
void pr_store_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	buf[0] = 0;
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/*
 * When process pid started, in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 if unknown. Together with the boot id it tells a
 * live writer from another process that got the same pid later.
 */
int64_t pr_store_proc_start(int64_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	return (int64_t)start;
}

/*
 * A running session's writer is dead if it ran on this host and either
 * the host rebooted since (another boot id), its pid is gone, or the pid
 * now belongs to a process that started at another time (pids are reused,
 * in containers especially). Another host's writer cannot be checked, so
 * it is left alone; EPERM from kill() means the pid is alive under another user.
 */
static bool writer_gone(const char *host, const char *writer_host, int64_t pid,
			const char *writer_boot, int64_t writer_start)
{
	char boot[64];

	if (strcmp(host, writer_host) || pid <= 0 || pid > INT32_MAX)
		return false;
	pr_store_boot_id(boot, sizeof(boot));
	if (writer_boot[0] && boot[0] && strcmp(boot, writer_boot))
		return true;
	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return true;
	return writer_start && pr_store_proc_start(pid) && pr_store_proc_start(pid) != writer_start;
}

/*
 * Recount an interrupted session from what its committed rows hold. The
 * status test makes a second recoverer racing us a no-op (*marked false).
 */
static int recover_one(struct pr_store *st, int64_t id, bool *marked)
{
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	*marked = false;
	rc = sqlite3_prepare_v2(st->db,
				"UPDATE sessions SET"
				/* Packets retention already deleted were stored too. */
				" packets = (SELECT coalesce(sum(pkt_count), 0)"
				"  FROM packet_blocks WHERE session_id = ?1) + expired_packets,"
				" bytes = (SELECT coalesce(sum(bytes), 0)"
				"  FROM packet_blocks WHERE session_id = ?1),"
				" first_pkt_ts = (SELECT coalesce(min(first_ts), 0)"
				"  FROM packet_blocks WHERE session_id = ?1),"
				" last_pkt_ts = (SELECT coalesce(max(last_ts), 0)"
				"  FROM packet_blocks WHERE session_id = ?1),"
				" end_ts = (SELECT CASE WHEN max(last_ts) > 0 THEN max(last_ts)"
				"  ELSE ?4 END FROM packet_blocks WHERE session_id = ?1),"
				" flows = (SELECT count(*) FROM flows WHERE session_id = ?1),"
				" status = ?2, message = ?3 WHERE id = ?1 AND status = ?5",
				-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int(s, 2, PR_SESSION_INTERRUPTED);
		sqlite3_bind_text(s, 3, INTERRUPTED_MSG, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, (int64_t)pr_store_now_ns());
		sqlite3_bind_int(s, 5, PR_SESSION_RUNNING);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_DONE)
		*marked = sqlite3_changes(st->db) > 0;
	else
		err = pr_store_sql_fail(st, rc, "recover session %lld", (long long)id);
	sqlite3_finalize(s);
	return err;
}

/* Running sessions whose writer is gone; no transaction, no write lock. */
static int find_orphans(struct pr_store *st, int64_t **ids_out, size_t *n_out)
{
	int64_t *ids = NULL, *grown;
	size_t n = 0, cap = 0;
	char host[256] = "";
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	/* A truncated name still compares equal to the one session_begin stored. */
	gethostname(host, sizeof(host) - 1);
	rc = sqlite3_prepare_v2(st->db,
				"SELECT id, writer_pid, writer_host, writer_boot_id, writer_start "
				"FROM sessions WHERE status = ?",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "find running sessions");
		goto out;
	}
	sqlite3_bind_int(s, 1, PR_SESSION_RUNNING);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *wh = sqlite3_column_text(s, 2);
		const unsigned char *wb = sqlite3_column_text(s, 3);

		if (!writer_gone(host, wh ? (const char *)wh : "", sqlite3_column_int64(s, 1),
				 wb ? (const char *)wb : "", sqlite3_column_int64(s, 4)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(ids, cap * sizeof(*ids));
			if (!grown) {
				err = pr_store_fail(st, -ENOMEM, "recover: %s", strerror(ENOMEM));
				goto out;
			}
			ids = grown;
		}
		ids[n++] = sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "find running sessions");
out:
	sqlite3_finalize(s);
	if (err) {
		free(ids);
		ids = NULL;
		n = 0;
	}
	*ids_out = ids;
	*n_out = n;
	return err;
}

int pr_store_recover(struct pr_store *st)
{
	int64_t *ids = NULL;
	size_t n = 0, marked = 0;
	bool done;
	int err;

	err = pr_store_check_writable(st);
	/* Our own pending data goes first, in its own transaction. */
	if (!err)
		err = pr_store_commit(st);
	if (!err)
		err = find_orphans(st, &ids, &n);
	/* Nothing to do takes no write lock: a live capture is not waited for. */
	if (err || !n)
		goto out;
	err = pr_store_txn_begin(st);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		err = recover_one(st, ids[i], &done);
		if (err) {
			err = pr_store_write_fail(st, err);
			goto out;
		}
		if (done)
			ids[marked++] = ids[i];
		/* A cached copy of the row would overwrite the recount at the next commit. */
		if (st->have_cur && st->cur.id == ids[i])
			st->have_cur = false;
	}
	err = pr_store_commit(st);
	if (err)
		goto out;
	for (size_t i = 0; i < marked; i++) {
		struct pr_sink_repair rep = { 0 };

		PR_NOTICE("%s: session %lld marked interrupted: its writer is gone", st->path,
			  (long long)ids[i]);
		/*
		 * Its segments may end in blocks that were appended but never
		 * committed, the last one perhaps torn: cut them, so that the
		 * segments hold exactly what the index names.
		 */
		err = st->sink->ops->repair(st->sink, ids[i], &rep);
		if (err)
			goto out;
		if (rep.segments_cut || rep.files_removed)
			PR_NOTICE("%s: session %lld: cut %llu uncommitted or torn bytes from %llu "
				  "segment%s, removed %llu uncommitted segment file%s",
				  st->path, (long long)ids[i], (unsigned long long)rep.bytes_cut,
				  (unsigned long long)rep.segments_cut,
				  rep.segments_cut == 1 ? "" : "s",
				  (unsigned long long)rep.files_removed,
				  rep.files_removed == 1 ? "" : "s");
	}
out:
	free(ids);
	return err ? err : (int)marked;
}
