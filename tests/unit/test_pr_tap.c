// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the live tap (controlplane/capctl/pr_tap.c): packets get
 * their index in the session whether or not anybody listens; each
 * subscriber's BPF filter is compiled for interfaces announced before and
 * after it subscribed; snaplen cuts copies; the rate cap lets through one
 * second's worth and counts the rest; a full queue drops and counts, and
 * the next packet delivered carries how many were lost before it; the end
 * of the capture reaches a subscriber only after its queue is drained; bad
 * options and too many subscribers are refused naming the field; a
 * subscriber outlives the hub's owner; and a publisher racing subscribers
 * that come and go in other threads (run under ThreadSanitizer by the tsan
 * preset) loses nothing it does not count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_record.h"
#include "pr_tap.h"

/* An Ethernet/IPv4/UDP frame to dport, len bytes on the wire. */
struct frame {
	struct pr_rec_packet rec;
	uint8_t data[1600];
};

static void make_frame(struct frame *f, uint16_t iface, uint16_t dport, uint32_t len, uint8_t fill)
{
	uint8_t *d = f->data;

	memset(f, 0, sizeof(*f));
	memset(d, fill, sizeof(f->data));
	d[12] = 0x08; /* IPv4 */
	d[13] = 0x00;
	d[14] = 0x45;
	d[16] = (uint8_t)((len - 14) >> 8);
	d[17] = (uint8_t)(len - 14);
	d[20] = 0x40; /* DF, no fragment */
	d[21] = 0;
	d[22] = 64;
	d[23] = 17; /* UDP */
	d[26] = 10;
	d[27] = 0;
	d[28] = 0;
	d[29] = 1;
	d[30] = 10;
	d[31] = 0;
	d[32] = 0;
	d[33] = 2;
	d[34] = 0x30; /* sport 12345 */
	d[35] = 0x39;
	d[36] = (uint8_t)(dport >> 8);
	d[37] = (uint8_t)dport;
	d[38] = (uint8_t)((len - 34) >> 8);
	d[39] = (uint8_t)(len - 34);
	f->rec.hdr.type = PR_REC_PACKET;
	f->rec.ts_ns = 1700000000000000000ull;
	f->rec.flow_id = dport;
	f->rec.wire_len = len;
	f->rec.cap_len = len;
	f->rec.iface = iface;
}

static void announce(struct pr_tap_hub *h, uint16_t iface, uint32_t linktype)
{
	struct pr_rec_iface r;

	memset(&r, 0, sizeof(r));
	r.hdr.type = PR_REC_IFACE;
	r.iface = iface;
	r.linktype = linktype;
	r.snaplen = 65535;
	pr_tap_hub_iface(h, &r);
}

static void publish(struct pr_tap_hub *h, uint16_t iface, uint16_t dport, uint32_t len)
{
	struct frame f;

	make_frame(&f, iface, dport, len, (uint8_t)dport);
	pr_tap_hub_packet(h, &f.rec);
}

static struct pr_tap *sub(struct pr_tap_hub *h, const char *filter, uint32_t pps, uint32_t snap,
			  uint32_t queue)
{
	struct pr_tap_opts o = {
		.filter = filter, .max_pps = pps, .snaplen = snap, .queue_bytes = queue
	};
	struct pr_tap *t;
	char msg[512];

	assert_int_equal(pr_tap_open(h, &o, &t, msg, sizeof(msg)), 0);
	return t;
}

static void test_filter_index_and_copy(void **state)
{
	struct pr_tap_hub *h;
	struct pr_tap *t, *all;
	struct pr_tap_pkt p;
	struct pr_tap_stats s;

	(void)state;
	assert_int_equal(pr_tap_hub_create(&h), 0);
	announce(h, 0, 1);
	publish(h, 0, 53, 100); /* index 0: before anybody listens */
	t = sub(h, "udp dst port 53", 0, 60, 0);
	all = sub(h, NULL, 0, 0, 0);
	publish(h, 0, 80, 100); /* 1 */
	publish(h, 0, 53, 200); /* 2 */
	announce(h, 1, 1); /* an interface announced after the subscription */
	publish(h, 1, 53, 90); /* 3 */
	publish(h, 7, 53, 90); /* 4: an interface never announced: only "all" gets it */

	assert_int_equal(pr_tap_next(t, &p), 1);
	assert_int_equal(p.index, 2);
	assert_int_equal(p.wire_len, 200);
	assert_int_equal(p.cap_len, 60); /* snaplen */
	assert_int_equal(p.linktype, 1);
	assert_int_equal(p.flow_id, 53);
	assert_int_equal(p.data[37], 53);
	assert_int_equal(p.data[59], 53);
	assert_int_equal(p.lost_before, 0);
	assert_int_equal(pr_tap_next(t, &p), 1);
	assert_int_equal(p.index, 3);
	assert_int_equal(p.iface, 1);
	assert_int_equal(pr_tap_next(t, &p), 0);
	pr_tap_get_stats(t, &s);
	assert_int_equal(s.seen, 4);
	assert_int_equal(s.matched, 2);
	assert_int_equal(s.taken, 2);
	assert_int_equal(s.lost_rate + s.lost_queue, 0);

	for (uint64_t i = 1; i <= 4; i++) {
		assert_int_equal(pr_tap_next(all, &p), 1);
		assert_int_equal(p.index, i);
		assert_int_equal(p.cap_len, p.wire_len);
	}
	/* The owner lets go: the subscribers keep the hub. */
	pr_tap_hub_end(h, "capture 1 ended (stopped)");
	pr_tap_hub_put(h);
	assert_int_equal(pr_tap_next(all, &p), -EPIPE);
	pr_tap_get_stats(all, &s);
	assert_string_equal(s.end_msg, "capture 1 ended (stopped)");
	pr_tap_close(all);
	assert_int_equal(pr_tap_next(t, &p), -EPIPE);
	pr_tap_close(t);
}

static void test_rate_cap(void **state)
{
	struct pr_tap_hub *h;
	struct pr_tap *t;
	struct pr_tap_pkt p;
	struct pr_tap_stats s;
	uint64_t got = 0, lost = 0;

	(void)state;
	assert_int_equal(pr_tap_hub_create(&h), 0);
	announce(h, 0, 1);
	t = sub(h, "", 50, 0, 0);
	/* 1000 packets at once: the bucket holds one second, 50, plus what refills meanwhile. */
	for (int i = 0; i < 1000; i++)
		publish(h, 0, 53, 100);
	while (pr_tap_next(t, &p) == 1) {
		got++;
		lost += p.lost_before;
	}
	pr_tap_get_stats(t, &s);
	assert_true(got >= 50 && got < 100);
	assert_int_equal(s.lost_rate, 1000 - got);
	assert_int_equal(s.lost_queue, 0);
	/* One more, delivered if the bucket has refilled, carries the losses. */
	for (int tries = 0; tries < 2000; tries++) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
		publish(h, 0, 53, 100);
		if (pr_tap_next(t, &p) == 1) {
			lost += p.lost_before;
			got++;
			break;
		}
	}
	pr_tap_get_stats(t, &s);
	assert_int_equal(lost, s.lost_rate);
	assert_int_equal(got + s.lost_rate, s.matched);
	pr_tap_close(t);
	pr_tap_hub_put(h);
}

static void test_queue_bound(void **state)
{
	struct pr_tap_hub *h;
	struct pr_tap *t;
	struct pr_tap_pkt p;
	struct pr_tap_stats s;
	uint64_t got = 0;

	(void)state;
	assert_int_equal(pr_tap_hub_create(&h), 0);
	announce(h, 0, 1);
	t = sub(h, "", PR_TAP_MAX_PPS, 0, 64 * 1024);
	for (int i = 0; i < 1000; i++)
		publish(h, 0, 53, 1000);
	pr_tap_get_stats(t, &s);
	/* 64 KiB holds some 60 packets of 1000 bytes, never more than 64 KiB. */
	assert_true(s.queued > 30 && s.queued < 66);
	assert_true(s.queue_bytes <= 64 * 1024);
	assert_int_equal(s.lost_queue, 1000 - s.queued);
	while (pr_tap_next(t, &p) == 1)
		got++;
	assert_int_equal(got, s.queued);
	/* Drained, it takes packets again, the first telling what was lost. */
	publish(h, 0, 53, 1000);
	assert_int_equal(pr_tap_next(t, &p), 1);
	assert_int_equal(p.lost_before, 1000 - s.queued);
	assert_int_equal(p.index, 1000);
	pr_tap_hub_end(h, NULL);
	publish(h, 0, 53, 1000); /* after the end: nothing new is promised, but nothing breaks */
	while (pr_tap_next(t, &p) == 1)
		;
	assert_int_equal(pr_tap_next(t, &p), -EPIPE);
	pr_tap_close(t);
	pr_tap_hub_put(h);
}

static void test_refusals(void **state)
{
	struct pr_tap_hub *h;
	struct pr_tap *t, *subs[PR_TAP_MAX_SUBS];
	struct pr_tap_opts o = { .filter = "udp port" };
	char msg[512];

	(void)state;
	assert_int_equal(pr_tap_hub_create(&h), 0);
	announce(h, 0, 1);
	assert_int_equal(pr_tap_open(h, &o, &t, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "filter: "));
	/* Valid for Ethernet, not for raw IP: refused when such an interface is known. */
	announce(h, 1, 101);
	o.filter = "ether host 01:02:03:04:05:06";
	assert_int_equal(pr_tap_open(h, &o, &t, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "filter: "));
	o.filter = NULL;
	o.max_pps = PR_TAP_MAX_PPS + 1;
	assert_int_equal(pr_tap_open(h, &o, &t, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "max_packets_per_s"));
	o.max_pps = 0;
	o.snaplen = PR_TAP_MAX_SNAPLEN + 1;
	assert_int_equal(pr_tap_open(h, &o, &t, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "snaplen"));
	o.snaplen = 0;
	for (int i = 0; i < PR_TAP_MAX_SUBS; i++)
		subs[i] = sub(h, NULL, 0, 0, 0);
	assert_int_equal(pr_tap_open(h, &o, &t, msg, sizeof(msg)), -ENOSPC);
	pr_tap_close(subs[3]);
	subs[3] = sub(h, NULL, 0, 0, 0);
	pr_tap_hub_end(h, "capture 9 failed: boom");
	assert_int_equal(pr_tap_open(h, &o, &t, msg, sizeof(msg)), -EPIPE);
	assert_string_equal(msg, "capture 9 failed: boom");
	for (int i = 0; i < PR_TAP_MAX_SUBS; i++)
		pr_tap_close(subs[i]);
	pr_tap_hub_put(h);
}

/* ---- a publisher and subscribers that come and go ---- */

#define RACE_PACKETS 200000

struct race {
	struct pr_tap_hub *h;
	atomic_bool done;
	atomic_uint_fast64_t accounted; /* over closed subscribers: taken + lost == matched */
	atomic_uint bad;
};

static void *race_pub(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < RACE_PACKETS; i++)
		publish(r->h, 0, (uint16_t)(i & 1 ? 53 : 80), 100);
	pr_tap_hub_end(r->h, NULL);
	atomic_store(&r->done, true);
	return NULL;
}

static void *race_sub(void *arg)
{
	struct race *r = arg;

	for (int round = 0;; round++) {
		struct pr_tap *t;
		struct pr_tap_pkt p;
		struct pr_tap_stats s;
		uint64_t taken = 0, lost = 0, last = 0;
		char msg[256];
		struct pr_tap_opts o = { .filter = round & 1 ? "udp dst port 53" : NULL,
					 .max_pps = PR_TAP_MAX_PPS,
					 .queue_bytes = 16384 };
		int ret = pr_tap_open(r->h, &o, &t, msg, sizeof(msg));

		if (ret == -EPIPE)
			return NULL;
		if (ret) {
			atomic_fetch_add(&r->bad, 1);
			return NULL;
		}
		for (int i = 0; i < 2000; i++) {
			ret = pr_tap_next(t, &p);
			if (ret < 0)
				break;
			if (ret == 1) {
				taken++;
				lost += p.lost_before;
				if ((taken > 1 && p.index <= last) || (o.filter && p.flow_id != 53))
					atomic_fetch_add(&r->bad, 1);
				last = p.index;
			}
		}
		pr_tap_get_stats(t, &s);
		/* What was lost after the last packet taken is not yet in a lost_before. */
		if (s.taken != taken || lost > s.lost_queue + s.lost_rate ||
		    s.queued + s.lost_queue + s.lost_rate != s.matched)
			atomic_fetch_add(&r->bad, 1);
		atomic_fetch_add(&r->accounted, s.matched);
		pr_tap_close(t);
		if (atomic_load(&r->done))
			return NULL;
	}
}

static void test_race(void **state)
{
	struct race r = { 0 };
	pthread_t pub, subs[3];

	(void)state;
	assert_int_equal(pr_tap_hub_create(&r.h), 0);
	announce(r.h, 0, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&subs[i], NULL, race_sub, &r), 0);
	assert_int_equal(pthread_create(&pub, NULL, race_pub, &r), 0);
	pthread_join(pub, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(subs[i], NULL);
	assert_int_equal(atomic_load(&r.bad), 0);
	assert_true(atomic_load(&r.accounted) > 0);
	pr_tap_hub_put(r.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_index_and_copy),
		cmocka_unit_test(test_rate_cap),
		cmocka_unit_test(test_queue_bound),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
