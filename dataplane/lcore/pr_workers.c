// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_workers.h. All backend instances are opened before
 * any worker starts, in queue order, so that a backend whose queues share
 * setup (the first AF_XDP instance loads the XDP program, the pcap
 * instances form one kernel fan-out group) sees them in a fixed order, and
 * so that the capture starts only once every queue is being read.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#define PR_LOG_MODULE "workers"

#include "pr_workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_log.h"
#include "pr_ring.h"

struct worker {
	struct pr_workers *ws;
	uint32_t index;
	struct pr_rx *rx;
	struct pr_lcore *lc;
	pthread_t tid;
	bool started;
	int end_reason;
} PR_CACHE_ALIGNED;

struct pr_workers {
	const struct pr_rx_ops *ops;
	uint32_t count;
	atomic_bool *stop;
	/* --count: what all workers together may still hand to their rings */
	_Atomic uint64_t budget PR_CACHE_ALIGNED;
	struct worker w[];
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pr_workers_fail_rings(void *region, int error, const char *msg)
{
	const struct pr_shm_header *sh = region;
	struct pr_rec_end end = { .hdr = { .type = PR_REC_END, .len = sizeof(end) } };

	end.reason = PR_END_ERROR;
	end.error = error;
	snprintf(end.message, sizeof(end.message), "%.255s", msg);
	for (uint32_t i = 0; i < sh->worker_count; i++) {
		struct pr_ring_prod p;
		struct timespec pause = { 0, 1000000 };
		void *slot = NULL;

		if (pr_ring_prod_init(&p, pr_shm_worker_ring(region, i), PR_RING_ROLE_RX))
			continue;
		end.core = i;
		for (int tries = 0; tries < 1000; tries++) {
			slot = pr_ring_prod_reserve(&p, sizeof(end));
			if (slot)
				break;
			nanosleep(&pause, NULL);
		}
		if (!slot)
			continue;
		memcpy(slot, &end, sizeof(end));
		pr_ring_prod_commit(&p);
		pr_ring_prod_publish(&p);
	}
}

void pr_workers_destroy(struct pr_workers *ws)
{
	if (!ws)
		return;
	for (uint32_t i = 0; i < ws->count; i++) {
		pr_lcore_destroy(ws->w[i].lc);
		if (ws->w[i].rx)
			ws->ops->close(ws->w[i].rx);
	}
	free(ws);
}

int pr_workers_create(const struct pr_workers_cfg *cfg, void *region, struct pr_workers **out,
		      char *err, size_t errlen)
{
	const struct pr_shm_header *sh = region;
	struct pr_workers *ws = NULL;
	bool live = true;
	int ret;

	*out = NULL;
	if (!cfg->count || cfg->count > sh->worker_count || cfg->count > UINT16_MAX) {
		snprintf(err, errlen, "%u workers for a region with %u worker rings", cfg->count,
			 sh->worker_count);
		ret = -EINVAL;
		goto fail;
	}
	if (posix_memalign((void **)&ws, PR_CACHE_LINE,
			   sizeof(*ws) + (size_t)cfg->count * sizeof(struct worker))) {
		snprintf(err, errlen, "workers: %s", strerror(ENOMEM));
		ret = -ENOMEM;
		ws = NULL;
		goto fail;
	}
	memset(ws, 0, sizeof(*ws) + (size_t)cfg->count * sizeof(struct worker));
	ws->ops = cfg->ops;
	ws->count = cfg->count;
	atomic_init(&ws->budget, cfg->lcore.max_packets);
	for (uint32_t i = 0; i < cfg->count; i++) {
		struct pr_rx_cfg rc = cfg->rx;
		char e[512] = "";

		rc.queue = (uint16_t)i;
		rc.nb_queues = (uint16_t)cfg->count;
		ret = cfg->ops->open(&rc, &ws->w[i].rx, e, sizeof(e));
		if (ret) {
			ws->w[i].rx = NULL;
			if (cfg->count > 1)
				snprintf(err, errlen, "worker %u (queue %u of %u): %s", i, i,
					 cfg->count, e);
			else
				snprintf(err, errlen, "%s", e);
			goto fail;
		}
		if (cfg->ops->is_offline && cfg->ops->is_offline(ws->w[i].rx))
			live = false;
	}
	for (uint32_t i = 0; i < cfg->count; i++) {
		struct pr_lcore_cfg lc = cfg->lcore;

		lc.core_id = (uint16_t)i;
		lc.consumer_pid = &((struct pr_shm_header *)region)->consumer_pid;
		lc.budget = cfg->lcore.max_packets ? &ws->budget : NULL;
		/*
		 * Every queue is open: from now on each packet reaches exactly
		 * one worker. Before, a fan-out group still being formed may have
		 * handed a packet to two of them.
		 */
		lc.start_ns = live && cfg->count > 1 ? realtime_ns() : 0;
		ret = pr_lcore_create(&lc, cfg->ops, ws->w[i].rx, pr_shm_worker_ring(region, i),
				      &ws->w[i].lc, err, errlen);
		if (ret)
			goto fail;
		ws->w[i].ws = ws;
		ws->w[i].index = i;
	}
	*out = ws;
	return 0;
fail:
	pr_workers_destroy(ws);
	pr_workers_fail_rings(region, ret, err);
	return ret;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "pr-worker-%u", w->index);
	pthread_setname_np(pthread_self(), name);
	w->end_reason = pr_lcore_run(w->lc, w->ws->stop);
	return NULL;
}

int pr_workers_run(struct pr_workers *ws, atomic_bool *stop)
{
	int ret = 0, reason;

	ws->stop = stop;
	for (uint32_t i = 0; i < ws->count; i++) {
		ret = pthread_create(&ws->w[i].tid, NULL, worker_main, &ws->w[i]);
		if (ret) {
			PR_ERR("worker %u: start thread: %s", i, strerror(ret));
			ret = -ret;
			/* The started ones end and write their END; the others never will. */
			atomic_store(stop, true);
			break;
		}
		ws->w[i].started = true;
	}
	for (uint32_t i = 0; i < ws->count; i++)
		if (ws->w[i].started)
			pthread_join(ws->w[i].tid, NULL);
	if (ret)
		return ret;
	reason = ws->w[0].end_reason;
	for (uint32_t i = 0; i < ws->count; i++)
		if (ws->w[i].end_reason == PR_END_ERROR)
			reason = PR_END_ERROR;
	return reason;
}
