// SPDX-License-Identifier: Apache-2.0
/*
 * The packetrecorder series (pr_sensor_metrics.h): their definitions,
 * the series created up front, and two collectors. The store collector
 * keeps a read-only connection of its own, opened on first use and again
 * after a failure (the daemon may start before the store exists), and
 * reads pr_store_get_info() at most every store_refresh_ms, because that
 * sums the block index. The event collector copies the bus's counters.
 * Both run on the scraping thread under the registry's render lock, which
 * is also what keeps the store connection to one thread at a time.
 */
#include "pr_sensor_metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_events.h"
#include "pr_record.h"

struct pr_sensor_metrics_priv {
	char *db_path;
	char *db_key;
	uint64_t refresh_ns;
	struct pr_store *st;
	uint64_t last_read_ns; /* monotonic; 0: never */
	bool store_collector;
	struct pr_events *bus;
	struct pr_metric_series *published[PR_EVENT_TYPE_MAX];
};

static const char *const proto_names[PR_SM_PROTO_MAX] = {
	"tcp", "udp", "icmp", "icmpv6", "sctp", "gre", "other", "non_ip",
};

static const char *const stage_names[PR_SM_STAGE_MAX] = { "rx", "dataplane", "storage" };

static const char *const ipfrag_names[PR_SM_IPFRAG_MAX] = { "reassembled", "timeout", "evicted",
							    "dropped" };

static const char *const tcp_names[PR_SM_TCP_MAX] = { "held", "retransmit", "overlap",
						      "beyond_depth" };

static const char *const api_names[PR_SM_API_MAX] = { "http", "grpc" };

enum pr_sm_proto pr_sm_proto_of(uint8_t ip_version, uint8_t ip_proto)
{
	if (ip_version != 4 && ip_version != 6)
		return PR_SM_PROTO_NON_IP;
	switch (ip_proto) {
	case 6:
		return PR_SM_PROTO_TCP;
	case 17:
		return PR_SM_PROTO_UDP;
	case 1:
		return PR_SM_PROTO_ICMP;
	case 58:
		return PR_SM_PROTO_ICMPV6;
	case 132:
		return PR_SM_PROTO_SCTP;
	case 47:
		return PR_SM_PROTO_GRE;
	default:
		return PR_SM_PROTO_OTHER;
	}
}

/* IPv6 extension headers that a protocol number may hide behind. */
static bool ipv6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51;
}

/* The protocol of an IP packet at p[0..len). */
static enum pr_sm_proto proto_of_ip(const uint8_t *p, uint32_t len)
{
	uint32_t off;
	uint8_t nh;

	if (len < 1)
		return PR_SM_PROTO_OTHER;
	if ((p[0] >> 4) == 4)
		return len >= 10 ? pr_sm_proto_of(4, p[9]) : PR_SM_PROTO_OTHER;
	if ((p[0] >> 4) != 6 || len < 40)
		return PR_SM_PROTO_OTHER;
	nh = p[6];
	off = 40;
	/* A few extension headers at most: a long chain is not worth walking here. */
	for (int i = 0; i < 8 && ipv6_ext(nh); i++) {
		uint32_t hlen;

		if (off + 2 > len)
			return PR_SM_PROTO_OTHER;
		if (nh == 44)
			hlen = 8;
		else if (nh == 51)
			hlen = ((uint32_t)p[off + 1] + 2) * 4;
		else
			hlen = ((uint32_t)p[off + 1] + 1) * 8;
		nh = p[off];
		off += hlen;
	}
	return ipv6_ext(nh) ? PR_SM_PROTO_OTHER : pr_sm_proto_of(6, nh);
}

static enum pr_sm_proto proto_of_ethertype(uint16_t et, const uint8_t *p, uint32_t len)
{
	switch (et) {
	case 0x0800:
	case 0x86dd:
		return proto_of_ip(p, len);
	case 0x8847: /* MPLS */
	case 0x8848:
	case 0x8863: /* PPPoE */
	case 0x8864:
		return PR_SM_PROTO_OTHER;
	default:
		return PR_SM_PROTO_NON_IP;
	}
}

enum pr_sm_proto pr_sm_proto_of_packet(uint32_t linktype, const uint8_t *p, uint32_t len)
{
	uint32_t off;
	uint16_t et;

	switch (linktype) {
	case 1: /* LINKTYPE_ETHERNET */
		if (len < 14)
			return PR_SM_PROTO_OTHER;
		et = (uint16_t)(p[12] << 8 | p[13]);
		off = 14;
		for (int tags = 0; tags < 2 && (et == 0x8100 || et == 0x88a8 || et == 0x9100);
		     tags++) {
			if (off + 4 > len)
				return PR_SM_PROTO_OTHER;
			et = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
			off += 4;
		}
		if (et == 0x8100 || et == 0x88a8 || et == 0x9100)
			return PR_SM_PROTO_OTHER; /* more tags than are opened here */
		if (et < 0x0600) /* 802.3 length: LLC, not IP */
			return PR_SM_PROTO_NON_IP;
		return proto_of_ethertype(et, p + off, len - off);
	case 113: /* LINKTYPE_LINUX_SLL */
		if (len < 16)
			return PR_SM_PROTO_OTHER;
		return proto_of_ethertype((uint16_t)(p[14] << 8 | p[15]), p + 16, len - 16);
	case 276: /* LINKTYPE_LINUX_SLL2 */
		if (len < 20)
			return PR_SM_PROTO_OTHER;
		return proto_of_ethertype((uint16_t)(p[0] << 8 | p[1]), p + 20, len - 20);
	case 0: /* LINKTYPE_NULL: the address family in the capturing host's order */
	case 108: /* LINKTYPE_LOOP: network order */
	{
		uint32_t af;

		if (len < 4)
			return PR_SM_PROTO_OTHER;
		af = linktype == 108 ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
					       (uint32_t)p[2] << 8 | p[3] :
				       (p[0] ? p[0] : p[3]);
		if (af == 2 || af == 24 || af == 28 || af == 30)
			return proto_of_ip(p + 4, len - 4);
		return PR_SM_PROTO_NON_IP;
	}
	case 101: /* LINKTYPE_RAW */
	case 228: /* LINKTYPE_IPV4 */
	case 229: /* LINKTYPE_IPV6 */
		return proto_of_ip(p, len);
	default:
		return PR_SM_PROTO_OTHER;
	}
}

const char *pr_sm_proto_name(enum pr_sm_proto p)
{
	return (unsigned)p < PR_SM_PROTO_MAX ? proto_names[p] : "other";
}

enum pr_sm_stage pr_sm_stage_of(enum pr_drop_reason reason)
{
	switch (reason) {
	case PR_DROP_KERNEL:
	case PR_DROP_IFACE:
	case PR_DROP_NO_SOCKET:
	case PR_DROP_XSK_RX:
	case PR_DROP_XSK_RING_FULL:
	case PR_DROP_NIC_MISSED:
	case PR_DROP_NIC_NOMBUF:
	case PR_DROP_NIC_ERRORS:
		return PR_SM_STAGE_RX;
	case PR_DROP_STORE:
		return PR_SM_STAGE_STORAGE;
	default:
		return PR_SM_STAGE_DATAPLANE;
	}
}

const char *pr_sm_stage_name(enum pr_sm_stage s)
{
	return (unsigned)s < PR_SM_STAGE_MAX ? stage_names[s] : "dataplane";
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void store_collect(void *ctx, struct pr_metrics *m)
{
	struct pr_sensor_metrics *sm = ctx;
	struct pr_sensor_metrics_priv *p = sm->priv;
	struct pr_store_info info;
	uint64_t now = mono_ns();

	(void)m;
	if (p->last_read_ns && now - p->last_read_ns < p->refresh_ns)
		return;
	p->last_read_ns = now;
	if (!p->st) {
		struct pr_store_cfg cfg = {
			.path = p->db_path,
			.key = p->db_key,
			.readonly = true,
		};

		if (pr_store_open(&cfg, &p->st)) {
			p->st = NULL;
			pr_metric_set(sm->store_up, 0);
			return;
		}
	}
	if (pr_store_get_info(p->st, 0, &info)) {
		/* Reopen next time: the file may have been replaced or its disk gone. */
		pr_store_close(p->st);
		p->st = NULL;
		pr_metric_set(sm->store_up, 0);
		return;
	}
	pr_metric_set(sm->store_up, 1);
	pr_metric_set(sm->store_size, (double)info.size_bytes);
	pr_metric_set(sm->store_sessions, (double)info.sessions);
	pr_metric_set(sm->store_packets, (double)info.packets);
	pr_metric_set(sm->active_sessions, (double)info.running_sessions);
	if (info.have_fs)
		pr_metric_set(sm->store_free, (double)info.fs_free_bytes);
	else
		pr_metric_series_hide(sm->store_free);
	/* Not known (no capture time yet, no filesystem figures): no sample, not a made-up one. */
	if (info.have_days_left && isfinite(info.days_left))
		pr_metric_set(sm->store_retention_left, info.days_left * 86400.0);
	else
		pr_metric_series_hide(sm->store_retention_left);
}

static void events_collect(void *ctx, struct pr_metrics *m)
{
	struct pr_sensor_metrics *sm = ctx;
	struct pr_sensor_metrics_priv *p = sm->priv;
	struct pr_events_stats st;

	(void)m;
	if (!p->bus)
		return;
	pr_events_get_stats(p->bus, &st);
	for (uint32_t t = 1; t < PR_EVENT_TYPE_MAX; t++)
		pr_metric_counter_set(p->published[t], st.published[t]);
	pr_metric_counter_set(sm->events_lost, st.lost);
	pr_metric_set(sm->event_subscribers, st.subscribers);
}

/* Register one family; with no labels, also its one series into *series. */
static int reg(struct pr_metrics *m, enum pr_metric_type type, const char *name, const char *help,
	       const char *const *labels, unsigned n_labels, const double *buckets,
	       unsigned n_buckets, struct pr_metric **fam, struct pr_metric_series **series)
{
	struct pr_metric_def def = {
		.type = type,
		.name = name,
		.help = help,
		.labels = labels,
		.n_labels = n_labels,
		.buckets = buckets,
		.n_buckets = n_buckets,
	};
	struct pr_metric *f;
	int err = pr_metrics_register(m, &def, &f);

	if (err)
		return err;
	if (fam)
		*fam = f;
	if (series)
		err = pr_metric_series(f, NULL, series);
	return err;
}

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

static int register_all(struct pr_sensor_metrics *sm)
{
	static const char *const l_proto[] = { "protocol" };
	static const char *const l_result[] = { "result" };
	static const char *const l_drop[] = { "reason", "stage" };
	static const char *const l_worker[] = { "interface", "worker" };
	static const char *const l_grpc[] = { "method", "code" };
	static const char *const l_http[] = { "method", "route", "code" };
	static const char *const l_route[] = { "route" };
	static const char *const l_auth[] = { "api", "reason" };
	static const char *const l_api[] = { "api" };
	static const char *const l_type[] = { "type" };
	static const char *const l_version[] = { "version" };
	/* Per packet in the control plane: tens of ns when all is well, ms when the disk stalls. */
	static const double b_pkt[] = { 1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6,
					1e-5, 2.5e-5, 1e-4, 1e-3, 1e-2 };
	static const double b_commit[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					   0.1,	   0.25,  0.5,	  1,	 2.5,  5 };
	static const double b_http[] = { 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30 };
	struct pr_metrics *m = sm->reg;
	struct pr_metric *f;
	struct pr_metric_series *s;
	int err;

	err = reg(m, PR_METRIC_COUNTER, "packetrecorder_packets_total",
		  "Packets captured and passed to the store, by protocol", l_proto, N(l_proto),
		  NULL, 0, &f, NULL);
	for (int i = 0; !err && i < PR_SM_PROTO_MAX; i++)
		err = pr_metric_series(f, (const char *const[]){ proto_names[i] }, &sm->packets[i]);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_bytes_total",
			  "Wire bytes of those packets, by protocol", l_proto, N(l_proto), NULL, 0,
			  &f, NULL);
	for (int i = 0; !err && i < PR_SM_PROTO_MAX; i++)
		err = pr_metric_series(f, (const char *const[]){ proto_names[i] }, &sm->bytes[i]);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_active_sessions",
			  "Capture sessions running now", NULL, 0, NULL, 0, NULL,
			  &sm->active_sessions);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_flow_table_size",
			  "Flows open in the flow tables of the running captures", NULL, 0, NULL, 0,
			  NULL, &sm->flow_table_size);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_ip_fragments_total",
			  "IP fragments (first and later) the capture workers saw", NULL, 0, NULL,
			  0, NULL, &sm->ip_fragments);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_ipfrag_datagrams_total",
			  "IP datagrams the workers rebuilt from fragments for the parsers "
			  "(reassembled), or gave up incomplete (timeout, evicted, dropped)",
			  l_result, N(l_result), NULL, 0, &f, NULL);
	for (int i = 0; !err && i < PR_SM_IPFRAG_MAX; i++)
		err = pr_metric_series(f, (const char *const[]){ ipfrag_names[i] }, &sm->ipfrag[i]);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_tcp_reasm_segments_total",
			  "TCP segments the workers' reassembly held until the hole before them "
			  "filled (held), whose bytes had all been seen (retransmit), partly seen "
			  "(overlap), or that came early past the reassembly depth (beyond_depth)",
			  l_result, N(l_result), NULL, 0, &f, NULL);
	for (int i = 0; !err && i < PR_SM_TCP_MAX; i++)
		err = pr_metric_series(f, (const char *const[]){ tcp_names[i] },
				       &sm->tcp_segments[i]);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_tcp_reasm_gaps_total",
			  "Holes in TCP streams the workers' reassembly gave up (bytes the capture "
			  "never had)",
			  NULL, 0, NULL, 0, NULL, &sm->tcp_gaps);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_l7_transactions_total",
			  "Transactions the protocol parsers produced (DNS messages, HTTP "
			  "exchanges, TLS handshakes, ...)",
			  NULL, 0, NULL, 0, NULL, &sm->l7_txns);
	if (!err)
		err = reg(
			m, PR_METRIC_COUNTER, "packetrecorder_l7_records_lost_total",
			"Metadata records the workers could not pass on: the record ring was full",
			NULL, 0, NULL, 0, NULL, &sm->l7_lost);
	if (!err)
		err = reg(m, PR_METRIC_HISTOGRAM, "packetrecorder_packet_processing_seconds",
			  "Control-plane time per packet record, from the ring to the store", NULL,
			  0, b_pkt, N(b_pkt), NULL, &sm->packet_processing);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_drops_total",
			  "Packets lost, by reason and by the stage that lost them", l_drop,
			  N(l_drop), NULL, 0, &f, NULL);
	for (int i = 0; !err && i < PR_DROP_REASON_MAX; i++) {
		const char *v[] = { pr_drop_reason_name((uint32_t)i),
				    stage_names[pr_sm_stage_of((enum pr_drop_reason)i)] };

		err = pr_metric_series(f, v, &sm->drops[i]);
	}
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_ring_occupancy_ratio",
			  "Share of each capture worker's record ring in use (0 to 1)", l_worker,
			  N(l_worker), NULL, 0, &sm->ring_occupancy, NULL);
	if (!err)
		err = reg(m, PR_METRIC_HISTOGRAM, "packetrecorder_storage_write_seconds",
			  "Time of each store commit (blocks, flows and counters to disk)", NULL, 0,
			  b_commit, N(b_commit), NULL, &sm->storage_write);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_storage_backlog_bytes",
			  "Packet bytes received from the rings and not yet committed", NULL, 0,
			  NULL, 0, NULL, &sm->storage_backlog);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_captures_started_total",
			  "Captures started by the daemon", NULL, 0, NULL, 0, NULL,
			  &sm->captures_started);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_storage_size_bytes",
			  "Bytes the store takes on disk: database, WAL and segment files", NULL, 0,
			  NULL, 0, NULL, &sm->store_size);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_storage_free_bytes",
			  "Bytes free to the daemon on the store's filesystem", NULL, 0, NULL, 0,
			  NULL, &sm->store_free);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_storage_sessions",
			  "Capture sessions in the store", NULL, 0, NULL, 0, NULL,
			  &sm->store_sessions);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_storage_packets",
			  "Packets in the store (not yet deleted by retention)", NULL, 0, NULL, 0,
			  NULL, &sm->store_packets);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_storage_retention_left_seconds",
			  "Time until the store reaches its size limit or fills the disk, at the "
			  "rate it grew so far (absent while not known)",
			  NULL, 0, NULL, 0, NULL, &sm->store_retention_left);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_storage_up",
			  "1 when the last read of the store worked", NULL, 0, NULL, 0, NULL,
			  &sm->store_up);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_grpc_requests_total",
			  "gRPC calls answered, by full method name and status code", l_grpc,
			  N(l_grpc), NULL, 0, &sm->grpc_requests, NULL);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_http_requests_total",
			  "HTTP requests answered, by method, route and status code", l_http,
			  N(l_http), NULL, 0, &sm->http_requests, NULL);
	if (!err)
		err = reg(m, PR_METRIC_HISTOGRAM, "packetrecorder_http_request_duration_seconds",
			  "Time to the response of each HTTP request (streams: to their start)",
			  l_route, N(l_route), b_http, N(b_http), &sm->http_duration, NULL);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_auth_failures_total",
			  "Requests refused for a missing or wrong API key", l_auth, N(l_auth),
			  NULL, 0, &f, NULL);
	for (int a = 0; !err && a < PR_SM_API_MAX; a++)
		for (int r = 0; !err && r < 2; r++)
			err = pr_metric_series(
				f, (const char *const[]){ api_names[a], r ? "invalid" : "missing" },
				&sm->auth_failures[a][r]);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_api_connections",
			  "Client connections open now, by API", l_api, N(l_api), NULL, 0, &f,
			  NULL);
	for (int a = 0; !err && a < PR_SM_API_MAX; a++)
		err = pr_metric_series(f, (const char *const[]){ api_names[a] },
				       &sm->connections[a]);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_events_published_total",
			  "Events published on the event bus, by type", l_type, N(l_type), NULL, 0,
			  &sm->events_published, NULL);
	if (!err)
		err = reg(m, PR_METRIC_COUNTER, "packetrecorder_events_lost_total",
			  "Events that slow subscribers lost", NULL, 0, NULL, 0, NULL,
			  &sm->events_lost);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_event_subscribers",
			  "Event streams open now", NULL, 0, NULL, 0, NULL, &sm->event_subscribers);
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_build_info",
			  "Always 1; the version in a label", l_version, N(l_version), NULL, 0, &f,
			  NULL);
	if (!err) {
		err = pr_metric_series(f, (const char *const[]){ PR_VERSION }, &s);
		pr_metric_set(s, 1);
	}
	if (!err)
		err = reg(m, PR_METRIC_GAUGE, "packetrecorder_start_time_seconds",
			  "When the daemon started, seconds since the Unix epoch", NULL, 0, NULL, 0,
			  NULL, &sm->start_time);
	if (!err) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		pr_metric_set(sm->start_time, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
		/* Not known until the store has been read. */
		pr_metric_series_hide(sm->store_retention_left);
		pr_metric_series_hide(sm->store_free);
	}
	return err;
}

int pr_sensor_metrics_create(struct pr_metrics *reg_, const struct pr_sensor_metrics_cfg *cfg,
			     struct pr_sensor_metrics **out)
{
	struct pr_sensor_metrics *sm = calloc(1, sizeof(*sm));
	int err = -ENOMEM;

	*out = NULL;
	if (!sm)
		return -ENOMEM;
	sm->reg = reg_;
	sm->priv = calloc(1, sizeof(*sm->priv));
	if (!sm->priv)
		goto fail;
	if ((err = register_all(sm)))
		goto fail;
	if (cfg && cfg->db_path) {
		struct pr_sensor_metrics_priv *p = sm->priv;

		err = -ENOMEM;
		p->db_path = strdup(cfg->db_path);
		p->db_key = cfg->db_key ? strdup(cfg->db_key) : NULL;
		if (!p->db_path || (cfg->db_key && !p->db_key))
			goto fail;
		p->refresh_ns = (uint64_t)(cfg->store_refresh_ms ? cfg->store_refresh_ms : 10000) *
				1000000ull;
		if ((err = pr_metrics_add_collector(reg_, store_collect, sm)))
			goto fail;
		p->store_collector = true;
	}
	*out = sm;
	return 0;
fail:
	pr_sensor_metrics_destroy(sm);
	return err;
}

void pr_sensor_metrics_destroy(struct pr_sensor_metrics *sm)
{
	struct pr_sensor_metrics_priv *p;

	if (!sm)
		return;
	p = sm->priv;
	if (p) {
		if (p->store_collector)
			pr_metrics_remove_collector(sm->reg, store_collect, sm);
		if (p->bus)
			pr_metrics_remove_collector(sm->reg, events_collect, sm);
		pr_store_close(p->st);
		if (p->db_key) {
			OPENSSL_cleanse(p->db_key, strlen(p->db_key));
			free(p->db_key);
		}
		free(p->db_path);
		free(p);
	}
	free(sm);
}

void pr_sensor_metrics_packets(struct pr_sensor_metrics *sm, enum pr_sm_proto proto,
			       uint64_t packets, uint64_t bytes)
{
	if ((unsigned)proto >= PR_SM_PROTO_MAX)
		proto = PR_SM_PROTO_OTHER;
	pr_metric_inc(sm->packets[proto], packets);
	pr_metric_inc(sm->bytes[proto], bytes);
}

void pr_sensor_metrics_request(struct pr_sensor_metrics *sm, enum pr_sm_api api, const char *method,
			       const char *route, const char *code, double seconds)
{
	struct pr_metric_series *s;

	if (api == PR_SM_API_GRPC) {
		if (!pr_metric_series(sm->grpc_requests, (const char *const[]){ method, code }, &s))
			pr_metric_inc(s, 1);
		return;
	}
	if (!route)
		route = "other";
	if (!pr_metric_series(sm->http_requests, (const char *const[]){ method, route, code }, &s))
		pr_metric_inc(s, 1);
	if (seconds >= 0 &&
	    !pr_metric_series(sm->http_duration, (const char *const[]){ route }, &s))
		pr_metric_observe(s, seconds);
}

void pr_sensor_metrics_auth_failure(struct pr_sensor_metrics *sm, enum pr_sm_api api, bool missing)
{
	if ((unsigned)api < PR_SM_API_MAX)
		pr_metric_inc(sm->auth_failures[api][missing ? 0 : 1], 1);
}

void pr_sensor_metrics_capture_drops(struct pr_sensor_metrics *sm, struct pr_sm_capture *cap,
				     const uint64_t drops[PR_DROP_REASON_MAX])
{
	for (int i = 0; i < PR_DROP_REASON_MAX; i++) {
		uint64_t d = drops[i] >= cap->drops[i] ? drops[i] - cap->drops[i] : drops[i];

		if (d)
			pr_metric_inc(sm->drops[i], d);
		cap->drops[i] = drops[i];
	}
}

/* What a cumulative counter grew by; one that went down (a new dataplane) starts over. */
static uint64_t growth(uint64_t now, uint64_t *last)
{
	uint64_t d = now >= *last ? now - *last : now;

	*last = now;
	return d;
}

void pr_sensor_metrics_capture_ipfrag(struct pr_sensor_metrics *sm, struct pr_sm_capture *cap,
				      uint64_t fragments, const uint64_t ipfrag[PR_SM_IPFRAG_MAX])
{
	uint64_t d = growth(fragments, &cap->fragments);

	if (d)
		pr_metric_inc(sm->ip_fragments, d);
	for (int i = 0; i < PR_SM_IPFRAG_MAX; i++) {
		d = growth(ipfrag[i], &cap->ipfrag[i]);
		if (d)
			pr_metric_inc(sm->ipfrag[i], d);
	}
}

void pr_sensor_metrics_capture_l7(struct pr_sensor_metrics *sm, struct pr_sm_capture *cap,
				  const uint64_t *c)
{
	static const enum pr_stat tcp[PR_SM_TCP_MAX] = {
		[PR_SM_TCP_HELD] = PR_STAT_TCP_HELD,
		[PR_SM_TCP_RETRANSMIT] = PR_STAT_TCP_RETRANSMITS,
		[PR_SM_TCP_OVERLAP] = PR_STAT_TCP_OVERLAPS,
		[PR_SM_TCP_BEYOND_DEPTH] = PR_STAT_TCP_BEYOND_DEPTH,
	};
	uint64_t d;

	for (int i = 0; i < PR_SM_TCP_MAX; i++) {
		d = growth(c[tcp[i]], &cap->tcp[i]);
		if (d)
			pr_metric_inc(sm->tcp_segments[i], d);
	}
	d = growth(c[PR_STAT_TCP_GAPS], &cap->tcp_gaps);
	if (d)
		pr_metric_inc(sm->tcp_gaps, d);
	d = growth(c[PR_STAT_L7_TRANSACTIONS], &cap->l7_txns);
	if (d)
		pr_metric_inc(sm->l7_txns, d);
	d = growth(c[PR_STAT_L7_META_LOST], &cap->l7_lost);
	if (d)
		pr_metric_inc(sm->l7_lost, d);
}

void pr_sensor_metrics_ring(struct pr_sensor_metrics *sm, const char *iface, unsigned worker,
			    double occupancy)
{
	struct pr_metric_series *s;
	char w[16];

	snprintf(w, sizeof(w), "%u", worker);
	if (!pr_metric_series(sm->ring_occupancy, (const char *const[]){ iface, w }, &s))
		pr_metric_set(s, occupancy);
}

void pr_sensor_metrics_ring_gone(struct pr_sensor_metrics *sm, const char *iface, unsigned worker)
{
	struct pr_metric_series *s;
	char w[16];

	snprintf(w, sizeof(w), "%u", worker);
	if (!pr_metric_series(sm->ring_occupancy, (const char *const[]){ iface, w }, &s))
		pr_metric_series_hide(s);
}

int pr_sensor_metrics_watch_events(struct pr_sensor_metrics *sm, struct pr_events *bus)
{
	struct pr_sensor_metrics_priv *p = sm->priv;
	int err;

	if (p->bus) {
		pr_metrics_remove_collector(sm->reg, events_collect, sm);
		p->bus = NULL;
	}
	if (!bus)
		return 0;
	for (uint32_t t = 1; t < PR_EVENT_TYPE_MAX; t++) {
		err = pr_metric_series(sm->events_published,
				       (const char *const[]){ pr_event_type_name(t) },
				       &p->published[t]);
		if (err)
			return err;
	}
	p->bus = bus;
	return pr_metrics_add_collector(sm->reg, events_collect, sm);
}
