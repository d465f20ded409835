/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-core bidirectional flow table. Keys are (ip version, protocol, both
 * addresses, both ports, outermost VLAN), normalised so both directions of a
 * flow find one entry. All memory is allocated at create time from
 * cfg->max_flows (the memcap); when it is full the oldest flows are evicted
 * (emitted with PR_FLOW_END_EVICTED, counted). Flows end on idle and active
 * timeouts, TCP FIN from both sides or RST, or a new SYN reusing the 5-tuple
 * of a closed connection; an ended flow is handed to the emit callback as a
 * complete struct pr_rec_flow. A small fragment cache attributes later IP
 * fragments (which carry no ports) to the flow of their first fragment.
 *
 * One table per dataplane core, used by that core only: no locks.
 */
#ifndef PR_FLOW_H
#define PR_FLOW_H

#include <stdint.h>

#include "pr_record.h"
#include "../parse/pr_decode.h"

struct pr_flow_cfg {
	uint32_t max_flows; /* memcap, in flows (each entry is a fixed size) */
	uint32_t idle_timeout_s; /* UDP/ICMP/other and open TCP; 0 = never */
	uint32_t tcp_closed_timeout_s; /* after FIN/RST, before the record goes out */
	uint32_t active_timeout_s; /* cut long flows; 0 = never */
	uint32_t hash_seed; /* random per process; 0 picks one from getrandom() */
	uint16_t core_id; /* goes into the top bits of flow ids */
	uint32_t frag_cache_entries; /* power of two, 4-way sets; 0 = 1024 */
};

/* Counters the table keeps (plain, written by the owning core only). */
struct pr_flow_stats {
	uint64_t created;
	uint64_t ended; /* emitted records, all reasons */
	uint64_t evicted; /* of which ended by PR_FLOW_END_EVICTED */
	uint64_t active; /* flows in the table now */
	uint64_t frag_hits; /* later fragments attributed to a flow */
	uint64_t frag_misses; /* later fragments whose first fragment was not seen */
	uint64_t frag_replaced; /* first fragments that pushed out a live train (set full) */
};

struct pr_flow_table;

/* Receives each ended flow. rec is only valid during the call. */
typedef void (*pr_flow_emit_fn)(void *ctx, const struct pr_rec_flow *rec);

/*
 * Create a table. numa_node is a hint (-1: any). Returns 0 or -EINVAL /
 * -ENOMEM. Startup only.
 */
int pr_flow_table_create(const struct pr_flow_cfg *cfg, int numa_node, struct pr_flow_table **out);
void pr_flow_table_destroy(struct pr_flow_table *ft); /* NULL is a no-op */

/*
 * Account n decoded packets (wire lengths in wire_len[], capture times in
 * ts_ns[], interface indexes in iface[]) and write each packet's flow id to
 * flow_id[] (0 for packets without IP). Flows that end because of these
 * packets (TCP reuse, eviction) are passed to emit before this returns.
 * Dataplane core only.
 */
void pr_flow_lookup_burst(struct pr_flow_table *ft, const struct pr_decoded *dec,
			  const uint32_t *wire_len, const uint64_t *ts_ns, const uint16_t *iface,
			  uint16_t n, uint64_t *flow_id, pr_flow_emit_fn emit, void *ctx);

/*
 * pr_flow_lookup_burst() that also says, for each packet with a flow,
 * the index of its entry (entry[i] < max_flows; a side array indexed the
 * same way keeps per-flow state of other modules) and its direction
 * (dir[i]: 0 from the record's src, 1 towards it). Packets without a
 * flow (flow_id[i] == 0) leave entry[i] and dir[i] unset.
 */
void pr_flow_lookup_burst_ex(struct pr_flow_table *ft, const struct pr_decoded *dec,
			     const uint32_t *wire_len, const uint64_t *ts_ns, const uint16_t *iface,
			     uint16_t n, uint64_t *flow_id, uint32_t *entry, uint8_t *dir,
			     pr_flow_emit_fn emit, void *ctx);

/*
 * Inside an emit callback: the entry index of the flow being emitted,
 * so that side-array state can be ended with it. Dataplane core only.
 */
uint32_t pr_flow_emit_entry(const struct pr_flow_table *ft);

/*
 * End flows whose timeouts passed at time now_ns (capture clock). Looks at
 * no more than max_scan entries per call so a burst boundary stays cheap;
 * call once per burst. Returns how many flows ended.
 */
uint32_t pr_flow_expire(struct pr_flow_table *ft, uint64_t now_ns, uint32_t max_scan,
			pr_flow_emit_fn emit, void *ctx);

/* End every flow with the given reason (shutdown). Returns how many ended. */
uint32_t pr_flow_flush(struct pr_flow_table *ft, uint8_t reason, pr_flow_emit_fn emit, void *ctx);

void pr_flow_table_stats(const struct pr_flow_table *ft, struct pr_flow_stats *out);

#endif /* PR_FLOW_H */
