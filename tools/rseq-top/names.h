// SPDX-License-Identifier: MIT
// rseqkit name records of an ELF object: __rseqkit_names holds {u64 cs; u64 name;}
// per sequence, cs the address of its __rseq_cs descriptor and name the address of a
// NUL-terminated string.  rseq-top matches an abort's start_ip against the
// descriptors' start_ip to name the sequence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

typedef struct Elf Elf;

namespace rseqtop {

struct NameRecord {
	uint64_t start_ip;  // link-time address (add the load bias for a run-time one)
	std::string name;
};

// Reads the name records of an executable or shared object (ET_EXEC, ET_DYN) as
// linked: dynamic RELATIVE relocations (RELA) are applied, RELR and non-PIE objects
// carry the addresses in place.  Returns false with *error set when the object has
// records that do not make sense; an object without records yields an empty list.
bool read_name_records(Elf *elf, std::vector<NameRecord> *out, std::string *error);

}  // namespace rseqtop
