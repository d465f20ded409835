/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A gRPC client on the C core for `packetrecorder manage` and the
 * benchmarks: a channel to one daemon (plaintext or TLS, with a client
 * certificate for mTLS), unary calls, server streams read one message at
 * a time, and a unary load generator. Messages are protobuf-c's; the API
 * key goes with every call as x-api-key. One client per thread.
 */
#ifndef PR_GRPC_CLIENT_H
#define PR_GRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct pr_grpc_client_cfg {
	const char *endpoint; /* HOST:PORT */
	const char *api_key; /* NULL: none sent */
	bool tls; /* TLS (implied by tls_ca_file) */
	const char *tls_ca_file; /* PEM CAs to verify the daemon; NULL with tls: the system's */
	const char *tls_cert_file; /* PEM client certificate (mTLS); with tls_key_file */
	const char *tls_key_file;
	const char *tls_server_name; /* the name the certificate must carry; NULL: the host */
	unsigned timeout_ms; /* deadline of each call; 0: none */
	uint32_t max_recv_bytes; /* largest answer; 0: 64 MiB */
};

/* How a call ended. code is a grpc_status_code (0 OK); name its name. */
struct pr_grpc_client_status {
	int code;
	const char *name; /* "OK", "NOT_FOUND", ... */
	char msg[1024];
};

struct pr_grpc_client;

/*
 * Make the channel (it connects at the first call). Returns 0, or -EINVAL
 * / -ENOENT / -EACCES with err (a bad endpoint, a TLS file).
 */
int pr_grpc_client_create(const struct pr_grpc_client_cfg *cfg, struct pr_grpc_client **out,
			  char *err, size_t errlen);
void pr_grpc_client_destroy(struct pr_grpc_client *cl); /* NULL is a no-op */

/*
 * One unary call of method ("/package.Service/Method"). 0 with *resp
 * (free it with protobuf_c_message_free_unpacked(*resp, NULL)), or
 * -EREMOTEIO when the call ended with another status than OK (st says
 * which; UNAVAILABLE when the daemon cannot be reached), -EBADMSG when
 * the answer does not decode, -ENOMEM.
 */
int pr_grpc_client_unary(struct pr_grpc_client *cl, const char *method, const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
			 struct pr_grpc_client_status *st);

/* Gets each message of a stream, freed after it returns; non-zero cancels the call. */
typedef int (*pr_grpc_client_msg_fn)(void *ctx, const ProtobufCMessage *m);

/*
 * A server-streaming call: fn for every message, in order, each received
 * only after fn returned for the one before (so the daemon sends no
 * faster than fn takes them). 0 at the end of a stream that ended OK;
 * -ECANCELED when fn stopped it (the call is cancelled); otherwise as
 * pr_grpc_client_unary().
 */
int pr_grpc_client_stream(struct pr_grpc_client *cl, const char *method,
			  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
			  pr_grpc_client_msg_fn fn, void *ctx, struct pr_grpc_client_status *st);

/* What pr_grpc_client_load() measured. */
struct pr_grpc_client_load {
	uint64_t calls; /* answered OK */
	uint64_t failed; /* answered with another status */
	double seconds;
	double cpu_seconds; /* of this process, user + system */
};

/*
 * Call a unary method over and over for `seconds`, with `inflight` calls
 * outstanding at all times (the benchmark of unary calls per second).
 * Returns 0 with *out, or a negative errno.
 */
int pr_grpc_client_load(struct pr_grpc_client *cl, const char *method, const ProtobufCMessage *req,
			unsigned inflight, double seconds, struct pr_grpc_client_load *out);

#endif /* PR_GRPC_CLIENT_H */
