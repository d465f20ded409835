/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The files a command writes (export --output, capture --pcap, generate
 * --output), opened so that no command can destroy what it did not make:
 *
 *  - an output that is the store (its database, -wal, -shm or -journal
 *    file: the same inode when the file exists, the same resolved path
 *    when it does not yet; anything in its segment directory
 *    DATABASE.segments, or a segment under another name) or an input of
 *    the command is refused;
 *  - a new file is created with O_CREAT | O_EXCL;
 *  - an existing regular file is replaced only if it is empty or a pcap or
 *    pcapng file, and only on success: the data goes to a temporary file
 *    in the same directory, renamed over the target by pr_outfile_commit();
 *  - devices and FIFOs (/dev/null, a pipe) are written in place;
 *  - a file that is not committed is removed, and only if this object
 *    created it: the temporary file, or the new file.
 *
 * The file gets its mode with fchmod(), so the umask does not change it.
 * The store's files are only ever stat()ed, never opened: closing any
 * descriptor of the database would drop this process's POSIX locks on it,
 * which SQLite relies on. Main thread; the object owns its paths.
 */
#ifndef PR_OUTFILE_H
#define PR_OUTFILE_H

#include <stddef.h>

#define PR_OUTFILE_MODE_DEFAULT 0600u

struct pr_outfile_cfg {
	const char *opt; /* the option that named the file, for messages: "--output" */
	const char *path; /* as given; "-" is standard output */
	unsigned int mode; /* permission bits of a file we create, at most 0777 */
	const char *store; /* the store's database path (its side files follow), or NULL */
	const char *input; /* an input file of the command, or NULL */
};

struct pr_outfile;

/*
 * Check cfg->path and create the (empty) file to write. Returns 0, or a
 * negative errno with a sentence naming the paths in err: -EINVAL when the
 * file may not be written (an empty name; the store or the input; an
 * existing file that is not a capture file), otherwise the system's error
 * (-ENOENT: no such directory, -EISDIR, -EACCES, ...). Nothing is left
 * behind on failure.
 */
int pr_outfile_open(const struct pr_outfile_cfg *cfg, struct pr_outfile **out, char *err,
		    size_t errlen);
/*
 * The path the writer opens (O_WRONLY, no O_EXCL: the file exists): the
 * temporary or new file, a device or FIFO, or "-" for standard output.
 */
const char *pr_outfile_path(const struct pr_outfile *of);
/* The path as the user gave it, for messages. */
const char *pr_outfile_name(const struct pr_outfile *of);
/*
 * The writer has closed the file: make it the output (sync the temporary
 * file and rename it over the target). Returns 0, or a negative errno with
 * err filled; on failure the temporary file is removed and the previous
 * file is left as it was.
 */
int pr_outfile_commit(struct pr_outfile *of, char *err, size_t errlen);
/* Free; a file that was not committed is removed if we created it. NULL is a no-op. */
void pr_outfile_destroy(struct pr_outfile *of);

/* Parse a --file-mode value: octal digits, 0 to 0777. 0, or -EINVAL. */
int pr_outfile_parse_mode(const char *s, unsigned int *mode);

#endif /* PR_OUTFILE_H */
