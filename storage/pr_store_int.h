/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the store (storage/pr_store*.c): the store object, its
 * limits, and the helpers its files share. pr_store.c holds the error and
 * transaction helpers, pr_store_open.c opening and keys, pr_store_write.c
 * the write path, pr_store_read.c sessions, flows and packet iteration,
 * pr_store_recover.c the recovery of sessions whose writer died. No other
 * module includes this header.
 */
#ifndef PR_STORE_INT_H
#define PR_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlcipher/sqlite3.h>

#include "pr_block.h"
#include "pr_store.h"
#include "pr_sink.h"

#ifndef PR_VERSION
#define PR_VERSION "unknown"
#endif

#define DEFAULT_BLOCK_PACKETS 256u
#define DEFAULT_BLOCK_BYTES (1u << 20)
/*
 * Lanes: packets of different traffic classes (IP protocol and service
 * port: the lower of the two ports) go to blocks of their own, one open
 * block per lane, so that a block holds the flows of a few services only
 * and a filter on hosts, ports or protocols skips the blocks of the
 * others (the index lists each block's flows). In a realistic mix DNS
 * was in every 256-packet block, so `export --filter 'udp and port 53'`
 * read and decrypted all of them. A class gets the next lane when first
 * seen (lane 0: what is not IP); later classes share. Blocks of a lane
 * hold packets with others between them (block version 2); every commit
 * closes the blocks of every lane, so a commit point still holds exactly
 * the packets added before it.
 */
#define MAX_LANES 8u
#define DEFAULT_LANES 8u
#define LANE_MAP_SIZE 1024u /* classes remembered; more share lanes by hash */
/* A block is one blob: stay far below SQLite's 1 GB blob limit and int lengths. */
#define MAX_BLOCK_BYTES (256u << 20)

/*
 * SQLCipher stores the page size nowhere it can read before decrypting,
 * so every open must set the same value right after the key. 64 KiB
 * pages mean one HMAC and one IV per 64 KiB instead of per 1 KiB, and
 * fewer overflow pages per block blob: measured with 256-packet blocks,
 * 1 KiB pages (SQLCipher's default) store ~55 MB/s, 4 KiB ~135 MB/s and
 * 64 KiB ~300 MB/s per core. Plaintext files get the same page size.
 */
#define CIPHER_PAGE_SIZE 65536
#define BUSY_TIMEOUT_MS 5000

#define ERRMSG_LEN 512
#define SQLITE_MAGIC "SQLite format 3"
#define SQLITE_MAGIC_LEN 16 /* including the NUL */
#define INTERRUPTED_MSG "interrupted: the capture process died; data up to the last commit kept"

/* The session being written: counters as of the last added packet. */
struct cur_session {
	int64_t id;
	uint64_t packets; /* also the sequence number of the next packet */
	uint64_t bytes;
	uint64_t captured_bytes;
	uint64_t first_ts_ns;
	uint64_t last_ts_ns;
	uint64_t flows;
	uint64_t drops[PR_DROP_REASON_MAX];
	uint64_t received, filtered;
	bool dirty;
};

/* A block row waiting for its bytes to be durable (pr_store_commit_async). */
struct pend_block {
	int64_t session;
	uint64_t first_seq, last_seq;
	uint64_t first_ts_ns, last_ts_ns;
	uint64_t wire_bytes;
	uint32_t count;
	uint32_t nflows;
	size_t flows_at; /* its flow ids (8 bytes each, little-endian) in pend_flow_ids */
	struct pr_sink_ref ref;
};

/* A flow row added after the last commit point that is durable. */
struct pend_flow {
	int64_t session;
	struct pr_store_flow f;
};

/*
 * Commit points waiting for their blocks' bytes; one more waits for the
 * oldest. Four points of 64 MiB (capture's commit_max_bytes) keep the
 * disk busy through a sync and bound what sits unindexed in memory.
 */
#define MAX_POINTS 4

/* A commit point: the rows added before it, and the session's counters then. */
struct pend_point {
	uint64_t point;
	uint64_t ticket; /* the sink's durability ticket for its blocks */
	size_t blocks_end, flows_end; /* pending rows before these are its own or older */
	struct cur_session snap;
	bool have_snap;
};

struct pr_store {
	sqlite3 *db;
	char *path;
	bool encrypted;
	bool readonly;
	bool fell_back; /* asked to write, opened read-only: the files are not writable */
	int schema_version; /* of the file (a read-only open does not migrate) */
	bool in_txn;
	bool gate_held; /* this connection's transaction holds the write gate (pr_store_gate.c) */
	bool have_cur;
	uint32_t block_max_packets;
	uint32_t block_max_bytes;
	bool manual_checkpoint;
	struct cur_session cur;
	struct lane {
		struct pr_block_builder blk;
		uint64_t *flows; /* flow ids of its open block, deduplicated at flush */
		uint32_t n_flows, cap_flows;
	} lanes[MAX_LANES];
	uint32_t n_lanes;
	uint32_t lane_map[LANE_MAP_SIZE]; /* class key << 4 | lane, 0: free */
	uint32_t lane_map_used, lane_next;
	uint32_t linktype[16]; /* of the current session's first interfaces, 0: not known */
	bool seg_boundary; /* every packet added is in a put block: a new segment may start */
	sqlite3_stmt *ins_block;
	sqlite3_stmt *ins_flow;
	sqlite3_stmt *ins_l7;
	sqlite3_stmt *upd_session;
	char errmsg[ERRMSG_LEN];
	struct pr_sink *sink; /* where block bytes go: db rows or sealed segments */
	enum pr_store_mode mode;
	/*
	 * pr_store_commit_async() was used: block and flow rows wait here,
	 * oldest first, until the sink says their bytes are durable.
	 */
	bool pipelined;
	struct pend_block *pend_blocks;
	size_t n_pend_blocks, cap_pend_blocks;
	uint8_t *pend_flow_ids;
	size_t n_pend_flow_ids, cap_pend_flow_ids; /* bytes */
	struct pend_flow *pend_flows;
	size_t n_pend_flows, cap_pend_flows;
	struct pend_point points[MAX_POINTS];
	unsigned int n_points;
	uint64_t point_last; /* the last commit point handed out */
	uint64_t point_settled; /* the newest point whose rows are in the transaction */
	uint64_t point_committed; /* the newest point whose rows are committed */
	/* The writer's gauge (pr_store_get_io_stats()); the sink keeps its own waits. */
	uint64_t commit_wait_ns, commit_waits;
};

/*
 * A block the packet iterator reads from. With lanes the packets of up
 * to one block per lane interleave, so several are open at once, each
 * in buffers of its own.
 */
struct iter_block {
	int64_t id;
	bool used;
	struct pr_sink_buf buf; /* a segment block is read into it */
	uint8_t *copy; /* a db block is copied here: SQLite's pointer dies with the next row */
	size_t copy_cap;
	struct pr_block_iter bit;
	struct pr_block_pkt cur; /* its next packet, not returned yet */
};

/* Blocks open at once: one per lane, twice over for rows from other writers. */
#define ITER_MAX_BLOCKS (2 * MAX_LANES)

/*
 * Index rows of wanted blocks read ahead of the blocks being decoded,
 * each block's bytes asked of the disk as its row comes in: once the
 * index skips blocks the reads are no longer sequential, the kernel's
 * own read-ahead stops, and one read at a time waits out every disk
 * round trip (a DNS-filtered export read 283 of 1,575 blocks slower
 * than reading them all).
 */
#define ITER_AHEAD 64
#define ITER_AHEAD_BYTES (32u << 20)

struct iter_row {
	int64_t id;
	uint64_t count, first_seq;
	struct pr_sink_ref ref;
};

struct pr_store_pkt_iter {
	struct pr_store *st;
	sqlite3_stmt *stmt; /* the index rows of the wanted blocks, by first packet */
	sqlite3_stmt *data_stmt; /* the bytes of a db block */
	int64_t session;
	int64_t block_id; /* the block last opened, for messages */
	int err; /* sticky: once damaged, always damaged */
	struct pr_store_pkt_query q;
	uint64_t index; /* session number of the packet last returned */
	uint64_t first_seq; /* skip packets before this one (last_n) */
	uint64_t blocks_read, blocks_skipped;
	struct iter_row ahead[ITER_AHEAD]; /* wanted rows not opened yet, from ahead_head */
	uint32_t ahead_head, ahead_n;
	uint64_t ahead_bytes;
	bool rows_done;
	int retire; /* block emptied by the packet last returned, closed at the next call; -1 */
	uint32_t n_open;
	struct iter_block blocks[ITER_MAX_BLOCKS];
};

/*
 * The number of a block's last packet: last_seq (schema 5) where the
 * row has one, else the block holds consecutive packets.
 */
#define LAST_SEQ_SQL(st)                                                               \
	((st)->schema_version >= 5 ? "coalesce(last_seq, first_seq + pkt_count - 1)" : \
				     "(first_seq + pkt_count - 1)")

/* The first schema with received, filtered and the backends' drop columns (migration_6). */
#define PR_STORE_SCHEMA_ACCOUNTING 6

/* The drop_ columns of sessions and drop_stats, in enum pr_drop_reason order. */
#define DROP_COLS                                                                  \
	"drops_ring_full, drops_kernel, drops_iface, drops_too_big, drops_store, " \
	"drops_no_socket, drops_xsk_rx, drops_xsk_ring_full, drops_nic_missed, "   \
	"drops_nic_nombuf, drops_nic_errors"
/* The same for a store of schema 5 or older, read where it cannot be migrated. */
#define DROP_COLS_V3                                                                           \
	"drops_ring_full, drops_kernel, drops_iface, drops_too_big, drops_store, 0, 0, 0, 0, " \
	"0, 0"
#define SESSION_COLS_HEAD                                                                      \
	"id, name, source, source_kind, filter, start_ts, end_ts, first_pkt_ts, last_pkt_ts, " \
	"packets, bytes, captured_bytes, flows, snaplen, status, writer_pid, writer_host, "    \
	"message, "
/* SELECT SESSION_COLS: what session_from_row() reads (the store's schema decides which). */
#define SESSION_COLS SESSION_COLS_HEAD "received, filtered, " DROP_COLS
#define SESSION_COLS_V3 SESSION_COLS_HEAD "0, 0, " DROP_COLS_V3

/* Save "<fmt>" as the store's last error; returns err. */
int pr_store_fail(struct pr_store *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "<what>: <SQLite's message>" as the last error, returned as a negative errno. */
int pr_store_sql_fail(struct pr_store *st, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Roll the open transaction back and forget what was pending (rows waiting for their bytes too). */
void pr_store_txn_abort(struct pr_store *st);
/* A write failed (message saved): abort unless only its own statement failed. */
int pr_store_write_fail(struct pr_store *st, int err);
/* Prepare *stmt once and keep it. */
int pr_store_prepare(struct pr_store *st, sqlite3_stmt **stmt, const char *sql);
int pr_store_exec(struct pr_store *st, const char *sql, const char *what);
/* -EROFS with a message on a read-only store. */
int pr_store_check_writable(struct pr_store *st);
/* BEGIN IMMEDIATE unless a transaction is open. */
/* The write gate (pr_store_gate.c): write transactions of this process take turns. */
int pr_store_gate_enter(struct pr_store *st);
void pr_store_gate_leave(struct pr_store *st);
int pr_store_txn_begin(struct pr_store *st);
/* Wall clock, ns since the Unix epoch. */
uint64_t pr_store_now_ns(void);
/* Load the committed row of a session. -ENOENT if there is none. */
int pr_store_session_load(struct pr_store *st, int64_t session, struct pr_session_info *out);
/* This boot's id (/proc/sys/kernel/random/boot_id), or "" where there is none. */
void pr_store_boot_id(char *buf, size_t len);
/* When process pid started, in clock ticks since boot, 0 if unknown. */
int64_t pr_store_proc_start(int64_t pid);

#endif /* PR_STORE_INT_H */
