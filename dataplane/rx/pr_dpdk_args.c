// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_dpdk_args.h: a word splitter with shell quoting and
 * none of the rest of a shell, so that an EAL argument string from a
 * config file or a command line can never run anything or expand to
 * something the user did not write.
 */
#include "pr_dpdk_args.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int pr_dpdk_args_split(const char *s, char *buf, size_t bufsize, char **argv, int max, char *err,
		       size_t errlen)
{
	size_t i = 0, o = 0;
	int argc = 0;

	if (!s)
		return 0;
	/* Every word ends up no longer than its source, plus one NUL each. */
	if (bufsize < strlen(s) + 1) {
		snprintf(err, errlen, "argument string longer than %zu bytes", bufsize - 1);
		return -E2BIG;
	}
	for (;;) {
		while (is_blank(s[i]))
			i++;
		if (!s[i])
			break;
		if (argc >= max) {
			snprintf(err, errlen, "more than %d arguments", max);
			return -E2BIG;
		}
		argv[argc++] = buf + o;
		while (s[i] && !is_blank(s[i])) {
			size_t start = i;

			if (s[i] == '\'') {
				const char *end = strchr(s + i + 1, '\'');

				if (!end) {
					snprintf(err, errlen,
						 "unterminated ' quote starting at offset %zu",
						 start);
					return -EINVAL;
				}
				memcpy(buf + o, s + i + 1, (size_t)(end - (s + i + 1)));
				o += (size_t)(end - (s + i + 1));
				i = (size_t)(end - s) + 1;
			} else if (s[i] == '"') {
				i++;
				while (s[i] && s[i] != '"') {
					if (s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\'))
						i++;
					buf[o++] = s[i++];
				}
				if (!s[i]) {
					snprintf(err, errlen,
						 "unterminated \" quote starting at offset %zu",
						 start);
					return -EINVAL;
				}
				i++;
			} else if (s[i] == '\\') {
				if (!s[i + 1]) {
					snprintf(err, errlen, "backslash at the end");
					return -EINVAL;
				}
				buf[o++] = s[i + 1];
				i += 2;
			} else {
				buf[o++] = s[i++];
			}
		}
		buf[o++] = 0;
	}
	return argc;
}

bool pr_dpdk_args_has(char *const *argv, int argc, const char *const *names)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			return false;
		for (const char *const *n = names; *n; n++) {
			size_t l = strlen(*n);

			if (strncmp(a, *n, l))
				continue;
			if (!a[l])
				return true;
			/* "--opt=v" for long names; "-lv" for short ones, never "--log-level". */
			if ((*n)[1] == '-' ? a[l] == '=' : a[1] != '-')
				return true;
		}
	}
	return false;
}
