// SPDX-License-Identifier: Apache-2.0
/*
 * The pool of store connections behind pr_store_pool.h: a table of
 * reader slots (a connection, the generation it was opened in, whether it
 * is lent out) and the writer, each under the pool's locks. Connections
 * are opened and closed outside the lock: opening one derives the key
 * (tens of milliseconds with a passphrase) and must not hold up users of
 * the others. Any thread.
 */
#include "pr_store_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_READERS 64

struct slot {
	struct pr_store *st; /* NULL while being opened, or free */
	unsigned gen;
	bool used; /* lent out, or being opened */
};

struct pr_store_pool {
	pthread_mutex_t lock;
	struct slot *slots;
	unsigned n_slots;
	unsigned gen; /* bumped by flush: older connections are closed on return */
	char *path;
	char *key;
	struct pr_store_cfg scfg;
	pthread_mutex_t wlock;
	struct pr_store *writer;
};

static void key_free(char *k)
{
	if (k) {
		explicit_bzero(k, strlen(k));
		free(k);
	}
}

static int open_reader(struct pr_store_pool *p, struct pr_store **out, char *err, size_t errlen)
{
	struct pr_store_cfg c = p->scfg;
	int ret;

	c.readonly = true;
	c.create = false;
	ret = pr_store_open(&c, out);
	if (ret)
		snprintf(err, errlen, "%s", pr_store_open_error());
	return ret;
}

int pr_store_pool_create(const struct pr_store_pool_cfg *cfg, struct pr_store_pool **out,
			 int *recovered, char *err, size_t errlen)
{
	struct pr_store_pool *p = calloc(1, sizeof(*p));
	struct pr_store *st = NULL;
	int ret, n;

	*out = NULL;
	if (recovered)
		*recovered = 0;
	if (!p) {
		snprintf(err, errlen, "store pool: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->wlock, NULL);
	p->n_slots = cfg->max_readers ? cfg->max_readers : DEFAULT_READERS;
	p->slots = calloc(p->n_slots, sizeof(*p->slots));
	p->path = strdup(cfg->path);
	p->key = cfg->key && cfg->key[0] ? strdup(cfg->key) : NULL;
	if (!p->slots || !p->path || (cfg->key && cfg->key[0] && !p->key)) {
		snprintf(err, errlen, "store pool: %s", strerror(ENOMEM));
		ret = -ENOMEM;
		goto err;
	}
	p->scfg = (struct pr_store_cfg){
		.path = p->path,
		.key = p->key,
		.store_mode = cfg->store_mode,
		.compress = cfg->compress,
		.block_max_packets = cfg->block_max_packets,
		.block_max_bytes = cfg->block_max_bytes,
	};
	{
		struct pr_store_cfg wc = p->scfg;

		wc.create = true;
		ret = pr_store_open(&wc, &p->writer);
		if (ret) {
			snprintf(err, errlen, "%s", pr_store_open_error());
			goto err;
		}
	}
	n = pr_store_recover(p->writer);
	if (n < 0) {
		ret = n;
		snprintf(err, errlen, "%s: recovery: %s", p->path, pr_store_errmsg(p->writer));
		goto err;
	}
	if (recovered)
		*recovered = n;
	/* One reader now: whatever keeps readers from opening fails at start, not on a call. */
	ret = open_reader(p, &st, err, errlen);
	if (ret)
		goto err;
	p->slots[0] = (struct slot){ .st = st, .gen = 0, .used = false };
	*out = p;
	return 0;
err:
	pr_store_pool_destroy(p);
	return ret;
}

void pr_store_pool_destroy(struct pr_store_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; p->slots && i < p->n_slots; i++)
		pr_store_close(p->slots[i].st);
	pr_store_close(p->writer);
	free(p->slots);
	free(p->path);
	key_free(p->key);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->wlock);
	free(p);
}

int pr_store_pool_get(struct pr_store_pool *p, struct pr_store **out, char *err, size_t errlen)
{
	struct slot *free_slot = NULL;
	struct pr_store *st = NULL;
	unsigned gen;
	int ret;

	*out = NULL;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->n_slots; i++) {
		struct slot *s = &p->slots[i];

		if (!s->used && s->st && s->gen == p->gen) {
			s->used = true;
			*out = s->st;
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		if (!s->used && !s->st && !free_slot)
			free_slot = s;
	}
	if (!free_slot) {
		pthread_mutex_unlock(&p->lock);
		snprintf(err, errlen, "all %u store connections are in use", p->n_slots);
		return -EAGAIN;
	}
	free_slot->used = true;
	gen = p->gen;
	pthread_mutex_unlock(&p->lock);

	ret = open_reader(p, &st, err, errlen);
	pthread_mutex_lock(&p->lock);
	if (ret) {
		free_slot->used = false;
	} else {
		free_slot->st = st;
		free_slot->gen = gen;
		*out = st;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

void pr_store_pool_put(struct pr_store_pool *p, struct pr_store *st)
{
	struct pr_store *close_it = NULL;

	if (!st)
		return;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->n_slots; i++) {
		struct slot *s = &p->slots[i];

		if (s->st != st)
			continue;
		s->used = false;
		if (s->gen != p->gen) {
			close_it = st;
			s->st = NULL;
		}
		break;
	}
	pthread_mutex_unlock(&p->lock);
	pr_store_close(close_it);
}

struct pr_store *pr_store_pool_writer_get(struct pr_store_pool *p)
{
	pthread_mutex_lock(&p->wlock);
	return p->writer;
}

void pr_store_pool_writer_put(struct pr_store_pool *p)
{
	pthread_mutex_unlock(&p->wlock);
}

void pr_store_pool_flush(struct pr_store_pool *p)
{
	struct pr_store **idle = NULL;
	unsigned n = 0;

	pthread_mutex_lock(&p->lock);
	p->gen++;
	idle = calloc(p->n_slots, sizeof(*idle));
	for (unsigned i = 0; idle && i < p->n_slots; i++) {
		struct slot *s = &p->slots[i];

		if (!s->used && s->st) {
			idle[n++] = s->st;
			s->st = NULL;
		}
	}
	pthread_mutex_unlock(&p->lock);
	/*
	 * Without memory for the list the idle readers stay open until they
	 * are next lent out and given back (their generation is old now).
	 */
	for (unsigned i = 0; i < n; i++)
		pr_store_close(idle[i]);
	free(idle);
}

bool pr_store_pool_writable(struct pr_store_pool *p)
{
	/* Fixed at create: no lock needed to read it. */
	return !pr_store_is_readonly(p->writer);
}

void pr_store_pool_counts(struct pr_store_pool *p, unsigned *open, unsigned *in_use, unsigned *max)
{
	unsigned o = 0, u = 0;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->n_slots; i++) {
		o += p->slots[i].st != NULL;
		u += p->slots[i].used;
	}
	pthread_mutex_unlock(&p->lock);
	if (open)
		*open = o;
	if (in_use)
		*in_use = u;
	if (max)
		*max = p->n_slots;
}
