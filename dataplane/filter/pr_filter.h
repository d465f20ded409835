/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BPF filters (tcpdump syntax, libpcap's compiler and interpreter) for
 * captures whose interfaces have different link types: one expression,
 * compiled once per interface for that interface's link type. It knows
 * when a filter cannot match: an expression that is valid but rejects
 * every packet of a link type ("arp" on raw IP), and, for the simple
 * expressions that look only at addresses, protocols and ports, a flow
 * none of whose packets can pass (so a reader can skip its blocks).
 *
 * One module for every user: the dataplane's workers filter captured
 * packets with it, the query and export engines filter stored ones. An
 * object belongs to one thread; the functions keep no other state.
 */
#ifndef PR_FILTER_H
#define PR_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PR_FILTER_MAX_IFACES 256
/*
 * Bytes of an expression, the longest a capture keeps (pr_dpcfg's
 * filter). libpcap's optimizer takes time that grows with the cube of
 * the expression: 400 "port N or" terms (4.7 KB) took 12 s, and the API
 * takes filters from remote callers; at this length the worst shape
 * measured ("portrange A-B or ...") compiles in about 0.15 s.
 */
#define PR_FILTER_MAX_LEN 1023

/* pr_filter_add_iface(): valid, but no packet of this link type can pass. */
#define PR_FILTER_REJECTS_ALL 1

struct pr_filter;

/*
 * Does expr compile (for Ethernet)? NULL or "" does. Returns 0, -EINVAL
 * with err "bad filter expression \"EXPR\": <libpcap's reason>" (or
 * "filter: N bytes, more than PR_FILTER_MAX_LEN ..." before compiling),
 * or -ENOMEM.
 */
int pr_filter_check(const char *expr, char *err, size_t errlen);

/*
 * A filter for expr, with no interface yet; NULL or "" gives one that
 * accepts every packet of every interface. Checks expr like
 * pr_filter_check(). Returns 0, -EINVAL (err says why) or -ENOMEM.
 */
int pr_filter_create(const char *expr, struct pr_filter **out, char *err, size_t errlen);
void pr_filter_destroy(struct pr_filter *f); /* NULL is a no-op */

/*
 * Compile the expression for interface idx of link type linktype
 * (LINKTYPE_*, as capture files hold it) and snap length snaplen (0: the
 * largest). Returns 0, PR_FILTER_REJECTS_ALL (then no packet of idx
 * passes), -EINVAL when it does not compile for that link type (err:
 * "bad filter expression \"EXPR\" for interface IDX (link type LT):
 * <reason>"), -E2BIG for idx >= PR_FILTER_MAX_IFACES, or -ENOMEM. Adding
 * an interface twice replaces its program.
 */
int pr_filter_add_iface(struct pr_filter *f, uint32_t idx, uint32_t linktype, uint32_t snaplen,
			char *err, size_t errlen);

/*
 * Does a packet of interface idx pass? A packet of an interface never
 * added does not (unless the filter accepts everything). Per packet: no
 * allocation, no syscall; the thread that owns f.
 */
bool pr_filter_match(const struct pr_filter *f, uint32_t idx, const uint8_t *data, uint32_t cap_len,
		     uint32_t wire_len);

/* No expression: every packet passes. */
bool pr_filter_accepts_all(const struct pr_filter *f);
/* Interfaces added with a program, and those where nothing can pass. */
uint32_t pr_filter_ifaces_compiled(const struct pr_filter *f);
uint32_t pr_filter_ifaces_rejecting(const struct pr_filter *f);
const char *pr_filter_expr(const struct pr_filter *f); /* "" when it accepts all */

/*
 * Is expr made only of words that look at the link, IP and TCP/UDP/ICMP
 * headers of a flow's first kind of packet (host, net, port, src, dst,
 * tcp, udp, icmp, ip, ip6, proto, and, or, addresses, numbers)? Only for
 * such an expression does pr_filter_flow_may_match() decide anything:
 * "not", "vlan", "len", brackets or service names could pass a real
 * packet where the one built from the flow does not.
 */
bool pr_filter_is_simple(const char *expr);

/* What pr_filter_flow_may_match() knows of a flow. */
struct pr_filter_flow {
	uint32_t iface;
	uint8_t ip_version; /* 4 or 6; anything else: may match */
	uint8_t ip_proto;
	uint16_t vlan; /* outermost VLAN id, 0: untagged (the built packet carries it) */
	uint8_t src_ip[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst_ip[16];
	uint16_t src_port; /* ICMP: type << 8 | code */
	uint16_t dst_port; /* ICMP echo: identifier */
};

/*
 * Can a packet of this flow (on an Ethernet interface), in either
 * direction, pass a simple filter? Evaluated on an Ethernet/IP/L4 packet
 * built from the flow's VLAN tag, addresses, protocol and ports. true
 * whenever it cannot tell: an expression that is not simple, a flow that
 * is not IP, an interface never added.
 */
bool pr_filter_flow_may_match(const struct pr_filter *f, const struct pr_filter_flow *flow);

#endif /* PR_FILTER_H */
