// SPDX-License-Identifier: Apache-2.0
/*
 * The segment sink: packet blocks sealed with AES-256-GCM and appended to
 * segment files in "<database>.segments/". A segment holds blocks of one
 * session (so that deleting a session can destroy its keys) and has its
 * own random 256-bit data key, kept in the segments table of the
 * SQLCipher database, that is encrypted under the store's key; a block's
 * nonce is its number in the segment, so no nonce repeats under a key.
 *
 * On disk a segment is a 4 KiB header, then blocks, each a 64-byte header
 * (authenticated as associated data: it names segment, number, session
 * and lengths, so a block moved elsewhere fails to open), the sealed
 * block, its 16-byte tag, and zeros up to a multiple of 4 KiB. Writes go
 * through 4 KiB-aligned buffers with O_DIRECT where the filesystem takes
 * it (tmpfs does not: then plain writes), several in flight through
 * io_uring, and are made durable before the store commits the index rows
 * that name them: sync() waits for that; sync_start() asks for it and
 * sync_poll() says when it is done, so that the store can go on writing
 * while the disk syncs (a sync costs 30-70 ms on this project's disk
 * whatever it flushes, as long as writing 64 MiB). So after a crash a
 * segment may hold a tail that no committed row names (torn, or whole
 * but uncommitted): repair() cuts it.
 *
 * The thread that opened the store only; owns its file descriptors,
 * buffers and the copies of keys, which are wiped when dropped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <zstd.h>

#include "pr_seal.h"
#include "pr_sink.h"

#define SEG_ALIGN 4096u
#define SEG_HDR_LEN SEG_ALIGN
#define BLK_HDR_LEN 64u
#define WBUF_LEN (4u << 20)
/*
 * Write buffers in turn: while one is written (io_uring, so no thread
 * and no wait), the next is filled with sealed blocks. Measured on this
 * project's disk (1500-byte packets, one core): one synchronous 4 MiB
 * pwrite() at a time stored 280 MB/s, 0.64x of dd oflag=direct, because
 * sealing and writing took turns.
 */
#define NBUF 4
/*
 * The first reservation of a segment; later ones double what it holds.
 * ext4's fallocate() waits for every direct write in flight on the file
 * (inode_dio_wait): measured 10 ms each, every 64 MiB, when the steps
 * were all 64 MiB. Doubling makes that five waits per 1 GiB segment.
 */
#define PREALLOC_BYTES (64u << 20)
/* Durability requests waiting for their writes or their sync; one more waits. */
#define NSYNC 8
/* user_data of a sync's completion: the tag and its request's slot. */
#define SYNC_TAG (1ull << 63)
/* A new segment after this many bytes: retention deletes whole segments. */
#define SEG_MAX_BYTES (1ull << 30)
#define SEG_MAGIC "PRSEG\0\0\1"
#define BLK_MAGIC 0x42535250u /* "PRSB" little-endian */
/* Block header flags (bytes 6-7); with BLK_F_ZSTD bytes 36-39 hold the length before compression. */
#define BLK_F_ZSTD 1u
/* zstd level 1: about 0.5-1 GB/s per core, the cheapest that still finds the repeats. */
#define ZSTD_LEVEL 1
/* A block is at most 256 MiB (pr_store's MAX_BLOCK_BYTES); a header saying more is damage. */
#define MAX_RAW_BLOCK (256u << 20)
#define BLK_VERSION 1u

struct seg_file {
	int64_t id; /* 0: none */
	int64_t session;
	int fd;
	bool direct;
	uint8_t key[PR_SEAL_KEY_LEN];
	uint64_t next_seq;
	uint64_t size; /* bytes in the file, buffered ones included */
	uint64_t alloc; /* file length set by fallocate(): writes below it do not extend */
};

/* One write buffer: SEG_ALIGN-aligned, a multiple of SEG_ALIGN long when written. */
struct wbuf {
	uint8_t *p;
	size_t cap, len;
	uint64_t off; /* file offset of p[0] */
	uint64_t wseq; /* number of its write while in flight */
	bool inflight;
};

/*
 * A request to make the blocks put so far durable: once every write
 * numbered below need_wseq has completed, one fdatasync() of the segment
 * (and an fsync() of the directory when the file is new) goes into the
 * ring; a write still in flight when a sync starts is not covered by it.
 */
struct sync_req {
	uint64_t ticket;
	uint64_t need_wseq;
	unsigned int pending; /* syncs in flight */
	bool submitted;
	bool dir;
};

struct seg_sink {
	struct pr_sink base;
	sqlite3 *db;
	char *dir;
	unsigned int file_mode;
	bool readonly;
	bool compress; /* zstd before sealing (a store setting) */
	struct pr_seal *seal;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	uint8_t *zbuf; /* compressed block (write) or decompressed block (read) */
	size_t zcap;
	struct seg_file w; /* the segment being written */
	struct wbuf wb[NBUF]; /* filled in turn; written while the next fills */
	unsigned int cur; /* the buffer being filled */
	struct io_uring ring;
	bool have_ring; /* else every write is a plain pwrite() */
	uint64_t wseq_next; /* number of the next write */
	struct sync_req sq[NSYNC]; /* oldest first from sq_head */
	unsigned int sq_head, sq_len;
	unsigned int syncs_inflight;
	uint64_t ticket_last; /* the last ticket handed out */
	uint64_t ticket_wseq; /* wseq_next when it was */
	uint64_t durable; /* every block up to this ticket is durable */
	bool dir_dirty; /* a segment file was created since the directory was last synced */
	int dir_fd;
	int failed; /* a write or sync failed: nothing later can be durable */
	struct seg_file r; /* the segment last read */
	uint8_t *rbuf;
	size_t rcap;
	sqlite3_stmt *ins_seg;
	sqlite3_stmt *get_seg;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A wait for the disk that began at t0 is over: it is the store's backlog gauge. */
static void waited(struct seg_sink *s, uint64_t t0)
{
	s->base.wait_ns += mono_ns() - t0;
	s->base.waits++;
}

static int seg_fail(struct seg_sink *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int seg_fail(struct seg_sink *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->base.errmsg, s->base.errlen, fmt, ap);
	va_end(ap);
	return err;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t align_up(uint64_t n)
{
	return (n + SEG_ALIGN - 1) & ~(uint64_t)(SEG_ALIGN - 1);
}

bool pr_sink_seg_dir(const char *db_path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s.segments", db_path);

	return n >= 0 && (size_t)n < len;
}

static void file_close(struct seg_file *f)
{
	if (f->id && f->fd >= 0)
		close(f->fd);
	explicit_bzero(f->key, sizeof(f->key));
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/* Grow an aligned buffer to at least need bytes. */
static int buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t keep)
{
	size_t ncap = *cap ? *cap : SEG_ALIGN;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if (posix_memalign(&p, SEG_ALIGN, ncap))
		return -ENOMEM;
	if (keep)
		memcpy(p, *buf, keep);
	free(*buf);
	*buf = p;
	*cap = ncap;
	return 0;
}

/* Write len bytes at off, whatever a short write leaves. */
static int write_all(struct seg_sink *s, const uint8_t *p, size_t len, uint64_t off)
{
	uint64_t t0 = mono_ns();
	size_t done = 0;
	ssize_t n;
	int err = 0;

	while (done < len) {
		n = pwrite(s->w.fd, p + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			err = seg_fail(s, err, "segment %" PRId64 ": write: %s", s->w.id,
				       strerror(-err));
			break;
		}
		done += (size_t)n;
	}
	waited(s, t0);
	return err;
}

/* A write or sync failed: its blocks may be lost, so no later ticket may become durable. */
static int sink_failed(struct seg_sink *s, int err)
{
	if (!s->failed)
		s->failed = err;
	return err;
}

static int check_failed(struct seg_sink *s)
{
	if (!s->failed)
		return 0;
	return seg_fail(s, s->failed, "segment %" PRId64 ": an earlier write or sync failed: %s",
			s->w.id, strerror(-s->failed));
}

/* Handle one completion: a write (a short one is finished synchronously) or a sync. */
static int reap_cqe(struct seg_sink *s, struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	int rc = cqe->res, err = 0;
	struct wbuf *b;

	io_uring_cqe_seen(&s->ring, cqe);
	if (data & SYNC_TAG) {
		s->sq[(data & ~SYNC_TAG) % NSYNC].pending--;
		s->syncs_inflight--;
		if (rc < 0)
			err = sink_failed(s, seg_fail(s, rc, "segment %" PRId64 ": sync: %s",
						      s->w.id, strerror(-rc)));
		return err;
	}
	b = &s->wb[data % NBUF];
	b->inflight = false;
	if (rc < 0)
		err = seg_fail(s, rc, "segment %" PRId64 ": write: %s", s->w.id, strerror(-rc));
	else if ((size_t)rc < b->len)
		err = write_all(s, b->p + rc, b->len - (size_t)rc, b->off + (uint64_t)rc);
	b->len = 0;
	return err ? sink_failed(s, err) : 0;
}

/* Wait for one completion and handle it. */
static int reap_one(struct seg_sink *s)
{
	struct io_uring_cqe *cqe;
	uint64_t t0 = mono_ns();
	int rc;

	do
		rc = io_uring_wait_cqe(&s->ring, &cqe);
	while (rc == -EINTR);
	waited(s, t0);
	if (rc < 0)
		return sink_failed(s, seg_fail(s, rc, "segment %" PRId64 ": wait for a write: %s",
					       s->w.id, strerror(-rc)));
	return reap_cqe(s, cqe);
}

/* Handle the completions that are there, without waiting. */
static int reap_ready(struct seg_sink *s)
{
	struct io_uring_cqe *cqe;
	int err = 0;

	while (!err && s->have_ring && !io_uring_peek_cqe(&s->ring, &cqe))
		err = reap_cqe(s, cqe);
	return err;
}

static int wait_buf(struct seg_sink *s, struct wbuf *b)
{
	int err = 0;

	while (!err && b->inflight)
		err = reap_one(s);
	return err;
}

static int pump(struct seg_sink *s);

/* Start writing the buffer being filled; fill the next one, once it is free. */
static int submit_cur(struct seg_sink *s)
{
	struct wbuf *b = &s->wb[s->cur];
	struct io_uring_sqe *sqe;
	uint64_t next_off = b->off + b->len;
	int err = 0;

	if (!b->len)
		return 0;
	sqe = s->have_ring ? io_uring_get_sqe(&s->ring) : NULL;
	if (sqe) {
		io_uring_prep_write(sqe, s->w.fd, b->p, (unsigned int)b->len, b->off);
		io_uring_sqe_set_data64(sqe, s->cur);
		/*
		 * Straight to io_uring's worker: issued inline, a 4 MiB direct
		 * write blocked the submitter 10-27 ms (strace) waiting for the
		 * device queue, while the next buffer could have been sealed.
		 */
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
		err = io_uring_submit(&s->ring);
		if (err < 0)
			return sink_failed(s, seg_fail(s, err,
						       "segment %" PRId64 ": submit a write: %s",
						       s->w.id, strerror(-err)));
		b->inflight = true;
		b->wseq = s->wseq_next;
		err = 0;
	} else {
		err = write_all(s, b->p, b->len, b->off);
		b->len = 0;
		if (err)
			return sink_failed(s, err);
	}
	s->wseq_next++;
	s->cur = (s->cur + 1) % NBUF;
	b = &s->wb[s->cur];
	err = wait_buf(s, b);
	b->len = 0;
	b->off = next_off;
	/* A sync waiting for the writes that just completed starts now, not at the next commit. */
	if (!err)
		err = reap_ready(s);
	if (!err && s->sq_len)
		err = pump(s);
	return err;
}

/* Every buffered block on its way to the file, and there. */
static int drain(struct seg_sink *s)
{
	int err = submit_cur(s);

	for (unsigned int i = 0; !err && i < NBUF; i++)
		err = wait_buf(s, &s->wb[i]);
	return err;
}

/* Every write numbered below the result has completed. */
static uint64_t writes_done_below(const struct seg_sink *s)
{
	uint64_t low = s->wseq_next;

	for (unsigned int i = 0; i < NBUF; i++)
		if (s->wb[i].inflight && s->wb[i].wseq < low)
			low = s->wb[i].wseq;
	return low;
}

static int sync_now(struct seg_sink *s, int fd, bool data_only)
{
	uint64_t t0 = mono_ns();
	int err = (data_only ? fdatasync(fd) : fsync(fd)) ? -errno : 0;

	waited(s, t0);
	if (!err)
		return 0;
	return sink_failed(s, seg_fail(s, err, "segment %" PRId64 ": sync: %s", s->w.id,
				       strerror(-err)));
}

static int queue_sync(struct seg_sink *s, int fd, unsigned int flags, unsigned int slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	/* The ring has room for every write and sync there can be in flight. */
	if (!sqe)
		return sink_failed(s,
				   seg_fail(s, -EBUSY, "segment %" PRId64 ": ring full", s->w.id));
	io_uring_prep_fsync(sqe, fd, flags);
	io_uring_sqe_set_data64(sqe, SYNC_TAG | slot);
	s->sq[slot].pending++;
	s->syncs_inflight++;
	return 0;
}

/* Start the syncs whose writes have all completed; retire finished requests in order. */
static int pump(struct seg_sink *s)
{
	uint64_t done = writes_done_below(s);
	int rc, err = 0;

	for (unsigned int i = 0; !err && i < s->sq_len; i++) {
		unsigned int slot = (s->sq_head + i) % NSYNC;
		struct sync_req *r = &s->sq[slot];

		if (r->submitted)
			continue;
		/* Later requests need at least the same writes. */
		if (r->need_wseq > done)
			break;
		r->submitted = true;
		if (!s->have_ring) {
			err = sync_now(s, s->w.fd, true);
			if (!err && r->dir)
				err = sync_now(s, s->dir_fd, false);
			continue;
		}
		err = queue_sync(s, s->w.fd, IORING_FSYNC_DATASYNC, slot);
		/* The new file's name must survive a power loss as well as its bytes. */
		if (!err && r->dir)
			err = queue_sync(s, s->dir_fd, 0, slot);
		if (!err) {
			rc = io_uring_submit(&s->ring);
			if (rc < 0)
				err = sink_failed(
					s, seg_fail(s, rc, "segment %" PRId64 ": submit a sync: %s",
						    s->w.id, strerror(-rc)));
		}
	}
	while (!err && s->sq_len && s->sq[s->sq_head].submitted && !s->sq[s->sq_head].pending) {
		s->durable = s->sq[s->sq_head].ticket;
		s->sq_head = (s->sq_head + 1) % NSYNC;
		s->sq_len--;
	}
	return err ? err : check_failed(s);
}

static int seg_sync_poll(struct pr_sink *sk, uint64_t until, bool wait, uint64_t *durable)
{
	struct seg_sink *s = (struct seg_sink *)sk;
	int err;

	if (until > s->ticket_last)
		until = s->ticket_last;
	err = reap_ready(s);
	if (!err)
		err = pump(s);
	while (!err && wait && s->durable < until) {
		/* Something is in flight: a sync, or a write that a sync waits for. */
		err = reap_one(s);
		if (!err)
			err = pump(s);
	}
	*durable = s->durable;
	return err;
}

static int seg_sync_start(struct pr_sink *sk, uint64_t *ticket)
{
	struct seg_sink *s = (struct seg_sink *)sk;
	struct sync_req *r;
	uint64_t durable;
	int err;

	*ticket = s->ticket_last;
	err = check_failed(s);
	/* No segment open: what was put went into closed segments, synced when they closed. */
	if (err || !s->w.id)
		return err;
	err = submit_cur(s);
	if (err || (s->wseq_next == s->ticket_wseq && !s->dir_dirty))
		return err;
	while (!err && s->sq_len == NSYNC)
		err = seg_sync_poll(sk, s->sq[s->sq_head].ticket, true, &durable);
	if (err)
		return err;
	r = &s->sq[(s->sq_head + s->sq_len) % NSYNC];
	*r = (struct sync_req){
		.ticket = ++s->ticket_last,
		.need_wseq = s->wseq_next,
		.dir = s->dir_dirty,
	};
	s->sq_len++;
	s->ticket_wseq = s->wseq_next;
	s->dir_dirty = false;
	*ticket = r->ticket;
	return pump(s);
}

static int seg_sync(struct pr_sink *sk)
{
	uint64_t ticket, durable;
	int err = seg_sync_start(sk, &ticket);

	return err ? err : seg_sync_poll(sk, ticket, true, &durable);
}

static int make_dir(struct seg_sink *s)
{
	mode_t mode = (s->file_mode & 0777) | 0700;

	if (!mkdir(s->dir, mode))
		/* mkdir applies the umask; the mode asked for is the mode wanted. */
		chmod(s->dir, mode);
	else if (errno != EEXIST)
		return seg_fail(s, -errno, "%s: cannot create: %s", s->dir, strerror(errno));
	/* Kept open to sync the names of new segment files. */
	if (s->dir_fd < 0)
		s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0)
		return seg_fail(s, -errno, "%s: %s", s->dir, strerror(errno));
	return 0;
}

static int open_new_file(struct seg_sink *s, const char *path, struct seg_file *f)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;

	f->fd = open(path, flags | O_DIRECT, s->file_mode);
	f->direct = f->fd >= 0;
	if (f->fd < 0 && errno == EINVAL)
		f->fd = open(path, flags, s->file_mode);
	if (f->fd < 0)
		return seg_fail(s, -errno, "%s: cannot create: %s", path, strerror(errno));
	if (fchmod(f->fd, s->file_mode))
		return seg_fail(s, -errno, "%s: cannot set mode: %s", path, strerror(errno));
	return 0;
}

/* Sync the segment being written, and record when it was closed (its age for retention). */
static int seg_close_current(struct seg_sink *s)
{
	bool dir = s->dir_dirty;
	char sql[128];
	int err;

	if (!s->w.id)
		return 0;
	err = drain(s);
	while (!err && s->syncs_inflight)
		err = reap_one(s);
	if (!err)
		err = check_failed(s);
	/* Give back what fallocate() reserved beyond the last block. */
	if (!err && s->w.alloc > s->w.size && ftruncate(s->w.fd, (off_t)s->w.size))
		err = seg_fail(s, -errno, "segment %" PRId64 ": trim: %s", s->w.id,
			       strerror(errno));
	/* One sync covers every request not yet started: their writes are all done. */
	for (unsigned int i = 0; i < s->sq_len; i++)
		dir |= s->sq[(s->sq_head + i) % NSYNC].dir;
	if (!err)
		err = sync_now(s, s->w.fd, true);
	if (!err && dir)
		err = sync_now(s, s->dir_fd, false);
	if (err)
		return err;
	s->sq_len = 0;
	s->durable = s->ticket_last;
	s->ticket_wseq = s->wseq_next;
	s->dir_dirty = false;
	snprintf(sql, sizeof(sql),
		 "UPDATE segments SET closed_ts = %" PRId64 " WHERE id = %" PRId64,
		 (int64_t)now_ns(), s->w.id);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return seg_fail(s, -EIO, "close segment %" PRId64 ": %s", s->w.id,
				sqlite3_errmsg(s->db));
	file_close(&s->w);
	return 0;
}

static int seg_finish(struct pr_sink *sk, int64_t session)
{
	struct seg_sink *s = (struct seg_sink *)sk;

	return s->w.id && s->w.session == session ? seg_close_current(s) : 0;
}

/* Start a new segment of session: a row with its key, the file, its header. */
static int seg_start(struct seg_sink *s, int64_t session)
{
	char name[64], path[PATH_MAX];
	struct timespec now;
	struct wbuf *b;
	sqlite3_stmt *st;
	int rc, err;

	err = seg_close_current(s);
	if (err)
		return err;
	err = make_dir(s);
	if (err)
		return err;
	err = pr_seal_key_generate(s->w.key);
	if (err)
		return seg_fail(s, err, "segment key: no random bytes");
	if (!s->ins_seg &&
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO segments(session_id, file, data_key, created_ts) "
			       "VALUES (?, ?, ?, ?)",
			       -1, &s->ins_seg, NULL) != SQLITE_OK)
		return seg_fail(s, -EIO, "prepare segment insert: %s", sqlite3_errmsg(s->db));
	clock_gettime(CLOCK_REALTIME, &now);
	/* The file name is set after the id is known; the row holds the name. */
	st = s->ins_seg;
	sqlite3_bind_int64(st, 1, session);
	sqlite3_bind_text(st, 2, "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, s->w.key, PR_SEAL_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return seg_fail(s, rc == SQLITE_FULL ? -ENOSPC : -EIO, "insert segment: %s",
				sqlite3_errmsg(s->db));
	s->w.id = sqlite3_last_insert_rowid(s->db);
	s->w.session = session;
	snprintf(name, sizeof(name), "s%06" PRId64 "-%08" PRId64 ".seg", session, s->w.id);
	if (snprintf(path, sizeof(path), "%s/%s", s->dir, name) >= (int)sizeof(path))
		return seg_fail(s, -ENAMETOOLONG, "%s: %s", s->dir, strerror(ENAMETOOLONG));
	{
		char sql[160];

		snprintf(sql, sizeof(sql), "UPDATE segments SET file = '%s' WHERE id = %" PRId64,
			 name, s->w.id);
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return seg_fail(s, -EIO, "name segment: %s", sqlite3_errmsg(s->db));
	}
	err = open_new_file(s, path, &s->w);
	if (err) {
		s->w.id = 0;
		return err;
	}
	s->dir_dirty = true;
	/* The header: magic, version, ids, creation time; the rest zeros. */
	b = &s->wb[s->cur];
	err = buf_reserve(&b->p, &b->cap, WBUF_LEN, 0);
	if (err)
		return seg_fail(s, err, "segment buffer: %s", strerror(-err));
	memset(b->p, 0, SEG_HDR_LEN);
	memcpy(b->p, SEG_MAGIC, 8);
	put32(b->p + 8, BLK_VERSION);
	put64(b->p + 16, (uint64_t)s->w.id);
	put64(b->p + 24, (uint64_t)session);
	put64(b->p + 32, (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
	b->len = SEG_HDR_LEN;
	b->off = 0;
	s->w.alloc = SEG_HDR_LEN;
	s->w.size = SEG_HDR_LEN;
	return 0;
}

static void blk_header(uint8_t *h, const struct seg_file *f, uint64_t seq, uint32_t len,
		       uint16_t flags, uint32_t raw_len)
{
	memset(h, 0, BLK_HDR_LEN);
	put32(h, BLK_MAGIC);
	put16(h + 4, BLK_VERSION);
	put16(h + 6, flags);
	put64(h + 8, (uint64_t)f->id);
	put64(h + 16, seq);
	put64(h + 24, (uint64_t)f->session);
	put32(h + 32, len);
	put32(h + 36, raw_len);
}

size_t pr_sink_seg_block_size(size_t len)
{
	return (size_t)align_up(BLK_HDR_LEN + (uint64_t)len + PR_SEAL_TAG_LEN);
}

static int block_seal(struct pr_seal *seal, const uint8_t key[PR_SEAL_KEY_LEN], int64_t segment_id,
		      int64_t session, uint64_t seq, const uint8_t *blk, size_t len, uint16_t flags,
		      uint32_t raw_len, uint8_t *out)
{
	struct seg_file f = { .id = segment_id, .session = session };
	uint8_t nonce[PR_SEAL_NONCE_LEN];
	size_t need = pr_sink_seg_block_size(len);
	int err;

	blk_header(out, &f, seq, (uint32_t)len, flags, raw_len);
	pr_seal_nonce(seq, nonce);
	err = pr_seal_encrypt(seal, key, nonce, out, BLK_HDR_LEN, blk, len, out + BLK_HDR_LEN,
			      out + BLK_HDR_LEN + len);
	if (!err)
		memset(out + BLK_HDR_LEN + len + PR_SEAL_TAG_LEN, 0,
		       need - (BLK_HDR_LEN + len + PR_SEAL_TAG_LEN));
	return err;
}

int pr_sink_seg_block_seal(struct pr_seal *seal, const uint8_t key[PR_SEAL_KEY_LEN],
			   int64_t segment_id, int64_t session, uint64_t seq, const uint8_t *blk,
			   size_t len, uint8_t *out)
{
	return block_seal(seal, key, segment_id, session, seq, blk, len, 0, 0, out);
}

int pr_sink_seg_block_open(struct pr_seal *seal, const uint8_t key[PR_SEAL_KEY_LEN],
			   int64_t segment_id, uint64_t seq, uint8_t *buf, size_t len,
			   const uint8_t **out, size_t *out_len, const char **why)
{
	uint8_t nonce[PR_SEAL_NONCE_LEN];
	uint32_t n;
	int err;

	*why = "";
	if (len < BLK_HDR_LEN + PR_SEAL_TAG_LEN) {
		*why = "shorter than a block header and tag";
		return -EBADMSG;
	}
	n = get32(buf + 32);
	/* The header must be the one this block was sealed with (it is checked again as AAD). */
	if (get32(buf) != BLK_MAGIC || get64(buf + 8) != (uint64_t)segment_id ||
	    get64(buf + 16) != seq || (uint64_t)n + BLK_HDR_LEN + PR_SEAL_TAG_LEN > len) {
		*why = "damaged header";
		return -EBADMSG;
	}
	pr_seal_nonce(seq, nonce);
	err = pr_seal_decrypt(seal, key, nonce, buf, BLK_HDR_LEN, buf + BLK_HDR_LEN, n,
			      buf + BLK_HDR_LEN, buf + BLK_HDR_LEN + n);
	if (err == -EBADMSG)
		*why = "the block does not authenticate (tampered or damaged)";
	if (err)
		return err;
	*out = buf + BLK_HDR_LEN;
	*out_len = n;
	return 0;
}

static int seg_put(struct pr_sink *sk, int64_t session, const uint8_t *blk, size_t len,
		   bool boundary, struct pr_sink_ref *ref)
{
	struct seg_sink *s = (struct seg_sink *)sk;
	uint32_t raw_len = 0;
	uint16_t flags = 0;
	uint64_t need;
	struct wbuf *b;
	uint8_t *p;
	int err;

	if (s->readonly)
		return seg_fail(s, -EROFS, "segments: store opened read-only");
	err = check_failed(s);
	if (err)
		return err;
	if (len > UINT32_MAX - SEG_ALIGN * 2)
		return seg_fail(s, -EMSGSIZE, "block of %zu bytes is too large", len);
	/* Compressed only where it saves something: random payloads stay as they are. */
	if (s->compress) {
		size_t bound = ZSTD_compressBound(len), z;

		err = buf_reserve(&s->zbuf, &s->zcap, bound, 0);
		if (err)
			return seg_fail(s, err, "compression buffer: %s", strerror(-err));
		z = ZSTD_compressCCtx(s->zc, s->zbuf, s->zcap, blk, len, ZSTD_LEVEL);
		if (!ZSTD_isError(z) && z < len) {
			raw_len = (uint32_t)len;
			flags = BLK_F_ZSTD;
			blk = s->zbuf;
			len = z;
		}
	}
	need = align_up(BLK_HDR_LEN + (uint64_t)len + PR_SEAL_TAG_LEN);
	if (!s->w.id || s->w.session != session ||
	    (s->w.size + need > SEG_MAX_BYTES &&
	     (boundary || s->w.size + need > 2 * SEG_MAX_BYTES))) {
		err = seg_start(s, session);
		if (err)
			return err;
	}
	/*
	 * An O_DIRECT write past the end of the file is serialised and waited
	 * for by the filesystem (ext4, xfs): reserve the file ahead, so that
	 * the writes in flight overlap. Measured: 288 MB/s without, see
	 * docs/PERFORMANCE.md with. A crash leaves zeros past the last block;
	 * repair cuts them with the rest of an uncommitted tail.
	 */
	if (s->w.size + need > s->w.alloc) {
		uint64_t more = s->w.alloc > PREALLOC_BYTES ? s->w.alloc : PREALLOC_BYTES;

		/* Not past the segment's end: the rest would only be trimmed off at its close. */
		if (s->w.alloc + more > SEG_MAX_BYTES)
			more = s->w.alloc < SEG_MAX_BYTES ? SEG_MAX_BYTES - s->w.alloc : 0;
		/* Past it (waiting for a boundary) in small steps. */
		if (more < need)
			more = align_up(need) > PREALLOC_BYTES ? align_up(need) : PREALLOC_BYTES;

		if (!fallocate(s->w.fd, 0, (off_t)s->w.alloc, (off_t)more))
			s->w.alloc += more;
		else
			s->w.alloc = UINT64_MAX; /* not supported here: plain appends */
	}
	b = &s->wb[s->cur];
	if (b->len + need > b->cap) {
		if (b->len) {
			err = submit_cur(s);
			if (err)
				return err;
			b = &s->wb[s->cur];
		}
		err = buf_reserve(&b->p, &b->cap, need > WBUF_LEN ? need : WBUF_LEN, 0);
		if (err)
			return seg_fail(s, err, "segment buffer: %s", strerror(-err));
	}
	p = b->p + b->len;
	err = block_seal(s->seal, s->w.key, s->w.id, s->w.session, s->w.next_seq, blk, len, flags,
			 raw_len, p);
	if (err)
		return seg_fail(s, err, "segment %" PRId64 ": seal block: library failure",
				s->w.id);
	*ref = (struct pr_sink_ref){
		.segment_id = s->w.id,
		.offset = s->w.size,
		.length = (uint32_t)need,
		.seq = s->w.next_seq,
	};
	b->len += need;
	s->w.size += need;
	s->w.next_seq++;
	return 0;
}

/* Open segment id for reading: its file and its key. */
static int read_open(struct seg_sink *s, int64_t id)
{
	char path[PATH_MAX];
	const void *key;
	int rc, err = 0;

	file_close(&s->r);
	if (!s->get_seg &&
	    sqlite3_prepare_v2(s->db, "SELECT file, data_key FROM segments WHERE id = ?", -1,
			       &s->get_seg, NULL) != SQLITE_OK)
		return seg_fail(s, -EIO, "prepare segment lookup: %s", sqlite3_errmsg(s->db));
	sqlite3_bind_int64(s->get_seg, 1, id);
	rc = sqlite3_step(s->get_seg);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ?
			      seg_fail(s, -ENOENT, "segment %" PRId64 ": no such segment", id) :
			      seg_fail(s, -EIO, "segment %" PRId64 ": %s", id,
				       sqlite3_errmsg(s->db));
		goto out;
	}
	key = sqlite3_column_blob(s->get_seg, 1);
	if (!key || sqlite3_column_bytes(s->get_seg, 1) != PR_SEAL_KEY_LEN) {
		err = seg_fail(s, -ENOKEY, "segment %" PRId64 ": its key was destroyed", id);
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/%s", s->dir,
		     (const char *)sqlite3_column_text(s->get_seg, 0)) >= (int)sizeof(path)) {
		err = seg_fail(s, -ENAMETOOLONG, "segment %" PRId64 ": path too long", id);
		goto out;
	}
	s->r.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->r.fd < 0) {
		err = seg_fail(s, -errno, "segment %" PRId64 ": %s: %s", id, path, strerror(errno));
		goto out;
	}
	memcpy(s->r.key, key, PR_SEAL_KEY_LEN);
	s->r.id = id;
out:
	sqlite3_reset(s->get_seg);
	return err;
}

void pr_sink_buf_fini(struct pr_sink_buf *b)
{
	free(b->p);
	free(b->z);
	memset(b, 0, sizeof(*b));
}

static int seg_get(struct pr_sink *sk, const struct pr_sink_ref *ref, const void *row,
		   size_t row_len, struct pr_sink_buf *buf, const uint8_t **out, size_t *out_len)
{
	struct seg_sink *s = (struct seg_sink *)sk;
	uint8_t **rbuf = buf ? &buf->p : &s->rbuf, **zbuf = buf ? &buf->z : &s->zbuf;
	size_t *rcap = buf ? &buf->cap : &s->rcap, *zcap = buf ? &buf->zcap : &s->zcap;
	const char *why = "";
	ssize_t n;
	int err;

	(void)row;
	(void)row_len;
	if (ref->length < BLK_HDR_LEN + PR_SEAL_TAG_LEN)
		return seg_fail(s, -EBADMSG,
				"segment %" PRId64 " block %" PRIu64 ": index gives %u bytes",
				ref->segment_id, ref->seq, ref->length);
	/* Blocks still in the write buffer are read from there: nothing to flush. */
	if (ref->segment_id == s->w.id) {
		err = drain(s);
		if (err)
			return err;
	}
	if (s->r.id != ref->segment_id) {
		err = read_open(s, ref->segment_id);
		if (err)
			return err;
	}
	err = buf_reserve(rbuf, rcap, ref->length, 0);
	if (err)
		return seg_fail(s, err, "read buffer: %s", strerror(-err));
	n = pread(s->r.fd, *rbuf, ref->length, (off_t)ref->offset);
	if (n < 0)
		return seg_fail(s, -errno, "segment %" PRId64 ": read: %s", ref->segment_id,
				strerror(errno));
	if ((size_t)n < ref->length)
		return seg_fail(s, -EBADMSG,
				"segment %" PRId64 " block %" PRIu64
				": cut short (%zd of %u bytes)",
				ref->segment_id, ref->seq, n, ref->length);
	err = pr_sink_seg_block_open(s->seal, s->r.key, ref->segment_id, ref->seq, *rbuf,
				     ref->length, out, out_len, &why);
	if (err == -EBADMSG)
		return seg_fail(s, -EBADMSG,
				"segment %" PRId64 " block %" PRIu64 ": integrity error: %s",
				ref->segment_id, ref->seq, why);
	if (err)
		return seg_fail(s, err, "segment %" PRId64 ": open block: library failure",
				ref->segment_id);
	/* The header is authenticated: its flags and length can be trusted now. */
	if (get16(*rbuf + 6) & BLK_F_ZSTD) {
		uint32_t raw = get32(*rbuf + 36);
		size_t got;

		if (raw > MAX_RAW_BLOCK)
			return seg_fail(s, -EBADMSG,
					"segment %" PRId64 " block %" PRIu64
					": %u bytes after decompression, above the limit",
					ref->segment_id, ref->seq, raw);
		if (!s->zd && !(s->zd = ZSTD_createDCtx()))
			return seg_fail(s, -ENOMEM, "decompression: %s", strerror(ENOMEM));
		err = buf_reserve(zbuf, zcap, raw ? raw : 1, 0);
		if (err)
			return seg_fail(s, err, "decompression buffer: %s", strerror(-err));
		got = ZSTD_decompressDCtx(s->zd, *zbuf, raw, *out, *out_len);
		if (ZSTD_isError(got) || got != raw)
			return seg_fail(s, -EBADMSG,
					"segment %" PRId64 " block %" PRIu64
					": does not decompress",
					ref->segment_id, ref->seq);
		*out = *zbuf;
		*out_len = raw;
	}
	return 0;
}

/*
 * Ask the kernel to start reading a block that the reader will want
 * soon: with blocks skipped by the index the reads are no longer
 * sequential, and the kernel's own read-ahead stops. Only in the segment
 * being read (or the first one): switching would cost the current reads
 * their descriptor.
 */
static void seg_prefetch(struct pr_sink *sk, const struct pr_sink_ref *ref)
{
	struct seg_sink *s = (struct seg_sink *)sk;

	if (!ref->segment_id || ref->segment_id == s->w.id)
		return;
	/* The first blocks of a read are asked for before any is read. */
	if (!s->r.id && read_open(s, ref->segment_id))
		return;
	if (ref->segment_id == s->r.id)
		posix_fadvise(s->r.fd, (off_t)ref->offset, ref->length, POSIX_FADV_WILLNEED);
}

/* Cut one segment file to end bytes; count what went. */
static int cut_file(struct seg_sink *s, const char *path, uint64_t end, struct pr_sink_repair *rep)
{
	struct stat sb;

	if (stat(path, &sb))
		return errno == ENOENT ? 0 : seg_fail(s, -errno, "%s: %s", path, strerror(errno));
	if ((uint64_t)sb.st_size <= end)
		return 0;
	if (truncate(path, (off_t)end))
		return seg_fail(s, -errno, "%s: cannot cut the torn tail: %s", path,
				strerror(errno));
	rep->segments_cut++;
	rep->bytes_cut += (uint64_t)sb.st_size - end;
	return 0;
}

static int seg_repair(struct pr_sink *sk, int64_t session, struct pr_sink_repair *rep)
{
	struct seg_sink *s = (struct seg_sink *)sk;
	sqlite3_stmt *st = NULL;
	char path[PATH_MAX], prefix[32];
	struct dirent *de;
	DIR *d = NULL;
	int rc, err = 0;

	if (s->readonly)
		return 0;
	rc = sqlite3_prepare_v2(s->db,
				"SELECT s.file, coalesce(max(b.seg_offset + b.seg_len), 0) "
				"FROM segments s LEFT JOIN packet_blocks b ON b.segment_id = s.id "
				"WHERE s.session_id = ? GROUP BY s.id",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return seg_fail(s, -EIO, "repair: %s", sqlite3_errmsg(s->db));
	sqlite3_bind_int64(st, 1, session);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t end = (uint64_t)sqlite3_column_int64(st, 1);

		snprintf(path, sizeof(path), "%s/%s", s->dir,
			 (const char *)sqlite3_column_text(st, 0));
		/* A segment without a committed block keeps only its header. */
		err = cut_file(s, path, end ? end : SEG_HDR_LEN, rep);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (err)
		return err;
	/* Files of this session that no committed row names were never committed. */
	d = opendir(s->dir);
	if (!d)
		return errno == ENOENT ? 0 : seg_fail(s, -errno, "%s: %s", s->dir, strerror(errno));
	snprintf(prefix, sizeof(prefix), "s%06" PRId64 "-", session);
	rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM segments WHERE file = ?", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = seg_fail(s, -EIO, "repair: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		sqlite3_bind_text(st, 1, de->d_name, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE) {
			snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
			if (!unlink(path))
				rep->files_removed++;
		}
	}
out:
	sqlite3_finalize(st);
	closedir(d);
	return err;
}

static int seg_delete_segment(struct pr_sink *sk, int64_t segment_id, const char *file)
{
	struct seg_sink *s = (struct seg_sink *)sk;
	char path[PATH_MAX];

	/* The name comes from a row of the store: never let it leave the directory. */
	if (!file[0] || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
		return seg_fail(s, -EINVAL, "segment %" PRId64 ": bad file name", segment_id);
	if (segment_id && segment_id == s->w.id)
		return seg_fail(s, -EBUSY, "segment %" PRId64 ": being written", segment_id);
	if (snprintf(path, sizeof(path), "%s/%s", s->dir, file) >= (int)sizeof(path))
		return seg_fail(s, -ENAMETOOLONG, "segment %" PRId64 ": path too long", segment_id);
	/* The read cache holds the key and a descriptor that would keep the file's blocks. */
	if (segment_id && segment_id == s->r.id)
		file_close(&s->r);
	if (unlink(path) && errno != ENOENT)
		return seg_fail(s, -errno, "%s: cannot remove: %s", path, strerror(errno));
	return 0;
}

static void seg_destroy(struct pr_sink *sk)
{
	struct seg_sink *s = (struct seg_sink *)sk;

	if (!s)
		return;
	/* The kernel may still be reading a buffer: wait before freeing it. */
	if (s->have_ring) {
		for (unsigned int i = 0; i < NBUF; i++)
			while (s->wb[i].inflight && !reap_one(s))
				;
		while (s->syncs_inflight && !reap_one(s))
			;
	}
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	file_close(&s->w);
	file_close(&s->r);
	sqlite3_finalize(s->ins_seg);
	sqlite3_finalize(s->get_seg);
	pr_seal_destroy(s->seal);
	ZSTD_freeCCtx(s->zc);
	ZSTD_freeDCtx(s->zd);
	free(s->zbuf);
	for (unsigned int i = 0; i < NBUF; i++)
		free(s->wb[i].p);
	if (s->have_ring)
		io_uring_queue_exit(&s->ring);
	free(s->rbuf);
	free(s->dir);
	free(s);
}

static const struct pr_sink_ops seg_ops = {
	.name = "segments",
	.put = seg_put,
	.sync = seg_sync,
	.sync_start = seg_sync_start,
	.sync_poll = seg_sync_poll,
	.get = seg_get,
	.prefetch = seg_prefetch,
	.repair = seg_repair,
	.finish = seg_finish,
	.delete_segment = seg_delete_segment,
	.destroy = seg_destroy,
};

int pr_sink_seg_create(sqlite3 *db, const char *db_path, unsigned int file_mode, bool readonly,
		       bool compress, char *errmsg, size_t errlen, struct pr_sink **out)
{
	struct seg_sink *s = calloc(1, sizeof(*s));
	char dir[PATH_MAX];
	int err;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->base.ops = &seg_ops;
	s->base.errmsg = errmsg;
	s->base.errlen = errlen;
	s->db = db;
	s->file_mode = file_mode ? file_mode : 0600;
	s->readonly = readonly;
	s->compress = compress && !readonly;
	s->w.fd = s->r.fd = s->dir_fd = -1;
	if (!pr_sink_seg_dir(db_path, dir, sizeof(dir))) {
		err = seg_fail(s, -ENAMETOOLONG, "%s: %s", db_path, strerror(ENAMETOOLONG));
		goto fail;
	}
	s->dir = strdup(dir);
	err = s->dir ? pr_seal_create(&s->seal) : -ENOMEM;
	if (!err && s->compress && !(s->zc = ZSTD_createCCtx()))
		err = -ENOMEM;
	if (err)
		goto fail;
	/* Without io_uring (an old kernel, a seccomp filter) writes and syncs are synchronous. */
	s->have_ring = !readonly && !io_uring_queue_init(2 * (NBUF + 2 * NSYNC), &s->ring, 0);
	*out = &s->base;
	return 0;
fail:
	seg_destroy(&s->base);
	return err;
}
