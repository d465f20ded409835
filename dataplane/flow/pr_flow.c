// SPDX-License-Identifier: Apache-2.0
/*
 * The per-core flow table. It turns decoded packets into bidirectional flow
 * records: a normalised key (both directions find one entry), per-direction
 * counters, TCP flags and a small TCP state machine, and the reasons a flow
 * ends (idle, active timeout, FIN, RST, tuple reuse, eviction, shutdown).
 * Only the dataplane core that created a table calls it, so nothing here
 * locks. The table owns four arrays, all sized and touched at create time
 * and never grown: the entries (cfg->max_flows, the memcap), an open-
 * addressing index of (hash, entry) pairs, the LRU links of the entries and
 * a four-way set-associative fragment cache that sends later IP fragments
 * to the flow of their first fragment. The LRU list gives O(1) emergency eviction when
 * the table is full and prompt idle expiry from its tail; a clock hand
 * sweeping the entry array catches everything else (closed TCP, active
 * timeouts) with bounded work per call. All times are capture times.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "pr_assert.h"
#include "pr_compiler.h"
#include "pr_flow.h"

#define NIL UINT32_MAX
#define NS_PER_S 1000000000ull

/* Bursts larger than this are worked in chunks so the per-burst arrays stay on the stack. */
#define CHUNK 32

/* Flow ids: core id in the top 16 bits, a per-table sequence below. */
#define SEQ_BITS 48
#define SEQ_MASK ((1ull << SEQ_BITS) - 1)

/* Limits that keep every index and size computation inside 32 bits. */
#define MAX_FLOWS_LIMIT (1u << 30)
#define FRAG_CACHE_DEFAULT 1024u
/*
 * Ways per fragment-cache set. Direct-mapped, two trains in flight whose
 * keys met in one slot sent the later fragments of the first to a flow of
 * their own; with the keyed hash that happened at random, 1 run in ~1000.
 */
#define FRAG_WAYS 4u
#define FRAG_CACHE_LIMIT (1u << 24)
#define HUGE_PAGE (2ul << 20)

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_ICMPV6 58

/*
 * VLAN ids are 12 bits, so the top 4 bits of the key's vlan field say what
 * the ports mean. This keeps an ICMP echo key (identifier twice) apart from
 * a type/code key with the same numbers, and fragment-cache keys apart from
 * flow keys, without making the key longer than 40 bytes.
 */
enum key_kind {
	KIND_PLAIN = 0,
	KIND_ICMP_ECHO = 1,
	KIND_FRAG = 2,
};
#define VLAN_MASK 0x0fffu
#define KIND_SHIFT 12

/* Side 0 holds the smaller (address, port) pair, so both directions build the same key. */
union flow_key {
	struct {
		uint8_t addr[2][16];
		uint16_t port[2];
		uint16_t vlan_kind;
		uint8_t ip_version;
		uint8_t ip_proto;
	};
	uint64_t w[5];
};
PR_STATIC_ASSERT(sizeof(union flow_key) == 40, "flow key is five words");

/* entry.eflags */
#define E_USED 0x01
#define E_SYN_VALID 0x02 /* syn_seq holds the client's initial sequence number */

/*
 * 128 bytes, two cache lines: the first holds what a lookup compares and
 * what decides the packet's direction and TCP state, the second the
 * counters every accounted packet writes.
 * flow_id 0 with E_USED set is a "dormant" entry: its record was cut by the
 * active timeout and the next packet continues it under a new id, keeping
 * the orientation and TCP state the cut record had.
 */
struct flow_entry {
	union flow_key key;
	uint32_t hash;
	uint32_t syn_seq;
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t iface;
	uint8_t src_side; /* key side (0/1) that is the record's src */
	uint8_t tcp_state;
	uint8_t tcp_flags[2];
	uint8_t fin_seen; /* bit per direction */
	uint8_t eflags;
	uint32_t reserved0;

	uint64_t flow_id;
	uint64_t first_ts;
	uint64_t last_ts;
	uint64_t packets[2];
	uint64_t bytes[2];
	uint64_t reserved1;
} PR_CACHE_ALIGNED;
PR_STATIC_ASSERT(sizeof(struct flow_entry) == 2 * PR_CACHE_LINE, "flow entry is two lines");

/*
 * LRU links live apart from the entries: relinking touches two neighbours
 * per packet, and eight links per cache line keep those touches in a
 * small array that mostly stays in cache. Free entries chain through next.
 */
struct lru_link {
	uint32_t prev; /* towards the most recently used */
	uint32_t next; /* towards the least recently used */
};

/*
 * Index slots: hash << 32 | entry index. Linear probing with at least
 * twice as many slots as entries keeps a probe run inside one cache line,
 * and the stored hash means only the matching entry is ever read.
 */
#define SLOT_EMPTY UINT64_MAX

/* First fragment seen: (src, dst, proto, vlan, frag id) -> entry and the flow it held. */
struct frag_slot {
	union flow_key key;
	uint64_t flow_id; /* 0: empty; checked against the entry so stale slots never match */
	uint64_t ts; /* capture time of the first fragment: the oldest way is replaced */
	uint32_t idx;
	uint8_t dir;
} PR_CACHE_ALIGNED;

struct pr_flow_table {
	struct flow_entry *e;
	uint64_t *slot;
	struct lru_link *lru;
	struct frag_slot *frag;
	size_t e_len; /* mapped bytes of the four arrays */
	size_t slot_len;
	size_t lru_len;
	size_t frag_len;
	uint32_t max_flows;
	uint32_t slot_mask;
	uint32_t frag_mask; /* sets - 1; a set is FRAG_WAYS slots */
	uint32_t free_head;
	uint32_t lru_head;
	uint32_t lru_tail;
	uint32_t hand; /* next entry the expiry sweep looks at */
	uint32_t used; /* entries off the free list, live or dormant */
	uint32_t emitting; /* entry whose record the emit callback is given */
	uint64_t idle_ns; /* 0 = never */
	uint64_t closed_ns;
	uint64_t active_ns; /* 0 = never */
	uint64_t dormant_ns; /* how long a cut flow waits for its continuation */
	uint64_t id_base;
	uint64_t seq;
	uint64_t k[7]; /* hash secret */
	struct pr_flow_stats st;
};

/* What pass one decided about a packet. */
enum pkt_class {
	PKT_SKIP = 0, /* no IP: not tracked */
	PKT_FLOW, /* key/hash are the flow key */
	PKT_LATER_FRAG, /* key/hash are the fragment-cache key */
};

/*
 * Multiply-fold: the 128-bit product of two words folded to 64 bits. With
 * secret words xored in first this is an NH-style keyed hash: without the
 * secret an attacker cannot aim packets at one index run.
 */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
	unsigned __int128 p = (unsigned __int128)a * b;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static inline uint32_t key_hash(const struct pr_flow_table *ft, const union flow_key *k)
{
	uint64_t h;

	h = fold_mul(k->w[0] ^ ft->k[0], k->w[1] ^ ft->k[1]);
	h += fold_mul(k->w[2] ^ ft->k[2], k->w[3] ^ ft->k[3]);
	h += fold_mul(k->w[4] ^ ft->k[4], ft->k[5]);
	h = fold_mul(h ^ ft->k[6], 0x9e3779b97f4a7c15ull);
	return (uint32_t)h;
}

static inline bool key_eq(const union flow_key *a, const union flow_key *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3]) | (a->w[4] ^ b->w[4])) == 0;
}

/* Capture clocks can step back (merged or out-of-order captures): never underflow. */
static inline uint64_t elapsed(uint64_t since, uint64_t now)
{
	return now > since ? now - since : 0;
}

static inline uint16_t pkt_vlan(const struct pr_decoded *d)
{
	return d->vlan_count ? (uint16_t)(d->vlan[0] & VLAN_MASK) : 0;
}

static inline bool is_icmp(uint8_t proto)
{
	return proto == PROTO_ICMP || proto == PROTO_ICMPV6;
}

static inline bool is_echo(uint8_t proto, uint16_t type_code)
{
	uint8_t type = (uint8_t)(type_code >> 8);

	if (proto == PROTO_ICMP)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

/*
 * Build the normalised flow key. use_l4 is false for packets whose ports are
 * unknown (no L4 header, later fragments): they key on ports 0. Returns the
 * key side the sender of this packet is on.
 */
static uint8_t key_build(const struct pr_decoded *d, bool use_l4, union flow_key *k)
{
	uint16_t sp = 0, dp = 0, kind = KIND_PLAIN;
	uint64_t s0, s1, d0, d1;
	uint8_t side = 0;

	if (use_l4) {
		sp = d->sport;
		dp = d->dport;
		if (is_icmp(d->ip_proto)) {
			/*
			 * Request and reply differ in type, so an echo keys on
			 * the identifier only; other types on type/code. The
			 * value goes on both sides so the key stays symmetric.
			 */
			if (is_echo(d->ip_proto, sp)) {
				kind = KIND_ICMP_ECHO;
				sp = dp;
			} else {
				dp = sp;
			}
		}
	}
	/*
	 * Any total order works as long as both directions agree; comparing
	 * native words is cheaper than a lexicographic memcmp().
	 */
	memcpy(&s0, d->src_ip, 8);
	memcpy(&s1, d->src_ip + 8, 8);
	memcpy(&d0, d->dst_ip, 8);
	memcpy(&d1, d->dst_ip + 8, 8);
	if (s0 != d0)
		side = s0 > d0;
	else if (s1 != d1)
		side = s1 > d1;
	else
		side = sp > dp;
	memcpy(k->addr[side], d->src_ip, 16);
	memcpy(k->addr[side ^ 1], d->dst_ip, 16);
	k->port[side] = sp;
	k->port[side ^ 1] = dp;
	k->vlan_kind = (uint16_t)(pkt_vlan(d) | kind << KIND_SHIFT);
	k->ip_version = d->ip_version;
	k->ip_proto = d->ip_proto;
	return side;
}

/* Fragment-cache key: not normalised, a fragment train has one sender. */
static void frag_key_build(const struct pr_decoded *d, union flow_key *k)
{
	memcpy(k->addr[0], d->src_ip, 16);
	memcpy(k->addr[1], d->dst_ip, 16);
	k->port[0] = (uint16_t)d->frag_id;
	k->port[1] = (uint16_t)(d->frag_id >> 16);
	k->vlan_kind = (uint16_t)(pkt_vlan(d) | KIND_FRAG << KIND_SHIFT);
	k->ip_version = d->ip_version;
	k->ip_proto = d->ip_proto;
}

static inline uint64_t next_flow_id(struct pr_flow_table *ft)
{
	uint64_t id = ft->id_base | ft->seq;

	/* 2^48 flows per core outlive any capture; wrap past 0 all the same. */
	ft->seq = (ft->seq + 1) & SEQ_MASK;
	if (ft->seq == 0)
		ft->seq = 1;
	return id;
}

/* ---- LRU list and index ---- */

static inline void lru_unlink(struct pr_flow_table *ft, uint32_t idx)
{
	struct lru_link *l = &ft->lru[idx];

	if (l->prev != NIL)
		ft->lru[l->prev].next = l->next;
	else
		ft->lru_head = l->next;
	if (l->next != NIL)
		ft->lru[l->next].prev = l->prev;
	else
		ft->lru_tail = l->prev;
}

static inline void lru_push_head(struct pr_flow_table *ft, uint32_t idx)
{
	struct lru_link *l = &ft->lru[idx];

	l->prev = NIL;
	l->next = ft->lru_head;
	if (ft->lru_head != NIL)
		ft->lru[ft->lru_head].prev = idx;
	else
		ft->lru_tail = idx;
	ft->lru_head = idx;
}

static inline void lru_touch(struct pr_flow_table *ft, uint32_t idx)
{
	/* Most packets of a burst hit the flow touched last: skip the relink. */
	if (ft->lru_head == idx)
		return;
	lru_unlink(ft, idx);
	lru_push_head(ft, idx);
}

static inline uint32_t slot_idx(uint64_t s)
{
	return (uint32_t)s;
}

static inline uint32_t slot_hash(uint64_t s)
{
	return (uint32_t)(s >> 32);
}

static inline uint32_t index_find(const struct pr_flow_table *ft, const union flow_key *k,
				  uint32_t hash)
{
	uint32_t pos = hash & ft->slot_mask;
	uint64_t s;

	/* The index is never more than half full, so an empty slot ends every run. */
	for (;; pos = (pos + 1) & ft->slot_mask) {
		s = ft->slot[pos];
		if (s == SLOT_EMPTY)
			return NIL;
		if (slot_hash(s) == hash && key_eq(&ft->e[slot_idx(s)].key, k))
			return slot_idx(s);
	}
}

/* The first entry whose stored hash matches: a guess to prefetch, not a lookup. */
static inline uint32_t index_guess(const struct pr_flow_table *ft, uint32_t hash)
{
	uint32_t pos = hash & ft->slot_mask;
	uint64_t s;

	for (;; pos = (pos + 1) & ft->slot_mask) {
		s = ft->slot[pos];
		if (s == SLOT_EMPTY)
			return NIL;
		if (slot_hash(s) == hash)
			return slot_idx(s);
	}
}

static void index_insert(struct pr_flow_table *ft, uint32_t hash, uint32_t idx)
{
	uint32_t pos = hash & ft->slot_mask;

	while (ft->slot[pos] != SLOT_EMPTY)
		pos = (pos + 1) & ft->slot_mask;
	ft->slot[pos] = (uint64_t)hash << 32 | idx;
}

/*
 * Remove by shifting later members of the probe run back into the hole
 * (no tombstones, so lookups never slow down as flows come and go). A
 * slot may fill the hole only if its home position is not cyclically
 * inside (hole, slot]: otherwise moving it would put it before its home.
 */
static void index_remove(struct pr_flow_table *ft, uint32_t idx)
{
	uint32_t mask = ft->slot_mask;
	uint32_t hole = ft->e[idx].hash & mask;
	uint32_t pos, home;

	while (slot_idx(ft->slot[hole]) != idx) {
		PR_ASSERT(ft->slot[hole] != SLOT_EMPTY);
		hole = (hole + 1) & mask;
	}
	pos = hole;
	for (;;) {
		pos = (pos + 1) & mask;
		if (ft->slot[pos] == SLOT_EMPTY)
			break;
		home = slot_hash(ft->slot[pos]) & mask;
		if (((pos - home) & mask) < ((pos - hole) & mask))
			continue;
		ft->slot[hole] = ft->slot[pos];
		hole = pos;
	}
	ft->slot[hole] = SLOT_EMPTY;
}

static void entry_free(struct pr_flow_table *ft, uint32_t idx)
{
	struct flow_entry *e = &ft->e[idx];

	index_remove(ft, idx);
	lru_unlink(ft, idx);
	e->eflags = 0;
	e->flow_id = 0;
	ft->lru[idx].next = ft->free_head;
	ft->free_head = idx;
	ft->used--;
}

/* ---- records ---- */

static void rec_fill(const struct flow_entry *e, uint8_t reason, struct pr_rec_flow *r)
{
	memset(r, 0, sizeof(*r));
	r->hdr.type = PR_REC_FLOW;
	r->hdr.len = sizeof(*r);
	r->flow_id = e->flow_id;
	r->first_ts_ns = e->first_ts;
	r->last_ts_ns = e->last_ts;
	r->packets[0] = e->packets[0];
	r->packets[1] = e->packets[1];
	r->bytes[0] = e->bytes[0];
	r->bytes[1] = e->bytes[1];
	memcpy(r->src_ip, e->key.addr[e->src_side], 16);
	memcpy(r->dst_ip, e->key.addr[e->src_side ^ 1], 16);
	r->src_port = e->src_port;
	r->dst_port = e->dst_port;
	r->vlan = e->key.vlan_kind & VLAN_MASK;
	r->iface = e->iface;
	r->ip_version = e->key.ip_version;
	r->ip_proto = e->key.ip_proto;
	r->tcp_state = e->tcp_state;
	r->end_reason = reason;
	r->tcp_flags[0] = e->tcp_flags[0];
	r->tcp_flags[1] = e->tcp_flags[1];
}

/* Emit the live record of e and leave the entry dormant (still indexed). */
static void flow_end(struct pr_flow_table *ft, struct flow_entry *e, uint8_t reason,
		     pr_flow_emit_fn emit, void *ctx)
{
	struct pr_rec_flow rec;

	PR_ASSERT(e->flow_id != 0);
	if (emit) {
		rec_fill(e, reason, &rec);
		ft->emitting = (uint32_t)(e - ft->e);
		emit(ctx, &rec);
	}
	e->flow_id = 0;
	ft->st.ended++;
	ft->st.active--;
	if (reason == PR_FLOW_END_EVICTED)
		ft->st.evicted++;
}

/* The reason a live flow has ended by time now, or 0 if it is still open. */
static inline uint8_t flow_due(const struct pr_flow_table *ft, const struct flow_entry *e,
			       uint64_t now)
{
	uint64_t idle = elapsed(e->last_ts, now);

	if (e->tcp_state == PR_TCP_CLOSED && idle >= ft->closed_ns)
		return PR_FLOW_END_FIN;
	if (e->tcp_state == PR_TCP_RESET && idle >= ft->closed_ns)
		return PR_FLOW_END_RST;
	if (ft->idle_ns && idle >= ft->idle_ns)
		return PR_FLOW_END_IDLE;
	if (ft->active_ns && elapsed(e->first_ts, now) >= ft->active_ns)
		return PR_FLOW_END_ACTIVE_TIMEOUT;
	return 0;
}

/*
 * Expiry check of one used entry. Returns true if the entry went back to
 * the free list. An active timeout only cuts the record: the entry stays
 * (dormant) so the flow's next packet continues it with the same src.
 */
static inline bool entry_expire(struct pr_flow_table *ft, uint32_t idx, uint64_t now,
				pr_flow_emit_fn emit, void *ctx, uint32_t *ended)
{
	struct flow_entry *e = &ft->e[idx];
	uint8_t reason;

	if (e->flow_id == 0) {
		if (elapsed(e->last_ts, now) < ft->dormant_ns)
			return false;
		entry_free(ft, idx);
		return true;
	}
	reason = flow_due(ft, e, now);
	if (!reason)
		return false;
	flow_end(ft, e, reason, emit, ctx);
	(*ended)++;
	if (reason == PR_FLOW_END_ACTIVE_TIMEOUT)
		return false;
	entry_free(ft, idx);
	return true;
}

/*
 * Start fetching what the next new flow will touch: the free-list head,
 * or when the table is full the LRU tail it will evict. These sit at
 * random places in the table; without this each new flow would wait for
 * them in turn, and a flood of new flows is exactly that. right_after_alloc
 * says the tail's entry was fetched by the previous call, so its index slot
 * and the victim after it can be fetched too without waiting here.
 */
static inline void entry_alloc_prefetch(const struct pr_flow_table *ft, bool right_after_alloc)
{
	uint32_t idx = ft->free_head;

	if (idx == NIL) {
		idx = ft->lru_tail;
		if (idx == NIL)
			return;
		if (right_after_alloc) {
			pr_prefetch_w(&ft->slot[ft->e[idx].hash & ft->slot_mask]);
			idx = ft->lru[idx].prev;
			if (idx == NIL)
				return;
		}
	}
	pr_prefetch_w(&ft->e[idx]);
	pr_prefetch_w((const char *)&ft->e[idx] + PR_CACHE_LINE);
	pr_prefetch_w(&ft->lru[idx]);
}

/* A free entry, evicting the least recently used one if there is none. */
static uint32_t entry_alloc(struct pr_flow_table *ft, pr_flow_emit_fn emit, void *ctx)
{
	uint32_t idx = ft->free_head;

	if (unlikely(idx == NIL)) {
		idx = ft->lru_tail;
		PR_ASSERT(idx != NIL);
		if (ft->e[idx].flow_id)
			flow_end(ft, &ft->e[idx], PR_FLOW_END_EVICTED, emit, ctx);
		entry_free(ft, idx);
	}
	ft->free_head = ft->lru[idx].next;
	ft->used++;
	entry_alloc_prefetch(ft, true);
	return idx;
}

/* ---- TCP ---- */

static inline bool is_pure_syn(uint8_t fl)
{
	return (fl & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN;
}

/*
 * A SYN that opens a new connection on this tuple: the old one was never
 * seen opening (midstream), or opened with a different initial sequence
 * number. Wireshark starts a new tcp.stream on the same test. A SYN with
 * the connection's own ISN is a retransmission and stays, even after an
 * RST or FINs (a client retrying after a reset reuses its SYN): the
 * connection reopens in the same flow (tcp_update).
 */
static bool tcp_syn_reuse(const struct flow_entry *e, const struct pr_decoded *d, bool tcp)
{
	if (!tcp || !is_pure_syn(d->tcp_flags))
		return false;
	return !(e->eflags & E_SYN_VALID) || d->tcp_seq != e->syn_seq;
}

static void tcp_update(struct flow_entry *e, uint8_t fl, unsigned int dir)
{
	/*
	 * Both end states are final for the record. A connection closed by
	 * FINs from both sides often ends with an RST instead of the last
	 * ACK; it still closed normally, so CLOSED does not become RESET.
	 */
	if (e->tcp_state == PR_TCP_CLOSED || e->tcp_state == PR_TCP_RESET) {
		/* Only the connection's own SYN gets here (see tcp_syn_reuse): it reopens. */
		if (is_pure_syn(fl) && dir == 0) {
			e->tcp_state = PR_TCP_SYN_SENT;
			e->fin_seen = 0;
		}
		return;
	}
	if (fl & TH_RST) {
		e->tcp_state = PR_TCP_RESET;
		return;
	}
	if (fl & TH_FIN) {
		e->fin_seen |= (uint8_t)(1u << dir);
		e->tcp_state = e->fin_seen == 3 ? PR_TCP_CLOSED : PR_TCP_FIN_WAIT;
		return;
	}
	switch (e->tcp_state) {
	case PR_TCP_SYN_SENT:
		if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && dir == 1)
			e->tcp_state = PR_TCP_SYN_RECV;
		else if ((fl & (TH_SYN | TH_ACK)) == TH_ACK && dir == 0)
			/* the SYN-ACK was lost to the capture, the client went on */
			e->tcp_state = PR_TCP_ESTABLISHED;
		break;
	case PR_TCP_SYN_RECV:
		if ((fl & (TH_SYN | TH_ACK)) == TH_ACK)
			e->tcp_state = PR_TCP_ESTABLISHED;
		break;
	default:
		break;
	}
}

/* ---- flow life ---- */

static void counters_reset(struct flow_entry *e, uint64_t ts)
{
	e->first_ts = ts;
	e->last_ts = ts;
	e->packets[0] = 0;
	e->packets[1] = 0;
	e->bytes[0] = 0;
	e->bytes[1] = 0;
	e->tcp_flags[0] = 0;
	e->tcp_flags[1] = 0;
}

/* Start a new flow in e (key already set) from its first packet. */
static void flow_start(struct pr_flow_table *ft, struct flow_entry *e, const struct pr_decoded *d,
		       uint8_t sender_side, bool l4, uint64_t ts, uint16_t iface)
{
	bool sender_is_src = true;
	uint8_t fl = d->tcp_flags;

	e->eflags = E_USED;
	e->tcp_state = PR_TCP_NONE;
	e->fin_seen = 0;
	e->syn_seq = 0;
	if (l4 && d->ip_proto == PROTO_TCP) {
		e->eflags |= E_SYN_VALID;
		if (is_pure_syn(fl)) {
			e->tcp_state = PR_TCP_SYN_SENT;
			e->syn_seq = d->tcp_seq;
		} else if ((fl & (TH_SYN | TH_ACK | TH_RST)) == (TH_SYN | TH_ACK)) {
			/* The server answered: the client is the receiver, and its ISN is ack - 1. */
			sender_is_src = false;
			e->tcp_state = PR_TCP_SYN_RECV;
			e->syn_seq = d->tcp_ack - 1;
		} else {
			e->eflags &= (uint8_t)~E_SYN_VALID;
			e->tcp_state = PR_TCP_MIDSTREAM;
		}
	}
	e->src_side = sender_is_src ? sender_side : sender_side ^ 1;
	if (!l4) {
		e->src_port = 0;
		e->dst_port = 0;
	} else if (sender_is_src) {
		e->src_port = d->sport;
		e->dst_port = d->dport;
	} else {
		e->src_port = d->dport;
		e->dst_port = d->sport;
	}
	e->iface = iface;
	e->flow_id = next_flow_id(ft);
	counters_reset(e, ts);
	ft->st.created++;
	ft->st.active++;
}

/* Continue a dormant entry (cut by the active timeout): same src and TCP state, new record. */
static void flow_resume(struct pr_flow_table *ft, struct flow_entry *e, uint64_t ts, uint16_t iface)
{
	e->iface = iface;
	e->flow_id = next_flow_id(ft);
	counters_reset(e, ts);
	ft->st.created++;
	ft->st.active++;
}

static inline void flow_account(struct flow_entry *e, unsigned int dir, uint32_t wire_len,
				uint64_t ts, bool tcp, uint8_t fl)
{
	e->packets[dir]++;
	e->bytes[dir] += wire_len;
	/*
	 * first_ts stays the first packet's time even if an older one comes
	 * later: pulling it back would let one badly stamped packet trigger
	 * the active timeout of a flow that just began.
	 */
	if (ts > e->last_ts)
		e->last_ts = ts;
	if (tcp) {
		e->tcp_flags[dir] |= fl;
		tcp_update(e, fl, dir);
	}
}

/*
 * Find or create the flow of one packet and make sure the entry holds a
 * live record this packet belongs to: a flow that ended by time ts (the
 * sweep had not reached it yet) or a reused TCP tuple is emitted first.
 * Returns the entry index.
 */
static uint32_t flow_get(struct pr_flow_table *ft, const union flow_key *k, uint32_t hash,
			 const struct pr_decoded *d, uint8_t side, bool l4, uint64_t ts,
			 uint16_t iface, pr_flow_emit_fn emit, void *ctx)
{
	bool tcp = l4 && d->ip_proto == PROTO_TCP;
	struct flow_entry *e;
	bool fresh = false;
	uint32_t idx;
	uint8_t reason;

	idx = index_find(ft, k, hash);
	if (idx == NIL) {
		idx = entry_alloc(ft, emit, ctx);
		e = &ft->e[idx];
		e->key = *k;
		e->hash = hash;
		index_insert(ft, hash, idx);
		lru_push_head(ft, idx);
		flow_start(ft, e, d, side, l4, ts, iface);
		return idx;
	}
	e = &ft->e[idx];
	lru_touch(ft, idx);
	if (e->flow_id) {
		reason = flow_due(ft, e, ts);
		if (reason) {
			flow_end(ft, e, reason, emit, ctx);
			fresh = reason != PR_FLOW_END_ACTIVE_TIMEOUT;
		} else if (tcp_syn_reuse(e, d, tcp)) {
			flow_end(ft, e, PR_FLOW_END_REUSED, emit, ctx);
			fresh = true;
		}
	} else if (elapsed(e->last_ts, ts) >= ft->dormant_ns) {
		fresh = true;
	}
	if (e->flow_id == 0) {
		if (fresh || tcp_syn_reuse(e, d, tcp))
			flow_start(ft, e, d, side, l4, ts, iface);
		else
			flow_resume(ft, e, ts, iface);
	}
	return idx;
}

static inline struct frag_slot *frag_set(const struct pr_flow_table *ft, uint32_t hash)
{
	return &ft->frag[(size_t)(hash & ft->frag_mask) * FRAG_WAYS];
}

/* A slot whose flow has ended (or was never set) may be taken at once. */
static inline bool frag_slot_dead(const struct pr_flow_table *ft, const struct frag_slot *s)
{
	return s->flow_id == 0 || ft->e[s->idx].flow_id != s->flow_id;
}

static void frag_remember(struct pr_flow_table *ft, const struct pr_decoded *d, uint32_t idx,
			  unsigned int dir, uint64_t ts)
{
	union flow_key fk;
	struct frag_slot *set, *s = NULL;
	unsigned int w;

	frag_key_build(d, &fk);
	set = frag_set(ft, key_hash(ft, &fk));
	/* The same train again (a repeated first fragment), else a dead way, else the oldest. */
	for (w = 0; w < FRAG_WAYS && !s; w++)
		if (set[w].flow_id != 0 && key_eq(&set[w].key, &fk))
			s = &set[w];
	for (w = 0; w < FRAG_WAYS && !s; w++)
		if (frag_slot_dead(ft, &set[w]))
			s = &set[w];
	if (!s) {
		s = &set[0];
		for (w = 1; w < FRAG_WAYS; w++)
			if (set[w].ts < s->ts)
				s = &set[w];
		ft->st.frag_replaced++;
	}
	s->key = fk;
	s->flow_id = ft->e[idx].flow_id;
	s->ts = ts;
	s->idx = idx;
	s->dir = (uint8_t)dir;
}

/* The way of this set that holds fk, or NULL. */
static inline const struct frag_slot *frag_find(const struct pr_flow_table *ft,
						const union flow_key *fk, uint32_t hash)
{
	const struct frag_slot *set = frag_set(ft, hash);
	unsigned int w;

	for (w = 0; w < FRAG_WAYS; w++)
		if (set[w].flow_id != 0 && key_eq(&set[w].key, fk))
			return &set[w];
	return NULL;
}

/* The live entry the first fragment of this train went to, or NIL. */
static uint32_t frag_lookup(const struct pr_flow_table *ft, const union flow_key *fk, uint32_t hash,
			    uint64_t ts, unsigned int *dir)
{
	const struct frag_slot *s = frag_find(ft, fk, hash);
	const struct flow_entry *e;

	if (!s)
		return NIL;
	e = &ft->e[s->idx];
	/* The slot may outlive its flow: the flow id proves it is the same record. */
	if (e->flow_id != s->flow_id || flow_due(ft, e, ts))
		return NIL;
	*dir = s->dir;
	return s->idx;
}

static void burst_chunk(struct pr_flow_table *ft, const struct pr_decoded *dec,
			const uint32_t *wire_len, const uint64_t *ts_ns, const uint16_t *iface,
			unsigned int n, uint64_t *flow_id, uint32_t *entry, uint8_t *edir,
			pr_flow_emit_fn emit, void *ctx)
{
	union flow_key key[CHUNK];
	uint32_t hash[CHUNK];
	uint32_t guess[CHUNK];
	uint8_t cls[CHUNK];
	uint8_t side[CHUNK];
	unsigned int i;

	/*
	 * The table is far bigger than the caches, so each packet needs three
	 * dependent memory reads: index slot, then entry and its LRU link,
	 * then the LRU neighbours. Each pass below starts one level for the
	 * whole chunk, so the misses of a level overlap instead of queueing.
	 */

	/* Pass 1: keys and hashes; fetch the index slot (or fragment slot). */
	entry_alloc_prefetch(ft, false);
	for (i = 0; i < n; i++) {
		const struct pr_decoded *d = &dec[i];

		if (!(d->flags & (PR_DEC_IPV4 | PR_DEC_IPV6))) {
			cls[i] = PKT_SKIP;
			continue;
		}
		if ((d->flags & (PR_DEC_FRAGMENT | PR_DEC_FRAG_FIRST)) == PR_DEC_FRAGMENT) {
			cls[i] = PKT_LATER_FRAG;
			frag_key_build(d, &key[i]);
			hash[i] = key_hash(ft, &key[i]);
			for (unsigned int w = 0; w < FRAG_WAYS; w++)
				pr_prefetch0(&frag_set(ft, hash[i])[w]);
			continue;
		}
		cls[i] = PKT_FLOW;
		side[i] = key_build(d, (d->flags & PR_DEC_L4) != 0, &key[i]);
		hash[i] = key_hash(ft, &key[i]);
		pr_prefetch0(&ft->slot[hash[i] & ft->slot_mask]);
	}

	/* Pass 2: fetch the entry the index (or fragment slot) points at, and its LRU link. */
	for (i = 0; i < n; i++) {
		uint32_t idx = NIL;

		if (cls[i] == PKT_FLOW)
			idx = index_guess(ft, hash[i]);
		else if (cls[i] == PKT_LATER_FRAG) {
			const struct frag_slot *fs = frag_find(ft, &key[i], hash[i]);

			idx = fs ? fs->idx : NIL;
		}
		guess[i] = idx < ft->max_flows ? idx : NIL;
		if (guess[i] != NIL) {
			pr_prefetch_w(&ft->e[idx]);
			pr_prefetch_w((const char *)&ft->e[idx] + PR_CACHE_LINE);
			pr_prefetch_w(&ft->lru[idx]);
		}
	}

	/* Pass 3: fetch the LRU neighbours the relink will write. */
	for (i = 0; i < n; i++) {
		if (guess[i] != NIL && guess[i] != ft->lru_head) {
			const struct lru_link *l = &ft->lru[guess[i]];

			if (l->prev < ft->max_flows)
				pr_prefetch_w(&ft->lru[l->prev]);
			if (l->next < ft->max_flows)
				pr_prefetch_w(&ft->lru[l->next]);
		}
	}

	/*
	 * Pass 4, in packet order: lookups are redone here because an earlier
	 * packet of the chunk may have created, ended or evicted any entry.
	 */
	for (i = 0; i < n; i++) {
		const struct pr_decoded *d = &dec[i];
		uint16_t ifc = iface ? iface[i] : 0;
		struct flow_entry *e;
		unsigned int dir;
		uint32_t idx;
		bool l4;

		if (cls[i] == PKT_SKIP) {
			flow_id[i] = 0;
			continue;
		}
		if (cls[i] == PKT_LATER_FRAG) {
			idx = frag_lookup(ft, &key[i], hash[i], ts_ns[i], &dir);
			if (idx != NIL) {
				ft->st.frag_hits++;
				lru_touch(ft, idx);
				e = &ft->e[idx];
				flow_account(e, dir, wire_len[i], ts_ns[i], false, 0);
				flow_id[i] = e->flow_id;
				if (entry) {
					entry[i] = idx;
					edir[i] = (uint8_t)dir;
				}
				continue;
			}
			ft->st.frag_misses++;
			side[i] = key_build(d, false, &key[i]);
			hash[i] = key_hash(ft, &key[i]);
		}
		l4 = cls[i] == PKT_FLOW && (d->flags & PR_DEC_L4);
		idx = flow_get(ft, &key[i], hash[i], d, side[i], l4, ts_ns[i], ifc, emit, ctx);
		e = &ft->e[idx];
		dir = side[i] == e->src_side ? 0 : 1;
		flow_account(e, dir, wire_len[i], ts_ns[i], l4 && d->ip_proto == PROTO_TCP,
			     d->tcp_flags);
		if (d->flags & PR_DEC_FRAG_FIRST)
			frag_remember(ft, d, idx, dir, ts_ns[i]);
		flow_id[i] = e->flow_id;
		if (entry) {
			entry[i] = idx;
			edir[i] = (uint8_t)dir;
		}
	}
}

void pr_flow_lookup_burst_ex(struct pr_flow_table *ft, const struct pr_decoded *dec,
			     const uint32_t *wire_len, const uint64_t *ts_ns, const uint16_t *iface,
			     uint16_t n, uint64_t *flow_id, uint32_t *entry, uint8_t *dir,
			     pr_flow_emit_fn emit, void *ctx)
{
	unsigned int done, m;

	for (done = 0; done < n; done += m) {
		m = PR_MIN((unsigned int)n - done, CHUNK);
		burst_chunk(ft, dec + done, wire_len + done, ts_ns + done,
			    iface ? iface + done : NULL, m, flow_id + done,
			    entry ? entry + done : NULL, dir ? dir + done : NULL, emit, ctx);
	}
}

void pr_flow_lookup_burst(struct pr_flow_table *ft, const struct pr_decoded *dec,
			  const uint32_t *wire_len, const uint64_t *ts_ns, const uint16_t *iface,
			  uint16_t n, uint64_t *flow_id, pr_flow_emit_fn emit, void *ctx)
{
	pr_flow_lookup_burst_ex(ft, dec, wire_len, ts_ns, iface, n, flow_id, NULL, NULL, emit, ctx);
}

uint32_t pr_flow_emit_entry(const struct pr_flow_table *ft)
{
	return ft->emitting;
}

uint32_t pr_flow_expire(struct pr_flow_table *ft, uint64_t now_ns, uint32_t max_scan,
			pr_flow_emit_fn emit, void *ctx)
{
	uint32_t tail_budget = max_scan / 2;
	uint32_t scanned = 0, ended = 0;

	/*
	 * The LRU tail is the flow quiet for longest, so idle flows are found
	 * in order and at once. Half the budget at most goes here so the hand
	 * always moves: it is what finds closed TCP flows and active timeouts
	 * sitting anywhere in the list.
	 */
	while (scanned < tail_budget && ft->lru_tail != NIL) {
		scanned++;
		if (!entry_expire(ft, ft->lru_tail, now_ns, emit, ctx, &ended))
			break;
	}
	for (; scanned < max_scan; scanned++) {
		uint32_t idx = ft->hand;

		if (++ft->hand == ft->max_flows)
			ft->hand = 0;
		if (ft->e[idx].eflags & E_USED)
			entry_expire(ft, idx, now_ns, emit, ctx, &ended);
	}
	return ended;
}

/* Empty index, LRU and fragment cache; every entry on the free list. */
static void table_reset(struct pr_flow_table *ft)
{
	uint32_t i;

	memset(ft->slot, 0xff, ((size_t)ft->slot_mask + 1) * sizeof(*ft->slot));
	memset(ft->frag, 0, ((size_t)ft->frag_mask + 1) * FRAG_WAYS * sizeof(*ft->frag));
	memset(ft->e, 0, (size_t)ft->max_flows * sizeof(*ft->e));
	for (i = 0; i < ft->max_flows; i++) {
		ft->lru[i].prev = NIL;
		ft->lru[i].next = i + 1 < ft->max_flows ? i + 1 : NIL;
	}
	ft->free_head = 0;
	ft->lru_head = NIL;
	ft->lru_tail = NIL;
	ft->hand = 0;
	ft->used = 0;
}

uint32_t pr_flow_flush(struct pr_flow_table *ft, uint8_t reason, pr_flow_emit_fn emit, void *ctx)
{
	uint32_t idx, ended = 0;

	/* Oldest first, the order the records would have ended in anyway. */
	for (idx = ft->lru_tail; idx != NIL; idx = ft->lru[idx].prev) {
		if (ft->e[idx].flow_id) {
			uint8_t why = reason;

			/* A connection that already closed ended by FIN/RST, not by the shutdown. */
			if (reason == PR_FLOW_END_SHUTDOWN && ft->e[idx].tcp_state == PR_TCP_CLOSED)
				why = PR_FLOW_END_FIN;
			else if (reason == PR_FLOW_END_SHUTDOWN &&
				 ft->e[idx].tcp_state == PR_TCP_RESET)
				why = PR_FLOW_END_RST;
			flow_end(ft, &ft->e[idx], why, emit, ctx);
			ended++;
		}
	}
	table_reset(ft);
	return ended;
}

void pr_flow_table_stats(const struct pr_flow_table *ft, struct pr_flow_stats *out)
{
	*out = ft->st;
}

static int secret_init(struct pr_flow_table *ft, uint32_t seed)
{
	uint64_t s;
	ssize_t r;
	size_t i;

	if (seed == 0) {
		r = getrandom(ft->k, sizeof(ft->k), 0);
		if (r < 0)
			return -errno;
		if ((size_t)r != sizeof(ft->k))
			return -EIO;
	} else {
		/* A fixed seed (tests, reproducible runs) is stretched to the full secret. */
		s = seed;
		for (i = 0; i < PR_ARRAY_SIZE(ft->k); i++) {
			s += 0x9e3779b97f4a7c15ull;
			ft->k[i] = fold_mul(s ^ 0x5851f42d4c957f2dull, s | 1);
		}
	}
	/* k[5] multiplies the last key word alone: zero would drop that word from the hash. */
	ft->k[5] |= 1;
	return 0;
}

/*
 * Anonymous memory for a table array, zeroed. Arrays of 2 MiB or more are
 * aligned to 2 MiB and offered to transparent huge pages: lookups land on
 * random entries, and with 4 KiB pages nearly every one would also miss
 * the TLB (measured: about 2x slower per packet with a million flows).
 * *len is rounded up to what was mapped, for big_free().
 */
static void *big_alloc(size_t *len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t want = PR_ALIGN_UP(*len, page);
	size_t span = want >= HUGE_PAGE ? want + HUGE_PAGE : want;
	uint8_t *p, *a;

	p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = p;
	if (span != want) {
		a = (uint8_t *)PR_ALIGN_UP((uintptr_t)p, HUGE_PAGE);
		if (a != p)
			munmap(p, (size_t)(a - p));
		if (p + span != a + want)
			munmap(a + want, (size_t)(p + span - (a + want)));
		/* only a hint: without THP the table works the same, slower */
		madvise(a, want, MADV_HUGEPAGE);
	}
	*len = want;
	return a;
}

static void big_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

static uint32_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return (uint32_t)p;
}

int pr_flow_table_create(const struct pr_flow_cfg *cfg, int numa_node, struct pr_flow_table **out)
{
	struct pr_flow_table *ft = NULL;
	uint32_t nslots, nfrag;
	int err;

	/*
	 * numa_node is a hint we meet by first touch: table_reset() writes
	 * every page here, so the pages land on the creating thread's node
	 * (create the table on the core that will use it) and never fault on
	 * the hot path.
	 */
	(void)numa_node;
	if (!cfg || !out || cfg->max_flows == 0 || cfg->max_flows > MAX_FLOWS_LIMIT ||
	    cfg->frag_cache_entries > FRAG_CACHE_LIMIT)
		return -EINVAL;
	*out = NULL;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	nslots = pow2_at_least(2ull * cfg->max_flows);
	nfrag = pow2_at_least(cfg->frag_cache_entries ? cfg->frag_cache_entries :
							FRAG_CACHE_DEFAULT);
	if (nfrag < FRAG_WAYS)
		nfrag = FRAG_WAYS;
	ft->max_flows = cfg->max_flows;
	ft->slot_mask = nslots - 1;
	ft->frag_mask = (uint32_t)(nfrag / FRAG_WAYS) - 1;
	ft->e_len = (size_t)cfg->max_flows * sizeof(*ft->e);
	ft->slot_len = (size_t)nslots * sizeof(*ft->slot);
	ft->lru_len = (size_t)cfg->max_flows * sizeof(*ft->lru);
	ft->frag_len = (size_t)nfrag * sizeof(*ft->frag);
	ft->e = big_alloc(&ft->e_len);
	ft->slot = big_alloc(&ft->slot_len);
	ft->lru = big_alloc(&ft->lru_len);
	ft->frag = big_alloc(&ft->frag_len);
	if (!ft->e || !ft->slot || !ft->lru || !ft->frag) {
		err = -ENOMEM;
		goto err_free;
	}
	err = secret_init(ft, cfg->hash_seed);
	if (err)
		goto err_free;
	ft->idle_ns = (uint64_t)cfg->idle_timeout_s * NS_PER_S;
	ft->closed_ns = (uint64_t)cfg->tcp_closed_timeout_s * NS_PER_S;
	ft->active_ns = (uint64_t)cfg->active_timeout_s * NS_PER_S;
	/*
	 * A cut flow keeps its entry so the continuation keeps its src and
	 * TCP state; if nothing follows within an idle timeout (or, without
	 * one, an active timeout) it is forgotten.
	 */
	ft->dormant_ns = ft->idle_ns ? ft->idle_ns : ft->active_ns;
	ft->id_base = (uint64_t)cfg->core_id << SEQ_BITS;
	ft->seq = 1;
	table_reset(ft);
	*out = ft;
	return 0;

err_free:
	pr_flow_table_destroy(ft);
	return err;
}

void pr_flow_table_destroy(struct pr_flow_table *ft)
{
	if (!ft)
		return;
	big_free(ft->e, ft->e_len);
	big_free(ft->slot, ft->slot_len);
	big_free(ft->lru, ft->lru_len);
	big_free(ft->frag, ft->frag_len);
	free(ft);
}
