// SPDX-License-Identifier: Apache-2.0
/*
 * The methods of the gRPC server: each turns its request into query
 * engine calls (controlplane/query/) and the answers into protobuf-c
 * messages, checking every field first so that a bad request is
 * INVALID_ARGUMENT naming the field. Streams keep a cursor in their state
 * and produce one message per step (pr_grpc_int.h). Runs on the worker
 * thread of the call, with the store connection the call was lent.
 */
#define PR_LOG_MODULE "grpc"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "packetrecorder.pb-c.h"
#include "pr_capctl.h"
#include "pr_events.h"
#include "pr_flowjson.h"
#include "pr_flowwhere.h"
#include "pr_grpc_conv.h"
#include "pr_grpc_int.h"
#include "pr_l7view.h"
#include "pr_log.h"
#include "pr_query.h"
#include "pr_replayctl.h"
#include "pr_store_pool.h"

/* Smallest and largest DownloadPcap chunk a client may ask for. */
#define CHUNK_MIN 1024u
#define CHUNK_MAX (1u << 20)

typedef Packetrecorder__V1__Session Session;

/* ---- request checks ---- */

static int check_session_id(int64_t id, struct pr_grpc_status *st)
{
	if (id <= 0)
		return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
				    "session_id: %lld is not a session id (they start at 1)",
				    (long long)id);
	return 0;
}

static int check_range(uint64_t from, uint64_t to, struct pr_grpc_status *st)
{
	if (from && to && from > to)
		return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
				    "from_ts is after to_ts: nothing could match");
	return 0;
}

/* An engine error, naming the request's field when the engine says which part is wrong. */
static int engine_fail(struct pr_grpc_status *st, int err, const struct pr_query_err *qe)
{
	const char *field = NULL;
	char msg[sizeof(qe->msg) + 32];

	if (err == -EINVAL && qe->field) {
		if (!strcmp(qe->field, PR_QUERY_FIELD_FILTER))
			field = "filter";
		else if (!strcmp(qe->field, PR_QUERY_FIELD_FORMAT))
			field = "format";
		else if (!strcmp(qe->field, PR_QUERY_FIELD_RANGE))
			field = "from_ts, to_ts";
	}
	if (field) {
		snprintf(msg, sizeof(msg), "%s: %s", field, qe->msg);
		return pr_grpc_fail_errno(st, err, msg);
	}
	return pr_grpc_fail_errno(st, err, qe->msg);
}

/* ---- a growable buffer for answers packed by hand ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;

	while (cap - b->len < n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);

	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Append m as field `field` (wire type 2) of an enclosing message. */
static int buf_put_msg(struct buf *b, unsigned field, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);

	if (buf_reserve(b, len + 20))
		return -ENOMEM;
	b->len += put_varint(b->p + b->len, (uint64_t)field << 3 | 2);
	b->len += put_varint(b->p + b->len, len);
	b->len += protobuf_c_message_pack(m, b->p + b->len);
	return 0;
}

static grpc_byte_buffer *buf_to_bb(struct buf *b)
{
	grpc_slice s = grpc_slice_from_copied_buffer((const char *)b->p, b->len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

	grpc_slice_unref(s);
	return bb;
}

/* ---- interfaces ---- */

static int iface_cb(void *ctx, const struct pr_query_iface *d)
{
	struct buf *b = ctx;
	Packetrecorder__V1__Interface m = PACKETRECORDER__V1__INTERFACE__INIT;

	m.name = (char *)(uintptr_t)d->name;
	m.description = (char *)(uintptr_t)d->description;
	m.n_addresses = d->n_addresses;
	m.addresses = (char **)(uintptr_t)d->addresses;
	m.up = d->up;
	m.running = d->running;
	m.loopback = d->loopback;
	return buf_put_msg(b, 1, &m.base) ? 1 : 0;
}

static int list_interfaces(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			   grpc_byte_buffer **resp, struct pr_grpc_status *st)
{
	struct pr_query_err err;
	struct buf b = { 0 };
	int ret;

	(void)c;
	(void)req;
	ret = pr_query_ifaces(iface_cb, &b, &err);
	if (ret > 0)
		ret = pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	else if (ret < 0)
		ret = pr_grpc_fail_errno(st, ret, err.msg);
	else
		*resp = buf_to_bb(&b);
	free(b.p);
	return ret;
}

/* ---- sessions ---- */

static int session_cb(void *ctx, const struct pr_session_info *s)
{
	Packetrecorder__V1__DropsByReason d;
	Session m;

	pr_grpc_session_to_pb(s, &m, &d);
	return buf_put_msg(ctx, 1, &m.base) ? 1 : 0;
}

static int list_sessions(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			 grpc_byte_buffer **resp, struct pr_grpc_status *st)
{
	struct pr_query_err err;
	struct buf b = { 0 };
	int ret;

	(void)req;
	/* Packed one by one: a store of many sessions never has them all as structs. */
	ret = pr_query_sessions(c->st, session_cb, &b, &err);
	if (ret > 0)
		ret = pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	else if (ret < 0)
		ret = pr_grpc_fail_errno(st, ret, err.msg);
	else
		*resp = buf_to_bb(&b);
	free(b.p);
	return ret;
}

static int get_session(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
		       struct pr_grpc_status *st)
{
	const Packetrecorder__V1__GetSessionRequest *r = (const void *)req;
	Packetrecorder__V1__DropsByReason d;
	struct pr_query_err err;
	struct pr_session_info si;
	Session m;
	int ret;

	if (check_session_id(r->session_id, st))
		return -1;
	ret = pr_query_session_get(c->st, r->session_id, &si, &err);
	if (ret)
		return pr_grpc_fail_errno(st, ret, err.msg);
	pr_grpc_session_to_pb(&si, &m, &d);
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

/* session_deleted on the event bus (SSE and StreamEvents), when the daemon has one. */
static void publish_deleted(struct pr_grpc_ctx *c, int64_t session,
			    const struct pr_store_delete_result *res)
{
	struct pr_events *bus = pr_grpc_server_events(c->srv);
	char data[256];
	int ret;

	if (!bus)
		return;
	snprintf(data, sizeof(data),
		 "{\"session_id\":%lld,\"packets\":%llu,\"flows\":%llu,\"segments\":%llu,"
		 "\"via\":\"grpc\"}",
		 (long long)session, (unsigned long long)res->packets,
		 (unsigned long long)res->flows, (unsigned long long)res->segments);
	ret = pr_events_publish(bus, PR_EVENT_SESSION_DELETED, session, data, NULL);
	if (ret && ret != -ESHUTDOWN)
		PR_WARN("session %lld deleted, but its event was not published: %s",
			(long long)session, strerror(-ret));
}

static int delete_session(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			  grpc_byte_buffer **resp, struct pr_grpc_status *st)
{
	const Packetrecorder__V1__DeleteSessionRequest *r = (const void *)req;
	Packetrecorder__V1__DeleteSessionResponse m =
		PACKETRECORDER__V1__DELETE_SESSION_RESPONSE__INIT;
	struct pr_store_pool *pool = pr_grpc_server_pool(c->srv);
	const struct pr_grpc_replay_ops *ro = pr_grpc_server_replays(c->srv);
	struct pr_store_delete_result res;
	struct pr_store *w;
	unsigned holders;
	int ret;

	if (check_session_id(r->session_id, st))
		return -1;
	/*
	 * A stream of this daemon reading it would keep the deleted pages
	 * (and a copy of the segment keys) alive in its snapshot.
	 */
	holders = pr_grpc_session_holders(c->srv, r->session_id);
	if (holders)
		return pr_grpc_fail(st, GRPC_STATUS_FAILED_PRECONDITION,
				    "session %lld is being read by %u stream%s of this daemon: "
				    "try again when they end",
				    (long long)r->session_id, holders, holders == 1 ? "" : "s");
	/* Likewise a replay: it would stop half-way with a read error. */
	holders = ro && ro->session_users ? ro->session_users(ro->ctx, r->session_id) : 0;
	if (holders)
		return pr_grpc_fail(st, GRPC_STATUS_FAILED_PRECONDITION,
				    "session %lld is being replayed by %u replay%s of this daemon: "
				    "stop %s (StopReplay) or wait until %s finished",
				    (long long)r->session_id, holders, holders == 1 ? "" : "s",
				    holders == 1 ? "it" : "them",
				    holders == 1 ? "it has" : "they have");
	w = pr_store_pool_writer_get(pool);
	ret = pr_store_delete_session(w, r->session_id, &res);
	if (ret == -ENOENT)
		pr_grpc_fail(st, GRPC_STATUS_NOT_FOUND, "no session %lld",
			     (long long)r->session_id);
	else if (ret == -EPERM)
		pr_grpc_fail(st, GRPC_STATUS_FAILED_PRECONDITION,
			     "session %lld is pinned: unpin it first", (long long)r->session_id);
	else if (ret == -EBUSY)
		pr_grpc_fail(st, GRPC_STATUS_FAILED_PRECONDITION,
			     "session %lld is still being captured", (long long)r->session_id);
	else if (ret)
		pr_grpc_fail_errno(st, ret, pr_store_errmsg(w));
	pr_store_pool_writer_put(pool);
	if (ret)
		return -1;
	/* Readers cache the last segment key they used: none may outlive the segment. */
	pr_store_pool_flush(pool);
	PR_NOTICE("session %lld deleted over gRPC (%llu packets, %llu segments)",
		  (long long)r->session_id, (unsigned long long)res.packets,
		  (unsigned long long)res.segments);
	publish_deleted(c, r->session_id, &res);
	m.session_id = r->session_id;
	m.deleted = true;
	m.packets = res.packets;
	m.blocks = res.blocks;
	m.flows = res.flows;
	m.segments = res.segments;
	m.files_removed = res.files_removed;
	m.wal_clean = res.wal_clean;
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

/* ---- packets ---- */

struct pkts_state {
	struct pr_query_pkts *q;
	bool data;
};

static int query_packets_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			      struct pr_grpc_status *st)
{
	const Packetrecorder__V1__QueryPacketsRequest *r = (const void *)req;
	struct pr_query_pkts_req q = {
		.session = r->session_id,
		.filter = r->filter,
		.from_ns = r->from_ts,
		.to_ns = r->to_ts,
		.has_flow = r->flow_case == PACKETRECORDER__V1__QUERY_PACKETS_REQUEST__FLOW_FLOW_ID,
		.flow_id = r->flow_id,
		.limit = r->limit,
	};
	struct pkts_state *s;
	struct pr_query_err err;
	int ret;

	if (check_session_id(r->session_id, st) || check_range(r->from_ts, r->to_ts, st))
		return -1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	s->data = r->include_data;
	c->state = s;
	ret = pr_query_pkts_open(c->st, &q, &s->q, &err);
	if (ret)
		return engine_fail(st, ret, &err);
	if (pr_grpc_session_hold(c, r->session_id))
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}

static int query_packets_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg,
			      struct pr_grpc_status *st)
{
	struct pkts_state *s = c->state;
	Packetrecorder__V1__Packet m;
	struct pr_query_err err;
	struct pr_query_pkt p;
	int ret = pr_query_pkts_next(s->q, &p, &err);

	if (ret < 0)
		return pr_grpc_fail_errno(st, ret, err.msg);
	if (!ret)
		return PR_GRPC_NEXT_END;
	pr_grpc_packet_to_pb(&p, s->data, &m);
	*msg = pr_grpc_pack(&m.base);
	return PR_GRPC_NEXT_MSG;
}

static void query_packets_close(struct pr_grpc_ctx *c)
{
	struct pkts_state *s = c->state;

	if (s)
		pr_query_pkts_close(s->q);
	free(s);
	c->state = NULL;
}

/* ---- flows ---- */

/*
 * Flows a QueryFlows with a where looks at in one step before it gives
 * the worker back (PR_GRPC_NEXT_AGAIN), so that a filter that matches
 * nothing in millions of flows never holds the worker's other calls, a
 * cancel or shutdown for long. A flow costs one read of its L7 rows plus
 * rendering and matching: tens of microseconds, but about 2 ms in a
 * session of 7,000 flows today (the L7 read scans the session's rows),
 * hence a small batch; giving way costs one look at the queue.
 */
#define FLOWS_SCAN_BATCH 32

struct flows_state {
	struct pr_query_flows *qf;
	struct pr_l7view *l7; /* the L7 keys of the flow being sent */
	struct pr_flowwhere *where; /* the request's where, compiled; NULL: none */
	uint64_t limit; /* with where: the most matching flows to send (0: all) */
	uint64_t matched; /* with where: flows sent */
	int64_t session;
};

static int query_flows_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			    struct pr_grpc_status *st)
{
	const Packetrecorder__V1__QueryFlowsRequest *r = (const void *)req;
	struct pr_query_flows_req q = {
		.session = r->session_id,
		.from_ns = r->from_ts,
		.to_ns = r->to_ts,
		.has_flow = r->flow_case == PACKETRECORDER__V1__QUERY_FLOWS_REQUEST__FLOW_FLOW_ID,
		.flow_id = r->flow_id,
		.limit = r->limit,
	};
	struct flows_state *fs;
	struct pr_query_err err;
	char werr[256];
	int ret;

	if (check_session_id(r->session_id, st) || check_range(r->from_ts, r->to_ts, st))
		return -1;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	/* close() frees what is made from here on. */
	c->state = fs;
	fs->session = r->session_id;
	/* proto3 cannot tell "" from unset: an empty where is no filter. */
	if (r->where && r->where[0]) {
		ret = pr_flowwhere_compile(r->where, &fs->where, werr, sizeof(werr));
		if (ret == -EINVAL)
			return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "where: %s", werr);
		if (ret)
			return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		/* As flows --where: the limit counts matching flows; the query is unlimited. */
		fs->limit = r->limit;
		q.limit = 0;
	}
	if (pr_l7view_create(&fs->l7))
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	ret = pr_query_flows_open(c->st, &q, &fs->qf, &err);
	if (ret)
		return engine_fail(st, ret, &err);
	if (pr_grpc_session_hold(c, r->session_id))
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}

static int query_flows_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg,
			    struct pr_grpc_status *st)
{
	struct flows_state *fs = c->state;
	Packetrecorder__V1__Flow m;
	struct pr_grpc_flow_text t;
	struct pr_query_err err;
	struct pr_store_flow f;
	char *l7 = NULL;
	int ret;

	for (unsigned n = 0;; n++) {
		if (fs->where && fs->limit && fs->matched >= fs->limit)
			return PR_GRPC_NEXT_END;
		if (n == FLOWS_SCAN_BATCH)
			return PR_GRPC_NEXT_AGAIN;
		ret = pr_query_flows_next(fs->qf, &f, &err);
		if (ret < 0)
			return pr_grpc_fail_errno(st, ret, err.msg);
		if (!ret)
			return PR_GRPC_NEXT_END;
		ret = pr_l7view_load(fs->l7, c->st, fs->session, f.flow_id);
		if (ret < 0)
			return pr_grpc_fail_errno(st, ret, "reading the flow's L7 metadata");
		if (!fs->where)
			break;
		ret = pr_flowjson_match(fs->where, &f, fs->l7);
		if (ret < 0)
			return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		if (ret) {
			fs->matched++;
			break;
		}
	}
	if (pr_l7view_object(fs->l7, &l7))
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	pr_grpc_flow_to_pb(&f, &m, &t);
	m.l7_json = l7;
	*msg = pr_grpc_pack(&m.base);
	free(l7);
	return PR_GRPC_NEXT_MSG;
}

static void query_flows_close(struct pr_grpc_ctx *c)
{
	struct flows_state *fs = c->state;

	if (fs) {
		pr_query_flows_close(fs->qf);
		pr_l7view_destroy(fs->l7);
		pr_flowwhere_destroy(fs->where);
		free(fs);
	}
	c->state = NULL;
}

/* ---- pcap download ---- */

/*
 * A download's chunk buffers, reused. A chunk's buffer belongs to its gRPC
 * slice until gRPC has sent the message and frees the slice (on whichever
 * thread it does), which gives the buffer back here; the next chunk is
 * gathered in it, still warm in the cache, instead of in a new 256 KiB
 * allocation whose cold pages cost more than the copy itself. Shared by
 * the download and the slices it made: the last of them frees it.
 */
struct chunk_cache {
	pthread_mutex_t mu;
	unsigned refs; /* the download, and each buffer out in a slice */
	bool closed; /* the download ended: buffers that come back are freed */
	unsigned n;
	struct chunk_buf *spare[2];
};

struct chunk_buf {
	struct chunk_cache *cc;
	size_t cap; /* bytes of data */
	size_t len;
	uint8_t data[];
};

static void chunk_cache_unref_locked(struct chunk_cache *cc, bool *last)
{
	*last = --cc->refs == 0;
}

static void chunk_cache_free(struct chunk_cache *cc)
{
	for (unsigned i = 0; i < cc->n; i++)
		free(cc->spare[i]);
	pthread_mutex_destroy(&cc->mu);
	free(cc);
}

/* A buffer of at least cap bytes: a spare one, or a new one. NULL: out of memory. */
static struct chunk_buf *chunk_buf_get(struct chunk_cache *cc, size_t cap)
{
	struct chunk_buf *b = NULL;

	pthread_mutex_lock(&cc->mu);
	while (cc->n && !b) {
		b = cc->spare[--cc->n];
		if (b->cap < cap) {
			free(b);
			b = NULL;
		}
	}
	pthread_mutex_unlock(&cc->mu);
	if (!b) {
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cc = cc;
		b->cap = cap;
	}
	b->len = 0;
	return b;
}

/* The slice of a sent (or dropped) chunk is freed: its buffer comes back. */
static void chunk_buf_done(void *arg)
{
	struct chunk_buf *b = arg;
	struct chunk_cache *cc = b->cc;
	bool last;

	pthread_mutex_lock(&cc->mu);
	if (!cc->closed && cc->n < PR_ARRAY_SIZE(cc->spare)) {
		cc->spare[cc->n++] = b;
		b = NULL;
	}
	chunk_cache_unref_locked(cc, &last);
	pthread_mutex_unlock(&cc->mu);
	free(b);
	if (last)
		chunk_cache_free(cc);
}

struct pcap_state {
	struct pr_query_pcap *pc;
	size_t chunk;
	struct chunk_cache *cc;
	struct chunk_buf *b; /* the bytes of the next chunk */
	uint64_t offset;
	bool done;
};

static int pcap_bytes_cb(void *ctx, const uint8_t *data, size_t len)
{
	struct pcap_state *s = ctx;
	struct chunk_buf *b = s->b;

	if (b->cap - b->len < len) {
		/* A piece larger than the chunk (one big packet record): a larger buffer. */
		size_t cap = b->cap * 2 > b->len + len ? b->cap * 2 : b->len + len;
		struct chunk_buf *nb = malloc(sizeof(*nb) + cap);

		if (!nb)
			return -ENOMEM;
		nb->cc = b->cc;
		nb->cap = cap;
		nb->len = b->len;
		memcpy(nb->data, b->data, b->len);
		free(b);
		s->b = b = nb;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static int download_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			 struct pr_grpc_status *st)
{
	const Packetrecorder__V1__DownloadPcapRequest *r = (const void *)req;
	struct pr_query_pcap_req q = {
		.pkts = {
			.session = r->session_id,
			.filter = r->filter,
			.from_ns = r->from_ts,
			.to_ns = r->to_ts,
			.has_flow = r->flow_case ==
				    PACKETRECORDER__V1__DOWNLOAD_PCAP_REQUEST__FLOW_FLOW_ID,
			.flow_id = r->flow_id,
			.limit = r->limit,
		},
	};
	struct pr_session_info si;
	struct pcap_state *s;
	struct pr_query_err err;
	char comment[2048];
	int ret;

	if (check_session_id(r->session_id, st) || check_range(r->from_ts, r->to_ts, st))
		return -1;
	switch (r->format) {
	case PACKETRECORDER__V1__PCAP_FORMAT__PCAP_FORMAT_UNSPECIFIED:
	case PACKETRECORDER__V1__PCAP_FORMAT__PCAP_FORMAT_PCAP:
		q.format = PR_QUERY_PCAP;
		break;
	case PACKETRECORDER__V1__PCAP_FORMAT__PCAP_FORMAT_PCAPNG:
		q.format = PR_QUERY_PCAPNG;
		break;
	default:
		return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
				    "format: %d is not PCAP_FORMAT_PCAP or PCAP_FORMAT_PCAPNG",
				    (int)r->format);
	}
	if (r->chunk_bytes && (r->chunk_bytes < CHUNK_MIN || r->chunk_bytes > CHUNK_MAX))
		return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
				    "chunk_bytes: %u is not from %u to %u (or 0 for the default)",
				    r->chunk_bytes, CHUNK_MIN, CHUNK_MAX);
	ret = pr_query_session_get(c->st, r->session_id, &si, &err);
	if (ret)
		return pr_grpc_fail_errno(st, ret, err.msg);
	snprintf(comment, sizeof(comment), "packetrecorder session %lld \"%s\" from %s %s%s%s",
		 (long long)si.id, si.name, si.source_kind, si.source,
		 si.filter[0] ? "; capture filter " : "", si.filter);
	q.comment = comment;
	s = calloc(1, sizeof(*s));
	if (!s)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	c->state = s;
	s->cc = calloc(1, sizeof(*s->cc));
	if (!s->cc)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	pthread_mutex_init(&s->cc->mu, NULL);
	s->cc->refs = 1;
	s->chunk = r->chunk_bytes ? r->chunk_bytes : pr_grpc_server_chunk_bytes(c->srv);
	if (s->chunk > CHUNK_MAX)
		s->chunk = CHUNK_MAX;
	ret = pr_query_pcap_open(c->st, &q, &s->pc, &err);
	if (ret)
		return engine_fail(st, ret, &err);
	if (pr_grpc_session_hold(c, r->session_id))
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}

/*
 * A PcapChunk as wire bytes around the chunk's own buffer: the message is
 * field 1 (bytes: tag, length, data), then fields 2 and 3 (varints), so
 * it is three slices, and the data slice takes over the buffer the pcap
 * writer's bytes were gathered in (it comes back to the download's chunk
 * cache when gRPC frees the slice). Packing it with protobuf-c would copy
 * every byte once more; a download costs the daemon that copy less.
 * tests/integration/test_grpc_api.py decodes these with protobuf's own
 * parser and compares the file with export's.
 */
static grpc_byte_buffer *chunk_msg(struct chunk_buf *b, uint64_t offset, uint64_t packets)
{
	uint8_t head[1 + 10], tail[2 + 2 * 10];
	size_t hn = 0, tn = 0;
	grpc_slice sl[3];
	grpc_byte_buffer *bb;

	head[hn++] = 1 << 3 | 2;
	hn += put_varint(head + hn, b->len);
	tail[tn++] = 2 << 3;
	tn += put_varint(tail + tn, offset);
	tail[tn++] = 3 << 3;
	tn += put_varint(tail + tn, packets);
	sl[0] = grpc_slice_from_copied_buffer((const char *)head, hn);
	pthread_mutex_lock(&b->cc->mu);
	b->cc->refs++;
	pthread_mutex_unlock(&b->cc->mu);
	sl[1] = grpc_slice_new_with_user_data(b->data, b->len, chunk_buf_done, b);
	sl[2] = grpc_slice_from_copied_buffer((const char *)tail, tn);
	bb = grpc_raw_byte_buffer_create(sl, 3);
	for (int i = 0; i < 3; i++)
		grpc_slice_unref(sl[i]);
	return bb;
}

static int download_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg, struct pr_grpc_status *st)
{
	struct pcap_state *s = c->state;
	struct pr_query_err err;
	uint64_t len;
	int ret;

	if (s->done)
		return PR_GRPC_NEXT_END;
	if (!s->b)
		s->b = chunk_buf_get(s->cc, s->chunk + 4096);
	if (!s->b)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	s->b->len = 0;
	ret = pr_query_pcap_next(s->pc, s->chunk, pcap_bytes_cb, s, &err);
	if (ret < 0)
		return pr_grpc_fail_errno(st, ret, err.msg);
	if (!ret)
		s->done = true;
	if (!s->b->len)
		return PR_GRPC_NEXT_END;
	len = s->b->len;
	/* The buffer is the slice's now: the next chunk takes a spare one. */
	*msg = chunk_msg(s->b, s->offset, pr_query_pcap_packets(s->pc));
	s->b = NULL;
	s->offset += len;
	return PR_GRPC_NEXT_MSG;
}

static void download_close(struct pr_grpc_ctx *c)
{
	struct pcap_state *s = c->state;

	if (s) {
		pr_query_pcap_close(s->pc);
		free(s->b);
		if (s->cc) {
			bool last;

			pthread_mutex_lock(&s->cc->mu);
			s->cc->closed = true;
			chunk_cache_unref_locked(s->cc, &last);
			pthread_mutex_unlock(&s->cc->mu);
			if (last)
				chunk_cache_free(s->cc);
		}
	}
	free(s);
	c->state = NULL;
}

/* ---- statistics and health ---- */

static int get_stats(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
		     struct pr_grpc_status *st)
{
	Packetrecorder__V1__Stats m = PACKETRECORDER__V1__STATS__INIT;
	Packetrecorder__V1__StoreStats ss;
	Packetrecorder__V1__ServerStats gs = PACKETRECORDER__V1__SERVER_STATS__INIT;
	struct pr_grpc_server_stats s;
	struct pr_store_info in;
	int ret;

	(void)req;
	ret = pr_store_get_info(c->st, 0, &in);
	if (ret)
		return pr_grpc_fail_errno(st, ret, pr_store_errmsg(c->st));
	/* Read through a reader, which is read-only; the daemon's store is what its writer is. */
	in.readonly = !pr_store_pool_writable(pr_grpc_server_pool(c->srv));
	pr_grpc_store_info_to_pb(&in, &ss);
	pr_grpc_server_get_stats(c->srv, &s);
	gs.calls = s.calls;
	gs.calls_failed = s.calls_failed;
	gs.auth_failures = s.auth_failures;
	gs.streams_active = s.streams_active;
	gs.streams_max = s.streams_max;
	gs.bytes_sent = s.bytes_sent;
	m.version = (char *)(uintptr_t)PR_VERSION;
	m.uptime_s = pr_grpc_server_uptime_s(c->srv);
	m.store = &ss;
	m.grpc = &gs;
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

static int health(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
		  struct pr_grpc_status *st)
{
	Packetrecorder__V1__HealthResponse m = PACKETRECORDER__V1__HEALTH_RESPONSE__INIT;

	(void)req;
	(void)st;
	m.status = (char *)(uintptr_t)(pr_grpc_server_stopping(c->srv) ? "NOT_SERVING" : "SERVING");
	m.version = (char *)(uintptr_t)PR_VERSION;
	m.uptime_s = pr_grpc_server_uptime_s(c->srv);
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

/* grpc.health.v1: "" is the daemon, our service is the API; anything else is unknown. */
static bool known_service(const char *s)
{
	return !s || !s[0] || !strcmp(s, PR_GRPC_SERVICE) || !strcmp(s, PR_GRPC_HEALTH_SERVICE);
}

static grpc_byte_buffer *health_msg(Grpc__Health__V1__HealthCheckResponse__ServingStatus status)
{
	Grpc__Health__V1__HealthCheckResponse m = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	m.status = status;
	return pr_grpc_pack(&m.base);
}

static int health_check(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
			struct pr_grpc_status *st)
{
	const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;

	if (!known_service(r->service))
		return pr_grpc_fail(st, GRPC_STATUS_NOT_FOUND, "service: \"%s\" is not known here",
				    r->service);
	*resp = health_msg(
		pr_grpc_server_stopping(c->srv) ?
			GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING :
			GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
	return 0;
}

struct watch_state {
	bool known;
	bool sent;
};

static int health_watch_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			     struct pr_grpc_status *st)
{
	const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
	struct watch_state *s = calloc(1, sizeof(*s));

	if (!s)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	s->known = known_service(r->service);
	c->state = s;
	return 0;
}

/* The status now, then nothing until it changes: at shutdown (the farewell). */
static int health_watch_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg,
			     struct pr_grpc_status *st)
{
	struct watch_state *s = c->state;

	(void)st;
	if (s->sent)
		return PR_GRPC_NEXT_PARK;
	s->sent = true;
	*msg = health_msg(
		s->known ?
			GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING :
			GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);
	return PR_GRPC_NEXT_MSG;
}

static grpc_byte_buffer *health_watch_farewell(struct pr_grpc_ctx *c)
{
	struct watch_state *s = c->state;

	if (!s || !s->known)
		return NULL;
	return health_msg(GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
}

static void free_state(struct pr_grpc_ctx *c)
{
	free(c->state);
	c->state = NULL;
}

/* ---- capture control (controlplane/capctl) ---- */

static void capture_to_pb(const struct pr_capctl_info *in, Packetrecorder__V1__CaptureStatus *m)
{
	packetrecorder__v1__capture_status__init(m);
	m->capture_id = in->capture_id;
	m->session_id = in->session_id;
	/* Borrowed: the message is packed before in goes out of scope. */
	m->interface = (char *)(uintptr_t)in->interface;
	m->state = (char *)(uintptr_t)pr_capctl_state_name(in->state);
	m->started_ts = in->started_ns;
	m->packets = in->packets;
	m->bytes = in->bytes;
	m->drops = in->drops;
	m->message = (char *)(uintptr_t)in->message;
	m->backend = (char *)(uintptr_t)in->backend;
	m->filter = (char *)(uintptr_t)in->filter;
	m->end_reason = (char *)(uintptr_t)in->end_reason;
}

int pr_grpc_capture_fail(struct pr_grpc_status *st, int err, const char *msg)
{
	grpc_status_code code;

	switch (err) {
	case -EINVAL:
	case -ENODEV:
		code = GRPC_STATUS_INVALID_ARGUMENT;
		break;
	case -ENOENT:
		code = GRPC_STATUS_NOT_FOUND;
		break;
	case -ENOSPC:
	case -ENOMEM:
		code = GRPC_STATUS_RESOURCE_EXHAUSTED;
		break;
	case -ESHUTDOWN:
		code = GRPC_STATUS_UNAVAILABLE;
		break;
	case -EIO:
	case -EPIPE:
		code = GRPC_STATUS_FAILED_PRECONDITION;
		break;
	default:
		code = GRPC_STATUS_INTERNAL;
	}
	return pr_grpc_fail(st, code, "%s", msg[0] ? msg : strerror(-err));
}

static const struct pr_grpc_capture_ops *capctl_of(struct pr_grpc_ctx *c, struct pr_grpc_status *st)
{
	const struct pr_grpc_capture_ops *cc = pr_grpc_server_captures(c->srv);

	if (!cc)
		pr_grpc_fail(st, GRPC_STATUS_UNIMPLEMENTED,
			     "%s: this server does not control captures", c->method->name);
	return cc;
}

static int start_capture(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			 grpc_byte_buffer **resp, struct pr_grpc_status *st)
{
	const Packetrecorder__V1__StartCaptureRequest *r = (const void *)req;
	const struct pr_grpc_capture_ops *cc = capctl_of(c, st);
	Packetrecorder__V1__CaptureStatus m;
	struct pr_capctl_req cr = {
		.interface = r->interface,
		.filter = r->filter,
		.name = r->name,
		.backend = r->backend,
		.max_packets = r->max_packets,
		.duration_s = r->duration_s,
		.snaplen = r->snaplen,
	};
	struct pr_capctl_info info;
	char msg[1024];
	int ret;

	if (!cc)
		return -1;
	ret = cc->start(cc->ctx, &cr, &info, msg, sizeof(msg));
	if (ret)
		return pr_grpc_capture_fail(st, ret, msg);
	capture_to_pb(&info, &m);
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

static int stop_capture(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
			struct pr_grpc_status *st)
{
	const Packetrecorder__V1__StopCaptureRequest *r = (const void *)req;
	const struct pr_grpc_capture_ops *cc = capctl_of(c, st);
	Packetrecorder__V1__CaptureStatus m;
	struct pr_capctl_info info;
	char msg[1024];
	int ret;

	if (!cc)
		return -1;
	if (r->capture_id <= 0)
		return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
				    "capture_id: a capture id (1 or more) is required");
	ret = cc->stop(cc->ctx, r->capture_id, &info, msg, sizeof(msg));
	if (ret)
		return pr_grpc_capture_fail(st, ret, msg);
	capture_to_pb(&info, &m);
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

static int get_capture_status(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			      grpc_byte_buffer **resp, struct pr_grpc_status *st)
{
	const Packetrecorder__V1__GetCaptureStatusRequest *r = (const void *)req;
	Packetrecorder__V1__GetCaptureStatusResponse m =
		PACKETRECORDER__V1__GET_CAPTURE_STATUS_RESPONSE__INIT;
	const struct pr_grpc_capture_ops *cc = capctl_of(c, st);
	Packetrecorder__V1__CaptureStatus *msgs = NULL, **ptrs = NULL;
	struct pr_capctl_info *infos = NULL, one;
	size_t n = 0;
	char msg[128];
	int ret = 0;

	if (!cc)
		return -1;
	if (r->capture_id < 0)
		return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
				    "capture_id: 0 (every capture) or a capture id");
	if (r->capture_id) {
		if (cc->get(cc->ctx, r->capture_id, &one)) {
			snprintf(msg, sizeof(msg), "capture_id: no capture %lld",
				 (long long)r->capture_id);
			return pr_grpc_capture_fail(st, -ENOENT, msg);
		}
		infos = &one;
		n = 1;
	} else if (cc->list(cc->ctx, &infos, &n)) {
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	}
	if (n) {
		msgs = calloc(n, sizeof(*msgs));
		ptrs = calloc(n, sizeof(*ptrs));
		if (!msgs || !ptrs) {
			ret = pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			capture_to_pb(&infos[i], &msgs[i]);
			ptrs[i] = &msgs[i];
		}
	}
	m.n_captures = n;
	m.captures = ptrs;
	*resp = pr_grpc_pack(&m.base);
out:
	free(msgs);
	free(ptrs);
	if (infos != &one)
		free(infos);
	return ret;
}

/* ---- replay control (controlplane/replay) ---- */

static void replay_to_pb(const struct pr_replayctl_info *in, Packetrecorder__V1__ReplayStatus *m)
{
	packetrecorder__v1__replay_status__init(m);
	m->replay_id = in->replay_id;
	m->session_id = in->session_id;
	/* Borrowed: the message is packed before in goes out of scope. */
	m->state = (char *)(uintptr_t)pr_replayctl_state_name(in->state);
	m->sent = in->packets_sent;
	m->interface = (char *)(uintptr_t)in->interface;
	m->backend = (char *)(uintptr_t)in->backend;
	m->filter = (char *)(uintptr_t)in->filter;
	m->speed = in->speed;
	m->pps = in->pps;
	m->count = in->count;
	m->started_ts = in->started_ns;
	m->bytes_sent = in->bytes_sent;
	m->errors = in->errors;
	m->duration_s = in->duration_s;
	m->end_reason = (char *)(uintptr_t)in->end_reason;
	m->message = (char *)(uintptr_t)in->message;
}

static const struct pr_grpc_replay_ops *replayctl_of(struct pr_grpc_ctx *c,
						     struct pr_grpc_status *st)
{
	const struct pr_grpc_replay_ops *ro = pr_grpc_server_replays(c->srv);

	if (!ro)
		pr_grpc_fail(st, GRPC_STATUS_UNIMPLEMENTED,
			     "%s: this daemon does not schedule replays; use `packetrecorder "
			     "replay` on the sensor",
			     c->method->name);
	return ro;
}

static int start_replay(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
			struct pr_grpc_status *st)
{
	const Packetrecorder__V1__StartReplayRequest *r = (const void *)req;
	const struct pr_grpc_replay_ops *ro = replayctl_of(c, st);
	Packetrecorder__V1__ReplayStatus m;
	struct pr_replayctl_req rr = {
		.session_id = r->session_id,
		.interface = r->interface,
		.filter = r->filter,
		.backend = r->backend,
		.speed = r->speed,
		.pps = r->pps,
		.count = r->count,
		.from_ns = r->from_ts,
		.to_ns = r->to_ts,
		.has_flow = r->flow_case == PACKETRECORDER__V1__START_REPLAY_REQUEST__FLOW_FLOW_ID,
		.flow_id = r->flow_id,
		.mbps = r->mbps,
		.loop = r->loop,
	};
	struct pr_replayctl_info info;
	char msg[1024];
	int ret;

	if (!ro || check_session_id(r->session_id, st))
		return -1;
	/* Replay control checks the other fields; its errnos are capture control's. */
	ret = ro->start(ro->ctx, &rr, &info, msg, sizeof(msg));
	if (ret)
		return pr_grpc_capture_fail(st, ret, msg);
	replay_to_pb(&info, &m);
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

static int stop_replay(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
		       struct pr_grpc_status *st)
{
	const Packetrecorder__V1__StopReplayRequest *r = (const void *)req;
	const struct pr_grpc_replay_ops *ro = replayctl_of(c, st);
	Packetrecorder__V1__ReplayStatus m;
	struct pr_replayctl_info info;
	char msg[1024];
	int ret;

	if (!ro)
		return -1;
	if (r->replay_id <= 0)
		return pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
				    "replay_id: a replay id (1 or more) is required");
	ret = ro->stop(ro->ctx, r->replay_id, &info, msg, sizeof(msg));
	if (ret)
		return pr_grpc_capture_fail(st, ret, msg);
	replay_to_pb(&info, &m);
	*resp = pr_grpc_pack(&m.base);
	return 0;
}

/* ---- the table ---- */

#define P(m) "/" PR_GRPC_SERVICE "/" m
#define UNARY(p_, nm, reqd, st, fn)                                                       \
	{                                                                                 \
		.path = p_, .name = nm, .kind = PR_GRPC_UNARY, .req = &reqd, .store = st, \
		.unary = fn                                                               \
	}
#define STREAM(p_, nm, reqd, st, o, n, c)                                                  \
	{                                                                                  \
		.path = p_, .name = nm, .kind = PR_GRPC_STREAM, .req = &reqd, .store = st, \
		.open = o, .next = n, .close = c                                           \
	}

const struct pr_grpc_method pr_grpc_methods[] = {
	UNARY(P("ListInterfaces"), "ListInterfaces",
	      packetrecorder__v1__list_interfaces_request__descriptor, false, list_interfaces),
	UNARY(P("StartCapture"), "StartCapture",
	      packetrecorder__v1__start_capture_request__descriptor, false, start_capture),
	UNARY(P("StopCapture"), "StopCapture", packetrecorder__v1__stop_capture_request__descriptor,
	      false, stop_capture),
	UNARY(P("GetCaptureStatus"), "GetCaptureStatus",
	      packetrecorder__v1__get_capture_status_request__descriptor, false,
	      get_capture_status),
	UNARY(P("ListSessions"), "ListSessions",
	      packetrecorder__v1__list_sessions_request__descriptor, true, list_sessions),
	UNARY(P("GetSession"), "GetSession", packetrecorder__v1__get_session_request__descriptor,
	      true, get_session),
	UNARY(P("DeleteSession"), "DeleteSession",
	      packetrecorder__v1__delete_session_request__descriptor, false, delete_session),
	STREAM(P("QueryPackets"), "QueryPackets",
	       packetrecorder__v1__query_packets_request__descriptor, true, query_packets_open,
	       query_packets_next, query_packets_close),
	STREAM(P("QueryFlows"), "QueryFlows", packetrecorder__v1__query_flows_request__descriptor,
	       true, query_flows_open, query_flows_next, query_flows_close),
	STREAM(P("DownloadPcap"), "DownloadPcap",
	       packetrecorder__v1__download_pcap_request__descriptor, true, download_open,
	       download_next, download_close),
	UNARY(P("StartReplay"), "StartReplay", packetrecorder__v1__start_replay_request__descriptor,
	      false, start_replay),
	UNARY(P("StopReplay"), "StopReplay", packetrecorder__v1__stop_replay_request__descriptor,
	      false, stop_replay),
	{
		.path = P("StreamEvents"),
		.name = "StreamEvents",
		.kind = PR_GRPC_STREAM,
		.req = &packetrecorder__v1__stream_events_request__descriptor,
		.poll = true,
		.open = pr_grpc_events_open,
		.next = pr_grpc_events_next,
		.close = pr_grpc_events_close,
	},
	{
		.path = P("LiveTap"),
		.name = "LiveTap",
		.kind = PR_GRPC_STREAM,
		.req = &packetrecorder__v1__live_tap_request__descriptor,
		.poll = true,
		.open = pr_grpc_tap_open,
		.next = pr_grpc_tap_next,
		.close = pr_grpc_tap_close,
	},
	UNARY(P("GetStats"), "GetStats", packetrecorder__v1__get_stats_request__descriptor, true,
	      get_stats),
	UNARY(P("Health"), "Health", packetrecorder__v1__health_request__descriptor, false, health),
	{
		.path = "/" PR_GRPC_HEALTH_SERVICE "/Check",
		.name = "grpc.health.v1.Health/Check",
		.kind = PR_GRPC_UNARY,
		.req = &grpc__health__v1__health_check_request__descriptor,
		.health = true,
		.unary = health_check,
	},
	{
		.path = "/" PR_GRPC_HEALTH_SERVICE "/Watch",
		.name = "grpc.health.v1.Health/Watch",
		.kind = PR_GRPC_STREAM,
		.req = &grpc__health__v1__health_check_request__descriptor,
		.health = true,
		.open = health_watch_open,
		.next = health_watch_next,
		.close = free_state,
		.farewell = health_watch_farewell,
	},
};

const unsigned pr_grpc_n_methods = sizeof(pr_grpc_methods) / sizeof(pr_grpc_methods[0]);
