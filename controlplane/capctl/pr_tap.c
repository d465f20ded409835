// SPDX-License-Identifier: Apache-2.0
/*
 * The live tap (pr_tap.h). One mutex per hub guards its subscribers and
 * their queues; the publishing thread takes it only while somebody is
 * subscribed (nsubs, an atomic, says so without the lock). A subscriber's
 * filter is compiled for every interface the capture announced, at
 * subscription and when a new one is announced; packets of an interface
 * whose program would not compile never pass (pr_filter_match()).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_filter.h"
#include "pr_record.h"
#include "pr_tap.h"

struct tap_pkt {
	struct tap_pkt *next;
	struct pr_tap_pkt p; /* p.data points at data[] */
	uint8_t data[];
};

struct pr_tap {
	struct pr_tap *next;
	struct pr_tap_hub *hub;
	struct pr_filter *filter;
	uint32_t max_pps;
	uint32_t snaplen; /* 0: all */
	uint64_t queue_max;
	struct tap_pkt *head, *tail;
	struct tap_pkt *cur; /* handed out by the last pr_tap_next() */
	/* The rate cap: a token bucket of max_pps tokens, refilled continuously. */
	uint64_t tokens_x1e9; /* tokens * 1e9, so that refills need no division */
	uint64_t refill_ns; /* when the bucket was last refilled */
	uint64_t lost_pending; /* lost since the last packet queued */
	struct pr_tap_stats s;
};

struct pr_tap_hub {
	pthread_mutex_t lock;
	atomic_uint nsubs;
	unsigned refs;
	struct pr_tap *subs;
	bool ended;
	char end_msg[256];
	_Atomic uint64_t seq; /* packets published: the next one's index (one writer) */
	/* Interfaces announced, for filters of subscribers that come later. */
	uint32_t linktype[PR_FILTER_MAX_IFACES];
	uint32_t snaplen[PR_FILTER_MAX_IFACES];
	bool known[PR_FILTER_MAX_IFACES];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int pr_tap_hub_create(struct pr_tap_hub **out)
{
	struct pr_tap_hub *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->refs = 1;
	*out = h;
	return 0;
}

static void hub_unref(struct pr_tap_hub *h)
{
	bool last;

	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void pr_tap_hub_put(struct pr_tap_hub *h)
{
	if (h)
		hub_unref(h);
}

void pr_tap_hub_iface(struct pr_tap_hub *h, const struct pr_rec_iface *rec)
{
	char err[256];

	if (rec->iface >= PR_FILTER_MAX_IFACES)
		return; /* its packets pass only filters that accept everything */
	pthread_mutex_lock(&h->lock);
	h->linktype[rec->iface] = rec->linktype;
	h->snaplen[rec->iface] = rec->snaplen;
	h->known[rec->iface] = true;
	for (struct pr_tap *t = h->subs; t; t = t->next)
		pr_filter_add_iface(t->filter, rec->iface, rec->linktype, rec->snaplen, err,
				    sizeof(err));
	pthread_mutex_unlock(&h->lock);
}

/* May t take one more packet under its rate cap? h->lock held. */
static bool rate_ok(struct pr_tap *t, uint64_t now)
{
	const uint64_t full = (uint64_t)t->max_pps * 1000000000u;

	if (now > t->refill_ns) {
		uint64_t add = (now - t->refill_ns) * t->max_pps;

		/* (now - refill) * max_pps cannot overflow: both are bounded. */
		t->tokens_x1e9 = add >= full - t->tokens_x1e9 ? full : t->tokens_x1e9 + add;
		t->refill_ns = now;
	}
	if (t->tokens_x1e9 < 1000000000u)
		return false;
	t->tokens_x1e9 -= 1000000000u;
	return true;
}

/* h->lock held. */
static void offer(struct pr_tap *t, const struct pr_rec_packet *rec, uint64_t index,
		  uint32_t linktype, uint64_t *now)
{
	uint32_t len = rec->cap_len;
	struct tap_pkt *p;

	t->s.seen++;
	if (!pr_filter_match(t->filter, rec->iface, rec->data, rec->cap_len, rec->wire_len))
		return;
	t->s.matched++;
	if (!*now)
		*now = mono_ns();
	if (!rate_ok(t, *now)) {
		t->s.lost_rate++;
		t->lost_pending++;
		return;
	}
	if (t->snaplen && len > t->snaplen)
		len = t->snaplen;
	if (t->s.queue_bytes + sizeof(*p) + len > t->queue_max || !(p = malloc(sizeof(*p) + len))) {
		t->s.lost_queue++;
		t->lost_pending++;
		return;
	}
	p->next = NULL;
	p->p.index = index;
	p->p.ts_ns = rec->ts_ns;
	p->p.flow_id = rec->flow_id;
	p->p.wire_len = rec->wire_len;
	p->p.cap_len = len;
	p->p.iface = rec->iface;
	p->p.linktype = linktype;
	p->p.lost_before = t->lost_pending;
	memcpy(p->data, rec->data, len);
	p->p.data = p->data;
	t->lost_pending = 0;
	if (t->tail)
		t->tail->next = p;
	else
		t->head = p;
	t->tail = p;
	t->s.queued++;
	t->s.queue_bytes += sizeof(*p) + len;
}

void pr_tap_hub_packet(struct pr_tap_hub *h, const struct pr_rec_packet *rec)
{
	uint64_t index, now = 0;
	uint32_t linktype = 0;

	index = atomic_fetch_add_explicit(&h->seq, 1, memory_order_relaxed);
	if (!atomic_load_explicit(&h->nsubs, memory_order_relaxed))
		return;
	pthread_mutex_lock(&h->lock);
	if (rec->iface < PR_FILTER_MAX_IFACES)
		linktype = h->linktype[rec->iface];
	for (struct pr_tap *t = h->subs; t; t = t->next)
		offer(t, rec, index, linktype, &now);
	pthread_mutex_unlock(&h->lock);
}

void pr_tap_hub_end(struct pr_tap_hub *h, const char *msg)
{
	pthread_mutex_lock(&h->lock);
	if (!h->ended) {
		h->ended = true;
		snprintf(h->end_msg, sizeof(h->end_msg), "%s", msg ? msg : "the capture ended");
	}
	pthread_mutex_unlock(&h->lock);
}

int pr_tap_open(struct pr_tap_hub *h, const struct pr_tap_opts *o, struct pr_tap **out, char *msg,
		size_t msg_len)
{
	struct pr_tap *t;
	unsigned n = 0;
	int ret;

	*out = NULL;
	if (o->max_pps > PR_TAP_MAX_PPS) {
		snprintf(msg, msg_len, "max_packets_per_s: at most %u (0: %u)", PR_TAP_MAX_PPS,
			 PR_TAP_DEFAULT_PPS);
		return -EINVAL;
	}
	if (o->snaplen > PR_TAP_MAX_SNAPLEN) {
		snprintf(msg, msg_len, "snaplen: at most %u bytes (0: all that was captured)",
			 PR_TAP_MAX_SNAPLEN);
		return -EINVAL;
	}
	if (o->queue_bytes > PR_TAP_QUEUE_BYTES) {
		snprintf(msg, msg_len, "queue_bytes: at most %u", PR_TAP_QUEUE_BYTES);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ret = pr_filter_create(o->filter, &t->filter, msg, msg_len);
	if (ret) {
		char why[512];

		snprintf(why, sizeof(why), "%s", msg);
		snprintf(msg, msg_len, "filter: %s", why);
		free(t);
		return ret;
	}
	t->hub = h;
	t->max_pps = o->max_pps ? o->max_pps : PR_TAP_DEFAULT_PPS;
	t->snaplen = o->snaplen;
	t->queue_max = o->queue_bytes ? o->queue_bytes : PR_TAP_QUEUE_BYTES;
	t->tokens_x1e9 = (uint64_t)t->max_pps * 1000000000u;
	t->refill_ns = mono_ns();
	pthread_mutex_lock(&h->lock);
	if (h->ended) {
		snprintf(msg, msg_len, "%s", h->end_msg);
		ret = -EPIPE;
		goto fail;
	}
	for (struct pr_tap *s = h->subs; s; s = s->next)
		n++;
	if (n >= PR_TAP_MAX_SUBS) {
		snprintf(msg, msg_len, "this capture has %d live taps already", PR_TAP_MAX_SUBS);
		ret = -ENOSPC;
		goto fail;
	}
	for (uint32_t i = 0; i < PR_FILTER_MAX_IFACES; i++) {
		if (!h->known[i])
			continue;
		ret = pr_filter_add_iface(t->filter, i, h->linktype[i], h->snaplen[i], msg,
					  msg_len);
		if (ret < 0) {
			/* "bad filter expression ... for interface N": the field is filter. */
			char why[512];

			snprintf(why, sizeof(why), "%s", msg);
			snprintf(msg, msg_len, "filter: %s", why);
			goto fail;
		}
	}
	t->next = h->subs;
	h->subs = t;
	h->refs++;
	atomic_fetch_add(&h->nsubs, 1);
	pthread_mutex_unlock(&h->lock);
	*out = t;
	return 0;
fail:
	pthread_mutex_unlock(&h->lock);
	pr_filter_destroy(t->filter);
	free(t);
	return ret;
}

int pr_tap_next(struct pr_tap *t, struct pr_tap_pkt *out)
{
	struct pr_tap_hub *h = t->hub;
	struct tap_pkt *old;
	int ret;

	pthread_mutex_lock(&h->lock);
	old = t->cur;
	t->cur = t->head;
	if (t->cur) {
		t->head = t->cur->next;
		if (!t->head)
			t->tail = NULL;
		t->s.queue_bytes -= sizeof(*t->cur) + t->cur->p.cap_len;
		t->s.taken++;
		*out = t->cur->p;
		ret = 1;
	} else {
		ret = h->ended ? -EPIPE : 0;
	}
	pthread_mutex_unlock(&h->lock);
	free(old);
	return ret;
}

void pr_tap_get_stats(struct pr_tap *t, struct pr_tap_stats *out)
{
	struct pr_tap_hub *h = t->hub;

	pthread_mutex_lock(&h->lock);
	*out = t->s;
	if (h->ended)
		snprintf(out->end_msg, sizeof(out->end_msg), "%s", h->end_msg);
	else
		out->end_msg[0] = 0;
	pthread_mutex_unlock(&h->lock);
}

void pr_tap_close(struct pr_tap *t)
{
	struct pr_tap_hub *h;
	struct tap_pkt *p;

	if (!t)
		return;
	h = t->hub;
	pthread_mutex_lock(&h->lock);
	for (struct pr_tap **pp = &h->subs; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			atomic_fetch_sub(&h->nsubs, 1);
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	while ((p = t->head)) {
		t->head = p->next;
		free(p);
	}
	free(t->cur);
	pr_filter_destroy(t->filter);
	free(t);
	hub_unref(h);
}
