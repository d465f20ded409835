// SPDX-License-Identifier: Apache-2.0
/*
 * Eve JSON lines (pr_eve.h). Each event is a json-c object built from the
 * flow and its merged L7 keys, the names mapped to Suricata's: qname to
 * rrname, qtype to rrtype (as a name), host to hostname, uri to url,
 * cert_issuer to issuerdn, and so on. Values are copied as they were
 * stored; nothing is re-decoded here.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pr_eve.h"
#include "pr_record.h"

static const char *const type_names[PR_EVE_TYPE_MAX] = {
	[PR_EVE_FLOW] = "flow", [PR_EVE_DNS] = "dns", [PR_EVE_TLS] = "tls",
	[PR_EVE_HTTP] = "http", [PR_EVE_SSH] = "ssh", [PR_EVE_SMTP] = "smtp",
};

const char *pr_eve_type_name(enum pr_eve_type t)
{
	return (unsigned)t < PR_EVE_TYPE_MAX ? type_names[t] : "unknown";
}

int pr_eve_types_parse(const char *list, uint32_t *mask, char *err, size_t errlen)
{
	const char *p = list;

	*mask = 0;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		int t;

		for (t = 0; t < PR_EVE_TYPE_MAX; t++)
			if (strlen(type_names[t]) == n && !strncmp(p, type_names[t], n))
				break;
		if (t == PR_EVE_TYPE_MAX) {
			snprintf(err, errlen,
				 "\"%.*s\" is not an event type (flow, dns, tls, http, ssh, smtp)",
				 (int)(n > 64 ? 64 : n), p);
			return -EINVAL;
		}
		*mask |= 1u << t;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*mask) {
		snprintf(err, errlen, "no event type given (flow, dns, tls, http, ssh, smtp)");
		return -EINVAL;
	}
	return 0;
}

/* Suricata's timestamp: 2024-05-01T12:00:00.123456+0000 (UTC). */
static void ts_text(uint64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06u+0000", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000u / 1000u));
}

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 1:
		return "ICMP";
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 47:
		return "GRE";
	case 58:
		return "IPv6-ICMP";
	case 132:
		return "SCTP";
	}
	snprintf(buf, len, "%u", p);
	return buf;
}

static const char *rrtype_name(int64_t t, char *buf, size_t len)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{ 1, "A" },	  { 2, "NS" },	  { 5, "CNAME" },  { 6, "SOA" },    { 12, "PTR" },
		{ 13, "HINFO" },  { 15, "MX" },	  { 16, "TXT" },   { 28, "AAAA" },  { 33, "SRV" },
		{ 35, "NAPTR" },  { 41, "OPT" },  { 43, "DS" },	   { 46, "RRSIG" }, { 47, "NSEC" },
		{ 48, "DNSKEY" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 252, "AXFR" }, { 255, "ANY" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == t)
			return names[i].name;
	snprintf(buf, len, "TYPE%lld", (long long)t);
	return buf;
}

static const char *rcode_name(int64_t r, char *buf, size_t len)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",	"REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };

	if (r >= 0 && r < (int64_t)(sizeof(names) / sizeof(names[0])))
		return names[r];
	snprintf(buf, len, "RCODE%lld", (long long)r);
	return buf;
}

/* The common keys of every event of flow f. */
static struct json_object *event_new(const struct pr_store_flow *f, const char *type,
				     uint64_t ts_ns, const char *app)
{
	struct json_object *e = json_object_new_object();
	char ts[64], ip[INET6_ADDRSTRLEN], pb[8];
	int af = f->ip_version == 6 ? AF_INET6 : AF_INET;

	if (!e)
		return NULL;
	ts_text(ts_ns, ts, sizeof(ts));
	json_object_object_add(e, "timestamp", json_object_new_string(ts));
	json_object_object_add(e, "flow_id", json_object_new_uint64(f->flow_id));
	json_object_object_add(e, "event_type", json_object_new_string(type));
	if (f->vlan) {
		struct json_object *v = json_object_new_array();

		json_object_array_add(v, json_object_new_int(f->vlan));
		json_object_object_add(e, "vlan", v);
	}
	if (f->ip_version) {
		if (inet_ntop(af, f->src_ip, ip, sizeof(ip)))
			json_object_object_add(e, "src_ip", json_object_new_string(ip));
		json_object_object_add(e, "src_port", json_object_new_int(f->src_port));
		if (inet_ntop(af, f->dst_ip, ip, sizeof(ip)))
			json_object_object_add(e, "dest_ip", json_object_new_string(ip));
		json_object_object_add(e, "dest_port", json_object_new_int(f->dst_port));
		json_object_object_add(
			e, "proto",
			json_object_new_string(proto_name(f->ip_proto, pb, sizeof(pb))));
	}
	if (app)
		json_object_object_add(e, "app_proto", json_object_new_string(app));
	return e;
}

/* Emit e (consumed). */
static int emit(struct json_object *e, pr_eve_line_fn fn, void *ctx)
{
	int ret;

	if (!e)
		return -ENOMEM;
	ret = fn(ctx, json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(e);
	return ret;
}

/* Copy key src of from (if there) as key dst of to. */
static void copy(struct json_object *to, const char *dst, struct json_object *from, const char *src)
{
	struct json_object *v;

	if (from && json_object_object_get_ex(from, src, &v) &&
	    !json_object_is_type(v, json_type_null))
		json_object_object_add(to, dst, json_object_get(v));
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static bool get_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return true;
	}
	return false;
}

/* Suricata's "tunnel" object from ours: outer addresses, type as proto, depth. */
static void tunnel_obj(struct json_object *e, struct json_object *tun)
{
	struct json_object *o;

	if (!tun || !json_object_is_type(tun, json_type_object))
		return;
	o = json_object_new_object();
	copy(o, "src_ip", tun, "outer_src");
	copy(o, "dest_ip", tun, "outer_dst");
	copy(o, "src_port", tun, "outer_sport");
	copy(o, "dest_port", tun, "outer_dport");
	copy(o, "proto", tun, "type");
	copy(o, "depth", tun, "depth");
	copy(o, "id", tun, "id");
	json_object_object_add(e, "tunnel", o);
}

static int flow_event(const struct pr_store_flow *f, const char *app, struct json_object *tun,
		      pr_eve_line_fn fn, void *ctx)
{
	struct json_object *e = event_new(f, "flow", f->last_ts_ns, app), *fl, *tcp;
	bool closed = f->tcp_state == PR_TCP_CLOSED || f->tcp_state == PR_TCP_RESET;
	const char *reason = "timeout";
	char ts[64];

	if (!e)
		return -ENOMEM;
	fl = json_object_new_object();
	json_object_object_add(fl, "pkts_toserver", json_object_new_uint64(f->packets[0]));
	json_object_object_add(fl, "pkts_toclient", json_object_new_uint64(f->packets[1]));
	json_object_object_add(fl, "bytes_toserver", json_object_new_uint64(f->bytes[0]));
	json_object_object_add(fl, "bytes_toclient", json_object_new_uint64(f->bytes[1]));
	ts_text(f->first_ts_ns, ts, sizeof(ts));
	json_object_object_add(fl, "start", json_object_new_string(ts));
	ts_text(f->last_ts_ns, ts, sizeof(ts));
	json_object_object_add(fl, "end", json_object_new_string(ts));
	json_object_object_add(
		fl, "age",
		json_object_new_uint64(f->last_ts_ns > f->first_ts_ns ?
					       (f->last_ts_ns - f->first_ts_ns) / 1000000000u :
					       0));
	json_object_object_add(fl, "state",
			       json_object_new_string(closed ? "closed" :
						      f->tcp_state == PR_TCP_ESTABLISHED ?
							       "established" :
							       "new"));
	if (f->end_reason == PR_FLOW_END_SHUTDOWN)
		reason = "shutdown";
	else if (f->end_reason == PR_FLOW_END_EVICTED)
		reason = "forced";
	json_object_object_add(fl, "reason", json_object_new_string(reason));
	json_object_object_add(fl, "end_reason",
			       json_object_new_string(pr_flow_end_name(f->end_reason)));
	json_object_object_add(fl, "alerted", json_object_new_boolean(0));
	json_object_object_add(e, "flow", fl);
	tunnel_obj(e, tun);
	if (f->ip_proto == 6) {
		char flags[8];

		tcp = json_object_new_object();
		snprintf(flags, sizeof(flags), "%02x", f->tcp_flags[0] | f->tcp_flags[1]);
		json_object_object_add(tcp, "tcp_flags", json_object_new_string(flags));
		snprintf(flags, sizeof(flags), "%02x", f->tcp_flags[0]);
		json_object_object_add(tcp, "tcp_flags_ts", json_object_new_string(flags));
		snprintf(flags, sizeof(flags), "%02x", f->tcp_flags[1]);
		json_object_object_add(tcp, "tcp_flags_tc", json_object_new_string(flags));
		json_object_object_add(tcp, "state",
				       json_object_new_string(pr_tcp_state_name(f->tcp_state)));
		json_object_object_add(e, "tcp", tcp);
	}
	return emit(e, fn, ctx);
}

/* One event per DNS message: a query, or an answer with its records. */
static int dns_events(const struct pr_store_flow *f, struct json_object *list, pr_eve_line_fn fn,
		      void *ctx)
{
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(list, i), *d, *ans, *e;
		struct json_object *resp = NULL;
		bool is_resp = json_object_object_get_ex(m, "response", &resp) &&
			       json_object_get_boolean(resp);
		char b[32];
		int64_t v;
		int ret;

		if (!json_object_is_type(m, json_type_object))
			continue;
		e = event_new(f, "dns", f->first_ts_ns, "dns");
		if (!e)
			return -ENOMEM;
		d = json_object_new_object();
		json_object_object_add(d, "type",
				       json_object_new_string(is_resp ? "answer" : "query"));
		copy(d, "id", m, "id");
		copy(d, "rrname", m, "qname");
		if (get_int(m, "qtype", &v))
			json_object_object_add(
				d, "rrtype", json_object_new_string(rrtype_name(v, b, sizeof(b))));
		if (is_resp && get_int(m, "rcode", &v))
			json_object_object_add(d, "rcode",
					       json_object_new_string(rcode_name(v, b, sizeof(b))));
		if (is_resp && json_object_object_get_ex(m, "answers", &ans) &&
		    json_object_is_type(ans, json_type_array)) {
			struct json_object *out = json_object_new_array();

			for (size_t k = 0; k < json_object_array_length(ans); k++) {
				struct json_object *a = json_object_array_get_idx(ans, k);
				struct json_object *o = json_object_new_object();

				copy(o, "rrname", a, "name");
				if (get_int(a, "type", &v))
					json_object_object_add(o, "rrtype",
							       json_object_new_string(rrtype_name(
								       v, b, sizeof(b))));
				copy(o, "ttl", a, "ttl");
				copy(o, "rdata", a, "data");
				json_object_array_add(out, o);
			}
			json_object_object_add(d, "answers", out);
		}
		json_object_object_add(e, "dns", d);
		ret = emit(e, fn, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/* One event per flow: its hellos and the server's certificate together, as Suricata logs it. */
static int tls_event(const struct pr_store_flow *f, struct json_object *t, const char *app,
		     pr_eve_line_fn fn, void *ctx)
{
	struct json_object *e = event_new(f, "tls", f->first_ts_ns, app), *o;
	const char *s;

	if (!e)
		return -ENOMEM;
	o = json_object_new_object();
	copy(o, "subject", t, "cert_subject");
	copy(o, "issuerdn", t, "cert_issuer");
	copy(o, "serial", t, "cert_serial");
	copy(o, "fingerprint", t, "cert_sha1");
	copy(o, "sni", t, "sni");
	copy(o, "version", t, "version");
	copy(o, "notbefore", t, "cert_not_before");
	copy(o, "notafter", t, "cert_not_after");
	copy(o, "sans", t, "cert_sans");
	copy(o, "sha256", t, "cert_sha256");
	if ((s = get_str(t, "ja3"))) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "hash", json_object_new_string(s));
		copy(j, "string", t, "ja3_string");
		json_object_object_add(o, "ja3", j);
	}
	if ((s = get_str(t, "ja3s"))) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "hash", json_object_new_string(s));
		copy(j, "string", t, "ja3s_string");
		json_object_object_add(o, "ja3s", j);
	}
	copy(o, "ja4", t, "ja4");
	copy(o, "ja4s", t, "ja4s");
	copy(o, "client_alpns", t, "alpn");
	copy(o, "server_alpn", t, "alpn_selected");
	json_object_object_add(e, "tls", o);
	return emit(e, fn, ctx);
}

/* One event per request/response pair. */
static int http_events(const struct pr_store_flow *f, struct json_object *list, pr_eve_line_fn fn,
		       void *ctx)
{
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(list, i), *e, *h;
		int ret;

		if (!json_object_is_type(m, json_type_object))
			continue;
		e = event_new(f, "http", f->first_ts_ns, "http");
		if (!e)
			return -ENOMEM;
		h = json_object_new_object();
		copy(h, "hostname", m, "host");
		copy(h, "url", m, "uri");
		copy(h, "http_user_agent", m, "user_agent");
		copy(h, "http_refer", m, "referer");
		copy(h, "http_method", m, "method");
		copy(h, "http_content_type", m, "content_type");
		copy(h, "status", m, "status");
		copy(h, "length", m, "content_length");
		copy(h, "server", m, "server");
		json_object_object_add(h, "tx_id", json_object_new_uint64(i));
		json_object_object_add(e, "http", h);
		ret = emit(e, fn, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/* "SSH-2.0-OpenSSH_9.6 comment": proto_version 2.0, software_version OpenSSH_9.6. */
static struct json_object *ssh_side(struct json_object *s, const char *banner_key,
				    const char *hassh_key, const char *string_key)
{
	const char *b = get_str(s, banner_key), *h = get_str(s, hassh_key);
	struct json_object *o = json_object_new_object();

	if (b && !strncmp(b, "SSH-", 4)) {
		const char *v = b + 4, *dash = strchr(v, '-');

		if (dash) {
			size_t sl = strcspn(dash + 1, " \r\n");

			json_object_object_add(o, "proto_version",
					       json_object_new_string_len(v, (int)(dash - v)));
			json_object_object_add(o, "software_version",
					       json_object_new_string_len(dash + 1, (int)sl));
		}
	}
	if (h) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "hash", json_object_new_string(h));
		copy(j, "string", s, string_key);
		json_object_object_add(o, "hassh", j);
	}
	return o;
}

static int ssh_event(const struct pr_store_flow *f, struct json_object *s, pr_eve_line_fn fn,
		     void *ctx)
{
	struct json_object *e = event_new(f, "ssh", f->first_ts_ns, "ssh"), *o;

	if (!e)
		return -ENOMEM;
	o = json_object_new_object();
	json_object_object_add(o, "client", ssh_side(s, "client_banner", "hassh", "hassh_string"));
	json_object_object_add(o, "server",
			       ssh_side(s, "server_banner", "hassh_server", "hassh_server_string"));
	json_object_object_add(e, "ssh", o);
	return emit(e, fn, ctx);
}

static int smtp_event(const struct pr_store_flow *f, struct json_object *s, pr_eve_line_fn fn,
		      void *ctx)
{
	struct json_object *e = event_new(f, "smtp", f->first_ts_ns, "smtp"), *o;

	if (!e)
		return -ENOMEM;
	o = json_object_new_object();
	copy(o, "helo", s, "helo");
	copy(o, "mail_from", s, "mail_from");
	copy(o, "rcpt_to", s, "rcpt_to");
	copy(o, "starttls", s, "starttls");
	copy(o, "banner", s, "banner");
	json_object_object_add(e, "smtp", o);
	return emit(e, fn, ctx);
}

int pr_eve_flow(const struct pr_store_flow *f, const char *l7_obj, uint32_t mask, pr_eve_line_fn fn,
		void *ctx)
{
	struct json_object *l7 = l7_obj && *l7_obj ? json_tokener_parse(l7_obj) : NULL, *v;
	const char *app;
	int ret = 0;

	if (l7 && !json_object_is_type(l7, json_type_object)) {
		json_object_put(l7);
		l7 = NULL;
	}
	app = get_str(l7, "app");
	if (mask & (1u << PR_EVE_FLOW))
		ret = flow_event(f, app,
				 l7 && json_object_object_get_ex(l7, "tunnel", &v) ? v : NULL, fn,
				 ctx);
	if (!ret && (mask & (1u << PR_EVE_DNS)) && json_object_object_get_ex(l7, "dns", &v))
		ret = dns_events(f, v, fn, ctx);
	if (!ret && (mask & (1u << PR_EVE_TLS)) && json_object_object_get_ex(l7, "tls", &v) &&
	    json_object_is_type(v, json_type_object))
		ret = tls_event(f, v, app, fn, ctx);
	if (!ret && (mask & (1u << PR_EVE_HTTP)) && json_object_object_get_ex(l7, "http", &v))
		ret = http_events(f, v, fn, ctx);
	if (!ret && (mask & (1u << PR_EVE_SSH)) && json_object_object_get_ex(l7, "ssh", &v) &&
	    json_object_is_type(v, json_type_object))
		ret = ssh_event(f, v, fn, ctx);
	if (!ret && (mask & (1u << PR_EVE_SMTP)) && json_object_object_get_ex(l7, "smtp", &v) &&
	    json_object_is_type(v, json_type_object))
		ret = smtp_event(f, v, fn, ctx);
	json_object_put(l7);
	return ret;
}
