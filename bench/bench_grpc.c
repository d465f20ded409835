// SPDX-License-Identifier: Apache-2.0
/*
 * The client side of bench/bench_grpc.py, on the gRPC C core through
 * controlplane/grpc/pr_grpc_client.h (no grpc_* call here):
 *
 *   bench_grpc unary ENDPOINT METHOD SESSION INFLIGHT SECONDS
 *       call GetSession(SESSION) or Health over and over for SECONDS with
 *       INFLIGHT calls outstanding; prints "calls failed seconds cpu_s"
 *   bench_grpc download ENDPOINT SESSION CHUNK_BYTES [OUTPUT]
 *       DownloadPcap(SESSION) in pcap, chunks dropped (or written to
 *       OUTPUT); prints "bytes packets seconds cpu_s"
 *
 * The API key comes from $PACKETRECORDER_API_KEY. cpu_s is this
 * process's user + system time over the measured part.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "packetrecorder.pb-c.h"
#include "pr_grpc_client.h"

#define SVC "/packetrecorder.v1.PacketRecorder/"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct dl {
	FILE *out;
	uint64_t bytes, packets, expect;
	int err;
};

static int chunk_cb(void *ctx, const ProtobufCMessage *m)
{
	const Packetrecorder__V1__PcapChunk *c = (const void *)m;
	struct dl *d = ctx;

	if (c->offset != d->expect) {
		d->err = EPROTO;
		return 1;
	}
	if (d->out && fwrite(c->data.data, 1, c->data.len, d->out) != c->data.len) {
		d->err = errno;
		return 1;
	}
	d->expect += c->data.len;
	d->bytes += c->data.len;
	d->packets = c->packets;
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: bench_grpc unary ENDPOINT GetSession|Health SESSION INFLIGHT SECONDS\n"
		"       bench_grpc download ENDPOINT SESSION CHUNK_BYTES [OUTPUT]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct pr_grpc_client_cfg cc = { .api_key = getenv("PACKETRECORDER_API_KEY") };
	struct pr_grpc_client_status st = { .name = NULL };
	struct pr_grpc_client *cl;
	char err[512];
	int ret;

	if (argc < 5)
		return usage();
	/* As manage does for downloads: see pr_cmd_manage.c. */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	cc.endpoint = argv[2];
	ret = pr_grpc_client_create(&cc, &cl, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "bench_grpc: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[1], "unary") && argc == 7) {
		Packetrecorder__V1__GetSessionRequest gs =
			PACKETRECORDER__V1__GET_SESSION_REQUEST__INIT;
		Packetrecorder__V1__HealthRequest h = PACKETRECORDER__V1__HEALTH_REQUEST__INIT;
		bool health = !strcmp(argv[3], "Health");
		struct pr_grpc_client_load res;

		gs.session_id = strtoll(argv[4], NULL, 10);
		ret = pr_grpc_client_load(cl, health ? SVC "Health" : SVC "GetSession",
					  health ? &h.base : &gs.base, (unsigned)atoi(argv[5]),
					  atof(argv[6]), &res);
		if (!ret)
			printf("%llu %llu %.6f %.6f\n", (unsigned long long)res.calls,
			       (unsigned long long)res.failed, res.seconds, res.cpu_seconds);
	} else if (!strcmp(argv[1], "download")) {
		Packetrecorder__V1__DownloadPcapRequest req =
			PACKETRECORDER__V1__DOWNLOAD_PCAP_REQUEST__INIT;
		struct dl d = { .out = NULL };
		double t0, c0;

		req.session_id = strtoll(argv[3], NULL, 10);
		req.chunk_bytes = (uint32_t)strtoul(argv[4], NULL, 10);
		if (argc > 5 && !(d.out = fopen(argv[5], "w"))) {
			fprintf(stderr, "bench_grpc: %s: %s\n", argv[5], strerror(errno));
			return 1;
		}
		t0 = now_s();
		c0 = cpu_s();
		ret = pr_grpc_client_stream(cl, SVC "DownloadPcap", &req.base,
					    &packetrecorder__v1__pcap_chunk__descriptor, chunk_cb,
					    &d, &st);
		if (!ret && d.err)
			ret = -d.err;
		if (!ret)
			printf("%llu %llu %.6f %.6f\n", (unsigned long long)d.bytes,
			       (unsigned long long)d.packets, now_s() - t0, cpu_s() - c0);
		if (d.out)
			fclose(d.out);
	} else {
		pr_grpc_client_destroy(cl);
		return usage();
	}
	if (ret)
		fprintf(stderr, "bench_grpc: %s %s\n", st.name ? st.name : strerror(-ret), st.msg);
	pr_grpc_client_destroy(cl);
	return ret ? 1 : 0;
}
