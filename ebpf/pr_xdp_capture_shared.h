/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layouts shared by the capture XDP program (pr_xdp_capture.bpf.c) and
 * its user-space half (dataplane/rx/pr_rx_afxdp.c): map names, key and
 * value structs, counter indices and rule flags. Plain __u32-style types
 * only, so both clang -target bpf and the host compiler read it the same.
 *
 * The program redirects every frame to the AF_XDP socket of its rx queue
 * (map pr_xsks), unless an early-drop rule matches first. Rules live in
 * maps that user space may change at any time while the program runs:
 *   pr_drop_proto   array[256]   IP protocol number -> 1 drops it
 *   pr_drop_port    array[65536] L4 port -> PR_XDP_PORT_TCP|PR_XDP_PORT_UDP
 *                                (source or destination port matches)
 *   pr_drop_v4      LPM trie     IPv4 prefix (source or destination) -> 1
 *   pr_drop_v6      LPM trie     IPv6 prefix (source or destination) -> 1
 *   pr_rules        array[1]     struct pr_xdp_rules: which tables to look
 *                                at, so that no rule costs no lookup
 * Counters are per CPU (pr_counters, one struct pr_xdp_counters per CPU);
 * user space sums them over CPUs.
 */
#ifndef PR_XDP_CAPTURE_SHARED_H
#define PR_XDP_CAPTURE_SHARED_H

#include <linux/types.h>

/* Entries of the XSK map: rx queues the program can redirect from. */
#define PR_XDP_MAX_QUEUES 256

enum pr_xdp_counter {
	PR_XDP_SEEN = 0, /* frames the program ran on */
	PR_XDP_REDIRECTED, /* handed to an AF_XDP socket (may still drop there: XDP_STATISTICS) */
	PR_XDP_DROP_PROTO, /* dropped by a protocol rule */
	PR_XDP_DROP_PORT, /* dropped by a port rule */
	PR_XDP_DROP_PREFIX, /* dropped by an IPv4 or IPv6 prefix rule */
	PR_XDP_NO_SOCKET, /* no socket on this frame's queue: passed to the kernel stack */
	PR_XDP_COUNTER_MAX,
};

struct pr_xdp_counters {
	__u64 c[PR_XDP_COUNTER_MAX];
};

/* pr_rules flags: which rule tables hold something. */
#define PR_XDP_RULE_PROTO (1u << 0)
#define PR_XDP_RULE_PORT (1u << 1)
#define PR_XDP_RULE_V4 (1u << 2)
#define PR_XDP_RULE_V6 (1u << 3)

/*
 * armed: 0 until every capturing socket is in pr_xsks. Until then the
 * program passes every frame on and counts nothing, so that the moments
 * between attach and the last socket's bind are not reported as losses:
 * capture starts when it is armed.
 */
struct pr_xdp_rules {
	__u32 flags;
	__u32 armed;
};

/* pr_drop_port values */
#define PR_XDP_PORT_TCP (1u << 0)
#define PR_XDP_PORT_UDP (1u << 1)

struct pr_xdp_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct pr_xdp_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

#define PR_XDP_LPM_MAX_ENTRIES 16384

#define PR_XDP_MAP_XSKS "pr_xsks"
#define PR_XDP_MAP_COUNTERS "pr_counters"
#define PR_XDP_MAP_RULES "pr_rules"
#define PR_XDP_MAP_PROTO "pr_drop_proto"
#define PR_XDP_MAP_PORT "pr_drop_port"
#define PR_XDP_MAP_V4 "pr_drop_v4"
#define PR_XDP_MAP_V6 "pr_drop_v6"
#define PR_XDP_PROG_NAME "pr_xdp_capture"

#endif /* PR_XDP_CAPTURE_SHARED_H */
