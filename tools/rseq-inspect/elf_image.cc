// SPDX-License-Identifier: MIT
// rseq-inspect: ELF reading (see elf_image.h).
#include "elf_image.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unistd.h>

namespace rseqinspect {

namespace {

constexpr uint64_t kRelBase = 0x10000;       // first synthetic section base (ET_REL)
constexpr uint64_t kRelGap = 0x1000;         // at least a page between sections
constexpr uint64_t kRelLimit = 1ULL << 62;   // sections beyond this stay unmapped
constexpr size_t kMaxSymbols = 1u << 22;     // symbol table entries read per table
constexpr size_t kMaxSections = 1u << 22;    // section headers read

// Relocation types that matter for pointer words.
enum class RelKind { none, absolute, relative, other };

RelKind classify(Arch arch, uint32_t type)
{
	switch (arch) {
	case Arch::x86_64:
		if (type == R_X86_64_NONE)
			return RelKind::none;
		if (type == R_X86_64_64)
			return RelKind::absolute;
		if (type == R_X86_64_RELATIVE)
			return RelKind::relative;
		return RelKind::other;
	case Arch::aarch64:
		if (type == R_AARCH64_NONE || type == 256 /* R_AARCH64_NONE (new number) */)
			return RelKind::none;
		if (type == R_AARCH64_ABS64)
			return RelKind::absolute;
		if (type == R_AARCH64_RELATIVE)
			return RelKind::relative;
		return RelKind::other;
	}
	return RelKind::other;
}

bool add_overflows(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_add_overflow(a, b, out);
}

uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

std::string hex(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "0x%" PRIx64, v);
	return buf;
}

void init_libelf()
{
	static std::once_flag once;
	std::call_once(once, [] { elf_version(EV_CURRENT); });
}

}  // namespace

const char *arch_name(Arch arch)
{
	return arch == Arch::x86_64 ? "x86_64" : "aarch64";
}

const char *kind_name(Kind kind)
{
	switch (kind) {
	case Kind::executable: return "executable";
	case Kind::pie: return "pie";
	case Kind::shared: return "shared";
	case Kind::relocatable: return "relocatable";
	}
	return "?";
}

uint64_t Section::end() const
{
	uint64_t e;
	return add_overflows(addr, size, &e) ? UINT64_MAX : e;
}

std::unique_ptr<ElfImage> ElfImage::from_fd(int fd, std::string *error)
{
	init_libelf();
	std::unique_ptr<ElfImage> img(new ElfImage);
	img->fd_ = fd;
	// ELF_C_READ: libelf reads what we ask for with pread, nothing is mapped, so a file
	// truncated under us yields errors, not SIGBUS.
	img->elf_ = elf_begin(fd, ELF_C_READ, nullptr);
	if (!img->init(error))
		return nullptr;
	return img;
}

std::unique_ptr<ElfImage> ElfImage::from_memory(std::vector<uint8_t> bytes, std::string *error)
{
	init_libelf();
	std::unique_ptr<ElfImage> img(new ElfImage);
	img->memory_ = std::move(bytes);
	// elf_memory wants a non-null pointer even for an empty image.
	if (img->memory_.empty()) {
		*error = "empty file";
		return nullptr;
	}
	img->elf_ = elf_memory(reinterpret_cast<char *>(img->memory_.data()), img->memory_.size());
	if (!img->init(error))
		return nullptr;
	return img;
}

ElfImage::~ElfImage()
{
	if (elf_)
		elf_end(elf_);
	if (fd_ >= 0)
		close(fd_);
}

bool ElfImage::init(std::string *error)
{
	if (!elf_) {
		*error = std::string("cannot read: ") + elf_errmsg(-1);
		return false;
	}
	if (elf_kind(elf_) != ELF_K_ELF) {
		*error = elf_kind(elf_) == ELF_K_AR ? "an archive, not an ELF file (extract its members)"
						     : "not an ELF file";
		return false;
	}
	size_t ident_size = 0;
	const char *ident = elf_getident(elf_, &ident_size);
	if (!ident || ident_size < EI_NIDENT) {
		*error = "not an ELF file";
		return false;
	}
	if (ident[EI_CLASS] != ELFCLASS64) {
		*error = "not a 64-bit ELF file (x86_64 and aarch64 only)";
		return false;
	}
	if (ident[EI_DATA] != ELFDATA2LSB) {
		*error = "not a little-endian ELF file (x86_64 and aarch64 only)";
		return false;
	}
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf_, &eh)) {
		*error = std::string("bad ELF header: ") + elf_errmsg(-1);
		return false;
	}
	if (eh.e_machine == EM_X86_64) {
		arch_ = Arch::x86_64;
	} else if (eh.e_machine == EM_AARCH64) {
		arch_ = Arch::aarch64;
	} else {
		*error = "unsupported machine " + std::to_string(eh.e_machine) + " (x86_64 and aarch64 only)";
		return false;
	}
	switch (eh.e_type) {
	case ET_REL: kind_ = Kind::relocatable; break;
	case ET_EXEC: kind_ = Kind::executable; break;
	case ET_DYN: kind_ = Kind::shared; break;  // refined below
	default:
		*error = "unsupported ELF file type " + std::to_string(eh.e_type) +
			 " (executables, shared objects and relocatable objects only)";
		return false;
	}
	if (kind_ == Kind::shared) {
		// A PIE: has an interpreter, or says so in DT_FLAGS_1.
		size_t phnum = 0;
		if (elf_getphdrnum(elf_, &phnum) == 0) {
			for (size_t i = 0; i < phnum && i < 65536; i++) {
				GElf_Phdr ph;
				if (gelf_getphdr(elf_, static_cast<int>(i), &ph) && ph.p_type == PT_INTERP)
					kind_ = Kind::pie;
			}
		}
	}
	read_sections();
	if (kind_ == Kind::shared) {
		for (const Section &s : sections_) {
			if (s.type != SHT_DYNAMIC)
				continue;
			Elf_Data *d = elf_getdata(elf_getscn(elf_, s.index), nullptr);
			if (!d)
				continue;
			size_t n = d->d_size / sizeof(Elf64_Dyn);
			for (size_t i = 0; i < n; i++) {
				GElf_Dyn dyn;
				if (!gelf_getdyn(d, static_cast<int>(i), &dyn) || dyn.d_tag == DT_NULL)
					break;
				if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE))
					kind_ = Kind::pie;
			}
		}
	}
	return true;
}

void ElfImage::read_sections()
{
	size_t shnum = 0, shstrndx = 0;
	if (elf_getshdrnum(elf_, &shnum) != 0)
		return;
	shnum = std::min<size_t>(shnum, kMaxSections);
	bool have_names = elf_getshdrstrndx(elf_, &shstrndx) == 0;
	uint64_t next_base = kRelBase;
	for (size_t i = 1; i < shnum; i++) {
		Elf_Scn *scn = elf_getscn(elf_, i);
		GElf_Shdr sh;
		if (!scn || !gelf_getshdr(scn, &sh))
			continue;
		Section s;
		s.index = i;
		if (have_names) {
			const char *n = elf_strptr(elf_, shstrndx, sh.sh_name);
			if (n)
				s.name = n;
		}
		s.type = sh.sh_type;
		s.flags = sh.sh_flags;
		s.size = sh.sh_size;
		s.align = sh.sh_addralign;
		s.link = sh.sh_link;
		s.info = sh.sh_info;
		if ((sh.sh_flags & SHF_ALLOC) && sh.sh_size > 0) {
			if (kind_ == Kind::relocatable) {
				uint64_t base = (next_base + 0xfff) & ~uint64_t(0xfff);
				uint64_t end;
				if (base < kRelLimit && !add_overflows(base, sh.sh_size, &end) && end < kRelLimit) {
					s.addr = base;
					s.mapped = true;
					next_base = end + kRelGap;
				}
			} else {
				s.addr = sh.sh_addr;
				s.mapped = true;
			}
		} else if (kind_ != Kind::relocatable) {
			s.addr = sh.sh_addr;
		}
		sections_.push_back(std::move(s));
	}
	pos_by_index_.assign(shnum, -1);
	for (size_t i = 0; i < sections_.size(); i++) {
		pos_by_index_[sections_[i].index] = static_cast<ptrdiff_t>(i);
		if (sections_[i].mapped)
			by_addr_.push_back(i);
	}
	std::stable_sort(by_addr_.begin(), by_addr_.end(),
			 [this](size_t a, size_t b) { return sections_[a].addr < sections_[b].addr; });
	uint64_t m = 0;
	for (size_t i : by_addr_) {
		m = std::max(m, sections_[i].end());
		max_end_.push_back(m);
	}
}

const Section *ElfImage::section_by_index(size_t index) const
{
	if (index >= pos_by_index_.size() || pos_by_index_[index] < 0)
		return nullptr;
	return &sections_[static_cast<size_t>(pos_by_index_[index])];
}

const Section *ElfImage::section_named(std::string_view name) const
{
	for (const Section &s : sections_)
		if (s.name == name)
			return &s;
	return nullptr;
}

const Section *ElfImage::section_containing(uint64_t addr) const
{
	// Last section starting at or before addr, then walk back while an earlier one
	// could still reach addr (sections may overlap in hostile files).
	auto it = std::upper_bound(by_addr_.begin(), by_addr_.end(), addr,
				   [this](uint64_t a, size_t i) { return a < sections_[i].addr; });
	const Section *nobits = nullptr;
	for (size_t pos = static_cast<size_t>(it - by_addr_.begin()); pos > 0; pos--) {
		if (max_end_[pos - 1] <= addr)
			break;
		const Section &s = sections_[by_addr_[pos - 1]];
		if (addr >= s.addr && addr < s.end()) {
			if (s.type != SHT_NOBITS)
				return &s;
			if (!nobits)
				nobits = &s;
		}
	}
	return nobits;
}

Place ElfImage::place(uint64_t addr) const
{
	Place p;
	p.section = section_containing(addr);
	if (p.section)
		p.offset = addr - p.section->addr;
	return p;
}

std::string ElfImage::display_place(uint64_t addr) const
{
	if (!relocatable())
		return hex(addr);
	Place p = place(addr);
	if (!p.section)
		return hex(addr);
	return (p.section->name.empty() ? "[" + std::to_string(p.section->index) + "]" : p.section->name) +
	       "+" + hex(p.offset);
}

uint64_t ElfImage::display_address(uint64_t addr) const
{
	if (!relocatable())
		return addr;
	Place p = place(addr);
	return p.section ? p.offset : addr;
}

bool ElfImage::has_rseq_sections() const
{
	for (const Section &s : sections_)
		if (s.name == "__rseq_cs" || s.name == "__rseq_cs_ptr_array" ||
		    s.name == "__rseq_exit_point_array")
			return true;
	return false;
}

const uint8_t *ElfImage::section_data(const Section &s, size_t *size) const
{
	*size = 0;
	if (s.type == SHT_NOBITS || s.size == 0)
		return nullptr;
	auto it = data_cache_.find(s.index);
	if (it == data_cache_.end()) {
		const uint8_t *p = nullptr;
		size_t n = 0;
		Elf_Scn *scn = elf_getscn(elf_, s.index);
		Elf_Data *d = scn ? elf_rawdata(scn, nullptr) : nullptr;
		if (d && d->d_buf && d->d_size > 0) {
			p = static_cast<const uint8_t *>(d->d_buf);
			// libelf checks the section against the file size; never trust more than
			// both the header and the data say.
			n = static_cast<size_t>(std::min<uint64_t>(d->d_size, s.size));
		}
		it = data_cache_.emplace(s.index, std::make_pair(p, n)).first;
	}
	*size = it->second.second;
	return it->second.first;
}

bool ElfImage::read(uint64_t addr, size_t n, uint8_t *out) const
{
	const Section *s = section_containing(addr);
	if (!s || s->type == SHT_NOBITS)
		return false;
	size_t size = 0;
	const uint8_t *data = section_data(*s, &size);
	uint64_t off = addr - s->addr;
	if (!data || off > size || size - off < n)
		return false;
	memcpy(out, data + off, n);
	return true;
}

std::optional<uint64_t> ElfImage::read_u64_raw(uint64_t addr) const
{
	uint8_t b[8];
	if (!read(addr, 8, b))
		return std::nullopt;
	return load_le64(b);
}

std::optional<uint32_t> ElfImage::read_u32_raw(uint64_t addr) const
{
	uint8_t b[4];
	if (!read(addr, 4, b))
		return std::nullopt;
	return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

std::optional<std::string> ElfImage::read_string(uint64_t addr, size_t max) const
{
	const Section *s = section_containing(addr);
	if (!s || s->type == SHT_NOBITS)
		return std::nullopt;
	size_t size = 0;
	const uint8_t *data = section_data(*s, &size);
	uint64_t off = addr - s->addr;
	if (!data || off >= size)
		return std::nullopt;
	const uint8_t *p = data + off;
	size_t avail = std::min<size_t>(size - off, max);
	const void *nul = memchr(p, 0, avail);
	if (!nul)
		return std::nullopt;
	return std::string(reinterpret_cast<const char *>(p), static_cast<const uint8_t *>(nul) - p);
}

void ElfImage::load_tables()
{
	if (tables_loaded_)
		return;
	tables_loaded_ = true;
	read_relocations();
	read_symbols();
}

void ElfImage::load_relocation_symbols(uint32_t symtab_index)
{
	if (relsyms_.count(symtab_index))
		return;
	std::vector<RelSym> &out = relsyms_[symtab_index];
	Elf_Scn *scn = elf_getscn(elf_, symtab_index);
	GElf_Shdr sh;
	if (!scn || !gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
		return;
	Elf_Data *d = elf_getdata(scn, nullptr);
	if (!d)
		return;
	// Extended section indices, for objects with more than 65279 sections.
	Elf_Data *xndx = nullptr;
	for (const Section &s : sections_)
		if (s.type == SHT_SYMTAB_SHNDX && s.link == symtab_index)
			xndx = elf_getdata(elf_getscn(elf_, s.index), nullptr);
	size_t n = std::min<size_t>(d->d_size / sizeof(Elf64_Sym), kMaxSymbols);
	out.resize(n);
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		Elf32_Word shndx_ext = 0;
		if (!gelf_getsymshndx(d, xndx, static_cast<int>(i), &sym, &shndx_ext))
			continue;
		RelSym &r = out[i];
		const char *name = elf_strptr(elf_, sh.sh_link, sym.st_name);
		if (name)
			r.name = name;
		size_t shndx = sym.st_shndx == SHN_XINDEX ? shndx_ext : sym.st_shndx;
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_COMMON) {
			continue;
		}
		if (kind_ != Kind::relocatable) {
			r.defined = true;
			r.addr = sym.st_value;
			continue;
		}
		if (sym.st_shndx == SHN_ABS)
			continue;
		// Relocatable object: value is an offset in its section.
		const Section *sec = section_by_index(shndx);
		uint64_t a;
		if (sec && sec->mapped && !add_overflows(sec->addr, sym.st_value, &a)) {
			r.defined = true;
			r.addr = a;
		}
	}
}

void ElfImage::read_relocations()
{
	for (const Section &rs : sections_) {
		bool rela = rs.type == SHT_RELA;
		// SHT_RELR (packed relative relocations) needs nothing: the value of each
		// word it marks is already in place, relative to a load base of 0.
		if (rs.type != SHT_RELA && rs.type != SHT_REL)
			continue;
		uint64_t target_base = 0;
		if (kind_ == Kind::relocatable) {
			// Only relocations of allocated data matter: pointers live there, never in
			// code or debug sections.
			const Section *target = section_by_index(rs.info);
			if (!target || !target->mapped || target->executable())
				continue;
			target_base = target->addr;
		} else if (!(rs.flags & SHF_ALLOC)) {
			continue;  // --emit-relocs copies: already applied
		}
		Elf_Data *d = elf_getdata(elf_getscn(elf_, rs.index), nullptr);
		if (!d)
			continue;
		load_relocation_symbols(rs.link);
		size_t n = d->d_size / (rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel));
		for (size_t i = 0; i < n; i++) {
			Reloc r;
			uint64_t offset;
			if (rela) {
				GElf_Rela e;
				if (!gelf_getrela(d, static_cast<int>(i), &e))
					continue;
				offset = e.r_offset;
				r.type = static_cast<uint32_t>(GELF_R_TYPE(e.r_info));
				r.sym = GELF_R_SYM(e.r_info);
				r.addend = e.r_addend;
				r.has_addend = true;
			} else {
				GElf_Rel e;
				if (!gelf_getrel(d, static_cast<int>(i), &e))
					continue;
				offset = e.r_offset;
				r.type = static_cast<uint32_t>(GELF_R_TYPE(e.r_info));
				r.sym = GELF_R_SYM(e.r_info);
			}
			r.symtab = rs.link;
			if (classify(arch_, r.type) == RelKind::none)
				continue;
			uint64_t at;
			if (add_overflows(target_base, offset, &at))
				continue;
			relocs_.emplace(at, r);  // the first one at an address wins
		}
	}
}

bool ElfImage::has_relocation(uint64_t addr, size_t n) const
{
	for (size_t i = 0; i < n; i++)
		if (relocs_.count(addr + i))
			return true;
	return false;
}

Word ElfImage::read_pointer(uint64_t addr) const
{
	Word w;
	std::optional<uint64_t> raw = read_u64_raw(addr);
	if (!raw) {
		w.why = "outside the file's data";
		return w;
	}
	auto it = relocs_.find(addr);
	if (it == relocs_.end()) {
		if (kind_ == Kind::relocatable) {
			// Without a relocation a field of a relocatable object is an absolute
			// number, which can never be code of this object.
			w.status = Word::Status::unresolved;
			w.value = *raw;
			w.why = "absolute value " + hex(*raw) + " without a relocation";
			return w;
		}
		w.status = Word::Status::ok;
		w.value = *raw;  // also RELR-marked words: the value is in place
		return w;
	}
	const Reloc &r = it->second;
	uint64_t addend = r.has_addend ? static_cast<uint64_t>(r.addend) : *raw;
	switch (classify(arch_, r.type)) {
	case RelKind::none:
		w.status = Word::Status::ok;
		w.value = *raw;
		return w;
	case RelKind::relative:
		w.status = Word::Status::ok;
		w.value = addend;  // load base 0
		return w;
	case RelKind::absolute: {
		auto st = relsyms_.find(r.symtab);
		if (st == relsyms_.end() || r.sym >= st->second.size()) {
			w.status = Word::Status::unresolved;
			w.why = "relocation against a symbol index out of range";
			return w;
		}
		const RelSym &sym = st->second[r.sym];
		if (!sym.defined) {
			w.status = Word::Status::unresolved;
			w.why = "relocation against undefined symbol " + (sym.name.empty() ? "#" + std::to_string(r.sym) : sym.name);
			return w;
		}
		w.status = Word::Status::ok;
		w.value = sym.addr + addend;  // wraps like the linker's arithmetic
		return w;
	}
	case RelKind::other:
		break;
	}
	w.status = Word::Status::unresolved;
	w.why = "unsupported relocation type " + std::to_string(r.type);
	return w;
}

void ElfImage::read_symbols()
{
	// .symtab if present (full), else .dynsym (what strip leaves).
	const Section *tab = nullptr;
	for (const Section &s : sections_)
		if (s.type == SHT_SYMTAB) {
			tab = &s;
			break;
		}
	if (!tab)
		for (const Section &s : sections_)
			if (s.type == SHT_DYNSYM) {
				tab = &s;
				break;
			}
	if (!tab)
		return;
	Elf_Scn *scn = elf_getscn(elf_, tab->index);
	Elf_Data *d = scn ? elf_getdata(scn, nullptr) : nullptr;
	if (!d)
		return;
	Elf_Data *xndx = nullptr;
	for (const Section &s : sections_)
		if (s.type == SHT_SYMTAB_SHNDX && s.link == tab->index)
			xndx = elf_getdata(elf_getscn(elf_, s.index), nullptr);
	size_t n = std::min<size_t>(d->d_size / sizeof(Elf64_Sym), kMaxSymbols);
	for (size_t i = 1; i < n; i++) {
		GElf_Sym sym;
		Elf32_Word shndx_ext = 0;
		if (!gelf_getsymshndx(d, xndx, static_cast<int>(i), &sym, &shndx_ext))
			continue;
		unsigned char type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || sym.st_shndx == SHN_COMMON)
			continue;
		const char *name = elf_strptr(elf_, tab->link, sym.st_name);
		// Skip unnamed symbols, assembler locals and aarch64 mapping symbols ($x, $d).
		if (!name || !*name || name[0] == '$' || (name[0] == '.' && name[1] == 'L'))
			continue;
		Symbol s;
		s.name = name;
		s.size = sym.st_size;
		s.type = type;
		s.bind = GELF_ST_BIND(sym.st_info);
		if (kind_ == Kind::relocatable) {
			size_t shndx = sym.st_shndx == SHN_XINDEX ? shndx_ext : sym.st_shndx;
			const Section *sec = section_by_index(shndx);
			if (!sec || !sec->mapped || add_overflows(sec->addr, sym.st_value, &s.addr))
				continue;
		} else {
			s.addr = sym.st_value;
		}
		if ((type == STT_FUNC || type == STT_GNU_IFUNC) && s.size > 0)
			functions_.push_back(s);
		symbols_.push_back(std::move(s));
	}
	auto by_addr = [](const Symbol &a, const Symbol &b) {
		if (a.addr != b.addr)
			return a.addr < b.addr;
		// Among aliases prefer functions, then globals, then the name for stability.
		if ((a.type == STT_FUNC) != (b.type == STT_FUNC))
			return a.type == STT_FUNC;
		if ((a.bind == STB_GLOBAL) != (b.bind == STB_GLOBAL))
			return a.bind == STB_GLOBAL;
		return a.name < b.name;
	};
	std::sort(symbols_.begin(), symbols_.end(), by_addr);
	std::sort(functions_.begin(), functions_.end(), by_addr);
}

std::optional<ElfImage::NamedSymbol> ElfImage::lookup_symbol(std::string_view name) const
{
	for (uint32_t want : {uint32_t(SHT_DYNSYM), uint32_t(SHT_SYMTAB)}) {
		for (const Section &tab : sections_) {
			if (tab.type != want)
				continue;
			Elf_Scn *scn = elf_getscn(elf_, tab.index);
			Elf_Data *d = scn ? elf_getdata(scn, nullptr) : nullptr;
			if (!d)
				continue;
			size_t n = std::min<size_t>(d->d_size / sizeof(Elf64_Sym), kMaxSymbols);
			for (size_t i = 1; i < n; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(d, static_cast<int>(i), &sym) || sym.st_shndx == SHN_UNDEF)
					continue;
				const char *sname = elf_strptr(elf_, tab.link, sym.st_name);
				if (sname && name == sname)
					return NamedSymbol{sym.st_value, sym.st_size, static_cast<unsigned char>(GELF_ST_TYPE(sym.st_info))};
			}
		}
	}
	return std::nullopt;
}

std::vector<GElf_Phdr> ElfImage::program_headers() const
{
	std::vector<GElf_Phdr> out;
	size_t phnum = 0;
	if (elf_getphdrnum(elf_, &phnum) != 0)
		return out;
	for (size_t i = 0; i < phnum && i < 65536; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf_, static_cast<int>(i), &ph))
			out.push_back(ph);
	}
	return out;
}

const Symbol *ElfImage::function_containing(uint64_t addr) const
{
	auto it = std::upper_bound(functions_.begin(), functions_.end(), addr,
				   [](uint64_t a, const Symbol &s) { return a < s.addr; });
	// Functions rarely nest; a bounded look back covers aliases and nesting.
	for (int steps = 0; it != functions_.begin() && steps < 64; steps++) {
		--it;
		uint64_t end;
		if (add_overflows(it->addr, it->size, &end))
			end = UINT64_MAX;
		if (addr < end)
			return &*it;
	}
	return nullptr;
}

std::string ElfImage::symbolize(uint64_t addr) const
{
	const Symbol *best = function_containing(addr);
	if (!best) {
		auto it = std::upper_bound(symbols_.begin(), symbols_.end(), addr,
					   [](uint64_t a, const Symbol &s) { return a < s.addr; });
		if (it == symbols_.begin())
			return "";
		// The nearest symbol at or before addr, if it lies in the same section.
		uint64_t at = std::prev(it)->addr;
		auto first = std::lower_bound(symbols_.begin(), it, at,
					      [](const Symbol &s, uint64_t a) { return s.addr < a; });
		const Section *sa = section_containing(addr);
		if (!sa || section_containing(at) != sa)
			return "";
		best = &*first;
	}
	uint64_t off = addr - best->addr;
	return off ? best->name + "+" + hex(off) : best->name;
}

}  // namespace rseqinspect
