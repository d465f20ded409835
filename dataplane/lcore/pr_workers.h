/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker cores of a capture: N polling threads, one per rx queue.
 * Worker i opens its own backend instance on queue i (of N), owns its own
 * lcore (flow table, filter programs, counters, burst arrays) and is the
 * only producer of ring i of the shared region. Workers share nothing
 * they write but the process's stop flag and, with --count, one budget of
 * packets taken once per burst. Created and run by the dataplane's main
 * thread; pr_workers_run() returns when every worker has ended.
 */
#ifndef PR_WORKERS_H
#define PR_WORKERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pr_lcore.h"
#include "pr_rx.h"

struct pr_workers_cfg {
	const struct pr_rx_ops *ops;
	/* Opened once per worker with queue = the worker index, nb_queues = count. */
	struct pr_rx_cfg rx;
	/* The settings of every worker; core_id, budget and start_ns are set per worker. */
	struct pr_lcore_cfg lcore;
	uint32_t count; /* workers: the region's worker_count */
};

struct pr_workers;

/*
 * Open every worker's backend instance and create its lcore on the
 * region's worker rings (region: a checked, mapped struct pr_shm_header
 * with at least cfg->count worker rings). On failure nothing is left
 * open, an END record (PR_END_ERROR with err's text) is put on every
 * worker ring so the consumer learns why, and -errno is returned.
 * Dataplane main thread, before any worker runs.
 */
int pr_workers_create(const struct pr_workers_cfg *cfg, void *region, struct pr_workers **out,
		      char *err, size_t errlen);

/*
 * Run each worker on a thread of its own until all have ended (each
 * emits its final flows, counters and END). Returns PR_END_ERROR if any
 * worker failed, otherwise the end reason of worker 0; -errno if a
 * thread could not be started (the started ones are stopped and joined).
 */
int pr_workers_run(struct pr_workers *ws, atomic_bool *stop);

/* Close every backend instance and free the lcores. NULL is a no-op. */
void pr_workers_destroy(struct pr_workers *ws);

/*
 * Put an END record with PR_END_ERROR on each of the region's worker
 * rings, as a worker that never ran would: the consumer waits for one
 * END per ring. Only while no worker runs (then this thread is the only
 * producer). Waits up to about a second per ring for room.
 */
void pr_workers_fail_rings(void *region, int error, const char *msg);

#endif /* PR_WORKERS_H */
