// SPDX-License-Identifier: Apache-2.0
/*
 * The event bus behind pr_events.h. One mutex guards the ring, the
 * subscriber list and every cursor; one condition variable wakes readers
 * on publish, cancel and close. Publishing is a parse of the event's
 * JSON (outside the lock), then a pointer store into the ring and a
 * broadcast: its cost does not depend on how far behind any reader is.
 * The ring holds one reference to each event it keeps; a reader takes
 * another, so an event overwritten while a reader still sends it lives
 * until that reader puts it.
 */
#include "pr_events.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define DEFAULT_HISTORY 1024u

struct event_box {
	atomic_uint refs;
	struct pr_event ev; /* last: its data[] follows */
};

struct pr_events_sub {
	struct pr_events *bus;
	struct pr_events_sub *next, *prev;
	uint64_t cursor; /* number of the next event it reads */
	uint64_t max_backlog;
	uint64_t lost; /* lost since its last read */
	uint64_t lost_total;
	bool earlier_run; /* to be said with the next read */
	bool cancelled;
};

struct pr_events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event_box **ring; /* history slots; event seq sits at (seq - first) % history */
	uint32_t history;
	uint64_t first_seq;
	uint64_t next_seq; /* number the next event gets */
	bool closed;
	struct pr_events_sub *subs;
	uint32_t n_subs;
	uint64_t published[PR_EVENT_TYPE_MAX];
	uint64_t lost; /* of subscribers already gone */
};

static const char *const type_names[PR_EVENT_TYPE_MAX] = {
	[PR_EVENT_CAPTURE_STARTED] = "capture_started",
	[PR_EVENT_CAPTURE_STOPPED] = "capture_stopped",
	[PR_EVENT_DROPS] = "drops",
	[PR_EVENT_ALERT] = "alert",
	[PR_EVENT_SESSION_DELETED] = "session_deleted",
	[PR_EVENT_REPLAY_STARTED] = "replay_started",
	[PR_EVENT_REPLAY_STOPPED] = "replay_stopped",
};

const char *pr_event_type_name(uint32_t type)
{
	return type < PR_EVENT_TYPE_MAX ? type_names[type] : NULL;
}

uint32_t pr_event_type_from_name(const char *name)
{
	for (uint32_t t = 1; t < PR_EVENT_TYPE_MAX; t++)
		if (!strcmp(type_names[t], name))
			return t;
	return 0;
}

static struct event_box *box_of(struct pr_event *ev)
{
	return (struct event_box *)((char *)ev - offsetof(struct event_box, ev));
}

static void box_put(struct event_box *b)
{
	if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}

void pr_event_put(struct pr_event *ev)
{
	if (ev)
		box_put(box_of(ev));
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pr_events_create(const struct pr_events_cfg *cfg, struct pr_events **out)
{
	struct pr_events *bus = calloc(1, sizeof(*bus));
	pthread_condattr_t ca;

	*out = NULL;
	if (!bus)
		return -ENOMEM;
	bus->history = cfg && cfg->history ? cfg->history : DEFAULT_HISTORY;
	bus->ring = calloc(bus->history, sizeof(*bus->ring));
	if (!bus->ring) {
		free(bus);
		return -ENOMEM;
	}
	bus->first_seq = cfg && cfg->first_seq ? cfg->first_seq : wall_ns() / 1000u;
	bus->next_seq = bus->first_seq;
	pthread_mutex_init(&bus->lock, NULL);
	/* Timed waits on the monotonic clock: a wall-clock step must not stretch them. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&bus->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = bus;
	return 0;
}

void pr_events_close(struct pr_events *bus)
{
	pthread_mutex_lock(&bus->lock);
	bus->closed = true;
	pthread_cond_broadcast(&bus->cond);
	pthread_mutex_unlock(&bus->lock);
}

void pr_events_destroy(struct pr_events *bus)
{
	if (!bus)
		return;
	for (uint32_t i = 0; i < bus->history; i++)
		box_put(bus->ring[i]);
	free(bus->ring);
	pthread_mutex_destroy(&bus->lock);
	pthread_cond_destroy(&bus->cond);
	free(bus);
}

/*
 * json-c reads NaN and Infinity even in strict mode, and would write them
 * back as such, which is not JSON: refuse them anywhere in the tree.
 */
static bool all_finite(struct json_object *o, int depth)
{
	if (depth > 64)
		return false;
	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o));
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!all_finite(json_object_array_get_idx(o, i), depth + 1))
				return false;
		return true;
	case json_type_object: {
		struct json_object_iterator it = json_object_iter_begin(o);
		struct json_object_iterator end = json_object_iter_end(o);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
			if (!all_finite(json_object_iter_peek_value(&it), depth + 1))
				return false;
		return true;
	}
	default:
		return true;
	}
}

/*
 * data as one compact JSON object, malloc'd. Strict parsing with UTF-8
 * validation: what a publisher passes goes verbatim to clients, and a
 * broken event would break every client's parser.
 */
static int compact_json(const char *data, char **out, size_t *len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	const char *s;
	size_t n = strlen(data);
	int err = -EINVAL;

	*out = NULL;
	if (n > 4 * (size_t)PR_EVENT_DATA_MAX)
		return -EMSGSIZE;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, data, (int)n);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(obj, json_type_object) || !all_finite(obj, 0))
		goto out;
	/* Nothing but white space may follow the object. */
	for (size_t i = json_tokener_get_parse_end(tok); i < n; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != '\r')
			goto out;
	s = json_object_to_json_string_ext(obj,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s) {
		err = -ENOMEM;
		goto out;
	}
	*len = strlen(s);
	if (*len > PR_EVENT_DATA_MAX) {
		err = -EMSGSIZE;
		goto out;
	}
	*out = strdup(s);
	err = *out ? 0 : -ENOMEM;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return err;
}

int pr_events_publish(struct pr_events *bus, uint32_t type, int64_t session_id, const char *data,
		      uint64_t *seq)
{
	struct event_box *b, *old;
	char *json = NULL;
	size_t len = 2;
	int err;

	if (!pr_event_type_name(type))
		return -EINVAL;
	if (data && (err = compact_json(data, &json, &len)))
		return err;
	b = malloc(sizeof(*b) + len + 1);
	if (!b) {
		free(json);
		return -ENOMEM;
	}
	atomic_init(&b->refs, 1);
	b->ev.ts_ns = wall_ns();
	b->ev.type = type;
	b->ev.session_id = session_id;
	b->ev.data_len = len;
	memcpy(b->ev.data, json ? json : "{}", len + 1);
	free(json);

	pthread_mutex_lock(&bus->lock);
	if (bus->closed) {
		pthread_mutex_unlock(&bus->lock);
		free(b);
		return -ESHUTDOWN;
	}
	b->ev.seq = bus->next_seq++;
	{
		uint32_t slot = (uint32_t)((b->ev.seq - bus->first_seq) % bus->history);

		old = bus->ring[slot];
		bus->ring[slot] = b;
	}
	bus->published[type]++;
	if (seq)
		*seq = b->ev.seq;
	pthread_cond_broadcast(&bus->cond);
	pthread_mutex_unlock(&bus->lock);
	/* Out of the lock: it may be the last reference, and free() need not stall readers. */
	box_put(old);
	return 0;
}

/* Number of the oldest event the ring holds (next_seq when it is empty). Bus lock held. */
static uint64_t oldest_seq(const struct pr_events *bus)
{
	return bus->next_seq - bus->first_seq > bus->history ? bus->next_seq - bus->history :
							       bus->first_seq;
}

int pr_events_subscribe(struct pr_events *bus, const struct pr_events_sub_cfg *cfg,
			struct pr_events_sub **out)
{
	struct pr_events_sub *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->bus = bus;
	s->max_backlog = cfg && cfg->max_backlog && cfg->max_backlog < bus->history ?
				 cfg->max_backlog :
				 bus->history;
	pthread_mutex_lock(&bus->lock);
	if (bus->closed) {
		pthread_mutex_unlock(&bus->lock);
		free(s);
		return -ESHUTDOWN;
	}
	s->cursor = bus->next_seq;
	if (cfg && cfg->resume) {
		if (!cfg->after_seq) {
			/* Everything the ring still holds. */
			s->cursor = oldest_seq(bus);
		} else if (cfg->after_seq < bus->first_seq) {
			/* A number this bus never gave out: an earlier run's, whose rest is gone. */
			s->earlier_run = true;
			s->cursor = bus->first_seq;
		} else if (cfg->after_seq < bus->next_seq) {
			s->cursor = cfg->after_seq + 1;
		}
		/* A number not yet given out: from now on, as without resume. */
	}
	s->next = bus->subs;
	if (bus->subs)
		bus->subs->prev = s;
	bus->subs = s;
	bus->n_subs++;
	pthread_mutex_unlock(&bus->lock);
	*out = s;
	return 0;
}

/* Move s's cursor past what it can no longer read, counting the loss. Bus lock held. */
static void catch_up(struct pr_events *bus, struct pr_events_sub *s)
{
	uint64_t oldest = oldest_seq(bus);

	if (s->cursor < oldest) {
		s->lost += oldest - s->cursor;
		s->cursor = oldest;
	}
	if (bus->next_seq - s->cursor > s->max_backlog) {
		uint64_t to = bus->next_seq - s->max_backlog;

		s->lost += to - s->cursor;
		s->cursor = to;
	}
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int pr_events_next(struct pr_events_sub *s, int timeout_ms, struct pr_event **ev,
		   struct pr_events_gap *gap)
{
	struct pr_events *bus = s->bus;
	struct timespec until;
	int ret = 0;

	*ev = NULL;
	if (gap)
		memset(gap, 0, sizeof(*gap));
	if (timeout_ms > 0)
		deadline_after(&until, timeout_ms);
	pthread_mutex_lock(&bus->lock);
	for (;;) {
		if (s->cancelled) {
			ret = -ECANCELED;
			break;
		}
		if (bus->closed) {
			ret = -ESHUTDOWN;
			break;
		}
		catch_up(bus, s);
		if (s->cursor < bus->next_seq) {
			struct event_box *b =
				bus->ring[(s->cursor - bus->first_seq) % bus->history];

			atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
			*ev = &b->ev;
			s->cursor++;
			if (gap) {
				gap->lost = s->lost;
				gap->earlier_run = s->earlier_run;
			}
			s->lost_total += s->lost;
			s->lost = 0;
			s->earlier_run = false;
			ret = 1;
			break;
		}
		if (!timeout_ms)
			break;
		if (timeout_ms < 0) {
			pthread_cond_wait(&bus->cond, &bus->lock);
		} else if (pthread_cond_timedwait(&bus->cond, &bus->lock, &until) == ETIMEDOUT) {
			timeout_ms = 0; /* one more look, then give up */
		}
	}
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

void pr_events_sub_cancel(struct pr_events_sub *s)
{
	struct pr_events *bus = s->bus;

	pthread_mutex_lock(&bus->lock);
	s->cancelled = true;
	pthread_cond_broadcast(&bus->cond);
	pthread_mutex_unlock(&bus->lock);
}

void pr_events_unsubscribe(struct pr_events_sub *s)
{
	struct pr_events *bus;

	if (!s)
		return;
	bus = s->bus;
	pthread_mutex_lock(&bus->lock);
	/* What it lost and never read about still counts. */
	catch_up(bus, s);
	bus->lost += s->lost_total + s->lost;
	if (s->prev)
		s->prev->next = s->next;
	else
		bus->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	bus->n_subs--;
	pthread_mutex_unlock(&bus->lock);
	free(s);
}

void pr_events_get_stats(struct pr_events *bus, struct pr_events_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&bus->lock);
	memcpy(out->published, bus->published, sizeof(out->published));
	out->lost = bus->lost;
	for (struct pr_events_sub *s = bus->subs; s; s = s->next) {
		catch_up(bus, s);
		out->lost += s->lost_total + s->lost;
	}
	out->first_seq = bus->first_seq;
	out->last_seq = bus->next_seq - 1;
	out->subscribers = bus->n_subs;
	pthread_mutex_unlock(&bus->lock);
}
