// SPDX-License-Identifier: Apache-2.0
/*
 * Flow exports over UDP: NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX
 * (RFC 7011), recognised by their headers on any port. Every flow record
 * inside becomes a transaction of its own (addresses, ports, protocol,
 * TCP flags, interfaces, masks, next hop, packets, bytes, start and end),
 * and each export packet one more with its header and counts. v9 and
 * IPFIX data records need the template that describes them: templates
 * (and options templates) are kept per core, keyed by the exporter's flow,
 * the observation domain and the template id (L7_NF_TEMPLATES slots,
 * direct mapped); records whose template has not been seen are counted.
 * Options records are counted, not reported. Every set and field length
 * is checked against the packet. The window of these flows is unlimited:
 * the records are the point. Called by pr_l7.c on the dataplane core that
 * owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define V5_HDR 24
#define V5_REC 48
#define V5_MAX 30
#define V9_HDR 20
#define IPFIX_HDR 16
#define VARLEN 65535

/* Information elements (NetFlow v9 field types are the same numbers). */
#define IE_OCTETS 1
#define IE_PACKETS 2
#define IE_PROTO 4
#define IE_TCP_FLAGS 6
#define IE_SPORT 7
#define IE_SRC4 8
#define IE_SRC_MASK 9
#define IE_IN_IF 10
#define IE_DPORT 11
#define IE_DST4 12
#define IE_DST_MASK 13
#define IE_OUT_IF 14
#define IE_NEXT_HOP4 15
#define IE_LAST_UPTIME 21
#define IE_FIRST_UPTIME 22
#define IE_SRC6 27
#define IE_DST6 28
#define IE_SRC6_MASK 29
#define IE_DST6_MASK 30
#define IE_NEXT_HOP6 62
#define IE_OCTETS_TOTAL 85
#define IE_PACKETS_TOTAL 86
#define IE_START_S 150
#define IE_END_S 151
#define IE_START_MS 152
#define IE_END_MS 153

static uint64_t be_uint(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < n && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static struct pr_l7_netflow_record *record_begin(struct pr_l7_ctx *ctx, struct l7_flow *fl,
						 uint8_t d, uint16_t version, uint16_t tid)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_NETFLOW_RECORD);
	struct pr_l7_netflow_record *r = &t->u.nf_record;

	memset(r, 0, sizeof(*r));
	r->version = version;
	r->template_id = tid;
	return r;
}

static void v5(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p, uint32_t len,
	       struct pr_l7_netflow *h)
{
	h->sys_uptime_ms = l7_be32(p + 4);
	h->unix_secs = l7_be32(p + 8);
	h->sequence = l7_be32(p + 16);
	h->source_id = (uint32_t)p[20] << 8 | p[21];
	h->sampling = l7_be16(p + 22);
	for (uint32_t i = 0; i < h->count && V5_HDR + V5_REC * (i + 1) <= len; i++) {
		const uint8_t *e = p + V5_HDR + V5_REC * i;
		struct pr_l7_netflow_record *r = record_begin(ctx, fl, d, 5, 0);

		l7_addr_text(r->src, e, 4);
		l7_addr_text(r->dst, e + 4, 4);
		l7_addr_text(r->next_hop, e + 8, 4);
		r->in_if = l7_be16(e + 12);
		r->out_if = l7_be16(e + 14);
		r->packets = l7_be32(e + 16);
		r->bytes = l7_be32(e + 20);
		r->first = l7_be32(e + 24);
		r->last = l7_be32(e + 28);
		r->sport = l7_be16(e + 32);
		r->dport = l7_be16(e + 34);
		r->tcp_flags = e[37];
		r->proto = e[38];
		r->src_mask = e[44];
		r->dst_mask = e[45];
		l7_txn_emit(ctx);
		h->n_records++;
	}
}

static struct l7_nf_template *template_slot(struct pr_l7_ctx *ctx, uint64_t flow_id,
					    uint32_t domain, uint16_t id)
{
	uint64_t h = flow_id * 0x9e3779b97f4a7c15ull ^ (uint64_t)domain << 16 ^ id;

	h ^= h >> 29;
	return &ctx->nf_templates[(h * 0xbf58476d1ce4e5b9ull >> 40) % L7_NF_TEMPLATES];
}

static struct l7_nf_template *template_find(struct pr_l7_ctx *ctx, uint64_t flow_id,
					    uint32_t domain, uint16_t id)
{
	struct l7_nf_template *t = template_slot(ctx, flow_id, domain, id);

	return t->used && t->flow_id == flow_id && t->domain == domain && t->id == id ? t : NULL;
}

/*
 * One template (or options template) record at r: fields of 4 bytes
 * (IPFIX: 8 with an enterprise number). False when it does not parse.
 */
static bool template_rec(struct pr_l7_ctx *ctx, struct l7_rd *r, bool ipfix, bool options,
			 uint64_t flow_id, uint32_t domain, struct pr_l7_netflow *h)
{
	uint16_t id = l7_rd_u16(r), count = l7_rd_u16(r);
	struct l7_nf_template *t;
	struct l7_nf_template tmp;

	if (options) {
		/*
		 * IPFIX: the scope field count follows (scope fields come first
		 * among count fields); v9: scope and option lengths in bytes.
		 */
		if (ipfix) {
			l7_rd_u16(r);
		} else {
			uint16_t sl = count, ol = l7_rd_u16(r);

			if ((sl | ol) & 3)
				return false;
			count = (uint16_t)((sl + ol) / 4);
		}
	}
	if (r->bad || id < 256)
		return false;
	memset(&tmp, 0, sizeof(tmp));
	tmp.flow_id = flow_id;
	tmp.domain = domain;
	tmp.id = id;
	tmp.options = options;
	tmp.used = 1;
	for (uint16_t i = 0; i < count; i++) {
		uint16_t type = l7_rd_u16(r), flen = l7_rd_u16(r);

		if (ipfix && (type & 0x8000))
			l7_rd_u32(r); /* enterprise number */
		if (r->bad)
			return false;
		if (i < L7_NF_FIELDS) {
			tmp.f[i].type = type;
			tmp.f[i].len = flen;
		}
	}
	if (count > L7_NF_FIELDS || (!count && !ipfix))
		return false;
	t = template_slot(ctx, flow_id, domain, id);
	if (!count) {
		/* IPFIX template withdrawal. */
		if (t->used && t->flow_id == flow_id && t->domain == domain && t->id == id)
			t->used = 0;
		return true;
	}
	tmp.n_fields = count;
	*t = tmp;
	h->n_templates++;
	return true;
}

/* The fields of one data record into r (a record transaction being filled). */
static bool all_zero(const uint8_t *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i])
			return false;
	return true;
}

/* An address field: templates that carry both families fill the other with zeros. */
static void set_addr(char *dst, const uint8_t *v, uint32_t n)
{
	if (!dst[0] || !all_zero(v, n))
		l7_addr_text(dst, v, n);
}

static void field(struct pr_l7_netflow_record *r, uint16_t type, const uint8_t *v, uint32_t n,
		  bool *have_total)
{
	switch (type) {
	case IE_OCTETS:
		if (!have_total[0])
			r->bytes = be_uint(v, n);
		break;
	case IE_OCTETS_TOTAL:
		r->bytes = be_uint(v, n);
		have_total[0] = true;
		break;
	case IE_PACKETS:
		if (!have_total[1])
			r->packets = be_uint(v, n);
		break;
	case IE_PACKETS_TOTAL:
		r->packets = be_uint(v, n);
		have_total[1] = true;
		break;
	case IE_PROTO:
		r->proto = (uint8_t)be_uint(v, n);
		break;
	case IE_TCP_FLAGS:
		r->tcp_flags = (uint8_t)be_uint(v, n);
		break;
	case IE_SPORT:
		r->sport = (uint16_t)be_uint(v, n);
		break;
	case IE_DPORT:
		r->dport = (uint16_t)be_uint(v, n);
		break;
	case IE_SRC4:
	case IE_SRC6:
		set_addr(r->src, v, n);
		break;
	case IE_DST4:
	case IE_DST6:
		set_addr(r->dst, v, n);
		break;
	case IE_NEXT_HOP4:
	case IE_NEXT_HOP6:
		set_addr(r->next_hop, v, n);
		break;
	case IE_SRC_MASK:
	case IE_SRC6_MASK:
		r->src_mask = (uint8_t)be_uint(v, n);
		break;
	case IE_DST_MASK:
	case IE_DST6_MASK:
		r->dst_mask = (uint8_t)be_uint(v, n);
		break;
	case IE_IN_IF:
		r->in_if = (uint32_t)be_uint(v, n);
		break;
	case IE_OUT_IF:
		r->out_if = (uint32_t)be_uint(v, n);
		break;
	case IE_FIRST_UPTIME:
	case IE_START_MS:
		r->first = be_uint(v, n);
		break;
	case IE_LAST_UPTIME:
	case IE_END_MS:
		r->last = be_uint(v, n);
		break;
	case IE_START_S:
		r->first = be_uint(v, n) * 1000;
		break;
	case IE_END_S:
		r->last = be_uint(v, n) * 1000;
		break;
	default:
		break;
	}
}

/* Data records of a set described by template t, until fewer bytes than a record remain. */
static void data_set(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d,
		     const struct l7_nf_template *t, struct l7_rd r, uint16_t version,
		     struct pr_l7_netflow *h)
{
	uint32_t min = 0;

	for (uint16_t i = 0; i < t->n_fields; i++)
		min += t->f[i].len == VARLEN ? 1 : t->f[i].len;
	if (!min)
		return;
	while (l7_rd_left(&r) >= min) {
		struct pr_l7_netflow_record *rec = NULL;
		bool have_total[2] = { false, false };

		if (!t->options)
			rec = record_begin(ctx, fl, d, version, t->id);
		for (uint16_t i = 0; i < t->n_fields; i++) {
			uint32_t n = t->f[i].len;
			const uint8_t *v;

			if (n == VARLEN) {
				n = l7_rd_u8(&r);
				if (n == 255)
					n = l7_rd_u16(&r);
			}
			v = l7_rd_bytes(&r, n);
			if (!v)
				return; /* a record cut short: not reported */
			if (rec && !(t->f[i].type & 0x8000))
				field(rec, t->f[i].type, v, n, have_total);
		}
		if (t->options) {
			h->n_options++;
		} else {
			l7_txn_emit(ctx);
			h->n_records++;
		}
	}
}

/* v9 flowsets or IPFIX sets after the header. */
static void sets(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		 uint32_t len, uint32_t hdr, bool ipfix, struct pr_l7_netflow *h)
{
	struct l7_rd r;
	uint64_t flow_id = ctx->pkt ? ctx->pkt->flow_id : 0;

	/* An IPFIX length field may claim less than its own header. */
	if (len < hdr) {
		ctx->st.malformed++;
		return;
	}
	r = l7_rd_make(p + hdr, len - hdr);

	while (l7_rd_left(&r) >= 4) {
		uint16_t id = l7_rd_u16(&r), slen = l7_rd_u16(&r);
		struct l7_rd s;

		if (slen < 4 || slen - 4u > l7_rd_left(&r)) {
			ctx->st.malformed++;
			return;
		}
		s = l7_rd_sub(&r, slen - 4u);
		h->n_sets++;
		if (id == (ipfix ? 2 : 0) || id == (ipfix ? 3 : 1)) {
			bool options = id == (ipfix ? 3 : 1);

			/* Records until what is left is padding. */
			while (l7_rd_left(&s) >= 4)
				if (!template_rec(ctx, &s, ipfix, options, flow_id, h->source_id,
						  h))
					break;
			if (options)
				h->n_options++;
		} else if (id >= 256) {
			const struct l7_nf_template *t =
				template_find(ctx, flow_id, h->source_id, id);

			if (t)
				data_set(ctx, fl, d, t, s, h->version, h);
			else
				h->n_unknown++;
		}
	}
}

static uint32_t netflow_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			      const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_netflow h;
	struct pr_l7_txn *t;

	memset(&h, 0, sizeof(h));
	if (len < IPFIX_HDR) {
		ctx->st.malformed++;
		return len;
	}
	h.version = l7_be16(p);
	h.length = len;
	if (h.version == 5 && len >= V5_HDR) {
		h.count = l7_be16(p + 2);
		v5(ctx, fl, d, p, len, &h);
	} else if (h.version == 9 && len >= V9_HDR) {
		h.count = l7_be16(p + 2);
		h.sys_uptime_ms = l7_be32(p + 4);
		h.unix_secs = l7_be32(p + 8);
		h.sequence = l7_be32(p + 12);
		h.source_id = l7_be32(p + 16);
		sets(ctx, fl, d, p, len, V9_HDR, false, &h);
	} else if (h.version == 10) {
		h.unix_secs = l7_be32(p + 4);
		h.sequence = l7_be32(p + 8);
		h.source_id = l7_be32(p + 12);
		/* The message length bounds the sets (a datagram holds one message). */
		sets(ctx, fl, d, p, PR_MIN(len, (uint32_t)l7_be16(p + 2)), IPFIX_HDR, true, &h);
	} else {
		ctx->st.malformed++;
		return len;
	}
	/* The export packet last: its counts are known now. */
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_NETFLOW_EXPORT);
	t->u.netflow = h;
	l7_txn_emit(ctx);
	return len;
}

/* v9 flowsets that chain to the end of the datagram (padding under 4 bytes allowed). */
static bool v9_chain(const uint8_t *p, uint32_t len)
{
	uint32_t off = V9_HDR;

	while (len - off >= 4) {
		uint16_t id = l7_be16(p + off), sl = l7_be16(p + off + 2);

		if ((id > 1 && id < 256) || sl < 4 || sl > len - off)
			return false;
		off += sl;
	}
	return off > V9_HDR;
}

/* A header whose lengths agree with the datagram: v5 exactly, IPFIX exactly, v9 by its chain. */
static bool netflow_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port,
			   uint16_t server_port, const uint8_t *p, uint32_t len)
{
	uint16_t v, c;

	(void)ip_proto;
	(void)dir;
	(void)client_port;
	(void)server_port;
	if (len < IPFIX_HDR)
		return false;
	v = l7_be16(p);
	c = l7_be16(p + 2);
	if (v == 5)
		return c >= 1 && c <= V5_MAX && len == V5_HDR + (uint32_t)V5_REC * c;
	if (v == 10)
		return c == len && len >= IPFIX_HDR + 4;
	if (v == 9)
		return len >= V9_HDR + 4 && v9_chain(p, len);
	return false;
}

static void netflow_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_netflow_ops = {
	.name = "netflow",
	.app_id = PR_L7_APP_NETFLOW,
	.l4 = PR_L7_L4_UDP,
	.detect = netflow_detect,
	.init = netflow_init,
	.parse = netflow_parse,
};
