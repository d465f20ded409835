/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file: `key = value` lines, `#` comments, read once by
 * the control plane into struct pr_config. The defaults and the option
 * table sit side by side in pr_config.c; the dataplane's keys come from
 * its own table (pr_dpcfg.h), never listed twice; configs/packetrecorder.conf
 * shows every key with its default. An unknown key or a bad value is an error
 * that names the file, line and key. Main thread, at startup.
 */
#ifndef PR_CONFIG_H
#define PR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "pr_dpcfg.h"

struct pr_config {
	/*
	 * The dataplane's settings (pr_dpcfg.h): the file's dataplane keys
	 * (workers, snaplen, buffer_size, flow_*, ...) land here, and capture
	 * starts from these before its options.
	 */
	struct pr_dp_cfg dp;
	uint32_t block_max_packets; /* packets per stored block */
	uint64_t block_max_bytes;
	uint32_t commit_interval_ms; /* the most a crash can lose, in time */
	uint64_t commit_max_bytes; /* ... and in packet bytes */
	uint32_t store_mode; /* of a new store: enum pr_store_mode (0 segments, 1 db) */
	uint32_t store_compress; /* a new segment store compresses blocks with zstd (0/1) */
	uint32_t retention_days; /* capture keeps the store within these (0: no limit) */
	uint64_t retention_bytes;
	char dataplane_path[512]; /* "" = next to this binary, then PATH */
	char afxdp_args[512]; /* the afxdp backend's settings, "key=value,..." */
	char dpdk_args[1024]; /* the dpdk backend's EAL arguments (capture --dpdk-args) */

	/* serve: the daemon's servers (docs/packetrecorder-serve.md) */
	char grpc_addr[256]; /* "off": no gRPC server */
	char http_addr[256]; /* "off": no HTTP server */
	uint32_t grpc_threads;
	uint32_t grpc_max_streams; /* server streams open at once */
	uint64_t grpc_max_message_bytes; /* largest request */
	uint64_t grpc_chunk_bytes; /* DownloadPcap chunks */
	uint32_t grpc_keepalive_s;
	uint32_t shutdown_grace_ms; /* open streams get this long to end at SIGTERM */
	uint32_t max_captures; /* serve: captures running at once */
	char tls_cert[512]; /* PEM; with tls_key: TLS on both servers */
	char tls_key[512];
	char tls_client_ca[512]; /* PEM CAs: client certificates required (mTLS) */
	char api_keys_file[512]; /* when $PACKETRECORDER_API_KEYS_FILE is not set */
	uint32_t health_open; /* 1: health checks need no API key */
	uint32_t metrics_open; /* 1: /metrics needs no API key */
	uint32_t http_max_connections;
	uint32_t http_max_connections_per_ip;
	uint32_t http_timeout_s; /* idle connections are closed */
	uint64_t http_max_body_bytes;
	uint32_t http_rate_limit; /* requests per second per API key (0: none) */
	uint32_t http_rate_burst;
	uint32_t sse_heartbeat_ms;
	uint32_t event_history; /* events kept for SSE resume */
};

/* Fill cfg with the defaults. */
void pr_config_defaults(struct pr_config *cfg);
/*
 * Read path over the values in cfg. Returns 0, -ENOENT/-EACCES for an
 * unreadable file, or -EINVAL with err naming file:line and the key.
 */
int pr_config_load(struct pr_config *cfg, const char *path, char *err, size_t errlen);
/* Parse a config held in memory (the fuzzer's entry point). Same returns. */
int pr_config_parse(struct pr_config *cfg, const char *text, size_t len, const char *name,
		    char *err, size_t errlen);
/* Write every key with its current value and documentation, as configs/ shows them. */
void pr_config_dump(const struct pr_config *cfg, void *file);

#endif /* PR_CONFIG_H */
