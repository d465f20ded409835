// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the output-file guard (controlplane/pr_outfile.c): new
 * files are created exclusively with mode 0600 whatever the umask, an
 * existing capture file is replaced only on commit (through a temporary
 * file that an uncommitted destroy removes), other existing files, the
 * store's files (by path, ./ and ../ forms, symlink, hard link, side files
 * that do not exist yet, its segment directory) and the input are refused,
 * devices are written in place. Each test works in its own temporary directory. Single thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_outfile.h"

static const uint8_t pcap_hdr[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 };

struct dir {
	char path[PATH_MAX];
};

static int dir_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct dir *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	snprintf(d->path, sizeof(d->path), "%s/test_pr_outfile.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->path));
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	DIR *dh = opendir(d->path);
	struct dirent *e;
	char p[PATH_MAX + 300];

	while (dh && (e = readdir(dh))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name);
		unlink(p);
	}
	if (dh)
		closedir(dh);
	rmdir(d->path);
	free(d);
	return 0;
}

/* d/name in one of four rotating buffers: copy it to keep it longer. */
static char *in_dir(const struct dir *d, const char *name)
{
	static char bufs[4][PATH_MAX + 300];
	static int next;
	char *b = bufs[next++ & 3];

	snprintf(b, sizeof(bufs[0]), "%s/%s", d->path, name);
	return b;
}

static void put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static size_t count_entries(const struct dir *d)
{
	DIR *dh = opendir(d->path);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(dh);
	while ((e = readdir(dh)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(dh);
	return n;
}

static unsigned int mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int try_open(const char *path, const char *store, const char *input, struct pr_outfile **of)
{
	struct pr_outfile_cfg cfg = {
		.opt = "--output",
		.path = path,
		.mode = PR_OUTFILE_MODE_DEFAULT,
		.store = store,
		.input = input,
	};
	char err[1024];
	int ret = pr_outfile_open(&cfg, of, err, sizeof(err));

	if (ret)
		assert_true(err[0] != 0);
	else
		assert_non_null(*of);
	return ret;
}

static void test_parse_mode(void **state)
{
	unsigned int m = 1;

	(void)state;
	assert_int_equal(pr_outfile_parse_mode("0600", &m), 0);
	assert_int_equal(m, 0600);
	assert_int_equal(pr_outfile_parse_mode("644", &m), 0);
	assert_int_equal(m, 0644);
	assert_int_equal(pr_outfile_parse_mode("0", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(pr_outfile_parse_mode("777", &m), 0);
	assert_int_equal(m, 0777);
	assert_int_equal(pr_outfile_parse_mode("1777", &m), -EINVAL);
	assert_int_equal(pr_outfile_parse_mode("00644", &m), -EINVAL);
	assert_int_equal(pr_outfile_parse_mode("8", &m), -EINVAL);
	assert_int_equal(pr_outfile_parse_mode("0o644", &m), -EINVAL);
	assert_int_equal(pr_outfile_parse_mode("", &m), -EINVAL);
	assert_int_equal(pr_outfile_parse_mode("-1", &m), -EINVAL);
	assert_int_equal(pr_outfile_parse_mode(NULL, &m), -EINVAL);
}

static void test_new_file(void **state)
{
	struct dir *d = *state;
	const char *p = in_dir(d, "new.pcap");
	struct pr_outfile_cfg cfg = { .opt = "-o", .path = p, .mode = 0640 };
	struct pr_outfile *of = NULL;
	mode_t old = umask(0);
	char err[512];

	assert_int_equal(pr_outfile_open(&cfg, &of, err, sizeof(err)), 0);
	umask(old);
	assert_string_equal(pr_outfile_path(of), p);
	assert_string_equal(pr_outfile_name(of), p);
	assert_int_equal(mode_of(p), 0600); /* owner only until the data is there */
	assert_int_equal(pr_outfile_commit(of, err, sizeof(err)), 0);
	assert_int_equal(mode_of(p), 0640);
	pr_outfile_destroy(of);
	assert_int_equal(access(p, F_OK), 0);

	/* Not committed: the file it created goes. */
	p = in_dir(d, "gone.pcap");
	cfg.path = p;
	old = umask(0777);
	assert_int_equal(pr_outfile_open(&cfg, &of, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(mode_of(p), 0600);
	pr_outfile_destroy(of);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(count_entries(d), 1);
}

static void test_replace(void **state)
{
	struct dir *d = *state;
	const char *p = in_dir(d, "old.pcap");
	struct pr_outfile *of = NULL;
	char err[512], tmp[PATH_MAX + 300];
	uint8_t buf[64];
	int fd;

	put_file(p, pcap_hdr, sizeof(pcap_hdr));
	assert_int_equal(try_open(p, NULL, NULL, &of), 0);
	snprintf(tmp, sizeof(tmp), "%s", pr_outfile_path(of));
	assert_string_not_equal(tmp, p);
	assert_non_null(strstr(tmp, "/.old.pcap."));
	assert_int_equal(count_entries(d), 2);
	pr_outfile_destroy(of); /* a failure: the previous file stays, the temporary goes */
	assert_int_equal(count_entries(d), 1);
	assert_int_equal(mode_of(p), 0644);

	assert_int_equal(try_open(p, NULL, NULL, &of), 0);
	fd = open(pr_outfile_path(of), O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x0a\x0d\x0d\x0a new", 8), 8);
	close(fd);
	assert_int_equal(pr_outfile_commit(of, err, sizeof(err)), 0);
	pr_outfile_destroy(of);
	assert_int_equal(count_entries(d), 1);
	assert_int_equal(mode_of(p), 0600);
	fd = open(p, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	close(fd);
	assert_memory_equal(buf, "\x0a\x0d\x0d\x0a new", 8);

	/* Empty files are replaceable too; other files are not. */
	put_file(in_dir(d, "empty"), "", 0);
	assert_int_equal(try_open(in_dir(d, "empty"), NULL, NULL, &of), 0);
	pr_outfile_destroy(of);
	put_file(in_dir(d, "notes.txt"), "keep me\n", 8);
	assert_int_equal(try_open(in_dir(d, "notes.txt"), NULL, NULL, &of), -EINVAL);
	assert_null(of);
	assert_int_equal(count_entries(d), 3);
}

static void test_store_refused(void **state)
{
	struct dir *d = *state;
	struct pr_outfile *of = NULL;
	char p[PATH_MAX + 300], db[PATH_MAX + 300];

	snprintf(db, sizeof(db), "%s", in_dir(d, "st.db"));

	put_file(db, pcap_hdr, sizeof(pcap_hdr)); /* a pcap magic would not save it */
	assert_int_equal(try_open(db, db, NULL, &of), -EINVAL);
	snprintf(p, sizeof(p), "%s/./st.db", d->path);
	assert_int_equal(try_open(p, db, NULL, &of), -EINVAL);
	assert_int_equal(mkdir(in_dir(d, "sub"), 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/../st.db", d->path);
	assert_int_equal(try_open(p, db, NULL, &of), -EINVAL);
	assert_int_equal(symlink("st.db", in_dir(d, "link")), 0);
	assert_int_equal(try_open(in_dir(d, "link"), db, NULL, &of), -EINVAL);
	assert_int_equal(link(db, in_dir(d, "hard")), 0);
	assert_int_equal(try_open(in_dir(d, "hard"), db, NULL, &of), -EINVAL);
	/* Side files that do not exist yet, by name. */
	assert_int_equal(try_open(in_dir(d, "st.db-wal"), db, NULL, &of), -EINVAL);
	snprintf(p, sizeof(p), "%s/sub/../st.db-shm", d->path);
	assert_int_equal(try_open(p, db, NULL, &of), -EINVAL);
	assert_int_equal(try_open(in_dir(d, "st.db-journal"), db, NULL, &of), -EINVAL);
	/* A store that does not exist yet (capture creates it). */
	assert_int_equal(try_open(in_dir(d, "future.db"), in_dir(d, "future.db"), NULL, &of),
			 -EINVAL);
	/* The segment directory: anything in it, and a segment under another name. */
	assert_int_equal(mkdir(in_dir(d, "st.db.segments"), 0700), 0);
	put_file(in_dir(d, "st.db.segments/s1.seg"), "sealed", 6);
	assert_int_equal(try_open(in_dir(d, "st.db.segments/s1.seg"), db, NULL, &of), -EINVAL);
	assert_int_equal(try_open(in_dir(d, "st.db.segments/new.pcap"), db, NULL, &of), -EINVAL);
	assert_int_equal(link(in_dir(d, "st.db.segments/s1.seg"), in_dir(d, "seg-link")), 0);
	put_file(in_dir(d, "seg-link"), pcap_hdr, sizeof(pcap_hdr)); /* same inode, pcap now */
	assert_int_equal(try_open(in_dir(d, "seg-link"), db, NULL, &of), -EINVAL);
	unlink(in_dir(d, "st.db.segments/s1.seg"));
	rmdir(in_dir(d, "st.db.segments"));
	unlink(in_dir(d, "seg-link"));
	/* The input. */
	assert_int_equal(try_open(in_dir(d, "hard"), NULL, db, &of), -EINVAL);
	rmdir(in_dir(d, "sub"));
	assert_int_equal(count_entries(d), 3);
	/* Anything else beside it is fine. */
	assert_int_equal(try_open(in_dir(d, "st.db.pcap"), db, NULL, &of), 0);
	pr_outfile_destroy(of);
	assert_int_equal(count_entries(d), 3);
}

static void test_other_targets(void **state)
{
	struct dir *d = *state;
	struct pr_outfile *of = NULL;
	char err[512];

	assert_int_equal(try_open("-", NULL, NULL, &of), 0);
	assert_string_equal(pr_outfile_path(of), "-");
	assert_int_equal(pr_outfile_commit(of, err, sizeof(err)), 0);
	pr_outfile_destroy(of);
	assert_int_equal(try_open("/dev/null", NULL, NULL, &of), 0);
	assert_string_equal(pr_outfile_path(of), "/dev/null");
	pr_outfile_destroy(of); /* never removed */
	assert_int_equal(access("/dev/null", F_OK), 0);
	assert_int_equal(try_open("", NULL, NULL, &of), -EINVAL);
	assert_int_equal(try_open(in_dir(d, "no/such/dir.pcap"), NULL, NULL, &of), -ENOENT);
	assert_int_equal(try_open(d->path, NULL, NULL, &of), -EISDIR);
	assert_int_equal(symlink("missing", in_dir(d, "dangling")), 0);
	assert_int_equal(try_open(in_dir(d, "dangling"), NULL, NULL, &of), -EEXIST);
	assert_int_equal(count_entries(d), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mode),
		cmocka_unit_test_setup_teardown(test_new_file, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_replace, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_store_refused, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_other_targets, dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests_name("pr_outfile", tests, NULL, NULL);
}
