// SPDX-License-Identifier: Apache-2.0
/*
 * Completeness and the sensor key. Capture records each change of a
 * session's cumulative drop counters as a drop_stats row (schema 3), and
 * the latest observation of counters that did not change; export turns
 * consecutive rows into the intervals in which packets were lost, bounded
 * by the packets stored around them. The store's Ed25519 key pair, which signs export manifests, is
 * generated on first use and its private half kept in pr_meta, under the
 * store's SQLCipher key; it is read, used and wiped inside this file.
 * Called on the thread that opened the store; owns nothing beyond a call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pr_store_int.h"

#define SENSOR_KEY_META "sensor_ed25519_key"
#define SENSOR_SEED_LEN 32

static int64_t i64(uint64_t v)
{
	return (int64_t)v;
}

static bool have_table(struct pr_store *st)
{
	sqlite3_stmt *s = NULL;
	bool ok;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
			       "name = 'drop_stats'",
			       -1, &s, NULL) != SQLITE_OK)
		return false;
	ok = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return ok;
}

/* The counters of a drop_stats row read by stmt from column col on. */
static bool row_equals(sqlite3_stmt *s, int col, const uint64_t drops[PR_DROP_REASON_MAX])
{
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		if ((uint64_t)sqlite3_column_int64(s, col + i) != drops[i])
			return false;
	return true;
}

int pr_store_stats_add(struct pr_store *st, int64_t session, uint64_t wall_ts_ns,
		       const uint64_t drops[PR_DROP_REASON_MAX])
{
	sqlite3_stmt *s = NULL;
	uint64_t pkt_ts = 0, packets = 0;
	bool same = false, plateau = false;
	int64_t last_rowid = 0;
	int rc, err;

	err = pr_store_check_writable(st);
	if (err)
		goto out;
	/* The last two rows: is the last one already the latest observation of its counters? */
	rc = sqlite3_prepare_v2(st->db,
				st->schema_version >= PR_STORE_SCHEMA_ACCOUNTING ?
					"SELECT rowid, " DROP_COLS " FROM drop_stats "
					"WHERE session_id = ? ORDER BY rowid DESC LIMIT 2" :
					"SELECT rowid, " DROP_COLS_V3 " FROM drop_stats "
					"WHERE session_id = ? ORDER BY rowid DESC LIMIT 2",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "read drop counters");
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		last_rowid = sqlite3_column_int64(s, 0);
		same = row_equals(s, 1, drops);
		rc = sqlite3_step(s);
		if (same && rc == SQLITE_ROW)
			plateau = row_equals(s, 1, drops);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		err = pr_store_sql_fail(st, rc, "read drop counters");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	/* The packets added so far, committed or not: the loss came after them. */
	if (st->have_cur && st->cur.id == session) {
		pkt_ts = st->cur.last_ts_ns;
		packets = st->cur.packets;
	}
	err = pr_store_txn_begin(st);
	if (err)
		goto out;
	/*
	 * Unchanged counters: the row after the one that recorded them
	 * holds the latest observation. A loss then starts there, after every
	 * packet stored up to the last time nothing had been lost, rather than
	 * at the last change, perhaps minutes earlier.
	 */
	if (plateau)
		rc = sqlite3_prepare_v2(
			st->db,
			"UPDATE drop_stats SET wall_ts = ?2, pkt_ts = ?3, packets = ?4 "
			"WHERE rowid = ?1",
			-1, &s, NULL);
	else
		rc = sqlite3_prepare_v2(
			st->db,
			"INSERT INTO drop_stats(session_id, wall_ts, pkt_ts, packets, " DROP_COLS
			") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
			-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "record drop counters");
		goto out;
	}
	sqlite3_bind_int64(s, 1, plateau ? last_rowid : session);
	sqlite3_bind_int64(s, 2, i64(wall_ts_ns));
	sqlite3_bind_int64(s, 3, i64(pkt_ts));
	sqlite3_bind_int64(s, 4, i64(packets));
	for (int i = 0; !plateau && i < PR_DROP_REASON_MAX; i++)
		sqlite3_bind_int64(s, 5 + i, i64(drops[i]));
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		err = pr_store_write_fail(st, pr_store_sql_fail(st, rc, "record drop counters"));
		goto out;
	}
	err = same ? 0 : 1;
out:
	sqlite3_finalize(s);
	return err;
}

int pr_store_stats_get(struct pr_store *st, int64_t session, struct pr_store_drop_row **rows,
		       size_t *n)
{
	struct pr_store_drop_row *v = NULL, *nv;
	sqlite3_stmt *s = NULL;
	size_t cnt = 0, cap = 0;
	int rc, err = 0;

	*rows = NULL;
	*n = 0;
	if (!have_table(st))
		goto out;
	rc = sqlite3_prepare_v2(st->db,
				st->schema_version >= PR_STORE_SCHEMA_ACCOUNTING ?
					"SELECT wall_ts, pkt_ts, packets, " DROP_COLS
					" FROM drop_stats WHERE session_id = ? ORDER BY rowid" :
					"SELECT wall_ts, pkt_ts, packets, " DROP_COLS_V3
					" FROM drop_stats WHERE session_id = ? ORDER BY rowid",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "read drop counters");
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = pr_store_fail(st, -ENOMEM, "read drop counters: %s",
						    strerror(ENOMEM));
				goto out;
			}
			v = nv;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		v[cnt].wall_ts_ns = (uint64_t)sqlite3_column_int64(s, 0);
		v[cnt].pkt_ts_ns = (uint64_t)sqlite3_column_int64(s, 1);
		v[cnt].packets = (uint64_t)sqlite3_column_int64(s, 2);
		for (int i = 0; i < PR_DROP_REASON_MAX; i++)
			v[cnt].drops[i] = (uint64_t)sqlite3_column_int64(s, 3 + i);
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		err = pr_store_sql_fail(st, rc, "read drop counters");
		goto out;
	}
	*rows = v;
	*n = cnt;
	v = NULL;
out:
	sqlite3_finalize(s);
	free(v);
	return err;
}

/*
 * Reasons whose drops happen in the dataplane, in ring order with the
 * packets: bounded by the packets stored around the observations. The
 * others are counted by the kernel and bounded by time.
 */
static bool ring_ordered(int reason)
{
	return reason == PR_DROP_RING_FULL || reason == PR_DROP_TOO_BIG || reason == PR_DROP_STORE;
}

static bool row_grew(const struct pr_store_drop_row *a, const struct pr_store_drop_row *b)
{
	for (int r = 0; r < PR_DROP_REASON_MAX; r++)
		if (b->drops[r] > (a ? a->drops[r] : 0))
			return true;
	return false;
}

size_t pr_drop_intervals_compute(const struct pr_store_drop_row *rows, size_t n, bool live,
				 uint64_t from_ns, uint64_t to_ns, struct pr_drop_interval *out,
				 size_t max)
{
	static const struct pr_store_drop_row zero;
	size_t found = 0;

	for (size_t i = 0; i < n; i++) {
		const struct pr_store_drop_row *a = i ? &rows[i - 1] : &zero;
		const struct pr_store_drop_row *b = &rows[i];
		struct pr_drop_interval iv = { 0 };
		bool open_end = false, timed = false, ordered = false;

		for (int r = 0; r < PR_DROP_REASON_MAX; r++) {
			/* Counters only grow; a smaller value (a restarted worker) is no loss. */
			iv.lost[r] = b->drops[r] > a->drops[r] ? b->drops[r] - a->drops[r] : 0;
			iv.lost_total += iv.lost[r];
			if (iv.lost[r] && ring_ordered(r))
				ordered = true;
			else if (iv.lost[r])
				timed = true;
		}
		if (!iv.lost_total)
			continue;
		iv.from_ts_ns = a->pkt_ts_ns;
		iv.from_wall_ns = a->wall_ts_ns;
		iv.to_wall_ns = b->wall_ts_ns;
		iv.after_packet = a->packets;
		if (ordered) {
			/*
			 * Before the first packet stored after the later
			 * observation, and, live, before that observation's wall
			 * clock. With no packet stored after it, a file's loss
			 * runs to the end.
			 */
			iv.before_packet = b->packets;
			iv.to_ts_ns = b->next_ts_ns;
			if (live && (!iv.to_ts_ns || iv.to_ts_ns > b->wall_ts_ns))
				iv.to_ts_ns = b->wall_ts_ns;
			open_end = !iv.to_ts_ns;
		}
		if (timed) {
			/* Before the later observation's wall clock (live only: a file has no kernel). */
			if (b->wall_packet > iv.before_packet)
				iv.before_packet = b->wall_packet;
			if (live && b->wall_ts_ns > iv.to_ts_ns)
				iv.to_ts_ns = b->wall_ts_ns;
			if (!live)
				open_end = true;
		}
		if (open_end)
			iv.to_ts_ns = 0;
		if (to_ns && iv.from_ts_ns > to_ns)
			continue;
		if (from_ns && iv.to_ts_ns && iv.to_ts_ns < from_ns)
			continue;
		if (found < max)
			out[found] = iv;
		found++;
	}
	return found;
}

/*
 * The first stored packet of session (count packets) numbered first or
 * later (by_index), or else stamped after the time first: its number and
 * time stamp. Returns 1, 0 when there is none or it cannot be read (a
 * damaged or expired block only loosens a bound), or a negative errno
 * when the store fails.
 */
static int first_packet(struct pr_store *st, int64_t session, uint64_t count, bool by_index,
			uint64_t first, uint64_t *num, uint64_t *ts)
{
	struct pr_store_pkt_query q = { 0 };
	struct pr_store_pkt_iter *it = NULL;
	struct pr_block_pkt p;
	int err;

	if (by_index) {
		if (first >= count)
			return 0;
		q.last_n = count - first;
	} else {
		/* ts >= first + 1: stamped after first. */
		if (first == UINT64_MAX)
			return 0;
		q.from_ns = first + 1;
	}
	err = pr_store_pkt_iter_create_query(st, session, &q, &it);
	if (!err) {
		err = pr_store_pkt_iter_next(it, &p);
		if (err == 1) {
			*num = pr_store_pkt_iter_index(it);
			*ts = p.ts_ns;
		}
	}
	pr_store_pkt_iter_destroy(it);
	if (err == -EBADMSG || err == -ENOKEY || err == -ENOENT || err == -EIO)
		err = 0;
	return err;
}

int pr_store_drop_intervals(struct pr_store *st, int64_t session, uint64_t from_ns, uint64_t to_ns,
			    struct pr_drop_interval **out, size_t *n, bool *have_rows)
{
	struct pr_store_drop_row *rows = NULL, *nr;
	struct pr_drop_interval *iv = NULL;
	struct pr_session_info si;
	size_t cnt = 0, total;
	bool more = false, live;
	int err;

	*out = NULL;
	*n = 0;
	*have_rows = false;
	err = pr_store_session_load(st, session, &si);
	if (err)
		goto out;
	live = !strcmp(si.source_kind, "interface");
	err = pr_store_stats_get(st, session, &rows, &cnt);
	if (err)
		goto out;
	*have_rows = cnt > 0;
	/*
	 * The session's final counters may be newer than the last row (or
	 * there are no rows at all): they are one more observation, at the
	 * session's end (now while it runs).
	 */
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		if (si.drops[i] > (cnt ? rows[cnt - 1].drops[i] : 0))
			more = true;
	if (more) {
		nr = realloc(rows, (cnt + 1) * sizeof(*rows));
		if (!nr) {
			err = pr_store_fail(st, -ENOMEM, "drop intervals: %s", strerror(ENOMEM));
			goto out;
		}
		rows = nr;
		memset(&rows[cnt], 0, sizeof(rows[cnt]));
		rows[cnt].wall_ts_ns = si.end_ts_ns ? si.end_ts_ns : pr_store_now_ns();
		rows[cnt].pkt_ts_ns = si.last_pkt_ts_ns;
		rows[cnt].packets = si.packets;
		memcpy(rows[cnt].drops, si.drops, sizeof(rows[cnt].drops));
		cnt++;
	}
	/* Only rows that end a loss need the packets after them. */
	for (size_t i = 0; i < cnt; i++) {
		struct pr_store_drop_row *b = &rows[i];
		uint64_t num = 0, ts = 0;
		bool timed = false;

		if (!row_grew(i ? &rows[i - 1] : NULL, b))
			continue;
		err = first_packet(st, session, si.packets, true, b->packets, &num, &ts);
		if (err < 0)
			goto out;
		b->next_ts_ns = err ? ts : 0;
		for (int r = 0; r < PR_DROP_REASON_MAX; r++)
			if (!ring_ordered(r) && b->drops[r] > (i ? rows[i - 1].drops[r] : 0))
				timed = true;
		b->wall_packet = si.packets;
		if (timed && live) {
			err = first_packet(st, session, si.packets, false, b->wall_ts_ns, &num,
					   &ts);
			if (err < 0)
				goto out;
			if (err)
				b->wall_packet = num;
		}
		err = 0;
	}
	total = pr_drop_intervals_compute(rows, cnt, live, from_ns, to_ns, NULL, 0);
	if (total) {
		iv = calloc(total, sizeof(*iv));
		if (!iv) {
			err = pr_store_fail(st, -ENOMEM, "drop intervals: %s", strerror(ENOMEM));
			goto out;
		}
		pr_drop_intervals_compute(rows, cnt, live, from_ns, to_ns, iv, total);
	}
	*out = iv;
	*n = total;
	iv = NULL;
out:
	free(rows);
	free(iv);
	return err;
}

static void wipe_free(uint8_t *p, size_t n)
{
	if (p)
		OPENSSL_cleanse(p, n);
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EBADMSG;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* The private seed from pr_meta: 0, -ENOENT when there is none yet, or a negative errno. */
static int seed_load(struct pr_store *st, uint8_t seed[SENSOR_SEED_LEN])
{
	sqlite3_stmt *s = NULL;
	int rc, err;

	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM pr_meta WHERE key = ?", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "read the sensor key");
		goto out;
	}
	sqlite3_bind_text(s, 1, SENSOR_KEY_META, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW || !sqlite3_column_text(s, 0)) {
		err = pr_store_sql_fail(st, rc, "read the sensor key");
		goto out;
	}
	err = hex_decode((const char *)sqlite3_column_text(s, 0), seed, SENSOR_SEED_LEN);
	if (err)
		pr_store_fail(st, err, "%s: the sensor key in pr_meta is damaged", st->path);
out:
	sqlite3_finalize(s);
	return err;
}

/* Generate a key pair and keep it, unless another process got there first. */
static int seed_create(struct pr_store *st)
{
	uint8_t seed[SENSOR_SEED_LEN];
	char hex[2 * SENSOR_SEED_LEN + 1];
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pk = NULL;
	sqlite3_stmt *s = NULL;
	size_t len = sizeof(seed);
	bool own_txn = false;
	int rc, err;

	err = pr_store_check_writable(st);
	if (err)
		goto out;
	pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!pc || EVP_PKEY_keygen_init(pc) <= 0 || EVP_PKEY_keygen(pc, &pk) <= 0 ||
	    EVP_PKEY_get_raw_private_key(pk, seed, &len) <= 0 || len != sizeof(seed)) {
		err = pr_store_fail(st, -EIO, "generate the sensor key: OpenSSL failed");
		goto out;
	}
	for (size_t i = 0; i < sizeof(seed); i++)
		snprintf(hex + 2 * i, 3, "%02x", seed[i]);
	if (!st->in_txn) {
		err = pr_store_exec(st, "BEGIN IMMEDIATE", "keep the sensor key");
		if (err)
			goto out;
		own_txn = true;
	}
	rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO pr_meta(key, value) VALUES (?, ?)",
				-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, SENSOR_KEY_META, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, hex, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE) {
		err = pr_store_sql_fail(st, rc, "keep the sensor key");
		if (own_txn)
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (own_txn)
		err = pr_store_exec(st, "COMMIT", "keep the sensor key");
out:
	sqlite3_finalize(s);
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(seed, sizeof(seed));
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pc);
	return err;
}

/* The store's key pair as an OpenSSL key (created on first use). */
static int sensor_key(struct pr_store *st, EVP_PKEY **out)
{
	uint8_t seed[SENSOR_SEED_LEN];
	int err;

	*out = NULL;
	err = seed_load(st, seed);
	if (err == -ENOENT) {
		err = seed_create(st);
		if (!err)
			err = seed_load(st, seed);
	}
	if (err)
		goto out;
	*out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	if (!*out)
		err = pr_store_fail(st, -EIO, "load the sensor key: OpenSSL failed");
out:
	wipe_free(seed, sizeof(seed));
	return err;
}

int pr_store_sensor_pubkey(struct pr_store *st, uint8_t pub[PR_SENSOR_PUBKEY_LEN])
{
	EVP_PKEY *pk = NULL;
	size_t len = PR_SENSOR_PUBKEY_LEN;
	int err;

	err = sensor_key(st, &pk);
	if (err)
		goto out;
	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) <= 0 || len != PR_SENSOR_PUBKEY_LEN)
		err = pr_store_fail(st, -EIO, "sensor public key: OpenSSL failed");
out:
	EVP_PKEY_free(pk);
	return err;
}

int pr_store_sensor_sign(struct pr_store *st, const void *msg, size_t len,
			 uint8_t sig[PR_SENSOR_SIG_LEN])
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pk = NULL;
	size_t siglen = PR_SENSOR_SIG_LEN;
	int err;

	err = sensor_key(st, &pk);
	if (err)
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, pk) <= 0 ||
	    EVP_DigestSign(md, sig, &siglen, msg, len) <= 0 || siglen != PR_SENSOR_SIG_LEN)
		err = pr_store_fail(st, -EIO, "sign with the sensor key: OpenSSL failed");
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return err;
}
