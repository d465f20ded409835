// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_replay.h. Send times are absolute: start +
 * offset, the offset computed from the packet's stored time (or its index
 * or the bits before it), never by adding up sleeps, so errors do not
 * accumulate over a long replay. The tx core waits for each time and
 * reports back counters and the lateness histogram.
 */
#include "pr_replay.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_dpctl.h"
#include "pr_record.h"
#include "pr_ring.h"

struct pr_replay {
	struct pr_dp *dp;
	uint64_t counters[PR_STAT_MAX];
	struct pr_rec_tx_timing tim;
	bool tim_seen;
	bool iface_seen;
	bool end_seen;
	uint32_t end_reason;
	char end_msg[256];
	uint32_t linktype;
	char name[PR_IFACE_NAME_MAX];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Relaxed: the flag orders nothing else; it is polled at least once a millisecond. */
static bool stop_asked(const atomic_bool *stop)
{
	return stop && atomic_load_explicit(stop, memory_order_relaxed);
}

static void pause_us(long us)
{
	struct timespec p = { 0, us * 1000 };

	nanosleep(&p, NULL);
}

int pr_replay_opts_check(const struct pr_replay_opts *o, char *err, size_t errlen)
{
	int modes = (o->speed > 0) + (o->pps > 0) + (o->mbps > 0);

	if (!(o->speed >= 0) || !isfinite(o->speed)) {
		snprintf(err, errlen, "--speed: must be a finite number >= 0 (0 = top speed)");
		return -EINVAL;
	}
	if (!(o->mbps >= 0) || !isfinite(o->mbps)) {
		snprintf(err, errlen, "--mbps: must be a finite number > 0");
		return -EINVAL;
	}
	if (modes > 1) {
		snprintf(err, errlen,
			 "--speed, --pps, --mbps and --topspeed choose the pacing: give one");
		return -EINVAL;
	}
	return 0;
}

void pr_replay_sched_init(struct pr_replay_sched *s, const struct pr_replay_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
}

void pr_replay_sched_new_pass(struct pr_replay_sched *s)
{
	s->n = 0;
	s->pass_base = s->last;
}

uint64_t pr_replay_sched_next(struct pr_replay_sched *s, uint64_t ts_ns, uint32_t len)
{
	uint64_t off = 0;

	if (s->o.pps) {
		off = (uint64_t)((unsigned __int128)s->total * 1000000000u / s->o.pps);
	} else if (s->o.mbps > 0) {
		/* bits / (mbps * 1e6) s = bits * 1000 / mbps ns */
		off = (uint64_t)((double)s->bits * 1000.0 / s->o.mbps);
	} else if (s->o.speed > 0) {
		if (!s->n)
			s->first_ts = ts_ns;
		if (ts_ns >= s->first_ts)
			off = s->pass_base + (uint64_t)((double)(ts_ns - s->first_ts) / s->o.speed);
	}
	if (off < s->last)
		off = s->last; /* stored order is send order, even if clocks stepped back */
	s->last = off;
	s->n++;
	s->total++;
	s->bits += (uint64_t)len * 8u;
	return off;
}

/* The next packet of the selection: the source's, with the flow and count applied. */
static int sel_next(const struct pr_replay_opts *o, const struct pr_replay_src *src,
		    uint64_t in_pass, struct pr_block_pkt *p)
{
	int ret;

	if (o->count && in_pass >= o->count)
		return 0;
	while ((ret = src->next(src->ctx, p)) == 1)
		if (!o->have_flow || p->flow_id == o->flow_id)
			return 1;
	return ret;
}

int pr_replay_plan(const struct pr_replay_opts *o, const struct pr_replay_src *src,
		   int (*cb)(void *ctx, uint64_t index, uint64_t offset_ns,
			     const struct pr_block_pkt *pkt),
		   void *ctx)
{
	struct pr_replay_sched s;
	struct pr_block_pkt p;
	uint64_t loops = o->loop ? o->loop : 1, idx = 0;
	int ret = 0;

	pr_replay_sched_init(&s, o);
	for (uint64_t pass = 0; pass < loops; pass++) {
		if (pass) {
			if ((ret = src->rewind(src->ctx)))
				return ret;
			pr_replay_sched_new_pass(&s);
		}
		while ((ret = sel_next(o, src, s.n, &p)) == 1) {
			uint64_t off = pr_replay_sched_next(&s, p.ts_ns, p.cap_len);

			if ((ret = cb(ctx, idx++, off, &p)))
				return ret;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Read what the tx core reports: interface, counters, timing, END. */
static void drain(struct pr_replay *r)
{
	struct pr_ring_cons *c = pr_dp_report_cons(r->dp);
	const struct pr_rec_hdr *h;

	while ((h = pr_ring_cons_peek(c))) {
		if (h->type == PR_REC_IFACE && h->len >= sizeof(struct pr_rec_iface)) {
			const struct pr_rec_iface *ir = (const struct pr_rec_iface *)h;

			r->iface_seen = true;
			r->linktype = ir->linktype;
			memcpy(r->name, ir->name, sizeof(r->name));
			r->name[sizeof(r->name) - 1] = 0;
		} else if (h->type == PR_REC_STATS && h->len >= sizeof(struct pr_rec_stats)) {
			memcpy(r->counters, ((const struct pr_rec_stats *)h)->counters,
			       sizeof(r->counters));
		} else if (h->type == PR_REC_TX_TIMING &&
			   h->len >= sizeof(struct pr_rec_tx_timing)) {
			memcpy(&r->tim, h, sizeof(r->tim));
			r->tim_seen = true;
		} else if (h->type == PR_REC_END && h->len >= sizeof(struct pr_rec_end)) {
			const struct pr_rec_end *e = (const struct pr_rec_end *)h;

			r->end_seen = true;
			r->end_reason = e->reason;
			memcpy(r->end_msg, e->message, sizeof(r->end_msg));
			r->end_msg[sizeof(r->end_msg) - 1] = 0;
		}
		pr_ring_cons_advance(c, h);
	}
	pr_ring_cons_release(c);
}

int pr_replay_open(const struct pr_config *cfg, const struct pr_replay_target *t,
		   struct pr_replay **out, struct pr_replay_result *res)
{
	struct pr_replay *r;
	struct pr_dp_cfg dpc = cfg->dp;
	int ret;

	memset(res, 0, sizeof(*res));
	*out = NULL;
	dpc.mode = PR_DP_MODE_TX;
	/* The region holds the settings in fixed fields: too long is an error, never cut. */
	if (snprintf(dpc.backend, sizeof(dpc.backend), "%s", t->backend ? t->backend : "pcap") >=
		    (int)sizeof(dpc.backend) ||
	    snprintf(dpc.interface, sizeof(dpc.interface), "%s", t->interface) >=
		    (int)sizeof(dpc.interface) ||
	    snprintf(dpc.backend_args, sizeof(dpc.backend_args), "%s",
		     t->backend_args ? t->backend_args : "") >= (int)sizeof(dpc.backend_args)) {
		snprintf(res->message, sizeof(res->message),
			 "the interface (at most %zu bytes) or backend arguments (at most %zu) "
			 "are too long",
			 sizeof(dpc.interface) - 1, sizeof(dpc.backend_args) - 1);
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(res->message, sizeof(res->message), "out of memory");
		return -ENOMEM;
	}
	ret = pr_dp_create(cfg, &dpc, t->tx_ring_bytes ? t->tx_ring_bytes : 64ull << 20, &r->dp,
			   res->message, sizeof(res->message));
	if (ret)
		goto fail;
	ret = pr_dp_spawn(r->dp, NULL, res->message, sizeof(res->message));
	if (ret)
		goto fail;
	/* The tx core announces its interface first (or fails and says why): 10 s at most. */
	for (int waited = 0; !r->iface_seen && !r->end_seen && waited < 10000; waited++) {
		drain(r);
		if (r->iface_seen || r->end_seen || pr_dp_exited(r->dp, NULL))
			break;
		pause_us(1000);
	}
	drain(r);
	if (!r->iface_seen) {
		snprintf(res->message, sizeof(res->message), "%s",
			 r->end_msg[0] ? r->end_msg : "the dataplane did not start");
		ret = -EIO;
		goto fail;
	}
	res->tx_linktype = r->linktype;
	snprintf(res->tx_name, sizeof(res->tx_name), "%s", r->name);
	*out = r;
	return 0;
fail:
	pr_replay_close(r);
	return ret;
}

/* The smallest bucket bound that covers fraction q of the timed packets. */
static uint64_t hist_pct(const struct pr_rec_tx_timing *t, double q)
{
	uint64_t rank = (uint64_t)ceil(q * (double)t->timed), cum = 0;

	if (!rank)
		rank = 1;
	for (uint32_t b = 0; b < PR_TX_HIST_BUCKETS; b++) {
		cum += t->hist[b];
		if (cum >= rank) {
			uint64_t u = pr_tx_hist_upper(b);

			return u < t->max_ns ? u : t->max_ns;
		}
	}
	return t->max_ns;
}

static void fill_result(struct pr_replay *r, struct pr_replay_result *res)
{
	const struct pr_rec_tx_timing *t = &r->tim;

	res->packets_sent = r->counters[PR_STAT_TX_PACKETS];
	res->bytes_sent = r->counters[PR_STAT_TX_BYTES];
	res->errors = r->counters[PR_STAT_TX_ERRORS];
	if (r->tim_seen && t->last_ns > t->first_ns && res->packets_sent > 1) {
		double span = (double)(t->last_ns - t->first_ns) / 1e9;
		double frac = (double)(res->packets_sent - 1) / (double)res->packets_sent;

		/* Rates over the intervals between the first and the last hand-off. */
		res->duration_s = span;
		res->pps = (double)(res->packets_sent - 1) / span;
		res->mbps = (double)res->bytes_sent * frac * 8.0 / span / 1e6;
	}
	if (r->tim_seen && t->timed) {
		res->timed = t->timed;
		res->err_p50_ns = hist_pct(t, 0.50);
		res->err_p99_ns = hist_pct(t, 0.99);
		res->err_max_ns = t->max_ns;
		res->err_mean_ns = (double)t->sum_ns / (double)t->timed;
	}
}

int pr_replay_run(struct pr_replay *r, const struct pr_replay_opts *o,
		  const struct pr_replay_src *src, const atomic_bool *stop,
		  struct pr_replay_result *res)
{
	struct pr_ring_prod *tx = pr_dp_tx_prod(r->dp);
	struct pr_replay_sched s;
	struct pr_block_pkt p;
	uint64_t loops = o->loop ? o->loop : 1, t0;
	bool paced = o->speed > 0 || o->pps || o->mbps > 0;
	struct pr_rec_hdr *endrec = NULL;
	int ret = 0;

	pr_replay_sched_init(&s, o);
	if (paced && o->realtime) {
		struct sched_param sp = { .sched_priority = 1 };

		/* Best effort: without the privilege the replay runs as before. */
		res->realtime = sched_setscheduler(pr_dp_pid(r->dp), SCHED_FIFO, &sp) == 0;
	}
	/* A little lead so the first packets are queued before their time. */
	t0 = mono_ns() + (o->lead_ns ? o->lead_ns : 50000000ull);
	for (uint64_t pass = 0; pass < loops && !stop_asked(stop) && !r->end_seen; pass++) {
		if (pass) {
			if ((ret = src->rewind(src->ctx))) {
				snprintf(res->message, sizeof(res->message),
					 "cannot read the packets again for pass %llu: %s",
					 (unsigned long long)pass + 1, strerror(-ret));
				goto stopdp;
			}
			pr_replay_sched_new_pass(&s);
		}
		while (!stop_asked(stop) && (ret = sel_next(o, src, s.n, &p)) == 1) {
			uint64_t off = pr_replay_sched_next(&s, p.ts_ns, p.cap_len);
			uint32_t len = (uint32_t)sizeof(struct pr_rec_tx_packet) + p.cap_len;
			struct pr_rec_tx_packet *rec;

			while (!(rec = pr_ring_prod_reserve(tx, len))) {
				pr_ring_prod_publish(tx);
				drain(r);
				if (r->end_seen || pr_dp_exited(r->dp, NULL) || stop_asked(stop))
					goto sent;
				pause_us(100);
			}
			rec->hdr.type = PR_REC_TX_PACKET;
			rec->hdr.flags = 0;
			rec->hdr.len = len;
			rec->send_at_ns = paced ? t0 + off : 0;
			rec->len = p.cap_len;
			rec->reserved = 0;
			memcpy(rec->data, p.data, p.cap_len);
			pr_ring_prod_commit(tx);
			res->selected++;
			/*
			 * Paced packets are published one by one (each may be due
			 * soon); at top speed in batches of 16, which keeps the
			 * shared cache line quieter.
			 */
			if (paced || (res->selected & 15) == 0)
				pr_ring_prod_publish(tx);
			if ((res->selected & 1023) == 0) {
				drain(r);
				if (r->end_seen)
					goto sent;
			}
		}
		pr_ring_prod_publish(tx);
		if (ret < 0) {
			snprintf(res->message, sizeof(res->message), "reading the packets: %s",
				 strerror(-ret));
			goto stopdp;
		}
		if (!stop_asked(stop))
			res->passes++;
	}
sent:
	pr_ring_prod_publish(tx);
	if (stop_asked(stop))
		pr_dp_stop(r->dp);
	while (!r->end_seen && !(endrec = pr_ring_prod_reserve(tx, sizeof(*endrec)))) {
		drain(r);
		if (pr_dp_exited(r->dp, NULL))
			break;
		pause_us(1000);
	}
	if (endrec && !r->end_seen) {
		endrec->type = PR_REC_TX_END;
		endrec->flags = 0;
		endrec->len = sizeof(*endrec);
		pr_ring_prod_commit(tx);
		pr_ring_prod_publish(tx);
	}
	for (bool asked = stop_asked(stop); !r->end_seen;) {
		drain(r);
		if (r->end_seen)
			break;
		if (pr_dp_exited(r->dp, NULL)) {
			drain(r);
			break;
		}
		if (stop_asked(stop) && !asked) {
			pr_dp_stop(r->dp);
			asked = true;
		}
		pause_us(1000);
	}
	pr_dp_wait(r->dp, 5000);
	fill_result(r, res);
	res->stopped = stop_asked(stop);
	if (!r->end_seen || r->end_reason == PR_END_ERROR) {
		snprintf(res->message, sizeof(res->message), "%s",
			 r->end_msg[0] ? r->end_msg : "the dataplane stopped unexpectedly");
		return -EIO;
	}
	return 0;
stopdp:
	pr_dp_stop(r->dp);
	pr_dp_wait(r->dp, 5000);
	drain(r);
	fill_result(r, res);
	return ret < 0 ? ret : -EIO;
}

void pr_replay_close(struct pr_replay *r)
{
	if (!r)
		return;
	pr_dp_destroy(r->dp);
	free(r);
}
