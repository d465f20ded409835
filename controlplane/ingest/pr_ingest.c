// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_ingest.h. Records are taken from each ring in
 * turn, a bounded batch at a time, so one busy worker cannot starve the
 * others' rings; a record in the ring is turned into the store's own
 * types here (interfaces, packets, flows) and never passed on as is.
 * The checkpointer thread owns its own store connection and touches
 * nothing else of the ingest but its lock-protected stop flag.
 */
#include "pr_ingest.h"
#include "pr_l7view.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_IFACES 256

/*
 * The WAL checkpointer: its own connection in its own thread copies
 * committed WAL frames into the database file while the writer goes on
 * storing. Done on the writer's thread, every checkpoint (the copy and
 * its fdatasync) stalled the ring consumer and, through a full ring, the
 * capture; here it runs beside it, on another core.
 */
struct checkpointer {
	struct pr_store *st;
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool running;
};

struct ring {
	struct pr_ring_cons cons;
	uint64_t released; /* cons index last handed back to the producer */
	uint64_t end_at; /* with release_on_commit: where the END record starts */
	bool ended;
	uint32_t end_reason;
	uint64_t counters[PR_STAT_MAX]; /* this core's latest STATS */
	struct pr_metric_series *occupancy; /* with cfg.sm: this ring's gauge */
	bool have_stats; /* counters holds a STATS record of this core */
};

/* What the ingest adds to the daemon's metrics (cfg.sm), and has added. */
struct ingest_metrics {
	char iface[64];
	uint32_t linktype[MAX_IFACES];
	uint64_t packets[PR_SM_PROTO_MAX]; /* counted, not added yet: once per poll */
	uint64_t bytes[PR_SM_PROTO_MAX];
	struct pr_sm_capture cap;
	double backlog; /* this capture's share of the gauges */
	double flows;
};

struct pr_ingest {
	struct pr_ingest_cfg cfg;
	struct ingest_metrics m;
	struct checkpointer ck;
	uint32_t n_rings;
	struct ring rings[PR_INGEST_MAX_RINGS];
	bool iface_seen[MAX_IFACES];
	bool corrupt;
	uint64_t last_commit_ns;
	uint64_t bytes_since_commit;
	struct pr_ingest_stats s;
};

static void *checkpointer_main(void *arg)
{
	struct checkpointer *ck = arg;

	pthread_mutex_lock(&ck->lock);
	while (!ck->stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ck->cond, &ck->lock, &until);
		if (ck->stop)
			break;
		pthread_mutex_unlock(&ck->lock);
		/* Failures here are not fatal: the writer's data is in the WAL either way. */
		pr_store_checkpoint(ck->st, false);
		pthread_mutex_lock(&ck->lock);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

/* Start it on a second connection. Without one the writer checkpoints itself. */
static void checkpointer_start(struct checkpointer *ck, const struct pr_store_cfg *scfg)
{
	struct pr_store_cfg c = *scfg;

	memset(ck, 0, sizeof(*ck));
	c.create = false;
	if (pr_store_open(&c, &ck->st))
		return;
	pthread_mutex_init(&ck->lock, NULL);
	pthread_cond_init(&ck->cond, NULL);
	if (pthread_create(&ck->tid, NULL, checkpointer_main, ck)) {
		pthread_mutex_destroy(&ck->lock);
		pthread_cond_destroy(&ck->cond);
		pr_store_close(ck->st);
		ck->st = NULL;
		return;
	}
	ck->running = true;
}

static void checkpointer_stop(struct checkpointer *ck)
{
	if (ck->running) {
		pthread_mutex_lock(&ck->lock);
		ck->stop = true;
		pthread_cond_signal(&ck->cond);
		pthread_mutex_unlock(&ck->lock);
		pthread_join(ck->tid, NULL);
		pthread_mutex_destroy(&ck->lock);
		pthread_cond_destroy(&ck->cond);
		ck->running = false;
	}
	pr_store_close(ck->st);
	ck->st = NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An interface the session already has (resume). */
static int mark_iface(void *ctx, const struct pr_store_iface *iface)
{
	struct pr_ingest *ig = ctx;

	if (iface->index < MAX_IFACES)
		ig->iface_seen[iface->index] = true;
	return 0;
}

int pr_ingest_create(const struct pr_ingest_cfg *cfg, struct pr_ingest **out)
{
	struct pr_ingest *ig;

	*out = NULL;
	if (!cfg->st || cfg->session <= 0)
		return -EINVAL;
	ig = calloc(1, sizeof(*ig));
	if (!ig)
		return -ENOMEM;
	ig->cfg = *cfg;
	ig->cfg.checkpoint_cfg = NULL; /* borrowed only until now */
	snprintf(ig->m.iface, sizeof(ig->m.iface), "%s",
		 cfg->metrics_iface ? cfg->metrics_iface : "unknown");
	ig->cfg.metrics_iface = ig->m.iface;
	if (cfg->resume && pr_store_ifaces_foreach(cfg->st, cfg->session, mark_iface, ig) < 0) {
		free(ig);
		return -EIO;
	}
	if (cfg->checkpoint_cfg)
		checkpointer_start(&ig->ck, cfg->checkpoint_cfg);
	ig->last_commit_ns = mono_ns();
	*out = ig;
	return 0;
}

void pr_ingest_destroy(struct pr_ingest *ig)
{
	if (!ig)
		return;
	checkpointer_stop(&ig->ck);
	pr_store_checkpoint(ig->cfg.st, true);
	if (ig->cfg.sm) {
		/* Gone with the capture: its rings, its backlog, its open flows. */
		for (uint32_t i = 0; i < ig->n_rings; i++)
			pr_metric_series_hide(ig->rings[i].occupancy);
		pr_metric_add(ig->cfg.sm->storage_backlog, -ig->m.backlog);
		pr_metric_add(ig->cfg.sm->flow_table_size, -ig->m.flows);
	}
	free(ig);
}

int pr_ingest_add_ring(struct pr_ingest *ig, struct pr_ring_header *ring)
{
	struct ring *r;
	int ret;

	if (ig->n_rings >= PR_INGEST_MAX_RINGS)
		return -E2BIG;
	r = &ig->rings[ig->n_rings];
	memset(r, 0, sizeof(*r));
	ret = pr_ring_cons_init(&r->cons, ring, PR_RING_ROLE_RX);
	if (ret)
		return ret;
	r->released = r->cons.tail;
	if (ig->cfg.sm) {
		char w[16];

		/* Looked up once: the poll loop only stores into it. No series: no gauge. */
		snprintf(w, sizeof(w), "%u", ig->n_rings);
		if (pr_metric_series(ig->cfg.sm->ring_occupancy,
				     (const char *const[]){ ig->m.iface, w }, &r->occupancy))
			r->occupancy = NULL;
	}
	ig->n_rings++;
	ig->s.rings = ig->n_rings;
	ig->s.ring_capacity_bytes += (uint64_t)r->cons.slot_count * PR_RING_SLOT_SIZE;
	return 0;
}

static void store_fail(struct pr_ingest *ig, const char *what)
{
	if (ig->s.store_failed)
		return;
	ig->s.store_failed = true;
	snprintf(ig->s.store_err, sizeof(ig->s.store_err), "%s: %s", what,
		 pr_store_errmsg(ig->cfg.st));
}

void pr_ingest_drops_of(const uint64_t counters[PR_STAT_MAX], uint64_t drops[PR_DROP_REASON_MAX])
{
	memset(drops, 0, sizeof(uint64_t) * PR_DROP_REASON_MAX);
	drops[PR_DROP_RING_FULL] = counters[PR_STAT_DROP_RING_FULL];
	drops[PR_DROP_KERNEL] = counters[PR_STAT_DROP_KERNEL];
	drops[PR_DROP_IFACE] = counters[PR_STAT_DROP_IFACE];
	drops[PR_DROP_TOO_BIG] = counters[PR_STAT_DROP_TOO_BIG];
	drops[PR_DROP_STORE] = counters[PR_STAT_DROP_BACKLOG];
	drops[PR_DROP_NO_SOCKET] = counters[PR_STAT_DROP_NO_SOCKET];
	drops[PR_DROP_XSK_RX] = counters[PR_STAT_DROP_XSK_RX];
	drops[PR_DROP_XSK_RING_FULL] = counters[PR_STAT_DROP_XSK_RING_FULL];
	drops[PR_DROP_NIC_MISSED] = counters[PR_STAT_DROP_NIC_MISSED];
	drops[PR_DROP_NIC_NOMBUF] = counters[PR_STAT_DROP_NIC_NOMBUF];
	drops[PR_DROP_NIC_ERRORS] = counters[PR_STAT_DROP_NIC_ERRORS];
}

/*
 * Have all cores reported their counters? Until then the sum is short of
 * the cores not heard from: a control plane that attached to a running
 * dataplane would overwrite its predecessor's figures with smaller ones.
 */
static bool all_stats(const struct pr_ingest *ig)
{
	for (uint32_t r = 0; r < ig->n_rings; r++)
		if (!ig->rings[r].have_stats)
			return false;
	return true;
}

/* The session's accounting (received, filtered, drops) from the cores' counters. */
static void set_accounting(struct pr_ingest *ig)
{
	uint64_t d[PR_DROP_REASON_MAX];

	pr_ingest_drops_of(ig->s.counters, d);
	pr_store_session_set_drops(ig->cfg.st, ig->cfg.session, d);
	pr_store_session_set_received(ig->cfg.st, ig->cfg.session, ig->s.counters[PR_STAT_RECEIVED],
				      ig->s.counters[PR_STAT_FILTERED] +
					      ig->s.counters[PR_STAT_FILTERED_EARLY]);
}

const char *pr_ingest_end_reason_name(uint32_t reason)
{
	switch (reason) {
	case PR_END_EOF:
		return "eof";
	case PR_END_COUNT:
		return "count";
	case PR_END_DURATION:
		return "duration";
	case PR_END_STOPPED:
		return "stopped";
	default:
		return "error";
	}
}

/*
 * Which end describes the capture when the cores ended differently: an
 * error anywhere makes it failed; a limit that one core reached (and that
 * stopped the others) says more than the others' "stopped".
 */
static int end_rank(uint32_t reason)
{
	switch (reason) {
	case PR_END_ERROR:
		return 5;
	case PR_END_COUNT:
		return 4;
	case PR_END_DURATION:
		return 3;
	case PR_END_EOF:
		return 2;
	case PR_END_STOPPED:
		return 1;
	default:
		return 0;
	}
}

static void merge_end(struct pr_ingest *ig, uint32_t reason, int error, const char *msg)
{
	if (reason != PR_END_ERROR && reason != PR_END_EOF && reason != PR_END_COUNT &&
	    reason != PR_END_DURATION && reason != PR_END_STOPPED) {
		/* An end we do not know is a producer we do not understand. */
		reason = PR_END_ERROR;
		error = -EPROTO;
		msg = "a core ended with an unknown reason";
	}
	if (end_rank(reason) <= end_rank(ig->s.end_reason))
		return;
	ig->s.end_reason = reason;
	ig->s.end_error = error;
	snprintf(ig->s.end_msg, sizeof(ig->s.end_msg), "%s", msg ? msg : "");
}

void pr_ingest_set_error(struct pr_ingest *ig, int error, const char *msg)
{
	merge_end(ig, PR_END_ERROR, error, msg);
}

static void sum_counters(struct pr_ingest *ig)
{
	memset(ig->s.counters, 0, sizeof(ig->s.counters));
	for (uint32_t r = 0; r < ig->n_rings; r++)
		for (int i = 0; i < PR_STAT_MAX; i++)
			ig->s.counters[i] += ig->rings[r].counters[i];
}

static void on_iface(struct pr_ingest *ig, const struct pr_rec_iface *r)
{
	struct pr_store_iface si = {
		.index = r->iface,
		.linktype = r->linktype,
		.snaplen = r->snaplen,
		.tsresol = r->tsresol,
	};

	/*
	 * Every worker of one interface announces it: the first announcement
	 * is stored, the others describe the same interface.
	 */
	if (r->iface < MAX_IFACES) {
		if (ig->iface_seen[r->iface])
			return;
		ig->iface_seen[r->iface] = true;
	}
	snprintf(si.name, sizeof(si.name), "%s", r->name);
	snprintf(si.description, sizeof(si.description), "%s", r->description);
	if (!ig->s.store_failed && pr_store_session_add_iface(ig->cfg.st, ig->cfg.session, &si))
		store_fail(ig, "store interface");
	if (r->iface < MAX_IFACES)
		ig->m.linktype[r->iface] = r->linktype;
	if (ig->cfg.on_iface)
		ig->cfg.on_iface(ig->cfg.ctx, r);
}

static void on_packet(struct pr_ingest *ig, const struct pr_rec_packet *r)
{
	struct pr_block_pkt p = {
		.ts_ns = r->ts_ns,
		.flow_id = r->flow_id,
		.cap_len = r->cap_len,
		.wire_len = r->wire_len,
		.iface = r->iface,
		.pflags = r->pflags,
		.data = r->data,
	};

	if (r->cap_len > r->hdr.len - sizeof(*r))
		return; /* cannot happen with a sane producer; never read past the record */
	if (!ig->s.store_failed && pr_store_add_packet(ig->cfg.st, ig->cfg.session, &p))
		store_fail(ig, "store packet");
	ig->s.packets++;
	ig->s.bytes += r->wire_len;
	ig->s.captured += r->cap_len;
	ig->bytes_since_commit += r->cap_len;
	if (ig->cfg.sm) {
		enum pr_sm_proto proto = pr_sm_proto_of_packet(
			r->iface < MAX_IFACES ? ig->m.linktype[r->iface] : 0, r->data, r->cap_len);

		ig->m.packets[proto]++;
		ig->m.bytes[proto] += r->wire_len;
	}
	if (ig->cfg.on_packet)
		ig->cfg.on_packet(ig->cfg.ctx, r);
}

/* The ring's flow record as the store keeps it (the two layouts are each their own). */
static void flow_from_rec(const struct pr_rec_flow *r, struct pr_store_flow *f)
{
	*f = (struct pr_store_flow){
		.flow_id = r->flow_id,
		.first_ts_ns = r->first_ts_ns,
		.last_ts_ns = r->last_ts_ns,
		.packets = { r->packets[0], r->packets[1] },
		.bytes = { r->bytes[0], r->bytes[1] },
		.src_port = r->src_port,
		.dst_port = r->dst_port,
		.vlan = r->vlan,
		.iface = r->iface,
		.ip_version = r->ip_version,
		.ip_proto = r->ip_proto,
		.tcp_state = r->tcp_state,
		.end_reason = r->end_reason,
		.tcp_flags = { r->tcp_flags[0], r->tcp_flags[1] },
		.app = r->app,
	};
	memcpy(f->src_ip, r->src_ip, sizeof(f->src_ip));
	memcpy(f->dst_ip, r->dst_ip, sizeof(f->dst_ip));
}

static void on_flow(struct pr_ingest *ig, const struct pr_rec_flow *r)
{
	struct pr_store_flow f;

	flow_from_rec(r, &f);
	if (!ig->s.store_failed && pr_store_add_flow(ig->cfg.st, ig->cfg.session, &f))
		store_fail(ig, "store flow");
	ig->s.flows++;
}

/* L7 metadata: the store keeps each META record as a row with its fields as JSON. */
static void on_meta(struct pr_ingest *ig, const struct pr_rec_meta *r)
{
	struct pr_store_l7 m = {
		.flow_id = r->flow_id,
		.ts_ns = r->ts_ns,
		.dir = r->dir,
	};
	char app[sizeof(r->app) + 1], kind[sizeof(r->kind) + 1], *fields = NULL;

	memcpy(app, r->app, sizeof(r->app));
	app[sizeof(r->app)] = 0;
	memcpy(kind, r->kind, sizeof(r->kind));
	kind[sizeof(r->kind)] = 0;
	m.app = app;
	m.kind = kind;
	ig->s.metas++;
	if (pr_l7view_fields_json(r, &fields)) {
		ig->s.metas_bad++;
		return;
	}
	m.fields = fields;
	if (!ig->s.store_failed && pr_store_add_l7(ig->cfg.st, ig->cfg.session, &m))
		store_fail(ig, "store l7 metadata");
	free(fields);
}

static void on_stats(struct pr_ingest *ig, struct ring *rg, const struct pr_rec_stats *r)
{
	uint64_t d[PR_DROP_REASON_MAX];

	/* Cumulative per core: the latest replaces this core's, then all cores are summed. */
	memcpy(rg->counters, r->counters, sizeof(rg->counters));
	rg->have_stats = true;
	sum_counters(ig);
	/* The completeness map: each change of the drop counters. */
	pr_ingest_drops_of(ig->s.counters, d);
	if (!ig->s.store_failed &&
	    pr_store_stats_add(ig->cfg.st, ig->cfg.session, wall_ns(), d) < 0)
		store_fail(ig, "store drop counters");
	if (ig->cfg.sm) {
		uint64_t made = ig->s.counters[PR_STAT_FLOWS_CREATED],
			 ended = ig->s.counters[PR_STAT_FLOWS_ENDED];
		double open = made > ended ? (double)(made - ended) : 0;

		const uint64_t *c = ig->s.counters;
		const uint64_t frag[PR_SM_IPFRAG_MAX] = {
			[PR_SM_IPFRAG_REASSEMBLED] = c[PR_STAT_IPFRAG_REASSEMBLED],
			[PR_SM_IPFRAG_TIMEOUT] = c[PR_STAT_IPFRAG_TIMEOUTS],
			[PR_SM_IPFRAG_EVICTED] = c[PR_STAT_IPFRAG_EVICTED],
			[PR_SM_IPFRAG_DROPPED] = c[PR_STAT_IPFRAG_DROPPED],
		};

		pr_sensor_metrics_capture_drops(ig->cfg.sm, &ig->m.cap, d);
		pr_sensor_metrics_capture_ipfrag(ig->cfg.sm, &ig->m.cap, c[PR_STAT_FRAGMENTS],
						 frag);
		pr_sensor_metrics_capture_l7(ig->cfg.sm, &ig->m.cap, c);
		pr_metric_add(ig->cfg.sm->flow_table_size, open - ig->m.flows);
		ig->m.flows = open;
	}
}

static void on_end(struct pr_ingest *ig, struct ring *rg, const struct pr_rec_end *e)
{
	char msg[sizeof(e->message)];

	memcpy(msg, e->message, sizeof(msg));
	msg[sizeof(msg) - 1] = 0;
	rg->ended = true;
	rg->end_reason = e->reason;
	ig->s.ends++;
	merge_end(ig, e->reason, e->error, msg);
}

static void release(struct pr_ingest *ig, struct ring *rg)
{
	uint64_t to = rg->cons.tail;

	/*
	 * With release_on_commit the END record itself is never handed back:
	 * a control plane that takes over after a crash reads it again and
	 * learns that this core is done, and how it ended.
	 */
	if (ig->cfg.release_on_commit && rg->ended && rg->end_at < to)
		to = rg->end_at;
	if (to != rg->released) {
		atomic_store_explicit(&rg->cons.h->cons, to, memory_order_release);
		rg->released = to;
	}
}

/* Up to budget records of one ring. Returns how many, or -EBADMSG. */
static int poll_ring(struct pr_ingest *ig, uint32_t idx, unsigned int budget)
{
	struct ring *rg = &ig->rings[idx];
	const struct pr_rec_hdr *h;
	unsigned int n = 0;

	while (!rg->ended && n < budget && (h = pr_ring_cons_peek(&rg->cons))) {
		switch (h->type) {
		case PR_REC_PACKET:
			if (h->len >= sizeof(struct pr_rec_packet))
				on_packet(ig, (const struct pr_rec_packet *)h);
			break;
		case PR_REC_IFACE:
			if (h->len >= sizeof(struct pr_rec_iface))
				on_iface(ig, (const struct pr_rec_iface *)h);
			break;
		case PR_REC_FLOW:
			if (h->len >= sizeof(struct pr_rec_flow))
				on_flow(ig, (const struct pr_rec_flow *)h);
			break;
		case PR_REC_META:
			if (h->len >= sizeof(struct pr_rec_meta))
				on_meta(ig, (const struct pr_rec_meta *)h);
			break;
		case PR_REC_STATS:
			if (h->len >= sizeof(struct pr_rec_stats))
				on_stats(ig, rg, (const struct pr_rec_stats *)h);
			break;
		case PR_REC_END:
			if (h->len >= sizeof(struct pr_rec_end)) {
				rg->end_at = rg->cons.tail;
				on_end(ig, rg, (const struct pr_rec_end *)h);
			}
			break;
		default:
			break;
		}
		pr_ring_cons_advance(&rg->cons, h);
		n++;
	}
	if (n && !ig->cfg.release_on_commit)
		release(ig, rg);
	if (rg->cons.error) {
		char msg[64];

		snprintf(msg, sizeof(msg), "record ring %u corrupt", idx);
		ig->corrupt = true;
		merge_end(ig, PR_END_ERROR, rg->cons.error, msg);
		return rg->cons.error;
	}
	return (int)n;
}

/* Hand the poll's counts to the metrics: a few atomic adds per poll, none per packet. */
static void metrics_poll(struct pr_ingest *ig, uint64_t backlog, uint64_t t0, int records)
{
	struct pr_sensor_metrics *sm = ig->cfg.sm;

	for (int p = 0; p < PR_SM_PROTO_MAX; p++)
		if (ig->m.packets[p]) {
			pr_sensor_metrics_packets(sm, (enum pr_sm_proto)p, ig->m.packets[p],
						  ig->m.bytes[p]);
			ig->m.packets[p] = ig->m.bytes[p] = 0;
		}
	pr_metric_add(sm->storage_backlog, (double)backlog - ig->m.backlog);
	ig->m.backlog = (double)backlog;
	/* The poll's time spread over its records: what one record costs, batch by batch. */
	if (records > 0)
		pr_metric_observe(sm->packet_processing,
				  (double)(mono_ns() - t0) / 1e9 / (double)records);
}

int pr_ingest_poll(struct pr_ingest *ig, unsigned int budget)
{
	uint64_t backlog = 0, t0 = ig->cfg.sm ? mono_ns() : 0;
	int total = 0;

	/* What waits for the store: filled slots not yet handed back, producer's view. */
	for (uint32_t i = 0; i < ig->n_rings; i++) {
		struct ring *rg = &ig->rings[i];
		uint64_t held = atomic_load_explicit(&rg->cons.h->prod, memory_order_acquire) -
				rg->released;

		backlog += held * PR_RING_SLOT_SIZE;
		if (rg->occupancy && rg->cons.slot_count)
			pr_metric_set(rg->occupancy, (double)held / (double)rg->cons.slot_count);
	}
	ig->s.backlog_bytes = backlog;
	if (backlog > ig->s.backlog_max_bytes)
		ig->s.backlog_max_bytes = backlog;
	for (uint32_t i = 0; i < ig->n_rings; i++) {
		int n = poll_ring(ig, i, budget);

		if (n < 0)
			return n;
		total += n;
	}
	if (ig->cfg.sm)
		metrics_poll(ig, backlog, t0, total);
	return total;
}

static int commit(struct pr_ingest *ig, uint64_t now_ns)
{
	int ret;

	ig->last_commit_ns = now_ns;
	ig->bytes_since_commit = 0;
	if (ig->s.store_failed)
		return -EIO;
	if (all_stats(ig))
		set_accounting(ig);
	ret = pr_store_commit(ig->cfg.st);
	if (ig->cfg.sm)
		pr_metric_observe(ig->cfg.sm->storage_write, (double)(mono_ns() - now_ns) / 1e9);
	if (ret) {
		store_fail(ig, "commit");
		return ret;
	}
	ig->s.commits++;
	memcpy(ig->s.committed, ig->s.counters, sizeof(ig->s.committed));
	if (ig->cfg.release_on_commit)
		for (uint32_t i = 0; i < ig->n_rings; i++)
			release(ig, &ig->rings[i]);
	if (!ig->ck.running)
		pr_store_checkpoint(ig->cfg.st, false); /* no checkpointer: keep the WAL short */
	return 1;
}

int pr_ingest_tick(struct pr_ingest *ig, uint64_t now_ns)
{
	bool due = now_ns - ig->last_commit_ns >=
			   (uint64_t)ig->cfg.commit_interval_ms * 1000000ull ||
		   ig->bytes_since_commit >= ig->cfg.commit_max_bytes;

	/* Records held for the commit must not fill a ring: the dataplane would drop. */
	for (uint32_t i = 0; !due && ig->cfg.release_on_commit && i < ig->n_rings; i++) {
		struct ring *rg = &ig->rings[i];

		due = rg->cons.tail - rg->released >= rg->cons.slot_count / 2;
	}
	if (!due || ig->s.store_failed)
		return 0;
	return commit(ig, now_ns);
}

bool pr_ingest_done(const struct pr_ingest *ig)
{
	return ig->corrupt || (ig->n_rings && ig->s.ends == ig->n_rings);
}

int pr_ingest_finish(struct pr_ingest *ig)
{
	const char *msg;
	uint32_t status;
	int ret;

	if (ig->s.store_failed) {
		status = PR_SESSION_FAILED;
		msg = ig->s.store_err;
	} else if (ig->s.end_reason == PR_END_ERROR || !ig->s.end_reason) {
		status = PR_SESSION_FAILED;
		msg = ig->s.end_msg[0] ? ig->s.end_msg : "the capture ended without an end record";
	} else {
		status = PR_SESSION_COMPLETED;
		msg = ig->s.end_reason == PR_END_EOF	  ? "end of file" :
		      ig->s.end_reason == PR_END_COUNT	  ? "packet count reached" :
		      ig->s.end_reason == PR_END_DURATION ? "duration reached" :
							    "stopped";
	}
	/*
	 * A new session takes what the cores said, even if some said nothing
	 * (a dataplane that died); a resumed one keeps its predecessor's
	 * figures unless every core has reported since.
	 */
	if (!ig->cfg.resume || all_stats(ig))
		set_accounting(ig);
	ret = pr_store_session_end(ig->cfg.st, ig->cfg.session, status, msg);
	if (ret) {
		store_fail(ig, "finish session");
		return ret;
	}
	ig->s.commits++;
	memcpy(ig->s.committed, ig->s.counters, sizeof(ig->s.committed));
	for (uint32_t i = 0; i < ig->n_rings; i++) {
		struct ring *rg = &ig->rings[i];

		/* The session is over: nothing is held back any more. */
		atomic_store_explicit(&rg->cons.h->cons, rg->cons.tail, memory_order_release);
		rg->released = rg->cons.tail;
	}
	return 0;
}

void pr_ingest_get_stats(const struct pr_ingest *ig, struct pr_ingest_stats *out)
{
	*out = ig->s;
}
