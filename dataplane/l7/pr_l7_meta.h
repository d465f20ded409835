/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transactions as META records (pr_record.h): the dataplane's side of the
 * L7 metadata that travels to the control plane. Dataplane core only.
 */
#ifndef PR_L7_META_H
#define PR_L7_META_H

#include <stdbool.h>
#include <stdint.h>

#include "pr_l7.h"
#include "pr_record.h"

/*
 * Fill rec (cap bytes, at least sizeof(*rec)) with txn's fields. Fields
 * that do not fit in cap are left out and added to *dropped (may be
 * NULL). Returns the record's length (rec->hdr.len).
 */
uint32_t pr_l7_meta_encode(const struct pr_l7_txn *txn, struct pr_rec_meta *rec, uint32_t cap,
			   uint32_t *dropped);

/* The outer side of a flow taken out of a tunnel (pr_decoded's tun_* and outer_*). */
struct pr_l7_tunnel {
	const char *type; /* "vxlan", "gre", ... */
	uint32_t id; /* VNI, GRE key, TEID, ERSPAN session */
	bool has_id;
	uint8_t depth; /* tunnels around the packet */
	uint8_t ip_version; /* of the outer addresses */
	const uint8_t *src_ip; /* 4 or 16 bytes */
	const uint8_t *dst_ip;
	uint16_t sport, dport; /* outer UDP ports, 0 when not UDP */
};

/*
 * Fill rec (cap bytes) with the "tunnel" record of a flow: app "tunnel",
 * kind the tunnel's type, fields type, id, depth, outer_src, outer_dst,
 * outer_sport, outer_dport. Returns its length.
 */
uint32_t pr_l7_meta_tunnel(uint64_t flow_id, uint64_t ts_ns, const struct pr_l7_tunnel *t,
			   struct pr_rec_meta *rec, uint32_t cap);

/* Fill rec with the "app" record of a flow (no fields). Returns its length. */
uint32_t pr_l7_meta_app(uint64_t flow_id, uint64_t ts_ns, uint8_t app, struct pr_rec_meta *rec);

#endif /* PR_L7_META_H */
