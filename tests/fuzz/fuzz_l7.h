/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The harness the fuzz_l7_*.c targets share. An input is a script:
 *
 *   byte 0        config: the flow's protocol and ports (index into the
 *                 target's table, low 6 bits); bit 7 picks the "tiny"
 *                 context (512-byte buffers, two of them, 2 KiB windows)
 *                 so the oversize, window and pool-exhaustion paths run
 *   then chunks   [h][len lo][len hi][len bytes]
 *                 h bit 0: direction (0 client to server, 1 back)
 *                 h bit 1: send the chunk again afterwards (retransmission)
 *                 h bit 2: skip sequence numbers first (a gap)
 *                 h bit 3: the second of two flows (they share the pool)
 *                 h bits 4-7: 0 = one segment, else segments of 5*n bytes
 *
 * Every segment is handed over in an exactly sized heap copy, so
 * AddressSanitizer catches a read past it, and every emitted transaction
 * is checked: known kind, NUL-terminated strings, counts within their
 * arrays, and its META record encoding (pr_l7_meta_encode) well formed. Both flows are ended after each input, giving their buffers
 * back. The unit tests write their exchanges in this format as seeds
 * (PR_L7_SEED_DIR). Single-threaded; the two contexts live for the process.
 */
#ifndef PR_FUZZ_L7_H
#define PR_FUZZ_L7_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_l7.h"
#include "pr_l7_meta.h"

struct l7_fuzz_proto {
	uint8_t ip_proto;
	uint16_t client_port;
	uint16_t server_port;
};

#define L7_FUZZ_STR(s)                             \
	do {                                       \
		if (!memchr((s), '\0', sizeof(s))) \
			abort();                   \
	} while (0)

/*
 * The transaction as the worker sends it (a META record): its length adds
 * up and every field lies inside it, in a tight buffer and in a full one.
 */
static void l7_fuzz_meta(const struct pr_l7_txn *t)
{
	static union {
		struct pr_rec_meta rec;
		uint8_t b[sizeof(struct pr_rec_meta) + PR_META_MAX_DATA];
	} buf;
	static const uint32_t caps[] = { sizeof(struct pr_rec_meta) + 64, sizeof(buf) };

	for (unsigned int c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		uint32_t dropped = 0, len = pr_l7_meta_encode(t, &buf.rec, caps[c], &dropped);
		uint32_t off = 0;

		if (len != sizeof(buf.rec) + buf.rec.data_len || len > caps[c])
			abort();
		for (uint16_t i = 0; i < buf.rec.n_fields; i++) {
			struct pr_meta_field f;

			if (off + sizeof(f) > buf.rec.data_len)
				abort();
			memcpy(&f, buf.rec.data + off, sizeof(f));
			off += (uint32_t)sizeof(f) + f.key_len + f.val_len;
			if (off > buf.rec.data_len || !f.key_len || f.type < PR_META_STR ||
			    f.type > PR_META_LIST)
				abort();
		}
		if (off != buf.rec.data_len)
			abort();
	}
}

static void l7_fuzz_check(void *arg, const struct pr_l7_txn *t)
{
	(void)arg;
	if (t->app == PR_L7_APP_NONE || t->app >= PR_L7_APP_COUNT || t->dir > 1)
		abort();
	switch (t->kind) {
	case PR_L7_TXN_TLS_CLIENT_HELLO:
		L7_FUZZ_STR(t->u.tls_ch.sni);
		L7_FUZZ_STR(t->u.tls_ch.alpn);
		L7_FUZZ_STR(t->u.tls_ch.ja3);
		L7_FUZZ_STR(t->u.tls_ch.ja4);
		L7_FUZZ_STR(t->u.tls_ch.ja3_string);
		L7_FUZZ_STR(t->u.tls_ch.ja4_r);
		if (strlen(t->u.tls_ch.ja4) != 36)
			abort();
		break;
	case PR_L7_TXN_TLS_SERVER_HELLO:
		L7_FUZZ_STR(t->u.tls_sh.alpn);
		L7_FUZZ_STR(t->u.tls_sh.ja3s);
		L7_FUZZ_STR(t->u.tls_sh.ja4s);
		L7_FUZZ_STR(t->u.tls_sh.ja3s_string);
		if (strlen(t->u.tls_sh.ja4s) != 25)
			abort();
		break;
	case PR_L7_TXN_TLS_CERTIFICATE:
		L7_FUZZ_STR(t->u.tls_cert.not_before_str);
		L7_FUZZ_STR(t->u.tls_cert.not_after_str);
		L7_FUZZ_STR(t->u.tls_cert.sha1);
		L7_FUZZ_STR(t->u.tls_cert.sha256);
		L7_FUZZ_STR(t->u.tls_cert.serial);
		L7_FUZZ_STR(t->u.tls_cert.subject);
		L7_FUZZ_STR(t->u.tls_cert.issuer);
		L7_FUZZ_STR(t->u.tls_cert.sans);
		break;
	case PR_L7_TXN_DNS_MESSAGE:
		L7_FUZZ_STR(t->u.dns.qname);
		if (t->u.dns.n_answers > PR_L7_DNS_MAX_ANSWERS)
			abort();
		for (unsigned int i = 0; i < t->u.dns.n_answers; i++) {
			L7_FUZZ_STR(t->u.dns.answers[i].name);
			L7_FUZZ_STR(t->u.dns.answers[i].data);
		}
		break;
	case PR_L7_TXN_HTTP_REQUEST:
	case PR_L7_TXN_HTTP_RESPONSE:
		L7_FUZZ_STR(t->u.http.method);
		L7_FUZZ_STR(t->u.http.host);
		L7_FUZZ_STR(t->u.http.content_type);
		L7_FUZZ_STR(t->u.http.user_agent);
		L7_FUZZ_STR(t->u.http.referer);
		L7_FUZZ_STR(t->u.http.server);
		L7_FUZZ_STR(t->u.http.uri);
		break;
	case PR_L7_TXN_SSH_BANNER:
		L7_FUZZ_STR(t->u.ssh_banner.banner);
		break;
	case PR_L7_TXN_SSH_KEXINIT:
		L7_FUZZ_STR(t->u.ssh_kex.hassh);
		L7_FUZZ_STR(t->u.ssh_kex.hassh_string);
		L7_FUZZ_STR(t->u.ssh_kex.host_key_algorithms);
		break;
	case PR_L7_TXN_SMTP_BANNER:
	case PR_L7_TXN_SMTP_COMMAND:
		L7_FUZZ_STR(t->u.smtp.verb);
		L7_FUZZ_STR(t->u.smtp.arg);
		L7_FUZZ_STR(t->u.smtp.line);
		break;
	case PR_L7_TXN_LDAP_MESSAGE:
		L7_FUZZ_STR(t->u.ldap.name);
		L7_FUZZ_STR(t->u.ldap.filter);
		L7_FUZZ_STR(t->u.ldap.mechanism);
		L7_FUZZ_STR(t->u.ldap.diag);
		L7_FUZZ_STR(t->u.ldap.matched);
		break;
	case PR_L7_TXN_NBNS:
		L7_FUZZ_STR(t->u.nbns.name);
		L7_FUZZ_STR(t->u.nbns.addrs);
		L7_FUZZ_STR(t->u.nbns.names);
		break;
	case PR_L7_TXN_NBDS:
		L7_FUZZ_STR(t->u.nbds.src_ip);
		L7_FUZZ_STR(t->u.nbds.src_name);
		L7_FUZZ_STR(t->u.nbds.dst_name);
		L7_FUZZ_STR(t->u.nbds.mailslot);
		break;
	case PR_L7_TXN_SMB:
		L7_FUZZ_STR(t->u.smb.dialects);
		L7_FUZZ_STR(t->u.smb.called);
		L7_FUZZ_STR(t->u.smb.calling);
		L7_FUZZ_STR(t->u.smb.path);
		break;
	case PR_L7_TXN_BGP:
		L7_FUZZ_STR(t->u.bgp.router_id);
		L7_FUZZ_STR(t->u.bgp.caps);
		L7_FUZZ_STR(t->u.bgp.as_path);
		L7_FUZZ_STR(t->u.bgp.next_hop);
		L7_FUZZ_STR(t->u.bgp.announced);
		L7_FUZZ_STR(t->u.bgp.withdrawn);
		break;
	case PR_L7_TXN_OSPF:
		L7_FUZZ_STR(t->u.ospf.router_id);
		L7_FUZZ_STR(t->u.ospf.area_id);
		L7_FUZZ_STR(t->u.ospf.mask);
		L7_FUZZ_STR(t->u.ospf.dr);
		L7_FUZZ_STR(t->u.ospf.bdr);
		break;
	case PR_L7_TXN_EIGRP:
		L7_FUZZ_STR(t->u.eigrp.sw_version);
		L7_FUZZ_STR(t->u.eigrp.routes);
		break;
	case PR_L7_TXN_RIP:
		L7_FUZZ_STR(t->u.rip.routes);
		break;
	case PR_L7_TXN_SNMP:
		L7_FUZZ_STR(t->u.snmp.community);
		L7_FUZZ_STR(t->u.snmp.user);
		L7_FUZZ_STR(t->u.snmp.engine_id);
		L7_FUZZ_STR(t->u.snmp.enterprise);
		L7_FUZZ_STR(t->u.snmp.oids);
		break;
	case PR_L7_TXN_NTP:
		L7_FUZZ_STR(t->u.ntp.refid);
		break;
	case PR_L7_TXN_NETFLOW_EXPORT:
		break;
	case PR_L7_TXN_NETFLOW_RECORD:
		L7_FUZZ_STR(t->u.nf_record.src);
		L7_FUZZ_STR(t->u.nf_record.dst);
		L7_FUZZ_STR(t->u.nf_record.next_hop);
		break;
	case PR_L7_TXN_SFLOW:
		L7_FUZZ_STR(t->u.sflow.agent);
		break;
	case PR_L7_TXN_DHCP:
		L7_FUZZ_STR(t->u.dhcp.client_mac);
		L7_FUZZ_STR(t->u.dhcp.ciaddr);
		L7_FUZZ_STR(t->u.dhcp.yiaddr);
		L7_FUZZ_STR(t->u.dhcp.server_id);
		L7_FUZZ_STR(t->u.dhcp.requested_ip);
		L7_FUZZ_STR(t->u.dhcp.relay);
		L7_FUZZ_STR(t->u.dhcp.hostname);
		L7_FUZZ_STR(t->u.dhcp.fqdn);
		L7_FUZZ_STR(t->u.dhcp.vendor_class);
		L7_FUZZ_STR(t->u.dhcp.client_id);
		L7_FUZZ_STR(t->u.dhcp.params);
		break;
	case PR_L7_TXN_ICMP:
		L7_FUZZ_STR(t->u.icmp.q_src);
		L7_FUZZ_STR(t->u.icmp.q_dst);
		L7_FUZZ_STR(t->u.icmp.target);
		L7_FUZZ_STR(t->u.icmp.lladdr);
		L7_FUZZ_STR(t->u.icmp.prefixes);
		L7_FUZZ_STR(t->u.icmp.rdnss);
		break;
	case PR_L7_TXN_KERBEROS:
		L7_FUZZ_STR(t->u.krb.realm);
		L7_FUZZ_STR(t->u.krb.cname);
		L7_FUZZ_STR(t->u.krb.sname);
		L7_FUZZ_STR(t->u.krb.etypes);
		L7_FUZZ_STR(t->u.krb.e_text);
		break;
	case PR_L7_TXN_SIP:
		L7_FUZZ_STR(t->u.sip.method);
		L7_FUZZ_STR(t->u.sip.cseq_method);
		L7_FUZZ_STR(t->u.sip.uri);
		L7_FUZZ_STR(t->u.sip.from);
		L7_FUZZ_STR(t->u.sip.to);
		L7_FUZZ_STR(t->u.sip.call_id);
		L7_FUZZ_STR(t->u.sip.user_agent);
		L7_FUZZ_STR(t->u.sip.via);
		L7_FUZZ_STR(t->u.sip.content_type);
		break;
	case PR_L7_TXN_SCTP:
		L7_FUZZ_STR(t->u.sctp.chunks);
		L7_FUZZ_STR(t->u.sctp.ppids);
		if (t->u.sctp.n_data > t->u.sctp.n_chunks)
			abort();
		break;
	default:
		abort();
	}
	l7_fuzz_meta(t);
}

static struct pr_l7_ctx *l7_fuzz_ctx(int tiny)
{
	static struct pr_l7_ctx *ctx[2];

	if (!ctx[tiny]) {
		struct pr_l7_cfg cfg = { .buf_count = 8 };

		if (tiny) {
			cfg.buf_bytes = 512;
			cfg.buf_count = 2;
			cfg.detect_packets = 2;
			for (int a = 1; a < PR_L7_APP_COUNT; a++)
				cfg.depth_bytes[a] = 2048;
		}
		if (pr_l7_ctx_create(&cfg, -1, &ctx[tiny]))
			abort();
	}
	return ctx[tiny];
}

static void l7_fuzz_send(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint64_t flow_id,
			 uint8_t proto, uint8_t dir, uint32_t seq, const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct pr_l7_pkt pkt = {
		.data = copy,
		.len = (uint32_t)n,
		.seq = seq,
		.flow_id = flow_id,
		.dir = dir,
		.has_seq = proto == PR_L7_PROTO_TCP,
	};

	if (!copy)
		return;
	memcpy(copy, p, n);
	pr_l7_process(ctx, st, &pkt, l7_fuzz_check, NULL);
	free(copy);
}

static int l7_fuzz_run(const uint8_t *data, size_t size, const struct l7_fuzz_proto *protos,
		       size_t n_protos)
{
	static struct pr_l7_state st[2];
	const struct l7_fuzz_proto *pr;
	struct pr_l7_ctx *ctx;
	uint32_t seq[2][2];
	size_t off = 1;

	if (size < 1)
		return 0;
	pr = &protos[(data[0] & 0x3f) % n_protos];
	ctx = l7_fuzz_ctx(data[0] >> 7);
	for (int f = 0; f < 2; f++) {
		pr_l7_flow_init(&st[f], pr->ip_proto, pr->client_port, pr->server_port);
		/* Start near the wrap so sequence arithmetic crosses it. */
		seq[f][0] = 0xfffffff0u;
		seq[f][1] = 12345;
	}
	while (off + 3 <= size) {
		uint8_t h = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		int dir = h & 1, f = (h >> 3) & 1;
		size_t seg = (size_t)(h >> 4) * 5;
		uint32_t start;

		off += 3;
		if (len > size - off)
			len = size - off;
		if (!seg)
			seg = len ? len : 1;
		if (h & 4)
			seq[f][dir] += 1;
		start = seq[f][dir];
		for (size_t k = 0; k < len; k += seg) {
			size_t n = len - k < seg ? len - k : seg;

			l7_fuzz_send(ctx, &st[f], (uint64_t)f + 1, pr->ip_proto, (uint8_t)dir,
				     seq[f][dir], data + off + k, n);
			seq[f][dir] += (uint32_t)n;
		}
		if (h & 2)
			l7_fuzz_send(ctx, &st[f], (uint64_t)f + 1, pr->ip_proto, (uint8_t)dir,
				     start, data + off, len / 2 + 1 > len ? len : len / 2 + 1);
		off += len;
	}
	pr_l7_flow_end(ctx, &st[0]);
	pr_l7_flow_end(ctx, &st[1]);
	return 0;
}

#endif /* PR_FUZZ_L7_H */
