// SPDX-License-Identifier: MIT
// Reads the sequence tables of this very test binary (section headers of its file,
// contents from memory, so relocations are applied) and checks every
// descriptor the DSL emitted: alignment, version, flags, abort_ip outside the sequence
// and inside __rseq_failure, the signature right before abort_ip, one pointer in
// __rseq_cs_ptr_array, at least one exit, one name record, and (x86_64) that the last
// instruction of the sequence is the commit store.
#include <rseqkit/rseqkit.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <elf.h>
#include <link.h>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

struct section {
	uintptr_t addr = 0;  // run-time address
	size_t size = 0;
	uint64_t align = 0;
	bool found = false;
};

struct image {
	std::map<std::string, section> sections;
	uintptr_t bias = 0;

	const section &get(const char *name) { return sections[name]; }
	bool contains(const char *name, uintptr_t a) const
	{
		auto it = sections.find(name);
		return it != sections.end() && a >= it->second.addr && a < it->second.addr + it->second.size;
	}
};

int find_bias(struct dl_phdr_info *info, size_t, void *data)
{
	// The first object is the main program.
	*static_cast<uintptr_t *>(data) = info->dlpi_addr;
	return 1;
}

// The file this code was loaded from, as /proc/self/maps names it.  Not
// /proc/self/exe: run through an explicit loader (the glibc matrix runs every test
// under other glibc versions' ld.so), that is the loader.
std::string own_file()
{
	const uintptr_t here = reinterpret_cast<uintptr_t>(&find_bias);
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return "";
	std::string found;
	char line[4096];
	while (found.empty() && fgets(line, sizeof line, maps)) {
		unsigned long lo, hi;
		int path = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path) >= 2 && path > 0 && here >= lo &&
		    here < hi && line[path] == '/') {
			found = line + path;
			found.erase(found.find_last_not_of('\n') + 1);
		}
	}
	fclose(maps);
	return found;
}

bool load_image(image &img)
{
	dl_iterate_phdr(find_bias, &img.bias);
	const std::string file = own_file();
	FILE *f = file.empty() ? nullptr : fopen(file.c_str(), "rb");
	if (!f)
		return false;
	Elf64_Ehdr eh;
	bool ok = fread(&eh, sizeof(eh), 1, f) == 1 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
		  eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_shentsize == sizeof(Elf64_Shdr);
	std::vector<Elf64_Shdr> sh(ok ? eh.e_shnum : 0);
	ok = ok && fseek(f, static_cast<long>(eh.e_shoff), SEEK_SET) == 0 &&
	     fread(sh.data(), sizeof(Elf64_Shdr), sh.size(), f) == sh.size() && eh.e_shstrndx < sh.size();
	std::vector<char> names;
	if (ok) {
		const Elf64_Shdr &s = sh[eh.e_shstrndx];
		names.resize(s.sh_size + 1);
		ok = fseek(f, static_cast<long>(s.sh_offset), SEEK_SET) == 0 &&
		     fread(names.data(), 1, s.sh_size, f) == s.sh_size;
	}
	fclose(f);
	if (!ok)
		return false;
	for (const Elf64_Shdr &s : sh) {
		if (!(s.sh_flags & SHF_ALLOC) || s.sh_name >= names.size())
			continue;
		section &out = img.sections[&names[s.sh_name]];
		out.addr = img.bias + s.sh_addr;
		out.size = s.sh_size;
		out.align = s.sh_addralign;
		out.found = true;
	}
	return true;
}

struct descriptor {
	uint32_t version, flags;
	uint64_t start_ip, post_commit_offset, abort_ip;
};
static_assert(sizeof(descriptor) == 32, "struct rseq_cs");

#if defined(__x86_64__)
// Length of a 64-bit store `mov %reg, mem` (REX.W 89 /r) or `mov $imm32, mem`
// (REX.W C7 /0 id) starting at p, or 0 when p holds something else.
size_t store_length(const uint8_t *p)
{
	if ((p[0] & 0xf8) != 0x48)
		return 0;
	bool imm = p[1] == 0xc7;
	if (p[1] != 0x89 && !imm)
		return 0;
	uint8_t modrm = p[2], mod = modrm >> 6, rm = modrm & 7;
	if (mod == 3 || (imm && ((modrm >> 3) & 7) != 0))
		return 0;
	size_t n = 3;
	if (rm == 4) {  // SIB
		uint8_t base = p[3] & 7;
		++n;
		if (mod == 0 && base == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4;  // RIP-relative
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n + (imm ? 4 : 0);
}

// True when the bytes just before `end` are exactly one such store.
bool ends_with_store(uintptr_t begin, uintptr_t end)
{
	for (size_t k = 3; k <= 12 && end - k >= begin; ++k)
		if (store_length(reinterpret_cast<const uint8_t *>(end - k)) == k)
			return true;
	return false;
}
#endif

bool is_identifier(const char *s)
{
	if (!*s || !(isalpha(static_cast<unsigned char>(*s)) || *s == '_'))
		return false;
	for (; *s; ++s)
		if (!(isalnum(static_cast<unsigned char>(*s)) || *s == '_'))
			return false;
	return true;
}

// The sequences this binary instantiates: every percpu.h operation, in both kinds and
// (where it has one) both orders, and the DSL tests' own.
std::set<std::string> expected_names()
{
	std::set<std::string> want;
	const char *plain[] = {"add", "store_if_eq", "store_if_ne", "pop_if_ne", "deref_add"};
	const char *ordered[] = {"store_store_if_eq", "store_store_if_ne", "memcpy_store_if_eq",
				 "memcpy_store_if_ne"};
	for (const char *kind : {"cpu_id", "mm_cid"}) {
		for (const char *op : plain)
			want.insert(std::string("rseqkit_percpu_") + op + "_" + kind);
		for (const char *op : ordered)
			for (const char *mo : {"relaxed", "release"})
				want.insert(std::string("rseqkit_percpu_") + op + "_" + mo + "_" + kind);
	}
	for (const char *name : {"cs_test_steps", "cs_test_commit_at_release", "cs_test_commit_value", "cs_test_exits"})
		want.insert(name);
#if defined(__x86_64__)
	want.insert("cs_test_trap");
#endif
	return want;
}

TEST(Table, EveryDescriptorOfThisBinary)
{
	image img;
	ASSERT_TRUE(load_image(img));
	for (const char *name : {"__rseq_cs", "__rseq_cs_ptr_array", "__rseq_exit_point_array", "__rseq_failure",
				 "__rseqkit_names", "__rseqkit_strings"})
		ASSERT_TRUE(img.get(name).found) << name << " missing";
	const section &cs = img.get("__rseq_cs");
	ASSERT_EQ(cs.addr % 32, 0u);
	ASSERT_GE(cs.align, 32u);
	ASSERT_EQ(cs.size % 32, 0u);
	const size_t n = cs.size / 32;
	ASSERT_GT(n, 0u);
	const descriptor *d = reinterpret_cast<const descriptor *>(cs.addr);

	// Pointers: one per descriptor, each to a distinct descriptor.
	const section &ptrs = img.get("__rseq_cs_ptr_array");
	ASSERT_EQ(ptrs.size, n * 8);
	std::set<uintptr_t> pointed;
	for (size_t k = 0; k < n; ++k) {
		uintptr_t p = reinterpret_cast<const uint64_t *>(ptrs.addr)[k];
		EXPECT_TRUE(p >= cs.addr && p < cs.addr + cs.size && (p - cs.addr) % 32 == 0) << std::hex << p;
		pointed.insert(p);
	}
	EXPECT_EQ(pointed.size(), n);

	// Exits: (start_ip, exit_ip) pairs naming a descriptor's start, landing outside it.
	std::map<uintptr_t, const descriptor *> by_start;
	for (size_t k = 0; k < n; ++k)
		by_start[d[k].start_ip] = &d[k];
	EXPECT_EQ(by_start.size(), n) << "two descriptors share a start_ip";
	const section &exits = img.get("__rseq_exit_point_array");
	ASSERT_EQ(exits.size % 16, 0u);
	std::map<uintptr_t, int> exit_count;
	for (size_t k = 0; k < exits.size / 16; ++k) {
		const uint64_t *e = reinterpret_cast<const uint64_t *>(exits.addr) + 2 * k;
		auto it = by_start.find(e[0]);
		ASSERT_NE(it, by_start.end()) << "exit for an unknown start_ip " << std::hex << e[0];
		const descriptor &x = *it->second;
		EXPECT_FALSE(e[1] >= x.start_ip && e[1] < x.start_ip + x.post_commit_offset)
			<< "exit inside its sequence";
		EXPECT_TRUE(img.contains(".text", e[1])) << std::hex << e[1];
		exit_count[e[0]]++;
	}

	// Names: one record per descriptor, each a C identifier in __rseqkit_strings.
	const section &names = img.get("__rseqkit_names");
	const section &strings = img.get("__rseqkit_strings");
	ASSERT_EQ(names.addr % 8, 0u);
	ASSERT_EQ(names.size, n * 16);
	std::map<uintptr_t, std::string> name_of;
	std::set<std::string> seen_names;
	for (size_t k = 0; k < n; ++k) {
		const uint64_t *r = reinterpret_cast<const uint64_t *>(names.addr) + 2 * k;
		ASSERT_TRUE(r[0] >= cs.addr && r[0] < cs.addr + cs.size && (r[0] - cs.addr) % 32 == 0);
		ASSERT_TRUE(r[1] >= strings.addr && r[1] < strings.addr + strings.size);
		const char *s = reinterpret_cast<const char *>(r[1]);
		ASSERT_NE(memchr(s, 0, strings.addr + strings.size - r[1]), nullptr);
		EXPECT_TRUE(is_identifier(s)) << s;
		EXPECT_TRUE(name_of.emplace(r[0], s).second) << "two records for one descriptor";
		seen_names.insert(s);
	}

	for (size_t k = 0; k < n; ++k) {
		const descriptor &x = d[k];
		uintptr_t self = cs.addr + 32 * k;
		SCOPED_TRACE(name_of[self]);
		EXPECT_EQ(x.version, 0u);
		EXPECT_EQ(x.flags, 0u);
		EXPECT_TRUE(img.contains(".text", x.start_ip));
		EXPECT_GT(x.post_commit_offset, 0u);
		EXPECT_LT(x.post_commit_offset, 4096u);
		EXPECT_TRUE(img.contains(".text", x.start_ip + x.post_commit_offset - 1));
		EXPECT_FALSE(x.abort_ip >= x.start_ip && x.abort_ip < x.start_ip + x.post_commit_offset);
		EXPECT_TRUE(img.contains("__rseq_failure", x.abort_ip));
		uint32_t sig;
		memcpy(&sig, reinterpret_cast<const void *>(x.abort_ip - 4), 4);
		EXPECT_EQ(sig, RSEQKIT_SIG);
		EXPECT_EQ(pointed.count(self), 1u);
		EXPECT_GE(exit_count[x.start_ip], 1) << "no exit recorded";
		EXPECT_EQ(name_of.count(self), 1u) << "no name record";
#if defined(__x86_64__)
		const uint8_t *a = reinterpret_cast<const uint8_t *>(x.abort_ip);
		EXPECT_EQ(memcmp(a - 7, "\x0f\xb9\x3d", 3), 0) << "signature is not a ud1";
		// The abort handler jumps away (jmp rel32 or rel8).
		EXPECT_TRUE(a[0] == 0xe9 || a[0] == 0xeb);
		EXPECT_TRUE(ends_with_store(x.start_ip, x.start_ip + x.post_commit_offset))
			<< "the last instruction of the sequence is not a 64-bit store";
#endif
	}

	for (const std::string &want : expected_names())
		EXPECT_EQ(seen_names.count(want), 1u) << want << " not in the table";
	printf("%zu descriptors, %zu names, %zu exits\n", n, seen_names.size(), exits.size / 16);
}

}  // namespace
