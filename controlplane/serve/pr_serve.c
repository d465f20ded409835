// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder serve`: the daemon (DESIGN.md section 6). It takes a
 * lock that keeps a second daemon off the same store, opens the store
 * through a pool of connections, reads the API keys, starts the gRPC
 * server (and the HTTP server, where this build has one), tells systemd
 * it is ready (Type=notify, by hand: pr_sdnotify.h), and then waits for
 * signals on the main thread: SIGHUP reloads what can change while
 * running (API keys, TLS certificates; the rest of the config file is
 * checked and a change that needs a restart is named), SIGTERM and SIGINT
 * stop it cleanly: open streams end with a status, the servers are
 * joined, the store closes.
 *
 * Every signal it handles is blocked in every thread (the mask is set
 * before any thread exists) and taken with sigtimedwait() here, so no
 * handler runs in a gRPC or store thread. The main thread owns
 * everything; the servers' threads only use what they were given.
 */
#define _GNU_SOURCE
#define PR_LOG_MODULE "serve"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "pr_auth.h"
#include "pr_capctl.h"
#include "pr_replayctl.h"
#include "pr_tap.h"
#include "pr_cli.h"
#include "pr_events.h"
#include "pr_grpc.h"
#include "pr_http.h"
#include "pr_log.h"
#include "pr_metrics.h"
#include "pr_sdnotify.h"
#include "pr_sensor_metrics.h"
#include "pr_serve.h"
#include "pr_store_pool.h"

enum {
	O_GRPC_ADDR = PR_OPT_FIRST_COMMAND_OPT,
	O_HTTP_ADDR,
	O_TLS_CERT,
	O_TLS_KEY,
	O_TLS_CLIENT_CA,
	O_INSECURE,
	O_THREADS,
};

/* What the command line said; NULL or 0: the config file's value. */
struct serve_opts {
	const char *grpc_addr;
	const char *http_addr;
	const char *tls_cert;
	const char *tls_key;
	const char *tls_client_ca;
	bool insecure_no_auth;
	uint32_t threads;
};

struct serve {
	struct pr_cli cli;
	struct serve_opts o;
	int lock_fd;
	char lock_path[PATH_MAX];
	struct pr_auth *auth;
	struct pr_store_pool *pool;
	struct pr_metrics *metrics;
	struct pr_sensor_metrics *sm;
	struct pr_events *events;
	struct pr_capctl *capctl;
	struct pr_grpc_capture_ops grpc_captures;
	struct pr_http_capture_ops http_captures;
	struct pr_replayctl *replayctl;
	struct pr_grpc_replay_ops grpc_replays;
	struct pr_grpc_server *grpc;
	struct pr_http_server *http;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder serve [--grpc-addr ADDR] [--http-addr ADDR] [-d DB]\n"
		"                            [--config FILE] [--tls-cert FILE --tls-key FILE\n"
		"                            [--tls-client-ca FILE]] [--insecure-no-auth]\n"
		"\n"
		"Run the daemon: the gRPC API (and the HTTP API) over the store, until SIGTERM.\n"
		"\n"
		"      --grpc-addr ADDR   gRPC address: HOST:PORT, [IPV6]:PORT, :PORT (every\n"
		"                         address) or off (default from the config: 127.0.0.1:50051)\n"
		"      --http-addr ADDR   HTTP address, the same forms (default: off)\n"
		"  -d, --database FILE    the store (default packets.db); created if missing\n"
		"      --config FILE      configuration file (keys: configs/packetrecorder.conf)\n"
		"      --tls-cert FILE    PEM certificate: both servers speak TLS only\n"
		"      --tls-key FILE     its PEM private key\n"
		"      --tls-client-ca FILE  PEM CAs: clients must show a certificate they signed\n"
		"      --insecure-no-auth serve an address other machines can reach without any\n"
		"                         API key (refused otherwise)\n"
		"      --threads N        gRPC worker threads (config grpc_threads)\n");
	pr_cli_key_help(f);
	fprintf(f,
		"  -q, --quiet / -v, --verbose  less / more logging\n"
		"  -h, --help             this help\n"
		"\n"
		"API keys: $PACKETRECORDER_API_KEY, $PACKETRECORDER_API_KEYS (comma-separated),\n"
		"$PACKETRECORDER_API_KEYS_FILE (one a line; config api_keys_file), sent as\n"
		"x-api-key or authorization: Bearer. SIGHUP reloads keys and TLS files.\n"
		"Documentation: docs/packetrecorder-serve.md, docs/grpc-api.md.\n");
}

static bool addr_off(const char *a)
{
	return !a || !a[0] || !strcmp(a, "off");
}

/* The settings in effect: the config file, then the command line over it. */
static void apply_opts(struct pr_config *cfg, const struct serve_opts *o)
{
#define SET_STR(field, v) \
	if (v)            \
	snprintf(cfg->field, sizeof(cfg->field), "%s", v)
	SET_STR(grpc_addr, o->grpc_addr);
	SET_STR(http_addr, o->http_addr);
	SET_STR(tls_cert, o->tls_cert);
	SET_STR(tls_key, o->tls_key);
	SET_STR(tls_client_ca, o->tls_client_ca);
#undef SET_STR
	if (o->threads)
		cfg->grpc_threads = o->threads;
}

static int check_file(const char *what, const char *path)
{
	if (access(path, R_OK)) {
		pr_cli_error("%s %s: %s", what, path, strerror(errno));
		return PR_EXIT_USAGE;
	}
	return 0;
}

/* What must hold before anything is opened; returns an exit code. */
static int check_settings(struct serve *s)
{
	const struct pr_config *cfg = &s->cli.cfg;
	const char *addrs[2] = { cfg->grpc_addr, cfg->http_addr };
	const char *names[2] = { "grpc_addr (--grpc-addr)", "http_addr (--http-addr)" };
	int rc;

	if (addr_off(cfg->grpc_addr) && addr_off(cfg->http_addr)) {
		pr_cli_error("serve: both servers are off: give --grpc-addr or --http-addr");
		return PR_EXIT_USAGE;
	}
	if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
		pr_cli_error("serve: TLS needs both tls_cert (--tls-cert) and tls_key (--tls-key)");
		return PR_EXIT_USAGE;
	}
	if (cfg->tls_client_ca[0] && !cfg->tls_cert[0]) {
		pr_cli_error(
			"serve: tls_client_ca (--tls-client-ca) needs TLS: give --tls-cert and "
			"--tls-key");
		return PR_EXIT_USAGE;
	}
	if ((cfg->tls_cert[0] && (rc = check_file("--tls-cert", cfg->tls_cert))) ||
	    (cfg->tls_key[0] && (rc = check_file("--tls-key", cfg->tls_key))) ||
	    (cfg->tls_client_ca[0] && (rc = check_file("--tls-client-ca", cfg->tls_client_ca))))
		return rc;
	/* No key and reachable from elsewhere: only when asked for in so many words. */
	for (int i = 0; i < 2; i++) {
		if (addr_off(addrs[i]) || pr_auth_enabled(s->auth) ||
		    pr_auth_addr_is_loopback(addrs[i]))
			continue;
		if (s->o.insecure_no_auth) {
			PR_WARN("%s %s can be reached from other machines and no API key is "
				"configured: anyone who reaches it can read the store "
				"(--insecure-no-auth)",
				names[i], addrs[i]);
			continue;
		}
		pr_cli_error("serve: %s %s can be reached from other machines, and no API key is "
			     "configured ($PACKETRECORDER_API_KEY, $PACKETRECORDER_API_KEYS, "
			     "$PACKETRECORDER_API_KEYS_FILE or api_keys_file): configure a key, "
			     "listen on a loopback address, or give --insecure-no-auth",
			     names[i], addrs[i]);
		return PR_EXIT_USAGE;
	}
	return 0;
}

static int auth_open(struct serve *s)
{
	struct pr_auth_cfg ac;
	char err[1024];
	int ret;

	pr_auth_cfg_from_env(&ac);
	if (!ac.keys_file && s->cli.cfg.api_keys_file[0])
		ac.keys_file = s->cli.cfg.api_keys_file;
	ret = pr_auth_create(&ac, &s->auth, err, sizeof(err));
	if (ret) {
		pr_cli_error("serve: %s", err);
		return ret == -EINVAL || ret == -E2BIG ? PR_EXIT_USAGE : PR_EXIT_FAIL;
	}
	return 0;
}

/*
 * One daemon per store: an flock()ed file beside it. The lock goes with
 * the process, so a daemon that was killed leaves nothing to clean up.
 */
static int lock_take(struct serve *s)
{
	char pid[32];
	ssize_t n;
	int len;

	if (snprintf(s->lock_path, sizeof(s->lock_path), "%s.serve.lock", s->cli.db_path) >=
	    (int)sizeof(s->lock_path)) {
		pr_cli_error("%s: path too long", s->cli.db_path);
		return PR_EXIT_USAGE;
	}
	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		pr_cli_error("%s: %s", s->lock_path, strerror(errno));
		return PR_EXIT_FAIL;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		n = pread(s->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (e == EWOULDBLOCK)
			pr_cli_error("%s: another packetrecorder serve%s%s%s holds %s: one daemon "
				     "per store",
				     s->cli.db_path, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "",
				     s->lock_path);
		else
			pr_cli_error("%s: %s", s->lock_path, strerror(e));
		return PR_EXIT_FAIL;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(s->lock_fd, 0) || pwrite(s->lock_fd, pid, (size_t)len, 0) != len)
		PR_WARN("%s: cannot write our pid: %s", s->lock_path, strerror(errno));
	return 0;
}

static int pool_open(struct serve *s)
{
	const struct pr_config *cfg = &s->cli.cfg;
	struct pr_store_pool_cfg pc = {
		.path = s->cli.db_path,
		.key = s->cli.key,
		/* Every stream holds one, and each worker one for unary calls. */
		.max_readers = cfg->grpc_max_streams + cfg->grpc_threads + 4,
		.store_mode = cfg->store_mode ? PR_STORE_MODE_DB : PR_STORE_MODE_SEGMENTS,
		.compress = cfg->store_compress != 0,
		.block_max_packets = cfg->block_max_packets,
		.block_max_bytes = (uint32_t)cfg->block_max_bytes,
	};
	char err[1024];
	int ret, recovered;

	ret = pr_store_pool_create(&pc, &s->pool, &recovered, err, sizeof(err));
	if (ret) {
		pr_cli_error("%s", err);
		return ret == -EKEYREJECTED ? PR_EXIT_KEY : PR_EXIT_FAIL;
	}
	if (!s->cli.key)
		PR_WARN("%s is not encrypted (no --encryption-key, --key-file or "
			"PACKETRECORDER_DB_KEY): anyone who can read the file can read the packets",
			s->cli.db_path);
	if (recovered > 0)
		PR_NOTICE("%s: %d session%s left running by a process that died marked interrupted",
			  s->cli.db_path, recovered, recovered == 1 ? "" : "s");
	return 0;
}

static void on_grpc_call(void *ctx, const char *method, const char *code, double seconds)
{
	pr_sensor_metrics_request(ctx, PR_SM_API_GRPC, method, NULL, code, seconds);
}

static void on_grpc_auth_failure(void *ctx, bool missing)
{
	pr_sensor_metrics_auth_failure(ctx, PR_SM_API_GRPC, missing);
}

/* The metrics registry and the event bus both servers read. */
static int metrics_open(struct serve *s)
{
	struct pr_sensor_metrics_cfg mc = { .db_path = s->cli.db_path, .db_key = s->cli.key };
	struct pr_events_cfg ec = { .history = s->cli.cfg.event_history };
	int ret;

	ret = pr_metrics_create(&s->metrics);
	if (!ret)
		ret = pr_sensor_metrics_create(s->metrics, &mc, &s->sm);
	if (!ret)
		ret = pr_events_create(&ec, &s->events);
	if (!ret)
		ret = pr_sensor_metrics_watch_events(s->sm, s->events);
	if (ret) {
		pr_cli_error("serve: metrics and events: %s", strerror(-ret));
		return PR_EXIT_FAIL;
	}
	return 0;
}

/* ---- capture control: the engine, and the two front ends' views of it ---- */

static int cap_start(void *ctx, const struct pr_capctl_req *req, struct pr_capctl_info *out,
		     char *msg, size_t msg_len)
{
	return pr_capctl_start(ctx, req, out, msg, msg_len);
}

static int cap_stop(void *ctx, int64_t id, struct pr_capctl_info *out, char *msg, size_t msg_len)
{
	return pr_capctl_stop(ctx, id, out, msg, msg_len);
}

static int cap_get(void *ctx, int64_t id, struct pr_capctl_info *out)
{
	return pr_capctl_get(ctx, id, out);
}

static int cap_tap_open(void *ctx, int64_t id, const struct pr_tap_opts *o, struct pr_tap **out,
			int64_t *chosen, char *msg, size_t msg_len)
{
	return pr_capctl_tap_open(ctx, id, o, out, chosen, msg, msg_len);
}

static int cap_list(void *ctx, struct pr_capctl_info **out, size_t *n)
{
	return pr_capctl_list(ctx, out, n);
}

static void http_capture_info(const struct pr_capctl_info *in, struct pr_http_capture_info *out)
{
	memset(out, 0, sizeof(*out));
	out->capture_id = in->capture_id;
	out->session_id = in->session_id;
	snprintf(out->interface, sizeof(out->interface), "%s", in->interface);
	snprintf(out->state, sizeof(out->state), "%s", pr_capctl_state_name(in->state));
	out->started_ns = in->started_ns;
	out->packets = in->packets;
	out->bytes = in->bytes;
	out->drops = in->drops;
	snprintf(out->end_reason, sizeof(out->end_reason), "%s", in->end_reason);
	snprintf(out->message, sizeof(out->message), "%s", in->message);
}

static int http_cap_start(void *ctx, const struct pr_http_capture_req *hr,
			  struct pr_http_capture_info *out, char *msg, size_t msg_len)
{
	struct pr_capctl_req req = {
		.interface = hr->interface,
		.filter = hr->filter,
		.name = hr->name,
		.backend = hr->backend,
		.max_packets = hr->max_packets,
		.duration_s = hr->duration_s,
		.snaplen = hr->snaplen,
	};
	struct pr_capctl_info info;
	int ret = pr_capctl_start(ctx, &req, &info, msg, msg_len);

	if (!ret)
		http_capture_info(&info, out);
	return ret;
}

static int http_cap_stop(void *ctx, int64_t id, struct pr_http_capture_info *out, char *msg,
			 size_t msg_len)
{
	struct pr_capctl_info info;
	int ret = pr_capctl_stop(ctx, id, &info, msg, msg_len);

	if (!ret)
		http_capture_info(&info, out);
	return ret;
}

static int capctl_open(struct serve *s)
{
	struct pr_capctl_cfg cc = {
		.cfg = &s->cli.cfg,
		.db_path = s->cli.db_path,
		.db_key = s->cli.key,
		.events = s->events,
		.sm = s->sm,
	};
	int ret = pr_capctl_create(&cc, &s->capctl);

	if (ret) {
		pr_cli_error("serve: capture control: %s", strerror(-ret));
		return PR_EXIT_FAIL;
	}
	s->grpc_captures = (struct pr_grpc_capture_ops){
		.start = cap_start,
		.stop = cap_stop,
		.get = cap_get,
		.list = cap_list,
		.tap_open = cap_tap_open,
		.tap_next = pr_tap_next,
		.tap_close = pr_tap_close,
		.ctx = s->capctl,
	};
	s->http_captures = (struct pr_http_capture_ops){
		.start = http_cap_start,
		.stop = http_cap_stop,
		.ctx = s->capctl,
	};
	return 0;
}

static int replay_start(void *ctx, const struct pr_replayctl_req *req,
			struct pr_replayctl_info *out, char *msg, size_t msg_len)
{
	return pr_replayctl_start(ctx, req, out, msg, msg_len);
}

static unsigned replay_session_users(void *ctx, int64_t session_id)
{
	return pr_replayctl_session_users(ctx, session_id);
}

static int replay_stop(void *ctx, int64_t id, struct pr_replayctl_info *out, char *msg,
		       size_t msg_len)
{
	return pr_replayctl_stop(ctx, id, out, msg, msg_len);
}

static int replayctl_open(struct serve *s)
{
	struct pr_replayctl_cfg rc = {
		.cfg = &s->cli.cfg,
		.db_path = s->cli.db_path,
		.db_key = s->cli.key,
		.events = s->events,
	};
	int ret = pr_replayctl_create(&rc, &s->replayctl);

	if (ret) {
		pr_cli_error("serve: replay control: %s", strerror(-ret));
		return PR_EXIT_FAIL;
	}
	s->grpc_replays = (struct pr_grpc_replay_ops){
		.start = replay_start,
		.stop = replay_stop,
		.session_users = replay_session_users,
		.ctx = s->replayctl,
	};
	return 0;
}

static int http_open(struct serve *s)
{
	const struct pr_config *cfg = &s->cli.cfg;
	struct pr_http_cfg hc = {
		.addr = cfg->http_addr,
		.tls_cert_file = cfg->tls_cert[0] ? cfg->tls_cert : NULL,
		.tls_key_file = cfg->tls_key[0] ? cfg->tls_key : NULL,
		.tls_client_ca_file = cfg->tls_client_ca[0] ? cfg->tls_client_ca : NULL,
		.auth = pr_auth_enabled(s->auth) ? pr_auth_check : NULL,
		.auth_ctx = s->auth,
		.open_health = cfg->health_open != 0,
		.open_metrics = cfg->metrics_open != 0,
		.max_connections = cfg->http_max_connections,
		.max_connections_per_ip = cfg->http_max_connections_per_ip,
		.connection_timeout_s = cfg->http_timeout_s,
		.max_body_bytes = (uint32_t)cfg->http_max_body_bytes,
		.rate_limit_per_s = cfg->http_rate_limit,
		.rate_limit_burst = cfg->http_rate_burst,
		.sse_heartbeat_ms = cfg->sse_heartbeat_ms,
		.metrics = s->metrics,
		.sm = s->sm,
		.events = s->events,
		.pool = s->pool,
		.captures = &s->http_captures,
	};
	char err[1024];
	int ret;

	if (addr_off(cfg->http_addr))
		return 0;
	ret = pr_http_server_create(&hc, &s->http, err, sizeof(err));
	if (ret) {
		pr_cli_error("serve: %s", err);
		return ret == -EINVAL || ret == -ENOENT || ret == -EBADMSG ? PR_EXIT_USAGE :
									     PR_EXIT_FAIL;
	}
	PR_NOTICE("http: listening on %s (port %u, %s, %s)", cfg->http_addr,
		  pr_http_server_port(s->http), hc.tls_cert_file ? "TLS" : "plaintext",
		  hc.auth ? "API keys required" : "no API key required");
	return 0;
}

static int grpc_open(struct serve *s)
{
	const struct pr_config *cfg = &s->cli.cfg;
	struct pr_grpc_server_cfg gc = {
		.addr = cfg->grpc_addr,
		.tls_cert_file = cfg->tls_cert[0] ? cfg->tls_cert : NULL,
		.tls_key_file = cfg->tls_key[0] ? cfg->tls_key : NULL,
		.tls_client_ca_file = cfg->tls_client_ca[0] ? cfg->tls_client_ca : NULL,
		.auth = pr_auth_enabled(s->auth) ? s->auth : NULL,
		.health_open = cfg->health_open != 0,
		.pool = s->pool,
		.captures = &s->grpc_captures,
		.replays = &s->grpc_replays,
		.events = s->events,
		.threads = cfg->grpc_threads,
		.max_streams = cfg->grpc_max_streams,
		.max_recv_bytes = (uint32_t)cfg->grpc_max_message_bytes,
		.chunk_bytes = (uint32_t)cfg->grpc_chunk_bytes,
		.keepalive_s = cfg->grpc_keepalive_s,
		.on_call = on_grpc_call,
		.on_auth_failure = on_grpc_auth_failure,
		.on_call_ctx = s->sm,
	};
	char err[1024];
	int ret;

	if (addr_off(cfg->grpc_addr))
		return 0;
	ret = pr_grpc_server_create(&gc, &s->grpc, err, sizeof(err));
	if (ret) {
		pr_cli_error("serve: %s", err);
		return ret == -EINVAL || ret == -ENOENT ? PR_EXIT_USAGE : PR_EXIT_FAIL;
	}
	PR_NOTICE("grpc: listening on %s (port %u, %s, %s)", cfg->grpc_addr,
		  pr_grpc_server_port(s->grpc), gc.tls_cert_file ? "TLS" : "plaintext",
		  gc.auth ? "API keys required" : "no API key required");
	return 0;
}

/* Keys of the config file that only a restart applies. */
static void reload_config(struct serve *s)
{
	struct pr_config next;
	char err[1024];
	int ret;

	if (!s->cli.config_path)
		return;
	pr_config_defaults(&next);
	ret = pr_config_load(&next, s->cli.config_path, err, sizeof(err));
	if (ret) {
		PR_ERR("reload: %s (the running settings stay)", err);
		return;
	}
	apply_opts(&next, &s->o);
#define RESTART_STR(f)                    \
	if (strcmp(next.f, s->cli.cfg.f)) \
	PR_WARN("reload: %s changed to \"%s\": it takes effect at the next start", #f, next.f)
#define RESTART_NUM(f)                                                               \
	if (next.f != s->cli.cfg.f)                                                  \
	PR_WARN("reload: %s changed to %llu: it takes effect at the next start", #f, \
		(unsigned long long)next.f)
	RESTART_STR(grpc_addr);
	RESTART_STR(http_addr);
	RESTART_STR(tls_cert);
	RESTART_STR(tls_key);
	RESTART_STR(tls_client_ca);
	RESTART_STR(api_keys_file);
	RESTART_NUM(grpc_threads);
	RESTART_NUM(grpc_max_streams);
	RESTART_NUM(max_captures);
	RESTART_NUM(grpc_max_message_bytes);
	RESTART_NUM(grpc_chunk_bytes);
	RESTART_NUM(grpc_keepalive_s);
	RESTART_NUM(health_open);
	RESTART_NUM(metrics_open);
	RESTART_NUM(http_max_connections);
	RESTART_NUM(http_max_connections_per_ip);
	RESTART_NUM(http_timeout_s);
	RESTART_NUM(http_max_body_bytes);
	RESTART_NUM(http_rate_limit);
	RESTART_NUM(http_rate_burst);
	RESTART_NUM(sse_heartbeat_ms);
	RESTART_NUM(event_history);
#undef RESTART_STR
#undef RESTART_NUM
	/* What the daemon reads when it needs it (the grace at stop) applies now. */
	s->cli.cfg.shutdown_grace_ms = next.shutdown_grace_ms;
}

static void reload(struct serve *s)
{
	char err[1024];

	struct timespec ts;

	PR_NOTICE("SIGHUP: reloading");
	/* systemd's notify-reload wants the time the reload began. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pr_sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu",
		      (unsigned long long)ts.tv_sec * 1000000u +
			      (unsigned long long)ts.tv_nsec / 1000u);
	reload_config(s);
	if (pr_auth_reload(s->auth, err, sizeof(err)))
		PR_ERR("reload: %s (the keys in use stay)", err);
	else
		PR_NOTICE("reload: %u API key%s", pr_auth_key_count(s->auth),
			  pr_auth_key_count(s->auth) == 1 ? "" : "s");
	if (s->grpc && pr_grpc_server_reload_tls(s->grpc, err, sizeof(err)))
		PR_ERR("reload: %s (the certificate in use stays)", err);
	if (s->http && s->cli.cfg.tls_cert[0])
		PR_NOTICE("reload: the HTTP server keeps its certificate until the next start");
	pr_sd_notify("READY=1\nSTATUS=serving (reloaded)");
}

/* Wait for SIGTERM or SIGINT; SIGHUP reloads; the watchdog is fed meanwhile. */
static void run(struct serve *s, const sigset_t *set)
{
	uint64_t wd = pr_sd_watchdog_usec();
	/* Feed the watchdog twice per period; otherwise wake only for signals. */
	struct timespec tick = { .tv_sec = wd ? (time_t)(wd / 2000000u) : 3600,
				 .tv_nsec = wd ? (long)((wd / 2) % 1000000u) * 1000 : 0 };

	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &tick);

		if (sig < 0) {
			if (wd && errno == EAGAIN)
				pr_sd_notify("WATCHDOG=1");
			continue;
		}
		if (sig == SIGHUP) {
			reload(s);
			continue;
		}
		PR_NOTICE("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

static void serve_close(struct serve *s)
{
	/*
	 * Captures first: each stops, flushes and ends its session while the
	 * servers still run (a StopCapture in flight gets its answer; a new
	 * StartCapture is refused), and the bus still takes their events.
	 */
	pr_capctl_shutdown(s->capctl);
	/* Replays likewise: each stops its dataplane, and a StopReplay in flight is answered. */
	pr_replayctl_shutdown(s->replayctl);
	/* Event streams and downloads end, every connection thread is joined. */
	pr_http_server_destroy(s->http);
	s->http = NULL;
	if (s->grpc) {
		pr_grpc_server_shutdown(s->grpc, s->cli.cfg.shutdown_grace_ms);
		pr_grpc_server_destroy(s->grpc);
		s->grpc = NULL;
	}
	pr_capctl_destroy(s->capctl);
	pr_replayctl_destroy(s->replayctl);
	pr_sensor_metrics_destroy(s->sm);
	pr_events_destroy(s->events);
	pr_metrics_destroy(s->metrics);
	pr_store_pool_destroy(s->pool);
	pr_auth_destroy(s->auth);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pr_cli_fini(&s->cli);
}

static int parse(struct serve *s, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "grpc-addr", required_argument, NULL, O_GRPC_ADDR },
		{ "http-addr", required_argument, NULL, O_HTTP_ADDR },
		{ "tls-cert", required_argument, NULL, O_TLS_CERT },
		{ "tls-key", required_argument, NULL, O_TLS_KEY },
		{ "tls-client-ca", required_argument, NULL, O_TLS_CLIENT_CA },
		{ "insecure-no-auth", no_argument, NULL, O_INSECURE },
		{ "threads", required_argument, NULL, O_THREADS },
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, PR_CLI_COMMON_SHORT, longopts, NULL)) != -1) {
		ret = pr_cli_common_opt(&s->cli, opt, optarg);
		if (ret < 0)
			return -ret;
		if (ret)
			continue;
		switch (opt) {
		case O_GRPC_ADDR:
		case O_HTTP_ADDR:
			if (pr_cli_check_str(opt == O_GRPC_ADDR ? "--grpc-addr" : "--http-addr",
					     optarg, sizeof(s->cli.cfg.grpc_addr), false))
				return PR_EXIT_USAGE;
			if (opt == O_GRPC_ADDR)
				s->o.grpc_addr = optarg;
			else
				s->o.http_addr = optarg;
			break;
		case O_TLS_CERT:
		case O_TLS_KEY:
		case O_TLS_CLIENT_CA:
			if (pr_cli_check_str("--tls-*", optarg, sizeof(s->cli.cfg.tls_cert), false))
				return PR_EXIT_USAGE;
			if (opt == O_TLS_CERT)
				s->o.tls_cert = optarg;
			else if (opt == O_TLS_KEY)
				s->o.tls_key = optarg;
			else
				s->o.tls_client_ca = optarg;
			break;
		case O_INSECURE:
			s->o.insecure_no_auth = true;
			break;
		case O_THREADS: {
			uint64_t v;

			if (pr_cli_parse_u64("--threads", optarg, &v))
				return PR_EXIT_USAGE;
			if (!v || v > 64) {
				pr_cli_error("--threads: %s is not from 1 to 64", optarg);
				return PR_EXIT_USAGE;
			}
			s->o.threads = (uint32_t)v;
			break;
		}
		case 'h':
			usage(stdout);
			return PR_EXIT_OK;
		default:
			return pr_cli_usage_error(&s->cli);
		}
	}
	if (optind < argc) {
		pr_cli_error("serve: unexpected argument \"%s\"", argv[optind]);
		return pr_cli_usage_error(&s->cli);
	}
	return -1;
}

int pr_cmd_serve(int argc, char **argv)
{
	struct serve s = { .lock_fd = -1 };
	sigset_t set;
	int rc;

	/*
	 * Before any thread exists (the gRPC core starts its own at init):
	 * every thread inherits this mask, so these signals reach only the
	 * sigtimedwait() of run(). A client that goes away must not kill us.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pr_cli_init(&s.cli, "serve");
	rc = parse(&s, argc, argv);
	if (rc >= 0)
		goto out;
	if ((rc = pr_cli_prepare(&s.cli)))
		goto out;
	apply_opts(&s.cli.cfg, &s.o);
	if (s.cli.quiet > 0)
		pr_log_set_level(PR_LOG_WARN);
	else if (s.cli.quiet < 0)
		pr_log_set_level(s.cli.quiet < -1 ? PR_LOG_DEBUG : PR_LOG_INFO);
	if ((rc = auth_open(&s)) || (rc = check_settings(&s)) || (rc = lock_take(&s)) ||
	    (rc = pool_open(&s)) || (rc = metrics_open(&s)) || (rc = capctl_open(&s)) ||
	    (rc = replayctl_open(&s)) || (rc = grpc_open(&s)) || (rc = http_open(&s)))
		goto out;
	pr_sd_notifyf("READY=1\nMAINPID=%ld\nSTATUS=serving: gRPC %s (port %u), HTTP %s (port %u)",
		      (long)getpid(), s.cli.cfg.grpc_addr, s.grpc ? pr_grpc_server_port(s.grpc) : 0,
		      s.cli.cfg.http_addr, s.http ? pr_http_server_port(s.http) : 0);
	PR_NOTICE("serving %s (pid %ld)", s.cli.db_path, (long)getpid());
	run(&s, &set);
	pr_sd_notify("STOPPING=1\nSTATUS=stopping");
	serve_close(&s);
	PR_NOTICE("stopped");
	return PR_EXIT_OK;
out:
	serve_close(&s);
	return rc;
}
