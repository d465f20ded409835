// SPDX-License-Identifier: Apache-2.0
/*
 * The write path of the store. One current session is kept in memory:
 * its packets go into a block builder that becomes one packet_blocks row
 * when full, its counters are written with each commit, and everything
 * since the last commit sits in one open transaction. The thread that
 * opened the store only.
 */
#define PR_LOG_MODULE "store"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pr_record.h"
#include "pr_store_int.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The block's distinct flow ids, sorted, little-endian in place: the
 * flow_ids column of its index row. Returns how many.
 */
static uint32_t block_flow_ids(struct pr_store *st)
{
	uint32_t n = 0;

	if (!st->n_blk_flows)
		return 0;
	qsort(st->blk_flows, st->n_blk_flows, sizeof(uint64_t), cmp_u64);
	for (uint32_t i = 0; i < st->n_blk_flows; i++)
		if (!n || st->blk_flows[i] != st->blk_flows[n - 1])
			st->blk_flows[n++] = st->blk_flows[i];
	st->n_blk_flows = n;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = st->blk_flows[i];
		uint8_t *p = (uint8_t *)&st->blk_flows[i];

		for (int k = 0; k < 8; k++)
			p[k] = (uint8_t)(v >> (8 * k));
	}
	return n;
}

/* Remember the flow of a packet added to the block (runs of one flow count once). */
static int note_flow(struct pr_store *st, uint64_t flow_id)
{
	if (st->n_blk_flows && st->blk_flows[st->n_blk_flows - 1] == flow_id)
		return 0;
	if (st->n_blk_flows == st->cap_blk_flows) {
		uint32_t cap = st->cap_blk_flows ? st->cap_blk_flows * 2 : 256;
		uint64_t *p = realloc(st->blk_flows, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		st->blk_flows = p;
		st->cap_blk_flows = cap;
	}
	st->blk_flows[st->n_blk_flows++] = flow_id;
	return 0;
}

static int flush_block(struct pr_store *st)
{
	struct pr_sink_ref ref;
	uint32_t nflows;
	const uint8_t *data;
	sqlite3_stmt *s;
	size_t len;
	int rc, err = 0;

	if (!st->blk.count)
		goto out;
	err = pr_store_txn_begin(st);
	if (err)
		goto out;
	err = pr_store_prepare(
		st, &st->ins_block,
		"INSERT INTO packet_blocks(session_id, first_seq, pkt_count, first_ts, "
		"last_ts, bytes, data, segment_id, seg_offset, seg_len, seg_seq, flow_ids) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (err)
		goto out;
	data = pr_block_builder_finish(&st->blk, &len);
	if (!data) {
		err = pr_store_fail(st, -ENOMEM, "insert packet block: %s", strerror(ENOMEM));
		goto out;
	}
	/* The segment sink seals and appends it; the db sink leaves it to the row. */
	err = st->sink->ops->put(st->sink, st->cur.id, data, len, &ref);
	if (err)
		goto out;
	s = st->ins_block;
	sqlite3_bind_int64(s, 1, st->cur.id);
	sqlite3_bind_int64(s, 2, (int64_t)(st->cur.packets - st->blk.count));
	sqlite3_bind_int64(s, 3, st->blk.count);
	sqlite3_bind_int64(s, 4, (int64_t)st->blk.first_ts_ns);
	sqlite3_bind_int64(s, 5, (int64_t)st->blk.last_ts_ns);
	sqlite3_bind_int64(s, 6, (int64_t)st->blk.wire_bytes);
	/* STATIC: the builder's buffer outlives the step, so no private copy first. */
	if (ref.segment_id)
		sqlite3_bind_zeroblob(s, 7, 0);
	else
		sqlite3_bind_blob(s, 7, data, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, ref.segment_id);
	sqlite3_bind_int64(s, 9, (int64_t)ref.offset);
	sqlite3_bind_int64(s, 10, ref.length);
	sqlite3_bind_int64(s, 11, (int64_t)ref.seq);
	nflows = block_flow_ids(st);
	sqlite3_bind_blob(s, 12, st->blk_flows, (int)(nflows * sizeof(uint64_t)), SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "insert packet block");
	sqlite3_reset(s);
	if (!err) {
		pr_block_builder_reset(&st->blk);
		st->n_blk_flows = 0;
	}
out:
	return err;
}

static int session_write(struct pr_store *st)
{
	struct cur_session *c = &st->cur;
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!c->dirty)
		goto out;
	err = pr_store_txn_begin(st);
	if (err)
		goto out;
	err = pr_store_prepare(
		st, &st->upd_session,
		"UPDATE sessions SET packets = ?, bytes = ?, captured_bytes = ?, "
		"first_pkt_ts = ?, last_pkt_ts = ?, flows = ?, drops_ring_full = ?, "
		"drops_kernel = ?, drops_iface = ?, drops_too_big = ?, drops_store = ? "
		"WHERE id = ?");
	if (err)
		goto out;
	s = st->upd_session;
	sqlite3_bind_int64(s, 1, (int64_t)c->packets);
	sqlite3_bind_int64(s, 2, (int64_t)c->bytes);
	sqlite3_bind_int64(s, 3, (int64_t)c->captured_bytes);
	sqlite3_bind_int64(s, 4, (int64_t)c->first_ts_ns);
	sqlite3_bind_int64(s, 5, (int64_t)c->last_ts_ns);
	sqlite3_bind_int64(s, 6, (int64_t)c->flows);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		sqlite3_bind_int64(s, 7 + i, (int64_t)c->drops[i]);
	sqlite3_bind_int64(s, 12, c->id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "update session %lld", (long long)c->id);
	sqlite3_reset(s);
	if (!err)
		c->dirty = false;
out:
	return err;
}

/*
 * Make session the current one. Switching writes the previous session's
 * block and counters first (into the open transaction): a block holds
 * packets of one session, and a session's row must match its blocks at
 * every commit.
 */
static int session_use(struct pr_store *st, int64_t session)
{
	struct pr_session_info info;
	int err = 0;

	if (st->have_cur && st->cur.id == session)
		goto out;
	if (st->have_cur) {
		err = flush_block(st);
		if (!err)
			err = session_write(st);
		if (err) {
			err = pr_store_write_fail(st, err);
			goto out;
		}
		st->have_cur = false;
	}
	err = pr_store_session_load(st, session, &info);
	if (err)
		goto out;
	memset(&st->cur, 0, sizeof(st->cur));
	st->cur.id = session;
	st->cur.packets = info.packets;
	st->cur.bytes = info.bytes;
	st->cur.captured_bytes = info.captured_bytes;
	st->cur.first_ts_ns = info.first_pkt_ts_ns;
	st->cur.last_ts_ns = info.last_pkt_ts_ns;
	st->cur.flows = info.flows;
	memcpy(st->cur.drops, info.drops, sizeof(st->cur.drops));
	st->have_cur = true;
out:
	return err;
}

int pr_store_commit(struct pr_store *st)
{
	int rc, err = 0;

	if (st->readonly)
		goto out;
	if (st->have_cur) {
		err = flush_block(st);
		if (!err)
			err = session_write(st);
	}
	/* Block bytes first: a committed index row never names bytes that are not on disk. */
	if (!err && st->in_txn)
		err = st->sink->ops->sync(st->sink);
	if (!err && st->in_txn) {
		rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = pr_store_sql_fail(st, rc, "commit");
		else
			st->in_txn = false;
	}
	/* Whatever failed, the whole pending transaction goes: a commit is all or nothing. */
	if (err)
		pr_store_txn_abort(st);
out:
	return err;
}

int pr_store_add_packet(struct pr_store *st, int64_t session, const struct pr_block_pkt *pkt)
{
	struct cur_session *c = &st->cur;
	int err;

	err = pr_store_check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (err)
		goto out;
	if (pkt->cap_len > PR_MAX_SNAPLEN) {
		err = pr_store_fail(st, -EMSGSIZE,
				    "add packet: %u captured bytes, above the %u maximum",
				    pkt->cap_len, PR_MAX_SNAPLEN);
		goto out;
	}
	/* A flow noted for a packet that then fails to go in only widens the index. */
	err = note_flow(st, pkt->flow_id);
	if (!err)
		err = pr_block_builder_add(&st->blk, pkt);
	if (err) {
		err = pr_store_fail(st, err, "add packet: %s", strerror(-err));
		goto out;
	}
	if (!c->packets || pkt->ts_ns < c->first_ts_ns)
		c->first_ts_ns = pkt->ts_ns;
	if (!c->packets || pkt->ts_ns > c->last_ts_ns)
		c->last_ts_ns = pkt->ts_ns;
	c->packets++;
	c->bytes += pkt->wire_len;
	c->captured_bytes += pkt->cap_len;
	c->dirty = true;
	if (st->blk.count >= st->block_max_packets || st->blk.len >= st->block_max_bytes) {
		err = flush_block(st);
		if (err)
			err = pr_store_write_fail(st, err);
	}
out:
	return err;
}

/* Text form of an address for the flows table; NULL for a non-IP flow. */
static const char *ip_text(uint8_t version, const uint8_t *addr, char *buf, size_t len)
{
	int af = version == 4 ? AF_INET : version == 6 ? AF_INET6 : AF_UNSPEC;

	return af == AF_UNSPEC ? NULL : inet_ntop(af, addr, buf, (socklen_t)len);
}

int pr_store_add_flow(struct pr_store *st, int64_t session, const struct pr_store_flow *f)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	sqlite3_stmt *s;
	int rc, err;

	err = pr_store_check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (!err)
		err = pr_store_txn_begin(st);
	if (!err)
		err = pr_store_prepare(
			st, &st->ins_flow,
			"INSERT INTO flows(session_id, flow_id, ip_version, ip_proto, src_ip, "
			"src_port, dst_ip, dst_port, vlan, iface, first_ts, last_ts, "
			"packets_ts, packets_tc, bytes_ts, bytes_tc, tcp_state, end_reason, "
			"tcp_flags_ts, tcp_flags_tc, app) VALUES "
			"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (err)
		goto out;
	s = st->ins_flow;
	sqlite3_bind_int64(s, 1, session);
	sqlite3_bind_int64(s, 2, (int64_t)f->flow_id);
	sqlite3_bind_int(s, 3, f->ip_version);
	sqlite3_bind_int(s, 4, f->ip_proto);
	sqlite3_bind_text(s, 5, ip_text(f->ip_version, f->src_ip, src, sizeof(src)), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 6, f->src_port);
	sqlite3_bind_text(s, 7, ip_text(f->ip_version, f->dst_ip, dst, sizeof(dst)), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 8, f->dst_port);
	sqlite3_bind_int(s, 9, f->vlan);
	sqlite3_bind_int(s, 10, f->iface);
	sqlite3_bind_int64(s, 11, (int64_t)f->first_ts_ns);
	sqlite3_bind_int64(s, 12, (int64_t)f->last_ts_ns);
	sqlite3_bind_int64(s, 13, (int64_t)f->packets[0]);
	sqlite3_bind_int64(s, 14, (int64_t)f->packets[1]);
	sqlite3_bind_int64(s, 15, (int64_t)f->bytes[0]);
	sqlite3_bind_int64(s, 16, (int64_t)f->bytes[1]);
	sqlite3_bind_int(s, 17, f->tcp_state);
	sqlite3_bind_int(s, 18, f->end_reason);
	sqlite3_bind_int(s, 19, f->tcp_flags[0]);
	sqlite3_bind_int(s, 20, f->tcp_flags[1]);
	sqlite3_bind_int(s, 21, f->app);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "insert flow %llu of session %lld",
					(unsigned long long)f->flow_id, (long long)session);
	sqlite3_reset(s);
	if (err) {
		err = pr_store_write_fail(st, err);
		goto out;
	}
	st->cur.flows++;
	st->cur.dirty = true;
out:
	return err;
}

int pr_store_session_set_drops(struct pr_store *st, int64_t session,
			       const uint64_t drops[PR_DROP_REASON_MAX])
{
	int err;

	err = pr_store_check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (err)
		goto out;
	memcpy(st->cur.drops, drops, sizeof(st->cur.drops));
	st->cur.dirty = true;
out:
	return err;
}

int pr_store_session_begin(struct pr_store *st, const struct pr_session_info *info, int64_t *id)
{
	char host[256] = "", boot[64];
	sqlite3_stmt *s = NULL;
	int rc, err;

	err = pr_store_check_writable(st);
	if (!err)
		err = pr_store_txn_begin(st);
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(st->db,
				"INSERT INTO sessions(name, source, source_kind, filter, start_ts, "
				"snaplen, status, writer_pid, writer_host, writer_boot_id, "
				"writer_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "insert session");
		goto out;
	}
	/* A truncated name still identifies the host; recovery only compares. */
	gethostname(host, sizeof(host) - 1);
	sqlite3_bind_text(s, 1, info->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, info->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, info->source_kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, info->filter, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5,
			   (int64_t)(info->start_ts_ns ? info->start_ts_ns : pr_store_now_ns()));
	sqlite3_bind_int64(s, 6, info->snaplen);
	sqlite3_bind_int(s, 7, PR_SESSION_RUNNING);
	sqlite3_bind_int64(s, 8, getpid());
	sqlite3_bind_text(s, 9, host, -1, SQLITE_STATIC);
	pr_store_boot_id(boot, sizeof(boot));
	sqlite3_bind_text(s, 10, boot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, pr_store_proc_start(getpid()));
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		err = pr_store_write_fail(st, pr_store_sql_fail(st, rc, "insert session"));
		goto out;
	}
	*id = sqlite3_last_insert_rowid(st->db);
	/* Committed at once so readers list the session while it runs. */
	err = pr_store_commit(st);
out:
	sqlite3_finalize(s);
	return err;
}

int pr_store_session_add_iface(struct pr_store *st, int64_t session,
			       const struct pr_store_iface *iface)
{
	sqlite3_stmt *s = NULL;
	int rc, err;

	err = pr_store_check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (!err)
		err = pr_store_txn_begin(st);
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(
		st->db,
		"INSERT INTO interfaces(session_id, idx, name, description, linktype, "
		"snaplen, tsresol) VALUES (?, ?, ?, ?, ?, ?, ?)",
		-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "insert interface");
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	sqlite3_bind_int(s, 2, iface->index);
	sqlite3_bind_text(s, 3, iface->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, iface->description, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, iface->linktype);
	sqlite3_bind_int64(s, 6, iface->snaplen);
	sqlite3_bind_int(s, 7, iface->tsresol);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = pr_store_write_fail(
			st, pr_store_sql_fail(st, rc, "insert interface %u of session %lld",
					      iface->index, (long long)session));
out:
	sqlite3_finalize(s);
	return err;
}

int pr_store_session_end(struct pr_store *st, int64_t session, uint32_t status, const char *message)
{
	sqlite3_stmt *s = NULL;
	int rc, err;

	err = pr_store_check_writable(st);
	if (err)
		goto out;
	if (status >= PR_SESSION_STATUS_MAX) {
		err = pr_store_fail(st, -EINVAL, "end session %lld: bad status %u",
				    (long long)session, status);
		goto out;
	}
	err = pr_store_commit(st);
	if (!err)
		err = pr_store_txn_begin(st);
	/* Its segment is complete: closed now, in the same transaction as the status. */
	if (!err) {
		err = st->sink->ops->finish(st->sink, session);
		if (err)
			err = pr_store_write_fail(st, err);
	}
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(
		st->db, "UPDATE sessions SET status = ?, end_ts = ?, message = ? WHERE id = ?", -1,
		&s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_write_fail(st, pr_store_sql_fail(st, rc, "end session %lld",
								(long long)session));
		goto out;
	}
	sqlite3_bind_int(s, 1, (int)status);
	sqlite3_bind_int64(s, 2, (int64_t)pr_store_now_ns());
	sqlite3_bind_text(s, 3, message ? message : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, session);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		err = pr_store_write_fail(st, pr_store_sql_fail(st, rc, "end session %lld",
								(long long)session));
		goto out;
	}
	if (!sqlite3_changes(st->db)) {
		err = pr_store_write_fail(st, pr_store_fail(st, -ENOENT,
							    "session %lld: no such session",
							    (long long)session));
		goto out;
	}
	err = pr_store_commit(st);
out:
	sqlite3_finalize(s);
	return err;
}
