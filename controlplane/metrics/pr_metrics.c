// SPDX-License-Identifier: Apache-2.0
/*
 * The metrics registry behind pr_metrics.h. Families sit in a list under
 * the registry's lock; the series of a family in a list under the
 * family's lock, found by a hash of their label values. Values are C11
 * atomics updated with relaxed ordering: a scrape wants each number, not
 * a snapshot that is consistent across numbers, so no update ever waits.
 * Gauges and histogram sums keep a double's bits in a uint64_t and add
 * through compare-and-swap. Everything is freed by pr_metrics_destroy().
 */
#define _GNU_SOURCE /* open_memstream */
#include "pr_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct pr_metric_series {
	struct pr_metric *fam;
	struct pr_metric_series *next;
	uint64_t hash;
	atomic_bool hidden;
	char **values;
	/* counter: the count; gauge: a double's bits */
	_Atomic uint64_t v;
	/* histogram: the sum's bits, and counts per bucket (not cumulative), +Inf last */
	_Atomic uint64_t sum_bits;
	_Atomic uint64_t *counts;
};

struct pr_metric {
	struct pr_metric *next;
	enum pr_metric_type type;
	char *name;
	char *help;
	char *labels[PR_METRIC_MAX_LABELS];
	unsigned n_labels;
	double buckets[PR_METRIC_MAX_BUCKETS];
	unsigned n_buckets;
	unsigned max_series;
	pthread_mutex_t lock; /* the series list */
	struct pr_metric_series *head, **tail;
	unsigned n_series;
};

struct collector {
	struct collector *next;
	pr_metrics_collect_fn fn;
	void *ctx;
};

struct pr_metrics {
	/* families and collectors lists */
	pthread_mutex_t lock;
	/*
	 * Held for a whole rendering: collectors write gauges that the same
	 * rendering reads, and removing a collector waits for it here.
	 */
	pthread_mutex_t render_lock;
	struct pr_metric *head, **tail;
	struct collector *collectors;
};

static uint64_t dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bitsd(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

int pr_metrics_create(struct pr_metrics **out)
{
	struct pr_metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->render_lock, NULL);
	m->tail = &m->head;
	*out = m;
	return 0;
}

static void series_free(struct pr_metric_series *s, unsigned n_labels)
{
	if (s->values)
		for (unsigned i = 0; i < n_labels; i++)
			free(s->values[i]);
	free(s->values);
	free(s->counts);
	free(s);
}

static void family_free(struct pr_metric *f)
{
	struct pr_metric_series *s, *next;

	if (!f)
		return;
	for (s = f->head; s; s = next) {
		next = s->next;
		series_free(s, f->n_labels);
	}
	for (unsigned i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void pr_metrics_destroy(struct pr_metrics *m)
{
	struct pr_metric *f, *fn;
	struct collector *c, *cn;

	if (!m)
		return;
	for (f = m->head; f; f = fn) {
		fn = f->next;
		family_free(f);
	}
	for (c = m->collectors; c; c = cn) {
		cn = c->next;
		free(c);
	}
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->render_lock);
	free(m);
}

static bool name_ok(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			     (colon && *p == ':');

		if (!alpha && !(p != s && *p >= '0' && *p <= '9'))
			return false;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int def_check(const struct pr_metric_def *def)
{
	if (def->type != PR_METRIC_COUNTER && def->type != PR_METRIC_GAUGE &&
	    def->type != PR_METRIC_HISTOGRAM)
		return -EINVAL;
	if (!name_ok(def->name, true))
		return -EINVAL;
	/* The exposition format's conventions, which promtool checks too. */
	if ((def->type == PR_METRIC_COUNTER) != ends_with(def->name, "_total"))
		return -EINVAL;
	if (def->n_labels > PR_METRIC_MAX_LABELS || (def->n_labels && !def->labels))
		return -EINVAL;
	for (unsigned i = 0; i < def->n_labels; i++) {
		if (!name_ok(def->labels[i], false) || !strncmp(def->labels[i], "__", 2))
			return -EINVAL;
		if (def->type == PR_METRIC_HISTOGRAM && !strcmp(def->labels[i], "le"))
			return -EINVAL;
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(def->labels[i], def->labels[k]))
				return -EINVAL;
	}
	if (def->type == PR_METRIC_HISTOGRAM) {
		if (!def->n_buckets || def->n_buckets > PR_METRIC_MAX_BUCKETS || !def->buckets)
			return -EINVAL;
		for (unsigned i = 0; i < def->n_buckets; i++)
			if (!isfinite(def->buckets[i]) ||
			    (i && !(def->buckets[i] > def->buckets[i - 1])))
				return -EINVAL;
	} else if (def->n_buckets) {
		return -EINVAL;
	}
	return 0;
}

static struct pr_metric *find_locked(struct pr_metrics *m, const char *name)
{
	for (struct pr_metric *f = m->head; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

int pr_metrics_register(struct pr_metrics *m, const struct pr_metric_def *def,
			struct pr_metric **out)
{
	struct pr_metric *f = NULL;
	int err;

	if (out)
		*out = NULL;
	if ((err = def_check(def)))
		return err;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->tail = &f->head;
	f->type = def->type;
	f->name = strdup(def->name);
	f->help = def->help ? strdup(def->help) : NULL;
	f->n_labels = def->n_labels;
	f->n_buckets = def->n_buckets;
	f->max_series = def->max_series ? def->max_series : PR_METRIC_DEFAULT_MAX_SERIES;
	if (def->n_buckets)
		memcpy(f->buckets, def->buckets, def->n_buckets * sizeof(double));
	err = -ENOMEM;
	if (!f->name || (def->help && !f->help))
		goto fail;
	for (unsigned i = 0; i < def->n_labels; i++)
		if (!(f->labels[i] = strdup(def->labels[i])))
			goto fail;
	pthread_mutex_lock(&m->lock);
	if (find_locked(m, f->name)) {
		pthread_mutex_unlock(&m->lock);
		err = -EEXIST;
		goto fail;
	}
	*m->tail = f;
	m->tail = &f->next;
	pthread_mutex_unlock(&m->lock);
	if (out)
		*out = f;
	return 0;
fail:
	family_free(f);
	return err;
}

struct pr_metric *pr_metrics_find(struct pr_metrics *m, const char *name)
{
	struct pr_metric *f;

	pthread_mutex_lock(&m->lock);
	f = find_locked(m, name);
	pthread_mutex_unlock(&m->lock);
	return f;
}

/* FNV-1a over the values, each followed by a 0 byte so that ("ab","c") != ("a","bc"). */
static uint64_t values_hash(const char *const *values, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
			h = (h ^ *p) * 0x100000001b3ull;
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool values_equal(const struct pr_metric_series *s, const char *const *values, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(s->values[i], values[i]))
			return false;
	return true;
}

int pr_metric_series(struct pr_metric *fam, const char *const *values,
		     struct pr_metric_series **out)
{
	struct pr_metric_series *s;
	uint64_t h;
	int err = -ENOMEM;

	*out = NULL;
	if (fam->n_labels && !values)
		return -EINVAL;
	for (unsigned i = 0; i < fam->n_labels; i++)
		if (!values[i])
			return -EINVAL;
	h = values_hash(values, fam->n_labels);
	pthread_mutex_lock(&fam->lock);
	for (s = fam->head; s; s = s->next)
		if (s->hash == h && values_equal(s, values, fam->n_labels)) {
			atomic_store_explicit(&s->hidden, false, memory_order_relaxed);
			*out = s;
			pthread_mutex_unlock(&fam->lock);
			return 0;
		}
	if (fam->n_series >= fam->max_series) {
		err = -ENOSPC;
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->fam = fam;
	s->hash = h;
	if (fam->type == PR_METRIC_GAUGE)
		atomic_init(&s->v, dbits(0.0));
	atomic_init(&s->sum_bits, dbits(0.0));
	if (fam->n_labels) {
		s->values = calloc(fam->n_labels, sizeof(*s->values));
		if (!s->values) {
			free(s);
			goto out;
		}
		for (unsigned i = 0; i < fam->n_labels; i++)
			if (!(s->values[i] = strdup(values[i]))) {
				series_free(s, fam->n_labels);
				goto out;
			}
	}
	if (fam->type == PR_METRIC_HISTOGRAM) {
		s->counts = calloc(fam->n_buckets + 1, sizeof(*s->counts));
		if (!s->counts) {
			series_free(s, fam->n_labels);
			goto out;
		}
	}
	*fam->tail = s;
	fam->tail = &s->next;
	fam->n_series++;
	*out = s;
	err = 0;
out:
	pthread_mutex_unlock(&fam->lock);
	return err;
}

/* An update shows a hidden series again; the check is a load, the store rare. */
static void unhide(struct pr_metric_series *s)
{
	if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
		atomic_store_explicit(&s->hidden, false, memory_order_relaxed);
}

void pr_metric_inc(struct pr_metric_series *s, uint64_t n)
{
	if (!s || s->fam->type != PR_METRIC_COUNTER)
		return;
	atomic_fetch_add_explicit(&s->v, n, memory_order_relaxed);
	unhide(s);
}

void pr_metric_counter_set(struct pr_metric_series *s, uint64_t v)
{
	uint64_t cur;

	if (!s || s->fam->type != PR_METRIC_COUNTER)
		return;
	cur = atomic_load_explicit(&s->v, memory_order_relaxed);
	while (v > cur && !atomic_compare_exchange_weak_explicit(
				  &s->v, &cur, v, memory_order_relaxed, memory_order_relaxed))
		;
	unhide(s);
}

void pr_metric_set(struct pr_metric_series *s, double v)
{
	if (!s || s->fam->type != PR_METRIC_GAUGE)
		return;
	atomic_store_explicit(&s->v, dbits(v), memory_order_relaxed);
	unhide(s);
}

static void add_double(_Atomic uint64_t *a, double delta)
{
	uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(a, &cur, dbits(bitsd(cur) + delta),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

void pr_metric_add(struct pr_metric_series *s, double delta)
{
	if (!s || s->fam->type != PR_METRIC_GAUGE)
		return;
	add_double(&s->v, delta);
	unhide(s);
}

void pr_metric_observe(struct pr_metric_series *s, double v)
{
	const struct pr_metric *f;
	unsigned lo = 0, hi;

	if (!s || s->fam->type != PR_METRIC_HISTOGRAM || isnan(v))
		return;
	f = s->fam;
	/* The first bound >= v; n_buckets (the +Inf bucket) when there is none. */
	hi = f->n_buckets;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (f->buckets[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_fetch_add_explicit(&s->counts[lo], 1, memory_order_relaxed);
	add_double(&s->sum_bits, v);
	unhide(s);
}

void pr_metric_series_hide(struct pr_metric_series *s)
{
	if (s)
		atomic_store_explicit(&s->hidden, true, memory_order_relaxed);
}

double pr_metric_series_value(const struct pr_metric_series *s, double *sum)
{
	uint64_t n = 0;

	switch (s->fam->type) {
	case PR_METRIC_COUNTER:
		return (double)atomic_load_explicit(&s->v, memory_order_relaxed);
	case PR_METRIC_GAUGE:
		return bitsd(atomic_load_explicit(&s->v, memory_order_relaxed));
	case PR_METRIC_HISTOGRAM:
		for (unsigned i = 0; i <= s->fam->n_buckets; i++)
			n += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
		if (sum)
			*sum = bitsd(atomic_load_explicit(&s->sum_bits, memory_order_relaxed));
		return (double)n;
	}
	return 0;
}

int pr_metrics_add_collector(struct pr_metrics *m, pr_metrics_collect_fn fn, void *ctx)
{
	struct collector *c = calloc(1, sizeof(*c)), **pp;

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->ctx = ctx;
	pthread_mutex_lock(&m->lock);
	/* At the end: collectors run in the order they were added. */
	for (pp = &m->collectors; *pp; pp = &(*pp)->next)
		;
	*pp = c;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void pr_metrics_remove_collector(struct pr_metrics *m, pr_metrics_collect_fn fn, void *ctx)
{
	struct collector **pp, *c = NULL;

	/* The render lock first: a rendering that is running this collector finishes. */
	pthread_mutex_lock(&m->render_lock);
	pthread_mutex_lock(&m->lock);
	for (pp = &m->collectors; *pp; pp = &(*pp)->next)
		if ((*pp)->fn == fn && (*pp)->ctx == ctx) {
			c = *pp;
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&m->render_lock);
	free(c);
}

/*
 * A double as the text format wants it: NaN, +Inf, -Inf, integers
 * without a fraction, others in the fewest digits that read back as
 * the same double (so 0.1 is "0.1", not "0.10000000000000001").
 */
static void fmt_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		snprintf(buf, len, "%.0f", v);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* Label values: backslash, double quote and newline are escaped. */
static void put_label_value(FILE *f, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
}

/* HELP text: backslash and newline are escaped. */
static void put_help(FILE *f, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
}

/* name{a="x",b="y"[,le="z"]} */
static void put_name(FILE *f, const struct pr_metric *fam, const struct pr_metric_series *s,
		     const char *suffix, const char *le)
{
	bool any = false;

	fputs(fam->name, f);
	fputs(suffix, f);
	for (unsigned i = 0; i < fam->n_labels; i++) {
		fputc(any ? ',' : '{', f);
		fprintf(f, "%s=\"", fam->labels[i]);
		put_label_value(f, s->values[i]);
		fputc('"', f);
		any = true;
	}
	if (le) {
		fputc(any ? ',' : '{', f);
		fprintf(f, "le=\"%s\"", le);
		any = true;
	}
	if (any)
		fputc('}', f);
}

static void render_series(FILE *f, const struct pr_metric *fam, struct pr_metric_series *s)
{
	char num[64], le[64];
	uint64_t cum = 0;

	switch (fam->type) {
	case PR_METRIC_COUNTER:
		put_name(f, fam, s, "", NULL);
		fprintf(f, " %" PRIu64 "\n", atomic_load_explicit(&s->v, memory_order_relaxed));
		break;
	case PR_METRIC_GAUGE:
		fmt_double(num, sizeof(num),
			   bitsd(atomic_load_explicit(&s->v, memory_order_relaxed)));
		put_name(f, fam, s, "", NULL);
		fprintf(f, " %s\n", num);
		break;
	case PR_METRIC_HISTOGRAM:
		/*
		 * _count is the +Inf bucket as rendered, so the lines agree with
		 * each other even while observations land between the loads.
		 */
		for (unsigned i = 0; i <= fam->n_buckets; i++) {
			cum += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
			if (i < fam->n_buckets)
				fmt_double(le, sizeof(le), fam->buckets[i]);
			else
				snprintf(le, sizeof(le), "+Inf");
			put_name(f, fam, s, "_bucket", le);
			fprintf(f, " %" PRIu64 "\n", cum);
		}
		fmt_double(num, sizeof(num),
			   bitsd(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
		put_name(f, fam, s, "_sum", NULL);
		fprintf(f, " %s\n", num);
		put_name(f, fam, s, "_count", NULL);
		fprintf(f, " %" PRIu64 "\n", cum);
		break;
	}
}

static const char *type_name(enum pr_metric_type t)
{
	switch (t) {
	case PR_METRIC_COUNTER:
		return "counter";
	case PR_METRIC_GAUGE:
		return "gauge";
	case PR_METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

int pr_metrics_render(struct pr_metrics *m, char **out, size_t *len)
{
	struct pr_metric *fam;
	struct collector *c;
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	if (len)
		*len = 0;
	pthread_mutex_lock(&m->render_lock);
	/*
	 * Removal of a collector takes the render lock we hold, so no entry
	 * goes away during the walk; m->lock is taken only to read the links,
	 * which an addition may write, and is not held across a call: a
	 * collector looks series up, which takes family locks.
	 */
	pthread_mutex_lock(&m->lock);
	c = m->collectors;
	pthread_mutex_unlock(&m->lock);
	while (c) {
		c->fn(c->ctx, m);
		pthread_mutex_lock(&m->lock);
		c = c->next;
		pthread_mutex_unlock(&m->lock);
	}
	f = open_memstream(&buf, &n);
	if (!f) {
		pthread_mutex_unlock(&m->render_lock);
		return -ENOMEM;
	}
	/* Families are only appended, never removed before destroy. */
	pthread_mutex_lock(&m->lock);
	fam = m->head;
	pthread_mutex_unlock(&m->lock);
	while (fam) {
		struct pr_metric_series *s;

		if (fam->help) {
			fprintf(f, "# HELP %s ", fam->name);
			put_help(f, fam->help);
			fputc('\n', f);
		}
		fprintf(f, "# TYPE %s %s\n", fam->name, type_name(fam->type));
		pthread_mutex_lock(&fam->lock);
		for (s = fam->head; s; s = s->next)
			if (!atomic_load_explicit(&s->hidden, memory_order_relaxed))
				render_series(f, fam, s);
		pthread_mutex_unlock(&fam->lock);
		pthread_mutex_lock(&m->lock);
		fam = fam->next;
		pthread_mutex_unlock(&m->lock);
	}
	pthread_mutex_unlock(&m->render_lock);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	if (len)
		*len = n;
	return 0;
}
