/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AF_XDP backend beyond its ops table (pr_rx_afxdp_ops): what the
 * instance settled on (mode, zero-copy, sizes), and the early-drop rules
 * of the XDP program, which can be changed while capture runs. The rule
 * calls touch only kernel maps (one bpf() syscall each), so any thread may
 * make them; the polling cores never wait for them.
 */
#ifndef PR_RX_AFXDP_H
#define PR_RX_AFXDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pr_rx.h"

extern const struct pr_rx_ops pr_rx_afxdp_ops;

/* An early-drop rule: one of the kinds below. */
enum pr_afxdp_rule_kind {
	PR_AFXDP_RULE_PROTO, /* IP protocol number (v4 protocol, v6 next header) */
	PR_AFXDP_RULE_PORT, /* TCP and/or UDP port, source or destination */
	PR_AFXDP_RULE_PREFIX, /* IPv4 or IPv6 prefix, source or destination */
};

struct pr_afxdp_rule {
	enum pr_afxdp_rule_kind kind;
	uint8_t proto; /* PROTO */
	uint8_t port_l4; /* PORT: PR_XDP_PORT_TCP | PR_XDP_PORT_UDP */
	uint16_t port; /* PORT */
	uint8_t family; /* PREFIX: 4 or 6 */
	uint8_t prefixlen; /* PREFIX */
	uint8_t addr[16]; /* PREFIX, network order; v4 in the first 4 bytes */
};

/*
 * Parse a rule: "proto:N", "tcp:PORT", "udp:PORT", "port:PORT" (TCP and
 * UDP), "net:ADDR/LEN" (IPv4 or IPv6). 0, or -EINVAL with err saying what
 * is wrong. Any thread.
 */
int pr_afxdp_rule_parse(const char *s, struct pr_afxdp_rule *out, char *err, size_t errlen);

/*
 * Add (drop = true) or remove a rule in the maps of the program rx runs
 * under; the program applies it to the next frame. Removing a port rule
 * clears only the given protocols of that port. 0 or -errno. Any thread.
 */
int pr_afxdp_rule_set(struct pr_rx *rx, const struct pr_afxdp_rule *rule, bool drop);

/* What an open instance settled on, for messages and tests. */
struct pr_afxdp_info {
	bool native; /* XDP in driver mode (else generic/SKB mode) */
	bool zerocopy; /* the socket is bound in zero-copy mode */
	bool libxdp; /* attached through libxdp (else plain libbpf) */
	bool busy_poll;
	uint32_t queue;
	uint32_t frames, frame_size, rx_ring, fill_ring, tx_ring, comp_ring;
	int prog_id; /* the XDP program's kernel id (0 for a tx-only socket) */
};
int pr_afxdp_info_get(struct pr_rx *rx, struct pr_afxdp_info *out);

#endif /* PR_RX_AFXDP_H */
