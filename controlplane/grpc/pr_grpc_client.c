// SPDX-License-Identifier: Apache-2.0
/*
 * The gRPC client (pr_grpc_client.h) on the C core. Each client has a
 * channel and a pluck completion queue; a call's batches are started and
 * plucked by tag on the caller's thread, so nothing runs behind its back:
 * a stream asks for the next message only when the previous one has been
 * handled (the transport's flow control then holds the daemon back). The
 * load generator uses a second, next-style queue with many calls out.
 */
#define _GNU_SOURCE
#include "pr_grpc_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "pr_grpc_int.h"

#define DEFAULT_MAX_RECV (64 << 20)
#define PEM_MAX (1u << 20)

struct pr_grpc_client {
	grpc_channel *ch;
	grpc_completion_queue *cq;
	char *key;
	unsigned timeout_ms;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int read_file(const char *what, const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t n;
	int ret;

	*out = NULL;
	if (!f) {
		ret = -errno;
		set_err(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	*out = malloc(PEM_MAX + 1);
	if (!*out) {
		fclose(f);
		set_err(err, errlen, "%s: %s", what, strerror(ENOMEM));
		return -ENOMEM;
	}
	n = fread(*out, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n > PEM_MAX || !strstr(*out, "-----BEGIN")) {
		free(*out);
		*out = NULL;
		set_err(err, errlen, "%s %s: not a PEM file", what, path);
		return -EINVAL;
	}
	(*out)[n] = 0;
	return 0;
}

static void quiet_log(gpr_log_func_args *a)
{
	(void)a;
}

int pr_grpc_client_create(const struct pr_grpc_client_cfg *cfg, struct pr_grpc_client **out,
			  char *err, size_t errlen)
{
	struct pr_grpc_client *cl;
	grpc_channel_credentials *creds;
	char *ca = NULL, *cert = NULL, *key = NULL;
	grpc_arg args[2];
	grpc_channel_args ca_args = { .num_args = 1, .args = args };
	int ret = 0;

	*out = NULL;
	if (!cfg->endpoint || !cfg->endpoint[0] || !strchr(cfg->endpoint, ':')) {
		set_err(err, errlen, "endpoint \"%s\": not HOST:PORT",
			cfg->endpoint ? cfg->endpoint : "");
		return -EINVAL;
	}
	if (!cfg->tls_cert_file != !cfg->tls_key_file) {
		set_err(err, errlen, "a client certificate needs both --tls-cert and --tls-key");
		return -EINVAL;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		set_err(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	grpc_init();
	/* The core's own messages ("connect failed") repeat what the status says. */
	gpr_set_log_function(quiet_log);
	cl->timeout_ms = cfg->timeout_ms;
	if (cfg->api_key && !(cl->key = strdup(cfg->api_key))) {
		ret = -ENOMEM;
		set_err(err, errlen, "%s", strerror(ENOMEM));
		goto out;
	}
	memset(args, 0, sizeof(args));
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)(uintptr_t)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = cfg->max_recv_bytes ? (int)cfg->max_recv_bytes : DEFAULT_MAX_RECV;
	if (cfg->tls_server_name) {
		args[1].type = GRPC_ARG_STRING;
		args[1].key = (char *)(uintptr_t)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
		args[1].value.string = (char *)(uintptr_t)cfg->tls_server_name;
		ca_args.num_args = 2;
	}
	if (cfg->tls || cfg->tls_ca_file || cfg->tls_cert_file) {
		grpc_ssl_pem_key_cert_pair pair;

		if ((cfg->tls_ca_file &&
		     (ret = read_file("--tls-ca", cfg->tls_ca_file, &ca, err, errlen))) ||
		    (cfg->tls_cert_file &&
		     (ret = read_file("--tls-cert", cfg->tls_cert_file, &cert, err, errlen))) ||
		    (cfg->tls_key_file &&
		     (ret = read_file("--tls-key", cfg->tls_key_file, &key, err, errlen))))
			goto out;
		pair.private_key = key;
		pair.cert_chain = cert;
		creds = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
	} else {
		creds = grpc_insecure_credentials_create();
	}
	if (!creds) {
		set_err(err, errlen, "gRPC: no channel credentials");
		ret = -EIO;
		goto out;
	}
	cl->ch = grpc_channel_create(cfg->endpoint, creds, &ca_args);
	grpc_channel_credentials_release(creds);
	cl->cq = grpc_completion_queue_create_for_pluck(NULL);
	if (!cl->ch || !cl->cq) {
		set_err(err, errlen, "gRPC: cannot make a channel to %s", cfg->endpoint);
		ret = -EIO;
	}
out:
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cert);
	free(ca);
	if (ret) {
		pr_grpc_client_destroy(cl);
		return ret;
	}
	*out = cl;
	return 0;
}

static void cq_drain_destroy(grpc_completion_queue *cq, bool pluck)
{
	grpc_completion_queue_shutdown(cq);
	for (;;) {
		grpc_event ev =
			pluck ? grpc_completion_queue_pluck(
					cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL) :
				grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
	}
	grpc_completion_queue_destroy(cq);
}

void pr_grpc_client_destroy(struct pr_grpc_client *cl)
{
	if (!cl)
		return;
	if (cl->ch)
		grpc_channel_destroy(cl->ch);
	if (cl->cq)
		cq_drain_destroy(cl->cq, true);
	if (cl->key) {
		explicit_bzero(cl->key, strlen(cl->key));
		free(cl->key);
	}
	free(cl);
	grpc_shutdown_blocking();
}

static gpr_timespec deadline(const struct pr_grpc_client *cl)
{
	if (!cl->timeout_ms)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			    gpr_time_from_millis((int64_t)cl->timeout_ms, GPR_TIMESPAN));
}

static void status_fill(struct pr_grpc_client_status *st, grpc_status_code code, grpc_slice det)
{
	size_t n = GRPC_SLICE_LENGTH(det);

	st->code = code;
	st->name = pr_grpc_code_name(code);
	if (n >= sizeof(st->msg))
		n = sizeof(st->msg) - 1;
	memcpy(st->msg, GRPC_SLICE_START_PTR(det), n);
	st->msg[n] = 0;
	/* What a daemon says is printed on a terminal: no control bytes. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)st->msg[i] < 0x20 || st->msg[i] == 0x7f)
			st->msg[i] = '?';
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader r;
	ProtobufCMessage *m = NULL;
	grpc_slice s;

	if (!grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	return m;
}

/* A call with the API key as metadata; *md must stay until the first batch completes. */
static grpc_call *call_new(struct pr_grpc_client *cl, grpc_completion_queue *cq, const char *method,
			   grpc_metadata *md, size_t *n_md)
{
	grpc_slice m = grpc_slice_from_copied_string(method);
	grpc_call *call = grpc_channel_create_call(cl->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m,
						   NULL, deadline(cl), NULL);

	grpc_slice_unref(m);
	*n_md = 0;
	if (cl->key) {
		memset(md, 0, sizeof(*md));
		md->key = grpc_slice_from_static_string("x-api-key");
		md->value = grpc_slice_from_copied_string(cl->key);
		*n_md = 1;
	}
	return call;
}

static void md_free(grpc_metadata *md, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		grpc_slice_unref(md[i].key);
		grpc_slice_unref(md[i].value);
	}
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

int pr_grpc_client_unary(struct pr_grpc_client *cl, const char *method, const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
			 struct pr_grpc_client_status *st)
{
	grpc_metadata md;
	grpc_metadata_array rmd, tmd;
	grpc_byte_buffer *out = pack(req), *in = NULL;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice det = grpc_empty_slice();
	grpc_op ops[6];
	size_t n_md;
	grpc_call *call;
	int tag, ret = 0;

	*resp = NULL;
	grpc_metadata_array_init(&rmd);
	grpc_metadata_array_init(&tmd);
	call = call_new(cl, cl->cq, method, &md, &n_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = n_md;
	ops[0].data.send_initial_metadata.metadata = n_md ? &md : NULL;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &rmd;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
	ops[5].data.recv_status_on_client.status = &code;
	ops[5].data.recv_status_on_client.status_details = &det;
	if (grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
		ret = -EIO;
		goto out;
	}
	grpc_completion_queue_pluck(cl->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	status_fill(st, code, det);
	if (code != GRPC_STATUS_OK) {
		ret = -EREMOTEIO;
	} else if (!in || !(*resp = unpack(resp_desc, in))) {
		snprintf(st->msg, sizeof(st->msg), "the answer is not a valid %s message",
			 resp_desc->name);
		ret = -EBADMSG;
	}
out:
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_byte_buffer_destroy(out);
	grpc_slice_unref(det);
	md_free(&md, n_md);
	grpc_metadata_array_destroy(&rmd);
	grpc_metadata_array_destroy(&tmd);
	grpc_call_unref(call);
	return ret;
}

int pr_grpc_client_stream(struct pr_grpc_client *cl, const char *method,
			  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
			  pr_grpc_client_msg_fn fn, void *ctx, struct pr_grpc_client_status *st)
{
	grpc_metadata md;
	grpc_metadata_array rmd, tmd;
	grpc_byte_buffer *out = pack(req), *in = NULL;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice det = grpc_empty_slice();
	grpc_op ops[4], sop, rop;
	size_t n_md;
	grpc_call *call;
	int t_start, t_status, t_msg, ret = 0;
	bool status_started = false;

	grpc_metadata_array_init(&rmd);
	grpc_metadata_array_init(&tmd);
	call = call_new(cl, cl->cq, method, &md, &n_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = n_md;
	ops[0].data.send_initial_metadata.metadata = n_md ? &md : NULL;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &rmd;
	memset(&sop, 0, sizeof(sop));
	sop.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	sop.data.recv_status_on_client.trailing_metadata = &tmd;
	sop.data.recv_status_on_client.status = &code;
	sop.data.recv_status_on_client.status_details = &det;
	if (grpc_call_start_batch(call, ops, 4, &t_start, NULL) != GRPC_CALL_OK ||
	    grpc_call_start_batch(call, &sop, 1, &t_status, NULL) != GRPC_CALL_OK) {
		ret = -EIO;
		goto out;
	}
	status_started = true;
	grpc_completion_queue_pluck(cl->cq, &t_start, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	for (;;) {
		ProtobufCMessage *m;
		grpc_event ev;

		memset(&rop, 0, sizeof(rop));
		rop.op = GRPC_OP_RECV_MESSAGE;
		rop.data.recv_message.recv_message = &in;
		in = NULL;
		if (grpc_call_start_batch(call, &rop, 1, &t_msg, NULL) != GRPC_CALL_OK)
			break;
		ev = grpc_completion_queue_pluck(cl->cq, &t_msg, gpr_inf_future(GPR_CLOCK_REALTIME),
						 NULL);
		if (!ev.success || !in)
			break; /* the end of the stream: the status says how */
		m = unpack(resp_desc, in);
		grpc_byte_buffer_destroy(in);
		in = NULL;
		if (!m) {
			grpc_call_cancel(call, NULL);
			ret = -EBADMSG;
			break;
		}
		if (fn(ctx, m)) {
			grpc_call_cancel(call, NULL);
			ret = -ECANCELED;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		if (ret)
			break;
	}
out:
	if (status_started) {
		grpc_completion_queue_pluck(cl->cq, &t_status, gpr_inf_future(GPR_CLOCK_REALTIME),
					    NULL);
		status_fill(st, code, det);
		if (ret == -EBADMSG)
			snprintf(st->msg, sizeof(st->msg), "a message is not a valid %s",
				 resp_desc->name);
		else if (!ret && code != GRPC_STATUS_OK)
			ret = -EREMOTEIO;
	}
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_byte_buffer_destroy(out);
	grpc_slice_unref(det);
	md_free(&md, n_md);
	grpc_metadata_array_destroy(&rmd);
	grpc_metadata_array_destroy(&tmd);
	grpc_call_unref(call);
	return ret;
}

/* ---- load generator ---- */

struct load_call {
	grpc_call *call;
	grpc_byte_buffer *out; /* this call's copy: sending empties a byte buffer */
	grpc_metadata md;
	size_t n_md;
	grpc_metadata_array rmd, tmd;
	grpc_byte_buffer *in;
	grpc_status_code code;
	grpc_slice det;
};

static double now_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load_end(struct load_call *lc)
{
	if (lc->in)
		grpc_byte_buffer_destroy(lc->in);
	grpc_byte_buffer_destroy(lc->out);
	grpc_slice_unref(lc->det);
	md_free(&lc->md, lc->n_md);
	grpc_metadata_array_destroy(&lc->rmd);
	grpc_metadata_array_destroy(&lc->tmd);
	grpc_call_unref(lc->call);
	lc->call = NULL;
}

static int load_start(struct pr_grpc_client *cl, grpc_completion_queue *cq, const char *method,
		      grpc_byte_buffer *out, struct load_call *lc)
{
	grpc_op ops[6];

	memset(lc, 0, sizeof(*lc));
	grpc_metadata_array_init(&lc->rmd);
	grpc_metadata_array_init(&lc->tmd);
	lc->det = grpc_empty_slice();
	/* The core moves the slices out of a message it sends: each call sends its own copy. */
	lc->out = grpc_byte_buffer_copy(out);
	lc->call = call_new(cl, cq, method, &lc->md, &lc->n_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = lc->n_md;
	ops[0].data.send_initial_metadata.metadata = lc->n_md ? &lc->md : NULL;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = lc->out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &lc->rmd;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &lc->in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &lc->tmd;
	ops[5].data.recv_status_on_client.status = &lc->code;
	ops[5].data.recv_status_on_client.status_details = &lc->det;
	if (grpc_call_start_batch(lc->call, ops, 6, lc, NULL) != GRPC_CALL_OK) {
		load_end(lc);
		return -EIO;
	}
	return 0;
}

int pr_grpc_client_load(struct pr_grpc_client *cl, const char *method, const ProtobufCMessage *req,
			unsigned inflight, double seconds, struct pr_grpc_client_load *res)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	struct load_call *calls = calloc(inflight ? inflight : 1, sizeof(*calls));
	grpc_byte_buffer *out = pack(req);
	struct rusage ru0, ru1;
	double t0, end;
	unsigned live = 0;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	if (!calls || !inflight) {
		ret = calls ? -EINVAL : -ENOMEM;
		goto out;
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_s(CLOCK_MONOTONIC);
	end = t0 + seconds;
	for (unsigned i = 0; i < inflight; i++)
		if (!load_start(cl, cq, method, out, &calls[i]))
			live++;
	while (live) {
		grpc_event ev =
			grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		struct load_call *lc = ev.tag;

		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if (ev.success && lc->code == GRPC_STATUS_OK)
			res->calls++;
		else
			res->failed++;
		load_end(lc);
		live--;
		if (now_s(CLOCK_MONOTONIC) < end && !load_start(cl, cq, method, out, lc))
			live++;
	}
	res->seconds = now_s(CLOCK_MONOTONIC) - t0;
	getrusage(RUSAGE_SELF, &ru1);
	res->cpu_seconds = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
			   (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
			   (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
			   (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
out:
	grpc_byte_buffer_destroy(out);
	free(calls);
	cq_drain_destroy(cq, false);
	return ret;
}
