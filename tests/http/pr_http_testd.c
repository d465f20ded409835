// SPDX-License-Identifier: Apache-2.0
/*
 * A small daemon for the HTTP tests: the real HTTP server
 * (controlplane/http) with the real metrics registry, event bus, API keys
 * (controlplane/auth) and store, and no capture control (so
 * POST/DELETE /api/v1/captures answer 501, as the server does without
 * it). It prints "port N" when it listens, and takes test-hook commands
 * on standard input, one a line, to drive what the daemon's captures
 * will drive once `packetrecorder serve` exists:
 *
 *   publish TYPE SESSION JSON   publish an event on the bus
 *   packets PROTO N BYTES       count N packets of BYTES wire bytes
 *   drops REASON N              count N drops (ring_full, kernel, ...)
 *   ring IFACE WORKER RATIO     set a capture worker's ring occupancy
 *   commit SECONDS              observe a store commit
 *   process SECONDS             observe a packet's processing time
 *   flows N                     set the flow table size
 *   grpc METHOD CODE            count a gRPC call (no gRPC server here)
 *   backlog BYTES               set the storage backlog
 *   quit                        shut down (so does end of input, SIGTERM)
 *
 * Each command answers "ok" or "error: ..." on standard output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pr_auth.h"
#include "pr_events.h"
#include "pr_http.h"
#include "pr_metrics.h"
#include "pr_sensor_metrics.h"
#include "pr_store_pool.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pr_http_testd --http-addr ADDR [--database DB] [--encryption-key K]\n"
		"       [--tls-cert F --tls-key F [--tls-client-ca F]] [--open-health]\n"
		"       [--open-metrics] [--rate-limit N] [--burst N] [--max-body N]\n"
		"       [--timeout S] [--max-conns N] [--max-conns-per-ip N] [--heartbeat-ms N]\n"
		"       [--history N]\n"
		"API keys: PACKETRECORDER_API_KEY, PACKETRECORDER_API_KEYS, "
		"PACKETRECORDER_API_KEYS_FILE\n");
}

static int command(char *line, struct pr_events *bus, struct pr_sensor_metrics *sm)
{
	char *save = NULL, *verb = strtok_r(line, " \n", &save);

	if (!verb)
		return 0;
	if (!strcmp(verb, "quit"))
		return 1;
	if (!strcmp(verb, "publish")) {
		char *type = strtok_r(NULL, " ", &save), *sess = strtok_r(NULL, " ", &save);
		char *json = strtok_r(NULL, "\n", &save);
		uint32_t t = type ? pr_event_type_from_name(type) : 0;
		uint64_t seq = 0;
		int err;

		if (!t || !sess) {
			printf("error: publish TYPE SESSION [JSON]\n");
			return 0;
		}
		err = pr_events_publish(bus, t, strtoll(sess, NULL, 10), json, &seq);
		if (err)
			printf("error: %s\n", strerror(-err));
		else
			printf("ok %llu\n", (unsigned long long)seq);
		return 0;
	}
	if (!strcmp(verb, "packets")) {
		char *proto = strtok_r(NULL, " ", &save), *n = strtok_r(NULL, " ", &save);
		char *bytes = strtok_r(NULL, " \n", &save);
		int p;

		for (p = 0; p < PR_SM_PROTO_MAX; p++)
			if (proto && !strcmp(proto, pr_sm_proto_name(p)))
				break;
		if (p == PR_SM_PROTO_MAX || !n || !bytes) {
			printf("error: packets PROTO N BYTES\n");
			return 0;
		}
		pr_sensor_metrics_packets(sm, p, strtoull(n, NULL, 10), strtoull(bytes, NULL, 10));
	} else if (!strcmp(verb, "drops")) {
		char *reason = strtok_r(NULL, " ", &save), *n = strtok_r(NULL, " \n", &save);
		int i;

		for (i = 0; i < PR_DROP_REASON_MAX; i++)
			if (reason && !strcmp(reason, pr_drop_reason_name(i)))
				break;
		if (i == PR_DROP_REASON_MAX || !n) {
			printf("error: drops REASON N\n");
			return 0;
		}
		pr_metric_inc(sm->drops[i], strtoull(n, NULL, 10));
	} else if (!strcmp(verb, "ring")) {
		char *ifc = strtok_r(NULL, " ", &save), *w = strtok_r(NULL, " ", &save);
		char *ratio = strtok_r(NULL, " \n", &save);

		if (!ifc || !w || !ratio) {
			printf("error: ring IFACE WORKER RATIO\n");
			return 0;
		}
		pr_sensor_metrics_ring(sm, ifc, (unsigned)strtoul(w, NULL, 10),
				       strtod(ratio, NULL));
	} else if (!strcmp(verb, "commit")) {
		char *s = strtok_r(NULL, " \n", &save);

		pr_metric_observe(sm->storage_write, s ? strtod(s, NULL) : 0);
	} else if (!strcmp(verb, "process")) {
		char *sec = strtok_r(NULL, " \n", &save);

		pr_metric_observe(sm->packet_processing, sec ? strtod(sec, NULL) : 0);
	} else if (!strcmp(verb, "flows")) {
		char *n = strtok_r(NULL, " \n", &save);

		pr_metric_set(sm->flow_table_size, n ? strtod(n, NULL) : 0);
	} else if (!strcmp(verb, "grpc")) {
		char *method = strtok_r(NULL, " ", &save), *code = strtok_r(NULL, " \n", &save);

		if (!method || !code) {
			printf("error: grpc METHOD CODE\n");
			return 0;
		}
		pr_sensor_metrics_request(sm, PR_SM_API_GRPC, method, NULL, code, -1);
	} else if (!strcmp(verb, "backlog")) {
		char *s = strtok_r(NULL, " \n", &save);

		pr_metric_set(sm->storage_backlog, s ? strtod(s, NULL) : 0);
	} else {
		printf("error: unknown command %s\n", verb);
		return 0;
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "http-addr", required_argument, NULL, 'a' },
		{ "database", required_argument, NULL, 'd' },
		{ "encryption-key", required_argument, NULL, 'k' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "tls-client-ca", required_argument, NULL, 'C' },
		{ "open-health", no_argument, NULL, 'H' },
		{ "open-metrics", no_argument, NULL, 'M' },
		{ "rate-limit", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ "max-body", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 't' },
		{ "max-conns", required_argument, NULL, 'n' },
		{ "max-conns-per-ip", required_argument, NULL, 'p' },
		{ "heartbeat-ms", required_argument, NULL, 'h' },
		{ "history", required_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	struct pr_http_cfg cfg = { 0 };
	struct pr_sensor_metrics_cfg smc = { .store_refresh_ms = 500 };
	struct pr_events_cfg ec = { 0 };
	struct pr_auth_cfg ac;
	struct pr_auth *auth = NULL;
	struct pr_metrics *reg = NULL;
	struct pr_sensor_metrics *sm = NULL;
	struct pr_events *bus = NULL;
	struct pr_http_server *srv = NULL;
	struct pr_store_pool *pool = NULL;
	const char *db_path = NULL, *db_key = getenv("PACKETRECORDER_DB_KEY");
	struct sigaction sa = { .sa_handler = on_signal };
	char err[1024], line[8192];
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			cfg.addr = optarg;
			break;
		case 'd':
			db_path = optarg;
			break;
		case 'k':
			db_key = optarg;
			break;
		case 'c':
			cfg.tls_cert_file = optarg;
			break;
		case 'K':
			cfg.tls_key_file = optarg;
			break;
		case 'C':
			cfg.tls_client_ca_file = optarg;
			break;
		case 'H':
			cfg.open_health = true;
			break;
		case 'M':
			cfg.open_metrics = true;
			break;
		case 'r':
			cfg.rate_limit_per_s = strtod(optarg, NULL);
			break;
		case 'b':
			cfg.rate_limit_burst = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'B':
			cfg.max_body_bytes = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			cfg.connection_timeout_s = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			cfg.max_connections = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			cfg.max_connections_per_ip = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			cfg.sse_heartbeat_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'y':
			ec.history = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!cfg.addr) {
		usage();
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/*
	 * SIGPIPE keeps its default (death), as in the daemon: a client that
	 * goes away must not kill the server (libmicrohttpd sends with
	 * MSG_NOSIGNAL, TLS included); the tests hang up on purpose.
	 */
	pr_auth_cfg_from_env(&ac);
	if (pr_auth_create(&ac, &auth, err, sizeof(err))) {
		fprintf(stderr, "pr_http_testd: %s\n", err);
		goto out;
	}
	if (pr_auth_enabled(auth)) {
		cfg.auth = pr_auth_check;
		cfg.auth_ctx = auth;
	}
	if (db_path) {
		struct pr_store_pool_cfg pc = { .path = db_path, .key = db_key, .max_readers = 8 };

		if (pr_store_pool_create(&pc, &pool, NULL, err, sizeof(err))) {
			fprintf(stderr, "pr_http_testd: %s\n", err);
			goto out;
		}
		cfg.pool = pool;
	}
	smc.db_path = db_path;
	smc.db_key = db_key;
	if (pr_metrics_create(&reg) || pr_sensor_metrics_create(reg, &smc, &sm) ||
	    pr_events_create(&ec, &bus) || pr_sensor_metrics_watch_events(sm, bus)) {
		fprintf(stderr, "pr_http_testd: setup failed\n");
		goto out;
	}
	cfg.metrics = reg;
	cfg.sm = sm;
	cfg.events = bus;
	if (pr_http_server_create(&cfg, &srv, err, sizeof(err))) {
		fprintf(stderr, "pr_http_testd: %s\n", err);
		goto out;
	}
	printf("port %u\n", pr_http_server_port(srv));
	fflush(stdout);
	while (!stop && fgets(line, sizeof(line), stdin)) {
		if (command(line, bus, sm))
			break;
		fflush(stdout);
	}
	rc = 0;
out:
	pr_http_server_destroy(srv);
	pr_sensor_metrics_destroy(sm);
	pr_events_destroy(bus);
	pr_metrics_destroy(reg);
	pr_store_pool_destroy(pool);
	pr_auth_destroy(auth);
	return rc;
}
