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
#if RSEQKIT_ARCH_SUPPORTED
#include <rseqkit/cs.h>
#endif

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

#if RSEQKIT_ARCH_SUPPORTED
#define RSEQKIT__PERCPU_CS 1
#else
#define RSEQKIT__PERCPU_CS 0
#endif

#if RSEQKIT__PERCPU_CS
/* SEQ(KIND, kind[, MO, mo]) for the index kind (and commit order) asked for.  Each
 * operation names its sequences rseqkit_percpu_<op>[_<mo>]_<kind>.  Keep every use of
 * these on one line: the commit's line keys the sequence name (see rseqkit_cs(3)). */
#define RSEQKIT__BY_KIND(mode, SEQ)                                                       \
	do {                                                                              \
		if ((mode) == RSEQKIT_INDEX_CPU_ID)                                       \
			SEQ(CPU_ID, cpu_id);                                              \
		else                                                                      \
			SEQ(MM_CID, mm_cid);                                              \
	} while (0)
#define RSEQKIT__BY_KIND_MO(mode, mo, SEQ)                                                \
	do {                                                                              \
		if ((mo) == RSEQKIT_MO_RELEASE) {                                         \
			if ((mode) == RSEQKIT_INDEX_CPU_ID)                               \
				SEQ(CPU_ID, cpu_id, RELEASE, release);                    \
			else                                                              \
				SEQ(MM_CID, mm_cid, RELEASE, release);                    \
		} else {                                                                  \
			if ((mode) == RSEQKIT_INDEX_CPU_ID)                               \
				SEQ(CPU_ID, cpu_id, RELAXED, relaxed);                    \
			else                                                              \
				SEQ(MM_CID, mm_cid, RELAXED, relaxed);                    \
		}                                                                         \
	} while (0)

/* Every operation ends the same way: committed, aborted, or "did not start", where
 * rseqkit_cs_recover() says whether to retry (stale index) or take the lock. */
#define RSEQKIT__PERCPU_ENDINGS(mode)                                                     \
	return RSEQKIT_COMMITTED;                                                         \
aborted:                                                                                  \
	return RSEQKIT_ABORTED;                                                           \
mismatch:                                                                                 \
	if (!rseqkit_cs_recover(mode))                                                    \
		return RSEQKIT_STALE_INDEX;

#define RSEQKIT__SEQ_ADD(KIND, kind)                                                      \
	RSEQKIT_CS(rseqkit_percpu_add_##kind, KIND, index, aborted, mismatch,             \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_ADD(t0, count),                            \
		   RSEQKIT_COMMIT_T(RELAXED, v, t0))
#define RSEQKIT__SEQ_STORE_IF_EQ(KIND, kind)                                              \
	RSEQKIT_CS(rseqkit_percpu_store_if_eq_##kind, KIND, index, aborted, mismatch,     \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail),           \
		   RSEQKIT_COMMIT(RELAXED, v, newv))
#define RSEQKIT__SEQ_STORE_IF_NE(KIND, kind)                                              \
	RSEQKIT_CS(rseqkit_percpu_store_if_ne_##kind, KIND, index, aborted, mismatch,     \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_EQ(t0, expectnot, cmpfail),        \
		   RSEQKIT_COMMIT(RELAXED, v, newv))
#define RSEQKIT__SEQ_POP_IF_NE(KIND, kind)                                                \
	RSEQKIT_CS(rseqkit_percpu_pop_if_ne_##kind, KIND, index, aborted, mismatch,       \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_EQ(t0, expectnot, cmpfail)         \
		   RSEQKIT_LOAD_AT(t1, t0, voffp) RSEQKIT_STORE_T(load, t0),              \
		   RSEQKIT_COMMIT_T(RELAXED, v, t1))
#define RSEQKIT__SEQ_STORE_STORE_IF_EQ(KIND, kind, MO, mo)                                \
	RSEQKIT_CS(rseqkit_percpu_store_store_if_eq_##mo##_##kind, KIND, index, aborted,  \
		   mismatch,                                                              \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail)            \
		   RSEQKIT_STORE(v2, newv2),                                              \
		   RSEQKIT_COMMIT(MO, v, newv))
#define RSEQKIT__SEQ_STORE_STORE_IF_NE(KIND, kind, MO, mo)                                \
	RSEQKIT_CS(rseqkit_percpu_store_store_if_ne_##mo##_##kind, KIND, index, aborted,  \
		   mismatch,                                                              \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_EQ(t0, expectnot, cmpfail)         \
		   RSEQKIT_STORE(v2, newv2),                                              \
		   RSEQKIT_COMMIT(MO, v, newv))
#define RSEQKIT__SEQ_MEMCPY_STORE_IF_EQ(KIND, kind, MO, mo)                               \
	RSEQKIT_CS(rseqkit_percpu_memcpy_store_if_eq_##mo##_##kind, KIND, index, aborted, \
		   mismatch,                                                              \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail)            \
		   RSEQKIT_MEMCPY(dst, src, len),                                         \
		   RSEQKIT_COMMIT(MO, v, newv))
#define RSEQKIT__SEQ_MEMCPY_STORE_IF_NE(KIND, kind, MO, mo)                               \
	RSEQKIT_CS(rseqkit_percpu_memcpy_store_if_ne_##mo##_##kind, KIND, index, aborted, \
		   mismatch,                                                              \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_EQ(t0, expectnot, cmpfail)         \
		   RSEQKIT_MEMCPY(dst, src, len),                                         \
		   RSEQKIT_COMMIT(MO, v, newv))
#define RSEQKIT__SEQ_DEREF_ADD(KIND, kind)                                                \
	RSEQKIT_CS(rseqkit_percpu_deref_add_##kind, KIND, index, aborted, mismatch,       \
		   RSEQKIT_LOAD(t0, ptr) RSEQKIT_LOAD_AT(t1, t0, off) RSEQKIT_ADD(t1, inc), \
		   RSEQKIT_COMMIT_AT(RELAXED, t0, off, t1))
#endif /* RSEQKIT__PERCPU_CS */

/* *v += count */
static inline int rseqkit_percpu_add(enum rseqkit_index mode, intptr_t *v, intptr_t count, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND(mode, RSEQKIT__SEQ_ADD);
	RSEQKIT__PERCPU_ENDINGS(mode)
#endif
	(void)mode;
	return rseqkit_percpu_add_locked(v, count, index);
}

/* if (*v != expect) return 1; *v = newv */
static inline int rseqkit_percpu_store_if_eq(enum rseqkit_index mode, intptr_t *v, intptr_t expect,
					     intptr_t newv, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND(mode, RSEQKIT__SEQ_STORE_IF_EQ);
	RSEQKIT__PERCPU_ENDINGS(mode)
	return rseqkit_percpu_store_if_eq_locked(v, expect, newv, index);
cmpfail:
	return RSEQKIT_COMPARE_FAILED;
#else
	(void)mode;
	return rseqkit_percpu_store_if_eq_locked(v, expect, newv, index);
#endif
}

/* if (*v == expectnot) return 1; *v = newv */
static inline int rseqkit_percpu_store_if_ne(enum rseqkit_index mode, intptr_t *v, intptr_t expectnot,
					     intptr_t newv, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND(mode, RSEQKIT__SEQ_STORE_IF_NE);
	RSEQKIT__PERCPU_ENDINGS(mode)
	return rseqkit_percpu_store_if_ne_locked(v, expectnot, newv, index);
cmpfail:
	return RSEQKIT_COMPARE_FAILED;
#else
	(void)mode;
	return rseqkit_percpu_store_if_ne_locked(v, expectnot, newv, index);
#endif
}

/* if (*v == expectnot) return 1; *load = *v; *v = *(intptr_t *)(*v + voffp) */
static inline int rseqkit_percpu_pop_if_ne(enum rseqkit_index mode, intptr_t *v, intptr_t expectnot,
					   long voffp, intptr_t *load, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND(mode, RSEQKIT__SEQ_POP_IF_NE);
	RSEQKIT__PERCPU_ENDINGS(mode)
	return rseqkit_percpu_pop_if_ne_locked(v, expectnot, voffp, load, index);
cmpfail:
	return RSEQKIT_COMPARE_FAILED;
#else
	(void)mode;
	return rseqkit_percpu_pop_if_ne_locked(v, expectnot, voffp, load, index);
#endif
}

/* if (*v != expect) return 1; *v2 = newv2; *v = newv */
static inline int rseqkit_percpu_store_store_if_eq(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						   intptr_t expect, intptr_t *v2, intptr_t newv2,
						   intptr_t newv, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND_MO(mode, mo, RSEQKIT__SEQ_STORE_STORE_IF_EQ);
	RSEQKIT__PERCPU_ENDINGS(mode)
	return rseqkit_percpu_store_store_if_eq_locked(v, expect, v2, newv2, newv, index);
cmpfail:
	return RSEQKIT_COMPARE_FAILED;
#else
	(void)mode;
	(void)mo;
	return rseqkit_percpu_store_store_if_eq_locked(v, expect, v2, newv2, newv, index);
#endif
}

/* if (*v == expectnot) return 1; *v2 = newv2; *v = newv */
static inline int rseqkit_percpu_store_store_if_ne(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						   intptr_t expectnot, intptr_t *v2, intptr_t newv2,
						   intptr_t newv, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND_MO(mode, mo, RSEQKIT__SEQ_STORE_STORE_IF_NE);
	RSEQKIT__PERCPU_ENDINGS(mode)
	return rseqkit_percpu_store_store_if_ne_locked(v, expectnot, v2, newv2, newv, index);
cmpfail:
	return RSEQKIT_COMPARE_FAILED;
#else
	(void)mode;
	(void)mo;
	return rseqkit_percpu_store_store_if_ne_locked(v, expectnot, v2, newv2, newv, index);
#endif
}

/* if (*v != expect) return 1; memcpy(dst, src, len); *v = newv */
static inline int rseqkit_percpu_memcpy_store_if_eq(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						    intptr_t expect, void *dst, const void *src, size_t len,
						    intptr_t newv, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND_MO(mode, mo, RSEQKIT__SEQ_MEMCPY_STORE_IF_EQ);
	RSEQKIT__PERCPU_ENDINGS(mode)
	return rseqkit_percpu_memcpy_store_if_eq_locked(v, expect, dst, src, len, newv, index);
cmpfail:
	return RSEQKIT_COMPARE_FAILED;
#else
	(void)mode;
	(void)mo;
	return rseqkit_percpu_memcpy_store_if_eq_locked(v, expect, dst, src, len, newv, index);
#endif
}

/* if (*v == expectnot) return 1; memcpy(dst, src, len); *v = newv */
static inline int rseqkit_percpu_memcpy_store_if_ne(enum rseqkit_index mode, enum rseqkit_mo mo, intptr_t *v,
						    intptr_t expectnot, void *dst, const void *src, size_t len,
						    intptr_t newv, int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND_MO(mode, mo, RSEQKIT__SEQ_MEMCPY_STORE_IF_NE);
	RSEQKIT__PERCPU_ENDINGS(mode)
	return rseqkit_percpu_memcpy_store_if_ne_locked(v, expectnot, dst, src, len, newv, index);
cmpfail:
	return RSEQKIT_COMPARE_FAILED;
#else
	(void)mode;
	(void)mo;
	return rseqkit_percpu_memcpy_store_if_ne_locked(v, expectnot, dst, src, len, newv, index);
#endif
}

/* *(intptr_t *)(*ptr + off) += inc */
static inline int rseqkit_percpu_deref_add(enum rseqkit_index mode, intptr_t *ptr, long off, intptr_t inc,
					   int index)
{
#if RSEQKIT__PERCPU_CS
	RSEQKIT__BY_KIND(mode, RSEQKIT__SEQ_DEREF_ADD);
	RSEQKIT__PERCPU_ENDINGS(mode)
#endif
	(void)mode;
	return rseqkit_percpu_deref_add_locked(ptr, off, inc, index);
}

#ifdef __cplusplus
}
#endif

#endif /* RSEQKIT_PERCPU_H */
