// SPDX-License-Identifier: Apache-2.0
/*
 * Output files that cannot destroy the store (see pr_outfile.h): the
 * target is compared with the store's files and the command's input by
 * inode and by resolved path, created with O_EXCL when new, and replaced
 * through a temporary file and rename() when it exists. Main thread; each
 * struct pr_outfile owns its paths and, until it is committed, the file it
 * created.
 */
#include "pr_outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum out_kind {
	OUT_STDOUT, /* "-" */
	OUT_INPLACE, /* a device or FIFO: written where it is, never removed */
	OUT_NEW, /* created here with O_EXCL */
	OUT_REPLACE, /* a temporary file, renamed over target on commit */
};

struct pr_outfile {
	enum out_kind kind;
	bool committed;
	unsigned int mode;
	char *name; /* as given */
	char *write; /* what the writer opens */
	char *target; /* OUT_REPLACE: the resolved file the temporary one replaces */
};

/* The files SQLite keeps for a database at PATH: PATH, PATH-wal, PATH-shm, PATH-journal. */
static const char *const store_suffixes[] = { "", "-wal", "-shm", "-journal" };
/*
 * The directory of the store's sealed segment files, PATH.segments (the
 * storage library's convention: storage/sink/pr_sink_seg.c).
 */
#define STORE_SEGMENT_DIR ".segments"

/*
 * Capture-file magics as read in host order from either byte order: pcap
 * (microseconds, nanoseconds, Kuznetzov's modified pcap) and the pcapng
 * Section Header Block type, which reads the same both ways.
 */
static const uint32_t capture_magics[] = { 0xa1b2c3d4u, 0xd4c3b2a1u, 0xa1b23c4du, 0x4d3cb2a1u,
					   0xa1b2cd34u, 0x34cdb2a1u, 0x0a0d0d0au };

/*
 * realpath() of a path whose last component may not exist yet: the
 * directory is resolved and the name kept. out holds PATH_MAX bytes.
 * Returns 0 or a negative errno (-ENOENT: no such directory).
 */
static int canon_path(const char *path, char *out)
{
	char dir[PATH_MAX], *d = NULL, *b = NULL;
	int err = 0;

	if (realpath(path, out))
		return 0;
	if (errno != ENOENT)
		return -errno;
	d = strdup(path);
	b = strdup(path);
	if (!d || !b) {
		err = -ENOMEM;
		goto out;
	}
	if (!realpath(dirname(d), dir)) {
		err = -errno;
		goto out;
	}
	if (snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") ? dir : "", basename(b)) >= PATH_MAX)
		err = -ENAMETOOLONG;
out:
	free(d);
	free(b);
	return err;
}

/* One candidate: the same inode as the target, or the same resolved path. */
static bool same_file(const char *path, const struct stat *tst, const char *tcanon)
{
	char c[PATH_MAX];
	struct stat st;

	if (tst && !stat(path, &st) && st.st_dev == tst->st_dev && st.st_ino == tst->st_ino)
		return true;
	return !canon_path(path, c) && !strcmp(c, tcanon);
}

/*
 * Is the target in the store's segment directory (by resolved path, so
 * also a file that does not exist yet), or a segment file under another
 * name (a hard link: by inode)? Only stat() looks at the segments.
 */
static bool in_segment_dir(const char *base, const struct stat *tst, const char *tcanon,
			   char *which, size_t wlen)
{
	char dir[PATH_MAX + 16], cdir[PATH_MAX], p[PATH_MAX + 300];
	size_t n;
	struct dirent *e;
	struct stat st;
	bool found = false;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s%s", base, STORE_SEGMENT_DIR);
	if (canon_path(dir, cdir))
		return false;
	n = strlen(cdir);
	if (!strncmp(tcanon, cdir, n) && (tcanon[n] == '/' || !tcanon[n])) {
		snprintf(which, wlen, "%s", dir);
		return true;
	}
	if (!tst || !S_ISREG(tst->st_mode) || tst->st_nlink < 2)
		return false;
	dh = opendir(dir);
	while (dh && !found && (e = readdir(dh))) {
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		found = !lstat(p, &st) && S_ISREG(st.st_mode) && st.st_dev == tst->st_dev &&
			st.st_ino == tst->st_ino;
	}
	if (dh)
		closedir(dh);
	/* A name too long for which is still a match: say the directory then. */
	if (found && snprintf(which, wlen, "%s", p) >= (int)wlen)
		snprintf(which, wlen, "%s", dir);
	return found;
}

/*
 * Is the target (tst: its stat, NULL when it does not exist; tcanon: its
 * resolved path) a file of base, with the store's side files and segment
 * directory when store? Writes the matching file's name to which.
 */
static bool is_file_of(const char *base, bool store, const struct stat *tst, const char *tcanon,
		       char *which, size_t wlen)
{
	size_t n = store ? sizeof(store_suffixes) / sizeof(store_suffixes[0]) : 1;
	char p[PATH_MAX + 16], rbase[PATH_MAX];
	bool have_rbase = realpath(base, rbase) != NULL, found = false;

	for (size_t i = 0; i < n && !found; i++) {
		snprintf(p, sizeof(p), "%s%s", base, store_suffixes[i]);
		found = same_file(p, tst, tcanon);
		/* Through a symlink SQLite may keep the side files beside the real database. */
		if (!found && have_rbase && i) {
			snprintf(p, sizeof(p), "%s%s", rbase, store_suffixes[i]);
			found = same_file(p, tst, tcanon);
		}
	}
	if (found)
		snprintf(which, wlen, "%s", p);
	else if (store)
		found = in_segment_dir(base, tst, tcanon, which, wlen) ||
			(have_rbase && in_segment_dir(rbase, tst, tcanon, which, wlen));
	return found;
}

static int check_guards(const struct pr_outfile_cfg *cfg, const struct stat *tst,
			const char *tcanon, char *err, size_t errlen)
{
	const size_t sl = strlen(STORE_SEGMENT_DIR);
	char which[PATH_MAX + 16];
	size_t wl;

	if (cfg->store && cfg->store[0] &&
	    is_file_of(cfg->store, true, tst, tcanon, which, sizeof(which))) {
		wl = strlen(which);
		if (!strcmp(which, cfg->store))
			snprintf(err, errlen,
				 "%s %s: this is the store %s; refusing to write to it", cfg->opt,
				 cfg->path, cfg->store);
		else if (wl >= sl && !strcmp(which + wl - sl, STORE_SEGMENT_DIR))
			snprintf(err, errlen,
				 "%s %s: this is in %s, the segment directory of the store %s; "
				 "refusing to write there",
				 cfg->opt, cfg->path, which, cfg->store);
		else
			snprintf(
				err, errlen,
				"%s %s: this is %s, a file of the store %s; refusing to write to it",
				cfg->opt, cfg->path, which, cfg->store);
		return -EINVAL;
	}
	if (cfg->input && cfg->input[0] && strcmp(cfg->input, "-") &&
	    is_file_of(cfg->input, false, tst, tcanon, which, sizeof(which))) {
		snprintf(err, errlen, "%s %s: this is the input file %s; refusing to write to it",
			 cfg->opt, cfg->path, cfg->input);
		return -EINVAL;
	}
	return 0;
}

/*
 * An existing file is replaced only when losing it costs nothing we can
 * tell: it is empty, or it is a capture file (an earlier export). A store,
 * a key file or a document is refused.
 */
static int check_replaceable(const struct pr_outfile_cfg *cfg, const struct stat *st, char *err,
			     size_t errlen)
{
	struct stat fst;
	uint32_t magic = 0;
	ssize_t n;
	int fd, ret = -EINVAL;

	if (access(cfg->path, W_OK)) {
		ret = -errno;
		snprintf(err, errlen, "%s %s: %s", cfg->opt, cfg->path, strerror(-ret));
		return ret;
	}
	if (!st->st_size)
		return 0;
	fd = open(cfg->path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s %s: %s", cfg->opt, cfg->path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &fst) || fst.st_dev != st->st_dev || fst.st_ino != st->st_ino) {
		snprintf(err, errlen, "%s %s: the file changed while it was checked", cfg->opt,
			 cfg->path);
		ret = -EAGAIN;
		goto out;
	}
	n = pread(fd, &magic, sizeof(magic), 0);
	if (n == (ssize_t)sizeof(magic))
		for (size_t i = 0; i < sizeof(capture_magics) / sizeof(capture_magics[0]); i++)
			if (magic == capture_magics[i])
				ret = 0;
	if (ret)
		snprintf(err, errlen,
			 "%s %s: the file exists and is not a pcap or pcapng file; refusing to "
			 "replace it (remove it first if it is meant to go)",
			 cfg->opt, cfg->path);
out:
	close(fd);
	return ret;
}

/* The new, empty file at path: ours alone (O_EXCL), owner read-write until the commit. */
static int create_new(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return -errno;
	/* The umask could have taken the owner's write bit, which the writer needs. */
	if (fchmod(fd, 0600)) {
		err = -errno;
		unlink(path);
	}
	close(fd);
	return err;
}

/* A temporary file beside target, created with O_EXCL by mkstemp(). */
static int create_temp(const char *target, char **out)
{
	char *d = strdup(target), *b = strdup(target), *tmpl = NULL;
	size_t len = strlen(target) + 16;
	int fd, err = 0;

	*out = NULL;
	tmpl = malloc(len);
	if (!d || !b || !tmpl) {
		err = -ENOMEM;
		goto out;
	}
	/* The name is cut so that ".NAME.XXXXXX" stays within NAME_MAX. */
	snprintf(tmpl, len, "%s/.%.200s.XXXXXX", dirname(d), basename(b));
	fd = mkstemp(tmpl);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (fchmod(fd, 0600)) {
		err = -errno;
		unlink(tmpl);
	}
	close(fd);
	if (!err) {
		*out = tmpl;
		tmpl = NULL;
	}
out:
	free(d);
	free(b);
	free(tmpl);
	return err;
}

int pr_outfile_open(const struct pr_outfile_cfg *cfg, struct pr_outfile **out, char *err,
		    size_t errlen)
{
	struct pr_outfile *of = NULL;
	char canon[PATH_MAX];
	struct stat st, lst;
	bool exists;
	int ret = 0;

	*out = NULL;
	err[0] = 0;
	if (!cfg->path || !cfg->path[0]) {
		snprintf(err, errlen, "%s: empty file name", cfg->opt);
		return -EINVAL;
	}
	if (cfg->mode > 0777) {
		snprintf(err, errlen, "%s %s: mode %o is not a permission mode", cfg->opt,
			 cfg->path, cfg->mode);
		return -EINVAL;
	}
	of = calloc(1, sizeof(*of));
	if (!of || !(of->name = strdup(cfg->path))) {
		ret = -ENOMEM;
		goto err;
	}
	of->mode = cfg->mode;
	if (!strcmp(cfg->path, "-")) {
		of->kind = OUT_STDOUT;
		goto done;
	}
	if (!stat(cfg->path, &st)) {
		exists = true;
	} else if (errno == ENOENT) {
		exists = false;
	} else {
		ret = -errno;
		goto err_sys;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto err_sys;
	}
	ret = canon_path(cfg->path, canon);
	if (ret == -ENOENT) {
		snprintf(err, errlen, "%s %s: no such directory", cfg->opt, cfg->path);
		goto err;
	}
	if (ret)
		goto err_sys;
	ret = check_guards(cfg, exists ? &st : NULL, canon, err, errlen);
	if (ret)
		goto err;
	if (!exists) {
		if (!lstat(cfg->path, &lst)) {
			snprintf(err, errlen,
				 "%s %s: a symbolic link to a file that does not exist; give the "
				 "file itself",
				 cfg->opt, cfg->path);
			ret = -EEXIST;
			goto err;
		}
		ret = create_new(cfg->path);
		if (ret)
			goto err_sys;
		of->kind = OUT_NEW;
	} else if (!S_ISREG(st.st_mode)) {
		of->kind = OUT_INPLACE;
	} else {
		ret = check_replaceable(cfg, &st, err, errlen);
		if (ret)
			goto err;
		of->target = strdup(canon);
		if (!of->target) {
			ret = -ENOMEM;
			goto err;
		}
		ret = create_temp(canon, &of->write);
		if (ret)
			goto err_sys;
		of->kind = OUT_REPLACE;
	}
done:
	if (!of->write)
		of->write = strdup(cfg->path);
	if (!of->write) {
		ret = -ENOMEM;
		goto err;
	}
	*out = of;
	return 0;

err_sys:
	snprintf(err, errlen, "%s %s: %s", cfg->opt, cfg->path, strerror(-ret));
err:
	if (!err[0])
		snprintf(err, errlen, "%s %s: %s", cfg->opt, cfg->path, strerror(-ret));
	pr_outfile_destroy(of);
	return ret;
}

const char *pr_outfile_path(const struct pr_outfile *of)
{
	return of->write;
}

const char *pr_outfile_name(const struct pr_outfile *of)
{
	return of->name;
}

int pr_outfile_commit(struct pr_outfile *of, char *err, size_t errlen)
{
	int fd, ret = 0;

	err[0] = 0;
	if (of->committed || (of->kind != OUT_NEW && of->kind != OUT_REPLACE))
		goto out;
	fd = open(of->write, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fchmod(fd, of->mode))
		ret = -errno;
	/*
	 * The data must be on disk before the name points at it, or a crash
	 * could leave an empty file where the previous one was.
	 */
	if (!ret && of->kind == OUT_REPLACE && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && of->kind == OUT_REPLACE && rename(of->write, of->target))
		ret = -errno;
out:
	if (ret)
		snprintf(err, errlen, "%s: %s", of->name, strerror(-ret));
	else
		of->committed = true;
	return ret;
}

void pr_outfile_destroy(struct pr_outfile *of)
{
	if (!of)
		return;
	if (!of->committed && of->write && (of->kind == OUT_NEW || of->kind == OUT_REPLACE))
		unlink(of->write);
	free(of->name);
	free(of->write);
	free(of->target);
	free(of);
}

int pr_outfile_parse_mode(const char *s, unsigned int *mode)
{
	unsigned int v = 0;
	size_t n;

	for (n = 0; s && s[n]; n++) {
		if (s[n] < '0' || s[n] > '7' || n >= 4)
			return -EINVAL;
		v = v * 8 + (unsigned int)(s[n] - '0');
	}
	if (!n || v > 0777)
		return -EINVAL;
	*mode = v;
	return 0;
}
