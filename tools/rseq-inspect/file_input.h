// SPDX-License-Identifier: MIT
// rseq-inspect: opening a path as an ELF image without blocking or following
// anything but regular files, and checking it.
#ifndef RSEQ_INSPECT_FILE_INPUT_H
#define RSEQ_INSPECT_FILE_INPUT_H

#include <string>

#include "check.h"

namespace rseqinspect {

// Opens path read-only: regular files only (a FIFO, device or directory is refused
// before anything could block on it).  Returns an fd, or -1 with *error set.
int open_regular_file(const std::string &path, std::string *error);

// Reads and checks one file; report->error is set when it cannot be read.
void inspect_path(const std::string &path, const CheckOptions &options, FileReport *report);

}  // namespace rseqinspect

#endif
