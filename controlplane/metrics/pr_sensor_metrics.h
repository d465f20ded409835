/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The series packetrecorder exports, registered once in a pr_metrics
 * registry, with the handles that the parts of the daemon update:
 *
 *   ingest (ring consumers):  packets/bytes by protocol, drops by reason
 *                             and stage, ring occupancy per worker, flow
 *                             table size, per-packet processing time,
 *                             storage write latency and backlog
 *   capture control:          active sessions (also read from the store)
 *   grpc/ and http/:          requests by method and code, auth failures,
 *                             open connections, request durations
 *   the store (collector):    bytes on disk, free space, sessions and
 *                             packets stored, days of retention left
 *   the event bus (collector): events published and lost to slow readers
 *
 * Names keep the original design's (packetrecorder_packets_total, ...);
 * the rest follow packetrecorder_<subsystem>_<name>_<unit> (STYLE.md
 * section 7). docs/http-api.md lists them all. Every update is a relaxed
 * atomic on a series pointer looked up once (pr_metrics.h): any thread.
 */
#ifndef PR_SENSOR_METRICS_H
#define PR_SENSOR_METRICS_H

#include <stdint.h>

#include "pr_metrics.h"
#include "pr_store.h"

/* The result label of ipfrag_datagrams_total (the dataplane's PR_STAT_IPFRAG_* counters). */
enum pr_sm_ipfrag {
	PR_SM_IPFRAG_REASSEMBLED = 0,
	PR_SM_IPFRAG_TIMEOUT,
	PR_SM_IPFRAG_EVICTED,
	PR_SM_IPFRAG_DROPPED,
	PR_SM_IPFRAG_MAX,
};

/* The result label of tcp_reasm_segments_total (the dataplane's PR_STAT_TCP_* counters). */
enum pr_sm_tcp {
	PR_SM_TCP_HELD = 0,
	PR_SM_TCP_RETRANSMIT,
	PR_SM_TCP_OVERLAP,
	PR_SM_TCP_BEYOND_DEPTH,
	PR_SM_TCP_MAX,
};

/* The protocol label of packets_total and bytes_total. */
enum pr_sm_proto {
	PR_SM_PROTO_TCP = 0,
	PR_SM_PROTO_UDP,
	PR_SM_PROTO_ICMP,
	PR_SM_PROTO_ICMPV6,
	PR_SM_PROTO_SCTP,
	PR_SM_PROTO_GRE,
	PR_SM_PROTO_OTHER, /* IP, another protocol */
	PR_SM_PROTO_NON_IP, /* ARP, LLDP, ...: no IP layer */
	PR_SM_PROTO_MAX,
};

/* The protocol of a packet of a flow with this IP version (0: not IP) and protocol number. */
enum pr_sm_proto pr_sm_proto_of(uint8_t ip_version, uint8_t ip_proto);
/*
 * The protocol of a packet from its bytes, for the capture loop, which
 * sees packets before their flow ends: the IP protocol (IPv6: after its
 * extension headers) under Ethernet with up to two VLAN tags, Linux
 * cooked captures (v1, v2), BSD loopback and raw IP. ARP and other
 * EtherTypes are non_ip; encapsulations it does not open (MPLS, PPPoE,
 * other link types) and packets cut before the protocol field are
 * "other". Reads only data[0..len). Any thread.
 */
enum pr_sm_proto pr_sm_proto_of_packet(uint32_t linktype, const uint8_t *data, uint32_t len);
const char *pr_sm_proto_name(enum pr_sm_proto p); /* "tcp", ..., "non_ip" */

/* Where a packet was lost: the stage label of drops_total, beside its reason. */
enum pr_sm_stage {
	PR_SM_STAGE_RX = 0, /* before the dataplane got it: kernel buffer, interface */
	PR_SM_STAGE_DATAPLANE, /* the dataplane could not pass it on: ring full, too big */
	PR_SM_STAGE_STORAGE, /* the writer could not keep up */
	PR_SM_STAGE_MAX,
};

/* The stage of each enum pr_drop_reason (pr_store.h), whose names are the reason label. */
enum pr_sm_stage pr_sm_stage_of(enum pr_drop_reason reason);
const char *pr_sm_stage_name(enum pr_sm_stage s); /* "rx", "dataplane", "storage" */

/* The front ends that count requests and auth failures. */
enum pr_sm_api {
	PR_SM_API_HTTP = 0,
	PR_SM_API_GRPC,
	PR_SM_API_MAX,
};

struct pr_sensor_metrics_cfg {
	/*
	 * The store whose size, free space and retention outlook are
	 * exported (NULL: none). A read-only connection of its own is opened
	 * at create time and used by the collector only.
	 */
	const char *db_path;
	const char *db_key; /* copied; wiped on destroy */
	/* Read the store at most this often; scrapes in between reuse the figures. 0: 10 s. */
	uint32_t store_refresh_ms;
};

/*
 * The handles. Fields are set by pr_sensor_metrics_create() and never
 * change; the families are the registry's, the series pointers valid as
 * long as it lives.
 */
struct pr_sensor_metrics {
	struct pr_metrics *reg;
	/* ingest */
	struct pr_metric_series *packets[PR_SM_PROTO_MAX];
	struct pr_metric_series *bytes[PR_SM_PROTO_MAX];
	struct pr_metric_series *drops[PR_DROP_REASON_MAX]; /* labelled with their stage */
	struct pr_metric *ring_occupancy; /* {interface, worker}: hide when it goes */
	struct pr_metric_series *flow_table_size;
	struct pr_metric_series *ip_fragments; /* IP fragments the workers saw */
	struct pr_metric_series *ipfrag[PR_SM_IPFRAG_MAX]; /* datagrams, by result */
	struct pr_metric_series *tcp_segments[PR_SM_TCP_MAX]; /* reassembly, by result */
	struct pr_metric_series *tcp_gaps; /* holes reassembly gave up */
	struct pr_metric_series *l7_txns; /* metadata records the parsers produced */
	struct pr_metric_series *l7_lost; /* ... the record ring had no room for */
	struct pr_metric_series *packet_processing; /* seconds per packet record, ring to store */
	struct pr_metric_series *storage_write; /* seconds per commit */
	struct pr_metric_series *storage_backlog; /* packet bytes added but not committed */
	/* capture control */
	struct pr_metric_series *active_sessions;
	struct pr_metric_series *captures_started;
	/* front ends */
	struct pr_metric *grpc_requests; /* {method, code} */
	struct pr_metric *http_requests; /* {method, route, code} */
	struct pr_metric *http_duration; /* {route} */
	struct pr_metric_series *auth_failures[PR_SM_API_MAX][2]; /* [api][0 missing, 1 invalid] */
	struct pr_metric_series *connections[PR_SM_API_MAX]; /* open now */
	/* the event bus (pr_sensor_metrics_watch_events()) */
	struct pr_metric *events_published; /* {type} */
	struct pr_metric_series *events_lost;
	struct pr_metric_series *event_subscribers;
	/* the store */
	struct pr_metric_series *store_size, *store_free, *store_sessions, *store_packets;
	struct pr_metric_series *store_retention_left; /* seconds */
	struct pr_metric_series *store_up; /* 1 when the last read of the store worked */
	/* the process */
	struct pr_metric_series *start_time;
	/* private to the module */
	struct pr_sensor_metrics_priv *priv;
};

/*
 * Register every packetrecorder family in reg and create the series
 * that are known in advance (so a dashboard shows 0, not "no data", for
 * a protocol never seen). With cfg->db_path, opens the store read-only
 * and adds the store collector. Returns 0, or a negative errno from the
 * registry or the store (-EKEYREJECTED: wrong key).
 */
int pr_sensor_metrics_create(struct pr_metrics *reg, const struct pr_sensor_metrics_cfg *cfg,
			     struct pr_sensor_metrics **out);
/* Remove the collector and close the store. The families stay in the registry. NULL: no-op. */
void pr_sensor_metrics_destroy(struct pr_sensor_metrics *sm);

/* Count packets of a protocol. Any thread. */
void pr_sensor_metrics_packets(struct pr_sensor_metrics *sm, enum pr_sm_proto proto,
			       uint64_t packets, uint64_t bytes);

/*
 * A request answered by a front end: method is the HTTP method or the
 * gRPC full method name, route the matched route template for HTTP
 * ("/api/v1/sessions/{id}"; NULL for gRPC), code the HTTP status or the
 * gRPC status name. seconds < 0: do not observe a duration. Any thread;
 * looks the series up (a family lock), so it costs more than a counter.
 */
void pr_sensor_metrics_request(struct pr_sensor_metrics *sm, enum pr_sm_api api, const char *method,
			       const char *route, const char *code, double seconds);

/* An authentication failure: no key given (missing) or a wrong one. Any thread. */
void pr_sensor_metrics_auth_failure(struct pr_sensor_metrics *sm, enum pr_sm_api api, bool missing);

/*
 * What one capture has added to drops_total so far. A dataplane reports
 * cumulative counters; the daemon's counters add up every capture it
 * ran, so each capture's counters go in as increments. Zero it when the
 * capture starts; one capture loop updates it.
 */
struct pr_sm_capture {
	uint64_t drops[PR_DROP_REASON_MAX];
	uint64_t fragments;
	uint64_t ipfrag[PR_SM_IPFRAG_MAX];
	uint64_t tcp[PR_SM_TCP_MAX];
	uint64_t tcp_gaps, l7_txns, l7_lost;
};

/*
 * Add what drops (the capture's cumulative counters by reason, e.g. from
 * pr_ingest_drops_of()) grew by since the last call. A counter that went
 * down (a restarted dataplane) starts over from its new value. Any thread.
 */
void pr_sensor_metrics_capture_drops(struct pr_sensor_metrics *sm, struct pr_sm_capture *cap,
				     const uint64_t drops[PR_DROP_REASON_MAX]);

/*
 * Likewise for IP fragment reassembly: the capture's cumulative fragments
 * seen and datagrams by result (from its summed STATS counters). Any thread.
 */
void pr_sensor_metrics_capture_ipfrag(struct pr_sensor_metrics *sm, struct pr_sm_capture *cap,
				      uint64_t fragments, const uint64_t ipfrag[PR_SM_IPFRAG_MAX]);

/*
 * Likewise for the TCP reassembly before the parsers and the parsers'
 * output: segments by result, holes given up, transactions and those
 * lost for want of ring room (from the summed STATS counters, indexed by
 * enum pr_stat). Any thread.
 */
void pr_sensor_metrics_capture_l7(struct pr_sensor_metrics *sm, struct pr_sm_capture *cap,
				  const uint64_t *counters);

/*
 * The occupancy (0..1) of the ring of worker (its index in the capture)
 * of the capture on iface; hidden by pr_sensor_metrics_ring_gone() when
 * the capture ends. Any thread.
 */
void pr_sensor_metrics_ring(struct pr_sensor_metrics *sm, const char *iface, unsigned worker,
			    double occupancy);
void pr_sensor_metrics_ring_gone(struct pr_sensor_metrics *sm, const char *iface, unsigned worker);

struct pr_events;
/*
 * Export the bus's figures (events published by type, lost by slow
 * subscribers, subscribers now), read at each scrape. The bus must
 * outlive sm or be unwatched first with bus NULL. Returns 0 or -ENOMEM.
 */
int pr_sensor_metrics_watch_events(struct pr_sensor_metrics *sm, struct pr_events *bus);

#endif /* PR_SENSOR_METRICS_H */
