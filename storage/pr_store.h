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
	/* A store created by this open compresses segment blocks with zstd before sealing. */
	bool compress;
	uint32_t block_max_packets; /* 0 = 256 */
	uint32_t block_max_bytes; /* 0 = 1 MiB */
	/*
	 * Traffic classes written to blocks of their own (pr_store_int.h,
	 * lanes), so that filters skip the blocks of the others: 0 = 8, at
	 * most 8; 1 = every packet in one block at a time, as before.
	 */
	uint32_t block_lanes;
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

/*
 * Drop counters kept per session, by reason: every packet that reached the
 * capture point and was neither stored nor rejected by a filter is in
 * exactly one of them, so received = packets + filtered + the sum of drops.
 */
enum pr_drop_reason {
	PR_DROP_RING_FULL = 0, /* the ring to the control plane was full, none consuming */
	PR_DROP_KERNEL, /* the kernel's socket buffer (pcap) */
	PR_DROP_IFACE, /* the interface or its driver (pcap's ifdrop) */
	PR_DROP_TOO_BIG, /* longer than a ring record may be */
	PR_DROP_STORE, /* storage backlog: the ring was full while the store writer consumed */
	PR_DROP_NO_SOCKET, /* AF_XDP: no capture socket on the frame's rx queue */
	PR_DROP_XSK_RX, /* AF_XDP: no free UMEM frame, or a frame too large */
	PR_DROP_XSK_RING_FULL, /* AF_XDP: the socket's rx ring was full */
	PR_DROP_NIC_MISSED, /* DPDK imissed: no free rx descriptor on the NIC */
	PR_DROP_NIC_NOMBUF, /* DPDK rx_nombuf: no mbuf to receive into */
	PR_DROP_NIC_ERRORS, /* DPDK ierrors: frames received with an error */
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
	/*
	 * Packets that reached the capture point (the interface, the XDP
	 * program, the NIC) and those a filter rejected (the BPF capture
	 * filter, early-drop rules): received = packets + filtered + drops.
	 * 0 and 0 in stores older than schema 6.
	 */
	uint64_t received;
	uint64_t filtered;
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
 * A flow as the store keeps it: the store's own type, so that the ring
 * record (struct pr_rec_flow) and the schema can change apart. Direction
 * [0] is client to server (the side that sent the first packet).
 */
struct pr_store_flow {
	uint64_t flow_id;
	uint64_t first_ts_ns;
	uint64_t last_ts_ns;
	uint64_t packets[2];
	uint64_t bytes[2]; /* wire bytes */
	uint8_t src_ip[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst_ip[16];
	uint16_t src_port; /* ICMP: type << 8 | code of the first packet */
	uint16_t dst_port; /* ICMP echo: identifier */
	uint16_t vlan; /* outermost VLAN id, 0 if none */
	uint16_t iface;
	uint8_t ip_version; /* 4 or 6, 0 for a flow that is not IP */
	uint8_t ip_proto;
	uint8_t tcp_state; /* enum pr_tcp_state */
	uint8_t end_reason; /* enum pr_flow_end */
	uint8_t tcp_flags[2]; /* OR of TCP flags seen per direction */
	uint16_t app; /* application (the L7 issue), 0 = unknown */
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
/*
 * Take over an interrupted session (its writer died; recovery marked it):
 * running again, with this process as its writer, its counters and packet
 * numbering going on from what was committed. For a capture that a new
 * control plane continues (capture --attach). Commits. Returns 0,
 * -EALREADY when the session is not interrupted (pr_store_errmsg() says
 * what it is), -ENOENT, or another negative errno.
 */
int pr_store_session_resume(struct pr_store *st, int64_t session);
int pr_store_session_add_iface(struct pr_store *st, int64_t session,
			       const struct pr_store_iface *iface);
/*
 * Add one packet to the session's current block. Counters of the session
 * (packets, bytes, first/last timestamps) follow the stored packets.
 */
int pr_store_add_packet(struct pr_store *st, int64_t session, const struct pr_block_pkt *pkt);
int pr_store_add_flow(struct pr_store *st, int64_t session, const struct pr_store_flow *flow);
/* Set the drop counters (absolute values). Stored at the next commit. */
int pr_store_session_set_drops(struct pr_store *st, int64_t session,
			       const uint64_t drops[PR_DROP_REASON_MAX]);
/* Set received and filtered (absolute values, see pr_session_info). Stored at the next commit. */
int pr_store_session_set_received(struct pr_store *st, int64_t session, uint64_t received,
				  uint64_t filtered);
/*
 * Write the current block, the session counters, and commit. Returns 0 or
 * a negative errno (-ENOSPC: disk full; what was committed before stays).
 */
int pr_store_commit(struct pr_store *st);
/*
 * Commit without waiting for the disk (a segment store; in a db store
 * the same as pr_store_commit()). Everything added so far becomes commit
 * point *point (1, 2, ...): its blocks' bytes start on their way to disk
 * and its block and flow rows, with the session's counters as of the
 * point, wait in memory until the bytes are durable. This call commits
 * every earlier point whose bytes are durable by now, and what else the
 * open transaction holds (interfaces, drop counter rows: these can be
 * committed before the packets added with them). So a committed index
 * row still never names bytes that are not on disk, and the store keeps
 * writing while the disk syncs. With four points waiting it
 * first waits for the oldest. pr_store_committed_point() says how far
 * the committed rows go; pr_store_commit() and pr_store_session_end()
 * still commit everything before they return. Returns 0 or a negative
 * errno; after an error nothing uncommitted is kept, as with
 * pr_store_commit().
 */
int pr_store_commit_async(struct pr_store *st, uint64_t *point);
/* The newest commit point whose rows are committed (0: none yet). */
uint64_t pr_store_committed_point(const struct pr_store *st);
/*
 * Copy committed WAL frames into the database file. truncate: wait for
 * the writer and readers to be out of the way and empty the WAL (the end of
 * a capture); otherwise copy what can be copied without waiting. Returns 0,
 * or a negative errno (-EBUSY when truncate could not finish). Any
 * connection to the store; used with cfg.manual_checkpoint on the writer.
 */
int pr_store_checkpoint(struct pr_store *st, bool truncate);
/*
 * How the writer fares with the disk since the store was opened: the
 * time it waited for the disk (the segment sink's waits for a free write
 * buffer, for a synchronous write, for a sync it must see finished, and
 * SQLite's COMMIT) and how many times. A disk slower than the traffic
 * shows here first, as the writer waits and the record ring fills behind
 * it. The writer's thread.
 */
struct pr_store_io_stats {
	uint64_t wait_ns;
	uint64_t waits;
};
void pr_store_get_io_stats(const struct pr_store *st, struct pr_store_io_stats *out);

/* Commit, then set status/end time/message. */
int pr_store_session_end(struct pr_store *st, int64_t session, uint32_t status,
			 const char *message);

/*
 * L7 metadata of a flow: one parser transaction (kind "client_hello",
 * "message", "request", ...) or the flow's application (kind "app"), with
 * its fields as a JSON object text. Pointers are borrowed for the call.
 */
struct pr_store_l7 {
	uint64_t flow_id;
	uint64_t ts_ns;
	const char *app; /* "tls", "dns", "http", ... */
	const char *kind;
	uint8_t dir; /* 0: client to server, 1: server to client */
	const char *fields; /* JSON object; NULL: "{}" */
};

/* Add one row in the open transaction (kept at the next commit). 0 or a negative errno. */
int pr_store_add_l7(struct pr_store *st, int64_t session, const struct pr_store_l7 *m);
typedef int (*pr_store_l7_fn)(void *ctx, const struct pr_store_l7 *m);
/*
 * The session's L7 rows in the order they were stored; flow_id 0: every
 * flow; app NULL: every protocol. A callback's non-zero return stops and
 * is returned; else 0 or a negative errno.
 */
int pr_store_l7_foreach(struct pr_store *st, int64_t session, uint64_t flow_id, const char *app,
			pr_store_l7_fn fn, void *ctx);

/* Read side. -ENOENT if the session does not exist. */
int pr_store_session_get(struct pr_store *st, int64_t session, struct pr_session_info *out);
typedef int (*pr_store_session_fn)(void *ctx, const struct pr_session_info *s);
/* Every session, oldest first. A callback's non-zero return stops and is returned. */
int pr_store_sessions_foreach(struct pr_store *st, pr_store_session_fn fn, void *ctx);
typedef int (*pr_store_iface_fn)(void *ctx, const struct pr_store_iface *iface);
int pr_store_ifaces_foreach(struct pr_store *st, int64_t session, pr_store_iface_fn fn, void *ctx);
typedef int (*pr_store_flow_fn)(void *ctx, const struct pr_store_flow *flow);
/* The session's flows ordered by first timestamp, then flow id. */
int pr_store_flows_foreach(struct pr_store *st, int64_t session, pr_store_flow_fn fn, void *ctx);
/* The session's flows in no particular order: the cheapest way to see them all. */
int pr_store_flows_scan(struct pr_store *st, int64_t session, pr_store_flow_fn fn, void *ctx);
/*
 * The same flows one at a time, for a caller that cannot take callbacks
 * (a network stream that sends one and waits): next returns 1 with *flow,
 * 0 at the end, or a negative errno. The iterator keeps a read
 * transaction open until it is destroyed.
 */
struct pr_store_flow_iter;
int pr_store_flow_iter_create(struct pr_store *st, int64_t session,
			      struct pr_store_flow_iter **out);
int pr_store_flow_iter_next(struct pr_store_flow_iter *it, struct pr_store_flow *flow);
void pr_store_flow_iter_destroy(struct pr_store_flow_iter *it); /* NULL is a no-op */

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
	/*
	 * Flow ids known to have no wanted packet (sorted ascending): a block
	 * all of whose flows are in it is skipped unread. The caller owns it.
	 */
	const uint64_t *skip_flows;
	size_t n_skip_flows;
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

/*
 * ---- Retention and lifecycle (pr_store_admin.c) ----
 *
 * What a store holds and how fast it grows, an integrity check, deleting
 * a session by destroying its keys, pinning, retention by age and size,
 * and changing the store's key. The thread that opened the store only.
 * The calls that write refuse a read-only store with -EROFS.
 */

/* What pr_store_get_info() reports. Sizes are file sizes in bytes. */
struct pr_store_info {
	enum pr_store_mode mode;
	bool encrypted;
	bool readonly;
	uint64_t db_bytes; /* the database file */
	uint64_t wal_bytes; /* its -wal and -shm: working files that checkpoints empty */
	uint64_t segment_bytes; /* the files in "<db>.segments/" */
	uint64_t segment_files;
	uint64_t size_bytes; /* all of them */
	uint64_t segments; /* segment rows (each with its key) */
	uint64_t sessions;
	uint64_t pinned_sessions;
	uint64_t running_sessions;
	uint64_t packets; /* stored: named by the block index */
	uint64_t expired_packets; /* deleted by retention, summed over the sessions */
	uint64_t oldest_ts_ns; /* smallest and largest stored packet time stamp, 0: none */
	uint64_t newest_ts_ns;
	/*
	 * Wall-clock capture time behind the stored data: each session's
	 * start_ts..end_ts (..now_ns while it runs), scaled by the share of
	 * its packets that retention has not deleted.
	 */
	uint64_t capture_ns;
	bool have_rate; /* bytes_per_day is known: capture_ns and size_bytes are not 0 */
	double bytes_per_day; /* size_bytes per day of capture_ns */
	uint64_t retention_days; /* pr_meta limits, 0: none */
	uint64_t retention_bytes;
	bool have_fs;
	uint64_t fs_free_bytes; /* free to this user on the store's filesystem */
	/*
	 * Days until the store reaches retention_bytes (counted as retention
	 * counts: without wal_bytes) or fills the disk, whichever comes
	 * first, at bytes_per_day. Known with have_rate and have_fs;
	 * limited_by_retention tells which limit it is.
	 */
	bool have_days_left;
	bool limited_by_retention;
	double days_left;
};

/* Fill *out. now_ns: the time running sessions are counted up to (0: the wall clock). */
int pr_store_get_info(struct pr_store *st, uint64_t now_ns, struct pr_store_info *out);

/* What pr_store_verify() finds wrong, one kind per problem. */
enum pr_store_problem {
	PR_PROBLEM_BLOCK_DAMAGED = 0, /* does not authenticate, or its contents do not parse */
	PR_PROBLEM_BLOCK_UNREADABLE, /* its bytes cannot be read (I/O error, no such segment) */
	PR_PROBLEM_BLOCK_INDEX, /* block and index row differ (count, times, bytes) */
	PR_PROBLEM_SESSION_COUNT, /* the session row and the index count other packets */
	PR_PROBLEM_SEGMENT_MISSING, /* a segment's file is gone */
	PR_PROBLEM_SEGMENT_SHORT, /* a segment's file is shorter than its blocks */
	PR_PROBLEM_SEGMENT_NO_KEY, /* a segment's key is gone: its data cannot be read */
	PR_PROBLEM_SEGMENT_ORPHAN, /* a segment file that no segment row names */
	PR_PROBLEM_MAX,
};

struct pr_store_verify_problem {
	uint32_t kind; /* enum pr_store_problem */
	int err; /* the negative errno behind it: -EBADMSG, -ENOENT, -ENOKEY, -EIO, ... */
	int64_t session; /* 0: not known (an orphan file of no session) */
	int64_t block; /* packet_blocks id, 0: not about one block */
	int64_t segment; /* segment id, 0: none (db blocks, or a file no row names) */
	uint64_t first_seq; /* with block: the session index of its first packet */
	char file[64]; /* the segment's file name, "" if none */
	char what[384]; /* one sentence: what is wrong */
};

struct pr_store_verify_result {
	uint64_t sessions; /* checked */
	uint64_t segments;
	uint64_t blocks;
	uint64_t blocks_ok; /* read, authenticated and consistent with the index */
	uint64_t packets_ok; /* their packets */
	uint64_t problems;
};

/* A problem found; a non-zero return stops pr_store_verify(), which returns it. */
typedef int (*pr_store_verify_fn)(void *ctx, const struct pr_store_verify_problem *p);

/*
 * Read and authenticate every block of session (0: of every session),
 * carrying on after each problem, and check: each block against its
 * index row (packet count, time range, wire bytes) and the order of the
 * rows (no gap), the packets of the index plus those retention deleted
 * against the session row, each segment's file (there, at least as long
 * as its blocks need, its header naming it) and key; with session 0 also
 * segment files that no row names (except those of a running session).
 * fn (may be NULL) gets each problem as found. Returns 0 when the check
 * ran (res->problems says whether it found any), -ENOENT for no such
 * session, or another negative errno when it could not run. Works on a
 * read-only store.
 */
int pr_store_verify(struct pr_store *st, int64_t session, pr_store_verify_fn fn, void *ctx,
		    struct pr_store_verify_result *res);
const char *pr_store_problem_name(uint32_t kind); /* "damaged_block", ... */

/* What pr_store_delete_session() removed. */
struct pr_store_delete_result {
	uint64_t packets; /* named by the index (the rest had expired) */
	uint64_t blocks;
	uint64_t flows;
	uint64_t segments; /* keys destroyed */
	uint64_t files_removed; /* segment files unlinked */
	/*
	 * The WAL was emptied (a TRUNCATE checkpoint) after the commit, so no
	 * file of the store keeps an old page with a destroyed key. false:
	 * another connection kept it from finishing within a second; the old
	 * pages stay in the WAL until a later checkpoint empties it.
	 */
	bool wal_clean;
};

/*
 * Delete a session: overwrite and delete its segment keys (which destroys
 * the packets in its segment files: crypto-shredding), its block index
 * rows, flows, interfaces and its row, in one transaction with SQLite's
 * secure_delete on, the table of segment keys rewritten whole so that no
 * free space in its pages keeps an old copy; then unlink its segment
 * files and empty the WAL. Sessions whose writer died are marked
 * interrupted first (pr_store_recover()). Returns 0, -ENOENT (no such
 * session), -EPERM (pinned: unpin it first), -EBUSY (still being captured
 * by a live process), -EROFS, or another negative errno (nothing deleted
 * when the transaction failed). res may be NULL.
 */
int pr_store_delete_session(struct pr_store *st, int64_t session,
			    struct pr_store_delete_result *res);

/* Pin (true) or unpin a session: retention skips pinned sessions, delete refuses them. */
int pr_store_session_pin(struct pr_store *st, int64_t session, bool pinned);

/* Retention state of one session. */
struct pr_store_session_life {
	bool pinned;
	uint64_t expired_packets; /* deleted by retention (still counted in packets) */
	uint64_t stored_packets; /* named by the block index */
	uint64_t segments; /* segments it has now */
};
/* -ENOENT for no such session. */
int pr_store_session_life_get(struct pr_store *st, int64_t session,
			      struct pr_store_session_life *out);

/* At most this many days (about 274 years; keeps day counts in ns within 64 bits). */
#define PR_STORE_RETENTION_MAX_DAYS 100000u

/*
 * Keep packets for at most days days and the store at most bytes bytes
 * on disk (0: no limit), persisted in pr_meta (retention_days,
 * retention_bytes) and applied by pr_store_retention_enforce(). Retention
 * deletes whole segments, so it needs a store in segment mode:
 * -EOPNOTSUPP for a db-mode store (unless both are 0), -EINVAL for days
 * above PR_STORE_RETENTION_MAX_DAYS.
 */
int pr_store_set_retention(struct pr_store *st, uint64_t days, uint64_t bytes);
int pr_store_get_retention(struct pr_store *st, uint64_t *days, uint64_t *bytes);

enum pr_retention_reason {
	PR_RETENTION_AGE = 1, /* older than retention_days */
	PR_RETENTION_SIZE = 2, /* the store is above retention_bytes */
};

/* One segment that retention deletes (or would delete). */
struct pr_store_retention_item {
	int64_t segment;
	int64_t session;
	char file[64];
	uint64_t age_ts_ns; /* when it was closed: what its age is counted from */
	uint64_t blocks;
	uint64_t packets;
	uint64_t file_bytes;
	uint32_t reason; /* enum pr_retention_reason */
};

struct pr_store_retention_result {
	uint64_t retention_days, retention_bytes; /* the limits applied */
	/*
	 * The store's size on disk as retention counts it: the database and
	 * the segment files; not the -wal and -shm, whose size comes and goes
	 * with checkpoints.
	 */
	uint64_t size_before;
	uint64_t size_after; /* after deleting (plan: projected) */
	uint64_t segments, blocks, packets, bytes; /* deleted (plan: to delete) */
	uint64_t kept_pinned; /* segments old enough, or needed for size, but pinned */
	uint64_t kept_open; /* segments still being written */
	bool over_size; /* size_after is still above retention_bytes */
	bool wal_clean; /* enforce: as in struct pr_store_delete_result */
};

typedef int (*pr_store_retention_fn)(void *ctx, const struct pr_store_retention_item *item);

/*
 * Which segments retention deletes at now_ns (ns since the epoch; tests
 * pass a synthetic clock): of the sessions that are not pinned, whole
 * segments, oldest first by the time they were closed, while the oldest
 * is older than retention_days or the store is above retention_bytes. A
 * segment still being written by a running session is never deleted; one
 * that a dead writer left open counts from its session's end. _plan only
 * lists them (read-only; fn may be NULL). _enforce marks sessions of dead
 * writers interrupted, then, in one transaction with secure_delete on,
 * deletes each segment's index rows and key and adds its packets to its
 * session's expired_packets; after the commit it unlinks the files, calls
 * fn for each, and empties the WAL. Data is never rewritten. Both return
 * 0 (also with nothing to delete or no limits), -EOPNOTSUPP on a db-mode
 * store, or a negative errno.
 */
int pr_store_retention_plan(struct pr_store *st, uint64_t now_ns, pr_store_retention_fn fn,
			    void *ctx, struct pr_store_retention_result *res);
int pr_store_retention_enforce(struct pr_store *st, uint64_t now_ns, pr_store_retention_fn fn,
			       void *ctx, struct pr_store_retention_result *res);

/*
 * Change the SQLCipher key of the store to newkey (a passphrase, or a
 * raw key in the forms pr_store_cfg.key takes) by rewriting every page
 * of the database: the segment keys inside it are then under the new
 * key, and the segment files are not touched. The store must be
 * encrypted (-EOPNOTSUPP for a plaintext one: this cannot encrypt it)
 * and used by no other connection: -EBUSY while another process (or
 * another store object) has it open. The rewrite is one WAL transaction
 * followed by a checkpoint that empties the WAL, so no page under the
 * old key stays in any file. -EINVAL for an empty newkey.
 */
int pr_store_rekey(struct pr_store *st, const char *newkey);

/*
 * ---- Completeness and the sensor key (pr_store_stats.c) ----
 *
 * The drop counters of a session over time, recorded by capture from the
 * dataplane's STATS records, the intervals in which packets were lost
 * that they imply, and the store's own Ed25519 key that signs export
 * manifests. The thread that opened the store only.
 */

/* One observation of a session's drop counters. */
struct pr_store_drop_row {
	uint64_t wall_ts_ns; /* wall clock when capture received the counters */
	uint64_t pkt_ts_ns; /* timestamp of the last packet stored by then, 0: none yet */
	uint64_t packets; /* packets stored by then */
	uint64_t drops[PR_DROP_REASON_MAX]; /* cumulative, by reason */
	/*
	 * What the stored packets say about the time after the row, filled
	 * in by pr_store_drop_intervals() for rows whose counters grew:
	 * next_ts_ns, the time stamp of the first packet stored after the
	 * row (packet number `packets`; 0: there is none), and wall_packet,
	 * the number of the first packet stamped after wall_ts_ns (the
	 * session's packet count when there is none).
	 */
	uint64_t next_ts_ns;
	uint64_t wall_packet;
};

/*
 * Record the session's cumulative drop counters as of wall_ts_ns. A row
 * is added when they differ from the last row recorded for it (the first
 * call always records, as the baseline); while they stay the same, one
 * more row holds the latest observation and is updated in place, so that
 * a loss starts at the last observation before it, not at the last
 * change. Rows go into the open write transaction and are stored by the
 * next pr_store_commit(). Returns 1 when the counters changed (a row was
 * added), 0 when they did not, or a negative errno. Capture's consumer.
 */
int pr_store_stats_add(struct pr_store *st, int64_t session, uint64_t wall_ts_ns,
		       const uint64_t drops[PR_DROP_REASON_MAX]);

/*
 * The session's rows in the order they were recorded, in *rows (malloc'd,
 * caller frees) and *n; next_ts_ns and wall_packet are 0. A store of
 * schema 2 or older has none. Returns 0 or a negative errno.
 */
int pr_store_stats_get(struct pr_store *st, int64_t session, struct pr_store_drop_row **rows,
		       size_t *n);

/*
 * An interval in which the capture lost packets: from the last
 * observation of the drop counters before they grew to the first one
 * after. Packet numbers count from 0, as `query` numbers packets: the
 * lost packets came after the first after_packet stored packets and
 * before stored packet before_packet, which is the session's packet count
 * when no stored packet is known to follow them. Time stamps bound theirs:
 * no lost packet is older than from_ts_ns or newer than to_ts_ns.
 *
 * Why the bounds hold (for a capture with one worker ring; with several,
 * the rows sum their counters and only counts and sample times hold):
 * the dataplane counts a drop before it writes the STATS record that
 * carries it, and packets go through the ring in order. So a packet lost
 * to a full ring (or too big) comes after every packet stored before the
 * earlier observation and before every packet stored after the later one.
 * A kernel or interface drop is counted by the kernel when the packet
 * arrives, while packets that arrived before it may still wait in the
 * kernel's buffer: it is bounded by time instead, by the wall clock of the
 * later observation (a live packet's time stamp is the kernel's wall clock
 * at arrival).
 */
struct pr_drop_interval {
	uint64_t from_ts_ns; /* the last packet stored before the loss (0: the start) */
	uint64_t to_ts_ns; /* no lost packet is newer (0: open, up to the end of the capture) */
	uint64_t from_wall_ns, to_wall_ns; /* the two observations in wall-clock time */
	uint64_t after_packet; /* stored packets known to come before the loss */
	uint64_t before_packet; /* the first stored packet known to come after it */
	uint64_t lost[PR_DROP_REASON_MAX]; /* how many, by reason */
	uint64_t lost_total;
};

/*
 * The loss intervals of rows[0..n) (recording order, cumulative counters,
 * next_ts_ns and wall_packet filled in) that overlap [from_ns, to_ns] in
 * packet time (0: open end): one for each row whose counters grew over
 * the previous row (over zero for the first). live: a live capture, whose
 * packet time stamps are wall-clock times. Writes at most max to out and
 * returns how many there are. Pure: any thread.
 */
size_t pr_drop_intervals_compute(const struct pr_store_drop_row *rows, size_t n, bool live,
				 uint64_t from_ns, uint64_t to_ns, struct pr_drop_interval *out,
				 size_t max);

/*
 * The loss intervals of session that overlap [from_ns, to_ns] in packet
 * time (0: open end): from its drop_stats rows and its final drop
 * counters (one more observation at the session's end when they are
 * larger than the last row's, or when there are no rows), bounded by the
 * packets stored around them. In *out (malloc'd, caller frees; NULL when
 * there are none) and *n. *have_rows: capture recorded the counters over
 * time (else a loss is one interval over the whole session). Returns 0,
 * -ENOENT for no such session, or another negative errno.
 */
int pr_store_drop_intervals(struct pr_store *st, int64_t session, uint64_t from_ns, uint64_t to_ns,
			    struct pr_drop_interval **out, size_t *n, bool *have_rows);

/* Bytes of an Ed25519 public key and of a signature. */
#define PR_SENSOR_PUBKEY_LEN 32
#define PR_SENSOR_SIG_LEN 64

/*
 * The store's Ed25519 public key. The key pair is generated on first use
 * and its private half kept in pr_meta (sensor_ed25519_key), inside the
 * SQLCipher database: it is as safe as the store's key, and a plaintext
 * store holds it in plaintext. -EROFS when the store has no key yet and
 * is read-only. Returns 0 or a negative errno.
 */
int pr_store_sensor_pubkey(struct pr_store *st, uint8_t pub[PR_SENSOR_PUBKEY_LEN]);

/*
 * Sign msg with the store's private key (generated on first use, as
 * above). The private key never leaves the store module. Returns 0 or a
 * negative errno.
 */
int pr_store_sensor_sign(struct pr_store *st, const void *msg, size_t len,
			 uint8_t sig[PR_SENSOR_SIG_LEN]);

#endif /* PR_STORE_H */
