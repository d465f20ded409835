// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder replay`: send a session's packets out of an interface.
 * Option parsing and output only: the packets are read through the
 * replay source the daemon uses too (replay/pr_replay_session.h), and the
 * scheduling, the dataplane and the measurements are the replay engine's
 * (replay/pr_replay.h). Main thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_backend_pick.h"
#include "pr_cli.h"
#include "pr_json.h"
#include "pr_replay.h"
#include "pr_replay_session.h"

/* Lock-free (every target we build for), so the handler may store to it. */
static atomic_bool replay_stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&replay_stop, true, memory_order_relaxed);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder replay --session ID (--interface IF | --display-only)\n"
		"                             [--speed X | --pps N | --mbps N | --topspeed]\n"
		"                             [--loop N] [--count N] [--filter BPF] [--json]\n"
		"\n"
		"Send a session's packets out of an interface, paced by their stored times.\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -i, --interface IF     send out of IF (needs CAP_NET_RAW, usually root)\n"
		"      --backend NAME     afxdp, dpdk or pcap (default: afxdp where it can run,\n"
		"                         else pcap, as for capture)\n"
		"      --backend-args STR backend settings (as for capture)\n"
		"      --dpdk-args ARGS   --backend dpdk with these EAL arguments\n"
		"  -x, --speed X          X times the original speed (default 1; 0 = top speed)\n"
		"      --pps N            N packets per second, evenly spaced\n"
		"      --mbps N           N megabits per second of frame bytes\n"
		"      --topspeed         as fast as possible (= --speed 0)\n"
		"      --loop N           send the selection N times (default 1)\n"
		"      --no-realtime      paced replays: leave the tx core at normal priority\n"
		"                         (default: SCHED_FIFO 1 where permitted)\n"
		"  -c, --count N          at most N packets per pass (after the filter; 0 = all)\n"
		"  -f, --filter EXPR      BPF filter, tcpdump syntax\n" PR_CLI_RANGE_HELP
		"      --display-only     print the packets and their send offsets; send nothing\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             print a JSON summary on stdout\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n");
}

/*
 * The store, the session and the replay source over it, opened in the
 * order the user can fix them (filter, key, store, session), each failure
 * printed as query and export print theirs. Returns an exit code.
 */
static int open_source(struct pr_cli *cli, int64_t session, const char *filter,
		       struct pr_store **st, struct pr_session_info *si,
		       struct pr_replay_session **rs)
{
	struct pr_replay_session_req req = {
		.session = session,
		.filter = filter,
		.from_ns = cli->range.from_ns,
		.to_ns = cli->range.to_ns,
		.has_flow = cli->range.has_flow,
		.flow_id = cli->range.flow_id,
	};
	struct pr_query_err err;
	int rc;

	if ((rc = pr_cli_filter_check(filter)) || (rc = pr_cli_prepare(cli)) ||
	    (rc = pr_cli_open_store(cli, false, st)) ||
	    (rc = pr_cli_get_session(cli, *st, session, si)))
		return rc;
	rc = pr_replay_session_create(*st, &req, rs, &err);
	if (rc) {
		if (rc == -EINVAL || rc == -ENOENT)
			pr_cli_error("%s", err.msg);
		else
			pr_cli_error("%s: %s", cli->db_path, err.msg);
		return pr_cli_query_rc(rc);
	}
	return 0;
}

/* What the store said when the source failed (a damaged block), naming the store. */
static void source_failed(const struct pr_cli *cli, const struct pr_replay_session *rs)
{
	const char *e = pr_replay_session_error(rs);

	if (e[0])
		pr_cli_error("%s: %s", cli->db_path, e);
}

struct display {
	struct pr_json *j; /* or NULL: text */
	uint64_t n;
};

static int display_cb(void *ctx, uint64_t index, uint64_t off, const struct pr_block_pkt *p)
{
	struct display *d = ctx;

	d->n++;
	if (d->j) {
		pr_json_obj_begin(d->j);
		pr_json_kv_u64(d->j, "index", index);
		pr_json_kv_double(d->j, "offset_s", (double)off / 1e9);
		pr_json_kv_u64(d->j, "ts", p->ts_ns);
		pr_json_kv_u64(d->j, "iface", p->iface);
		pr_json_kv_u64(d->j, "len", p->cap_len);
		pr_json_kv_u64(d->j, "flow_id", p->flow_id);
		pr_json_obj_end(d->j);
	} else {
		printf("%8" PRIu64 "  +%.6f s  iface %u  %u bytes  flow %" PRIu64 "\n", index,
		       (double)off / 1e9, p->iface, p->cap_len, p->flow_id);
	}
	return 0;
}

static void pacing_json(struct pr_json *j, const struct pr_replay_opts *o)
{
	pr_json_kv_str(j, "pacing",
		       o->pps	    ? "pps" :
		       o->mbps > 0  ? "mbps" :
		       o->speed > 0 ? "speed" :
				      "topspeed");
	pr_json_kv_double(j, "speed", o->speed);
	pr_json_kv_u64(j, "target_pps", o->pps);
	pr_json_kv_double(j, "target_mbps", o->mbps);
	pr_json_kv_u64(j, "loop", o->loop ? o->loop : 1);
}

int pr_cmd_replay(int argc, char **argv)
{
	enum {
		O_DISPLAY = PR_OPT_FIRST_COMMAND_OPT,
		O_BACKEND,
		O_BACKEND_ARGS,
		O_DPDK_ARGS,
		O_PPS,
		O_MBPS,
		O_TOPSPEED,
		O_LOOP,
		O_NO_RT,
	};
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "interface", required_argument, NULL, 'i' },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "backend-args", required_argument, NULL, O_BACKEND_ARGS },
		{ "dpdk-args", required_argument, NULL, O_DPDK_ARGS },
		{ "speed", required_argument, NULL, 'x' },
		{ "pps", required_argument, NULL, O_PPS },
		{ "mbps", required_argument, NULL, O_MBPS },
		{ "topspeed", no_argument, NULL, O_TOPSPEED },
		{ "loop", required_argument, NULL, O_LOOP },
		{ "no-realtime", no_argument, NULL, O_NO_RT },
		{ "count", required_argument, NULL, 'c' },
		{ "filter", required_argument, NULL, 'f' },
		{ "display-only", no_argument, NULL, O_DISPLAY },
		PR_CLI_COMMON_OPTIONS,
		PR_CLI_RANGE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct pr_replay_session *rs = NULL;
	struct pr_store *st = NULL;
	struct pr_session_info si;
	struct pr_cli cli;
	struct pr_replay *rp = NULL;
	struct pr_replay_opts o = { .speed = 1.0, .loop = 1, .realtime = true };
	struct pr_replay_result res;
	struct pr_replay_target t = { 0 };
	struct pr_replay_src src;
	struct sigaction sa = { .sa_handler = on_signal };
	const char *iface = NULL, *filter = NULL, *backend = NULL, *backend_args = NULL,
		   *dpdk_args = NULL;
	bool display = false, speed_given = false, topspeed = false;
	int64_t session = 0;
	char err[256];
	int opt, rc, ret = 0;

	memset(&res, 0, sizeof(res));
	pr_cli_init(&cli, "replay");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "S:i:x:c:f:" PR_CLI_COMMON_SHORT, longopts, NULL)) !=
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
		case 'i':
			iface = optarg;
			break;
		case O_BACKEND:
			backend = optarg;
			break;
		case O_BACKEND_ARGS:
			backend_args = optarg;
			break;
		case O_DPDK_ARGS:
			dpdk_args = optarg;
			break;
		case 'x':
			if ((rc = pr_cli_parse_double("--speed", optarg, &o.speed)))
				goto out;
			speed_given = true;
			break;
		case O_PPS:
			if ((rc = pr_cli_parse_u64("--pps", optarg, &o.pps)))
				goto out;
			if (!o.pps) {
				pr_cli_error("--pps: must be at least 1");
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		case O_MBPS:
			if ((rc = pr_cli_parse_double("--mbps", optarg, &o.mbps)))
				goto out;
			if (!(o.mbps > 0)) {
				pr_cli_error("--mbps: must be greater than 0");
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		case O_TOPSPEED:
			topspeed = true;
			break;
		case O_LOOP:
			if ((rc = pr_cli_parse_u64("--loop", optarg, &o.loop)))
				goto out;
			if (!o.loop) {
				pr_cli_error("--loop: must be at least 1");
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		case O_NO_RT:
			o.realtime = false;
			break;
		case 'c':
			if ((rc = pr_cli_parse_u64("--count", optarg, &o.count)))
				goto out;
			break;
		case 'f':
			filter = optarg;
			break;
		case O_DISPLAY:
			display = true;
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
		pr_cli_error("replay: unexpected argument \"%s\"", argv[optind]);
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if (!session || (!iface && !display)) {
		pr_cli_error("replay: --session ID and one of --interface IF or --display-only are "
			     "required");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	/* --speed, --pps, --mbps, --topspeed: one pacing; --speed 1 is only the default. */
	if (((speed_given || topspeed) + (o.pps > 0) + (o.mbps > 0)) > 1 ||
	    (speed_given && topspeed)) {
		pr_cli_error(
			"replay: --speed, --pps, --mbps and --topspeed choose the pacing: give "
			"one");
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if (topspeed || o.pps || o.mbps > 0)
		o.speed = 0;
	if (pr_replay_opts_check(&o, err, sizeof(err))) {
		pr_cli_error("replay: %s", err);
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if (dpdk_args) {
		if ((backend && strcmp(backend, "dpdk")) || backend_args) {
			pr_cli_error(
				"--dpdk-args: for --backend dpdk, and instead of --backend-args");
			rc = PR_EXIT_USAGE;
			goto out;
		}
		backend = "dpdk";
		backend_args = dpdk_args;
	}
	if (backend && strcmp(backend, "pcap") && strcmp(backend, "afxdp") &&
	    strcmp(backend, "dpdk")) {
		pr_cli_error("--backend: unknown backend \"%s\" (known: pcap, afxdp, dpdk)",
			     backend);
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if (display && (backend || iface)) {
		pr_cli_error("replay: --display-only sends nothing: it takes no --interface or "
			     "--backend");
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if ((rc = open_source(&cli, session, filter, &st, &si, &rs)))
		goto out;
	pr_replay_session_src(rs, &src);
	if (display) {
		struct pr_json jd;
		struct display d = { .j = cli.json ? &jd : NULL };

		if (cli.json) {
			pr_json_init(&jd, stdout);
			pr_json_obj_begin(&jd);
			pr_json_kv_i64(&jd, "session_id", session);
			pr_json_kv_bool(&jd, "display_only", true);
			pacing_json(&jd, &o);
			pr_json_key(&jd, "packets");
			pr_json_arr_begin(&jd);
		}
		ret = pr_replay_plan(&o, &src, display_cb, &d);
		if (ret < 0) {
			source_failed(&cli, rs);
			rc = PR_EXIT_FAIL;
			goto out;
		}
		if (cli.json) {
			pr_json_arr_end(&jd);
			pr_json_kv_u64(&jd, "packets_selected", d.n);
			pr_json_obj_end(&jd);
			pr_json_end(&jd);
		}
		rc = PR_EXIT_OK;
		goto out;
	}
	if (!backend) {
		char why[160];

		backend = pr_backend_pick(iface, why, sizeof(why));
		pr_cli_note(&cli, "replaying with the %s backend%s%s%s", backend,
			    why[0] ? " (afxdp: " : "", why, why[0] ? ")" : "");
	}
	if (!backend_args && !strcmp(backend, "afxdp") && cli.cfg.afxdp_args[0])
		backend_args = cli.cfg.afxdp_args;
	if (!backend_args && !strcmp(backend, "dpdk") && cli.cfg.dpdk_args[0])
		backend_args = cli.cfg.dpdk_args;
	t.interface = iface;
	t.backend = backend;
	t.backend_args = backend_args;
	if (pr_replay_open(&cli.cfg, &t, &rp, &res)) {
		pr_cli_error("replay on %s (%s): %s", iface, backend, res.message);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	ret = pr_replay_session_check_linktype(rs, res.tx_linktype, iface, err, sizeof(err));
	if (ret) {
		pr_cli_error("replay: %s", err);
		rc = ret == -EINVAL ? PR_EXIT_USAGE : PR_EXIT_FAIL;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = pr_replay_run(rp, &o, &src, &replay_stop, &res);
	if (ret) {
		source_failed(&cli, rs);
		pr_cli_error("replay on %s: %s", iface, res.message);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if (cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", session);
		pr_json_kv_str(&j, "interface", iface);
		pr_json_kv_str(&j, "backend", backend);
		pr_json_kv_bool(&j, "display_only", false);
		pacing_json(&j, &o);
		pr_json_kv_u64(&j, "packets_selected", res.selected);
		pr_json_kv_u64(&j, "passes", res.passes);
		pr_json_kv_u64(&j, "packets_sent", res.packets_sent);
		pr_json_kv_u64(&j, "bytes_sent", res.bytes_sent);
		pr_json_kv_u64(&j, "errors", res.errors);
		pr_json_kv_double(&j, "duration_s", res.duration_s);
		pr_json_kv_double(&j, "achieved_pps", res.pps);
		pr_json_kv_double(&j, "achieved_mbps", res.mbps);
		pr_json_key(&j, "timing_error");
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "measured_at", "tx_burst_return");
		pr_json_kv_u64(&j, "packets", res.timed);
		pr_json_kv_u64(&j, "p50_ns", res.err_p50_ns);
		pr_json_kv_u64(&j, "p99_ns", res.err_p99_ns);
		pr_json_kv_u64(&j, "max_ns", res.err_max_ns);
		pr_json_kv_double(&j, "mean_ns", res.err_mean_ns);
		pr_json_obj_end(&j);
		pr_json_kv_bool(&j, "realtime", res.realtime);
		pr_json_kv_bool(&j, "interrupted", res.stopped);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_note(&cli,
			    "replayed %" PRIu64 " packets (%" PRIu64 " bytes, %" PRIu64
			    " errors) of session %lld on %s with %s in %.3f s: %.0f pps, %.3f Mbps",
			    res.packets_sent, res.bytes_sent, res.errors, (long long)session, iface,
			    backend, res.duration_s, res.pps, res.mbps);
		if (res.timed)
			pr_cli_note(&cli,
				    "timing error at hand-off (%" PRIu64 " packets): p50 %.1f us, "
				    "p99 %.1f us, max %.1f us",
				    res.timed, (double)res.err_p50_ns / 1e3,
				    (double)res.err_p99_ns / 1e3, (double)res.err_max_ns / 1e3);
	}
	rc = res.errors ? PR_EXIT_FAIL : PR_EXIT_OK;
	if (res.stopped)
		rc = PR_EXIT_FAIL;
out:
	pr_replay_close(rp);
	pr_replay_session_destroy(rs);
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}
