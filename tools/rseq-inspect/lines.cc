// SPDX-License-Identifier: MIT
// rseq-inspect: file:line lookups (see lines.h).
#include "lines.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <algorithm>
#include <string_view>
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

// Whether libdw may take a section of this name for string data (.debug_str,
// .debug_line_str), in any spelling it accepts: compressed (.zdebug_), split (.dwo)
// or LTO (.gnu.debuglto_).  A superset of what one libdw version picks is fine: a
// good file's string sections all end with a NUL byte.
bool dwarf_string_section(std::string_view name)
{
	if (name.starts_with(".gnu.debuglto_"))
		name.remove_prefix(14);
	if (name.ends_with(".dwo"))
		name.remove_suffix(4);
	if (name.starts_with(".zdebug_"))
		name.remove_prefix(8);
	else if (name.starts_with(".debug_"))
		name.remove_prefix(7);
	else
		return false;
	return name == "str" || name == "line_str";
}

// libdw 0.188 (Debian 12) checks a string's offset against its section's size,
// then takes a C string from there (strlen; we copy what dwarf_linesrc returns): a
// string section whose last byte is not NUL -- a damaged file, a wrong sh_size --
// makes both read past the section, out of libelf's buffer.  Later elfutils bound
// strings by the section's last NUL; here such DWARF cannot be used safely at all.
// Checked on the Elf libdw reads, after it opened it: libdw decompresses, and
// libdwfl relocates, sections in place.  Returns the first such section's name.
std::string unterminated_string_section(Elf *elf)
{
	size_t shstrndx = 0;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return "";  // libdw could not have named any section either
	for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || !dwarf_string_section(name))
			continue;
		Elf_Data *d = elf_getdata(scn, nullptr);
		if (d && d->d_buf && d->d_size > 0 && static_cast<const char *>(d->d_buf)[d->d_size - 1] != '\0')
			return name;
	}
	return "";
}

}  // namespace

LineTable::LineTable(ElfImage &image) : image_(image)
{
	if (!has_debug_line(image))
		return;
	if (!image.relocatable()) {
		dwarf_ = dwarf_begin_elf(image.elf(), DWARF_C_READ, nullptr);
		if (dwarf_ && !strings_safe(dwarf_)) {
			dwarf_end(dwarf_);
			dwarf_ = nullptr;
		}
		return;
	}
	dwfl_ = dwfl_begin(&offline_callbacks);
	if (!dwfl_)
		return;
	dwfl_report_begin(dwfl_);
	// libdwfl opens its own (private) copy of the file: it relocates in place.
	int fd = dup(image.fd());
	if (fd >= 0)
		module_ = dwfl_report_offline(dwfl_, "object", "object", fd);  // takes fd
	dwfl_report_end(dwfl_, nullptr, nullptr);
	if (!module_)
		return;
	GElf_Addr bias = 0;
	Elf *elf = dwfl_module_getelf(module_, &bias);
	Dwarf_Addr dbias = 0;
	Dwarf *dw = elf ? dwfl_module_getdwarf(module_, &dbias) : nullptr;
	if (!dw || !strings_safe(dw)) {  // dw goes with dwfl_end
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

bool LineTable::strings_safe(Dwarf *dw)
{
	std::string bad = unterminated_string_section(dwarf_getelf(dw));
	if (bad.empty())
		return true;
	unusable_ = bad + " does not end with a NUL byte";
	return false;
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
