/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `--dpdk-args` string turned into an argument vector for the DPDK EAL,
 * without a shell: words split at blanks, '...' and "..." quoting, and
 * backslash escapes, and nothing else (no variables, globs, ~ or
 * substitutions). Plus a test for "did the user already give this option",
 * so the backend adds its defaults only where the user gave none. No DPDK
 * include: the unit tests and fuzzers use it without DPDK. Any thread; no
 * state.
 */
#ifndef PR_DPDK_ARGS_H
#define PR_DPDK_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* The most words --dpdk-args may hold. */
#define PR_DPDK_ARGS_MAX 64

/*
 * Split s into at most max words. The words are written, NUL-terminated,
 * into buf (bufsize bytes; strlen(s) + 1 always suffices) and argv[i]
 * points into it. Rules, as a POSIX shell splits words:
 *  - blanks (space, tab, newline) outside quotes separate words;
 *  - '...' keeps everything up to the next ' as it is;
 *  - "..." keeps everything up to the next unescaped ", where \" and \\
 *    stand for " and \ (any other backslash is kept);
 *  - outside quotes, \c stands for c;
 *  - '' and "" make an empty word.
 * Returns the number of words (0..max), or -EINVAL (unterminated quote,
 * backslash at the end) or -E2BIG (more than max words, or buf too small),
 * with err saying which and where.
 */
int pr_dpdk_args_split(const char *s, char *buf, size_t bufsize, char **argv, int max, char *err,
		       size_t errlen);

/*
 * True if argv[0..argc) holds one of the options in names (NULL-terminated).
 * A long name "--opt" matches "--opt" and "--opt=VALUE"; a short name "-l"
 * matches "-l" and "-lVALUE". Words after a "--" are not options.
 */
bool pr_dpdk_args_has(char *const *argv, int argc, const char *const *names);

#endif /* PR_DPDK_ARGS_H */
