/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capture control: the daemon's captures, each a dataplane process that
 * this module starts the way `packetrecorder capture` does (pr_dpctl.h),
 * with one thread of its own that consumes its rings into a store
 * session through the ingest engine, and a registry of them that the
 * front ends (gRPC StartCapture/StopCapture/GetCaptureStatus, HTTP POST
 * and DELETE /api/v1/captures, `manage` through gRPC) read and change.
 *
 * A capture belongs to the daemon, not to the request that started it:
 * it runs until StopCapture, its own count or duration, its dataplane's
 * end, or pr_capctl_shutdown(). Stopping flushes: the dataplane stops its
 * cores and sends its flows and counters, the ingest stores them, the
 * session is ended and committed, and only then does the capture report
 * "stopped". Captures started and stopped are published on the event bus
 * (capture_started, capture_stopped) and counted in the daemon's metrics.
 *
 * Functions return 0 or a negative errno and, where they take one, fill
 * msg with a sentence that names the field at fault; they never print.
 * Any thread, concurrently, except create, shutdown and destroy (the
 * daemon's main thread). Each capture thread has its own writer
 * connection to the store.
 */
#ifndef PR_CAPCTL_H
#define PR_CAPCTL_H

#include <stddef.h>
#include <stdint.h>

struct pr_config;
struct pr_events;
struct pr_sensor_metrics;
struct pr_tap;
struct pr_tap_opts;

/* Captures running at once when the config's max_captures is 0; more is -ENOSPC. */
#define PR_CAPCTL_MAX_RUNNING 16
/* Finished captures kept for GetCaptureStatus; the oldest beyond this go. */
#define PR_CAPCTL_MAX_FINISHED 64

struct pr_capctl_cfg {
	const struct pr_config *cfg; /* copied: ring sizes, commit interval, dp settings */
	const char *db_path; /* copied */
	const char *db_key; /* copied, wiped on destroy; NULL: a plaintext store */
	struct pr_events *events; /* borrowed, may be NULL; must outlive the captures */
	struct pr_sensor_metrics *sm; /* borrowed, may be NULL; likewise */
};

/* What a front end asks for. Strings are borrowed for the call; NULL or "": the default. */
struct pr_capctl_req {
	const char *interface; /* required */
	const char *filter; /* BPF, tcpdump syntax; default: everything */
	const char *name; /* session name; default: the interface */
	const char *backend; /* "pcap", "afxdp", "dpdk"; default: the fastest that can run */
	uint64_t max_packets; /* stop after this many stored packets; 0: no limit */
	uint64_t duration_s; /* stop after this many seconds; 0: no limit */
	uint32_t snaplen; /* 0: the config's */
};

enum pr_capctl_state {
	PR_CAPCTL_STARTING,
	PR_CAPCTL_RUNNING,
	PR_CAPCTL_STOPPING,
	PR_CAPCTL_STOPPED,
	PR_CAPCTL_FAILED,
};

/* "starting", "running", "stopping", "stopped", "failed". Inline: front ends that reach
 * capture control through an ops table need no link to it. */
static inline const char *pr_capctl_state_name(enum pr_capctl_state state)
{
	static const char *const names[] = {
		[PR_CAPCTL_STARTING] = "starting", [PR_CAPCTL_RUNNING] = "running",
		[PR_CAPCTL_STOPPING] = "stopping", [PR_CAPCTL_STOPPED] = "stopped",
		[PR_CAPCTL_FAILED] = "failed",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

/* A capture as the registry knows it now. */
struct pr_capctl_info {
	int64_t capture_id;
	int64_t session_id; /* 0 until the session exists */
	char interface[256];
	char backend[16];
	char filter[1024];
	enum pr_capctl_state state;
	uint64_t started_ns; /* wall clock */
	uint64_t packets; /* stored so far (committed or not) */
	uint64_t bytes; /* their wire bytes */
	uint64_t drops; /* all reasons */
	char end_reason[16]; /* "count", "duration", "stopped", "error", ...; "" while running */
	char message[512]; /* why it failed, or how it ended */
};

struct pr_capctl;

/* Returns 0, -EINVAL (no cfg or db_path) or -ENOMEM. Main thread. */
int pr_capctl_create(const struct pr_capctl_cfg *cfg, struct pr_capctl **out);

/*
 * Start a capture: check the request (-EINVAL naming the field; -ENODEV
 * for an interface the system does not have, message naming "interface"),
 * start its thread and dataplane, and wait until the dataplane captures,
 * fails or ends (bounded: after PR_CAPCTL_START_WAIT_MS the answer says
 * "starting"). Returns 0 with *out, -ENOSPC (PR_CAPCTL_MAX_RUNNING
 * running), -ESHUTDOWN (the daemon is stopping), -EIO (it failed to start:
 * msg says why; it stays in the registry as failed), -ENOMEM. Any thread.
 */
#define PR_CAPCTL_START_WAIT_MS 20000
int pr_capctl_start(struct pr_capctl *cc, const struct pr_capctl_req *req,
		    struct pr_capctl_info *out, char *msg, size_t msg_len);

/*
 * Stop a capture and wait until its session is ended and committed.
 * Returns 0 with *out (state stopped or failed; a capture already over
 * answers as it is), or -ENOENT (no such capture, msg says so). Any thread.
 */
int pr_capctl_stop(struct pr_capctl *cc, int64_t capture_id, struct pr_capctl_info *out, char *msg,
		   size_t msg_len);

/* One capture now: 0 or -ENOENT. Any thread. */
int pr_capctl_get(struct pr_capctl *cc, int64_t capture_id, struct pr_capctl_info *out);

/*
 * Every capture in the registry (running and recently finished), oldest
 * first: *out is malloc()ed (free() it), *n its length. 0 or -ENOMEM.
 */
int pr_capctl_list(struct pr_capctl *cc, struct pr_capctl_info **out, size_t *n);

/*
 * Subscribe to the live tap of a running capture (pr_tap.h): capture_id,
 * or 0 for the only one running; *chosen is the capture tapped. Returns 0
 * with *out (pr_tap_next(), pr_tap_close(); it may outlive the capture),
 * -ENOENT (no such capture, or none running), -EINVAL (several running
 * for 0, or a bad option: msg names the field), -EPIPE (the capture is
 * over), -ENOSPC (PR_TAP_MAX_SUBS taps already), -ENOMEM. Any thread.
 */
int pr_capctl_tap_open(struct pr_capctl *cc, int64_t capture_id, const struct pr_tap_opts *o,
		       struct pr_tap **out, int64_t *chosen, char *msg, size_t msg_len);

/*
 * The daemon is stopping: refuse new captures (-ESHUTDOWN), stop every
 * running one, wait until each has flushed and ended its session, and
 * join their threads. Main thread; the front ends may still call in.
 */
void pr_capctl_shutdown(struct pr_capctl *cc);

/* Shuts down first if that was not done. No front end may call in any more. NULL: no-op. */
void pr_capctl_destroy(struct pr_capctl *cc);

#endif /* PR_CAPCTL_H */
