/* SPDX-License-Identifier: MIT */
/*
 * Every <rseqkit/percpu.h> operation in both index kinds and both commit orders, with a
 * delay loop injected before each commit, built for the cross target (aarch64) and
 * checked by tests/unit/cs-aarch64.sh.  Compiles as C11 and as C++17.
 */
#ifdef __cplusplus
extern "C" {
#endif
extern unsigned rseqkit_test_delay;
#ifdef __cplusplus
}
#endif

#define RSEQKIT_INJECT_ASM(point) CS_CROSS_INJECT_##point
#define CS_CROSS_INJECT_1 ""
#if defined(__aarch64__)
#define CS_CROSS_INJECT_2                                                      \
	"adrp x11, rseqkit_test_delay\n\t"                                     \
	"ldr w11, [x11, :lo12:rseqkit_test_delay]\n"                           \
	"1: cbz w11, 2f\n\tsub w11, w11, #1\n\tb 1b\n2:\n\t"
#elif defined(__x86_64__)
#define CS_CROSS_INJECT_2                                                      \
	"movl rseqkit_test_delay(%%rip), %%ecx\n"                              \
	"1: testl %%ecx, %%ecx\n\tjz 2f\n\tdecl %%ecx\n\tjmp 1b\n2:\n\t"
#endif

#include <rseqkit/percpu.h>

#ifdef __cplusplus
extern "C"
#endif
int cs_cross_all(enum rseqkit_index kind, enum rseqkit_mo mo, intptr_t *v, intptr_t *v2, void *dst,
		 const void *src, size_t len, int index)
{
	intptr_t load = 0;
	int r = 0;
	r += rseqkit_percpu_add(kind, v, 1, index);
	r += rseqkit_percpu_store_if_eq(kind, v, 1, 2, index);
	r += rseqkit_percpu_store_if_ne(kind, v, 1, 2, index);
	r += rseqkit_percpu_pop_if_ne(kind, v, 0, 8, &load, index);
	r += rseqkit_percpu_store_store_if_eq(kind, mo, v, 1, v2, 3, 2, index);
	r += rseqkit_percpu_store_store_if_ne(kind, mo, v, 1, v2, 3, 2, index);
	r += rseqkit_percpu_memcpy_store_if_eq(kind, mo, v, 1, dst, src, len, 2, index);
	r += rseqkit_percpu_memcpy_store_if_ne(kind, mo, v, 1, dst, src, len, 2, index);
	r += rseqkit_percpu_deref_add(kind, v, 8, 1, index);
	return r + (int)load;
}
