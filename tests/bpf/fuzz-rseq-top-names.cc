// SPDX-License-Identifier: MIT
// libFuzzer target (make fuzz): rseq-top reads name records from whatever ELF files
// processes map; a crafted one must give an error or no names, never a crash.
// Seed it with real objects, e.g. tests/bpf/abort-workload and its library.
#include <libelf.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const bool init = elf_version(EV_CURRENT) != EV_NONE;
	(void)init;
	std::vector<char> copy(data, data + size);  // libelf may write to its buffer
	Elf *elf = elf_memory(copy.data(), copy.size());
	if (!elf)
		return 0;
	std::vector<rseqtop::NameRecord> records;
	std::string error;
	rseqtop::read_name_records(elf, &records, &error);
	elf_end(elf);
	return 0;
}
