// SPDX-License-Identifier: Apache-2.0
/*
 * The read side of the store: sessions, interfaces, flows, and the
 * packets of a session in capture order (block by block, each checked
 * as it is decoded). The thread that opened the store only.
 */
#define PR_LOG_MODULE "store"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_store_int.h"

static const char *const status_names[PR_SESSION_STATUS_MAX] = {
	"running",
	"completed",
	"interrupted",
	"failed",
};

static const char *const drop_names[PR_DROP_REASON_MAX] = {
	"ring_full",	  "kernel",	      "interface",  "too_big",	  "store",	"no_socket",
	"xsk_rx_dropped", "xsk_rx_ring_full", "nic_missed", "nic_nombuf", "nic_errors",
};

const char *pr_session_status_name(uint32_t status)
{
	return status < PR_SESSION_STATUS_MAX ? status_names[status] : "unknown";
}

const char *pr_drop_reason_name(uint32_t reason)
{
	return reason < PR_DROP_REASON_MAX ? drop_names[reason] : "unknown";
}

static void text_copy(char *dst, size_t len, sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

static uint64_t col_u64(sqlite3_stmt *stmt, int col)
{
	return (uint64_t)sqlite3_column_int64(stmt, col);
}

/* Fill *s from a row of SELECT SESSION_COLS. */
static void session_from_row(sqlite3_stmt *stmt, struct pr_session_info *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(stmt, 0);
	text_copy(s->name, sizeof(s->name), stmt, 1);
	text_copy(s->source, sizeof(s->source), stmt, 2);
	text_copy(s->source_kind, sizeof(s->source_kind), stmt, 3);
	text_copy(s->filter, sizeof(s->filter), stmt, 4);
	s->start_ts_ns = col_u64(stmt, 5);
	s->end_ts_ns = col_u64(stmt, 6);
	s->first_pkt_ts_ns = col_u64(stmt, 7);
	s->last_pkt_ts_ns = col_u64(stmt, 8);
	s->packets = col_u64(stmt, 9);
	s->bytes = col_u64(stmt, 10);
	s->captured_bytes = col_u64(stmt, 11);
	s->flows = col_u64(stmt, 12);
	s->snaplen = (uint32_t)sqlite3_column_int64(stmt, 13);
	s->status = (uint32_t)sqlite3_column_int64(stmt, 14);
	s->writer_pid = (int32_t)sqlite3_column_int64(stmt, 15);
	text_copy(s->message, sizeof(s->message), stmt, 17);
	s->received = col_u64(stmt, 18);
	s->filtered = col_u64(stmt, 19);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		s->drops[i] = col_u64(stmt, 20 + i);
}

/* Load the committed row of a session. -ENOENT if there is none. */
int pr_store_session_load(struct pr_store *st, int64_t session, struct pr_session_info *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db,
				st->schema_version >= PR_STORE_SCHEMA_ACCOUNTING ?
					"SELECT " SESSION_COLS " FROM sessions WHERE id = ?" :
					"SELECT " SESSION_COLS_V3 " FROM sessions WHERE id = ?",
				-1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "read session %lld", (long long)session);
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, session);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		session_from_row(stmt, out);
	else if (rc == SQLITE_DONE)
		err = pr_store_fail(st, -ENOENT, "session %lld: no such session",
				    (long long)session);
	else
		err = pr_store_sql_fail(st, rc, "read session %lld", (long long)session);
out:
	sqlite3_finalize(stmt);
	return err;
}

int pr_store_session_get(struct pr_store *st, int64_t session, struct pr_session_info *out)
{
	return pr_store_session_load(st, session, out);
}

int pr_store_sessions_foreach(struct pr_store *st, pr_store_session_fn fn, void *ctx)
{
	struct pr_session_info info;
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db,
				st->schema_version >= PR_STORE_SCHEMA_ACCOUNTING ?
					"SELECT " SESSION_COLS " FROM sessions ORDER BY id" :
					"SELECT " SESSION_COLS_V3 " FROM sessions ORDER BY id",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = pr_store_sql_fail(st, rc, "list sessions");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		session_from_row(s, &info);
		ret = fn(ctx, &info);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = pr_store_sql_fail(st, rc, "list sessions");
out:
	sqlite3_finalize(s);
	return ret;
}

int pr_store_ifaces_foreach(struct pr_store *st, int64_t session, pr_store_iface_fn fn, void *ctx)
{
	struct pr_store_iface ifc;
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT idx, name, description, linktype, snaplen, tsresol "
				"FROM interfaces WHERE session_id = ? ORDER BY idx",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = pr_store_sql_fail(st, rc, "list interfaces of session %lld",
					(long long)session);
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ifc, 0, sizeof(ifc));
		ifc.index = (uint16_t)sqlite3_column_int(s, 0);
		text_copy(ifc.name, sizeof(ifc.name), s, 1);
		text_copy(ifc.description, sizeof(ifc.description), s, 2);
		ifc.linktype = (uint32_t)sqlite3_column_int64(s, 3);
		ifc.snaplen = (uint32_t)sqlite3_column_int64(s, 4);
		ifc.tsresol = (uint8_t)sqlite3_column_int(s, 5);
		ret = fn(ctx, &ifc);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = pr_store_sql_fail(st, rc, "list interfaces of session %lld",
					(long long)session);
out:
	sqlite3_finalize(s);
	return ret;
}

/* Back from text; an address we cannot parse stays all zero. */
static void ip_parse(uint8_t version, sqlite3_stmt *s, int col, uint8_t addr[16])
{
	const unsigned char *txt = sqlite3_column_text(s, col);

	memset(addr, 0, 16);
	if (!txt)
		return;
	if (version == 4 && inet_pton(AF_INET, (const char *)txt, addr) != 1)
		memset(addr, 0, 16);
	else if (version == 6 && inet_pton(AF_INET6, (const char *)txt, addr) != 1)
		memset(addr, 0, 16);
}

struct pr_store_flow_iter {
	struct pr_store *st;
	sqlite3_stmt *s;
	int64_t session;
};

/* ordered: by first timestamp, then flow id; otherwise as stored. */
static int flow_iter_create(struct pr_store *st, int64_t session, bool ordered,
			    struct pr_store_flow_iter **out)
{
	struct pr_store_flow_iter *it = calloc(1, sizeof(*it));
	int rc;

	*out = NULL;
	if (!it)
		return pr_store_fail(st, -ENOMEM, "list flows: %s", strerror(ENOMEM));
	it->st = st;
	it->session = session;
	rc = sqlite3_prepare_v2(st->db,
				ordered ? "SELECT flow_id, ip_version, ip_proto, src_ip, src_port, "
					  "dst_ip, dst_port, vlan, iface, first_ts, last_ts, "
					  "packets_ts, packets_tc, bytes_ts, bytes_tc, tcp_state, "
					  "end_reason, tcp_flags_ts, tcp_flags_tc, app FROM flows "
					  "WHERE session_id = ? ORDER BY first_ts, flow_id" :
					  "SELECT flow_id, ip_version, ip_proto, src_ip, src_port, "
					  "dst_ip, dst_port, vlan, iface, first_ts, last_ts, "
					  "packets_ts, packets_tc, bytes_ts, bytes_tc, tcp_state, "
					  "end_reason, tcp_flags_ts, tcp_flags_tc, app FROM flows "
					  "NOT INDEXED WHERE session_id = ?",
				-1, &it->s, NULL);
	if (rc != SQLITE_OK) {
		free(it);
		return pr_store_sql_fail(st, rc, "list flows of session %lld", (long long)session);
	}
	sqlite3_bind_int64(it->s, 1, session);
	*out = it;
	return 0;
}

int pr_store_flow_iter_create(struct pr_store *st, int64_t session, struct pr_store_flow_iter **out)
{
	return flow_iter_create(st, session, true, out);
}

int pr_store_flow_iter_next(struct pr_store_flow_iter *it, struct pr_store_flow *f)
{
	sqlite3_stmt *s = it->s;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return pr_store_sql_fail(it->st, rc, "list flows of session %lld",
					 (long long)it->session);
	memset(f, 0, sizeof(*f));
	f->flow_id = col_u64(s, 0);
	f->ip_version = (uint8_t)sqlite3_column_int(s, 1);
	f->ip_proto = (uint8_t)sqlite3_column_int(s, 2);
	ip_parse(f->ip_version, s, 3, f->src_ip);
	f->src_port = (uint16_t)sqlite3_column_int(s, 4);
	ip_parse(f->ip_version, s, 5, f->dst_ip);
	f->dst_port = (uint16_t)sqlite3_column_int(s, 6);
	f->vlan = (uint16_t)sqlite3_column_int(s, 7);
	f->iface = (uint16_t)sqlite3_column_int(s, 8);
	f->first_ts_ns = col_u64(s, 9);
	f->last_ts_ns = col_u64(s, 10);
	f->packets[0] = col_u64(s, 11);
	f->packets[1] = col_u64(s, 12);
	f->bytes[0] = col_u64(s, 13);
	f->bytes[1] = col_u64(s, 14);
	f->tcp_state = (uint8_t)sqlite3_column_int(s, 15);
	f->end_reason = (uint8_t)sqlite3_column_int(s, 16);
	f->tcp_flags[0] = (uint8_t)sqlite3_column_int(s, 17);
	f->tcp_flags[1] = (uint8_t)sqlite3_column_int(s, 18);
	f->app = (uint16_t)sqlite3_column_int(s, 19);
	return 1;
}

void pr_store_flow_iter_destroy(struct pr_store_flow_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->s);
	free(it);
}

static int flows_foreach(struct pr_store *st, int64_t session, bool ordered, pr_store_flow_fn fn,
			 void *ctx)
{
	struct pr_store_flow_iter *it;
	struct pr_store_flow f;
	int ret;

	ret = flow_iter_create(st, session, ordered, &it);
	if (ret)
		return ret;
	while ((ret = pr_store_flow_iter_next(it, &f)) == 1) {
		ret = fn(ctx, &f);
		if (ret)
			break;
	}
	pr_store_flow_iter_destroy(it);
	return ret;
}

int pr_store_flows_foreach(struct pr_store *st, int64_t session, pr_store_flow_fn fn, void *ctx)
{
	return flows_foreach(st, session, true, fn, ctx);
}

/*
 * The table in its own order reads each page once. In time order it
 * jumps between pages through the index, each one read and decrypted
 * again once the page cache lost it: 111 against 71 ms for 147,000
 * flows in the sqlcipher shell, more through the store.
 */
int pr_store_flows_scan(struct pr_store *st, int64_t session, pr_store_flow_fn fn, void *ctx)
{
	return flows_foreach(st, session, false, fn, ctx);
}

int pr_store_pkt_iter_create_query(struct pr_store *st, int64_t session,
				   const struct pr_store_pkt_query *q,
				   struct pr_store_pkt_iter **out)
{
	struct pr_session_info info;
	struct pr_store_pkt_iter *it = NULL;
	char sql[512], last[96] = "";
	int rc, err;

	*out = NULL;
	err = pr_store_session_load(st, session, &info);
	if (err)
		goto out;
	it = calloc(1, sizeof(*it));
	if (!it) {
		err = pr_store_fail(st, -ENOMEM, "read packets: %s", strerror(ENOMEM));
		goto out;
	}
	it->st = st;
	it->session = session;
	it->retire = -1;
	if (q)
		it->q = *q;
	if (it->q.last_n && info.packets > it->q.last_n)
		it->first_seq = info.packets - it->q.last_n;
	/*
	 * The index rows only: a block's bytes are fetched (db) or read and
	 * decrypted (segments) once the block is known to be wanted.
	 */
	if (it->first_seq)
		snprintf(last, sizeof(last), " AND %s >= ?4", LAST_SEQ_SQL(st));
	snprintf(sql, sizeof(sql),
		 "SELECT id, pkt_count, segment_id, seg_offset, seg_len, seg_seq, first_seq, "
		 "flow_ids FROM packet_blocks WHERE session_id = ?1%s%s%s ORDER BY first_seq",
		 it->q.from_ns ? " AND last_ts >= ?2" : "",
		 it->q.to_ns ? " AND first_ts <= ?3" : "", last);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &it->stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "SELECT data FROM packet_blocks WHERE id = ?", -1,
					&it->data_stmt, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "read packets of session %lld", (long long)session);
		goto out;
	}
	sqlite3_bind_int64(it->stmt, 1, session);
	if (it->q.from_ns)
		sqlite3_bind_int64(it->stmt, 2, (int64_t)it->q.from_ns);
	if (it->q.to_ns)
		sqlite3_bind_int64(it->stmt, 3, (int64_t)it->q.to_ns);
	if (it->first_seq)
		sqlite3_bind_int64(it->stmt, 4, (int64_t)it->first_seq);
out:
	if (err) {
		pr_store_pkt_iter_destroy(it);
		it = NULL;
	}
	*out = it;
	return err;
}

int pr_store_pkt_iter_create(struct pr_store *st, int64_t session, struct pr_store_pkt_iter **out)
{
	return pr_store_pkt_iter_create_query(st, session, NULL, out);
}

uint64_t pr_store_pkt_iter_index(const struct pr_store_pkt_iter *it)
{
	return it->index;
}

void pr_store_pkt_iter_stats(const struct pr_store_pkt_iter *it, uint64_t *read, uint64_t *skipped)
{
	*read = it->blocks_read;
	*skipped = it->blocks_skipped;
}

/* Entry i of a little-endian flow id list. */
static uint64_t flow_at(const uint8_t *p, size_t i)
{
	uint64_t v;

	memcpy(&v, p + i * 8, sizeof(v));
	return le64toh(v);
}

/* Does a block's sorted little-endian flow id list hold id? NULL list: maybe. */
static bool block_has_flow(const void *list, int len, uint64_t id)
{
	const uint8_t *p = list;
	size_t lo = 0, hi;

	if (!list)
		return true;
	hi = (size_t)len / 8;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t v = flow_at(p, mid);

		if (v == id)
			return true;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Are all flows of a block (sorted little-endian ids) in the sorted skip list? */
static bool block_all_skipped(const void *list, int len, const uint64_t *skip, size_t n_skip)
{
	const uint8_t *p = list;
	size_t n = list && len > 0 ? (size_t)len / 8 : 0, j = 0;

	if (!n || !n_skip)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = flow_at(p, i);
		size_t hi = n_skip;

		/*
		 * Binary search from where the last id was found: a walk along
		 * the list cost each block the whole list (41 % of a DNS export
		 * of 2 million packets, 147,000 flows).
		 */
		while (j < hi) {
			size_t mid = j + (hi - j) / 2;

			if (skip[mid] < v)
				j = mid + 1;
			else
				hi = mid;
		}
		if (j == n_skip || skip[j] != v)
			return false;
	}
	return true;
}

/* Is packet *pkt one the query wants? */
static bool wanted(const struct pr_store_pkt_iter *it, const struct pr_block_pkt *pkt)
{
	const struct pr_store_pkt_query *q = &it->q;

	return pkt->seq >= it->first_seq && (!q->from_ns || pkt->ts_ns >= q->from_ns) &&
	       (!q->to_ns || pkt->ts_ns <= q->to_ns) &&
	       (!q->has_flow || pkt->flow_id == q->flow_id);
}

static int iter_damaged(struct pr_store_pkt_iter *it, int64_t block, const char *why)
{
	it->err = pr_store_fail(it->st, -EBADMSG,
				"session %lld block %lld: damaged packet block: %s",
				(long long)it->session, (long long)block, why);
	return it->err;
}

/*
 * The bytes of the block of row r, into b: a segment block is read and
 * opened in b's buffer; a db block is copied out of SQLite, whose
 * pointer dies with the data statement's next row.
 */
static int load_block(struct pr_store_pkt_iter *it, const struct iter_row *r, struct iter_block *b,
		      const uint8_t **data, size_t *len)
{
	const void *blob;
	int rc;

	if (r->ref.segment_id)
		return it->st->sink->ops->get(it->st->sink, &r->ref, NULL, 0, &b->buf, data, len);
	sqlite3_reset(it->data_stmt);
	sqlite3_bind_int64(it->data_stmt, 1, r->id);
	rc = sqlite3_step(it->data_stmt);
	if (rc != SQLITE_ROW)
		return pr_store_sql_fail(it->st, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
					 "session %lld block %lld: read", (long long)it->session,
					 (long long)r->id);
	blob = sqlite3_column_blob(it->data_stmt, 0);
	*len = (size_t)sqlite3_column_bytes(it->data_stmt, 0);
	if (*len > b->copy_cap) {
		uint8_t *p = realloc(b->copy, *len);

		if (!p)
			return pr_store_fail(it->st, -ENOMEM, "read packets: %s", strerror(ENOMEM));
		b->copy = p;
		b->copy_cap = *len;
	}
	if (*len)
		memcpy(b->copy, blob, *len);
	*data = b->copy;
	return 0;
}

/* Open the block of row r in a free slot and read its first packet. */
static int open_block(struct pr_store_pkt_iter *it, const struct iter_row *r)
{
	struct iter_block *b = NULL;
	const uint8_t *data;
	size_t len;
	int ret;

	for (uint32_t i = 0; i < ITER_MAX_BLOCKS && !b; i++)
		if (!it->blocks[i].used)
			b = &it->blocks[i];
	it->block_id = r->id;
	if (!b)
		return iter_damaged(it, r->id, "more blocks overlap than lanes exist");
	b->id = r->id;
	ret = load_block(it, r, b, &data, &len);
	if (ret)
		return it->err = ret;
	it->blocks_read++;
	if (pr_block_iter_init(&b->bit, data, len))
		return iter_damaged(it, b->id, "bad header");
	if (b->bit.count != r->count)
		return iter_damaged(it, b->id, "packet count differs from the index");
	pr_block_iter_set_first_seq(&b->bit, r->first_seq);
	if (b->bit.first_seq != r->first_seq)
		return iter_damaged(it, b->id, "first packet differs from the index");
	ret = pr_block_iter_next(&b->bit, &b->cur);
	if (ret < 0)
		return iter_damaged(it, b->id, "bad packet entry");
	if (ret) {
		b->used = true;
		it->n_open++;
	}
	return 0;
}

/*
 * Read index rows ahead: the blocks the index rules out are counted and
 * dropped, the others queued and their bytes asked of the disk.
 */
static int read_ahead(struct pr_store_pkt_iter *it)
{
	struct iter_row *r;
	int rc;

	while (!it->rows_done && it->ahead_n < ITER_AHEAD && it->ahead_bytes < ITER_AHEAD_BYTES) {
		rc = sqlite3_step(it->stmt);
		if (rc == SQLITE_DONE) {
			it->rows_done = true;
			break;
		}
		if (rc != SQLITE_ROW)
			return it->err = pr_store_sql_fail(it->st, rc,
							   "read packets of session %lld",
							   (long long)it->session);
		if ((it->q.has_flow &&
		     !block_has_flow(sqlite3_column_blob(it->stmt, 7),
				     sqlite3_column_bytes(it->stmt, 7), it->q.flow_id)) ||
		    block_all_skipped(sqlite3_column_blob(it->stmt, 7),
				      sqlite3_column_bytes(it->stmt, 7), it->q.skip_flows,
				      it->q.n_skip_flows)) {
			it->blocks_skipped++;
			continue;
		}
		r = &it->ahead[(it->ahead_head + it->ahead_n) % ITER_AHEAD];
		*r = (struct iter_row){
			.id = sqlite3_column_int64(it->stmt, 0),
			.count = (uint64_t)sqlite3_column_int64(it->stmt, 1),
			.first_seq = (uint64_t)sqlite3_column_int64(it->stmt, 6),
			.ref = {
				.segment_id = sqlite3_column_int64(it->stmt, 2),
				.offset = (uint64_t)sqlite3_column_int64(it->stmt, 3),
				.length = (uint32_t)sqlite3_column_int64(it->stmt, 4),
				.seq = (uint64_t)sqlite3_column_int64(it->stmt, 5),
			},
		};
		it->ahead_n++;
		it->ahead_bytes += r->ref.length;
		if (r->ref.segment_id && it->st->sink->ops->prefetch)
			it->st->sink->ops->prefetch(it->st->sink, &r->ref);
	}
	return 0;
}

/* The open block whose next packet comes first; NULL when none is open. */
static struct iter_block *first_open(struct pr_store_pkt_iter *it)
{
	struct iter_block *m = NULL;

	for (uint32_t i = 0; i < ITER_MAX_BLOCKS; i++)
		if (it->blocks[i].used && (!m || it->blocks[i].cur.seq < m->cur.seq))
			m = &it->blocks[i];
	return m;
}

static void close_block(struct pr_store_pkt_iter *it, struct iter_block *b)
{
	b->used = false;
	it->n_open--;
}

/*
 * Packets in session order across the blocks whose packets interleave
 * (one per lane): rows come by first packet, so a row is opened only
 * once the open blocks have nothing before its first packet.
 */
int pr_store_pkt_iter_next(struct pr_store_pkt_iter *it, struct pr_block_pkt *pkt)
{
	struct iter_block *m;
	int rc, ret = it->err;

	if (ret)
		goto out;
	/* Its last packet was returned: its bytes are no longer needed. */
	if (it->retire >= 0) {
		close_block(it, &it->blocks[it->retire]);
		it->retire = -1;
	}
	for (;;) {
		for (;;) {
			struct iter_row *r;

			if (!it->ahead_n) {
				ret = read_ahead(it);
				if (ret || !it->ahead_n)
					break;
			}
			r = &it->ahead[it->ahead_head];
			m = first_open(it);
			if (m && r->first_seq > m->cur.seq)
				break;
			it->ahead_head = (it->ahead_head + 1) % ITER_AHEAD;
			it->ahead_n--;
			it->ahead_bytes -= r->ref.length;
			ret = open_block(it, r);
			if (ret)
				goto out;
			/* Keep the disk busy with the blocks after it. */
			if (it->ahead_n < ITER_AHEAD / 2) {
				ret = read_ahead(it);
				if (ret)
					goto out;
			}
		}
		if (ret)
			goto out;
		m = first_open(it);
		if (!m)
			goto out; /* 0: the end */
		*pkt = m->cur;
		rc = pr_block_iter_next(&m->bit, &m->cur);
		if (rc < 0) {
			ret = iter_damaged(it, m->id, "bad packet entry");
			goto out;
		}
		if (wanted(it, pkt)) {
			if (!rc)
				it->retire = (int)(m - it->blocks);
			it->index = pkt->seq;
			ret = 1;
			goto out;
		}
		if (!rc)
			close_block(it, m);
	}
out:
	return ret;
}

void pr_store_pkt_iter_destroy(struct pr_store_pkt_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->stmt);
	sqlite3_finalize(it->data_stmt);
	for (uint32_t i = 0; i < ITER_MAX_BLOCKS; i++) {
		pr_sink_buf_fini(&it->blocks[i].buf);
		free(it->blocks[i].copy);
	}
	free(it);
}
