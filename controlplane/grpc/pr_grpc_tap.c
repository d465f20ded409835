// SPDX-License-Identifier: Apache-2.0
/*
 * LiveTap: the packets a running capture stores, as they go by, through
 * the capture's live tap (controlplane/capctl/pr_tap.h), filtered and
 * rate-capped for this call alone. Like StreamEvents it never blocks its
 * worker: with nothing queued it parks and is stepped again every
 * PR_GRPC_POLL_MS. With something queued it sends one message at a time,
 * the next only when the transport has taken the last, so a slow client
 * fills its tap's bounded queue, and what does not fit is counted and
 * reported in the next packet's lost_before, never buffered here.
 *
 * The stream ends with OK once the capture has ended and this tap's queue
 * is drained; shutdown and cancellation end it like any stream.
 */
#define PR_LOG_MODULE "grpc"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packetrecorder.pb-c.h"
#include "pr_grpc_int.h"
#include "pr_tap.h"

struct tap_state {
	const struct pr_grpc_capture_ops *ops;
	struct pr_tap *tap;
};

int pr_grpc_tap_open(struct pr_grpc_ctx *c, const ProtobufCMessage *req, struct pr_grpc_status *st)
{
	const Packetrecorder__V1__LiveTapRequest *r = (const void *)req;
	const struct pr_grpc_capture_ops *ops = pr_grpc_server_captures(c->srv);
	struct pr_tap_opts o = {
		.filter = r->filter,
		.max_pps = r->max_packets_per_s,
		.snaplen = r->snaplen,
	};
	struct tap_state *s;
	int64_t chosen = 0;
	char msg[1024];
	int ret;

	if (!ops || !ops->tap_open)
		return pr_grpc_fail(st, GRPC_STATUS_UNIMPLEMENTED,
				    "LiveTap: this server does not control captures");
	s = calloc(1, sizeof(*s));
	if (!s)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	s->ops = ops;
	ret = ops->tap_open(ops->ctx, r->capture_id, &o, &s->tap, &chosen, msg, sizeof(msg));
	if (!ret) {
		c->state = s;
		return 0;
	}
	free(s);
	return pr_grpc_capture_fail(st, ret, msg);
}

int pr_grpc_tap_next(struct pr_grpc_ctx *c, grpc_byte_buffer **msg, struct pr_grpc_status *st)
{
	struct tap_state *s = c->state;
	Packetrecorder__V1__TapPacket m = PACKETRECORDER__V1__TAP_PACKET__INIT;
	struct pr_tap_pkt p;
	int ret = s->ops->tap_next(s->tap, &p);

	if (ret == 0)
		return PR_GRPC_NEXT_PARK;
	if (ret == -EPIPE)
		return PR_GRPC_NEXT_END;
	if (ret < 0)
		return pr_grpc_fail(st, GRPC_STATUS_INTERNAL, "LiveTap: %s", strerror(-ret));
	m.index = p.index;
	m.ts = p.ts_ns;
	m.cap_len = p.cap_len;
	m.wire_len = p.wire_len;
	m.iface = p.iface;
	m.linktype = p.linktype;
	m.flow_id = p.flow_id;
	/* Borrowed from the tap until its next call: packed before then. */
	m.data.data = (uint8_t *)(uintptr_t)p.data;
	m.data.len = p.cap_len;
	m.lost_before = p.lost_before;
	*msg = pr_grpc_pack(&m.base);
	if (!*msg)
		return pr_grpc_fail(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	return PR_GRPC_NEXT_MSG;
}

void pr_grpc_tap_close(struct pr_grpc_ctx *c)
{
	struct tap_state *s = c->state;

	if (s)
		s->ops->tap_close(s->tap);
	free(s);
	c->state = NULL;
}
