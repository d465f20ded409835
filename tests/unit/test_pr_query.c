// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the query engine (controlplane/query/): on a store written
 * here (a session with an Ethernet and a raw-IP interface, TCP and UDP
 * flows; a second one on Ethernet only), the packet cursor returns exactly
 * the packets a BPF filter, a time range, a flow id and a limit select,
 * with their session indexes and link types; flows are filtered by range,
 * id and limit, by callback and by cursor; the capture-file stream gives
 * whole pcap and pcapng files in pieces (and refuses pcap for mixed link
 * types); a missing session is -ENOENT, a bad filter or an empty range
 * -EINVAL, each with a message; the engine writes nothing on stdout or
 * stderr; and the store pool lends each reader to one user, reuses it,
 * closes flushed ones when they come back, and refuses past its limit and
 * with a wrong key. The group setup writes the store in a temporary
 * directory that teardown removes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_query.h"
#include "pr_store.h"
#include "pr_store_pool.h"

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define NPKTS 100u
#define T0 1700000000000000000ull

static struct {
	char dir[256];
	char db[300];
	int64_t sid;
	int64_t eth_sid; /* a second session: 10 packets, Ethernet only */
	struct pr_store *st;
} fx;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * Packet i: on iface 0 (Ethernet) for even i, iface 1 (raw IPv4) for odd;
 * flow 1 (TCP 10.0.0.1:1000 -> 10.0.0.2:80) when i % 4 < 2, else flow 2
 * (UDP 10.0.0.3:2000 -> 10.0.0.4:53); timestamp T0 + i ms.
 */
static size_t make_pkt(unsigned i, uint8_t *buf, struct pr_block_pkt *p)
{
	bool eth = !(i & 1), tcp = i % 4 < 2;
	uint8_t *ip = buf + (eth ? 14 : 0);
	size_t l4 = tcp ? 20 : 8, len = (eth ? 14 : 0) + 20 + l4;

	memset(buf, 0, 128);
	if (eth) {
		memset(buf, 0xaa, 12);
		buf[12] = 0x08;
	}
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + l4);
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	ip[12] = 10;
	ip[15] = tcp ? 1 : 3;
	ip[16] = 10;
	ip[19] = tcp ? 2 : 4;
	if (tcp) {
		ip[20] = 1000 >> 8;
		ip[21] = 1000 & 0xff;
		ip[23] = 80;
		ip[32] = 0x50;
	} else {
		ip[20] = 2000 >> 8;
		ip[21] = 2000 & 0xff;
		ip[23] = 53;
	}
	*p = (struct pr_block_pkt){
		.ts_ns = T0 + i * 1000000ull,
		.flow_id = tcp ? 1 : 2,
		.cap_len = (uint32_t)len,
		.wire_len = (uint32_t)len,
		.iface = eth ? 0 : 1,
		.data = buf,
	};
	return len;
}

static int group_setup(void **state)
{
	struct pr_store_cfg cfg = { .key = KEY, .create = true, .block_max_packets = 8 };
	struct pr_session_info si = { .snaplen = 65535 };
	struct pr_store_iface eth = { .index = 0, .linktype = 1, .snaplen = 65535, .tsresol = 9 };
	struct pr_store_iface raw = { .index = 1, .linktype = 101, .snaplen = 65535, .tsresol = 9 };
	struct pr_store_flow f1 = { .flow_id = 1,
				    .ip_version = 4,
				    .ip_proto = 6,
				    .src_port = 1000,
				    .dst_port = 80,
				    .iface = 0 };
	struct pr_store_flow f2 = { .flow_id = 2,
				    .ip_version = 4,
				    .ip_proto = 17,
				    .src_port = 2000,
				    .dst_port = 53,
				    .iface = 0 };
	uint8_t buf[128];
	struct pr_block_pkt p;

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_pr_query.XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.db, sizeof(fx.db), "%s/q.db", fx.dir);
	cfg.path = fx.db;
	snprintf(si.name, sizeof(si.name), "unit");
	snprintf(si.source, sizeof(si.source), "test");
	snprintf(si.source_kind, sizeof(si.source_kind), "file");
	if (pr_store_open(&cfg, &fx.st) || pr_store_session_begin(fx.st, &si, &fx.sid) ||
	    pr_store_session_add_iface(fx.st, fx.sid, &eth) ||
	    pr_store_session_add_iface(fx.st, fx.sid, &raw))
		return -1;
	for (unsigned i = 0; i < NPKTS; i++) {
		make_pkt(i, buf, &p);
		if (pr_store_add_packet(fx.st, fx.sid, &p))
			return -1;
	}
	f1.src_ip[0] = 10, f1.src_ip[3] = 1, f1.dst_ip[0] = 10, f1.dst_ip[3] = 2;
	f2.src_ip[0] = 10, f2.src_ip[3] = 3, f2.dst_ip[0] = 10, f2.dst_ip[3] = 4;
	f1.first_ts_ns = T0, f1.last_ts_ns = T0 + 97 * 1000000ull;
	f2.first_ts_ns = T0 + 2 * 1000000ull, f2.last_ts_ns = T0 + 99 * 1000000ull;
	f1.packets[0] = f2.packets[0] = NPKTS / 2;
	if (pr_store_add_flow(fx.st, fx.sid, &f1) || pr_store_add_flow(fx.st, fx.sid, &f2) ||
	    pr_store_session_end(fx.st, fx.sid, PR_SESSION_COMPLETED, "end of file"))
		return -1;
	eth.tsresol = 6;
	if (pr_store_session_begin(fx.st, &si, &fx.eth_sid) ||
	    pr_store_session_add_iface(fx.st, fx.eth_sid, &eth))
		return -1;
	for (unsigned i = 0; i < 10; i++) {
		make_pkt(2 * i, buf, &p);
		if (pr_store_add_packet(fx.st, fx.eth_sid, &p))
			return -1;
	}
	if (pr_store_session_end(fx.st, fx.eth_sid, PR_SESSION_COMPLETED, "end of file"))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	pr_store_close(fx.st);
	return nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Read every packet of req; fills idx with their indexes. Returns the count or the error. */
static int read_all(const struct pr_query_pkts_req *req, uint64_t *idx, size_t max,
		    struct pr_query_err *err)
{
	struct pr_query_pkts *q;
	struct pr_query_pkt p;
	int n = 0, ret;

	ret = pr_query_pkts_open(fx.st, req, &q, err);
	if (ret)
		return ret;
	while ((ret = pr_query_pkts_next(q, &p, err)) == 1) {
		uint8_t want[128];
		struct pr_block_pkt w;
		size_t len = make_pkt((unsigned)p.index, want, &w);

		/* The packet is the one stored at that index, with its link type. */
		assert_int_equal(p.pkt.cap_len, len);
		assert_memory_equal(p.pkt.data, want, len);
		assert_int_equal(p.pkt.ts_ns, w.ts_ns);
		assert_int_equal(p.linktype, p.pkt.iface == 0 ? 1 : 101);
		if ((size_t)n < max)
			idx[n] = p.index;
		n++;
	}
	pr_query_pkts_close(q);
	return ret < 0 ? ret : n;
}

static void test_all_packets(void **state)
{
	struct pr_query_pkts_req req = { .session = fx.sid };
	struct pr_query_err err;
	uint64_t idx[NPKTS];

	(void)state;
	assert_int_equal(read_all(&req, idx, NPKTS, &err), NPKTS);
	for (unsigned i = 0; i < NPKTS; i++)
		assert_int_equal(idx[i], i);
}

static void test_filter(void **state)
{
	struct pr_query_pkts_req req = { .session = fx.sid, .filter = "udp and port 53" };
	struct pr_query_err err;
	uint64_t idx[NPKTS];
	int n;

	(void)state;
	/* Compiled per link type: both interfaces' UDP packets match. */
	n = read_all(&req, idx, NPKTS, &err);
	assert_int_equal(n, NPKTS / 2);
	for (int i = 0; i < n; i++)
		assert_true(idx[i] % 4 >= 2);
	/* "ether host" cannot compile for raw IP: an error naming that interface. */
	req.filter = "ether host aa:aa:aa:aa:aa:aa and tcp";
	assert_int_equal(read_all(&req, idx, NPKTS, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "for interface 1 (link type 101)"));
}

static void test_range_flow_limit(void **state)
{
	struct pr_query_pkts_req req = {
		.session = fx.sid,
		.from_ns = T0 + 10 * 1000000ull,
		.to_ns = T0 + 19 * 1000000ull,
	};
	struct pr_query_err err;
	uint64_t idx[NPKTS];
	int n;

	(void)state;
	n = read_all(&req, idx, NPKTS, &err);
	assert_int_equal(n, 10);
	assert_int_equal(idx[0], 10);
	assert_int_equal(idx[9], 19);
	req.has_flow = true;
	req.flow_id = 2;
	n = read_all(&req, idx, NPKTS, &err);
	assert_int_equal(n, 6); /* 10 11 14 15 18 19 */
	for (int i = 0; i < n; i++)
		assert_true(idx[i] % 4 >= 2 && idx[i] >= 10 && idx[i] <= 19);
	req = (struct pr_query_pkts_req){ .session = fx.sid, .filter = "tcp", .limit = 7 };
	n = read_all(&req, idx, NPKTS, &err);
	assert_int_equal(n, 7);
	assert_int_equal(idx[6], 12); /* 0 1 4 5 8 9 12 */
}

static void test_errors(void **state)
{
	struct pr_query_pkts_req req = { .session = fx.sid + 100 };
	struct pr_query_pkts *q = (struct pr_query_pkts *)&req;
	struct pr_query_err err = { .field = NULL };
	struct pr_session_info si;

	(void)state;
	assert_int_equal(pr_query_pkts_open(fx.st, &req, &q, &err), -ENOENT);
	assert_null(q);
	assert_non_null(strstr(err.msg, "no session"));
	assert_int_equal(pr_query_session_get(fx.st, fx.sid + 100, &si, &err), -ENOENT);
	req.session = fx.sid;
	req.filter = "port banana and";
	assert_int_equal(pr_query_pkts_open(fx.st, &req, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad filter expression \"port banana and\""));
	assert_string_equal(err.field, PR_QUERY_FIELD_FILTER);
	assert_int_equal(pr_query_filter_check("tcp", &err), 0);
	assert_int_equal(pr_query_filter_check("tcp and", &err), -EINVAL);
	req.filter = NULL;
	req.from_ns = 5;
	req.to_ns = 4;
	assert_int_equal(pr_query_pkts_open(fx.st, &req, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "from is after to"));
	assert_string_equal(err.field, PR_QUERY_FIELD_RANGE);
}

struct flow_acc {
	uint64_t ids[8];
	int n;
};

static int flow_cb(void *ctx, const struct pr_store_flow *f)
{
	struct flow_acc *a = ctx;

	if (a->n < 8)
		a->ids[a->n] = f->flow_id;
	a->n++;
	return 0;
}

static int stop_cb(void *ctx, const struct pr_store_flow *f)
{
	(void)f;
	(*(int *)ctx)++;
	return 7;
}

static void test_flows(void **state)
{
	struct pr_query_flows_req req = { .session = fx.sid };
	struct pr_query_err err;
	struct flow_acc a = { { 0 }, 0 };
	int calls = 0;

	(void)state;
	assert_int_equal(pr_query_flows(fx.st, &req, flow_cb, &a, &err), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.ids[0], 1);
	assert_int_equal(a.ids[1], 2);
	a.n = 0;
	req.to_ns = T0 + 1; /* flow 2 starts later */
	assert_int_equal(pr_query_flows(fx.st, &req, flow_cb, &a, &err), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ids[0], 1);
	a.n = 0;
	req = (struct pr_query_flows_req){ .session = fx.sid, .from_ns = T0 + 98 * 1000000ull };
	assert_int_equal(pr_query_flows(fx.st, &req, flow_cb, &a, &err), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ids[0], 2);
	a.n = 0;
	req = (struct pr_query_flows_req){ .session = fx.sid, .limit = 1 };
	assert_int_equal(pr_query_flows(fx.st, &req, flow_cb, &a, &err), 0);
	assert_int_equal(a.n, 1);
	a.n = 0;
	req = (struct pr_query_flows_req){ .session = fx.sid, .has_flow = true, .flow_id = 2 };
	assert_int_equal(pr_query_flows(fx.st, &req, flow_cb, &a, &err), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ids[0], 2);
	/* A callback's non-zero return stops the walk and comes back. */
	req = (struct pr_query_flows_req){ .session = fx.sid };
	assert_int_equal(pr_query_flows(fx.st, &req, stop_cb, &calls, &err), 7);
	assert_int_equal(calls, 1);
	req.session = fx.sid + 100;
	assert_int_equal(pr_query_flows(fx.st, &req, flow_cb, &a, &err), -ENOENT);
}

static int session_cb(void *ctx, const struct pr_session_info *s)
{
	*(int64_t *)ctx = s->id;
	return 0;
}

/* The engine prints nothing: stdout and stderr stay empty across every call. */
static void test_silent(void **state)
{
	struct pr_query_pkts_req req = { .session = fx.sid, .filter = "tcp and" };
	struct pr_query_pkts *q;
	struct pr_query_err err;
	char path[320];
	int saved[2], fd;
	int64_t last = 0;
	struct stat sb;

	(void)state;
	snprintf(path, sizeof(path), "%s/out", fx.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved[0] = dup(1);
	saved[1] = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	pr_query_pkts_open(fx.st, &req, &q, &err);
	req.filter = NULL;
	req.session = 999;
	pr_query_pkts_open(fx.st, &req, &q, &err);
	pr_query_sessions(fx.st, session_cb, &last, &err);
	fflush(stdout);
	fflush(stderr);
	dup2(saved[0], 1);
	dup2(saved[1], 2);
	close(saved[0]);
	close(saved[1]);
	close(fd);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(last, fx.eth_sid);
}

static void test_flows_cursor(void **state)
{
	struct pr_query_flows_req req = { .session = fx.sid, .limit = 1 };
	struct pr_query_flows *q;
	struct pr_query_err err;
	struct pr_store_flow f;

	(void)state;
	assert_int_equal(pr_query_flows_open(fx.st, &req, &q, &err), 0);
	assert_int_equal(pr_query_flows_next(q, &f, &err), 1);
	assert_int_equal(f.flow_id, 1);
	assert_int_equal(f.ip_proto, 6);
	assert_int_equal(pr_query_flows_next(q, &f, &err), 0);
	pr_query_flows_close(q);
	req = (struct pr_query_flows_req){ .session = fx.sid + 100 };
	assert_int_equal(pr_query_flows_open(fx.st, &req, &q, &err), -ENOENT);
}

struct bytes {
	uint8_t *p;
	size_t len;
	unsigned pieces;
};

static int bytes_cb(void *ctx, const uint8_t *data, size_t len)
{
	struct bytes *b = ctx;

	b->p = realloc(b->p, b->len + len);
	assert_non_null(b->p);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

/* The whole file, asking for pieces of piece bytes; counts the calls that delivered. */
static int pcap_all(const struct pr_query_pcap_req *req, size_t piece, struct bytes *b,
		    uint64_t *packets)
{
	struct pr_query_pcap *pc;
	struct pr_query_err err;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = pr_query_pcap_open(fx.st, req, &pc, &err);
	if (ret)
		return ret;
	do {
		size_t before = b->len;

		ret = pr_query_pcap_next(pc, piece, bytes_cb, b, &err);
		b->pieces += b->len > before;
	} while (ret == 1);
	*packets = pr_query_pcap_packets(pc);
	assert_int_equal(pr_query_pcap_bytes(pc), b->len);
	pr_query_pcap_close(pc);
	return ret;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_pcap_stream(void **state)
{
	struct pr_query_pcap_req req = { .pkts = { .session = fx.sid }, .format = PR_QUERY_PCAP };
	struct pr_query_pcap *pc;
	struct pr_query_err err;
	struct bytes b;
	uint64_t packets;
	size_t off, n = 0;

	(void)state;
	/* pcap holds one link type: this session has two. */
	assert_int_equal(pr_query_pcap_open(fx.st, &req, &pc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "use pcapng"));
	assert_string_equal(err.field, PR_QUERY_FIELD_FORMAT);

	/* pcapng in small pieces: every packet once, in blocks that chain. */
	req.format = PR_QUERY_PCAPNG;
	assert_int_equal(pcap_all(&req, 1024, &b, &packets), 0);
	assert_int_equal(packets, NPKTS);
	assert_true(b.pieces > 3);
	assert_int_equal(get32(b.p), 0x0a0d0d0a);
	for (off = 0; off + 12 <= b.len; off += get32(b.p + off + 4))
		n += get32(b.p + off) == 6; /* enhanced packet blocks */
	assert_int_equal(off, b.len);
	assert_int_equal(n, NPKTS);
	free(b.p);

	/* A filter and a limit, as QueryPackets takes them. */
	req.pkts.filter = "udp";
	req.pkts.limit = 7;
	assert_int_equal(pcap_all(&req, 0, &b, &packets), 0);
	assert_int_equal(packets, 7);
	assert_int_equal(b.pieces, 1);
	free(b.p);

	/* pcap of the Ethernet session: the header, then 10 records. */
	req = (struct pr_query_pcap_req){ .pkts = { .session = fx.eth_sid },
					  .format = PR_QUERY_PCAP };
	assert_int_equal(pcap_all(&req, 0, &b, &packets), 0);
	assert_int_equal(packets, 10);
	assert_int_equal(get32(b.p), 0xa1b2c3d4); /* microseconds: tsresol 6 */
	n = 0;
	for (off = 24; off + 16 <= b.len; off += 16 + get32(b.p + off + 8))
		n++;
	assert_int_equal(off, b.len);
	assert_int_equal(n, 10);
	free(b.p);

	/* An empty selection is a file with its header alone. */
	req.pkts.filter = "port 9";
	assert_int_equal(pcap_all(&req, 0, &b, &packets), 0);
	assert_int_equal(packets, 0);
	assert_int_equal(b.len, 24);
	free(b.p);
}

static void test_pool(void **state)
{
	struct pr_store_pool_cfg cfg = { .path = fx.db, .key = KEY, .max_readers = 2 };
	struct pr_store *a, *b, *c;
	struct pr_store_pool *pool;
	struct pr_session_info si;
	struct pr_query_err qe;
	unsigned open, used;
	char err[512];

	(void)state;
	assert_int_equal(pr_store_pool_create(&cfg, &pool, NULL, err, sizeof(err)), 0);
	assert_int_equal(pr_store_pool_get(pool, &a, err, sizeof(err)), 0);
	assert_int_equal(pr_store_pool_get(pool, &b, err, sizeof(err)), 0);
	assert_ptr_not_equal(a, b);
	assert_true(pr_store_is_readonly(a));
	assert_int_equal(pr_query_session_get(b, fx.sid, &si, &qe), 0);
	assert_int_equal(pr_store_pool_get(pool, &c, err, sizeof(err)), -EAGAIN);
	pr_store_pool_put(pool, a);
	assert_int_equal(pr_store_pool_get(pool, &c, err, sizeof(err)), 0);
	assert_ptr_equal(c, a); /* kept and lent again */
	/* After a flush, a connection in use is closed when it comes back. */
	pr_store_pool_flush(pool);
	pr_store_pool_counts(pool, &open, &used, NULL);
	assert_int_equal(open, 2);
	assert_int_equal(used, 2);
	pr_store_pool_put(pool, c);
	pr_store_pool_put(pool, b);
	pr_store_pool_counts(pool, &open, &used, NULL);
	assert_int_equal(open, 0);
	assert_int_equal(used, 0);
	assert_int_equal(pr_store_pool_get(pool, &a, err, sizeof(err)), 0);
	pr_store_pool_put(pool, a);
	assert_false(pr_store_is_readonly(pr_store_pool_writer_get(pool)));
	pr_store_pool_writer_put(pool);
	pr_store_pool_destroy(pool);

	cfg.key = "wrong key";
	assert_int_equal(pr_store_pool_create(&cfg, &pool, NULL, err, sizeof(err)), -EKEYREJECTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_packets),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_range_flow_limit),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_flows),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_flows_cursor),
		cmocka_unit_test(test_pcap_stream),
		cmocka_unit_test(test_pool),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
