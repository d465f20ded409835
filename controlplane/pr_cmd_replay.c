// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder replay`: send a session's packets out of an interface.
 * The control plane is the scheduler: it gives every packet an absolute
 * send time on CLOCK_MONOTONIC, start + (ts - first ts) / speed, and puts
 * it on the dataplane's tx ring; the dataplane's tx core sends each at its
 * time. Times are computed from the stored timestamps, never by adding up
 * sleeps, so errors do not accumulate over a long replay. --display-only
 * lists what would be sent and needs no privileges. Main thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pr_cli.h"
#include "pr_dpctl.h"
#include "pr_json.h"

static volatile sig_atomic_t replay_stop;

static void on_signal(int sig)
{
	(void)sig;
	replay_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder replay --session ID (--interface IF | --display-only)\n"
		"                             [--speed X] [--count N] [--filter BPF] [--json]\n"
		"\n"
		"Send a session's packets out of an interface with their original timing.\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -i, --interface IF     send out of IF (needs CAP_NET_RAW, usually root)\n"
		"  -x, --speed X          X times the original speed (default 1; 0 = as fast as\n"
		"                         possible)\n"
		"  -c, --count N          send at most N packets (after the filter; 0 = all)\n"
		"  -f, --filter EXPR      BPF filter, tcpdump syntax\n" PR_CLI_RANGE_HELP
		"      --display-only     print the packets and their send offsets; send nothing\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             print a JSON summary on stdout\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n");
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct replay {
	uint64_t counters[PR_STAT_MAX];
	bool iface_seen;
	uint32_t tx_linktype;
	char tx_name[PR_IFACE_NAME_MAX];
	bool end_seen;
	uint32_t end_reason;
	char end_msg[256];
};

/* Read what the dataplane reports (stats, end). */
static void drain_rx(struct pr_dp *dp, struct replay *r)
{
	struct pr_ring_cons *c = pr_dp_report_cons(dp);
	const struct pr_rec_hdr *h;

	while ((h = pr_ring_cons_peek(c))) {
		if (h->type == PR_REC_IFACE && h->len >= sizeof(struct pr_rec_iface)) {
			const struct pr_rec_iface *ir = (const struct pr_rec_iface *)h;

			r->iface_seen = true;
			r->tx_linktype = ir->linktype;
			memcpy(r->tx_name, ir->name, sizeof(r->tx_name));
			r->tx_name[sizeof(r->tx_name) - 1] = 0;
		} else if (h->type == PR_REC_STATS && h->len >= sizeof(struct pr_rec_stats)) {
			memcpy(r->counters, ((const struct pr_rec_stats *)h)->counters,
			       sizeof(r->counters));
		} else if (h->type == PR_REC_END && h->len >= sizeof(struct pr_rec_end)) {
			const struct pr_rec_end *e = (const struct pr_rec_end *)h;

			r->end_seen = true;
			r->end_reason = e->reason;
			memcpy(r->end_msg, e->message, sizeof(r->end_msg));
			r->end_msg[sizeof(r->end_msg) - 1] = 0;
		}
		pr_ring_cons_advance(c, h);
	}
	pr_ring_cons_release(c);
}

struct lt_check {
	uint32_t want;
	int bad_iface;
	uint32_t bad_linktype;
};

static int lt_check_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct lt_check *lc = ctx;

	if (iface->linktype != lc->want && lc->bad_iface < 0) {
		lc->bad_iface = iface->index;
		lc->bad_linktype = iface->linktype;
	}
	return 0;
}

int pr_cmd_replay(int argc, char **argv)
{
	enum { O_DISPLAY = PR_OPT_FIRST_COMMAND_OPT };
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "interface", required_argument, NULL, 'i' },
		{ "speed", required_argument, NULL, 'x' },
		{ "count", required_argument, NULL, 'c' },
		{ "filter", required_argument, NULL, 'f' },
		{ "display-only", no_argument, NULL, O_DISPLAY },
		PR_CLI_COMMON_OPTIONS,
		PR_CLI_RANGE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct pr_cli_session ses = { 0 };
	struct pr_cli cli;
	struct pr_dp *dp = NULL;
	struct replay r;
	struct pr_block_pkt p;
	struct pr_json jd;
	struct sigaction sa = { .sa_handler = on_signal };
	const char *iface = NULL, *filter = NULL;
	bool display = false;
	double speed = 1.0;
	uint64_t count = 0, queued = 0, first_ts = 0, t0 = 0, last_at = 0, start;
	int64_t session = 0;
	char err[512];
	int opt, rc, ret = 0;

	memset(&r, 0, sizeof(r));
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
		case 'x':
			if ((rc = pr_cli_parse_double("--speed", optarg, &speed)))
				goto out;
			break;
		case 'c':
			if ((rc = pr_cli_parse_u64("--count", optarg, &count)))
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
	if ((rc = pr_cli_session_open(&cli, session, filter, &ses)))
		goto out;
	if (!display) {
		struct pr_dp_cfg dpc = cli.cfg.dp;

		dpc.mode = PR_DP_MODE_TX;
		snprintf(dpc.backend, sizeof(dpc.backend), "pcap");
		snprintf(dpc.interface, sizeof(dpc.interface), "%s", iface);
		if (strlen(iface) >= sizeof(dpc.interface)) {
			snprintf(err, sizeof(err), "--interface: at most %zu bytes",
				 sizeof(dpc.interface) - 1);
			ret = -EINVAL;
		} else {
			ret = pr_dp_create(&cli.cfg, &dpc, 64ull << 20, &dp, err, sizeof(err));
		}
		if (!ret)
			ret = pr_dp_spawn(dp, NULL, err, sizeof(err));
		if (ret) {
			pr_cli_error("%s", err);
			rc = PR_EXIT_FAIL;
			goto out;
		}
		/* The tx core announces its interface first (or fails and says why). */
		for (int waited = 0; !r.iface_seen && !r.end_seen && waited < 10000; waited++) {
			struct timespec pause = { 0, 1000000 };

			drain_rx(dp, &r);
			if (r.iface_seen || r.end_seen || pr_dp_exited(dp, NULL))
				break;
			nanosleep(&pause, NULL);
		}
		drain_rx(dp, &r);
		if (!r.iface_seen) {
			pr_cli_error("replay on %s: %s", iface,
				     r.end_msg[0] ? r.end_msg : "the dataplane did not start");
			rc = PR_EXIT_FAIL;
			goto out;
		}
		{
			struct lt_check lc = { .want = r.tx_linktype, .bad_iface = -1 };

			pr_store_ifaces_foreach(ses.st, session, lt_check_cb, &lc);
			if (lc.bad_iface >= 0) {
				/* Frames go out as stored: a raw-IP frame on Ethernet is garbage. */
				pr_cli_error(
					"replay: session %lld interface %d has link type %u, but %s "
					"has link type %u; frames are sent as stored, so the "
					"types must match",
					(long long)session, lc.bad_iface, lc.bad_linktype, iface,
					r.tx_linktype);
				rc = PR_EXIT_USAGE;
				goto out;
			}
		}
	}
	if (display && cli.json) {
		pr_json_init(&jd, stdout);
		pr_json_obj_begin(&jd);
		pr_json_kv_i64(&jd, "session_id", session);
		pr_json_kv_bool(&jd, "display_only", true);
		pr_json_kv_double(&jd, "speed", speed);
		pr_json_key(&jd, "packets");
		pr_json_arr_begin(&jd);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	start = mono_ns();
	while (!replay_stop && (!count || queued < count) &&
	       (ret = pr_cli_session_next(&cli, &ses, &p)) == 1) {
		uint64_t at;

		if (!queued) {
			first_ts = p.ts_ns;
			/* A little lead so the first packets are queued before their time. */
			t0 = mono_ns() + 50000000ull;
		}
		if (speed == 0 || p.ts_ns < first_ts)
			at = speed == 0 ? 0 : last_at;
		else
			at = t0 + (uint64_t)((double)(p.ts_ns - first_ts) / speed);
		if (at < last_at)
			at = last_at; /* stored order is send order, even if clocks stepped back */
		last_at = at;
		if (display && cli.json) {
			pr_json_obj_begin(&jd);
			pr_json_kv_u64(&jd, "index", queued);
			pr_json_kv_double(&jd, "offset_s",
					  speed == 0 ? 0.0 : (double)(at - t0) / 1e9);
			pr_json_kv_u64(&jd, "ts", p.ts_ns);
			pr_json_kv_u64(&jd, "iface", p.iface);
			pr_json_kv_u64(&jd, "len", p.cap_len);
			pr_json_kv_u64(&jd, "flow_id", p.flow_id);
			pr_json_obj_end(&jd);
		} else if (display) {
			printf("%8" PRIu64 "  +%.6f s  iface %u  %u bytes  flow %" PRIu64 "\n",
			       queued, speed == 0 ? 0.0 : (double)(at - t0) / 1e9, p.iface,
			       p.cap_len, p.flow_id);
		} else {
			struct pr_ring_prod *tx = pr_dp_tx_prod(dp);
			uint32_t len = (uint32_t)sizeof(struct pr_rec_tx_packet) + p.cap_len;
			struct pr_rec_tx_packet *rec;

			while (!(rec = pr_ring_prod_reserve(tx, len))) {
				struct timespec pause = { 0, 200000 };

				drain_rx(dp, &r);
				if (r.end_seen || pr_dp_exited(dp, NULL) || replay_stop)
					goto sent;
				nanosleep(&pause, NULL);
			}
			rec->hdr.type = PR_REC_TX_PACKET;
			rec->hdr.flags = 0;
			rec->hdr.len = len;
			rec->send_at_ns = at;
			rec->len = p.cap_len;
			rec->reserved = 0;
			memcpy(rec->data, p.data, p.cap_len);
			pr_ring_prod_commit(tx);
			pr_ring_prod_publish(tx);
			if ((queued & 255) == 0) {
				drain_rx(dp, &r);
				if (r.end_seen)
					goto sent;
			}
		}
		queued++;
	}
	if (ret < 0) {
		rc = PR_EXIT_FAIL;
		goto out;
	}
sent:
	if (!display) {
		struct pr_ring_prod *tx = pr_dp_tx_prod(dp);
		struct pr_rec_hdr *endrec;

		if (replay_stop)
			pr_dp_stop(dp);
		while (!r.end_seen && !(endrec = pr_ring_prod_reserve(tx, sizeof(*endrec)))) {
			struct timespec pause = { 0, 1000000 };

			drain_rx(dp, &r);
			if (pr_dp_exited(dp, NULL))
				break;
			nanosleep(&pause, NULL);
		}
		if (!r.end_seen && !pr_dp_exited(dp, NULL)) {
			endrec->type = PR_REC_TX_END;
			endrec->flags = 0;
			endrec->len = sizeof(*endrec);
			pr_ring_prod_commit(tx);
			pr_ring_prod_publish(tx);
		}
		while (!r.end_seen) {
			struct timespec pause = { 0, 1000000 };

			drain_rx(dp, &r);
			if (r.end_seen)
				break;
			if (pr_dp_exited(dp, NULL)) {
				drain_rx(dp, &r);
				break;
			}
			if (replay_stop == 1) {
				pr_dp_stop(dp);
				replay_stop = 2;
			}
			nanosleep(&pause, NULL);
		}
		pr_dp_wait(dp, 5000);
		if (!r.end_seen || r.end_reason == PR_END_ERROR) {
			pr_cli_error("replay on %s: %s", iface,
				     r.end_msg[0] ? r.end_msg :
						    "the dataplane stopped unexpectedly");
			rc = PR_EXIT_FAIL;
			goto out;
		}
	}
	if (display && cli.json) {
		pr_json_arr_end(&jd);
		pr_json_kv_u64(&jd, "packets_selected", queued);
		pr_json_obj_end(&jd);
		pr_json_end(&jd);
	} else if (cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", session);
		pr_json_kv_str(&j, "interface", display ? "" : iface);
		pr_json_kv_bool(&j, "display_only", display);
		pr_json_kv_u64(&j, "packets_sent", display ? 0 : r.counters[PR_STAT_TX_PACKETS]);
		pr_json_kv_u64(&j, "bytes_sent", display ? 0 : r.counters[PR_STAT_TX_BYTES]);
		pr_json_kv_u64(&j, "errors", r.counters[PR_STAT_TX_ERRORS]);
		pr_json_kv_u64(&j, "packets_selected", queued);
		pr_json_kv_double(&j, "duration_s", (double)(mono_ns() - start) / 1e9);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else if (!display) {
		pr_cli_note(&cli,
			    "replayed %" PRIu64 " packets (%" PRIu64 " bytes, %" PRIu64
			    " errors) of session %lld on %s in %.3f s",
			    r.counters[PR_STAT_TX_PACKETS], r.counters[PR_STAT_TX_BYTES],
			    r.counters[PR_STAT_TX_ERRORS], (long long)session, iface,
			    (double)(mono_ns() - start) / 1e9);
	}
	rc = r.counters[PR_STAT_TX_ERRORS] ? PR_EXIT_FAIL : PR_EXIT_OK;
	if (replay_stop)
		rc = PR_EXIT_FAIL;
out:
	pr_dp_destroy(dp);
	pr_cli_session_close(&ses);
	pr_cli_fini(&cli);
	return rc;
}
