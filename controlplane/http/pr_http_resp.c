// SPDX-License-Identifier: Apache-2.0
/*
 * Responses of controlplane/http (pr_http_int.h): JSON bodies and
 * errors, buffers, and queuing with the headers every response carries.
 * A header that only one response needs (Allow, WWW-Authenticate,
 * Retry-After) is set for the next response queued on this thread, which
 * is the connection's own (libmicrohttpd runs a thread per connection).
 * Connection threads.
 */
#include "pr_http_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

/* A header the next response carries (Allow, WWW-Authenticate, Retry-After). */
struct extra_hdr {
	const char *name;
	char value[96];
};

static _Thread_local struct extra_hdr next_hdr;

void pr_http_set_header(const char *name, const char *fmt, ...)
{
	va_list ap;

	next_hdr.name = name;
	if (!name)
		return;
	va_start(ap, fmt);
	vsnprintf(next_hdr.value, sizeof(next_hdr.value), fmt, ap);
	va_end(ap);
}

enum MHD_Result pr_http_resp_queue(struct pr_http_req *r, unsigned status,
				   struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp) {
		next_hdr.name = NULL;
		return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
	}
	/* Captures carry other people's traffic: nothing here may be cached. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (next_hdr.name) {
		MHD_add_response_header(resp, next_hdr.name, next_hdr.value);
		next_hdr.name = NULL;
	}
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES) {
		r->status = status;
		/* Streams count to their start: their length is the client's. */
		r->resp_ns = pr_http_mono_ns();
	}
	return ret;
}

enum MHD_Result pr_http_resp_buf(struct pr_http_req *r, unsigned status, const char *ctype,
				 char *buf, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return pr_http_resp_queue(r, status, resp);
}

enum MHD_Result pr_http_resp_json(struct pr_http_req *r, unsigned status, struct json_object *obj)
{
	const char *s;
	size_t len;
	char *copy;

	s = obj ? json_object_to_json_string_length(
			  obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len) :
		  NULL;
	if (!s) {
		json_object_put(obj);
		return MHD_NO;
	}
	copy = malloc(len + 2);
	if (copy) {
		memcpy(copy, s, len);
		copy[len++] = '\n';
		copy[len] = 0;
	}
	json_object_put(obj);
	if (!copy)
		return MHD_NO;
	return pr_http_resp_buf(r, status, "application/json", copy, len);
}

enum MHD_Result pr_http_resp_error(struct pr_http_req *r, unsigned status, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!o)
		return MHD_NO;
	json_object_object_add(o, "code", json_object_new_int((int)status));
	json_object_object_add(o, "error", json_object_new_string(reason_phrase(status)));
	json_object_object_add(o, "message", json_object_new_string(msg));
	return pr_http_resp_json(r, status, o);
}
