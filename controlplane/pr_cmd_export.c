// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder export`: write a session's packets to a pcap or pcapng
 * file, unchanged: same bytes, same link types, same timestamps at the
 * resolution each interface had. pcapng keeps every interface (name, link
 * type, resolution) and carries the session as the section comment. The
 * output goes through pr_outfile: never the store, a new file created
 * with O_EXCL, an existing one replaced only when the export succeeded.
 * A failed export removes only what it created and never touches the
 * store. Main thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_cli.h"
#include "pr_json.h"
#include "pr_pcapw.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder export --session ID --output FILE [--format pcap|pcapng]\n"
		"                             [--limit N] [--filter BPF] [--json]\n"
		"\n"
		"Write a session's packets to a capture file, byte for byte, with their\n"
		"timestamps and link types.\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -o, --output FILE      the file to write (- = standard output); an existing\n"
		"                         FILE must be a capture file and is replaced only when\n"
		"                         the export succeeds; never the store\n"
		"      --file-mode MODE   permissions of FILE, octal (default 0600)\n"
		"  -F, --format FMT       pcap (default; one link type) or pcapng (any number of\n"
		"                         interfaces, names kept, session as comment)\n"
		"  -n, --limit N          at most N packets (after the filter; 0 = all)\n"
		"  -f, --filter EXPR      BPF filter, tcpdump syntax\n" PR_CLI_RANGE_HELP
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             print a JSON summary on stdout\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n"
		   "\n"
		   "Exit: 0 ok, 1 failure, 2 key rejected, 3 usage (also an --output that is the\n"
		   "store, or an existing file that is not a capture file), 4 no such session.\n");
}

struct export_ctx {
	struct pr_pcapw *w;
	enum pr_pcapw_format fmt;
	int map[256]; /* our interface index -> writer index */
	uint32_t first_linktype;
	bool have_first;
	bool any_nsec;
	int rc;
	const char *output;
};

static int scan_iface_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct export_ctx *e = ctx;

	if (iface->tsresol != 6)
		e->any_nsec = true;
	if (e->fmt == PR_PCAPW_PCAP) {
		if (!e->have_first) {
			e->have_first = true;
			e->first_linktype = iface->linktype;
		} else if (iface->linktype != e->first_linktype) {
			pr_cli_error("export: the session has interfaces with different link types "
				     "(%u and %u): pcap holds one; use --format pcapng",
				     e->first_linktype, iface->linktype);
			e->rc = PR_EXIT_USAGE;
			return 1;
		}
	}
	return 0;
}

static int add_iface_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct export_ctx *e = ctx;
	struct pr_pcapw_iface wi = {
		.linktype = iface->linktype,
		.snaplen = iface->snaplen,
		/* pcap has one magic: nanoseconds if any interface needs them. */
		.tsresol = e->fmt == PR_PCAPW_PCAP ? (e->any_nsec ? 9 : 6) : iface->tsresol,
		.name = iface->name,
		.description = iface->description,
	};
	int idx;

	if (iface->index >= 256)
		return 0;
	idx = pr_pcapw_add_iface(e->w, &wi);
	if (idx < 0) {
		pr_cli_error("%s: interface %u: %s", e->output, iface->index, strerror(-idx));
		e->rc = PR_EXIT_FAIL;
		return 1;
	}
	e->map[iface->index] = idx;
	return 0;
}

int pr_cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "limit", required_argument, NULL, 'n' },
		{ "filter", required_argument, NULL, 'f' },
		{ "file-mode", required_argument, NULL, PR_OPT_FILE_MODE },
		PR_CLI_COMMON_OPTIONS,
		PR_CLI_RANGE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct export_ctx e = { .fmt = PR_PCAPW_PCAP, .rc = 0 };
	struct pr_cli_session ses = { 0 };
	const struct pr_session_info *si = &ses.si;
	struct pr_outfile *out = NULL;
	unsigned int file_mode = PR_OUTFILE_MODE_DEFAULT;
	struct pr_cli cli;
	struct pr_block_pkt p;
	const char *filter = NULL;
	char comment[2600], ts0[64], ts1[64];
	uint64_t limit = 0, written = 0, bytes = 0;
	int64_t session = 0;
	int opt, rc, ret = 0;

	for (int i = 0; i < 256; i++)
		e.map[i] = -1;
	pr_cli_init(&cli, "export");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "S:o:F:n:f:" PR_CLI_COMMON_SHORT, longopts, NULL)) !=
	       -1) {
		ret = pr_cli_common_opt(&cli, opt, optarg);
		if (ret < 0) {
			rc = -ret;
			goto out;
		}
		if (ret)
			continue;
		switch (opt) {
		case 'S':
			if ((rc = pr_cli_parse_session(optarg, &session)))
				goto out;
			break;
		case 'o':
			if ((rc = pr_cli_check_str("--output", optarg, PATH_MAX, false)))
				goto out;
			e.output = optarg;
			break;
		case PR_OPT_FILE_MODE:
			if ((rc = pr_cli_parse_file_mode("--file-mode", optarg, &file_mode)))
				goto out;
			break;
		case 'F':
			if (!strcmp(optarg, "pcap")) {
				e.fmt = PR_PCAPW_PCAP;
			} else if (!strcmp(optarg, "pcapng")) {
				e.fmt = PR_PCAPW_PCAPNG;
			} else {
				pr_cli_error("--format: \"%s\" is not pcap or pcapng", optarg);
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		case 'n':
			if ((rc = pr_cli_parse_u64("--limit", optarg, &limit)))
				goto out;
			break;
		case 'f':
			filter = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = PR_EXIT_OK;
			goto out;
		default:
			rc = pr_cli_usage_error(&cli);
			goto out;
		}
	}
	if (optind < argc) {
		pr_cli_error("export: unexpected argument \"%s\"", argv[optind]);
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if (!session || !e.output) {
		pr_cli_error("export: --session ID and --output FILE are required");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	/* Checked before the store is opened: only stat() ever looks at its files. */
	{
		struct pr_outfile_cfg oc = {
			.opt = "--output",
			.path = e.output,
			.mode = file_mode,
			.store = cli.db_path,
		};

		if ((rc = pr_cli_outfile_open(&oc, &out)))
			goto out;
	}
	if ((rc = pr_cli_session_open(&cli, session, filter, &ses)))
		goto out;
	pr_store_ifaces_foreach(ses.st, session, scan_iface_cb, &e);
	if (e.rc) {
		rc = e.rc;
		goto out;
	}
	pr_cli_format_ts(si->first_pkt_ts_ns, ts0, sizeof(ts0));
	pr_cli_format_ts(si->last_pkt_ts_ns, ts1, sizeof(ts1));
	snprintf(comment, sizeof(comment),
		 "packetrecorder session %lld \"%s\" from %s %s%s%s; %" PRIu64
		 " packets from %s to %s; status %s",
		 (long long)si->id, si->name, si->source_kind, si->source,
		 si->filter[0] ? "; capture filter " : "", si->filter, si->packets, ts0, ts1,
		 pr_session_status_name(si->status));
	{
		struct pr_pcapw_cfg wc = {
			.format = e.fmt,
			.path = pr_outfile_path(out),
			.comment = comment,
			.user_appl = "packetrecorder " PR_VERSION,
		};

		ret = pr_pcapw_create(&wc, &e.w);
		if (ret) {
			pr_cli_error("%s: %s", e.output, strerror(-ret));
			rc = PR_EXIT_FAIL;
			goto out;
		}
	}
	pr_store_ifaces_foreach(ses.st, session, add_iface_cb, &e);
	if (e.rc) {
		rc = e.rc;
		goto out;
	}
	while ((!limit || written < limit) && (ret = pr_cli_session_next(&cli, &ses, &p)) == 1) {
		if (p.iface >= 256 || e.map[p.iface] < 0) {
			pr_cli_error("session %lld: a packet names interface %u, which the session "
				     "does not have",
				     (long long)session, p.iface);
			rc = PR_EXIT_FAIL;
			goto out;
		}
		ret = pr_pcapw_write(e.w, (uint32_t)e.map[p.iface], p.ts_ns, p.data, p.cap_len,
				     p.wire_len);
		if (ret) {
			pr_cli_error("%s: %s", e.output, strerror(-ret));
			rc = PR_EXIT_FAIL;
			goto out;
		}
		written++;
		bytes += p.cap_len;
	}
	if (ret < 0) {
		rc = PR_EXIT_FAIL;
		goto out;
	}
	ret = pr_pcapw_close(e.w);
	e.w = NULL;
	if (ret) {
		pr_cli_error("%s: %s", e.output, strerror(-ret));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if ((rc = pr_cli_outfile_commit(out)))
		goto out;
	if (cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", session);
		pr_json_kv_str(&j, "output", e.output);
		pr_json_kv_str(&j, "format", e.fmt == PR_PCAPW_PCAP ? "pcap" : "pcapng");
		pr_json_kv_u64(&j, "packets", written);
		pr_json_kv_u64(&j, "bytes", bytes);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_note(&cli,
			    "exported %" PRIu64 " packets (%" PRIu64
			    " bytes) of session %lld to %s",
			    written, bytes, (long long)session, e.output);
	}
	rc = PR_EXIT_OK;
out:
	/* A failed export removes only what it created: the new or the temporary file. */
	pr_pcapw_close(e.w);
	pr_outfile_destroy(out);
	pr_cli_session_close(&ses);
	pr_cli_fini(&cli);
	return rc;
}
