// SPDX-License-Identifier: Apache-2.0
/*
 * The packet store on SQLCipher (API in pr_store.h, schema in
 * pr_store_schema.c). Opening probes the file's first bytes before SQLite
 * sees it, then verifies the key and the schema with reads only, so a
 * wrong key, a missing key or a foreign file is reported without a single
 * byte written; only then are WAL mode and the migrations applied.
 * Writing keeps one current session in memory: its packets go into a
 * block builder that becomes one packet_blocks row when full, its
 * counters are written with each commit, and everything since the last
 * commit sits in one open transaction. A failed write rolls that
 * transaction back and drops the pending state, so the file always holds
 * exactly the committed data. The thread that opened a store is the only
 * one that may use it; the store owns its connection, statements, block
 * buffer and path copy.
 */
#define _GNU_SOURCE
#define PR_LOG_MODULE "store"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlcipher/sqlite3.h>

#include "pr_log.h"
#include "pr_store.h"
#include "pr_store_schema.h"

#ifndef PR_VERSION
#define PR_VERSION "unknown"
#endif

#define DEFAULT_BLOCK_PACKETS 256u
#define DEFAULT_BLOCK_BYTES (1u << 20)
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
	bool dirty;
};

struct pr_store {
	sqlite3 *db;
	char *path;
	bool encrypted;
	bool readonly;
	bool fell_back; /* asked to write, opened read-only: the files are not writable */
	bool in_txn;
	bool have_cur;
	uint32_t block_max_packets;
	uint32_t block_max_bytes;
	bool manual_checkpoint;
	struct cur_session cur;
	struct pr_block_builder blk;
	sqlite3_stmt *ins_block;
	sqlite3_stmt *ins_flow;
	sqlite3_stmt *upd_session;
	char errmsg[ERRMSG_LEN];
};

struct pr_store_pkt_iter {
	struct pr_store *st;
	sqlite3_stmt *stmt;
	int64_t session;
	int64_t block_id;
	struct pr_block_iter bit;
	bool in_block;
	int err; /* sticky: once damaged, always damaged */
};

/* What the opener learned from the file's first bytes. */
struct file_probe {
	bool exists;
	bool plaintext; /* starts with the SQLite magic */
	bool looks_foreign; /* text, or not a whole number of pages */
	off_t size;
};

static _Thread_local char open_errbuf[ERRMSG_LEN];

#define SESSION_COLS                                                                           \
	"id, name, source, source_kind, filter, start_ts, end_ts, first_pkt_ts, last_pkt_ts, " \
	"packets, bytes, captured_bytes, drops_ring_full, drops_kernel, drops_iface, "         \
	"drops_too_big, drops_store, flows, snaplen, status, writer_pid, writer_host, message"

static const char *const status_names[PR_SESSION_STATUS_MAX] = {
	"running",
	"completed",
	"interrupted",
	"failed",
};

static const char *const drop_names[PR_DROP_REASON_MAX] = {
	"ring_full", "kernel", "interface", "too_big", "store",
};

const char *pr_session_status_name(uint32_t status)
{
	return status < PR_SESSION_STATUS_MAX ? status_names[status] : "unknown";
}

const char *pr_drop_reason_name(uint32_t reason)
{
	return reason < PR_DROP_REASON_MAX ? drop_names[reason] : "unknown";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int open_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int open_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_errbuf, sizeof(open_errbuf), fmt, ap);
	va_end(ap);
	return err;
}

static int store_fail(struct pr_store *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int store_fail(struct pr_store *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

/* "<what>: <SQLite's message>", returned as a negative errno. */
static int sql_fail(struct pr_store *st, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sql_fail(struct pr_store *st, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(st->errmsg))
		snprintf(st->errmsg + n, sizeof(st->errmsg) - n, ": %s", sqlite3_errmsg(st->db));
	return pr_store_sqlite_errno(rc);
}

/*
 * A write failed: the message is already saved. A constraint violation
 * undoes only its own statement, so the transaction carries on. Anything
 * else (full disk, I/O error) may have cost SQLite the transaction or left
 * it half done: roll it back so the file keeps exactly what was committed,
 * and forget the pending packets and counters, which were part of it; the
 * current session is reloaded from its committed row on the next write.
 */
static void txn_abort(struct pr_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_txn = false;
	st->have_cur = false;
	pr_block_builder_reset(&st->blk);
}

static int write_fail(struct pr_store *st, int err)
{
	if (err != -EEXIST || sqlite3_get_autocommit(st->db))
		txn_abort(st);
	return err;
}

/* Statements of the write path are prepared once and kept. */
static int prepare(struct pr_store *st, sqlite3_stmt **stmt, const char *sql)
{
	int rc = *stmt ? SQLITE_OK : sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);

	return rc == SQLITE_OK ? 0 : sql_fail(st, rc, "prepare statement");
}

static int exec(struct pr_store *st, const char *sql, const char *what)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_fail(st, rc, "%s", what);
}

static int check_writable(struct pr_store *st)
{
	return st->readonly ? store_fail(st, -EROFS, "%s: store opened read-only", st->path) : 0;
}

/*
 * IMMEDIATE takes the write lock at once: a deferred transaction that
 * reads first could fail with SQLITE_BUSY when it upgrades to write
 * while a reader holds an older snapshot.
 */
static int txn_begin(struct pr_store *st)
{
	int err = 0;

	if (st->in_txn)
		goto out;
	err = exec(st, "BEGIN IMMEDIATE", "begin transaction");
	if (!err)
		st->in_txn = true;
out:
	return err;
}

static bool is_hex(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			 (s[i] >= 'A' && s[i] <= 'F')))
		i++;
	return i == n;
}

/*
 * Give the key to SQLCipher. A raw 256-bit key goes in SQLCipher's blob
 * literal form x'...', which makes it skip PBKDF2; anything else is a
 * passphrase. The copy we build for the raw form is wiped before it is
 * freed; SQLCipher keeps (and later wipes) its own.
 */
static int apply_key(sqlite3 *db, const char *key)
{
	size_t n = strlen(key);
	char raw[3 + 64 + 1];
	int rc;

	if (n == 64 && is_hex(key, 64)) {
		raw[0] = 'x';
		raw[1] = '\'';
		memcpy(raw + 2, key, 64);
		raw[66] = '\'';
		raw[67] = '\0';
		rc = sqlite3_key(db, raw, 67);
		explicit_bzero(raw, sizeof(raw));
	} else {
		/* "x'<64 hex>'" is already the literal SQLCipher understands. */
		rc = sqlite3_key(db, key, (int)n);
	}
	return rc;
}

static bool is_text(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n &&
	       ((p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
		i++;
	return i == n;
}

/*
 * "file:" URI of path for sqlite3_open_v2(SQLITE_OPEN_URI), every byte
 * outside the unreserved set percent-encoded, then query.
 */
static char *path_uri(const char *path, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *uri = malloc(5 + 3 * n + 1 + strlen(query) + 1), *o;

	if (!uri)
		return NULL;
	o = uri + sprintf(uri, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	sprintf(o, "?%s", query);
	return uri;
}

/*
 * The first bytes of the main file, read through SQLite's own descriptor.
 * Opening and closing a descriptor of our own would drop every POSIX lock
 * this process holds on the file (fcntl semantics): a second connection
 * in a process that already writes the store (the checkpointer) would
 * make the writer look gone to other processes, which would then
 * checkpoint and unlink the WAL under it. SQLite's unix VFS shares one
 * inode record between the connections of a process and keeps such a
 * descriptor open until the last lock is released.
 */
static int read_head(sqlite3 *db, unsigned char *buf, int len)
{
	sqlite3_file *f = NULL;
	int rc;

	rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f);
	if (rc != SQLITE_OK || !f || !f->pMethods)
		return -1;
	rc = f->pMethods->xRead(f, buf, len, 0);
	if (rc == SQLITE_OK)
		return len;
	/* A short read zero-fills the rest; count what the file had. */
	if (rc == SQLITE_IOERR_SHORT_READ) {
		int got = len;

		while (got > 0 && !buf[got - 1])
			got--;
		return got;
	}
	return -1;
}

/*
 * Classify the error of the first read on a connection whose key (or
 * lack of one) did not open page 1.
 */
static int notadb_fail(const char *path, bool keyed, const struct file_probe *fp,
		       const char *sqlmsg)
{
	if (fp->looks_foreign && !fp->plaintext)
		return open_fail(-EBADMSG, "%s: not a database", path);
	if (keyed)
		return open_fail(-EKEYREJECTED, "%s: wrong encryption key, or not a database",
				 path);
	if (!fp->plaintext)
		return open_fail(-EKEYREJECTED,
				 "%s: database is encrypted: give the key with "
				 "--encryption-key or PACKETRECORDER_DB_KEY",
				 path);
	return open_fail(-EBADMSG, "%s: damaged database: %s", path, sqlmsg);
}

static int key_and_page_size(sqlite3 *db, const char *path, const char *key)
{
	char sql[64];
	int rc;

	rc = apply_key(db, key);
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql), "PRAGMA cipher_page_size = %d", CIPHER_PAGE_SIZE);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK)
		return open_fail(pr_store_sqlite_errno(rc), "%s: set encryption key: %s", path,
				 sqlite3_errmsg(db));
	return 0;
}

/*
 * Look at the file before any connection that could write to it: stat
 * it, then open it with SQLite's immutable=1, which reads the main file
 * only, takes no locks and never opens, replays, checkpoints or deletes
 * the -wal and -shm files. The first bytes tell plaintext from encrypted,
 * and reading the schema checks the key: page 1 is always in the main
 * file (switching to WAL mode writes it there). So a wrong key, or a
 * foreign file, is found with every file of the store untouched, even
 * when a crashed writer left a WAL that a normal connection would replay
 * and checkpoint on close.
 */
static int probe_file(const char *path, const char *key, struct file_probe *fp)
{
	unsigned char head[SQLITE_MAGIC_LEN];
	sqlite3 *db = NULL;
	struct stat sb;
	char *uri = NULL;
	int rc, got, err = 0;

	memset(fp, 0, sizeof(*fp));
	if (stat(path, &sb)) {
		err = -errno;
		if (err == -ENOENT)
			err = 0;
		else
			open_fail(err, "%s: %s", path, strerror(-err));
		goto out;
	}
	fp->exists = true;
	if (!S_ISREG(sb.st_mode)) {
		err = open_fail(-EINVAL, "%s: not a regular file", path);
		goto out;
	}
	fp->size = sb.st_size;
	if (!fp->size)
		goto out;
	if (access(path, R_OK)) {
		err = -errno;
		open_fail(err, "%s: cannot read: %s", path, strerror(-err));
		goto out;
	}
	uri = path_uri(path, "immutable=1");
	if (!uri) {
		err = open_fail(-ENOMEM, "%s: %s", path, strerror(ENOMEM));
		goto out;
	}
	rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		err = db && sqlite3_system_errno(db) ? -sqlite3_system_errno(db) :
						       pr_store_sqlite_errno(rc);
		open_fail(err, "%s: cannot open: %s", path,
			  db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	got = read_head(db, head, sizeof(head));
	if (got < 0) {
		err = open_fail(-EIO, "%s: cannot read the file header", path);
		goto out;
	}
	fp->plaintext = got == SQLITE_MAGIC_LEN && !memcmp(head, SQLITE_MAGIC, SQLITE_MAGIC_LEN);
	/*
	 * Only used to word an error. Every SQLite or SQLCipher file is a
	 * whole number of pages of at least 512 bytes, and SQLCipher starts
	 * with a random salt, which is all printable ASCII with odds of about
	 * 1 in 10^7.
	 */
	fp->looks_foreign = fp->size % 512 || got < SQLITE_MAGIC_LEN || is_text(head, (size_t)got);
	if (key && fp->plaintext) {
		err = open_fail(-EKEYREJECTED, "%s: database is not encrypted, but a key was given",
				path);
		goto out;
	}
	if (key) {
		err = key_and_page_size(db, path, key);
		if (err)
			goto out;
	}
	/*
	 * NOTADB: page 1 did not decrypt (or is no SQLite page). CORRUPT
	 * means page 1 decrypted and authenticated, so the key is right, but
	 * the main file alone is not a consistent database: its newer pages
	 * are still in the WAL, which this connection does not read. The
	 * read-write connection that follows sees the whole store.
	 */
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	if ((rc & 0xff) == SQLITE_NOTADB)
		err = notadb_fail(path, key != NULL, fp, sqlite3_errmsg(db));
	else if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_CORRUPT)
		err = open_fail(pr_store_sqlite_errno(rc), "%s: %s", path, sqlite3_errmsg(db));
out:
	sqlite3_close_v2(db);
	free(uri);
	return err;
}

/*
 * Open one connection and check its key by reading the schema, which is
 * the first read that decrypts a page. Nothing is written here. path may
 * be a "file:" URI (SQLITE_OPEN_URI in flags).
 */
static int connect_db(const char *path, const char *name, const char *key, int flags,
		      const struct file_probe *fp, sqlite3 **out)
{
	bool keyed = key && *key;
	sqlite3 *db = NULL;
	int rc, err = 0;

	*out = NULL;
	rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = db && sqlite3_system_errno(db) ? -sqlite3_system_errno(db) :
						       pr_store_sqlite_errno(rc);
		open_fail(err, "%s: cannot open: %s", name,
			  db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (keyed) {
		err = key_and_page_size(db, name, key);
		if (err)
			goto out;
	}

	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	if ((rc & 0xff) == SQLITE_NOTADB) {
		err = notadb_fail(name, keyed, fp, sqlite3_errmsg(db));
		goto out;
	}
	if (rc != SQLITE_OK) {
		err = open_fail(pr_store_sqlite_errno(rc), "%s: %s", name, sqlite3_errmsg(db));
		goto out;
	}
	*out = db;
	db = NULL;
out:
	sqlite3_close_v2(db);
	return err;
}

/* Per-connection settings of a writer; the file format ones only on a new file. */
static int tune_writer(struct pr_store *st, bool fresh)
{
	char sql[64];
	int err = 0;

	if (fresh && !st->encrypted) {
		/* Must precede the first write; SQLCipher files got theirs in connect_db. */
		snprintf(sql, sizeof(sql), "PRAGMA page_size = %d", CIPHER_PAGE_SIZE);
		err = exec(st, sql, "set page size");
		if (err)
			goto out;
	}
	/*
	 * WAL lets readers (`packetrecorder sessions`) run while a capture
	 * writes; synchronous=NORMAL syncs at checkpoints only, which keeps
	 * every committed transaction consistent and loses at most the last
	 * ones on power failure. The cache is 16 MiB: measured, 64 MiB and
	 * more cost 20-40% of insert throughput (fresh page allocations and
	 * SQLCipher wiping each freed page), and a transaction larger than the
	 * cache only spills to the WAL early, which WAL mode handles well.
	 */
	err = exec(st, "PRAGMA journal_mode = WAL", "set WAL mode");
	if (!err)
		err = exec(st, "PRAGMA synchronous = NORMAL", "set synchronous mode");
	if (!err)
		err = exec(st, "PRAGMA cache_size = -16384", "set cache size");
	if (!err)
		err = exec(st, "PRAGMA temp_store = MEMORY", "set temp store");
	if (!err && st->manual_checkpoint)
		err = exec(st, "PRAGMA wal_autocheckpoint = 0", "turn off automatic checkpoints");
out:
	return err;
}

int pr_store_checkpoint(struct pr_store *st, bool truncate)
{
	int rc = sqlite3_wal_checkpoint_v2(
		st->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
		NULL, NULL);

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return truncate ? -EBUSY : 0; /* passive: what could be copied was */
	if (rc != SQLITE_OK)
		return sql_fail(st, rc, "checkpoint");
	return 0;
}

static int open_checked(struct pr_store *st, const char *target, const char *key, int flags,
			const struct file_probe *fp, bool may_init, int *version)
{
	char why[ERRMSG_LEN];
	int err;

	err = connect_db(target, st->path, key, flags, fp, &st->db);
	if (err)
		goto out;
	err = pr_store_schema_check(st->db, version, why, sizeof(why));
	if (err) {
		open_fail(err, "%s: %s", st->path, why);
		goto out;
	}
	if (!*version && !may_init)
		err = open_fail(-EBADMSG, "%s: empty database, not a packetrecorder database yet",
				st->path);
out:
	return err;
}

/* "<path><suffix>" in buf; false if it does not fit. */
static bool side_path(char *buf, size_t len, const char *path, const char *suffix)
{
	int n = snprintf(buf, len, "%s%s", path, suffix);

	return n >= 0 && (size_t)n < len;
}

/*
 * Can this process write the store: the file, and its directory, where
 * SQLite creates and deletes the -wal and -shm files? 0, or the errno
 * that says why not (EROFS on read-only media, EACCES for permissions).
 */
static int store_write_errno(const char *path)
{
	char *dir = strdup(path);
	int err = 0;

	if (!dir)
		return -ENOMEM;
	if (access(path, W_OK) || access(dirname(dir), W_OK | X_OK))
		err = -errno;
	free(dir);
	return err;
}

/* Size of a file, 0 if it does not exist. */
static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : sb.st_size;
}

static void unlink_store_files(const char *path)
{
	char side[PATH_MAX + 8];

	unlink(path);
	if (side_path(side, sizeof(side), path, "-wal"))
		unlink(side);
	if (side_path(side, sizeof(side), path, "-shm"))
		unlink(side);
}

/*
 * Make a new store appear whole. It is built (file mode, WAL mode, schema)
 * under a temporary name beside path and closed, which empties and
 * removes its WAL; then it is moved to path with RENAME_NOREPLACE (or
 * link(), where the filesystem lacks that), which fails instead of
 * replacing a store that another process created meanwhile: -EEXIST, and
 * the caller opens that one. A reader never finds a half-made store, and
 * the mode is ours, not the umask's (SQLite would create the file 0644
 * and gives -wal and -shm the database file's mode).
 */
static int create_store(const char *path, const char *key, mode_t mode)
{
	struct file_probe fresh = { 0 };
	struct pr_store *t = NULL;
	char why[ERRMSG_LEN];
	char *tmp = NULL;
	int fd, err = 0;

	t = calloc(1, sizeof(*t));
	tmp = malloc(strlen(path) + 16);
	if (!t || !tmp) {
		err = open_fail(-ENOMEM, "%s: %s", path, strerror(ENOMEM));
		goto out;
	}
	sprintf(tmp, "%s.new-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		open_fail(err, "%s: cannot create: %s", path, strerror(-err));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/* Nothing can hold a lock on a file made just now: closing it is harmless. */
	if (fchmod(fd, mode)) {
		err = -errno;
		open_fail(err, "%s: cannot set mode %04o: %s", path, (unsigned)mode,
			  strerror(-err));
	}
	close(fd);
	if (err)
		goto out;
	t->path = tmp;
	t->encrypted = key != NULL;
	fresh.plaintext = !key;
	err = connect_db(tmp, path, key, SQLITE_OPEN_READWRITE, &fresh, &t->db);
	if (!err) {
		err = tune_writer(t, true);
		if (err)
			open_fail(err, "%s: %s", path, t->errmsg);
	}
	if (!err) {
		err = pr_store_schema_migrate(t->db, "packetrecorder " PR_VERSION, why,
					      sizeof(why));
		if (err)
			open_fail(err, "%s: %s", path, why);
	}
	if (!err && sqlite3_close(t->db) != SQLITE_OK)
		err = open_fail(-EIO, "%s: cannot close the new store: %s", path,
				sqlite3_errmsg(t->db));
	else
		t->db = NULL;
	if (err)
		goto out;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE)) {
		err = -errno;
		if (err == -EINVAL || err == -ENOSYS) {
			err = link(tmp, path) ? -errno : 0;
			if (!err)
				unlink(tmp);
		}
		if (err && err != -EEXIST)
			open_fail(err, "%s: cannot create: %s", path, strerror(-err));
	}
out:
	if (t) {
		sqlite3_close_v2(t->db);
		free(t);
	}
	if (tmp) {
		if (err)
			unlink_store_files(tmp);
		free(tmp);
	}
	return err;
}

int pr_store_open(const struct pr_store_cfg *cfg, struct pr_store **out)
{
	const char *key = cfg && cfg->key && *cfg->key ? cfg->key : NULL;
	bool may_init, created = false;
	char why[ERRMSG_LEN], side[PATH_MAX + 8];
	struct pr_store *st = NULL;
	char *uri = NULL;
	const char *target;
	struct file_probe fp;
	int version = 0, flags, werr = 0, err;

	*out = NULL;
	open_errbuf[0] = '\0';
	if (!cfg || !cfg->path || !*cfg->path) {
		err = open_fail(-EINVAL, "no database path given");
		goto out;
	}
	if (cfg->block_max_bytes > MAX_BLOCK_BYTES) {
		err = open_fail(-EINVAL, "%s: block_max_bytes %u is above %u", cfg->path,
				cfg->block_max_bytes, MAX_BLOCK_BYTES);
		goto out;
	}
	if (cfg->file_mode & ~0777u) {
		err = open_fail(-EINVAL, "%s: file mode %o is not a permission mode", cfg->path,
				cfg->file_mode);
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->path = strdup(cfg->path))) {
		err = open_fail(-ENOMEM, "%s: %s", cfg->path, strerror(ENOMEM));
		goto out;
	}
	st->encrypted = key != NULL;
	st->readonly = cfg->readonly;
	st->manual_checkpoint = cfg->manual_checkpoint;
	st->block_max_packets = cfg->block_max_packets ? cfg->block_max_packets :
							 DEFAULT_BLOCK_PACKETS;
	st->block_max_bytes = cfg->block_max_bytes ? cfg->block_max_bytes : DEFAULT_BLOCK_BYTES;
	pr_block_builder_init(&st->blk);

	/* Reads only, with every file of the store left as it is: see probe_file(). */
	err = probe_file(st->path, key, &fp);
	if (err)
		goto out;
	may_init = cfg->create && !cfg->readonly;
	if (!fp.exists && !may_init) {
		err = open_fail(-ENOENT, "%s: no such database", st->path);
		goto out;
	}
	if (fp.exists && !fp.size && !may_init) {
		err = open_fail(-EBADMSG, "%s: empty file, not a packetrecorder database",
				st->path);
		goto out;
	}
	if (!side_path(side, sizeof(side), st->path, "-wal")) {
		err = open_fail(-ENAMETOOLONG, "%s: %s", st->path, strerror(ENAMETOOLONG));
		goto out;
	}

	if (fp.exists)
		werr = store_write_errno(st->path);
	if (werr && !st->readonly) {
		if (!cfg->readonly_fallback) {
			err = open_fail(werr, "%s: cannot write to the store: %s", st->path,
					strerror(-werr));
			goto out;
		}
		st->readonly = true;
		st->fell_back = true;
	}
	target = st->path;
	if (st->readonly) {
		flags = SQLITE_OPEN_READONLY;
		/*
		 * Where SQLite may not create the -shm file (read-only media,
		 * or a directory we cannot write), SQLite 3.15 cannot open a
		 * WAL database at all. Without WAL content the main file is
		 * the whole store, and immutable=1 reads it without any
		 * -shm; with WAL content, a plain read-only open works while
		 * the -shm that the writer keeps is there to be read.
		 */
		if (werr && !file_size(side)) {
			uri = path_uri(st->path, "immutable=1");
			if (!uri) {
				err = open_fail(-ENOMEM, "%s: %s", st->path, strerror(ENOMEM));
				goto out;
			}
			target = uri;
			flags |= SQLITE_OPEN_URI;
		}
	} else {
		flags = SQLITE_OPEN_READWRITE;
	}
	if (!fp.exists) {
		err = create_store(st->path, key, cfg->file_mode ? cfg->file_mode : 0600);
		if (err && err != -EEXIST)
			goto out;
		created = !err;
		/* Ours, or one that another process made meanwhile: look at it as at any. */
		err = probe_file(st->path, key, &fp);
		if (err)
			goto out;
	}

	/*
	 * The key is checked (probe_file) before this connection exists: a
	 * read-write connection replays a crashed writer's WAL on its first
	 * read and checkpoints it on close, and only the right key may do
	 * that.
	 */
	err = open_checked(st, target, key, flags, &fp, may_init, &version);
	if (err && st->fell_back && target == st->path) {
		memcpy(why, open_errbuf, sizeof(why));
		open_fail(err,
			  "%s: the store is read-only here and its write-ahead log holds data "
			  "that cannot be read without writing: open it once where it is "
			  "writable (%s)",
			  st->path, why);
	}
	if (err || st->readonly)
		goto out;
	err = tune_writer(st, !version);
	if (err) {
		open_fail(err, "%s: %s", st->path, st->errmsg);
		goto out;
	}
	if (version < PR_STORE_SCHEMA_VERSION) {
		err = pr_store_schema_migrate(st->db, "packetrecorder " PR_VERSION, why,
					      sizeof(why));
		if (err) {
			open_fail(err, "%s: %s", st->path, why);
			goto out;
		}
		if (version)
			PR_NOTICE("%s: schema migrated from version %d to %d", st->path, version,
				  PR_STORE_SCHEMA_VERSION);
	}
out:
	if (err) {
		if (st) {
			sqlite3_close_v2(st->db);
			st->db = NULL;
		}
		if (created)
			unlink_store_files(cfg->path);
		pr_store_close(st);
		st = NULL;
	}
	free(uri);
	*out = st;
	return err;
}

bool pr_store_is_readonly(const struct pr_store *st)
{
	return st && st->readonly;
}

const char *pr_store_open_error(void)
{
	return open_errbuf;
}

void pr_store_close(struct pr_store *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->ins_block);
	sqlite3_finalize(st->ins_flow);
	sqlite3_finalize(st->upd_session);
	/* An open transaction is rolled back by the close: only commits persist. */
	sqlite3_close_v2(st->db);
	pr_block_builder_fini(&st->blk);
	free(st->path);
	free(st);
}

const char *pr_store_errmsg(const struct pr_store *st)
{
	return st ? st->errmsg : "no store";
}

bool pr_store_is_encrypted(const struct pr_store *st)
{
	return st && st->encrypted;
}

static void text_copy(char *dst, size_t len, sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

static uint64_t col_u64(sqlite3_stmt *stmt, int col)
{
	return (uint64_t)sqlite3_column_int64(stmt, col);
}

/* Fill *s from a row of SELECT SESSION_COLS. */
static void session_from_row(sqlite3_stmt *stmt, struct pr_session_info *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(stmt, 0);
	text_copy(s->name, sizeof(s->name), stmt, 1);
	text_copy(s->source, sizeof(s->source), stmt, 2);
	text_copy(s->source_kind, sizeof(s->source_kind), stmt, 3);
	text_copy(s->filter, sizeof(s->filter), stmt, 4);
	s->start_ts_ns = col_u64(stmt, 5);
	s->end_ts_ns = col_u64(stmt, 6);
	s->first_pkt_ts_ns = col_u64(stmt, 7);
	s->last_pkt_ts_ns = col_u64(stmt, 8);
	s->packets = col_u64(stmt, 9);
	s->bytes = col_u64(stmt, 10);
	s->captured_bytes = col_u64(stmt, 11);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		s->drops[i] = col_u64(stmt, 12 + i);
	s->flows = col_u64(stmt, 17);
	s->snaplen = (uint32_t)sqlite3_column_int64(stmt, 18);
	s->status = (uint32_t)sqlite3_column_int64(stmt, 19);
	s->writer_pid = (int32_t)sqlite3_column_int64(stmt, 20);
	text_copy(s->message, sizeof(s->message), stmt, 22);
}

/* Load the committed row of a session. -ENOENT if there is none. */
static int session_load(struct pr_store *st, int64_t session, struct pr_session_info *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT " SESSION_COLS " FROM sessions WHERE id = ?", -1,
				&stmt, NULL);
	if (rc != SQLITE_OK) {
		err = sql_fail(st, rc, "read session %lld", (long long)session);
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, session);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		session_from_row(stmt, out);
	else if (rc == SQLITE_DONE)
		err = store_fail(st, -ENOENT, "session %lld: no such session", (long long)session);
	else
		err = sql_fail(st, rc, "read session %lld", (long long)session);
out:
	sqlite3_finalize(stmt);
	return err;
}

static int flush_block(struct pr_store *st)
{
	const uint8_t *data;
	sqlite3_stmt *s;
	size_t len;
	int rc, err = 0;

	if (!st->blk.count)
		goto out;
	err = txn_begin(st);
	if (err)
		goto out;
	err = prepare(st, &st->ins_block,
		      "INSERT INTO packet_blocks(session_id, first_seq, pkt_count, first_ts, "
		      "last_ts, bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (err)
		goto out;
	data = pr_block_builder_finish(&st->blk, &len);
	if (!data) {
		err = store_fail(st, -ENOMEM, "insert packet block: %s", strerror(ENOMEM));
		goto out;
	}
	s = st->ins_block;
	sqlite3_bind_int64(s, 1, st->cur.id);
	sqlite3_bind_int64(s, 2, (int64_t)(st->cur.packets - st->blk.count));
	sqlite3_bind_int64(s, 3, st->blk.count);
	sqlite3_bind_int64(s, 4, (int64_t)st->blk.first_ts_ns);
	sqlite3_bind_int64(s, 5, (int64_t)st->blk.last_ts_ns);
	sqlite3_bind_int64(s, 6, (int64_t)st->blk.wire_bytes);
	/* STATIC: the builder's buffer outlives the step, so no private copy first. */
	sqlite3_bind_blob(s, 7, data, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = sql_fail(st, rc, "insert packet block");
	sqlite3_reset(s);
	if (!err)
		pr_block_builder_reset(&st->blk);
out:
	return err;
}

static int session_write(struct pr_store *st)
{
	struct cur_session *c = &st->cur;
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!c->dirty)
		goto out;
	err = txn_begin(st);
	if (err)
		goto out;
	err = prepare(st, &st->upd_session,
		      "UPDATE sessions SET packets = ?, bytes = ?, captured_bytes = ?, "
		      "first_pkt_ts = ?, last_pkt_ts = ?, flows = ?, drops_ring_full = ?, "
		      "drops_kernel = ?, drops_iface = ?, drops_too_big = ?, drops_store = ? "
		      "WHERE id = ?");
	if (err)
		goto out;
	s = st->upd_session;
	sqlite3_bind_int64(s, 1, (int64_t)c->packets);
	sqlite3_bind_int64(s, 2, (int64_t)c->bytes);
	sqlite3_bind_int64(s, 3, (int64_t)c->captured_bytes);
	sqlite3_bind_int64(s, 4, (int64_t)c->first_ts_ns);
	sqlite3_bind_int64(s, 5, (int64_t)c->last_ts_ns);
	sqlite3_bind_int64(s, 6, (int64_t)c->flows);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		sqlite3_bind_int64(s, 7 + i, (int64_t)c->drops[i]);
	sqlite3_bind_int64(s, 12, c->id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = sql_fail(st, rc, "update session %lld", (long long)c->id);
	sqlite3_reset(s);
	if (!err)
		c->dirty = false;
out:
	return err;
}

/*
 * Make session the current one. Switching writes the previous session's
 * block and counters first (into the open transaction): a block holds
 * packets of one session, and a session's row must match its blocks at
 * every commit.
 */
static int session_use(struct pr_store *st, int64_t session)
{
	struct pr_session_info info;
	int err = 0;

	if (st->have_cur && st->cur.id == session)
		goto out;
	if (st->have_cur) {
		err = flush_block(st);
		if (!err)
			err = session_write(st);
		if (err) {
			err = write_fail(st, err);
			goto out;
		}
		st->have_cur = false;
	}
	err = session_load(st, session, &info);
	if (err)
		goto out;
	memset(&st->cur, 0, sizeof(st->cur));
	st->cur.id = session;
	st->cur.packets = info.packets;
	st->cur.bytes = info.bytes;
	st->cur.captured_bytes = info.captured_bytes;
	st->cur.first_ts_ns = info.first_pkt_ts_ns;
	st->cur.last_ts_ns = info.last_pkt_ts_ns;
	st->cur.flows = info.flows;
	memcpy(st->cur.drops, info.drops, sizeof(st->cur.drops));
	st->have_cur = true;
out:
	return err;
}

int pr_store_commit(struct pr_store *st)
{
	int rc, err = 0;

	if (st->readonly)
		goto out;
	if (st->have_cur) {
		err = flush_block(st);
		if (!err)
			err = session_write(st);
	}
	if (!err && st->in_txn) {
		rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = sql_fail(st, rc, "commit");
		else
			st->in_txn = false;
	}
	/* Whatever failed, the whole pending transaction goes: a commit is all or nothing. */
	if (err)
		txn_abort(st);
out:
	return err;
}

int pr_store_add_packet(struct pr_store *st, int64_t session, const struct pr_block_pkt *pkt)
{
	struct cur_session *c = &st->cur;
	int err;

	err = check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (err)
		goto out;
	if (pkt->cap_len > PR_MAX_SNAPLEN) {
		err = store_fail(st, -EMSGSIZE,
				 "add packet: %u captured bytes, above the %u maximum",
				 pkt->cap_len, PR_MAX_SNAPLEN);
		goto out;
	}
	err = pr_block_builder_add(&st->blk, pkt);
	if (err) {
		err = store_fail(st, err, "add packet: %s", strerror(-err));
		goto out;
	}
	if (!c->packets || pkt->ts_ns < c->first_ts_ns)
		c->first_ts_ns = pkt->ts_ns;
	if (!c->packets || pkt->ts_ns > c->last_ts_ns)
		c->last_ts_ns = pkt->ts_ns;
	c->packets++;
	c->bytes += pkt->wire_len;
	c->captured_bytes += pkt->cap_len;
	c->dirty = true;
	if (st->blk.count >= st->block_max_packets || st->blk.len >= st->block_max_bytes) {
		err = flush_block(st);
		if (err)
			err = write_fail(st, err);
	}
out:
	return err;
}

/* Text form of an address for the flows table; NULL for a non-IP flow. */
static const char *ip_text(uint8_t version, const uint8_t *addr, char *buf, size_t len)
{
	int af = version == 4 ? AF_INET : version == 6 ? AF_INET6 : AF_UNSPEC;

	return af == AF_UNSPEC ? NULL : inet_ntop(af, addr, buf, (socklen_t)len);
}

int pr_store_add_flow(struct pr_store *st, int64_t session, const struct pr_rec_flow *f)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	sqlite3_stmt *s;
	int rc, err;

	err = check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (!err)
		err = txn_begin(st);
	if (!err)
		err = prepare(
			st, &st->ins_flow,
			"INSERT INTO flows(session_id, flow_id, ip_version, ip_proto, src_ip, "
			"src_port, dst_ip, dst_port, vlan, iface, first_ts, last_ts, "
			"packets_ts, packets_tc, bytes_ts, bytes_tc, tcp_state, end_reason, "
			"tcp_flags_ts, tcp_flags_tc, app) VALUES "
			"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (err)
		goto out;
	s = st->ins_flow;
	sqlite3_bind_int64(s, 1, session);
	sqlite3_bind_int64(s, 2, (int64_t)f->flow_id);
	sqlite3_bind_int(s, 3, f->ip_version);
	sqlite3_bind_int(s, 4, f->ip_proto);
	sqlite3_bind_text(s, 5, ip_text(f->ip_version, f->src_ip, src, sizeof(src)), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 6, f->src_port);
	sqlite3_bind_text(s, 7, ip_text(f->ip_version, f->dst_ip, dst, sizeof(dst)), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 8, f->dst_port);
	sqlite3_bind_int(s, 9, f->vlan);
	sqlite3_bind_int(s, 10, f->iface);
	sqlite3_bind_int64(s, 11, (int64_t)f->first_ts_ns);
	sqlite3_bind_int64(s, 12, (int64_t)f->last_ts_ns);
	sqlite3_bind_int64(s, 13, (int64_t)f->packets[0]);
	sqlite3_bind_int64(s, 14, (int64_t)f->packets[1]);
	sqlite3_bind_int64(s, 15, (int64_t)f->bytes[0]);
	sqlite3_bind_int64(s, 16, (int64_t)f->bytes[1]);
	sqlite3_bind_int(s, 17, f->tcp_state);
	sqlite3_bind_int(s, 18, f->end_reason);
	sqlite3_bind_int(s, 19, f->tcp_flags[0]);
	sqlite3_bind_int(s, 20, f->tcp_flags[1]);
	sqlite3_bind_int(s, 21, f->app);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = sql_fail(st, rc, "insert flow %llu of session %lld",
			       (unsigned long long)f->flow_id, (long long)session);
	sqlite3_reset(s);
	if (err) {
		err = write_fail(st, err);
		goto out;
	}
	st->cur.flows++;
	st->cur.dirty = true;
out:
	return err;
}

int pr_store_session_set_drops(struct pr_store *st, int64_t session,
			       const uint64_t drops[PR_DROP_REASON_MAX])
{
	int err;

	err = check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (err)
		goto out;
	memcpy(st->cur.drops, drops, sizeof(st->cur.drops));
	st->cur.dirty = true;
out:
	return err;
}

/* This boot's id (/proc/sys/kernel/random/boot_id), or "" where there is none. */
static void boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	buf[0] = 0;
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/*
 * When process pid started, in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 if unknown. Together with the boot id it tells a
 * live writer from another process that got the same pid later.
 */
static int64_t proc_start(int64_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	return (int64_t)start;
}

int pr_store_session_begin(struct pr_store *st, const struct pr_session_info *info, int64_t *id)
{
	char host[256] = "", boot[64];
	sqlite3_stmt *s = NULL;
	int rc, err;

	err = check_writable(st);
	if (!err)
		err = txn_begin(st);
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(st->db,
				"INSERT INTO sessions(name, source, source_kind, filter, start_ts, "
				"snaplen, status, writer_pid, writer_host, writer_boot_id, "
				"writer_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = sql_fail(st, rc, "insert session");
		goto out;
	}
	/* A truncated name still identifies the host; recovery only compares. */
	gethostname(host, sizeof(host) - 1);
	sqlite3_bind_text(s, 1, info->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, info->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, info->source_kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, info->filter, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (int64_t)(info->start_ts_ns ? info->start_ts_ns : now_ns()));
	sqlite3_bind_int64(s, 6, info->snaplen);
	sqlite3_bind_int(s, 7, PR_SESSION_RUNNING);
	sqlite3_bind_int64(s, 8, getpid());
	sqlite3_bind_text(s, 9, host, -1, SQLITE_STATIC);
	boot_id(boot, sizeof(boot));
	sqlite3_bind_text(s, 10, boot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, proc_start(getpid()));
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		err = write_fail(st, sql_fail(st, rc, "insert session"));
		goto out;
	}
	*id = sqlite3_last_insert_rowid(st->db);
	/* Committed at once so readers list the session while it runs. */
	err = pr_store_commit(st);
out:
	sqlite3_finalize(s);
	return err;
}

int pr_store_session_add_iface(struct pr_store *st, int64_t session,
			       const struct pr_store_iface *iface)
{
	sqlite3_stmt *s = NULL;
	int rc, err;

	err = check_writable(st);
	if (!err)
		err = session_use(st, session);
	if (!err)
		err = txn_begin(st);
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(
		st->db,
		"INSERT INTO interfaces(session_id, idx, name, description, linktype, "
		"snaplen, tsresol) VALUES (?, ?, ?, ?, ?, ?, ?)",
		-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = sql_fail(st, rc, "insert interface");
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	sqlite3_bind_int(s, 2, iface->index);
	sqlite3_bind_text(s, 3, iface->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, iface->description, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, iface->linktype);
	sqlite3_bind_int64(s, 6, iface->snaplen);
	sqlite3_bind_int(s, 7, iface->tsresol);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		err = write_fail(st, sql_fail(st, rc, "insert interface %u of session %lld",
					      iface->index, (long long)session));
out:
	sqlite3_finalize(s);
	return err;
}

int pr_store_session_end(struct pr_store *st, int64_t session, uint32_t status, const char *message)
{
	sqlite3_stmt *s = NULL;
	int rc, err;

	err = check_writable(st);
	if (err)
		goto out;
	if (status >= PR_SESSION_STATUS_MAX) {
		err = store_fail(st, -EINVAL, "end session %lld: bad status %u", (long long)session,
				 status);
		goto out;
	}
	err = pr_store_commit(st);
	if (!err)
		err = txn_begin(st);
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(
		st->db, "UPDATE sessions SET status = ?, end_ts = ?, message = ? WHERE id = ?", -1,
		&s, NULL);
	if (rc != SQLITE_OK) {
		err = write_fail(st, sql_fail(st, rc, "end session %lld", (long long)session));
		goto out;
	}
	sqlite3_bind_int(s, 1, (int)status);
	sqlite3_bind_int64(s, 2, (int64_t)now_ns());
	sqlite3_bind_text(s, 3, message ? message : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, session);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		err = write_fail(st, sql_fail(st, rc, "end session %lld", (long long)session));
		goto out;
	}
	if (!sqlite3_changes(st->db)) {
		err = write_fail(st, store_fail(st, -ENOENT, "session %lld: no such session",
						(long long)session));
		goto out;
	}
	err = pr_store_commit(st);
out:
	sqlite3_finalize(s);
	return err;
}

/*
 * A running session's writer is dead if it ran on this host and either
 * the host rebooted since (another boot id), its pid is gone, or the pid
 * now belongs to a process that started at another time (pids are reused,
 * in containers especially). Another host's writer cannot be checked, so
 * it is left alone; EPERM from kill() means the pid is alive under another user.
 */
static bool writer_gone(const char *host, const char *writer_host, int64_t pid,
			const char *writer_boot, int64_t writer_start)
{
	char boot[64];

	if (strcmp(host, writer_host) || pid <= 0 || pid > INT32_MAX)
		return false;
	boot_id(boot, sizeof(boot));
	if (writer_boot[0] && boot[0] && strcmp(boot, writer_boot))
		return true;
	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return true;
	return writer_start && proc_start(pid) && proc_start(pid) != writer_start;
}

/*
 * Recount an interrupted session from what its committed rows hold. The
 * status test makes a second recoverer racing us a no-op (*marked false).
 */
static int recover_one(struct pr_store *st, int64_t id, bool *marked)
{
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	*marked = false;
	rc = sqlite3_prepare_v2(st->db,
				"UPDATE sessions SET"
				" packets = (SELECT coalesce(sum(pkt_count), 0)"
				"  FROM packet_blocks WHERE session_id = ?1),"
				" bytes = (SELECT coalesce(sum(bytes), 0)"
				"  FROM packet_blocks WHERE session_id = ?1),"
				" first_pkt_ts = (SELECT coalesce(min(first_ts), 0)"
				"  FROM packet_blocks WHERE session_id = ?1),"
				" last_pkt_ts = (SELECT coalesce(max(last_ts), 0)"
				"  FROM packet_blocks WHERE session_id = ?1),"
				" end_ts = (SELECT CASE WHEN max(last_ts) > 0 THEN max(last_ts)"
				"  ELSE ?4 END FROM packet_blocks WHERE session_id = ?1),"
				" flows = (SELECT count(*) FROM flows WHERE session_id = ?1),"
				" status = ?2, message = ?3 WHERE id = ?1 AND status = ?5",
				-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int(s, 2, PR_SESSION_INTERRUPTED);
		sqlite3_bind_text(s, 3, INTERRUPTED_MSG, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, (int64_t)now_ns());
		sqlite3_bind_int(s, 5, PR_SESSION_RUNNING);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_DONE)
		*marked = sqlite3_changes(st->db) > 0;
	else
		err = sql_fail(st, rc, "recover session %lld", (long long)id);
	sqlite3_finalize(s);
	return err;
}

/* Running sessions whose writer is gone; no transaction, no write lock. */
static int find_orphans(struct pr_store *st, int64_t **ids_out, size_t *n_out)
{
	int64_t *ids = NULL, *grown;
	size_t n = 0, cap = 0;
	char host[256] = "";
	sqlite3_stmt *s = NULL;
	int rc, err = 0;

	/* A truncated name still compares equal to the one session_begin stored. */
	gethostname(host, sizeof(host) - 1);
	rc = sqlite3_prepare_v2(st->db,
				"SELECT id, writer_pid, writer_host, writer_boot_id, writer_start "
				"FROM sessions WHERE status = ?",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = sql_fail(st, rc, "find running sessions");
		goto out;
	}
	sqlite3_bind_int(s, 1, PR_SESSION_RUNNING);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *wh = sqlite3_column_text(s, 2);
		const unsigned char *wb = sqlite3_column_text(s, 3);

		if (!writer_gone(host, wh ? (const char *)wh : "", sqlite3_column_int64(s, 1),
				 wb ? (const char *)wb : "", sqlite3_column_int64(s, 4)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(ids, cap * sizeof(*ids));
			if (!grown) {
				err = store_fail(st, -ENOMEM, "recover: %s", strerror(ENOMEM));
				goto out;
			}
			ids = grown;
		}
		ids[n++] = sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE)
		err = sql_fail(st, rc, "find running sessions");
out:
	sqlite3_finalize(s);
	if (err) {
		free(ids);
		ids = NULL;
		n = 0;
	}
	*ids_out = ids;
	*n_out = n;
	return err;
}

int pr_store_recover(struct pr_store *st)
{
	int64_t *ids = NULL;
	size_t n = 0, marked = 0;
	bool done;
	int err;

	err = check_writable(st);
	/* Our own pending data goes first, in its own transaction. */
	if (!err)
		err = pr_store_commit(st);
	if (!err)
		err = find_orphans(st, &ids, &n);
	/* Nothing to do takes no write lock: a live capture is not waited for. */
	if (err || !n)
		goto out;
	err = txn_begin(st);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		err = recover_one(st, ids[i], &done);
		if (err) {
			err = write_fail(st, err);
			goto out;
		}
		if (done)
			ids[marked++] = ids[i];
		/* A cached copy of the row would overwrite the recount at the next commit. */
		if (st->have_cur && st->cur.id == ids[i])
			st->have_cur = false;
	}
	err = pr_store_commit(st);
	if (err)
		goto out;
	for (size_t i = 0; i < marked; i++)
		PR_NOTICE("%s: session %lld marked interrupted: its writer is gone", st->path,
			  (long long)ids[i]);
out:
	free(ids);
	return err ? err : (int)marked;
}

int pr_store_session_get(struct pr_store *st, int64_t session, struct pr_session_info *out)
{
	return session_load(st, session, out);
}

int pr_store_sessions_foreach(struct pr_store *st, pr_store_session_fn fn, void *ctx)
{
	struct pr_session_info info;
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT " SESSION_COLS " FROM sessions ORDER BY id", -1, &s,
				NULL);
	if (rc != SQLITE_OK) {
		ret = sql_fail(st, rc, "list sessions");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		session_from_row(s, &info);
		ret = fn(ctx, &info);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = sql_fail(st, rc, "list sessions");
out:
	sqlite3_finalize(s);
	return ret;
}

int pr_store_ifaces_foreach(struct pr_store *st, int64_t session, pr_store_iface_fn fn, void *ctx)
{
	struct pr_store_iface ifc;
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT idx, name, description, linktype, snaplen, tsresol "
				"FROM interfaces WHERE session_id = ? ORDER BY idx",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_fail(st, rc, "list interfaces of session %lld", (long long)session);
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ifc, 0, sizeof(ifc));
		ifc.index = (uint16_t)sqlite3_column_int(s, 0);
		text_copy(ifc.name, sizeof(ifc.name), s, 1);
		text_copy(ifc.description, sizeof(ifc.description), s, 2);
		ifc.linktype = (uint32_t)sqlite3_column_int64(s, 3);
		ifc.snaplen = (uint32_t)sqlite3_column_int64(s, 4);
		ifc.tsresol = (uint8_t)sqlite3_column_int(s, 5);
		ret = fn(ctx, &ifc);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = sql_fail(st, rc, "list interfaces of session %lld", (long long)session);
out:
	sqlite3_finalize(s);
	return ret;
}

/* Back from text; an address we cannot parse stays all zero. */
static void ip_parse(uint8_t version, sqlite3_stmt *s, int col, uint8_t addr[16])
{
	const unsigned char *txt = sqlite3_column_text(s, col);

	memset(addr, 0, 16);
	if (!txt)
		return;
	if (version == 4 && inet_pton(AF_INET, (const char *)txt, addr) != 1)
		memset(addr, 0, 16);
	else if (version == 6 && inet_pton(AF_INET6, (const char *)txt, addr) != 1)
		memset(addr, 0, 16);
}

int pr_store_flows_foreach(struct pr_store *st, int64_t session, pr_store_flow_fn fn, void *ctx)
{
	struct pr_rec_flow f;
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT flow_id, ip_version, ip_proto, src_ip, src_port, dst_ip, "
				"dst_port, vlan, iface, first_ts, last_ts, packets_ts, packets_tc, "
				"bytes_ts, bytes_tc, tcp_state, end_reason, tcp_flags_ts, "
				"tcp_flags_tc, app FROM flows WHERE session_id = ? "
				"ORDER BY first_ts, flow_id",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_fail(st, rc, "list flows of session %lld", (long long)session);
		goto out;
	}
	sqlite3_bind_int64(s, 1, session);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&f, 0, sizeof(f));
		f.hdr.type = PR_REC_FLOW;
		f.hdr.len = sizeof(f);
		f.flow_id = col_u64(s, 0);
		f.ip_version = (uint8_t)sqlite3_column_int(s, 1);
		f.ip_proto = (uint8_t)sqlite3_column_int(s, 2);
		ip_parse(f.ip_version, s, 3, f.src_ip);
		f.src_port = (uint16_t)sqlite3_column_int(s, 4);
		ip_parse(f.ip_version, s, 5, f.dst_ip);
		f.dst_port = (uint16_t)sqlite3_column_int(s, 6);
		f.vlan = (uint16_t)sqlite3_column_int(s, 7);
		f.iface = (uint16_t)sqlite3_column_int(s, 8);
		f.first_ts_ns = col_u64(s, 9);
		f.last_ts_ns = col_u64(s, 10);
		f.packets[0] = col_u64(s, 11);
		f.packets[1] = col_u64(s, 12);
		f.bytes[0] = col_u64(s, 13);
		f.bytes[1] = col_u64(s, 14);
		f.tcp_state = (uint8_t)sqlite3_column_int(s, 15);
		f.end_reason = (uint8_t)sqlite3_column_int(s, 16);
		f.tcp_flags[0] = (uint8_t)sqlite3_column_int(s, 17);
		f.tcp_flags[1] = (uint8_t)sqlite3_column_int(s, 18);
		f.app = (uint16_t)sqlite3_column_int(s, 19);
		ret = fn(ctx, &f);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = sql_fail(st, rc, "list flows of session %lld", (long long)session);
out:
	sqlite3_finalize(s);
	return ret;
}

int pr_store_pkt_iter_create(struct pr_store *st, int64_t session, struct pr_store_pkt_iter **out)
{
	struct pr_session_info info;
	struct pr_store_pkt_iter *it = NULL;
	int rc, err;

	*out = NULL;
	err = session_load(st, session, &info);
	if (err)
		goto out;
	it = calloc(1, sizeof(*it));
	if (!it) {
		err = store_fail(st, -ENOMEM, "read packets: %s", strerror(ENOMEM));
		goto out;
	}
	it->st = st;
	it->session = session;
	rc = sqlite3_prepare_v2(st->db,
				"SELECT id, pkt_count, data FROM packet_blocks "
				"WHERE session_id = ? ORDER BY first_seq",
				-1, &it->stmt, NULL);
	if (rc != SQLITE_OK) {
		err = sql_fail(st, rc, "read packets of session %lld", (long long)session);
		goto out;
	}
	sqlite3_bind_int64(it->stmt, 1, session);
out:
	if (err) {
		pr_store_pkt_iter_destroy(it);
		it = NULL;
	}
	*out = it;
	return err;
}

static int iter_damaged(struct pr_store_pkt_iter *it, const char *why)
{
	it->err = store_fail(it->st, -EBADMSG, "session %lld block %lld: damaged packet block: %s",
			     (long long)it->session, (long long)it->block_id, why);
	return it->err;
}

/*
 * The block's bytes are read in place from the statement: the pointer
 * stays valid until the next step, and we step only once the block is
 * used up, so no copy is needed.
 */
int pr_store_pkt_iter_next(struct pr_store_pkt_iter *it, struct pr_block_pkt *pkt)
{
	const void *blob;
	int rc, n, ret = it->err;

	while (!ret) {
		if (it->in_block) {
			ret = pr_block_iter_next(&it->bit, pkt);
			if (ret < 0)
				ret = iter_damaged(it, "bad packet entry");
			if (ret)
				goto out;
			it->in_block = false;
		}
		rc = sqlite3_step(it->stmt);
		if (rc == SQLITE_DONE)
			goto out;
		if (rc != SQLITE_ROW) {
			ret = it->err = sql_fail(it->st, rc, "read packets of session %lld",
						 (long long)it->session);
			goto out;
		}
		it->block_id = sqlite3_column_int64(it->stmt, 0);
		blob = sqlite3_column_blob(it->stmt, 2);
		n = sqlite3_column_bytes(it->stmt, 2);
		if (pr_block_iter_init(&it->bit, blob, (size_t)n))
			ret = iter_damaged(it, "bad header");
		else if (it->bit.count != (uint64_t)sqlite3_column_int64(it->stmt, 1))
			ret = iter_damaged(it, "packet count differs from the index");
		else
			it->in_block = true;
	}
out:
	return ret;
}

void pr_store_pkt_iter_destroy(struct pr_store_pkt_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->stmt);
	free(it);
}
