/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One polling core: its backend instance, capture filters, flow table,
 * counters and the producer end of its ring. pr_lcore_run() is the loop:
 * rx burst -> timestamp -> filter -> decode -> flow -> emit records, with
 * one ring publish per burst. It returns when the source ends, a limit is
 * reached, a stop is requested, or the backend fails; in every case it has
 * emitted the remaining flows, final counters and an END record first.
 * The struct is owned and used by the thread running the loop; only
 * `stop` is written by others.
 */
#ifndef PR_LCORE_H
#define PR_LCORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pr_flow.h"
#include "pr_ring.h"
#include "pr_rx.h"

struct pr_lcore_cfg {
	uint16_t core_id;
	const char *filter; /* BPF expression or NULL */
	uint64_t max_packets; /* stop after this many stored packets; 0 = no limit */
	uint64_t duration_ns; /* stop after this much wall time; 0 = no limit */
	struct pr_flow_cfg flow;
	uint32_t stats_interval_ms; /* how often a STATS record goes out (live) */
};

struct pr_lcore;

/*
 * Create a core's state around an opened backend (borrowed) and a ring
 * (borrowed). Compiles nothing yet: filters are compiled per interface
 * as interfaces appear. Returns 0 or -errno; err names what failed.
 */
int pr_lcore_create(const struct pr_lcore_cfg *cfg, const struct pr_rx_ops *ops, struct pr_rx *rx,
		    struct pr_ring_header *ring, struct pr_lcore **out, char *err, size_t errlen);
void pr_lcore_destroy(struct pr_lcore *lc); /* NULL is a no-op */

/* Run until done (see above). Returns the enum pr_end_reason it ended with. */
int pr_lcore_run(struct pr_lcore *lc, atomic_bool *stop);

#endif /* PR_LCORE_H */
