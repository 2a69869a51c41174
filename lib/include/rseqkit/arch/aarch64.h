/* SPDX-License-Identifier: MIT */
/*
 * rseqkit: aarch64 instructions of the sequence DSL.  Included by <rseqkit/cs.h> only.
 *
 * Each macro is an assembler template fragment for one asm goto statement; operands
 * are named (%[...]) by <rseqkit/cs.h>.  Registers:
 *   t0 = x9, t1 = x10             the temporaries steps load into
 *   x11, x12                      scratch of the checks, RSEQKIT_MEMCPY, release
 *                                 commits at an offset, and injected code
 * All four are clobbered by every sequence (temporaries in the AAPCS64).
 */
#ifndef RSEQKIT_ARCH_AARCH64_H
#define RSEQKIT_ARCH_AARCH64_H

#ifndef RSEQKIT_CS_H
#error "include <rseqkit/cs.h>, not <rseqkit/arch/aarch64.h>"
#endif

#define RSEQKIT__REG_t0 "x9"
#define RSEQKIT__REG_t1 "x10"
#define RSEQKIT__ARCH_CLOBBERS "x9", "x10", "x11", "x12"

#define RSEQKIT__VAL_CONSTRAINT "r"
/* Loaded through a register: "m" could yield addressing modes ldr w cannot encode. */
#define RSEQKIT__MODE_OPERAND(kind) [rseqkit_mode] "r"(&rseqkit_cs_mode[RSEQKIT__KIND_ENUM(kind)])
#define RSEQKIT__MODE_REF "[%[rseqkit_mode]]"

/* The signature the kernel checks right before abort_ip (brk #0x45e0); the padding
 * that keeps instructions aligned comes before it, never between it and the label. */
#define RSEQKIT__ARCH_SIGNATURE ".balign 4\n\t.inst 0xd428bc00\n\t"
#define RSEQKIT__ARCH_JUMP "b "

/* area->rseq_cs = &descriptor; then the sequence starts. */
#define RSEQKIT__ARCH_ARM                                                      \
	"adrp x11, .Lrseqkit_cs_%=\n\t"                                        \
	"add x11, x11, :lo12:.Lrseqkit_cs_%=\n\t"                              \
	"str x11, [%[rseqkit_area], #8]\n"                                     \
	".Lrseqkit_start_%=:\n\t"

/* if (area->cpu_id (or mm_cid) != index || rseqkit_cs_mode[kind]) goto mismatch; */
#define RSEQKIT__ARCH_CHECK(offset, mismatch)                                            \
	"ldr w11, [%[rseqkit_area], #" offset "]\n\t"                          \
	"cmp w11, %w[rseqkit_index]\n\t"                                       \
	"b.ne " mismatch "\n\t"                                        \
	"ldr w11, " RSEQKIT__MODE_REF "\n\t"                                   \
	"cbnz w11, " mismatch "\n\t"

/* t = *p */
#define RSEQKIT__ARCH_LOAD(t, p) "ldr " t ", [" p "]\n\t"
/* t = *(intptr_t *)(base + off) */
#define RSEQKIT__ARCH_LOAD_AT(t, base, off) "ldr " t ", [" base ", " off "]\n\t"
/* t += v */
#define RSEQKIT__ARCH_ADD(t, v) "add " t ", " t ", " v "\n\t"
/* if (t == v) goto label;  if (t != v) goto label; */
#define RSEQKIT__ARCH_EXIT_IF_EQ(t, v, label) "cmp " t ", " v "\n\tb.eq " label "\n\t"
#define RSEQKIT__ARCH_EXIT_IF_NE(t, v, label) "cmp " t ", " v "\n\tb.ne " label "\n\t"
/* *p = v (a value operand or a temporary) */
#define RSEQKIT__ARCH_STORE(p, v) "str " v ", [" p "]\n\t"
/* *(intptr_t *)(base + off) = t */
#define RSEQKIT__ARCH_STORE_AT(base, off, t) "str " t ", [" base ", " off "]\n\t"
#define RSEQKIT__ARCH_COMMIT_RELAXED(p, v) RSEQKIT__ARCH_STORE(p, v)
#define RSEQKIT__ARCH_COMMIT_RELEASE(p, v) "stlr " v ", [" p "]\n\t"
#define RSEQKIT__ARCH_COMMIT_AT_RELAXED(base, off, t) RSEQKIT__ARCH_STORE_AT(base, off, t)
/* stlr takes a bare base register: the address is formed first (not the commit). */
#define RSEQKIT__ARCH_COMMIT_AT_RELEASE(base, off, t)                          \
	"add x12, " base ", " off "\n\t"                                       \
	"stlr " t ", [x12]\n\t"

/* for (i = 0; i + 8 <= len; i += 8) copy 8 bytes; for (; i < len; i++) copy 1 byte;
 * lbl is unique to the step: the loops' labels are lbl8, lbl1 and lbl0. */
#define RSEQKIT__ARCH_MEMCPY(dst, src, len, lbl)                               \
	"mov x11, #0\n"                                                        \
	lbl "8:\n\t"                                                           \
	"add x12, x11, #8\n\t"                                                 \
	"cmp x12, " len "\n\t"                                                 \
	"b.hi " lbl "1\n\t"                                                    \
	"ldr x12, [" src ", x11]\n\t"                                          \
	"str x12, [" dst ", x11]\n\t"                                          \
	"add x11, x11, #8\n\t"                                                 \
	"b " lbl "8\n"                                                         \
	lbl "1:\n\t"                                                           \
	"cmp x11, " len "\n\t"                                                 \
	"b.hs " lbl "0\n\t"                                                    \
	"ldrb w12, [" src ", x11]\n\t"                                         \
	"strb w12, [" dst ", x11]\n\t"                                         \
	"add x11, x11, #1\n\t"                                                 \
	"b " lbl "1\n"                                                         \
	lbl "0:\n\t"

#endif /* RSEQKIT_ARCH_AARCH64_H */
