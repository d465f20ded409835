/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ingest engine: the consumer of a dataplane's record rings and the
 * writer of one store session. It reads N rx rings (one per worker core,
 * round robin, a bounded batch from each per pass), stores interfaces,
 * packets and flows, sums the cumulative STATS of every core, records the
 * drop counters when they change, commits every commit_interval_ms or
 * commit_max_bytes, and knows a capture is over only once every ring has
 * delivered its END record. It never prints and never exits: results come
 * back as return values and struct pr_ingest_stats, so that `capture`,
 * and later the daemon, give the same answers.
 *
 * One thread drives an ingest (the control-plane loop); the optional WAL
 * checkpointer runs on a second store connection in a thread of its own,
 * so the ring consumer never waits for a checkpoint's copy and fsync.
 */
#ifndef PR_INGEST_H
#define PR_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "pr_ring.h"
#include "pr_sensor_metrics.h"
#include "pr_store.h"

/* Rings one ingest consumes at most (the region's worker limit). */
#define PR_INGEST_MAX_RINGS 64

struct pr_ingest_cfg {
	struct pr_store *st; /* the writer connection (borrowed) */
	int64_t session; /* the session to store into (begun by the caller) */
	uint32_t commit_interval_ms; /* the most a crash can lose, in time */
	uint64_t commit_max_bytes; /* ... and in captured packet bytes */
	/*
	 * A second connection's config for the WAL checkpointer thread
	 * (borrowed until pr_ingest_create() returns), or NULL: then the
	 * writer checkpoints itself after each commit. Open with
	 * manual_checkpoint on the writer when this is set.
	 */
	const struct pr_store_cfg *checkpoint_cfg;
	/*
	 * Hand ring slots back to the dataplane only once what they held is
	 * committed. Records read but not committed stay in the ring, so a
	 * control plane that dies loses nothing: the next one re-reads them.
	 * Otherwise slots are released after every batch (more room in the
	 * ring, but a crash loses what was read since the last commit).
	 */
	bool release_on_commit;
	/*
	 * The session goes on from an earlier control plane's (capture
	 * --attach): interfaces it already stored are not stored again when
	 * the rings announce them once more.
	 */
	bool resume;
	/*
	 * Optional: called for each interface the first time it is announced
	 * (after it is stored), and for each stored packet (after it is
	 * added), e.g. for capture's --pcap copy. Same thread as the ingest.
	 */
	void (*on_iface)(void *ctx, const struct pr_rec_iface *rec);
	void (*on_packet)(void *ctx, const struct pr_rec_packet *rec);
	void *ctx;
	/*
	 * Optional: the daemon's metrics (controlplane/metrics), kept up to
	 * date as records go by: packets and bytes by protocol (added once per
	 * poll), drops by reason and stage, ring occupancy of each worker
	 * labelled with metrics_iface, control-plane time per record, commit
	 * latency, and this capture's share of the storage backlog and of the
	 * open flows (taken back out on destroy). Borrowed; must outlive the
	 * ingest.
	 */
	struct pr_sensor_metrics *sm;
	const char *metrics_iface; /* copied; NULL: "unknown" */
};

struct pr_ingest_stats {
	uint64_t packets; /* stored */
	uint64_t bytes; /* their wire bytes */
	uint64_t captured; /* their captured bytes */
	uint64_t flows; /* flow records stored */
	uint64_t metas; /* L7 metadata records seen */
	uint64_t metas_bad; /* ... of which malformed, not stored */
	uint64_t commits;
	/*
	 * The dataplane's counters summed over its cores: for each core the
	 * latest (cumulative) STATS record, so cores never overwrite each other.
	 */
	uint64_t counters[PR_STAT_MAX];
	uint64_t committed[PR_STAT_MAX]; /* the same as of the last successful commit */
	/*
	 * The backlog: bytes of ring slots the dataplane has filled and the
	 * ingest not yet handed back, summed over the rings at the start of
	 * the last poll, the most seen at the start of any poll, and what
	 * the rings hold. A store slower than the traffic shows here first;
	 * once a ring is full its dataplane core drops (ring_full).
	 */
	uint64_t backlog_bytes;
	uint64_t backlog_max_bytes;
	uint64_t ring_capacity_bytes;
	uint32_t rings; /* rings consumed */
	uint32_t ends; /* rings whose END record has arrived */
	/*
	 * How the capture ended, merged over the cores: an error on any core
	 * wins, then count, duration, end of file, stopped. Valid once
	 * ends == rings (or after a corrupt ring: PR_END_ERROR).
	 */
	uint32_t end_reason; /* enum pr_end_reason, 0 while running */
	int end_error; /* negative errno behind PR_END_ERROR */
	char end_msg[256];
	bool store_failed; /* a store call failed: nothing more is stored */
	char store_err[512]; /* what failed, with the store's message */
};

struct pr_ingest;

/*
 * Create an ingest for cfg->session. Starts the checkpointer thread when
 * cfg->checkpoint_cfg is set (a failure to start it is not an error: the
 * writer then checkpoints itself). Returns 0, -EINVAL, -ENOMEM, or -EIO
 * when a resumed session's interfaces cannot be read.
 */
int pr_ingest_create(const struct pr_ingest_cfg *cfg, struct pr_ingest **out);
/*
 * Stop the checkpointer and empty the WAL into the database (a truncating
 * checkpoint on the writer). NULL is a no-op. Does not end the session.
 */
void pr_ingest_destroy(struct pr_ingest *ig);

/*
 * Consume one rx ring (a worker's; role RX, header checked). The ring's
 * index within this ingest is the order of the calls. Returns 0, -EPROTO
 * (the header is not a valid rx ring) or -E2BIG (too many rings).
 */
int pr_ingest_add_ring(struct pr_ingest *ig, struct pr_ring_header *ring);

/*
 * One pass over the rings: up to budget records from each ring that has
 * some, stopping at a ring's END. Returns the number of records consumed
 * (0: every ring was empty), or -EBADMSG when a ring is corrupt (the
 * capture is then over: stats say which ring, end_reason PR_END_ERROR).
 * A failing store call does not stop consumption: it sets store_failed,
 * and later records are counted but not stored.
 */
int pr_ingest_poll(struct pr_ingest *ig, unsigned int budget);

/*
 * Commit if commit_interval_ms passed since the last commit (now_ns on
 * CLOCK_MONOTONIC) or commit_max_bytes of packet data are waiting, or,
 * with release_on_commit, a ring is half full of records read but not
 * committed. Returns 1 after a commit, 0 when none was due, or a negative
 * errno when the commit failed (then store_failed is set).
 */
int pr_ingest_tick(struct pr_ingest *ig, uint64_t now_ns);

/* True once every ring delivered its END record, or a ring is corrupt. */
bool pr_ingest_done(const struct pr_ingest *ig);

/*
 * Record an end that came from outside the rings, e.g. the dataplane died
 * before its END records: reason PR_END_ERROR with error and message.
 * The first such end (or any core's error) is the one reported.
 */
void pr_ingest_set_error(struct pr_ingest *ig, int error, const char *msg);

/*
 * End the session: final drop counters, a commit, and the status
 * (completed, or failed after an error or a store failure) with a
 * message. Returns 0 or a negative errno (store_failed then says why).
 */
int pr_ingest_finish(struct pr_ingest *ig);

/* A snapshot of the figures. Any time, same thread. */
void pr_ingest_get_stats(const struct pr_ingest *ig, struct pr_ingest_stats *out);

/* The store's drop reasons from the dataplane's counters (pr_record.h). */
void pr_ingest_drops_of(const uint64_t counters[PR_STAT_MAX], uint64_t drops[PR_DROP_REASON_MAX]);

/* "eof", "count", "duration", "stopped", "error": the JSON names of enum pr_end_reason. */
const char *pr_ingest_end_reason_name(uint32_t reason);

#endif /* PR_INGEST_H */
