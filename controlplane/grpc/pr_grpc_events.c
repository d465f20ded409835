// SPDX-License-Identifier: Apache-2.0
/*
 * StreamEvents: the daemon's event bus (controlplane/events) as a gRPC
 * server stream, the same events /api/v1/events sends as SSE. A request
 * names the types it wants (none: every type) and may resume after an
 * event number, as SSE's Last-Event-ID. Events the subscriber can no
 * longer get are counted in the next event's lost_before (UINT64_MAX:
 * events of an earlier run of the daemon, how many not known).
 *
 * The stream never blocks its worker: with nothing to send it parks, and
 * the worker steps it again every PR_GRPC_POLL_MS (the method is marked
 * .poll), so an event reaches the client within that time plus the send.
 */
#define PR_LOG_MODULE "grpc"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packetrecorder.pb-c.h"
#include "pr_events.h"
#include "pr_grpc_int.h"

struct events_state {
	struct pr_events_sub *sub;
	uint32_t types; /* bit per enum pr_event_type; 0: every type */
	uint64_t lost; /* lost before the next event sent (filtered events carry theirs on) */
};

int pr_grpc_events_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req,
			struct pr_grpc_status *st)
{
	const Packetrecorder__V1__StreamEventsRequest *r = (const void *)req;
	struct pr_events *bus = pr_grpc_server_events(c->srv);
	struct pr_events_sub_cfg sc = { .resume = r->after_seq != 0, .after_seq = r->after_seq };
	struct events_state *s;
	uint32_t mask = 0;
	int ret;

	if (!bus)
		return pr_grpc_fail(st, GRPC_STATUS_UNIMPLEMENTED,
				    "StreamEvents: this server has no event bus");
	for (size_t i = 0; i < r->n_types; i++) {
		uint32_t t = pr_event_type_from_name(r->types[i]);

		if (!t)
			return pr_grpc_fail(
				st, GRPC_STATUS_INVALID_ARGUMENT,
				"types: \"%.64s\" is not an event type (capture_started, "
				"capture_stopped, drops, alert, session_deleted, replay_started, "
				"replay_stopped)",
				r->types[i]);
		mask |= 1u << t;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	s->types = mask;
	ret = pr_events_subscribe(bus, &sc, &s->sub);
	if (ret) {
		free(s);
		return pr_grpc_fail(st,
				    ret == -ESHUTDOWN ? GRPC_STATUS_UNAVAILABLE :
							GRPC_STATUS_RESOURCE_EXHAUSTED,
				    "StreamEvents: cannot subscribe: %s", strerror(-ret));
	}
	c->state = s;
	return 0;
}

int pr_grpc_events_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg, struct pr_grpc_status *st)
{
	struct events_state *s = c->state;
	Packetrecorder__V1__Event m = PACKETRECORDER__V1__EVENT__INIT;
	struct pr_events_gap gap;
	struct pr_event *ev;
	int ret;

	for (;;) {
		ret = pr_events_next(s->sub, 0, &ev, &gap);
		if (ret == 0)
			return PR_GRPC_NEXT_PARK;
		if (ret == -ESHUTDOWN || ret == -ECANCELED)
			return pr_grpc_fail(st, GRPC_STATUS_UNAVAILABLE,
					    "the event bus is closed: the server is shutting down");
		if (ret < 0)
			return pr_grpc_fail(st, GRPC_STATUS_INTERNAL, "events: %s", strerror(-ret));
		if (gap.earlier_run)
			s->lost = UINT64_MAX;
		else if (s->lost != UINT64_MAX)
			s->lost = gap.lost > UINT64_MAX - 1 - s->lost ? UINT64_MAX - 1 :
									s->lost + gap.lost;
		if (!s->types || (s->types & (1u << ev->type)))
			break;
		pr_event_put(ev);
	}
	m.seq = ev->seq;
	m.ts = ev->ts_ns;
	/* Borrowed: packed before the reference is dropped. */
	m.type = (char *)(uintptr_t)pr_event_type_name(ev->type);
	m.session_id = ev->session_id;
	m.data_json = ev->data;
	m.lost_before = s->lost;
	*msg = pr_grpc_pack(&m.base);
	pr_event_put(ev);
	s->lost = 0;
	return PR_GRPC_NEXT_MSG;
}

void pr_grpc_events_close(struct pr_grpc_ctx *c)
{
	struct events_state *s = c->state;

	if (s)
		pr_events_unsubscribe(s->sub);
	free(s);
	c->state = NULL;
}
