// SPDX-License-Identifier: Apache-2.0
/*
 * Capture control (pr_capctl.h). Each capture is a struct cap in the
 * registry (a list under cc->lock, newest last) and one thread, cap_main(),
 * that owns everything the capture opens: a writer connection to the
 * store, the session, the ingest and the dataplane. The thread is also the
 * one that forks the dataplane, which matters: the dataplane is started
 * with PR_SET_PDEATHSIG, which fires when the forking *thread* ends, so
 * it must be a thread that lives exactly as long as the capture, never a
 * front end's request thread.
 *
 * What the front ends read (state, counters, message) is copied into the
 * struct cap under cc->lock by its thread; state changes are broadcast
 * on cc->cond, which start() and stop() wait on.
 */
#define _GNU_SOURCE
#define PR_LOG_MODULE "capctl"

#include <errno.h>
#include <json-c/json.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_backend_pick.h"
#include "pr_capctl.h"
#include "pr_config.h"
#include "pr_dpctl.h"
#include "pr_events.h"
#include "pr_ingest.h"
#include "pr_log.h"
#include "pr_query.h"
#include "pr_sensor_metrics.h"
#include "pr_store.h"
#include "pr_tap.h"

/* How long a stopped dataplane gets to flush before it is killed. */
#define STOP_GRACE_NS (10ull * 1000000000u)
/* How often a capture thread copies its figures for the front ends. */
#define PUBLISH_EVERY_NS (100ull * 1000000u)

struct cap {
	struct cap *next;
	struct pr_capctl *cc;
	int64_t id;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop_req;
	struct pr_dp_cfg dpc; /* handed to the dataplane */
	char name[128]; /* session name */
	/* Under cc->lock: what the front ends see. */
	struct pr_capctl_info info;
	struct pr_tap_hub *tap; /* live taps of its packets (one reference: this struct's) */
	bool finished; /* the thread has released everything but this struct */
	unsigned waiters; /* stop() calls waiting on it: it is not pruned meanwhile */
};

struct pr_capctl {
	struct pr_config cfg;
	char *db_path;
	char *db_key;
	struct pr_events *events;
	struct pr_sensor_metrics *sm;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cap *caps; /* oldest first */
	int64_t next_id;
	bool closing;
};

static void cap_free(struct cap *c)
{
	pr_tap_hub_put(c->tap);
	free(c);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool state_final(enum pr_capctl_state s)
{
	return s == PR_CAPCTL_STOPPED || s == PR_CAPCTL_FAILED;
}

/* cc->lock held. */
static void set_state(struct cap *c, enum pr_capctl_state s)
{
	c->info.state = s;
	pthread_cond_broadcast(&c->cc->cond);
}

static void set_state_locked(struct cap *c, enum pr_capctl_state s)
{
	pthread_mutex_lock(&c->cc->lock);
	set_state(c, s);
	pthread_mutex_unlock(&c->cc->lock);
}

/*
 * A capture_started or capture_stopped event: the capture as the front
 * ends show it. json-c builds it, so an interface or filter with quotes
 * stays one string. A bus that refuses (closed, no memory) costs only the
 * event.
 */
static void publish(struct cap *c, uint32_t type)
{
	struct pr_capctl *cc = c->cc;
	struct pr_capctl_info in;
	struct json_object *o;

	if (!cc->events)
		return;
	pthread_mutex_lock(&cc->lock);
	in = c->info;
	pthread_mutex_unlock(&cc->lock);
	o = json_object_new_object();
	if (!o)
		return;
	json_object_object_add(o, "capture_id", json_object_new_int64(in.capture_id));
	json_object_object_add(o, "session_id", json_object_new_int64(in.session_id));
	json_object_object_add(o, "interface", json_object_new_string(in.interface));
	json_object_object_add(o, "backend", json_object_new_string(in.backend));
	json_object_object_add(o, "filter", json_object_new_string(in.filter));
	json_object_object_add(o, "state", json_object_new_string(pr_capctl_state_name(in.state)));
	if (type == PR_EVENT_CAPTURE_STOPPED) {
		json_object_object_add(o, "packets", json_object_new_uint64(in.packets));
		json_object_object_add(o, "bytes", json_object_new_uint64(in.bytes));
		json_object_object_add(o, "drops", json_object_new_uint64(in.drops));
		json_object_object_add(o, "end_reason", json_object_new_string(in.end_reason));
		if (in.message[0])
			json_object_object_add(o, "message", json_object_new_string(in.message));
	}
	pr_events_publish(cc->events, type, in.session_id,
			  json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
	json_object_put(o);
}

static uint64_t drops_sum(const uint64_t counters[PR_STAT_MAX])
{
	uint64_t d[PR_DROP_REASON_MAX], sum = 0;

	pr_ingest_drops_of(counters, d);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		sum += d[i];
	return sum;
}

static void publish_figures(struct cap *c, const struct pr_ingest_stats *s)
{
	pthread_mutex_lock(&c->cc->lock);
	c->info.packets = s->packets;
	c->info.bytes = s->bytes;
	c->info.drops = drops_sum(s->counters);
	pthread_mutex_unlock(&c->cc->lock);
}

/*
 * Drive the ingest until every worker has ended or the dataplane is gone,
 * as `capture` does; a stop request (or a store that can take no more)
 * asks the dataplane to stop, and one that has not ended STOP_GRACE_NS
 * later is killed, so that stop() and shutdown always return.
 */
static void consume(struct cap *c, struct pr_ingest *ig, struct pr_dp *dp)
{
	uint64_t stop_at = 0, last_pub = 0;
	bool started = false, stop_sent = false, killed = false, exited = false;
	int status = 0;

	while (!pr_ingest_done(ig)) {
		struct pr_ingest_stats s;
		int n = pr_ingest_poll(ig, 8192);
		uint64_t now;

		if (n < 0)
			break; /* a corrupt ring: the ingest says so */
		now = mono_ns();
		pr_ingest_tick(ig, now);
		pr_ingest_get_stats(ig, &s);
		if (!started && pr_dp_started(dp)) {
			started = true;
			pthread_mutex_lock(&c->cc->lock);
			if (c->info.state == PR_CAPCTL_STARTING)
				set_state(c, PR_CAPCTL_RUNNING);
			pthread_mutex_unlock(&c->cc->lock);
			PR_NOTICE(
				"capture %lld: capturing from %s (%s backend)%s%s into session %lld",
				(long long)c->id, c->dpc.interface, c->dpc.backend,
				c->dpc.filter[0] ? " with filter " : "", c->dpc.filter,
				(long long)c->info.session_id);
			publish(c, PR_EVENT_CAPTURE_STARTED);
		}
		if (!stop_sent && (s.store_failed || atomic_load(&c->stop_req))) {
			pr_dp_stop(dp);
			stop_sent = true;
			stop_at = now;
			set_state_locked(c, PR_CAPCTL_STOPPING);
		}
		if (stop_sent && !killed && !exited && now - stop_at > STOP_GRACE_NS) {
			PR_WARN("capture %lld: the dataplane did not stop within %llu s: killed",
				(long long)c->id, STOP_GRACE_NS / 1000000000u);
			kill(pr_dp_pid(dp), SIGKILL);
			killed = true;
		}
		if (now - last_pub >= PUBLISH_EVERY_NS) {
			publish_figures(c, &s);
			last_pub = now;
		}
		if (!n) {
			struct timespec pause = { 0, 200000 };

			if (exited) {
				/* It is gone and the rings are drained: no END will come. */
				char how[128], msg[256];

				pr_dp_describe_status(status, how, sizeof(how));
				snprintf(msg, sizeof(msg), "the dataplane %s before it finished",
					 how);
				pr_ingest_set_error(ig, -EPIPE, msg);
				break;
			}
			exited = pr_dp_exited(dp, &status);
			if (!exited)
				nanosleep(&pause, NULL);
		}
	}
}

/* The capture's end as the front ends see it; the thread's last word. */
static void finish(struct cap *c, const struct pr_ingest_stats *is, const char *err)
{
	bool failed = err || !is || is->store_failed || is->end_reason == PR_END_ERROR;

	pthread_mutex_lock(&c->cc->lock);
	if (is) {
		c->info.packets = is->packets;
		c->info.bytes = is->bytes;
		c->info.drops = drops_sum(is->store_failed ? is->committed : is->counters);
		snprintf(c->info.end_reason, sizeof(c->info.end_reason), "%s",
			 is->store_failed ? "store_error" :
					    pr_ingest_end_reason_name(is->end_reason));
		if (is->store_failed)
			snprintf(c->info.message, sizeof(c->info.message), "%.200s: %.300s",
				 c->cc->db_path, is->store_err);
		else if (is->end_reason == PR_END_ERROR)
			snprintf(c->info.message, sizeof(c->info.message), "%s", is->end_msg);
	} else {
		snprintf(c->info.end_reason, sizeof(c->info.end_reason), "error");
	}
	if (err)
		snprintf(c->info.message, sizeof(c->info.message), "%.511s", err);
	set_state(c, failed ? PR_CAPCTL_FAILED : PR_CAPCTL_STOPPED);
	pthread_mutex_unlock(&c->cc->lock);
	{
		char how[600];

		if (failed)
			snprintf(how, sizeof(how), "capture %lld failed: %.500s", (long long)c->id,
				 c->info.message);
		else
			snprintf(how, sizeof(how), "capture %lld ended (%s)", (long long)c->id,
				 c->info.end_reason);
		pr_tap_hub_end(c->tap, how);
	}
	if (failed)
		PR_WARN("capture %lld on %s failed: %s", (long long)c->id, c->dpc.interface,
			c->info.message);
	else
		PR_NOTICE("capture %lld on %s: %llu packets stored, %llu dropped (%s)",
			  (long long)c->id, c->dpc.interface, (unsigned long long)c->info.packets,
			  (unsigned long long)c->info.drops, c->info.end_reason);
	publish(c, PR_EVENT_CAPTURE_STOPPED);
}

/* The ingest's callbacks: stored interfaces and packets go to the live taps. */
static void tap_iface(void *ctx, const struct pr_rec_iface *rec)
{
	struct cap *c = ctx;

	pr_tap_hub_iface(c->tap, rec);
}

static void tap_packet(void *ctx, const struct pr_rec_packet *rec)
{
	struct cap *c = ctx;

	pr_tap_hub_packet(c->tap, rec);
}

static void *cap_main(void *arg)
{
	struct cap *c = arg;
	struct pr_capctl *cc = c->cc;
	struct pr_store_cfg scfg = {
		.path = cc->db_path,
		.key = cc->db_key,
		.create = true,
		.block_max_packets = cc->cfg.block_max_packets,
		.block_max_bytes = (uint32_t)cc->cfg.block_max_bytes,
		.manual_checkpoint = true,
		.store_mode = cc->cfg.store_mode ? PR_STORE_MODE_DB : PR_STORE_MODE_SEGMENTS,
		.compress = cc->cfg.store_compress != 0,
	};
	struct pr_store_cfg ckcfg = { .path = cc->db_path, .key = cc->db_key };
	struct pr_session_info si;
	struct pr_ingest_stats is;
	struct pr_store *st = NULL;
	struct pr_ingest *ig = NULL;
	struct pr_dp *dp = NULL;
	int64_t session = 0;
	char err[768] = "";
	int ret;

	ret = pr_store_open(&scfg, &st);
	if (ret) {
		snprintf(err, sizeof(err), "%s", pr_store_open_error());
		goto fail;
	}
	memset(&si, 0, sizeof(si));
	snprintf(si.name, sizeof(si.name), "%s", c->name);
	snprintf(si.source, sizeof(si.source), "%s", c->dpc.interface);
	snprintf(si.source_kind, sizeof(si.source_kind), "interface");
	snprintf(si.filter, sizeof(si.filter), "%s", c->dpc.filter);
	si.snaplen = c->dpc.snaplen;
	if (pr_store_session_begin(st, &si, &session)) {
		snprintf(err, sizeof(err), "%s: start session: %s", cc->db_path,
			 pr_store_errmsg(st));
		goto fail;
	}
	pthread_mutex_lock(&cc->lock);
	c->info.session_id = session;
	pthread_mutex_unlock(&cc->lock);
	{
		struct pr_ingest_cfg icfg = {
			.st = st,
			.session = session,
			.commit_interval_ms = cc->cfg.commit_interval_ms,
			.commit_max_bytes = cc->cfg.commit_max_bytes,
			.checkpoint_cfg = &ckcfg,
			.sm = cc->sm,
			.metrics_iface = c->dpc.interface,
			.on_iface = tap_iface,
			.on_packet = tap_packet,
			.ctx = c,
		};

		if (pr_ingest_create(&icfg, &ig)) {
			snprintf(err, sizeof(err), "%s", strerror(ENOMEM));
			goto fail_session;
		}
	}
	ret = pr_dp_create(&cc->cfg, &c->dpc, 0, &dp, err, sizeof(err));
	for (uint32_t i = 0; !ret && i < pr_dp_rx_rings(dp); i++)
		if (pr_ingest_add_ring(ig, pr_dp_rx_ring(dp, i))) {
			snprintf(err, sizeof(err), "ring %u of the dataplane is not valid", i);
			ret = -EPROTO;
		}
	if (!ret)
		ret = pr_dp_spawn(dp, NULL, err, sizeof(err));
	if (ret)
		goto fail_session;
	if (cc->sm)
		pr_metric_inc(cc->sm->captures_started, 1);
	consume(c, ig, dp);
	pr_dp_wait(dp, 5000);
	pr_ingest_finish(ig);
	pr_ingest_get_stats(ig, &is);
	pr_ingest_destroy(ig);
	pr_dp_destroy(dp);
	pr_store_close(st);
	finish(c, &is, NULL);
	goto out;

fail_session:
	pr_store_session_end(st, session, PR_SESSION_FAILED, err);
fail:
	pr_ingest_destroy(ig);
	pr_dp_destroy(dp);
	pr_store_close(st);
	finish(c, NULL, err);
out:
	pthread_mutex_lock(&cc->lock);
	c->finished = true;
	pthread_cond_broadcast(&cc->cond);
	pthread_mutex_unlock(&cc->lock);
	return NULL;
}

int pr_capctl_create(const struct pr_capctl_cfg *cfg, struct pr_capctl **out)
{
	struct pr_capctl *cc;

	*out = NULL;
	if (!cfg || !cfg->cfg || !cfg->db_path)
		return -EINVAL;
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return -ENOMEM;
	cc->cfg = *cfg->cfg;
	cc->db_path = strdup(cfg->db_path);
	cc->db_key = cfg->db_key ? strdup(cfg->db_key) : NULL;
	if (!cc->db_path || (cfg->db_key && !cc->db_key)) {
		free(cc->db_path);
		free(cc->db_key);
		free(cc);
		return -ENOMEM;
	}
	cc->events = cfg->events;
	cc->sm = cfg->sm;
	cc->next_id = 1;
	pthread_mutex_init(&cc->lock, NULL);
	pthread_cond_init(&cc->cond, NULL);
	*out = cc;
	return 0;
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

static bool empty(const char *s)
{
	return !s || !s[0];
}

/* The request as the dataplane's settings; -EINVAL/-ENODEV with msg naming the field. */
static int req_to_cap(struct pr_capctl *cc, const struct pr_capctl_req *req, struct cap *c,
		      char *msg, size_t msg_len)
{
	const char *backend = req->backend, *bargs = NULL;
	struct pr_query_err qerr;
	char why[160], err[512];
	int ret;

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
	c->dpc = cc->cfg.dp;
	c->dpc.mode = PR_DP_MODE_CAPTURE;
	c->dpc.count = req->max_packets;
	if (req->duration_s > 366ull * 86400) {
		snprintf(msg, msg_len, "duration_s: at most a year (31622400)");
		return -EINVAL;
	}
	c->dpc.duration_ns = req->duration_s * 1000000000u;
	if (req->snaplen > PR_MAX_SNAPLEN) {
		snprintf(msg, msg_len, "snaplen: must be from 1 to %u (0: the default)",
			 PR_MAX_SNAPLEN);
		return -EINVAL;
	}
	if (req->snaplen)
		c->dpc.snaplen = req->snaplen;
	if ((ret = set_str(c->dpc.interface, sizeof(c->dpc.interface), "interface", req->interface,
			   msg, msg_len)) ||
	    (ret = set_str(c->dpc.filter, sizeof(c->dpc.filter), "filter",
			   req->filter ? req->filter : "", msg, msg_len)) ||
	    (ret = set_str(c->name, sizeof(c->name), "name",
			   empty(req->name) ? req->interface : req->name, msg, msg_len)))
		return ret;
	if (empty(req->name) && strlen(req->interface) >= sizeof(c->name)) {
		snprintf(msg, msg_len, "name: the interface name is too long for one: give a name");
		return -EINVAL;
	}
	/* DPDK names its ports itself (net_pcap0, 0000:03:00.0): the kernel does not know them. */
	if ((empty(backend) || strcmp(backend, "dpdk")) && !if_nametoindex(req->interface)) {
		snprintf(msg, msg_len,
			 "interface: no such interface \"%.64s\" (see ListInterfaces)",
			 req->interface);
		return -ENODEV;
	}
	ret = pr_query_filter_check(c->dpc.filter, &qerr);
	if (ret) {
		snprintf(msg, msg_len, "filter: %s", qerr.msg);
		return ret;
	}
	if (empty(backend))
		backend = pr_backend_pick(req->interface, why, sizeof(why));
	if (!strcmp(backend, "afxdp") && cc->cfg.afxdp_args[0])
		bargs = cc->cfg.afxdp_args;
	if (!strcmp(backend, "dpdk") && cc->cfg.dpdk_args[0])
		bargs = cc->cfg.dpdk_args;
	if ((ret = set_str(c->dpc.backend, sizeof(c->dpc.backend), "backend", backend, msg,
			   msg_len)) ||
	    (ret = set_str(c->dpc.backend_args, sizeof(c->dpc.backend_args), "backend_args",
			   bargs ? bargs : "", msg, msg_len)))
		return ret;
	c->dpc.read_path[0] = 0;
	if (pr_dpcfg_check(&c->dpc, err, sizeof(err))) {
		snprintf(msg, msg_len, "%s", err);
		return -EINVAL;
	}
	return 0;
}

/* cc->lock held. Drop the oldest finished captures beyond PR_CAPCTL_MAX_FINISHED. */
static void prune(struct pr_capctl *cc)
{
	unsigned finished = 0;

	/* Shutdown joins every thread itself, walking the list unlocked. */
	if (cc->closing)
		return;
	for (struct cap *c = cc->caps; c; c = c->next)
		finished += c->finished && !c->waiters;
	while (finished > PR_CAPCTL_MAX_FINISHED) {
		struct cap **pp = &cc->caps, *c;

		while (*pp && !((*pp)->finished && !(*pp)->waiters))
			pp = &(*pp)->next;
		c = *pp;
		*pp = c->next;
		/* Finished: its thread is past its last use of the lock, or about to be. */
		pthread_mutex_unlock(&cc->lock);
		pthread_join(c->thread, NULL);
		pthread_mutex_lock(&cc->lock);
		cap_free(c);
		finished--;
	}
}

static struct cap *find(struct pr_capctl *cc, int64_t id)
{
	for (struct cap *c = cc->caps; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Wait until cond(c) or the deadline (CLOCK_REALTIME, the condvar's clock); cc->lock held. */
static void wait_until(struct pr_capctl *cc, const struct timespec *deadline)
{
	if (deadline)
		pthread_cond_timedwait(&cc->cond, &cc->lock, deadline);
	else
		pthread_cond_wait(&cc->cond, &cc->lock);
}

int pr_capctl_start(struct pr_capctl *cc, const struct pr_capctl_req *req,
		    struct pr_capctl_info *out, char *msg, size_t msg_len)
{
	struct cap *c = calloc(1, sizeof(*c));
	struct timespec deadline;
	unsigned running = 0;
	unsigned max_running = cc->cfg.max_captures ? cc->cfg.max_captures : PR_CAPCTL_MAX_RUNNING;
	int ret;

	msg[0] = 0;
	if (!c)
		return -ENOMEM;
	c->cc = cc;
	ret = req_to_cap(cc, req, c, msg, msg_len);
	if (!ret && pr_tap_hub_create(&c->tap))
		ret = -ENOMEM;
	if (ret) {
		cap_free(c);
		return ret;
	}
	pthread_mutex_lock(&cc->lock);
	for (struct cap *x = cc->caps; x; x = x->next)
		/*
		 * By state, not by the thread's last step: StopCapture answers at
		 * STOPPED, when the dataplane and the store are already released,
		 * and a start right after it must not be refused.
		 */
		running += !state_final(x->info.state);
	if (cc->closing) {
		snprintf(msg, msg_len, "the daemon is stopping");
		ret = -ESHUTDOWN;
	} else if (running >= max_running) {
		snprintf(msg, msg_len,
			 "%u captures are running, the most this daemon runs at once "
			 "(max_captures = %u)",
			 running, max_running);
		ret = -ENOSPC;
	}
	if (ret) {
		pthread_mutex_unlock(&cc->lock);
		cap_free(c);
		return ret;
	}
	c->id = cc->next_id++;
	c->info.capture_id = c->id;
	c->info.state = PR_CAPCTL_STARTING;
	c->info.started_ns = wall_ns();
	snprintf(c->info.interface, sizeof(c->info.interface), "%s", c->dpc.interface);
	snprintf(c->info.backend, sizeof(c->info.backend), "%s", c->dpc.backend);
	snprintf(c->info.filter, sizeof(c->info.filter), "%s", c->dpc.filter);
	ret = -pthread_create(&c->thread, NULL, cap_main, c);
	if (ret) {
		pthread_mutex_unlock(&cc->lock);
		snprintf(msg, msg_len, "cannot start a capture thread: %s", strerror(-ret));
		cap_free(c);
		return ret;
	}
	c->thread_started = true;
	{
		struct cap **pp = &cc->caps;

		while (*pp)
			pp = &(*pp)->next;
		*pp = c;
	}
	/* Answer once it captures (traffic sent after the answer is seen), or has failed. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += PR_CAPCTL_START_WAIT_MS / 1000;
	while (c->info.state == PR_CAPCTL_STARTING) {
		struct timespec now;

		wait_until(cc, &deadline);
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			break;
	}
	*out = c->info;
	if (c->info.state == PR_CAPCTL_FAILED) {
		snprintf(msg, msg_len, "capture %lld on %s failed: %s", (long long)c->id,
			 c->info.interface, c->info.message);
		ret = -EIO;
	}
	prune(cc);
	pthread_mutex_unlock(&cc->lock);
	return ret;
}

int pr_capctl_stop(struct pr_capctl *cc, int64_t capture_id, struct pr_capctl_info *out, char *msg,
		   size_t msg_len)
{
	struct cap *c;

	msg[0] = 0;
	pthread_mutex_lock(&cc->lock);
	c = find(cc, capture_id);
	if (!c) {
		pthread_mutex_unlock(&cc->lock);
		snprintf(msg, msg_len, "capture_id: no capture %lld (see GetCaptureStatus)",
			 (long long)capture_id);
		return -ENOENT;
	}
	atomic_store(&c->stop_req, true);
	/* Its thread bounds this: a dataplane that does not stop is killed (STOP_GRACE_NS). */
	c->waiters++;
	while (!state_final(c->info.state))
		wait_until(cc, NULL);
	c->waiters--;
	*out = c->info;
	pthread_mutex_unlock(&cc->lock);
	return 0;
}

int pr_capctl_get(struct pr_capctl *cc, int64_t capture_id, struct pr_capctl_info *out)
{
	struct cap *c;
	int ret = -ENOENT;

	pthread_mutex_lock(&cc->lock);
	c = find(cc, capture_id);
	if (c) {
		*out = c->info;
		ret = 0;
	}
	pthread_mutex_unlock(&cc->lock);
	return ret;
}

int pr_capctl_list(struct pr_capctl *cc, struct pr_capctl_info **out, size_t *n)
{
	size_t count = 0, i = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&cc->lock);
	for (struct cap *c = cc->caps; c; c = c->next)
		count++;
	if (count) {
		*out = calloc(count, sizeof(**out));
		if (!*out) {
			pthread_mutex_unlock(&cc->lock);
			return -ENOMEM;
		}
		for (struct cap *c = cc->caps; c; c = c->next)
			(*out)[i++] = c->info;
	}
	*n = count;
	pthread_mutex_unlock(&cc->lock);
	return 0;
}

int pr_capctl_tap_open(struct pr_capctl *cc, int64_t capture_id, const struct pr_tap_opts *o,
		       struct pr_tap **out, int64_t *chosen, char *msg, size_t msg_len)
{
	struct cap *c = NULL;
	unsigned running = 0;
	int ret;

	*out = NULL;
	msg[0] = 0;
	if (capture_id < 0) {
		snprintf(msg, msg_len, "capture_id: 0 (the one running) or a capture id");
		return -EINVAL;
	}
	pthread_mutex_lock(&cc->lock);
	if (capture_id) {
		c = find(cc, capture_id);
	} else {
		for (struct cap *x = cc->caps; x; x = x->next)
			if (!state_final(x->info.state)) {
				c = x;
				running++;
			}
		if (running > 1) {
			pthread_mutex_unlock(&cc->lock);
			snprintf(msg, msg_len,
				 "capture_id: %u captures are running: name one (see "
				 "GetCaptureStatus)",
				 running);
			return -EINVAL;
		}
	}
	if (!c) {
		pthread_mutex_unlock(&cc->lock);
		if (capture_id)
			snprintf(msg, msg_len, "capture_id: no capture %lld (see GetCaptureStatus)",
				 (long long)capture_id);
		else
			snprintf(msg, msg_len, "capture_id: no capture is running");
		return -ENOENT;
	}
	if (state_final(c->info.state)) {
		snprintf(msg, msg_len, "capture_id: capture %lld is %s: nothing to tap",
			 (long long)c->id, pr_capctl_state_name(c->info.state));
		pthread_mutex_unlock(&cc->lock);
		return -EPIPE;
	}
	*chosen = c->id;
	/* Under cc->lock: the cap (and its hub reference) cannot be pruned meanwhile. */
	ret = pr_tap_open(c->tap, o, out, msg, msg_len);
	pthread_mutex_unlock(&cc->lock);
	return ret;
}

void pr_capctl_shutdown(struct pr_capctl *cc)
{
	struct cap *c;

	if (!cc)
		return;
	pthread_mutex_lock(&cc->lock);
	cc->closing = true;
	for (c = cc->caps; c; c = c->next)
		atomic_store(&c->stop_req, true);
	for (c = cc->caps; c; c = c->next)
		while (!c->finished)
			wait_until(cc, NULL);
	pthread_mutex_unlock(&cc->lock);
	/* Every thread is past its last lock; join them (a stop() may still read the list). */
	for (c = cc->caps; c; c = c->next)
		if (c->thread_started) {
			pthread_join(c->thread, NULL);
			c->thread_started = false;
		}
}

void pr_capctl_destroy(struct pr_capctl *cc)
{
	if (!cc)
		return;
	pr_capctl_shutdown(cc);
	while (cc->caps) {
		struct cap *c = cc->caps;

		cc->caps = c->next;
		cap_free(c);
	}
	pthread_cond_destroy(&cc->cond);
	pthread_mutex_destroy(&cc->lock);
	if (cc->db_key) {
		explicit_bzero(cc->db_key, strlen(cc->db_key));
		free(cc->db_key);
	}
	free(cc->db_path);
	free(cc);
}
