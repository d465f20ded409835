// SPDX-License-Identifier: Apache-2.0
/*
 * The write gate: the write transactions of this process take turns, in
 * the order they asked.
 *
 * SQLite lets one connection write at a time. One that finds the lock
 * taken sleeps and tries again (busy_timeout), up to 100 ms between tries.
 * An ingest begins its next transaction with its next record after each
 * commit, so in a busy daemon the lock is free only for moments: a second
 * writer of the same process (another capture's ingest, a capture's
 * session start, a DeleteSession) slept through every one of them and
 * failed after BUSY_TIMEOUT_MS with "database is locked" (CI met it with
 * two captures started 0.4 s apart). Here those writers queue instead,
 * each on its own condition variable, and the holder hands the gate to the
 * oldest waiter when its transaction ends: a writer waits for at most the
 * transactions queued before it (an ingest holds one for at most
 * commit_interval_ms). Writers in other processes still meet SQLite's
 * busy handler.
 *
 * A thread that holds the gate and begins a transaction on a second
 * connection does not queue behind itself: it passes (counted), and SQLite
 * decides between its two connections as before.
 */
#define PR_LOG_MODULE "store"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "pr_store_int.h"

/* Longest wait for the gate: above the longest commit interval (60 s). */
#define GATE_TIMEOUT_MS 120000

struct waiter {
	pthread_cond_t cv;
	pthread_t thread;
	bool granted;
	struct waiter *next;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct waiter *g_head, *g_tail; /* queued, oldest first */
static bool g_owned;
static pthread_t g_owner;
static unsigned g_depth; /* transactions the owner holds through the gate */

static void queue_remove(struct waiter *w)
{
	struct waiter **pp = &g_head, *prev = NULL;

	while (*pp && *pp != w) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = w->next;
	if (g_tail == w)
		g_tail = prev;
}

int pr_store_gate_enter(struct pr_store *st)
{
	struct waiter w = { .thread = pthread_self() };
	pthread_condattr_t ca;
	struct timespec until;
	int rc = 0;

	if (st->gate_held)
		return 0;
	pthread_mutex_lock(&g_mu);
	if (!g_owned || pthread_equal(g_owner, w.thread)) {
		g_owned = true;
		g_owner = w.thread;
		g_depth++;
		st->gate_held = true;
		pthread_mutex_unlock(&g_mu);
		return 0;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &ca);
	pthread_condattr_destroy(&ca);
	if (g_tail)
		g_tail->next = &w;
	else
		g_head = &w;
	g_tail = &w;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += GATE_TIMEOUT_MS / 1000;
	while (!w.granted && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w.cv, &g_mu, &until);
	if (w.granted) {
		/* The holder made this thread the owner before it signalled. */
		st->gate_held = true;
		rc = 0;
	} else {
		queue_remove(&w);
		rc = pr_store_fail(st, -EBUSY,
				   "%s: another writer of this process held the store for %d s",
				   st->path, GATE_TIMEOUT_MS / 1000);
	}
	pthread_mutex_unlock(&g_mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

void pr_store_gate_leave(struct pr_store *st)
{
	struct waiter *w;

	if (!st->gate_held)
		return;
	st->gate_held = false;
	pthread_mutex_lock(&g_mu);
	if (--g_depth == 0) {
		w = g_head;
		if (w) {
			g_head = w->next;
			if (!g_head)
				g_tail = NULL;
			w->next = NULL;
			g_owner = w->thread;
			g_depth = 1;
			w->granted = true;
			pthread_cond_signal(&w->cv);
		} else {
			g_owned = false;
		}
	}
	pthread_mutex_unlock(&g_mu);
}
