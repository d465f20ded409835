// SPDX-License-Identifier: Apache-2.0
/*
 * SSH: the identification strings ("SSH-2.0-OpenSSH_9.2") of both sides,
 * then each side's SSH_MSG_KEXINIT, the last cleartext message that says
 * something about the software: its algorithm lists give HASSH (client)
 * and HASSH-server (server), as Salesforce defines them: the MD5 of
 * "kex;encryption;mac;compression", taken from the lists for the sender's
 * own direction. A direction stops after its KEXINIT; SSH-1 sides stop
 * after their banner. Called by pr_l7.c on the dataplane core that owns
 * the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

/* l7_ssh.state[] */
#define SSH_S_BANNER 0 /* reading lines up to the identification string */
#define SSH_S_PACKETS 1 /* binary packets up to KEXINIT */

#define MSG_KEXINIT 20
/* RFC 4253 6.1: implementations must take packets of 35000 bytes. */
#define PACKET_MAX 35000u
/* Other lines a server may send before its identification string, and packets before KEXINIT. */
#define LINES_MAX 16
#define BANNER_LINE_MAX 512

enum { L_KEX, L_HOSTKEY, L_ENC_C2S, L_ENC_S2C, L_MAC_C2S, L_MAC_S2C, L_CMP_C2S, L_CMP_S2C, L_N };

static void banner(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *line,
		   size_t n)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SSH_BANNER);

	l7_copy_text(t->u.ssh_banner.banner, sizeof(t->u.ssh_banner.banner), line, n);
	l7_txn_emit(ctx);
}

/* KEXINIT payload (message byte first). False when it is malformed. */
static bool kexinit(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		    uint32_t n)
{
	const uint8_t *list[L_N];
	uint32_t list_len[L_N];
	uint32_t off = 17; /* message byte and 16-byte cookie */
	int pick[4] = { L_KEX, d ? L_ENC_S2C : L_ENC_C2S, d ? L_MAC_S2C : L_MAC_C2S,
			d ? L_CMP_S2C : L_CMP_C2S };
	struct pr_l7_txn *t;
	struct pr_l7_ssh_kexinit *k;
	struct l7_sb sb;

	for (int i = 0; i < L_N; i++) {
		if (off + 4 > n || l7_be32(p + off) > n - off - 4)
			return false;
		list_len[i] = l7_be32(p + off);
		list[i] = p + off + 4;
		off += 4 + list_len[i];
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SSH_KEXINIT);
	k = &t->u.ssh_kex;
	l7_sb_init(&sb, ctx->scratch, L7_SCRATCH_BYTES);
	for (int i = 0; i < 4; i++) {
		if (i)
			l7_sb_putc(&sb, ';');
		l7_sb_putn(&sb, (const char *)list[pick[i]], list_len[pick[i]]);
	}
	l7_digest_hex(ctx, ctx->md5, sb.p, sb.len, k->hassh);
	l7_copy_text(k->hassh_string, sizeof(k->hassh_string), (const uint8_t *)sb.p, sb.len);
	l7_copy_text(k->host_key_algorithms, sizeof(k->host_key_algorithms), list[L_HOSTKEY],
		     list_len[L_HOSTKEY]);
	l7_txn_emit(ctx);
	return true;
}

static uint32_t ssh_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct l7_ssh *s = &fl->u.ssh;
	uint32_t off = 0;

	while (off < len && !l7_dir_done(fl, d)) {
		const uint8_t *q = p + off;
		uint32_t n = len - off, plen, pad;

		if (s->state[d] == SSH_S_BANNER) {
			long lf = l7_find_lf(q, PR_MIN(n, BANNER_LINE_MAX));
			size_t ll;

			if (lf < 0) {
				if (n >= BANNER_LINE_MAX)
					l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
				break;
			}
			ll = l7_line_len(q, (size_t)lf);
			off += (uint32_t)lf + 1;
			if (ll >= 4 && !memcmp(q, "SSH-", 4)) {
				banner(ctx, fl, d, q, ll);
				/* SSH-1 (but not the compatible "1.99") has no KEXINIT. */
				if (ll >= 8 && !memcmp(q + 4, "1.", 2) && memcmp(q + 4, "1.99", 4))
					l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
				s->state[d] = SSH_S_PACKETS;
				s->lines[d] = 0;
			} else if (++s->lines[d] > LINES_MAX) {
				l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			}
			continue;
		}
		if (n < 6)
			break;
		plen = l7_be32(q);
		pad = q[4];
		if (plen < 2 || plen > PACKET_MAX || pad + 1u >= plen) {
			l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			break;
		}
		if (plen + 4 > n)
			break; /* pr_l7.c collects the rest */
		off += plen + 4;
		if (q[5] == MSG_KEXINIT) {
			if (!kexinit(ctx, fl, d, q + 5, plen - pad - 1))
				ctx->st.malformed++;
			l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
		} else if (++s->lines[d] > LINES_MAX) {
			l7_dir_stop(ctx, fl, d, L7_STOP_DONE);
		}
	}
	return off;
}

static bool ssh_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	(void)client_port;
	(void)server_port;
	return len >= 4 && !memcmp(p, "SSH-", 4);
}

static void ssh_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_ssh_ops = {
	.name = "ssh",
	.app_id = PR_L7_APP_SSH,
	.l4 = PR_L7_L4_TCP,
	.detect = ssh_detect,
	.init = ssh_init,
	.parse = ssh_parse,
};
