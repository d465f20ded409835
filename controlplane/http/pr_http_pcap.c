// SPDX-License-Identifier: Apache-2.0
/*
 * GET /api/v1/sessions/{id}/pcap: a session's packets as a pcap or
 * pcapng file, made piece by piece by the query engine's capture-file
 * cursor (the one gRPC DownloadPcap uses) while libmicrohttpd sends it.
 * The content reader asks for the next piece only when the last one is
 * gone, so a download of any size holds one piece in memory, and a slow
 * client slows the reading of the store instead of filling memory. The
 * cursor keeps one store connection of the pool for the whole download,
 * on the connection's thread. Everything the client can get wrong (the
 * session, the filter, the range, the format) is answered before the
 * first byte; a store that fails in the middle cuts the transfer (no
 * last chunk), so a partial file never looks whole.
 */
#define _GNU_SOURCE
#include "pr_http_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PR_LOG_MODULE "http"
#include "pr_log.h"
#include "pr_query.h"

/* Bytes the cursor produces per piece. */
#define PIECE_BYTES (256 * 1024)

struct pcap_dl {
	struct pr_http_server *srv;
	struct pr_store *st;
	struct pr_query_pcap *pc;
	uint8_t *buf;
	size_t len, off, cap;
	bool done;
	bool failed;
};

static int piece_cb(void *ctx, const uint8_t *data, size_t len)
{
	struct pcap_dl *dl = ctx;

	if (dl->len + len > dl->cap) {
		size_t cap = dl->cap ? dl->cap : PIECE_BYTES;
		uint8_t *nb;

		while (cap < dl->len + len)
			cap *= 2;
		nb = realloc(dl->buf, cap);
		if (!nb)
			return -ENOMEM;
		dl->buf = nb;
		dl->cap = cap;
	}
	memcpy(dl->buf + dl->len, data, len);
	dl->len += len;
	return 0;
}

static ssize_t pcap_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct pcap_dl *dl = cls;
	size_t n;

	(void)pos;
	while (dl->off == dl->len) {
		struct pr_query_err qe;
		int rc;

		if (dl->failed)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (dl->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		dl->len = dl->off = 0;
		rc = pr_query_pcap_next(dl->pc, PIECE_BYTES, piece_cb, dl, &qe);
		if (rc < 0) {
			PR_WARN("pcap download cut: %s", qe.msg);
			dl->failed = true;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (rc == 0)
			dl->done = true;
	}
	n = dl->len - dl->off < max ? dl->len - dl->off : max;
	memcpy(out, dl->buf + dl->off, n);
	dl->off += n;
	return (ssize_t)n;
}

static void pcap_free(void *cls)
{
	struct pcap_dl *dl = cls;

	pr_query_pcap_close(dl->pc);
	pr_store_pool_put(dl->srv->cfg.pool, dl->st);
	free(dl->buf);
	free(dl);
}

enum MHD_Result pr_http_api_pcap(struct pr_http_req *r)
{
	struct pr_query_pcap_req req = { .format = PR_QUERY_PCAP };
	const char *format = pr_http_arg(r, "format");
	struct MHD_Response *resp;
	struct pr_query_err qe;
	enum MHD_Result ret = MHD_NO;
	struct pcap_dl *dl;
	char disp[96], comment[2048];
	bool given;
	int err;

	if (format && !strcmp(format, "pcapng"))
		req.format = PR_QUERY_PCAPNG;
	else if (format && strcmp(format, "pcap"))
		return pr_http_resp_error(r, 400, "format: \"%.32s\" is not pcap or pcapng",
					  format);
	req.pkts.session = r->id;
	req.pkts.filter = pr_http_arg(r, "filter");
	if (pr_http_arg_time(r, "from", &req.pkts.from_ns, &ret) ||
	    pr_http_arg_time(r, "to", &req.pkts.to_ns, &ret) ||
	    pr_http_arg_u64(r, "flow", &req.pkts.flow_id, &req.pkts.has_flow, &ret) ||
	    pr_http_arg_u64(r, "limit", &req.pkts.limit, &given, &ret))
		return ret;
	dl = calloc(1, sizeof(*dl));
	if (!dl)
		return MHD_NO;
	dl->srv = r->srv;
	if (!(dl->st = pr_http_store_get(r, &ret))) {
		free(dl);
		return ret;
	}
	/*
	 * pcapng carries the session in its section comment, as gRPC's
	 * DownloadPcap writes it (export adds its completeness summary).
	 */
	if (req.format == PR_QUERY_PCAPNG) {
		struct pr_session_info si;

		err = pr_query_session_get(dl->st, r->id, &si, &qe);
		if (err) {
			pr_store_pool_put(r->srv->cfg.pool, dl->st);
			free(dl);
			return pr_http_resp_error(r, pr_http_query_status(err), "%s", qe.msg);
		}
		snprintf(comment, sizeof(comment),
			 "packetrecorder session %lld \"%s\" from %s %s%s%s", (long long)si.id,
			 si.name, si.source_kind, si.source,
			 si.filter[0] ? "; capture filter " : "", si.filter);
		req.comment = comment;
	}
	err = pr_query_pcap_open(dl->st, &req, &dl->pc, &qe);
	if (err) {
		pr_store_pool_put(r->srv->cfg.pool, dl->st);
		free(dl);
		return pr_http_resp_error(r, pr_http_query_status(err), "%s", qe.msg);
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, PIECE_BYTES, pcap_read, dl,
						 pcap_free);
	if (!resp) {
		pcap_free(dl);
		return MHD_NO;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"session-%" PRId64 ".%s\"", r->id,
		 req.format == PR_QUERY_PCAPNG ? "pcapng" : "pcap");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				req.format == PR_QUERY_PCAPNG ? "application/x-pcapng" :
								"application/vnd.tcpdump.pcap");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	return pr_http_resp_queue(r, 200, resp);
}
