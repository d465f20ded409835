/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store connections for a daemon's front ends. A store connection is used
 * by one thread at a time (pr_store.h), and a reader that walks packets
 * keeps per-connection buffers (the segment sink's read buffer) across
 * calls, so two readers may never share one. The pool hands out
 * read-only connections, each to one user until it gives it back, opens
 * them as needed up to a limit (opening costs the key derivation of a
 * passphrase: the pool keeps them for the next user), and keeps one
 * read-write connection, created with the pool, for the calls that write
 * (deleting a session), behind a lock.
 *
 * Creating the pool creates the store if it does not exist (the daemon
 * captures into it) and marks sessions of writers that died as
 * interrupted, as every command does.
 *
 * After a deletion, pr_store_pool_flush() drops the idle readers and has
 * those in use closed when they come back: a reader caches the key of the
 * last segment it read, which must not outlive the segment.
 *
 * Any thread; the pool has its own lock.
 */
#ifndef PR_STORE_POOL_H
#define PR_STORE_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "pr_store.h"

struct pr_store_pool_cfg {
	const char *path;
	const char *key; /* copied (wiped on destroy); NULL: a plaintext store */
	unsigned max_readers; /* read-only connections at once; 0: 64 */
	/* Of a store this pool creates (see struct pr_store_cfg). */
	enum pr_store_mode store_mode;
	bool compress;
	uint32_t block_max_packets;
	uint32_t block_max_bytes;
};

struct pr_store_pool;

/*
 * Open the writer (creating the store if needed, recovering interrupted
 * sessions) and one reader, so that a wrong key fails here. Returns 0 or
 * the negative errno of pr_store_open() (-EKEYREJECTED, -EBADMSG, ...)
 * with err saying why. *recovered (may be NULL): sessions marked
 * interrupted.
 */
int pr_store_pool_create(const struct pr_store_pool_cfg *cfg, struct pr_store_pool **out,
			 int *recovered, char *err, size_t errlen);
/* Every connection must have been given back. NULL is a no-op. */
void pr_store_pool_destroy(struct pr_store_pool *p);

/*
 * A read-only connection, the caller's alone until pr_store_pool_put().
 * Returns 0, -EAGAIN when max_readers are in use, or the errno of
 * opening one (err says why).
 */
int pr_store_pool_get(struct pr_store_pool *p, struct pr_store **out, char *err, size_t errlen);
/* Give it back. NULL is a no-op. */
void pr_store_pool_put(struct pr_store_pool *p, struct pr_store *st);

/*
 * The read-write connection, locked for the caller until
 * pr_store_pool_writer_put(). Blocks while another thread has it.
 */
struct pr_store *pr_store_pool_writer_get(struct pr_store_pool *p);
void pr_store_pool_writer_put(struct pr_store_pool *p);

/* Close idle readers now, and readers in use when they come back. */
void pr_store_pool_flush(struct pr_store_pool *p);

/* Whether the store could be written (the writer opened read-write). */
bool pr_store_pool_writable(struct pr_store_pool *p);

/* Readers open, in use, and the limit. */
void pr_store_pool_counts(struct pr_store_pool *p, unsigned *open, unsigned *in_use, unsigned *max);

#endif /* PR_STORE_POOL_H */
