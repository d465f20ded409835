// SPDX-License-Identifier: Apache-2.0
/*
 * The table of dataplane settings (pr_dpcfg.h): defaults, parsing,
 * printing and checking all come from it, so they cannot disagree. No
 * state; any thread.
 */
#include "pr_dpcfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_record.h"

#define OFF(f) offsetof(struct pr_dp_cfg, f), sizeof(((struct pr_dp_cfg *)0)->f)

static const struct pr_dpcfg_opt opts[] = {
	{ "ring_bytes", PR_DPCFG_SIZE, OFF(ring_bytes), 1 << 20, 1ull << 34, "64m",
	  PR_DPCFG_F_CONFIG | PR_DPCFG_F_POW2,
	  "size of the shared-memory record ring of each capture core (power of two; k/m/g)" },
	{ "workers", PR_DPCFG_U32, OFF(workers), 1, PR_SHM_MAX_WORKERS, "1", PR_DPCFG_F_CONFIG,
	  "capture worker cores, one per rx queue, each with its own ring, flow table and "
	  "counters (capture --workers; a capture file is read by one)" },
	{ "backend", PR_DPCFG_STR, OFF(backend), 0, 0, "pcap", 0,
	  "capture backend: pcap, afxdp or dpdk" },
	{ "interface", PR_DPCFG_STR, OFF(interface), 0, 0, "", 0,
	  "capture live from this interface (or send on it in tx mode)" },
	{ "read", PR_DPCFG_STR, OFF(read_path), 0, 0, "", 0,
	  "read this pcap or pcapng file (- = standard input)" },
	{ "filter", PR_DPCFG_STR, OFF(filter), 0, 0, "", 0, "BPF capture filter (tcpdump syntax)" },
	{ "backend_args", PR_DPCFG_STR, OFF(backend_args), 0, 0, "", 0,
	  "backend settings (afxdp: key=value,...; dpdk: EAL arguments)" },
	{ "snaplen", PR_DPCFG_U32, OFF(snaplen), 1, PR_MAX_SNAPLEN, "65535", PR_DPCFG_F_CONFIG,
	  "default bytes kept per packet (capture -s)" },
	{ "promisc", PR_DPCFG_BOOL, OFF(promisc), 0, 1, "1", 0, "promiscuous mode (1 or 0)" },
	{ "buffer_size", PR_DPCFG_SIZE, OFF(buffer_size), 65536, 2147483647ull, "10m",
	  PR_DPCFG_F_CONFIG, "default kernel capture buffer (capture -b)" },
	{ "count", PR_DPCFG_U64, OFF(count), 0, UINT64_MAX, "0", 0,
	  "stop after this many packets, all workers together (0 = no limit)" },
	{ "duration", PR_DPCFG_SECONDS, OFF(duration_ns), 0, 100ull * 365 * 86400, "0", 0,
	  "stop after this many seconds, fractions allowed (0 = no limit)" },
	{ "flow_max", PR_DPCFG_U32, OFF(flow_max), 64, 1u << 26, "262144", PR_DPCFG_F_CONFIG,
	  "flow table memcap per core, in flows; when full the oldest flow is evicted" },
	{ "flow_idle_timeout_s", PR_DPCFG_U32, OFF(flow_idle_timeout_s), 1, 86400 * 7, "300",
	  PR_DPCFG_F_CONFIG, "a flow with no packet for this long ends (capture clock)" },
	{ "flow_active_timeout_s", PR_DPCFG_U32, OFF(flow_active_timeout_s), 0, 86400 * 7, "3600",
	  PR_DPCFG_F_CONFIG,
	  "a flow open this long is cut and continues as a new record (0 = never)" },
	{ "flow_tcp_closed_timeout_s", PR_DPCFG_U32, OFF(flow_tcp_closed_timeout_s), 0, 3600, "5",
	  PR_DPCFG_F_CONFIG,
	  "after FIN from both sides or RST, trailing packets still count for this long" },
	{ "ipfrag_max_datagrams", PR_DPCFG_U32, OFF(ipfrag_max_datagrams), 0, 65535, "64",
	  PR_DPCFG_F_CONFIG,
	  "IP datagrams each capture core reassembles at once from their fragments, 64 KiB "
	  "each, for the flow table and the protocol parsers (0 = no reassembly)" },
	{ "ipfrag_timeout_s", PR_DPCFG_U32, OFF(ipfrag_timeout_s), 1, 3600, "30", PR_DPCFG_F_CONFIG,
	  "a datagram still missing fragments after this long is given up" },
	{ "l7_depth_bytes", PR_DPCFG_U32, OFF(l7_depth_bytes), 0, 1u << 30, "0", PR_DPCFG_F_CONFIG,
	  "bytes of each flow direction the protocol parsers read: the TCP reassembly depth "
	  "(0 = each protocol's own window, docs/PROTOCOLS.md; NetFlow and sFlow exports are "
	  "always read whole)" },
	{ "l7_buf_bytes", PR_DPCFG_U32, OFF(l7_buf_bytes), 512, 1u << 20, "16384",
	  PR_DPCFG_F_CONFIG,
	  "largest message the parsers collect across TCP segments (a certificate chain, HTTP "
	  "headers); a larger one stops its direction" },
	{ "l7_buf_count", PR_DPCFG_U32, OFF(l7_buf_count), 16, 65535, "1024", PR_DPCFG_F_CONFIG,
	  "buffers of l7_buf_bytes each capture core keeps for messages that span segments, "
	  "mapped when the capture starts" },
	{ "tcp_reasm_held_bytes", PR_DPCFG_U32, OFF(tcp_reasm_held_bytes), 0, 1u << 24, "65536",
	  PR_DPCFG_F_CONFIG,
	  "TCP bytes one flow direction may hold while they wait for a hole before them to fill, "
	  "so that the parsers read the stream in order (0 = off: the parsers drop "
	  "retransmissions themselves and a segment after a hole stops its direction)" },
	{ "tcp_reasm_chunks", PR_DPCFG_U32, OFF(tcp_reasm_chunks), 16, 65535, "4096",
	  PR_DPCFG_F_CONFIG,
	  "2 KiB chunks each capture core keeps for held TCP bytes, allocated when the capture "
	  "starts; when all are in use, a direction that needs one gives its hole up" },
	{ "stats_interval_ms", PR_DPCFG_U32, OFF(stats_interval_ms), 10, 10000, "100",
	  PR_DPCFG_F_CONFIG,
	  "how often each capture core sends its counters (the resolution of the drop record)" },
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

const struct pr_dpcfg_opt *pr_dpcfg_opts(size_t *n)
{
	*n = N_OPTS;
	return opts;
}

const struct pr_dpcfg_opt *pr_dpcfg_find(const char *key)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (!strcmp(opts[i].key, key))
			return &opts[i];
	return NULL;
}

static int parse_u64(const char *v, bool suffix, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -EINVAL;
	if (suffix && *end) {
		unsigned shift;

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
	if (*end)
		return -EINVAL;
	*out = n;
	return 0;
}

/* Decimal seconds ("1", "0.25") to nanoseconds, exactly, without floating point. */
static int parse_seconds(const char *v, uint64_t max_s, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, scale = 100000000ull;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > max_s)
			return -EINVAL;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			frac += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p || (whole == max_s && frac))
		return -EINVAL;
	*ns = whole * 1000000000ull + frac;
	return 0;
}

static int set_value(struct pr_dp_cfg *cfg, const struct pr_dpcfg_opt *o, const char *v)
{
	uint8_t *field = (uint8_t *)cfg + o->offset;
	uint64_t n;

	switch (o->type) {
	case PR_DPCFG_STR:
		if (strlen(v) >= o->size)
			return -E2BIG;
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case PR_DPCFG_BOOL:
		if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true"))
			n = 1;
		else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off") ||
			 !strcmp(v, "false"))
			n = 0;
		else
			return -EINVAL;
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case PR_DPCFG_SECONDS:
		if (parse_seconds(v, o->max, &n))
			return -EINVAL;
		*(uint64_t *)field = n;
		return 0;
	default:
		if (parse_u64(v, o->type == PR_DPCFG_SIZE, &n) || n < o->min || n > o->max ||
		    ((o->flags & PR_DPCFG_F_POW2) && (n & (n - 1))))
			return -EINVAL;
		if (o->type == PR_DPCFG_U32)
			*(uint32_t *)field = (uint32_t)n;
		else
			*(uint64_t *)field = n;
		return 0;
	}
}

void pr_dpcfg_defaults(struct pr_dp_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = PR_DPCFG_VERSION;
	cfg->size = sizeof(*cfg);
	cfg->mode = PR_DP_MODE_CAPTURE;
	for (size_t i = 0; i < N_OPTS; i++)
		set_value(cfg, &opts[i], opts[i].def);
}

static void describe(const struct pr_dpcfg_opt *o, const char *v, int ret, char *err, size_t len)
{
	switch (o->type) {
	case PR_DPCFG_STR:
		snprintf(err, len, "%s: value too long (at most %zu bytes)", o->key, o->size - 1);
		break;
	case PR_DPCFG_BOOL:
		snprintf(err, len, "%s: bad value \"%.64s\" (1 or 0)", o->key, v);
		break;
	case PR_DPCFG_SECONDS:
		snprintf(err, len,
			 "%s: bad value \"%.64s\" (seconds from 0 to %llu, fractions "
			 "allowed)",
			 o->key, v, (unsigned long long)o->max);
		break;
	default:
		snprintf(err, len, "%s: bad value \"%.64s\" (a %s from %llu to %llu%s)", o->key, v,
			 o->flags & PR_DPCFG_F_POW2 ? "power of two" : "number",
			 (unsigned long long)o->min, (unsigned long long)o->max,
			 o->type == PR_DPCFG_SIZE ? ", k/m/g suffixes allowed" : "");
		break;
	}
	(void)ret;
}

int pr_dpcfg_set(struct pr_dp_cfg *cfg, const char *key, const char *value, char *err,
		 size_t errlen)
{
	const struct pr_dpcfg_opt *o = pr_dpcfg_find(key);
	int ret;

	if (!o) {
		snprintf(err, errlen, "unknown setting \"%.64s\"", key);
		return -ENOENT;
	}
	ret = set_value(cfg, o, value);
	if (ret) {
		describe(o, value, ret, err, errlen);
		return -EINVAL;
	}
	return 0;
}

void pr_dpcfg_format(const struct pr_dp_cfg *cfg, const struct pr_dpcfg_opt *o, char *buf,
		     size_t len)
{
	const uint8_t *field = (const uint8_t *)cfg + o->offset;

	switch (o->type) {
	case PR_DPCFG_STR:
		snprintf(buf, len, "\"%.*s\"", (int)o->size, (const char *)field);
		break;
	case PR_DPCFG_U32:
	case PR_DPCFG_BOOL:
		snprintf(buf, len, "%u", *(const uint32_t *)field);
		break;
	case PR_DPCFG_SECONDS: {
		uint64_t ns = *(const uint64_t *)field;

		if (ns % 1000000000ull)
			snprintf(buf, len, "%llu.%09llu", (unsigned long long)(ns / 1000000000ull),
				 (unsigned long long)(ns % 1000000000ull));
		else
			snprintf(buf, len, "%llu", (unsigned long long)(ns / 1000000000ull));
		break;
	}
	default:
		snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	}
}

int pr_dpcfg_check(const struct pr_dp_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->version != PR_DPCFG_VERSION || cfg->size != sizeof(*cfg)) {
		snprintf(err, errlen, "dataplane settings of version %u (%u bytes), not %u (%zu)",
			 cfg->version, cfg->size, PR_DPCFG_VERSION, sizeof(*cfg));
		return -EINVAL;
	}
	if (cfg->mode != PR_DP_MODE_CAPTURE && cfg->mode != PR_DP_MODE_TX) {
		snprintf(err, errlen, "unknown dataplane mode %u", cfg->mode);
		return -EINVAL;
	}
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct pr_dpcfg_opt *o = &opts[i];
		const uint8_t *field = (const uint8_t *)cfg + o->offset;
		uint64_t v;

		switch (o->type) {
		case PR_DPCFG_STR:
			if (!memchr(field, 0, o->size)) {
				snprintf(err, errlen, "%s: not terminated", o->key);
				return -EINVAL;
			}
			continue;
		case PR_DPCFG_SECONDS:
			v = *(const uint64_t *)field / 1000000000ull;
			break;
		case PR_DPCFG_U32:
		case PR_DPCFG_BOOL:
			v = *(const uint32_t *)field;
			break;
		default:
			v = *(const uint64_t *)field;
			break;
		}
		if (v < o->min || v > o->max || ((o->flags & PR_DPCFG_F_POW2) && (v & (v - 1)))) {
			snprintf(err, errlen, "%s: %llu is not from %llu to %llu", o->key,
				 (unsigned long long)v, (unsigned long long)o->min,
				 (unsigned long long)o->max);
			return -EINVAL;
		}
	}
	if (cfg->mode == PR_DP_MODE_TX ? !cfg->interface[0] :
					 !cfg->interface[0] == !cfg->read_path[0]) {
		snprintf(err, errlen, "%s",
			 cfg->mode == PR_DP_MODE_TX ?
				 "tx mode needs an interface" :
				 "give exactly one of an interface or a file to read");
		return -EINVAL;
	}
	return 0;
}
