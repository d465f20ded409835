// SPDX-License-Identifier: Apache-2.0
/*
 * The read-only commands: `sessions`, `query` and `flows`. They stream
 * their output (text or JSON) straight from the store's iterators, so a
 * session of any size is listed in constant memory. Main thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_cli.h"
#include "pr_flowjson.h"
#include "pr_flowwhere.h"
#include "pr_json.h"
#include "pr_l7view.h"
#include "pr_record.h"

/* Parse the options the three commands share; returns an exit code, or -1 to go on. */
static int parse_read_opts(struct pr_cli *cli, int argc, char **argv, const char *shortopts,
			   const struct option *longopts, void (*usage)(FILE *),
			   int (*own)(void *ctx, int opt, const char *arg), void *ctx)
{
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		ret = pr_cli_common_opt(cli, opt, optarg);
		if (ret < 0)
			return -ret;
		if (ret)
			continue;
		if (opt == 'h') {
			usage(stdout);
			return PR_EXIT_OK;
		}
		ret = own ? own(ctx, opt, optarg) : PR_EXIT_USAGE;
		if (ret == PR_EXIT_USAGE && opt == '?')
			return pr_cli_usage_error(cli);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		pr_cli_error("%s: unexpected argument \"%s\"", cli->command, argv[optind]);
		return pr_cli_usage_error(cli);
	}
	return -1;
}

/* ---- sessions ---- */

static void sessions_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder sessions [-d DB] [--json]\n"
		"\n"
		"List the capture sessions of the store, oldest first.\n"
		"\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             a JSON array (keys: docs/packetrecorder-sessions.md)\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n");
}

void pr_cli_session_json(struct pr_json *j, const struct pr_session_info *s)
{
	pr_json_obj_begin(j);
	pr_json_kv_i64(j, "session_id", s->id);
	pr_json_kv_str(j, "name", s->name);
	pr_json_kv_str(j, "source", s->source);
	pr_json_kv_str(j, "source_kind", s->source_kind);
	pr_json_kv_str(j, "filter", s->filter);
	pr_json_kv_u64(j, "start_ts", s->start_ts_ns);
	pr_json_kv_u64(j, "end_ts", s->end_ts_ns);
	pr_json_kv_u64(j, "first_packet_ts", s->first_pkt_ts_ns);
	pr_json_kv_u64(j, "last_packet_ts", s->last_pkt_ts_ns);
	pr_json_kv_u64(j, "packets", s->packets);
	pr_json_kv_u64(j, "bytes", s->bytes);
	pr_json_kv_u64(j, "captured_bytes", s->captured_bytes);
	pr_json_kv_u64(j, "received", s->received);
	pr_json_kv_u64(j, "filtered", s->filtered);
	pr_json_kv_u64(j, "drops", pr_query_session_drops(s));
	pr_json_key(j, "drops_by_reason");
	pr_json_obj_begin(j);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		pr_json_kv_u64(j, pr_drop_reason_name(i), s->drops[i]);
	pr_json_obj_end(j);
	pr_json_kv_u64(j, "flows", s->flows);
	pr_json_kv_u64(j, "snaplen", s->snaplen);
	pr_json_kv_str(j, "status", pr_session_status_name(s->status));
	pr_json_kv_str(j, "message", s->message);
	pr_json_obj_end(j);
}

static int session_json_cb(void *ctx, const struct pr_session_info *s)
{
	pr_cli_session_json(ctx, s);
	return 0;
}

void pr_cli_sessions_text_header(void)
{
	printf("%6s  %-11s  %-19s  %12s  %14s  %8s  %8s  %-20s  %s\n", "ID", "STATUS",
	       "STARTED (UTC)", "PACKETS", "BYTES", "FLOWS", "DROPS", "NAME", "SOURCE");
}

/*
 * Names and sources come from the command line or a file name: anything
 * may be in them, so they are printed through pr_cli_esc().
 */
void pr_cli_session_text(const struct pr_session_info *s)
{
	char start[64], name[PR_CLI_ESC_SIZE(sizeof(s->name))],
		source[PR_CLI_ESC_SIZE(sizeof(s->source))];
	size_t w;

	pr_cli_format_ts(s->start_ts_ns, start, sizeof(start));
	start[19] = 0; /* seconds are enough here */
	w = pr_cli_esc(name, sizeof(name), s->name, 20);
	pr_cli_esc(source, sizeof(source), s->source, 0);
	printf("%6lld  %-11s  %-19s  %12" PRIu64 "  %14" PRIu64 "  %8" PRIu64 "  %8" PRIu64
	       "  %s%*s  %s\n",
	       (long long)s->id, pr_session_status_name(s->status), start, s->packets, s->bytes,
	       s->flows, pr_query_session_drops(s), name, (int)(20 - w), "", source);
}

static int session_text_cb(void *ctx, const struct pr_session_info *s)
{
	(void)ctx;
	pr_cli_session_text(s);
	return 0;
}

int pr_cmd_sessions(int argc, char **argv)
{
	static const struct option longopts[] = { PR_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct pr_cli cli;
	struct pr_store *st = NULL;
	struct pr_query_err err;
	struct pr_json j;
	int rc, ret;

	pr_cli_init(&cli, "sessions");
	rc = parse_read_opts(&cli, argc, argv, PR_CLI_COMMON_SHORT, longopts, sessions_usage, NULL,
			     NULL);
	if (rc >= 0)
		goto out;
	if ((rc = pr_cli_prepare(&cli)) || (rc = pr_cli_open_store(&cli, false, &st)))
		goto out;
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
		ret = pr_query_sessions(st, session_json_cb, &j, &err);
		pr_json_arr_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_sessions_text_header();
		ret = pr_query_sessions(st, session_text_cb, NULL, &err);
	}
	if (ret < 0) {
		pr_cli_error("%s: %s", cli.db_path, err.msg);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	rc = PR_EXIT_OK;
out:
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}

/* ---- flows ---- */

struct flows_opts {
	int64_t session;
	bool have_session;
	uint64_t limit;
	struct pr_json *j;
	struct pr_store *st;
	struct pr_l7view *l7; /* the L7 keys of each flow */
	const char *where_expr;
	struct pr_flowwhere *where; /* --where, compiled */
	uint64_t matched; /* flows that passed --where */
};

enum { O_WHERE = PR_OPT_FIRST_COMMAND_OPT };

static void flows_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder flows --session ID [--where EXPR] [-d DB] [--json]\n"
		"\n"
		"List the flows of a session, ordered by first packet.\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -n, --limit N          at most N flows (0 = all)\n"
		"      --from TIME        only flows that last until TIME or later (RFC 3339\n"
		"                         such as 2024-05-01T12:00:00Z, or epoch nanoseconds)\n"
		"      --to TIME          only flows that started at TIME or before\n"
		"      --flow ID          only flow ID\n"
		"      --where EXPR       only flows that match EXPR, such as\n"
		"                         'sni ~ example', 'app == dns and qname ~ \"\\.com$\"',\n"
		"                         'port == 53 or port == 443', 'not app'\n"
		"                         (FIELD OP VALUE with == != ~ !~ < <= > >= in, and/or/not,\n"
		"                         parentheses; see docs/packetrecorder-flows.md)\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             a JSON array (keys: docs/packetrecorder-flows.md)\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n");
}

static int session_opt(void *ctx, int opt, const char *arg)
{
	struct flows_opts *o = ctx;

	if (opt == 'n')
		return pr_cli_parse_u64("--limit", arg, &o->limit);
	if (opt == O_WHERE) {
		o->where_expr = arg;
		return 0;
	}
	if (opt != 'S')
		return PR_EXIT_USAGE;
	if (pr_cli_parse_session(arg, &o->session))
		return PR_EXIT_USAGE;
	o->have_session = true;
	return 0;
}

static void ip_text(uint8_t ver, const uint8_t *ip, char *buf, size_t len)
{
	if (!inet_ntop(ver == 6 ? AF_INET6 : AF_INET, ip, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/*
 * With --where: load the flow's L7 keys, test the flow, and count it
 * against --limit (the limit counts matching flows, so the query itself
 * runs unlimited). 1 to print the flow, 0 to skip it, or a negative errno.
 */
static int flow_filter(struct flows_opts *o, const struct pr_store_flow *f)
{
	int ret;

	if (!o->l7)
		return 1;
	ret = pr_l7view_load(o->l7, o->st, o->session, f->flow_id);
	if (ret < 0 || !o->where)
		return ret < 0 ? ret : 1;
	ret = pr_flowjson_match(o->where, f, o->l7);
	if (ret <= 0)
		return ret;
	o->matched++;
	return 1;
}

/* After a printed flow: stop the walk (1) once --limit matching flows are out. */
static int flow_limit_reached(const struct flows_opts *o)
{
	return o->where && o->limit && o->matched >= o->limit;
}

static int flow_json_cb(void *ctx, const struct pr_store_flow *f)
{
	struct flows_opts *o = ctx;
	int ret = flow_filter(o, f);

	if (ret <= 0)
		return ret;
	pr_flowjson_write(o->j, f, o->l7);
	return flow_limit_reached(o);
}

void pr_cli_flows_text_header(void)
{
	printf("%-20s %-30s  %-6s %21s    %-21s %4s %8s %10s %8s %10s %-11s %s\n", "FLOW",
	       "FIRST (UTC)", "PROTO", "SOURCE", "DESTINATION", "VLAN", "PKTS>", "BYTES>", "PKTS<",
	       "BYTES<", "TCP", "END");
}

void pr_cli_flow_text(const struct pr_store_flow *f)
{
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], a[INET6_ADDRSTRLEN],
		b[INET6_ADDRSTRLEN], ts[64], proto[16];
	const char *pn = pr_cli_ip_proto_name(f->ip_proto);

	ip_text(f->ip_version, f->src_ip, a, sizeof(a));
	ip_text(f->ip_version, f->dst_ip, b, sizeof(b));
	snprintf(src, sizeof(src), f->ip_version == 6 ? "[%s]:%u" : "%s:%u", a, f->src_port);
	snprintf(dst, sizeof(dst), f->ip_version == 6 ? "[%s]:%u" : "%s:%u", b, f->dst_port);
	snprintf(proto, sizeof(proto), "%s", pn ? pn : "");
	if (!pn)
		snprintf(proto, sizeof(proto), "%u", f->ip_proto);
	pr_cli_format_ts(f->first_ts_ns, ts, sizeof(ts));
	printf("%-20" PRIu64 " %-30s  %-6s %21s -> %-21s %4u %8" PRIu64 " %10" PRIu64 " %8" PRIu64
	       " %10" PRIu64 " %-11s %s\n",
	       f->flow_id, ts, proto, src, dst, f->vlan, f->packets[0], f->bytes[0], f->packets[1],
	       f->bytes[1], pr_tcp_state_name(f->tcp_state), pr_flow_end_name(f->end_reason));
}

static int flow_text_cb(void *ctx, const struct pr_store_flow *f)
{
	struct flows_opts *o = ctx;
	int ret = flow_filter(o, f);

	if (ret <= 0)
		return ret;
	pr_cli_flow_text(f);
	return flow_limit_reached(o);
}

int pr_cmd_flows(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'n' },
		{ "where", required_argument, NULL, O_WHERE },
		PR_CLI_COMMON_OPTIONS,
		PR_CLI_RANGE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct flows_opts o = { 0 };
	char werr[256];
	struct pr_query_flows_req req;
	struct pr_session_info si;
	struct pr_query_err err;
	struct pr_cli cli;
	struct pr_store *st = NULL;
	struct pr_json j;
	int rc, ret;

	pr_cli_init(&cli, "flows");
	rc = parse_read_opts(&cli, argc, argv, "S:n:" PR_CLI_COMMON_SHORT, longopts, flows_usage,
			     session_opt, &o);
	if (rc >= 0)
		goto out;
	if (!o.have_session) {
		pr_cli_error("flows: --session ID is required");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	/* A bad expression is a usage error, found before the store is opened. */
	if (o.where_expr) {
		ret = pr_flowwhere_compile(o.where_expr, &o.where, werr, sizeof(werr));
		if (ret) {
			pr_cli_error("flows: --where: %s", werr);
			rc = ret == -EINVAL ? pr_cli_usage_error(&cli) : PR_EXIT_FAIL;
			goto out;
		}
	}
	if ((rc = pr_cli_prepare(&cli)) || (rc = pr_cli_open_store(&cli, false, &st)) ||
	    (rc = pr_cli_get_session(&cli, st, o.session, &si)))
		goto out;
	req = (struct pr_query_flows_req){
		.session = o.session,
		.from_ns = cli.range.from_ns,
		.to_ns = cli.range.to_ns,
		.has_flow = cli.range.has_flow,
		.flow_id = cli.range.flow_id,
		.limit = o.where ? 0 : o.limit,
	};
	if (cli.json || o.where) {
		if (pr_l7view_create(&o.l7)) {
			pr_cli_error("flows: %s", strerror(ENOMEM));
			rc = PR_EXIT_FAIL;
			goto out;
		}
		o.st = st;
	}
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
		o.j = &j;
		ret = pr_query_flows(st, &req, flow_json_cb, &o, &err);
		pr_json_arr_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_flows_text_header();
		ret = pr_query_flows(st, &req, flow_text_cb, &o, &err);
	}
	if (ret < 0) {
		pr_cli_error("%s: %s", cli.db_path, err.msg);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	rc = PR_EXIT_OK;
out:
	pr_flowwhere_destroy(o.where);
	pr_l7view_destroy(o.l7);
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}

/* ---- query ---- */

struct query_opts {
	int64_t session;
	bool have_session;
	uint64_t limit;
	bool show_data;
	const char *filter;
};

enum { O_SHOW_DATA = PR_OPT_FIRST_COMMAND_OPT };

static void query_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder query --session ID [--limit N] [--show-data] [--filter BPF] "
		"[--json]\n"
		"\n"
		"List the stored packets of a session in capture order.\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -n, --limit N          at most N packets (after the filter; 0 = all)\n"
		"  -x, --show-data        include the packet bytes (hex dump; \"data\" in JSON)\n"
		"  -f, --filter EXPR      BPF filter, tcpdump syntax\n" PR_CLI_RANGE_HELP
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             a JSON array (keys: docs/packetrecorder-query.md)\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n");
}

static int query_opt(void *ctx, int opt, const char *arg)
{
	struct query_opts *o = ctx;

	switch (opt) {
	case 'S':
		if (pr_cli_parse_session(arg, &o->session))
			return PR_EXIT_USAGE;
		o->have_session = true;
		return 0;
	case 'n':
		return pr_cli_parse_u64("--limit", arg, &o->limit);
	case 'x':
	case O_SHOW_DATA:
		o->show_data = true;
		return 0;
	case 'f':
		o->filter = arg;
		return 0;
	default:
		return PR_EXIT_USAGE;
	}
}

void pr_cli_packet_json(struct pr_json *j, const struct pr_query_pkt *qp, bool show_data)
{
	const struct pr_block_pkt *p = &qp->pkt;

	pr_json_obj_begin(j);
	pr_json_kv_u64(j, "index", qp->index);
	pr_json_kv_u64(j, "ts", p->ts_ns);
	pr_json_kv_u64(j, "cap_len", p->cap_len);
	pr_json_kv_u64(j, "wire_len", p->wire_len);
	pr_json_kv_u64(j, "iface", p->iface);
	pr_json_kv_u64(j, "linktype", qp->linktype);
	pr_json_kv_u64(j, "flow_id", p->flow_id);
	if (show_data) {
		pr_json_key(j, "data");
		pr_json_hex(j, p->data, p->cap_len);
	}
	pr_json_obj_end(j);
}

static void hexdump(const uint8_t *p, uint32_t n)
{
	for (uint32_t off = 0; off < n; off += 16) {
		printf("        0x%04x: ", off);
		for (uint32_t i = 0; i < 16; i++) {
			if (off + i < n)
				printf("%02x", p[off + i]);
			else
				printf("  ");
			if (i & 1)
				putchar(' ');
		}
		putchar(' ');
		for (uint32_t i = 0; i < 16 && off + i < n; i++)
			putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
		putchar('\n');
	}
}

void pr_cli_packets_text_header(void)
{
	printf("%10s  %-30s  %5s  %6s  %6s  %s\n", "INDEX", "TIME (UTC)", "IFACE", "CAPLEN", "LEN",
	       "FLOW");
}

void pr_cli_packet_text(const struct pr_query_pkt *qp, bool show_data)
{
	const struct pr_block_pkt *p = &qp->pkt;
	char ts[64];

	pr_cli_format_ts(p->ts_ns, ts, sizeof(ts));
	printf("%10" PRIu64 "  %-30s  %5u  %6u  %6u  %" PRIu64 "\n", qp->index, ts, p->iface,
	       p->cap_len, p->wire_len, p->flow_id);
	if (show_data)
		hexdump(p->data, p->cap_len);
}

int pr_cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'n' },
		{ "show-data", no_argument, NULL, O_SHOW_DATA },
		{ "filter", required_argument, NULL, 'f' },
		PR_CLI_COMMON_OPTIONS,
		PR_CLI_RANGE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct query_opts o = { 0 };
	struct pr_cli_session ses = { 0 };
	struct pr_cli cli;
	struct pr_query_pkt qp;
	struct pr_query_err err;
	struct pr_json j;
	uint64_t shown = 0;
	int rc, ret = 0;

	pr_cli_init(&cli, "query");
	rc = parse_read_opts(&cli, argc, argv, "S:n:xf:" PR_CLI_COMMON_SHORT, longopts, query_usage,
			     query_opt, &o);
	if (rc >= 0)
		goto out;
	if (!o.have_session) {
		pr_cli_error("query: --session ID is required");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if ((rc = pr_cli_session_open(&cli, o.session, o.filter, &ses)))
		goto out;
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
	} else {
		pr_cli_packets_text_header();
	}
	while ((!o.limit || shown < o.limit) && (ret = pr_query_pkts_next(ses.q, &qp, &err)) == 1) {
		shown++;
		if (cli.json)
			pr_cli_packet_json(&j, &qp, o.show_data);
		else
			pr_cli_packet_text(&qp, o.show_data);
	}
	if (cli.json) {
		pr_json_arr_end(&j);
		pr_json_end(&j);
	}
	if (ret < 0)
		pr_cli_error("%s: %s", cli.db_path, err.msg);
	rc = ret < 0 ? PR_EXIT_FAIL : PR_EXIT_OK;
out:
	pr_cli_session_close(&ses);
	pr_cli_fini(&cli);
	return rc;
}
