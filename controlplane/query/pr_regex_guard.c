// SPDX-License-Identifier: Apache-2.0
/*
 * Guards on the POSIX extended regular expressions that `flows --where`
 * hands to glibc's regcomp(): short patterns that would take the compiler
 * seconds to minutes and gigabytes are found by scanning the pattern
 * first. See pr_regex_guard.h.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pr_flowwhere.h"
#include "pr_regex_guard.h"

/*
 * glibc runs back-references by backtracking, which a hostile pattern turns
 * into exponential time; without them matching stays polynomial.
 */
bool pr_regex_has_backref(const char *re)
{
	for (; *re; re++) {
		if (*re != '\\')
			continue;
		if (isdigit((unsigned char)re[1]) && re[1] != '0')
			return true;
		if (re[1])
			re++;
	}
	return false;
}

void pr_regex_size_add(struct pr_regex_size *to, const struct pr_regex_size *v, uint64_t times)
{
	to->atoms += v->atoms * times;
	to->empty += v->empty * times;
}

static bool size_over(const struct pr_regex_size *v)
{
	return v->atoms > PR_FLOWWHERE_MAX_RE_ATOMS || v->empty > PR_FLOWWHERE_MAX_RE_EMPTY;
}

/*
 * What glibc's compiler builds for re, in two counts. It copies what a
 * bounded repetition {m,n} applies to max(m, n) times (m + 1 for {m,}),
 * so nested ones multiply: "((a{255}){255}){255}" is 16.6 million atoms,
 * 37 s and 3.4 GB to compile here, from one short expression. And every
 * '*', '?', '|', group and optional copy ({m,n}'s n - m) is a node that
 * matches nothing, whose closures the compiler computes in time that
 * grows with their cube: "(()*){3000}" took 56 s, "a{1,20000}" 9 s and
 * "(a?){10000}" 2 s, with few atoms. Worse, a loop whose body can
 * match nothing makes the closures recurse: "(((e*|)*|)*|){80}" ran for
 * minutes within both counts, so such a repetition is flagged
 * (the return value); without one the empty nodes form no cycle, and their
 * count bounds the time. A conservative count of both,
 * saturating above their caps; groups nested deeper than the stack count
 * as above the caps too.
 */
bool pr_regex_expanded_size(const char *re, struct pr_regex_size *out)
{
	static const struct pr_regex_size one_atom = { 1, 0 }, one_empty = { 0, 1 };
	static const struct pr_regex_size over = { PR_FLOWWHERE_MAX_RE_ATOMS + 1,
						   PR_FLOWWHERE_MAX_RE_EMPTY + 1 };
	struct pr_regex_size sum[256], last = { 0, 0 };
	/*
	 * Which parts can match nothing, per group depth: the alternative so
	 * far (alt) and without its last item (pre), the group's finished
	 * alternatives (grp), and the last item (lnull, when there is one).
	 */
	bool alt[256], pre[256], grp[256], lnull = false, have = false, loops = false;
	unsigned d = 0;
	const char *p = re;

	memset(&sum[0], 0, sizeof(sum[0]));
	alt[0] = pre[0] = true;
	grp[0] = false;
	while (*p) {
		struct pr_regex_size add = { 0, 0 };
		int item = -1; /* a new item: 1 if it can match nothing, 0 if not */

		switch (*p) {
		case '\\':
			p += p[1] ? 2 : 1;
			add = last = one_atom;
			item = 0;
			break;
		case '[':
			/* A bracket expression is one atom: skip to its closing ']'. */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					char c = p[1];

					p += 2;
					while (*p && !(p[0] == c && p[1] == ']'))
						p++;
					if (*p)
						p += 2;
					continue;
				}
				p++;
			}
			if (*p)
				p++;
			add = last = one_atom;
			item = 0;
			break;
		case '(':
			if (++d >= sizeof(sum) / sizeof(sum[0])) {
				*out = (struct pr_regex_size){ 0, over.empty };
				return false;
			}
			/* Its opening and closing nodes. */
			sum[d] = (struct pr_regex_size){ 0, 2 };
			last = (struct pr_regex_size){ 0, 0 };
			alt[d] = pre[d] = true;
			grp[d] = false;
			have = false;
			p++;
			break;
		case ')':
			p++;
			if (d) {
				last = sum[d];
				item = grp[d] || alt[d];
				d--;
			} else {
				last = one_atom;
				item = 0;
			}
			add = last;
			break;
		case '{': {
			const char *q = p + 1;
			uint64_t m = 0, n = 0, count, cap = PR_FLOWWHERE_MAX_RE_ATOMS;
			bool comma = false, have_n = false;

			while (*q >= '0' && *q <= '9' && m <= cap)
				m = m * 10 + (uint64_t)(*q++ - '0');
			if (*q == ',') {
				comma = true;
				q++;
				while (*q >= '0' && *q <= '9' && n <= cap) {
					n = n * 10 + (uint64_t)(*q++ - '0');
					have_n = true;
				}
			}
			if (*q != '}' || q == p + 1) {
				/* Not a repetition: a literal '{' (regcomp decides). */
				p++;
				add = last = one_atom;
				item = 0;
				break;
			}
			p = q + 1;
			count = have_n ? (n > m ? n : m) : comma ? m + 1 : m;
			if (count < 1)
				count = 1;
			if (count > cap + 1) {
				*out = (struct pr_regex_size){ over.atoms, 0 };
				return false;
			}
			/* count - 1 more copies, of which count - m are optional. */
			pr_regex_size_add(&add, &last, count - 1);
			add.empty += count > m ? count - m : 0;
			pr_regex_size_add(&last, &last, count - 1);
			last.empty += count > m ? count - m : 0;
			if (have) {
				loops |= lnull && count > 1;
				lnull = lnull || m == 0;
				alt[d] = pre[d] && lnull;
			}
			break;
		}
		case '+':
		case '*': {
			bool plus = *p++ == '+';

			if (have) {
				loops |= lnull;
				lnull = lnull || !plus;
				alt[d] = pre[d] && lnull;
			}
			/* '+' copies its operand once more; both add a node that matches nothing. */
			if (plus) {
				add = last;
				pr_regex_size_add(&last, &last, 1);
			}
			add.empty++;
			last.empty++;
			break;
		}
		case '?':
			if (have) {
				lnull = true;
				alt[d] = pre[d];
			}
			p++;
			add = one_empty;
			last.empty++;
			break;
		case '|':
			grp[d] = grp[d] || alt[d];
			alt[d] = pre[d] = true;
			have = false;
			p++;
			add = one_empty;
			last.empty++;
			break;
		case '^':
		case '$':
			p++;
			add = one_empty;
			item = 1;
			break;
		default:
			p++;
			add = last = one_atom;
			item = 0;
		}
		if (item >= 0) {
			pre[d] = alt[d];
			alt[d] = alt[d] && item;
			lnull = item;
			have = true;
		}
		pr_regex_size_add(&sum[d], &add, 1);
		if (size_over(&add) || size_over(&last) || size_over(&sum[d])) {
			/* Above the cap that was passed, within the other one. */
			bool many = add.atoms > PR_FLOWWHERE_MAX_RE_ATOMS ||
				    last.atoms > PR_FLOWWHERE_MAX_RE_ATOMS ||
				    sum[d].atoms > PR_FLOWWHERE_MAX_RE_ATOMS;

			*out = many ? (struct pr_regex_size){ over.atoms, 0 } :
				      (struct pr_regex_size){ 0, over.empty };
			return false;
		}
	}
	*out = (struct pr_regex_size){ 0, 0 };
	for (unsigned i = 0; i <= d; i++)
		pr_regex_size_add(out, &sum[i], 1);
	return loops;
}
