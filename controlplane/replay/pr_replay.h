/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The replay engine: picks a session's packets (the caller's source, with
 * its BPF filter and time range, plus a flow and a count here), gives each
 * an absolute send time on CLOCK_MONOTONIC, puts it on a dataplane's tx
 * ring, and collects what the tx core reports: packets and bytes sent, and
 * how late each paced packet was handed to the backend (the tx core stamps
 * the time its tx_burst() call returned; see pr_rec_tx_timing). Never
 * prints, never exits: 0 or -errno, results in structs. One thread per
 * replay: the CLI's main thread, or a replay thread of the daemon.
 */
#ifndef PR_REPLAY_H
#define PR_REPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pr_block.h"
#include "pr_config.h"

/* Where packets come from: the store cursor of a front end. */
struct pr_replay_src {
	/* 1 and *pkt (valid until the next call), 0 after the last, or -errno. */
	int (*next)(void *ctx, struct pr_block_pkt *pkt);
	/* Start again at the first packet (for --loop). 0 or -errno. */
	int (*rewind)(void *ctx);
	void *ctx;
};

/*
 * Pacing: exactly one of speed > 0 (stored timestamps scaled by 1/speed),
 * pps, mbps, or none of them (speed 0: top speed, no send times).
 */
struct pr_replay_opts {
	double speed; /* 1 = original timing; 0 = top speed unless pps/mbps */
	uint64_t pps; /* packets per second, evenly spaced */
	double mbps; /* megabits (10^6) per second of frame bytes */
	uint64_t loop; /* passes over the selection; 0 is taken as 1 */
	uint64_t count; /* at most this many packets per pass (0 = all) */
	bool have_flow;
	uint64_t flow_id; /* only this flow's packets, with have_flow */
	uint64_t lead_ns; /* first send time this far after the start (0: 50 ms) */
	/*
	 * Paced replays: run the dataplane's tx core at SCHED_FIFO priority 1
	 * where the process may (root, CAP_SYS_NICE), so that a busy machine
	 * does not make it wake late. The kernel's RT throttling still leaves
	 * 5 % of each CPU to others. Never for top speed (it would hog a core).
	 */
	bool realtime;
};

/* Check the options; returns 0 or -EINVAL with err naming the option. */
int pr_replay_opts_check(const struct pr_replay_opts *o, char *err, size_t errlen);

/*
 * The schedule, by itself: send offsets from the start of the replay, in
 * ns, for the packets in order. Stored order is send order: an offset
 * never goes backwards, even where stored times do. Each pass of a loop
 * starts where the previous one ended.
 */
struct pr_replay_sched {
	struct pr_replay_opts o;
	uint64_t n; /* packets scheduled in this pass */
	uint64_t total; /* packets scheduled in all passes */
	uint64_t bits; /* frame bits before this packet, all passes (mbps) */
	uint64_t first_ts;
	uint64_t pass_base; /* offset of this pass's first packet */
	uint64_t last; /* the last offset given */
};

void pr_replay_sched_init(struct pr_replay_sched *s, const struct pr_replay_opts *o);
/* Offset of the next packet (stored time ts_ns, len bytes); 0 for all at top speed. */
uint64_t pr_replay_sched_next(struct pr_replay_sched *s, uint64_t ts_ns, uint32_t len);
/* The next packet starts a new pass. */
void pr_replay_sched_new_pass(struct pr_replay_sched *s);

/* Where to send and with what. */
struct pr_replay_target {
	const char *interface;
	const char *backend; /* "pcap", "afxdp", "dpdk" */
	const char *backend_args; /* or NULL */
	uint64_t tx_ring_bytes; /* 0: 64 MiB */
};

struct pr_replay_result {
	uint64_t selected; /* packets taken from the source, all passes */
	uint64_t passes; /* passes completed */
	uint64_t packets_sent; /* what the tx core reports */
	uint64_t bytes_sent;
	uint64_t errors; /* packets the backend refused */
	double duration_s; /* first send time (or start) to the END */
	double pps; /* achieved: packets_sent / duration_s */
	double mbps; /* achieved: bytes_sent * 8 / duration_s / 1e6 */
	/* Lateness at hand-off to the backend of paced packets, ns. */
	uint64_t timed; /* packets measured (0 at top speed) */
	uint64_t err_p50_ns; /* upper bound of the bucket (6 % wide) */
	uint64_t err_p99_ns;
	uint64_t err_max_ns; /* exact */
	double err_mean_ns;
	bool stopped; /* *stop was set */
	bool realtime; /* the tx core ran at SCHED_FIFO */
	uint32_t tx_linktype;
	char tx_name[64];
	char message[256]; /* why it failed, when it did */
};

struct pr_replay;

/*
 * Start a dataplane transmitting on t->interface and wait until it says
 * which link type it sends (r->tx_linktype in res). 0 or -errno (res->message).
 */
int pr_replay_open(const struct pr_config *cfg, const struct pr_replay_target *t,
		   struct pr_replay **out, struct pr_replay_result *res);
/*
 * Send what src yields under o, until the end of the last pass or *stop
 * (may be NULL). Fills res. 0, or -errno with res->message. stop is an
 * atomic so that a signal handler (the CLI) or another thread (the
 * daemon's StopReplay) may set it; lock-free, so a handler may.
 */
int pr_replay_run(struct pr_replay *r, const struct pr_replay_opts *o,
		  const struct pr_replay_src *src, const atomic_bool *stop,
		  struct pr_replay_result *res);
/* Stop the dataplane if needed and free everything. NULL is a no-op. */
void pr_replay_close(struct pr_replay *r);

/*
 * Without a dataplane: call cb for every packet that would be sent, with
 * its offset. Stops at the first non-zero return of cb (returned). 0 or -errno.
 */
int pr_replay_plan(const struct pr_replay_opts *o, const struct pr_replay_src *src,
		   int (*cb)(void *ctx, uint64_t index, uint64_t offset_ns,
			     const struct pr_block_pkt *pkt),
		   void *ctx);

#endif /* PR_REPLAY_H */
