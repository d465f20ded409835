/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiler basics every directory uses: branch hints, cache-line alignment,
 * prefetch and a few helpers. Header only; no state; any thread.
 */
#ifndef PR_COMPILER_H
#define PR_COMPILER_H

#include <stddef.h>

#define PR_CACHE_LINE 64

/* Placed after the struct, as DPDK 22.11 does: struct x { ... } PR_CACHE_ALIGNED; */
#define PR_CACHE_ALIGNED __attribute__((aligned(PR_CACHE_LINE)))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define pr_prefetch0(p) __builtin_prefetch((p), 0, 3)
#define pr_prefetch_w(p) __builtin_prefetch((p), 1, 3)

#define PR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PR_UNUSED __attribute__((unused))
#define PR_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define PR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PR_MAX(a, b) ((a) > (b) ? (a) : (b))

#define PR_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

#endif /* PR_COMPILER_H */
