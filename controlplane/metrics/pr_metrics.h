/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics registry: counters, gauges and histograms, each a family of
 * series told apart by label values, rendered in the Prometheus text
 * exposition format (version 0.0.4) for /metrics.
 *
 * Updates are lock-free: a series is looked up once (under the family's
 * lock) and its pointer kept; pr_metric_inc(), _set(), _add() and
 * _observe() are relaxed atomic operations on it, from any thread. Series
 * live as long as the registry, so a kept pointer never dangles; a series
 * that stops meaning anything (a capture worker that is gone) is hidden,
 * not freed. Rendering runs the registered collectors (which refresh
 * gauges from state that is read rather than pushed: the store's size,
 * ring occupancy), then writes every family in registration order.
 * Registration, lookup and rendering may run in any thread at any time;
 * one registry per process.
 */
#ifndef PR_METRICS_H
#define PR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum pr_metric_type {
	PR_METRIC_COUNTER = 1, /* uint64, only goes up; the name ends in _total */
	PR_METRIC_GAUGE = 2, /* double, any value */
	PR_METRIC_HISTOGRAM = 3, /* counts per bucket, sum and count of observations */
};

/* At most this many labels per family, and histogram buckets (without +Inf). */
#define PR_METRIC_MAX_LABELS 4
#define PR_METRIC_MAX_BUCKETS 32
/* Label combinations per family unless the definition says otherwise. */
#define PR_METRIC_DEFAULT_MAX_SERIES 1024

struct pr_metric_def {
	enum pr_metric_type type;
	const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]* */
	const char *help; /* one line of text; may be NULL */
	const char *const *labels; /* label names, [a-zA-Z_][a-zA-Z0-9_]*, not "__*" */
	unsigned n_labels;
	const double *buckets; /* histogram: upper bounds, strictly ascending, finite */
	unsigned n_buckets;
	/*
	 * Label combinations this family may hold (0: the default). Label
	 * values that come from outside (routes, methods) must not grow a
	 * family without bound: past it, pr_metric_series() says -ENOSPC.
	 */
	unsigned max_series;
};

struct pr_metrics;
struct pr_metric; /* a family */
struct pr_metric_series; /* one label combination of a family */

int pr_metrics_create(struct pr_metrics **out);
/* Frees every family and series. No other thread may use it any more. NULL is a no-op. */
void pr_metrics_destroy(struct pr_metrics *m);

/*
 * Add a family. The definition's strings are copied. Returns 0, -EINVAL
 * for a bad name, label, bucket list or a counter not ending in _total,
 * -EEXIST for a name already registered, -ENOMEM. Any thread.
 */
int pr_metrics_register(struct pr_metrics *m, const struct pr_metric_def *def,
			struct pr_metric **out);
/* The family of that name, NULL if none. Any thread. */
struct pr_metric *pr_metrics_find(struct pr_metrics *m, const char *name);

/*
 * The series of fam with these label values (fam's n_labels of them, in
 * the order of the definition; NULL for a family without labels),
 * created on first use at zero and shown from then on. The pointer is
 * valid until pr_metrics_destroy(): keep it for hot updates. Returns 0,
 * -EINVAL (a NULL value, wrong use), -ENOSPC (max_series reached),
 * -ENOMEM. Any thread; takes the family's lock.
 */
int pr_metric_series(struct pr_metric *fam, const char *const *values,
		     struct pr_metric_series **out);

/* Counters. Any thread, lock-free. */
void pr_metric_inc(struct pr_metric_series *s, uint64_t n);
/*
 * Mirror a cumulative count kept elsewhere (a dataplane core's counter):
 * the series takes v unless v is smaller than what it holds, so a counter
 * never goes down.
 */
void pr_metric_counter_set(struct pr_metric_series *s, uint64_t v);

/* Gauges. Any thread, lock-free. */
void pr_metric_set(struct pr_metric_series *s, double v);
void pr_metric_add(struct pr_metric_series *s, double delta);

/* Histograms: count v in the first bucket whose bound is >= v. Any thread, lock-free. */
void pr_metric_observe(struct pr_metric_series *s, double v);

/*
 * Stop rendering the series (its worker or capture is gone) until it is
 * updated or looked up again. Its values are kept. Any thread.
 */
void pr_metric_series_hide(struct pr_metric_series *s);

/*
 * What a series holds now: a counter's count or a gauge's value; for a
 * histogram the number of observations (and *sum, if sum is not NULL).
 * For /api/v1/stats and tests. Any thread.
 */
double pr_metric_series_value(const struct pr_metric_series *s, double *sum);

/*
 * A collector refreshes gauges just before each rendering. It runs on
 * the rendering thread with the registry's render lock held, so collectors
 * never run twice at once; it must not register families or render.
 */
typedef void (*pr_metrics_collect_fn)(void *ctx, struct pr_metrics *m);
int pr_metrics_add_collector(struct pr_metrics *m, pr_metrics_collect_fn fn, void *ctx);
/* Remove it; once this returns, fn is not running and will not be called. */
void pr_metrics_remove_collector(struct pr_metrics *m, pr_metrics_collect_fn fn, void *ctx);

/*
 * Run the collectors and render every family: "# HELP", "# TYPE" and one
 * line per shown series (a histogram: cumulative _bucket lines with le,
 * _sum and _count). *out is malloc'd and NUL-terminated; the caller frees
 * it. Returns 0 or -ENOMEM. Any thread; renderings are serialised.
 */
int pr_metrics_render(struct pr_metrics *m, char **out, size_t *len);

/* The Content-Type of that text. */
#define PR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif /* PR_METRICS_H */
