/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stored session as the replay engine's packet source (struct
 * pr_replay_src): the query engine's packet cursor with the request's BPF
 * filter, time range and flow, opened again for each pass of a loop, plus
 * the check that frames sent as stored suit the link type of the
 * interface they go out of. `packetrecorder replay` and the daemon's
 * replay control (pr_replayctl.h) both read sessions through it, so that
 * they select the same packets.
 *
 * Never prints, never exits. The caller opens the store and owns it; the
 * source borrows it until destroyed. One thread at a time (the store's
 * rule, pr_store.h).
 */
#ifndef PR_REPLAY_SESSION_H
#define PR_REPLAY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pr_query.h"
#include "pr_replay.h"

struct pr_replay_session_req {
	int64_t session;
	const char *filter; /* BPF expression; NULL or "": every packet */
	uint64_t from_ns; /* 0: from the start */
	uint64_t to_ns; /* 0: to the end */
	bool has_flow;
	uint64_t flow_id;
};

struct pr_replay_session;

/*
 * Open the cursor (borrowing st). Returns what pr_query_pkts_open()
 * returns: 0, -ENOENT (no such session), -EINVAL (filter, or the range;
 * err->field says which), -EIO, -ENOMEM; err explains.
 */
int pr_replay_session_create(struct pr_store *st, const struct pr_replay_session_req *req,
			     struct pr_replay_session **out, struct pr_query_err *err);

/* The engine's source over rs, valid until pr_replay_session_destroy(). */
void pr_replay_session_src(struct pr_replay_session *rs, struct pr_replay_src *src);

/* The session, as it was when the cursor was opened. */
const struct pr_session_info *pr_replay_session_info(const struct pr_replay_session *rs);

/*
 * Why the source last failed (a damaged block, a store error), naming
 * nothing of the caller's; "" when it has not.
 */
const char *pr_replay_session_error(const struct pr_replay_session *rs);

/*
 * Frames go out as stored, so every interface of the session must have
 * the link type the dataplane sends (pr_replay_result.tx_linktype) on
 * iface. 0, -EINVAL with msg saying which interface differs, or -EIO
 * (the store; msg says so).
 */
int pr_replay_session_check_linktype(struct pr_replay_session *rs, uint32_t linktype,
				     const char *iface, char *msg, size_t msg_len);

void pr_replay_session_destroy(struct pr_replay_session *rs); /* NULL is a no-op */

#endif /* PR_REPLAY_SESSION_H */
