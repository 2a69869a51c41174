// SPDX-License-Identifier: MIT
// rseq-inspect: text and JSON output.
#ifndef RSEQ_INSPECT_REPORT_H
#define RSEQ_INSPECT_REPORT_H

#include <cstdint>
#include <string>
#include <vector>

#include "check.h"

namespace rseqinspect {

// One thread of a live process (-p).
struct ThreadReport {
	int tid = 0;
	std::string name;           // comm
	std::string error;          // non-empty: could not be inspected
	bool registered = false;
	uint64_t area = 0;
	uint32_t length = 0;
	uint32_t signature = 0;
	uint32_t flags = 0;
	std::string owner;          // "glibc", "__rseq_abi", "unknown" (registered only)
	std::vector<std::string> owner_objects;  // for "__rseq_abi": the object(s) defining it
	bool area_read = false;     // the fields below were read from the live area
	uint32_t cpu_id_start = 0;
	uint32_t cpu_id = 0;
	uint64_t rseq_cs = 0;
	uint32_t node_id = 0;
	uint32_t mm_cid = 0;
};

struct ProcessReport {
	int pid = 0;
	std::string command;
	bool glibc_rseq = false;      // glibc's __rseq_offset was found
	int64_t glibc_rseq_offset = 0;
	uint32_t glibc_rseq_size = 0;
	std::vector<ThreadReport> threads;
	std::vector<FileReport> files;  // the loaded objects
};

// Exit status for a set of file reports: 2 if any could not be read, else 1 if any
// defect, else 0.
int exit_status(const std::vector<FileReport> &files);

std::string json_files(const std::vector<FileReport> &files, int status);
std::string json_process(const ProcessReport &proc, int status);
// Text for files; also_empty: list files without sequences (FILE mode) or not (-p).
std::string text_files(const std::vector<FileReport> &files, bool also_empty);
std::string text_process(const ProcessReport &proc);

// For messages on stderr and text output: non-printable bytes as \xNN.
std::string printable(const std::string &s);

}  // namespace rseqinspect

#endif
