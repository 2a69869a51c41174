// SPDX-License-Identifier: MIT
// rseq-inspect: file:line of an address from the DWARF in the file itself (libdw).
// Relocatable objects go through libdwfl, which applies the relocations of the DWARF
// sections for a layout of its own; addresses are translated section by section.
#ifndef RSEQ_INSPECT_LINES_H
#define RSEQ_INSPECT_LINES_H

#include <cstdint>
#include <string>
#include <vector>

#include "elf_image.h"

struct Dwarf;
struct Dwfl;
struct Dwfl_Module;

namespace rseqinspect {

class LineTable {
public:
	explicit LineTable(ElfImage &image);
	~LineTable();
	LineTable(const LineTable &) = delete;
	LineTable &operator=(const LineTable &) = delete;

	bool available() const { return dwarf_ != nullptr || module_ != nullptr; }
	// "file:line", or "" when unknown.
	std::string at(uint64_t addr);

private:
	ElfImage &image_;
	Dwarf *dwarf_ = nullptr;
	Dwfl *dwfl_ = nullptr;
	Dwfl_Module *module_ = nullptr;
	std::vector<uint8_t> copy_;           // libdwfl's own copy of an in-memory image
	std::vector<uint64_t> dwfl_base_;     // section index -> libdwfl's address (relocatable)
};

}  // namespace rseqinspect

#endif
