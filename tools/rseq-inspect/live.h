// SPDX-License-Identifier: MIT
// rseq-inspect -p: the rseq registration of each thread of a live process, through
// PTRACE_GET_RSEQ_CONFIGURATION, and the descriptors of its loaded objects.
#ifndef RSEQ_INSPECT_LIVE_H
#define RSEQ_INSPECT_LIVE_H

#include <string>

#include "check.h"
#include "report.h"

namespace rseqinspect {

// Fills *report.  Returns the exit status: 2 with *error set (a one-line message)
// when the process cannot be inspected at all (no such process, no permission, a
// kernel without the ptrace request); else 2 if some thread or loaded object could
// not be inspected, 1 if a loaded object has a defective descriptor, 0 otherwise.
int inspect_process(int pid, const CheckOptions &options, ProcessReport *report, std::string *error);

}  // namespace rseqinspect

#endif
