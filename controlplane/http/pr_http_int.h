/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to controlplane/http: the server object, the per-request
 * state and the response helpers every handler uses. pr_http_server.c
 * holds the daemon, the request life cycle and routing; pr_http_admit.c
 * client certificates, API keys and the rate limit; pr_http_resp.c the
 * responses; pr_http_api.c the /api/v1 handlers; pr_http_pcap.c the downloads;
 * pr_http_sse.c the event stream. No other module includes this header
 * (but the fuzz target of the request decoding).
 */
#ifndef PR_HTTP_INT_H
#define PR_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <microhttpd.h>

#include "pr_http.h"
#include "pr_store.h"
#include "pr_store_pool.h"

struct json_object;

/* ---- the server ---- */

/* A token bucket of the rate limit (pr_http_admit.c). */
struct pr_http_bucket {
	uint64_t id; /* digest of the key; 0: free */
	double tokens;
	uint64_t last_ns;
};

struct pr_http_server {
	struct MHD_Daemon *d;
	int listen_fd; /* until libmicrohttpd takes it (and closes it): -1 after */
	uint16_t port;
	/* the configuration, with defaults applied; strings below are our copies */
	struct pr_http_cfg cfg;
	char *tls_cert, *tls_key, *tls_ca; /* PEM text */
	bool mtls;
	uint64_t start_mono_ns;

	/* rate limiter: a token bucket per key digest */
	pthread_mutex_t rl_lock;
	struct pr_http_bucket *buckets;
	unsigned n_buckets;

	/* open event streams, ended on destroy */
	pthread_mutex_t lock;
	bool stopping;
	struct pr_http_sse *sse_list;
};

enum pr_http_route {
	PR_ROUTE_NONE = 0,
	PR_ROUTE_HEALTH,
	PR_ROUTE_METRICS,
	PR_ROUTE_STATS,
	PR_ROUTE_INTERFACES,
	PR_ROUTE_SESSIONS,
	PR_ROUTE_SESSION,
	PR_ROUTE_FLOWS,
	PR_ROUTE_PCAP,
	PR_ROUTE_CAPTURES,
	PR_ROUTE_CAPTURE,
	PR_ROUTE_EVENTS,
	PR_ROUTE_MAX,
};

/* One request: libmicrohttpd's per-request pointer (con_cls). */
struct pr_http_req {
	struct pr_http_server *srv;
	struct MHD_Connection *conn;
	uint64_t start_ns; /* monotonic */
	uint64_t resp_ns; /* monotonic, when the response was queued */
	enum pr_http_route route;
	const char *method; /* libmicrohttpd's string, valid for the request */
	int64_t id; /* {id} of the path */
	unsigned status; /* of the response queued, 0: none yet */
	bool checked; /* auth, limits and route done */
	bool body_too_big;
	char *body;
	size_t body_len;
};

/*
 * Which route url (the path, decoded, without the query) is. For a route
 * with an {id}: *id is the number, or -1 when the segment (*seg, *seg_len)
 * is not a number from 1 to INT64_MAX. PR_ROUTE_NONE for no route. Pure.
 */
enum pr_http_route pr_http_route_match(const char *url, int64_t *id, const char **seg,
				       size_t *seg_len);

/*
 * A request body as one JSON value: strict, UTF-8 checked, nothing but
 * white space after it. NULL with a message naming the problem and the
 * byte where the parser stopped. The caller puts the object. Pure.
 */
struct json_object *pr_http_body_parse(const char *body, size_t len, char *msg, size_t msg_len);
/*
 * The capture request in body (strings point into body's objects). 0, or
 * -EINVAL with a message naming the key that is unknown, of the wrong
 * type, or missing. Pure.
 */
int pr_http_capture_req_parse(struct json_object *body, struct pr_http_capture_req *req, char *msg,
			      size_t len);

/* The route template as counted in metrics ("/api/v1/sessions/{id}"). */
const char *pr_http_route_name(enum pr_http_route r);

/*
 * Responses. Each queues one on r's connection and returns what the
 * access handler returns. resp_json takes ownership of obj.
 */
enum MHD_Result pr_http_resp_json(struct pr_http_req *r, unsigned status, struct json_object *obj);
/* A JSON error: {"code": status, "error": reason phrase, "message": fmt...}. */
enum MHD_Result pr_http_resp_error(struct pr_http_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Takes ownership of buf (malloc'd). */
enum MHD_Result pr_http_resp_buf(struct pr_http_req *r, unsigned status, const char *ctype,
				 char *buf, size_t len);
/*
 * A header for the next response queued on this thread (Allow,
 * WWW-Authenticate, Retry-After); name NULL forgets one set before.
 */
void pr_http_set_header(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Client certificate, API key and rate limit of a request whose route is
 * known (/health and /metrics may be open). 0 to go on, or -1 with the
 * refusal (403, 401, 429) queued into *ret. pr_http_admit.c.
 */
int pr_http_admit(struct pr_http_req *r, enum MHD_Result *ret);
/* Queue resp (adding the headers every response gets) and destroy our reference. */
enum MHD_Result pr_http_resp_queue(struct pr_http_req *r, unsigned status,
				   struct MHD_Response *resp);

/*
 * A connection of the store pool for r, or NULL with an error queued into
 * *ret: 503 when the server has no store, or every connection stayed in
 * use for 2 s.
 * Give it back with pr_store_pool_put(r->srv->cfg.pool, st).
 */
struct pr_store *pr_http_store_get(struct pr_http_req *r, enum MHD_Result *ret);
/* The status of a negative errno of the query engine. */
unsigned pr_http_query_status(int err);

/*
 * Query arguments that are a time (RFC 3339 or epoch nanoseconds; absent:
 * 0) or a whole number (*given says whether it was there; given may be
 * NULL). 0, or -1 with a 400 naming the argument queued into *ret.
 */
int pr_http_arg_time(struct pr_http_req *r, const char *name, uint64_t *ns, enum MHD_Result *ret);
int pr_http_arg_u64(struct pr_http_req *r, const char *name, uint64_t *out, bool *given,
		    enum MHD_Result *ret);

/* A query argument, NULL when absent. */
const char *pr_http_arg(struct pr_http_req *r, const char *name);
/* A request header, NULL when absent. */
const char *pr_http_header(struct pr_http_req *r, const char *name);

/* The handlers (pr_http_api.c, pr_http_sse.c). */
enum MHD_Result pr_http_api_stats(struct pr_http_req *r);
enum MHD_Result pr_http_api_interfaces(struct pr_http_req *r);
enum MHD_Result pr_http_api_sessions(struct pr_http_req *r);
enum MHD_Result pr_http_api_session(struct pr_http_req *r);
enum MHD_Result pr_http_api_flows(struct pr_http_req *r);
enum MHD_Result pr_http_api_pcap(struct pr_http_req *r);
enum MHD_Result pr_http_api_capture_start(struct pr_http_req *r);
enum MHD_Result pr_http_api_capture_stop(struct pr_http_req *r);
enum MHD_Result pr_http_sse_events(struct pr_http_req *r);
/* End every open event stream (server shutdown). */
void pr_http_sse_stop_all(struct pr_http_server *srv);

/* Wall clock in ns; monotonic clock in ns. */
uint64_t pr_http_wall_ns(void);
uint64_t pr_http_mono_ns(void);

#endif /* PR_HTTP_INT_H */
