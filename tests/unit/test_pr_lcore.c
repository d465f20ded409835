// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the polling loop (pr_lcore) with the pcap backend reading
 * the generated fixtures into a ring in ordinary memory: the records it
 * emits (interfaces first, every packet with its timestamp and flow id,
 * flows, final counters, the END record), the BPF filter, --count and
 * damaged files. Expectations come from tests/pcaps/manifest.json's
 * numbers for each fixture (mixed.pcap: 320 packets, 43696 bytes,
 * 26 flows holding 318 packets, 2 non-IP; "tcp port 80" selects 215).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_lcore.h"
#include "pr_ring.h"
#include "pr_rx.h"

#define RX_SLOTS (1u << 17) /* 8 MiB: every fixture fits without a consumer */
#define TX_SLOTS 64u

struct result {
	unsigned ifaces;
	uint32_t linktype0;
	uint64_t packets, bytes, last_ts, first_ts;
	uint64_t flows, flow_packets, flow_bytes;
	uint64_t packets_without_flow;
	uint64_t counters[PR_STAT_MAX];
	bool end_seen;
	uint32_t end_reason;
	char end_msg[256];
	bool order_ok; /* no PACKET before the first IFACE */
};

/* Run one lcore over path and collect what it put in the ring. */
static int run(const char *path, const char *filter, uint64_t max_packets, bool stop_first,
	       struct result *r)
{
	size_t size = pr_shm_size(1, RX_SLOTS, TX_SLOTS);
	void *base = aligned_alloc(64, size);
	struct pr_rx_cfg rcfg = { .read_path = path, .snaplen = 65535 };
	struct pr_lcore_cfg lcfg = {
		.filter = filter,
		.max_packets = max_packets,
		.flow = { .max_flows = 1024,
			  .idle_timeout_s = 300,
			  .active_timeout_s = 3600,
			  .tcp_closed_timeout_s = 5 },
	};
	struct pr_ring_cons cons;
	const struct pr_rec_hdr *h;
	struct pr_rx *rx = NULL;
	struct pr_lcore *lc = NULL;
	atomic_bool stop = stop_first;
	char err[512];
	int ret;

	memset(r, 0, sizeof(*r));
	r->order_ok = true;
	assert_non_null(base);
	memset(base, 0, size);
	assert_int_equal(pr_shm_format(base, size, 1, RX_SLOTS, TX_SLOTS), 0);
	ret = pr_rx_pcap_ops.open(&rcfg, &rx, err, sizeof(err));
	if (ret) {
		free(base);
		return ret;
	}
	assert_int_equal(pr_lcore_create(&lcfg, &pr_rx_pcap_ops, rx, pr_shm_ring(base, 0), &lc, err,
					 sizeof(err)),
			 0);
	pr_lcore_run(lc, &stop);
	assert_int_equal(pr_ring_cons_init(&cons, pr_shm_ring(base, 0), PR_RING_ROLE_RX), 0);
	while ((h = pr_ring_cons_peek(&cons))) {
		switch (h->type) {
		case PR_REC_IFACE:
			if (!r->ifaces++)
				r->linktype0 = ((const struct pr_rec_iface *)h)->linktype;
			break;
		case PR_REC_PACKET: {
			const struct pr_rec_packet *p = (const struct pr_rec_packet *)h;

			if (!r->ifaces)
				r->order_ok = false;
			assert_true(h->len >= sizeof(*p) + p->cap_len);
			if (!r->packets)
				r->first_ts = p->ts_ns;
			r->packets++;
			r->bytes += p->wire_len;
			r->last_ts = p->ts_ns;
			if (!p->flow_id)
				r->packets_without_flow++;
			break;
		}
		case PR_REC_FLOW: {
			const struct pr_rec_flow *f = (const struct pr_rec_flow *)h;

			r->flows++;
			r->flow_packets += f->packets[0] + f->packets[1];
			r->flow_bytes += f->bytes[0] + f->bytes[1];
			break;
		}
		case PR_REC_STATS:
			memcpy(r->counters, ((const struct pr_rec_stats *)h)->counters,
			       sizeof(r->counters));
			break;
		case PR_REC_END: {
			const struct pr_rec_end *e = (const struct pr_rec_end *)h;

			r->end_seen = true;
			r->end_reason = e->reason;
			memcpy(r->end_msg, e->message, sizeof(r->end_msg));
			break;
		}
		default:
			break;
		}
		pr_ring_cons_advance(&cons, h);
	}
	assert_int_equal(cons.error, 0);
	pr_lcore_destroy(lc);
	pr_rx_pcap_ops.close(rx);
	free(base);
	return 0;
}

static void test_whole_file(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(run(PR_TEST_PCAPS "/mixed.pcap", NULL, 0, false, &r), 0);
	assert_true(r.end_seen);
	assert_int_equal(r.end_reason, PR_END_EOF);
	assert_true(r.order_ok);
	assert_int_equal(r.ifaces, 1);
	assert_int_equal(r.linktype0, 1);
	assert_int_equal(r.packets, 320);
	assert_int_equal(r.bytes, 43696);
	assert_int_equal(r.first_ts, 1700000000100000000ull);
	assert_int_equal(r.last_ts, 1700000017500000000ull);
	assert_int_equal(r.flows, 26);
	assert_int_equal(r.flow_packets, 318);
	assert_int_equal(r.packets_without_flow, 2);
	assert_int_equal(r.counters[PR_STAT_RX_PACKETS], 320);
	assert_int_equal(r.counters[PR_STAT_EMITTED], 320);
	assert_int_equal(r.counters[PR_STAT_DEC_NON_IP], 2);
	assert_int_equal(r.counters[PR_STAT_DROP_RING_FULL], 0);
	assert_int_equal(r.counters[PR_STAT_FLOWS_ENDED], 26);
	/* What reached the capture point: every packet of the file, each counted once. */
	assert_int_equal(r.counters[PR_STAT_RECEIVED], 320);
}

static void test_filter(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(run(PR_TEST_PCAPS "/mixed.pcap", "tcp port 80", 0, false, &r), 0);
	assert_int_equal(r.end_reason, PR_END_EOF);
	assert_int_equal(r.packets, 215);
	assert_int_equal(r.counters[PR_STAT_FILTERED], 320 - 215);
	assert_int_equal(r.counters[PR_STAT_RECEIVED], 320);
	assert_int_equal(r.packets_without_flow, 0);
	/* Flows describe what was stored: filtered packets never reach the table. */
	assert_int_equal(r.flow_packets, 215);
}

static void test_filter_rejecting_a_linktype(void **state)
{
	struct result r;

	(void)state;
	/* multi_if.pcapng has Ethernet, raw IPv4 and SLL2: "arp" matches only where it can. */
	assert_int_equal(run(PR_TEST_PCAPS "/multi_if.pcapng", "arp", 0, false, &r), 0);
	assert_int_equal(r.end_reason, PR_END_EOF);
	assert_int_equal(r.ifaces, 3);
	assert_int_equal(r.packets, 2); /* manifest: the two ARP frames on the Ethernet interface */
	assert_int_equal(r.counters[PR_STAT_FILTERED], 25 - 2);
}

static void test_count_limit(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(run(PR_TEST_PCAPS "/mixed.pcap", NULL, 5, false, &r), 0);
	assert_int_equal(r.end_reason, PR_END_COUNT);
	assert_int_equal(r.packets, 5);
	/* Packets past the limit are not counted in any flow. */
	assert_int_equal(r.flow_packets + r.packets_without_flow, 5);
	/* ... nor as received: the capture ended with its fifth packet. */
	assert_int_equal(r.counters[PR_STAT_RX_PACKETS], 5);

	/* With a filter, the packets filtered before the last stored one count, no later ones. */
	assert_int_equal(run(PR_TEST_PCAPS "/mixed.pcap", "tcp port 80", 150, false, &r), 0);
	assert_int_equal(r.end_reason, PR_END_COUNT);
	assert_int_equal(r.packets, 150);
	assert_int_equal(r.counters[PR_STAT_EMITTED], 150);
	assert_true(r.counters[PR_STAT_FILTERED] > 0);
	assert_int_equal(r.counters[PR_STAT_RX_PACKETS],
			 r.counters[PR_STAT_EMITTED] + r.counters[PR_STAT_FILTERED]);
	assert_int_equal(r.counters[PR_STAT_RECEIVED], r.counters[PR_STAT_RX_PACKETS]);
}

static void test_damaged_file(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(run(PR_TEST_PCAPS "/truncated.pcap", NULL, 0, false, &r), 0);
	assert_true(r.end_seen);
	assert_int_equal(r.end_reason, PR_END_ERROR);
	assert_int_equal(r.packets, 12);
	assert_non_null(strstr(r.end_msg, "offset 1858"));
	assert_non_null(strstr(r.end_msg, "truncated.pcap"));
}

static void test_stop_before_start(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(run(PR_TEST_PCAPS "/mixed.pcap", NULL, 0, true, &r), 0);
	assert_true(r.end_seen);
	assert_int_equal(r.end_reason, PR_END_STOPPED);
	assert_int_equal(r.packets, 0);
}

static void test_not_a_capture(void **state)
{
	struct result r;

	(void)state;
	assert_int_equal(run(PR_TEST_PCAPS "/manifest.json", NULL, 0, false, &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_file),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_filter_rejecting_a_linktype),
		cmocka_unit_test(test_count_limit),
		cmocka_unit_test(test_damaged_file),
		cmocka_unit_test(test_stop_before_start),
		cmocka_unit_test(test_not_a_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
