/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the gRPC server: the interface between the call machinery
 * (pr_grpc_server.c: completion queues, auth, flow control, shutdown) and
 * the methods (pr_grpc_methods.c: requests to query engine calls, answers
 * to protobuf-c messages). A method runs on the worker thread of its
 * call; a stream's state is its own until close.
 */
#ifndef PR_GRPC_INT_H
#define PR_GRPC_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "pr_grpc.h"

#define PR_GRPC_SERVICE "packetrecorder.v1.PacketRecorder"
#define PR_GRPC_HEALTH_SERVICE "grpc.health.v1.Health"

/* What a call ends with, when it is not OK. */
struct pr_grpc_status {
	grpc_status_code code;
	char msg[1024];
};

/* Set st and return -1: handlers end with `return pr_grpc_fail(st, CODE, "...")`. */
int pr_grpc_fail(struct pr_grpc_status *st, grpc_status_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The status for a negative errno of the query engine, with its message. */
int pr_grpc_fail_errno(struct pr_grpc_status *st, int err, const char *msg);

/*
 * The status for a negative errno of capture or replay control (pr_capctl.h,
 * pr_replayctl.h, pr_capctl_tap_open()), with its message: -EINVAL and
 * -ENODEV INVALID_ARGUMENT, -ENOENT NOT_FOUND, -ENOSPC and -ENOMEM
 * RESOURCE_EXHAUSTED, -ESHUTDOWN UNAVAILABLE, -EIO and -EPIPE (started and
 * failed, or already over) FAILED_PRECONDITION, anything else INTERNAL.
 */
int pr_grpc_capture_fail(struct pr_grpc_status *st, int err, const char *msg);

/* "OK", "NOT_FOUND", ... for a grpc_status_code; "UNKNOWN" past the known ones. */
const char *pr_grpc_code_name(int code);

/* A packed message, ready to send (a byte buffer of one slice). NULL: out of memory. */
grpc_byte_buffer *pr_grpc_pack(const ProtobufCMessage *m);

struct pr_grpc_method;

/* What a method sees of its call. */
struct pr_grpc_ctx {
	struct pr_grpc_server *srv;
	const struct pr_grpc_method *method;
	struct pr_store *st; /* a read-only store connection, when the method asked for one */
	void *state; /* a stream's own */
	/*
	 * The session a stream reads: a deletion of it is refused while the
	 * stream is open (set it with pr_grpc_session_hold()).
	 */
	int64_t held_session;
};

/*
 * Mark a session read by this call (released when the call ends): a
 * DeleteSession meanwhile answers FAILED_PRECONDITION. 0 or -ENOMEM.
 */
int pr_grpc_session_hold(struct pr_grpc_ctx *c, int64_t session);
/* How many calls hold the session now. */
unsigned pr_grpc_session_holders(struct pr_grpc_server *srv, int64_t session);

/* Server-wide things a method may read. */
struct pr_store_pool *pr_grpc_server_pool(struct pr_grpc_server *srv);
/* Capture control, NULL when the daemon gave none. */
const struct pr_grpc_capture_ops *pr_grpc_server_captures(struct pr_grpc_server *srv);
/* Replay control, NULL when the daemon gave none. */
const struct pr_grpc_replay_ops *pr_grpc_server_replays(struct pr_grpc_server *srv);
/* The event bus, NULL when the daemon gave none. */
struct pr_events *pr_grpc_server_events(struct pr_grpc_server *srv);
uint32_t pr_grpc_server_chunk_bytes(const struct pr_grpc_server *srv);
double pr_grpc_server_uptime_s(const struct pr_grpc_server *srv);
bool pr_grpc_server_stopping(const struct pr_grpc_server *srv);

enum pr_grpc_kind {
	PR_GRPC_UNARY,
	PR_GRPC_STREAM,
};

/* stream_next() returns: */
enum {
	PR_GRPC_NEXT_END = 0, /* no more messages: status OK */
	PR_GRPC_NEXT_MSG = 1, /* *msg is the next message */
	/*
	 * Nothing now: the call stays open until shutdown or cancel, and is
	 * stepped again every PR_GRPC_POLL_MS if its method has .poll.
	 */
	PR_GRPC_NEXT_PARK = 2,
	/*
	 * Nothing yet, but more to look at: a stream that scans (QueryFlows
	 * with a where that matches rarely) gives its worker back after a
	 * bounded batch, so that the worker's other calls, a cancel, a
	 * deadline and shutdown are seen; it is stepped again as soon as the
	 * worker has looked at its queue, without waiting.
	 */
	PR_GRPC_NEXT_AGAIN = 3,
};

/* How often a worker steps the parked calls of .poll methods again. */
#define PR_GRPC_POLL_MS 50

struct pr_grpc_method {
	const char *path; /* "/packetrecorder.v1.PacketRecorder/ListSessions" */
	const char *name; /* for metrics: "ListSessions" */
	enum pr_grpc_kind kind;
	const ProtobufCMessageDescriptor *req;
	bool store; /* lend the call a store connection */
	bool health; /* grpc.health.v1: open when the server's health_open says so */
	bool poll; /* a parked call is stepped again every PR_GRPC_POLL_MS (StreamEvents) */
	/* PR_GRPC_UNARY: 0 with *resp, or -1 with st. */
	int (*unary)(struct pr_grpc_ctx *c, const ProtobufCMessage *req, grpc_byte_buffer **resp,
		     struct pr_grpc_status *st);
	/* PR_GRPC_STREAM: open (0, or -1 with st), next (see above, -1 with st), close. */
	int (*open)(struct pr_grpc_ctx *c, const ProtobufCMessage *req, struct pr_grpc_status *st);
	int (*next)(struct pr_grpc_ctx *c, grpc_byte_buffer **msg, struct pr_grpc_status *st);
	void (*close)(struct pr_grpc_ctx *c);
	/*
	 * A parked stream's last message when the server shuts down (the
	 * health Watch says NOT_SERVING); NULL: none.
	 */
	grpc_byte_buffer *(*farewell)(struct pr_grpc_ctx *c);
};

/* StreamEvents (pr_grpc_events.c). */
int pr_grpc_events_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			struct pr_grpc_status *st);
int pr_grpc_events_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg, struct pr_grpc_status *st);
void pr_grpc_events_close(struct pr_grpc_ctx *c);

/* LiveTap (pr_grpc_tap.c). */
int pr_grpc_tap_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req, struct pr_grpc_status *st);
int pr_grpc_tap_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg, struct pr_grpc_status *st);
void pr_grpc_tap_close(struct pr_grpc_ctx *c);

extern const struct pr_grpc_method pr_grpc_methods[];
extern const unsigned pr_grpc_n_methods;

#endif /* PR_GRPC_INT_H */
