// SPDX-License-Identifier: MIT
// rseq-inspect: file:line of an address from the DWARF in the file itself (libdw).
// Relocatable objects go through libdwfl, which applies the relocations of the DWARF
// sections for a layout of its own; addresses are translated section by section.
//
// DWARF that libdw cannot read safely is not used at all (see unusable()).
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
	// Why the file's DWARF is not used although it has line tables ("" if it is, or
	// if it has none): a phrase naming the damaged section.
	const std::string &unusable() const { return unusable_; }
	// "file:line", or "" when unknown.
	std::string at(uint64_t addr);

private:
	// Whether libdw can read dw's strings without leaving their sections; if not,
	// says why in unusable_.
	bool strings_safe(Dwarf *dw);

	ElfImage &image_;
	Dwarf *dwarf_ = nullptr;
	Dwfl *dwfl_ = nullptr;
	Dwfl_Module *module_ = nullptr;
	std::vector<uint64_t> dwfl_base_;     // section index -> libdwfl's address (relocatable)
	std::string unusable_;
};

}  // namespace rseqinspect

#endif
