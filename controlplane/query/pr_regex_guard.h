// SPDX-License-Identifier: Apache-2.0
/*
 * Guards on regular expressions before regcomp() (pr_regex_guard.c), for
 * the `flows --where` compiler: back-references, the size of a pattern
 * once its repetitions are expanded, and loops over parts that can match
 * nothing. Pure functions of the pattern; no allocation.
 */
#ifndef PR_REGEX_GUARD_H
#define PR_REGEX_GUARD_H

#include <stdbool.h>
#include <stdint.h>

/* The size of regular expressions once expanded, as regcomp() builds them. */
struct pr_regex_size {
	uint64_t atoms; /* characters, escapes, bracket expressions */
	uint64_t empty; /* nodes that match the empty string */
};

/* Does re use a back-reference (\1 ... \9)? */
bool pr_regex_has_backref(const char *re);

/*
 * re's size into out, saturating just above PR_FLOWWHERE_MAX_RE_ATOMS or
 * PR_FLOWWHERE_MAX_RE_EMPTY (whichever it passed). Returns true when re
 * repeats ('*', '+', {m,n}) a part that can match nothing.
 */
bool pr_regex_expanded_size(const char *re, struct pr_regex_size *out);

/* to += v * times. */
void pr_regex_size_add(struct pr_regex_size *to, const struct pr_regex_size *v, uint64_t times);

#endif
