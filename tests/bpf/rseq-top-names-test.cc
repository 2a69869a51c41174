// SPDX-License-Identifier: MIT
// rseq-top's naming of sequences, without BPF: name records read from ELF files as
// linked (RELA, RELR, non-PIE; built three ways), symbol+offset fallback, libraries
// loaded after the first look, names after the process is gone, refused snapshots.
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "names.h"
#include "symbols.h"

// A function with two sequences that never run: one with a name record, one without.
asm(R"(
	.pushsection __rseq_cs, "aw"
	.balign 32
gt_named_cs:
	.long 0, 0
	.quad gt_named_start, 4, gt_named_abort
	.balign 32
gt_plain_cs:
	.long 0, 0
	.quad gt_plain_start, 4, gt_plain_abort
	.popsection
	.pushsection __rseq_cs_ptr_array, "aw"
	.balign 8
	.quad gt_named_cs, gt_plain_cs
	.popsection
	.pushsection __rseqkit_names, "aw"
	.balign 8
	.quad gt_named_cs, gt_named_name
	.popsection
	.pushsection __rseqkit_strings, "aMS", @progbits, 1
gt_named_name:
	.asciz "gt_named"
	.popsection
	.text
	.globl gt_code
	.hidden gt_code
	.type gt_code, @function
gt_code:
	nop
	.globl gt_named_start
	.hidden gt_named_start
gt_named_start:
	nop; nop; nop; nop
	.globl gt_plain_start
	.hidden gt_plain_start
gt_plain_start:
	nop; nop; nop; nop
	ret
	.size gt_code, .-gt_code
	.pushsection __rseq_failure, "ax"
	.byte 0x0f, 0xb9, 0x3d
	.long 0x53053053
gt_named_abort:
	ud2
	.byte 0x0f, 0xb9, 0x3d
	.long 0x53053053
gt_plain_abort:
	ud2
	.popsection
)");

extern "C" const char gt_named_start[] __attribute__((visibility("hidden")));
extern "C" const char gt_plain_start[] __attribute__((visibility("hidden")));
extern "C" const char gt_code[] __attribute__((visibility("hidden")));

namespace {

using rseqtop::NameRecord;
using rseqtop::read_name_records;
using rseqtop::Symbolizer;

uint64_t main_bias()
{
	uint64_t bias = 0;
	dl_iterate_phdr(
		[](struct dl_phdr_info *info, size_t, void *data) {
			*static_cast<uint64_t *>(data) = info->dlpi_addr;  // the first is the program
			return 1;
		},
		&bias);
	return bias;
}

std::string self_path()
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

bool records_of(const std::string &path, std::vector<NameRecord> *out, std::string *error)
{
	elf_version(EV_CURRENT);
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error = "cannot open " + path;
		return false;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ, nullptr);
	bool ok = elf && read_name_records(elf, out, error);
	if (!elf)
		*error = "not ELF";
	if (elf)
		elf_end(elf);
	close(fd);
	return ok;
}

TEST(NameRecords, OwnExecutable)
{
	std::vector<NameRecord> recs;
	std::string error;
	ASSERT_TRUE(records_of(self_path(), &recs, &error)) << error;
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].name, "gt_named");
	EXPECT_EQ(recs[0].start_ip + main_bias(), reinterpret_cast<uint64_t>(gt_named_start));
}

// In a PIE the in-place words are only a courtesy of GNU ld (lld leaves zeros): with
// them zeroed, the RELA relocations alone must give the same records.
TEST(NameRecords, RelocationsAloneInPie)
{
	const std::string self = self_path();
	std::ifstream in(self, std::ios::binary);
	std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	ASSERT_FALSE(bytes.empty());
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory(bytes.data(), bytes.size());
	ASSERT_NE(elf, nullptr);
	GElf_Ehdr eh;
	ASSERT_NE(gelf_getehdr(elf, &eh), nullptr);
	size_t shstrndx;
	ASSERT_EQ(elf_getshdrstrndx(elf, &shstrndx), 0);
	bool has_rela = false, has_relr = false;
	std::vector<std::pair<uint64_t, uint64_t>> zero;  // file ranges to clear
	for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!std::strcmp(name, "__rseqkit_names"))
			zero.emplace_back(sh.sh_offset, sh.sh_size);
		if (!std::strcmp(name, "__rseq_cs"))
			for (uint64_t off = 8; off + 8 <= sh.sh_size; off += 32)
				zero.emplace_back(sh.sh_offset + off, 8);  // start_ip fields
		if (!std::strcmp(name, ".rela.dyn"))
			has_rela = true;
		if (sh.sh_type == SHT_RELR)
			has_relr = true;  // RELR keeps the addends in place: nothing to test here
	}
	elf_end(elf);
	if (eh.e_type != ET_DYN || !has_rela || has_relr)
		GTEST_SKIP() << "not a PIE with RELA relocations (RELR or non-PIE build)";
	for (auto &z : zero)
		std::memset(bytes.data() + z.first, 0, z.second);
	elf = elf_memory(bytes.data(), bytes.size());
	std::vector<NameRecord> recs;
	std::string error;
	ASSERT_TRUE(read_name_records(elf, &recs, &error)) << error;
	elf_end(elf);
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].name, "gt_named");
	EXPECT_EQ(recs[0].start_ip + main_bias(), reinterpret_cast<uint64_t>(gt_named_start));
}

TEST(NameRecords, ObjectWithoutRecords)
{
	std::vector<NameRecord> recs;
	std::string error;
	ASSERT_TRUE(records_of("/bin/sh", &recs, &error)) << error;
	EXPECT_TRUE(recs.empty());
}

TEST(NameRecords, NotElf)
{
	elf_version(EV_CURRENT);
	char garbage[4096];
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = static_cast<char>(i * 7 + 3);
	std::memcpy(garbage, "\x7f" "ELF\x02\x01\x01", 7);  // looks like ELF, is not
	Elf *elf = elf_memory(garbage, sizeof(garbage));
	std::vector<NameRecord> recs;
	std::string error;
	if (elf) {
		EXPECT_FALSE(read_name_records(elf, &recs, &error) && !recs.empty());
		elf_end(elf);
	}
}

TEST(Symbolizer, NameRecordThenSymbol)
{
	Symbolizer sym([](uint32_t, uint32_t) { return true; });
	const uint32_t pid = static_cast<uint32_t>(getpid());
	EXPECT_EQ(sym.name(pid, 1, reinterpret_cast<uint64_t>(gt_named_start)), "gt_named");
	const uint64_t off = reinterpret_cast<uint64_t>(gt_plain_start) - reinterpret_cast<uint64_t>(gt_code);
	char want[64];
	std::snprintf(want, sizeof(want), "gt_code+0x%llx", (unsigned long long)off);
	EXPECT_EQ(sym.name(pid, 1, reinterpret_cast<uint64_t>(gt_plain_start)).substr(0, std::strlen(want)), want);
	// Not in any object: the address.
	EXPECT_EQ(sym.name(pid, 1, 0x10), "0x10");
}

TEST(Symbolizer, FileAndLineWithDebugInfo)
{
	Symbolizer sym([](uint32_t, uint32_t) { return true; });
	// A C++ function of this file, compiled with -g.
	const uint64_t addr = reinterpret_cast<uint64_t>(&main_bias) + 1;
	const std::string name = sym.name(static_cast<uint32_t>(getpid()), 1, addr);
	EXPECT_NE(name.find("main_bias"), std::string::npos) << name;
	EXPECT_NE(name.find("(rseq-top-names-test.cc:"), std::string::npos) << name;
}

TEST(Symbolizer, LibraryLoadedLater)
{
	Symbolizer sym([](uint32_t, uint32_t) { return true; });
	const uint32_t pid = static_cast<uint32_t>(getpid());
	ASSERT_EQ(sym.name(pid, 7, reinterpret_cast<uint64_t>(gt_named_start)), "gt_named");  // snapshot
	const char *builddir = std::getenv("RSEQKIT_BUILDDIR");
	ASSERT_NE(builddir, nullptr);
	std::string lib = std::string(builddir) + "/tests/bpf/.libs/abort-workload-lib.so";
	void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
	ASSERT_NE(h, nullptr) << dlerror();
	struct cs {
		uint32_t version, flags;
		uint64_t start_ip, post_commit_offset, abort_ip;
	};
	auto desc = reinterpret_cast<const cs *(*)()>(dlsym(h, "wl_lib_descriptor"));
	ASSERT_NE(desc, nullptr);
	EXPECT_EQ(sym.name(pid, 7, desc()->start_ip), "t_lib");
}

TEST(Symbolizer, NamesAfterExit)
{
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		char c = 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	Symbolizer sym([](uint32_t, uint32_t) { return true; });
	// The child has this program's layout (fork): look once while it lives.
	EXPECT_EQ(sym.name(static_cast<uint32_t>(child), 3, reinterpret_cast<uint64_t>(gt_named_start)), "gt_named");
	kill(child, SIGKILL);
	waitpid(child, nullptr, 0);
	sym.end_image(static_cast<uint32_t>(child), 3);
	EXPECT_EQ(sym.name(static_cast<uint32_t>(child), 3, reinterpret_cast<uint64_t>(gt_plain_start)).substr(0, 8),
		  "gt_code+");
	close(ready[0]);
	close(ready[1]);
}

TEST(Symbolizer, RefusesAnotherImage)
{
	// After exec or PID reuse the maps belong to another image: addresses only.
	Symbolizer sym([](uint32_t, uint32_t) { return false; });
	const uint64_t a = reinterpret_cast<uint64_t>(gt_named_start);
	EXPECT_EQ(sym.name(static_cast<uint32_t>(getpid()), 1, a), rseqtop::hex_address(a));
}

TEST(Symbolizer, BoundedOpenObjects)
{
	Symbolizer sym([](uint32_t, uint32_t) { return true; }, 2);
	EXPECT_EQ(sym.name(static_cast<uint32_t>(getpid()), 1, reinterpret_cast<uint64_t>(gt_named_start)), "gt_named");
	EXPECT_LE(sym.open_objects(), 2u);
	EXPECT_GE(sym.objects(), 3u);  // this program, libc, ld.so at least
	// Closed objects still give their names and symbols.
	EXPECT_EQ(sym.name(static_cast<uint32_t>(getpid()), 1, reinterpret_cast<uint64_t>(gt_named_start)), "gt_named");
	EXPECT_NE(sym.name(static_cast<uint32_t>(getpid()), 1, reinterpret_cast<uint64_t>(dlsym(RTLD_DEFAULT, "malloc"))).find("malloc"),
		  std::string::npos);
	EXPECT_LE(sym.open_objects(), 2u);
}

}  // namespace
