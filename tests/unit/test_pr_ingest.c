// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the ingest engine (controlplane/ingest): two worker rings
 * in ordinary memory, filled by hand as two dataplane cores would, drained
 * into a real store in a temporary directory. Checked: the session ends
 * only after the END of every ring; STATS of the two cores are summed, not
 * overwritten; an interface announced by both cores is stored once;
 * packets and flows of both rings are all stored; the merged end reason;
 * a corrupt ring ends the capture with an error; and with
 * release_on_commit the producer gets ring room back only after a commit,
 * while the END record stays in the ring for a successor to re-read; the
 * backlog the rings hold for the store, and the store's gauge of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_ingest.h"
#include "pr_metrics.h"
#include "pr_ring.h"
#include "pr_store.h"

#define RX_SLOTS 4096u
#define TX_SLOTS 64u

static char dir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_pr_ingest.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct rig {
	void *base;
	size_t size;
	struct pr_ring_prod prod[2];
	struct pr_store *st;
	int64_t session;
	struct pr_ingest *ig;
};

static void rig_open_sm(struct rig *r, const char *name, bool release_on_commit,
			struct pr_sensor_metrics *sm)
{
	char path[512];
	struct pr_store_cfg scfg = { .path = path, .create = true };
	struct pr_session_info si = { .name = "ingest" };
	struct pr_ingest_cfg icfg = {
		.commit_interval_ms = 1000,
		.commit_max_bytes = 1 << 20,
		.release_on_commit = release_on_commit,
		.sm = sm,
		.metrics_iface = "veth0",
	};

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r->size = pr_shm_size(2, RX_SLOTS, TX_SLOTS);
	r->base = aligned_alloc(64, r->size);
	assert_non_null(r->base);
	memset(r->base, 0, r->size);
	assert_int_equal(pr_shm_format(r->base, r->size, 2, RX_SLOTS, TX_SLOTS), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pr_ring_prod_init(&r->prod[i], pr_shm_ring(r->base, (uint32_t)i),
						   PR_RING_ROLE_RX),
				 0);
	assert_int_equal(pr_store_open(&scfg, &r->st), 0);
	assert_int_equal(pr_store_session_begin(r->st, &si, &r->session), 0);
	icfg.st = r->st;
	icfg.session = r->session;
	assert_int_equal(pr_ingest_create(&icfg, &r->ig), 0);
	for (uint32_t i = 0; i < 2; i++)
		assert_int_equal(pr_ingest_add_ring(r->ig, pr_shm_ring(r->base, i)), 0);
}

static void rig_open(struct rig *r, const char *name, bool release_on_commit)
{
	rig_open_sm(r, name, release_on_commit, NULL);
}

static void rig_close(struct rig *r)
{
	pr_ingest_destroy(r->ig);
	pr_store_close(r->st);
	free(r->base);
}

static void put(struct pr_ring_prod *p, const void *rec, uint32_t len)
{
	void *slot = pr_ring_prod_reserve(p, len);

	assert_non_null(slot);
	memcpy(slot, rec, len);
	pr_ring_prod_commit(p);
	pr_ring_prod_publish(p);
}

static void put_iface(struct pr_ring_prod *p)
{
	struct pr_rec_iface r = { .hdr = { .type = PR_REC_IFACE, .len = sizeof(r) },
				  .linktype = 1,
				  .snaplen = 65535,
				  .tsresol = 9 };

	snprintf(r.name, sizeof(r.name), "veth0");
	put(p, &r, sizeof(r));
}

static void put_packet(struct pr_ring_prod *p, uint64_t ts, uint64_t flow_id, uint32_t len)
{
	uint8_t buf[sizeof(struct pr_rec_packet) + 256];
	struct pr_rec_packet *r = (struct pr_rec_packet *)buf;

	memset(buf, 0, sizeof(buf));
	r->hdr.type = PR_REC_PACKET;
	r->hdr.len = (uint32_t)sizeof(*r) + len;
	r->ts_ns = ts;
	r->flow_id = flow_id;
	r->wire_len = len;
	r->cap_len = len;
	memset(r->data, 0xab, len);
	put(p, r, r->hdr.len);
}

static void put_flow(struct pr_ring_prod *p, uint64_t flow_id, uint64_t packets)
{
	struct pr_rec_flow f = { .hdr = { .type = PR_REC_FLOW, .len = sizeof(f) },
				 .flow_id = flow_id,
				 .packets = { packets, 0 },
				 .ip_version = 4,
				 .ip_proto = 17,
				 .end_reason = PR_FLOW_END_SHUTDOWN };

	put(p, &f, sizeof(f));
}

static void put_stats(struct pr_ring_prod *p, uint32_t core, uint64_t rx, uint64_t filtered,
		      uint64_t ring_full)
{
	struct pr_rec_stats s = { .hdr = { .type = PR_REC_STATS, .len = sizeof(s) }, .core = core };

	s.counters[PR_STAT_RX_PACKETS] = rx;
	s.counters[PR_STAT_FILTERED] = filtered;
	s.counters[PR_STAT_DROP_RING_FULL] = ring_full;
	s.counters[PR_STAT_EMITTED] = rx - filtered - ring_full;
	s.counters[PR_STAT_RECEIVED] = rx;
	put(p, &s, sizeof(s));
}

static void put_end(struct pr_ring_prod *p, uint32_t core, uint32_t reason, const char *msg)
{
	struct pr_rec_end e = { .hdr = { .type = PR_REC_END, .len = sizeof(e) },
				.core = core,
				.reason = reason };

	snprintf(e.message, sizeof(e.message), "%s", msg);
	put(p, &e, sizeof(e));
}

static int drain(struct pr_ingest *ig)
{
	int n, total = 0;

	while ((n = pr_ingest_poll(ig, 3)) > 0)
		total += n;
	return n < 0 ? n : total;
}

struct count_ctx {
	unsigned n;
};

static int count_iface(void *ctx, const struct pr_store_iface *i)
{
	(void)i;
	((struct count_ctx *)ctx)->n++;
	return 0;
}

static void test_two_rings(void **state)
{
	struct rig r;
	struct pr_ingest_stats s;
	struct pr_session_info si;
	struct count_ctx ifaces = { 0 };
	uint64_t d[PR_DROP_REASON_MAX];

	(void)state;
	rig_open(&r, "two.db", false);
	/* Core 0: 3 packets of flow A; core 1: 2 packets of flow B. Both announce iface 0. */
	put_iface(&r.prod[0]);
	put_iface(&r.prod[1]);
	for (int i = 0; i < 3; i++)
		put_packet(&r.prod[0], 1000 + (uint64_t)i, 0x0000000000000001ull, 60);
	for (int i = 0; i < 2; i++)
		put_packet(&r.prod[1], 2000 + (uint64_t)i, 0x0001000000000001ull, 100);
	put_flow(&r.prod[0], 0x0000000000000001ull, 3);
	put_flow(&r.prod[1], 0x0001000000000001ull, 2);
	/* Cumulative counters: core 0 received 5 (2 filtered), core 1 received 4 (1 ring full, 1 filtered). */
	put_stats(&r.prod[0], 0, 4, 1, 0);
	put_stats(&r.prod[0], 0, 5, 2, 0);
	put_stats(&r.prod[1], 1, 4, 1, 1);
	put_end(&r.prod[0], 0, PR_END_COUNT, "");

	assert_int_equal(drain(r.ig), 13);
	assert_false(pr_ingest_done(r.ig));
	pr_ingest_get_stats(r.ig, &s);
	assert_int_equal(s.rings, 2);
	assert_int_equal(s.ends, 1);
	assert_int_equal(s.packets, 5);
	assert_int_equal(s.bytes, 3 * 60 + 2 * 100);
	assert_int_equal(s.flows, 2);
	/* Summed over cores, core 0's second STATS replacing its first. */
	assert_int_equal(s.counters[PR_STAT_RX_PACKETS], 9);
	assert_int_equal(s.counters[PR_STAT_FILTERED], 3);
	assert_int_equal(s.counters[PR_STAT_DROP_RING_FULL], 1);
	assert_int_equal(s.counters[PR_STAT_EMITTED], 5);

	/* Core 1 was stopped by core 0 reaching the count: the capture ended by count. */
	put_end(&r.prod[1], 1, PR_END_STOPPED, "");
	assert_int_equal(drain(r.ig), 1);
	assert_true(pr_ingest_done(r.ig));
	pr_ingest_get_stats(r.ig, &s);
	assert_int_equal(s.end_reason, PR_END_COUNT);
	assert_false(s.store_failed);

	assert_int_equal(pr_ingest_finish(r.ig), 0);
	assert_int_equal(pr_store_session_get(r.st, r.session, &si), 0);
	assert_int_equal(si.status, PR_SESSION_COMPLETED);
	assert_string_equal(si.message, "packet count reached");
	assert_int_equal(si.packets, 5);
	assert_int_equal(si.flows, 2);
	pr_ingest_drops_of(s.counters, d);
	assert_int_equal(si.drops[PR_DROP_RING_FULL], 1);
	assert_memory_equal(si.drops, d, sizeof(d));
	/* received and filtered go to the session with the drops. */
	assert_int_equal(si.received, 9);
	assert_int_equal(si.filtered, 3);
	assert_int_equal(si.received, si.packets + si.filtered + si.drops[PR_DROP_RING_FULL]);
	assert_true(pr_store_ifaces_foreach(r.st, r.session, count_iface, &ifaces) >= 0);
	assert_int_equal(ifaces.n, 1);
	rig_close(&r);
}

static void test_error_wins(void **state)
{
	struct rig r;
	struct pr_ingest_stats s;
	struct pr_session_info si;

	(void)state;
	rig_open(&r, "err.db", false);
	put_end(&r.prod[0], 0, PR_END_STOPPED, "");
	put_end(&r.prod[1], 1, PR_END_ERROR, "queue 1: device went away");
	drain(r.ig);
	assert_true(pr_ingest_done(r.ig));
	pr_ingest_get_stats(r.ig, &s);
	assert_int_equal(s.end_reason, PR_END_ERROR);
	assert_string_equal(s.end_msg, "queue 1: device went away");
	assert_int_equal(pr_ingest_finish(r.ig), 0);
	assert_int_equal(pr_store_session_get(r.st, r.session, &si), 0);
	assert_int_equal(si.status, PR_SESSION_FAILED);
	assert_string_equal(si.message, "queue 1: device went away");
	rig_close(&r);
}

static void test_corrupt_ring(void **state)
{
	struct rig r;
	struct pr_ingest_stats s;
	struct pr_rec_hdr bad = { .type = 200, .len = 64 };

	(void)state;
	rig_open(&r, "corrupt.db", false);
	put_packet(&r.prod[0], 1, 1, 60);
	put(&r.prod[1], &bad, sizeof(bad));
	assert_int_equal(drain(r.ig), -EBADMSG);
	assert_true(pr_ingest_done(r.ig));
	pr_ingest_get_stats(r.ig, &s);
	assert_int_equal(s.end_reason, PR_END_ERROR);
	assert_string_equal(s.end_msg, "record ring 1 corrupt");
	rig_close(&r);
}

static void test_release_on_commit(void **state)
{
	struct rig r;
	struct pr_ring_header *h0;
	uint64_t prod_after_end;
	struct timespec ts;
	uint64_t now;

	(void)state;
	rig_open(&r, "release.db", true);
	h0 = pr_shm_ring(r.base, 0);
	put_iface(&r.prod[0]);
	put_packet(&r.prod[0], 1, 1, 60);
	drain(r.ig);
	/* Read, not committed: the slots stay the ingest's. */
	assert_int_equal(atomic_load(&h0->cons), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	assert_int_equal(pr_ingest_tick(r.ig, now + 2000000000ull), 1);
	assert_int_equal(atomic_load(&h0->cons), atomic_load(&h0->prod));
	/* The END record is read, committed, but never handed back before finish. */
	put_end(&r.prod[0], 0, PR_END_STOPPED, "");
	put_end(&r.prod[1], 1, PR_END_STOPPED, "");
	prod_after_end = atomic_load(&h0->prod);
	drain(r.ig);
	assert_true(pr_ingest_done(r.ig));
	assert_int_equal(pr_ingest_tick(r.ig, now + 4000000000ull), 1);
	assert_true(atomic_load(&h0->cons) < prod_after_end);
	assert_int_equal(pr_ingest_finish(r.ig), 0);
	assert_int_equal(atomic_load(&h0->cons), prod_after_end);
	rig_close(&r);
}

/*
 * The backlog: what the rings hold for the store at the start of a poll,
 * the most seen, what they can hold; and the store's own gauge of what
 * it took and what it waited for.
 */
static void test_backlog(void **state)
{
	uint64_t rec = pr_ring_slots_of(sizeof(struct pr_rec_packet) + 200) * PR_RING_SLOT_SIZE;
	struct pr_store_io_stats io;
	struct pr_ingest_stats s;
	struct timespec ts;
	struct rig r;
	uint64_t now;

	(void)state;
	rig_open(&r, "backlog.db", false);
	pr_ingest_get_stats(r.ig, &s);
	assert_int_equal(s.ring_capacity_bytes, 2ull * RX_SLOTS * PR_RING_SLOT_SIZE);
	assert_int_equal(s.backlog_max_bytes, 0);
	for (int i = 0; i < 10; i++)
		put_packet(&r.prod[0], 100 + (uint64_t)i, 1, 200);
	for (int i = 0; i < 5; i++)
		put_packet(&r.prod[1], 200 + (uint64_t)i, 2, 200);
	assert_int_equal(pr_ingest_poll(r.ig, 4), 8);
	pr_ingest_get_stats(r.ig, &s);
	assert_int_equal(s.backlog_bytes, 15 * rec);
	assert_int_equal(s.backlog_max_bytes, 15 * rec);
	assert_int_equal(drain(r.ig), 7);
	/* Handed back: nothing waits, the most seen stays. */
	assert_int_equal(pr_ingest_poll(r.ig, 4), 0);
	pr_ingest_get_stats(r.ig, &s);
	assert_int_equal(s.backlog_bytes, 0);
	assert_int_equal(s.backlog_max_bytes, 15 * rec);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	assert_int_equal(pr_ingest_tick(r.ig, now + 2000000000ull), 1);
	pr_store_get_io_stats(r.st, &io);
	assert_true(io.waits >= 1); /* at least the commit */
	rig_close(&r);
}

/* An Ethernet frame of len bytes: IPv4 with protocol proto. */
static void put_ip_packet(struct pr_ring_prod *p, uint64_t ts, uint8_t proto, uint32_t len)
{
	uint8_t buf[sizeof(struct pr_rec_packet) + 256];
	struct pr_rec_packet *r = (struct pr_rec_packet *)buf;

	memset(buf, 0, sizeof(buf));
	r->hdr.type = PR_REC_PACKET;
	r->hdr.len = (uint32_t)sizeof(*r) + len;
	r->ts_ns = ts;
	r->wire_len = len;
	r->cap_len = len;
	r->data[12] = 0x08;
	r->data[14] = 0x45;
	r->data[14 + 9] = proto;
	put(p, r, r->hdr.len);
}

static double value(struct pr_metric *fam, const char *const *labels)
{
	struct pr_metric_series *s;

	assert_int_equal(pr_metric_series(fam, labels, &s), 0);
	return pr_metric_series_value(s, NULL);
}

/*
 * With the daemon's metrics: packets by protocol from their bytes, drops
 * and open flows from the STATS records, ring occupancy per worker, a
 * commit's latency, the backlog; what the capture added to the gauges goes
 * when it is destroyed.
 */
static void test_metrics(void **state)
{
	struct pr_sensor_metrics *sm;
	struct pr_metrics *reg;
	struct pr_rec_stats st = { .hdr = { .type = PR_REC_STATS, .len = sizeof(st) } };
	struct timespec ts;
	char *text;
	struct rig r;
	double sum;

	(void)state;
	assert_int_equal(pr_metrics_create(&reg), 0);
	assert_int_equal(pr_sensor_metrics_create(reg, NULL, &sm), 0);
	rig_open_sm(&r, "metrics.db", false, sm);
	put_iface(&r.prod[0]);
	for (int i = 0; i < 4; i++)
		put_ip_packet(&r.prod[0], 100 + (uint64_t)i, 6, 100);
	put_ip_packet(&r.prod[1], 200, 17, 80);
	put_packet(&r.prod[1], 201, 0, 60); /* bytes 0xab: not IP */
	st.counters[PR_STAT_DROP_RING_FULL] = 7;
	st.counters[PR_STAT_DROP_KERNEL] = 2;
	st.counters[PR_STAT_FLOWS_CREATED] = 10;
	st.counters[PR_STAT_FLOWS_ENDED] = 4;
	st.counters[PR_STAT_FRAGMENTS] = 5;
	st.counters[PR_STAT_IPFRAG_REASSEMBLED] = 2;
	st.counters[PR_STAT_IPFRAG_TIMEOUTS] = 1;
	st.counters[PR_STAT_TCP_HELD] = 3;
	st.counters[PR_STAT_TCP_OVERLAPS] = 1;
	st.counters[PR_STAT_TCP_GAPS] = 2;
	st.counters[PR_STAT_L7_TRANSACTIONS] = 11;
	st.counters[PR_STAT_L7_META_LOST] = 1;
	put(&r.prod[0], &st, sizeof(st));
	/* Two records wait in ring 1 (of 4096 slots) when the first poll looks. */
	assert_int_equal(pr_ingest_poll(r.ig, 2), 4);
	assert_int_equal(value(sm->ring_occupancy, (const char *const[]){ "veth0", "1" }) > 0, 1);
	assert_int_equal(drain(r.ig), 4);
	assert_true(value(sm->ring_occupancy, (const char *const[]){ "veth0", "0" }) == 0);
	assert_true(pr_metric_series_value(sm->packets[PR_SM_PROTO_TCP], NULL) == 4);
	assert_true(pr_metric_series_value(sm->bytes[PR_SM_PROTO_TCP], NULL) == 400);
	assert_true(pr_metric_series_value(sm->packets[PR_SM_PROTO_UDP], NULL) == 1);
	assert_true(pr_metric_series_value(sm->packets[PR_SM_PROTO_NON_IP], NULL) == 1);
	assert_true(pr_metric_series_value(sm->drops[PR_DROP_RING_FULL], NULL) == 7);
	assert_true(pr_metric_series_value(sm->drops[PR_DROP_KERNEL], NULL) == 2);
	assert_true(pr_metric_series_value(sm->flow_table_size, NULL) == 6);
	assert_true(pr_metric_series_value(sm->ip_fragments, NULL) == 5);
	assert_true(pr_metric_series_value(sm->ipfrag[PR_SM_IPFRAG_REASSEMBLED], NULL) == 2);
	assert_true(pr_metric_series_value(sm->ipfrag[PR_SM_IPFRAG_TIMEOUT], NULL) == 1);
	assert_true(pr_metric_series_value(sm->ipfrag[PR_SM_IPFRAG_DROPPED], NULL) == 0);
	assert_true(pr_metric_series_value(sm->tcp_segments[PR_SM_TCP_HELD], NULL) == 3);
	assert_true(pr_metric_series_value(sm->tcp_segments[PR_SM_TCP_OVERLAP], NULL) == 1);
	assert_true(pr_metric_series_value(sm->tcp_segments[PR_SM_TCP_RETRANSMIT], NULL) == 0);
	assert_true(pr_metric_series_value(sm->tcp_gaps, NULL) == 2);
	assert_true(pr_metric_series_value(sm->l7_txns, NULL) == 11);
	assert_true(pr_metric_series_value(sm->l7_lost, NULL) == 1);
	assert_true(pr_metric_series_value(sm->packet_processing, &sum) >= 1 && sum > 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	assert_int_equal(pr_ingest_tick(r.ig, (uint64_t)ts.tv_sec * 1000000000ull +
						      (uint64_t)ts.tv_nsec + 2000000000ull),
			 1);
	assert_true(pr_metric_series_value(sm->storage_write, NULL) == 1);
	/* Later counters of the same core: only the growth is added. */
	st.counters[PR_STAT_DROP_RING_FULL] = 9;
	st.counters[PR_STAT_FLOWS_ENDED] = 10;
	st.counters[PR_STAT_IPFRAG_REASSEMBLED] = 5;
	st.counters[PR_STAT_TCP_HELD] = 7;
	st.counters[PR_STAT_L7_TRANSACTIONS] = 20;
	put(&r.prod[0], &st, sizeof(st));
	assert_int_equal(drain(r.ig), 1);
	assert_true(pr_metric_series_value(sm->tcp_segments[PR_SM_TCP_HELD], NULL) == 7);
	assert_true(pr_metric_series_value(sm->l7_txns, NULL) == 20);
	assert_true(pr_metric_series_value(sm->tcp_gaps, NULL) == 2);
	assert_true(pr_metric_series_value(sm->ipfrag[PR_SM_IPFRAG_REASSEMBLED], NULL) == 5);
	assert_true(pr_metric_series_value(sm->ip_fragments, NULL) == 5);
	assert_true(pr_metric_series_value(sm->drops[PR_DROP_RING_FULL], NULL) == 9);
	assert_true(pr_metric_series_value(sm->flow_table_size, NULL) == 0);
	put_end(&r.prod[0], 0, PR_END_EOF, "");
	put_end(&r.prod[1], 1, PR_END_EOF, "");
	assert_int_equal(drain(r.ig), 2);
	assert_int_equal(pr_ingest_finish(r.ig), 0);
	rig_close(&r);
	/* The capture is gone: its rings are no longer shown, its gauges are back to 0. */
	assert_int_equal(pr_metrics_render(reg, &text, NULL), 0);
	assert_null(strstr(text, "packetrecorder_ring_occupancy_ratio{"));
	assert_non_null(strstr(text, "\npacketrecorder_storage_backlog_bytes 0\n"));
	assert_non_null(strstr(text, "\npacketrecorder_flow_table_size 0\n"));
	assert_non_null(strstr(text, "packetrecorder_packets_total{protocol=\"tcp\"} 4\n"));
	assert_non_null(
		strstr(text, "packetrecorder_ipfrag_datagrams_total{result=\"reassembled\"} 5\n"));
	assert_non_null(strstr(text, "\npacketrecorder_ip_fragments_total 5\n"));
	assert_non_null(
		strstr(text, "packetrecorder_tcp_reasm_segments_total{result=\"held\"} 7\n"));
	assert_non_null(strstr(text, "\npacketrecorder_tcp_reasm_gaps_total 2\n"));
	assert_non_null(strstr(text, "\npacketrecorder_l7_transactions_total 20\n"));
	assert_non_null(strstr(text, "\npacketrecorder_l7_records_lost_total 1\n"));
	free(text);
	pr_sensor_metrics_destroy(sm);
	pr_metrics_destroy(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_rings),    cmocka_unit_test(test_error_wins),
		cmocka_unit_test(test_corrupt_ring), cmocka_unit_test(test_release_on_commit),
		cmocka_unit_test(test_backlog),	     cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
