// SPDX-License-Identifier: Apache-2.0
/*
 * SIP (RFC 3261) over UDP (one message per datagram) and TCP (messages
 * framed by their header block and Content-Length), recognised by its
 * request or status line on any port. One transaction per message:
 * method and request URI or status, From and To addresses, Call-ID,
 * CSeq, User-Agent (Server in responses), the first Via, Content-Type.
 * Header names are matched without case and in their compact forms
 * (f, t, i, v, c, l). Bodies (SDP) are skipped. Called by pr_l7.c on the
 * dataplane core that owns the flow.
 */
#include <string.h>
#include <strings.h>

#include "pr_l7_int.h"

#define SIP_LINE_MAX 8192
#define SIP_HEAD_MAX 65536

static bool eq_ci(const uint8_t *s, size_t n, const char *w)
{
	return strlen(w) == n && l7_prefix_ci(s, n, w);
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

/* The URI of a From/To value: between < and >, else up to the first ';'. */
static void addr(char *dst, size_t cap, const uint8_t *v, size_t n)
{
	const uint8_t *lt = memchr(v, '<', n), *gt;

	if (lt) {
		gt = memchr(lt, '>', n - (size_t)(lt - v));
		if (gt) {
			l7_copy_text(dst, cap, lt + 1, (size_t)(gt - lt - 1));
			return;
		}
	}
	{
		const uint8_t *sc = memchr(v, ';', n);

		l7_copy_text(dst, cap, v, sc ? (size_t)(sc - v) : n);
	}
}

/* RFC 3261 25.1 token characters: a method is one (extension methods too, in any case). */
static bool is_token(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-.!%*_+`'~", c));
}

static bool is_version(const uint8_t *p, size_t n)
{
	return n == 7 && !memcmp(p, "SIP/2.0", 7);
}

/* A request line ("INVITE sip:bob@b.example SIP/2.0") or a status line ("SIP/2.0 200 OK"). */
static bool start_line(const uint8_t *p, size_t n, bool *request)
{
	const uint8_t *sp;

	if (n >= 12 && !memcmp(p, "SIP/2.0 ", 8) && p[8] >= '1' && p[8] <= '6') {
		*request = false;
		return true;
	}
	sp = memchr(p, ' ', n);
	if (!sp || sp == p || n < 12)
		return false;
	for (const uint8_t *c = p; c < sp; c++)
		if (!is_token(*c))
			return false;
	*request = true;
	return is_version(p + n - 7, 7) && p[n - 8] == ' ';
}

/*
 * One message whose header block ends at hend (n bytes of it held).
 * Returns the Content-Length (0 when absent).
 */
static uint64_t message(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			uint32_t hend)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SIP);
	struct pr_l7_sip *s = &t->u.sip;
	uint64_t clen = 0;
	uint32_t off;
	bool request = false, have_ua = false;
	long lf;
	size_t ll;

	memset(s, 0, sizeof(*s));
	lf = l7_find_lf(p, hend);
	if (lf < 0)
		lf = (long)hend; /* a datagram of one line */
	ll = l7_line_len(p, (size_t)lf);
	start_line(p, ll, &request);
	if (request) {
		const uint8_t *sp = memchr(p, ' ', ll), *sp2;

		l7_copy_text(s->method, sizeof(s->method), p, (size_t)(sp - p));
		sp2 = memchr(sp + 1, ' ', ll - (size_t)(sp + 1 - p));
		if (sp2)
			l7_copy_text(s->uri, sizeof(s->uri), sp + 1, (size_t)(sp2 - sp - 1));
	} else {
		s->status = (uint16_t)((p[8] - '0') * 100 + (p[9] - '0') * 10 + (p[10] - '0'));
	}
	for (off = (uint32_t)lf + 1; off < hend;) {
		const uint8_t *line = p + off, *colon, *v;
		size_t n, vn;

		lf = l7_find_lf(line, hend - off);
		if (lf < 0)
			break;
		n = l7_line_len(line, (size_t)lf);
		off += (uint32_t)lf + 1;
		if (!n)
			break;
		colon = memchr(line, ':', n);
		if (!colon || line[0] == ' ' || line[0] == '\t')
			continue;
		v = colon + 1;
		vn = n - (size_t)(v - line);
		n = (size_t)(colon - line);
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		trim(&v, &vn);
		if (eq_ci(line, n, "from") || eq_ci(line, n, "f")) {
			addr(s->from, sizeof(s->from), v, vn);
		} else if (eq_ci(line, n, "to") || eq_ci(line, n, "t")) {
			addr(s->to, sizeof(s->to), v, vn);
		} else if (eq_ci(line, n, "call-id") || eq_ci(line, n, "i")) {
			l7_copy_text(s->call_id, sizeof(s->call_id), v, vn);
		} else if (eq_ci(line, n, "cseq")) {
			const uint8_t *sp = memchr(v, ' ', vn);

			for (size_t i = 0; i < vn && v[i] >= '0' && v[i] <= '9'; i++)
				s->cseq = s->cseq * 10 + (uint32_t)(v[i] - '0');
			if (sp) {
				const uint8_t *m = sp + 1;
				size_t mn = vn - (size_t)(m - v);

				trim(&m, &mn);
				l7_copy_text(s->cseq_method, sizeof(s->cseq_method), m, mn);
			}
		} else if (eq_ci(line, n, "user-agent") || (eq_ci(line, n, "server") && !have_ua)) {
			have_ua = eq_ci(line, n, "user-agent");
			l7_copy_text(s->user_agent, sizeof(s->user_agent), v, vn);
		} else if ((eq_ci(line, n, "via") || eq_ci(line, n, "v")) && !s->via[0]) {
			l7_copy_text(s->via, sizeof(s->via), v, vn);
		} else if (eq_ci(line, n, "content-type") || eq_ci(line, n, "c")) {
			l7_copy_text(s->content_type, sizeof(s->content_type), v, vn);
		} else if (eq_ci(line, n, "content-length") || eq_ci(line, n, "l")) {
			clen = 0;
			for (size_t i = 0;
			     i < vn && v[i] >= '0' && v[i] <= '9' && clen < (1ull << 40); i++)
				clen = clen * 10 + (uint64_t)(v[i] - '0');
		}
	}
	l7_txn_emit(ctx);
	return clen;
}

/* Offset just past the empty line ending a header block, or 0. */
static uint32_t header_end(const uint8_t *p, uint32_t n)
{
	for (uint32_t off = 0;;) {
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

static uint32_t sip_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	if (fl->ip_proto == PR_L7_PROTO_UDP) {
		uint32_t he = header_end(p, len);
		long lf = l7_find_lf(p, len);
		bool request;

		/* A datagram without its empty line still has its headers. */
		if (lf > 0 && start_line(p, l7_line_len(p, (size_t)lf), &request))
			message(ctx, fl, d, p, he ? he : len);
		else
			ctx->st.malformed++;
		return len;
	}
	while (off < len && !l7_dir_done(fl, d)) {
		const uint8_t *q = p + off;
		uint32_t n = len - off, he;
		uint64_t clen;
		long lf;
		bool request;

		/* Keep-alive CRLFs between messages (RFC 5626 3.5.1). */
		if (q[0] == '\r' || q[0] == '\n') {
			off++;
			continue;
		}
		lf = l7_find_lf(q, PR_MIN(n, (uint32_t)SIP_LINE_MAX));
		if (lf < 0) {
			if (n >= SIP_LINE_MAX)
				l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			break;
		}
		if (!start_line(q, l7_line_len(q, (size_t)lf), &request)) {
			l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			break;
		}
		he = header_end(q, PR_MIN(n, (uint32_t)SIP_HEAD_MAX));
		if (!he) {
			if (n >= SIP_HEAD_MAX || ctx->buf_full)
				l7_dir_stop(ctx, fl, d, L7_STOP_OVERSIZE);
			break;
		}
		clen = message(ctx, fl, d, q, he);
		off += he;
		/* The body: what is here is passed over, the rest skipped as it comes. */
		if (clen > len - off) {
			l7_dir_skip(fl, d, clen - (len - off));
			return len;
		}
		off += (uint32_t)clen;
	}
	return off;
}

/*
 * The start of a first line that has not ended yet (a stack that sends
 * it in small segments): a method of the SIP RFCs, a space and the start
 * of a SIP or tel URI, or the version of a status line.
 */
static bool partial_start(const uint8_t *p, uint32_t n)
{
	static const char *const methods[] = { "INVITE",   "ACK",     "BYE",   "CANCEL",
					       "REGISTER", "OPTIONS", "PRACK", "SUBSCRIBE",
					       "NOTIFY",   "PUBLISH", "INFO",  "REFER",
					       "MESSAGE",  "UPDATE" };
	static const char *const schemes[] = { "sip:", "sips:", "tel:" };

	if (n >= 8 && !memcmp(p, "SIP/2.0 ", 8))
		return true;
	for (size_t i = 0; i < PR_ARRAY_SIZE(methods); i++) {
		size_t ml = strlen(methods[i]), k;

		if (n < ml + 2 || memcmp(p, methods[i], ml) || p[ml] != ' ')
			continue;
		k = PR_MIN((size_t)n - ml - 1, (size_t)4);
		for (size_t j = 0; j < PR_ARRAY_SIZE(schemes); j++)
			if (!strncasecmp((const char *)p + ml + 1, schemes[j], k))
				return true;
	}
	return false;
}

static bool sip_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	long lf = l7_find_lf(p, PR_MIN(len, (uint32_t)SIP_LINE_MAX));
	bool request;

	(void)dir;
	(void)client_port;
	(void)server_port;
	if (lf < 0)
		return ip_proto == PR_L7_PROTO_TCP && partial_start(p, len);
	return lf > 0 && start_line(p, l7_line_len(p, (size_t)lf), &request);
}

static bool sip_resync(struct pr_l7_state *st, uint8_t dir, const uint8_t *p, uint32_t len)
{
	(void)st;
	return sip_detect(PR_L7_PROTO_TCP, dir, 0, 0, p, len);
}

static void sip_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_sip_ops = {
	.name = "sip",
	.app_id = PR_L7_APP_SIP,
	.l4 = PR_L7_L4_TCP | PR_L7_L4_UDP,
	.detect = sip_detect,
	.init = sip_init,
	.parse = sip_parse,
	.resync = sip_resync,
};
