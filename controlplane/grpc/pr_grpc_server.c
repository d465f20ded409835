// SPDX-License-Identifier: Apache-2.0
/*
 * The call machinery of the gRPC server (pr_grpc.h): the grpc_server, its
 * listening port and credentials, one worker thread per completion queue,
 * and each call's life on its worker: requested, matched, authenticated,
 * decoded, answered (unary) or stepped one message at a time (server
 * streams), then freed once every batch it started has come back.
 *
 * Each call has at most three batches out: RECV_CLOSE_ON_SERVER (started
 * when it arrives; it completes when the call is over, cancelled or not),
 * one send (initial metadata and a message; the next message is produced
 * only when it completes: flow control) and the final status (with initial
 * metadata if none was sent: the C core needs them before a status).
 * The call is freed, and grpc_call_unref() called once, when the last of
 * them returns. Shutdown: the server's pending requests fail, which wakes
 * every worker; streams end with UNAVAILABLE at their next step, parked
 * ones at once; after the grace time grpc_server_cancel_all_calls()
 * finishes the rest; then the queues are shut down and the workers join.
 * A worker's calls and lists are its own; the counters are atomic; the
 * table of sessions held by streams and the TLS configuration have locks.
 */
#define _GNU_SOURCE
#define PR_LOG_MODULE "grpc"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pr_auth.h"
#include "pr_grpc_int.h"
#include "pr_log.h"
#include "pr_store_pool.h"

#define DEFAULT_THREADS 2
#define DEFAULT_MAX_STREAMS 64
#define DEFAULT_MAX_RECV (64u << 10)
#define DEFAULT_CHUNK (256u << 10)
#define DEFAULT_KEEPALIVE_S 60
#define MAX_THREADS 64
/* Largest answer (a ListSessions of a store with very many sessions). */
#define MAX_SEND_BYTES (64 << 20)
/* HTTP/2 streams per connection; the daemon-wide limit on server streams is max_streams. */
#define STREAMS_PER_CONN 128
/* Memory the core may use for all connections' buffers. */
#define RESOURCE_QUOTA_BYTES (256u << 20)
#define PEM_MAX (1u << 20)

enum tag_kind { T_REQ, T_CLOSE, T_SEND, T_STATUS };

struct call;

/*
 * A call's tags are set up by the thread that requests the call (the main
 * thread for the first requests) and read by the worker that gets its
 * events. The core's own synchronisation between the two is not
 * instrumented, so ThreadSanitizer would see no order: the pointer is
 * stored with release after everything else of the call is set, and read
 * with acquire when a tag comes back, which orders the two for it.
 */
struct tag {
	_Atomic(struct call *) c;
	enum tag_kind kind;
};

struct worker;

struct call {
	struct worker *w;
	const struct pr_grpc_method *m; /* NULL: the generic request (a method not served) */
	int midx; /* index in pr_grpc_methods, -1 generic */
	struct call *prev, *next; /* the worker's matched calls */
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details details;
	grpc_byte_buffer *payload;
	struct tag t_req, t_close, t_send, t_status;
	int pending; /* batches out: close, send, status */
	int cancelled; /* written by the core when RECV_CLOSE_ON_SERVER completes */
	bool matched;
	bool closed; /* RECV_CLOSE_ON_SERVER came back */
	bool sending;
	bool md_sent; /* initial metadata went with a message */
	bool status_started;
	bool parked;
	bool again; /* next() gave way (PR_GRPC_NEXT_AGAIN): step it at the next turn */
	bool stream_counted;
	bool opened; /* a stream whose close() must run */
	grpc_byte_buffer *out; /* the message in flight */
	grpc_slice status_details;
	bool have_details;
	grpc_status_code code;
	uint64_t t0;
	ProtobufCMessage *req;
	struct pr_grpc_ctx ctx;
};

struct worker {
	struct pr_grpc_server *srv;
	unsigned idx;
	pthread_t thr;
	bool started;
	grpc_completion_queue *cq;
	struct call *live; /* matched calls, for shutdown */
	bool ended; /* ended the parked calls after the stop */
	bool again; /* a call of live has .again set */
};

struct held {
	int64_t session;
	unsigned n;
};

struct pr_grpc_server {
	struct pr_grpc_server_cfg cfg;
	char *addr;
	char *cert_file, *key_file, *ca_file;
	grpc_server *server;
	grpc_completion_queue *shutdown_cq;
	void **handles;
	struct worker *w;
	unsigned n_w;
	uint16_t port;
	uint64_t start_ns;
	atomic_bool stopping;
	bool shut;

	atomic_uint_least64_t calls, calls_failed, auth_failures, bytes_sent;
	atomic_uint streams_active;
	atomic_uint calls_active;

	pthread_mutex_t lock; /* live and cond */
	pthread_cond_t cond;
	unsigned live; /* call structs that exist, requested or matched */

	pthread_mutex_t hlock;
	struct held *held;
	unsigned n_held, cap_held;

	bool tls;
	pthread_mutex_t tls_lock;
	grpc_ssl_server_certificate_config *tls_next; /* handed to the core at its next fetch */
};

/* ---- small helpers ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int pr_grpc_fail(struct pr_grpc_status *st, grpc_status_code code, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int pr_grpc_fail_errno(struct pr_grpc_status *st, int err, const char *msg)
{
	grpc_status_code code;

	switch (err) {
	case -EINVAL:
		code = GRPC_STATUS_INVALID_ARGUMENT;
		break;
	case -ENOENT:
		code = GRPC_STATUS_NOT_FOUND;
		break;
	case -EAGAIN:
	case -ENOMEM:
		code = GRPC_STATUS_RESOURCE_EXHAUSTED;
		break;
	case -EPERM:
	case -EBUSY:
	case -EROFS:
		code = GRPC_STATUS_FAILED_PRECONDITION;
		break;
	case -EBADMSG:
	case -ENOKEY:
		code = GRPC_STATUS_DATA_LOSS;
		break;
	default:
		code = GRPC_STATUS_INTERNAL;
	}
	return pr_grpc_fail(st, code, "%s", msg);
}

grpc_byte_buffer *pr_grpc_pack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

const char *pr_grpc_code_name(int c)
{
	static const char *const names[] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if ((unsigned)c < sizeof(names) / sizeof(names[0]))
		return names[c];
	return "UNKNOWN";
}

/* gRPC's own messages go to our log, a level lower (they are detail to us). */
static void grpc_log_cb(gpr_log_func_args *a)
{
	if (a->severity == GPR_LOG_SEVERITY_ERROR)
		pr_log_msg(PR_LOG_WARN, "grpc-core", "%s", a->message);
	else
		pr_log_msg(PR_LOG_DEBUG, "grpc-core", "%s", a->message);
}

/* ---- sessions held by streams ---- */

int pr_grpc_session_hold(struct pr_grpc_ctx *c, int64_t session)
{
	struct pr_grpc_server *srv = c->srv;
	int ret = 0;

	pthread_mutex_lock(&srv->hlock);
	for (unsigned i = 0; i < srv->n_held; i++) {
		if (srv->held[i].session == session) {
			srv->held[i].n++;
			goto done;
		}
	}
	if (srv->n_held == srv->cap_held) {
		unsigned cap = srv->cap_held ? srv->cap_held * 2 : 16;
		struct held *h = realloc(srv->held, cap * sizeof(*h));

		if (!h) {
			ret = -ENOMEM;
			goto out;
		}
		srv->held = h;
		srv->cap_held = cap;
	}
	srv->held[srv->n_held++] = (struct held){ .session = session, .n = 1 };
done:
	c->held_session = session;
out:
	pthread_mutex_unlock(&srv->hlock);
	return ret;
}

static void session_release(struct pr_grpc_server *srv, int64_t session)
{
	pthread_mutex_lock(&srv->hlock);
	for (unsigned i = 0; i < srv->n_held; i++) {
		if (srv->held[i].session != session)
			continue;
		if (!--srv->held[i].n)
			srv->held[i] = srv->held[--srv->n_held];
		break;
	}
	pthread_mutex_unlock(&srv->hlock);
}

unsigned pr_grpc_session_holders(struct pr_grpc_server *srv, int64_t session)
{
	unsigned n = 0;

	pthread_mutex_lock(&srv->hlock);
	for (unsigned i = 0; i < srv->n_held; i++)
		if (srv->held[i].session == session)
			n = srv->held[i].n;
	pthread_mutex_unlock(&srv->hlock);
	return n;
}

struct pr_store_pool *pr_grpc_server_pool(struct pr_grpc_server *srv)
{
	return srv->cfg.pool;
}

const struct pr_grpc_capture_ops *pr_grpc_server_captures(struct pr_grpc_server *srv)
{
	return srv->cfg.captures;
}

const struct pr_grpc_replay_ops *pr_grpc_server_replays(struct pr_grpc_server *srv)
{
	return srv->cfg.replays;
}

struct pr_events *pr_grpc_server_events(struct pr_grpc_server *srv)
{
	return srv->cfg.events;
}

uint32_t pr_grpc_server_chunk_bytes(const struct pr_grpc_server *srv)
{
	return srv->cfg.chunk_bytes;
}

double pr_grpc_server_uptime_s(const struct pr_grpc_server *srv)
{
	return (double)(mono_ns() - srv->start_ns) / 1e9;
}

bool pr_grpc_server_stopping(const struct pr_grpc_server *srv)
{
	return atomic_load(&srv->stopping);
}

/* ---- the life of a call ---- */

static void live_add(struct pr_grpc_server *srv, int d)
{
	pthread_mutex_lock(&srv->lock);
	srv->live = (unsigned)((int)srv->live + d);
	if (!srv->live)
		pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

/* Ask the server for the next call of method midx (-1: any other method) on w's queue. */
static void request(struct worker *w, int midx)
{
	struct pr_grpc_server *srv = w->srv;
	struct call *c;
	grpc_call_error e;

	if (atomic_load(&srv->stopping))
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		/* Without memory this worker stops taking this method; others still do. */
		PR_ERR("worker %u: no memory to wait for the next call", w->idx);
		return;
	}
	c->w = w;
	c->midx = midx;
	c->m = midx >= 0 ? &pr_grpc_methods[midx] : NULL;
	c->ctx.srv = srv;
	c->ctx.method = c->m;
	c->t_req.kind = T_REQ;
	c->t_close.kind = T_CLOSE;
	c->t_send.kind = T_SEND;
	c->t_status.kind = T_STATUS;
	grpc_metadata_array_init(&c->md);
	grpc_call_details_init(&c->details);
	live_add(srv, 1);
	/* Last: see struct tag. */
	atomic_store_explicit(&c->t_close.c, c, memory_order_release);
	atomic_store_explicit(&c->t_send.c, c, memory_order_release);
	atomic_store_explicit(&c->t_status.c, c, memory_order_release);
	atomic_store_explicit(&c->t_req.c, c, memory_order_release);
	if (midx >= 0)
		e = grpc_server_request_registered_call(srv->server, srv->handles[midx], &c->call,
							&c->deadline, &c->md, &c->payload, w->cq,
							w->cq, &c->t_req);
	else
		e = grpc_server_request_call(srv->server, &c->call, &c->details, &c->md, w->cq,
					     w->cq, &c->t_req);
	if (e != GRPC_CALL_OK) {
		PR_ERR("worker %u: request a call: %s", w->idx, grpc_call_error_to_string(e));
		grpc_metadata_array_destroy(&c->md);
		grpc_call_details_destroy(&c->details);
		free(c);
		live_add(srv, -1);
	}
}

static void call_free(struct call *c)
{
	struct worker *w = c->w;
	struct pr_grpc_server *srv = w->srv;

	if (c->matched) {
		double secs = (double)(mono_ns() - c->t0) / 1e9;
		grpc_status_code code = c->status_started ? c->code : GRPC_STATUS_CANCELLED;
		const char *name = c->m ? c->m->path : "unknown";

		atomic_fetch_add(&srv->calls, 1);
		if (code != GRPC_STATUS_OK)
			atomic_fetch_add(&srv->calls_failed, 1);
		if (srv->cfg.on_call)
			srv->cfg.on_call(srv->cfg.on_call_ctx, name, pr_grpc_code_name(code), secs);
		if (c->opened && c->m->close)
			c->m->close(&c->ctx);
		if (c->ctx.held_session)
			session_release(srv, c->ctx.held_session);
		if (c->stream_counted)
			atomic_fetch_sub(&srv->streams_active, 1);
		atomic_fetch_sub(&srv->calls_active, 1);
		if (c->prev)
			c->prev->next = c->next;
		else
			w->live = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	if (c->req)
		protobuf_c_message_free_unpacked(c->req, NULL);
	pr_store_pool_put(srv->cfg.pool, c->ctx.st);
	if (c->out)
		grpc_byte_buffer_destroy(c->out);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->have_details)
		grpc_slice_unref(c->status_details);
	grpc_metadata_array_destroy(&c->md);
	grpc_call_details_destroy(&c->details);
	if (c->call)
		grpc_call_unref(c->call);
	free(c);
	live_add(srv, -1);
}

static void maybe_free(struct call *c)
{
	if (!c->pending)
		call_free(c);
}

static void start(struct call *c, const grpc_op *ops, size_t n, struct tag *t)
{
	grpc_call_error e = grpc_call_start_batch(c->call, ops, n, t, NULL);

	if (e != GRPC_CALL_OK) {
		/* A bug of ours (two sends at once): say so; the call ends when its close returns. */
		PR_ERR("%s: start batch: %s", c->m ? c->m->name : "call",
		       grpc_call_error_to_string(e));
		return;
	}
	c->pending++;
}

/* End the call with a status (and msg, if not NULL, as the last message). */
static void send_status(struct call *c, grpc_status_code code, const char *details,
			grpc_byte_buffer *msg)
{
	grpc_op ops[3];
	size_t n = 0;

	if (c->status_started || c->closed) {
		if (msg)
			grpc_byte_buffer_destroy(msg);
		return;
	}
	memset(ops, 0, sizeof(ops));
	if (!c->md_sent) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
		c->md_sent = true;
	}
	if (msg) {
		c->out = msg;
		atomic_fetch_add(&c->w->srv->bytes_sent, grpc_byte_buffer_length(msg));
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = msg;
		n++;
	}
	c->code = code;
	if (details && details[0]) {
		c->status_details = grpc_slice_from_copied_string(details);
		c->have_details = true;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n].data.send_status_from_server.status_details = c->have_details ? &c->status_details :
									       NULL;
	n++;
	c->status_started = true;
	start(c, ops, n, &c->t_status);
}

static void send_msg(struct call *c, grpc_byte_buffer *msg)
{
	grpc_op ops[2];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	if (!c->md_sent) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
		c->md_sent = true;
	}
	c->out = msg;
	atomic_fetch_add(&c->w->srv->bytes_sent, grpc_byte_buffer_length(msg));
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n].data.send_message.send_message = msg;
	n++;
	c->sending = true;
	start(c, ops, n, &c->t_send);
}

/* The stream's next message, or its end. Called when nothing of it is in flight. */
static void step(struct call *c)
{
	struct pr_grpc_status st = { .code = GRPC_STATUS_OK };
	grpc_byte_buffer *msg = NULL;
	int r;

	if (c->closed || c->status_started)
		return;
	if (atomic_load(&c->w->srv->stopping)) {
		send_status(c, GRPC_STATUS_UNAVAILABLE, "the server is shutting down",
			    c->parked && c->m->farewell ? c->m->farewell(&c->ctx) : NULL);
		return;
	}
	r = c->m->next(&c->ctx, &msg, &st);
	if (r == PR_GRPC_NEXT_MSG && msg) {
		c->parked = false;
		send_msg(c, msg);
	} else if (r == PR_GRPC_NEXT_MSG) {
		send_status(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
	} else if (r == PR_GRPC_NEXT_END) {
		send_status(c, GRPC_STATUS_OK, NULL, NULL);
	} else if (r == PR_GRPC_NEXT_PARK) {
		c->parked = true;
	} else if (r == PR_GRPC_NEXT_AGAIN) {
		c->again = true;
		c->w->again = true;
	} else {
		send_status(c, st.code, st.msg, NULL);
	}
}

/* The key the call carries, checked; a refusal is counted. */
static bool authorized(struct call *c)
{
	struct pr_grpc_server *srv = c->w->srv;
	bool ok;

	if (!srv->cfg.auth || (c->m && c->m->health && srv->cfg.health_open))
		return true;
	for (size_t i = 0; i < c->md.count; i++) {
		const grpc_metadata *md = &c->md.metadata[i];
		const char *key;
		size_t len;

		if (!pr_auth_header_key((const char *)GRPC_SLICE_START_PTR(md->key),
					GRPC_SLICE_LENGTH(md->key),
					(const char *)GRPC_SLICE_START_PTR(md->value),
					GRPC_SLICE_LENGTH(md->value), &key, &len))
			continue;
		ok = pr_auth_check(srv->cfg.auth, key, len) == 0;
		if (!ok && srv->cfg.on_auth_failure)
			srv->cfg.on_auth_failure(srv->cfg.on_call_ctx, false);
		return ok;
	}
	pr_auth_count_failure(srv->cfg.auth);
	if (srv->cfg.on_auth_failure)
		srv->cfg.on_auth_failure(srv->cfg.on_call_ctx, true);
	return false;
}

static ProtobufCMessage *decode(struct call *c, struct pr_grpc_status *st)
{
	grpc_byte_buffer_reader r;
	ProtobufCMessage *m;
	grpc_slice s;

	if (!c->payload) {
		pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "request: no message");
		return NULL;
	}
	if (!grpc_byte_buffer_reader_init(&r, c->payload)) {
		pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "request: cannot be decompressed");
		return NULL;
	}
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	m = protobuf_c_message_unpack(c->m->req, NULL, GRPC_SLICE_LENGTH(s),
				      GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	if (!m)
		pr_grpc_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "request: not a valid %s message",
			     c->m->req->name);
	return m;
}

/* A call has arrived: answer it, or start its stream. */
static void dispatch(struct call *c)
{
	struct pr_grpc_server *srv = c->w->srv;
	struct pr_grpc_status st = { .code = GRPC_STATUS_OK };
	grpc_byte_buffer *resp = NULL;
	char err[512];
	int ret;

	if (!authorized(c)) {
		atomic_fetch_add(&srv->auth_failures, 1);
		send_status(c, GRPC_STATUS_UNAUTHENTICATED,
			    "a valid API key is needed (x-api-key or authorization: Bearer)", NULL);
		return;
	}
	if (!c->m) {
		char method[256];
		size_t n = GRPC_SLICE_LENGTH(c->details.method);

		if (n >= sizeof(method))
			n = sizeof(method) - 1;
		memcpy(method, GRPC_SLICE_START_PTR(c->details.method), n);
		method[n] = 0;
		for (size_t i = 0; i < n; i++)
			if (method[i] < 0x20 || method[i] > 0x7e)
				method[i] = '?';
		snprintf(st.msg, sizeof(st.msg), "method %s is not served here", method);
		send_status(c, GRPC_STATUS_UNIMPLEMENTED, st.msg, NULL);
		return;
	}
	if (atomic_load(&srv->stopping)) {
		send_status(c, GRPC_STATUS_UNAVAILABLE, "the server is shutting down", NULL);
		return;
	}
	c->req = decode(c, &st);
	grpc_byte_buffer_destroy(c->payload);
	c->payload = NULL;
	if (!c->req) {
		send_status(c, st.code, st.msg, NULL);
		return;
	}
	if (c->m->kind == PR_GRPC_STREAM) {
		unsigned n = atomic_fetch_add(&srv->streams_active, 1);

		c->stream_counted = true;
		if (n >= srv->cfg.max_streams) {
			snprintf(st.msg, sizeof(st.msg),
				 "%u streams are open, the most this server serves at once "
				 "(grpc_max_streams)",
				 n);
			send_status(c, GRPC_STATUS_RESOURCE_EXHAUSTED, st.msg, NULL);
			return;
		}
	}
	if (c->m->store) {
		ret = pr_store_pool_get(srv->cfg.pool, &c->ctx.st, err, sizeof(err));
		if (ret) {
			send_status(c,
				    ret == -EAGAIN ? GRPC_STATUS_RESOURCE_EXHAUSTED :
						     GRPC_STATUS_INTERNAL,
				    err, NULL);
			return;
		}
	}
	if (c->m->kind == PR_GRPC_UNARY) {
		if (c->m->unary(&c->ctx, c->req, &resp, &st))
			send_status(c, st.code, st.msg, NULL);
		else if (!resp)
			send_status(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
		else
			send_status(c, GRPC_STATUS_OK, NULL, resp);
		/* The connection goes back now: a unary call needs it no longer. */
		pr_store_pool_put(srv->cfg.pool, c->ctx.st);
		c->ctx.st = NULL;
		return;
	}
	/* close() runs whatever open() did, so that half-made state is freed too. */
	c->opened = true;
	if (c->m->open(&c->ctx, c->req, &st)) {
		send_status(c, st.code, st.msg, NULL);
		return;
	}
	step(c);
}

static void on_request(struct call *c, bool ok)
{
	struct worker *w = c->w;
	grpc_op op;

	if (!ok) {
		/* The server is shutting down: no call came, and none will. */
		call_free(c);
		return;
	}
	request(w, c->midx);
	c->matched = true;
	c->t0 = mono_ns();
	atomic_fetch_add(&w->srv->calls_active, 1);
	c->next = w->live;
	if (w->live)
		w->live->prev = c;
	w->live = c;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->cancelled;
	start(c, &op, 1, &c->t_close);
	dispatch(c);
	maybe_free(c);
}

static void on_event(struct tag *t, bool ok)
{
	struct call *c = atomic_load_explicit(&t->c, memory_order_acquire);

	switch (t->kind) {
	case T_REQ:
		on_request(c, ok);
		return;
	case T_CLOSE:
		c->closed = true;
		c->pending--;
		break;
	case T_SEND:
		c->pending--;
		c->sending = false;
		grpc_byte_buffer_destroy(c->out);
		c->out = NULL;
		/* Not ok: the call is over (cancelled, deadline, client gone): no more sends. */
		if (ok)
			step(c);
		break;
	case T_STATUS:
		c->pending--;
		if (c->out) {
			grpc_byte_buffer_destroy(c->out);
			c->out = NULL;
		}
		break;
	}
	maybe_free(c);
}

/* After the stop: parked streams have no send to come back; end them now. */
static void end_parked(struct worker *w)
{
	struct call *c, *next;

	for (c = w->live; c; c = next) {
		next = c->next;
		if (c->parked && !c->sending)
			step(c);
	}
}

/* Parked calls of .poll methods step again: true if the worker has any. */
static bool step_polled(struct worker *w, bool now)
{
	struct call *c, *next;
	bool any = false;

	for (c = w->live; c; c = next) {
		next = c->next;
		if (!c->parked || !c->m || !c->m->poll || c->sending || c->closed)
			continue;
		any = true;
		if (now)
			step(c);
	}
	return any;
}

/*
 * Calls whose next() gave way step again (a stopping server ends them in
 * step()). A call that went away meanwhile is no longer in live: it was
 * freed when its close came back, nothing of it being in flight.
 */
static void step_again(struct worker *w)
{
	struct call *c, *next;

	w->again = false;
	for (c = w->live; c; c = next) {
		next = c->next;
		if (!c->again)
			continue;
		c->again = false;
		step(c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pr_grpc_server *srv = w->srv;
	const uint64_t poll_ns = (uint64_t)PR_GRPC_POLL_MS * 1000000u;
	uint64_t last_poll = mono_ns();

	for (;;) {
		/*
		 * Infinite unless a parked call waits to be polled; a busy queue
		 * (another call's sends) must not starve it, so the time is kept
		 * here, not left to the queue's timeout.
		 */
		bool polled = step_polled(w, false);
		uint64_t now = mono_ns();
		gpr_timespec until = gpr_inf_future(GPR_CLOCK_MONOTONIC);
		grpc_event ev;

		if (polled && now - last_poll >= poll_ns) {
			step_polled(w, true);
			last_poll = now;
		}
		if (polled)
			until = gpr_time_add(
				gpr_now(GPR_CLOCK_MONOTONIC),
				gpr_time_from_nanos((int64_t)(last_poll + poll_ns - now),
						    GPR_TIMESPAN));
		else
			last_poll = now;
		/* A call that gave way: look at the queue without waiting, then step it. */
		if (w->again)
			until = gpr_inf_past(GPR_CLOCK_MONOTONIC);
		ev = grpc_completion_queue_next(w->cq, until, NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE) {
			on_event(ev.tag, ev.success != 0);
			if (!w->ended && atomic_load(&srv->stopping)) {
				w->ended = true;
				end_parked(w);
			}
		}
		/* GRPC_QUEUE_TIMEOUT: the poll, at the top. */
		if (w->again)
			step_again(w);
	}
	return NULL;
}

/* ---- TLS ---- */

static int read_pem(const char *what, const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	int ret;

	*out = NULL;
	if (!f) {
		ret = -errno;
		set_err(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	buf = malloc(PEM_MAX + 1);
	if (!buf) {
		fclose(f);
		set_err(err, errlen, "%s %s: %s", what, path, strerror(ENOMEM));
		return -ENOMEM;
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n > PEM_MAX) {
		free(buf);
		set_err(err, errlen, "%s %s: larger than %u bytes: not a PEM file", what, path,
			PEM_MAX);
		return -EINVAL;
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

/* Check what gRPC would only find wrong at the first handshake, naming the file. */
static int tls_check(const char *cert_pem, const char *cert_file, const char *key_pem,
		     const char *key_file, const char *ca_pem, const char *ca_file, char *err,
		     size_t errlen)
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k = NULL;
	int ret = 0;

	BIO_free(b);
	if (!x) {
		set_err(err, errlen, "TLS certificate %s: no PEM certificate in it", cert_file);
		return -EINVAL;
	}
	b = BIO_new_mem_buf(key_pem, -1);
	k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!k) {
		set_err(err, errlen, "TLS key %s: no PEM private key in it (or it is encrypted)",
			key_file);
		ret = -EINVAL;
	} else if (X509_check_private_key(x, k) != 1) {
		set_err(err, errlen, "TLS key %s is not the key of certificate %s", key_file,
			cert_file);
		ret = -EINVAL;
	}
	EVP_PKEY_free(k);
	X509_free(x);
	if (!ret && ca_pem) {
		b = BIO_new_mem_buf(ca_pem, -1);
		x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!x) {
			set_err(err, errlen, "TLS client CA %s: no PEM certificate in it", ca_file);
			ret = -EINVAL;
		}
		X509_free(x);
	}
	return ret;
}

/* A certificate config from the files, checked. */
static int tls_config(struct pr_grpc_server *srv, grpc_ssl_server_certificate_config **out,
		      char *err, size_t errlen)
{
	char *cert = NULL, *key = NULL, *ca = NULL;
	grpc_ssl_pem_key_cert_pair pair;
	int ret;

	*out = NULL;
	if ((ret = read_pem("TLS certificate", srv->cert_file, &cert, err, errlen)) ||
	    (ret = read_pem("TLS key", srv->key_file, &key, err, errlen)) ||
	    (srv->ca_file && (ret = read_pem("TLS client CA", srv->ca_file, &ca, err, errlen))))
		goto out;
	ret = tls_check(cert, srv->cert_file, key, srv->key_file, ca, srv->ca_file, err, errlen);
	if (ret)
		goto out;
	pair.private_key = key;
	pair.cert_chain = cert;
	/*
	 * gRPC 1.51 asserts that a fetched config has root certificates even
	 * when no client certificate is asked for (it would only use them to
	 * verify one): without a client CA, give it our own chain, never used.
	 */
	*out = grpc_ssl_server_certificate_config_create(ca ? ca : cert, &pair, 1);
	if (!*out) {
		set_err(err, errlen, "TLS: the gRPC core refused the certificate");
		ret = -EINVAL;
	}
out:
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cert);
	free(ca);
	return ret;
}

/* Called by the core at each handshake: a new config once after each reload. */
static grpc_ssl_certificate_config_reload_status tls_fetch(void *ud,
							   grpc_ssl_server_certificate_config **cfg)
{
	struct pr_grpc_server *srv = ud;
	grpc_ssl_certificate_config_reload_status r = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;

	pthread_mutex_lock(&srv->tls_lock);
	if (srv->tls_next) {
		*cfg = srv->tls_next;
		srv->tls_next = NULL;
		r = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
	}
	pthread_mutex_unlock(&srv->tls_lock);
	return r;
}

int pr_grpc_server_reload_tls(struct pr_grpc_server *srv, char *err, size_t errlen)
{
	grpc_ssl_server_certificate_config *cfg, *old;
	int ret;

	if (!srv->tls)
		return 0;
	ret = tls_config(srv, &cfg, err, errlen);
	if (ret)
		return ret;
	pthread_mutex_lock(&srv->tls_lock);
	old = srv->tls_next;
	srv->tls_next = cfg;
	pthread_mutex_unlock(&srv->tls_lock);
	if (old)
		grpc_ssl_server_certificate_config_destroy(old);
	return 0;
}

/* ---- listening ---- */

/*
 * gRPC says only "could not bind": bind a socket ourselves first to learn
 * errno (in use, not ours, not allowed). Literal addresses only.
 */
static int probe_bind(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[128];
	const char *colon;
	unsigned long port;
	int fd, one = 1, ret = 0;

	memset(&ss, 0, sizeof(ss));
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof(host))
			goto bad;
		memcpy(host, addr + 1, (size_t)(end - addr - 1));
		host[end - addr - 1] = 0;
		colon = end + 1;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			goto bad;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = 0;
		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		if (!host[0])
			strcpy(host, "0.0.0.0");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return 0; /* a name: gRPC resolves it */
		s4->sin_family = AF_INET;
		sl = sizeof(*s4);
	}
	{
		char *end;

		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || port > 65535)
			goto bad;
	}
	if (!port)
		return 0;
	((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		ret = -errno;
		set_err(err, errlen, "gRPC address %s: %s", addr, strerror(errno));
	}
	close(fd);
	return ret;
bad:
	set_err(err, errlen, "gRPC address \"%s\": not HOST:PORT, [IPV6]:PORT or :PORT", addr);
	return -EINVAL;
}

static int listen_on(struct pr_grpc_server *srv, char *err, size_t errlen)
{
	grpc_server_credentials *creds;
	char addr[300];
	int port, ret;

	/* ":PORT" is every address; gRPC spells that [::]. */
	if (srv->addr[0] == ':')
		snprintf(addr, sizeof(addr), "[::]%s", srv->addr);
	else
		snprintf(addr, sizeof(addr), "%s", srv->addr);
	ret = probe_bind(addr, err, errlen);
	if (ret)
		return ret;
	if (srv->tls) {
		grpc_ssl_server_credentials_options *o;

		/* The first fetch, at the port's creation, takes the config read here. */
		ret = pr_grpc_server_reload_tls(srv, err, errlen);
		if (ret)
			return ret;
		o = grpc_ssl_server_credentials_create_options_using_config_fetcher(
			srv->ca_file ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY :
				       GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
			tls_fetch, srv);
		creds = o ? grpc_ssl_server_credentials_create_with_options(o) : NULL;
	} else {
		creds = grpc_insecure_server_credentials_create();
	}
	if (!creds) {
		set_err(err, errlen, "gRPC: no server credentials");
		return -EIO;
	}
	port = grpc_server_add_http2_port(srv->server, addr, creds);
	grpc_server_credentials_release(creds);
	if (port <= 0) {
		set_err(err, errlen, "gRPC address %s: the gRPC core cannot listen there", addr);
		return -EIO;
	}
	srv->port = (uint16_t)port;
	return 0;
}

/* ---- create, stop, destroy ---- */

static void join_workers(struct pr_grpc_server *srv)
{
	for (unsigned i = 0; i < srv->n_w; i++) {
		struct worker *w = &srv->w[i];

		if (!w->cq)
			continue;
		grpc_completion_queue_shutdown(w->cq);
		if (w->started) {
			pthread_join(w->thr, NULL);
			w->started = false;
		} else {
			/* Never polled: drain it here. */
			while (grpc_completion_queue_next(w->cq,
							  gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
				       .type != GRPC_QUEUE_SHUTDOWN)
				;
		}
		grpc_completion_queue_destroy(w->cq);
		w->cq = NULL;
	}
}

static void wait_calls(struct pr_grpc_server *srv, unsigned grace_ms)
{
	struct timespec until;
	bool cancel = false;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += grace_ms / 1000;
	until.tv_nsec += (long)(grace_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&srv->lock);
	while (srv->live) {
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &until) == ETIMEDOUT) {
			cancel = true;
			break;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	if (cancel) {
		PR_NOTICE("%u calls still open after %u ms: cancelling them", srv->live, grace_ms);
		grpc_server_cancel_all_calls(srv->server);
		pthread_mutex_lock(&srv->lock);
		while (srv->live)
			pthread_cond_wait(&srv->cond, &srv->lock);
		pthread_mutex_unlock(&srv->lock);
	}
}

void pr_grpc_server_shutdown(struct pr_grpc_server *srv, unsigned grace_ms)
{
	static int shutdown_tag;

	if (!srv || srv->shut)
		return;
	srv->shut = true;
	atomic_store(&srv->stopping, true);
	if (srv->server) {
		grpc_server_shutdown_and_notify(srv->server, srv->shutdown_cq, &shutdown_tag);
		wait_calls(srv, grace_ms);
		grpc_completion_queue_pluck(srv->shutdown_cq, &shutdown_tag,
					    gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	}
	join_workers(srv);
}

void pr_grpc_server_destroy(struct pr_grpc_server *srv)
{
	if (!srv)
		return;
	pr_grpc_server_shutdown(srv, 0);
	if (srv->server)
		grpc_server_destroy(srv->server);
	if (srv->shutdown_cq) {
		grpc_completion_queue_shutdown(srv->shutdown_cq);
		while (grpc_completion_queue_pluck(srv->shutdown_cq, NULL,
						   gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
			       .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(srv->shutdown_cq);
	}
	if (srv->tls_next)
		grpc_ssl_server_certificate_config_destroy(srv->tls_next);
	free(srv->handles);
	free(srv->w);
	free(srv->held);
	free(srv->addr);
	free(srv->cert_file);
	free(srv->key_file);
	free(srv->ca_file);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->hlock);
	pthread_mutex_destroy(&srv->tls_lock);
	free(srv);
	grpc_shutdown();
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s || !s[0])
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

int pr_grpc_server_create(const struct pr_grpc_server_cfg *cfg, struct pr_grpc_server **out,
			  char *err, size_t errlen)
{
	struct pr_grpc_server *srv;
	grpc_resource_quota *quota;
	grpc_arg args[8];
	grpc_channel_args ca;
	bool nomem = false;
	int ret;

	*out = NULL;
	if (!cfg->addr || !cfg->addr[0] || !cfg->pool) {
		set_err(err, errlen, "gRPC: no address or no store");
		return -EINVAL;
	}
	if (!cfg->tls_cert_file != !cfg->tls_key_file) {
		set_err(err, errlen, "TLS needs both a certificate and a key");
		return -EINVAL;
	}
	if (cfg->tls_client_ca_file && !cfg->tls_cert_file) {
		set_err(err, errlen,
			"client certificates (a TLS client CA) need TLS: give a "
			"certificate and a key");
		return -EINVAL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		set_err(err, errlen, "gRPC: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	grpc_init();
	gpr_set_log_function(grpc_log_cb);
	gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	pthread_mutex_init(&srv->hlock, NULL);
	pthread_mutex_init(&srv->tls_lock, NULL);
	srv->cfg = *cfg;
	srv->cfg.threads = cfg->threads ? cfg->threads : DEFAULT_THREADS;
	if (srv->cfg.threads > MAX_THREADS)
		srv->cfg.threads = MAX_THREADS;
	srv->cfg.max_streams = cfg->max_streams ? cfg->max_streams : DEFAULT_MAX_STREAMS;
	srv->cfg.max_recv_bytes = cfg->max_recv_bytes ? cfg->max_recv_bytes : DEFAULT_MAX_RECV;
	srv->cfg.chunk_bytes = cfg->chunk_bytes ? cfg->chunk_bytes : DEFAULT_CHUNK;
	srv->cfg.keepalive_s = cfg->keepalive_s ? cfg->keepalive_s : DEFAULT_KEEPALIVE_S;
	srv->addr = dup_or_null(cfg->addr, &nomem);
	srv->cert_file = dup_or_null(cfg->tls_cert_file, &nomem);
	srv->key_file = dup_or_null(cfg->tls_key_file, &nomem);
	srv->ca_file = dup_or_null(cfg->tls_client_ca_file, &nomem);
	srv->tls = srv->cert_file != NULL;
	srv->start_ns = mono_ns();
	srv->n_w = srv->cfg.threads;
	srv->w = calloc(srv->n_w, sizeof(*srv->w));
	srv->handles = calloc(pr_grpc_n_methods, sizeof(*srv->handles));
	if (nomem || !srv->w || !srv->handles) {
		set_err(err, errlen, "gRPC: %s", strerror(ENOMEM));
		ret = -ENOMEM;
		goto err;
	}

	quota = grpc_resource_quota_create("packetrecorder");
	grpc_resource_quota_resize(quota, RESOURCE_QUOTA_BYTES);
	memset(args, 0, sizeof(args));
	/* Two daemons on one port would split the calls between them: fail instead. */
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)(uintptr_t)GRPC_ARG_ALLOW_REUSEPORT;
	args[0].value.integer = 0;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)(uintptr_t)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[1].value.integer = (int)srv->cfg.max_recv_bytes;
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = (char *)(uintptr_t)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[2].value.integer = MAX_SEND_BYTES;
	args[3].type = GRPC_ARG_INTEGER;
	args[3].key = (char *)(uintptr_t)GRPC_ARG_MAX_CONCURRENT_STREAMS;
	args[3].value.integer = STREAMS_PER_CONN;
	/* A peer that vanished without a FIN is found by pings, and its calls freed. */
	args[4].type = GRPC_ARG_INTEGER;
	args[4].key = (char *)(uintptr_t)GRPC_ARG_KEEPALIVE_TIME_MS;
	args[4].value.integer = (int)srv->cfg.keepalive_s * 1000;
	args[5].type = GRPC_ARG_INTEGER;
	args[5].key = (char *)(uintptr_t)GRPC_ARG_KEEPALIVE_TIMEOUT_MS;
	args[5].value.integer = 20000;
	/* A connection that never finishes its handshake is closed. */
	args[6].type = GRPC_ARG_INTEGER;
	args[6].key = (char *)(uintptr_t)GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
	args[6].value.integer = 10000;
	args[7].type = GRPC_ARG_POINTER;
	args[7].key = (char *)(uintptr_t)GRPC_ARG_RESOURCE_QUOTA;
	args[7].value.pointer.p = quota;
	args[7].value.pointer.vtable = grpc_resource_quota_arg_vtable();
	ca.num_args = 8;
	ca.args = args;
	srv->server = grpc_server_create(&ca, NULL);
	grpc_resource_quota_unref(quota);
	if (!srv->server) {
		set_err(err, errlen, "gRPC: the core did not create a server");
		ret = -EIO;
		goto err;
	}
	for (unsigned i = 0; i < pr_grpc_n_methods; i++) {
		srv->handles[i] =
			grpc_server_register_method(srv->server, pr_grpc_methods[i].path, NULL,
						    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (!srv->handles[i]) {
			set_err(err, errlen, "gRPC: cannot register %s", pr_grpc_methods[i].path);
			ret = -EIO;
			goto err;
		}
	}
	for (unsigned i = 0; i < srv->n_w; i++) {
		srv->w[i].srv = srv;
		srv->w[i].idx = i;
		srv->w[i].cq = grpc_completion_queue_create_for_next(NULL);
		grpc_server_register_completion_queue(srv->server, srv->w[i].cq, NULL);
	}
	srv->shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
	ret = listen_on(srv, err, errlen);
	if (ret)
		goto err;
	grpc_server_start(srv->server);
	/*
	 * Threads first, then the requests: a worker that could not start
	 * has no request waiting on its queue, so shutdown waits for nothing
	 * that nobody polls.
	 */
	for (unsigned i = 0; i < srv->n_w; i++) {
		struct worker *w = &srv->w[i];

		ret = pthread_create(&w->thr, NULL, worker_main, w);
		if (ret) {
			set_err(err, errlen, "gRPC: start worker %u: %s", i, strerror(ret));
			ret = -ret;
			goto err;
		}
		w->started = true;
	}
	for (unsigned i = 0; i < srv->n_w; i++) {
		for (unsigned m = 0; m < pr_grpc_n_methods; m++)
			request(&srv->w[i], (int)m);
		/* One request for any other method, to answer it UNIMPLEMENTED. */
		request(&srv->w[i], -1);
	}
	*out = srv;
	return 0;
err:
	/* A server that listens goes down the normal way; one that does not has nothing out. */
	if (srv->server && srv->port) {
		pr_grpc_server_shutdown(srv, 0);
	} else {
		srv->shut = true;
		join_workers(srv);
	}
	pr_grpc_server_destroy(srv);
	return ret;
}

uint16_t pr_grpc_server_port(const struct pr_grpc_server *srv)
{
	return srv->port;
}

void pr_grpc_server_get_stats(struct pr_grpc_server *srv, struct pr_grpc_server_stats *out)
{
	out->calls = atomic_load(&srv->calls);
	out->calls_failed = atomic_load(&srv->calls_failed);
	out->auth_failures = atomic_load(&srv->auth_failures);
	out->bytes_sent = atomic_load(&srv->bytes_sent);
	out->streams_active = atomic_load(&srv->streams_active);
	out->streams_max = srv->cfg.max_streams;
	out->calls_active = atomic_load(&srv->calls_active);
}
