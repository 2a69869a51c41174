// SPDX-License-Identifier: MIT
// rseq-inspect: finding and checking the critical-section descriptors of one ELF file.
//
// Checks and their identifiers (rseq-inspect(1) documents each):
//   per sequence   pointer descriptor alignment version flags-deprecated flags-unknown
//                  start length end end-function abort abort-inside signature
//   per exit point exit-start exit-orphan exit-target exit-inside
//   per file       table (a malformed __rseq_cs_ptr_array, __rseq_cs or
//                  __rseq_exit_point_array)
// Warnings (never change the exit status): unlisted, duplicate, name-record.
#ifndef RSEQ_INSPECT_CHECK_H
#define RSEQ_INSPECT_CHECK_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elf_image.h"

namespace rseqinspect {

struct Defect {
	std::string check;    // identifier, see above
	std::string message;  // one line, no trailing period
};

// An address as reported: resolved or not, where it lies.
struct Address {
	bool resolved = false;
	uint64_t value = 0;     // link-time address (synthetic in relocatable objects)
	uint64_t display = 0;   // value, or the offset in its section for relocatable objects
	std::string section;    // containing section, or ""
	std::string text;       // "0x1139" or ".text+0x1b"
	std::string why;        // when not resolved
};

struct SequenceReport {
	bool has_descriptor = false;   // false: the pointer to it could not be used
	bool readable = false;         // its 32 bytes were read; the fields below are set
	Address descriptor;
	std::string name;
	std::string name_source;       // "record", "symbol" or "address"
	std::string function;          // symbol+offset of start_ip, or ""
	std::string file_line;         // file:line of start_ip from DWARF, or ""
	uint32_t version = 0;
	uint32_t flags = 0;
	Address start_ip;
	uint64_t post_commit_offset = 0;
	Address abort_ip;
	bool listed = true;            // found through __rseq_cs_ptr_array
	std::vector<Defect> defects;
	bool ok() const { return defects.empty(); }
};

struct ExitPointReport {
	Address start_ip;
	Address exit_ip;
	std::string sequence;  // name of the sequence starting at start_ip, or ""
	std::vector<Defect> defects;
	bool ok() const { return defects.empty(); }
};

struct FileReport {
	std::string path;
	std::string error;      // non-empty: the file could not be read (exit status 2)
	Arch arch = Arch::x86_64;
	Kind kind = Kind::executable;
	uint32_t signature = 0;
	bool has_dwarf = false;
	std::vector<SequenceReport> sequences;
	std::vector<ExitPointReport> exit_points;
	std::vector<Defect> defects;   // file-level
	std::vector<Defect> warnings;
	bool ok() const;               // no defect anywhere (errors aside)
};

struct CheckOptions {
	std::optional<uint32_t> signature;  // default: the architecture's
	bool dwarf = true;                  // look up file:line
};

uint32_t default_signature(Arch arch);

// Fills *report (path and error are the caller's).
void inspect_image(ElfImage &image, const CheckOptions &options, FileReport *report);

}  // namespace rseqinspect

#endif
