// SPDX-License-Identifier: Apache-2.0
/*
 * The write path of the store. One current session is kept in memory:
 * its packets go into a block builder that becomes one packet_blocks row
 * when full, its counters are written with each commit, and everything
 * since the last commit sits in one open transaction. With
 * pr_store_commit_async() block and flow rows wait in memory, by commit
 * point, until the sink says their bytes are durable, and go into the
 * transaction then: the disk syncs one point while the next is written.
 * The thread that opened the store only.
 */
#define PR_LOG_MODULE "store"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pr_compiler.h"
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
static uint32_t block_flow_ids(struct lane *ln)
{
	uint32_t n = 0;

	if (!ln->n_flows)
		return 0;
	qsort(ln->flows, ln->n_flows, sizeof(uint64_t), cmp_u64);
	for (uint32_t i = 0; i < ln->n_flows; i++)
		if (!n || ln->flows[i] != ln->flows[n - 1])
			ln->flows[n++] = ln->flows[i];
	ln->n_flows = n;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = ln->flows[i];
		uint8_t *p = (uint8_t *)&ln->flows[i];

		for (int k = 0; k < 8; k++)
			p[k] = (uint8_t)(v >> (8 * k));
	}
	return n;
}

/* Remember the flow of a packet added to the block (runs of one flow count once). */
static int note_flow(struct lane *ln, uint64_t flow_id)
{
	if (ln->n_flows && ln->flows[ln->n_flows - 1] == flow_id)
		return 0;
	if (ln->n_flows == ln->cap_flows) {
		uint32_t cap = ln->cap_flows ? ln->cap_flows * 2 : 256;
		uint64_t *p = realloc(ln->flows, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ln->flows = p;
		ln->cap_flows = cap;
	}
	ln->flows[ln->n_flows++] = flow_id;
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The traffic class of a frame: IP protocol and service port (the lower
 * of the two ports of TCP, UDP and SCTP), as a non-zero key; 0 for what
 * is not IP or is cut short. Only a layout choice: which flows a block
 * holds is in its index row whatever class its packets were given.
 */
static uint32_t traffic_class(uint32_t linktype, const uint8_t *p, uint32_t n)
{
	uint16_t et = 0, sp, dp;
	uint32_t hl;
	uint8_t proto;

	switch (linktype) {
	case 1: /* Ethernet, with up to two VLAN tags */
		if (n < 14)
			return 0;
		et = be16(p + 12);
		p += 14;
		n -= 14;
		for (int i = 0; i < 2 && (et == 0x8100 || et == 0x88a8) && n >= 4; i++) {
			et = be16(p + 2);
			p += 4;
			n -= 4;
		}
		break;
	case 113: /* Linux cooked */
		if (n < 16)
			return 0;
		et = be16(p + 14);
		p += 16;
		n -= 16;
		break;
	case 12: /* raw IP */
	case 101:
		if (n < 1)
			return 0;
		et = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
		break;
	default:
		return 0;
	}
	if (et == 0x0800 && n >= 20 && (p[0] >> 4) == 4) {
		hl = (p[0] & 15u) * 4;
		proto = p[9];
		/* Fragments after the first have no ports. */
		if (hl < 20 || n < hl || (be16(p + 6) & 0x1fff))
			return 1u << 24 | (uint32_t)proto << 16;
	} else if (et == 0x86dd && n >= 40 && (p[0] >> 4) == 6) {
		hl = 40;
		proto = p[6];
	} else {
		return 0;
	}
	p += hl;
	n -= hl;
	if ((proto != 6 && proto != 17 && proto != 132) || n < 4)
		return 1u << 24 | (uint32_t)proto << 16;
	sp = be16(p);
	dp = be16(p + 2);
	return 1u << 24 | (uint32_t)proto << 16 | (sp < dp ? sp : dp);
}

/* The lane of a packet: its class's, given to a class when first seen. */
static uint32_t lane_of(struct pr_store *st, const struct pr_block_pkt *pkt)
{
	uint32_t key, h, lt;

	if (st->n_lanes < 2)
		return 0;
	lt = pkt->iface < PR_ARRAY_SIZE(st->linktype) ? st->linktype[pkt->iface] : 0;
	key = traffic_class(lt, pkt->data, pkt->cap_len);
	if (!key)
		return 0;
	h = (key * 2654435761u) >> 22; /* 10 bits: LANE_MAP_SIZE */
	for (uint32_t i = 0; i < LANE_MAP_SIZE; i++) {
		uint32_t *e = &st->lane_map[(h + i) % LANE_MAP_SIZE];

		if (*e >> 4 == key)
			return *e & 15u;
		if (*e)
			continue;
		/* Half full: later classes share lanes by hash rather than probe far. */
		if (st->lane_map_used >= LANE_MAP_SIZE / 2)
			break;
		*e = key << 4 | (1 + st->lane_next++ % (st->n_lanes - 1));
		st->lane_map_used++;
		return *e & 15u;
	}
	return 1 + h % (st->n_lanes - 1);
}

static int settle_all(struct pr_store *st);

/* Rows wait for their bytes (pipelined commits). */
static bool pend_any(const struct pr_store *st)
{
	return st->n_points || st->n_pend_blocks || st->n_pend_flows;
}
static int insert_flow(struct pr_store *st, int64_t session, const struct pr_store_flow *f);

/* The index row of one block; data only for the db sink (segment_id 0). */
static int insert_block(struct pr_store *st, const struct pend_block *pb, const uint8_t *data,
			size_t len, const void *flows)
{
	sqlite3_stmt *s;
	int rc, err;

	err = pr_store_txn_begin(st);
	if (!err)
		err = pr_store_prepare(
			st, &st->ins_block,
			"INSERT INTO packet_blocks(session_id, first_seq, pkt_count, first_ts, "
			"last_ts, bytes, data, segment_id, seg_offset, seg_len, seg_seq, flow_ids, "
			"last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (err)
		return err;
	s = st->ins_block;
	sqlite3_bind_int64(s, 1, pb->session);
	sqlite3_bind_int64(s, 2, (int64_t)pb->first_seq);
	sqlite3_bind_int64(s, 13, (int64_t)pb->last_seq);
	sqlite3_bind_int64(s, 3, pb->count);
	sqlite3_bind_int64(s, 4, (int64_t)pb->first_ts_ns);
	sqlite3_bind_int64(s, 5, (int64_t)pb->last_ts_ns);
	sqlite3_bind_int64(s, 6, (int64_t)pb->wire_bytes);
	/* STATIC: the builder's buffer outlives the step, so no private copy first. */
	if (pb->ref.segment_id)
		sqlite3_bind_zeroblob(s, 7, 0);
	else
		sqlite3_bind_blob(s, 7, data, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, pb->ref.segment_id);
	sqlite3_bind_int64(s, 9, (int64_t)pb->ref.offset);
	sqlite3_bind_int64(s, 10, pb->ref.length);
	sqlite3_bind_int64(s, 11, (int64_t)pb->ref.seq);
	sqlite3_bind_blob(s, 12, flows, (int)(pb->nflows * sizeof(uint64_t)), SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "insert packet block");
	sqlite3_reset(s);
	return err;
}

/* Grow an array of *cap elements of size bytes to hold need of them. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Keep a block row until its bytes are durable. */
static int pend_block_add(struct pr_store *st, const struct pend_block *pb, const void *flows)
{
	size_t fl = (size_t)pb->nflows * sizeof(uint64_t);
	struct pend_block *p;

	if (grow((void **)&st->pend_blocks, &st->cap_pend_blocks, st->n_pend_blocks + 1,
		 sizeof(*st->pend_blocks)) ||
	    grow((void **)&st->pend_flow_ids, &st->cap_pend_flow_ids, st->n_pend_flow_ids + fl, 1))
		return pr_store_fail(st, -ENOMEM, "insert packet block: %s", strerror(ENOMEM));
	p = &st->pend_blocks[st->n_pend_blocks++];
	*p = *pb;
	p->flows_at = st->n_pend_flow_ids;
	if (fl)
		memcpy(st->pend_flow_ids + st->n_pend_flow_ids, flows, fl);
	st->n_pend_flow_ids += fl;
	return 0;
}

static int flush_lane(struct pr_store *st, struct lane *ln)
{
	struct pend_block pb;
	const uint8_t *data;
	size_t len;
	int err = 0;

	if (!ln->blk.count)
		goto out;
	/* A new segment's row (with its key) goes into the transaction. */
	err = pr_store_txn_begin(st);
	if (err)
		goto out;
	data = pr_block_builder_finish(&ln->blk, &len);
	if (!data) {
		err = pr_store_fail(st, -ENOMEM, "insert packet block: %s", strerror(ENOMEM));
		goto out;
	}
	/*
	 * The segment sink seals and appends it; the db sink leaves it to the
	 * row. A new segment starts only where every earlier packet is in an
	 * earlier block, so that retention, which deletes whole segments,
	 * deletes the oldest packets and no later ones.
	 */
	err = st->sink->ops->put(st->sink, st->cur.id, data, len, st->seg_boundary, &pb.ref);
	if (err)
		goto out;
	st->seg_boundary = st->n_lanes < 2;
	pb.session = st->cur.id;
	pb.first_seq = ln->blk.first_seq;
	pb.last_seq = ln->blk.last_seq;
	pb.count = ln->blk.count;
	pb.first_ts_ns = ln->blk.first_ts_ns;
	pb.last_ts_ns = ln->blk.last_ts_ns;
	pb.wire_bytes = ln->blk.wire_bytes;
	pb.nflows = block_flow_ids(ln);
	pb.flows_at = 0;
	/* Only a row naming segment bytes waits: a db block is its row. */
	if (st->pipelined && pb.ref.segment_id)
		err = pend_block_add(st, &pb, ln->flows);
	else
		err = insert_block(st, &pb, data, len, ln->flows);
	if (!err) {
		pr_block_builder_reset(&ln->blk);
		ln->n_flows = 0;
	}
out:
	return err;
}

/* Every lane's open block, lanes in order: then every packet added is in a block. */
static int flush_block(struct pr_store *st)
{
	int err = 0;

	for (uint32_t i = 0; !err && i < st->n_lanes; i++)
		err = flush_lane(st, &st->lanes[i]);
	if (!err)
		st->seg_boundary = true;
	return err;
}

/* The counters of c into its session's row; c: the current session or a commit point's copy. */
static int session_write(struct pr_store *st, struct cur_session *c)
{
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!c->dirty)
		goto out;
	err = pr_store_txn_begin(st);
	if (err)
		goto out;
	err = pr_store_prepare(
		st, &st->upd_session,
		"UPDATE sessions SET packets = ?1, bytes = ?2, captured_bytes = ?3, "
		"first_pkt_ts = ?4, last_pkt_ts = ?5, flows = ?6, received = ?7, filtered = ?8, "
		"drops_ring_full = ?9, drops_kernel = ?10, drops_iface = ?11, "
		"drops_too_big = ?12, drops_store = ?13, drops_no_socket = ?14, "
		"drops_xsk_rx = ?15, drops_xsk_ring_full = ?16, drops_nic_missed = ?17, "
		"drops_nic_nombuf = ?18, drops_nic_errors = ?19 WHERE id = ?20");
	if (err)
		goto out;
	s = st->upd_session;
	sqlite3_bind_int64(s, 1, (int64_t)c->packets);
	sqlite3_bind_int64(s, 2, (int64_t)c->bytes);
	sqlite3_bind_int64(s, 3, (int64_t)c->captured_bytes);
	sqlite3_bind_int64(s, 4, (int64_t)c->first_ts_ns);
	sqlite3_bind_int64(s, 5, (int64_t)c->last_ts_ns);
	sqlite3_bind_int64(s, 6, (int64_t)c->flows);
	sqlite3_bind_int64(s, 7, (int64_t)c->received);
	sqlite3_bind_int64(s, 8, (int64_t)c->filtered);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		sqlite3_bind_int64(s, 9 + i, (int64_t)c->drops[i]);
	sqlite3_bind_int64(s, 9 + PR_DROP_REASON_MAX, c->id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "update session %lld", (long long)c->id);
	sqlite3_reset(s);
	if (!err)
		c->dirty = false;
out:
	return err;
}

/* The link types of the session's interfaces, which lane_of() reads frames by. */
static int load_linktypes(struct pr_store *st, int64_t session)
{
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	memset(st->linktype, 0, sizeof(st->linktype));
	rc = sqlite3_prepare_v2(st->db, "SELECT idx, linktype FROM interfaces WHERE session_id = ?",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return pr_store_sql_fail(st, rc, "interfaces of session %lld", (long long)session);
	sqlite3_bind_int64(s, 1, session);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(s, 0);

		if (idx >= 0 && idx < (int64_t)PR_ARRAY_SIZE(st->linktype))
			st->linktype[idx] = (uint32_t)sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE)
		err = pr_store_sql_fail(st, rc, "interfaces of session %lld", (long long)session);
	sqlite3_finalize(s);
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
		/* The counters written next are those of every row added: all must be in. */
		if (!err && pend_any(st))
			err = settle_all(st);
		if (!err)
			err = session_write(st, &st->cur);
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
	st->cur.received = info.received;
	st->cur.filtered = info.filtered;
	st->have_cur = true;
	err = load_linktypes(st, session);
out:
	return err;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* COMMIT the open transaction, timed: SQLite writes the WAL here, so it waits for the disk. */
static int commit_txn(struct pr_store *st)
{
	uint64_t t0 = mono_ns();
	int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);

	st->commit_wait_ns += mono_ns() - t0;
	st->commit_waits++;
	if (rc != SQLITE_OK)
		return pr_store_sql_fail(st, rc, "commit");
	st->in_txn = false;
	pr_store_gate_leave(st);
	return 0;
}

void pr_store_get_io_stats(const struct pr_store *st, struct pr_store_io_stats *out)
{
	*out = (struct pr_store_io_stats){
		.wait_ns = st->commit_wait_ns + (st->sink ? st->sink->wait_ns : 0),
		.waits = st->commit_waits + (st->sink ? st->sink->waits : 0),
	};
}

int pr_store_commit(struct pr_store *st)
{
	int err = 0;

	if (st->readonly)
		goto out;
	if (st->have_cur)
		err = flush_block(st);
	/* Block bytes first: a committed index row never names bytes that are not on disk. */
	if (!err && (st->in_txn || pend_any(st)))
		err = settle_all(st);
	if (!err && st->have_cur)
		err = session_write(st, &st->cur);
	if (!err && st->in_txn)
		err = commit_txn(st);
	/* Whatever failed, the whole pending transaction goes: a commit is all or nothing. */
	if (err)
		pr_store_txn_abort(st);
	else
		st->point_committed = st->point_settled = st->point_last;
out:
	return err;
}

/* Take a commit point's rows out of the pending arrays once they are in the transaction. */
static void pend_drop(struct pr_store *st, size_t nblk, size_t nflow)
{
	size_t ids = nblk < st->n_pend_blocks ? st->pend_blocks[nblk].flows_at :
						st->n_pend_flow_ids;

	/* Arrays not yet allocated are NULL: memmove() must not see them, even for 0 bytes. */
	if (st->n_pend_blocks > nblk)
		memmove(st->pend_blocks, st->pend_blocks + nblk,
			(st->n_pend_blocks - nblk) * sizeof(*st->pend_blocks));
	st->n_pend_blocks -= nblk;
	for (size_t i = 0; i < st->n_pend_blocks; i++)
		st->pend_blocks[i].flows_at -= ids;
	if (st->n_pend_flow_ids > ids)
		memmove(st->pend_flow_ids, st->pend_flow_ids + ids, st->n_pend_flow_ids - ids);
	st->n_pend_flow_ids -= ids;
	if (st->n_pend_flows > nflow)
		memmove(st->pend_flows, st->pend_flows + nflow,
			(st->n_pend_flows - nflow) * sizeof(*st->pend_flows));
	st->n_pend_flows -= nflow;
	for (unsigned int i = 0; i < st->n_points; i++) {
		st->points[i].blocks_end -= nblk;
		st->points[i].flows_end -= nflow;
	}
}

/* Insert the first nblk pending block rows and nflow flow rows: their bytes are durable. */
static int pend_insert(struct pr_store *st, size_t nblk, size_t nflow)
{
	int err = 0;

	for (size_t i = 0; !err && i < nblk; i++)
		err = insert_block(st, &st->pend_blocks[i], NULL, 0,
				   st->pend_flow_ids + st->pend_blocks[i].flows_at);
	for (size_t i = 0; !err && i < nflow; i++)
		err = insert_flow(st, st->pend_flows[i].session, &st->pend_flows[i].f);
	if (!err)
		pend_drop(st, nblk, nflow);
	return err;
}

/* Make every block durable and put every waiting row into the transaction. */
static int settle_all(struct pr_store *st)
{
	int err = st->sink->ops->sync(st->sink);

	if (!err)
		err = pend_insert(st, st->n_pend_blocks, st->n_pend_flows);
	if (!err) {
		st->n_points = 0;
		st->point_settled = st->point_last;
	}
	return err;
}

/*
 * Put the rows of the points whose bytes are durable into the
 * transaction, with the session's counters as of the newest of them.
 * wait: first wait for the oldest point.
 */
static int settle_durable(struct pr_store *st, bool wait)
{
	uint64_t durable = 0;
	unsigned int k = 0;
	int err;

	err = st->sink->ops->sync_poll(st->sink, st->n_points ? st->points[0].ticket : 0, wait,
				       &durable);
	while (!err && k < st->n_points && st->points[k].ticket <= durable)
		k++;
	if (err || !k)
		return err;
	err = pend_insert(st, st->points[k - 1].blocks_end, st->points[k - 1].flows_end);
	if (!err && st->points[k - 1].have_snap)
		err = session_write(st, &st->points[k - 1].snap);
	if (err)
		return err;
	st->point_settled = st->points[k - 1].point;
	memmove(st->points, st->points + k, (st->n_points - k) * sizeof(st->points[0]));
	st->n_points -= k;
	return 0;
}

int pr_store_commit_async(struct pr_store *st, uint64_t *point)
{
	struct pend_point *pp;
	uint64_t ticket;
	int err = 0;

	*point = st->point_last;
	if (st->readonly)
		goto out;
	/*
	 * Nothing to overlap where the sink's sync costs nothing (db): commit
	 * now. The first call too: rows added until now went into the
	 * transaction directly, so their bytes must be synced before it commits.
	 */
	if (!st->sink->ops->sync_start || !st->pipelined) {
		err = pr_store_commit(st);
		if (!err)
			*point = st->point_committed = st->point_settled = ++st->point_last;
		st->pipelined = !err && st->sink->ops->sync_start != NULL;
		goto out;
	}
	if (st->have_cur)
		err = flush_block(st);
	/* Rows of more points would wait than the disk can overlap: wait for the oldest. */
	while (!err && st->n_points == MAX_POINTS)
		err = settle_durable(st, true);
	if (!err)
		err = st->sink->ops->sync_start(st->sink, &ticket);
	if (err)
		goto fail;
	pp = &st->points[st->n_points++];
	*pp = (struct pend_point){
		.point = ++st->point_last,
		.ticket = ticket,
		.blocks_end = st->n_pend_blocks,
		.flows_end = st->n_pend_flows,
		.have_snap = st->have_cur,
	};
	if (st->have_cur)
		pp->snap = st->cur;
	*point = pp->point;
	err = settle_durable(st, false);
	if (!err && st->in_txn)
		err = commit_txn(st);
	if (err)
		goto fail;
	st->point_committed = st->point_settled;
	goto out;
fail:
	/* As in pr_store_commit(): all or nothing, the waiting rows included. */
	pr_store_txn_abort(st);
out:
	return err;
}

uint64_t pr_store_committed_point(const struct pr_store *st)
{
	return st->point_committed;
}

int pr_store_add_packet(struct pr_store *st, int64_t session, const struct pr_block_pkt *pkt)
{
	struct cur_session *c = &st->cur;
	struct lane *ln;
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
	ln = &st->lanes[lane_of(st, pkt)];
	/* A flow noted for a packet that then fails to go in only widens the index. */
	err = note_flow(ln, pkt->flow_id);
	if (!err)
		err = pr_block_builder_add_seq(&ln->blk, pkt, c->packets);
	/* 2^32 packets of other lanes since this block began: it ends here. */
	if (err == -ERANGE) {
		err = flush_lane(st, ln);
		if (err) {
			err = pr_store_write_fail(st, err);
			goto out;
		}
		err = note_flow(ln, pkt->flow_id);
		if (!err)
			err = pr_block_builder_add_seq(&ln->blk, pkt, c->packets);
	}
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
	if (ln->blk.count >= st->block_max_packets || ln->blk.len >= st->block_max_bytes) {
		err = flush_lane(st, ln);
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

static int insert_flow(struct pr_store *st, int64_t session, const struct pr_store_flow *f)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	sqlite3_stmt *s;
	int rc, err;

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
out:
	return err;
}

int pr_store_add_flow(struct pr_store *st, int64_t session, const struct pr_store_flow *f)
{
	int err;

	err = pr_store_check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (err)
		goto out;
	/* Committed with the blocks that hold its packets, not before them. */
	if (st->pipelined) {
		if (grow((void **)&st->pend_flows, &st->cap_pend_flows, st->n_pend_flows + 1,
			 sizeof(*st->pend_flows)))
			err = pr_store_fail(st, -ENOMEM, "insert flow: %s", strerror(ENOMEM));
		else
			st->pend_flows[st->n_pend_flows++] =
				(struct pend_flow){ .session = session, .f = *f };
	} else {
		err = insert_flow(st, session, f);
	}
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

int pr_store_session_set_received(struct pr_store *st, int64_t session, uint64_t received,
				  uint64_t filtered)
{
	int err;

	err = pr_store_check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (err)
		return err;
	st->cur.received = received;
	st->cur.filtered = filtered;
	st->cur.dirty = true;
	return 0;
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

int pr_store_session_resume(struct pr_store *st, int64_t session)
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
				"UPDATE sessions SET status = ?, end_ts = 0, message = '', "
				"writer_pid = ?, writer_host = ?, writer_boot_id = ?, "
				"writer_start = ? WHERE id = ? AND status = ?",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = pr_store_sql_fail(st, rc, "resume session %lld", (long long)session);
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	pr_store_boot_id(boot, sizeof(boot));
	sqlite3_bind_int(s, 1, PR_SESSION_RUNNING);
	sqlite3_bind_int64(s, 2, getpid());
	sqlite3_bind_text(s, 3, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, boot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, pr_store_proc_start(getpid()));
	sqlite3_bind_int64(s, 6, session);
	sqlite3_bind_int(s, 7, PR_SESSION_INTERRUPTED);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		err = pr_store_write_fail(st, pr_store_sql_fail(st, rc, "resume session %lld",
								(long long)session));
		goto out;
	}
	if (!sqlite3_changes(st->db)) {
		struct pr_session_info info;

		err = pr_store_session_load(st, session, &info);
		if (!err)
			err = pr_store_fail(st, -EALREADY,
					    "session %lld is %s, not interrupted: it cannot go on",
					    (long long)session,
					    pr_session_status_name(info.status));
		goto out;
	}
	/* The counters come from the row (recovery recounted them) at the next packet. */
	if (st->have_cur && st->cur.id == session)
		st->have_cur = false;
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
	else if (iface->index < PR_ARRAY_SIZE(st->linktype))
		st->linktype[iface->index] = iface->linktype;
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
	/*
	 * Its last block, then its segment closed (drained, trimmed and
	 * synced), then one commit with the status. That sync makes every
	 * block durable, so the commit needs none of its own: committing
	 * first, as this did, cost a second sync (30-70 ms here).
	 */
	if (st->have_cur && st->cur.id == session)
		err = flush_block(st);
	if (!err)
		err = pr_store_txn_begin(st);
	if (!err)
		err = st->sink->ops->finish(st->sink, session);
	if (err) {
		err = pr_store_write_fail(st, err);
		goto out;
	}
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
