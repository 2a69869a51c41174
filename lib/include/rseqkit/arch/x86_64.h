/* SPDX-License-Identifier: MIT */
/*
 * rseqkit: x86_64 instructions of the sequence DSL.  Included by <rseqkit/cs.h> only.
 *
 * Each macro is an assembler template fragment for one asm goto statement; operands
 * are named (%[...]) by <rseqkit/cs.h>.  Registers:
 *   t0 = %rax, t1 = %rdx          the temporaries steps load into
 *   %rcx, %r11                    scratch of RSEQKIT_MEMCPY and of injected code
 * All four are clobbered by every sequence (caller-saved in the SysV ABI).
 */
#ifndef RSEQKIT_ARCH_X86_64_H
#define RSEQKIT_ARCH_X86_64_H

#ifndef RSEQKIT_CS_H
#error "include <rseqkit/cs.h>, not <rseqkit/arch/x86_64.h>"
#endif

#define RSEQKIT__REG_t0 "%%rax"
#define RSEQKIT__REG_t1 "%%rdx"
#define RSEQKIT__ARCH_CLOBBERS "rax", "rdx", "rcx", "r11"

/* Value operands may be 32-bit sign-extended immediates: constants cost no register. */
#define RSEQKIT__VAL_CONSTRAINT "er"
/* The mode word is addressed by the compiler (RIP-relative, or through the GOT). */
#define RSEQKIT__MODE_OPERAND(kind) [rseqkit_mode] "m"(rseqkit_cs_mode[RSEQKIT__KIND_ENUM(kind)])
#define RSEQKIT__MODE_REF "%[rseqkit_mode]"

/* The signature the kernel checks right before abort_ip: ud1 0x53053053(%rip), %edi. */
#define RSEQKIT__ARCH_SIGNATURE ".byte 0x0f, 0xb9, 0x3d\n\t.long 0x53053053\n\t"
#define RSEQKIT__ARCH_JUMP "jmp "

/* area->rseq_cs = &descriptor; then the sequence starts. */
#define RSEQKIT__ARCH_ARM                                                      \
	"leaq .Lrseqkit_cs_%=(%%rip), %%rax\n\t"                               \
	"movq %%rax, 8(%[rseqkit_area])\n"                                     \
	".Lrseqkit_start_%=:\n\t"

/* if (area->cpu_id (or mm_cid) != index || rseqkit_cs_mode[kind]) goto mismatch; */
#define RSEQKIT__ARCH_CHECK(offset, mismatch)                                            \
	"cmpl %k[rseqkit_index], " offset "(%[rseqkit_area])\n\t"              \
	"jne " mismatch "\n\t"                                         \
	"cmpl $0, " RSEQKIT__MODE_REF "\n\t"                                   \
	"jne " mismatch "\n\t"

/* t = *p */
#define RSEQKIT__ARCH_LOAD(t, p) "movq (" p "), " t "\n\t"
/* t = *(intptr_t *)(base + off) */
#define RSEQKIT__ARCH_LOAD_AT(t, base, off) "movq (" base ", " off "), " t "\n\t"
/* t += v */
#define RSEQKIT__ARCH_ADD(t, v) "addq " v ", " t "\n\t"
/* if (t == v) goto label;  if (t != v) goto label; */
#define RSEQKIT__ARCH_EXIT_IF_EQ(t, v, label) "cmpq " v ", " t "\n\tje " label "\n\t"
#define RSEQKIT__ARCH_EXIT_IF_NE(t, v, label) "cmpq " v ", " t "\n\tjne " label "\n\t"
/* *p = v (a value operand or a temporary) */
#define RSEQKIT__ARCH_STORE(p, v) "movq " v ", (" p ")\n\t"
/* *(intptr_t *)(base + off) = t */
#define RSEQKIT__ARCH_STORE_AT(base, off, t) "movq " t ", (" base ", " off ")\n\t"
/* Plain stores are release stores on x86 (TSO); the "memory" clobber orders the compiler. */
#define RSEQKIT__ARCH_COMMIT_RELAXED(p, v) RSEQKIT__ARCH_STORE(p, v)
#define RSEQKIT__ARCH_COMMIT_RELEASE(p, v) RSEQKIT__ARCH_STORE(p, v)
#define RSEQKIT__ARCH_COMMIT_AT_RELAXED(base, off, t) RSEQKIT__ARCH_STORE_AT(base, off, t)
#define RSEQKIT__ARCH_COMMIT_AT_RELEASE(base, off, t) RSEQKIT__ARCH_STORE_AT(base, off, t)

/* for (i = 0; i + 8 <= len; i += 8) copy 8 bytes; for (; i < len; i++) copy 1 byte;
 * lbl is unique to the step: the loops' labels are lbl8, lbl1 and lbl0. */
#define RSEQKIT__ARCH_MEMCPY(dst, src, len, lbl)                               \
	"xorl %%ecx, %%ecx\n"                                                  \
	lbl "8:\n\t"                                                           \
	"leaq 8(%%rcx), %%r11\n\t"                                             \
	"cmpq " len ", %%r11\n\t"                                              \
	"ja " lbl "1\n\t"                                                      \
	"movq (" src ", %%rcx), %%r11\n\t"                                     \
	"movq %%r11, (" dst ", %%rcx)\n\t"                                     \
	"addq $8, %%rcx\n\t"                                                   \
	"jmp " lbl "8\n"                                                       \
	lbl "1:\n\t"                                                           \
	"cmpq " len ", %%rcx\n\t"                                              \
	"jae " lbl "0\n\t"                                                     \
	"movb (" src ", %%rcx), %%r11b\n\t"                                    \
	"movb %%r11b, (" dst ", %%rcx)\n\t"                                    \
	"incq %%rcx\n\t"                                                       \
	"jmp " lbl "1\n"                                                       \
	lbl "0:\n\t"

#endif /* RSEQKIT_ARCH_X86_64_H */
