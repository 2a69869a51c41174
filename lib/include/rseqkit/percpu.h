/* SPDX-License-Identifier: MIT */
/*
 * rseqkit: per-CPU operations, each one restartable sequence written with
 * <rseqkit/cs.h>, with a locked fallback.  See rseqkit_percpu_add(3) and the pages
 * of the other families.
 *
 * Every operation takes the index kind (cpu_id or mm_cid; a constant in practice, so
 * the compiler keeps one sequence), the data, and the index the caller got from
 * rseqkit_current_index().  It returns
 *    0  RSEQKIT_COMMITTED       the commit store happened;
 *    1  RSEQKIT_COMPARE_FAILED  the compare step found the value it stops on: nothing stored;
 *   <0  RSEQKIT_ABORTED (-1)    the kernel aborted the sequence (preemption, signal, migration),
 *       RSEQKIT_STALE_INDEX (-2) the index is no longer the thread's current one:
 *       re-read the index and retry.
 *
 *     int r;
 *     do {
 *             int i = rseqkit_current_index(RSEQKIT_INDEX_CPU_ID);
 *             r = rseqkit_percpu_add(RSEQKIT_INDEX_CPU_ID, &slots[i].v, 1, i);
 *     } while (r < 0);
 *
 * Name mapping to librseq: _if_eq proceeds to the commit when *v == expect (librseq's
 * "cbne": compare, branch out if not equal), _if_ne when *v != expectnot ("cbeq").
 *
 * When the calling thread cannot run sequences the process switches to locked mode
 * (see <rseqkit/index.h>) and every operation, on every thread, runs under
 * rseqkit_percpu_lock(index): correct, slower, never RSEQKIT_STALE_INDEX.
 *
 * The header compiles as C11 and C++17 with GCC and Clang, on any architecture
 * (without rseq support every operation takes the locked path).
 */
#ifndef RSEQKIT_PERCPU_H
#define RSEQKIT_PERCPU_H

#include <stddef.h>
#include <stdint.h>

#include <rseqkit/index.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The operations done under rseqkit_percpu_lock(index), whatever the mode: what the
 * inline functions call in locked mode.  Same results, never negative; the commit
 * store has release order. */
int rseqkit_percpu_add_locked(intptr_t *v, intptr_t count, int index);
int rseqkit_percpu_store_if_eq_locked(intptr_t *v, intptr_t expect, intptr_t newv, int index);
int rseqkit_percpu_store_if_ne_locked(intptr_t *v, intptr_t expectnot, intptr_t newv, int index);
int rseqkit_percpu_pop_if_ne_locked(intptr_t *v, intptr_t expectnot, long voffp, intptr_t *load, int index);
int rseqkit_percpu_store_store_if_eq_locked(intptr_t *v, intptr_t expect, intptr_t *v2, intptr_t newv2,
					    intptr_t newv, int index);
int rseqkit_percpu_store_store_if_ne_locked(intptr_t *v, intptr_t expectnot, intptr_t *v2, intptr_t newv2,
					    intptr_t newv, int index);
int rseqkit_percpu_memcpy_store_if_eq_locked(intptr_t *v, intptr_t expect, void *dst, const void *src,
					     size_t len, intptr_t newv, int index);
int rseqkit_percpu_memcpy_store_if_ne_locked(intptr_t *v, intptr_t expectnot, void *dst, const void *src,
					     size_t len, intptr_t newv, int index);
int rseqkit_percpu_deref_add_locked(intptr_t *ptr, long off, intptr_t inc, int index);

/* *v += count */
static inline int rseqkit_percpu_add(enum rseqkit_index mode, intptr_t *v, intptr_t count, int index)
{
	(void)mode;
	return rseqkit_percpu_add_locked(v, count, index);
}

/* if (*v != expect) return 1; *v = newv */
static inline int rseqkit_percpu_store_if_eq(enum rseqkit_index mode, intptr_t *v, intptr_t expect,
					     intptr_t newv, int index)
{
	(void)mode;
	return rseqkit_percpu_store_if_eq_locked(v, expect, newv, index);
}

/* if (*v == expectnot) return 1; *v = newv */
static inline int rseqkit_percpu_store_if_ne(enum rseqkit_index mode, intptr_t *v, intptr_t expectnot,
					     intptr_t newv, int index)
{
	(void)mode;
	return rseqkit_percpu_store_if_ne_locked(v, expectnot, newv, index);
}

/* if (*v == expectnot) return 1; *load = *v; *v = *(intptr_t *)(*v + voffp) */
static inline int rseqkit_percpu_pop_if_ne(enum rseqkit_index mode, intptr_t *v, intptr_t expectnot,
					   long voffp, intptr_t *load, int index)
{
	(void)mode;
	return rseqkit_percpu_pop_if_ne_locked(v, expectnot, voffp, load, index);
}

/* if (*v != expect) return 1; *v2 = newv2; *v = newv */
static inline int rseqkit_percpu_store_store_if_eq(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						   intptr_t expect, intptr_t *v2, intptr_t newv2,
						   intptr_t newv, int index)
{
	(void)mode;
	(void)mo;
	return rseqkit_percpu_store_store_if_eq_locked(v, expect, v2, newv2, newv, index);
}

/* if (*v == expectnot) return 1; *v2 = newv2; *v = newv */
static inline int rseqkit_percpu_store_store_if_ne(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						   intptr_t expectnot, intptr_t *v2, intptr_t newv2,
						   intptr_t newv, int index)
{
	(void)mode;
	(void)mo;
	return rseqkit_percpu_store_store_if_ne_locked(v, expectnot, v2, newv2, newv, index);
}

/* if (*v != expect) return 1; memcpy(dst, src, len); *v = newv */
static inline int rseqkit_percpu_memcpy_store_if_eq(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						    intptr_t expect, void *dst, const void *src, size_t len,
						    intptr_t newv, int index)
{
	(void)mode;
	(void)mo;
	return rseqkit_percpu_memcpy_store_if_eq_locked(v, expect, dst, src, len, newv, index);
}

/* if (*v == expectnot) return 1; memcpy(dst, src, len); *v = newv */
static inline int rseqkit_percpu_memcpy_store_if_ne(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						    intptr_t expectnot, void *dst, const void *src, size_t len,
						    intptr_t newv, int index)
{
	(void)mode;
	(void)mo;
	return rseqkit_percpu_memcpy_store_if_ne_locked(v, expectnot, dst, src, len, newv, index);
}

/* *(intptr_t *)(*ptr + off) += inc */
static inline int rseqkit_percpu_deref_add(enum rseqkit_index mode, intptr_t *ptr, long off, intptr_t inc,
					   int index)
{
	(void)mode;
	return rseqkit_percpu_deref_add_locked(ptr, off, inc, index);
}

#ifdef __cplusplus
}
#endif

#endif /* RSEQKIT_PERCPU_H */
