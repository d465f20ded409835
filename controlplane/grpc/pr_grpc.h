/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gRPC server of `packetrecorder serve` on the gRPC C core (every
 * grpc_* call of the project is in controlplane/grpc/). It serves
 * packetrecorder.v1.PacketRecorder (proto/packetrecorder.proto, protobuf-c
 * messages) and grpc.health.v1.Health, answers every other method with
 * UNIMPLEMENTED, and reads the store through the query engine and a pool
 * of store connections (controlplane/query/).
 *
 * Threads: `threads` workers, each with its own completion queue; a call
 * lives and is answered entirely on the worker whose queue it arrived on,
 * so call state takes no locks. A server stream has at most one message in
 * flight: the next is read from the store only when the transport has
 * taken the previous one, so a slow client holds one message of memory
 * and a store connection, never a growing queue. Deadlines and
 * cancellation end a stream at its next step; a client that vanishes is
 * found by the transport (connection reset, or keepalive pings) and its
 * calls are freed the same way. Streams are limited daemon-wide
 * (RESOURCE_EXHAUSTED past max_streams).
 *
 * Every call needs an API key when an auth is given (x-api-key or
 * authorization: Bearer; UNAUTHENTICATED otherwise, counted), except
 * grpc.health.v1 when health_open says so.
 *
 * pr_grpc_server_shutdown() stops accepting calls, ends open streams with
 * UNAVAILABLE at their next step, waits up to the grace time, then
 * cancels what is left; the workers are joined before it returns.
 * Create, shutdown and destroy from one thread (the daemon's main thread).
 */
#ifndef PR_GRPC_H
#define PR_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pr_auth;
struct pr_store_pool;
struct pr_capctl_req;
struct pr_capctl_info;
struct pr_events;
struct pr_tap;
struct pr_tap_opts;
struct pr_tap_pkt;
struct pr_replayctl_req;
struct pr_replayctl_info;

/*
 * Told of every answered call (on a worker thread): the full method name
 * ("/packetrecorder.v1.PacketRecorder/ListSessions"; "unknown" for a
 * method not served, whose name the client chose and so is not passed
 * on), the status code's name ("OK", "NOT_FOUND", ...) and the seconds
 * it took.
 */
typedef void (*pr_grpc_call_fn)(void *ctx, const char *method, const char *code, double seconds);
/* Told of every refused key (on a worker thread): missing, or given and wrong. */
typedef void (*pr_grpc_auth_fail_fn)(void *ctx, bool missing);

/*
 * Capture control, provided by the daemon (controlplane/capctl, whose
 * calls and errnos these are: pr_capctl.h). Called on worker threads,
 * concurrently; stop blocks until the capture has flushed.
 */
struct pr_grpc_capture_ops {
	int (*start)(void *ctx, const struct pr_capctl_req *req, struct pr_capctl_info *out,
		     char *msg, size_t msg_len);
	int (*stop)(void *ctx, int64_t capture_id, struct pr_capctl_info *out, char *msg,
		    size_t msg_len);
	int (*get)(void *ctx, int64_t capture_id, struct pr_capctl_info *out);
	int (*list)(void *ctx, struct pr_capctl_info **out, size_t *n); /* *out: free() it */
	/*
	 * The live tap (pr_tap.h, pr_capctl_tap_open()); NULL: LiveTap is
	 * UNIMPLEMENTED. next and close are per tap, on the tap's worker.
	 */
	int (*tap_open)(void *ctx, int64_t capture_id, const struct pr_tap_opts *o,
			struct pr_tap **out, int64_t *chosen, char *msg, size_t msg_len);
	int (*tap_next)(struct pr_tap *t, struct pr_tap_pkt *out);
	void (*tap_close)(struct pr_tap *t);
	void *ctx;
};

/*
 * Replay control, provided by the daemon (controlplane/replay, whose calls
 * and errnos these are: pr_replayctl.h). Called on worker threads,
 * concurrently; start blocks until the replay sends, stop until its
 * dataplane has ended.
 */
struct pr_grpc_replay_ops {
	int (*start)(void *ctx, const struct pr_replayctl_req *req, struct pr_replayctl_info *out,
		     char *msg, size_t msg_len);
	int (*stop)(void *ctx, int64_t replay_id, struct pr_replayctl_info *out, char *msg,
		    size_t msg_len);
	/* Replays still reading session_id (DeleteSession refuses meanwhile); may be NULL. */
	unsigned (*session_users)(void *ctx, int64_t session_id);
	void *ctx;
};

struct pr_grpc_server_cfg {
	/* "HOST:PORT", "[V6]:PORT", ":PORT" (every address); port 0 picks a free one. */
	const char *addr;
	/* TLS: PEM files; both cert and key, or neither (plaintext). */
	const char *tls_cert_file;
	const char *tls_key_file;
	/* Require client certificates signed by these CAs (mTLS); NULL: none asked for. */
	const char *tls_client_ca_file;

	struct pr_auth *auth; /* NULL: no key is asked for (serve decides if that is allowed) */
	bool health_open; /* grpc.health.v1 without a key (load balancer probes) */
	struct pr_store_pool *pool; /* the store */
	/* Capture control (borrowed; outlives the server); NULL: those calls are UNIMPLEMENTED. */
	const struct pr_grpc_capture_ops *captures;
	/* Replay control (borrowed; outlives the server); NULL: those calls are UNIMPLEMENTED. */
	const struct pr_grpc_replay_ops *replays;
	/* The event bus (borrowed; outlives the server); NULL: StreamEvents is UNIMPLEMENTED. */
	struct pr_events *events;

	unsigned threads; /* workers; 0: 2 */
	unsigned max_streams; /* server streams open at once, daemon-wide; 0: 64 */
	uint32_t max_recv_bytes; /* largest request message; 0: 64 KiB */
	uint32_t chunk_bytes; /* DownloadPcap chunk size when the request says none; 0: 256 KiB */
	uint32_t keepalive_s; /* ping an idle connection after this long; 0: 60 */

	pr_grpc_call_fn on_call; /* may be NULL */
	pr_grpc_auth_fail_fn on_auth_failure; /* may be NULL */
	void *on_call_ctx; /* for both */
};

struct pr_grpc_server;

/*
 * Listen and start the workers. Returns 0, or a negative errno with a
 * sentence in err: -EINVAL (a bad address, limit or TLS file content),
 * -EADDRINUSE, -EACCES, -EADDRNOTAVAIL (the address), -ENOENT (a TLS
 * file), -EIO (the gRPC core refused). Main thread.
 */
int pr_grpc_server_create(const struct pr_grpc_server_cfg *cfg, struct pr_grpc_server **out,
			  char *err, size_t errlen);
/* The port it listens on (the one picked for port 0). */
uint16_t pr_grpc_server_port(const struct pr_grpc_server *srv);

struct pr_grpc_server_stats {
	uint64_t calls; /* answered */
	uint64_t calls_failed; /* answered with a status other than OK */
	uint64_t auth_failures;
	uint64_t bytes_sent; /* message bytes */
	uint32_t streams_active;
	uint32_t streams_max;
	uint32_t calls_active;
};

/* Any thread. */
void pr_grpc_server_get_stats(struct pr_grpc_server *srv, struct pr_grpc_server_stats *out);

/*
 * Read the TLS files again (certificate rotation on SIGHUP): new
 * connections get the new certificate, open ones keep theirs. 0, or a
 * negative errno with err (the old files stay in use). A plaintext server:
 * 0. Main thread.
 */
int pr_grpc_server_reload_tls(struct pr_grpc_server *srv, char *err, size_t errlen);

/*
 * Stop: no new calls; open streams end with UNAVAILABLE; after grace_ms
 * the calls left are cancelled. Returns when every call is freed and
 * every worker joined. Main thread; once.
 */
void pr_grpc_server_shutdown(struct pr_grpc_server *srv, unsigned grace_ms);
/* Shuts down first if that was not done (grace 0). NULL is a no-op. */
void pr_grpc_server_destroy(struct pr_grpc_server *srv);

#endif /* PR_GRPC_H */
