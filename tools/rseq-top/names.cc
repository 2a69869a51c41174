// SPDX-License-Identifier: MIT
#include "names.h"

#include <elf.h>
#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <unordered_map>

namespace rseqtop {
namespace {

struct Section {
	uint64_t addr;
	uint64_t size;
	Elf_Data *data;  // null for SHT_NOBITS
};

class Image {
public:
	explicit Image(Elf *elf) : elf_(elf) {}

	bool load(std::string *error)
	{
		GElf_Ehdr eh;
		size_t shstrndx;

		if (!gelf_getehdr(elf_, &eh) || elf_getshdrstrndx(elf_, &shstrndx) != 0) {
			*error = "not a valid ELF object";
			return false;
		}
		if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
			*error = "not a 64-bit ELF object";
			return false;
		}
		const bool little = eh.e_ident[EI_DATA] == ELFDATA2LSB;
		const uint16_t probe = 1;
		uint8_t first;
		std::memcpy(&first, &probe, 1);
		if (little != (first == 1)) {
			*error = "ELF byte order differs from this machine's";
			return false;
		}
		machine_ = eh.e_machine;
		type_ = eh.e_type;
		for (Elf_Scn *scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh))
				continue;
			const char *name = elf_strptr(elf_, shstrndx, sh.sh_name);
			if (!name)
				continue;
			if (sh.sh_flags & SHF_ALLOC) {
				Section s{sh.sh_addr, sh.sh_size, nullptr};
				if (sh.sh_type != SHT_NOBITS)
					s.data = elf_getdata(scn, nullptr);
				sections_.push_back(s);
				if (!std::strcmp(name, "__rseqkit_names"))
					names_ = s;
				else if (!std::strcmp(name, "__rseq_cs"))
					cs_ = s;
			}
			if (sh.sh_type == SHT_RELA && (sh.sh_flags & SHF_ALLOC))
				rela_.push_back(scn);
		}
		// Only relocations inside the two sections matter (libc has thousands).
		if (names_.size)
			for (Elf_Scn *scn : rela_) {
				GElf_Shdr sh;
				if (gelf_getshdr(scn, &sh))
					collect_relocations(scn, sh);
			}
		return true;
	}

	bool records(std::vector<NameRecord> *out, std::string *error)
	{
		if (!names_.size)
			return true;
		if (type_ != ET_EXEC && type_ != ET_DYN) {
			*error = "name records are read from executables and shared objects only";
			return false;
		}
		if (names_.size % 16) {
			*error = "__rseqkit_names is not a whole number of records";
			return false;
		}
		for (uint64_t off = 0; off < names_.size; off += 16) {
			uint64_t cs, name_addr, start_ip;
			if (!value_at(names_.addr + off, &cs) || !value_at(names_.addr + off + 8, &name_addr)) {
				*error = "__rseqkit_names cannot be read";
				return false;
			}
			if (cs_.size && (cs < cs_.addr || cs + 32 > cs_.addr + cs_.size)) {
				*error = "a name record points outside __rseq_cs";
				return false;
			}
			if (!value_at(cs + 8, &start_ip)) {
				*error = "a name record points to an unreadable descriptor";
				return false;
			}
			std::string name;
			if (!string_at(name_addr, &name)) {
				*error = "a name record points to an unreadable name";
				return false;
			}
			out->push_back({start_ip, std::move(name)});
		}
		return true;
	}

private:
	void collect_relocations(Elf_Scn *scn, const GElf_Shdr &sh)
	{
		Elf_Data *data = elf_getdata(scn, nullptr);
		if (!data || !sh.sh_entsize)
			return;
		Elf_Scn *symscn = elf_getscn(elf_, sh.sh_link);
		Elf_Data *symdata = symscn ? elf_getdata(symscn, nullptr) : nullptr;
		const size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			if (!gelf_getrela(data, static_cast<int>(i), &r))
				continue;
			if (!within(names_, r.r_offset) && !within(cs_, r.r_offset))
				continue;
			const uint32_t type = GELF_R_TYPE(r.r_info);
			const uint32_t symi = GELF_R_SYM(r.r_info);
			if (type == relative_type()) {
				relocated_[r.r_offset] = static_cast<uint64_t>(r.r_addend);
			} else if (type == abs64_type() && symdata) {
				// A symbol address plus addend; only defined symbols can be resolved here.
				GElf_Sym sym;
				if (gelf_getsym(symdata, static_cast<int>(symi), &sym) && sym.st_shndx != SHN_UNDEF)
					relocated_[r.r_offset] = sym.st_value + static_cast<uint64_t>(r.r_addend);
			}
		}
	}

	static bool within(const Section &s, uint64_t addr)
	{
		return s.size && addr >= s.addr && addr - s.addr < s.size;
	}

	uint32_t relative_type() const
	{
		return machine_ == EM_AARCH64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
	}
	uint32_t abs64_type() const
	{
		return machine_ == EM_AARCH64 ? R_AARCH64_ABS64 : R_X86_64_64;
	}

	const Section *section_of(uint64_t addr, uint64_t len) const
	{
		for (const Section &s : sections_)
			if (addr >= s.addr && addr - s.addr + len <= s.size)
				return &s;
		return nullptr;
	}

	// The 64-bit word at a link-time address, as the dynamic linker would leave it.
	bool value_at(uint64_t addr, uint64_t *v) const
	{
		auto it = relocated_.find(addr);
		if (it != relocated_.end()) {
			*v = it->second;
			return true;
		}
		const Section *s = section_of(addr, 8);
		if (!s || !s->data || !s->data->d_buf || s->data->d_size < addr - s->addr + 8)
			return false;
		std::memcpy(v, static_cast<const char *>(s->data->d_buf) + (addr - s->addr), 8);
		return true;
	}

	bool string_at(uint64_t addr, std::string *out) const
	{
		const Section *s = section_of(addr, 1);
		if (!s || !s->data || !s->data->d_buf)
			return false;
		const char *p = static_cast<const char *>(s->data->d_buf) + (addr - s->addr);
		const size_t avail = s->data->d_size - (addr - s->addr);
		const size_t len = strnlen(p, avail < 256 ? avail : 256);
		if (len == avail || len == 256 || len == 0)
			return false;
		out->assign(p, len);
		return true;
	}

	Elf *elf_;
	uint16_t machine_ = 0;
	uint16_t type_ = 0;
	std::vector<Section> sections_;
	Section names_{0, 0, nullptr};
	Section cs_{0, 0, nullptr};
	std::vector<Elf_Scn *> rela_;
	std::unordered_map<uint64_t, uint64_t> relocated_;
};

}  // namespace

bool read_name_records(Elf *elf, std::vector<NameRecord> *out, std::string *error)
{
	Image image(elf);
	return image.load(error) && image.records(out, error);
}

}  // namespace rseqtop
