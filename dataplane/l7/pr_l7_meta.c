// SPDX-License-Identifier: Apache-2.0
/*
 * A parser's transaction (struct pr_l7_txn, ~9 KiB because every buffer is
 * sized for its worst case) as a compact META record for the ring: only
 * the fields the flow JSON shows, as key/value pairs under the JSON's own
 * names, empty strings left out. Dataplane core only; no allocation, no
 * state: the caller hands in the record buffer.
 */
#include "pr_l7_meta.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct enc {
	struct pr_rec_meta *rec;
	uint32_t cap; /* bytes of rec->data */
	uint32_t dropped; /* fields that did not fit */
};

static void put(struct enc *e, uint8_t type, const char *key, const char *val, size_t vlen)
{
	size_t klen = strlen(key);
	uint32_t need = (uint32_t)(sizeof(struct pr_meta_field) + klen + vlen);
	struct pr_meta_field f;
	uint8_t *p;

	if (klen > 255 || vlen > 65535 || e->rec->data_len + need > e->cap) {
		e->dropped++;
		return;
	}
	p = e->rec->data + e->rec->data_len;
	f.type = type;
	f.key_len = (uint8_t)klen;
	f.val_len = (uint16_t)vlen;
	memcpy(p, &f, sizeof(f));
	memcpy(p + sizeof(f), key, klen);
	memcpy(p + sizeof(f) + klen, val, vlen);
	e->rec->data_len += need;
	e->rec->n_fields++;
}

/* A string field; empty strings say nothing and are left out. */
static void str(struct enc *e, const char *key, const char *val)
{
	if (val[0])
		put(e, PR_META_STR, key, val, strlen(val));
}

static void list(struct enc *e, const char *key, const char *val)
{
	if (val[0])
		put(e, PR_META_LIST, key, val, strlen(val));
}

/* An array in a string: "a,b,c" becomes three list entries. */
static void list_split(struct enc *e, const char *key, const char *val)
{
	const char *p = val;

	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n)
			put(e, PR_META_LIST, key, p, n);
		if (!c)
			break;
		p = c + 1;
	}
}

static void num(struct enc *e, const char *key, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);

	put(e, PR_META_INT, key, b, (size_t)n);
}

static void boolean(struct enc *e, const char *key, bool v)
{
	put(e, PR_META_BOOL, key, v ? "1" : "0", 1);
}

static void tls_version(struct enc *e, uint16_t v)
{
	static const char *const names[] = { "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3" };
	char b[16];

	if (v >= 0x0300 && v <= 0x0304) {
		str(e, "version", names[v - 0x0300]);
	} else if (v == 0xfeff || v == 0xfefd || v == 0xfefc) {
		str(e, "version", v == 0xfeff ? "DTLSv1.0" : v == 0xfefd ? "DTLSv1.2" : "DTLSv1.3");
	} else {
		snprintf(b, sizeof(b), "0x%04x", v);
		str(e, "version", b);
	}
}

static const char *kind_name(uint8_t kind)
{
	static const char *const n[] = {
		[PR_L7_TXN_TLS_CLIENT_HELLO] = "client_hello",
		[PR_L7_TXN_TLS_SERVER_HELLO] = "server_hello",
		[PR_L7_TXN_TLS_CERTIFICATE] = "certificate",
		[PR_L7_TXN_DNS_MESSAGE] = "message",
		[PR_L7_TXN_HTTP_REQUEST] = "request",
		[PR_L7_TXN_HTTP_RESPONSE] = "response",
		[PR_L7_TXN_SSH_BANNER] = "banner",
		[PR_L7_TXN_SSH_KEXINIT] = "kexinit",
		[PR_L7_TXN_SMTP_BANNER] = "banner",
		[PR_L7_TXN_SMTP_COMMAND] = "command",
		[PR_L7_TXN_LDAP_MESSAGE] = "message",
		[PR_L7_TXN_NBNS] = "nbns",
		[PR_L7_TXN_NBDS] = "nbds",
		[PR_L7_TXN_SMB] = "message",
		[PR_L7_TXN_BGP] = "message",
		[PR_L7_TXN_OSPF] = "message",
		[PR_L7_TXN_EIGRP] = "message",
		[PR_L7_TXN_RIP] = "message",
		[PR_L7_TXN_SNMP] = "message",
		[PR_L7_TXN_NTP] = "message",
		[PR_L7_TXN_NETFLOW_EXPORT] = "export",
		[PR_L7_TXN_NETFLOW_RECORD] = "record",
		[PR_L7_TXN_SFLOW] = "datagram",
		[PR_L7_TXN_DHCP] = "message",
		[PR_L7_TXN_ICMP] = "message",
		[PR_L7_TXN_KERBEROS] = "message",
		[PR_L7_TXN_SIP] = "message",
		[PR_L7_TXN_SCTP] = "packet",
	};

	return kind < PR_ARRAY_SIZE(n) && n[kind] ? n[kind] : "other";
}

static void cert(struct enc *e, const char *pfx, const struct pr_l7_tls_cert *c)
{
	static const char *const names[] = { "subject",	  "issuer", "serial", "not_before",
					     "not_after", "sha1",   "sha256" };
	const char *vals[] = { c->subject,	 c->issuer, c->serial, c->not_before_str,
			       c->not_after_str, c->sha1,   c->sha256 };
	char key[32];
	size_t i;

	for (i = 0; i < PR_ARRAY_SIZE(names); i++) {
		snprintf(key, sizeof(key), "%s%s", pfx, names[i]);
		str(e, key, vals[i]);
	}
	snprintf(key, sizeof(key), "%ssans", pfx);
	list_split(e, key, c->sans);
}

static void enc_tls(struct enc *e, const struct pr_l7_txn *t)
{
	const struct pr_l7_tls_client_hello *ch = &t->u.tls_ch;
	const struct pr_l7_tls_server_hello *sh = &t->u.tls_sh;
	const struct pr_l7_tls_cert *c = &t->u.tls_cert;

	switch (t->kind) {
	case PR_L7_TXN_TLS_CLIENT_HELLO:
		str(e, "sni", ch->sni);
		list_split(e, "alpn", ch->alpn);
		tls_version(e, ch->max_version);
		str(e, "ja3", ch->ja3);
		str(e, "ja3_string", ch->ja3_string);
		str(e, "ja4", ch->ja4);
		break;
	case PR_L7_TXN_TLS_SERVER_HELLO:
		/* The server's choice is the flow's version and ALPN. */
		tls_version(e, sh->selected_version);
		if (sh->alpn[0])
			str(e, "alpn_selected", sh->alpn);
		str(e, "ja3s", sh->ja3s);
		str(e, "ja3s_string", sh->ja3s_string);
		str(e, "ja4s", sh->ja4s);
		break;
	case PR_L7_TXN_TLS_CERTIFICATE:
		/* A client certificate (mutual TLS) must not take the server's keys. */
		cert(e, t->dir == PR_L7_DIR_S2C ? "cert_" : "client_cert_", c);
		break;
	}
}

static void enc_dns(struct enc *e, const struct pr_l7_dns *d)
{
	uint32_t i;

	num(e, "id", d->id);
	boolean(e, "response", d->flags & PR_L7_DNS_RESPONSE);
	str(e, "qname", d->qname);
	num(e, "qtype", d->qtype);
	if (d->flags & PR_L7_DNS_RESPONSE)
		num(e, "rcode", d->rcode);
	for (i = 0; i < d->n_answers && i < PR_L7_DNS_MAX_ANSWERS; i++) {
		const struct pr_l7_dns_answer *a = &d->answers[i];

		/* name first: it opens the answer's object (see struct pr_meta_field). */
		put(e, PR_META_STR, "answers.name", a->name, strlen(a->name));
		num(e, "answers.type", a->type);
		num(e, "answers.ttl", a->ttl);
		put(e, PR_META_STR, "answers.data", a->data, strlen(a->data));
	}
}

static void enc_http(struct enc *e, const struct pr_l7_txn *t)
{
	const struct pr_l7_http *h = &t->u.http;

	/* Request n and response n are one element of the flow's http list. */
	num(e, "index", h->index);
	if (t->kind == PR_L7_TXN_HTTP_REQUEST) {
		str(e, "method", h->method);
		str(e, "host", h->host);
		str(e, "uri", h->uri);
		str(e, "user_agent", h->user_agent);
		str(e, "referer", h->referer);
	} else {
		num(e, "status", h->status);
		str(e, "content_type", h->content_type);
		str(e, "server", h->server);
	}
	if (h->content_length >= 0)
		num(e,
		    t->kind == PR_L7_TXN_HTTP_REQUEST ? "request_content_length" : "content_length",
		    h->content_length);
}

static void enc_ssh(struct enc *e, const struct pr_l7_txn *t)
{
	bool c2s = t->dir == PR_L7_DIR_C2S;

	if (t->kind == PR_L7_TXN_SSH_BANNER) {
		str(e, c2s ? "client_banner" : "server_banner", t->u.ssh_banner.banner);
	} else {
		str(e, c2s ? "hassh" : "hassh_server", t->u.ssh_kex.hassh);
		str(e, c2s ? "hassh_string" : "hassh_server_string", t->u.ssh_kex.hassh_string);
	}
}

static void enc_smtp(struct enc *e, const struct pr_l7_txn *t)
{
	const struct pr_l7_smtp *s = &t->u.smtp;

	if (t->kind == PR_L7_TXN_SMTP_BANNER) {
		str(e, "banner", s->arg[0] ? s->arg : s->line);
		return;
	}
	if (!strcmp(s->verb, "HELO") || !strcmp(s->verb, "EHLO"))
		str(e, "helo", s->arg);
	else if (!strcmp(s->verb, "MAIL"))
		str(e, "mail_from", s->arg);
	else if (!strcmp(s->verb, "RCPT"))
		list(e, "rcpt_to", s->arg);
	else if (!strcmp(s->verb, "STARTTLS"))
		boolean(e, "starttls", true);
	else
		list(e, "commands", s->verb);
}

/* ---- the other protocols: the struct's fields under their own names ---- */

#define NTP_UNIX_OFFSET 2208988800ll /* seconds from 1900-01-01 to 1970-01-01 */

static void enc_ldap(struct enc *e, const struct pr_l7_ldap *l)
{
	num(e, "msg_id", l->msg_id);
	num(e, "op", l->op);
	str(e, "name", l->name);
	str(e, "filter", l->filter);
	str(e, "mechanism", l->mechanism);
	str(e, "diag", l->diag);
	str(e, "matched", l->matched);
	switch (l->op) {
	case 0: /* bindRequest */
		num(e, "version", l->version);
		num(e, "auth", l->auth);
		break;
	case 3: /* searchRequest */
		num(e, "scope", l->scope);
		num(e, "n_attrs", l->n_attrs);
		break;
	case 1: /* bindResponse */
	case 5: /* searchResDone */
	case 7: /* modifyResponse */
	case 9: /* addResponse */
	case 11: /* delResponse */
	case 13: /* modDNResponse */
	case 15: /* compareResponse */
	case 24: /* extendedResp */
		num(e, "result", l->result);
		break;
	default:
		break;
	}
}

static void enc_nbns(struct enc *e, const struct pr_l7_nbns *n)
{
	num(e, "id", n->id);
	boolean(e, "response", n->flags & PR_L7_NBNS_RESPONSE);
	num(e, "opcode", n->opcode);
	if (n->flags & PR_L7_NBNS_RESPONSE)
		num(e, "rcode", n->rcode);
	num(e, "qtype", n->qtype);
	str(e, "name", n->name);
	list_split(e, "addrs", n->addrs);
	list_split(e, "names", n->names);
}

static void enc_nbds(struct enc *e, const struct pr_l7_nbds *n)
{
	num(e, "msg_type", n->msg_type);
	str(e, "src_ip", n->src_ip);
	str(e, "src_name", n->src_name);
	str(e, "dst_name", n->dst_name);
	str(e, "mailslot", n->mailslot);
}

static void enc_smb(struct enc *e, const struct pr_l7_smb *m)
{
	num(e, "version", m->version);
	num(e, "nbss_type", m->nbss_type);
	if (m->version) {
		num(e, "command", m->command);
		boolean(e, "response", m->flags & PR_L7_SMB_RESPONSE);
		if (m->flags & PR_L7_SMB_ENCRYPTED)
			boolean(e, "encrypted", true);
		if (m->flags & PR_L7_SMB_RESPONSE)
			num(e, "status", m->status);
	}
	if (m->dialect)
		num(e, "dialect", m->dialect);
	list_split(e, "dialects", m->dialects);
	str(e, "called", m->called);
	str(e, "calling", m->calling);
	str(e, "path", m->path);
}

static void enc_bgp(struct enc *e, const struct pr_l7_bgp *b)
{
	num(e, "type", b->type);
	switch (b->type) {
	case 1: /* OPEN */
		num(e, "version", b->version);
		num(e, "my_as", b->my_as);
		num(e, "hold_time", b->hold_time);
		str(e, "router_id", b->router_id);
		list_split(e, "caps", b->caps);
		break;
	case 2: /* UPDATE */
		num(e, "n_announced", b->n_announced);
		num(e, "n_withdrawn", b->n_withdrawn);
		str(e, "as_path", b->as_path);
		str(e, "next_hop", b->next_hop);
		list_split(e, "announced", b->announced);
		list_split(e, "withdrawn", b->withdrawn);
		if (b->afi) {
			num(e, "afi", b->afi);
			num(e, "safi", b->safi);
		}
		break;
	case 3: /* NOTIFICATION */
		num(e, "err_code", b->err_code);
		num(e, "err_subcode", b->err_subcode);
		break;
	default:
		break;
	}
}

static void enc_ospf(struct enc *e, const struct pr_l7_ospf *o)
{
	num(e, "version", o->version);
	num(e, "type", o->type);
	str(e, "router_id", o->router_id);
	str(e, "area_id", o->area_id);
	if (o->version == 2)
		num(e, "auth_type", o->auth_type);
	if (o->type == 1) {
		num(e, "hello_interval", o->hello_interval);
		num(e, "dead_interval", o->dead_interval);
		num(e, "priority", o->priority);
		num(e, "n_neighbors", o->n_neighbors);
		str(e, "mask", o->mask);
		str(e, "dr", o->dr);
		str(e, "bdr", o->bdr);
	} else {
		num(e, "n_lsas", o->n_lsas);
	}
}

static void enc_eigrp(struct enc *e, const struct pr_l7_eigrp *g)
{
	num(e, "version", g->version);
	num(e, "opcode", g->opcode);
	num(e, "as", g->as);
	num(e, "seq", g->seq);
	num(e, "ack", g->ack);
	if (g->hold_time)
		num(e, "hold_time", g->hold_time);
	num(e, "n_routes", g->n_routes);
	str(e, "sw_version", g->sw_version);
	list_split(e, "routes", g->routes);
}

static void enc_rip(struct enc *e, const struct pr_l7_rip *r)
{
	num(e, "version", r->version);
	boolean(e, "ng", r->ng);
	num(e, "command", r->command);
	if (r->auth_type)
		num(e, "auth_type", r->auth_type);
	num(e, "n_routes", r->n_routes);
	list_split(e, "routes", r->routes);
}

static void enc_snmp(struct enc *e, const struct pr_l7_snmp *m)
{
	num(e, "version", m->version);
	num(e, "pdu_type", m->pdu_type);
	if (m->pdu_type != PR_L7_SNMP_PDU_ENCRYPTED) {
		num(e, "request_id", m->request_id);
		num(e, "error_status", m->error_status);
		num(e, "n_varbinds", m->n_varbinds);
	}
	str(e, "community", m->community);
	str(e, "user", m->user);
	str(e, "engine_id", m->engine_id);
	str(e, "enterprise", m->enterprise);
	list_split(e, "oids", m->oids);
}

static void enc_ntp(struct enc *e, const struct pr_l7_ntp *n)
{
	num(e, "version", n->version);
	num(e, "mode", n->mode);
	if (n->mode >= 6) {
		num(e, "opcode", n->opcode);
		boolean(e, "response", n->flags & PR_L7_NTP_RESPONSE);
		return;
	}
	num(e, "leap", n->leap);
	num(e, "stratum", n->stratum);
	num(e, "poll", n->poll);
	num(e, "precision", n->precision);
	str(e, "refid", n->refid);
	/* The transmit timestamp (32.32 seconds since 1900) in whole Unix seconds. */
	if (n->xmt_ts)
		num(e, "xmt_unix_s", (int64_t)(n->xmt_ts >> 32) - NTP_UNIX_OFFSET);
}

static void enc_netflow(struct enc *e, const struct pr_l7_txn *t)
{
	const struct pr_l7_netflow *n = &t->u.netflow;
	const struct pr_l7_netflow_record *r = &t->u.nf_record;

	if (t->kind == PR_L7_TXN_NETFLOW_EXPORT) {
		num(e, "version", n->version);
		num(e, "count", n->count);
		num(e, "sequence", n->sequence);
		num(e, "source_id", n->source_id);
		num(e, "unix_secs", n->unix_secs);
		num(e, "n_templates", n->n_templates);
		num(e, "n_records", n->n_records);
		if (n->n_unknown)
			num(e, "n_unknown", n->n_unknown);
		return;
	}
	num(e, "version", r->version);
	if (r->template_id)
		num(e, "template_id", r->template_id);
	str(e, "src", r->src);
	str(e, "dst", r->dst);
	num(e, "proto", r->proto);
	num(e, "sport", r->sport);
	num(e, "dport", r->dport);
	num(e, "packets", (int64_t)r->packets);
	num(e, "bytes", (int64_t)r->bytes);
	str(e, "next_hop", r->next_hop);
	num(e, "in_if", r->in_if);
	num(e, "out_if", r->out_if);
}

static void enc_sflow(struct enc *e, const struct pr_l7_sflow *f)
{
	num(e, "version", f->version);
	str(e, "agent", f->agent);
	num(e, "sub_agent", f->sub_agent);
	num(e, "sequence", f->sequence);
	num(e, "n_samples", f->n_samples);
	num(e, "n_flow", f->n_flow);
	num(e, "n_counter", f->n_counter);
	if (f->sampling_rate)
		num(e, "sampling_rate", f->sampling_rate);
}

static void enc_dhcp(struct enc *e, const struct pr_l7_dhcp *d)
{
	num(e, "version", d->version);
	num(e, "msg_type", d->msg_type);
	num(e, "xid", d->xid);
	str(e, "client_mac", d->client_mac);
	str(e, "ciaddr", d->ciaddr);
	str(e, "yiaddr", d->yiaddr);
	str(e, "server_id", d->server_id);
	str(e, "requested_ip", d->requested_ip);
	str(e, "relay", d->relay);
	str(e, "hostname", d->hostname);
	str(e, "fqdn", d->fqdn);
	str(e, "vendor_class", d->vendor_class);
	str(e, "client_id", d->client_id);
	list_split(e, "params", d->params);
	if (d->lease_time)
		num(e, "lease_time", d->lease_time);
}

static void enc_icmp(struct enc *e, const struct pr_l7_icmp *c)
{
	num(e, "version", c->version);
	num(e, "type", c->type);
	num(e, "code", c->code);
	if (c->id || c->seq) {
		num(e, "id", c->id);
		num(e, "seq", c->seq);
	}
	if (c->value)
		num(e, "value", c->value);
	if (c->flags & PR_L7_ICMP_QUOTED) {
		num(e, "q_proto", c->q_proto);
		str(e, "q_src", c->q_src);
		str(e, "q_dst", c->q_dst);
		if (c->flags & PR_L7_ICMP_QUOTED_PORTS) {
			num(e, "q_sport", c->q_sport);
			num(e, "q_dport", c->q_dport);
		}
	}
	str(e, "target", c->target);
	str(e, "lladdr", c->lladdr);
	list_split(e, "prefixes", c->prefixes);
	list_split(e, "rdnss", c->rdnss);
	if (c->mtu)
		num(e, "mtu", c->mtu);
}

static void enc_krb(struct enc *e, const struct pr_l7_kerberos *k)
{
	num(e, "msg_type", k->msg_type);
	str(e, "realm", k->realm);
	str(e, "cname", k->cname);
	str(e, "sname", k->sname);
	list_split(e, "etypes", k->etypes);
	if (k->msg_type == 30) {
		num(e, "error_code", k->error_code);
		str(e, "e_text", k->e_text);
	} else if (k->enc_etype) {
		num(e, "enc_etype", k->enc_etype);
	}
}

static void enc_sip(struct enc *e, const struct pr_l7_sip *p)
{
	str(e, "method", p->method);
	if (p->status)
		num(e, "status", p->status);
	str(e, "uri", p->uri);
	str(e, "from", p->from);
	str(e, "to", p->to);
	str(e, "call_id", p->call_id);
	num(e, "cseq", p->cseq);
	str(e, "cseq_method", p->cseq_method);
	str(e, "user_agent", p->user_agent);
	str(e, "via", p->via);
	str(e, "content_type", p->content_type);
}

static void enc_sctp(struct enc *e, const struct pr_l7_sctp *s)
{
	num(e, "vtag", s->vtag);
	list_split(e, "chunks", s->chunks);
	if (s->initiate_tag) {
		num(e, "initiate_tag", s->initiate_tag);
		num(e, "a_rwnd", s->a_rwnd);
		num(e, "out_streams", s->out_streams);
		num(e, "in_streams", s->in_streams);
		num(e, "initial_tsn", s->initial_tsn);
	}
	if (s->n_data) {
		num(e, "n_data", s->n_data);
		num(e, "data_bytes", s->data_bytes);
		list_split(e, "ppids", s->ppids);
	}
	if (s->cause)
		num(e, "cause", s->cause);
	if (s->flags & PR_L7_SCTP_MALFORMED)
		boolean(e, "malformed", true);
}

/* The kinds of the protocols above, each to its encoder; other kinds carry no fields. */
static void enc_other(struct enc *e, const struct pr_l7_txn *t)
{
	switch (t->kind) {
	case PR_L7_TXN_LDAP_MESSAGE:
		enc_ldap(e, &t->u.ldap);
		break;
	case PR_L7_TXN_NBNS:
		enc_nbns(e, &t->u.nbns);
		break;
	case PR_L7_TXN_NBDS:
		enc_nbds(e, &t->u.nbds);
		break;
	case PR_L7_TXN_SMB:
		enc_smb(e, &t->u.smb);
		break;
	case PR_L7_TXN_BGP:
		enc_bgp(e, &t->u.bgp);
		break;
	case PR_L7_TXN_OSPF:
		enc_ospf(e, &t->u.ospf);
		break;
	case PR_L7_TXN_EIGRP:
		enc_eigrp(e, &t->u.eigrp);
		break;
	case PR_L7_TXN_RIP:
		enc_rip(e, &t->u.rip);
		break;
	case PR_L7_TXN_SNMP:
		enc_snmp(e, &t->u.snmp);
		break;
	case PR_L7_TXN_NTP:
		enc_ntp(e, &t->u.ntp);
		break;
	case PR_L7_TXN_NETFLOW_EXPORT:
	case PR_L7_TXN_NETFLOW_RECORD:
		enc_netflow(e, t);
		break;
	case PR_L7_TXN_SFLOW:
		enc_sflow(e, &t->u.sflow);
		break;
	case PR_L7_TXN_DHCP:
		enc_dhcp(e, &t->u.dhcp);
		break;
	case PR_L7_TXN_ICMP:
		enc_icmp(e, &t->u.icmp);
		break;
	case PR_L7_TXN_KERBEROS:
		enc_krb(e, &t->u.krb);
		break;
	case PR_L7_TXN_SIP:
		enc_sip(e, &t->u.sip);
		break;
	case PR_L7_TXN_SCTP:
		enc_sctp(e, &t->u.sctp);
		break;
	default:
		break;
	}
}

uint32_t pr_l7_meta_encode(const struct pr_l7_txn *t, struct pr_rec_meta *rec, uint32_t cap,
			   uint32_t *dropped)
{
	struct enc e = { .rec = rec, .cap = cap > sizeof(*rec) ? cap - (uint32_t)sizeof(*rec) : 0 };

	memset(rec, 0, sizeof(*rec));
	rec->hdr.type = PR_REC_META;
	rec->flow_id = t->flow_id;
	rec->ts_ns = t->ts_ns;
	rec->dir = t->dir;
	snprintf(rec->app, sizeof(rec->app), "%s", pr_l7_app_name(t->app));
	snprintf(rec->kind, sizeof(rec->kind), "%s", kind_name(t->kind));
	switch (t->app) {
	case PR_L7_APP_TLS:
	case PR_L7_APP_QUIC:
	case PR_L7_APP_DTLS:
		enc_tls(&e, t);
		break;
	case PR_L7_APP_DNS:
		if (t->kind == PR_L7_TXN_DNS_MESSAGE)
			enc_dns(&e, &t->u.dns);
		break;
	case PR_L7_APP_HTTP:
		enc_http(&e, t);
		break;
	case PR_L7_APP_SSH:
		enc_ssh(&e, t);
		break;
	case PR_L7_APP_SMTP:
		enc_smtp(&e, t);
		break;
	default:
		enc_other(&e, t);
		break;
	}
	rec->hdr.len = (uint32_t)sizeof(*rec) + rec->data_len;
	if (dropped)
		*dropped += e.dropped;
	return rec->hdr.len;
}

uint32_t pr_l7_meta_tunnel(uint64_t flow_id, uint64_t ts_ns, const struct pr_l7_tunnel *t,
			   struct pr_rec_meta *rec, uint32_t cap)
{
	struct enc e = { .rec = rec, .cap = cap > sizeof(*rec) ? cap - (uint32_t)sizeof(*rec) : 0 };
	char a[INET6_ADDRSTRLEN];
	int af = t->ip_version == 6 ? AF_INET6 : AF_INET;

	memset(rec, 0, sizeof(*rec));
	rec->hdr.type = PR_REC_META;
	rec->flow_id = flow_id;
	rec->ts_ns = ts_ns;
	snprintf(rec->app, sizeof(rec->app), "tunnel");
	snprintf(rec->kind, sizeof(rec->kind), "%s", t->type);
	str(&e, "type", t->type);
	if (t->has_id)
		num(&e, "id", t->id);
	num(&e, "depth", t->depth);
	if (inet_ntop(af, t->src_ip, a, sizeof(a)))
		str(&e, "outer_src", a);
	if (inet_ntop(af, t->dst_ip, a, sizeof(a)))
		str(&e, "outer_dst", a);
	if (t->sport || t->dport) {
		num(&e, "outer_sport", t->sport);
		num(&e, "outer_dport", t->dport);
	}
	rec->hdr.len = (uint32_t)sizeof(*rec) + rec->data_len;
	return rec->hdr.len;
}

uint32_t pr_l7_meta_app(uint64_t flow_id, uint64_t ts_ns, uint8_t app, struct pr_rec_meta *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->hdr.type = PR_REC_META;
	rec->hdr.len = sizeof(*rec);
	rec->flow_id = flow_id;
	rec->ts_ns = ts_ns;
	snprintf(rec->app, sizeof(rec->app), "%s", pr_l7_app_name(app));
	snprintf(rec->kind, sizeof(rec->kind), "app");
	return rec->hdr.len;
}
