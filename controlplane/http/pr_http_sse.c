// SPDX-License-Identifier: Apache-2.0
/*
 * GET /api/v1/events: the event bus as Server-Sent Events. Each event is
 *
 *   id: <seq>
 *   event: <type>
 *   data: {"seq":..,"ts":..,"type":"..","session_id":..,"data":{...}}
 *
 * A reconnecting client sends Last-Event-ID (EventSource does so by
 * itself), or ?last_event_id=N, and gets what the bus still holds after
 * it. Events it can no longer get are announced by an "event: lost" whose
 * data says how many (or that they were before a restart of the daemon),
 * without an id, so that the client's last id stays the last real event.
 * An idle stream gets a comment line every heartbeat, which keeps it
 * within the connection timeout and finds clients that went away. The
 * content reader runs on the connection's own thread and waits on the
 * bus there; shutting the server down cancels every subscription.
 */
#define _GNU_SOURCE
#include "pr_http_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>

#include "pr_events.h"

/* One stream: its subscription and the text not yet handed to libmicrohttpd. */
struct pr_http_sse {
	struct pr_http_server *srv;
	struct pr_http_sse *next, *prev; /* srv->sse_list, under srv->lock */
	struct pr_events_sub *sub;
	uint32_t types; /* bit per enum pr_event_type; 0: all */
	bool hello_sent;
	char *buf; /* pending text */
	size_t len, off, cap;
};

static int buf_add(struct pr_http_sse *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int buf_add(struct pr_http_sse *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < s->cap - s->len) {
			s->len += (size_t)n;
			return 0;
		}
		{
			size_t cap = s->cap * 2 > s->len + (size_t)n + 1 ? s->cap * 2 :
									   s->len + (size_t)n + 1;
			char *nb = realloc(s->buf, cap);

			if (!nb)
				return -ENOMEM;
			s->buf = nb;
			s->cap = cap;
		}
	}
}

/* The next piece of the stream into s->buf: an event (maybe after a loss notice) or a heartbeat. */
static int sse_fill(struct pr_http_sse *s)
{
	struct pr_events_gap gap;
	struct pr_event *ev;
	int ret, err;

	s->len = s->off = 0;
	if (!s->hello_sent) {
		s->hello_sent = true;
		/* Reconnect after 2 s; a comment so that headers and first bytes go out now. */
		return buf_add(s, "retry: 2000\n: packetrecorder events\n\n");
	}
	for (;;) {
		ret = pr_events_next(s->sub, (int)s->srv->cfg.sse_heartbeat_ms, &ev, &gap);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return buf_add(s, ": keepalive\n\n");
		err = 0;
		if (gap.lost || gap.earlier_run)
			err = buf_add(s,
				      "event: lost\ndata: {\"lost\":%" PRIu64
				      ",\"earlier_run\":%s,\"before_seq\":%" PRIu64 "}\n\n",
				      gap.lost, gap.earlier_run ? "true" : "false", ev->seq);
		if (!err && (!s->types || (s->types & (1u << ev->type))))
			err = buf_add(s,
				      "id: %" PRIu64 "\nevent: %s\ndata: {\"seq\":%" PRIu64
				      ",\"ts\":%" PRIu64 ",\"type\":\"%s\",\"session_id\":%" PRId64
				      ",\"data\":%s}\n\n",
				      ev->seq, pr_event_type_name(ev->type), ev->seq, ev->ts_ns,
				      pr_event_type_name(ev->type), ev->session_id, ev->data);
		pr_event_put(ev);
		if (err || s->len)
			return err;
		/* Filtered out: wait for the next one. */
	}
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct pr_http_sse *s = cls;
	size_t n;

	(void)pos;
	if (s->off == s->len && sse_fill(s))
		return MHD_CONTENT_READER_END_OF_STREAM; /* cancelled, closed, or out of memory */
	n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct pr_http_sse *s = cls;
	struct pr_http_server *srv = s->srv;

	pthread_mutex_lock(&srv->lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sse_list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&srv->lock);
	pr_events_unsubscribe(s->sub);
	free(s->buf);
	free(s);
}

/* "capture_started,alert" into a bit mask. 0 and a message naming the bad one on error. */
static int parse_types(const char *list, uint32_t *mask, char *bad, size_t bad_len)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		char name[32];
		uint32_t t;

		if (n == 0 || n >= sizeof(name)) {
			snprintf(bad, bad_len, "%.*s", (int)(n > 40 ? 40 : n), p);
			return -EINVAL;
		}
		memcpy(name, p, n);
		name[n] = 0;
		t = pr_event_type_from_name(name);
		if (!t) {
			snprintf(bad, bad_len, "%s", name);
			return -EINVAL;
		}
		*mask |= 1u << t;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

enum MHD_Result pr_http_sse_events(struct pr_http_req *r)
{
	struct pr_http_server *srv = r->srv;
	struct pr_events_sub_cfg sc = { 0 };
	const char *last = pr_http_header(r, "Last-Event-ID");
	const char *types = pr_http_arg(r, "types");
	struct MHD_Response *resp;
	struct pr_http_sse *s;
	uint32_t mask = 0;
	char bad[64];
	int err;

	if (!srv->cfg.events)
		return pr_http_resp_error(r, 503, "this server has no event bus");
	if (!last)
		last = pr_http_arg(r, "last_event_id");
	if (last && *last) {
		char *end;

		errno = 0;
		sc.after_seq = strtoull(last, &end, 10);
		if (errno || *end || last[0] < '0' || last[0] > '9')
			return pr_http_resp_error(
				r, 400, "Last-Event-ID \"%.40s\" is not an event number", last);
		sc.resume = true;
	}
	if (types && parse_types(types, &mask, bad, sizeof(bad)))
		return pr_http_resp_error(r, 400,
					  "types: \"%s\" is not an event type (capture_started, "
					  "capture_stopped, drops, alert, session_deleted, "
					  "replay_started, replay_stopped)",
					  bad);
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->srv = srv;
	s->types = mask;
	s->cap = 4096;
	s->buf = malloc(s->cap);
	err = s->buf ? pr_events_subscribe(srv->cfg.events, &sc, &s->sub) : -ENOMEM;
	if (err) {
		free(s->buf);
		free(s);
		return pr_http_resp_error(r, 503, "cannot subscribe to events: %s", strerror(-err));
	}
	pthread_mutex_lock(&srv->lock);
	if (srv->stopping) {
		pthread_mutex_unlock(&srv->lock);
		pr_events_unsubscribe(s->sub);
		free(s->buf);
		free(s);
		return pr_http_resp_error(r, 503, "the server is shutting down");
	}
	s->next = srv->sse_list;
	if (srv->sse_list)
		srv->sse_list->prev = s;
	srv->sse_list = s;
	pthread_mutex_unlock(&srv->lock);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
	if (!resp) {
		sse_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	/* Proxies (nginx) must pass each event on as it comes. */
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	return pr_http_resp_queue(r, 200, resp);
}

void pr_http_sse_stop_all(struct pr_http_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	for (struct pr_http_sse *s = srv->sse_list; s; s = s->next)
		pr_events_sub_cancel(s->sub);
	pthread_mutex_unlock(&srv->lock);
}
