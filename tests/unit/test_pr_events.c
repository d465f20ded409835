// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the event bus (controlplane/events/pr_events.c): event
 * numbers and data (JSON checked and made compact, bad JSON refused),
 * subscriptions from now and resumed (Last-Event-ID semantics: after N,
 * from the oldest kept, from an earlier run, from too far back), slow
 * subscribers that lose the oldest events and are told how many while
 * publishers never wait, timeouts, cancel and close waking a blocked
 * reader, events that outlive the ring while a reader holds them, and a
 * race of publishers and readers in several threads whose counts must add
 * up exactly (run under ThreadSanitizer by the tsan preset).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_events.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct pr_events *bus_new(uint32_t history, uint64_t first)
{
	struct pr_events_cfg cfg = { .history = history, .first_seq = first };
	struct pr_events *bus;

	assert_int_equal(pr_events_create(&cfg, &bus), 0);
	return bus;
}

static struct pr_events_sub *sub_new(struct pr_events *bus, bool resume, uint64_t after,
				     uint32_t backlog)
{
	struct pr_events_sub_cfg cfg = { .resume = resume,
					 .after_seq = after,
					 .max_backlog = backlog };
	struct pr_events_sub *s;

	assert_int_equal(pr_events_subscribe(bus, &cfg, &s), 0);
	return s;
}

/* Read one event now; check its number and what was lost before it. */
static void expect_next(struct pr_events_sub *s, uint64_t seq, uint64_t lost, bool earlier)
{
	struct pr_events_gap gap;
	struct pr_event *ev;

	assert_int_equal(pr_events_next(s, 0, &ev, &gap), 1);
	assert_int_equal(ev->seq, seq);
	assert_int_equal(gap.lost, lost);
	assert_int_equal(gap.earlier_run, earlier);
	pr_event_put(ev);
}

static void expect_empty(struct pr_events_sub *s)
{
	struct pr_event *ev;

	assert_int_equal(pr_events_next(s, 0, &ev, NULL), 0);
	assert_null(ev);
}

static void test_publish_data(void **state)
{
	struct pr_events *bus = bus_new(8, 100);
	struct pr_events_sub *s = sub_new(bus, false, 0, 0);
	struct pr_event *ev;
	uint64_t seq = 0;
	char big[PR_EVENT_DATA_MAX + 64];

	(void)state;
	assert_int_equal(pr_events_publish(bus, PR_EVENT_CAPTURE_STARTED, 7,
					   " {\n \"interface\" : \"eth0\",\n \"n\": [1, 2] }\n",
					   &seq),
			 0);
	assert_int_equal(seq, 100);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, NULL, &seq), 0);
	assert_int_equal(seq, 101);
	assert_int_equal(pr_events_next(s, 0, &ev, NULL), 1);
	assert_int_equal(ev->seq, 100);
	assert_int_equal(ev->type, PR_EVENT_CAPTURE_STARTED);
	assert_int_equal(ev->session_id, 7);
	assert_true(ev->ts_ns > 1600000000000000000ull);
	assert_string_equal(ev->data, "{\"interface\":\"eth0\",\"n\":[1,2]}");
	assert_int_equal(ev->data_len, strlen(ev->data));
	pr_event_put(ev);
	assert_int_equal(pr_events_next(s, 0, &ev, NULL), 1);
	assert_string_equal(ev->data, "{}");
	pr_event_put(ev);

	/* Refused: not one JSON object, bad UTF-8, too big, unknown types. */
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "[1]", NULL), -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "\"s\"", NULL), -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "{\"a\":1} x", NULL), -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "{\"a\":1", NULL), -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "{\"a\":NaN}", NULL), -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "{\"a\":[{\"b\":-Infinity}]}",
					   NULL),
			 -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "{\"a\":\"\xff\"}", NULL),
			 -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, "", NULL), -EINVAL);
	assert_int_equal(pr_events_publish(bus, 0, 0, NULL, NULL), -EINVAL);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_TYPE_MAX, 0, NULL, NULL), -EINVAL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, big, NULL), -EMSGSIZE);
	/* Nothing refused took a number. */
	assert_int_equal(pr_events_publish(bus, PR_EVENT_DROPS, 0, "{\"lost\":5}", &seq), 0);
	assert_int_equal(seq, 102);
	expect_next(s, 102, 0, false);
	expect_empty(s);

	assert_string_equal(pr_event_type_name(PR_EVENT_CAPTURE_STOPPED), "capture_stopped");
	assert_null(pr_event_type_name(0));
	assert_null(pr_event_type_name(PR_EVENT_TYPE_MAX));
	assert_int_equal(pr_event_type_from_name("alert"), PR_EVENT_ALERT);
	assert_int_equal(pr_event_type_from_name("nope"), 0);
	pr_events_unsubscribe(s);
	pr_events_destroy(bus);
}

static void test_default_first_seq(void **state)
{
	struct pr_events *a, *b;
	struct pr_events_stats st;
	struct timespec ts;
	uint64_t now_us;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	assert_int_equal(pr_events_create(NULL, &a), 0);
	pr_events_get_stats(a, &st);
	/* The wall clock in microseconds: a later run starts above an earlier one. */
	assert_true(st.first_seq >= now_us && st.first_seq < now_us + 10000000u);
	assert_int_equal(st.last_seq, st.first_seq - 1);
	usleep(2000);
	assert_int_equal(pr_events_create(NULL, &b), 0);
	{
		struct pr_events_stats st2;

		pr_events_get_stats(b, &st2);
		assert_true(st2.first_seq > st.first_seq);
	}
	pr_events_destroy(a);
	pr_events_destroy(b);
}

static void test_from_now_and_resume(void **state)
{
	struct pr_events *bus = bus_new(4, 10);
	struct pr_events_sub *now, *after11, *all, *future, *earlier, *old;

	(void)state;
	for (int i = 0; i < 3; i++) /* 10, 11, 12 */
		assert_int_equal(pr_events_publish(bus, PR_EVENT_DROPS, 0, NULL, NULL), 0);
	now = sub_new(bus, false, 0, 0);
	after11 = sub_new(bus, true, 11, 0);
	all = sub_new(bus, true, 0, 0);
	future = sub_new(bus, true, 1000, 0);
	earlier = sub_new(bus, true, 5, 0);
	expect_empty(now);
	expect_next(after11, 12, 0, false);
	expect_empty(after11);
	expect_next(all, 10, 0, false);
	expect_next(all, 11, 0, false);
	expect_next(all, 12, 0, false);
	expect_empty(future);
	/* 5 is not a number of this bus: an earlier run's; what is kept comes, flagged. */
	expect_next(earlier, 10, 0, true);
	expect_next(earlier, 11, 0, false);

	for (int i = 0; i < 3; i++) /* 13, 14, 15: the ring (4) now holds 12..15 */
		assert_int_equal(pr_events_publish(bus, PR_EVENT_DROPS, 0, NULL, NULL), 0);
	expect_next(now, 13, 0, false);
	expect_next(future, 13, 0, false);
	/* Resuming after 10: 11 is gone, 12.. are kept. */
	old = sub_new(bus, true, 10, 0);
	expect_next(old, 12, 1, false);
	/* earlier read up to 11; 12 is still there. */
	expect_next(earlier, 12, 0, false);
	pr_events_unsubscribe(now);
	pr_events_unsubscribe(after11);
	pr_events_unsubscribe(all);
	pr_events_unsubscribe(future);
	pr_events_unsubscribe(earlier);
	pr_events_unsubscribe(old);
	pr_events_destroy(bus);
}

static void test_slow_subscriber(void **state)
{
	struct pr_events *bus = bus_new(16, 1);
	struct pr_events_sub *slow = sub_new(bus, false, 0, 3);
	struct pr_events_sub *ring = sub_new(bus, false, 0, 0);
	struct pr_events_stats st;

	(void)state;
	/* Ten events; the slow one keeps the newest three and loses seven. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, NULL, NULL), 0);
	expect_next(slow, 8, 7, false);
	expect_next(slow, 9, 0, false);
	expect_next(slow, 10, 0, false);
	expect_empty(slow);
	/* The other one's bound is the ring (16): nothing lost yet. */
	expect_next(ring, 1, 0, false);
	for (int i = 0; i < 20; i++) /* 11..30: the ring holds 15..30 */
		assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, NULL, NULL), 0);
	expect_next(ring, 15, 13, false);
	pr_events_get_stats(bus, &st);
	assert_int_equal(st.published[PR_EVENT_ALERT], 30);
	assert_int_equal(st.last_seq, 30);
	assert_int_equal(st.subscribers, 2);
	/* slow: 7 said, then 28..30 kept of 11..30, 17 more lost. */
	assert_int_equal(st.lost, 7 + 17 + 13);
	pr_events_unsubscribe(slow);
	pr_events_unsubscribe(ring);
	pr_events_get_stats(bus, &st);
	assert_int_equal(st.lost, 7 + 17 + 13);
	assert_int_equal(st.subscribers, 0);
	pr_events_destroy(bus);
}

static void test_event_outlives_ring(void **state)
{
	struct pr_events *bus = bus_new(2, 1);
	struct pr_events_sub *s = sub_new(bus, false, 0, 0);
	struct pr_event *held;

	(void)state;
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 3, "{\"keep\":\"me\"}", NULL), 0);
	assert_int_equal(pr_events_next(s, 0, &held, NULL), 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(pr_events_publish(bus, PR_EVENT_DROPS, 0, NULL, NULL), 0);
	/* Overwritten in the ring, still whole for the reader holding it (ASan would see). */
	assert_string_equal(held->data, "{\"keep\":\"me\"}");
	assert_int_equal(held->session_id, 3);
	pr_event_put(held);
	pr_event_put(NULL);
	pr_events_unsubscribe(s);
	pr_events_destroy(bus);
}

struct waiter {
	struct pr_events_sub *s;
	int timeout_ms;
	int ret;
	uint64_t waited_ms;
};

static void *wait_main(void *arg)
{
	struct waiter *w = arg;
	struct pr_event *ev = NULL;
	uint64_t t0 = mono_ms();

	w->ret = pr_events_next(w->s, w->timeout_ms, &ev, NULL);
	w->waited_ms = mono_ms() - t0;
	pr_event_put(ev);
	return NULL;
}

static void test_wait_timeout_cancel_close(void **state)
{
	struct pr_events *bus = bus_new(8, 1);
	struct pr_events_sub *s = sub_new(bus, false, 0, 0);
	struct pr_events_sub *s2 = sub_new(bus, false, 0, 0);
	struct waiter w = { .s = s, .timeout_ms = 150 };
	struct waiter w2 = { .s = s2, .timeout_ms = -1 };
	pthread_t t, t2;
	struct pr_event *ev;
	uint64_t t0;

	(void)state;
	/* A timeout returns 0 after about that long. */
	t0 = mono_ms();
	assert_int_equal(pr_events_next(s, 100, &ev, NULL), 0);
	assert_true(mono_ms() - t0 >= 95);
	/* A publish wakes a waiting reader at once. */
	w.timeout_ms = 10000;
	assert_int_equal(pthread_create(&t, NULL, wait_main, &w), 0);
	usleep(50000);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_CAPTURE_STARTED, 1, NULL, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.ret, 1);
	assert_true(w.waited_ms < 5000);
	/* Cancel wakes one reader blocked forever, and only that one. */
	assert_int_equal(pthread_create(&t, NULL, wait_main, &w), 0);
	assert_int_equal(pthread_create(&t2, NULL, wait_main, &w2), 0);
	usleep(50000);
	/* s2 gets the capture_started first; then waits again below. */
	pthread_join(t2, NULL);
	assert_int_equal(w2.ret, 1);
	assert_int_equal(pthread_create(&t2, NULL, wait_main, &w2), 0);
	usleep(20000);
	pr_events_sub_cancel(s);
	pthread_join(t, NULL);
	assert_int_equal(w.ret, -ECANCELED);
	assert_int_equal(pr_events_next(s, 0, &ev, NULL), -ECANCELED);
	/* Close wakes the rest with -ESHUTDOWN; publishing and subscribing then fail. */
	pr_events_close(bus);
	pthread_join(t2, NULL);
	assert_int_equal(w2.ret, -ESHUTDOWN);
	assert_int_equal(pr_events_publish(bus, PR_EVENT_ALERT, 0, NULL, NULL), -ESHUTDOWN);
	{
		struct pr_events_sub *late;

		assert_int_equal(pr_events_subscribe(bus, NULL, &late), -ESHUTDOWN);
		assert_null(late);
	}
	pr_events_unsubscribe(s);
	pr_events_unsubscribe(s2);
	pr_events_unsubscribe(NULL);
	pr_events_destroy(bus);
	pr_events_destroy(NULL);
}

#define PUBLISHERS 3
#define PER_PUBLISHER 20000
#define READERS 3

struct reader {
	struct pr_events_sub *s;
	bool slow;
	uint64_t seen, lost, last_seq;
	bool order_ok;
	atomic_bool *done;
};

static void *publish_main(void *arg)
{
	struct pr_events *bus = arg;

	for (int i = 0; i < PER_PUBLISHER; i++) {
		char data[64];

		snprintf(data, sizeof(data), "{\"i\":%d}", i);
		if (pr_events_publish(bus, PR_EVENT_DROPS, 0, data, NULL))
			return (void *)1;
	}
	return NULL;
}

static void *read_main(void *arg)
{
	struct reader *r = arg;

	r->order_ok = true;
	for (;;) {
		struct pr_events_gap gap;
		struct pr_event *ev;
		int ret = pr_events_next(r->s, 20, &ev, &gap);

		if (ret < 0)
			break;
		if (ret == 0) {
			if (atomic_load(r->done))
				break;
			continue;
		}
		/* Numbers grow by one, counting what was lost in between. */
		if (r->last_seq && ev->seq != r->last_seq + 1 + gap.lost)
			r->order_ok = false;
		r->last_seq = ev->seq;
		r->seen++;
		r->lost += gap.lost;
		pr_event_put(ev);
		if (r->slow && r->seen % 8 == 0)
			usleep(1000);
	}
	return NULL;
}

static void test_race(void **state)
{
	struct pr_events *bus = bus_new(256, 1);
	pthread_t pub[PUBLISHERS], rd[READERS];
	struct reader r[READERS];
	atomic_bool done = false;
	struct pr_events_stats st;
	uint64_t total = (uint64_t)PUBLISHERS * PER_PUBLISHER, t0;

	(void)state;
	for (int i = 0; i < READERS; i++) {
		r[i] = (struct reader){ .slow = i == READERS - 1, .done = &done };
		/* Subscribed before any publish: each must account for every event. */
		r[i].s = sub_new(bus, false, 0, r[i].slow ? 16 : 0);
		assert_int_equal(pthread_create(&rd[i], NULL, read_main, &r[i]), 0);
	}
	t0 = mono_ms();
	for (int i = 0; i < PUBLISHERS; i++)
		assert_int_equal(pthread_create(&pub[i], NULL, publish_main, bus), 0);
	for (int i = 0; i < PUBLISHERS; i++) {
		void *ret;

		pthread_join(pub[i], &ret);
		assert_null(ret);
	}
	print_message("%llu events published by %d threads in %llu ms\n", (unsigned long long)total,
		      PUBLISHERS, (unsigned long long)(mono_ms() - t0));
	atomic_store(&done, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	for (int i = 0; i < READERS; i++) {
		assert_true(r[i].order_ok);
		/* The last event is always read, so seen + lost covers every event. */
		assert_int_equal(r[i].seen + r[i].lost, total);
		assert_int_equal(r[i].last_seq, total);
	}
	/* The slow reader, bounded to 16, cannot have kept up with three publishers. */
	assert_true(r[READERS - 1].lost > 0);
	pr_events_get_stats(bus, &st);
	assert_int_equal(st.published[PR_EVENT_DROPS], total);
	{
		uint64_t lost = 0;

		for (int i = 0; i < READERS; i++)
			lost += r[i].lost;
		assert_int_equal(st.lost, lost);
	}
	for (int i = 0; i < READERS; i++)
		pr_events_unsubscribe(r[i].s);
	pr_events_destroy(bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_data),
		cmocka_unit_test(test_default_first_seq),
		cmocka_unit_test(test_from_now_and_resume),
		cmocka_unit_test(test_slow_subscriber),
		cmocka_unit_test(test_event_outlives_ring),
		cmocka_unit_test(test_wait_timeout_cancel_close),
		cmocka_unit_test(test_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
