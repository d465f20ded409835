// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_filter.h over libpcap: pcap_compile() on a "dead"
 * handle of the interface's link type, pcap_offline_filter() per packet.
 * libpcap reports an expression that is valid but can never match a link
 * type as a compile error containing "rejects all packets"; that one error
 * is a verdict (PR_FILTER_REJECTS_ALL), every other is an error.
 */
#include "pr_filter.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_linktype.h"

enum iface_state {
	IF_NONE = 0, /* never added: nothing passes */
	IF_PROGRAM, /* prog holds the compiled expression */
	IF_REJECTS_ALL, /* valid, but nothing of this link type can pass */
};

struct pr_filter {
	bool accept_all;
	bool simple; /* pr_filter_is_simple(expr), asked once per flow of a skip list */
	uint32_t compiled, rejecting;
	char *expr;
	uint8_t state[PR_FILTER_MAX_IFACES];
	struct bpf_program prog[PR_FILTER_MAX_IFACES];
};

/* Compile expr for dlt. 0, PR_FILTER_REJECTS_ALL, or -EINVAL/-ENOMEM with why in reason. */
static int compile(const char *expr, int dlt, uint32_t snaplen, struct bpf_program *prog,
		   char *reason, size_t len)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, (int)(snaplen ? snaplen : 262144),
							    PCAP_TSTAMP_PRECISION_NANO);
	int ret = 0;

	if (!dead) {
		snprintf(reason, len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (pcap_compile(dead, prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		/*
		 * "arp" on a raw-IP interface: valid, it just selects nothing
		 * there. Captures mix link types, so only other errors are errors.
		 */
		ret = strstr(pcap_geterr(dead), "rejects all packets") ? PR_FILTER_REJECTS_ALL :
									 -EINVAL;
		snprintf(reason, len, "%s", pcap_geterr(dead));
	}
	pcap_close(dead);
	return ret;
}

int pr_filter_check(const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	char why[PCAP_ERRBUF_SIZE];
	int ret;

	if (!expr || !expr[0])
		return 0;
	if (strnlen(expr, PR_FILTER_MAX_LEN + 1) > PR_FILTER_MAX_LEN) {
		snprintf(err, errlen,
			 "filter: %zu bytes, more than %d (the limit: libpcap takes seconds to "
			 "compile longer expressions)",
			 strlen(expr), PR_FILTER_MAX_LEN);
		return -EINVAL;
	}
	ret = compile(expr, DLT_EN10MB, 65535, &prog, why, sizeof(why));
	if (ret == 0) {
		pcap_freecode(&prog);
		return 0;
	}
	if (ret == -ENOMEM) {
		snprintf(err, errlen, "filter: %s", why);
		return ret;
	}
	/* One that can match no Ethernet packet is refused too, as libpcap refuses it. */
	snprintf(err, errlen, "bad filter expression \"%s\": %s", expr, why);
	return -EINVAL;
}

int pr_filter_create(const char *expr, struct pr_filter **out, char *err, size_t errlen)
{
	struct pr_filter *f;
	int ret;

	*out = NULL;
	ret = pr_filter_check(expr, err, errlen);
	if (ret)
		return ret;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->expr = strdup(expr ? expr : ""))) {
		free(f);
		snprintf(err, errlen, "filter: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	f->accept_all = !f->expr[0];
	f->simple = pr_filter_is_simple(f->expr);
	*out = f;
	return 0;
}

void pr_filter_destroy(struct pr_filter *f)
{
	if (!f)
		return;
	for (uint32_t i = 0; i < PR_FILTER_MAX_IFACES; i++)
		if (f->state[i] == IF_PROGRAM)
			pcap_freecode(&f->prog[i]);
	free(f->expr);
	free(f);
}

int pr_filter_add_iface(struct pr_filter *f, uint32_t idx, uint32_t linktype, uint32_t snaplen,
			char *err, size_t errlen)
{
	struct bpf_program prog;
	char why[PCAP_ERRBUF_SIZE];
	int ret;

	if (idx >= PR_FILTER_MAX_IFACES) {
		snprintf(err, errlen, "filter: interface %u: at most %d interfaces", idx,
			 PR_FILTER_MAX_IFACES);
		return -E2BIG;
	}
	if (f->accept_all)
		return 0;
	ret = compile(f->expr, pr_linktype_to_dlt(linktype), snaplen, &prog, why, sizeof(why));
	if (ret < 0) {
		if (ret == -EINVAL)
			snprintf(err, errlen,
				 "bad filter expression \"%s\" for interface %u (link type %u): %s",
				 f->expr, idx, linktype, why);
		else
			snprintf(err, errlen, "filter: %s", why);
		return ret;
	}
	if (f->state[idx] == IF_PROGRAM) {
		pcap_freecode(&f->prog[idx]);
		f->compiled--;
	} else if (f->state[idx] == IF_REJECTS_ALL) {
		f->rejecting--;
	}
	if (ret == PR_FILTER_REJECTS_ALL) {
		f->state[idx] = IF_REJECTS_ALL;
		f->rejecting++;
	} else {
		f->prog[idx] = prog;
		f->state[idx] = IF_PROGRAM;
		f->compiled++;
	}
	return ret;
}

bool pr_filter_match(const struct pr_filter *f, uint32_t idx, const uint8_t *data, uint32_t cap_len,
		     uint32_t wire_len)
{
	struct pcap_pkthdr h;

	if (f->accept_all)
		return true;
	if (idx >= PR_FILTER_MAX_IFACES || f->state[idx] != IF_PROGRAM)
		return false;
	memset(&h, 0, sizeof(h));
	h.caplen = cap_len;
	h.len = wire_len;
	return pcap_offline_filter(&f->prog[idx], &h, data) != 0;
}

bool pr_filter_accepts_all(const struct pr_filter *f)
{
	return f->accept_all;
}

uint32_t pr_filter_ifaces_compiled(const struct pr_filter *f)
{
	return f->compiled;
}

uint32_t pr_filter_ifaces_rejecting(const struct pr_filter *f)
{
	return f->rejecting;
}

const char *pr_filter_expr(const struct pr_filter *f)
{
	return f->expr;
}

bool pr_filter_is_simple(const char *expr)
{
	static const char *const words[] = { "host", "net",   "mask", "port", "portrange", "src",
					     "dst",  "tcp",   "udp",  "icmp", "icmp6",	   "ip",
					     "ip6",  "proto", "and",  "or",   "&&",	   "||" };
	char tok[128];
	size_t n = 0;
	bool ok = true;

	if (!expr)
		return false;
	for (const char *p = expr;; p++) {
		bool end = !*p || *p == ' ' || *p == '\t' || *p == '(' || *p == ')';

		if (!end) {
			if (n + 1 >= sizeof(tok))
				return false;
			tok[n++] = *p;
			continue;
		}
		if (n) {
			bool w;

			tok[n] = 0;
			w = strspn(tok, "0123456789abcdefABCDEF:./-") == n;
			for (size_t i = 0; !w && i < sizeof(words) / sizeof(words[0]); i++)
				w = !strcmp(tok, words[i]);
			/* A word of hex letters alone is a host name to libpcap: it fails to compile. */
			ok = ok && w;
			n = 0;
		}
		if (!*p)
			break;
	}
	return ok;
}

/* IP and L4 headers of a packet of flow f, one direction; returns their length. */
static size_t put_ip_l4(uint8_t *p, const struct pr_filter_flow *f, bool rev)
{
	const uint8_t *sa = rev ? f->dst_ip : f->src_ip, *da = rev ? f->src_ip : f->dst_ip;
	uint16_t sp = rev ? f->dst_port : f->src_port, dp = rev ? f->src_port : f->dst_port;
	size_t l3, l4 = f->ip_proto == 6 ? 20 : 8;

	if (f->ip_version == 4) {
		l3 = 20;
		p[0] = 0x45;
		p[2] = (uint8_t)((l3 + l4) >> 8);
		p[3] = (uint8_t)(l3 + l4);
		p[8] = 64;
		p[9] = f->ip_proto;
		memcpy(p + 12, sa, 4);
		memcpy(p + 16, da, 4);
	} else {
		l3 = 40;
		p[0] = 0x60;
		p[4] = (uint8_t)(l4 >> 8);
		p[5] = (uint8_t)l4;
		p[6] = f->ip_proto;
		p[7] = 64;
		memcpy(p + 8, sa, 16);
		memcpy(p + 24, da, 16);
	}
	p += l3;
	if (f->ip_proto == 1 || f->ip_proto == 58) {
		/* The flow keeps ICMP type << 8 | code and the echo identifier as ports. */
		p[0] = (uint8_t)(f->src_port >> 8);
		p[1] = (uint8_t)f->src_port;
		p[4] = (uint8_t)(f->dst_port >> 8);
		p[5] = (uint8_t)f->dst_port;
	} else {
		p[0] = (uint8_t)(sp >> 8);
		p[1] = (uint8_t)sp;
		p[2] = (uint8_t)(dp >> 8);
		p[3] = (uint8_t)dp;
		if (f->ip_proto == 6) {
			p[12] = 0x50;
			p[13] = 0x10; /* ACK */
		}
	}
	return l3 + l4;
}

/*
 * A flow seen under a VLAN tag is tried with that tag in front: a simple
 * expression looks for IP at the Ethernet type, so it matches no tagged
 * frame, and such flows are ruled out as exactly as the others (a tenth
 * of the flows of `generate`'s mix, whose blocks were read for every
 * filter while tagged flows counted as "may match").
 */
bool pr_filter_flow_may_match(const struct pr_filter *f, const struct pr_filter_flow *flow)
{
	uint8_t pkt[18 + 40 + 20];
	size_t l2 = flow->vlan ? 18 : 14;

	if (f->accept_all)
		return true;
	if ((flow->ip_version != 4 && flow->ip_version != 6) ||
	    flow->iface >= PR_FILTER_MAX_IFACES || f->state[flow->iface] == IF_NONE || !f->simple)
		return true;
	for (int rev = 0; rev < 2; rev++) {
		uint32_t len;

		memset(pkt, 0, sizeof(pkt));
		memset(pkt, 2, 12);
		if (flow->vlan) {
			pkt[12] = 0x81;
			pkt[14] = (uint8_t)(flow->vlan >> 8 & 0x0f);
			pkt[15] = (uint8_t)flow->vlan;
		}
		pkt[l2 - 2] = flow->ip_version == 4 ? 0x08 : 0x86;
		pkt[l2 - 1] = flow->ip_version == 4 ? 0x00 : 0xdd;
		len = (uint32_t)(l2 + put_ip_l4(pkt + l2, flow, rev));
		if (pr_filter_match(f, flow->iface, pkt, len, len))
			return true;
	}
	return false;
}
