// SPDX-License-Identifier: Apache-2.0
/*
 * Replay control (pr_replayctl.h). Each replay is a struct rp in the
 * registry (a list under rc->lock, oldest first) and one thread,
 * rp_main(), that owns what the replay uses once it runs: the read-only
 * store connection and the session source that start() opened and handed
 * over, and the dataplane that the thread starts itself (its
 * PR_SET_PDEATHSIG fires when the forking *thread* ends, so that must be
 * a thread that lives exactly as long as the replay, never a front end's
 * request thread).
 *
 * What the front ends read (state, counters, message) is copied into the
 * struct rp under rc->lock by its thread; state changes are broadcast on
 * rc->cond, which start() and stop() wait on. A stop request is an atomic
 * flag the replay engine polls (at least once a millisecond).
 */
#define _GNU_SOURCE
#define PR_LOG_MODULE "replayctl"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_backend_pick.h"
#include "pr_config.h"
#include "pr_events.h"
#include "pr_log.h"
#include "pr_query.h"
#include "pr_replay.h"
#include "pr_replay_session.h"
#include "pr_replayctl.h"
#include "pr_store.h"

struct rp {
	struct rp *next;
	struct pr_replayctl *rc;
	int64_t id;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop_req;
	/* Opened by start(), owned by the thread from pthread_create() on. */
	struct pr_store *st;
	struct pr_replay_session *rs;
	struct pr_replay_opts o;
	const char *backend_args; /* the config's, or NULL */
	/* Under rc->lock: what the front ends see. */
	struct pr_replayctl_info info;
	int start_err; /* why it failed before it ran: -EIO, or -EINVAL (link type) */
	bool finished; /* the thread has released everything but this struct */
	unsigned waiters; /* stop() calls waiting on it: it is not pruned meanwhile */
};

struct pr_replayctl {
	struct pr_config cfg;
	char *db_path;
	char *db_key;
	struct pr_events *events;
	unsigned max_running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rp *rps; /* oldest first */
	int64_t next_id;
	bool closing;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool state_final(enum pr_replayctl_state s)
{
	return s == PR_REPLAYCTL_STOPPED || s == PR_REPLAYCTL_FAILED;
}

/* rc->lock held. */
static void set_state(struct rp *r, enum pr_replayctl_state s)
{
	r->info.state = s;
	pthread_cond_broadcast(&r->rc->cond);
}

/*
 * replay_started or replay_stopped on the bus: the replay as the front
 * ends show it. json-c builds it, so an interface or filter with quotes
 * stays one string. A bus that refuses (closed, no memory) costs only the
 * event.
 */
static void publish(struct rp *r, uint32_t type)
{
	struct pr_replayctl *rc = r->rc;
	struct pr_replayctl_info in;
	struct json_object *o;

	if (!rc->events)
		return;
	pthread_mutex_lock(&rc->lock);
	in = r->info;
	pthread_mutex_unlock(&rc->lock);
	o = json_object_new_object();
	if (!o)
		return;
	json_object_object_add(o, "replay_id", json_object_new_int64(in.replay_id));
	json_object_object_add(o, "session_id", json_object_new_int64(in.session_id));
	json_object_object_add(o, "interface", json_object_new_string(in.interface));
	json_object_object_add(o, "backend", json_object_new_string(in.backend));
	json_object_object_add(o, "filter", json_object_new_string(in.filter));
	json_object_object_add(o, "speed", json_object_new_double(in.speed));
	json_object_object_add(o, "pps", json_object_new_uint64(in.pps));
	json_object_object_add(o, "state",
			       json_object_new_string(pr_replayctl_state_name(in.state)));
	if (type == PR_EVENT_REPLAY_STOPPED) {
		json_object_object_add(o, "packets_sent", json_object_new_uint64(in.packets_sent));
		json_object_object_add(o, "bytes_sent", json_object_new_uint64(in.bytes_sent));
		json_object_object_add(o, "errors", json_object_new_uint64(in.errors));
		json_object_object_add(o, "end_reason", json_object_new_string(in.end_reason));
		if (in.message[0])
			json_object_object_add(o, "message", json_object_new_string(in.message));
	}
	pr_events_publish(rc->events, type, in.session_id,
			  json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
	json_object_put(o);
}

/* The replay's end as the front ends see it; the thread's last word. */
static void finish(struct rp *r, const struct pr_replay_result *res, int err, const char *why)
{
	struct pr_replayctl *rc = r->rc;
	bool failed = err != 0;

	pthread_mutex_lock(&rc->lock);
	if (res) {
		r->info.packets_sent = res->packets_sent;
		r->info.bytes_sent = res->bytes_sent;
		r->info.errors = res->errors;
		r->info.duration_s = res->duration_s;
	}
	snprintf(r->info.end_reason, sizeof(r->info.end_reason), "%s",
		 failed		     ? "error" :
		 res && res->stopped ? "stopped" :
				       "finished");
	if (why && why[0])
		snprintf(r->info.message, sizeof(r->info.message), "%s", why);
	if (r->info.state == PR_REPLAYCTL_STARTING)
		r->start_err = err;
	set_state(r, failed ? PR_REPLAYCTL_FAILED : PR_REPLAYCTL_STOPPED);
	pthread_mutex_unlock(&rc->lock);
	if (failed)
		PR_WARN("replay %lld of session %lld on %s failed: %s", (long long)r->id,
			(long long)r->info.session_id, r->info.interface, r->info.message);
	else
		PR_NOTICE("replay %lld of session %lld on %s: %llu packets sent (%llu bytes, "
			  "%llu errors) in %.3f s (%s)",
			  (long long)r->id, (long long)r->info.session_id, r->info.interface,
			  (unsigned long long)r->info.packets_sent,
			  (unsigned long long)r->info.bytes_sent,
			  (unsigned long long)r->info.errors, r->info.duration_s,
			  r->info.end_reason);
	publish(r, PR_EVENT_REPLAY_STOPPED);
}

static void *rp_main(void *arg)
{
	struct rp *r = arg;
	struct pr_replayctl *rc = r->rc;
	struct pr_replay_target t = {
		.interface = r->info.interface,
		.backend = r->info.backend,
		.backend_args = r->backend_args,
	};
	struct pr_replay_result res;
	struct pr_replay_src src;
	struct pr_replay *rep = NULL;
	char why[768];
	int ret;

	/* The info strings are written once, before this thread exists: read without the lock. */
	ret = pr_replay_open(&rc->cfg, &t, &rep, &res);
	if (ret) {
		snprintf(why, sizeof(why), "%s (%s): %s", t.interface, t.backend, res.message);
		finish(r, NULL, -EIO, why);
		goto out;
	}
	ret = pr_replay_session_check_linktype(r->rs, res.tx_linktype, t.interface, why,
					       sizeof(why));
	if (ret) {
		if (ret == -EINVAL) {
			char m[sizeof(why)];

			snprintf(m, sizeof(m), "interface: %.700s", why);
			memcpy(why, m, sizeof(why));
		}
		finish(r, NULL, ret, why);
		goto out;
	}
	pthread_mutex_lock(&rc->lock);
	set_state(r, PR_REPLAYCTL_RUNNING);
	pthread_mutex_unlock(&rc->lock);
	PR_NOTICE("replay %lld: sending session %lld on %s (%s backend)%s%s", (long long)r->id,
		  (long long)r->info.session_id, t.interface, t.backend,
		  r->info.filter[0] ? " with filter " : "", r->info.filter);
	publish(r, PR_EVENT_REPLAY_STARTED);
	pr_replay_session_src(r->rs, &src);
	ret = pr_replay_run(rep, &r->o, &src, &r->stop_req, &res);
	if (ret) {
		const char *se = pr_replay_session_error(r->rs);

		if (se[0])
			snprintf(why, sizeof(why), "%.200s: %.500s", rc->db_path, se);
		else
			snprintf(why, sizeof(why), "%s", res.message);
	}
	pr_replay_close(rep);
	rep = NULL;
	finish(r, &res, ret, ret ? why : NULL);
out:
	pr_replay_close(rep);
	pr_replay_session_destroy(r->rs);
	r->rs = NULL;
	pr_store_close(r->st);
	r->st = NULL;
	pthread_mutex_lock(&rc->lock);
	r->finished = true;
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	return NULL;
}

int pr_replayctl_create(const struct pr_replayctl_cfg *cfg, struct pr_replayctl **out)
{
	struct pr_replayctl *rc;

	*out = NULL;
	if (!cfg || !cfg->cfg || !cfg->db_path)
		return -EINVAL;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->cfg = *cfg->cfg;
	rc->db_path = strdup(cfg->db_path);
	rc->db_key = cfg->db_key ? strdup(cfg->db_key) : NULL;
	if (!rc->db_path || (cfg->db_key && !rc->db_key)) {
		free(rc->db_path);
		free(rc->db_key);
		free(rc);
		return -ENOMEM;
	}
	rc->events = cfg->events;
	rc->max_running = cfg->max_running ? cfg->max_running : PR_REPLAYCTL_MAX_RUNNING;
	rc->next_id = 1;
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->cond, NULL);
	*out = rc;
	return 0;
}

static bool empty(const char *s)
{
	return !s || !s[0];
}

/* Copy a string into a fixed field; too long is -EINVAL naming field. */
static int set_str(char *dst, size_t cap, const char *field, const char *v, char *msg,
		   size_t msg_len)
{
	size_t n = strlen(v);

	if (n >= cap) {
		snprintf(msg, msg_len, "%s: at most %zu bytes", field, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

/* The request's own fields, before anything is opened: -EINVAL or -ENODEV naming the field. */
static int req_check(struct pr_replayctl *rc, const struct pr_replayctl_req *req, struct rp *r,
		     char *msg, size_t msg_len)
{
	const char *backend = req->backend;
	struct pr_query_err qerr;
	char why[160];
	int ret;

	if (req->session_id <= 0) {
		snprintf(msg, msg_len, "session_id: %lld is not a session id (they start at 1)",
			 (long long)req->session_id);
		return -EINVAL;
	}
	if (empty(req->interface)) {
		snprintf(msg, msg_len, "interface: required");
		return -EINVAL;
	}
	if (!empty(backend) && strcmp(backend, "pcap") && strcmp(backend, "afxdp") &&
	    strcmp(backend, "dpdk")) {
		snprintf(msg, msg_len,
			 "backend: unknown backend \"%.32s\" (known: pcap, afxdp, dpdk)", backend);
		return -EINVAL;
	}
	/* isfinite() after the comparison: a NaN fails the first test, as it must. */
	if (!(req->speed >= 0) || !isfinite(req->speed)) {
		snprintf(msg, msg_len,
			 "speed: must be a finite number, 0 or more (1: the stored timing, "
			 "0: top speed)");
		return -EINVAL;
	}
	if (req->pps && req->speed > 0) {
		snprintf(msg, msg_len,
			 "speed, pps: both choose the pacing; give one (speed 0 "
			 "with pps)");
		return -EINVAL;
	}
	if (!(req->mbps >= 0) || !isfinite(req->mbps)) {
		snprintf(msg, msg_len, "mbps: must be a finite number, 0 or more");
		return -EINVAL;
	}
	if (req->mbps > 0 && (req->pps || req->speed > 0)) {
		snprintf(msg, msg_len,
			 "mbps: speed, pps and mbps each choose the pacing; give one (speed 0 "
			 "with mbps)");
		return -EINVAL;
	}
	if (req->loop > PR_REPLAYCTL_MAX_LOOP) {
		snprintf(msg, msg_len, "loop: %llu passes; at most %llu",
			 (unsigned long long)req->loop, PR_REPLAYCTL_MAX_LOOP);
		return -EINVAL;
	}
	if (req->from_ns && req->to_ns && req->from_ns > req->to_ns) {
		snprintf(msg, msg_len, "from_ts: after to_ts: nothing could be sent");
		return -EINVAL;
	}
	if ((ret = set_str(r->info.interface, sizeof(r->info.interface), "interface",
			   req->interface, msg, msg_len)) ||
	    (ret = set_str(r->info.filter, sizeof(r->info.filter), "filter",
			   req->filter ? req->filter : "", msg, msg_len)))
		return ret;
	/* DPDK names its ports itself (net_pcap0, 0000:03:00.0): the kernel does not know them. */
	if ((empty(backend) || strcmp(backend, "dpdk")) && !if_nametoindex(req->interface)) {
		snprintf(msg, msg_len,
			 "interface: no such interface \"%.64s\" (see ListInterfaces)",
			 req->interface);
		return -ENODEV;
	}
	/* Before the store is opened: a filter that compiles for nothing costs no key derivation. */
	ret = pr_query_filter_check(r->info.filter, &qerr);
	if (ret) {
		snprintf(msg, msg_len, "filter: %s", qerr.msg);
		return ret;
	}
	if (empty(backend))
		backend = pr_backend_pick(req->interface, why, sizeof(why));
	if ((ret = set_str(r->info.backend, sizeof(r->info.backend), "backend", backend, msg,
			   msg_len)))
		return ret;
	if (!strcmp(backend, "afxdp") && rc->cfg.afxdp_args[0])
		r->backend_args = rc->cfg.afxdp_args;
	if (!strcmp(backend, "dpdk") && rc->cfg.dpdk_args[0])
		r->backend_args = rc->cfg.dpdk_args;
	r->info.session_id = req->session_id;
	r->info.speed = req->speed;
	r->info.pps = req->pps;
	r->info.count = req->count;
	r->info.from_ns = req->from_ns;
	r->info.to_ns = req->to_ns;
	r->info.has_flow = req->has_flow;
	r->info.flow_id = req->flow_id;
	r->info.mbps = req->mbps;
	r->info.loop = req->loop ? req->loop : 1;
	r->o = (struct pr_replay_opts){
		.speed = req->pps || req->mbps > 0 ? 0 : req->speed,
		.pps = req->pps,
		.mbps = req->mbps,
		.loop = r->info.loop,
		.count = req->count,
		/* As `replay` by default: a paced tx core at SCHED_FIFO 1 where permitted. */
		.realtime = true,
	};
	return 0;
}

/* The store read-only and the session's packets: -ENOENT, -EINVAL (filter), -EIO. */
static int source_open(struct pr_replayctl *rc, struct rp *r, char *msg, size_t msg_len)
{
	struct pr_store_cfg scfg = { .path = rc->db_path, .key = rc->db_key, .readonly = true };
	struct pr_replay_session_req sreq = {
		.session = r->info.session_id,
		.filter = r->info.filter,
		.from_ns = r->info.from_ns,
		.to_ns = r->info.to_ns,
		.has_flow = r->info.has_flow,
		.flow_id = r->info.flow_id,
	};
	struct pr_query_err qerr;
	int ret;

	if (pr_store_open(&scfg, &r->st)) {
		snprintf(msg, msg_len, "%s", pr_store_open_error());
		return -EIO;
	}
	ret = pr_replay_session_create(r->st, &sreq, &r->rs, &qerr);
	if (ret == -ENOENT)
		snprintf(msg, msg_len, "session_id: %s", qerr.msg);
	else if (ret == -EINVAL)
		snprintf(msg, msg_len, "%s: %s",
			 qerr.field && !strcmp(qerr.field, PR_QUERY_FIELD_FILTER) ? "filter" :
			 qerr.field && !strcmp(qerr.field, PR_QUERY_FIELD_RANGE)  ? "from_ts" :
										    "session_id",
			 qerr.msg);
	else if (ret)
		snprintf(msg, msg_len, "%.200s: %s", rc->db_path, qerr.msg);
	if (ret && ret != -ENOENT && ret != -EINVAL)
		ret = -EIO;
	return ret;
}

/* rc->lock held. Drop the oldest finished replays beyond PR_REPLAYCTL_MAX_FINISHED. */
static void prune(struct pr_replayctl *rc)
{
	unsigned finished = 0;

	/* Shutdown joins every thread itself, walking the list unlocked. */
	if (rc->closing)
		return;
	for (struct rp *r = rc->rps; r; r = r->next)
		finished += r->finished && !r->waiters;
	while (finished > PR_REPLAYCTL_MAX_FINISHED) {
		struct rp **pp = &rc->rps, *r;

		while (*pp && !((*pp)->finished && !(*pp)->waiters))
			pp = &(*pp)->next;
		r = *pp;
		*pp = r->next;
		/* Finished: its thread is past its last use of the lock, or about to be. */
		pthread_mutex_unlock(&rc->lock);
		pthread_join(r->thread, NULL);
		pthread_mutex_lock(&rc->lock);
		free(r);
		finished--;
	}
}

static struct rp *find(struct pr_replayctl *rc, int64_t id)
{
	for (struct rp *r = rc->rps; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* Release what start() opened for a replay whose thread never ran. */
static void rp_free(struct rp *r)
{
	pr_replay_session_destroy(r->rs);
	pr_store_close(r->st);
	free(r);
}

int pr_replayctl_start(struct pr_replayctl *rc, const struct pr_replayctl_req *req,
		       struct pr_replayctl_info *out, char *msg, size_t msg_len)
{
	struct rp *r = calloc(1, sizeof(*r));
	struct timespec deadline;
	unsigned running = 0;
	int ret;

	msg[0] = 0;
	if (!r)
		return -ENOMEM;
	r->rc = rc;
	/* Checked again below, under the lock that orders it with shutdown: this spares the store. */
	pthread_mutex_lock(&rc->lock);
	if (rc->closing) {
		pthread_mutex_unlock(&rc->lock);
		free(r);
		snprintf(msg, msg_len, "the daemon is stopping");
		return -ESHUTDOWN;
	}
	pthread_mutex_unlock(&rc->lock);
	ret = req_check(rc, req, r, msg, msg_len);
	if (!ret)
		ret = source_open(rc, r, msg, msg_len);
	if (ret) {
		rp_free(r);
		return ret;
	}
	pthread_mutex_lock(&rc->lock);
	for (struct rp *x = rc->rps; x; x = x->next)
		/* By state: StopReplay answers at STOPPED, and a start right after it must pass. */
		running += !state_final(x->info.state);
	if (rc->closing) {
		snprintf(msg, msg_len, "the daemon is stopping");
		ret = -ESHUTDOWN;
	} else if (running >= rc->max_running) {
		snprintf(msg, msg_len,
			 "%u replays are running, the most this daemon runs at once: try again "
			 "when one has ended",
			 running);
		ret = -ENOSPC;
	}
	if (ret) {
		pthread_mutex_unlock(&rc->lock);
		rp_free(r);
		return ret;
	}
	r->id = rc->next_id++;
	r->info.replay_id = r->id;
	r->info.state = PR_REPLAYCTL_STARTING;
	r->info.started_ns = wall_ns();
	ret = -pthread_create(&r->thread, NULL, rp_main, r);
	if (ret) {
		pthread_mutex_unlock(&rc->lock);
		snprintf(msg, msg_len, "cannot start a replay thread: %s", strerror(-ret));
		rp_free(r);
		return ret;
	}
	r->thread_started = true;
	{
		struct rp **pp = &rc->rps;

		while (*pp)
			pp = &(*pp)->next;
		*pp = r;
	}
	/* Answer once it sends, or has failed: a link type that does not fit is an answer. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += PR_REPLAYCTL_START_WAIT_MS / 1000;
	while (r->info.state == PR_REPLAYCTL_STARTING) {
		if (pthread_cond_timedwait(&rc->cond, &rc->lock, &deadline) == ETIMEDOUT)
			break;
	}
	*out = r->info;
	if (r->info.state == PR_REPLAYCTL_FAILED && r->start_err) {
		ret = r->start_err == -EINVAL ? -EINVAL : -EIO;
		if (ret == -EINVAL)
			snprintf(msg, msg_len, "%s", r->info.message);
		else
			snprintf(msg, msg_len, "replay %lld on %s failed: %s", (long long)r->id,
				 r->info.interface, r->info.message);
	}
	prune(rc);
	pthread_mutex_unlock(&rc->lock);
	return ret;
}

int pr_replayctl_stop(struct pr_replayctl *rc, int64_t replay_id, struct pr_replayctl_info *out,
		      char *msg, size_t msg_len)
{
	struct rp *r;

	msg[0] = 0;
	pthread_mutex_lock(&rc->lock);
	r = find(rc, replay_id);
	if (!r) {
		pthread_mutex_unlock(&rc->lock);
		snprintf(msg, msg_len, "replay_id: no replay %lld", (long long)replay_id);
		return -ENOENT;
	}
	atomic_store(&r->stop_req, true);
	/* The engine bounds this: it polls the flag and stops its dataplane. */
	r->waiters++;
	while (!state_final(r->info.state))
		pthread_cond_wait(&rc->cond, &rc->lock);
	r->waiters--;
	*out = r->info;
	pthread_mutex_unlock(&rc->lock);
	return 0;
}

unsigned pr_replayctl_session_users(struct pr_replayctl *rc, int64_t session_id)
{
	unsigned n = 0;

	pthread_mutex_lock(&rc->lock);
	for (struct rp *r = rc->rps; r; r = r->next)
		n += r->info.session_id == session_id && !r->finished;
	pthread_mutex_unlock(&rc->lock);
	return n;
}

int pr_replayctl_get(struct pr_replayctl *rc, int64_t replay_id, struct pr_replayctl_info *out)
{
	struct rp *r;
	int ret = -ENOENT;

	pthread_mutex_lock(&rc->lock);
	r = find(rc, replay_id);
	if (r) {
		*out = r->info;
		ret = 0;
	}
	pthread_mutex_unlock(&rc->lock);
	return ret;
}

void pr_replayctl_shutdown(struct pr_replayctl *rc)
{
	struct rp *r;

	if (!rc)
		return;
	pthread_mutex_lock(&rc->lock);
	rc->closing = true;
	for (r = rc->rps; r; r = r->next)
		atomic_store(&r->stop_req, true);
	for (r = rc->rps; r; r = r->next)
		while (!r->finished)
			pthread_cond_wait(&rc->cond, &rc->lock);
	pthread_mutex_unlock(&rc->lock);
	/* Every thread is past its last lock; join them (a stop() may still read the list). */
	for (r = rc->rps; r; r = r->next)
		if (r->thread_started) {
			pthread_join(r->thread, NULL);
			r->thread_started = false;
		}
}

void pr_replayctl_destroy(struct pr_replayctl *rc)
{
	if (!rc)
		return;
	pr_replayctl_shutdown(rc);
	while (rc->rps) {
		struct rp *r = rc->rps;

		rc->rps = r->next;
		free(r);
	}
	pthread_cond_destroy(&rc->cond);
	pthread_mutex_destroy(&rc->lock);
	if (rc->db_key) {
		explicit_bzero(rc->db_key, strlen(rc->db_key));
		free(rc->db_key);
	}
	free(rc->db_path);
	free(rc);
}
