// SPDX-License-Identifier: Apache-2.0
/*
 * The /api/v1 handlers but downloads (pr_http_pcap.c) and events
 * (pr_http_sse.c). Sessions, flows and interfaces come from the query
 * engine (controlplane/query) and are written by the same JSON functions
 * as `packetrecorder sessions --json`, `flows --json` and
 * `list-interfaces --json`, so the CLI and the API answer alike. Flows
 * are streamed from the engine's cursor, a piece at a time as the client
 * takes them; single objects are built whole. Capture control calls the
 * daemon's callbacks; its request bodies are parsed by json-c. Runs on
 * connection threads; each request borrows a store connection of the
 * daemon's pool for as long as it reads.
 */
#define _GNU_SOURCE
#include "pr_http_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#define PR_LOG_MODULE "http"
#include "pr_cli.h"
#include "pr_log.h"
#include "pr_events.h"
#include "pr_flowjson.h"
#include "pr_json.h"
#include "pr_flowwhere.h"
#include "pr_l7view.h"
#include "pr_metrics.h"
#include "pr_query.h"
#include "pr_sensor_metrics.h"

/* How long a request waits for a store connection when every one is lent. */
#define POOL_WAIT_US 2000000u

struct pr_store *pr_http_store_get(struct pr_http_req *r, enum MHD_Result *ret)
{
	struct pr_store *st = NULL;
	char err[768];
	int rc;

	if (!r->srv->cfg.pool) {
		*ret = pr_http_resp_error(r, 503, "this server has no store");
		return NULL;
	}
	/*
	 * Every reader lent: a burst of requests waits a little for one to come
	 * back (most requests hold one for milliseconds) before it is refused.
	 */
	for (unsigned us = 500, waited = 0;
	     (rc = pr_store_pool_get(r->srv->cfg.pool, &st, err, sizeof(err))) == -EAGAIN &&
	     waited < POOL_WAIT_US;
	     waited += us, us = us < 20000 ? us * 2 : us)
		usleep(us);
	if (rc == -EAGAIN) {
		*ret = pr_http_resp_error(r, 503, "every store connection is in use; retry later");
		return NULL;
	}
	if (rc) {
		*ret = pr_http_resp_error(r, 503, "the store cannot be opened: %s", err);
		return NULL;
	}
	return st;
}

unsigned pr_http_query_status(int err)
{
	switch (err) {
	case -ENOENT:
		return 404;
	case -EINVAL:
		return 400;
	case -ENOMEM:
	case -EBUSY:
	case -EAGAIN:
		return 503;
	default:
		return 500;
	}
}

/* ---- a JSON document built by pr_json into memory ---- */

struct memdoc {
	char *buf;
	size_t len;
	FILE *f;
	struct pr_json j;
};

static int memdoc_open(struct memdoc *d)
{
	memset(d, 0, sizeof(*d));
	d->f = open_memstream(&d->buf, &d->len);
	if (!d->f)
		return -ENOMEM;
	pr_json_init(&d->j, d->f);
	return 0;
}

/* Finish it and answer with it. */
static enum MHD_Result memdoc_send(struct pr_http_req *r, struct memdoc *d, unsigned status)
{
	pr_json_end(&d->j);
	if (fclose(d->f) || !d->buf) {
		free(d->buf);
		return MHD_NO;
	}
	return pr_http_resp_buf(r, status, "application/json", d->buf, d->len);
}

static void memdoc_drop(struct memdoc *d)
{
	if (d->f)
		fclose(d->f);
	free(d->buf);
}

/* ---- query arguments ---- */

int pr_http_arg_time(struct pr_http_req *r, const char *name, uint64_t *ns, enum MHD_Result *ret)
{
	const char *v = pr_http_arg(r, name);

	*ns = 0;
	if (!v || !*v)
		return 0;
	if (pr_cli_parse_time(v, ns)) {
		*ret = pr_http_resp_error(r, 400,
					  "%s: \"%.64s\" is not a time (RFC 3339 such as "
					  "2024-05-01T12:00:00Z, or epoch nanoseconds)",
					  name, v);
		return -1;
	}
	return 0;
}

int pr_http_arg_u64(struct pr_http_req *r, const char *name, uint64_t *out, bool *given,
		    enum MHD_Result *ret)
{
	const char *v = pr_http_arg(r, name);
	char *end;

	if (given)
		*given = false;
	if (!v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || v[0] == ' ') {
		*ret = pr_http_resp_error(r, 400, "%s: \"%.64s\" is not a whole number", name, v);
		return -1;
	}
	if (given)
		*given = true;
	return 0;
}

/* ---- GET /api/v1/sessions, /api/v1/sessions/{id} ---- */

static int session_cb(void *ctx, const struct pr_session_info *s)
{
	pr_cli_session_json(ctx, s);
	return 0;
}

enum MHD_Result pr_http_api_sessions(struct pr_http_req *r)
{
	struct pr_query_err qe;
	enum MHD_Result ret = MHD_NO;
	struct pr_store *st;
	struct memdoc d;
	int err;

	if (!(st = pr_http_store_get(r, &ret)))
		return ret;
	if (memdoc_open(&d)) {
		pr_store_pool_put(r->srv->cfg.pool, st);
		return MHD_NO;
	}
	pr_json_arr_begin(&d.j);
	err = pr_query_sessions(st, session_cb, &d.j, &qe);
	pr_json_arr_end(&d.j);
	pr_store_pool_put(r->srv->cfg.pool, st);
	if (err < 0) {
		memdoc_drop(&d);
		return pr_http_resp_error(r, pr_http_query_status(err), "list sessions: %s",
					  qe.msg);
	}
	return memdoc_send(r, &d, 200);
}

enum MHD_Result pr_http_api_session(struct pr_http_req *r)
{
	struct pr_session_info si;
	struct pr_query_err qe;
	enum MHD_Result ret = MHD_NO;
	struct pr_store *st;
	struct memdoc d;
	int err;

	if (!(st = pr_http_store_get(r, &ret)))
		return ret;
	err = pr_query_session_get(st, r->id, &si, &qe);
	pr_store_pool_put(r->srv->cfg.pool, st);
	if (err)
		return pr_http_resp_error(r, pr_http_query_status(err), "%s", qe.msg);
	if (memdoc_open(&d))
		return MHD_NO;
	pr_cli_session_json(&d.j, &si);
	return memdoc_send(r, &d, 200);
}

/* ---- GET /api/v1/sessions/{id}/flows ---- */

/* Flows formatted per piece: enough for one send, never the whole list. */
#define FLOWS_PIECE_BYTES (64 * 1024)
/*
 * With ?where=, a piece ends after this many flows that did not match, as
 * a newline (whitespace between JSON values): a filter that matches few
 * flows of a large session still sends bytes as it scans, so a client
 * that left is seen at the next write and the scan stops there, and a
 * shutdown waits for one step, not for the whole session.
 */
#define FLOWS_SCAN_STEP 512

struct flows_dl {
	struct pr_http_server *srv;
	struct pr_store *st;
	struct pr_query_flows *q;
	struct pr_l7view *l7; /* each flow's L7 keys, as `flows --json` gives them */
	struct pr_flowwhere *where; /* ?where=, as flows --where */
	uint64_t limit, matched; /* with where: the limit counts matching flows */
	uint64_t unmatched; /* flows that did not match since the last one sent */
	int64_t session;
	struct pr_json j; /* its FILE is a new memory stream for each piece */
	char *buf;
	size_t len, off;
	bool begun, done, failed;
};

/* The next piece of the JSON array into dl->buf. 0, or -1 when the store failed. */
static int flows_fill(struct flows_dl *dl)
{
	struct pr_query_err qe;
	size_t n = 0;
	FILE *f;
	int rc = 1;

	free(dl->buf);
	dl->buf = NULL;
	dl->len = dl->off = 0;
	f = open_memstream(&dl->buf, &n);
	if (!f)
		return -1;
	dl->j.f = f;
	if (!dl->begun) {
		dl->begun = true;
		pr_json_arr_begin(&dl->j);
	}
	while (ftell(f) < FLOWS_PIECE_BYTES) {
		struct pr_store_flow fl;

		if (dl->where && dl->unmatched >= FLOWS_SCAN_STEP) {
			dl->unmatched = 0;
			fputc('\n', f);
			break;
		}

		if (dl->where && dl->limit && dl->matched >= dl->limit) {
			rc = 0;
			break;
		}
		rc = pr_query_flows_next(dl->q, &fl, &qe);
		if (rc <= 0)
			break;
		if (pr_l7view_load(dl->l7, dl->st, dl->session, fl.flow_id) < 0) {
			snprintf(qe.msg, sizeof(qe.msg), "L7 metadata of flow %" PRIu64 ": %s",
				 fl.flow_id, pr_store_errmsg(dl->st));
			rc = -1;
			break;
		}
		if (dl->where) {
			int m = pr_flowjson_match(dl->where, &fl, dl->l7);

			if (m < 0) {
				snprintf(qe.msg, sizeof(qe.msg), "where: %s", strerror(-m));
				rc = -1;
				break;
			}
			if (!m) {
				dl->unmatched++;
				continue;
			}
			dl->unmatched = 0;
			dl->matched++;
		}
		pr_flowjson_write(&dl->j, &fl, dl->l7);
	}
	if (rc < 0)
		PR_WARN("flows stream cut: %s", qe.msg);
	if (rc == 0) {
		pr_json_arr_end(&dl->j);
		pr_json_end(&dl->j);
		dl->done = true;
	}
	if (fclose(f) || rc < 0) {
		dl->failed = true;
		return -1;
	}
	dl->len = n;
	return 0;
}

static ssize_t flows_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct flows_dl *dl = cls;
	size_t n;

	(void)pos;
	while (dl->off == dl->len) {
		if (dl->failed)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (dl->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (flows_fill(dl))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = dl->len - dl->off < max ? dl->len - dl->off : max;
	memcpy(out, dl->buf + dl->off, n);
	dl->off += n;
	return (ssize_t)n;
}

static void flows_free(void *cls)
{
	struct flows_dl *dl = cls;

	pr_query_flows_close(dl->q);
	pr_flowwhere_destroy(dl->where);
	pr_l7view_destroy(dl->l7);
	pr_store_pool_put(dl->srv->cfg.pool, dl->st);
	free(dl->buf);
	free(dl);
}

enum MHD_Result pr_http_api_flows(struct pr_http_req *r)
{
	struct pr_query_flows_req req = { .session = r->id };
	const char *where = pr_http_arg(r, "where");
	struct MHD_Response *resp;
	struct pr_query_err qe;
	enum MHD_Result ret = MHD_NO;
	struct flows_dl *dl;
	char werr[256];
	int err;

	if (pr_http_arg_time(r, "from", &req.from_ns, &ret) ||
	    pr_http_arg_time(r, "to", &req.to_ns, &ret) ||
	    pr_http_arg_u64(r, "flow", &req.flow_id, &req.has_flow, &ret) ||
	    pr_http_arg_u64(r, "limit", &req.limit, NULL, &ret))
		return ret;
	dl = calloc(1, sizeof(*dl));
	if (!dl)
		return MHD_NO;
	dl->srv = r->srv;
	dl->session = r->id;
	if (where) {
		err = pr_flowwhere_compile(where, &dl->where, werr, sizeof(werr));
		if (err) {
			free(dl);
			if (err != -EINVAL)
				return MHD_NO;
			return pr_http_resp_error(r, 400, "where: %s", werr);
		}
		/* The limit counts matching flows, so the query itself is unlimited. */
		dl->limit = req.limit;
		req.limit = 0;
	}
	if (pr_l7view_create(&dl->l7)) {
		pr_flowwhere_destroy(dl->where);
		free(dl);
		return MHD_NO;
	}
	if (!(dl->st = pr_http_store_get(r, &ret))) {
		pr_flowwhere_destroy(dl->where);
		pr_l7view_destroy(dl->l7);
		free(dl);
		return ret;
	}
	/* What the client can get wrong (the session, the range) is an error before the stream. */
	err = pr_query_flows_open(dl->st, &req, &dl->q, &qe);
	if (err) {
		pr_store_pool_put(r->srv->cfg.pool, dl->st);
		pr_flowwhere_destroy(dl->where);
		pr_l7view_destroy(dl->l7);
		free(dl);
		return pr_http_resp_error(r, pr_http_query_status(err), "%s", qe.msg);
	}
	pr_json_init(&dl->j, NULL);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, FLOWS_PIECE_BYTES, flows_read,
						 dl, flows_free);
	if (!resp) {
		flows_free(dl);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return pr_http_resp_queue(r, 200, resp);
}

/* ---- GET /api/v1/stats ---- */

static void kv_u64_or_null(struct pr_json *j, const char *k, bool have, uint64_t v)
{
	pr_json_key(j, k);
	if (have)
		pr_json_u64(j, v);
	else
		pr_json_null(j);
}

/* The sum of a family's shown series (a counter's count over its labels). */
static double family_sum(struct pr_metric_series *const *s, size_t n)
{
	double t = 0;

	for (size_t i = 0; i < n; i++)
		t += pr_metric_series_value(s[i], NULL);
	return t;
}

enum MHD_Result pr_http_api_stats(struct pr_http_req *r)
{
	struct pr_http_server *srv = r->srv;
	struct pr_sensor_metrics *sm = srv->cfg.sm;
	enum MHD_Result ret = MHD_NO;
	struct pr_store_info in;
	struct pr_store *st = NULL;
	struct memdoc d;
	int err = 0;

	if (srv->cfg.pool) {
		if (!(st = pr_http_store_get(r, &ret)))
			return ret;
		err = pr_store_get_info(st, 0, &in);
		if (err) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", pr_store_errmsg(st));
			pr_store_pool_put(srv->cfg.pool, st);
			return pr_http_resp_error(r, 500, "store info: %s", msg);
		}
		pr_store_pool_put(srv->cfg.pool, st);
	}
	if (memdoc_open(&d))
		return MHD_NO;
	pr_json_obj_begin(&d.j);
	pr_json_kv_str(&d.j, "version", PR_VERSION);
	pr_json_kv_double(&d.j, "uptime_s", (double)(pr_http_mono_ns() - srv->start_mono_ns) / 1e9);
	pr_json_key(&d.j, "store");
	if (srv->cfg.pool) {
		/* The keys of `packetrecorder store-info --json`. */
		pr_json_obj_begin(&d.j);
		pr_json_kv_str(&d.j, "mode", pr_store_mode_name(in.mode));
		pr_json_kv_bool(&d.j, "encrypted", in.encrypted);
		pr_json_kv_u64(&d.j, "size_bytes", in.size_bytes);
		pr_json_kv_u64(&d.j, "db_bytes", in.db_bytes);
		pr_json_kv_u64(&d.j, "wal_bytes", in.wal_bytes);
		pr_json_kv_u64(&d.j, "segment_bytes", in.segment_bytes);
		pr_json_kv_u64(&d.j, "sessions", in.sessions);
		pr_json_kv_u64(&d.j, "pinned_sessions", in.pinned_sessions);
		pr_json_kv_u64(&d.j, "running_sessions", in.running_sessions);
		pr_json_kv_u64(&d.j, "packets", in.packets);
		pr_json_kv_u64(&d.j, "expired_packets", in.expired_packets);
		pr_json_kv_u64(&d.j, "oldest_packet_ts", in.oldest_ts_ns);
		pr_json_kv_u64(&d.j, "newest_packet_ts", in.newest_ts_ns);
		kv_u64_or_null(&d.j, "retention_days", in.retention_days, in.retention_days);
		kv_u64_or_null(&d.j, "retention_bytes", in.retention_bytes, in.retention_bytes);
		kv_u64_or_null(&d.j, "fs_free_bytes", in.have_fs, in.fs_free_bytes);
		pr_json_key(&d.j, "days_left");
		if (in.have_days_left)
			pr_json_double(&d.j, in.days_left);
		else
			pr_json_null(&d.j);
		pr_json_obj_end(&d.j);
	} else {
		pr_json_null(&d.j);
	}
	pr_json_key(&d.j, "capture");
	if (sm) {
		double drops = 0;

		for (int i = 0; i < PR_DROP_REASON_MAX; i++)
			drops += pr_metric_series_value(sm->drops[i], NULL);
		pr_json_obj_begin(&d.j);
		pr_json_kv_u64(&d.j, "packets", (uint64_t)family_sum(sm->packets, PR_SM_PROTO_MAX));
		pr_json_kv_u64(&d.j, "bytes", (uint64_t)family_sum(sm->bytes, PR_SM_PROTO_MAX));
		pr_json_kv_u64(&d.j, "drops", (uint64_t)drops);
		pr_json_kv_u64(&d.j, "active_sessions",
			       (uint64_t)pr_metric_series_value(sm->active_sessions, NULL));
		pr_json_kv_u64(&d.j, "captures_started",
			       (uint64_t)pr_metric_series_value(sm->captures_started, NULL));
		pr_json_obj_end(&d.j);
	} else {
		pr_json_null(&d.j);
	}
	pr_json_key(&d.j, "events");
	if (srv->cfg.events) {
		struct pr_events_stats es;
		uint64_t pub = 0;

		pr_events_get_stats(srv->cfg.events, &es);
		for (int i = 0; i < PR_EVENT_TYPE_MAX; i++)
			pub += es.published[i];
		pr_json_obj_begin(&d.j);
		pr_json_kv_u64(&d.j, "first_seq", es.first_seq);
		pr_json_kv_u64(&d.j, "last_seq", es.last_seq);
		pr_json_kv_u64(&d.j, "published", pub);
		pr_json_kv_u64(&d.j, "lost", es.lost);
		pr_json_kv_u64(&d.j, "subscribers", es.subscribers);
		pr_json_obj_end(&d.j);
	} else {
		pr_json_null(&d.j);
	}
	pr_json_obj_end(&d.j);
	return memdoc_send(r, &d, 200);
}

/* ---- GET /api/v1/interfaces ---- */

static int iface_cb(void *ctx, const struct pr_query_iface *iface)
{
	pr_cli_iface_json(ctx, iface);
	return 0;
}

enum MHD_Result pr_http_api_interfaces(struct pr_http_req *r)
{
	struct pr_query_err qe;
	struct memdoc d;
	int err;

	if (memdoc_open(&d))
		return MHD_NO;
	pr_json_arr_begin(&d.j);
	err = pr_query_ifaces(iface_cb, &d.j, &qe);
	if (err) {
		memdoc_drop(&d);
		return pr_http_resp_error(r, 500, "%s", qe.msg);
	}
	pr_json_arr_end(&d.j);
	return memdoc_send(r, &d, 200);
}

/* ---- POST /api/v1/captures, DELETE /api/v1/captures/{id} ---- */

/* The status of a capture-control error. */
static unsigned capture_status(int err)
{
	switch (err) {
	case -EINVAL:
	case -ENODEV:
		return 400;
	case -ENOENT:
	case -ESRCH:
		return 404;
	case -EBUSY:
	case -EEXIST:
	case -EALREADY:
		return 409;
	case -EPERM:
	case -EACCES:
		return 403;
	case -ENOSPC:
	case -EAGAIN:
	case -EMFILE:
		return 503;
	case -EOPNOTSUPP:
	case -ENOSYS:
		return 501;
	default:
		return 500;
	}
}

static struct json_object *capture_info_json(const struct pr_http_capture_info *ci)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "capture_id", json_object_new_int64(ci->capture_id));
	json_object_object_add(o, "session_id", json_object_new_int64(ci->session_id));
	json_object_object_add(o, "interface", json_object_new_string(ci->interface));
	json_object_object_add(o, "state", json_object_new_string(ci->state));
	json_object_object_add(o, "started_ts", json_object_new_uint64(ci->started_ns));
	json_object_object_add(o, "packets", json_object_new_uint64(ci->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(ci->bytes));
	json_object_object_add(o, "drops", json_object_new_uint64(ci->drops));
	json_object_object_add(o, "end_reason", json_object_new_string(ci->end_reason));
	json_object_object_add(o, "message", json_object_new_string(ci->message));
	return o;
}

/*
 * A JSON body as a capture request. Unknown keys and wrong types are
 * refused with a message naming the key, so a typo ("filer") never
 * silently captures everything. 0, or a message in msg.
 */
int pr_http_capture_req_parse(struct json_object *body, struct pr_http_capture_req *req, char *msg,
			      size_t len)
{
	struct json_object_iterator it, end;

	memset(req, 0, sizeof(*req));
	if (!json_object_is_type(body, json_type_object)) {
		snprintf(msg, len, "the body must be a JSON object");
		return -EINVAL;
	}
	it = json_object_iter_begin(body);
	end = json_object_iter_end(body);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		const char **str = NULL;
		uint64_t *num = NULL;

		if (!strcmp(k, "interface"))
			str = &req->interface;
		else if (!strcmp(k, "filter"))
			str = &req->filter;
		else if (!strcmp(k, "name"))
			str = &req->name;
		else if (!strcmp(k, "backend"))
			str = &req->backend;
		else if (!strcmp(k, "max_packets"))
			num = &req->max_packets;
		else if (!strcmp(k, "duration_s"))
			num = &req->duration_s;
		if (str) {
			if (!json_object_is_type(v, json_type_string)) {
				snprintf(msg, len, "%s: a string is expected", k);
				return -EINVAL;
			}
			*str = json_object_get_string(v);
			if (strlen(*str) != (size_t)json_object_get_string_len(v)) {
				snprintf(msg, len, "%s: a NUL character is not allowed", k);
				return -EINVAL;
			}
		} else if (num || !strcmp(k, "snaplen")) {
			int64_t n;

			if (!json_object_is_type(v, json_type_int) ||
			    (n = json_object_get_int64(v)) < 0 ||
			    (errno = 0, json_object_get_uint64(v) != (uint64_t)n)) {
				snprintf(msg, len, "%s: a whole number of at least 0 is expected",
					 k);
				return -EINVAL;
			}
			if (num) {
				*num = (uint64_t)n;
			} else if (n > 262144) {
				snprintf(msg, len, "snaplen: at most 262144");
				return -EINVAL;
			} else {
				req->snaplen = (uint32_t)n;
			}
		} else {
			snprintf(msg, len,
				 "unknown key \"%.64s\" (interface, filter, name, backend, "
				 "max_packets, duration_s, snaplen)",
				 k);
			return -EINVAL;
		}
	}
	if (!req->interface || !*req->interface) {
		snprintf(msg, len, "interface: required");
		return -EINVAL;
	}
	return 0;
}

/*
 * The body as one JSON value: strict, UTF-8 checked, nothing after it.
 * NULL with a message (the parser's, with where it stopped).
 */
struct json_object *pr_http_body_parse(const char *body, size_t len, char *msg, size_t msg_len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	size_t end;

	if (!tok) {
		snprintf(msg, msg_len, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body ? body : "", (int)len);
	if (!obj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(msg, msg_len, "the body is not JSON: %s at byte %zu",
			 e == json_tokener_continue ? "it ends too early" :
						      json_tokener_error_desc(e),
			 json_tokener_get_parse_end(tok));
		json_tokener_free(tok);
		return NULL;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!strchr(" \t\r\n", body[end])) {
			snprintf(msg, msg_len, "the body is not JSON: extra text at byte %zu", end);
			json_object_put(obj);
			obj = NULL;
			break;
		}
	json_tokener_free(tok);
	return obj;
}

enum MHD_Result pr_http_api_capture_start(struct pr_http_req *r)
{
	const struct pr_http_capture_ops *ops = r->srv->cfg.captures;
	const char *ctype = pr_http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	struct pr_http_capture_info ci = { 0 };
	struct pr_http_capture_req req;
	struct json_object *body, *o;
	char msg[1024] = "";
	enum MHD_Result ret;
	int err;

	/* The request is checked first: a client learns what is wrong with it either way. */
	if (ctype && strncasecmp(ctype, "application/json", 16))
		return pr_http_resp_error(r, 415, "the body must be application/json, not %.64s",
					  ctype);
	body = pr_http_body_parse(r->body, r->body_len, msg, sizeof(msg));
	if (!body)
		return pr_http_resp_error(r, 400, "%s", msg);
	if (pr_http_capture_req_parse(body, &req, msg, sizeof(msg))) {
		json_object_put(body);
		return pr_http_resp_error(r, 400, "%s", msg);
	}
	if (!ops || !ops->start) {
		json_object_put(body);
		return pr_http_resp_error(r, 501,
					  "capture control is not available on this server");
	}
	err = ops->start(ops->ctx, &req, &ci, msg, sizeof(msg));
	json_object_put(body);
	if (err)
		return pr_http_resp_error(r, capture_status(err), "start capture: %s",
					  msg[0] ? msg : strerror(-err));
	o = capture_info_json(&ci);
	if (!o)
		return MHD_NO;
	ret = pr_http_resp_json(r, 201, o);
	return ret;
}

enum MHD_Result pr_http_api_capture_stop(struct pr_http_req *r)
{
	const struct pr_http_capture_ops *ops = r->srv->cfg.captures;
	struct pr_http_capture_info ci = { 0 };
	struct json_object *o;
	char msg[1024] = "";
	int err;

	if (!ops || !ops->stop)
		return pr_http_resp_error(r, 501,
					  "capture control is not available on this server");
	err = ops->stop(ops->ctx, r->id, &ci, msg, sizeof(msg));
	if (err)
		return pr_http_resp_error(r, capture_status(err), "stop capture %" PRId64 ": %s",
					  r->id, msg[0] ? msg : strerror(-err));
	o = capture_info_json(&ci);
	return o ? pr_http_resp_json(r, 200, o) : MHD_NO;
}
