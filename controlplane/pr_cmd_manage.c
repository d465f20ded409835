// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder manage`: drive a remote `packetrecorder serve` over its
 * gRPC API (the client in controlplane/grpc/pr_grpc_client.h). What the
 * daemon answers is turned back into the store's structs and printed by
 * the same functions as the local commands, so `manage sessions --json`
 * and `sessions --json` print the same document for the same store.
 * Downloads are written through pr_outfile (a new file, or nothing) with
 * a progress line on a terminal. Main thread only.
 */
#include <errno.h>
#include <math.h>
#include <malloc.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "packetrecorder.pb-c.h"
#include "pr_cli.h"
#include "pr_flowjson.h"
#include "pr_grpc_client.h"
#include "pr_grpc_conv.h"
#include "pr_json.h"
#include "pr_tap.h"

#define SVC "/packetrecorder.v1.PacketRecorder/"

enum {
	O_ENDPOINT = PR_OPT_FIRST_COMMAND_OPT,
	O_API_KEY,
	O_API_KEY_FILE,
	O_TLS,
	O_TLS_CA,
	O_TLS_CERT,
	O_TLS_KEY,
	O_TLS_NAME,
	O_TIMEOUT,
	O_SESSION,
	O_OUTPUT,
	O_FORMAT,
	O_FILTER,
	O_LIMIT,
	O_SHOW_DATA,
	O_YES,
	O_PROGRESS,
	O_NO_PROGRESS,
	O_TYPES,
	O_AFTER_SEQ,
	O_COUNT,
	O_CHUNK,
	O_INTERFACE,
	O_CAPTURE,
	O_REPLAY,
	O_SPEED,
	O_PPS,
	O_MBPS,
	O_LOOP,
	O_BACKEND,
	O_MAX_PACKETS,
	O_DURATION,
	O_NAME,
	O_SNAPLEN,
	O_MAX_PPS,
	O_WHERE,
};

struct manage {
	struct pr_cli cli; /* --json, --from/--to/--flow, -q */
	struct pr_grpc_client_cfg cc;
	char *api_key; /* owned, wiped */
	const char *api_key_file;
	const char *cmd;
	int64_t session;
	const char *output;
	const char *format;
	const char *filter;
	const char *where; /* flows */
	const char *interface;
	const char *backend; /* start-capture */
	const char *name;
	uint64_t max_packets;
	uint64_t duration_s;
	uint64_t snaplen;
	uint64_t limit;
	uint64_t chunk;
	int64_t capture;
	int64_t replay; /* stop-replay */
	double speed; /* start-replay; -1: not given */
	uint64_t pps; /* start-replay */
	double mbps; /* start-replay */
	uint64_t loop; /* start-replay; 0: once */
	const char *types; /* events: comma-separated */
	uint64_t after_seq; /* events */
	uint64_t count; /* events, tap: stop after this many; 0: never */
	uint64_t max_pps; /* tap */
	bool show_data;
	bool yes;
	int progress; /* 1 on, 0 off, -1: on a terminal */
	struct pr_grpc_client *cl;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder manage --endpoint HOST:PORT [--api-key KEY] [--tls-ca FILE]\n"
		"                             [--json] COMMAND [options]\n"
		"\n"
		"Drive a remote `packetrecorder serve` over its gRPC API.\n"
		"\n"
		"Commands:\n"
		"  sessions                        the stored sessions (as `sessions`)\n"
		"  session --session-id ID         one session\n"
		"  flows --session-id ID           its flows (as `flows`; --from --to --flow --limit\n"
		"                                  --where EXPR: only flows that match EXPR, the\n"
		"                                  language of `flows --where`, tested by the\n"
		"                                  daemon; --limit counts matching flows)\n"
		"  query --session-id ID           its packets (as `query`; --filter --from --to\n"
		"                                  --flow --limit --show-data)\n"
		"  download-pcap --session-id ID --output FILE\n"
		"                                  its packets as a file (--format pcap|pcapng,\n"
		"                                  --filter --from --to --flow --limit; - is stdout)\n"
		"  delete-session --session-id ID --yes\n"
		"  stats                           the store and the daemon\n"
		"  health                          is the daemon serving\n"
		"  list-interfaces                 the sensor's capture interfaces\n"
		"  start-capture --interface IF    start a capture on the sensor (--filter F\n"
		"                                  --backend pcap|afxdp|dpdk --name NAME\n"
		"                                  --max-packets N --duration S --snaplen N); it\n"
		"                                  runs until stop-capture, N or S\n"
		"  stop-capture --capture-id ID    stop it; answers once its session is stored\n"
		"  status [--capture-id ID]        the daemon's captures (running and finished)\n"
		"  start-replay --session-id ID --interface IF\n"
		"                                  send a stored session out of an interface of\n"
		"                                  the sensor (--speed X: 1 the stored timing,\n"
		"                                  the default, 0 top speed; --pps N; --mbps N;\n"
		"                                  --filter F --from T --to T --flow ID --loop N\n"
		"                                  --backend pcap|afxdp|dpdk --count N); it runs\n"
		"                                  in the daemon until sent or stop-replay\n"
		"  stop-replay --replay-id ID      stop it; answers once its dataplane has ended\n"
		"                                  (a replay already over: its final status)\n"
		"  events [--types T,T] [--after-seq N] [--count N]\n"
		"                                  the daemon's events as they happen, a line each\n"
		"                                  (--json: a JSON object a line): capture_started,\n"
		"                                  capture_stopped, drops, alert, session_deleted,\n"
		"                                  replay_started, replay_stopped;\n"
		"                                  --after-seq resumes after event N (1: all the\n"
		"                                  daemon still holds); runs until --count events\n"
		"                                  or the daemon ends the stream\n"
		"  tap [--capture-id ID]           the packets a running capture stores, as it\n"
		"                                  stores them (ID 0 or none: the only capture\n"
		"                                  running): a line each (--json: a JSON object),\n"
		"                                  or with -w FILE a pcap (nanosecond) written as\n"
		"                                  they arrive (-w -: stdout, for tshark -r -);\n"
		"                                  --filter F (BPF), --max-pps N (the daemon's cap\n"
		"                                  on this tap; 0: 100000), --snaplen N, --count N;\n"
		"                                  ends when the capture ends\n"
		"\n"
		"  -e, --endpoint HOST:PORT   the daemon\n"
		"      --api-key KEY          API key (default $PACKETRECORDER_API_KEY); sent as\n"
		"                             x-api-key. Prefer the variable or --api-key-file\n"
		"      --api-key-file FILE    read the key from the first line of FILE\n"
		"      --tls                  TLS, the daemon checked against the system's CAs\n"
		"      --tls-ca FILE          TLS, the daemon checked against these PEM CAs\n"
		"      --tls-cert FILE, --tls-key FILE  a client certificate (mTLS)\n"
		"      --tls-server-name NAME the name the daemon's certificate must carry\n"
		"      --timeout S            give up on a call after S seconds (default: none)\n"
		"      --json                 JSON output (the keys of the local commands)\n"
		"      --progress, --no-progress  the download's progress line (default: on a\n"
		"                             terminal)\n"
		"  -q, --quiet                no notes\n"
		"  -h, --help                 this help\n"
		"\n"
		"Exit codes: 0 ok, 1 failure (or the daemon unreachable), 2 API key refused,\n"
		"3 usage or a request the daemon calls invalid, 4 not found.\n"
		"Documentation: docs/packetrecorder-manage.md.\n");
}

/* An exit code for a call that did not end OK, after saying why. */
static int call_failed(struct manage *m, const char *what, int ret,
		       const struct pr_grpc_client_status *st)
{
	if (ret == -EREMOTEIO) {
		pr_cli_error("manage: %s: %s: %s: %s", m->cc.endpoint, what, st->name,
			     st->msg[0] ? st->msg : "(no message)");
		switch (st->code) {
		case 16: /* UNAUTHENTICATED */
		case 7: /* PERMISSION_DENIED */
			return PR_EXIT_KEY;
		case 3: /* INVALID_ARGUMENT */
			return PR_EXIT_USAGE;
		case 5: /* NOT_FOUND */
			return PR_EXIT_NOTFOUND;
		default:
			return PR_EXIT_FAIL;
		}
	}
	if (ret == -ECANCELED)
		return PR_EXIT_FAIL; /* said where it was stopped */
	pr_cli_error("manage: %s: %s: %s", m->cc.endpoint, what,
		     ret == -EBADMSG ? st->msg : strerror(-ret));
	return PR_EXIT_FAIL;
}

static int need_session(struct manage *m)
{
	if (m->session > 0)
		return 0;
	pr_cli_error("manage %s: --session-id ID is required", m->cmd);
	return PR_EXIT_USAGE;
}

/* ---- sessions ---- */

static int cmd_sessions(struct manage *m)
{
	Packetrecorder__V1__ListSessionsRequest req =
		PACKETRECORDER__V1__LIST_SESSIONS_REQUEST__INIT;
	Packetrecorder__V1__ListSessionsResponse *resp;
	struct pr_grpc_client_status st;
	struct pr_session_info si;
	struct pr_json j;
	int ret;

	ret = pr_grpc_client_unary(m->cl, SVC "ListSessions", &req.base,
				   &packetrecorder__v1__list_sessions_response__descriptor,
				   (ProtobufCMessage **)&resp, &st);
	if (ret)
		return call_failed(m, "ListSessions", ret, &st);
	if (m->cli.json) {
		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
	} else {
		pr_cli_sessions_text_header();
	}
	for (size_t i = 0; i < resp->n_sessions; i++) {
		if (pr_grpc_session_from_pb(resp->sessions[i], &si))
			pr_cli_warn("session %lld: status \"%s\" is new to this program",
				    (long long)resp->sessions[i]->session_id,
				    resp->sessions[i]->status);
		if (m->cli.json)
			pr_cli_session_json(&j, &si);
		else
			pr_cli_session_text(&si);
	}
	if (m->cli.json) {
		pr_json_arr_end(&j);
		pr_json_end(&j);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return PR_EXIT_OK;
}

static int get_session(struct manage *m, struct pr_session_info *si)
{
	Packetrecorder__V1__GetSessionRequest req = PACKETRECORDER__V1__GET_SESSION_REQUEST__INIT;
	Packetrecorder__V1__Session *resp;
	struct pr_grpc_client_status st;
	int ret;

	req.session_id = m->session;
	ret = pr_grpc_client_unary(m->cl, SVC "GetSession", &req.base,
				   &packetrecorder__v1__session__descriptor,
				   (ProtobufCMessage **)&resp, &st);
	if (ret)
		return call_failed(m, "GetSession", ret, &st);
	pr_grpc_session_from_pb(resp, si);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int cmd_session(struct manage *m)
{
	struct pr_session_info si;
	struct pr_json j;
	int rc;

	if ((rc = need_session(m)) || (rc = get_session(m, &si)))
		return rc;
	if (m->cli.json) {
		pr_json_init(&j, stdout);
		pr_cli_session_json(&j, &si);
		pr_json_end(&j);
	} else {
		pr_cli_sessions_text_header();
		pr_cli_session_text(&si);
	}
	return PR_EXIT_OK;
}

/* ---- flows and packets ---- */

struct rows {
	struct manage *m;
	struct pr_json j;
	bool bad;
};

static int flow_cb(void *ctx, const ProtobufCMessage *msg)
{
	const Packetrecorder__V1__Flow *pb = (const Packetrecorder__V1__Flow *)msg;
	struct rows *r = ctx;
	struct pr_store_flow f;

	if (pr_grpc_flow_from_pb(pb, &f))
		r->bad = true;
	if (r->m->cli.json)
		pr_flowjson_write_members(&r->j, &f, pb->l7_json);
	else
		pr_cli_flow_text(&f);
	return 0;
}

static int cmd_flows(struct manage *m)
{
	Packetrecorder__V1__QueryFlowsRequest req = PACKETRECORDER__V1__QUERY_FLOWS_REQUEST__INIT;
	struct pr_grpc_client_status st;
	struct rows r = { .m = m };
	int ret, rc;

	if ((rc = need_session(m)))
		return rc;
	req.session_id = m->session;
	req.from_ts = m->cli.range.from_ns;
	req.to_ts = m->cli.range.to_ns;
	if (m->cli.range.has_flow) {
		req.flow_case = PACKETRECORDER__V1__QUERY_FLOWS_REQUEST__FLOW_FLOW_ID;
		req.flow_id = m->cli.range.flow_id;
	}
	req.limit = m->limit;
	/* The daemon compiles it: a bad expression is its INVALID_ARGUMENT, exit 3. */
	req.where = (char *)(uintptr_t)(m->where ? m->where : "");
	if (m->cli.json) {
		pr_json_init(&r.j, stdout);
		pr_json_arr_begin(&r.j);
	} else {
		pr_cli_flows_text_header();
	}
	ret = pr_grpc_client_stream(m->cl, SVC "QueryFlows", &req.base,
				    &packetrecorder__v1__flow__descriptor, flow_cb, &r, &st);
	if (m->cli.json) {
		pr_json_arr_end(&r.j);
		pr_json_end(&r.j);
	}
	if (r.bad)
		pr_cli_warn("some flows carry a state, reason or address new to this program");
	return ret ? call_failed(m, "QueryFlows", ret, &st) : PR_EXIT_OK;
}

static int packet_cb(void *ctx, const ProtobufCMessage *msg)
{
	struct rows *r = ctx;
	struct pr_query_pkt p;

	pr_grpc_packet_from_pb((const Packetrecorder__V1__Packet *)msg, &p);
	if (r->m->cli.json)
		pr_cli_packet_json(&r->j, &p, r->m->show_data);
	else
		pr_cli_packet_text(&p, r->m->show_data);
	return 0;
}

static int cmd_query(struct manage *m)
{
	Packetrecorder__V1__QueryPacketsRequest req =
		PACKETRECORDER__V1__QUERY_PACKETS_REQUEST__INIT;
	struct pr_grpc_client_status st;
	struct rows r = { .m = m };
	int ret, rc;

	if ((rc = need_session(m)))
		return rc;
	req.session_id = m->session;
	req.filter = (char *)(uintptr_t)(m->filter ? m->filter : "");
	req.from_ts = m->cli.range.from_ns;
	req.to_ts = m->cli.range.to_ns;
	if (m->cli.range.has_flow) {
		req.flow_case = PACKETRECORDER__V1__QUERY_PACKETS_REQUEST__FLOW_FLOW_ID;
		req.flow_id = m->cli.range.flow_id;
	}
	req.limit = m->limit;
	req.include_data = m->show_data;
	if (m->cli.json) {
		pr_json_init(&r.j, stdout);
		pr_json_arr_begin(&r.j);
	} else {
		pr_cli_packets_text_header();
	}
	ret = pr_grpc_client_stream(m->cl, SVC "QueryPackets", &req.base,
				    &packetrecorder__v1__packet__descriptor, packet_cb, &r, &st);
	if (m->cli.json) {
		pr_json_arr_end(&r.j);
		pr_json_end(&r.j);
	}
	return ret ? call_failed(m, "QueryPackets", ret, &st) : PR_EXIT_OK;
}

/* ---- download ---- */

struct download {
	struct manage *m;
	FILE *f;
	uint64_t bytes;
	uint64_t packets;
	uint64_t estimate; /* bytes the whole file will have, about; 0: not known */
	double t0, last_shown;
	bool progress;
	int err; /* errno of a failed write */
	bool gap; /* a chunk's offset did not follow the last */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void show_progress(struct download *d, bool last)
{
	double t = now_s(), secs = t - d->t0;
	double mb = (double)d->bytes / 1e6;

	if (!last && t - d->last_shown < 0.2)
		return;
	d->last_shown = t;
	if (d->estimate && !last)
		fprintf(stderr, "\r%.1f of ~%.1f MB (%.0f%%), %" PRIu64 " packets, %.1f MB/s   ",
			mb, (double)d->estimate / 1e6,
			d->bytes >= d->estimate ? 99.0 :
						  100.0 * (double)d->bytes / (double)d->estimate,
			d->packets, secs > 0 ? mb / secs : 0);
	else
		fprintf(stderr, "\r%.1f MB, %" PRIu64 " packets, %.1f MB/s%s   ", mb, d->packets,
			secs > 0 ? mb / secs : 0, last ? "\n" : "");
	fflush(stderr);
}

static int chunk_cb(void *ctx, const ProtobufCMessage *msg)
{
	const Packetrecorder__V1__PcapChunk *c = (const void *)msg;
	struct download *d = ctx;

	if (c->offset != d->bytes) {
		d->gap = true;
		return 1;
	}
	if (c->data.len && fwrite(c->data.data, 1, c->data.len, d->f) != c->data.len) {
		d->err = errno ? errno : EIO;
		return 1;
	}
	d->bytes += c->data.len;
	d->packets = c->packets;
	if (d->progress)
		show_progress(d, false);
	return 0;
}

static int cmd_download(struct manage *m)
{
	Packetrecorder__V1__DownloadPcapRequest req =
		PACKETRECORDER__V1__DOWNLOAD_PCAP_REQUEST__INIT;
	struct pr_outfile_cfg oc = { .opt = "--output", .path = m->output, .mode = 0600 };
	struct download d = { .m = m };
	struct pr_grpc_client_status st;
	struct pr_outfile *of = NULL;
	struct pr_session_info si;
	bool ng = false, to_stdout;
	int ret, rc;

	if ((rc = need_session(m)))
		return rc;
	if (!m->output) {
		pr_cli_error("manage download-pcap: --output FILE is required (- for stdout)");
		return PR_EXIT_USAGE;
	}
	if (m->format && strcmp(m->format, "pcap") && !(ng = !strcmp(m->format, "pcapng"))) {
		pr_cli_error("--format: \"%s\" is not pcap or pcapng", m->format);
		return PR_EXIT_USAGE;
	}
	/* For the progress line: the size of the whole, unfiltered file. */
	if ((rc = get_session(m, &si)))
		return rc;
	if ((rc = pr_cli_outfile_open(&oc, &of)))
		return rc;
	to_stdout = !strcmp(m->output, "-");
	d.f = to_stdout ? stdout : fopen(pr_outfile_path(of), "w");
	if (!d.f) {
		pr_cli_error("%s: %s", m->output, strerror(errno));
		pr_outfile_destroy(of);
		return PR_EXIT_FAIL;
	}
	req.session_id = m->session;
	req.format = ng ? PACKETRECORDER__V1__PCAP_FORMAT__PCAP_FORMAT_PCAPNG :
			  PACKETRECORDER__V1__PCAP_FORMAT__PCAP_FORMAT_PCAP;
	req.filter = (char *)(uintptr_t)(m->filter ? m->filter : "");
	req.from_ts = m->cli.range.from_ns;
	req.to_ts = m->cli.range.to_ns;
	if (m->cli.range.has_flow) {
		req.flow_case = PACKETRECORDER__V1__DOWNLOAD_PCAP_REQUEST__FLOW_FLOW_ID;
		req.flow_id = m->cli.range.flow_id;
	}
	req.limit = m->limit;
	req.chunk_bytes = (uint32_t)m->chunk;
	if (!m->filter && !m->cli.range.from_ns && !m->cli.range.to_ns && !m->cli.range.has_flow &&
	    !m->limit)
		d.estimate = si.captured_bytes + si.packets * (ng ? 32 : 16) + 24;
	d.progress = m->progress > 0 || (m->progress < 0 && isatty(STDERR_FILENO));
	/*
	 * Each chunk (256 KiB by default) is allocated and freed two or three
	 * times on its way in (transport, reader, message); above glibc's
	 * mmap threshold each of those is an mmap() whose pages fault in
	 * fresh. Kept on the heap instead, a download costs about a third
	 * less CPU here (0.26-0.35 s down to 0.17-0.21 s for 61 MB).
	 */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	d.t0 = now_s();
	ret = pr_grpc_client_stream(m->cl, SVC "DownloadPcap", &req.base,
				    &packetrecorder__v1__pcap_chunk__descriptor, chunk_cb, &d, &st);
	if (d.progress)
		show_progress(&d, true);
	if (fflush(d.f) && !d.err)
		d.err = errno;
	if (!to_stdout && fclose(d.f) && !d.err)
		d.err = errno;
	if (d.err) {
		pr_cli_error("%s: %s", m->output, strerror(d.err));
		rc = PR_EXIT_FAIL;
	} else if (d.gap) {
		pr_cli_error("manage: %s: DownloadPcap: a chunk does not follow the one before "
			     "(at byte %" PRIu64 ")",
			     m->cc.endpoint, d.bytes);
		rc = PR_EXIT_FAIL;
	} else if (ret) {
		rc = call_failed(m, "DownloadPcap", ret, &st);
	} else {
		rc = pr_cli_outfile_commit(of);
	}
	pr_outfile_destroy(of);
	if (rc)
		return rc;
	if (m->cli.json) {
		struct pr_json j;

		pr_json_init(&j, to_stdout ? stderr : stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", m->session);
		pr_json_kv_str(&j, "output", m->output);
		pr_json_kv_str(&j, "format", ng ? "pcapng" : "pcap");
		pr_json_kv_u64(&j, "packets", d.packets);
		pr_json_kv_u64(&j, "bytes", d.bytes);
		pr_json_kv_double(&j, "seconds", now_s() - d.t0);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_note(&m->cli, "session %lld: %" PRIu64 " packets, %" PRIu64 " bytes to %s",
			    (long long)m->session, d.packets, d.bytes, m->output);
	}
	return PR_EXIT_OK;
}

/* ---- the rest ---- */

static int cmd_delete(struct manage *m)
{
	Packetrecorder__V1__DeleteSessionRequest req =
		PACKETRECORDER__V1__DELETE_SESSION_REQUEST__INIT;
	Packetrecorder__V1__DeleteSessionResponse *r;
	struct pr_grpc_client_status st;
	int ret, rc;

	if ((rc = need_session(m)))
		return rc;
	if (!m->yes) {
		pr_cli_error("manage delete-session: give --yes to delete session %lld on %s and "
			     "destroy its keys",
			     (long long)m->session, m->cc.endpoint);
		return PR_EXIT_USAGE;
	}
	req.session_id = m->session;
	ret = pr_grpc_client_unary(m->cl, SVC "DeleteSession", &req.base,
				   &packetrecorder__v1__delete_session_response__descriptor,
				   (ProtobufCMessage **)&r, &st);
	if (ret)
		return call_failed(m, "DeleteSession", ret, &st);
	if (m->cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", r->session_id);
		pr_json_kv_bool(&j, "deleted", r->deleted);
		pr_json_kv_u64(&j, "packets", r->packets);
		pr_json_kv_u64(&j, "blocks", r->blocks);
		pr_json_kv_u64(&j, "flows", r->flows);
		pr_json_kv_u64(&j, "segments", r->segments);
		pr_json_kv_u64(&j, "files_removed", r->files_removed);
		pr_json_kv_bool(&j, "wal_clean", r->wal_clean);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		printf("session %lld deleted: %" PRIu64 " packets, %" PRIu64 " segment keys "
		       "destroyed\n",
		       (long long)r->session_id, r->packets, r->segments);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return PR_EXIT_OK;
}

static void kv_opt_u64(struct pr_json *j, const char *k, bool have, uint64_t v)
{
	pr_json_key(j, k);
	if (have)
		pr_json_u64(j, v);
	else
		pr_json_null(j);
}

static int cmd_stats(struct manage *m)
{
	Packetrecorder__V1__GetStatsRequest req = PACKETRECORDER__V1__GET_STATS_REQUEST__INIT;
	Packetrecorder__V1__Stats *r;
	const Packetrecorder__V1__StoreStats *s;
	struct pr_grpc_client_status st;
	int ret;

	ret = pr_grpc_client_unary(m->cl, SVC "GetStats", &req.base,
				   &packetrecorder__v1__stats__descriptor, (ProtobufCMessage **)&r,
				   &st);
	if (ret)
		return call_failed(m, "GetStats", ret, &st);
	s = r->store;
	if (m->cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "version", r->version);
		pr_json_kv_double(&j, "uptime_s", r->uptime_s);
		if (s) {
			/* The keys and nulls of `store-info --json`. */
			pr_json_key(&j, "store");
			pr_json_obj_begin(&j);
			pr_json_kv_str(&j, "mode", s->mode);
			pr_json_kv_bool(&j, "encrypted", s->encrypted);
			pr_json_kv_bool(&j, "readonly", s->readonly);
			pr_json_kv_u64(&j, "size_bytes", s->size_bytes);
			pr_json_kv_u64(&j, "db_bytes", s->db_bytes);
			pr_json_kv_u64(&j, "wal_bytes", s->wal_bytes);
			pr_json_kv_u64(&j, "segment_bytes", s->segment_bytes);
			pr_json_kv_u64(&j, "segment_files", s->segment_files);
			pr_json_kv_u64(&j, "segments", s->segments);
			pr_json_kv_u64(&j, "sessions", s->sessions);
			pr_json_kv_u64(&j, "pinned_sessions", s->pinned_sessions);
			pr_json_kv_u64(&j, "running_sessions", s->running_sessions);
			pr_json_kv_u64(&j, "packets", s->packets);
			pr_json_kv_u64(&j, "expired_packets", s->expired_packets);
			pr_json_kv_u64(&j, "oldest_packet_ts", s->oldest_packet_ts);
			pr_json_kv_u64(&j, "newest_packet_ts", s->newest_packet_ts);
			pr_json_kv_double(&j, "capture_s", s->capture_s);
			pr_json_key(&j, "bytes_per_day");
			if (s->bytes_per_day_v_case)
				pr_json_double(&j, s->bytes_per_day);
			else
				pr_json_null(&j);
			kv_opt_u64(&j, "retention_days", s->retention_days_v_case,
				   s->retention_days);
			kv_opt_u64(&j, "retention_bytes", s->retention_bytes_v_case,
				   s->retention_bytes);
			kv_opt_u64(&j, "fs_free_bytes", s->fs_free_bytes_v_case, s->fs_free_bytes);
			pr_json_key(&j, "days_left");
			if (s->days_left_v_case)
				pr_json_double(&j, s->days_left);
			else
				pr_json_null(&j);
			pr_json_key(&j, "days_left_until");
			if (s->days_left_until_v_case)
				pr_json_str(&j, s->days_left_until);
			else
				pr_json_null(&j);
			pr_json_obj_end(&j);
		}
		if (r->grpc) {
			pr_json_key(&j, "grpc");
			pr_json_obj_begin(&j);
			pr_json_kv_u64(&j, "calls", r->grpc->calls);
			pr_json_kv_u64(&j, "calls_failed", r->grpc->calls_failed);
			pr_json_kv_u64(&j, "auth_failures", r->grpc->auth_failures);
			pr_json_kv_u64(&j, "streams_active", r->grpc->streams_active);
			pr_json_kv_u64(&j, "streams_max", r->grpc->streams_max);
			pr_json_kv_u64(&j, "bytes_sent", r->grpc->bytes_sent);
			pr_json_obj_end(&j);
		}
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		printf("daemon:          packetrecorder %s, up %.0f s\n", r->version, r->uptime_s);
		if (s) {
			printf("store:           %s, %s%s\n", s->mode,
			       s->encrypted ? "encrypted" : "NOT encrypted",
			       s->readonly ? ", read-only" : "");
			printf("size:            %" PRIu64 " bytes\n", s->size_bytes);
			printf("sessions:        %" PRIu64 " (%" PRIu64 " running)\n", s->sessions,
			       s->running_sessions);
			printf("packets:         %" PRIu64 "\n", s->packets);
			if (s->days_left_v_case)
				printf("days left:       %.1f (until %s)\n", s->days_left,
				       s->days_left_until_v_case ? s->days_left_until : "?");
		}
		if (r->grpc)
			printf("grpc:            %" PRIu64 " calls (%" PRIu64 " failed, %" PRIu64
			       " refused keys), %u/%u streams open\n",
			       r->grpc->calls, r->grpc->calls_failed, r->grpc->auth_failures,
			       r->grpc->streams_active, r->grpc->streams_max);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return PR_EXIT_OK;
}

static int cmd_health(struct manage *m)
{
	Packetrecorder__V1__HealthRequest req = PACKETRECORDER__V1__HEALTH_REQUEST__INIT;
	Packetrecorder__V1__HealthResponse *r;
	struct pr_grpc_client_status st;
	int ret, rc;

	ret = pr_grpc_client_unary(m->cl, SVC "Health", &req.base,
				   &packetrecorder__v1__health_response__descriptor,
				   (ProtobufCMessage **)&r, &st);
	if (ret)
		return call_failed(m, "Health", ret, &st);
	if (m->cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "status", r->status);
		pr_json_kv_str(&j, "version", r->version);
		pr_json_kv_double(&j, "uptime_s", r->uptime_s);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		printf("%s (packetrecorder %s, up %.0f s)\n", r->status, r->version, r->uptime_s);
	}
	rc = strcmp(r->status, "SERVING") ? PR_EXIT_FAIL : PR_EXIT_OK;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

/* ---- replay control ---- */

static void replay_json(struct pr_json *j, const Packetrecorder__V1__ReplayStatus *r)
{
	pr_json_obj_begin(j);
	pr_json_kv_i64(j, "replay_id", r->replay_id);
	pr_json_kv_i64(j, "session_id", r->session_id);
	pr_json_kv_str(j, "interface", r->interface);
	pr_json_kv_str(j, "backend", r->backend);
	pr_json_kv_str(j, "filter", r->filter);
	pr_json_kv_double(j, "speed", r->speed);
	pr_json_kv_u64(j, "pps", r->pps);
	pr_json_kv_u64(j, "count", r->count);
	pr_json_kv_str(j, "state", r->state);
	pr_json_kv_u64(j, "started_ts", r->started_ts);
	/* The keys of `replay --json`. */
	pr_json_kv_u64(j, "packets_sent", r->sent);
	pr_json_kv_u64(j, "bytes_sent", r->bytes_sent);
	pr_json_kv_u64(j, "errors", r->errors);
	pr_json_kv_double(j, "duration_s", r->duration_s);
	pr_json_kv_str(j, "end_reason", r->end_reason);
	pr_json_kv_str(j, "message", r->message);
	pr_json_obj_end(j);
}

/* start-replay and stop-replay: the daemon's ReplayStatus, as JSON or a line. */
static int cmd_replay(struct manage *m)
{
	Packetrecorder__V1__ReplayStatus *r = NULL;
	struct pr_grpc_client_status st;
	int ret;

	if (!strcmp(m->cmd, "start-replay")) {
		Packetrecorder__V1__StartReplayRequest req =
			PACKETRECORDER__V1__START_REPLAY_REQUEST__INIT;

		if (m->session <= 0 || !m->interface) {
			pr_cli_error("manage start-replay: --session-id ID and --interface IF are "
				     "required");
			return PR_EXIT_USAGE;
		}
		if ((m->pps != 0) + (m->speed > 0) + (m->mbps > 0) > 1) {
			pr_cli_error("manage start-replay: --speed, --pps and --mbps choose the "
				     "pacing: give one");
			return PR_EXIT_USAGE;
		}
		req.session_id = m->session;
		req.interface = (char *)(uintptr_t)m->interface;
		req.filter = (char *)(uintptr_t)(m->filter ? m->filter : "");
		req.backend = (char *)(uintptr_t)(m->backend ? m->backend : "");
		/* As `replay`: the stored timing unless told otherwise (the API's 0 is top speed). */
		req.speed = m->speed >= 0 ? m->speed : m->pps || m->mbps > 0 ? 0 : 1;
		req.pps = m->pps;
		req.mbps = m->mbps;
		req.loop = m->loop;
		req.count = m->count;
		req.from_ts = m->cli.range.from_ns;
		req.to_ts = m->cli.range.to_ns;
		if (m->cli.range.has_flow) {
			req.flow_case = PACKETRECORDER__V1__START_REPLAY_REQUEST__FLOW_FLOW_ID;
			req.flow_id = m->cli.range.flow_id;
		}
		ret = pr_grpc_client_unary(m->cl, SVC "StartReplay", &req.base,
					   &packetrecorder__v1__replay_status__descriptor,
					   (ProtobufCMessage **)&r, &st);
	} else {
		Packetrecorder__V1__StopReplayRequest req =
			PACKETRECORDER__V1__STOP_REPLAY_REQUEST__INIT;

		req.replay_id = m->replay;
		ret = pr_grpc_client_unary(m->cl, SVC "StopReplay", &req.base,
					   &packetrecorder__v1__replay_status__descriptor,
					   (ProtobufCMessage **)&r, &st);
	}
	if (ret)
		return call_failed(m, m->cmd, ret, &st);
	if (m->cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		replay_json(&j, r);
		pr_json_end(&j);
	} else {
		printf("replay %lld of session %lld on %s (%s%s%s): %s, %llu packets sent "
		       "(%llu bytes, %llu errors)%s%s%s%s\n",
		       (long long)r->replay_id, (long long)r->session_id, r->interface, r->backend,
		       r->filter[0] ? ", filter " : "", r->filter, r->state,
		       (unsigned long long)r->sent, (unsigned long long)r->bytes_sent,
		       (unsigned long long)r->errors, r->end_reason[0] ? "; ended: " : "",
		       r->end_reason, r->message[0] ? ": " : "", r->message);
	}
	ret = !strcmp(r->state, "failed") ? PR_EXIT_FAIL : PR_EXIT_OK;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return ret;
}

static int cmd_ifaces(struct manage *m)
{
	Packetrecorder__V1__ListInterfacesRequest req =
		PACKETRECORDER__V1__LIST_INTERFACES_REQUEST__INIT;
	Packetrecorder__V1__ListInterfacesResponse *r;
	struct pr_grpc_client_status st;
	struct pr_json j;
	int ret;

	ret = pr_grpc_client_unary(m->cl, SVC "ListInterfaces", &req.base,
				   &packetrecorder__v1__list_interfaces_response__descriptor,
				   (ProtobufCMessage **)&r, &st);
	if (ret)
		return call_failed(m, "ListInterfaces", ret, &st);
	if (m->cli.json) {
		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
	} else {
		pr_cli_ifaces_text_header();
	}
	for (size_t i = 0; i < r->n_interfaces; i++) {
		const Packetrecorder__V1__Interface *in = r->interfaces[i];
		struct pr_query_iface qi = {
			.name = in->name,
			.description = in->description,
			.addresses = (const char *const *)in->addresses,
			.n_addresses = in->n_addresses,
			.up = in->up,
			.running = in->running,
			.loopback = in->loopback,
		};

		if (m->cli.json)
			pr_cli_iface_json(&j, &qi);
		else
			pr_cli_iface_text(&qi);
	}
	if (m->cli.json) {
		pr_json_arr_end(&j);
		pr_json_end(&j);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return PR_EXIT_OK;
}

static void capture_json(struct pr_json *j, const Packetrecorder__V1__CaptureStatus *c)
{
	pr_json_obj_begin(j);
	pr_json_kv_i64(j, "capture_id", c->capture_id);
	pr_json_kv_i64(j, "session_id", c->session_id);
	pr_json_kv_str(j, "interface", c->interface);
	pr_json_kv_str(j, "backend", c->backend);
	pr_json_kv_str(j, "filter", c->filter);
	pr_json_kv_str(j, "state", c->state);
	pr_json_kv_u64(j, "started_ts", c->started_ts);
	pr_json_kv_u64(j, "packets", c->packets);
	pr_json_kv_u64(j, "bytes", c->bytes);
	pr_json_kv_u64(j, "drops", c->drops);
	pr_json_kv_str(j, "end_reason", c->end_reason);
	pr_json_kv_str(j, "message", c->message);
	pr_json_obj_end(j);
}

static void capture_print(const Packetrecorder__V1__CaptureStatus *c)
{
	printf("capture %lld on %s (%s%s%s): %s, session %lld, %llu packets (%llu bytes), "
	       "%llu dropped%s%s%s%s\n",
	       (long long)c->capture_id, c->interface, c->backend, c->filter[0] ? ", filter " : "",
	       c->filter, c->state, (long long)c->session_id, (unsigned long long)c->packets,
	       (unsigned long long)c->bytes, (unsigned long long)c->drops,
	       c->end_reason[0] ? "; ended: " : "", c->end_reason, c->message[0] ? ": " : "",
	       c->message);
}

/* A capture-control answer, as JSON or a line per capture. */
static void capture_show(struct manage *m, const ProtobufCMessage *resp)
{
	struct pr_json j;

	if (resp->descriptor == &packetrecorder__v1__capture_status__descriptor) {
		const Packetrecorder__V1__CaptureStatus *c = (const void *)resp;

		if (m->cli.json) {
			pr_json_init(&j, stdout);
			capture_json(&j, c);
			pr_json_end(&j);
		} else {
			capture_print(c);
		}
		return;
	}
	if (resp->descriptor == &packetrecorder__v1__get_capture_status_response__descriptor) {
		const Packetrecorder__V1__GetCaptureStatusResponse *r = (const void *)resp;

		if (m->cli.json) {
			pr_json_init(&j, stdout);
			pr_json_obj_begin(&j);
			pr_json_key(&j, "captures");
			pr_json_arr_begin(&j);
			for (size_t i = 0; i < r->n_captures; i++)
				capture_json(&j, r->captures[i]);
			pr_json_arr_end(&j);
			pr_json_obj_end(&j);
			pr_json_end(&j);
		} else if (!r->n_captures) {
			pr_cli_note(&m->cli, "no captures");
		} else {
			for (size_t i = 0; i < r->n_captures; i++)
				capture_print(r->captures[i]);
		}
	}
}

/* Capture control and live streams: the daemon's answer, whatever it is. */
static int cmd_capture(struct manage *m)
{
	struct pr_grpc_client_status st;
	ProtobufCMessage *resp = NULL;
	int ret;

	if (!strcmp(m->cmd, "start-capture")) {
		Packetrecorder__V1__StartCaptureRequest req =
			PACKETRECORDER__V1__START_CAPTURE_REQUEST__INIT;

		if (!m->interface) {
			pr_cli_error("manage start-capture: --interface IF is required");
			return PR_EXIT_USAGE;
		}
		req.interface = (char *)(uintptr_t)m->interface;
		req.filter = (char *)(uintptr_t)(m->filter ? m->filter : "");
		req.backend = (char *)(uintptr_t)(m->backend ? m->backend : "");
		req.name = (char *)(uintptr_t)(m->name ? m->name : "");
		req.max_packets = m->max_packets;
		req.duration_s = m->duration_s;
		req.snaplen = (uint32_t)m->snaplen;
		ret = pr_grpc_client_unary(m->cl, SVC "StartCapture", &req.base,
					   &packetrecorder__v1__capture_status__descriptor, &resp,
					   &st);
	} else if (!strcmp(m->cmd, "stop-capture")) {
		Packetrecorder__V1__StopCaptureRequest req =
			PACKETRECORDER__V1__STOP_CAPTURE_REQUEST__INIT;

		req.capture_id = m->capture;
		ret = pr_grpc_client_unary(m->cl, SVC "StopCapture", &req.base,
					   &packetrecorder__v1__capture_status__descriptor, &resp,
					   &st);
	} else if (!strcmp(m->cmd, "status")) {
		Packetrecorder__V1__GetCaptureStatusRequest req =
			PACKETRECORDER__V1__GET_CAPTURE_STATUS_REQUEST__INIT;

		req.capture_id = m->capture;
		ret = pr_grpc_client_unary(
			m->cl, SVC "GetCaptureStatus", &req.base,
			&packetrecorder__v1__get_capture_status_response__descriptor, &resp, &st);
	} else {
		return PR_EXIT_FAIL;
	}
	if (!ret && resp)
		capture_show(m, resp);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return ret ? call_failed(m, m->cmd, ret, &st) : PR_EXIT_OK;
}

/* ---- events ---- */

struct events_out {
	struct manage *m;
	uint64_t seen;
};

static int event_cb(void *ctx, const ProtobufCMessage *msg)
{
	const Packetrecorder__V1__Event *e = (const void *)msg;
	struct events_out *o = ctx;
	struct pr_json j;

	if (o->m->cli.json) {
		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_u64(&j, "seq", e->seq);
		pr_json_kv_u64(&j, "ts", e->ts);
		pr_json_kv_str(&j, "type", e->type);
		pr_json_kv_i64(&j, "session_id", e->session_id);
		pr_json_key(&j, "data");
		pr_json_raw(&j, e->data_json[0] ? e->data_json : "{}");
		if (e->lost_before == UINT64_MAX)
			pr_json_kv_str(&j, "lost_before", "earlier_run");
		else
			pr_json_kv_u64(&j, "lost_before", e->lost_before);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		char ts[64];

		if (e->lost_before == UINT64_MAX)
			printf("(events of an earlier run of the daemon are gone)\n");
		else if (e->lost_before)
			printf("(%llu events lost)\n", (unsigned long long)e->lost_before);
		pr_cli_format_ts(e->ts, ts, sizeof(ts));
		printf("%llu  %s  %-16s session %lld  %s\n", (unsigned long long)e->seq, ts,
		       e->type, (long long)e->session_id, e->data_json);
	}
	fflush(stdout);
	return o->m->count && ++o->seen >= o->m->count;
}

static int cmd_events(struct manage *m)
{
	Packetrecorder__V1__StreamEventsRequest req =
		PACKETRECORDER__V1__STREAM_EVENTS_REQUEST__INIT;
	struct events_out o = { .m = m };
	struct pr_grpc_client_status st;
	char *list = NULL, *types[16], *save = NULL;
	size_t n = 0;
	int ret;

	if (m->types) {
		list = strdup(m->types);
		if (!list)
			return PR_EXIT_FAIL;
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (n == sizeof(types) / sizeof(types[0])) {
				pr_cli_error("--types: at most %zu types", n);
				free(list);
				return PR_EXIT_USAGE;
			}
			types[n++] = t;
		}
	}
	req.after_seq = m->after_seq;
	req.n_types = n;
	req.types = n ? types : NULL;
	ret = pr_grpc_client_stream(m->cl, SVC "StreamEvents", &req.base,
				    &packetrecorder__v1__event__descriptor, event_cb, &o, &st);
	free(list);
	/* --count reached: the client ended the stream. */
	if (ret == -ECANCELED && m->count && o.seen >= m->count)
		return PR_EXIT_OK;
	return ret ? call_failed(m, "StreamEvents", ret, &st) : PR_EXIT_OK;
}

/* ---- tap ---- */

struct tap_out {
	struct manage *m;
	FILE *f; /* -w: the pcap; NULL: lines on stdout */
	bool header; /* the pcap's header is written */
	uint32_t linktype; /* the pcap's */
	uint64_t seen, lost, other_link, bytes;
	int err; /* errno of a failed write */
};

static int tap_header(struct tap_out *o, uint32_t linktype)
{
	/* Nanosecond pcap: the daemon's timestamps are ns. */
	const uint32_t hdr[6] = { 0xa1b23c4d, 2 | (4u << 16), 0, 0, PR_TAP_MAX_SNAPLEN, linktype };

	o->linktype = linktype;
	o->header = true;
	if (fwrite(hdr, sizeof(hdr), 1, o->f) != 1)
		return errno ? errno : EIO;
	return 0;
}

static int tap_cb(void *ctx, const ProtobufCMessage *msg)
{
	const Packetrecorder__V1__TapPacket *p = (const void *)msg;
	struct tap_out *o = ctx;

	o->seen++;
	o->lost += p->lost_before;
	if (o->f) {
		uint32_t rec[4] = { (uint32_t)(p->ts / 1000000000u),
				    (uint32_t)(p->ts % 1000000000u), (uint32_t)p->data.len,
				    p->wire_len };

		if (!o->header && (o->err = tap_header(o, p->linktype)))
			return 1;
		if (p->linktype != o->linktype) {
			/* One link type per pcap file: the others are counted, not written. */
			o->other_link++;
		} else if (fwrite(rec, sizeof(rec), 1, o->f) != 1 ||
			   (p->data.len && fwrite(p->data.data, p->data.len, 1, o->f) != 1) ||
			   fflush(o->f)) {
			o->err = errno ? errno : EIO;
			return 1;
		}
		o->bytes += p->data.len;
	} else if (o->m->cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_u64(&j, "index", p->index);
		pr_json_kv_u64(&j, "ts", p->ts);
		pr_json_kv_u64(&j, "iface", p->iface);
		pr_json_kv_u64(&j, "linktype", p->linktype);
		pr_json_kv_u64(&j, "wire_len", p->wire_len);
		pr_json_kv_u64(&j, "cap_len", p->cap_len);
		pr_json_kv_u64(&j, "flow_id", p->flow_id);
		pr_json_kv_u64(&j, "lost_before", p->lost_before);
		pr_json_obj_end(&j);
		pr_json_end(&j);
		fflush(stdout);
	} else {
		char ts[64];

		if (p->lost_before)
			printf("(%llu packets not tapped: over the rate cap, or read too slowly)\n",
			       (unsigned long long)p->lost_before);
		pr_cli_format_ts(p->ts, ts, sizeof(ts));
		printf("%llu  %s  iface %u  %u bytes  flow %llu\n", (unsigned long long)p->index,
		       ts, p->iface, p->wire_len, (unsigned long long)p->flow_id);
		fflush(stdout);
	}
	return o->m->count && o->seen >= o->m->count;
}

static int cmd_tap(struct manage *m)
{
	Packetrecorder__V1__LiveTapRequest req = PACKETRECORDER__V1__LIVE_TAP_REQUEST__INIT;
	struct tap_out o = { .m = m };
	struct pr_grpc_client_status st;
	bool to_stdout = m->output && !strcmp(m->output, "-");
	int ret, rc = PR_EXIT_OK;

	if (m->snaplen > PR_TAP_MAX_SNAPLEN) {
		pr_cli_error("--snaplen: at most %u bytes for a tap", PR_TAP_MAX_SNAPLEN);
		return PR_EXIT_USAGE;
	}
	if (m->output) {
		o.f = to_stdout ? stdout : fopen(m->output, "w");
		if (!o.f) {
			pr_cli_error("-w %s: %s", m->output, strerror(errno));
			return PR_EXIT_FAIL;
		}
	}
	req.capture_id = m->capture;
	req.filter = (char *)(uintptr_t)(m->filter ? m->filter : "");
	req.max_packets_per_s = (uint32_t)m->max_pps;
	req.snaplen = (uint32_t)m->snaplen;
	ret = pr_grpc_client_stream(m->cl, SVC "LiveTap", &req.base,
				    &packetrecorder__v1__tap_packet__descriptor, tap_cb, &o, &st);
	/* --count reached: the client ended the stream. */
	if (ret == -ECANCELED && !o.err && m->count && o.seen >= m->count)
		ret = 0;
	if (o.f && !o.header && !o.err && !ret)
		/* Nothing tapped: still a valid (empty) pcap, as tcpdump leaves one. */
		o.err = tap_header(&o, 1);
	if (o.f && fflush(o.f) && !o.err)
		o.err = errno;
	if (o.f && !to_stdout && fclose(o.f) && !o.err)
		o.err = errno;
	if (o.err) {
		pr_cli_error("-w %s: %s", m->output, strerror(o.err));
		return PR_EXIT_FAIL;
	}
	if (ret)
		rc = call_failed(m, "LiveTap", ret, &st);
	if (m->cli.json && o.f) {
		struct pr_json j;

		pr_json_init(&j, to_stdout ? stderr : stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "output", m->output);
		pr_json_kv_u64(&j, "packets", o.seen - o.other_link);
		pr_json_kv_u64(&j, "bytes", o.bytes);
		pr_json_kv_u64(&j, "lost", o.lost);
		pr_json_kv_u64(&j, "other_link_type", o.other_link);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else if (!m->cli.json) {
		pr_cli_note(&m->cli,
			    "tap: %" PRIu64 " packets%s%s, %" PRIu64
			    " not tapped (over the rate cap or read too slowly)",
			    o.seen, o.f ? " to " : "", o.f ? m->output : "", o.lost);
		if (o.other_link)
			pr_cli_note(&m->cli,
				    "tap: %" PRIu64 " packets of another link type than the "
				    "first were not written (one link type per pcap file)",
				    o.other_link);
	}
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(struct manage *m);
} commands[] = {
	{ "sessions", cmd_sessions },
	{ "session", cmd_session },
	{ "flows", cmd_flows },
	{ "query", cmd_query },
	{ "download-pcap", cmd_download },
	{ "delete-session", cmd_delete },
	{ "stats", cmd_stats },
	{ "health", cmd_health },
	{ "list-interfaces", cmd_ifaces },
	{ "start-capture", cmd_capture },
	{ "stop-capture", cmd_capture },
	{ "status", cmd_capture },
	{ "start-replay", cmd_replay },
	{ "stop-replay", cmd_replay },
	{ "events", cmd_events },
	{ "tap", cmd_tap },
};

static int read_key_file(struct manage *m)
{
	char buf[1024];
	FILE *f = fopen(m->api_key_file, "r");
	size_t n;

	if (!f) {
		pr_cli_error("--api-key-file %s: %s", m->api_key_file, strerror(errno));
		return PR_EXIT_USAGE;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0]) {
		pr_cli_error("--api-key-file %s: the first line is empty", m->api_key_file);
		return PR_EXIT_USAGE;
	}
	free(m->api_key);
	m->api_key = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return m->api_key ? 0 : PR_EXIT_FAIL;
}

static int parse_opts(struct manage *m, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "api-key", required_argument, NULL, O_API_KEY },
		{ "api-key-file", required_argument, NULL, O_API_KEY_FILE },
		{ "tls", no_argument, NULL, O_TLS },
		{ "tls-ca", required_argument, NULL, O_TLS_CA },
		{ "tls-cert", required_argument, NULL, O_TLS_CERT },
		{ "tls-key", required_argument, NULL, O_TLS_KEY },
		{ "tls-server-name", required_argument, NULL, O_TLS_NAME },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "session-id", required_argument, NULL, O_SESSION },
		{ "session", required_argument, NULL, O_SESSION },
		{ "capture-id", required_argument, NULL, O_CAPTURE },
		{ "replay-id", required_argument, NULL, O_REPLAY },
		{ "speed", required_argument, NULL, O_SPEED },
		{ "pps", required_argument, NULL, O_PPS },
		{ "mbps", required_argument, NULL, O_MBPS },
		{ "loop", required_argument, NULL, O_LOOP },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "filter", required_argument, NULL, O_FILTER },
		{ "where", required_argument, NULL, O_WHERE },
		{ "interface", required_argument, NULL, O_INTERFACE },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "name", required_argument, NULL, O_NAME },
		{ "max-packets", required_argument, NULL, O_MAX_PACKETS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "snaplen", required_argument, NULL, O_SNAPLEN },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "chunk-bytes", required_argument, NULL, O_CHUNK },
		{ "show-data", no_argument, NULL, O_SHOW_DATA },
		{ "yes", no_argument, NULL, O_YES },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
		{ "types", required_argument, NULL, O_TYPES },
		{ "after-seq", required_argument, NULL, O_AFTER_SEQ },
		{ "count", required_argument, NULL, O_COUNT },
		{ "max-pps", required_argument, NULL, O_MAX_PPS },
		{ "write", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, PR_OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		PR_CLI_RANGE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	double t;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "e:o:w:f:n:S:qxyh", longopts, NULL)) != -1) {
		switch (opt) {
		case PR_OPT_JSON:
		case 'q':
		case PR_OPT_FROM:
		case PR_OPT_TO:
		case PR_OPT_FLOW:
			ret = pr_cli_common_opt(&m->cli, opt, optarg);
			if (ret < 0)
				return -ret;
			break;
		case 'e':
			m->cc.endpoint = optarg;
			break;
		case O_API_KEY:
			free(m->api_key);
			m->api_key = strdup(optarg);
			/* As --encryption-key: out of ps at once. */
			memset(optarg, 'x', strlen(optarg));
			if (!m->api_key)
				return PR_EXIT_FAIL;
			break;
		case O_API_KEY_FILE:
			m->api_key_file = optarg;
			break;
		case O_TLS:
			m->cc.tls = true;
			break;
		case O_TLS_CA:
			m->cc.tls_ca_file = optarg;
			break;
		case O_TLS_CERT:
			m->cc.tls_cert_file = optarg;
			break;
		case O_TLS_KEY:
			m->cc.tls_key_file = optarg;
			break;
		case O_TLS_NAME:
			m->cc.tls_server_name = optarg;
			break;
		case O_TIMEOUT:
			if (pr_cli_parse_double("--timeout", optarg, &t))
				return PR_EXIT_USAGE;
			m->cc.timeout_ms = (unsigned)(t * 1000);
			break;
		case 'S':
		case O_SESSION:
			if (pr_cli_parse_session(optarg, &m->session))
				return PR_EXIT_USAGE;
			break;
		case O_CAPTURE:
			if (pr_cli_parse_u64("--capture-id", optarg, &v))
				return PR_EXIT_USAGE;
			m->capture = (int64_t)v;
			break;
		case O_REPLAY:
			if (pr_cli_parse_u64("--replay-id", optarg, &v))
				return PR_EXIT_USAGE;
			m->replay = (int64_t)v;
			break;
		case O_SPEED:
			if (pr_cli_parse_double("--speed", optarg, &m->speed))
				return PR_EXIT_USAGE;
			break;
		case O_PPS:
			if (pr_cli_parse_u64("--pps", optarg, &m->pps))
				return PR_EXIT_USAGE;
			break;
		case O_MBPS: {
			char *end;

			errno = 0;
			m->mbps = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(m->mbps > 0) ||
			    !isfinite(m->mbps)) {
				pr_cli_error("--mbps: \"%s\" is not a number above 0", optarg);
				return PR_EXIT_USAGE;
			}
			break;
		}
		case O_LOOP:
			if (pr_cli_parse_u64("--loop", optarg, &m->loop))
				return PR_EXIT_USAGE;
			break;
		case 'o':
		case 'w':
		case O_OUTPUT:
			if (pr_cli_check_str("--output", optarg, PATH_MAX, false))
				return PR_EXIT_USAGE;
			m->output = optarg;
			break;
		case O_FORMAT:
			m->format = optarg;
			break;
		case 'f':
		case O_FILTER:
			m->filter = optarg;
			break;
		case O_WHERE:
			m->where = optarg;
			break;
		case O_INTERFACE:
			m->interface = optarg;
			break;
		case O_BACKEND:
			m->backend = optarg;
			break;
		case O_NAME:
			m->name = optarg;
			break;
		case O_MAX_PACKETS:
			if (pr_cli_parse_u64("--max-packets", optarg, &m->max_packets))
				return PR_EXIT_USAGE;
			break;
		case O_DURATION:
			if (pr_cli_parse_u64("--duration", optarg, &m->duration_s))
				return PR_EXIT_USAGE;
			break;
		case O_SNAPLEN:
			if (pr_cli_parse_u64("--snaplen", optarg, &m->snaplen) ||
			    m->snaplen > UINT32_MAX) {
				pr_cli_error("--snaplen: a number of bytes");
				return PR_EXIT_USAGE;
			}
			break;
		case 'n':
		case O_LIMIT:
			if (pr_cli_parse_u64("--limit", optarg, &m->limit))
				return PR_EXIT_USAGE;
			break;
		case O_CHUNK:
			if (pr_cli_parse_size("--chunk-bytes", optarg, &m->chunk))
				return PR_EXIT_USAGE;
			break;
		case 'x':
		case O_SHOW_DATA:
			m->show_data = true;
			break;
		case 'y':
		case O_YES:
			m->yes = true;
			break;
		case O_PROGRESS:
			m->progress = 1;
			break;
		case O_NO_PROGRESS:
			m->progress = 0;
			break;
		case O_TYPES:
			if (pr_cli_check_str("--types", optarg, 1024, false))
				return PR_EXIT_USAGE;
			m->types = optarg;
			break;
		case O_AFTER_SEQ:
			if (pr_cli_parse_u64("--after-seq", optarg, &m->after_seq))
				return PR_EXIT_USAGE;
			break;
		case O_COUNT:
			if (pr_cli_parse_u64("--count", optarg, &m->count))
				return PR_EXIT_USAGE;
			break;
		case O_MAX_PPS:
			if (pr_cli_parse_u64("--max-pps", optarg, &m->max_pps) ||
			    m->max_pps > UINT32_MAX) {
				pr_cli_error("--max-pps: a number of packets per second");
				return PR_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return PR_EXIT_OK;
		default:
			return pr_cli_usage_error(&m->cli);
		}
	}
	return -1;
}

int pr_cmd_manage(int argc, char **argv)
{
	struct manage m = { .progress = -1, .speed = -1 };
	const char *env;
	char err[1024];
	int rc, ret;

	pr_cli_init(&m.cli, "manage");
	rc = parse_opts(&m, argc, argv);
	if (rc >= 0)
		goto out;
	if (optind >= argc) {
		pr_cli_error("manage: which command? (sessions, query, download-pcap, ...)");
		rc = pr_cli_usage_error(&m.cli);
		goto out;
	}
	m.cmd = argv[optind];
	if (optind + 1 < argc) {
		pr_cli_error("manage: unexpected argument \"%s\"", argv[optind + 1]);
		rc = pr_cli_usage_error(&m.cli);
		goto out;
	}
	if (!m.cc.endpoint) {
		pr_cli_error("manage: --endpoint HOST:PORT is required");
		rc = pr_cli_usage_error(&m.cli);
		goto out;
	}
	if (m.api_key_file && (rc = read_key_file(&m)))
		goto out;
	if (!m.api_key && (env = getenv("PACKETRECORDER_API_KEY")) && env[0] &&
	    !(m.api_key = strdup(env))) {
		rc = PR_EXIT_FAIL;
		goto out;
	}
	m.cc.api_key = m.api_key;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(m.cmd, commands[i].name))
			continue;
		ret = pr_grpc_client_create(&m.cc, &m.cl, err, sizeof(err));
		if (ret) {
			pr_cli_error("manage: %s", err);
			rc = ret == -EINVAL ? PR_EXIT_USAGE : PR_EXIT_FAIL;
			goto out;
		}
		rc = commands[i].fn(&m);
		goto out;
	}
	pr_cli_error("manage: unknown command \"%s\"", m.cmd);
	rc = pr_cli_usage_error(&m.cli);
out:
	pr_grpc_client_destroy(m.cl);
	if (m.api_key) {
		explicit_bzero(m.api_key, strlen(m.api_key));
		free(m.api_key);
	}
	pr_cli_fini(&m.cli);
	return rc;
}
