/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PR_ASSERT(): invariant checks that exist in debug builds only (NDEBUG
 * removes them). Never used for input validation: bad input is an error.
 */
#ifndef PR_ASSERT_H
#define PR_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#ifdef NDEBUG
#define PR_ASSERT(cond) ((void)0)
#else
#define PR_ASSERT(cond)                                                                      \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)
#endif

#endif /* PR_ASSERT_H */
