/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replay control: the daemon's replays, each a session's packets sent out
 * of an interface by the replay engine (pr_replay.h) on one thread of its
 * own, and a registry of them that the front ends (gRPC StartReplay and
 * StopReplay, `manage start-replay/stop-replay` through gRPC) read and
 * change. Packets are selected by the source `packetrecorder replay`
 * uses (pr_replay_session.h: the session, a BPF filter), so the daemon
 * and the CLI send the same frames.
 *
 * A replay belongs to the daemon, not to the request that started it: it
 * runs until its packets are sent, StopReplay, or pr_replayctl_shutdown().
 * The request is checked, the store opened read-only and the session and
 * filter found on the caller's thread, so a bad request leaves nothing in
 * the registry; the replay's thread then starts the dataplane (it must be
 * the thread that lives as long as the replay: the dataplane dies with
 * the thread that forked it) and reads the packets. Replays that start
 * and end are published on the event bus (replay_started,
 * replay_stopped).
 *
 * Functions return 0 or a negative errno and, where they take one, fill
 * msg with a sentence that names the request's field at fault; they never
 * print. Any thread, concurrently, except create, shutdown and destroy
 * (the daemon's main thread).
 */
#ifndef PR_REPLAYCTL_H
#define PR_REPLAYCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pr_config;
struct pr_events;

/* Replays running at once when the cfg says 0; more is -ENOSPC. Each has a 64 MiB tx ring. */
#define PR_REPLAYCTL_MAX_RUNNING 4
/* Finished replays kept for StopReplay to answer; the oldest beyond this go. */
#define PR_REPLAYCTL_MAX_FINISHED 64

struct pr_replayctl_cfg {
	const struct pr_config *cfg; /* copied: dataplane settings, backend arguments */
	const char *db_path; /* copied */
	const char *db_key; /* copied, wiped on destroy; NULL: a plaintext store */
	struct pr_events *events; /* borrowed, may be NULL; must outlive the replays */
	unsigned max_running; /* 0: PR_REPLAYCTL_MAX_RUNNING */
};

/* What a front end asks for. Strings are borrowed for the call; NULL or "": the default. */
struct pr_replayctl_req {
	int64_t session_id; /* required, 1 or more */
	const char *interface; /* required */
	const char *filter; /* BPF, tcpdump syntax; default: every packet */
	const char *backend; /* "pcap", "afxdp", "dpdk"; default: as `replay` picks */
	double speed; /* 1: the stored timing, 2: twice as fast; 0: top speed (unless pps) */
	uint64_t pps; /* packets per second, evenly spaced, instead of speed (speed 0) */
	uint64_t count; /* at most this many packets per pass (after the filter); 0: all */
	uint64_t from_ns; /* only packets at or after (epoch ns); 0: from the start */
	uint64_t to_ns; /* only packets at or before; 0: to the end */
	bool has_flow;
	uint64_t flow_id; /* with has_flow: only this flow's packets */
	double mbps; /* megabits per second of frame bytes instead of speed (speed 0, no pps) */
	uint64_t loop; /* passes over the selection; 0: 1; at most PR_REPLAYCTL_MAX_LOOP */
};

#define PR_REPLAYCTL_MAX_LOOP 1000000ull

enum pr_replayctl_state {
	PR_REPLAYCTL_STARTING,
	PR_REPLAYCTL_RUNNING,
	PR_REPLAYCTL_STOPPED, /* sent everything, or stopped: end_reason says which */
	PR_REPLAYCTL_FAILED,
};

/* "starting", "running", "stopped", "failed". Inline: front ends need no link to this module. */
static inline const char *pr_replayctl_state_name(enum pr_replayctl_state state)
{
	static const char *const names[] = {
		[PR_REPLAYCTL_STARTING] = "starting",
		[PR_REPLAYCTL_RUNNING] = "running",
		[PR_REPLAYCTL_STOPPED] = "stopped",
		[PR_REPLAYCTL_FAILED] = "failed",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

/* A replay as the registry knows it now. */
struct pr_replayctl_info {
	int64_t replay_id;
	int64_t session_id;
	char interface[256];
	char backend[16];
	char filter[1024];
	double speed;
	uint64_t pps;
	uint64_t count;
	uint64_t from_ns, to_ns;
	bool has_flow;
	uint64_t flow_id;
	double mbps;
	uint64_t loop;
	enum pr_replayctl_state state;
	uint64_t started_ns; /* wall clock */
	/* What the dataplane's tx core reported; 0 until the replay has ended. */
	uint64_t packets_sent;
	uint64_t bytes_sent;
	uint64_t errors; /* packets the backend refused */
	double duration_s; /* first send to the end */
	char end_reason[16]; /* "finished", "stopped", "error"; "" until it ends */
	char message[512]; /* why it failed */
};

struct pr_replayctl;

/* Returns 0, -EINVAL (no cfg or db_path) or -ENOMEM. Main thread. */
int pr_replayctl_create(const struct pr_replayctl_cfg *cfg, struct pr_replayctl **out);

/*
 * Start a replay: check the request (-EINVAL naming the field; -ENODEV
 * for an interface the system does not have, naming "interface"), open
 * the store and the session's packets (-ENOENT naming "session_id" for no
 * such session, -EINVAL naming "filter" for a filter that does not
 * compile for it, -EIO for a store that cannot be read), start its thread
 * and wait until its dataplane sends, fails or ends (bounded: after
 * PR_REPLAYCTL_START_WAIT_MS the answer says "starting"). Returns 0 with
 * *out, -ENOSPC (max_running running), -ESHUTDOWN (the daemon is
 * stopping), -EIO (the dataplane failed to start; it stays in the
 * registry as failed and msg says why), -EINVAL naming "interface" (its
 * link type is not the session's; likewise failed), -ENOMEM. Any thread.
 */
#define PR_REPLAYCTL_START_WAIT_MS 20000
int pr_replayctl_start(struct pr_replayctl *rc, const struct pr_replayctl_req *req,
		       struct pr_replayctl_info *out, char *msg, size_t msg_len);

/*
 * Stop a replay and wait until its dataplane has ended. Returns 0 with
 * *out (state stopped or failed; a replay already over answers as it
 * is), or -ENOENT (no such replay, msg names "replay_id"). Any thread.
 */
int pr_replayctl_stop(struct pr_replayctl *rc, int64_t replay_id, struct pr_replayctl_info *out,
		      char *msg, size_t msg_len);

/*
 * How many replays of session_id have not yet released the store (they
 * read its blocks until their thread ends). Deleting the session under
 * them would cut them off mid-send, so the front ends refuse it while
 * this is non-zero. Any thread.
 */
unsigned pr_replayctl_session_users(struct pr_replayctl *rc, int64_t session_id);

/* One replay now: 0 or -ENOENT. Any thread. */
int pr_replayctl_get(struct pr_replayctl *rc, int64_t replay_id, struct pr_replayctl_info *out);

/*
 * The daemon is stopping: refuse new replays (-ESHUTDOWN), stop every
 * running one and join their threads. Main thread; the front ends may
 * still call in. NULL: no-op.
 */
void pr_replayctl_shutdown(struct pr_replayctl *rc);

/* Shuts down first if that was not done. No front end may call in any more. NULL: no-op. */
void pr_replayctl_destroy(struct pr_replayctl *rc);

#endif /* PR_REPLAYCTL_H */
