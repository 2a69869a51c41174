// SPDX-License-Identifier: MIT
// rseq-inspect: file:line lookups (see lines.h).
#include "lines.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <algorithm>
#include <unistd.h>

namespace rseqinspect {

namespace {

// Offline use only: never search the system for separate debug files.
int no_debuginfo(Dwfl_Module *, void **, const char *, Dwarf_Addr, const char *, const char *,
		 GElf_Word, char **)
{
	return -1;
}

const Dwfl_Callbacks offline_callbacks = {
	nullptr,
	no_debuginfo,
	dwfl_offline_section_address,
	nullptr,
};

bool has_debug_line(const ElfImage &image)
{
	bool info = false, line = false;
	for (const Section &s : image.sections()) {
		if (s.type == SHT_NOBITS)
			continue;
		if (s.name == ".debug_info" || s.name == ".zdebug_info")
			info = true;
		if (s.name == ".debug_line" || s.name == ".zdebug_line")
			line = true;
	}
	return info && line;
}

}  // namespace

LineTable::LineTable(ElfImage &image) : image_(image)
{
	if (!has_debug_line(image))
		return;
	if (!image.relocatable()) {
		dwarf_ = dwarf_begin_elf(image.elf(), DWARF_C_READ, nullptr);
		return;
	}
	dwfl_ = dwfl_begin(&offline_callbacks);
	if (!dwfl_)
		return;
	dwfl_report_begin(dwfl_);
	if (image.fd() >= 0) {
		int fd = dup(image.fd());
		if (fd >= 0)
			module_ = dwfl_report_offline(dwfl_, "object", "object", fd);  // takes fd
	} else {
		// libdwfl relocates in place: give it a copy, never our image.
		copy_ = image.memory();
		module_ = dwfl_report_offline_memory(dwfl_, "object", "object",
						     reinterpret_cast<char *>(copy_.data()), copy_.size());
	}
	dwfl_report_end(dwfl_, nullptr, nullptr);
	if (!module_)
		return;
	GElf_Addr bias = 0;
	Elf *elf = dwfl_module_getelf(module_, &bias);
	Dwarf_Addr dbias = 0;
	if (!elf || !dwfl_module_getdwarf(module_, &dbias)) {
		module_ = nullptr;
		return;
	}
	// libdwfl laid the allocated sections out itself and wrote the addresses into
	// its copy of the section headers.
	size_t shnum = 0;
	if (elf_getshdrnum(elf, &shnum) != 0)
		shnum = 0;
	dwfl_base_.assign(std::min<size_t>(shnum, size_t(1) << 22), UINT64_MAX);
	for (size_t i = 1; i < dwfl_base_.size(); i++) {
		GElf_Shdr sh;
		Elf_Scn *scn = elf_getscn(elf, i);
		if (scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC))
			dwfl_base_[i] = sh.sh_addr + bias;
	}
}

LineTable::~LineTable()
{
	if (dwarf_)
		dwarf_end(dwarf_);
	if (dwfl_)
		dwfl_end(dwfl_);
}

std::string LineTable::at(uint64_t addr)
{
	const char *file = nullptr;
	int line = 0;
	if (dwarf_) {
		Dwarf_Die cu;
		if (!dwarf_addrdie(dwarf_, addr, &cu))
			return "";
		Dwarf_Line *l = dwarf_getsrc_die(&cu, addr);
		if (!l || dwarf_lineno(l, &line) != 0)
			return "";
		file = dwarf_linesrc(l, nullptr, nullptr);
	} else if (module_) {
		Place p = image_.place(addr);
		if (!p.section || p.section->index >= dwfl_base_.size() || dwfl_base_[p.section->index] == UINT64_MAX)
			return "";
		Dwfl_Line *l = dwfl_module_getsrc(module_, dwfl_base_[p.section->index] + p.offset);
		if (!l)
			return "";
		file = dwfl_lineinfo(l, nullptr, &line, nullptr, nullptr, nullptr);
	}
	if (!file || line <= 0)
		return "";
	return std::string(file) + ":" + std::to_string(line);
}

}  // namespace rseqinspect
