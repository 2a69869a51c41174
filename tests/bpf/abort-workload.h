/* SPDX-License-Identifier: MIT */
/*
 * Hand-written x86_64 sequences of the exactness workload (abort-workload.c and its
 * late-loaded library).  Each sequence runs a delay loop inside its critical
 * section, so that preemption and signals abort it often, and jumps to a C label on
 * abort so that the program counts every abort the kernel makes, exactly.
 *
 * Sections follow rseqkit's conventions (__rseq_cs, __rseq_cs_ptr_array,
 * __rseq_failure, and __rseqkit_names / __rseqkit_strings when the sequence is named)
 * so that rseq-top can name them.
 */
#ifndef RSEQKIT_TESTS_ABORT_WORKLOAD_H
#define RSEQKIT_TESTS_ABORT_WORKLOAD_H

#include <stdint.h>

/* One cache line per CPU, indexed by the cpu_id the sequence reads. */
struct wl_slot {
	uint64_t count;  /* committed by t_add */
	uint64_t last;   /* written by t_store */
	uint64_t lib;    /* committed by t_lib */
	uint64_t pad[5];
};

/* The kernel's struct rseq_cs, as the descriptors below lay it out. */
struct wl_rseq_cs {
	uint32_t version;
	uint32_t flags;
	uint64_t start_ip;
	uint64_t post_commit_offset;
	uint64_t abort_ip;
};

#define WL_STR_(x) #x
#define WL_STR(x) WL_STR_(x)

/* Descriptor, pointer-array entry and abort handler around a sequence body. */
#define WL_DESCRIPTOR(desc)                                                  \
	".pushsection __rseq_cs, \"aw\"\n\t"                                 \
	".balign 32\n\t"                                                     \
	WL_STR(desc) ":\n\t"                                                 \
	".long 0, 0\n\t"                                                     \
	".quad .Lstart%=, .Lpost%= - .Lstart%=, .Labort%=\n\t"               \
	".popsection\n\t"                                                    \
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"                       \
	".balign 8\n\t"                                                      \
	".quad " WL_STR(desc) "\n\t"                                         \
	".popsection\n\t"

#define WL_NAME_RECORD(desc, name)                                           \
	".pushsection __rseqkit_names, \"aw\"\n\t"                           \
	".balign 8\n\t"                                                      \
	".quad " WL_STR(desc) ", .Lname%=\n\t"                               \
	".popsection\n\t"                                                    \
	".pushsection __rseqkit_strings, \"aMS\", @progbits, 1\n\t"          \
	".Lname%=: .asciz \"" name "\"\n\t"                                  \
	".popsection\n\t"

/* The 4 bytes before the abort label: a ud1 carrying the signature 0x53053053. */
#define WL_ABORT_HANDLER(label)                                              \
	".pushsection __rseq_failure, \"ax\"\n\t"                            \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                         \
	".long 0x53053053\n\t"                                               \
	".Labort%=:\n\t"                                                     \
	"jmp %l[" #label "]\n\t"                                             \
	".popsection\n\t"

/* Arm the descriptor, read the CPU, spin `delay` times, then the commit. */
#define WL_BODY(desc, commit)                                                \
	"leaq " WL_STR(desc) "(%%rip), %%rax\n\t"                            \
	"movq %%rax, 8(%[area])\n\t"                                         \
	".Lstart%=:\n\t"                                                     \
	"movl 4(%[area]), %%ecx\n\t"                                         \
	"movq %[delay], %%rdx\n\t"                                           \
	"testq %%rdx, %%rdx\n\t"                                             \
	"jz 2f\n\t"                                                          \
	"1: decq %%rdx\n\t"                                                  \
	"jnz 1b\n\t"                                                         \
	"2: shlq $6, %%rcx\n\t"                                              \
	"addq %[slots], %%rcx\n\t"                                           \
	commit "\n\t"                                                        \
	".Lpost%=:\n\t"

#endif /* RSEQKIT_TESTS_ABORT_WORKLOAD_H */
