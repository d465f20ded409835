/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared-memory contract between packetrecorder-dataplane and the
 * control plane: the region header, the ring header and the records that
 * travel through the rings. Plain C, fixed-width types, no pointers: the
 * two processes map the region at different addresses and may be built at
 * different times, so every size and version is checked on attach.
 *
 * Region layout (one file in /dev/shm, named per instance):
 *   struct pr_shm_header                      (offset 0)
 *   struct pr_dp_cfg: the dataplane's settings (cfg_offset; pr_dpcfg.h)
 *   ring 0 .. ring N-1: one per worker core   (dataplane -> control plane)
 *   ring N:             the tx core's reports (dataplane -> control plane)
 *   ring N+1:           the tx ring           (control plane -> dataplane)
 * N is worker_count. Every ring has exactly one producer thread and one
 * consumer thread: worker i is the only producer of ring i, the tx core
 * the only producer of ring N.
 * Each ring is a struct pr_ring_header followed by slot_count slots of
 * slot_size bytes. A record takes whole consecutive slots; one that does not
 * fit before the end of the slot array is preceded by a PR_REC_PAD record
 * that fills the tail, so a record is always contiguous in memory.
 *
 * All multi-byte fields are in host byte order: both ends run on one host.
 */
#ifndef PR_RECORD_H
#define PR_RECORD_H

#include <stdint.h>

#include "pr_compiler.h"

#define PR_SHM_MAGIC 0x50524d31u /* "PRM1" */
#define PR_SHM_VERSION 4u
#define PR_RING_MAGIC 0x50524731u /* "PRG1" */
#define PR_RING_VERSION 1u
#define PR_RING_SLOT_SIZE 64u
#define PR_SHM_MAX_WORKERS 64u
#define PR_SHM_MAX_RINGS (PR_SHM_MAX_WORKERS + 2u) /* workers, tx reports, tx */
#define PR_SHM_REPORT_SLOTS 1024u /* the tx core's report ring: 64 KiB */

/* Largest packet that travels through a ring (256 KiB, libpcap's largest snap length). */
#define PR_MAX_SNAPLEN 262144u

enum pr_ring_role {
	PR_RING_ROLE_RX = 1, /* dataplane worker -> control plane */
	PR_RING_ROLE_TX = 2, /* control plane -> dataplane tx core */
};

/* Region state, written by the dataplane, read by the control plane. */
enum pr_shm_state {
	PR_SHM_STATE_INIT = 0, /* created by the control plane, no dataplane yet */
	PR_SHM_STATE_RUNNING = 1, /* a dataplane is attached and producing */
	PR_SHM_STATE_DONE = 2, /* the dataplane wrote its END records and left */
};

struct pr_shm_header {
	uint32_t magic;
	uint32_t version;
	uint32_t header_size; /* sizeof(struct pr_shm_header) of the writer */
	uint32_t ring_count; /* worker_count + 2: the tx core's report ring, the tx ring */
	uint64_t total_size; /* bytes of the whole region */
	uint32_t slot_size; /* PR_RING_SLOT_SIZE */
	uint32_t rx_slot_count; /* slots per rx ring (power of two) */
	uint32_t tx_slot_count; /* slots of the tx ring (power of two) */
	uint32_t worker_count; /* worker cores = their rx rings 0 .. worker_count - 1 */
	_Atomic int32_t dataplane_pid; /* written by the dataplane when it attaches */
	uint32_t flags; /* PR_SHM_F_*, set by the maker */
	/*
	 * Bumped by every dataplane that attaches. The control plane remembers
	 * the value it saw: a different one means the dataplane restarted and
	 * its rings were reset, so the consumer must re-attach.
	 */
	_Atomic uint64_t generation;
	_Atomic uint32_t state; /* enum pr_shm_state */
	uint32_t cfg_size; /* sizeof(struct pr_dp_cfg) of the writer */
	uint64_t cfg_offset; /* where the settings block starts */
	/*
	 * The consumer: the control plane storing what the worker rings hold.
	 * It sets consumer_pid (compare-and-swap from 0 or a dead pid) when it
	 * attaches and clears it when it is done; the dataplane reads it to
	 * know whether anyone will make room in a full ring. session_id and
	 * store_path name the session it stores into (written before
	 * session_id, which publishes them), so a control plane that takes
	 * over after a crash goes on with the same session.
	 */
	_Atomic int32_t consumer_pid;
	uint32_t reserved2;
	_Atomic int64_t session_id; /* 0: no session yet */
	char store_path[512];
	char instance[64]; /* the instance name, "" for a private region */
	char ctl_path[108]; /* the dataplane's control socket */
	uint8_t pad[4];
	uint64_t ring_offset[PR_SHM_MAX_RINGS]; /* from the start of the region */
} PR_CACHE_ALIGNED;

/* pr_shm_header.flags */
/*
 * The dataplane outlives its control plane: started detached (no
 * die-with-parent), it keeps capturing when the control plane dies, and
 * the region stays until a control plane has stored what it holds.
 */
#define PR_SHM_F_DETACHED 0x1u

/*
 * Producer and consumer indices count slots, never wrap (64 bits), and sit
 * on their own cache lines so the two cores never share a line they write.
 */
struct pr_ring_header {
	uint32_t magic;
	uint32_t version;
	uint32_t slot_size;
	uint32_t slot_count; /* power of two */
	uint32_t role; /* enum pr_ring_role */
	uint32_t index; /* position in the region: the worker index for worker rings */
	uint8_t pad0[PR_CACHE_LINE - 24];
	_Atomic uint64_t prod;
	uint8_t pad1[PR_CACHE_LINE - 8];
	_Atomic uint64_t cons;
	uint8_t pad2[PR_CACHE_LINE - 8];
	/* slots follow */
} PR_CACHE_ALIGNED;

PR_STATIC_ASSERT(sizeof(struct pr_ring_header) == 3 * PR_CACHE_LINE, "ring header layout");

enum pr_rec_type {
	PR_REC_PAD = 0, /* filler to the end of the slot array; skip */
	PR_REC_PACKET = 1, /* struct pr_rec_packet */
	PR_REC_FLOW = 2, /* struct pr_rec_flow */
	PR_REC_ALERT = 3, /* reserved for the detection issue */
	PR_REC_STATS = 4, /* struct pr_rec_stats: cumulative counters of one core */
	PR_REC_IFACE = 5, /* struct pr_rec_iface: an interface, before its packets */
	PR_REC_END = 6, /* struct pr_rec_end: this core produces nothing more */
	PR_REC_TX_PACKET = 7, /* struct pr_rec_tx_packet (tx ring only) */
	PR_REC_TX_END = 8, /* struct pr_rec_hdr: no more tx records (tx ring only) */
	PR_REC_TX_TIMING = 9, /* struct pr_rec_tx_timing: the tx core's send-time errors */
	PR_REC_META = 10, /* struct pr_rec_meta: L7 metadata of a flow (one transaction) */
	PR_REC_TYPE_MAX,
};

/* Every record starts with this; len counts the header and is <= the slot span. */
struct pr_rec_hdr {
	uint16_t type; /* enum pr_rec_type */
	uint16_t flags;
	uint32_t len;
};

/* pr_rec_packet.pflags */
#define PR_PKT_F_TRUNCATED 0x0001u /* decoder ran out of captured bytes */
#define PR_PKT_F_MALFORMED 0x0002u /* a header field was impossible */
#define PR_PKT_F_FRAGMENT 0x0004u /* an IP fragment */

struct pr_rec_packet {
	struct pr_rec_hdr hdr;
	uint64_t ts_ns; /* capture time, ns since the Unix epoch */
	uint64_t flow_id; /* 0: not part of a flow (ARP, non-IP) */
	uint32_t wire_len;
	uint32_t cap_len; /* bytes in data[] */
	uint16_t iface; /* index announced by a PR_REC_IFACE record */
	uint16_t queue;
	uint16_t pflags; /* PR_PKT_F_* */
	uint16_t reserved;
	uint8_t data[];
};

#define PR_IFACE_NAME_MAX 64
#define PR_IFACE_DESC_MAX 128

struct pr_rec_iface {
	struct pr_rec_hdr hdr;
	uint16_t iface;
	uint8_t tsresol; /* pcapng if_tsresol byte of the source: 6 = usec, 9 = nsec */
	uint8_t reserved;
	uint32_t linktype; /* LINKTYPE_* */
	uint32_t snaplen;
	uint32_t reserved2;
	char name[PR_IFACE_NAME_MAX];
	char description[PR_IFACE_DESC_MAX];
};

/* pr_rec_flow.end_reason */
enum pr_flow_end {
	PR_FLOW_END_ACTIVE = 0, /* still open (never stored as such) */
	PR_FLOW_END_IDLE = 1, /* idle timeout */
	PR_FLOW_END_ACTIVE_TIMEOUT = 2, /* active timeout: a long flow is cut */
	PR_FLOW_END_FIN = 3, /* TCP closed with FIN from both sides */
	PR_FLOW_END_RST = 4, /* TCP reset */
	PR_FLOW_END_EVICTED = 5, /* flow table full: emergency eviction */
	PR_FLOW_END_SHUTDOWN = 6, /* capture ended with the flow still open */
	PR_FLOW_END_REUSED = 7, /* a new TCP connection reused the 5-tuple */
	PR_FLOW_END_MAX,
};

/* pr_rec_flow.tcp_state */
enum pr_tcp_state {
	PR_TCP_NONE = 0, /* not TCP */
	PR_TCP_SYN_SENT = 1,
	PR_TCP_SYN_RECV = 2,
	PR_TCP_ESTABLISHED = 3,
	PR_TCP_FIN_WAIT = 4, /* FIN seen from one side */
	PR_TCP_CLOSED = 5, /* FIN seen from both sides */
	PR_TCP_RESET = 6,
	PR_TCP_MIDSTREAM = 7, /* first packet was not a SYN */
	PR_TCP_STATE_MAX,
};

/*
 * A flow, bidirectional. "src" is the side that opened it: the sender of
 * the first packet, or for TCP the sender of the SYN. Index 0 of the
 * per-direction arrays is src -> dst ("to server"), 1 is dst -> src.
 * IPv4 addresses sit in the first 4 bytes of the 16-byte arrays.
 */
struct pr_rec_flow {
	struct pr_rec_hdr hdr;
	uint64_t flow_id;
	uint64_t first_ts_ns;
	uint64_t last_ts_ns;
	uint64_t packets[2];
	uint64_t bytes[2]; /* wire bytes */
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
	uint16_t src_port; /* ICMP: type << 8 | code of the first packet */
	uint16_t dst_port; /* ICMP echo: identifier */
	uint16_t vlan; /* outermost VLAN id, 0 if none */
	uint16_t iface;
	uint8_t ip_version; /* 4 or 6 */
	uint8_t ip_proto;
	uint8_t tcp_state; /* enum pr_tcp_state */
	uint8_t end_reason; /* enum pr_flow_end */
	uint8_t tcp_flags[2]; /* OR of TCP flags seen per direction */
	uint16_t app; /* reserved for the L7 issue, 0 = unknown */
	uint32_t reserved;
};

/*
 * Per-core counters. Cumulative since the dataplane started; the reader sums
 * cores. Every packet that reached the capture point is counted once in
 * RECEIVED and once more in exactly one of: EMITTED (handed to the ring),
 * FILTERED, FILTERED_EARLY, or a DROP_ counter; so RECEIVED = EMITTED +
 * FILTERED + FILTERED_EARLY + the DROP_ counters.
 */
enum pr_stat {
	PR_STAT_RX_PACKETS = 0, /* packets the backend delivered */
	PR_STAT_RX_BYTES, /* their wire bytes */
	PR_STAT_FILTERED, /* rejected by the BPF capture filter (not a drop) */
	PR_STAT_EMITTED, /* packet records written to the ring */
	PR_STAT_DROP_RING_FULL, /* lost: the ring was full and no consumer was there */
	PR_STAT_DROP_KERNEL, /* lost in the kernel (pcap_stats ps_drop) */
	PR_STAT_DROP_IFACE, /* lost by the interface (pcap_stats ps_ifdrop) */
	PR_STAT_DROP_TOO_BIG, /* lost: cap_len above PR_MAX_SNAPLEN */
	PR_STAT_DEC_TRUNCATED, /* stored, but the decoder ran out of bytes */
	PR_STAT_DEC_MALFORMED, /* stored, but a header was impossible */
	PR_STAT_DEC_NON_IP, /* stored, no IP layer (ARP, LLDP, ...) */
	PR_STAT_FRAGMENTS, /* IP fragments seen */
	PR_STAT_FLOWS_CREATED,
	PR_STAT_FLOWS_ENDED, /* flow records emitted */
	PR_STAT_FLOWS_EVICTED, /* ended early because the table was full */
	PR_STAT_FLOW_RECORDS_LOST, /* flow records lost: ring full */
	PR_STAT_TX_PACKETS, /* replayed packets sent */
	PR_STAT_TX_BYTES,
	PR_STAT_TX_ERRORS, /* replayed packets the backend refused */
	/* what reached the capture point: RX_PACKETS + FILTERED_EARLY + the backend's drops */
	PR_STAT_RECEIVED,
	PR_STAT_FILTERED_EARLY, /* dropped on purpose before delivery (XDP early-drop rules) */
	PR_STAT_DROP_BACKLOG, /* lost: the ring was full while its consumer was storing */
	PR_STAT_DROP_NO_SOCKET, /* AF_XDP: no capture socket on the frame's queue */
	PR_STAT_DROP_XSK_RX, /* AF_XDP: no free frame, or a frame too large */
	PR_STAT_DROP_XSK_RING_FULL, /* AF_XDP: the socket's rx ring was full */
	PR_STAT_DROP_NIC_MISSED, /* DPDK imissed */
	PR_STAT_DROP_NIC_NOMBUF, /* DPDK rx_nombuf */
	PR_STAT_DROP_NIC_ERRORS, /* DPDK ierrors */
	/*
	 * IP fragment reassembly (for flows and parsers; the fragments are
	 * stored as they came): datagrams rebuilt, and datagrams given up
	 * incomplete by reason (ipfrag_timeout_s passed; their slot went to
	 * a newer one; broken: overlapping IPv6 fragments, contradicting
	 * ends, past the size or fragment limits).
	 */
	PR_STAT_IPFRAG_REASSEMBLED,
	PR_STAT_IPFRAG_TIMEOUTS,
	PR_STAT_IPFRAG_EVICTED,
	PR_STAT_IPFRAG_DROPPED,
	/*
	 * Where a worker's time goes, in pr_cycles() (TSC) units, over the
	 * bursts that held packets: the backend's rx_burst(), the first pass
	 * (filter, classify, decode), the flow table, the L7 parsers, and
	 * writing the records (packets, flows, metadata) into the ring; and
	 * how many packets those bursts held. Summed over the cores like the
	 * other counters. `capture --stats` shows them per packet.
	 */
	PR_STAT_CYC_RX,
	PR_STAT_CYC_DECODE,
	PR_STAT_CYC_FLOW,
	PR_STAT_CYC_L7,
	PR_STAT_CYC_EMIT,
	PR_STAT_CYC_PACKETS,
	/*
	 * TCP stream reassembly before the parsers (tcp_reasm_*): segments
	 * that came before a hole and were held until it filled, segments
	 * whose bytes had all been seen (retransmissions), segments partly
	 * made of bytes seen before (the first copy wins), holes given up
	 * (bytes the capture never had: the peer acknowledged past them, a
	 * direction held tcp_reasm_held_bytes, the chunk pool ran dry, or the
	 * flow ended), and early bytes dropped past the reassembly depth.
	 */
	PR_STAT_TCP_HELD,
	PR_STAT_TCP_RETRANSMITS,
	PR_STAT_TCP_OVERLAPS,
	PR_STAT_TCP_GAPS,
	PR_STAT_TCP_BEYOND_DEPTH,
	/*
	 * The protocol parsers: transactions they finished, and the META
	 * records among them (with the flows' apps and tunnels) the ring had
	 * no room for; flow directions they stopped early, by reason: a TCP
	 * gap they could not get over, bad input, a message larger than
	 * l7_buf_bytes, no free buffer; and flows no parser recognised.
	 */
	PR_STAT_L7_TRANSACTIONS,
	PR_STAT_L7_META_LOST,
	PR_STAT_L7_GAPS,
	PR_STAT_L7_MALFORMED,
	PR_STAT_L7_OVERSIZE,
	PR_STAT_L7_BUF_EXHAUSTED,
	PR_STAT_L7_UNDETECTED,
	PR_STAT_MAX,
};

struct pr_rec_stats {
	struct pr_rec_hdr hdr;
	uint32_t core;
	uint32_t reserved;
	uint64_t counters[PR_STAT_MAX];
};

/* pr_rec_end.reason */
enum pr_end_reason {
	PR_END_EOF = 1, /* the capture file ended */
	PR_END_COUNT = 2, /* --count reached */
	PR_END_DURATION = 3, /* --duration reached */
	PR_END_STOPPED = 4, /* asked to stop (signal or control socket) */
	PR_END_ERROR = 5, /* the backend failed: see message */
};

struct pr_rec_end {
	struct pr_rec_hdr hdr;
	uint32_t core;
	uint32_t reason; /* enum pr_end_reason */
	int32_t error; /* 0, or the negative errno behind PR_END_ERROR */
	uint32_t reserved;
	char message[256]; /* human-readable detail, NUL-terminated */
};

struct pr_rec_tx_packet {
	struct pr_rec_hdr hdr;
	uint64_t send_at_ns; /* CLOCK_MONOTONIC; 0 = as soon as possible */
	uint32_t len;
	uint32_t reserved;
	uint8_t data[];
};

/*
 * How late the tx core handed paced packets to the backend: for each
 * packet with a send_at_ns, the CLOCK_MONOTONIC time tx_burst() returned
 * for the burst it was in, minus send_at_ns (never negative: nothing goes
 * out before its time). A log-linear histogram: values below 32 ns are
 * exact, above that each power of two is cut in 16 buckets (6 % wide), up
 * to 2^35 ns; larger values land in the last bucket. Sent once, before END.
 */
#define PR_TX_HIST_BUCKETS 512u

static inline uint32_t pr_tx_hist_bucket(uint64_t v)
{
	uint32_t msb, b;

	if (v < 32)
		return (uint32_t)v;
	msb = 63u - (uint32_t)__builtin_clzll(v);
	b = 32u + (msb - 5u) * 16u + (uint32_t)((v >> (msb - 4u)) & 15u);
	return b < PR_TX_HIST_BUCKETS ? b : PR_TX_HIST_BUCKETS - 1;
}

/* The largest value that falls in bucket b (a percentile reports this bound). */
static inline uint64_t pr_tx_hist_upper(uint32_t b)
{
	uint32_t msb, sub;

	if (b < 32)
		return b;
	msb = (b - 32u) / 16u + 5u;
	sub = (b - 32u) % 16u;
	return (((uint64_t)(16u + sub + 1u)) << (msb - 4u)) - 1u;
}

struct pr_rec_tx_timing {
	struct pr_rec_hdr hdr;
	uint64_t timed; /* packets counted below (paced ones that were sent) */
	uint64_t max_ns;
	uint64_t sum_ns;
	uint64_t first_ns; /* hand-off time of the first packet sent (any), 0 if none */
	uint64_t last_ns; /* ... and of the last */
	uint32_t hist[PR_TX_HIST_BUCKETS];
};

/*
 * L7 metadata of one flow: one transaction of a parser (a TLS hello, a DNS
 * message, an HTTP request, ...), or with kind "app" the flow's
 * application alone, sent just before the flow's FLOW record. Keyed by
 * flow id; pr_rec_flow stays as it is. The record names its protocol and
 * kind in text, so the control plane needs no dataplane enum. data holds
 * n_fields entries of struct pr_meta_field, each followed by its key and
 * value bytes (no NUL); the field names are those of the flow JSON.
 */
#define PR_META_NAME_MAX 16
#define PR_META_MAX_DATA 12288u /* fields that do not fit are left out, counted */

struct pr_rec_meta {
	struct pr_rec_hdr hdr;
	uint64_t flow_id;
	uint64_t ts_ns; /* capture time of the packet that finished the transaction */
	char app[PR_META_NAME_MAX]; /* "tls", "dns", ...; NUL-terminated */
	char kind[PR_META_NAME_MAX * 2]; /* "client_hello", "request", "app", ... */
	uint8_t dir; /* 0: client to server, 1: server to client */
	uint8_t reserved;
	uint16_t n_fields;
	uint32_t data_len; /* bytes of data[] */
	uint8_t data[];
};

/* pr_meta_field.type */
enum pr_meta_type {
	PR_META_STR = 1, /* text */
	PR_META_INT = 2, /* decimal text of a signed 64-bit integer */
	PR_META_BOOL = 3, /* "1" or "0" */
	PR_META_LIST = 4, /* text, appended to the list of that name */
};

/*
 * A key "a.b" puts b in the last object of the list a, or starts a new
 * one when that object already has b (DNS answers).
 */
struct pr_meta_field {
	uint8_t type; /* enum pr_meta_type */
	uint8_t key_len;
	uint16_t val_len;
	/* key_len bytes of key, then val_len bytes of value */
};

/* Names used in JSON, the store and the docs. Never NULL. */
static inline const char *pr_tcp_state_name(uint32_t s)
{
	static const char *const n[PR_TCP_STATE_MAX] = {
		"none",	    "syn_sent", "syn_recv", "established",
		"fin_wait", "closed",	"reset",    "midstream",
	};
	return s < PR_TCP_STATE_MAX ? n[s] : "unknown";
}

static inline const char *pr_flow_end_name(uint32_t r)
{
	static const char *const n[PR_FLOW_END_MAX] = {
		"active", "idle", "active_timeout", "fin", "rst", "evicted", "shutdown", "reused",
	};
	return r < PR_FLOW_END_MAX ? n[r] : "unknown";
}

static inline const char *pr_stat_name(uint32_t s)
{
	static const char *const n[] = {
		"rx_packets",	      "rx_bytes",	 "filtered",	     "emitted",
		"drop_ring_full",     "drop_kernel",	 "drop_iface",	     "drop_too_big",
		"truncated",	      "malformed",	 "non_ip",	     "fragments",
		"flows_created",      "flows_ended",	 "flows_evicted",    "flow_records_lost",
		"tx_packets",	      "tx_bytes",	 "tx_errors",	     "received",
		"filtered_early",     "drop_backlog",	 "drop_no_socket",   "drop_xsk_rx",
		"drop_xsk_ring_full", "drop_nic_missed", "drop_nic_nombuf",  "drop_nic_errors",
		"ipfrag_reassembled", "ipfrag_timeouts", "ipfrag_evicted",   "ipfrag_dropped",
		"cycles_rx",	      "cycles_decode",	 "cycles_flow",	     "cycles_l7",
		"cycles_emit",	      "cycles_packets",	 "tcp_held",	     "tcp_retransmits",
		"tcp_overlaps",	      "tcp_gaps",	 "tcp_beyond_depth", "l7_transactions",
		"l7_meta_lost",	      "l7_gaps",	 "l7_malformed",     "l7_oversize",
		"l7_buf_exhausted",   "l7_undetected",
	};
	_Static_assert(sizeof(n) / sizeof(n[0]) == PR_STAT_MAX, "a name for every counter");
	return s < PR_STAT_MAX ? n[s] : "unknown";
}

#endif /* PR_RECORD_H */
