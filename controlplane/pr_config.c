// SPDX-License-Identifier: Apache-2.0
/*
 * The configuration loader. One table lists every key with its type,
 * bounds, default and documentation; defaults, parsing and the annotated
 * dump all come from it, so they cannot disagree. Main thread, startup.
 */
#include "pr_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* T_DATAPLANE: not a key: where the dataplane's keys (pr_dpcfg.h) are listed. */
enum opt_type { T_U32, T_U64, T_SIZE, T_STR, T_STORE_MODE, T_DATAPLANE };

/* T_STORE_MODE values, indexed by enum pr_store_mode (a uint32_t in the config). */
static const char *const store_modes[] = { "segments", "db" };

struct opt {
	const char *key;
	enum opt_type type;
	size_t offset;
	uint64_t min, max;
	const char *def; /* default, as written in the file */
	const char *doc;
};

#define OFF(f) offsetof(struct pr_config, f)
/* T_STR: max is the size of the field, NUL included. */
#define SIZE(f) sizeof(((struct pr_config *)0)->f)

static const struct opt opts[] = {
	{ NULL, T_DATAPLANE, 0, 0, 0, NULL, NULL },
	{ "block_max_packets", T_U32, OFF(block_max_packets), 1, 65536, "256",
	  "packets per stored block (one database row)" },
	{ "block_max_bytes", T_SIZE, OFF(block_max_bytes), 4096, 64 << 20, "1m",
	  "bytes per stored block" },
	{ "commit_interval_ms", T_U32, OFF(commit_interval_ms), 10, 60000, "1000",
	  "a capture commits at least this often: the most a crash can lose, in time" },
	{ "commit_max_bytes", T_SIZE, OFF(commit_max_bytes), 1 << 16, 1ull << 32, "64m",
	  "a capture commits after this many packet bytes: the most a crash can lose, in size" },
	{ "store_mode", T_STORE_MODE, OFF(store_mode), 0, 1, "segments",
	  "where a new store keeps packet bytes: segments (AES-256-GCM sealed segment files beside "
	  "the database, fast) or db (rows of the one SQLCipher file, portable); capture "
	  "--store-mode" },
	{ "store_compress", T_U32, OFF(store_compress), 0, 1, "0",
	  "1: a new segment store compresses each block with zstd (level 1) before sealing, where "
	  "that makes it smaller; capture --compress" },
	{ "retention_days", T_U32, OFF(retention_days), 0, 36500, "0",
	  "capture keeps the store's segments at most this many days old (0 = no limit; set in "
	  "the store, enforced while capturing; capture --retention-days)" },
	{ "retention_bytes", T_SIZE, OFF(retention_bytes), 0, 1ull << 60, "0",
	  "capture keeps the store (database and segments) below this size, deleting the oldest "
	  "segments (0 = no limit; capture --retention-bytes)" },
	{ "dataplane_path", T_STR, OFF(dataplane_path), 0,
	  sizeof(((struct pr_config *)0)->dataplane_path), "",
	  "path of packetrecorder-dataplane; $PACKETRECORDER_DATAPLANE wins over it (empty: next to "
	  "packetrecorder, then the install directory, then $PATH)" },
	{ "afxdp_args", T_STR, OFF(afxdp_args), 0, sizeof(((struct pr_config *)0)->afxdp_args), "",
	  "settings of the afxdp capture backend, key=value separated by commas: frames, "
	  "frame_size, rx_ring, fill_ring, tx_ring, comp_ring, mode (auto|native|generic), "
	  "zerocopy (auto|on|off), attach (auto|libxdp|libbpf), busy_poll_us, busy_poll_budget, "
	  "hugepages, drop (an early-drop rule, repeatable); see docs/BACKENDS.md; capture "
	  "--backend-args" },
	{ "dpdk_args", T_STR, OFF(dpdk_args), 0, sizeof(((struct pr_config *)0)->dpdk_args), "",
	  "EAL arguments of the dpdk capture backend, split like shell words without any "
	  "expansion, e.g. \"--vdev net_pcap0,rx_pcap=in.pcap --no-huge\"; see docs/BACKENDS.md; "
	  "capture --dpdk-args" },
	{ "grpc_addr", T_STR, OFF(grpc_addr), 0, SIZE(grpc_addr), "127.0.0.1:50051",
	  "serve: the gRPC server's address, HOST:PORT, [IPV6]:PORT or :PORT for every address, or "
	  "off (serve --grpc-addr)" },
	{ "http_addr", T_STR, OFF(http_addr), 0, SIZE(http_addr), "off",
	  "serve: the HTTP server's address, as grpc_addr, or off (serve --http-addr)" },
	{ "grpc_threads", T_U32, OFF(grpc_threads), 1, 64, "2",
	  "serve: gRPC worker threads, each with its own completion queue" },
	{ "grpc_max_streams", T_U32, OFF(grpc_max_streams), 1, 4096, "64",
	  "serve: server streams (QueryPackets, QueryFlows, DownloadPcap, ...) open at once; one "
	  "more is RESOURCE_EXHAUSTED" },
	{ "grpc_max_message_bytes", T_SIZE, OFF(grpc_max_message_bytes), 1024, 16 << 20, "64k",
	  "serve: the largest gRPC request message accepted" },
	{ "grpc_chunk_bytes", T_SIZE, OFF(grpc_chunk_bytes), 1024, 1 << 20, "256k",
	  "serve: DownloadPcap chunk size when the request names none" },
	{ "grpc_keepalive_s", T_U32, OFF(grpc_keepalive_s), 10, 7200, "60",
	  "serve: ping a quiet gRPC connection after this long; one that does not answer within "
	  "20 s is closed and its calls freed" },
	{ "shutdown_grace_ms", T_U32, OFF(shutdown_grace_ms), 0, 600000, "5000",
	  "serve: at SIGTERM, open streams end with UNAVAILABLE at their next message; those still "
	  "open after this long are cancelled" },
	{ "max_captures", T_U32, OFF(max_captures), 1, 1024, "16",
	  "serve: captures (dataplane processes) running at once; one more is refused "
	  "(RESOURCE_EXHAUSTED, HTTP 503) naming this key" },
	{ "tls_cert", T_STR, OFF(tls_cert), 0, SIZE(tls_cert), "",
	  "serve: PEM certificate (chain) of both servers; with tls_key they speak TLS only "
	  "(serve --tls-cert)" },
	{ "tls_key", T_STR, OFF(tls_key), 0, SIZE(tls_key), "",
	  "serve: PEM private key of tls_cert (serve --tls-key)" },
	{ "tls_client_ca", T_STR, OFF(tls_client_ca), 0, SIZE(tls_client_ca), "",
	  "serve: PEM CA certificates; clients must show a certificate they signed (mTLS; serve "
	  "--tls-client-ca)" },
	{ "api_keys_file", T_STR, OFF(api_keys_file), 0, SIZE(api_keys_file), "",
	  "serve: file of API keys, one a line, re-read on SIGHUP; $PACKETRECORDER_API_KEYS_FILE "
	  "wins over it ($PACKETRECORDER_API_KEY and $PACKETRECORDER_API_KEYS add to it)" },
	{ "health_open", T_U32, OFF(health_open), 0, 1, "0",
	  "serve: 1: health checks (grpc.health.v1, HTTP /health) answer without an API key" },
	{ "metrics_open", T_U32, OFF(metrics_open), 0, 1, "0",
	  "serve: 1: HTTP /metrics answers without an API key (for a Prometheus without one)" },
	{ "http_max_connections", T_U32, OFF(http_max_connections), 1, 65536, "64",
	  "serve: HTTP connections at once" },
	{ "http_max_connections_per_ip", T_U32, OFF(http_max_connections_per_ip), 1, 65536, "32",
	  "serve: HTTP connections at once from one client address" },
	{ "http_timeout_s", T_U32, OFF(http_timeout_s), 1, 3600, "30",
	  "serve: an HTTP connection idle this long is closed (slow or half-open clients)" },
	{ "http_max_body_bytes", T_SIZE, OFF(http_max_body_bytes), 1024, 16 << 20, "64k",
	  "serve: the largest HTTP request body" },
	{ "http_rate_limit", T_U32, OFF(http_rate_limit), 0, 1000000, "0",
	  "serve: HTTP requests per second per API key (per client address without keys); "
	  "0: no limit" },
	{ "http_rate_burst", T_U32, OFF(http_rate_burst), 0, 1000000, "0",
	  "serve: requests over http_rate_limit allowed in a burst (0: twice the rate)" },
	{ "sse_heartbeat_ms", T_U32, OFF(sse_heartbeat_ms), 100, 3600000, "15000",
	  "serve: a comment line on an idle /api/v1/events stream this often" },
	{ "event_history", T_U32, OFF(event_history), 16, 1048576, "1024",
	  "serve: events kept for clients that resume with Last-Event-ID, or read slowly" },
};

static int parse_value(const struct opt *o, const char *v, struct pr_config *cfg)
{
	char *end;
	unsigned long long n;
	uint8_t *base = (uint8_t *)cfg;

	if (o->type == T_DATAPLANE)
		return -EINVAL;
	if (o->type == T_STORE_MODE) {
		for (uint32_t m = 0; m < sizeof(store_modes) / sizeof(store_modes[0]); m++) {
			if (!strcmp(v, store_modes[m])) {
				*(uint32_t *)(base + o->offset) = m;
				return 0;
			}
		}
		return -EINVAL;
	}
	if (o->type == T_STR) {
		/* max is the field's size for strings */
		size_t cap = o->max;

		if (strlen(v) >= cap)
			return -EINVAL;
		memcpy(base + o->offset, v, strlen(v) + 1);
		return 0;
	}
	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -EINVAL;
	if (o->type == T_SIZE && *end) {
		unsigned shift = 0;

		switch (tolower((unsigned char)*end)) {
		case 'k':
			shift = 10;
			break;
		case 'm':
			shift = 20;
			break;
		case 'g':
			shift = 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
		if (n > (~0ull >> shift))
			return -EINVAL;
		n <<= shift;
	}
	if (*end || n < o->min || n > o->max)
		return -EINVAL;
	if (o->type == T_U32)
		*(uint32_t *)(base + o->offset) = (uint32_t)n;
	else
		*(uint64_t *)(base + o->offset) = n;
	return 0;
}

void pr_config_defaults(struct pr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (opts[i].type != T_DATAPLANE)
			parse_value(&opts[i], opts[i].def, cfg);
	pr_dpcfg_defaults(&cfg->dp);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int pr_config_parse(struct pr_config *cfg, const char *text, size_t len, const char *name,
		    char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		char line[1024], *k, *v, *eq;
		size_t n = 0;
		const struct opt *o = NULL;
		const struct pr_dpcfg_opt *dpo;
		bool cut = false, quoted = false, nul = false;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (n + 1 < sizeof(line))
				line[n++] = text[pos];
			else
				cut = true;
			nul |= text[pos] == 0;
			pos++;
		}
		pos++;
		line[n] = 0;
		/* A NUL would end the line early and hide what follows it. */
		if (nul) {
			snprintf(err, errlen, "%s:%u: NUL byte", name, lineno);
			return -EINVAL;
		}
		/* '#' starts a comment outside double quotes, so a quoted path may hold one. */
		for (char *c = line; *c; c++) {
			if (*c == '"') {
				quoted = !quoted;
			} else if (*c == '#' && !quoted) {
				*c = 0;
				break;
			}
		}
		/* Dropping the end of a line could drop what makes its value wrong. */
		if (cut && strlen(line) == n) {
			snprintf(err, errlen, "%s:%u: line longer than %zu bytes", name, lineno,
				 sizeof(line) - 1);
			return -EINVAL;
		}
		k = trim(line);
		if (!*k)
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected \"key = value\"", name, lineno);
			return -EINVAL;
		}
		*eq = 0;
		v = trim(eq + 1);
		k = trim(k);
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (opts[i].key && !strcmp(opts[i].key, k))
				o = &opts[i];
		dpo = o ? NULL : pr_dpcfg_find(k);
		if (!o && (!dpo || !(dpo->flags & PR_DPCFG_F_CONFIG))) {
			snprintf(err, errlen, "%s:%u: unknown key \"%.64s\"", name, lineno, k);
			return -EINVAL;
		}
		if (v[0] == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = 0;
			v++;
		}
		if (dpo) {
			char why[256];

			if (pr_dpcfg_set(&cfg->dp, k, v, why, sizeof(why))) {
				snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
				return -EINVAL;
			}
			continue;
		}
		if (parse_value(o, v, cfg)) {
			if (o->type == T_STR)
				snprintf(err, errlen, "%s:%u: %s: value too long", name, lineno,
					 o->key);
			else if (o->type == T_STORE_MODE)
				snprintf(err, errlen,
					 "%s:%u: %s: bad value \"%.64s\" (segments or db)", name,
					 lineno, o->key, v);
			else
				snprintf(
					err, errlen,
					"%s:%u: %s: bad value \"%.64s\" (a number from %llu to %llu%s)",
					name, lineno, o->key, v, (unsigned long long)o->min,
					(unsigned long long)o->max,
					o->type == T_SIZE ? ", k/m/g suffixes allowed" : "");
			return -EINVAL;
		}
	}
	return 0;
}

int pr_config_load(struct pr_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "config %s: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		size_t n;

		if (len + 4096 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > (1 << 20)) {
				snprintf(err, errlen, "config %s: larger than 1 MiB", path);
				ret = -EINVAL;
				goto out;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				snprintf(err, errlen, "config %s: %s", path, strerror(ENOMEM));
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "config %s: read error", path);
		goto out;
	}
	ret = pr_config_parse(cfg, buf ? buf : "", len, path, err, errlen);
out:
	free(buf);
	fclose(f);
	return ret;
}

void pr_config_dump(const struct pr_config *cfg, void *file)
{
	FILE *f = file;
	const uint8_t *base = (const uint8_t *)cfg;

	fprintf(f, "# packetrecorder configuration: every key, its default and meaning.\n"
		   "# Load with `packetrecorder <command> --config FILE` or\n"
		   "# PACKETRECORDER_CONFIG=FILE. Sizes take k/m/g suffixes.\n");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];

		if (o->type == T_DATAPLANE) {
			size_t n;
			const struct pr_dpcfg_opt *d = pr_dpcfg_opts(&n);

			for (size_t j = 0; j < n; j++) {
				char val[2048];

				if (!(d[j].flags & PR_DPCFG_F_CONFIG))
					continue;
				pr_dpcfg_format(&cfg->dp, &d[j], val, sizeof(val));
				fprintf(f, "\n# %s (default: %s)\n%s = %s\n", d[j].doc,
					d[j].def[0] ? d[j].def : "\"\"", d[j].key, val);
			}
			continue;
		}
		fprintf(f, "\n# %s (default: %s)\n", o->doc, o->def[0] ? o->def : "\"\"");
		if (o->type == T_STR)
			fprintf(f, "%s = \"%s\"\n", o->key, (const char *)(base + o->offset));
		else if (o->type == T_STORE_MODE)
			fprintf(f, "%s = %s\n", o->key,
				store_modes[*(const uint32_t *)(base + o->offset) & 1]);
		else if (o->type == T_U32)
			fprintf(f, "%s = %u\n", o->key, *(const uint32_t *)(base + o->offset));
		else
			fprintf(f, "%s = %llu\n", o->key,
				(unsigned long long)*(const uint64_t *)(base + o->offset));
	}
}
