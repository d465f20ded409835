// SPDX-License-Identifier: Apache-2.0
/*
 * The capture XDP program of the afxdp backend. Runs in the kernel on
 * every frame the interface receives, on the CPU of its rx queue: counts
 * it, drops it early when a rule matches (protocol, port, IPv4/IPv6
 * prefix; see pr_xdp_capture_shared.h), and otherwise redirects it to the
 * AF_XDP socket bound to its rx queue. A queue without a socket passes the
 * frame on to the kernel stack, counted, so that loading the program never
 * blackholes traffic that nobody captures.
 *
 * No CO-RE and no kernel types: the machines it runs on have no kernel BTF,
 * and the only structs it reads are the wire formats from uapi headers.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "pr_xdp_capture_shared.h"

#define VLAN_MAX_DEPTH 2

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, PR_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} pr_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_xdp_counters);
} pr_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_xdp_rules);
} pr_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} pr_drop_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} pr_drop_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PR_XDP_LPM_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pr_xdp_lpm_v4);
	__type(value, __u8);
} pr_drop_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PR_XDP_LPM_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pr_xdp_lpm_v6);
	__type(value, __u8);
} pr_drop_v6 SEC(".maps");

/* What the parser found: enough for the rules, nothing more. */
struct pkt_info {
	__u8 l4proto;
	__u8 has_ports;
	__u8 family; /* 4, 6 or 0 (not IP) */
	__u16 sport, dport; /* host order */
	__u8 saddr[16], daddr[16];
};

static __always_inline int parse(void *data, void *data_end, struct pkt_info *pi)
{
	struct ethhdr *eth = data;
	void *cur = data;
	__u16 proto;
	__u8 l4;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -1;
	proto = eth->h_proto;
	cur = eth + 1;
#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		struct vlan_hdr *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return -1;
		proto = vh->encap_proto;
		cur = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cur;
		__u32 hl;

		if ((void *)(ip + 1) > data_end)
			return -1;
		hl = ip->ihl * 4;
		if (hl < sizeof(*ip))
			return -1;
		pi->family = 4;
		__builtin_memcpy(pi->saddr, &ip->saddr, 4);
		__builtin_memcpy(pi->daddr, &ip->daddr, 4);
		l4 = ip->protocol;
		pi->l4proto = l4;
		/* Only the first fragment carries the ports. */
		if (ip->frag_off & bpf_htons(0x1fff))
			return 0;
		cur = (void *)ip + hl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cur;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		pi->family = 6;
		__builtin_memcpy(pi->saddr, &ip6->saddr, 16);
		__builtin_memcpy(pi->daddr, &ip6->daddr, 16);
		/* Extension headers are not walked: their ports stay unknown. */
		l4 = ip6->nexthdr;
		pi->l4proto = l4;
		cur = ip6 + 1;
	} else {
		return 0;
	}
	if (l4 == IPPROTO_TCP || l4 == IPPROTO_UDP) {
		/* Both start with source and destination port. */
		struct udphdr *uh = cur;

		if ((void *)(uh + 1) > data_end)
			return 0;
		pi->sport = bpf_ntohs(uh->source);
		pi->dport = bpf_ntohs(uh->dest);
		pi->has_ports = 1;
	}
	return 0;
}

static __always_inline int prefix_match(const struct pkt_info *pi)
{
	if (pi->family == 4) {
		struct pr_xdp_lpm_v4 k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, pi->saddr, 4);
		if (bpf_map_lookup_elem(&pr_drop_v4, &k))
			return 1;
		__builtin_memcpy(k.addr, pi->daddr, 4);
		return bpf_map_lookup_elem(&pr_drop_v4, &k) != NULL;
	}
	if (pi->family == 6) {
		struct pr_xdp_lpm_v6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, pi->saddr, 16);
		if (bpf_map_lookup_elem(&pr_drop_v6, &k))
			return 1;
		__builtin_memcpy(k.addr, pi->daddr, 16);
		return bpf_map_lookup_elem(&pr_drop_v6, &k) != NULL;
	}
	return 0;
}

/* Which counter a rule hit goes to, or -1: no rule matches. */
static __always_inline int rule_verdict(struct xdp_md *ctx, __u32 flags)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt_info pi = {};

	/* A frame too short to parse is captured: the decoder names what is wrong. */
	if (parse(data, data_end, &pi) || !pi.family)
		return -1;
	if ((flags & (PR_XDP_RULE_V4 | PR_XDP_RULE_V6)) && prefix_match(&pi))
		return PR_XDP_DROP_PREFIX;
	if (flags & PR_XDP_RULE_PROTO) {
		__u32 k = pi.l4proto;
		__u8 *v = bpf_map_lookup_elem(&pr_drop_proto, &k);

		if (v && *v)
			return PR_XDP_DROP_PROTO;
	}
	if ((flags & PR_XDP_RULE_PORT) && pi.has_ports) {
		__u8 want = pi.l4proto == IPPROTO_TCP ? PR_XDP_PORT_TCP : PR_XDP_PORT_UDP;
		__u32 k = pi.sport;
		__u8 *v = bpf_map_lookup_elem(&pr_drop_port, &k);

		if (v && (*v & want))
			return PR_XDP_DROP_PORT;
		k = pi.dport;
		v = bpf_map_lookup_elem(&pr_drop_port, &k);
		if (v && (*v & want))
			return PR_XDP_DROP_PORT;
	}
	return -1;
}

SEC("xdp")
int pr_xdp_capture(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct pr_xdp_counters *cnt = bpf_map_lookup_elem(&pr_counters, &zero);
	struct pr_xdp_rules *rules = bpf_map_lookup_elem(&pr_rules, &zero);
	long act;

	/* Neither can happen for arrays of one entry; not armed: not capturing yet. */
	if (!cnt || !rules || !rules->armed)
		return XDP_PASS;
	cnt->c[PR_XDP_SEEN]++;
	if (rules->flags) {
		int why = rule_verdict(ctx, rules->flags);

		if (why >= 0 && why < PR_XDP_COUNTER_MAX) {
			cnt->c[why]++;
			return XDP_DROP;
		}
	}
	/*
	 * The flags argument is the action when the queue has no socket:
	 * XDP_PASS, so the frame reaches the stack as without us.
	 */
	act = bpf_redirect_map(&pr_xsks, ctx->rx_queue_index, XDP_PASS);
	if (act == XDP_REDIRECT)
		cnt->c[PR_XDP_REDIRECTED]++;
	else
		cnt->c[PR_XDP_NO_SOCKET]++;
	return (int)act;
}

char _license[] SEC("license") = "Dual BSD/GPL";
