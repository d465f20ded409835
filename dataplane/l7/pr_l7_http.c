// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.x over TCP (and single-datagram HTTP over UDP, as SSDP uses it).
 * Every request and response of a flow, pipelined or not, becomes one
 * transaction: request line or status line and the headers operators look
 * at. A header block is parsed when it is complete (pr_l7.c collects one
 * that spans segments); bodies are not read: a Content-Length body is
 * skipped in one step, a chunked one chunk by chunk. Responses are matched
 * to requests in order only as far as framing needs it (a HEAD response
 * has no body, a CONNECT or 101 ends HTTP on the flow). Called by pr_l7.c
 * on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

/* l7_http.mode[] */
#define HTTP_M_HEAD 0 /* a start line and headers come next */
#define HTTP_M_CHUNK 1 /* a chunk-size line comes next */
#define HTTP_M_TRAILER 2 /* trailer lines until an empty one */

/* Kinds of unanswered requests (2 bits each in l7_http.pend_bits). */
#define PEND_OTHER 0
#define PEND_HEAD 1
#define PEND_CONNECT 2
#define PEND_MAX 32

/* Lines longer than this without a line feed are not HTTP (or not worth it). */
#define HTTP_LINE_MAX 8192
#define METHOD_MAX 31

static bool is_token_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* Length of a method token at p followed by ' ' (3..METHOD_MAX), or 0. */
static size_t method_len(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i <= METHOD_MAX && is_token_char(p[i]); i++)
		;
	return i >= 3 && i <= METHOD_MAX && i < n && p[i] == ' ' ? i : 0;
}

static bool is_version(const uint8_t *p, size_t n)
{
	return n == 8 && !memcmp(p, "HTTP/", 5) && p[5] >= '0' && p[5] <= '9' && p[6] == '.' &&
	       p[7] >= '0' && p[7] <= '9';
}

static bool is_status_line(const uint8_t *p, size_t n)
{
	return n >= 12 && is_version(p, 8) && p[8] == ' ' && p[9] >= '1' && p[9] <= '5' &&
	       p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9';
}

/* Offset just past the empty line ending a header block, or 0 if not there yet. */
static uint32_t header_end(const uint8_t *p, uint32_t n)
{
	uint32_t off = 0;

	for (;;) {
		long lf = l7_find_lf(p + off, n - off);

		if (lf < 0)
			return 0;
		off += (uint32_t)lf + 1;
		if (off < n && p[off] == '\n')
			return off + 1;
		if (off + 1 < n && p[off] == '\r' && p[off + 1] == '\n')
			return off + 2;
		if (off >= n)
			return 0;
	}
}

static void trim(const uint8_t **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

static int64_t parse_dec(const uint8_t *v, size_t n)
{
	int64_t x = 0;

	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

static bool contains_ci(const uint8_t *v, size_t n, const char *word)
{
	size_t wl = strlen(word);

	for (size_t i = 0; i + wl <= n; i++)
		if (l7_prefix_ci(v + i, n - i, word))
			return true;
	return false;
}

static void pend_push(struct l7_http *h, uint32_t kind)
{
	if (h->pend >= PEND_MAX)
		return;
	h->pend_bits |= (uint64_t)kind << (2 * h->pend);
	h->pend++;
}

static uint32_t pend_pop(struct l7_http *h)
{
	uint32_t kind;

	if (!h->pend)
		return PEND_OTHER;
	kind = h->pend_bits & 3;
	h->pend_bits >>= 2;
	h->pend--;
	return kind;
}

/* Stop both directions: what follows is not HTTP (tunnel, upgrade). */
static void stop_both(struct pr_l7_ctx *ctx, struct l7_flow *fl)
{
	l7_dir_stop(ctx, fl, 0, L7_STOP_DONE);
	l7_dir_stop(ctx, fl, 1, L7_STOP_DONE);
}

/*
 * One header block (start line, headers, empty line) of n bytes. Emits the
 * transaction and sets up the body. Returns false when the block is not
 * HTTP (the direction has been stopped).
 */
static bool header_block(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			 uint32_t n)
{
	struct l7_http *h = &fl->u.http;
	struct pr_l7_txn *t;
	struct pr_l7_http *m;
	long lf = l7_find_lf(p, n);
	size_t ll = lf < 0 ? n : l7_line_len(p, (size_t)lf);
	uint32_t off = lf < 0 ? n : (uint32_t)lf + 1;
	bool response = is_status_line(p, ll), udp = fl->ip_proto == PR_L7_PROTO_UDP;
	size_t ml = response ? 0 : method_len(p, ll);
	uint32_t kind;

	if (!response && !ml) {
		l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
		return false;
	}
	t = l7_txn_begin(ctx, fl, d, response ? PR_L7_TXN_HTTP_RESPONSE : PR_L7_TXN_HTTP_REQUEST);
	m = &t->u.http;
	memset(m, 0, offsetof(struct pr_l7_http, method));
	m->method[0] = m->host[0] = m->content_type[0] = m->user_agent[0] = '\0';
	m->referer[0] = m->server[0] = m->uri[0] = '\0';
	m->content_length = -1;
	if (response) {
		m->version_major = (uint8_t)(p[5] - '0');
		m->version_minor = (uint8_t)(p[7] - '0');
		m->status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	} else {
		const uint8_t *uri = p + ml + 1, *sp;
		size_t ul = ll - ml - 1;

		memcpy(m->method, p, ml);
		m->method[ml] = '\0';
		/* The URI runs to the next space, as Wireshark splits it; the version follows. */
		sp = memchr(uri, ' ', ul);
		if (sp) {
			const uint8_t *v = sp + 1;
			size_t vl = ll - (size_t)(v - p);

			if (vl == 8 && is_version(v, 8)) {
				m->version_major = (uint8_t)(v[5] - '0');
				m->version_minor = (uint8_t)(v[7] - '0');
			}
			ul = (size_t)(sp - uri);
		}
		l7_copy_text(m->uri, sizeof(m->uri), uri, ul);
	}
	while (off < n) {
		const uint8_t *line = p + off, *colon, *v;
		size_t vl, nl;

		lf = l7_find_lf(line, n - off);
		ll = lf < 0 ? n - off : l7_line_len(line, (size_t)lf);
		off = lf < 0 ? n : off + (uint32_t)lf + 1;
		if (!ll)
			break;
		colon = memchr(line, ':', ll);
		if (!colon)
			continue;
		nl = (size_t)(colon - line);
		v = colon + 1;
		vl = ll - nl - 1;
		trim(&v, &vl);
		switch (nl) {
		case 4:
			if (l7_prefix_ci(line, nl, "host")) {
				m->present |= PR_L7_HTTP_HOST;
				l7_copy_text(m->host, sizeof(m->host), v, vl);
			}
			break;
		case 6:
			if (l7_prefix_ci(line, nl, "server")) {
				m->present |= PR_L7_HTTP_SERVER;
				l7_copy_text(m->server, sizeof(m->server), v, vl);
			}
			break;
		case 7:
			if (l7_prefix_ci(line, nl, "referer")) {
				m->present |= PR_L7_HTTP_REFERER;
				l7_copy_text(m->referer, sizeof(m->referer), v, vl);
			}
			break;
		case 10:
			if (l7_prefix_ci(line, nl, "user-agent")) {
				m->present |= PR_L7_HTTP_USER_AGENT;
				l7_copy_text(m->user_agent, sizeof(m->user_agent), v, vl);
			}
			break;
		case 12:
			if (l7_prefix_ci(line, nl, "content-type")) {
				m->present |= PR_L7_HTTP_CONTENT_TYPE;
				l7_copy_text(m->content_type, sizeof(m->content_type), v, vl);
			}
			break;
		case 14:
			if (l7_prefix_ci(line, nl, "content-length")) {
				m->present |= PR_L7_HTTP_CONTENT_LENGTH;
				m->content_length = parse_dec(v, vl);
			}
			break;
		case 17:
			if (l7_prefix_ci(line, nl, "transfer-encoding") &&
			    contains_ci(v, vl, "chunked"))
				m->present |= PR_L7_HTTP_CHUNKED;
			break;
		default:
			break;
		}
	}
	m->index = ++h->index[d];
	l7_txn_emit(ctx);

	/* Framing of what follows. UDP messages stand alone. */
	if (udp)
		return true;
	if (!response) {
		kind = PEND_OTHER;
		if (!strcmp(m->method, "HEAD"))
			kind = PEND_HEAD;
		else if (!strcmp(m->method, "CONNECT"))
			kind = PEND_CONNECT;
		pend_push(h, kind);
	} else if (m->status == 101) {
		stop_both(ctx, fl);
		return true;
	} else if (m->status < 200) {
		return true; /* interim (100 Continue): the final response follows */
	} else {
		kind = pend_pop(h);
		if (kind == PEND_CONNECT && m->status < 300) {
			stop_both(ctx, fl);
			return true;
		}
		if (kind == PEND_HEAD || m->status == 204 || m->status == 304)
			return true;
	}
	if (m->present & PR_L7_HTTP_CHUNKED) {
		h->mode[d] = HTTP_M_CHUNK;
	} else if (m->content_length > 0) {
		l7_dir_skip(fl, d, (uint64_t)m->content_length);
	} else if (response && m->content_length < 0) {
		/* The body runs to the end of the connection. */
		l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
	}
	return true;
}

/* A chunk-size line: hex digits, then extensions or nothing. -1 if not one. */
static int64_t chunk_size(const uint8_t *p, size_t n)
{
	int64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			break;
		if (x > (INT64_MAX >> 4))
			return -1;
		x = x << 4 | v;
	}
	if (!i || (i < n && p[i] != ';' && p[i] != ' ' && p[i] != '\t'))
		return -1;
	return x;
}

static uint32_t http_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct l7_http *h = &fl->u.http;
	uint32_t off = 0;

	while (off < len && !l7_dir_done(fl, d) && !fl->dir[d].skip) {
		const uint8_t *q = p + off;
		uint32_t n = len - off, end;

		if (h->mode[d] != HTTP_M_HEAD) {
			long lf = l7_find_lf(q, n);
			size_t ll;
			int64_t sz;

			if (lf < 0) {
				if (n > HTTP_LINE_MAX)
					l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
				break;
			}
			ll = l7_line_len(q, (size_t)lf);
			off += (uint32_t)lf + 1;
			if (h->mode[d] == HTTP_M_TRAILER) {
				if (!ll)
					h->mode[d] = HTTP_M_HEAD;
				continue;
			}
			if (!ll)
				continue; /* the CR LF after a chunk's data */
			sz = chunk_size(q, ll);
			if (sz < 0) {
				l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
				break;
			}
			if (sz == 0)
				h->mode[d] = HTTP_M_TRAILER;
			else
				l7_dir_skip(fl, d, (uint64_t)sz);
			continue;
		}
		/* Empty lines between messages are allowed (RFC 9112 2.2). */
		if (*q == '\r' || *q == '\n') {
			off++;
			continue;
		}
		end = header_end(q, n);
		if (!end) {
			if (fl->ip_proto == PR_L7_PROTO_UDP) {
				end = n; /* a datagram is all there is */
			} else {
				long lf = l7_find_lf(q, n);

				/* Give up early on a first line that is not HTTP. */
				if ((lf < 0 && n > HTTP_LINE_MAX) ||
				    (lf >= 0 && !is_status_line(q, l7_line_len(q, (size_t)lf)) &&
				     !method_len(q, (size_t)lf)))
					l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
				break;
			}
		}
		if (!header_block(ctx, fl, d, q, end))
			break;
		off += end;
	}
	return off;
}

static bool known_method(const uint8_t *p, uint32_t len)
{
	static const char *const methods[] = {
		"GET ",	  "POST ",  "HEAD ",	 "PUT ",    "DELETE ",	 "OPTIONS ",   "CONNECT ",
		"TRACE ", "PATCH ", "PROPFIND ", "NOTIFY ", "M-SEARCH ", "SUBSCRIBE ",
	};

	for (size_t i = 0; i < PR_ARRAY_SIZE(methods); i++) {
		size_t n = strlen(methods[i]);

		if (len >= n && !memcmp(p, methods[i], n))
			return true;
	}
	return false;
}

/*
 * A request line (method token, URI, HTTP/x.y) or a status line. When the
 * first line is not complete in this payload, a request must start with a
 * well-known method. UDP needs the whole first line.
 */
static bool http_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	long lf = l7_find_lf(p, len);
	size_t ll, ml;

	(void)dir;
	(void)client_port;
	(void)server_port;
	if (lf < 0)
		return ip_proto == PR_L7_PROTO_TCP &&
		       ((len >= 12 && is_status_line(p, len)) || known_method(p, len));
	ll = l7_line_len(p, (size_t)lf);
	if (is_status_line(p, ll))
		return true;
	if (known_method(p, len))
		return true;
	ml = method_len(p, ll);
	return ml && ll >= ml + 10 && p[ll - 9] == ' ' && is_version(p + ll - 8, 8);
}

static void http_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_http_ops = {
	.name = "http",
	.app_id = PR_L7_APP_HTTP,
	.l4 = PR_L7_L4_TCP | PR_L7_L4_UDP,
	.detect = http_detect,
	.init = http_init,
	.parse = http_parse,
};
