/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One polling core: its backend instance, capture filters, flow table,
 * counters and the producer end of its ring. pr_lcore_run() is the loop:
 * rx burst -> timestamp -> filter -> decode -> flow -> emit records, with
 * one ring publish per burst. It returns when the source ends, a limit is
 * reached, a stop is requested, or the backend fails; in every case it has
 * emitted the remaining flows, final counters and an END record first.
 * The struct is owned and used by the thread running the loop; only
 * `stop` and the --count budget are shared with the other workers.
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
	uint16_t core_id; /* the worker index: its ring, its rx queue, the top bits of its flow ids */
	const char *filter; /* BPF expression or NULL */
	/*
	 * Stop after this many packets handed to the ring; 0 = no limit. With
	 * several workers the limit is theirs together: give them all the same
	 * budget (below) instead.
	 */
	uint64_t max_packets;
	/*
	 * The packets the workers of one capture may still hand to their rings
	 * (--count), shared by them and taken once per burst; NULL: max_packets
	 * alone. The worker that takes the last one sets the stop flag, so
	 * that the others end too.
	 */
	_Atomic uint64_t *budget;
	uint64_t duration_ns; /* stop after this much wall time; 0 = no limit */
	/*
	 * Packets stamped before this (CLOCK_REALTIME ns) arrived while the
	 * workers were being set up and are not part of the capture: a
	 * kernel fan-out group delivers some of them twice until every
	 * worker has joined. 0: none is skipped (always 0 for files).
	 */
	uint64_t start_ns;
	struct pr_flow_cfg flow;
	/*
	 * IP fragment reassembly for the L7 parsers: datagrams in progress
	 * at once (0: fragments are not reassembled) and how long one may
	 * wait for its missing fragments (0: the module's default).
	 */
	uint32_t ipfrag_max_datagrams;
	uint64_t ipfrag_timeout_ns;
	uint32_t l7_depth_bytes; /* every parser's window per direction; 0: the defaults */
	uint32_t l7_buf_bytes; /* 0: the default */
	uint32_t l7_buf_count; /* 0: the default */
	/*
	 * TCP reassembly before the parsers: out-of-order bytes one flow
	 * direction may hold until the hole before them fills (0: none are
	 * held, segments go to the parsers as they come), and the chunks of
	 * PR_TCPREASM_CHUNK_BYTES_DEFAULT bytes each core keeps for them (0:
	 * the default). Its depth is l7_depth_bytes (0: the module's default).
	 */
	uint32_t tcp_reasm_held_bytes;
	uint32_t tcp_reasm_chunks;
	uint32_t stats_interval_ms; /* how often a STATS record goes out (live) */
	/*
	 * The region's consumer_pid (pr_record.h), or NULL: whether anyone
	 * will make room in a full ring, so that final records wait for it.
	 */
	const _Atomic int32_t *consumer_pid;
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
