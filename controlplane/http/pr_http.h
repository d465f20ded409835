/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP front end on libmicrohttpd: /health, /metrics (Prometheus),
 * the JSON API under /api/v1 (stats, interfaces, sessions, flows, pcap
 * downloads, capture control) and /api/v1/events (Server-Sent Events
 * from the event bus, resumable with Last-Event-ID). docs/http-api.md
 * and docs/openapi.yaml describe what it answers.
 *
 * Every MHD_* call of the project is in controlplane/http/. The server
 * runs libmicrohttpd's listening thread and one thread per connection
 * (long downloads and event streams block only their own thread), under
 * a limit on connections in all and per client address, an inactivity
 * timeout (slowloris, half-open connections), a cap on request bodies
 * and headers, and a per-API-key rate limit. Errors are JSON objects
 * with the status code and a message. Requests are counted in the
 * metrics registry by method, route and code; auth failures too.
 *
 * The server reads the store through the daemon's pool of read-only
 * connections (controlplane/query/pr_store_pool.h), one per request or
 * download, and answers through the query engine. Capture control is not
 * its business: it calls the pr_http_capture_ops that the daemon gives
 * it, and answers 501 without them.
 *
 * Create and destroy from one thread (the daemon's main thread); the
 * callbacks it is given run on connection threads, several at once.
 * A client that goes away raises no SIGPIPE: libmicrohttpd sends with
 * MSG_NOSIGNAL, and streamed responses are pulled by its own threads.
 */
#ifndef PR_HTTP_H
#define PR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pr_metrics;
struct pr_sensor_metrics;
struct pr_events;
struct pr_store_pool;

/*
 * Check an API key (the bytes of an x-api-key header or of
 * "Authorization: Bearer KEY"). Returns 0 when it is valid, non-zero
 * otherwise. Called on connection threads, concurrently; must compare in
 * constant time (controlplane/auth does).
 */
typedef int (*pr_http_auth_fn)(void *ctx, const char *key, size_t len);

/* What POST /api/v1/captures asks for (strings borrowed for the call). */
struct pr_http_capture_req {
	const char *interface; /* required */
	const char *filter; /* BPF, tcpdump syntax; NULL: everything */
	const char *name; /* session name; NULL: the interface */
	const char *backend; /* "pcap", "afxdp", "dpdk"; NULL: the daemon's default */
	uint64_t max_packets; /* stop after this many stored packets; 0: no limit */
	uint64_t duration_s; /* stop after this many seconds; 0: no limit */
	uint32_t snaplen; /* 0: the default */
};

/* A capture as capture control reports it. */
struct pr_http_capture_info {
	int64_t capture_id; /* what DELETE /api/v1/captures/{id} takes */
	int64_t session_id; /* the store session it writes, 0: none yet */
	char interface[256];
	char state[16]; /* "starting", "running", "stopping", "stopped", "failed" */
	uint64_t started_ns; /* wall clock */
	uint64_t packets; /* stored so far */
	uint64_t bytes; /* their wire bytes */
	uint64_t drops;
	char end_reason[16]; /* how it ended, "" while running */
	char message[512]; /* why it failed, or how it ended */
};

/*
 * Capture control, provided by the daemon. Each call returns 0, or a
 * negative errno with a sentence in msg: -EINVAL (a bad request: the
 * message names the field), -ENOENT/-ENODEV (no such capture/interface),
 * -EBUSY or -EEXIST (conflict), -EPERM/-EACCES, -ENOSPC/-EAGAIN (no room
 * for another capture), others (failed). Called on connection threads,
 * concurrently. A capture started this way outlives the request.
 */
struct pr_http_capture_ops {
	int (*start)(void *ctx, const struct pr_http_capture_req *req,
		     struct pr_http_capture_info *out, char *msg, size_t msg_len);
	int (*stop)(void *ctx, int64_t capture_id, struct pr_http_capture_info *out, char *msg,
		    size_t msg_len);
	void *ctx;
};

struct pr_http_cfg {
	/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address); port 0 picks a free one. */
	const char *addr;

	/* TLS: PEM files. With both cert and key the server speaks HTTPS only. */
	const char *tls_cert_file;
	const char *tls_key_file;
	/* Require a client certificate signed by these CAs (PEM); NULL: none asked. */
	const char *tls_client_ca_file;

	/* API keys: NULL serves everyone (the daemon decides whether that is allowed). */
	pr_http_auth_fn auth;
	void *auth_ctx;
	bool open_health; /* /health without a key */
	bool open_metrics; /* /metrics without a key */

	/* Limits; 0 takes the default in brackets. */
	uint32_t max_connections; /* [64] connections at once */
	uint32_t max_connections_per_ip; /* [32] from one client address */
	uint32_t connection_timeout_s; /* [30] idle seconds before a connection is closed */
	uint32_t max_body_bytes; /* [65536] request body */
	uint32_t max_header_bytes; /* [16384] request line and headers */
	double rate_limit_per_s; /* requests per second per API key (client address without auth); 0: none */
	uint32_t rate_limit_burst; /* [2 * rate, at least 1] */
	uint32_t sse_heartbeat_ms; /* [15000, at most half the timeout] comment lines on idle streams */

	/* What it serves. metrics and sm may be NULL (then /metrics is 404, nothing is counted). */
	struct pr_metrics *metrics;
	struct pr_sensor_metrics *sm;
	struct pr_events *events; /* NULL: /api/v1/events is 503 */
	struct pr_store_pool *pool; /* the store (borrowed); NULL: the store endpoints are 503 */
	const struct pr_http_capture_ops *captures; /* NULL: capture control is 501 */
};

struct pr_http_server;

/*
 * Listen and serve. Returns 0, or a negative errno with a sentence in
 * err: -EINVAL (a bad address or limit), -EADDRINUSE, -ENOENT/-EACCES
 * (a TLS file), -EBADMSG (a TLS file that is not PEM of the right kind),
 * -EIO (libmicrohttpd would not start). Main thread.
 */
int pr_http_server_create(const struct pr_http_cfg *cfg, struct pr_http_server **out, char *err,
			  size_t err_len);
/* The port it listens on (the one picked for port 0). */
uint16_t pr_http_server_port(const struct pr_http_server *srv);
/*
 * Stop: no new connections; event streams end (the client may resume
 * with Last-Event-ID), downloads are cut, every connection thread is
 * joined. Main thread. NULL is a no-op.
 */
void pr_http_server_destroy(struct pr_http_server *srv);

#endif /* PR_HTTP_H */
