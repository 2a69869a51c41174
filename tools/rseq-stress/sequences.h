// SPDX-License-Identifier: MIT
// rseq-stress: its own restartable sequences, one function per operation, each holding
// exactly one instance of the sequence for each index kind (see sequences.cc).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rseqkit/index.h>

namespace stress {

// What one call of an operation did.  The first four are the sequence's own results
// (as in <rseqkit/percpu.h>); the last two come from the locked path.
enum result : int {
	committed = RSEQKIT_COMMITTED,            // the sequence committed
	compare_failed = RSEQKIT_COMPARE_FAILED,  // the sequence left through its compare step
	aborted = RSEQKIT_ABORTED,                // the kernel aborted it (one kernel abort)
	stale = RSEQKIT_STALE_INDEX,              // the index was not the thread's: nothing ran
	locked_committed = 2,                     // locked mode: committed under the lock
	locked_compare_failed = 3,                // locked mode: the compare failed
};

// The sequences, in report order.
enum seq : int {
	seq_add,
	seq_cmpeq,
	seq_list_push,
	seq_list_pop,
	seq_buffer_push,
	seq_buffer_pop,
	seq_memcpy_push,
	seq_memcpy_pop,
	seq_offset_add,
	seq_count
};

// The sequence's name in the __rseqkit_names records for this index kind.
const char *seq_name(seq s, rseqkit_index kind);

// Loop count of the delay injected right before each commit (0: none).
void set_delay(long loops);

// *v += n
int op_add(rseqkit_index k, intptr_t *v, intptr_t n, int index);
// if (*v != expect) fail; *v = newv
int op_cmpeq(rseqkit_index k, intptr_t *v, intptr_t expect, intptr_t newv, int index);
// if (*head != expect) fail; *next = expect; *head = node  (release)
int op_list_push(rseqkit_index k, intptr_t *head, intptr_t expect, intptr_t *next, intptr_t node, int index);
// if (*head == 0) fail; *out = *head; *head = *(*head + next_off)
int op_list_pop(rseqkit_index k, intptr_t *head, long next_off, intptr_t *out, int index);
// if (*top != expect) fail; *(intptr_t *)expect = item; *top = expect + 8  (release)
int op_buffer_push(rseqkit_index k, intptr_t *top, intptr_t expect, intptr_t item, int index);
// if (*top == base) fail; *out = *(*top - 8); *top -= 8
int op_buffer_pop(rseqkit_index k, intptr_t *top, intptr_t base, intptr_t *out, int index);
// if (*top != expect) fail; memcpy(expect, item, len); *top = expect + len  (release)
int op_memcpy_push(rseqkit_index k, intptr_t *top, intptr_t expect, const void *item, size_t len, int index);
// if (*top != expect) fail; memcpy(out, expect - len, len); *top = expect - len
int op_memcpy_pop(rseqkit_index k, intptr_t *top, intptr_t expect, void *out, size_t len, int index);
// *(intptr_t *)(*ptr + off) += inc
int op_offset_add(rseqkit_index k, intptr_t *ptr, long off, intptr_t inc, int index);

}  // namespace stress
