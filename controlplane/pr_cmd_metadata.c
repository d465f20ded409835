// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder metadata`: the L7 transactions of a session, one per
 * row of the store's l7_meta table (a TLS hello, a DNS message, an HTTP
 * request, ...), optionally of one protocol or one flow, as text or JSON;
 * or, with --eve, every flow and its metadata as eve.json lines
 * (controlplane/query/pr_eve.h). Main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_cli.h"
#include "pr_eve.h"
#include "pr_json.h"
#include "pr_l7view.h"

struct md_opts {
	int64_t session;
	bool have_session;
	const char *protocol; /* NULL: all */
	uint64_t flow_id; /* 0: all */
	struct pr_json *j;
	uint64_t rows;
	bool eve;
	const char *eve_types; /* --eve-types list; NULL: all */
	uint32_t eve_mask;
	struct pr_store *st;
	struct pr_l7view *l7;
	int err; /* a failed write of an --eve line */
};

static void md_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder metadata --session ID [--protocol P] [--flow ID] "
		"[-d DB] [--json]\n"
		"\n"
		"List the L7 transactions of a session in the order they were stored: TLS\n"
		"hellos and certificates, DNS messages, HTTP requests and responses, SSH banners\n"
		"and key exchanges, SMTP commands, ... (flows --json shows them merged per flow).\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -p, --protocol P       only protocol P (tls, dns, http, ssh, smtp, quic, ...)\n"
		"      --flow ID          only flow ID (see `flows`)\n"
		"      --eve              every flow and its metadata as JSON lines in the shape\n"
		"                         of Suricata's eve.json (event types flow, dns, tls,\n"
		"                         http, ssh, smtp), for pipelines built for Suricata\n"
		"      --eve-types T,T    with --eve: only these event types\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             a JSON array: {flow_id, ts, app, kind, dir, fields}\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n");
}

static int row_cb(void *ctx, const struct pr_store_l7 *m)
{
	struct md_opts *o = ctx;

	o->rows++;
	if (o->j) {
		pr_json_obj_begin(o->j);
		pr_json_kv_u64(o->j, "flow_id", m->flow_id);
		pr_json_kv_u64(o->j, "ts", m->ts_ns);
		pr_json_kv_str(o->j, "app", m->app);
		pr_json_kv_str(o->j, "kind", m->kind);
		pr_json_kv_str(o->j, "dir", m->dir ? "to_client" : "to_server");
		/* The store wrote fields as a JSON object itself (pr_l7view_fields_json). */
		pr_json_key(o->j, "fields");
		pr_json_raw(o->j, m->fields);
		pr_json_obj_end(o->j);
	} else {
		char ts[64];

		pr_cli_format_ts(m->ts_ns, ts, sizeof(ts));
		printf("%-20" PRIu64 " %-30s %-6s %-14s %-2s %s\n", m->flow_id, ts, m->app, m->kind,
		       m->dir ? "<" : ">", m->fields);
	}
	return 0;
}

static int eve_line(void *ctx, const char *line)
{
	struct md_opts *o = ctx;

	o->rows++;
	if (fputs(line, stdout) == EOF || putchar('\n') == EOF) {
		o->err = EIO;
		return 1;
	}
	return 0;
}

static int eve_flow_cb(void *ctx, const struct pr_store_flow *f)
{
	struct md_opts *o = ctx;
	char *obj = NULL;
	int ret;

	if (o->flow_id && f->flow_id != o->flow_id)
		return 0;
	ret = pr_l7view_load(o->l7, o->st, o->session, f->flow_id);
	if (ret < 0)
		return ret;
	if (o->protocol) {
		const char *app = pr_l7view_app(o->l7);

		if (!app || strcmp(app, o->protocol))
			return 0;
	}
	if (pr_l7view_object(o->l7, &obj))
		return -ENOMEM;
	ret = pr_eve_flow(f, obj, o->eve_mask, eve_line, o);
	free(obj);
	return ret;
}

int pr_cmd_metadata(int argc, char **argv)
{
	enum { O_EVE = PR_OPT_FIRST_COMMAND_OPT, O_EVE_TYPES };
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "protocol", required_argument, NULL, 'p' },
		{ "eve", no_argument, NULL, O_EVE },
		{ "eve-types", required_argument, NULL, O_EVE_TYPES },
		{ "flow", required_argument, NULL, PR_OPT_FLOW }, /* into cli.range */
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct md_opts o = { 0 };
	struct pr_session_info si;
	struct pr_store *st = NULL;
	struct pr_json j;
	struct pr_cli cli;
	int opt, rc, ret;

	pr_cli_init(&cli, "metadata");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "S:p:" PR_CLI_COMMON_SHORT, longopts, NULL)) != -1) {
		ret = pr_cli_common_opt(&cli, opt, optarg);
		if (ret < 0) {
			rc = -ret;
			goto out;
		}
		if (ret)
			continue;
		switch (opt) {
		case 'h':
			md_usage(stdout);
			rc = PR_EXIT_OK;
			goto out;
		case 'S':
			if (pr_cli_parse_session(optarg, &o.session)) {
				rc = PR_EXIT_USAGE;
				goto out;
			}
			o.have_session = true;
			break;
		case 'p':
			o.protocol = optarg;
			break;
		case O_EVE:
			o.eve = true;
			break;
		case O_EVE_TYPES:
			o.eve_types = optarg;
			break;
		default:
			rc = pr_cli_usage_error(&cli);
			goto out;
		}
	}
	if (optind < argc) {
		pr_cli_error("metadata: unexpected argument \"%s\"", argv[optind]);
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if (cli.range.has_flow) {
		if (!cli.range.flow_id) {
			pr_cli_error("metadata: --flow: flow ids start at 1");
			rc = pr_cli_usage_error(&cli);
			goto out;
		}
		o.flow_id = cli.range.flow_id;
	}
	if (!o.have_session) {
		pr_cli_error("metadata: --session ID is required");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	o.eve_mask = PR_EVE_ALL;
	if (o.eve_types) {
		char err[160];

		if (!o.eve) {
			pr_cli_error("metadata: --eve-types goes with --eve");
			rc = pr_cli_usage_error(&cli);
			goto out;
		}
		if (pr_eve_types_parse(o.eve_types, &o.eve_mask, err, sizeof(err))) {
			pr_cli_error("metadata: --eve-types: %s", err);
			rc = pr_cli_usage_error(&cli);
			goto out;
		}
	}
	if (o.eve && cli.json) {
		pr_cli_error("metadata: --eve writes JSON lines already; leave out --json");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if ((rc = pr_cli_prepare(&cli)) || (rc = pr_cli_open_store(&cli, false, &st)) ||
	    (rc = pr_cli_get_session(&cli, st, o.session, &si)))
		goto out;
	if (o.eve) {
		o.st = st;
		if (pr_l7view_create(&o.l7)) {
			pr_cli_error("metadata: %s", strerror(ENOMEM));
			rc = PR_EXIT_FAIL;
			goto out;
		}
		ret = pr_store_flows_foreach(st, o.session, eve_flow_cb, &o);
		pr_l7view_destroy(o.l7);
		if (fflush(stdout) && !o.err)
			o.err = errno;
		if (o.err) {
			pr_cli_error("metadata: standard output: %s", strerror(o.err));
			rc = PR_EXIT_FAIL;
			goto out;
		}
		if (ret < 0) {
			pr_cli_error("%s: %s", cli.db_path, pr_store_errmsg(st));
			rc = PR_EXIT_FAIL;
			goto out;
		}
		rc = PR_EXIT_OK;
		goto out;
	}
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
		o.j = &j;
	}
	ret = pr_store_l7_foreach(st, o.session, o.flow_id, o.protocol, row_cb, &o);
	if (cli.json) {
		pr_json_arr_end(&j);
		pr_json_end(&j);
	}
	if (ret < 0) {
		pr_cli_error("%s: %s", cli.db_path, pr_store_errmsg(st));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	rc = PR_EXIT_OK;
out:
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}
