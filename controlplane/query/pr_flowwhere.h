/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow filters: the expression of `flows --where` (grammar in
 * docs/packetrecorder-flows.md, "Filtering with --where"), compiled once
 * into a small tree of comparisons with their regular expressions built,
 * then evaluated per flow against the flow's JSON object (its own keys plus
 * the L7 keys of pr_l7view, as `flows --json` prints them). No printing, no
 * exits. A compiled filter is read-only after compile: any thread may
 * evaluate it, several at once.
 */
#ifndef PR_FLOWWHERE_H
#define PR_FLOWWHERE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* Bounds against hostile input; an expression beyond one is -EINVAL naming it. */
#define PR_FLOWWHERE_MAX_LEN 4096 /* bytes of the expression */
#define PR_FLOWWHERE_MAX_NODES 256 /* comparisons, and/or/not */
#define PR_FLOWWHERE_MAX_DEPTH 64 /* nesting of parentheses and not */
/*
 * Atoms of all the expression's regular expressions once their bounded
 * repetitions ({m,n}) are expanded, as the regex compiler does: nested
 * repetitions multiply, and a short pattern could otherwise take seconds
 * and gigabytes to compile.
 */
#define PR_FLOWWHERE_MAX_RE_ATOMS 20000u
/*
 * Nodes of those regular expressions that match the empty string ('*',
 * '?', '|', groups, the optional copies of {m,n}), once expanded: the
 * compiler's time grows with their cube ("(()*){3000}" took 56 s).
 */
#define PR_FLOWWHERE_MAX_RE_EMPTY 1000u

struct pr_flowwhere;

/*
 * Compile expr into *out (the caller destroys it). 0, -EINVAL with a
 * message in err that names the byte position (1-based) and the token at
 * fault ("at 12: expected a value after \"~\""), or -ENOMEM. err may be
 * NULL; errlen 0 writes nothing.
 */
int pr_flowwhere_compile(const char *expr, struct pr_flowwhere **out, char *err, size_t errlen);
void pr_flowwhere_destroy(struct pr_flowwhere *w); /* NULL is a no-op */

/* Does the flow (a JSON object as flows --json has it) match? Any thread. */
bool pr_flowwhere_match(const struct pr_flowwhere *w, struct json_object *flow);

#endif /* PR_FLOWWHERE_H */
