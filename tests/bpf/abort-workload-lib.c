/* SPDX-License-Identifier: MIT */
/*
 * The exactness workload's late-loaded library: one named sequence, t_lib, in an
 * object that abort-workload dlopen()s only after its other sequences have run, so
 * that rseq-top has to refresh its view of the process to name it.
 */
#include <rseqkit/rseqkit.h>

#include "abort-workload.h"

extern const struct wl_rseq_cs wl_lib_cs __attribute__((visibility("hidden")));

__attribute__((visibility("default"))) const struct wl_rseq_cs *wl_lib_descriptor(void)
{
	return &wl_lib_cs;
}

/* Commits once; returns the number of aborts on the way. */
__attribute__((visibility("default"), noinline)) uint64_t wl_lib_op(struct rseqkit_area *area, long delay,
								    struct wl_slot *slots)
{
	uint64_t aborts = 0;
again:
	asm goto(WL_DESCRIPTOR(wl_lib_cs) WL_NAME_RECORD(wl_lib_cs, "t_lib")
		 WL_BODY(wl_lib_cs, "addq $1, 16(%%rcx)") WL_ABORT_HANDLER(aborted)
		 :
		 : [area] "r"(area), [delay] "r"(delay), [slots] "r"(slots)
		 : "rax", "rcx", "rdx", "memory", "cc"
		 : aborted);
	return aborts;
aborted:
	aborts++;
	goto again;
}
