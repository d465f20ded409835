// SPDX-License-Identifier: Apache-2.0
/*
 * Store structs to API messages and back (pr_grpc_conv.h). Names of
 * states and reasons go over the wire as the CLI's JSON writes them, and
 * come back through the same tables. No allocation. Any thread.
 */
#include "pr_grpc_conv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pr_record.h"

static char *text(const char *s)
{
	/* protobuf-c only reads strings it packs; its setters take char *. */
	return (char *)(uintptr_t)s;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* A drop reason added to the store must get its field in DropsByReason too. */
_Static_assert(PR_DROP_REASON_MAX == 11, "DropsByReason lists every drop reason");

void pr_grpc_session_to_pb(const struct pr_session_info *s, Packetrecorder__V1__Session *m,
			   Packetrecorder__V1__DropsByReason *d)
{
	packetrecorder__v1__session__init(m);
	packetrecorder__v1__drops_by_reason__init(d);
	m->session_id = s->id;
	m->name = text(s->name);
	m->source = text(s->source);
	m->source_kind = text(s->source_kind);
	m->filter = text(s->filter);
	m->start_ts = s->start_ts_ns;
	m->end_ts = s->end_ts_ns;
	m->first_packet_ts = s->first_pkt_ts_ns;
	m->last_packet_ts = s->last_pkt_ts_ns;
	m->packets = s->packets;
	m->bytes = s->bytes;
	m->captured_bytes = s->captured_bytes;
	m->drops = pr_query_session_drops(s);
	d->ring_full = s->drops[PR_DROP_RING_FULL];
	d->kernel = s->drops[PR_DROP_KERNEL];
	d->interface = s->drops[PR_DROP_IFACE];
	d->too_big = s->drops[PR_DROP_TOO_BIG];
	d->store = s->drops[PR_DROP_STORE];
	d->no_socket = s->drops[PR_DROP_NO_SOCKET];
	d->xsk_rx_dropped = s->drops[PR_DROP_XSK_RX];
	d->xsk_rx_ring_full = s->drops[PR_DROP_XSK_RING_FULL];
	d->nic_missed = s->drops[PR_DROP_NIC_MISSED];
	d->nic_nombuf = s->drops[PR_DROP_NIC_NOMBUF];
	d->nic_errors = s->drops[PR_DROP_NIC_ERRORS];
	m->drops_by_reason = d;
	m->received = s->received;
	m->filtered = s->filtered;
	m->flows = s->flows;
	m->snaplen = s->snaplen;
	m->status = text(pr_session_status_name(s->status));
	m->message = text(s->message);
}

int pr_grpc_session_from_pb(const Packetrecorder__V1__Session *m, struct pr_session_info *s)
{
	int ret = -EINVAL;

	memset(s, 0, sizeof(*s));
	s->id = m->session_id;
	copy_str(s->name, sizeof(s->name), m->name);
	copy_str(s->source, sizeof(s->source), m->source);
	copy_str(s->source_kind, sizeof(s->source_kind), m->source_kind);
	copy_str(s->filter, sizeof(s->filter), m->filter);
	s->start_ts_ns = m->start_ts;
	s->end_ts_ns = m->end_ts;
	s->first_pkt_ts_ns = m->first_packet_ts;
	s->last_pkt_ts_ns = m->last_packet_ts;
	s->packets = m->packets;
	s->bytes = m->bytes;
	s->captured_bytes = m->captured_bytes;
	if (m->drops_by_reason) {
		s->drops[PR_DROP_RING_FULL] = m->drops_by_reason->ring_full;
		s->drops[PR_DROP_KERNEL] = m->drops_by_reason->kernel;
		s->drops[PR_DROP_IFACE] = m->drops_by_reason->interface;
		s->drops[PR_DROP_TOO_BIG] = m->drops_by_reason->too_big;
		s->drops[PR_DROP_STORE] = m->drops_by_reason->store;
		s->drops[PR_DROP_NO_SOCKET] = m->drops_by_reason->no_socket;
		s->drops[PR_DROP_XSK_RX] = m->drops_by_reason->xsk_rx_dropped;
		s->drops[PR_DROP_XSK_RING_FULL] = m->drops_by_reason->xsk_rx_ring_full;
		s->drops[PR_DROP_NIC_MISSED] = m->drops_by_reason->nic_missed;
		s->drops[PR_DROP_NIC_NOMBUF] = m->drops_by_reason->nic_nombuf;
		s->drops[PR_DROP_NIC_ERRORS] = m->drops_by_reason->nic_errors;
	}
	s->received = m->received;
	s->filtered = m->filtered;
	s->flows = m->flows;
	s->snaplen = m->snaplen;
	for (uint32_t i = 0; i < PR_SESSION_STATUS_MAX; i++) {
		if (m->status && !strcmp(m->status, pr_session_status_name(i))) {
			s->status = i;
			ret = 0;
		}
	}
	copy_str(s->message, sizeof(s->message), m->message);
	return ret;
}

void pr_grpc_flow_to_pb(const struct pr_store_flow *f, Packetrecorder__V1__Flow *m,
			struct pr_grpc_flow_text *buf)
{
	int af = f->ip_version == 6 ? AF_INET6 : AF_INET;

	packetrecorder__v1__flow__init(m);
	/* As `flows --json` writes them: "?" for an address that cannot be written. */
	if (!inet_ntop(af, f->src_ip, buf->src, sizeof(buf->src)))
		snprintf(buf->src, sizeof(buf->src), "?");
	if (!inet_ntop(af, f->dst_ip, buf->dst, sizeof(buf->dst)))
		snprintf(buf->dst, sizeof(buf->dst), "?");
	m->flow_id = f->flow_id;
	m->src_ip = buf->src;
	m->src_port = f->src_port;
	m->dst_ip = buf->dst;
	m->dst_port = f->dst_port;
	m->ip_proto = f->ip_proto;
	m->vlan = f->vlan;
	m->first_ts = f->first_ts_ns;
	m->last_ts = f->last_ts_ns;
	m->packets = f->packets[0] + f->packets[1];
	m->bytes = f->bytes[0] + f->bytes[1];
	m->packets_to_server = f->packets[0];
	m->packets_to_client = f->packets[1];
	m->bytes_to_server = f->bytes[0];
	m->bytes_to_client = f->bytes[1];
	m->tcp_state = text(pr_tcp_state_name(f->tcp_state));
	m->end_reason = text(pr_flow_end_name(f->end_reason));
}

static int ip_back(const char *s, uint8_t *version, uint8_t out[16])
{
	memset(out, 0, 16);
	if (s && strchr(s, ':')) {
		*version = 6;
		return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
	}
	if (!*version)
		*version = 4;
	return s && inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

int pr_grpc_flow_from_pb(const Packetrecorder__V1__Flow *m, struct pr_store_flow *f)
{
	bool state = false, reason = false;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	f->flow_id = m->flow_id;
	ret |= ip_back(m->src_ip, &f->ip_version, f->src_ip);
	ret |= ip_back(m->dst_ip, &f->ip_version, f->dst_ip);
	f->src_port = (uint16_t)m->src_port;
	f->dst_port = (uint16_t)m->dst_port;
	f->ip_proto = (uint8_t)m->ip_proto;
	f->vlan = (uint16_t)m->vlan;
	f->first_ts_ns = m->first_ts;
	f->last_ts_ns = m->last_ts;
	f->packets[0] = m->packets_to_server;
	f->packets[1] = m->packets_to_client;
	f->bytes[0] = m->bytes_to_server;
	f->bytes[1] = m->bytes_to_client;
	for (uint32_t i = 0; i < PR_TCP_STATE_MAX; i++)
		if (m->tcp_state && !strcmp(m->tcp_state, pr_tcp_state_name(i)))
			f->tcp_state = (uint8_t)i, state = true;
	for (uint32_t i = 0; i < PR_FLOW_END_MAX; i++)
		if (m->end_reason && !strcmp(m->end_reason, pr_flow_end_name(i)))
			f->end_reason = (uint8_t)i, reason = true;
	return ret || !state || !reason ? -EINVAL : 0;
}

void pr_grpc_packet_to_pb(const struct pr_query_pkt *p, bool data, Packetrecorder__V1__Packet *m)
{
	packetrecorder__v1__packet__init(m);
	m->index = p->index;
	m->ts = p->pkt.ts_ns;
	m->cap_len = p->pkt.cap_len;
	m->wire_len = p->pkt.wire_len;
	m->iface = p->pkt.iface;
	m->linktype = p->linktype;
	m->flow_id = p->pkt.flow_id;
	if (data) {
		m->data.data = (uint8_t *)(uintptr_t)p->pkt.data;
		m->data.len = p->pkt.cap_len;
	}
}

void pr_grpc_packet_from_pb(const Packetrecorder__V1__Packet *m, struct pr_query_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->index = m->index;
	p->pkt.ts_ns = m->ts;
	/* The bytes that came: a daemon cannot make us read past them. */
	p->pkt.cap_len = m->data.len ? (uint32_t)m->data.len : m->cap_len;
	p->pkt.wire_len = m->wire_len;
	p->pkt.iface = (uint16_t)m->iface;
	p->pkt.flow_id = m->flow_id;
	p->pkt.data = m->data.data;
	p->linktype = m->linktype;
}

void pr_grpc_store_info_to_pb(const struct pr_store_info *in, Packetrecorder__V1__StoreStats *m)
{
	packetrecorder__v1__store_stats__init(m);
	m->mode = text(pr_store_mode_name(in->mode));
	m->encrypted = in->encrypted;
	m->readonly = in->readonly;
	m->size_bytes = in->size_bytes;
	m->db_bytes = in->db_bytes;
	m->wal_bytes = in->wal_bytes;
	m->segment_bytes = in->segment_bytes;
	m->segment_files = in->segment_files;
	m->segments = in->segments;
	m->sessions = in->sessions;
	m->pinned_sessions = in->pinned_sessions;
	m->running_sessions = in->running_sessions;
	m->packets = in->packets;
	m->expired_packets = in->expired_packets;
	m->oldest_packet_ts = in->oldest_ts_ns;
	m->newest_packet_ts = in->newest_ts_ns;
	m->capture_s = (double)in->capture_ns / 1e9;
	if (in->have_rate) {
		m->bytes_per_day_v_case =
			PACKETRECORDER__V1__STORE_STATS__BYTES_PER_DAY_V_BYTES_PER_DAY;
		m->bytes_per_day = in->bytes_per_day;
	}
	if (in->retention_days) {
		m->retention_days_v_case =
			PACKETRECORDER__V1__STORE_STATS__RETENTION_DAYS_V_RETENTION_DAYS;
		m->retention_days = in->retention_days;
	}
	if (in->retention_bytes) {
		m->retention_bytes_v_case =
			PACKETRECORDER__V1__STORE_STATS__RETENTION_BYTES_V_RETENTION_BYTES;
		m->retention_bytes = in->retention_bytes;
	}
	if (in->have_fs) {
		m->fs_free_bytes_v_case =
			PACKETRECORDER__V1__STORE_STATS__FS_FREE_BYTES_V_FS_FREE_BYTES;
		m->fs_free_bytes = in->fs_free_bytes;
	}
	if (in->have_days_left) {
		m->days_left_v_case = PACKETRECORDER__V1__STORE_STATS__DAYS_LEFT_V_DAYS_LEFT;
		m->days_left = in->days_left;
		m->days_left_until_v_case =
			PACKETRECORDER__V1__STORE_STATS__DAYS_LEFT_UNTIL_V_DAYS_LEFT_UNTIL;
		m->days_left_until =
			text(in->limited_by_retention ? "retention_bytes" : "disk_full");
	}
}
