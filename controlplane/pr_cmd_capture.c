// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder capture`: start a dataplane on an interface or a capture
 * file, consume its record ring, and store packets, interfaces and flows in
 * a new session. Commits happen every commit_interval_ms or
 * commit_max_bytes of packet data, whichever comes first: that bounds what
 * a crash (kill -9) can lose. SIGINT/SIGTERM ask the dataplane to stop; it
 * flushes its flows and counters, and we store them before finishing.
 * Main thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pr_backend_pick.h"
#include "pr_cli.h"
#include "pr_dpctl.h"
#include "pr_ingest.h"
#include "pr_json.h"
#include "pr_pcapw.h"
#include "pr_shm.h"

static volatile sig_atomic_t stop_signals;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_signals++;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder capture (-i IF | -r FILE) [options]\n"
		"       packetrecorder capture --attach NAME [-d DB] [--name NAME] [--json]\n"
		"\n"
		"Capture packets live from an interface, or read a pcap/pcapng file through the\n"
		"same pipeline, into a new session of the encrypted store.\n"
		"\n"
		"  -i, --interface IF     capture live from IF (see list-interfaces)\n"
		"  -r, --read FILE        read a pcap or pcapng file (- = standard input)\n"
		"  -f, --filter EXPR      BPF capture filter, tcpdump syntax (\"tcp port 443\")\n"
		"  -d, --database FILE    the store (default packets.db; created if missing)\n"
		"  -c, --count N          stop after N stored packets (default 0 = no limit)\n"
		"  -t, --duration SEC     stop after SEC seconds (default 0 = no limit)\n"
		"  -s, --snaplen N        bytes kept per packet (default 65535)\n"
		"      --promisc          promiscuous mode (default)\n"
		"      --no-promisc       no promiscuous mode\n"
		"  -b, --buffer-size N    kernel capture buffer in bytes, k/m/g allowed (default 10m)\n"
		"  -p, --pcap FILE        also write the stored packets to FILE (.pcapng: pcapng);\n"
		"                         an existing FILE must be a capture file and is replaced\n"
		"                         at the end; never the store or the -r file\n"
		"      --file-mode MODE   permissions of the --pcap file, octal (default 0600)\n"
		"      --name NAME        session name, at most 127 bytes (default: the interface\n"
		"                         or file name)\n"
		"      --backend NAME     capture backend: afxdp, dpdk or pcap (default: afxdp for\n"
		"                         an interface where it can run, else pcap)\n"
		"      --backend-args STR backend settings (afxdp: key=value,...; default: the\n"
		"                         afxdp_args config key; see docs/BACKENDS.md)\n"
		"      --dpdk-args ARGS   --backend dpdk with these EAL arguments, e.g. \"--vdev\n"
		"                         net_pcap0,rx_pcap=in.pcap\" with -i net_pcap0 (split like\n"
		"                         shell words, nothing expanded; default: the dpdk_args\n"
		"                         config key)\n"
		"      --workers N        worker cores, one per rx queue (default 1; alias\n"
		"                         --queues): pcap spreads packets over them by a\n"
		"                         symmetric flow hash (kernel fan-out); -r takes 1\n"
		"      --instance NAME    run the dataplane as instance NAME, detached: it goes on\n"
		"                         capturing if this process dies, and `capture --attach\n"
		"                         NAME` goes on storing into the same session\n"
		"      --attach NAME      store what instance NAME captures (a dataplane started\n"
		"                         with --instance, or packetrecorder-dataplane --instance),\n"
		"                         going on with its session if it has one\n"
		"      --store-mode MODE  for a new store: segments (default; sealed segment files\n"
		"                         beside the database) or db (one portable file)\n"
		"      --compress         for a new segment store: zstd each block before sealing\n"
		"      --retention-days N keep the store's segments at most N days old\n"
		"      --retention-bytes SIZE\n"
		"                         keep the store below SIZE (k/m/g): the oldest segments of\n"
		"                         unpinned sessions go; both are kept in the store\n"
		"      --stats            at the end, where the workers' time went: cycles and ns\n"
		"                         per packet in rx, decode, flow, l7 and emit (with\n"
		"                         --json: the summary's \"stages\" key)\n"
		"      --json             print the summary as one JSON object on stdout\n");
	pr_cli_key_help(f);
	fprintf(f,
		"      --config FILE      configuration file (see configs/packetrecorder.conf)\n"
		"  -q, --quiet            no progress and no notes\n"
		"  -h, --help             this help\n"
		"\n"
		"Stops at the end of the file, at --count or --duration, or on Ctrl-C / SIGTERM,\n"
		"always storing everything captured so far. Exit: 0 ok, 1 failure (the session is\n"
		"kept, marked failed; a store that cannot be created), 2 key rejected, 3 usage\n"
		"(also a --pcap naming the store or the input). See docs/packetrecorder-capture.md.\n");
}

struct capture {
	struct pr_cli cli;
	struct pr_store *st;
	struct pr_ingest *ig;
	bool retention; /* the store has limits: apply them while capturing */
	struct pr_dp *dp;
	struct pr_pcapw *pw;
	struct pr_outfile *pcap_out;
	const char *pcap_path;
	bool pcap_failed;
	int64_t session;
	int pcap_idx[256]; /* writer interface of each of ours, -1: not written */
	bool pcap_warned;
	struct pr_dp_cfg dpc; /* the dataplane's settings, handed over in the region */
	char attach_db[PATH_MAX]; /* --attach: the store the instance's session is in */
	char started_note[1600]; /* "SOURCE with filter F": said once the dataplane runs */
	bool started;
	bool show_stats; /* --stats: where the workers' time went, per stage */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The --pcap copy: each interface as the ingest stores it. */
static void tee_iface(void *ctx, const struct pr_rec_iface *r)
{
	struct capture *c = ctx;
	struct pr_pcapw_iface wi = {
		.linktype = r->linktype,
		.snaplen = r->snaplen,
		.tsresol = r->tsresol,
		.name = r->name,
		.description = r->description,
	};
	int idx;

	if (!c->pw || r->iface >= 256)
		return;
	idx = pr_pcapw_add_iface(c->pw, &wi);
	c->pcap_idx[r->iface] = idx;
	if (idx < 0 && !c->pcap_warned) {
		c->pcap_warned = true;
		pr_cli_warn("%s: interface %u has another link type (%u): its packets are "
			    "not written; use a .pcapng file to keep them all",
			    c->pcap_path, r->iface, r->linktype);
	}
}

/* The --pcap copy: each packet as the ingest stores it. */
static void tee_packet(void *ctx, const struct pr_rec_packet *r)
{
	struct capture *c = ctx;
	int ret;

	if (!c->pw || r->iface >= 256 || c->pcap_idx[r->iface] < 0)
		return;
	ret = pr_pcapw_write(c->pw, (uint32_t)c->pcap_idx[r->iface], r->ts_ns, r->data, r->cap_len,
			     r->wire_len);
	if (ret) {
		pr_cli_error("--pcap %s: %s: no more packets are written to it, and it will "
			     "not be kept",
			     c->pcap_path, strerror(-ret));
		pr_pcapw_close(c->pw);
		c->pw = NULL;
		c->pcap_failed = true;
	}
}

static uint64_t drops_total(const uint64_t *ctr)
{
	uint64_t d[PR_DROP_REASON_MAX], sum = 0;

	pr_ingest_drops_of(ctr, d);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		sum += d[i];
	return sum;
}

static void print_progress(struct capture *c, uint64_t start, bool final)
{
	double secs = (double)(mono_ns() - start) / 1e9;
	struct pr_ingest_stats s;

	pr_ingest_get_stats(c->ig, &s);
	fprintf(stderr,
		"\r%12" PRIu64 " packets %10.1f MB %8" PRIu64 " drops %10.0f pkt/s %8.1f s%s",
		s.packets, (double)s.bytes / 1e6, drops_total(s.counters),
		secs > 0 ? (double)s.packets / secs : 0, secs, final ? "\n" : "");
	fflush(stderr);
}

/* How often a capture applies the store's retention limits. */
#define RETENTION_EVERY_NS (60ull * 1000000000u)

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Delete the segments the store's limits no longer allow (never the one
 * this capture writes). A failure is reported and capture goes on: the
 * data being captured matters more than the data being expired.
 */
static void retention_apply(struct capture *c)
{
	struct pr_store_retention_result res;

	if (pr_store_retention_enforce(c->st, wall_ns(), NULL, NULL, &res)) {
		pr_cli_warn("%s: retention: %s", c->cli.db_path, pr_store_errmsg(c->st));
		return;
	}
	if (res.segments)
		pr_cli_note(&c->cli,
			    "%s: retention deleted %llu segment%s (%llu packets, %llu bytes); "
			    "store now %llu bytes",
			    c->cli.db_path, (unsigned long long)res.segments,
			    res.segments == 1 ? "" : "s", (unsigned long long)res.packets,
			    (unsigned long long)res.bytes, (unsigned long long)res.size_after);
}

/*
 * Limits given by flags or the config are recorded in the store (they are
 * the store's); limits the store already has apply too. Applied once now
 * and then every RETENTION_EVERY_NS while capturing.
 */
static int retention_start(struct capture *c, bool from_flags)
{
	uint64_t days = c->cli.cfg.retention_days, bytes = c->cli.cfg.retention_bytes;
	int err;

	if (from_flags || days || bytes) {
		err = pr_store_set_retention(c->st, days, bytes);
		if (err) {
			pr_cli_error("%s: retention: %s", c->cli.db_path, pr_store_errmsg(c->st));
			return err == -EOPNOTSUPP || err == -EINVAL ? PR_EXIT_USAGE : PR_EXIT_FAIL;
		}
	}
	if (pr_store_get_retention(c->st, &days, &bytes) || (!days && !bytes))
		return 0;
	c->retention = true;
	retention_apply(c);
	return 0;
}

/*
 * Drive the ingest until every worker has ended (or the dataplane is
 * gone): consume, commit when due, apply retention, pass stop requests
 * on, show progress.
 */
static void consume(struct capture *c, bool progress)
{
	uint64_t start = mono_ns(), last_progress = start, last_retention = start;
	uint64_t last_alive = start;
	int stops_sent = 0, status;
	bool exited = false, stop_for_store = false;

	while (!pr_ingest_done(c->ig)) {
		struct pr_ingest_stats s;
		uint64_t now;
		/*
		 * Seen gone before this poll: whatever it wrote before it went is
		 * visible to the poll, so empty rings then mean nothing more comes.
		 * Seen gone only after an empty poll, it may have written its last
		 * records (a whole small file, and END) in between.
		 */
		bool gone = exited;
		int n = pr_ingest_poll(c->ig, 8192);

		if (n < 0)
			break; /* a corrupt ring: the ingest says so */
		now = mono_ns();
		if (pr_ingest_tick(c->ig, now) > 0 && c->retention &&
		    now - last_retention >= RETENTION_EVERY_NS) {
			retention_apply(c);
			last_retention = now;
		}
		if (!c->started && pr_dp_started(c->dp)) {
			/* Said only now: traffic sent after this line is captured. */
			c->started = true;
			/* On stderr with --json too: a script waits for it before sending. */
			pr_cli_note(&c->cli, "session %lld: capturing from %s into %s",
				    (long long)c->session, c->started_note, c->cli.db_path);
		}
		pr_ingest_get_stats(c->ig, &s);
		if (s.store_failed && !stop_for_store) {
			/* Nothing more can be stored: stop capturing rather than drop silently. */
			if (!stops_sent)
				pr_dp_stop(c->dp);
			stop_for_store = true;
			stops_sent = stops_sent ? stops_sent : 1;
		}
		if (stop_signals > stops_sent) {
			if (stops_sent == 0)
				pr_dp_stop(c->dp);
			else
				kill(pr_dp_pid(c->dp), SIGKILL);
			stops_sent = stop_signals;
		}
		if (progress && now - last_progress >= 1000000000ull) {
			last_progress = now;
			print_progress(c, start, false);
		}
		/*
		 * Is the dataplane still there? Asked at least every 100 ms even
		 * while records flow, so that its death is seen at once; what it
		 * left in the rings is stored before the capture ends.
		 */
		if (!exited && (!n || now - last_alive >= 100000000ull)) {
			exited = pr_dp_exited(c->dp, &status);
			last_alive = now;
		}
		if (!n) {
			struct timespec pause = { 0, 200000 };

			if (gone) {
				/* It is gone and the rings are drained: no END will come. */
				char how[192], msg[256];

				pr_dp_describe_exit(c->dp, how, sizeof(how));
				snprintf(msg, sizeof(msg), "the dataplane %s before it finished",
					 how);
				pr_ingest_set_error(c->ig, -EPIPE, msg);
				break;
			}
			nanosleep(&pause, NULL);
		}
	}
	if (progress)
		print_progress(c, start, true);
}

/*
 * si is the session row read back from the store. After a storage error
 * the counters are those of the last commit: the figures describe what
 * the store holds, not what went past it. The status and message say how
 * the capture ended even when a full disk kept the store from recording
 * it (the row then stays "running" until the next open marks it
 * interrupted).
 */
/*
 * pr_cycles() units per second, measured against CLOCK_MONOTONIC over
 * 20 ms (the workers ran on this machine, and the TSC rate is the same on
 * every core).
 */
static double cycles_hz(void)
{
	struct timespec pause = { 0, 20000000 };
	uint64_t t0 = mono_ns(), c0 = pr_cycles(), t1, c1;

	nanosleep(&pause, NULL);
	c1 = pr_cycles();
	t1 = mono_ns();
	return t1 > t0 ? (double)(c1 - c0) * 1e9 / (double)(t1 - t0) : 0;
}

static const struct {
	const char *name;
	int stat;
} stages[] = {
	{ "rx", PR_STAT_CYC_RX }, { "decode", PR_STAT_CYC_DECODE }, { "flow", PR_STAT_CYC_FLOW },
	{ "l7", PR_STAT_CYC_L7 }, { "emit", PR_STAT_CYC_EMIT },
};

/*
 * --stats: the workers' per-stage counters (pr_record.h, PR_STAT_CYC_*)
 * per packet. Summed over the cores, so per packet is per packet of one
 * core, and the rate is what one core would reach at that cost.
 */
static uint64_t stages_total(const uint64_t *ctr)
{
	uint64_t total = 0;

	for (size_t i = 0; i < PR_ARRAY_SIZE(stages); i++)
		total += ctr[stages[i].stat];
	return total;
}

/* The same as the summary's "stages" object. */
static void print_stages_json(struct pr_json *j, const uint64_t *ctr)
{
	uint64_t pk = ctr[PR_STAT_CYC_PACKETS], total = stages_total(ctr);
	double hz = cycles_hz();

	pr_json_obj_begin(j);
	pr_json_kv_u64(j, "packets", pk);
	pr_json_kv_double(j, "cycles_hz", hz);
	for (size_t i = 0; i <= PR_ARRAY_SIZE(stages); i++) {
		uint64_t cyc = i < PR_ARRAY_SIZE(stages) ? ctr[stages[i].stat] : total;

		pr_json_key(j, i < PR_ARRAY_SIZE(stages) ? stages[i].name : "total");
		pr_json_obj_begin(j);
		pr_json_kv_u64(j, "cycles", cyc);
		pr_json_kv_double(j, "cycles_per_packet", pk ? (double)cyc / (double)pk : 0);
		pr_json_kv_double(j, "ns_per_packet",
				  pk && hz > 0 ? (double)cyc / (double)pk * 1e9 / hz : 0);
		pr_json_obj_end(j);
	}
	pr_json_kv_double(j, "mpps_per_core",
			  total && hz > 0 ? (double)pk * hz / (double)total / 1e6 : 0);
	pr_json_obj_end(j);
}

static void print_stages(const uint64_t *ctr)
{
	uint64_t pk = ctr[PR_STAT_CYC_PACKETS], total = stages_total(ctr);
	double hz = cycles_hz();

	printf("where the workers' time went (%" PRIu64 " packets; cycle counter at %.3f GHz):\n",
	       pk, hz / 1e9);
	printf("  %-8s %14s %12s %10s %7s\n", "stage", "cycles", "cycles/pkt", "ns/pkt", "share");
	for (size_t i = 0; i <= PR_ARRAY_SIZE(stages); i++) {
		uint64_t cyc = i < PR_ARRAY_SIZE(stages) ? ctr[stages[i].stat] : total;

		printf("  %-8s %14" PRIu64 " %12.1f %10.1f %6.1f%%\n",
		       i < PR_ARRAY_SIZE(stages) ? stages[i].name : "total", cyc,
		       pk ? (double)cyc / (double)pk : 0,
		       pk && hz > 0 ? (double)cyc / (double)pk * 1e9 / hz : 0,
		       total ? 100.0 * (double)cyc / (double)total : 0);
	}
	if (total && hz > 0)
		printf("  at this cost one core handles %.2f Mpps\n",
		       (double)pk * hz / (double)total / 1e6);
	fflush(stdout);
}

static void print_summary(struct capture *c, const struct pr_ingest_stats *is,
			  const struct pr_session_info *si, double secs)
{
	const uint64_t *ctr = is->store_failed ? is->committed : is->counters;
	const char *end = is->store_failed ? "store_error" :
					     pr_ingest_end_reason_name(is->end_reason);
	bool failed = is->store_failed || is->end_reason == PR_END_ERROR;
	const char *status = failed ? pr_session_status_name(PR_SESSION_FAILED) :
				      pr_session_status_name(si->status);
	const char *msg = si->message;
	struct pr_store_io_stats io;
	char store_msg[1200];
	uint64_t drops = 0;

	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		drops += si->drops[i];
	pr_store_get_io_stats(c->st, &io);
	if (c->cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", si->id);
		pr_json_kv_str(&j, "name", si->name);
		pr_json_kv_str(&j, "source", si->source);
		pr_json_kv_str(&j, "source_kind", si->source_kind);
		pr_json_kv_str(&j, "filter", si->filter);
		pr_json_kv_str(&j, "status", status);
		pr_json_kv_str(&j, "end_reason", end);
		if (is->store_failed && !msg[0]) {
			snprintf(store_msg, sizeof(store_msg), "%s: %s", c->cli.db_path,
				 is->store_err);
			msg = store_msg;
		}
		if (msg[0])
			pr_json_kv_str(&j, "message", msg);
		pr_json_kv_u64(&j, "received", si->received);
		pr_json_kv_u64(&j, "packets", si->packets);
		pr_json_kv_u64(&j, "bytes", si->bytes);
		pr_json_kv_u64(&j, "captured_bytes", si->captured_bytes);
		pr_json_kv_u64(&j, "flows", si->flows);
		pr_json_kv_u64(&j, "workers", is->rings);
		if (pr_dp_instance(c->dp)[0])
			pr_json_kv_str(&j, "instance", pr_dp_instance(c->dp));
		pr_json_kv_u64(&j, "filtered", si->filtered);
		/*
		 * The cores count what they hand to the ring; after a store
		 * failure some of it was never stored: these count stored
		 * packets, so they are bounded by them.
		 */
		pr_json_kv_u64(&j, "truncated", PR_MIN(ctr[PR_STAT_DEC_TRUNCATED], si->packets));
		pr_json_kv_u64(&j, "malformed", PR_MIN(ctr[PR_STAT_DEC_MALFORMED], si->packets));
		pr_json_kv_u64(&j, "non_ip", PR_MIN(ctr[PR_STAT_DEC_NON_IP], si->packets));
		pr_json_kv_u64(&j, "fragments", PR_MIN(ctr[PR_STAT_FRAGMENTS], si->packets));
		pr_json_key(&j, "ipfrag");
		pr_json_obj_begin(&j);
		pr_json_kv_u64(&j, "reassembled", ctr[PR_STAT_IPFRAG_REASSEMBLED]);
		pr_json_kv_u64(&j, "timeouts", ctr[PR_STAT_IPFRAG_TIMEOUTS]);
		pr_json_kv_u64(&j, "evicted", ctr[PR_STAT_IPFRAG_EVICTED]);
		pr_json_kv_u64(&j, "dropped", ctr[PR_STAT_IPFRAG_DROPPED]);
		pr_json_obj_end(&j);
		pr_json_key(&j, "tcp_reasm");
		pr_json_obj_begin(&j);
		pr_json_kv_u64(&j, "held", ctr[PR_STAT_TCP_HELD]);
		pr_json_kv_u64(&j, "retransmits", ctr[PR_STAT_TCP_RETRANSMITS]);
		pr_json_kv_u64(&j, "overlaps", ctr[PR_STAT_TCP_OVERLAPS]);
		pr_json_kv_u64(&j, "gaps", ctr[PR_STAT_TCP_GAPS]);
		pr_json_kv_u64(&j, "beyond_depth", ctr[PR_STAT_TCP_BEYOND_DEPTH]);
		pr_json_obj_end(&j);
		pr_json_key(&j, "l7");
		pr_json_obj_begin(&j);
		pr_json_kv_u64(&j, "transactions", ctr[PR_STAT_L7_TRANSACTIONS]);
		pr_json_kv_u64(&j, "meta_lost", ctr[PR_STAT_L7_META_LOST]);
		pr_json_kv_u64(&j, "gaps", ctr[PR_STAT_L7_GAPS]);
		pr_json_kv_u64(&j, "malformed", ctr[PR_STAT_L7_MALFORMED]);
		pr_json_kv_u64(&j, "oversize", ctr[PR_STAT_L7_OVERSIZE]);
		pr_json_kv_u64(&j, "buf_exhausted", ctr[PR_STAT_L7_BUF_EXHAUSTED]);
		pr_json_kv_u64(&j, "undetected", ctr[PR_STAT_L7_UNDETECTED]);
		pr_json_obj_end(&j);
		pr_json_kv_u64(&j, "flows_evicted", ctr[PR_STAT_FLOWS_EVICTED]);
		pr_json_key(&j, "drops");
		pr_json_obj_begin(&j);
		for (int i = 0; i < PR_DROP_REASON_MAX; i++)
			pr_json_kv_u64(&j, pr_drop_reason_name(i), si->drops[i]);
		pr_json_obj_end(&j);
		pr_json_kv_u64(&j, "drops_total", drops);
		pr_json_kv_u64(&j, "flow_records_lost", ctr[PR_STAT_FLOW_RECORDS_LOST]);
		pr_json_key(&j, "backlog");
		pr_json_obj_begin(&j);
		pr_json_kv_u64(&j, "max_bytes", is->backlog_max_bytes);
		pr_json_kv_u64(&j, "ring_bytes", is->ring_capacity_bytes);
		pr_json_kv_double(&j, "store_wait_s", (double)io.wait_ns / 1e9);
		pr_json_obj_end(&j);
		pr_json_kv_double(&j, "duration_s", secs);
		pr_json_kv_bool(&j, "encrypted", pr_store_is_encrypted(c->st));
		if (c->show_stats) {
			pr_json_key(&j, "stages");
			print_stages_json(&j, ctr);
		}
		pr_json_obj_end(&j);
		pr_json_end(&j);
		return;
	}
	if (c->show_stats)
		print_stages(ctr);
	if (c->cli.quiet > 0)
		return;
	pr_cli_note(&c->cli,
		    "session %lld \"%s\": %" PRIu64 " received, %" PRIu64 " packets (%" PRIu64
		    " bytes) stored, %" PRIu64 " flows, %" PRIu64 " dropped, %" PRIu64
		    " filtered out; %s in %.2f s -> %s",
		    (long long)si->id, si->name, si->received, si->packets, si->bytes, si->flows,
		    drops, si->filtered, end, secs, c->cli.db_path);
	if (drops) {
		char by[512] = "";
		size_t off = 0;

		for (int i = 0; i < PR_DROP_REASON_MAX && off < sizeof(by); i++)
			if (si->drops[i])
				off += (size_t)snprintf(by + off, sizeof(by) - off, "%s%s %" PRIu64,
							off ? ", " : "", pr_drop_reason_name(i),
							si->drops[i]);
		pr_cli_note(&c->cli, "session %lld: dropped by reason: %s", (long long)si->id, by);
	}
	/* Drops with a backlog: say where the packets waited and what the store waited for. */
	if (drops && is->backlog_max_bytes)
		pr_cli_note(&c->cli,
			    "session %lld: backlog up to %.1f of %.1f MB in the record ring; the "
			    "store waited %.2f s for the disk",
			    (long long)si->id, (double)is->backlog_max_bytes / 1e6,
			    (double)is->ring_capacity_bytes / 1e6, (double)io.wait_ns / 1e9);
}

/* Copy a string setting into its fixed field; too long is a usage error naming opt. */
static int set_str(char *dst, size_t cap, const char *opt, const char *v)
{
	if (strlen(v) >= cap) {
		pr_cli_error("%s: at most %zu bytes", opt, cap - 1);
		return PR_EXIT_USAGE;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/*
 * Every packet that reached the capture point is stored, filtered or
 * counted as a drop. A capture that ended in order and does not add up
 * has a bug somewhere: say so rather than let the figures pass for exact.
 */
static void accounting_check(const struct pr_ingest_stats *is, const struct pr_session_info *si)
{
	uint64_t sum = si->packets + si->filtered;

	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		sum += si->drops[i];
	if (is->store_failed || is->end_reason == PR_END_ERROR || sum == si->received)
		return;
	pr_cli_warn("session %lld: %" PRIu64 " received, but %" PRIu64 " stored + %" PRIu64
		    " filtered + %" PRIu64 " dropped = %" PRIu64 ": the accounting does not add up",
		    (long long)si->id, si->received, si->packets, si->filtered,
		    sum - si->packets - si->filtered, sum);
}

/*
 * The default session name, cut to fit the store's field at a character
 * boundary so that it stays valid UTF-8. Returns true if it was cut.
 */
static bool name_fit(char *dst, size_t size, const char *src)
{
	const uint8_t *p = (const uint8_t *)src;
	size_t n = strlen(src), i = 0, len;

	while (i < n) {
		len = pr_json_utf8_len(p + i, n - i);
		if (!len)
			len = 1;
		if (i + len >= size)
			break;
		i += len;
	}
	memcpy(dst, src, i);
	dst[i] = 0;
	return i < n;
}

/*
 * A store to be created needs its directory: say so plainly (exit 1)
 * rather than pass on SQLite's "unable to open database file".
 */
static int check_store_dir(const char *db)
{
	char *copy, dir[PATH_MAX];
	int rc = 0;

	if (!access(db, F_OK) || errno != ENOENT)
		return 0;
	copy = strdup(db);
	if (!copy)
		return PR_EXIT_FAIL;
	if (!realpath(dirname(copy), dir)) {
		pr_cli_error("--database %s: cannot create the store: no such directory", db);
		rc = PR_EXIT_FAIL;
	}
	free(copy);
	return rc;
}

/*
 * capture --attach NAME, before the store is opened: take the instance's
 * region as its consumer, adopt its settings, and find the store its
 * session is in. Returns an exit code.
 */
static int attach_prepare(struct capture *c, const char *name, const char *setting, bool db_given)
{
	char err[1024], path[sizeof(c->attach_db)];
	int64_t id;
	int rc, ret;

	if (setting) {
		pr_cli_error("--attach %s: %s is the dataplane's, chosen when it started", name,
			     setting);
		return PR_EXIT_USAGE;
	}
	if ((rc = pr_cli_prepare(&c->cli)))
		return rc;
	ret = pr_dp_attach(name, &c->dp, err, sizeof(err));
	if (ret) {
		pr_cli_error("%s", err);
		return ret == -ENOENT ? PR_EXIT_NOTFOUND : PR_EXIT_FAIL;
	}
	c->dpc = *pr_dp_cfg(c->dp);
	if (pr_dpcfg_check(&c->dpc, err, sizeof(err)) || c->dpc.mode != PR_DP_MODE_CAPTURE) {
		pr_cli_error("instance %s: settings: %s", name,
			     c->dpc.mode != PR_DP_MODE_CAPTURE ? "not a capture" : err);
		return PR_EXIT_FAIL;
	}
	id = pr_dp_session(c->dp, path, sizeof(path));
	if (id) {
		char real[PATH_MAX];

		/* Its session lives in one store: going on elsewhere would split it. */
		if (db_given && (!realpath(c->cli.db_path, real) || strcmp(real, path))) {
			pr_cli_error("instance %s stores into session %lld of %s: give -d %s or no "
				     "-d",
				     name, (long long)id, path, path);
			return PR_EXIT_USAGE;
		}
		snprintf(c->attach_db, sizeof(c->attach_db), "%s", path);
		c->cli.db_path = c->attach_db;
	}
	return check_store_dir(c->cli.db_path);
}

/*
 * capture --attach, with the store open: go on with the instance's
 * session (an earlier control plane's, interrupted when it died) or begin
 * one from the instance's settings. Fills si. Returns an exit code.
 */
static int attach_session(struct capture *c, const char *name, struct pr_session_info *si,
			  bool *resumed)
{
	int64_t id = pr_dp_session(c->dp, NULL, 0);
	const struct pr_dp_cfg *d = &c->dpc;
	int ret;

	if (id) {
		ret = pr_store_session_resume(c->st, id);
		if (ret) {
			pr_cli_error("%s: session %lld: %s", c->cli.db_path, (long long)id,
				     pr_store_errmsg(c->st));
			return ret == -ENOENT ? PR_EXIT_NOTFOUND : PR_EXIT_FAIL;
		}
		c->session = id;
		*resumed = true;
		if (pr_cli_get_session(&c->cli, c->st, id, si))
			return PR_EXIT_FAIL;
		pr_cli_note(&c->cli,
			    "instance %s: going on with session %lld (%llu packets stored)",
			    pr_dp_instance(c->dp), (long long)id, (unsigned long long)si->packets);
		return 0;
	}
	snprintf(si->name, sizeof(si->name), "%s", name ? name : pr_dp_instance(c->dp));
	snprintf(si->source, sizeof(si->source), "%.*s", (int)sizeof(si->source) - 1,
		 d->interface[0] ? d->interface : d->read_path);
	snprintf(si->source_kind, sizeof(si->source_kind), "%s",
		 d->interface[0] ? "interface" : "file");
	snprintf(si->filter, sizeof(si->filter), "%s", d->filter);
	si->snaplen = d->snaplen;
	if (pr_store_session_begin(c->st, si, &c->session)) {
		pr_cli_error("%s: start session: %s", c->cli.db_path, pr_store_errmsg(c->st));
		return PR_EXIT_FAIL;
	}
	return 0;
}

int pr_cmd_capture(int argc, char **argv)
{
	enum {
		O_PROMISC = PR_OPT_FIRST_COMMAND_OPT,
		O_NO_PROMISC,
		O_NAME,
		O_BACKEND,
		O_BACKEND_ARGS,
		O_DPDK_ARGS,
		O_STORE_MODE,
		O_COMPRESS,
		O_RETENTION_DAYS,
		O_RETENTION_BYTES,
		O_WORKERS,
		O_INSTANCE,
		O_ATTACH,
		O_STATS,
	};
	struct pr_session_info *lim = NULL; /* only for the sizes of its fields */
	static const struct option longopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "read", required_argument, NULL, 'r' },
		{ "filter", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 't' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "promisc", no_argument, NULL, O_PROMISC },
		{ "no-promisc", no_argument, NULL, O_NO_PROMISC },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "pcap", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, O_NAME },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "backend-args", required_argument, NULL, O_BACKEND_ARGS },
		{ "dpdk-args", required_argument, NULL, O_DPDK_ARGS },
		{ "store-mode", required_argument, NULL, O_STORE_MODE },
		{ "compress", no_argument, NULL, O_COMPRESS },
		{ "retention-days", required_argument, NULL, O_RETENTION_DAYS },
		{ "retention-bytes", required_argument, NULL, O_RETENTION_BYTES },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "queues", required_argument, NULL, O_WORKERS },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "attach", required_argument, NULL, O_ATTACH },
		{ "stats", no_argument, NULL, O_STATS },
		{ "file-mode", required_argument, NULL, PR_OPT_FILE_MODE },
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct capture *c = calloc(1, sizeof(*c));
	const char *iface = NULL, *read_path = NULL, *filter = "", *name = NULL;
	const char *backend = NULL, *backend_args = NULL, *store_mode = NULL, *dpdk_args = NULL;
	bool compress = false, have_ret_days = false, have_ret_bytes = false;
	uint64_t ret_days = 0, ret_bytes = 0;
	uint64_t count = 0, snaplen = 0, bufsize = 0, workers = 0;
	unsigned int file_mode = PR_OUTFILE_MODE_DEFAULT;
	double duration = 0;
	bool promisc = true;
	struct pr_session_info si;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	char err[1024];
	const char *instance = NULL, *attach = NULL;
	/* With --attach the settings are the running dataplane's: the first one given. */
	const char *setting = NULL;
	bool db_given = false, resumed = false;
	uint64_t start;
	int ret, opt, rc = PR_EXIT_FAIL;

	if (!c)
		return PR_EXIT_FAIL;
	pr_cli_init(&c->cli, "capture");
	for (int i = 0; i < 256; i++)
		c->pcap_idx[i] = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "i:r:f:c:t:s:b:p:" PR_CLI_COMMON_SHORT, longopts,
				  NULL)) != -1) {
		if (opt == 'd')
			db_given = true;
		if (strchr("ifrctsbp", opt) || opt == O_PROMISC || opt == O_NO_PROMISC ||
		    opt == O_BACKEND || opt == O_BACKEND_ARGS || opt == O_DPDK_ARGS ||
		    opt == O_WORKERS || opt == O_INSTANCE)
			setting = argv[optind - 1 - (optarg && optarg == argv[optind - 1])];
		ret = pr_cli_common_opt(&c->cli, opt, optarg);
		if (ret < 0) {
			rc = -ret;
			goto out;
		}
		if (ret)
			continue;
		switch (opt) {
		case 'i':
			if ((rc = pr_cli_check_str("--interface", optarg, sizeof(lim->source),
						   false)))
				goto out;
			iface = optarg;
			break;
		case 'r':
			if ((rc = pr_cli_check_str("--read", optarg, sizeof(lim->source), false)))
				goto out;
			read_path = optarg;
			break;
		case 'f':
			if ((rc = pr_cli_check_str("--filter", optarg, sizeof(lim->filter), true)))
				goto out;
			filter = optarg;
			break;
		case 'c':
			if ((rc = pr_cli_parse_u64("--count", optarg, &count)))
				goto out;
			break;
		case 't':
			if ((rc = pr_cli_parse_double("--duration", optarg, &duration)))
				goto out;
			break;
		case 's':
			if ((rc = pr_cli_parse_u64("--snaplen", optarg, &snaplen)))
				goto out;
			if (!snaplen || snaplen > PR_MAX_SNAPLEN) {
				pr_cli_error("--snaplen: must be from 1 to %u", PR_MAX_SNAPLEN);
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		case O_PROMISC:
			promisc = true;
			break;
		case O_NO_PROMISC:
			promisc = false;
			break;
		case 'b':
			if ((rc = pr_cli_parse_size("--buffer-size", optarg, &bufsize)))
				goto out;
			/* libpcap takes an int: 2 GiB and more would turn negative. */
			if (bufsize > INT32_MAX) {
				pr_cli_error("--buffer-size: at most 2147483647 bytes (2g - 1)");
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		case 'p':
			if ((rc = pr_cli_check_str("--pcap", optarg, PATH_MAX, false)))
				goto out;
			c->pcap_path = optarg;
			break;
		case PR_OPT_FILE_MODE:
			if ((rc = pr_cli_parse_file_mode("--file-mode", optarg, &file_mode)))
				goto out;
			break;
		case O_NAME:
			if ((rc = pr_cli_check_str("--name", optarg, sizeof(lim->name), false)))
				goto out;
			name = optarg;
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
		case O_STORE_MODE:
			if (strcmp(optarg, "segments") && strcmp(optarg, "db")) {
				pr_cli_error("--store-mode: \"%s\": segments or db", optarg);
				rc = PR_EXIT_USAGE;
				goto out;
			}
			store_mode = optarg;
			break;
		case O_COMPRESS:
			compress = true;
			break;
		case O_RETENTION_DAYS:
			if (pr_cli_parse_u64("--retention-days", optarg, &ret_days) ||
			    ret_days > 36500) {
				pr_cli_error("--retention-days: a number of days from 0 to 36500");
				rc = PR_EXIT_USAGE;
				goto out;
			}
			have_ret_days = true;
			break;
		case O_RETENTION_BYTES:
			if (pr_cli_parse_size("--retention-bytes", optarg, &ret_bytes)) {
				rc = PR_EXIT_USAGE;
				goto out;
			}
			have_ret_bytes = true;
			break;
		case O_WORKERS:
			if (pr_cli_parse_u64("--workers", optarg, &workers) || !workers ||
			    workers > PR_SHM_MAX_WORKERS) {
				pr_cli_error("--workers: a number from 1 to %u",
					     PR_SHM_MAX_WORKERS);
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		case O_STATS:
			c->show_stats = true;
			break;
		case O_INSTANCE:
		case O_ATTACH:
			if (!pr_shm_instance_valid(optarg)) {
				pr_cli_error(
					"%s: \"%s\": 1 to %d letters, digits, '.', '_' or '-', "
					"not starting with '.' or '-'",
					opt == O_ATTACH ? "--attach" : "--instance", optarg,
					PR_INSTANCE_MAX);
				rc = PR_EXIT_USAGE;
				goto out;
			}
			*(opt == O_ATTACH ? &attach : &instance) = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = PR_EXIT_OK;
			goto out;
		default:
			rc = pr_cli_usage_error(&c->cli);
			goto out;
		}
	}
	if (optind < argc) {
		pr_cli_error("capture: unexpected argument \"%s\" (a filter goes after -f)",
			     argv[optind]);
		rc = pr_cli_usage_error(&c->cli);
		goto out;
	}
	if (attach) {
		rc = attach_prepare(c, attach, setting, db_given);
		if (rc)
			goto out;
		goto open_store;
	}
	/* --dpdk-args is --backend dpdk --backend-args ARGS, said the way DPDK users say it. */
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
	if (!!iface == !!read_path) {
		pr_cli_error("capture: give exactly one of -i/--interface or -r/--read");
		rc = pr_cli_usage_error(&c->cli);
		goto out;
	}
	if (read_path && strcmp(read_path, "-") && access(read_path, R_OK)) {
		pr_cli_error("%s: %s", read_path, strerror(errno));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if ((rc = pr_cli_filter_check(filter)))
		goto out;
	if ((rc = pr_cli_prepare(&c->cli)) || (rc = check_store_dir(c->cli.db_path)))
		goto out;
	/* The flag beats the config file; either only matters for a new store. */
	if (store_mode)
		c->cli.cfg.store_mode = strcmp(store_mode, "db") ? 0 : 1;
	if (compress)
		c->cli.cfg.store_compress = 1;
	if (have_ret_days)
		c->cli.cfg.retention_days = (uint32_t)ret_days;
	if (have_ret_bytes)
		c->cli.cfg.retention_bytes = ret_bytes;
	if (c->pcap_path) {
		struct pr_outfile_cfg oc = {
			.opt = "--pcap",
			.path = c->pcap_path,
			.mode = file_mode,
			.store = c->cli.db_path,
			.input = read_path,
		};

		if ((rc = pr_cli_outfile_open(&oc, &c->pcap_out)))
			goto out;
	}
	if (!backend) {
		char why[160];

		/* A file is read by pcap; an interface gets the fastest backend that can run there. */
		backend = read_path ? "pcap" : pr_backend_pick(iface, why, sizeof(why));
		if (iface)
			pr_cli_note(&c->cli, "capturing with the %s backend%s%s%s", backend,
				    why[0] ? " (afxdp: " : "", why, why[0] ? ")" : "");
	}
	if (!backend_args && !strcmp(backend, "afxdp") && c->cli.cfg.afxdp_args[0])
		backend_args = c->cli.cfg.afxdp_args;
	if (!backend_args && !strcmp(backend, "dpdk") && c->cli.cfg.dpdk_args[0])
		backend_args = c->cli.cfg.dpdk_args;
	/* The dataplane's settings: the config file's, then the flags over them. */
	c->dpc = c->cli.cfg.dp;
	c->dpc.mode = PR_DP_MODE_CAPTURE;
	if (workers)
		c->dpc.workers = (uint32_t)workers;
	/*
	 * A file has one order and no queues: several workers would each need
	 * the whole file. (dpdk's net_pcap reads files through --dpdk-args.)
	 */
	if (read_path && c->dpc.workers > 1) {
		pr_cli_error("--workers %u: a capture file is read by one worker (-r takes "
			     "--workers 1)",
			     c->dpc.workers);
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if (snaplen)
		c->dpc.snaplen = (uint32_t)snaplen;
	if (bufsize)
		c->dpc.buffer_size = bufsize;
	c->dpc.promisc = promisc;
	c->dpc.count = count;
	c->dpc.duration_ns = (uint64_t)(duration * 1e9);
	if ((rc = set_str(c->dpc.backend, sizeof(c->dpc.backend), "--backend", backend)) ||
	    (rc = set_str(c->dpc.backend_args, sizeof(c->dpc.backend_args), "--backend-args",
			  backend_args ? backend_args : "")) ||
	    (rc = set_str(c->dpc.interface, sizeof(c->dpc.interface), "--interface",
			  iface ? iface : "")) ||
	    (rc = set_str(c->dpc.read_path, sizeof(c->dpc.read_path), "--read",
			  read_path ? read_path : "")) ||
	    (rc = set_str(c->dpc.filter, sizeof(c->dpc.filter), "--filter", filter)))
		goto out;
	if (pr_dpcfg_check(&c->dpc, err, sizeof(err))) {
		pr_cli_error("capture: %s", err);
		rc = PR_EXIT_USAGE;
		goto out;
	}
open_store:
	c->cli.manual_checkpoint = true;
	if ((rc = pr_cli_open_store(&c->cli, true, &c->st)))
		goto out;

	memset(&si, 0, sizeof(si));
	if (attach) {
		/* Before the session goes on: a store that cannot take the limits gets nothing. */
		if ((rc = retention_start(c, have_ret_days || have_ret_bytes)) ||
		    (rc = attach_session(c, name, &si, &resumed)))
			goto out;
		filter = c->dpc.filter;
		goto have_session;
	}
	if (!name) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s", read_path ? read_path : iface);
		name = read_path && strcmp(read_path, "-") ? basename(tmp) : tmp;
		if (name_fit(si.name, sizeof(si.name), name))
			pr_cli_note(&c->cli,
				    "the session name is cut to %zu bytes: \"%s\" (give --name to "
				    "choose it)",
				    strlen(si.name), si.name);
	} else {
		snprintf(si.name, sizeof(si.name), "%s", name);
	}
	snprintf(si.source, sizeof(si.source), "%s", read_path ? read_path : iface);
	snprintf(si.source_kind, sizeof(si.source_kind), "%s", read_path ? "file" : "interface");
	snprintf(si.filter, sizeof(si.filter), "%s", filter);
	si.snaplen = c->dpc.snaplen;
	/* Before the session exists: a store that cannot take the limits gets no session. */
	if ((rc = retention_start(c, have_ret_days || have_ret_bytes)))
		goto out;
	if (pr_store_session_begin(c->st, &si, &c->session)) {
		pr_cli_error("%s: start session: %s", c->cli.db_path, pr_store_errmsg(c->st));
		rc = PR_EXIT_FAIL;
		goto out;
	}
have_session : {
	struct pr_store_cfg ckcfg = { .path = c->cli.db_path, .key = c->cli.key };
	struct pr_ingest_cfg icfg = {
		.st = c->st,
		.session = c->session,
		.commit_interval_ms = c->cli.cfg.commit_interval_ms,
		.commit_max_bytes = c->cli.cfg.commit_max_bytes,
		.checkpoint_cfg = &ckcfg,
		/*
			 * A capture that outlives its control plane hands ring slots
			 * back only once committed: the next control plane re-reads
			 * what this one read but did not store.
			 */
		.release_on_commit = attach || instance,
		.resume = resumed,
		.on_iface = tee_iface,
		.on_packet = tee_packet,
		.ctx = c,
	};

	if (pr_ingest_create(&icfg, &c->ig)) {
		pr_cli_error("capture: %s", strerror(ENOMEM));
		pr_store_session_end(c->st, c->session, PR_SESSION_FAILED, "out of memory");
		rc = PR_EXIT_FAIL;
		goto out;
	}
}
	if (c->pcap_path) {
		size_t l = strlen(c->pcap_path);
		struct pr_pcapw_cfg wc = {
			.format = l > 7 && !strcmp(c->pcap_path + l - 7, ".pcapng") ?
					  PR_PCAPW_PCAPNG :
					  PR_PCAPW_PCAP,
			.path = pr_outfile_path(c->pcap_out),
			.user_appl = "packetrecorder " PR_VERSION,
		};

		ret = pr_pcapw_create(&wc, &c->pw);
		if (ret) {
			pr_cli_error("--pcap %s: %s", c->pcap_path, strerror(-ret));
			pr_store_session_end(c->st, c->session, PR_SESSION_FAILED,
					     "could not create the --pcap file");
			rc = PR_EXIT_FAIL;
			goto out;
		}
	}

	ret = c->dp ? 0 :
		      pr_dp_create_instance(&c->cli.cfg, &c->dpc, 0, instance, &c->dp, err,
					    sizeof(err));
	if (!ret) {
		char real[PATH_MAX];

		/* The next control plane (capture --attach) finds the session and store here. */
		pr_dp_set_session(c->dp, c->session,
				  realpath(c->cli.db_path, real) ? real : c->cli.db_path);
	}
	for (uint32_t i = 0; !ret && i < pr_dp_rx_rings(c->dp); i++)
		if (pr_ingest_add_ring(c->ig, pr_dp_rx_ring(c->dp, i)))
			ret = -EPROTO;
	if (ret) {
		if (ret == -EPROTO)
			snprintf(err, sizeof(err), "shared memory: a worker ring is not valid");
		pr_cli_error("%s", err);
		pr_store_session_end(c->st, c->session, PR_SESSION_FAILED, err);
		rc = ret == -EEXIST ? PR_EXIT_USAGE : PR_EXIT_FAIL;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	start = mono_ns();
	ret = attach ? 0 : pr_dp_spawn(c->dp, NULL, err, sizeof(err));
	if (ret) {
		pr_cli_error("%s", err);
		pr_store_session_end(c->st, c->session, PR_SESSION_FAILED, err);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	snprintf(c->started_note, sizeof(c->started_note), "%s%s%s%s%s%s", si.source,
		 filter[0] ? " with filter " : "", filter,
		 pr_dp_instance(c->dp)[0] ? " (instance " : "", pr_dp_instance(c->dp),
		 pr_dp_instance(c->dp)[0] ? ")" : "");
	consume(c, isatty(STDERR_FILENO) && c->cli.quiet <= 0 && !c->cli.json);
	pr_dp_wait(c->dp, 5000);

	{
		struct pr_ingest_stats is;

		ret = pr_ingest_finish(c->ig);
		/* The dataplane is gone and its records stored: nobody needs the region. */
		pr_dp_consumed(c->dp);
		/* What this capture added may take the store over its limits: apply them once more. */
		if (!ret && c->retention)
			retention_apply(c);
		pr_ingest_get_stats(c->ig, &is);
		if (pr_cli_get_session(&c->cli, c->st, c->session, &si)) {
			rc = PR_EXIT_FAIL;
			goto out;
		}
		if (c->pw) {
			ret = pr_pcapw_close(c->pw);
			c->pw = NULL;
			/*
			 * The packets in it were captured whatever happened to the
			 * store, so it is kept unless writing it failed.
			 */
			if (ret)
				pr_cli_error("--pcap %s: %s: it is not kept", c->pcap_path,
					     strerror(-ret));
			else if (pr_cli_outfile_commit(c->pcap_out))
				c->pcap_failed = true;
			if (ret)
				c->pcap_failed = true;
		}
		print_summary(c, &is, &si, (double)(mono_ns() - start) / 1e9);
		accounting_check(&is, &si);
		if (is.store_failed) {
			pr_cli_error("%s: %s", c->cli.db_path, is.store_err);
			rc = PR_EXIT_FAIL;
		} else if (is.end_reason == PR_END_ERROR) {
			pr_cli_error("%s", is.end_msg);
			rc = PR_EXIT_FAIL;
		} else if (c->pcap_failed) {
			rc = PR_EXIT_FAIL;
		} else {
			rc = PR_EXIT_OK;
		}
	}
out:
	pr_ingest_destroy(c->ig);
	pr_pcapw_close(c->pw);
	pr_outfile_destroy(c->pcap_out);
	pr_dp_destroy(c->dp);
	pr_store_close(c->st);
	pr_cli_fini(&c->cli);
	free(c);
	return rc;
}
