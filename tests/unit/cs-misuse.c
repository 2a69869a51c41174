/* SPDX-License-Identifier: MIT */
/*
 * DSL misuse that must not compile (tests/unit/cs-compile-fail.sh builds this file once
 * per -D case and expects the compiler, assembler or linker to refuse it with the
 * reason given).  Without a case it is the positive control: it must compile cleanly
 * as C11 and C++17.
 */
#include <rseqkit/cs.h>

int seq(intptr_t *v, int index)
{
	int32_t *narrow = (int32_t *)v;
	(void)narrow;
#if defined(NO_COMMIT)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v) RSEQKIT_ADD(t0, 1));
#elif defined(EMPTY_COMMIT)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v) RSEQKIT_ADD(t0, 1), );
#elif defined(COMMIT_AMONG_STEPS)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v) RSEQKIT_COMMIT_T(RELAXED, v, t0),
		   RSEQKIT_COMMIT(RELAXED, v, 1));
#elif defined(STEP_AS_COMMIT)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v), RSEQKIT_ADD(t0, 1));
#elif defined(NARROW_LOAD)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, narrow) RSEQKIT_ADD(t0, 1),
		   RSEQKIT_COMMIT_T(RELAXED, v, t0));
#elif defined(NARROW_COMMIT)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v), RSEQKIT_COMMIT_T(RELAXED, narrow, t0));
#elif defined(WIDE_VALUE)
	__int128 big = 1;
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v) RSEQKIT_ADD(t0, big),
		   RSEQKIT_COMMIT_T(RELAXED, v, t0));
#elif defined(BAD_TEMPORARY)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t2, v), RSEQKIT_COMMIT_T(RELAXED, v, t2));
#elif defined(BAD_KIND)
	RSEQKIT_CS(misuse, NODE_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v), RSEQKIT_COMMIT_T(RELAXED, v, t0));
#elif defined(BAD_ORDER)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v), RSEQKIT_COMMIT_T(SEQ_CST, v, t0));
#elif defined(LABEL_TWICE)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_EQ(t0, 0, aborted),
		   RSEQKIT_COMMIT_T(RELAXED, v, t0));
#elif defined(NAME_TWICE)
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v), RSEQKIT_COMMIT_T(RELAXED, v, t0));
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t1, v), RSEQKIT_COMMIT_T(RELAXED, v, t1));
#else
	/* The control; with OTHER_LINE the same name sits on another line (link test). */
#ifdef OTHER_LINE

	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v), RSEQKIT_COMMIT_T(RELAXED, v, t0));
#else
	RSEQKIT_CS(misuse, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v), RSEQKIT_COMMIT_T(RELAXED, v, t0));
#endif
#endif
	return 0;
aborted:
	return -1;
mismatch:
	return -2;
}
