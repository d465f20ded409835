/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event bus: what happens in the daemon (a capture started or
 * stopped, packets dropped, an alert) goes to every front end that
 * streams events (SSE on /api/v1/events, gRPC StreamEvents).
 *
 * Every event gets a number (seq) that grows by one per event. The bus
 * keeps the last `history` events in a ring; each subscriber reads the
 * ring through its own cursor, so its queue is the events between its
 * cursor and the newest, at most max_backlog of them. A publisher never
 * waits for a subscriber: when a slow subscriber's queue would grow past
 * its bound, or the ring overwrites events it has not read, it loses the
 * oldest ones and its next read says how many. A subscriber that resumes
 * after seq N (SSE Last-Event-ID) gets the events after N that the ring
 * still holds, and the count of those it no longer does.
 *
 * Numbers start at the wall clock in microseconds when the bus is
 * created, so they keep growing across restarts of the daemon (unless it
 * published more than a million events per second of its life): a client
 * resuming with a number from an earlier run is told that what came
 * before this run is gone, and how much is not known.
 *
 * Events are immutable and reference-counted: a subscriber gets a
 * reference and drops it with pr_event_put(). Publish, subscribe, read
 * and cancel may be called from any thread; one thread reads one
 * subscription at a time.
 */
#ifndef PR_EVENTS_H
#define PR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pr_event_type {
	PR_EVENT_CAPTURE_STARTED = 1,
	PR_EVENT_CAPTURE_STOPPED = 2,
	PR_EVENT_DROPS = 3, /* a capture's drop counters grew */
	PR_EVENT_ALERT = 4,
	PR_EVENT_SESSION_DELETED = 5,
	PR_EVENT_REPLAY_STARTED = 6,
	PR_EVENT_REPLAY_STOPPED = 7,
	PR_EVENT_TYPE_MAX,
};

/*
 * "capture_started", "capture_stopped", "drops", "alert", "session_deleted",
 * "replay_started", "replay_stopped"; NULL if unknown.
 */
const char *pr_event_type_name(uint32_t type);
/* The type of that name, 0 if none. */
uint32_t pr_event_type_from_name(const char *name);

struct pr_event {
	uint64_t seq;
	uint64_t ts_ns; /* wall clock when it was published */
	uint32_t type; /* enum pr_event_type */
	int64_t session_id; /* the session it is about, 0: none */
	size_t data_len;
	/* A JSON object, compact (no newline), NUL-terminated. */
	char data[];
};

/* Drop a reference taken by pr_events_next(). NULL is a no-op. */
void pr_event_put(struct pr_event *ev);

struct pr_events_cfg {
	uint32_t history; /* events kept for resume and slow subscribers; 0: 1024 */
	uint64_t first_seq; /* number of the first event; 0: the wall clock in microseconds */
};

struct pr_events;

int pr_events_create(const struct pr_events_cfg *cfg, struct pr_events **out);
/*
 * Wake every subscriber: their pr_events_next() returns -ESHUTDOWN from
 * now on, and publishing fails with -ESHUTDOWN. Any thread.
 */
void pr_events_close(struct pr_events *bus);
/* Free the bus. Every subscription must be gone (unsubscribed). NULL is a no-op. */
void pr_events_destroy(struct pr_events *bus);

/* Largest data a publisher may attach, in bytes of compact JSON. */
#define PR_EVENT_DATA_MAX (64 * 1024)

/*
 * Publish an event: data is a JSON object (NULL: {}), parsed with json-c
 * and stored compact. Writes its number to *seq (may be NULL). Returns 0,
 * -EINVAL (an unknown type, data that is not one JSON object), -EMSGSIZE
 * (more than PR_EVENT_DATA_MAX), -ESHUTDOWN (closed), -ENOMEM. Never
 * waits for a subscriber. Any thread.
 */
int pr_events_publish(struct pr_events *bus, uint32_t type, int64_t session_id, const char *data,
		      uint64_t *seq);

struct pr_events_sub_cfg {
	/*
	 * Resume after event after_seq (SSE Last-Event-ID), 0: from the
	 * oldest event the ring holds; false: only events published from now.
	 */
	bool resume;
	uint64_t after_seq;
	/* At most this many unread events before the oldest are lost; 0 or above history: history. */
	uint32_t max_backlog;
};

struct pr_events_sub;

/* Returns 0, -ESHUTDOWN, -ENOMEM. Any thread. */
int pr_events_subscribe(struct pr_events *bus, const struct pr_events_sub_cfg *cfg,
			struct pr_events_sub **out);

/* What a subscriber missed right before the event it reads. */
struct pr_events_gap {
	uint64_t lost; /* events it will never see (overwritten, or over its backlog) */
	/*
	 * It resumed from a number of an earlier run of the daemon: the events
	 * of that run it had not seen are gone, and how many is not known.
	 */
	bool earlier_run;
};

/*
 * The next event of the subscription, waiting at most timeout_ms (0: do
 * not wait, < 0: forever). Returns 1 with *ev (a reference: pr_event_put()
 * it) and *gap (may be NULL; what was lost before it), 0 when the time
 * ran out, -ECANCELED after pr_events_sub_cancel(), -ESHUTDOWN after
 * pr_events_close(). The thread that reads this subscription.
 */
int pr_events_next(struct pr_events_sub *s, int timeout_ms, struct pr_event **ev,
		   struct pr_events_gap *gap);
/* Make a pr_events_next() that waits (now or later) return -ECANCELED. Any thread. */
void pr_events_sub_cancel(struct pr_events_sub *s);
/* End the subscription. Not while another thread is in pr_events_next() on it. NULL: no-op. */
void pr_events_unsubscribe(struct pr_events_sub *s);

struct pr_events_stats {
	uint64_t published[PR_EVENT_TYPE_MAX]; /* by type */
	uint64_t lost; /* events subscribers lost, summed over subscribers */
	uint64_t first_seq; /* number of the first event of this bus */
	uint64_t last_seq; /* of the newest event, first_seq - 1 before the first */
	uint32_t subscribers;
};

void pr_events_get_stats(struct pr_events *bus, struct pr_events_stats *out);

#endif /* PR_EVENTS_H */
