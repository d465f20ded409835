/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4 and IPv6 fragment reassembly, per core. Fragments are handed in one
 * at a time (the IP header onward); when the last missing piece of a
 * datagram arrives, the rebuilt datagram (one IP header without fragment
 * fields, then the whole payload) is handed back, to be decoded again as a
 * raw IP packet by the caller so that flows and parsers see the whole
 * datagram. The stored packets stay the original fragments: this module
 * copies, it never changes its input.
 *
 * Memory is fixed at create time: max_datagrams slots, each with room for
 * one datagram of max_datagram_bytes and a bitmap of the 8-byte units
 * received. A datagram in progress is dropped when it outlives timeout_ns,
 * when its slot is needed for a newer one (the oldest goes), or when it
 * breaks a limit. Overlap policy (documented in docs/PROTOCOLS.md):
 * IPv4 keeps the bytes that arrived first (later copies of the same bytes
 * are ignored and counted); IPv6 drops the whole datagram (RFC 5722), and
 * so does IPv4 when a fragment disagrees with the datagram's known end.
 * Per fragment: no allocation, no lock, no log line. Dataplane core only:
 * one table per core.
 */
#ifndef PR_IPFRAG_H
#define PR_IPFRAG_H

#include <stdint.h>

#define PR_IPFRAG_MAX_DATAGRAMS_DEFAULT 64u
#define PR_IPFRAG_MAX_DATAGRAM_BYTES_DEFAULT 65535u /* payload bytes after the IP header(s) */
#define PR_IPFRAG_MAX_FRAGMENTS_DEFAULT 64u /* per datagram */
#define PR_IPFRAG_TIMEOUT_NS_DEFAULT 30000000000ull /* 30 s, as Linux's ipfrag_time */

struct pr_ipfrag_cfg {
	uint32_t max_datagrams; /* reassemblies in progress at once (at most 65535) */
	uint32_t max_datagram_bytes; /* largest payload rebuilt (8..65535, a multiple of 8 or not) */
	uint32_t max_fragments; /* fragments one datagram may take */
	uint64_t timeout_ns; /* a datagram not complete after this is dropped */
};

struct pr_ipfrag_stats {
	uint64_t fragments; /* fragments handed in */
	uint64_t reassembled; /* datagrams rebuilt and handed back */
	uint64_t timeouts; /* datagrams dropped incomplete after timeout_ns */
	uint64_t evicted; /* datagrams dropped incomplete to make room for a newer one */
	uint64_t overlaps; /* fragments that overlapped bytes already held */
	uint64_t dropped; /* datagrams given up: IPv6 overlap, inconsistent end, limits */
	uint64_t too_big; /* fragments reaching past max_datagram_bytes */
	uint64_t too_many; /* fragments beyond max_fragments */
	uint64_t malformed; /* fragments with impossible fields or cut by the snap length */
	uint64_t dead_fragments; /* fragments of a datagram already given up */
};

/* pr_ipfrag_add() results. */
enum pr_ipfrag_result {
	PR_IPFRAG_NOT_FRAGMENT = 0, /* a whole datagram: use the packet as it is */
	PR_IPFRAG_HELD = 1, /* kept; the datagram is not complete yet */
	PR_IPFRAG_DONE = 2, /* *out / *out_len hold the rebuilt datagram */
	PR_IPFRAG_DROPPED = 3, /* not kept (malformed, limits, a datagram given up) */
};

struct pr_ipfrag;

/*
 * Create a table (zero fields of cfg take the defaults above). Returns 0,
 * -EINVAL (a value out of range) or -ENOMEM. Startup only.
 */
int pr_ipfrag_create(const struct pr_ipfrag_cfg *cfg, struct pr_ipfrag **out);
void pr_ipfrag_destroy(struct pr_ipfrag *t); /* NULL is a no-op */

/*
 * One IP packet, from its IP header on: len captured bytes at l3 (link
 * padding after the IP length is ignored). ts_ns is the capture time (it
 * drives the timeout; it may go backwards a little without harm). On
 * PR_IPFRAG_DONE, *out points at the rebuilt datagram inside the table,
 * valid until the next call on this table. Dataplane core only.
 */
enum pr_ipfrag_result pr_ipfrag_add(struct pr_ipfrag *t, const uint8_t *l3, uint32_t len,
				    uint64_t ts_ns, const uint8_t **out, uint32_t *out_len);

/* Drop every datagram older than timeout_ns at now_ns (call now and then when idle). */
void pr_ipfrag_expire(struct pr_ipfrag *t, uint64_t now_ns);

/* Datagrams in progress. */
uint32_t pr_ipfrag_pending(const struct pr_ipfrag *t);

void pr_ipfrag_stats(const struct pr_ipfrag *t, struct pr_ipfrag_stats *out);

#endif /* PR_IPFRAG_H */
