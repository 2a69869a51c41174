// SPDX-License-Identifier: MIT
// rseq-inspect: a read-only view of one ELF file (executable, shared object or
// relocatable object, x86_64 or aarch64, little-endian, 64-bit) through libelf.
//
// Everything here treats the file as hostile: every offset, size, index and count
// comes from the file and is checked before use; nothing is trusted to fit.
//
// Addresses: in executables and shared objects an address is the link-time virtual
// address.  A relocatable object has none, so each allocated section gets a synthetic
// page-aligned base (in section-index order, a page apart) and an address is that base
// plus the offset; display_place() turns it back into "section+offset".  Page-aligned
// bases keep every address's low bits equal to its offset's, so alignment checks hold.
#ifndef RSEQ_INSPECT_ELF_IMAGE_H
#define RSEQ_INSPECT_ELF_IMAGE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <gelf.h>
#include <libelf.h>

namespace rseqinspect {

enum class Arch { x86_64, aarch64 };
enum class Kind { executable, pie, shared, relocatable };

const char *arch_name(Arch arch);
const char *kind_name(Kind kind);

struct Section {
	size_t index = 0;
	std::string name;
	uint32_t type = 0;
	uint64_t flags = 0;
	uint64_t addr = 0;      // see the comment at the top (synthetic in relocatable objects)
	uint64_t size = 0;
	uint64_t align = 0;
	uint32_t link = 0;
	uint32_t info = 0;
	bool mapped = false;    // allocated and given an address range [addr, addr + size)
	uint64_t end() const;   // addr + size, saturated

	bool executable() const { return (flags & SHF_EXECINSTR) != 0; }
};

struct Symbol {
	std::string name;
	uint64_t addr = 0;
	uint64_t size = 0;
	unsigned char type = 0;
	unsigned char bind = 0;
};

// A 64-bit word read at some address, with the relocation that applies to it resolved.
struct Word {
	enum class Status { ok, unreadable, unresolved };
	Status status = Status::unreadable;
	uint64_t value = 0;
	std::string why;  // for unreadable/unresolved: a phrase ("undefined symbol foo")

	bool ok() const { return status == Status::ok; }
};

// Where an address lies, for messages: section and offset, or nothing.
struct Place {
	const Section *section = nullptr;
	uint64_t offset = 0;
};

class ElfImage {
public:
	// Both return null and set *error to a short phrase ("not an ELF file") on failure.
	// from_fd takes ownership of fd (a regular file); from_memory copies nothing more
	// than it is given.
	static std::unique_ptr<ElfImage> from_fd(int fd, std::string *error);
	static std::unique_ptr<ElfImage> from_memory(std::vector<uint8_t> bytes, std::string *error);
	~ElfImage();
	ElfImage(const ElfImage &) = delete;
	ElfImage &operator=(const ElfImage &) = delete;

	Arch arch() const { return arch_; }
	Kind kind() const { return kind_; }
	bool relocatable() const { return kind_ == Kind::relocatable; }
	Elf *elf() const { return elf_; }
	int fd() const { return fd_; }
	// The in-memory image for from_memory (else empty).
	std::vector<uint8_t> &memory() { return memory_; }

	const std::vector<Section> &sections() const { return sections_; }
	const Section *section_named(std::string_view name) const;
	const Section *section_by_index(size_t index) const;
	// The mapped section whose range holds addr; prefers sections with file data.
	const Section *section_containing(uint64_t addr) const;
	Place place(uint64_t addr) const;
	// "0x1139" in linked files, ".text+0x1b" in relocatable objects.
	std::string display_place(uint64_t addr) const;
	// The address as shown in JSON: the address, or the offset within its section
	// in relocatable objects.
	uint64_t display_address(uint64_t addr) const;

	// True if the file has any of the rseq sections; only then is load_tables() worth it.
	bool has_rseq_sections() const;
	// Reads relocations and symbols (once).  Cheap to call again.
	void load_tables();

	// Raw bytes from the file at [addr, addr + n), all inside one section with data.
	bool read(uint64_t addr, size_t n, uint8_t *out) const;
	std::optional<uint64_t> read_u64_raw(uint64_t addr) const;
	std::optional<uint32_t> read_u32_raw(uint64_t addr) const;
	// A pointer-sized field: relocation applied (see Word).
	Word read_pointer(uint64_t addr) const;
	// Whether any relocation applies within [addr, addr + n).
	bool has_relocation(uint64_t addr, size_t n) const;
	// A NUL-terminated string of at most max bytes starting at addr.
	std::optional<std::string> read_string(uint64_t addr, size_t max) const;
	// Raw bytes of a whole section (null if it has no data in the file).
	const uint8_t *section_data(const Section &s, size_t *size) const;

	// A defined symbol by name, from .dynsym, else .symtab (any type, TLS included;
	// the raw st_value).  Independent of load_tables().
	struct NamedSymbol {
		uint64_t value = 0;
		uint64_t size = 0;
		unsigned char type = 0;
	};
	std::optional<NamedSymbol> lookup_symbol(std::string_view name) const;
	// The program headers (empty for relocatable objects).
	std::vector<GElf_Phdr> program_headers() const;

	// A function symbol (with a size) whose range holds addr.
	const Symbol *function_containing(uint64_t addr) const;
	// "name+0x12" for the nearest symbol at or before addr in the same section, or "".
	std::string symbolize(uint64_t addr) const;

private:
	ElfImage() = default;
	bool init(std::string *error);
	void read_sections();
	void read_relocations();
	void read_symbols();
	struct RelSym {
		bool defined = false;
		uint64_t addr = 0;
		std::string name;
	};
	void load_relocation_symbols(uint32_t symtab_index);

	struct Reloc {
		uint32_t type = 0;
		uint32_t symtab = 0;   // section index of the symbol table
		uint64_t sym = 0;
		int64_t addend = 0;
		bool has_addend = false;
	};

	int fd_ = -1;
	Elf *elf_ = nullptr;
	std::vector<uint8_t> memory_;
	Arch arch_ = Arch::x86_64;
	Kind kind_ = Kind::executable;
	std::vector<Section> sections_;
	std::vector<ptrdiff_t> pos_by_index_;  // ELF section index -> position in sections_, or -1
	std::vector<size_t> by_addr_;        // mapped non-empty sections sorted by addr
	std::vector<uint64_t> max_end_;      // running maximum of end() along by_addr_
	bool tables_loaded_ = false;
	std::unordered_map<uint64_t, Reloc> relocs_;
	std::unordered_map<uint32_t, std::vector<RelSym>> relsyms_;
	std::vector<Symbol> symbols_;        // sorted by addr; no section/file symbols
	std::vector<Symbol> functions_;      // FUNC symbols with a size, sorted by addr
	mutable std::unordered_map<size_t, std::pair<const uint8_t *, size_t>> data_cache_;
};

}  // namespace rseqinspect

#endif
