/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiler basics every directory uses: branch hints, cache-line alignment,
 * prefetch and a few helpers. Header only; no state; any thread.
 */
#ifndef PR_COMPILER_H
#define PR_COMPILER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

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

/*
 * A cycle counter for per-stage timing: the TSC on x86 (invariant on
 * every CPU this runs on: constant rate, not stopped in idle states), the
 * generic timer on arm64, nanoseconds elsewhere. Not serialising: a stage
 * measured over a burst of packets is long enough for that not to matter.
 */
static inline uint64_t pr_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#elif defined(__aarch64__)
	uint64_t v;

	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

#endif /* PR_COMPILER_H */
