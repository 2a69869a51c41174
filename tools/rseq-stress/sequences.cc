// SPDX-License-Identifier: MIT
// rseq-stress's restartable sequences, written with the DSL of <rseqkit/cs.h>.
//
// Why its own sequences rather than the inline operations of <rseqkit/percpu.h>: every
// family needs names of its own in the __rseqkit_names records, and exactly one
// descriptor per name, so that the aborts counted here match, one for one, what an
// observer of the kernel's rseq_ip_fixup events counts per start_ip.  Each function
// below is therefore kept out of line and never cloned, and holds one instance of its
// sequence per index kind.  rseq-stress checks at start-up that every name it reports
// has exactly one descriptor.
//
// A delay loop (set_delay) sits right before each commit, through the DSL's injection
// point 2: it widens the window in which preemption, migration or a signal aborts a
// sequence, and in which a broken sequence would lose or duplicate an update.
#include "sequences.h"

#include <string.h>

// Injection: point 1 stays empty; point 2 spins rseq_stress_delay_loops times.  Only
// the scratch registers the DSL allows (x86_64 %rcx; aarch64 x11), flags and numeric
// local labels.
#define RSEQ_STRESS_INJECT_1 ""
#if defined(__x86_64__)
#define RSEQ_STRESS_INJECT_2                                                   \
	"movq rseq_stress_delay_loops(%%rip), %%rcx\n\t"                       \
	"testq %%rcx, %%rcx\n\t"                                               \
	"jz 8f\n"                                                              \
	"7:\n\t"                                                               \
	"decq %%rcx\n\t"                                                       \
	"jnz 7b\n"                                                             \
	"8:\n\t"
#elif defined(__aarch64__)
#define RSEQ_STRESS_INJECT_2                                                   \
	"adrp x11, rseq_stress_delay_loops\n\t"                                \
	"ldr x11, [x11, :lo12:rseq_stress_delay_loops]\n\t"                    \
	"cbz x11, 8f\n"                                                        \
	"7:\n\t"                                                               \
	"subs x11, x11, #1\n\t"                                                \
	"b.ne 7b\n"                                                            \
	"8:\n\t"
#else
#define RSEQ_STRESS_INJECT_2 ""
#endif
#define RSEQKIT_INJECT_ASM(point) RSEQ_STRESS_INJECT_##point

#include <rseqkit/percpu.h>  // the locked operations (and <rseqkit/cs.h> where it exists)

extern "C" {
// Read by the injected code by name: hidden, so that the reference is PC-relative.
__attribute__((visibility("hidden"))) long rseq_stress_delay_loops = 0;
}

// Out of line and never cloned: one descriptor per sequence name (see the top).
#if defined(__clang__)
#define STRESS_OP extern __attribute__((noinline))
#else
#define STRESS_OP extern __attribute__((noinline, noclone, noipa))
#endif

namespace stress {

namespace {
const char *const names[seq_count][2] = {
	{"rseq_stress_add_cpu_id", "rseq_stress_add_mm_cid"},
	{"rseq_stress_cmpeq_cpu_id", "rseq_stress_cmpeq_mm_cid"},
	{"rseq_stress_list_push_cpu_id", "rseq_stress_list_push_mm_cid"},
	{"rseq_stress_list_pop_cpu_id", "rseq_stress_list_pop_mm_cid"},
	{"rseq_stress_buffer_push_cpu_id", "rseq_stress_buffer_push_mm_cid"},
	{"rseq_stress_buffer_pop_cpu_id", "rseq_stress_buffer_pop_mm_cid"},
	{"rseq_stress_memcpy_push_cpu_id", "rseq_stress_memcpy_push_mm_cid"},
	{"rseq_stress_memcpy_pop_cpu_id", "rseq_stress_memcpy_pop_mm_cid"},
	{"rseq_stress_offset_add_cpu_id", "rseq_stress_offset_add_mm_cid"},
};

int locked(int r)
{
	return r == RSEQKIT_COMMITTED ? locked_committed : locked_compare_failed;
}
}  // namespace

const char *seq_name(seq s, rseqkit_index kind)
{
	return names[s][kind == RSEQKIT_INDEX_MM_CID ? 1 : 0];
}

void set_delay(long loops)
{
	__atomic_store_n(&rseq_stress_delay_loops, loops, __ATOMIC_RELAXED);
}

#if RSEQKIT_ARCH_SUPPORTED
// One instance per kind; keep each use on one line (the DSL keys names by line).
#define BY_KIND(k, SEQ)                                                        \
	do {                                                                   \
		if ((k) == RSEQKIT_INDEX_CPU_ID)                               \
			SEQ(CPU_ID, cpu_id);                                   \
		else                                                           \
			SEQ(MM_CID, mm_cid);                                   \
	} while (0)
// The sequence's endings; at `mismatch` the caller decides: stale index, or locked mode.
#define ENDINGS                                                                \
	return committed;                                                      \
aborted:                                                                       \
	return stress::aborted;                                                \
mismatch:
#define ENDINGS_CMP                                                            \
	return committed;                                                      \
cmpfail:                                                                       \
	return compare_failed;                                                 \
aborted:                                                                       \
	return stress::aborted;                                                \
mismatch:
#else
// No sequences on this architecture: every call goes to the locked path.
#define BY_KIND(k, SEQ) ((void)0)
#define ENDINGS
#define ENDINGS_CMP
#endif

#define SEQ_ADD(KIND, kind)                                                    \
	RSEQKIT_CS(rseq_stress_add_##kind, KIND, index, aborted, mismatch,     \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_ADD(t0, n),                     \
		   RSEQKIT_COMMIT_T(RELAXED, v, t0))

STRESS_OP int op_add(rseqkit_index k, intptr_t *v, intptr_t n, int index)
{
	BY_KIND(k, SEQ_ADD);
	ENDINGS
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_add_locked(v, n, index));
}

#define SEQ_CMPEQ(KIND, kind)                                                  \
	RSEQKIT_CS(rseq_stress_cmpeq_##kind, KIND, index, aborted, mismatch,   \
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail), \
		   RSEQKIT_COMMIT(RELAXED, v, newv))

STRESS_OP int op_cmpeq(rseqkit_index k, intptr_t *v, intptr_t expect, intptr_t newv, int index)
{
	BY_KIND(k, SEQ_CMPEQ);
	ENDINGS_CMP
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_store_if_eq_locked(v, expect, newv, index));
}

#define SEQ_LIST_PUSH(KIND, kind)                                                   \
	RSEQKIT_CS(rseq_stress_list_push_##kind, KIND, index, aborted, mismatch,    \
		   RSEQKIT_LOAD(t0, head) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail)   \
		   RSEQKIT_STORE(next, expect),                                     \
		   RSEQKIT_COMMIT(RELEASE, head, node))

STRESS_OP int op_list_push(rseqkit_index k, intptr_t *head, intptr_t expect, intptr_t *next, intptr_t node,
			   int index)
{
	BY_KIND(k, SEQ_LIST_PUSH);
	ENDINGS_CMP
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_store_store_if_eq_locked(head, expect, next, expect, node, index));
}

#define SEQ_LIST_POP(KIND, kind)                                                    \
	RSEQKIT_CS(rseq_stress_list_pop_##kind, KIND, index, aborted, mismatch,     \
		   RSEQKIT_LOAD(t0, head) RSEQKIT_EXIT_IF_EQ(t0, 0, cmpfail)        \
		   RSEQKIT_LOAD_AT(t1, t0, next_off) RSEQKIT_STORE_T(out, t0),      \
		   RSEQKIT_COMMIT_T(RELAXED, head, t1))

STRESS_OP int op_list_pop(rseqkit_index k, intptr_t *head, long next_off, intptr_t *out, int index)
{
	BY_KIND(k, SEQ_LIST_POP);
	ENDINGS_CMP
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_pop_if_ne_locked(head, 0, next_off, out, index));
}

#define SEQ_BUFFER_PUSH(KIND, kind)                                                 \
	RSEQKIT_CS(rseq_stress_buffer_push_##kind, KIND, index, aborted, mismatch,  \
		   RSEQKIT_LOAD(t0, top) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail)    \
		   RSEQKIT_STORE(slot, item),                                       \
		   RSEQKIT_COMMIT(RELEASE, top, expect + (intptr_t)sizeof(intptr_t)))

STRESS_OP int op_buffer_push(rseqkit_index k, intptr_t *top, intptr_t expect, intptr_t item, int index)
{
	intptr_t *slot = reinterpret_cast<intptr_t *>(expect);
	(void)slot;
	BY_KIND(k, SEQ_BUFFER_PUSH);
	ENDINGS_CMP
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_store_store_if_eq_locked(top, expect, reinterpret_cast<intptr_t *>(expect), item,
							      expect + static_cast<intptr_t>(sizeof(intptr_t)), index));
}

// The whole pop in one sequence: the entry is read below the top the sequence loaded.
#define SEQ_BUFFER_POP(KIND, kind)                                                  \
	RSEQKIT_CS(rseq_stress_buffer_pop_##kind, KIND, index, aborted, mismatch,   \
		   RSEQKIT_LOAD(t0, top) RSEQKIT_EXIT_IF_EQ(t0, base, cmpfail)      \
		   RSEQKIT_LOAD_AT(t1, t0, minus_one) RSEQKIT_STORE_T(out, t1)      \
		   RSEQKIT_ADD(t0, minus_one),                                      \
		   RSEQKIT_COMMIT_T(RELAXED, top, t0))

STRESS_OP int op_buffer_pop(rseqkit_index k, intptr_t *top, intptr_t base, intptr_t *out, int index)
{
	const intptr_t minus_one = -static_cast<intptr_t>(sizeof(intptr_t));
	(void)minus_one;
	BY_KIND(k, SEQ_BUFFER_POP);
	ENDINGS_CMP
	if (!rseqkit_cs_recover(k))
		return stale;
	rseqkit_percpu_lock(index);
	intptr_t t = __atomic_load_n(top, __ATOMIC_RELAXED);
	int r = RSEQKIT_COMPARE_FAILED;
	if (t != base) {
		t -= static_cast<intptr_t>(sizeof(intptr_t));
		*out = *reinterpret_cast<intptr_t *>(t);
		__atomic_store_n(top, t, __ATOMIC_RELEASE);
		r = RSEQKIT_COMMITTED;
	}
	rseqkit_percpu_unlock(index);
	return locked(r);
}

#define SEQ_MEMCPY_PUSH(KIND, kind)                                                 \
	RSEQKIT_CS(rseq_stress_memcpy_push_##kind, KIND, index, aborted, mismatch,  \
		   RSEQKIT_LOAD(t0, top) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail)    \
		   RSEQKIT_MEMCPY(dst, item, len),                                  \
		   RSEQKIT_COMMIT(RELEASE, top, expect + (intptr_t)len))

STRESS_OP int op_memcpy_push(rseqkit_index k, intptr_t *top, intptr_t expect, const void *item, size_t len,
			     int index)
{
	void *dst = reinterpret_cast<void *>(expect);
	BY_KIND(k, SEQ_MEMCPY_PUSH);
	ENDINGS_CMP
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_memcpy_store_if_eq_locked(top, expect, dst, item, len,
							       expect + static_cast<intptr_t>(len), index));
}

#define SEQ_MEMCPY_POP(KIND, kind)                                                  \
	RSEQKIT_CS(rseq_stress_memcpy_pop_##kind, KIND, index, aborted, mismatch,   \
		   RSEQKIT_LOAD(t0, top) RSEQKIT_EXIT_IF_NE(t0, expect, cmpfail)    \
		   RSEQKIT_MEMCPY(out, src, len),                                   \
		   RSEQKIT_COMMIT(RELAXED, top, below))

STRESS_OP int op_memcpy_pop(rseqkit_index k, intptr_t *top, intptr_t expect, void *out, size_t len, int index)
{
	const intptr_t below = expect - static_cast<intptr_t>(len);
	const void *src = reinterpret_cast<const void *>(below);
	BY_KIND(k, SEQ_MEMCPY_POP);
	ENDINGS_CMP
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_memcpy_store_if_eq_locked(top, expect, out, src, len, below, index));
}

#define SEQ_OFFSET_ADD(KIND, kind)                                                  \
	RSEQKIT_CS(rseq_stress_offset_add_##kind, KIND, index, aborted, mismatch,   \
		   RSEQKIT_LOAD(t0, ptr) RSEQKIT_LOAD_AT(t1, t0, off) RSEQKIT_ADD(t1, inc), \
		   RSEQKIT_COMMIT_AT(RELAXED, t0, off, t1))

STRESS_OP int op_offset_add(rseqkit_index k, intptr_t *ptr, long off, intptr_t inc, int index)
{
	BY_KIND(k, SEQ_OFFSET_ADD);
	ENDINGS
	if (!rseqkit_cs_recover(k))
		return stale;
	return locked(rseqkit_percpu_deref_add_locked(ptr, off, inc, index));
}

}  // namespace stress
