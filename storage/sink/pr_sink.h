/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the bytes of packet blocks go (DESIGN.md section 4). The block
 * format is one (pr_block.h); the sink is one of two, chosen per store
 * when it is created:
 *   db        the block is a blob in its index row of the SQLCipher
 *             database (one portable file);
 *   segments  the block is sealed with AES-256-GCM under its segment's
 *             own random key and appended to a segment file beside the
 *             database (pr_sink_seg.c); the index row says where.
 * The index rows (packet_blocks) are the store's: a sink stores and reads
 * block bytes, makes them durable before the rows that name them commit,
 * and deletes whole segments. Internal to storage/; the thread that
 * opened the store only.
 */
#ifndef PR_SINK_H
#define PR_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlcipher/sqlite3.h>

/* Where one block's bytes are. */
struct pr_sink_ref {
	int64_t segment_id; /* 0: the blob of the index row (db sink) */
	uint64_t offset; /* byte offset of the block in its segment file */
	uint32_t length; /* bytes on disk: header, sealed data, tag, padding */
	uint64_t seq; /* block number in its segment: its nonce */
};

/* What a sink reports about the segments it found damaged and repaired. */
struct pr_sink_repair {
	uint64_t segments_cut; /* segments whose torn or uncommitted tail was cut */
	uint64_t bytes_cut;
	uint64_t files_removed; /* segment files that no committed row names */
};

struct pr_sink;

/*
 * A reader's own buffers for get(): a block read into them stays valid
 * until they are used or freed again, so a reader can hold several.
 */
struct pr_sink_buf {
	uint8_t *p; /* the block as read, opened in place */
	size_t cap;
	uint8_t *z; /* the block decompressed */
	size_t zcap;
};

void pr_sink_buf_fini(struct pr_sink_buf *b);

struct pr_sink_ops {
	const char *name;
	/*
	 * Store a block of len bytes of session. Fills ref; the db sink sets
	 * segment_id 0 and the caller keeps the bytes in the row. Inside the
	 * store's open transaction (it may add rows of its own). boundary:
	 * every packet added before this block's is in an earlier block, so a
	 * full segment may end here (without, it may grow to twice its size).
	 */
	int (*put)(struct pr_sink *sk, int64_t session, const uint8_t *blk, size_t len,
		   bool boundary, struct pr_sink_ref *ref);
	/* Make every block put so far durable; called before the index commits. */
	int (*sync)(struct pr_sink *sk);
	/*
	 * Start making every block put so far durable without waiting for
	 * it: *ticket names that point (tickets only grow; the same ticket
	 * again when nothing was put since). NULL in a sink whose sync() is
	 * free (db): the store then syncs instead.
	 */
	int (*sync_start)(struct pr_sink *sk, uint64_t *ticket);
	/*
	 * Collect what finished, without waiting unless wait: then first
	 * wait until ticket until is durable. *durable: the highest ticket
	 * up to which every block is durable. An error (a failed write or
	 * sync) sticks: every later call returns it.
	 */
	int (*sync_poll)(struct pr_sink *sk, uint64_t until, bool wait, uint64_t *durable);
	/*
	 * The block of ref (row/row_len: the row's inline blob, which the db
	 * sink returns as it is). A segment block is read into buf, or with
	 * buf NULL into the sink's own buffer, valid until the next such
	 * get. -EBADMSG: damaged or tampered, -ENOKEY: the segment's key was
	 * destroyed, -ENOENT: its file is gone.
	 */
	int (*get)(struct pr_sink *sk, const struct pr_sink_ref *ref, const void *row,
		   size_t row_len, struct pr_sink_buf *buf, const uint8_t **out, size_t *out_len);
	/*
	 * A hint that the block of ref will be read soon: start reading it
	 * into the page cache. NULL where there is nothing to read ahead.
	 */
	void (*prefetch)(struct pr_sink *sk, const struct pr_sink_ref *ref);
	/*
	 * After a writer died: cut each segment of session to the end of its
	 * last committed block, and remove segment files with no committed
	 * row. Only for a session whose writer is gone.
	 */
	int (*repair)(struct pr_sink *sk, int64_t session, struct pr_sink_repair *rep);
	/*
	 * The session ends: sync and close its open segment (its closed_ts is
	 * set, inside the store's open transaction).
	 */
	int (*finish)(struct pr_sink *sk, int64_t session);
	/*
	 * Remove the segment file named file (a name in the segments
	 * directory, no path) after the store has deleted the segment's row
	 * and key and committed that: drop every copy of its key that this
	 * sink holds, then unlink the file. segment_id 0: a file that no row
	 * names. 0 (also when the file was gone already), -EBUSY for the
	 * segment being written, -EINVAL for a name that is not a plain file
	 * name. The db sink has no segments: 0.
	 */
	int (*delete_segment)(struct pr_sink *sk, int64_t segment_id, const char *file);
	void (*destroy)(struct pr_sink *sk);
};

struct pr_sink {
	const struct pr_sink_ops *ops;
	char *errmsg; /* the store's message buffer, errlen bytes */
	size_t errlen;
	/*
	 * Time the sink spent waiting for the disk (a write buffer to come
	 * free, a synchronous write, a sync) and how many times it waited,
	 * since it was created. Kept by the sink, read by the store.
	 */
	uint64_t wait_ns;
	uint64_t waits;
};

int pr_sink_db_create(char *errmsg, size_t errlen, struct pr_sink **out);
/*
 * The segment sink of the store at db_path, whose segments live in the
 * directory "<db_path>.segments". db is the store's connection (segment
 * rows and keys). compress: zstd each block before sealing when that
 * makes it smaller (header flag 1; reading needs no setting). file_mode: of new segment files (the directory gets
 * the same with x bits for its owner).
 */
int pr_sink_seg_create(sqlite3 *db, const char *db_path, unsigned int file_mode, bool readonly,
		       bool compress, char *errmsg, size_t errlen, struct pr_sink **out);

/*
 * One block in the segment format, for the sink and for tools and fuzzers:
 * pr_sink_seg_block_size() bytes on disk for len bytes of block; seal
 * writes them to out; open checks buf (len bytes on disk) against the
 * segment id and number it must have, authenticates and decrypts it in
 * place: (*out, *out_len), inside buf. -EBADMSG with *why saying what is
 * wrong.
 */
struct pr_seal;
size_t pr_sink_seg_block_size(size_t len);
int pr_sink_seg_block_seal(struct pr_seal *seal, const uint8_t key[32], int64_t segment_id,
			   int64_t session, uint64_t seq, const uint8_t *blk, size_t len,
			   uint8_t *out);
int pr_sink_seg_block_open(struct pr_seal *seal, const uint8_t key[32], int64_t segment_id,
			   uint64_t seq, uint8_t *buf, size_t len, const uint8_t **out,
			   size_t *out_len, const char **why);

/* "<db_path>.segments" into buf; false if it does not fit. */
bool pr_sink_seg_dir(const char *db_path, char *buf, size_t len);

#endif /* PR_SINK_H */
