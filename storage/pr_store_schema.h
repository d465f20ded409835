/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to pr_store.c: the numbered schema migrations of the packet
 * store and the check that a database carries our schema. The schema
 * version lives in PRAGMA user_version; pr_meta repeats it for humans
 * and records which packetrecorder created the file. Called by the
 * thread that opens a store, on its connection only.
 */
#ifndef PR_STORE_SCHEMA_H
#define PR_STORE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlcipher/sqlite3.h>

/* The newest schema this build writes, and the oldest it can read. */
#define PR_STORE_SCHEMA_VERSION 6
#define PR_STORE_SCHEMA_MIN_READ 1

/*
 * Look at an opened connection whose key was already verified, without
 * writing anything. Returns 0 with *version set (0 for a database without
 * any table, which the caller may initialise), -EBADMSG when the file is a
 * database of something else or of a newer packetrecorder, or another
 * negative errno when SQLite fails; the reason is in err.
 */
int pr_store_schema_check(sqlite3 *db, int *version, char *err, size_t errlen);

/*
 * Apply every migration above the database's version, one transaction
 * each. created_by is recorded when the schema is first created. Returns
 * 0, or a negative errno with the failing step and SQLite's message in err.
 */
int pr_store_schema_migrate(sqlite3 *db, const char *created_by, char *err, size_t errlen);

/*
 * A SQLite result code as a negative errno: SQLITE_FULL is -ENOSPC,
 * damage is -EBADMSG, and whatever has no better match is -EIO.
 */
int pr_store_sqlite_errno(int rc);

#endif /* PR_STORE_SCHEMA_H */
