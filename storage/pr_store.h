/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The packet store: one SQLCipher database holding sessions, the
 * interfaces of each session, flows, and packets in blocks (pr_block.h).
 * Opening checks the key: a wrong key, or a key for a plaintext file (or
 * none for an encrypted one), is -EKEYREJECTED with a message, never a
 * crash and never a changed file: the key is checked on a connection
 * that cannot write, replay or delete anything (not even a crashed
 * writer's WAL) before a read-write connection exists. A new store's
 * files are created with cfg.file_mode (0600), whatever the umask. The schema is created and migrated with
 * numbered migrations (PRAGMA user_version).
 *
 * Writing is batched: packets go into an in-memory block that becomes one
 * row when it holds block_max_packets packets or block_max_bytes bytes; rows
 * and flow records accumulate in one open transaction until
 * pr_store_commit(). A crash loses at most what was added since the last
 * commit; SQLite's journal keeps the file consistent.
 *
 * No threads, no sockets. One struct pr_store per thread.
 */
#ifndef PR_STORE_H
#define PR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pr_block.h"
#include "pr_record.h"

struct pr_store;

/* Where a store keeps packet bytes (chosen when it is created). */
enum pr_store_mode {
	/* sealed (AES-256-GCM) segment files beside the database; the default */
	PR_STORE_MODE_SEGMENTS = 0,
	/* rows of the SQLCipher database: one portable file */
	PR_STORE_MODE_DB = 1,
};

struct pr_store_cfg {
	const char *path;
	/*
	 * Passphrase (goes through SQLCipher's KDF), or "x'<64 hex digits>'"
	 * or 64 hex digits alone for a raw 256-bit key (no KDF). NULL or "":
	 * a plaintext SQLite database.
	 */
	const char *key;
	bool create; /* create the file if it does not exist */
	bool readonly;
	/*
	 * Where the store's files or directory are not writable (read-only
	 * media, another user's store), open read-only instead of failing;
	 * pr_store_is_readonly() tells. Without it that is -EROFS/-EACCES.
	 */
	bool readonly_fallback;
	/* Permissions of a store created by this open (database, -wal, -shm); 0 = 0600. */
	unsigned int file_mode;
	/* Where a store created by this open keeps packet bytes. */
	enum pr_store_mode store_mode;
	uint32_t block_max_packets; /* 0 = 256 */
	uint32_t block_max_bytes; /* 0 = 1 MiB */
	/*
	 * Do not checkpoint the WAL on commit: the caller runs
	 * pr_store_checkpoint() on another connection (usually another thread),
	 * so the writer never stalls in the checkpoint's copy and fsync.
	 */
	bool manual_checkpoint;
};

enum pr_session_status {
	PR_SESSION_RUNNING = 0,
	PR_SESSION_COMPLETED = 1,
	PR_SESSION_INTERRUPTED = 2, /* the writer died; found on a later open */
	PR_SESSION_FAILED = 3, /* the capture ended with an error */
	PR_SESSION_STATUS_MAX,
};

/* Drop counters kept per session, by reason. */
enum pr_drop_reason {
	PR_DROP_RING_FULL = 0,
	PR_DROP_KERNEL,
	PR_DROP_IFACE,
	PR_DROP_TOO_BIG,
	PR_DROP_STORE, /* the writer could not keep up (reserved; 0 today) */
	PR_DROP_REASON_MAX,
};

struct pr_session_info {
	int64_t id;
	char name[128];
	char source[512]; /* interface name or file path */
	char source_kind[16]; /* "interface" or "file" */
	char filter[1024]; /* BPF expression, "" for none */
	uint64_t start_ts_ns; /* wall clock when the capture started */
	uint64_t end_ts_ns; /* 0 while running */
	uint64_t first_pkt_ts_ns; /* first/last stored packet timestamps, 0 if none */
	uint64_t last_pkt_ts_ns;
	uint64_t packets; /* stored packets */
	uint64_t bytes; /* their wire bytes */
	uint64_t captured_bytes; /* their captured bytes */
	uint64_t drops[PR_DROP_REASON_MAX];
	uint64_t flows;
	uint32_t snaplen;
	uint32_t status; /* enum pr_session_status */
	int32_t writer_pid;
	char message[256]; /* end detail: error text, "end of file", ... */
};

struct pr_store_iface {
	uint16_t index;
	uint32_t linktype;
	uint32_t snaplen;
	uint8_t tsresol;
	char name[64];
	char description[128];
};

/*
 * Open (and with cfg->create, create) a store. Returns 0, or:
 *   -ENOENT        no such file and !create
 *   -EKEYREJECTED  wrong key, key given for a plaintext file, or no key for an encrypted one
 *   -EBADMSG       not a packetrecorder database, or a newer schema
 *   -EIO, -EACCES, -ENOSPC, ... from the system
 * pr_store_open_error() explains the last failure in this thread. The key
 * is never logged and is wiped from our memory after use.
 */
int pr_store_open(const struct pr_store_cfg *cfg, struct pr_store **out);
const char *pr_store_open_error(void);
/* Flushes nothing: call pr_store_commit() first to keep pending data. NULL is a no-op. */
void pr_store_close(struct pr_store *st);
/* The last error of this store, a sentence naming what failed. */
const char *pr_store_errmsg(const struct pr_store *st);
bool pr_store_is_encrypted(const struct pr_store *st);
/* Opened read-only: asked for, or cfg.readonly_fallback found the files not writable. */
bool pr_store_is_readonly(const struct pr_store *st);
enum pr_store_mode pr_store_get_mode(const struct pr_store *st);
const char *pr_store_mode_name(enum pr_store_mode mode); /* "segments", "db" */

/*
 * Mark sessions left "running" by a writer that no longer runs (its pid is
 * gone) as interrupted, with packets/bytes recounted from the stored
 * blocks. Returns how many were marked, or a negative errno.
 */
int pr_store_recover(struct pr_store *st);

/* Start a session from info (id, status, counters ignored). Writes *id. Commits. */
int pr_store_session_begin(struct pr_store *st, const struct pr_session_info *info, int64_t *id);
int pr_store_session_add_iface(struct pr_store *st, int64_t session,
			       const struct pr_store_iface *iface);
/*
 * Add one packet to the session's current block. Counters of the session
 * (packets, bytes, first/last timestamps) follow the stored packets.
 */
int pr_store_add_packet(struct pr_store *st, int64_t session, const struct pr_block_pkt *pkt);
int pr_store_add_flow(struct pr_store *st, int64_t session, const struct pr_rec_flow *flow);
/* Set the drop counters (absolute values). Stored at the next commit. */
int pr_store_session_set_drops(struct pr_store *st, int64_t session,
			       const uint64_t drops[PR_DROP_REASON_MAX]);
/*
 * Write the current block, the session counters, and commit. Returns 0 or
 * a negative errno (-ENOSPC: disk full; what was committed before stays).
 */
int pr_store_commit(struct pr_store *st);
/*
 * Copy committed WAL frames into the database file. truncate: wait for
 * the writer and readers to be out of the way and empty the WAL (the end of
 * a capture); otherwise copy what can be copied without waiting. Returns 0,
 * or a negative errno (-EBUSY when truncate could not finish). Any
 * connection to the store; used with cfg.manual_checkpoint on the writer.
 */
int pr_store_checkpoint(struct pr_store *st, bool truncate);
/* Commit, then set status/end time/message. */
int pr_store_session_end(struct pr_store *st, int64_t session, uint32_t status,
			 const char *message);

/* Read side. -ENOENT if the session does not exist. */
int pr_store_session_get(struct pr_store *st, int64_t session, struct pr_session_info *out);
typedef int (*pr_store_session_fn)(void *ctx, const struct pr_session_info *s);
/* Every session, oldest first. A callback's non-zero return stops and is returned. */
int pr_store_sessions_foreach(struct pr_store *st, pr_store_session_fn fn, void *ctx);
typedef int (*pr_store_iface_fn)(void *ctx, const struct pr_store_iface *iface);
int pr_store_ifaces_foreach(struct pr_store *st, int64_t session, pr_store_iface_fn fn, void *ctx);
typedef int (*pr_store_flow_fn)(void *ctx, const struct pr_rec_flow *flow);
/* The session's flows ordered by first timestamp, then flow id. */
int pr_store_flows_foreach(struct pr_store *st, int64_t session, pr_store_flow_fn fn, void *ctx);

/*
 * Packets of a session in capture order. *pkt (data included) is valid
 * until the next call. Returns 1, 0 at the end, or a negative errno
 * (-EBADMSG: a damaged block, named in pr_store_errmsg()).
 */
struct pr_store_pkt_iter;
int pr_store_pkt_iter_create(struct pr_store *st, int64_t session, struct pr_store_pkt_iter **out);

/*
 * Which packets of a session to read. Blocks that cannot hold a wanted
 * packet are skipped through the block index, without being read or
 * decrypted: by time range, by the flow ids each block records, by
 * position for last_n.
 */
struct pr_store_pkt_query {
	uint64_t from_ns; /* packets with ts >= from_ns (0: from the start) */
	uint64_t to_ns; /* packets with ts <= to_ns (0: to the end) */
	bool has_flow;
	uint64_t flow_id; /* with has_flow: only this flow's packets */
	uint64_t last_n; /* only the last N packets of the session (0: all) */
};
int pr_store_pkt_iter_create_query(struct pr_store *st, int64_t session,
				   const struct pr_store_pkt_query *q,
				   struct pr_store_pkt_iter **out);
/* Session index (0-based) of the packet the last pr_store_pkt_iter_next() returned. */
uint64_t pr_store_pkt_iter_index(const struct pr_store_pkt_iter *it);
/* Blocks read and blocks skipped by the index so far (for benchmarks and tests). */
void pr_store_pkt_iter_stats(const struct pr_store_pkt_iter *it, uint64_t *read, uint64_t *skipped);
int pr_store_pkt_iter_next(struct pr_store_pkt_iter *it, struct pr_block_pkt *pkt);
void pr_store_pkt_iter_destroy(struct pr_store_pkt_iter *it); /* NULL is a no-op */

const char *pr_session_status_name(uint32_t status);
const char *pr_drop_reason_name(uint32_t reason);

#endif /* PR_STORE_H */
