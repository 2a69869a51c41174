/* SPDX-License-Identifier: MIT */
/*
 * rseqkit: a small language for restartable sequences.  See rseqkit_cs(3).
 *
 * A sequence is one statement:
 *
 *     RSEQKIT_CS(name, kind, index, abort_label, mismatch_label,
 *                step step ...,
 *                commit);
 *
 *   name            a C identifier, unique in the program; tools print it
 *   kind            CPU_ID or MM_CID: which area field the index is checked against
 *   index           int, the index the caller chose its per-CPU data with
 *                   (rseqkit_current_index(RSEQKIT_INDEX_<kind>))
 *   abort_label     C label the kernel's abort lands on (preemption, signal, migration)
 *   mismatch_label  C label for "did not start": index is not the thread's current one,
 *                   the thread has no usable area, or the process is in locked mode;
 *                   call rseqkit_cs_recover(RSEQKIT_INDEX_<kind>) there
 *   steps           zero or more step macros, juxtaposed (no commas)
 *   commit          exactly one commit macro: the single store that publishes
 *
 * Pseudo-code of the whole statement (t0 and t1 are the two temporaries):
 *
 *     area = rseqkit_tls_area;
 *     if ((int32_t)area->cpu_id < 0) goto mismatch_label;   // thread not usable (yet)
 *     area->rseq_cs = &descriptor;                           // armed: from here on the
 *   start:                                                   // kernel restarts us at abort
 *     if (area->cpu_id (or mm_cid) != index) goto mismatch_label;
 *     if (rseqkit_cs_mode[kind] != RSEQKIT_CS_MODE_RSEQ) goto mismatch_label;
 *     RSEQKIT_INJECT_ASM(1)
 *     steps...
 *     RSEQKIT_INJECT_ASM(2)
 *     commit store                                           // the last instruction
 *   post_commit:
 *     ... falls through to the statement after RSEQKIT_CS
 *   abort (in section __rseq_failure, after the signature):
 *     goto abort_label;
 *
 * Steps (t is t0 or t1; p a pointer to a 64-bit object; v a value of at most 64 bits):
 *
 *     RSEQKIT_LOAD(t, p)                 t = *p;
 *     RSEQKIT_LOAD_AT(t, base, off)      t = *(intptr_t *)(base + off);   base a temporary
 *     RSEQKIT_ADD(t, v)                  t += v;
 *     RSEQKIT_EXIT_IF_EQ(t, v, label)    if (t == v) goto label;   nothing was published
 *     RSEQKIT_EXIT_IF_NE(t, v, label)    if (t != v) goto label;
 *     RSEQKIT_STORE(p, v)                *p = v;      speculative: memory nobody reads
 *     RSEQKIT_STORE_T(p, t)              *p = t;      before the commit publishes it
 *     RSEQKIT_MEMCPY(dst, src, len)      memcpy(dst, src, len);   speculative too
 *
 * Commits (mo is RELAXED or RELEASE; RELEASE orders every earlier store before it):
 *
 *     RSEQKIT_COMMIT(mo, p, v)           *p = v;
 *     RSEQKIT_COMMIT_T(mo, p, t)         *p = t;
 *     RSEQKIT_COMMIT_AT(mo, base, off, t)  *(intptr_t *)(base + off) = t;
 *
 * What the compiler and assembler enforce: the commit argument is required and must be
 * a commit (a sequence without one does not compile); a commit among the steps does not
 * compile; every pointer step operand must point to 64 bits and values must fit in 64
 * bits (static assertions); temporaries are t0 and t1 only; each label appears once in
 * a sequence (asm goto); two different sequences with one name fail to assemble (same
 * translation unit) or to link (the name is a hidden symbol __rseqkit_seq_<name> in a
 * COMDAT group keyed by name and the commit's line, so copies of one sequence, e.g. from
 * a header, fold and different ones collide).  Write the commit macro on one line.
 *
 * Emitted per sequence (the conventions rseqkit's tools read): the descriptor in
 * __rseq_cs (32-byte aligned, version 0, flags 0), a pointer to it in
 * __rseq_cs_ptr_array, one (start_ip, exit_ip) pair per exit in __rseq_exit_point_array,
 * the signature and abort trampoline in __rseq_failure, and the record
 * {u64 descriptor; u64 name;} in __rseqkit_names with the string in __rseqkit_strings.
 *
 * Injection points: define RSEQKIT_INJECT_ASM(point) before including this header to
 * put assembler text at point 1 (after the checks) and 2 (before the commit), e.g. a
 * delay loop that widens race windows in tests.  It is part of an asm statement with
 * operands: write %% for %.  It may use the scratch registers (x86_64: %rcx, %r11;
 * aarch64: x11, x12), the flags and numeric local labels, and nothing else.
 *
 * The header compiles as C11 and C++17 with GCC and Clang, on x86_64 and aarch64.
 */
#ifndef RSEQKIT_CS_H
#define RSEQKIT_CS_H

#include <stddef.h>
#include <stdint.h>

#include <rseqkit/index.h>

#if defined(__x86_64__)
#include <rseqkit/arch/x86_64.h>
#elif defined(__aarch64__)
#include <rseqkit/arch/aarch64.h>
#else
#error "rseqkit/cs.h: restartable sequences are implemented for x86_64 and aarch64 only; on other architectures use <rseqkit/percpu.h>, whose operations fall back to locks"
#endif

#ifndef RSEQKIT_INJECT_ASM
#define RSEQKIT_INJECT_ASM(point) ""
#endif

/* ---- Steps: each becomes a tuple (OP, id, args...) that the passes below read ---- */

#define RSEQKIT_LOAD(t, p) (LOAD, __COUNTER__, t, p)
#define RSEQKIT_LOAD_AT(t, base, off) (LOAD_AT, __COUNTER__, t, base, off)
#define RSEQKIT_ADD(t, v) (ADD, __COUNTER__, t, v)
#define RSEQKIT_EXIT_IF_EQ(t, v, label) (EXIT_IF_EQ, __COUNTER__, t, v, label)
#define RSEQKIT_EXIT_IF_NE(t, v, label) (EXIT_IF_NE, __COUNTER__, t, v, label)
#define RSEQKIT_STORE(p, v) (STORE, __COUNTER__, p, v)
#define RSEQKIT_STORE_T(p, t) (STORE_T, __COUNTER__, p, t)
#define RSEQKIT_MEMCPY(dst, src, len) (MEMCPY, __COUNTER__, dst, src, len)
/* Commits also carry their line: it keys the name's COMDAT group. */
#define RSEQKIT_COMMIT(mo, p, v) (COMMIT, __COUNTER__, __LINE__, mo, p, v)
#define RSEQKIT_COMMIT_T(mo, p, t) (COMMIT_T, __COUNTER__, __LINE__, mo, p, t)
#define RSEQKIT_COMMIT_AT(mo, base, off, t) (COMMIT_AT, __COUNTER__, __LINE__, mo, base, off, t)

/* ---- The statement ---- */

#define RSEQKIT_CS(name, kind, index, abort_label, mismatch_label, steps, commit)                  \
	do {                                                                                        \
		RSEQKIT__END(RSEQKIT__C_A steps)                                                    \
		rseqkit_error_RSEQKIT_CS_needs_a_commit_as_last_argument commit                     \
		struct rseqkit_area *rseqkit__area = rseqkit_tls_area;                              \
		if (__builtin_expect((int32_t)RSEQKIT_READ_ONCE_U32(&rseqkit__area->cpu_id) < 0, 0)) \
			goto mismatch_label;                                                        \
		__asm__ goto(RSEQKIT__TABLES(name, RSEQKIT__CP_LINE commit, mismatch_label)          \
			     RSEQKIT__ARCH_ARM                                                      \
			     RSEQKIT__ARCH_CHECK(RSEQKIT__KIND_OFFSET_##kind, "%l[" #mismatch_label "]") \
			     RSEQKIT_INJECT_ASM(1)                                                  \
			     RSEQKIT__END(RSEQKIT__T_A steps)                                       \
			     RSEQKIT_INJECT_ASM(2)                                                  \
			     RSEQKIT__CP_T commit                                                   \
			     ".Lrseqkit_post_%=:\n\t"                                               \
			     RSEQKIT__ABORT(abort_label)                                            \
			     : /* no outputs: asm goto */                                           \
			     : [rseqkit_area] "r"(rseqkit__area), [rseqkit_index] "r"((int)(index)), \
			       RSEQKIT__MODE_OPERAND(kind)                                          \
			       RSEQKIT__END(RSEQKIT__O_A steps) RSEQKIT__CP_O commit                \
			     : "memory", "cc", RSEQKIT__ARCH_CLOBBERS                               \
			     : abort_label, mismatch_label RSEQKIT__END(RSEQKIT__L_A steps));       \
	} while (0)

/* ---- Everything below is not API ---- */

#define RSEQKIT__STR_(x) #x
#define RSEQKIT__STR(x) RSEQKIT__STR_(x)
#define RSEQKIT__CAT_(a, b) a##b
#define RSEQKIT__CAT(a, b) RSEQKIT__CAT_(a, b)
/* Pastes _END to the last token of the fully expanded argument: ends a pass. */
#define RSEQKIT__END(...) RSEQKIT__END_(__VA_ARGS__)
#define RSEQKIT__END_(...) __VA_ARGS__##_END

#ifdef __cplusplus
#define RSEQKIT__SASSERT(c, msg) static_assert(c, msg);
#else
#define RSEQKIT__SASSERT(c, msg) _Static_assert(c, msg);
#endif

#define RSEQKIT__KIND_ENUM(kind) RSEQKIT_INDEX_##kind
#define RSEQKIT__KIND_OFFSET_CPU_ID "4"   /* offsetof(struct rseqkit_area, cpu_id) */
#define RSEQKIT__KIND_OFFSET_MM_CID "24"  /* offsetof(struct rseqkit_area, mm_cid) */

#define RSEQKIT__REG(t) RSEQKIT__REG_##t
#define RSEQKIT__TEMP_t0 1
#define RSEQKIT__TEMP_t1 1
/* Operand names: [rseqkit_<letter><id>] in the lists, %[...] in the template. */
#define RSEQKIT__OPNAME(l, id) RSEQKIT__CAT(rseqkit_##l, id)
#define RSEQKIT__OPREF(l, id) "%[rseqkit_" #l RSEQKIT__STR(id) "]"
#define RSEQKIT__VAL(l, id, v) [RSEQKIT__OPNAME(l, id)] RSEQKIT__VAL_CONSTRAINT((intptr_t)(v))
#define RSEQKIT__PTR(l, id, p) [RSEQKIT__OPNAME(l, id)] "r"(p)

#define RSEQKIT__CHECK_PTR64(p, what) \
	RSEQKIT__SASSERT(sizeof(*(p)) == 8, "rseqkit: " what " needs a pointer to a 64-bit object (intptr_t)")
#define RSEQKIT__CHECK_VAL(v, what) \
	RSEQKIT__SASSERT(sizeof(v) <= 8, "rseqkit: " what " needs a value of at most 64 bits")
#define RSEQKIT__CHECK_TEMP(t, what) \
	RSEQKIT__SASSERT(RSEQKIT__TEMP_##t, "rseqkit: " what " needs a temporary, t0 or t1")

/* Tables, checks and the abort trampoline around the steps. */
#define RSEQKIT__EXIT_POINT(label)                                             \
	".pushsection __rseq_exit_point_array, \"aw\"\n\t"                      \
	".balign 8\n\t"                                                        \
	".quad .Lrseqkit_start_%=, " label "\n\t"                              \
	".popsection\n\t"

#define RSEQKIT__UNIQUE(name, line)                                                              \
	".ifndef .Lrseqkit_seen_" #name "_" line "\n\t"                                          \
	".set .Lrseqkit_seen_" #name "_" line ", 1\n\t"                                          \
	".ifdef __rseqkit_seq_" #name "\n\t"                                                     \
	".error \"rseqkit: two different sequences are named " #name "\"\n\t"                   \
	".endif\n\t"                                                                             \
	".pushsection .rseqkit_seq, \"G\", @progbits, rseqkit_seq." #name "." line ", comdat\n\t" \
	".globl __rseqkit_seq_" #name "\n\t"                                                     \
	".hidden __rseqkit_seq_" #name "\n"                                                      \
	"__rseqkit_seq_" #name ":\n\t"                                                           \
	".byte 0\n\t"                                                                            \
	".popsection\n\t"                                                                        \
	".endif\n\t"

#define RSEQKIT__TABLES(name, line, mismatch_label)                                              \
	".pushsection __rseq_cs, \"aw\"\n\t"                                                     \
	".balign 32\n"                                                                           \
	".Lrseqkit_cs_%=:\n\t"                                                                   \
	".long 0, 0\n\t"                                                                         \
	".quad .Lrseqkit_start_%=, .Lrseqkit_post_%= - .Lrseqkit_start_%=, .Lrseqkit_abort_%=\n\t" \
	".popsection\n\t"                                                                        \
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"                                           \
	".balign 8\n\t"                                                                          \
	".quad .Lrseqkit_cs_%=\n\t"                                                              \
	".popsection\n\t"                                                                        \
	".pushsection __rseqkit_strings, \"aMS\", @progbits, 1\n"                                \
	".Lrseqkit_name_%=:\n\t"                                                                 \
	".asciz \"" #name "\"\n\t"                                                               \
	".popsection\n\t"                                                                        \
	".pushsection __rseqkit_names, \"aw\"\n\t"                                               \
	".balign 8\n\t"                                                                          \
	".quad .Lrseqkit_cs_%=, .Lrseqkit_name_%=\n\t"                                           \
	".popsection\n\t"                                                                        \
	RSEQKIT__EXIT_POINT("%l[" #mismatch_label "]")                                           \
	RSEQKIT__UNIQUE(name, RSEQKIT__STR(line))

#define RSEQKIT__ABORT(abort_label)                                            \
	".pushsection __rseq_failure, \"ax\"\n\t"                              \
	RSEQKIT__ARCH_SIGNATURE                                                \
	".Lrseqkit_abort_%=:\n\t"                                              \
	RSEQKIT__ARCH_JUMP "%l[" #abort_label "]\n\t"                          \
	".popsection\n\t"

/* ---- The passes over the steps: C (checks), T (template), O (operands), L (labels) ---- */

#define RSEQKIT__C_A(...) RSEQKIT__C_STEP(__VA_ARGS__) RSEQKIT__C_B
#define RSEQKIT__C_B(...) RSEQKIT__C_STEP(__VA_ARGS__) RSEQKIT__C_A
#define RSEQKIT__C_A_END
#define RSEQKIT__C_B_END
#define RSEQKIT__C_STEP(op, ...) RSEQKIT__CAT(RSEQKIT__C_, op)(__VA_ARGS__)
#define RSEQKIT__T_A(...) RSEQKIT__T_STEP(__VA_ARGS__) RSEQKIT__T_B
#define RSEQKIT__T_B(...) RSEQKIT__T_STEP(__VA_ARGS__) RSEQKIT__T_A
#define RSEQKIT__T_A_END
#define RSEQKIT__T_B_END
#define RSEQKIT__T_STEP(op, ...) RSEQKIT__CAT(RSEQKIT__T_, op)(__VA_ARGS__)
#define RSEQKIT__O_A(...) RSEQKIT__O_STEP(__VA_ARGS__) RSEQKIT__O_B
#define RSEQKIT__O_B(...) RSEQKIT__O_STEP(__VA_ARGS__) RSEQKIT__O_A
#define RSEQKIT__O_A_END
#define RSEQKIT__O_B_END
#define RSEQKIT__O_STEP(op, ...) RSEQKIT__CAT(RSEQKIT__O_, op)(__VA_ARGS__)
#define RSEQKIT__L_A(...) RSEQKIT__L_STEP(__VA_ARGS__) RSEQKIT__L_B
#define RSEQKIT__L_B(...) RSEQKIT__L_STEP(__VA_ARGS__) RSEQKIT__L_A
#define RSEQKIT__L_A_END
#define RSEQKIT__L_B_END
#define RSEQKIT__L_STEP(op, ...) RSEQKIT__CAT(RSEQKIT__L_, op)(__VA_ARGS__)

/* The commit: a tuple used without a pass machine.  An empty commit argument leaves the
 * name of the first of these macros alone in the code: a compile error that says why. */
#define rseqkit_error_RSEQKIT_CS_needs_a_commit_as_last_argument(op, ...) RSEQKIT__CAT(RSEQKIT__CC_, op)(__VA_ARGS__)
#define RSEQKIT__CP_LINE(op, id, line, ...) line
#define RSEQKIT__CP_T(op, ...) RSEQKIT__CAT(RSEQKIT__CT_, op)(__VA_ARGS__)
#define RSEQKIT__CP_O(op, ...) RSEQKIT__CAT(RSEQKIT__CO_, op)(__VA_ARGS__)

/* LOAD: t = *p */
#define RSEQKIT__C_LOAD(id, t, p) RSEQKIT__CHECK_TEMP(t, "RSEQKIT_LOAD") RSEQKIT__CHECK_PTR64(p, "RSEQKIT_LOAD")
#define RSEQKIT__T_LOAD(id, t, p) RSEQKIT__ARCH_LOAD(RSEQKIT__REG(t), RSEQKIT__OPREF(P, id))
#define RSEQKIT__O_LOAD(id, t, p) , RSEQKIT__PTR(P, id, p)
#define RSEQKIT__L_LOAD(id, t, p)

/* LOAD_AT: t = *(intptr_t *)(base + off) */
#define RSEQKIT__C_LOAD_AT(id, t, base, off)                                   \
	RSEQKIT__CHECK_TEMP(t, "RSEQKIT_LOAD_AT") RSEQKIT__CHECK_TEMP(base, "RSEQKIT_LOAD_AT") \
	RSEQKIT__CHECK_VAL(off, "RSEQKIT_LOAD_AT")
#define RSEQKIT__T_LOAD_AT(id, t, base, off) \
	RSEQKIT__ARCH_LOAD_AT(RSEQKIT__REG(t), RSEQKIT__REG(base), RSEQKIT__OPREF(O, id))
#define RSEQKIT__O_LOAD_AT(id, t, base, off) , [RSEQKIT__OPNAME(O, id)] "r"((intptr_t)(off))
#define RSEQKIT__L_LOAD_AT(id, t, base, off)

/* ADD: t += v */
#define RSEQKIT__C_ADD(id, t, v) RSEQKIT__CHECK_TEMP(t, "RSEQKIT_ADD") RSEQKIT__CHECK_VAL(v, "RSEQKIT_ADD")
#define RSEQKIT__T_ADD(id, t, v) RSEQKIT__ARCH_ADD(RSEQKIT__REG(t), RSEQKIT__OPREF(V, id))
#define RSEQKIT__O_ADD(id, t, v) , RSEQKIT__VAL(V, id, v)
#define RSEQKIT__L_ADD(id, t, v)

/* EXIT_IF_EQ / EXIT_IF_NE: if (t == v) goto label / if (t != v) goto label */
#define RSEQKIT__C_EXIT_IF_EQ(id, t, v, label) \
	RSEQKIT__CHECK_TEMP(t, "RSEQKIT_EXIT_IF_EQ") RSEQKIT__CHECK_VAL(v, "RSEQKIT_EXIT_IF_EQ")
#define RSEQKIT__T_EXIT_IF_EQ(id, t, v, label)                                 \
	RSEQKIT__EXIT_POINT("%l[" #label "]")                                  \
	RSEQKIT__ARCH_EXIT_IF_EQ(RSEQKIT__REG(t), RSEQKIT__OPREF(V, id), "%l[" #label "]")
#define RSEQKIT__O_EXIT_IF_EQ(id, t, v, label) , RSEQKIT__VAL(V, id, v)
#define RSEQKIT__L_EXIT_IF_EQ(id, t, v, label) , label
#define RSEQKIT__C_EXIT_IF_NE(id, t, v, label) \
	RSEQKIT__CHECK_TEMP(t, "RSEQKIT_EXIT_IF_NE") RSEQKIT__CHECK_VAL(v, "RSEQKIT_EXIT_IF_NE")
#define RSEQKIT__T_EXIT_IF_NE(id, t, v, label)                                 \
	RSEQKIT__EXIT_POINT("%l[" #label "]")                                  \
	RSEQKIT__ARCH_EXIT_IF_NE(RSEQKIT__REG(t), RSEQKIT__OPREF(V, id), "%l[" #label "]")
#define RSEQKIT__O_EXIT_IF_NE(id, t, v, label) , RSEQKIT__VAL(V, id, v)
#define RSEQKIT__L_EXIT_IF_NE(id, t, v, label) , label

/* STORE: *p = v (speculative) */
#define RSEQKIT__C_STORE(id, p, v) RSEQKIT__CHECK_PTR64(p, "RSEQKIT_STORE") RSEQKIT__CHECK_VAL(v, "RSEQKIT_STORE")
#define RSEQKIT__T_STORE(id, p, v) RSEQKIT__ARCH_STORE(RSEQKIT__OPREF(P, id), RSEQKIT__OPREF(V, id))
#define RSEQKIT__O_STORE(id, p, v) , RSEQKIT__PTR(P, id, p), RSEQKIT__VAL(V, id, v)
#define RSEQKIT__L_STORE(id, p, v)

/* STORE_T: *p = t (speculative) */
#define RSEQKIT__C_STORE_T(id, p, t) RSEQKIT__CHECK_PTR64(p, "RSEQKIT_STORE_T") RSEQKIT__CHECK_TEMP(t, "RSEQKIT_STORE_T")
#define RSEQKIT__T_STORE_T(id, p, t) RSEQKIT__ARCH_STORE(RSEQKIT__OPREF(P, id), RSEQKIT__REG(t))
#define RSEQKIT__O_STORE_T(id, p, t) , RSEQKIT__PTR(P, id, p)
#define RSEQKIT__L_STORE_T(id, p, t)

/* MEMCPY: memcpy(dst, src, len) (speculative) */
#define RSEQKIT__C_MEMCPY(id, dst, src, len) \
	RSEQKIT__SASSERT(sizeof(len) <= 8, "rseqkit: RSEQKIT_MEMCPY needs a length of at most 64 bits")
#define RSEQKIT__T_MEMCPY(id, dst, src, len)                                   \
	RSEQKIT__ARCH_MEMCPY(RSEQKIT__OPREF(D, id), RSEQKIT__OPREF(S, id), RSEQKIT__OPREF(N, id), \
			     ".Lrseqkit_copy" RSEQKIT__STR(id) "_%=_")
#define RSEQKIT__O_MEMCPY(id, dst, src, len) \
	, [RSEQKIT__OPNAME(D, id)] "r"(dst), [RSEQKIT__OPNAME(S, id)] "r"(src), [RSEQKIT__OPNAME(N, id)] "r"((size_t)(len))
#define RSEQKIT__L_MEMCPY(id, dst, src, len)

/* A commit among the steps: only the checks pass says so, the others stay quiet. */
#define RSEQKIT__C_COMMIT(...) rseqkit_error_a_commit_must_be_the_last_argument_of_RSEQKIT_CS;
#define RSEQKIT__C_COMMIT_T(...) rseqkit_error_a_commit_must_be_the_last_argument_of_RSEQKIT_CS;
#define RSEQKIT__C_COMMIT_AT(...) rseqkit_error_a_commit_must_be_the_last_argument_of_RSEQKIT_CS;
#define RSEQKIT__T_COMMIT(...)
#define RSEQKIT__T_COMMIT_T(...)
#define RSEQKIT__T_COMMIT_AT(...)
#define RSEQKIT__O_COMMIT(...)
#define RSEQKIT__O_COMMIT_T(...)
#define RSEQKIT__O_COMMIT_AT(...)
#define RSEQKIT__L_COMMIT(...)
#define RSEQKIT__L_COMMIT_T(...)
#define RSEQKIT__L_COMMIT_AT(...)

/* A step in the commit's place. */
#define RSEQKIT__CC_LOAD(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;
#define RSEQKIT__CC_LOAD_AT(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;
#define RSEQKIT__CC_ADD(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;
#define RSEQKIT__CC_EXIT_IF_EQ(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;
#define RSEQKIT__CC_EXIT_IF_NE(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;
#define RSEQKIT__CC_STORE(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;
#define RSEQKIT__CC_STORE_T(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;
#define RSEQKIT__CC_MEMCPY(...) rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit;

/* COMMIT: *p = v */
#define RSEQKIT__CC_COMMIT(id, line, mo, p, v) \
	RSEQKIT__CHECK_PTR64(p, "RSEQKIT_COMMIT") RSEQKIT__CHECK_VAL(v, "RSEQKIT_COMMIT")
#define RSEQKIT__CT_COMMIT(id, line, mo, p, v) \
	RSEQKIT__ARCH_COMMIT_##mo(RSEQKIT__OPREF(P, id), RSEQKIT__OPREF(V, id))
#define RSEQKIT__CO_COMMIT(id, line, mo, p, v) , RSEQKIT__PTR(P, id, p), RSEQKIT__VAL(V, id, v)

/* COMMIT_T: *p = t */
#define RSEQKIT__CC_COMMIT_T(id, line, mo, p, t) \
	RSEQKIT__CHECK_PTR64(p, "RSEQKIT_COMMIT_T") RSEQKIT__CHECK_TEMP(t, "RSEQKIT_COMMIT_T")
#define RSEQKIT__CT_COMMIT_T(id, line, mo, p, t) RSEQKIT__ARCH_COMMIT_##mo(RSEQKIT__OPREF(P, id), RSEQKIT__REG(t))
#define RSEQKIT__CO_COMMIT_T(id, line, mo, p, t) , RSEQKIT__PTR(P, id, p)

/* COMMIT_AT: *(intptr_t *)(base + off) = t */
#define RSEQKIT__CC_COMMIT_AT(id, line, mo, base, off, t)                      \
	RSEQKIT__CHECK_TEMP(base, "RSEQKIT_COMMIT_AT") RSEQKIT__CHECK_TEMP(t, "RSEQKIT_COMMIT_AT") \
	RSEQKIT__CHECK_VAL(off, "RSEQKIT_COMMIT_AT")
#define RSEQKIT__CT_COMMIT_AT(id, line, mo, base, off, t) \
	RSEQKIT__ARCH_COMMIT_AT_##mo(RSEQKIT__REG(base), RSEQKIT__OPREF(O, id), RSEQKIT__REG(t))
#define RSEQKIT__CO_COMMIT_AT(id, line, mo, base, off, t) , [RSEQKIT__OPNAME(O, id)] "r"((intptr_t)(off))

#endif /* RSEQKIT_CS_H */
