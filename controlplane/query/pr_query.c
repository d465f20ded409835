// SPDX-License-Identifier: Apache-2.0
/*
 * The query engine behind pr_query.h: session and flow listings over the
 * store's iterators, per-link-type BPF filters, and the packet cursor
 * with its block skipping. Moved out of the CLI so that the gRPC and HTTP
 * servers answer from the same code. Owns only what it allocates (the
 * compiled filters, the cursor, the list of flows to skip); the store is
 * the caller's. Never prints. The thread that owns the store.
 */
#include "pr_query.h"
#include "pr_filter.h"
#include "pr_linktype.h"
#include "pr_pcapw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_MAX_IFACES PR_FILTER_MAX_IFACES

static int failv(struct pr_query_err *err, int code, const char *field, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int failv(struct pr_query_err *err, int code, const char *field, const char *fmt, va_list ap)
{
	if (err) {
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		err->field = field;
	}
	return code;
}

static int fail(struct pr_query_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pr_query_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failv(err, code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

/* A request that is wrong in one of its parts (PR_QUERY_FIELD_*): -EINVAL. */
static int bad(struct pr_query_err *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct pr_query_err *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failv(err, -EINVAL, field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- BPF filters (dataplane/filter: one module for capture and queries) ---- */

struct pr_query_filter {
	struct pr_filter *f;
};

int pr_query_filter_check(const char *expr, struct pr_query_err *err)
{
	char why[sizeof(err->msg)];
	int ret = pr_filter_check(expr, why, sizeof(why));

	if (!ret)
		return 0;
	return ret == -EINVAL ? bad(err, PR_QUERY_FIELD_FILTER, "%s", why) :
				fail(err, ret, "%s", why);
}

struct filter_ctx {
	struct pr_query_filter *f;
	int ret;
	struct pr_query_err *err;
};

static int filter_iface_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct filter_ctx *fc = ctx;
	char why[sizeof(fc->err->msg)];
	int ret;

	if (iface->index >= PR_FILTER_MAX_IFACES)
		return 0; /* no program: its packets do not pass */
	ret = pr_filter_add_iface(fc->f->f, iface->index, iface->linktype, 262144, why,
				  sizeof(why));
	if (ret < 0) {
		fc->ret = ret == -EINVAL ? bad(fc->err, PR_QUERY_FIELD_FILTER, "%s", why) :
					   fail(fc->err, ret, "%s", why);
		return 1;
	}
	return 0;
}

int pr_query_filter_create(struct pr_store *st, int64_t session, const char *expr,
			   struct pr_query_filter **out, struct pr_query_err *err)
{
	struct pr_query_filter *f = calloc(1, sizeof(*f));
	struct filter_ctx fc = { .f = f, .ret = 0, .err = err };
	char why[sizeof(err->msg)];
	int ret;

	*out = NULL;
	if (!f)
		return fail(err, -ENOMEM, "filter: %s", strerror(ENOMEM));
	ret = pr_filter_create(expr, &f->f, why, sizeof(why));
	if (ret) {
		ret = ret == -EINVAL ? bad(err, PR_QUERY_FIELD_FILTER, "%s", why) :
				       fail(err, ret, "%s", why);
		goto err;
	}
	if (pr_filter_accepts_all(f->f)) {
		*out = f;
		return 0;
	}
	ret = pr_store_ifaces_foreach(st, session, filter_iface_cb, &fc);
	if (fc.ret) {
		ret = fc.ret;
		goto err;
	}
	if (ret < 0) {
		ret = fail(err, -EIO, "session %lld: interfaces: %s", (long long)session,
			   pr_store_errmsg(st));
		goto err;
	}
	/*
	 * Sessions mix link types: a filter that rejects all packets of some
	 * is fine, one that can match nothing of any is an error.
	 */
	if (pr_filter_ifaces_rejecting(f->f) && !pr_filter_ifaces_compiled(f->f)) {
		ret = bad(err, PR_QUERY_FIELD_FILTER,
			  "filter \"%s\" can match no packet of session %lld (expression "
			  "rejects all packets of its link types)",
			  expr, (long long)session);
		goto err;
	}
	*out = f;
	return 0;
err:
	pr_query_filter_destroy(f);
	return ret;
}

bool pr_query_filter_match(const struct pr_query_filter *f, const struct pr_block_pkt *pkt)
{
	return pr_filter_match(f->f, pkt->iface, pkt->data, pkt->cap_len, pkt->wire_len);
}

void pr_query_filter_destroy(struct pr_query_filter *f)
{
	if (!f)
		return;
	pr_filter_destroy(f->f);
	free(f);
}

/* ---- sessions ---- */

int pr_query_session_get(struct pr_store *st, int64_t session, struct pr_session_info *out,
			 struct pr_query_err *err)
{
	int ret = pr_store_session_get(st, session, out);

	if (ret == -ENOENT)
		return fail(err, -ENOENT, "no session %lld", (long long)session);
	if (ret)
		return fail(err, -EIO, "session %lld: %s", (long long)session, pr_store_errmsg(st));
	return 0;
}

int pr_query_sessions(struct pr_store *st, pr_store_session_fn fn, void *ctx,
		      struct pr_query_err *err)
{
	int ret = pr_store_sessions_foreach(st, fn, ctx);

	if (ret < 0)
		return fail(err, -EIO, "list sessions: %s", pr_store_errmsg(st));
	return ret;
}

uint64_t pr_query_session_drops(const struct pr_session_info *s)
{
	uint64_t t = 0;

	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		t += s->drops[i];
	return t;
}

/* ---- flows ---- */

struct pr_query_flows {
	struct pr_store *st;
	struct pr_store_flow_iter *it;
	struct pr_query_flows_req req;
	uint64_t returned;
};

int pr_query_flows_open(struct pr_store *st, const struct pr_query_flows_req *req,
			struct pr_query_flows **out, struct pr_query_err *err)
{
	struct pr_query_flows *q;
	struct pr_session_info si;
	int ret;

	*out = NULL;
	if (req->from_ns && req->to_ns && req->from_ns > req->to_ns)
		return bad(err, PR_QUERY_FIELD_RANGE, "from is after to: nothing could match");
	ret = pr_query_session_get(st, req->session, &si, err);
	if (ret)
		return ret;
	q = calloc(1, sizeof(*q));
	if (!q)
		return fail(err, -ENOMEM, "flows: %s", strerror(ENOMEM));
	q->st = st;
	q->req = *req;
	if (pr_store_flow_iter_create(st, req->session, &q->it)) {
		free(q);
		return fail(err, -EIO, "session %lld: flows: %s", (long long)req->session,
			    pr_store_errmsg(st));
	}
	*out = q;
	return 0;
}

int pr_query_flows_next(struct pr_query_flows *q, struct pr_store_flow *f, struct pr_query_err *err)
{
	const struct pr_query_flows_req *r = &q->req;
	int ret;

	if (r->limit && q->returned >= r->limit)
		return 0;
	while ((ret = pr_store_flow_iter_next(q->it, f)) == 1) {
		/* Does the flow overlap from/to, and is it the flow asked for? */
		if ((r->has_flow && f->flow_id != r->flow_id) ||
		    (r->from_ns && f->last_ts_ns < r->from_ns) ||
		    (r->to_ns && f->first_ts_ns > r->to_ns))
			continue;
		q->returned++;
		return 1;
	}
	if (ret < 0)
		return fail(err, -EIO, "session %lld: flows: %s", (long long)r->session,
			    pr_store_errmsg(q->st));
	return 0;
}

void pr_query_flows_close(struct pr_query_flows *q)
{
	if (!q)
		return;
	pr_store_flow_iter_destroy(q->it);
	free(q);
}

int pr_query_flows(struct pr_store *st, const struct pr_query_flows_req *req, pr_store_flow_fn fn,
		   void *ctx, struct pr_query_err *err)
{
	struct pr_query_flows *q;
	struct pr_store_flow f;
	int ret;

	ret = pr_query_flows_open(st, req, &q, err);
	if (ret)
		return ret;
	while ((ret = pr_query_flows_next(q, &f, err)) == 1) {
		ret = fn(ctx, &f);
		if (ret)
			break;
	}
	pr_query_flows_close(q);
	return ret;
}

/* ---- capture interfaces ---- */

static const char *addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				 buf, (socklen_t)len);
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6,
				 &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
				 (socklen_t)len);
	return NULL;
}

#define IFACE_MAX_ADDRS 64

int pr_query_ifaces(pr_query_iface_fn fn, void *ctx, struct pr_query_err *err)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_if_t *all = NULL;
	int ret = 0;

	if (pcap_findalldevs(&all, errbuf) < 0)
		return fail(err, -EIO, "list interfaces: %s", errbuf);
	for (pcap_if_t *d = all; d && !ret; d = d->next) {
		char text[IFACE_MAX_ADDRS][INET6_ADDRSTRLEN];
		const char *addrs[IFACE_MAX_ADDRS];
		struct pr_query_iface qi = {
			.name = d->name,
			.description = d->description ? d->description : "",
			.addresses = addrs,
			.up = (d->flags & PCAP_IF_UP) != 0,
			.running = (d->flags & PCAP_IF_RUNNING) != 0,
			.loopback = (d->flags & PCAP_IF_LOOPBACK) != 0,
		};

		for (pcap_addr_t *a = d->addresses; a && qi.n_addresses < IFACE_MAX_ADDRS;
		     a = a->next)
			if (addr_text(a->addr, text[qi.n_addresses], sizeof(text[0])))
				addrs[qi.n_addresses] = text[qi.n_addresses], qi.n_addresses++;
		ret = fn(ctx, &qi);
	}
	pcap_freealldevs(all);
	return ret;
}

/* ---- packets ---- */

struct pr_query_pkts {
	struct pr_store *st;
	struct pr_session_info si;
	struct pr_query_filter *flt;
	struct pr_store_pkt_iter *it;
	uint64_t *skip_flows; /* flows the filter cannot match: their blocks are not read */
	size_t n_skip_flows;
	uint64_t limit;
	uint64_t returned;
	uint64_t filtered;
	bool all_ethernet; /* every interface of the session is Ethernet */
	uint32_t linktype[FILTER_MAX_IFACES];
};

struct skip_ctx {
	const struct pr_query_filter *f;
	uint64_t *ids;
	size_t n, cap;
	bool failed;
};

/*
 * Can a packet of flow f, in either direction, pass the filter? Unknown:
 * yes. The filter module decides, for the simple filters only
 * (pr_filter_is_simple(): nothing but addresses, protocols and ports).
 */
static bool flow_may_match(const struct pr_query_filter *flt, const struct pr_store_flow *f)
{
	struct pr_filter_flow ff = {
		.iface = f->iface,
		.ip_version = f->ip_version,
		.ip_proto = f->ip_proto,
		.vlan = f->vlan,
		.src_port = f->src_port,
		.dst_port = f->dst_port,
	};

	memcpy(ff.src_ip, f->src_ip, sizeof(ff.src_ip));
	memcpy(ff.dst_ip, f->dst_ip, sizeof(ff.dst_ip));
	return pr_filter_flow_may_match(flt->f, &ff);
}

static int skip_flow_cb(void *ctx, const struct pr_store_flow *f)
{
	struct skip_ctx *c = ctx;

	if (!f->flow_id || flow_may_match(c->f, f))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		uint64_t *p = realloc(c->ids, cap * sizeof(*p));

		if (!p) {
			c->failed = true;
			return 1;
		}
		c->ids = p;
		c->cap = cap;
	}
	c->ids[c->n++] = f->flow_id;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int iface_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct pr_query_pkts *q = ctx;

	if (iface->index < FILTER_MAX_IFACES)
		q->linktype[iface->index] = iface->linktype;
	q->all_ethernet = q->all_ethernet && iface->linktype == 1;
	return 0;
}

/*
 * The flows of the session that the filter cannot match (sorted), for
 * the block index to skip. Only flows with a record are listed: packets
 * of a flow whose record was never stored (a killed capture) are read.
 * Any doubt, and nothing is skipped.
 */
static void filter_skip_flows(struct pr_query_pkts *q, int64_t session, const char *filter)
{
	struct skip_ctx c = { .f = q->flt };

	if (!filter || !filter[0] || !pr_filter_is_simple(filter) || !q->all_ethernet)
		return;
	/* Any order: the list is sorted below. */
	if (pr_store_flows_scan(q->st, session, skip_flow_cb, &c) < 0 || c.failed) {
		free(c.ids);
		return;
	}
	/* qsort() takes no NULL, even for nothing to sort. */
	if (c.n)
		qsort(c.ids, c.n, sizeof(*c.ids), cmp_id);
	q->skip_flows = c.ids;
	q->n_skip_flows = c.n;
}

int pr_query_pkts_open(struct pr_store *st, const struct pr_query_pkts_req *req,
		       struct pr_query_pkts **out, struct pr_query_err *err)
{
	struct pr_store_pkt_query sq = {
		.from_ns = req->from_ns,
		.to_ns = req->to_ns,
		.has_flow = req->has_flow,
		.flow_id = req->flow_id,
	};
	struct pr_query_pkts *q;
	int ret;

	*out = NULL;
	if (req->from_ns && req->to_ns && req->from_ns > req->to_ns)
		return bad(err, PR_QUERY_FIELD_RANGE, "from is after to: nothing could match");
	ret = pr_query_filter_check(req->filter, err);
	if (ret)
		return ret;
	q = calloc(1, sizeof(*q));
	if (!q)
		return fail(err, -ENOMEM, "query: %s", strerror(ENOMEM));
	q->st = st;
	q->limit = req->limit;
	q->all_ethernet = true;
	ret = pr_query_session_get(st, req->session, &q->si, err);
	if (ret)
		goto err;
	if (pr_store_ifaces_foreach(st, req->session, iface_cb, q) < 0) {
		ret = fail(err, -EIO, "session %lld: interfaces: %s", (long long)req->session,
			   pr_store_errmsg(st));
		goto err;
	}
	ret = pr_query_filter_create(st, req->session, req->filter, &q->flt, err);
	if (ret)
		goto err;
	filter_skip_flows(q, req->session, req->filter);
	sq.skip_flows = q->skip_flows;
	sq.n_skip_flows = q->n_skip_flows;
	if (pr_store_pkt_iter_create_query(st, req->session, &sq, &q->it)) {
		ret = fail(err, -EIO, "session %lld: %s", (long long)req->session,
			   pr_store_errmsg(st));
		goto err;
	}
	*out = q;
	return 0;
err:
	pr_query_pkts_close(q);
	return ret;
}

int pr_query_pkts_next(struct pr_query_pkts *q, struct pr_query_pkt *out, struct pr_query_err *err)
{
	int ret;

	if (q->limit && q->returned >= q->limit)
		return 0;
	while ((ret = pr_store_pkt_iter_next(q->it, &out->pkt)) == 1) {
		if (!pr_query_filter_match(q->flt, &out->pkt)) {
			q->filtered++;
			continue;
		}
		/* The range and flow skip packets: the index comes from the store. */
		out->index = pr_store_pkt_iter_index(q->it);
		out->linktype = out->pkt.iface < FILTER_MAX_IFACES ? q->linktype[out->pkt.iface] :
								     0;
		q->returned++;
		return 1;
	}
	if (ret < 0)
		return fail(err, ret, "session %lld: %s", (long long)q->si.id,
			    pr_store_errmsg(q->st));
	return 0;
}

const struct pr_session_info *pr_query_pkts_session(const struct pr_query_pkts *q)
{
	return &q->si;
}

uint32_t pr_query_pkts_linktype(const struct pr_query_pkts *q, uint32_t iface)
{
	return iface < FILTER_MAX_IFACES ? q->linktype[iface] : 0;
}

uint64_t pr_query_pkts_filtered(const struct pr_query_pkts *q)
{
	return q->filtered;
}

struct pr_store_pkt_iter *pr_query_pkts_iter(struct pr_query_pkts *q)
{
	return q->it;
}

const struct pr_query_filter *pr_query_pkts_filter(const struct pr_query_pkts *q)
{
	return q->flt;
}

void pr_query_pkts_close(struct pr_query_pkts *q)
{
	if (!q)
		return;
	pr_store_pkt_iter_destroy(q->it);
	pr_query_filter_destroy(q->flt);
	free(q->skip_flows);
	free(q);
}

/* ---- packets as a capture file ---- */

/* The writer's buffer is 1 MiB (pr_pcapw.c): a piece is at most that. */
#define PCAP_PIECE_MAX (1u << 20)

struct pr_query_pcap {
	struct pr_query_pkts *q;
	struct pr_pcapw *w;
	enum pr_query_pcap_format format;
	int map[FILTER_MAX_IFACES]; /* session interface -> file interface, -1: none */
	bool any_nsec;
	bool have_first;
	uint32_t first_linktype;
	int ret; /* of the interface walks */
	struct pr_query_err *err;
	uint64_t packets;
	uint64_t bytes;
	/* Where the writer's bytes go during pr_query_pcap_next(). */
	pr_query_bytes_fn fn;
	void *ctx;
	bool delivered;
	int fn_err;
};

static int pcap_write_cb(void *ctx, const uint8_t *data, size_t len)
{
	struct pr_query_pcap *pc = ctx;
	int ret;

	/* The header is buffered at open, before any fn: it goes with the first piece. */
	if (!pc->fn)
		return -EAGAIN;
	ret = pc->fn(pc->ctx, data, len);
	if (ret) {
		pc->fn_err = ret;
		return ret;
	}
	pc->bytes += len;
	pc->delivered = true;
	return 0;
}

static int pcap_scan_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct pr_query_pcap *pc = ctx;

	if (iface->tsresol != 6)
		pc->any_nsec = true;
	if (pc->format != PR_QUERY_PCAP)
		return 0;
	if (!pc->have_first) {
		pc->have_first = true;
		pc->first_linktype = iface->linktype;
	} else if (iface->linktype != pc->first_linktype) {
		pc->ret = bad(pc->err, PR_QUERY_FIELD_FORMAT,
			      "the session has interfaces with different link types (%u and %u): "
			      "pcap holds one; use pcapng",
			      pc->first_linktype, iface->linktype);
		return 1;
	}
	return 0;
}

static int pcap_iface_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct pr_query_pcap *pc = ctx;
	struct pr_pcapw_iface wi = {
		.linktype = iface->linktype,
		.snaplen = iface->snaplen,
		/* pcap has one magic: nanoseconds if any interface needs them. */
		.tsresol = pc->format == PR_QUERY_PCAP ? (pc->any_nsec ? 9 : 6) : iface->tsresol,
		.name = iface->name,
		.description = iface->description,
	};
	int idx;

	if (iface->index >= FILTER_MAX_IFACES)
		return 0;
	idx = pr_pcapw_add_iface(pc->w, &wi);
	if (idx < 0) {
		pc->ret = fail(pc->err, idx, "interface %u: %s", iface->index, strerror(-idx));
		return 1;
	}
	pc->map[iface->index] = idx;
	return 0;
}

int pr_query_pcap_open(struct pr_store *st, const struct pr_query_pcap_req *req,
		       struct pr_query_pcap **out, struct pr_query_err *err)
{
	struct pr_query_pcap *pc = calloc(1, sizeof(*pc));
	struct pr_pcapw_cfg wc = {
		.format = req->format == PR_QUERY_PCAPNG ? PR_PCAPW_PCAPNG : PR_PCAPW_PCAP,
		.write_fn = pcap_write_cb,
		.comment = req->comment,
		.user_appl = "packetrecorder " PR_VERSION,
	};
	int ret;

	*out = NULL;
	if (!pc)
		return fail(err, -ENOMEM, "download: %s", strerror(ENOMEM));
	if (req->format != PR_QUERY_PCAP && req->format != PR_QUERY_PCAPNG) {
		ret = bad(err, PR_QUERY_FIELD_FORMAT, "not pcap or pcapng");
		goto err;
	}
	pc->format = req->format;
	pc->err = err;
	for (int i = 0; i < FILTER_MAX_IFACES; i++)
		pc->map[i] = -1;
	ret = pr_query_pkts_open(st, &req->pkts, &pc->q, err);
	if (ret)
		goto err;
	if (pr_store_ifaces_foreach(st, req->pkts.session, pcap_scan_cb, pc) < 0 && !pc->ret)
		pc->ret = fail(err, -EIO, "session %lld: interfaces: %s",
			       (long long)req->pkts.session, pr_store_errmsg(st));
	if ((ret = pc->ret))
		goto err;
	wc.write_ctx = pc;
	ret = pr_pcapw_create(&wc, &pc->w);
	if (ret) {
		fail(err, ret, "download: %s", strerror(-ret));
		goto err;
	}
	if (pr_store_ifaces_foreach(st, req->pkts.session, pcap_iface_cb, pc) < 0 && !pc->ret)
		pc->ret = fail(err, -EIO, "session %lld: interfaces: %s",
			       (long long)req->pkts.session, pr_store_errmsg(st));
	if ((ret = pc->ret))
		goto err;
	*out = pc;
	return 0;
err:
	pr_query_pcap_close(pc);
	return ret;
}

int pr_query_pcap_next(struct pr_query_pcap *pc, size_t piece_bytes, pr_query_bytes_fn fn,
		       void *ctx, struct pr_query_err *err)
{
	struct pr_query_pkt p;
	int ret = 0;

	if (!piece_bytes || piece_bytes > PCAP_PIECE_MAX)
		piece_bytes = PCAP_PIECE_MAX;
	pc->fn = fn;
	pc->ctx = ctx;
	pc->delivered = false;
	pc->fn_err = 0;
	while (!pc->delivered) {
		ret = pr_query_pkts_next(pc->q, &p, err);
		if (ret <= 0)
			break;
		if (p.pkt.iface >= FILTER_MAX_IFACES || pc->map[p.pkt.iface] < 0) {
			ret = fail(err, -EBADMSG,
				   "session %lld: a packet names interface %u, which the session "
				   "does not have",
				   (long long)pr_query_pkts_session(pc->q)->id, p.pkt.iface);
			break;
		}
		ret = pr_pcapw_write(pc->w, (uint32_t)pc->map[p.pkt.iface], p.pkt.ts_ns, p.pkt.data,
				     p.pkt.cap_len, p.pkt.wire_len);
		if (!ret && pr_pcapw_buffered(pc->w) >= piece_bytes)
			ret = pr_pcapw_flush(pc->w);
		if (ret) {
			if (!pc->fn_err)
				fail(err, ret, "download: %s", strerror(-ret));
			break;
		}
		pc->packets++;
		ret = 1;
	}
	/* The end: what is left in the buffer is the last piece (maybe the header alone). */
	if (ret == 0 && pr_pcapw_buffered(pc->w)) {
		ret = pr_pcapw_flush(pc->w);
		if (ret && !pc->fn_err)
			fail(err, ret, "download: %s", strerror(-ret));
	}
	pc->fn = NULL;
	if (ret < 0)
		return ret;
	return ret == 1 ? 1 : 0;
}

uint64_t pr_query_pcap_packets(const struct pr_query_pcap *pc)
{
	return pc->packets;
}

uint64_t pr_query_pcap_bytes(const struct pr_query_pcap *pc)
{
	return pc->bytes;
}

void pr_query_pcap_close(struct pr_query_pcap *pc)
{
	if (!pc)
		return;
	if (pc->w) {
		/* Nothing may reach a caller's fn after the end: drop what is buffered. */
		pc->fn = NULL;
		pr_pcapw_close(pc->w);
	}
	pr_query_pkts_close(pc->q);
	free(pc);
}
