// SPDX-License-Identifier: Apache-2.0
/*
 * sFlow over UDP port 6343 (sFlow v5, and the header of v2 and v4): one
 * transaction per datagram with the agent address, sub-agent, sequence,
 * uptime, the sample count the header announces, and, for v5, how many
 * flow and counter samples (compact and expanded) it carries and the
 * sampling rate of the first flow sample. Every sample length is checked
 * against the datagram. The window of these flows is unlimited. Called by
 * pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define FLOW_SAMPLE 1
#define COUNTER_SAMPLE 2
#define FLOW_SAMPLE_EXP 3
#define COUNTER_SAMPLE_EXP 4

static uint32_t sflow_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			    const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct l7_rd r = l7_rd_make(p, len);
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SFLOW);
	struct pr_l7_sflow *s = &t->u.sflow;
	uint32_t atype;
	const uint8_t *a;

	memset(s, 0, sizeof(*s));
	s->version = l7_rd_u32(&r);
	atype = l7_rd_u32(&r);
	a = l7_rd_bytes(&r, atype == 2 ? 16 : 4);
	if (a && (atype == 1 || atype == 2))
		l7_addr_text(s->agent, a, atype == 2 ? 16 : 4);
	if (s->version == 5)
		s->sub_agent = l7_rd_u32(&r);
	s->sequence = l7_rd_u32(&r);
	s->uptime_ms = l7_rd_u32(&r);
	s->n_samples = l7_rd_u32(&r);
	if (r.bad) {
		ctx->st.malformed++;
		return len;
	}
	/* v2 and v4 samples have no length field: their header is all we read. */
	for (uint32_t i = 0; s->version == 5 && i < s->n_samples && l7_rd_left(&r) >= 8; i++) {
		uint32_t fmt = l7_rd_u32(&r);
		struct l7_rd b = l7_rd_sub(&r, l7_rd_u32(&r));

		if (b.bad) {
			ctx->st.malformed++;
			break;
		}
		/* Enterprise 0 (sFlow.org) in the top 20 bits, the format below. */
		if (fmt >> 12)
			continue;
		switch (fmt & 0xfff) {
		case FLOW_SAMPLE:
			if (!s->n_flow++ && l7_rd_left(&b) >= 12)
				s->sampling_rate = l7_be32(b.p + 8);
			break;
		case FLOW_SAMPLE_EXP:
			if (!s->n_flow++ && l7_rd_left(&b) >= 16)
				s->sampling_rate = l7_be32(b.p + 12);
			break;
		case COUNTER_SAMPLE:
		case COUNTER_SAMPLE_EXP:
			s->n_counter++;
			break;
		default:
			break;
		}
	}
	l7_txn_emit(ctx);
	return len;
}

/* Port 6343, a version sFlow had, an agent address type. */
static bool sflow_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			 const uint8_t *p, uint32_t len)
{
	uint32_t v;

	(void)ip_proto;
	(void)dir;
	if (server_port != 6343 && client_port != 6343)
		return false;
	if (len < 28)
		return false;
	v = l7_be32(p);
	return (v == 2 || v == 4 || v == 5) && (l7_be32(p + 4) == 1 || l7_be32(p + 4) == 2);
}

static void sflow_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_sflow_ops = {
	.name = "sflow",
	.app_id = PR_L7_APP_SFLOW,
	.l4 = PR_L7_L4_UDP,
	.detect = sflow_detect,
	.init = sflow_init,
	.parse = sflow_parse,
};
