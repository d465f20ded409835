// SPDX-License-Identifier: Apache-2.0
/*
 * SCTP chunks (RFC 9260, with the chunk types of RFC 4895, 5061, 6525,
 * 8260 and 3758). The parser gets each packet from the SCTP common header
 * on and walks its chunks by their lengths (padded to 4 bytes). One
 * transaction per packet: the verification tag, the chunk types in order,
 * the association set-up of INIT and INIT ACK (initiate tag, window,
 * streams, initial TSN), the DATA and I-DATA chunks (count, user bytes,
 * their payload protocol identifiers: 46 Diameter, 18 S1AP, 60 NGAP, ...)
 * and the first error cause of ABORT and ERROR. The direction's window
 * bounds how many packets of an association are described. Called by
 * pr_l7.c on the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define SCTP_HDR 12
#define CHUNK_HDR 4

enum {
	C_DATA = 0,
	C_INIT = 1,
	C_INIT_ACK = 2,
	C_ABORT = 6,
	C_ERROR = 9,
	C_I_DATA = 64,
};

static const char *chunk_name(uint8_t type)
{
	static const char *const n[] = {
		[0] = "DATA",  [1] = "INIT",	     [2] = "INIT_ACK",
		[3] = "SACK",  [4] = "HEARTBEAT",    [5] = "HEARTBEAT_ACK",
		[6] = "ABORT", [7] = "SHUTDOWN",     [8] = "SHUTDOWN_ACK",
		[9] = "ERROR", [10] = "COOKIE_ECHO", [11] = "COOKIE_ACK",
		[12] = "ECNE", [13] = "CWR",	     [14] = "SHUTDOWN_COMPLETE",
		[15] = "AUTH",
	};

	if (type < sizeof(n) / sizeof(n[0]))
		return n[type];
	switch (type) {
	case 64:
		return "I_DATA";
	case 128:
		return "ASCONF_ACK";
	case 130:
		return "RE_CONFIG";
	case 132:
		return "PAD";
	case 192:
		return "FORWARD_TSN";
	case 193:
		return "ASCONF";
	case 194:
		return "I_FORWARD_TSN";
	default:
		return NULL;
	}
}

/* Append an item if it fits whole. */
static void item(struct l7_sb *sb, const char *s, size_t n)
{
	if (sb->len + 1 + n < sb->cap) {
		l7_sb_sep(sb);
		l7_sb_putn(sb, s, n);
	} else {
		sb->cut = true;
	}
}

/* A payload protocol id, once per packet. */
static void ppid(struct l7_sb *sb, uint32_t id, uint32_t *seen, uint32_t *n_seen)
{
	char tmp[12];
	struct l7_sb one;

	for (uint32_t i = 0; i < *n_seen; i++)
		if (seen[i] == id)
			return;
	if (*n_seen < 8)
		seen[(*n_seen)++] = id;
	l7_sb_init(&one, tmp, sizeof(tmp));
	l7_sb_u32(&one, id);
	item(sb, tmp, one.len);
}

static uint32_t sctp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct pr_l7_txn *t;
	struct pr_l7_sctp *s;
	struct l7_sb chunks, ppids;
	uint32_t off = SCTP_HDR, seen[8], n_seen = 0;

	if (len < SCTP_HDR + CHUNK_HDR) {
		ctx->st.malformed++;
		return len;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SCTP);
	s = &t->u.sctp;
	memset(s, 0, sizeof(*s));
	l7_sb_init(&chunks, s->chunks, sizeof(s->chunks));
	l7_sb_init(&ppids, s->ppids, sizeof(s->ppids));
	s->vtag = l7_be32(p + 4);
	while (off + CHUNK_HDR <= len) {
		const uint8_t *c = p + off;
		uint8_t type = c[0];
		uint32_t clen = l7_be16(c + 2);
		const char *name = chunk_name(type);
		char tmp[16];
		struct l7_sb one;

		if (clen < CHUNK_HDR || clen > len - off) {
			s->flags |= PR_L7_SCTP_MALFORMED;
			break;
		}
		if (s->n_chunks < 0xffff)
			s->n_chunks++;
		l7_sb_init(&one, tmp, sizeof(tmp));
		if (name) {
			l7_sb_putn(&one, name, strlen(name));
		} else {
			l7_sb_putn(&one, "TYPE_", 5);
			l7_sb_u32(&one, type);
		}
		item(&chunks, tmp, one.len);
		switch (type) {
		case C_DATA:
		case C_I_DATA:
			/* DATA: TSN, stream, stream sequence, PPID; I-DATA: TSN, stream, MID, PPID/FSN. */
			if (clen < (type == C_DATA ? 16u : 20u))
				break;
			if (s->n_data < 0xffff)
				s->n_data++;
			s->data_bytes += clen - (type == C_DATA ? 16u : 20u);
			/* An I-DATA's PPID is only in the first fragment (B flag). */
			if (type == C_DATA || (c[1] & 0x02))
				ppid(&ppids, l7_be32(c + (type == C_DATA ? 12 : 16)), seen,
				     &n_seen);
			break;
		case C_INIT:
		case C_INIT_ACK:
			if (clen < 20)
				break;
			s->initiate_tag = l7_be32(c + 4);
			s->a_rwnd = l7_be32(c + 8);
			s->out_streams = l7_be16(c + 12);
			s->in_streams = l7_be16(c + 14);
			s->initial_tsn = l7_be32(c + 16);
			break;
		case C_ABORT:
		case C_ERROR:
			if (clen >= 8 && !s->cause)
				s->cause = l7_be16(c + 4);
			break;
		default:
			break;
		}
		off += (clen + 3) & ~3u;
	}
	if (chunks.cut || ppids.cut)
		s->flags |= PR_L7_SCTP_LISTS_CUT;
	l7_txn_emit(ctx);
	return len;
}

/* IP protocol 132, a common header and a first chunk whose length fits. */
static bool sctp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	(void)dir;
	(void)client_port;
	(void)server_port;
	return ip_proto == PR_L7_PROTO_SCTP && len >= SCTP_HDR + CHUNK_HDR &&
	       l7_be16(p + SCTP_HDR + 2) >= CHUNK_HDR &&
	       l7_be16(p + SCTP_HDR + 2) <= len - SCTP_HDR;
}

static void sctp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_sctp_ops = {
	.name = "sctp",
	.app_id = PR_L7_APP_SCTP,
	.l4 = PR_L7_L4_IP,
	.detect = sctp_detect,
	.init = sctp_init,
	.parse = sctp_parse,
};
