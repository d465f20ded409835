// SPDX-License-Identifier: Apache-2.0
/*
 * Opening a store: the file is looked at with reads only (SQLite's
 * immutable=1, no lock, no WAL) and the key checked there before any
 * read-write connection exists; a new store is built under a temporary
 * name and moved into place whole; then WAL mode and the migrations.
 * Any thread, one store per thread.
 */
#define _GNU_SOURCE
#define PR_LOG_MODULE "store"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pr_log.h"
#include "pr_store_int.h"
#include "pr_store_schema.h"

#define SQLITE_MAGIC "SQLite format 3"
#define SQLITE_MAGIC_LEN 16 /* including the NUL */

/* What the opener learned from the file's first bytes. */
struct file_probe {
	bool exists;
	bool plaintext; /* starts with the SQLite magic */
	bool looks_foreign; /* text, or not a whole number of pages */
	off_t size;
};

static _Thread_local char open_errbuf[ERRMSG_LEN];

static int open_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int open_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_errbuf, sizeof(open_errbuf), fmt, ap);
	va_end(ap);
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
/* "<path><suffix>" in buf; false if it does not fit. */
static bool side_path(char *buf, size_t len, const char *path, const char *suffix)
{
	int n = snprintf(buf, len, "%s%s", path, suffix);

	return n >= 0 && (size_t)n < len;
}

/* Size of a file, 0 if it does not exist. */
static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : sb.st_size;
}

/*
 * One look at the main file through an immutable connection: its first
 * bytes, then the key against page 1. *notadb: page 1 did not open.
 */
static int probe_once(const char *path, const char *uri, const char *key, struct file_probe *fp,
		      bool *notadb)
{
	unsigned char head[SQLITE_MAGIC_LEN];
	sqlite3 *db = NULL;
	int rc, got, err = 0;

	*notadb = false;
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
	if ((rc & 0xff) == SQLITE_NOTADB) {
		*notadb = true;
		err = notadb_fail(path, key != NULL, fp, sqlite3_errmsg(db));
	} else if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_CORRUPT) {
		err = open_fail(pr_store_sqlite_errno(rc), "%s: %s", path, sqlite3_errmsg(db));
	}
out:
	sqlite3_close_v2(db);
	return err;
}

/*
 * An immutable connection takes no lock, so it can read page 1 while a
 * checkpoint of a running capture rewrites it, and see a torn page that
 * does not authenticate: measured, about once in a few hundred reader
 * starts during a capture, reported as a wrong key. A wrong key fails
 * every time; a torn read does not. So where a WAL says a writer is or
 * was at work, a page 1 that does not open is read again a few times.
 */
#define PROBE_TRIES 6
#define PROBE_RETRY_US 20000

static int probe_file(const char *path, const char *key, struct file_probe *fp)
{
	char side[PATH_MAX + 8];
	bool notadb = false;
	struct stat sb;
	char *uri = NULL;
	int err = 0;

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
	for (int i = 0; i < PROBE_TRIES; i++) {
		err = probe_once(path, uri, key, fp, &notadb);
		if (!err || !notadb || !side_path(side, sizeof(side), path, "-wal") ||
		    !file_size(side))
			break;
		usleep(PROBE_RETRY_US);
	}
out:
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
		err = pr_store_exec(st, sql, "set page size");
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
	err = pr_store_exec(st, "PRAGMA journal_mode = WAL", "set WAL mode");
	if (!err)
		err = pr_store_exec(st, "PRAGMA synchronous = NORMAL", "set synchronous mode");
	if (!err)
		err = pr_store_exec(st, "PRAGMA cache_size = -16384", "set cache size");
	if (!err)
		err = pr_store_exec(st, "PRAGMA temp_store = MEMORY", "set temp store");
	if (!err && st->manual_checkpoint)
		err = pr_store_exec(st, "PRAGMA wal_autocheckpoint = 0",
				    "turn off automatic checkpoints");
out:
	return err;
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
static const char *side_of(const char *path, const char *suffix, char *buf, size_t len)
{
	return side_path(buf, len, path, suffix) ? buf : path;
}

static int create_store(const char *path, const char *key, mode_t mode,
			enum pr_store_mode store_mode, bool compress)
{
	char sidebuf[PATH_MAX + 8];
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
	if (!err) {
		char sql[160];

		snprintf(sql, sizeof(sql),
			 "INSERT OR REPLACE INTO pr_meta(key, value) VALUES('store_mode', '%s'), "
			 "('compression', '%s')",
			 pr_store_mode_name(store_mode), compress ? "zstd" : "none");
		err = pr_store_exec(t, sql, "set the store mode");
		if (err)
			open_fail(err, "%s: %s", path, t->errmsg);
	}
	/*
	 * Everything into the file itself: the store is renamed, and its WAL,
	 * named after the temporary name, would stay behind with the schema
	 * (a full disk makes this fail).
	 */
	if (!err) {
		int rc = sqlite3_wal_checkpoint_v2(t->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
						   NULL);

		if (rc != SQLITE_OK) {
			err = sqlite3_system_errno(t->db) ? -sqlite3_system_errno(t->db) :
							    pr_store_sqlite_errno(rc);
			open_fail(err, "%s: cannot create the store: %s", path,
				  err == -ENOSPC ? strerror(ENOSPC) : sqlite3_errmsg(t->db));
		}
	}
	/*
	 * Closing the last connection checkpoints the WAL into the file and
	 * removes -wal and -shm. It must happen before the files of a failed
	 * attempt are removed, or a still open connection would keep them.
	 */
	if (sqlite3_close(t->db) != SQLITE_OK) {
		if (!err)
			err = open_fail(-EIO, "%s: cannot close the new store: %s", path,
					sqlite3_errmsg(t->db));
		sqlite3_close_v2(t->db);
	}
	t->db = NULL;
	if (!err && file_size(side_of(tmp, "-wal", sidebuf, sizeof(sidebuf))))
		err = open_fail(-EIO, "%s: cannot create the store: its log was not emptied", path);
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

/*
 * The sink this store's blocks go to, as recorded when it was created
 * (pr_meta store_mode; a store from before segments has none: db).
 */
static int sink_open(struct pr_store *st, const struct pr_store_cfg *cfg)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *v;
	bool compress = false;
	int rc, err;

	st->mode = PR_STORE_MODE_DB;
	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM pr_meta WHERE key = 'store_mode'", -1,
				&s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW && (v = sqlite3_column_text(s, 0)) &&
	    !strcmp((const char *)v, "segments"))
		st->mode = PR_STORE_MODE_SEGMENTS;
	sqlite3_finalize(s);
	s = NULL;
	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM pr_meta WHERE key = 'compression'", -1,
				&s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW && (v = sqlite3_column_text(s, 0)) &&
	    !strcmp((const char *)v, "zstd"))
		compress = true;
	sqlite3_finalize(s);
	if (st->mode == PR_STORE_MODE_SEGMENTS)
		err = pr_sink_seg_create(st->db, st->path, cfg->file_mode, st->readonly, compress,
					 st->errmsg, sizeof(st->errmsg), &st->sink);
	else
		err = pr_sink_db_create(st->errmsg, sizeof(st->errmsg), &st->sink);
	if (err)
		open_fail(err, "%s: %s", st->path, st->errmsg[0] ? st->errmsg : strerror(-err));
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
	for (uint32_t i = 0; i < MAX_LANES; i++)
		pr_block_builder_init(&st->lanes[i].blk);
	st->n_lanes = cfg->block_lanes ? cfg->block_lanes : DEFAULT_LANES;
	if (st->n_lanes > MAX_LANES)
		st->n_lanes = MAX_LANES;

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
		err = create_store(st->path, key, cfg->file_mode ? cfg->file_mode : 0600,
				   cfg->store_mode, cfg->compress);
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
	if (err)
		goto out;
	st->schema_version = version;
	if (st->readonly) {
		err = sink_open(st, cfg);
		goto out;
	}
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
		st->schema_version = PR_STORE_SCHEMA_VERSION;
	}
	err = sink_open(st, cfg);
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

const char *pr_store_open_error(void)
{
	return open_errbuf;
}
