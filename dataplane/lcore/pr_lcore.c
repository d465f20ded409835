// SPDX-License-Identifier: Apache-2.0
/*
 * The polling loop of one dataplane core (see pr_lcore.h). Per burst: one
 * clock read, one indirect call into the backend, the BPF filter, the
 * decoder and the flow table over arrays, records copied into the ring, one
 * publish. Per packet: no allocation, no syscall, no lock, no log. Live
 * sources drop (and count) when the ring is full; offline sources wait for
 * room instead, because a file can always be read later and losing packets
 * of a file would be a bug, not back-pressure.
 */
#define PR_LOG_MODULE "lcore"

#include "pr_lcore.h"

#include <errno.h>
#include <poll.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pr_decode.h"
#include "pr_filter.h"
#include "pr_ipfrag.h"
#include "pr_l7.h"
#include "pr_l7_meta.h"
#include "pr_tcpreasm.h"
#include "pr_linktype.h"
#include "pr_log.h"
#include "pr_shm.h"

#define MAX_IFACES 256
#define EXPIRE_SCAN 64
/*
 * Between bursts the flow table's expiry runs at most once per
 * EXPIRE_EVERY_NS of the capture clock, looking at EXPIRE_BUSY_SCAN
 * entries: its sweep touches two cache lines per entry, and once per
 * burst it cost a quarter of a worker's time at 20 Mpps. 256 entries a
 * millisecond still sweep a 256 k-flow table every second.
 */
#define EXPIRE_EVERY_NS 1000000ull
#define EXPIRE_BUSY_SCAN 256

struct lcore_iface {
	uint32_t linktype;
};

struct pr_lcore {
	struct pr_lcore_cfg cfg;
	const struct pr_rx_ops *ops;
	struct pr_rx *rx;
	struct pr_ring_prod prod;
	struct pr_flow_table *flows;
	struct pr_filter *filter; /* NULL: no capture filter */
	/*
	 * L7: the core's parser context and, beside the flow table and
	 * indexed like its entries, each flow's parser state and the flow
	 * id that state was started for (0: none). A flow id that differs
	 * from the packet's means the entry holds a new flow.
	 */
	struct pr_l7_ctx *l7;
	struct pr_l7_state *l7_state;
	uint64_t *l7_flow;
	size_t l7_state_len;
	size_t l7_flow_len;
	uint64_t l7_meta_lost; /* META records the ring had no room for */
	uint32_t l7_fields_cut; /* fields left out of META records for want of room */
	struct pr_rec_meta *meta; /* one record being built */
	/*
	 * TCP reassembly before the parsers (NULL: off, the parsers order
	 * each direction themselves and stop at a hole), and each flow's
	 * reassembly state, beside the flow table like l7_state.
	 */
	struct pr_tcpreasm *tcpreasm;
	struct pr_tcpreasm_state *tcp_state;
	size_t tcp_state_len;
	/*
	 * IP fragments rebuilt into datagrams for the parsers (NULL: off),
	 * and the last rebuilt datagram decoded.
	 */
	struct pr_ipfrag *ipfrag;
	struct pr_decoded fdec;
	bool offline;
	uint32_t n_ifaces;
	struct lcore_iface ifaces[MAX_IFACES];
	uint64_t counters[PR_STAT_MAX];
	uint64_t last_stats_ns;
	uint64_t last_expire_ns; /* capture clock of the last expiry between bursts */
	uint64_t last_pkt_ts;
	atomic_bool *stop;
	_Atomic uint64_t *budget; /* cfg.budget, or own_budget for max_packets, or NULL */
	_Atomic uint64_t own_budget;
	bool consumer_gone; /* waiting for it got stuck once: do not wait again */
	/*
	 * A consumer was there at the last STATS: a full ring then means the
	 * store did not keep up (drop_backlog), not that nobody stored
	 * (drop_ring_full). Refreshed once per stats interval, never per packet.
	 */
	bool consumer_there;
	uint64_t backend_lost; /* the backend's drops, as of its last stats */
	uint32_t end_reason;
	int end_error;
	char end_msg[256];
	/* burst arrays */
	struct pr_rx_pkt pkts[PR_BURST];
	struct pr_decoded dec[PR_BURST];
	uint32_t wire_len[PR_BURST];
	uint64_t ts[PR_BURST];
	uint16_t iface[PR_BURST];
	uint64_t flow_id[PR_BURST];
	uint32_t entry[PR_BURST];
	uint8_t dir[PR_BURST];
	uint16_t keep_idx[PR_BURST];
	uint8_t verdict[PR_BURST];
} PR_CACHE_ALIGNED;

/* What the first pass over a burst decided for each packet. */
enum verdict {
	V_BEFORE_START, /* arrived before the capture started: not counted at all */
	V_TOO_BIG,
	V_FILTERED,
	V_KEEP,
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Slots at the end of the ring that only the final STATS and END records
 * may use: however full the ring got while nobody consumed it (a control
 * plane that died, a store that stalled), the next consumer learns how
 * the capture ended and what it lost. 24 slots hold both (7 + 5) and
 * the padding of either when it meets the end of the ring.
 */
#define KEEP_FINAL 24u

/*
 * Is someone consuming the ring? The region names its consumer (the
 * control plane that attached last); a consumer that is gone will never
 * make room. Slow path only (a full ring): one kill(pid, 0).
 */
static bool consumer_alive(struct pr_lcore *lc)
{
	return !lc->consumer_gone && lc->cfg.consumer_pid &&
	       pr_shm_pid_alive(atomic_load_explicit(lc->cfg.consumer_pid, memory_order_relaxed));
}

/* Is a consumer attached now (whether or not waiting for it ever got stuck)? */
static bool consumer_present(const struct pr_lcore *lc)
{
	return lc->cfg.consumer_pid &&
	       pr_shm_pid_alive(atomic_load_explicit(lc->cfg.consumer_pid, memory_order_relaxed));
}

/*
 * Reserve ring room. Offline sources wait (publishing what is pending so
 * the consumer can make progress) until there is room or a stop request:
 * a file can always be read later, and a consumer that died (die-with-
 * parent) stops us, while a detached dataplane waits for the next one.
 * Live ones give up at once.
 */
static void *ring_reserve(struct pr_lcore *lc, uint32_t len)
{
	void *rec = pr_ring_prod_reserve_keep(&lc->prod, len, KEEP_FINAL);
	struct timespec pause = { 0, 200000 };

	while (!rec && lc->offline && len <= PR_RING_SLOT_SIZE * (lc->prod.slot_count / 2)) {
		pr_ring_prod_publish(&lc->prod);
		if (atomic_load_explicit(lc->stop, memory_order_relaxed))
			return NULL;
		nanosleep(&pause, NULL);
		rec = pr_ring_prod_reserve_keep(&lc->prod, len, KEEP_FINAL);
	}
	return rec;
}

/*
 * Control records (interfaces, flows at the end, final counters, end)
 * must not be lost: wait for room while a consumer lives, up to 5 s per
 * record. keep: slots to leave (KEEP_FINAL for all but the last two).
 */
static void *ring_reserve_ctl(struct pr_lcore *lc, uint32_t len, uint32_t keep)
{
	void *rec = pr_ring_prod_reserve_keep(&lc->prod, len, keep);
	struct timespec pause = { 0, 1000000 };
	int tries = 0;

	while (!rec && consumer_alive(lc)) {
		if (tries++ >= 5000) {
			lc->consumer_gone = true; /* stuck: treat as gone, do not wait again */
			break;
		}
		pr_ring_prod_publish(&lc->prod);
		nanosleep(&pause, NULL);
		rec = pr_ring_prod_reserve_keep(&lc->prod, len, keep);
	}
	return rec;
}

/* Copy the META record in lc->meta into the ring (final: wait like other control records). */
static void emit_meta(struct pr_lcore *lc, bool final)
{
	uint32_t len = lc->meta->hdr.len;
	void *slot;

	if (final)
		slot = ring_reserve_ctl(lc, len, KEEP_FINAL);
	else if (lc->offline)
		slot = ring_reserve(lc, len);
	else
		slot = pr_ring_prod_reserve_keep(&lc->prod, len, KEEP_FINAL);

	if (unlikely(!slot)) {
		lc->l7_meta_lost++;
		return;
	}
	memcpy(slot, lc->meta, len);
	pr_ring_prod_commit(&lc->prod);
}

/* A parser finished a transaction: it goes out as one META record. */
static void emit_txn(void *arg, const struct pr_l7_txn *txn)
{
	struct pr_lcore *lc = arg;

	pr_l7_meta_encode(txn, lc->meta, (uint32_t)sizeof(*lc->meta) + PR_META_MAX_DATA,
			  &lc->l7_fields_cut);
	emit_meta(lc, false);
}

/* A flow taken out of a tunnel: its outer side goes out once, as a META record. */
static void emit_tunnel(struct pr_lcore *lc, uint16_t i, const struct pr_decoded *d)
{
	struct pr_l7_tunnel t = {
		.type = pr_tun_name(d->tun_type),
		.id = d->tun_id,
		.has_id = d->tun_id || (d->tun_type >= PR_TUN_VXLAN && d->tun_type <= PR_TUN_GTPU),
		.depth = d->tun_count,
		.ip_version = d->outer_ip_version,
		.src_ip = d->outer_src_ip,
		.dst_ip = d->outer_dst_ip,
		.sport = d->outer_sport,
		.dport = d->outer_dport,
	};

	if (!t.type)
		return;
	pr_l7_meta_tunnel(lc->flow_id[i], lc->ts[i], &t, lc->meta,
			  (uint32_t)sizeof(*lc->meta) + PR_META_MAX_DATA);
	emit_meta(lc, false);
}

/* The flow and time of the TCP segment being reassembled. */
struct tcp_deliver_arg {
	struct pr_lcore *lc;
	struct pr_l7_state *st;
	uint64_t flow_id;
	uint64_t ts_ns;
};

/* In-order bytes from dataplane/reasm go to the parsers with their sequence number. */
static void tcp_deliver(void *arg, uint8_t dir, uint32_t seq, uint8_t flags, const uint8_t *data,
			uint32_t len)
{
	struct tcp_deliver_arg *da = arg;
	struct pr_l7_pkt pk = {
		.data = data,
		.len = len,
		.seq = seq,
		.ts_ns = da->ts_ns,
		.flow_id = da->flow_id,
		.dir = dir,
		.tcp_flags = (flags & PR_TCPREASM_SYN) ? 0x02 : 0,
		.has_seq = 1,
	};

	if (!pr_l7_flow_done(da->st))
		pr_l7_process(da->lc->l7, da->st, &pk, emit_txn, da->lc);
}

/*
 * The flow of rec ends: its application goes out just before its FLOW
 * record, and its parser state gives back what it holds.
 */
static void l7_flow_finish(struct pr_lcore *lc, const struct pr_rec_flow *rec, bool final)
{
	uint32_t idx;
	uint8_t app;

	if (!lc->l7)
		return;
	idx = pr_flow_emit_entry(lc->flows);
	if (lc->l7_flow[idx] != rec->flow_id)
		return;
	if (lc->tcpreasm && rec->ip_proto == PR_L7_PROTO_TCP) {
		/* What waited for a hole that never filled goes to the parsers, past the hole. */
		struct tcp_deliver_arg da = { lc, &lc->l7_state[idx], rec->flow_id,
					      rec->last_ts_ns };

		pr_tcpreasm_flow_end(lc->tcpreasm, &lc->tcp_state[idx],
				     pr_l7_flow_done(da.st) ? NULL : tcp_deliver, &da);
	}
	app = pr_l7_flow_app(&lc->l7_state[idx]);
	if (app != PR_L7_APP_NONE && app != PR_L7_APP_UNKNOWN) {
		pr_l7_meta_app(rec->flow_id, rec->last_ts_ns, app, lc->meta);
		emit_meta(lc, final);
	}
	pr_l7_flow_end(lc->l7, &lc->l7_state[idx]);
	lc->l7_flow[idx] = 0;
}

static void emit_flow(void *ctx, const struct pr_rec_flow *rec)
{
	struct pr_lcore *lc = ctx;
	void *slot;

	l7_flow_finish(lc, rec, false);
	slot = lc->offline ? ring_reserve(lc, sizeof(*rec)) :
			     pr_ring_prod_reserve_keep(&lc->prod, sizeof(*rec), KEEP_FINAL);
	lc->counters[PR_STAT_FLOWS_ENDED]++;
	if (rec->end_reason == PR_FLOW_END_EVICTED)
		lc->counters[PR_STAT_FLOWS_EVICTED]++;
	if (unlikely(!slot)) {
		lc->counters[PR_STAT_FLOW_RECORDS_LOST]++;
		return;
	}
	memcpy(slot, rec, sizeof(*rec));
	((struct pr_rec_hdr *)slot)->type = PR_REC_FLOW;
	((struct pr_rec_hdr *)slot)->len = sizeof(*rec);
	pr_ring_prod_commit(&lc->prod);
}

static void emit_flow_final(void *ctx, const struct pr_rec_flow *rec)
{
	struct pr_lcore *lc = ctx;
	void *slot;

	l7_flow_finish(lc, rec, true);
	slot = ring_reserve_ctl(lc, sizeof(*rec), KEEP_FINAL);

	lc->counters[PR_STAT_FLOWS_ENDED]++;
	if (!slot) {
		lc->counters[PR_STAT_FLOW_RECORDS_LOST]++;
		return;
	}
	memcpy(slot, rec, sizeof(*rec));
	((struct pr_rec_hdr *)slot)->type = PR_REC_FLOW;
	((struct pr_rec_hdr *)slot)->len = sizeof(*rec);
	pr_ring_prod_commit(&lc->prod);
}

static void emit_stats(struct pr_lcore *lc, bool final)
{
	struct pr_rec_stats *st;
	struct pr_rx_stats rs;

	if (lc->ops->stats && lc->ops->stats(lc->rx, &rs) == 0) {
		uint64_t *c = lc->counters;
		uint64_t xdp = rs.no_socket + rs.xsk_rx_dropped + rs.xsk_rx_ring_full;
		uint64_t nic = rs.nic_missed + rs.nic_nombuf + rs.nic_errors;

		/*
		 * The backend's losses by reason; kernel_drops and iface_drops
		 * of afxdp and dpdk are the sums of theirs, so what is left of
		 * them is pcap's own (ps_drop, ps_ifdrop). No packet in two.
		 */
		c[PR_STAT_DROP_NO_SOCKET] = rs.no_socket;
		c[PR_STAT_DROP_XSK_RX] = rs.xsk_rx_dropped;
		c[PR_STAT_DROP_XSK_RING_FULL] = rs.xsk_rx_ring_full;
		c[PR_STAT_DROP_KERNEL] = rs.kernel_drops > xdp ? rs.kernel_drops - xdp : 0;
		c[PR_STAT_DROP_NIC_MISSED] = rs.nic_missed;
		c[PR_STAT_DROP_NIC_NOMBUF] = rs.nic_nombuf;
		c[PR_STAT_DROP_NIC_ERRORS] = rs.nic_errors;
		c[PR_STAT_DROP_IFACE] = rs.iface_drops > nic ? rs.iface_drops - nic : 0;
		c[PR_STAT_FILTERED_EARLY] = rs.rule_proto + rs.rule_port + rs.rule_prefix;
		lc->backend_lost = c[PR_STAT_DROP_KERNEL] + c[PR_STAT_DROP_IFACE] + xdp + nic;
	}
	if (lc->ipfrag) {
		struct pr_ipfrag_stats fs;

		pr_ipfrag_stats(lc->ipfrag, &fs);
		lc->counters[PR_STAT_IPFRAG_REASSEMBLED] = fs.reassembled;
		lc->counters[PR_STAT_IPFRAG_TIMEOUTS] = fs.timeouts;
		lc->counters[PR_STAT_IPFRAG_EVICTED] = fs.evicted;
		lc->counters[PR_STAT_IPFRAG_DROPPED] = fs.dropped;
	}
	if (lc->tcpreasm) {
		struct pr_tcpreasm_stats ts;

		pr_tcpreasm_stats(lc->tcpreasm, &ts);
		lc->counters[PR_STAT_TCP_HELD] = ts.held_segments;
		lc->counters[PR_STAT_TCP_RETRANSMITS] = ts.retransmits;
		lc->counters[PR_STAT_TCP_OVERLAPS] = ts.overlaps;
		lc->counters[PR_STAT_TCP_GAPS] = ts.gaps;
		lc->counters[PR_STAT_TCP_BEYOND_DEPTH] = ts.beyond_depth;
	}
	if (lc->l7) {
		struct pr_l7_stats ls;

		pr_l7_ctx_stats(lc->l7, &ls);
		lc->counters[PR_STAT_L7_TRANSACTIONS] = ls.txns;
		lc->counters[PR_STAT_L7_META_LOST] = lc->l7_meta_lost;
		lc->counters[PR_STAT_L7_GAPS] = ls.gaps;
		lc->counters[PR_STAT_L7_MALFORMED] = ls.malformed;
		lc->counters[PR_STAT_L7_OVERSIZE] = ls.oversize;
		lc->counters[PR_STAT_L7_BUF_EXHAUSTED] = ls.buf_exhausted;
		lc->counters[PR_STAT_L7_UNDETECTED] = ls.undetected;
	}
	/* Delivered, or rejected or lost before delivery: everything that arrived. */
	lc->counters[PR_STAT_RECEIVED] = lc->counters[PR_STAT_RX_PACKETS] +
					 lc->counters[PR_STAT_FILTERED_EARLY] + lc->backend_lost;
	/* Once per interval: is a consumer there to blame a full ring on the store? */
	lc->consumer_there = consumer_present(lc);
	st = final ? ring_reserve_ctl(lc, sizeof(*st), 0) :
		     pr_ring_prod_reserve_keep(&lc->prod, sizeof(*st), KEEP_FINAL);
	if (!st)
		return; /* counters are cumulative: the next one carries the news */
	st->hdr.type = PR_REC_STATS;
	st->hdr.flags = 0;
	st->hdr.len = sizeof(*st);
	st->core = lc->cfg.core_id;
	st->reserved = 0;
	memcpy(st->counters, lc->counters, sizeof(lc->counters));
	pr_ring_prod_commit(&lc->prod);
}

static int announce_ifaces(struct pr_lcore *lc)
{
	uint32_t n = lc->ops->iface_count(lc->rx);

	while (lc->n_ifaces < n) {
		struct lcore_iface *li = &lc->ifaces[lc->n_ifaces];
		struct pr_rx_iface info;
		struct pr_rec_iface *rec;

		if (lc->n_ifaces >= MAX_IFACES) {
			snprintf(lc->end_msg, sizeof(lc->end_msg),
				 "more than %d interfaces in one capture", MAX_IFACES);
			return -E2BIG;
		}
		if (lc->ops->iface_get(lc->rx, lc->n_ifaces, &info))
			return -EIO;
		li->linktype = info.linktype;
		if (lc->filter) {
			/* "Rejects all" (arp on raw IP) is a verdict, not an error: all filtered. */
			int ret = pr_filter_add_iface(lc->filter, lc->n_ifaces, info.linktype,
						      info.snaplen, lc->end_msg,
						      sizeof(lc->end_msg));

			if (ret < 0)
				return ret;
		}
		rec = ring_reserve_ctl(lc, sizeof(*rec), KEEP_FINAL);
		if (!rec)
			return -ENOBUFS;
		memset(rec, 0, sizeof(*rec));
		rec->hdr.type = PR_REC_IFACE;
		rec->hdr.len = sizeof(*rec);
		rec->iface = (uint16_t)lc->n_ifaces;
		rec->tsresol = info.tsresol;
		rec->linktype = info.linktype;
		rec->snaplen = info.snaplen;
		memcpy(rec->name, info.name, sizeof(rec->name));
		memcpy(rec->description, info.description, sizeof(rec->description));
		rec->name[sizeof(rec->name) - 1] = 0;
		rec->description[sizeof(rec->description) - 1] = 0;
		pr_ring_prod_commit(&lc->prod);
		lc->n_ifaces++;
	}
	return 0;
}

static void l7_destroy(struct pr_lcore *lc)
{
	pr_ipfrag_destroy(lc->ipfrag);
	lc->ipfrag = NULL;
	pr_tcpreasm_destroy(lc->tcpreasm);
	lc->tcpreasm = NULL;
	if (lc->tcp_state)
		munmap(lc->tcp_state, lc->tcp_state_len);
	lc->tcp_state = NULL;
	pr_l7_ctx_destroy(lc->l7);
	lc->l7 = NULL;
	if (lc->l7_state)
		munmap(lc->l7_state, lc->l7_state_len);
	if (lc->l7_flow)
		munmap(lc->l7_flow, lc->l7_flow_len);
	lc->l7_state = NULL;
	lc->l7_flow = NULL;
	free(lc->meta);
	lc->meta = NULL;
}

/*
 * The side arrays are mapped, not allocated: the kernel hands out zeroed
 * pages as flows first touch them, so a table sized for 256 k flows costs
 * memory only for the entries traffic uses.
 */
static int l7_create(struct pr_lcore *lc)
{
	struct pr_l7_cfg l7cfg = { 0 };
	uint32_t n = lc->cfg.flow.max_flows;
	int ret;

	if (!n)
		return -EINVAL;
	lc->l7_state_len = (size_t)n * sizeof(*lc->l7_state);
	lc->l7_flow_len = (size_t)n * sizeof(*lc->l7_flow);
	lc->l7_state = mmap(NULL, lc->l7_state_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (lc->l7_state == MAP_FAILED) {
		lc->l7_state = NULL;
		return -ENOMEM;
	}
	lc->l7_flow = mmap(NULL, lc->l7_flow_len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (lc->l7_flow == MAP_FAILED) {
		lc->l7_flow = NULL;
		return -ENOMEM;
	}
	lc->meta = malloc(sizeof(*lc->meta) + PR_META_MAX_DATA);
	if (!lc->meta)
		return -ENOMEM;
	/* One window for every parser when l7_depth_bytes says so; flow exports stay whole. */
	if (lc->cfg.l7_depth_bytes)
		for (int a = 1; a < PR_L7_APP_COUNT; a++)
			if (a != PR_L7_APP_NETFLOW && a != PR_L7_APP_SFLOW)
				l7cfg.depth_bytes[a] = lc->cfg.l7_depth_bytes;
	l7cfg.buf_bytes = lc->cfg.l7_buf_bytes;
	l7cfg.buf_count = lc->cfg.l7_buf_count;
	ret = pr_l7_ctx_create(&l7cfg, -1, &lc->l7);
	if (ret)
		return ret;
	if (lc->cfg.tcp_reasm_held_bytes) {
		struct pr_tcpreasm_cfg tc = {
			.depth_bytes = lc->cfg.l7_depth_bytes,
			.max_held_bytes = lc->cfg.tcp_reasm_held_bytes,
			.chunk_count = lc->cfg.tcp_reasm_chunks,
		};

		lc->tcp_state_len = (size_t)n * sizeof(*lc->tcp_state);
		lc->tcp_state = mmap(NULL, lc->tcp_state_len, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (lc->tcp_state == MAP_FAILED) {
			lc->tcp_state = NULL;
			return -ENOMEM;
		}
		ret = pr_tcpreasm_create(&tc, &lc->tcpreasm);
		if (ret)
			return ret;
	}
	if (!lc->cfg.ipfrag_max_datagrams)
		return 0;
	{
		struct pr_ipfrag_cfg fc = {
			.max_datagrams = lc->cfg.ipfrag_max_datagrams,
			.timeout_ns = lc->cfg.ipfrag_timeout_ns,
		};

		ret = pr_ipfrag_create(&fc, &lc->ipfrag);
	}
	return ret;
}

int pr_lcore_create(const struct pr_lcore_cfg *cfg, const struct pr_rx_ops *ops, struct pr_rx *rx,
		    struct pr_ring_header *ring, struct pr_lcore **out, char *err, size_t errlen)
{
	struct pr_lcore *lc;
	int ret;

	*out = NULL;
	if (posix_memalign((void **)&lc, PR_CACHE_LINE, sizeof(*lc))) {
		snprintf(err, errlen, "core %u: %s", cfg->core_id, strerror(ENOMEM));
		return -ENOMEM;
	}
	memset(lc, 0, sizeof(*lc));
	lc->cfg = *cfg;
	lc->cfg.flow.core_id = cfg->core_id;
	if (cfg->budget) {
		lc->budget = cfg->budget;
	} else if (cfg->max_packets) {
		atomic_init(&lc->own_budget, cfg->max_packets);
		lc->budget = &lc->own_budget;
	}
	lc->ops = ops;
	lc->rx = rx;
	lc->offline = ops->is_offline && ops->is_offline(rx);
	ret = pr_ring_prod_init(&lc->prod, ring, PR_RING_ROLE_RX);
	if (ret) {
		snprintf(err, errlen, "core %u: ring header check failed", cfg->core_id);
		goto err_free;
	}
	if (cfg->filter && cfg->filter[0]) {
		char why[1536];

		ret = pr_filter_create(cfg->filter, &lc->filter, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "core %u: %s", cfg->core_id, why);
			goto err_free;
		}
	}
	ret = pr_flow_table_create(&lc->cfg.flow, -1, &lc->flows);
	if (ret) {
		snprintf(err, errlen, "core %u: flow table (%u flows): %s", cfg->core_id,
			 cfg->flow.max_flows, strerror(-ret));
		goto err_free;
	}
	ret = l7_create(lc);
	if (ret) {
		snprintf(err, errlen, "core %u: l7 state (%u flows): %s", cfg->core_id,
			 cfg->flow.max_flows, strerror(-ret));
		goto err_free;
	}
	*out = lc;
	return 0;
err_free:
	l7_destroy(lc);
	pr_flow_table_destroy(lc->flows);
	pr_filter_destroy(lc->filter);
	free(lc);
	return ret;
}

void pr_lcore_destroy(struct pr_lcore *lc)
{
	if (!lc)
		return;
	pr_filter_destroy(lc->filter);
	pr_flow_table_destroy(lc->flows);
	l7_destroy(lc);
	free(lc);
}

/* Emit one packet record; false when it was dropped (live, ring full). */
static inline bool emit_packet(struct pr_lcore *lc, const struct pr_rx_pkt *p, uint64_t ts,
			       uint64_t flow_id, uint16_t pflags)
{
	uint32_t len = (uint32_t)sizeof(struct pr_rec_packet) + p->cap_len;
	struct pr_rec_packet *rec = lc->offline ?
					    ring_reserve(lc, len) :
					    pr_ring_prod_reserve_keep(&lc->prod, len, KEEP_FINAL);

	if (unlikely(!rec)) {
		lc->counters[lc->consumer_there ? PR_STAT_DROP_BACKLOG : PR_STAT_DROP_RING_FULL]++;
		return false;
	}
	rec->hdr.type = PR_REC_PACKET;
	rec->hdr.flags = 0;
	rec->hdr.len = len;
	rec->ts_ns = ts;
	rec->flow_id = flow_id;
	rec->wire_len = p->wire_len;
	rec->cap_len = p->cap_len;
	rec->iface = p->iface;
	rec->queue = lc->cfg.core_id;
	rec->pflags = pflags;
	rec->reserved = 0;
	memcpy(rec->data, p->data, p->cap_len);
	pr_ring_prod_commit(&lc->prod);
	lc->counters[PR_STAT_EMITTED]++;
	return true;
}

/*
 * A TCP segment without payload: it matters to reassembly only when the
 * other direction holds bytes after a hole and this acknowledges past
 * them (the receiver had the missing bytes; the capture lost them).
 */
static void tcp_ack_only(struct pr_lcore *lc, uint16_t i, const struct pr_decoded *d)
{
	uint32_t idx = lc->entry[i];
	struct pr_tcpreasm_state *ts = &lc->tcp_state[idx];
	struct tcp_deliver_arg da = { lc, &lc->l7_state[idx], lc->flow_id[i], lc->ts[i] };
	struct pr_tcpreasm_seg seg = {
		.seq = d->tcp_seq,
		.ack = d->tcp_ack,
		.dir = lc->dir[i],
		.tcp_flags = d->tcp_flags,
	};

	/* Most acknowledgements meet a pool with nothing held: no flow state is touched. */
	if (!pr_tcpreasm_chunks_in_use(lc->tcpreasm) || lc->l7_flow[idx] != lc->flow_id[i] ||
	    !pr_tcpreasm_held(ts, !lc->dir[i]) || pr_l7_flow_done(da.st))
		return;
	pr_tcpreasm_segment(lc->tcpreasm, ts, &seg, tcp_deliver, &da);
}

/*
 * One packet (or rebuilt datagram) of flow slot i to the L7 parsers: d
 * decodes frame; tun is the decode whose tunnel, if any, the flow was
 * taken out of (d, or the last fragment's for a rebuilt datagram). A flow
 * whose parsers are done costs one test. TCP goes
 * through dataplane/reasm first (tcp_reasm_held_bytes): segments that
 * came early wait for the hole before them, retransmitted and overlapping
 * bytes are trimmed, and the parsers get the stream in order, with the
 * jump of a hole given up. With reassembly off, TCP goes with its
 * sequence numbers: the parsers drop retransmissions themselves and stop
 * a direction at a gap.
 */
static void l7_one(struct pr_lcore *lc, uint16_t i, const struct pr_decoded *d,
		   const uint8_t *frame, const struct pr_decoded *tun)
{
	struct pr_l7_state *st;
	struct pr_l7_pkt pk;
	uint32_t idx;

	if (d->flags & PR_DEC_FRAGMENT)
		return;
	/* OSPF and EIGRP have no ports: they are read from their own header on. */
	if (!(d->flags & PR_DEC_L4) &&
	    (!(d->flags & (PR_DEC_IPV4 | PR_DEC_IPV6)) ||
	     (d->ip_proto != PR_L7_PROTO_OSPF && d->ip_proto != PR_L7_PROTO_EIGRP)))
		return;
	switch (d->ip_proto) {
	case PR_L7_PROTO_TCP:
		/* The SYN carries the ISN the parsers order the bytes by. */
		if (!d->payload_len && !(d->tcp_flags & 0x02)) {
			if (lc->tcpreasm && (d->tcp_flags & 0x10))
				tcp_ack_only(lc, i, d);
			return;
		}
		pk.data = frame + d->payload_off;
		pk.len = d->payload_len;
		break;
	case PR_L7_PROTO_UDP:
		if (!d->payload_len)
			return;
		pk.data = frame + d->payload_off;
		pk.len = d->payload_len;
		break;
	case PR_L7_PROTO_OSPF:
	case PR_L7_PROTO_EIGRP:
		if (!d->payload_len)
			return;
		pk.data = frame + d->payload_off;
		pk.len = d->payload_len;
		break;
	case PR_L7_PROTO_ICMP:
	case PR_L7_PROTO_ICMPV6:
	case PR_L7_PROTO_SCTP:
		/* These parsers read the protocol's own header too. */
		pk.data = frame + d->l4_off;
		pk.len = d->payload_off + d->payload_len - d->l4_off;
		break;
	default:
		return;
	}
	idx = lc->entry[i];
	st = &lc->l7_state[idx];
	if (lc->l7_flow[idx] != lc->flow_id[i]) {
		bool c2s = lc->dir[i] == 0;
		bool ports = d->ip_proto == PR_L7_PROTO_TCP || d->ip_proto == PR_L7_PROTO_UDP;

		if (lc->tcpreasm && d->ip_proto == PR_L7_PROTO_TCP) {
			/* A flow that left this entry without its end gives its chunks back. */
			if (lc->l7_flow[idx])
				pr_tcpreasm_flow_end(lc->tcpreasm, &lc->tcp_state[idx], NULL, NULL);
			pr_tcpreasm_flow_init(&lc->tcp_state[idx]);
		}
		pr_l7_flow_init(st, d->ip_proto, ports ? (c2s ? d->sport : d->dport) : 0,
				ports ? (c2s ? d->dport : d->sport) : 0);
		lc->l7_flow[idx] = lc->flow_id[i];
		if (tun->flags & PR_DEC_TUNNEL)
			emit_tunnel(lc, i, tun);
	}
	if (pr_l7_flow_done(st))
		return;
	if (lc->tcpreasm && d->ip_proto == PR_L7_PROTO_TCP) {
		struct tcp_deliver_arg da = { lc, st, lc->flow_id[i], lc->ts[i] };
		struct pr_tcpreasm_seg seg = {
			.data = pk.data,
			.len = pk.len,
			.seq = d->tcp_seq,
			.ack = d->tcp_ack,
			.dir = lc->dir[i],
			.tcp_flags = d->tcp_flags,
		};

		pr_tcpreasm_segment(lc->tcpreasm, &lc->tcp_state[idx], &seg, tcp_deliver, &da);
		/* Parsers done with the flow: what it still holds is of no use. */
		if (pr_l7_flow_done(st))
			pr_tcpreasm_flow_end(lc->tcpreasm, &lc->tcp_state[idx], NULL, NULL);
		return;
	}
	pk.seq = d->tcp_seq;
	pk.ts_ns = lc->ts[i];
	pk.flow_id = lc->flow_id[i];
	pk.dir = lc->dir[i];
	pk.tcp_flags = d->tcp_flags;
	pk.has_seq = d->ip_proto == PR_L7_PROTO_TCP;
	pk.reserved = 0;
	pr_l7_process(lc->l7, st, &pk, emit_txn, lc);
}

/*
 * Hand the burst's payloads to the L7 parsers, in packet order (a flow's
 * bytes must arrive in order). An IP fragment goes to the reassembly
 * table instead; the fragment that completes a datagram hands the parsers
 * the whole datagram, decoded again as raw IP, on that fragment's flow
 * (the flow table put every fragment of a datagram on the flow of its
 * first fragment, when that came first; a datagram whose later fragments
 * came first is parsed on the flow of the one that completed it).
 */
static void l7_burst(struct pr_lcore *lc, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct pr_decoded *d = &lc->dec[i];
		const struct pr_rx_pkt *p = &lc->pkts[lc->keep_idx[i]];

		if ((d->flags & PR_DEC_FRAGMENT) && lc->ipfrag && d->l3_off < p->cap_len) {
			const uint8_t *dg;
			uint32_t dg_len;

			/* Every fragment counts toward its datagram, with a flow or without. */
			if (pr_ipfrag_add(lc->ipfrag, p->data + d->l3_off, p->cap_len - d->l3_off,
					  lc->ts[i], &dg, &dg_len) != PR_IPFRAG_DONE ||
			    !lc->flow_id[i])
				continue;
			pr_decode_outer(PR_LINKTYPE_RAW, dg, dg_len, &lc->fdec);
			/* A datagram rebuilt inside a tunnel: its fragment's decode has the tunnel. */
			l7_one(lc, i, &lc->fdec, dg, d);
			continue;
		}
		if (lc->flow_id[i])
			l7_one(lc, i, d, p->data, d);
	}
}

/* The flow table's expiry between bursts, at most once per EXPIRE_EVERY_NS (a clock that
 * went back runs it at once). */
static void expire_tick(struct pr_lcore *lc, uint64_t now)
{
	if (now >= lc->last_expire_ns && now - lc->last_expire_ns < EXPIRE_EVERY_NS)
		return;
	lc->last_expire_ns = now;
	pr_flow_expire(lc->flows, now, EXPIRE_BUSY_SCAN, emit_flow, lc);
}

/*
 * Take up to want packets from the --count budget. Returns how many were
 * granted: fewer than want when the budget runs out. One atomic operation
 * per burst, and only with --count.
 */
static uint16_t budget_take(_Atomic uint64_t *budget, uint16_t want)
{
	uint64_t cur = atomic_load_explicit(budget, memory_order_relaxed), got;

	do {
		if (!cur)
			return 0;
		got = cur < want ? cur : want;
	} while (!atomic_compare_exchange_weak_explicit(
		budget, &cur, cur - got, memory_order_relaxed, memory_order_relaxed));
	return (uint16_t)got;
}

/*
 * Process one burst. Returns false when the packet limit was reached.
 *
 * Two passes: the first decides each packet's fate (too big, filtered,
 * kept) and decodes the kept ones; then the --count budget grants what it
 * can, and only the packets up to the last granted one are counted. A
 * capture that ends at its count ends right after its last packet:
 * packets after it in the same burst were neither received by the capture
 * nor dropped by it, so received = stored + filtered + drops holds.
 */
static bool process_burst(struct pr_lcore *lc, uint16_t n, uint64_t burst_ts)
{
	uint16_t kept = 0, granted, cut = n, i;
	uint64_t start = lc->cfg.start_ns;
	uint64_t t0 = pr_cycles(), t1;
	bool more = true;

	for (i = 0; i < n; i++) {
		const struct pr_rx_pkt *p = &lc->pkts[i];
		struct lcore_iface *li;

		if (i + 2 < n)
			pr_prefetch0(lc->pkts[i + 2].data);
		/* PR_RX_TS_NONE is the largest value: a packet without a stamp is never early. */
		if (unlikely(p->ts_ns < start)) {
			lc->verdict[i] = V_BEFORE_START;
			continue;
		}
		if (unlikely(p->cap_len > PR_MAX_SNAPLEN)) {
			lc->verdict[i] = V_TOO_BIG;
			continue;
		}
		li = &lc->ifaces[p->iface < lc->n_ifaces ? p->iface : 0];
		if (lc->filter &&
		    !pr_filter_match(lc->filter, p->iface, p->data, p->cap_len, p->wire_len)) {
			lc->verdict[i] = V_FILTERED;
			continue;
		}
		lc->verdict[i] = V_KEEP;
		lc->keep_idx[kept] = i;
		pr_decode(li->linktype, p->data, p->cap_len, &lc->dec[kept]);
		lc->wire_len[kept] = p->wire_len;
		lc->ts[kept] = p->ts_ns != PR_RX_TS_NONE ? p->ts_ns : burst_ts;
		lc->iface[kept] = p->iface;
		kept++;
	}
	granted = kept;
	if (lc->budget && kept) {
		granted = budget_take(lc->budget, kept);
		if (granted < kept) {
			/* Flows describe the stored packets: later ones reach no table either. */
			cut = granted ? (uint16_t)(lc->keep_idx[granted - 1] + 1) : 0;
			more = false;
		}
	}
	for (i = 0; i < cut; i++) {
		if (lc->verdict[i] == V_BEFORE_START)
			continue;
		lc->counters[PR_STAT_RX_PACKETS]++;
		lc->counters[PR_STAT_RX_BYTES] += lc->pkts[i].wire_len;
		if (lc->verdict[i] == V_TOO_BIG)
			lc->counters[PR_STAT_DROP_TOO_BIG]++;
		else if (lc->verdict[i] == V_FILTERED)
			lc->counters[PR_STAT_FILTERED]++;
	}
	t1 = pr_cycles();
	lc->counters[PR_STAT_CYC_DECODE] += t1 - t0;
	if (!granted)
		return more;
	pr_flow_lookup_burst_ex(lc->flows, lc->dec, lc->wire_len, lc->ts, lc->iface, granted,
				lc->flow_id, lc->entry, lc->dir, emit_flow, lc);
	t0 = pr_cycles();
	lc->counters[PR_STAT_CYC_FLOW] += t0 - t1;
	l7_burst(lc, granted);
	t1 = pr_cycles();
	lc->counters[PR_STAT_CYC_L7] += t1 - t0;
	for (i = 0; i < granted; i++) {
		const struct pr_decoded *d = &lc->dec[i];
		uint16_t pflags = 0;

		if (d->flags & PR_DEC_TRUNCATED) {
			pflags |= PR_PKT_F_TRUNCATED;
			lc->counters[PR_STAT_DEC_TRUNCATED]++;
		}
		if (d->flags & PR_DEC_MALFORMED) {
			pflags |= PR_PKT_F_MALFORMED;
			lc->counters[PR_STAT_DEC_MALFORMED]++;
		}
		if (d->flags & PR_DEC_FRAGMENT) {
			pflags |= PR_PKT_F_FRAGMENT;
			lc->counters[PR_STAT_FRAGMENTS]++;
		}
		if (d->flags & PR_DEC_NON_IP)
			lc->counters[PR_STAT_DEC_NON_IP]++;
		/* A packet the ring had no room for did not use up the --count budget. */
		if (!emit_packet(lc, &lc->pkts[lc->keep_idx[i]], lc->ts[i], lc->flow_id[i],
				 pflags) &&
		    lc->budget)
			atomic_fetch_add_explicit(lc->budget, 1, memory_order_relaxed);
		if (lc->ts[i] > lc->last_pkt_ts)
			lc->last_pkt_ts = lc->ts[i];
	}
	lc->counters[PR_STAT_CYC_EMIT] += pr_cycles() - t1;
	if (lc->budget && !atomic_load_explicit(lc->budget, memory_order_relaxed))
		more = false;
	return more;
}

static void finish(struct pr_lcore *lc, uint32_t reason, int error)
{
	struct pr_rec_end *end;
	struct pr_flow_stats fs;

	pr_flow_flush(lc->flows, PR_FLOW_END_SHUTDOWN, emit_flow_final, lc);
	pr_flow_table_stats(lc->flows, &fs);
	lc->counters[PR_STAT_FLOWS_CREATED] = fs.created;
	emit_stats(lc, true);
	end = ring_reserve_ctl(lc, sizeof(*end), 0);
	if (end) {
		memset(end, 0, sizeof(*end));
		end->hdr.type = PR_REC_END;
		end->hdr.len = sizeof(*end);
		end->core = lc->cfg.core_id;
		end->reason = reason;
		end->error = error;
		snprintf(end->message, sizeof(end->message), "%s", lc->end_msg);
		pr_ring_prod_commit(&lc->prod);
	} else {
		PR_ERR("core %u: ring stayed full: end record lost", lc->cfg.core_id);
	}
	pr_ring_prod_publish(&lc->prod);
	lc->end_reason = reason;
	lc->end_error = error;
}

int pr_lcore_run(struct pr_lcore *lc, atomic_bool *stop)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t stats_every =
		(uint64_t)(lc->cfg.stats_interval_ms ? lc->cfg.stats_interval_ms : 100) *
		1000000ull;
	uint32_t reason = PR_END_STOPPED;
	int error = 0, ret;

	lc->stop = stop;
	lc->last_stats_ns = start;
	lc->consumer_there = consumer_present(lc);
	ret = announce_ifaces(lc);
	if (ret) {
		reason = PR_END_ERROR;
		error = ret;
		goto out;
	}
	pr_ring_prod_publish(&lc->prod);
	for (;;) {
		uint64_t mono, c0, c1;
		int n;

		if (atomic_load_explicit(stop, memory_order_relaxed)) {
			reason = PR_END_STOPPED;
			break;
		}
		c0 = pr_cycles();
		n = lc->ops->rx_burst(lc->rx, lc->pkts, PR_BURST);
		c1 = pr_cycles();
		mono = now_ns(CLOCK_MONOTONIC);
		if (unlikely(n < 0)) {
			if (n == PR_RX_EOF) {
				reason = PR_END_EOF;
			} else {
				reason = PR_END_ERROR;
				error = n;
				snprintf(lc->end_msg, sizeof(lc->end_msg), "%s",
					 lc->ops->errmsg(lc->rx));
			}
			break;
		}
		if (n > 0) {
			uint64_t wall;
			bool more;

			/* An offline pcapng may declare interfaces between packets. */
			if (unlikely(lc->ops->iface_count(lc->rx) != lc->n_ifaces)) {
				ret = announce_ifaces(lc);
				if (ret) {
					lc->ops->release_burst(lc->rx, lc->pkts, (uint16_t)n);
					reason = PR_END_ERROR;
					error = ret;
					break;
				}
			}
			lc->counters[PR_STAT_CYC_RX] += c1 - c0;
			lc->counters[PR_STAT_CYC_PACKETS] += (uint64_t)n;
			wall = now_ns(CLOCK_REALTIME);
			more = process_burst(lc, (uint16_t)n, wall);
			c0 = pr_cycles();
			lc->ops->release_burst(lc->rx, lc->pkts, (uint16_t)n);
			c1 = pr_cycles();
			lc->counters[PR_STAT_CYC_RX] += c1 - c0;
			expire_tick(lc, lc->offline ? lc->last_pkt_ts : wall);
			c0 = pr_cycles();
			lc->counters[PR_STAT_CYC_FLOW] += c0 - c1;
			pr_ring_prod_publish(&lc->prod);
			lc->counters[PR_STAT_CYC_EMIT] += pr_cycles() - c0;
			if (!more) {
				/* The count is reached: the other workers end too. */
				atomic_store(stop, true);
				reason = PR_END_COUNT;
				break;
			}
		} else {
			int fd = lc->ops->wait_fd ? lc->ops->wait_fd(lc->rx) : -1;

			/* Offline time is the capture clock: the wall clock would end every flow. */
			pr_flow_expire(lc->flows,
				       lc->offline ? lc->last_pkt_ts : now_ns(CLOCK_REALTIME),
				       EXPIRE_SCAN, emit_flow, lc);
			pr_ring_prod_publish(&lc->prod);
			if (fd >= 0) {
				struct pollfd pfd = { .fd = fd, .events = POLLIN };

				poll(&pfd, 1, 20);
			}
		}
		if (lc->cfg.duration_ns && mono - start >= lc->cfg.duration_ns) {
			reason = PR_END_DURATION;
			break;
		}
		if (mono - lc->last_stats_ns >= stats_every) {
			lc->last_stats_ns = mono;
			/* A scan of every slot: once an interval, not per burst. */
			if (lc->ipfrag)
				pr_ipfrag_expire(lc->ipfrag, lc->offline ? lc->last_pkt_ts :
									   now_ns(CLOCK_REALTIME));
			emit_stats(lc, false);
			pr_ring_prod_publish(&lc->prod);
		}
	}
out:
	finish(lc, reason, error);
	return (int)reason;
}
