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
		/* The other protocols' fields are not carried yet: their kind says what was seen. */
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
