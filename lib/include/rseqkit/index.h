/* SPDX-License-Identifier: MIT */
/*
 * rseqkit: indexes of per-CPU data, the process-wide locked mode, and the locks.
 * Shared by <rseqkit/cs.h> (the sequence DSL) and <rseqkit/percpu.h> (the operations);
 * include one of those.  See rseqkit_cs(3) and rseqkit_percpu_add(3).
 *
 * Locked mode
 * -----------
 * A sequence only excludes writers that run on the same CPU (or with the same mm_cid).
 * A thread that cannot run sequences (owner FOREIGN or UNAVAILABLE, mm_cid indexing
 * without kernel support, an unsupported architecture) therefore cannot simply take a
 * lock: a thread in a sequence on the same slot would not see it.  Instead the process
 * switches, once and for good, to locked mode for that index kind: every sequence loads
 * rseqkit_cs_mode[kind] after it is armed and leaves through its mismatch exit when the
 * word is not RSEQKIT_CS_MODE_RSEQ; the switch sets the word and then restarts every
 * sequence in flight (membarrier(2) MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ), so that no
 * sequence that read the old value can still commit.  From then on every thread does
 * the operations under rseqkit_percpu_lock(index).
 *
 * The header compiles as C11 and C++17 with GCC and Clang.
 */
#ifndef RSEQKIT_INDEX_H
#define RSEQKIT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include <rseqkit/rseqkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a per-CPU slot is indexed by: the CPU number, or the concurrency ID of the
 * thread in its process (Linux 6.3+; dense, below the thread count). */
enum rseqkit_index { RSEQKIT_INDEX_CPU_ID = 0, RSEQKIT_INDEX_MM_CID = 1 };

/* Memory order of a commit store: relaxed, or release (the speculative stores and the
 * copy before it become visible no later than the commit). */
enum rseqkit_mo { RSEQKIT_MO_RELAXED = 0, RSEQKIT_MO_RELEASE = 1 };

/* Results of the operations and of sequences that return a code. */
#define RSEQKIT_COMMITTED 0        /* the commit store happened */
#define RSEQKIT_COMPARE_FAILED 1   /* the compare step exited: nothing was stored */
#define RSEQKIT_ABORTED (-1)       /* the kernel aborted the sequence: retry */
#define RSEQKIT_STALE_INDEX (-2)   /* the index passed is not the thread's current one: re-read it and retry */

/* Values of rseqkit_cs_mode[kind]. */
#define RSEQKIT_CS_MODE_RSEQ 0U       /* sequences run */
#define RSEQKIT_CS_MODE_UNDECIDED 1U  /* no thread has run an operation of this kind yet */
#define RSEQKIT_CS_MODE_SWITCHING 2U  /* going to locked mode: wait */
#define RSEQKIT_CS_MODE_LOCKED 3U     /* every thread uses rseqkit_percpu_lock() */

/* Number of indexes: the possible CPUs (/sys/devices/system/cpu/possible, highest plus
 * one).  mm_cid values are below it too.  Per-CPU arrays need this many slots. */
int rseqkit_index_count(void);

/* Out-of-line part of rseqkit_current_index(); complete on its own. */
int rseqkit_current_index_slow(enum rseqkit_index mode);

/* To call at a sequence's mismatch exit (the index check failed, or the process is not
 * in RSEQKIT_CS_MODE_RSEQ for this kind).  Registers the thread if needed and decides
 * the mode; switches the process to locked mode when this thread cannot run sequences
 * of this kind.  Returns 0: re-read the index and retry the sequence; 1: the process
 * is in locked mode for this kind, do the operation under rseqkit_percpu_lock(). */
int rseqkit_cs_recover(enum rseqkit_index mode);

/* Switch the process to locked mode for both kinds (for tests, debuggers, and code
 * that knows rseq cannot be trusted).  Returns when no sequence can commit any more. */
void rseqkit_percpu_force_locked(void);

/* 1 when the process is in locked mode for this kind, else 0. */
int rseqkit_percpu_locked(enum rseqkit_index mode);

/* The lock of an index in locked mode (a static array of cache-line-sized locks,
 * chosen by index modulo its size; any int is accepted).  Not async-signal-safe. */
void rseqkit_percpu_lock(int index);
void rseqkit_percpu_unlock(int index);

/* Not API: what the inline functions read.  Named in rseqkit_cs(3). */
extern uint32_t rseqkit_cs_mode[2];
extern uint32_t rseqkit_index_limit;  /* rseqkit_index_count() once known, 0 before */

/* The index to pass to an operation: the area's cpu_id or mm_cid; for a thread that
 * cannot run sequences, its CPU (sched_getcpu()).  Always >= 0 and below
 * rseqkit_index_count().  Registers the thread lazily.  Async-signal-safe. */
static inline int rseqkit_current_index(enum rseqkit_index mode)
{
	const struct rseqkit_area *area = rseqkit_tls_area;
	uint32_t limit = __atomic_load_n(&rseqkit_index_limit, __ATOMIC_RELAXED);
	uint32_t cpu = RSEQKIT_READ_ONCE_U32(&area->cpu_id);

	if (mode == RSEQKIT_INDEX_CPU_ID) {
		/* A negative cpu_id (thread not usable yet) is above any limit. */
		if (RSEQKIT_LIKELY(cpu < limit))
			return (int)cpu;
	} else if (RSEQKIT_LIKELY((int32_t)cpu >= 0 &&
				  (rseqkit_area_features & RSEQKIT_FEATURE_MM_CID))) {
		uint32_t cid = RSEQKIT_READ_ONCE_U32(&area->mm_cid);
		if (RSEQKIT_LIKELY(cid < limit))
			return (int)cid;
	}
	return rseqkit_current_index_slow(mode);
}

#ifdef __cplusplus
}
#endif

#endif /* RSEQKIT_INDEX_H */
