// SPDX-License-Identifier: Apache-2.0
/*
 * A stored session as a replay source (pr_replay_session.h). The cursor
 * is reopened on the same store for each pass: the store and its key are
 * opened once by the caller (a passphrase's key derivation takes a
 * noticeable fraction of a second).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_replay_session.h"

struct pr_replay_session {
	struct pr_store *st;
	struct pr_query_pkts_req req;
	char *filter; /* req.filter points here */
	struct pr_query_pkts *q;
	struct pr_session_info si;
	char error[sizeof(((struct pr_query_err *)0)->msg)];
};

static int src_next(void *ctx, struct pr_block_pkt *pkt)
{
	struct pr_replay_session *rs = ctx;
	struct pr_query_err err;
	struct pr_query_pkt qp;
	int ret = pr_query_pkts_next(rs->q, &qp, &err);

	if (ret == 1)
		*pkt = qp.pkt;
	else if (ret < 0)
		snprintf(rs->error, sizeof(rs->error), "%s", err.msg);
	return ret;
}

static int src_rewind(void *ctx)
{
	struct pr_replay_session *rs = ctx;
	struct pr_query_err err;
	int ret;

	pr_query_pkts_close(rs->q);
	rs->q = NULL;
	ret = pr_query_pkts_open(rs->st, &rs->req, &rs->q, &err);
	if (ret)
		snprintf(rs->error, sizeof(rs->error), "%s", err.msg);
	return ret;
}

int pr_replay_session_create(struct pr_store *st, const struct pr_replay_session_req *req,
			     struct pr_replay_session **out, struct pr_query_err *err)
{
	struct pr_replay_session *rs;
	int ret;

	*out = NULL;
	rs = calloc(1, sizeof(*rs));
	if (!rs || (req->filter && !(rs->filter = strdup(req->filter)))) {
		free(rs);
		err->field = NULL;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	rs->st = st;
	rs->req = (struct pr_query_pkts_req){
		.session = req->session,
		.filter = rs->filter,
		.from_ns = req->from_ns,
		.to_ns = req->to_ns,
		.has_flow = req->has_flow,
		.flow_id = req->flow_id,
	};
	ret = pr_query_pkts_open(st, &rs->req, &rs->q, err);
	if (ret) {
		pr_replay_session_destroy(rs);
		return ret;
	}
	rs->si = *pr_query_pkts_session(rs->q);
	*out = rs;
	return 0;
}

void pr_replay_session_src(struct pr_replay_session *rs, struct pr_replay_src *src)
{
	*src = (struct pr_replay_src){ .next = src_next, .rewind = src_rewind, .ctx = rs };
}

const struct pr_session_info *pr_replay_session_info(const struct pr_replay_session *rs)
{
	return &rs->si;
}

const char *pr_replay_session_error(const struct pr_replay_session *rs)
{
	return rs->error;
}

struct lt_check {
	uint32_t want;
	int bad_iface;
	uint32_t bad_linktype;
};

static int lt_check_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct lt_check *lc = ctx;

	if (iface->linktype != lc->want && lc->bad_iface < 0) {
		lc->bad_iface = iface->index;
		lc->bad_linktype = iface->linktype;
	}
	return 0;
}

int pr_replay_session_check_linktype(struct pr_replay_session *rs, uint32_t linktype,
				     const char *iface, char *msg, size_t msg_len)
{
	struct lt_check lc = { .want = linktype, .bad_iface = -1 };
	int ret = pr_store_ifaces_foreach(rs->st, rs->si.id, lt_check_cb, &lc);

	if (ret < 0) {
		snprintf(msg, msg_len, "reading the session's interfaces: %s",
			 pr_store_errmsg(rs->st));
		return -EIO;
	}
	if (lc.bad_iface >= 0) {
		/* A raw-IP frame sent on Ethernet is garbage on the wire. */
		snprintf(msg, msg_len,
			 "session %lld interface %d has link type %u, but %s has link type %u; "
			 "frames are sent as stored, so the types must match",
			 (long long)rs->si.id, lc.bad_iface, lc.bad_linktype, iface, linktype);
		return -EINVAL;
	}
	return 0;
}

void pr_replay_session_destroy(struct pr_replay_session *rs)
{
	if (!rs)
		return;
	pr_query_pkts_close(rs->q);
	free(rs->filter);
	free(rs);
}
