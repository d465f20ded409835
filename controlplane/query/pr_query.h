/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The query engine: what `sessions`, `flows` and `query` answer, callable
 * without the CLI. Sessions are listed and fetched, flows are filtered by
 * time range, flow id and a limit, and packets are read through a cursor
 * that applies a BPF filter (compiled once per interface of the session,
 * whose link types differ), a time range, a flow id and a limit, skipping
 * blocks the filter cannot match through the block index.
 *
 * The engine never prints and never exits: every call returns 0 (or a
 * count, or 1/0 for a cursor) or a negative errno, and explains a failure
 * in a caller-owned struct pr_query_err. The CLI, the gRPC server and the
 * HTTP server are front ends over it and map the errno to an exit code or
 * a status; so that they answer alike, the message does not name the
 * front end's option or field, which the front end adds itself.
 *
 * The caller opens the store and owns it; a cursor borrows it and must be
 * closed first. One store and its cursors are used by one thread at a time
 * (the store's rule, pr_store.h).
 */
#ifndef PR_QUERY_H
#define PR_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pr_store.h"

/*
 * Why a call failed: one sentence, filled on every negative return. For
 * -EINVAL, field says which part of the request is wrong, so that a
 * front end can name it as its users know it (--filter, "filter"):
 */
#define PR_QUERY_FIELD_FILTER "filter" /* the BPF expression */
#define PR_QUERY_FIELD_RANGE "range" /* from and to */
#define PR_QUERY_FIELD_FORMAT "format" /* of a capture file */
struct pr_query_err {
	const char *field; /* one of the above, or NULL */
	char msg[1536];
};

/* ---- BPF filters ---- */

/*
 * Check that a BPF expression (tcpdump syntax) compiles for Ethernet.
 * NULL or "" is fine. 0, -EINVAL with err ("bad filter expression ..."),
 * or -ENOMEM.
 */
int pr_query_filter_check(const char *expr, struct pr_query_err *err);

/* A BPF filter compiled once per interface of a session. */
struct pr_query_filter;
/*
 * expr NULL or "" gives a filter that accepts everything. 0, -EINVAL for an
 * expression that does not compile for an interface of the session or that
 * can match no packet of it, -EIO when the store fails, -ENOMEM.
 */
int pr_query_filter_create(struct pr_store *st, int64_t session, const char *expr,
			   struct pr_query_filter **out, struct pr_query_err *err);
/* Does the packet pass? Any thread that owns f. */
bool pr_query_filter_match(const struct pr_query_filter *f, const struct pr_block_pkt *pkt);
void pr_query_filter_destroy(struct pr_query_filter *f); /* NULL is a no-op */

/* ---- sessions ---- */

/*
 * One session. 0, -ENOENT (no such session: err says so without naming
 * the store), or -EIO with the store's message.
 */
int pr_query_session_get(struct pr_store *st, int64_t session, struct pr_session_info *out,
			 struct pr_query_err *err);
/*
 * Every session, oldest first. fn's non-zero return stops the walk and is
 * returned (so a callback must not return a negative errno by accident).
 * A negative errno when the store fails.
 */
int pr_query_sessions(struct pr_store *st, pr_store_session_fn fn, void *ctx,
		      struct pr_query_err *err);
/* Total drops of a session, summed over the reasons. */
uint64_t pr_query_session_drops(const struct pr_session_info *s);

/* ---- flows ---- */

struct pr_query_flows_req {
	int64_t session;
	uint64_t from_ns; /* flows that last until from_ns or later (0: no bound) */
	uint64_t to_ns; /* flows that started at to_ns or before (0: no bound) */
	bool has_flow;
	uint64_t flow_id; /* with has_flow: only this flow */
	uint64_t limit; /* at most this many flows (0: all) */
};

/*
 * The flows of req->session that match, ordered by first packet, one call
 * of fn each. fn's non-zero return stops the walk and is returned. Returns
 * 0, -ENOENT for no such session, -EINVAL for from_ns > to_ns, -EIO.
 */
int pr_query_flows(struct pr_store *st, const struct pr_query_flows_req *req, pr_store_flow_fn fn,
		   void *ctx, struct pr_query_err *err);

/*
 * The same flows one at a time: open (-ENOENT, -EINVAL, -EIO as above),
 * next (1 with *out, 0 after the last or the limit, -EIO), close. The
 * cursor keeps a read transaction of st open until closed.
 */
struct pr_query_flows;
int pr_query_flows_open(struct pr_store *st, const struct pr_query_flows_req *req,
			struct pr_query_flows **out, struct pr_query_err *err);
int pr_query_flows_next(struct pr_query_flows *q, struct pr_store_flow *out,
			struct pr_query_err *err);
void pr_query_flows_close(struct pr_query_flows *q); /* NULL is a no-op */

/* ---- capture interfaces ---- */

/* An interface packets can be captured from (libpcap's list). */
struct pr_query_iface {
	const char *name;
	const char *description; /* "" if none */
	const char *const *addresses; /* IPv4 and IPv6 addresses as text */
	size_t n_addresses;
	bool up;
	bool running;
	bool loopback;
};

typedef int (*pr_query_iface_fn)(void *ctx, const struct pr_query_iface *iface);
/*
 * Every interface, in libpcap's order. fn's non-zero return stops the
 * walk and is returned. -EIO with libpcap's message when it cannot list.
 */
int pr_query_ifaces(pr_query_iface_fn fn, void *ctx, struct pr_query_err *err);

/* ---- packets ---- */

struct pr_query_pkts_req {
	int64_t session;
	const char *filter; /* BPF expression; NULL or "": every packet */
	uint64_t from_ns; /* packets with ts >= from_ns (0: from the start) */
	uint64_t to_ns; /* packets with ts <= to_ns (0: to the end) */
	bool has_flow;
	uint64_t flow_id;
	uint64_t limit; /* at most this many packets after the filter (0: all) */
};

/* One packet the cursor returns. */
struct pr_query_pkt {
	struct pr_block_pkt pkt; /* data valid until the next call on the cursor */
	uint64_t index; /* 0-based position of the packet in its session */
	uint32_t linktype; /* of its interface (0 if the session does not name it) */
};

struct pr_query_pkts;
/*
 * Open a cursor over the packets of a session. The filter is checked
 * before the store is read. Returns 0, -ENOENT (no such session), -EINVAL
 * (filter, or from_ns > to_ns), -EIO, -ENOMEM. Borrows st until closed.
 */
int pr_query_pkts_open(struct pr_store *st, const struct pr_query_pkts_req *req,
		       struct pr_query_pkts **out, struct pr_query_err *err);
/*
 * The next packet that passes: 1, 0 after the last (or the limit), or a
 * negative errno (-EBADMSG: a damaged block; err holds the store's message).
 */
int pr_query_pkts_next(struct pr_query_pkts *q, struct pr_query_pkt *out, struct pr_query_err *err);
/* The session the cursor reads, as it was when opened. */
const struct pr_session_info *pr_query_pkts_session(const struct pr_query_pkts *q);
/* The link type of interface iface of the session (0: unknown). */
uint32_t pr_query_pkts_linktype(const struct pr_query_pkts *q, uint32_t iface);
/* Packets the BPF filter rejected so far (time range and flow skips are not counted). */
uint64_t pr_query_pkts_filtered(const struct pr_query_pkts *q);
/*
 * The cursor's own parts, for front ends that walk the packets themselves
 * (export counts what the filter rejects and where a limit cut): the
 * store iterator (already restricted to the time range and flow) and the
 * filter. Valid until pr_query_pkts_close().
 */
struct pr_store_pkt_iter *pr_query_pkts_iter(struct pr_query_pkts *q);
const struct pr_query_filter *pr_query_pkts_filter(const struct pr_query_pkts *q);
void pr_query_pkts_close(struct pr_query_pkts *q); /* NULL is a no-op */

/* ---- packets as a capture file ---- */

/*
 * A session's packets as a pcap or pcapng file produced piece by piece,
 * for a network stream that sends one piece and waits until it is gone
 * before asking for the next: memory stays at one piece (and the
 * writer's buffer) whatever the size of the file. The interfaces are
 * declared as export declares them (pcap: one link type, nanosecond magic
 * if any interface has nanoseconds; pcapng: one IDB per interface with
 * its resolution).
 */
enum pr_query_pcap_format {
	PR_QUERY_PCAP = 1,
	PR_QUERY_PCAPNG = 2,
};

struct pr_query_pcap_req {
	struct pr_query_pkts_req pkts;
	enum pr_query_pcap_format format;
	const char *comment; /* pcapng shb_comment; NULL: none */
};

/* Receives the bytes of the file in order; valid during the call. 0 or a negative errno. */
typedef int (*pr_query_bytes_fn)(void *ctx, const uint8_t *data, size_t len);

struct pr_query_pcap;
/*
 * Open the cursor and write the file header into the writer's buffer.
 * Returns what pr_query_pkts_open() returns, and -EINVAL for pcap of a
 * session whose interfaces have different link types (err says use
 * pcapng).
 */
int pr_query_pcap_open(struct pr_store *st, const struct pr_query_pcap_req *req,
		       struct pr_query_pcap **out, struct pr_query_err *err);
/*
 * Produce the next piece of the file, of about piece_bytes (at most 1 MiB
 * plus one packet record), through one or more calls of fn. Returns 1
 * when more follows, 0 when this was the end of the file, or a negative
 * errno (the store's, or fn's own).
 */
int pr_query_pcap_next(struct pr_query_pcap *pc, size_t piece_bytes, pr_query_bytes_fn fn,
		       void *ctx, struct pr_query_err *err);
/* Packets written and bytes produced so far. */
uint64_t pr_query_pcap_packets(const struct pr_query_pcap *pc);
uint64_t pr_query_pcap_bytes(const struct pr_query_pcap *pc);
void pr_query_pcap_close(struct pr_query_pcap *pc); /* NULL is a no-op */

#endif /* PR_QUERY_H */
