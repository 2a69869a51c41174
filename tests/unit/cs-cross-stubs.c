/* SPDX-License-Identifier: MIT */
/*
 * Just enough of librseqkit for tests/unit/cs-cross.c to link into a static image
 * without a C library (the cross target's libraries need not be installed): the image
 * is only read by tests/unit/cs-aarch64.sh, never run.
 */
#include <rseqkit/percpu.h>

unsigned rseqkit_test_delay;
__thread struct rseqkit_area *rseqkit_tls_area __attribute__((tls_model("initial-exec")));
uint32_t rseqkit_area_features;
uint32_t rseqkit_cs_mode[2];
uint32_t rseqkit_index_limit;

int rseqkit_current_index_slow(enum rseqkit_index mode) { return (int)mode; }
int rseqkit_cs_recover(enum rseqkit_index mode) { return (int)mode; }
int rseqkit_percpu_add_locked(intptr_t *v, intptr_t c, int i) { return (int)(*v + c + i); }
int rseqkit_percpu_store_if_eq_locked(intptr_t *v, intptr_t e, intptr_t n, int i) { return (int)(*v + e + n + i); }
int rseqkit_percpu_store_if_ne_locked(intptr_t *v, intptr_t e, intptr_t n, int i) { return (int)(*v + e + n + i); }
int rseqkit_percpu_pop_if_ne_locked(intptr_t *v, intptr_t e, long o, intptr_t *l, int i)
{
	return (int)(*v + e + o + *l + i);
}
int rseqkit_percpu_store_store_if_eq_locked(intptr_t *v, intptr_t e, intptr_t *v2, intptr_t n2, intptr_t n, int i)
{
	return (int)(*v + e + *v2 + n2 + n + i);
}
int rseqkit_percpu_store_store_if_ne_locked(intptr_t *v, intptr_t e, intptr_t *v2, intptr_t n2, intptr_t n, int i)
{
	return (int)(*v + e + *v2 + n2 + n + i);
}
int rseqkit_percpu_memcpy_store_if_eq_locked(intptr_t *v, intptr_t e, void *d, const void *s, size_t l, intptr_t n,
					     int i)
{
	return (int)(*v + e + (d != s) + (intptr_t)l + n + i);
}
int rseqkit_percpu_memcpy_store_if_ne_locked(intptr_t *v, intptr_t e, void *d, const void *s, size_t l, intptr_t n,
					     int i)
{
	return (int)(*v + e + (d != s) + (intptr_t)l + n + i);
}
int rseqkit_percpu_deref_add_locked(intptr_t *p, long o, intptr_t c, int i) { return (int)(*p + o + c + i); }
