// SPDX-License-Identifier: Apache-2.0
/*
 * Plain main() for the fuzz targets: runs LLVMFuzzerTestOneInput() once on
 * every regular file under the directories (or files) given as arguments,
 * so the seed corpus is exercised by every ctest run, with or without clang.
 * Missing directories are skipped with a message. Exits 0 when every input
 * returned; a crash or sanitizer report fails the test.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long inputs;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int err = 0;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = -1;
		goto out;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: read failed\n", path);
		err = -1;
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	inputs++;
out:
	free(buf);
	fclose(f);
	return err;
}

static int run_path(const char *path, int depth)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (stat(path, &sb)) {
		fprintf(stderr, "skipping %s: %s\n", path, strerror(errno));
		return 0;
	}
	if (S_ISREG(sb.st_mode))
		return run_file(path);
	if (!S_ISDIR(sb.st_mode) || depth > 4)
		return 0;
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (run_path(sub, depth + 1))
			err = -1;
	}
	closedir(d);
	return err;
}

int main(int argc, char **argv)
{
	int err = 0;

	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], 0))
			err = 1;
	printf("%lu inputs run\n", inputs);
	return err;
}
