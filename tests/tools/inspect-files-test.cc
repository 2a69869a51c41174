// SPDX-License-Identifier: MIT
// rseq-inspect FILE mode: good fixtures list every sequence by name and exit 0, each
// planted defect is reported on the right sequence with its own check and exit 1,
// bad input exits 2 with one line, and the results agree with binutils' readelf.
// Also the -p error paths that need no particular registration mode, the man page,
// and the sanitizer build over every fixture and thousands of corrupted copies.
//
// The fixtures are built by tests/tools/make-fixtures.sh into
// $RSEQKIT_BUILDDIR/tests/tools/fixtures-built before this test runs (make check).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "json-mini.h"
#include "run-process.h"

namespace {

std::string env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

const std::string builddir = env_or("RSEQKIT_BUILDDIR", ".");
const std::string srcdir = env_or("RSEQKIT_SRCDIR", ".");
const std::string tool = builddir + "/tools/rseq-inspect/rseq-inspect";
const std::string asan_tool = builddir + "/tools/rseq-inspect/rseq-inspect-asan";
const std::string fixtures = builddir + "/tests/tools/fixtures-built";

std::vector<std::string> archs()
{
	std::vector<std::string> a;
#if defined(__x86_64__)
	a.push_back("x86_64");
#endif
#ifdef RSEQ_INSPECT_AARCH64
	a.push_back("aarch64");
#endif
	return a;
}

std::string fx(const std::string &name)
{
	return fixtures + "/" + name;
}

bool exists(const std::string &path)
{
	struct stat st;
	return stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

void write_file(const std::string &path, const std::string &data)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out << data;
}

// A fresh directory under the build tree, removed by the destructor.
struct TempDir {
	std::string path;
	TempDir()
	{
		std::string tmpl = builddir + "/tests/tools/inspect-tmp-XXXXXX";
		std::vector<char> buf(tmpl.begin(), tmpl.end());
		buf.push_back(0);
		path = mkdtemp(buf.data());
	}
	~TempDir() { testproc::run({"rm", "-rf", path}); }
};

struct Inspection {
	testproc::Result run;
	jsonmini::Value json;
	bool parsed = false;
};

Inspection inspect(std::vector<std::string> args, const std::string &binary = tool)
{
	Inspection i;
	args.insert(args.begin(), binary);
	i.run = testproc::run(args);
	EXPECT_FALSE(i.run.timed_out) << args[1];
	bool json = std::find(args.begin(), args.end(), "--json") != args.end();
	if (json) {
		try {
			i.json = jsonmini::parse(i.run.out);
			i.parsed = true;
		} catch (const std::exception &e) {
			ADD_FAILURE() << "invalid JSON from rseq-inspect: " << e.what() << "\n" << i.run.out;
		}
	}
	return i;
}

const jsonmini::Value *find_sequence(const jsonmini::Value &file, const std::string &name)
{
	for (const jsonmini::Value &s : file["sequences"].items)
		if (s["name"].str() == name)
			return &s;
	return nullptr;
}

std::set<std::string> checks_of(const jsonmini::Value &defects)
{
	std::set<std::string> out;
	for (const jsonmini::Value &d : defects.items)
		out.insert(d["check"].str());
	return out;
}

// Line number (1-based) of the line after the first line containing needle.
int line_after(const std::string &path, const std::string &needle)
{
	std::ifstream in(path);
	std::string line;
	for (int n = 1; std::getline(in, line); n++)
		if (line.find(needle) != std::string::npos)
			return n + 1;
	return -1;
}

int line_of(const std::string &path, const std::string &needle)
{
	int n = line_after(path, needle);
	return n < 0 ? -1 : n - 1;
}

bool ends_with(const std::string &s, const std::string &suffix)
{
	return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t parse_hex(const std::string &s)
{
	return std::stoull(s, nullptr, 16);
}

class Environment : public ::testing::Environment {
public:
	void SetUp() override
	{
		ASSERT_TRUE(exists(tool)) << tool << " is not built";
		ASSERT_TRUE(exists(fx("good-" + archs().front() + ".o")))
			<< "fixtures missing in " << fixtures << " (make check builds them)";
	}
};
const auto *env = ::testing::AddGlobalTestEnvironment(new Environment);

// ---- Good fixtures ----

struct GoodCase {
	std::string file;
	std::string arch;
	std::string type;       // relocatable pie shared executable
	bool dwarf;             // file_line expected for the .S sequences
	std::string third;      // name_source of the unnamed sequence: symbol or address
};

std::vector<GoodCase> good_cases()
{
	std::vector<GoodCase> c;
	for (const std::string &a : archs()) {
		c.push_back({"good-" + a + ".o", a, "relocatable", false, "symbol"});
		c.push_back({"good-" + a + "-g.o", a, "relocatable", true, "symbol"});
		c.push_back({"good-" + a + "-pie", a, "pie", false, "symbol"});
		c.push_back({"good-" + a + "-pie-g", a, "pie", true, "symbol"});
		c.push_back({"good-" + a + "-pie-stripped", a, "pie", false, "address"});
		c.push_back({"good-" + a + ".so", a, "shared", false, "symbol"});
		c.push_back({"good-" + a + "-stripped.so", a, "shared", false, "symbol"});
		c.push_back({"good-" + a + "-nopie", a, "executable", false, "symbol"});
		if (a == "x86_64") {
			c.push_back({"good-x86_64-nopie-stripped", a, "executable", false, "address"});
			if (exists(fx("good-x86_64-relr")))
				c.push_back({"good-x86_64-relr", a, "pie", false, "symbol"});
		}
	}
	return c;
}

class Good : public ::testing::TestWithParam<GoodCase> {};

TEST_P(Good, ListsEverySequenceByNameAndExitsZero)
{
	const GoodCase &c = GetParam();
	Inspection i = inspect({"--json", fx(c.file)});
	ASSERT_EQ(i.run.status, 0) << i.run.out << i.run.err;
	ASSERT_TRUE(i.parsed);
	EXPECT_EQ(i.run.err, "");
	EXPECT_TRUE(i.json["ok"].boolean());
	EXPECT_EQ(i.json["exit_status"].integer(), 0);
	ASSERT_EQ(i.json["files"].size(), 1u);
	const jsonmini::Value &f = i.json["files"][0];
	EXPECT_EQ(f["path"].str(), fx(c.file));
	EXPECT_EQ(f["arch"].str(), c.arch);
	EXPECT_EQ(f["type"].str(), c.type);
	EXPECT_EQ(f["signature"].str(), c.arch == "x86_64" ? "0x53053053" : "0xd428bc00");
	EXPECT_TRUE(f["ok"].boolean());
	EXPECT_EQ(f["defects"].size(), 0u);
	EXPECT_EQ(f["warnings"].size(), 0u);
	ASSERT_EQ(f["sequences"].size(), 3u);

	// The reference: the relocatable object of the same architecture.
	Inspection ref = inspect({"--json", fx("good-" + c.arch + ".o")});
	ASSERT_TRUE(ref.parsed);
	const jsonmini::Value &rf = ref.json["files"][0];

	std::string src = srcdir + "/tests/tools/fixtures/seq-" + c.arch + ".S";
	const std::map<std::string, std::string> start_label = {{"counter_add", ".Lstart_add:"},
								{"victim", ".Lstart_victim:"}};
	for (size_t k = 0; k < 3; k++) {
		const jsonmini::Value &s = f["sequences"][k];
		const jsonmini::Value &r = rf["sequences"][k];
		SCOPED_TRACE(s["name"].str());
		EXPECT_TRUE(s["ok"].boolean());
		EXPECT_EQ(s["defects"].size(), 0u);
		EXPECT_TRUE(s["listed"].boolean());
		EXPECT_EQ(s["version"].integer(), 0);
		EXPECT_EQ(s["flags"].integer(), 0);
		EXPECT_EQ(s["post_commit_offset"].integer(), r["post_commit_offset"].integer());
		EXPECT_GT(s["post_commit_offset"].integer(), 0);
		EXPECT_EQ(s["start_section"].str(), ".text");
		EXPECT_EQ(s["abort_section"].str(), "__rseq_failure");
		EXPECT_EQ(s["descriptor_section"].str(), "__rseq_cs");
		EXPECT_EQ(parse_hex(s["descriptor"].str()) % 32, 0u);
		if (k < 2) {
			EXPECT_EQ(s["name"].str(), k == 0 ? "counter_add" : "victim");
			EXPECT_EQ(s["name_source"].str(), "record");
		} else if (c.third == "symbol") {
			EXPECT_EQ(s["name_source"].str(), "symbol");
			EXPECT_EQ(s["name"].str(), r["name"].str());
			EXPECT_EQ(s["name"].str().rfind("fx_list_pop+0x", 0), 0u) << s["name"].str();
		} else {
			EXPECT_EQ(s["name_source"].str(), "address");
			EXPECT_EQ(s["name"].str(), s["start_ip"].str());
		}
		// Same offset into the same function as in the object, wherever symbols exist.
		if (!s["function"].is_null())
			EXPECT_EQ(s["function"].str(), r["function"].str());
		else
			EXPECT_EQ(c.third, "address");
		if (k < 2 && c.dwarf) {
			ASSERT_FALSE(s["file_line"].is_null());
			EXPECT_TRUE(ends_with(s["file_line"].str(), "seq-" + c.arch + ".S:" +
									    std::to_string(line_after(src, start_label.at(s["name"].str())))))
				<< s["file_line"].str();
		} else if (!c.dwarf) {
			EXPECT_TRUE(s["file_line"].is_null()) << s["file_line"].str();
		}
	}
	ASSERT_EQ(f["exit_points"].size(), 2u);
	EXPECT_EQ(f["exit_points"][0]["sequence"].str(), "counter_add");
	EXPECT_EQ(f["exit_points"][1]["sequence"].str(), "victim");
	for (const jsonmini::Value &e : f["exit_points"].items) {
		EXPECT_TRUE(e["ok"].boolean());
		EXPECT_EQ(e["exit_section"].str(), ".text");
	}

	// Text mode: the same verdict, one line per sequence with its name.
	Inspection t = inspect({fx(c.file)});
	EXPECT_EQ(t.run.status, 0);
	for (const jsonmini::Value &s : f["sequences"].items)
		EXPECT_NE(t.run.out.find("  ok   " + s["name"].str()), std::string::npos) << t.run.out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Good, ::testing::ValuesIn(good_cases()),
			 [](const ::testing::TestParamInfo<GoodCase> &p) {
				 std::string n = p.param.file;
				 std::replace_if(n.begin(), n.end(), [](char ch) { return !isalnum(static_cast<unsigned char>(ch)); }, '_');
				 return n;
			 });

TEST(Good, InlineAsmSequenceInCHasItsSourceLine)
{
	for (const std::string &a : archs()) {
		SCOPED_TRACE(a);
		Inspection i = inspect({"--json", fx("inline-" + a + "-g")});
		ASSERT_EQ(i.run.status, 0) << i.run.out << i.run.err;
		const jsonmini::Value &f = i.json["files"][0];
		ASSERT_EQ(f["sequences"].size(), 1u);
		const jsonmini::Value &s = f["sequences"][0];
		EXPECT_EQ(s["name"].str(), "inline_add");
		EXPECT_EQ(s["name_source"].str(), "record");
		EXPECT_EQ(s["function"].str().rfind("fx_inline_add+0x", 0), 0u) << s["function"].str();
		int line = line_of(srcdir + "/tests/tools/fixtures/inline-seq.h", "__asm__ goto(");
		ASSERT_GT(line, 0);
		EXPECT_TRUE(ends_with(s["file_line"].str(), "inline-seq.h:" + std::to_string(line))) << s["file_line"].str();
		ASSERT_EQ(f["exit_points"].size(), 1u);
		EXPECT_EQ(f["exit_points"][0]["sequence"].str(), "inline_add");
		EXPECT_TRUE(f["exit_points"][0]["ok"].boolean());
	}
}

// ---- Independent check against binutils: the raw tables as readelf shows them ----

// readelf -x SECTION: address -> byte.
std::map<uint64_t, uint8_t> hexdump(const std::string &file, const std::string &section)
{
	std::map<uint64_t, uint8_t> bytes;
	testproc::Result r = testproc::run({"readelf", "-x", section, file});
	std::istringstream in(r.out);
	std::string line;
	while (std::getline(in, line)) {
		std::istringstream ls(line);
		std::string addr;
		if (!(ls >> addr) || addr.rfind("0x", 0) != 0)
			continue;
		uint64_t a = parse_hex(addr);
		for (int w = 0; w < 4; w++) {
			std::string word;
			if (!(ls >> word) || word.size() != 8 || word.find_first_not_of("0123456789abcdef") != std::string::npos)
				break;
			for (size_t k = 0; k < 8; k += 2)
				bytes[a++] = static_cast<uint8_t>(std::stoul(word.substr(k, 2), nullptr, 16));
		}
	}
	return bytes;
}

uint64_t le64_at(const std::map<uint64_t, uint8_t> &bytes, uint64_t addr)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		auto it = bytes.find(addr + static_cast<uint64_t>(i));
		if (it == bytes.end())
			throw std::runtime_error("readelf shows no byte at " + std::to_string(addr + i));
		v = v << 8 | it->second;
	}
	return v;
}

TEST(Readelf, NonPieDescriptorsMatchTheRawSection)
{
	if (std::find(archs().begin(), archs().end(), "x86_64") == archs().end())
		GTEST_SKIP() << "x86_64 fixtures are not built on this host";
	std::string file = fx("good-x86_64-nopie");
	auto raw = hexdump(file, "__rseq_cs");
	ASSERT_FALSE(raw.empty());
	Inspection i = inspect({"--json", file});
	ASSERT_TRUE(i.parsed);
	for (const jsonmini::Value &s : i.json["files"][0]["sequences"].items) {
		uint64_t d = parse_hex(s["descriptor"].str());
		EXPECT_EQ(le64_at(raw, d + 8), parse_hex(s["start_ip"].str()));
		EXPECT_EQ(le64_at(raw, d + 16), static_cast<uint64_t>(s["post_commit_offset"].integer()));
		EXPECT_EQ(le64_at(raw, d + 24), parse_hex(s["abort_ip"].str()));
	}
}

// readelf -rW: relocation offset -> (type, symbol + addend text).
std::map<uint64_t, std::pair<std::string, std::string>> relocations(const std::string &file, const std::string &only_section)
{
	std::map<uint64_t, std::pair<std::string, std::string>> out;
	testproc::Result r = testproc::run({"readelf", "-rW", file});
	std::istringstream in(r.out);
	std::string line;
	bool active = only_section.empty();
	while (std::getline(in, line)) {
		if (line.rfind("Relocation section", 0) == 0) {
			active = only_section.empty() || line.find("'" + only_section + "'") != std::string::npos;
			continue;
		}
		if (!active)
			continue;
		std::istringstream ls(line);
		std::string off, info, type;
		if (!(ls >> off >> info >> type) || off.find_first_not_of("0123456789abcdef") != std::string::npos)
			continue;
		std::string rest;
		std::getline(ls, rest);
		rest.erase(0, rest.find_first_not_of(' '));
		out[parse_hex(off)] = {type, rest};
	}
	return out;
}

TEST(Readelf, PieDescriptorsMatchTheRelativeRelocations)
{
	for (const std::string &a : archs()) {
		SCOPED_TRACE(a);
		std::string file = fx("good-" + a + "-pie");
		auto rel = relocations(file, "");
		Inspection i = inspect({"--json", file});
		ASSERT_TRUE(i.parsed);
		const std::string relative = a == "x86_64" ? "R_X86_64_RELATIVE" : "R_AARCH64_RELATIVE";
		for (const jsonmini::Value &s : i.json["files"][0]["sequences"].items) {
			uint64_t d = parse_hex(s["descriptor"].str());
			ASSERT_TRUE(rel.count(d + 8) && rel.count(d + 24)) << s["name"].str();
			EXPECT_EQ(rel[d + 8].first, relative);
			// readelf prints a RELATIVE relocation's addend as the last field.
			EXPECT_EQ(parse_hex(rel[d + 8].second), parse_hex(s["start_ip"].str()));
			EXPECT_EQ(parse_hex(rel[d + 24].second), parse_hex(s["abort_ip"].str()));
		}
	}
}

TEST(Readelf, ObjectDescriptorsMatchTheSectionRelocations)
{
	for (const std::string &a : archs()) {
		SCOPED_TRACE(a);
		std::string file = fx("good-" + a + ".o");
		auto rel = relocations(file, ".rela__rseq_cs");
		ASSERT_EQ(rel.size(), 6u);
		Inspection i = inspect({"--json", file});
		ASSERT_TRUE(i.parsed);
		const std::string abs64 = a == "x86_64" ? "R_X86_64_64" : "R_AARCH64_ABS64";
		for (const jsonmini::Value &s : i.json["files"][0]["sequences"].items) {
			uint64_t d = parse_hex(s["descriptor"].str());  // offset in __rseq_cs
			ASSERT_TRUE(rel.count(d + 8) && rel.count(d + 24));
			EXPECT_EQ(rel[d + 8].first, abs64);
			// "0000000000000000 .text + b": symbol value, section symbol, addend.
			std::istringstream start(rel[d + 8].second), abort(rel[d + 24].second);
			std::string value, sym, plus, addend;
			start >> value >> sym >> plus >> addend;
			EXPECT_EQ(sym, s["start_section"].str());
			EXPECT_EQ(parse_hex(addend), parse_hex(s["start_ip"].str()));
			abort >> value >> sym >> plus >> addend;
			EXPECT_EQ(sym, s["abort_section"].str());
			EXPECT_EQ(parse_hex(addend), parse_hex(s["abort_ip"].str()));
		}
	}
}

// ---- Defective fixtures ----

struct DefectCase {
	std::string name;                        // defect-NAME-ARCH.o / -pie
	std::set<std::string> victim;            // checks reported on "victim"
	std::set<std::string> exits;             // checks reported on exit points
	std::set<std::string> warnings;
	int status;
};

const std::vector<DefectCase> &defect_cases()
{
	static const std::vector<DefectCase> cases = {
		{"sig", {"signature"}, {}, {}, 1},
		{"abort-inside", {"abort-inside"}, {}, {}, 1},
		{"abort-noexec", {"abort"}, {}, {}, 1},
		{"misaligned", {"alignment"}, {}, {}, 1},
		{"version", {"version"}, {}, {}, 1},
		{"flags", {"flags-deprecated"}, {}, {}, 1},
		{"unknown-flag", {"flags-unknown"}, {}, {}, 1},
		{"zero-length", {"length"}, {}, {}, 1},
		{"start-outside", {"start"}, {}, {}, 1},
		{"end-function", {"end-function"}, {}, {}, 1},
		{"end-section", {"end"}, {}, {}, 1},
		{"exit-inside", {}, {"exit-inside"}, {}, 1},
		{"exit-orphan", {}, {"exit-orphan"}, {}, 1},
		{"bad-pointer", {}, {}, {}, 1},
		{"unlisted", {}, {}, {"unlisted"}, 0},
		{"no-ptr-array", {}, {}, {"unlisted"}, 0},
	};
	return cases;
}

struct DefectParam {
	DefectCase c;
	std::string arch;
	std::string suffix;  // ".o" or "-pie"
};

std::vector<DefectParam> defect_params()
{
	std::vector<DefectParam> p;
	for (const DefectCase &c : defect_cases())
		for (const std::string &a : archs())
			for (const char *s : {".o", "-pie"})
				p.push_back({c, a, s});
	return p;
}

void PrintTo(const DefectParam &p, std::ostream *os)
{
	*os << "defect-" << p.c.name << "-" << p.arch << p.suffix;
}

void PrintTo(const GoodCase &c, std::ostream *os)
{
	*os << c.file;
}

class Defect : public ::testing::TestWithParam<DefectParam> {};

TEST_P(Defect, ReportedOnTheRightSequenceWithItsOwnCheck)
{
	const DefectParam &p = GetParam();
	std::string file = fx("defect-" + p.c.name + "-" + p.arch + p.suffix);
	bool linked = p.suffix != ".o";
	Inspection i = inspect({"--json", file});
	ASSERT_EQ(i.run.status, p.c.status) << i.run.out;
	ASSERT_TRUE(i.parsed);
	EXPECT_EQ(i.json["exit_status"].integer(), p.c.status);
	const jsonmini::Value &f = i.json["files"][0];
	EXPECT_EQ(f["ok"].boolean(), p.c.status == 0);
	EXPECT_EQ(f["defects"].size(), 0u);

	std::set<std::string> warnings;
	for (const jsonmini::Value &w : f["warnings"].items)
		warnings.insert(w["check"].str());
	EXPECT_EQ(warnings, p.c.warnings);

	size_t expected_count = p.c.name == "bad-pointer" || p.c.name == "unlisted" ? 4 : 3;
	ASSERT_EQ(f["sequences"].size(), expected_count);
	for (const jsonmini::Value &s : f["sequences"].items) {
		SCOPED_TRACE(s["name"].str());
		std::set<std::string> got = checks_of(s["defects"]);
		if (s["name"].str() == "victim") {
			EXPECT_EQ(got, p.c.victim);
			EXPECT_EQ(s["ok"].boolean(), p.c.victim.empty());
		} else if (s["name"].str() == "counter_add" || s["name_source"].str() == "symbol" ||
			   (p.c.name == "unlisted" && !s["listed"].boolean())) {
			EXPECT_TRUE(got.empty());
		} else {
			// The bad pointer: unusable in an object (no relocation), or pointing
			// outside the file's data once linked.
			ASSERT_EQ(p.c.name, "bad-pointer");
			EXPECT_EQ(got, std::set<std::string>{linked ? "descriptor" : "pointer"});
			EXPECT_EQ(s["name_source"].str(), "address");
		}
	}
	size_t unlisted = 0;
	for (const jsonmini::Value &s : f["sequences"].items)
		unlisted += !s["listed"].boolean();
	EXPECT_EQ(unlisted, p.c.name == "no-ptr-array" ? 3u : p.c.name == "unlisted" ? 1u : 0u);
	std::set<std::string> exits;
	for (const jsonmini::Value &e : f["exit_points"].items) {
		for (const std::string &c : checks_of(e["defects"]))
			exits.insert(c);
		if (!e["ok"].boolean() && p.c.name == "exit-inside") {
			EXPECT_EQ(e["sequence"].str(), "victim");
		}
	}
	EXPECT_EQ(exits, p.c.exits);

	// Text mode names the sequence and the check on one line each.
	Inspection t = inspect({file});
	EXPECT_EQ(t.run.status, p.c.status);
	for (const std::string &c : p.c.victim)
		EXPECT_NE(t.run.out.find(file + ": victim: " + c + ": "), std::string::npos) << t.run.out;
	for (const std::string &c : p.c.exits)
		EXPECT_NE(t.run.out.find(": " + c + ": "), std::string::npos) << t.run.out;
	for (const std::string &w : p.c.warnings)
		EXPECT_NE(t.run.out.find(file + ": warning: " + w + ": "), std::string::npos) << t.run.out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Defect, ::testing::ValuesIn(defect_params()),
			 [](const ::testing::TestParamInfo<DefectParam> &p) {
				 std::string n = p.param.c.name + "_" + p.param.arch + (p.param.suffix == ".o" ? "_o" : "_pie");
				 std::replace(n.begin(), n.end(), '-', '_');
				 return n;
			 });

TEST(Defect, EachDefectHasItsOwnOneLineMessage)
{
	std::map<std::string, std::string> by_message;
	for (const DefectCase &c : defect_cases()) {
		if (c.status == 0)
			continue;
		Inspection i = inspect({"--json", fx("defect-" + c.name + "-" + archs().front() + ".o")});
		ASSERT_TRUE(i.parsed);
		std::vector<std::string> messages;
		const jsonmini::Value &f = i.json["files"][0];
		for (const jsonmini::Value &s : f["sequences"].items)
			for (const jsonmini::Value &d : s["defects"].items)
				messages.push_back(d["check"].str() + ": " + d["message"].str());
		for (const jsonmini::Value &e : f["exit_points"].items)
			for (const jsonmini::Value &d : e["defects"].items)
				messages.push_back(d["check"].str() + ": " + d["message"].str());
		ASSERT_EQ(messages.size(), 1u) << c.name;
		EXPECT_EQ(messages[0].find('\n'), std::string::npos);
		EXPECT_TRUE(by_message.emplace(messages[0], c.name).second)
			<< c.name << " and " << by_message[messages[0]] << " share " << messages[0];
	}
}

// A copy of a good file with one byte of one signature flipped, found through
// readelf's section table (not through rseq-inspect).
TEST(Defect, FlippedSignatureByteInALinkedFileNamesTheSequence)
{
	TempDir tmp;
	for (const std::string &a : archs()) {
		SCOPED_TRACE(a);
		std::string good = fx("good-" + a + "-pie");
		Inspection g = inspect({"--json", good});
		ASSERT_TRUE(g.parsed);
		const jsonmini::Value *victim = find_sequence(g.json["files"][0], "victim");
		ASSERT_TRUE(victim);
		uint64_t abort_ip = parse_hex((*victim)["abort_ip"].str());
		testproc::Result sections = testproc::run({"readelf", "-SW", good});
		std::istringstream in(sections.out);
		std::string line;
		uint64_t addr = 0, off = 0;
		while (std::getline(in, line)) {
			size_t at = line.find("__rseq_failure");
			if (at == std::string::npos)
				continue;
			std::istringstream ls(line.substr(at + strlen("__rseq_failure")));
			std::string type, a_hex, o_hex;
			ls >> type >> a_hex >> o_hex;
			addr = parse_hex(a_hex);
			off = parse_hex(o_hex);
		}
		ASSERT_NE(addr, 0u);
		std::string bytes = read_file(good);
		size_t pos = static_cast<size_t>(abort_ip - addr + off - 2);  // the third signature byte
		bytes[pos] = static_cast<char>(bytes[pos] ^ 0x10);
		std::string bad = tmp.path + "/flipped-" + a;
		write_file(bad, bytes);
		Inspection t = inspect({bad});
		EXPECT_EQ(t.run.status, 1);
		EXPECT_NE(t.run.out.find(bad + ": victim: signature: "), std::string::npos) << t.run.out;
		Inspection j = inspect({"--json", bad});
		ASSERT_TRUE(j.parsed);
		for (const jsonmini::Value &s : j.json["files"][0]["sequences"].items)
			EXPECT_EQ(s["ok"].boolean(), s["name"].str() != "victim") << s["name"].str();
	}
}

TEST(Options, SignatureOverridesTheArchitecturesDefault)
{
	std::string a = archs().front();
	// defect-sig carries the off-by-one signature on "victim" only.
	uint32_t odd = a == "x86_64" ? 0x53053052u : 0xd428bc01u;
	char sig[16];
	snprintf(sig, sizeof sig, "%#x", odd);
	Inspection i = inspect({"--json", "--signature", sig, fx("defect-sig-" + a + ".o")});
	EXPECT_EQ(i.run.status, 1);
	ASSERT_TRUE(i.parsed);
	const jsonmini::Value &f = i.json["files"][0];
	EXPECT_EQ(f["signature"].str(), sig);
	for (const jsonmini::Value &s : f["sequences"].items)
		EXPECT_EQ(checks_of(s["defects"]).count("signature"), s["name"].str() == "victim" ? 0u : 1u);
}

TEST(Options, NoDwarfLeavesFileLineOut)
{
	Inspection i = inspect({"--json", "--no-dwarf", fx("good-" + archs().front() + "-g.o")});
	EXPECT_EQ(i.run.status, 0);
	ASSERT_TRUE(i.parsed);
	for (const jsonmini::Value &s : i.json["files"][0]["sequences"].items)
		EXPECT_TRUE(s["file_line"].is_null());
}

TEST(Output, NamesWithControlBytesAndBadUtf8StayValidJsonAndOneLineText)
{
	TempDir tmp;
	std::string src = tmp.path + "/odd.S";
	write_file(src, "#include \"rseq-conventions.inc\"\n"
			"\t.text\n"
			"1:\tnop\n2:\tret\n"
			"\t.pushsection __rseq_failure, \"ax\"\n"
#if defined(__x86_64__)
			"\t.byte 0x0f, 0xb9, 0x3d\n\t.long 0x53053053\n"
#else
			"\t.inst 0xd428bc00\n"
#endif
			"3:\tret\n\t.popsection\n"
			"\trseq_cs .Lcs, 1b, (2b - 1b), 3b\n"
			"\t.pushsection __rseqkit_strings, \"aMS\", %progbits, 1\n"
			"4:\t.asciz \"odd\\001\\377\\\"name\\n\"\n"
			"\t.popsection\n"
			"\t.pushsection __rseqkit_names, \"aw\"\n\t.balign 8\n\t.quad .Lcs, 4b\n\t.popsection\n");
	std::string obj = tmp.path + "/odd.o";
	testproc::Result cc = testproc::run({env_or("CC", "cc"), "-I" + srcdir + "/tests/tools/fixtures", "-c", src, "-o", obj});
	ASSERT_EQ(cc.status, 0) << cc.err;
	Inspection i = inspect({"--json", obj});
	EXPECT_EQ(i.run.status, 0) << i.run.out;
	ASSERT_TRUE(i.parsed);
	EXPECT_EQ(i.json["files"][0]["sequences"][0]["name"].str(), "odd\x01\xef\xbf\xbd\"name\n");
	Inspection t = inspect({obj});
	EXPECT_NE(t.run.out.find("  ok   odd\\x01\\xff\"name\\x0a"), std::string::npos) << t.run.out;
}

// ---- Bad input: exit 2, one line on stderr, never a hang ----

void expect_input_error(const std::string &path, const std::string &message)
{
	SCOPED_TRACE(path);
	Inspection i = inspect({path});
	EXPECT_EQ(i.run.status, 2);
	EXPECT_EQ(i.run.err, "rseq-inspect: " + path + ": " + message + "\n");
	EXPECT_EQ(i.run.out, "");
	Inspection j = inspect({"--json", path});
	EXPECT_EQ(j.run.status, 2);
	ASSERT_TRUE(j.parsed);
	EXPECT_EQ(j.json["files"][0]["error"].str(), message);
	EXPECT_FALSE(j.json["ok"].boolean());
	EXPECT_EQ(j.json["exit_status"].integer(), 2);
}

TEST(BadInput, NonElfEmptyDirectoryFifoDeviceMissing)
{
	TempDir tmp;
	write_file(tmp.path + "/text", "hello, this is not an ELF file\n");
	expect_input_error(tmp.path + "/text", "not an ELF file");
	write_file(tmp.path + "/empty", "");
	expect_input_error(tmp.path + "/empty", "empty file");
	write_file(tmp.path + "/short", "\x7f" "EL");
	expect_input_error(tmp.path + "/short", "not an ELF file");
	expect_input_error(tmp.path, "is a directory");
	std::string fifo = tmp.path + "/fifo";
	ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
	expect_input_error(fifo, "is a FIFO, not a regular file");
	expect_input_error("/dev/null", "is a device, not a regular file");
	expect_input_error(tmp.path + "/missing", "No such file or directory");
}

TEST(BadInput, ArchiveAndForeignElfFiles)
{
	TempDir tmp;
	std::string a = archs().front();
	testproc::Result ar = testproc::run({"ar", "rc", tmp.path + "/lib.a", fx("good-" + a + ".o")});
	ASSERT_EQ(ar.status, 0) << ar.err;
	expect_input_error(tmp.path + "/lib.a", "an archive, not an ELF file (extract its members)");

	std::string good = read_file(fx("good-" + a + ".o"));
	std::string c32 = good;
	c32[4] = 1;  // EI_CLASS = ELFCLASS32
	write_file(tmp.path + "/class32", c32);
	expect_input_error(tmp.path + "/class32", "not a 64-bit ELF file (x86_64 and aarch64 only)");
	std::string be = good;
	be[5] = 2;  // EI_DATA = ELFDATA2MSB
	write_file(tmp.path + "/bigendian", be);
	expect_input_error(tmp.path + "/bigendian", "not a little-endian ELF file (x86_64 and aarch64 only)");
	std::string riscv = good;
	riscv[18] = static_cast<char>(243);  // e_machine = EM_RISCV
	riscv[19] = 0;
	write_file(tmp.path + "/riscv", riscv);
	expect_input_error(tmp.path + "/riscv", "unsupported machine 243 (x86_64 and aarch64 only)");
	std::string core = good;
	core[16] = 4;  // e_type = ET_CORE
	core[17] = 0;
	write_file(tmp.path + "/core", core);
	expect_input_error(tmp.path + "/core",
			   "unsupported ELF file type 4 (executables, shared objects and relocatable objects only)");
}

TEST(BadInput, OneBadFileAmongGoodOnesStillReportsTheGoodOnes)
{
	TempDir tmp;
	write_file(tmp.path + "/text", "not ELF");
	std::string good = fx("good-" + archs().front() + ".o");
	Inspection i = inspect({"--json", good, tmp.path + "/text", fx("defect-sig-" + archs().front() + ".o")});
	EXPECT_EQ(i.run.status, 2);
	ASSERT_TRUE(i.parsed);
	ASSERT_EQ(i.json["files"].size(), 3u);
	EXPECT_TRUE(i.json["files"][0]["ok"].boolean());
	EXPECT_EQ(i.json["files"][1]["error"].str(), "not an ELF file");
	EXPECT_FALSE(i.json["files"][2]["ok"].boolean());
	EXPECT_EQ(i.run.err, "rseq-inspect: " + tmp.path + "/text: not an ELF file\n");
}

TEST(Usage, ErrorsExitTwoWithOneLine)
{
	const std::vector<std::vector<std::string>> bad = {
		{},
		{"--bogus"},
		{"-x"},
		{"-p"},
		{"-p", "abc"},
		{"-p", "0"},
		{"-p", "-5"},
		{"-p", "99999999999"},
		{"-p", "1", "-p", "2"},
		{"-p", "1", fx("good-" + archs().front() + ".o")},
		{"--signature", "nope", "x"},
		{"--signature", "0x100000000", "x"},
		{"--signature", "-1", "x"},
	};
	for (const auto &args : bad) {
		Inspection i = inspect(args);
		std::string joined;
		for (const auto &a : args)
			joined += a + " ";
		EXPECT_EQ(i.run.status, 2) << joined;
		EXPECT_EQ(std::count(i.run.err.begin(), i.run.err.end(), '\n'), 1) << joined << i.run.err;
		EXPECT_EQ(i.run.err.rfind("rseq-inspect: ", 0), 0u) << joined << i.run.err;
		EXPECT_EQ(i.run.out, "") << joined;
	}
	EXPECT_EQ(inspect({"--help"}).run.status, 0);
	Inspection v = inspect({"--version"});
	EXPECT_EQ(v.run.status, 0);
	EXPECT_EQ(v.run.out.rfind("rseq-inspect ", 0), 0u) << v.run.out;
}

// ---- inspect-built.sh, which make check runs over INSPECT_TARGETS ----

TEST(InspectBuilt, PassesOnGoodFilesFailsOnMissingOrDefectiveOnes)
{
	TempDir tmp;
	std::string a = archs().front();
	std::string script = srcdir + "/tests/tools/inspect-built.sh";
	auto run_list = [&](const std::string &lines) {
		write_file(tmp.path + "/list", lines);
		return testproc::run({"sh", script, tmp.path + "/list"});
	};
	testproc::Result good = run_list(fx("good-" + a + "-pie") + "\n" + fx("good-" + a + ".so") + "\n");
	EXPECT_EQ(good.status, 0) << good.out << good.err;
	testproc::Result missing = run_list(fx("good-" + a + "-pie") + "\n" + tmp.path + "/nothing-here\n");
	EXPECT_EQ(missing.status, 1) << missing.out;
	EXPECT_NE(missing.err.find("nothing-here: no such file"), std::string::npos) << missing.err;
	testproc::Result bad = run_list(fx("defect-sig-" + a + "-pie") + "\n");
	EXPECT_EQ(bad.status, 1) << bad.out;
	EXPECT_NE(bad.out.find(": victim: signature: "), std::string::npos) << bad.out;
	testproc::Result empty = run_list("");
	EXPECT_EQ(empty.status, 1);
}

// ---- -p errors (the per-mode live checks are in inspect-live) ----

struct Sleeper {
	testproc::Child child{{"sleep", "300"}};
	std::string state() const
	{
		std::string s = read_file("/proc/" + std::to_string(child.pid()) + "/stat");
		size_t paren = s.rfind(')');
		return paren == std::string::npos || paren + 2 >= s.size() ? "?" : s.substr(paren + 2, 1);
	}
	// Not in any stop (sleeping, or running for a moment after a wake-up).
	bool running() const
	{
		std::string st = state();
		return st == "S" || st == "R";
	}
	bool wait_running() const
	{
		for (int k = 0; k < 200 && !running(); k++)
			usleep(10000);
		return running();
	}
};

TEST(Process, NoSuchProcess)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, nullptr, 0);  // reaped: the PID is free
	Inspection i = inspect({"-p", std::to_string(pid)});
	EXPECT_EQ(i.run.status, 2);
	EXPECT_EQ(i.run.err, "rseq-inspect: no such process: " + std::to_string(pid) + "\n");
	EXPECT_EQ(i.run.out, "");
}

TEST(Process, ZombieIsAOneLineError)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	usleep(100000);  // exited, not reaped
	Inspection i = inspect({"-p", std::to_string(pid)});
	waitpid(pid, nullptr, 0);
	EXPECT_EQ(i.run.status, 2);
	EXPECT_EQ(i.run.err, "rseq-inspect: process " + std::to_string(pid) + " has exited (a zombie, not yet reaped)\n");
}

TEST(Process, NoPermissionIsAOneLineError)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root to run rseq-inspect as another user";
	Sleeper target;
	std::string pid = std::to_string(target.child.pid());
	testproc::Result r = testproc::run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", tool, "-p", pid});
	EXPECT_EQ(r.status, 2) << r.err;
	EXPECT_EQ(r.err.rfind("rseq-inspect: no permission to inspect process " + pid + " (", 0), 0u) << r.err;
	EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
	EXPECT_TRUE(target.running()) << target.state();
}

TEST(Process, AlreadyTracedIsSaidSo)
{
	Sleeper target;
	pid_t pid = target.child.pid();
	ASSERT_EQ(ptrace(PTRACE_SEIZE, pid, nullptr, nullptr), 0) << strerror(errno);
	Inspection i = inspect({"-p", std::to_string(pid)});
	EXPECT_EQ(i.run.status, 2);
	EXPECT_EQ(i.run.err, "rseq-inspect: process " + std::to_string(pid) + " is already traced by process " +
				     std::to_string(getpid()) + " (a debugger or strace?)\n");
	// Detaching needs the tracee stopped.
	ASSERT_EQ(ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr), 0) << strerror(errno);
	int st = 0;
	ASSERT_EQ(waitpid(pid, &st, __WALL), pid);
	ASSERT_EQ(ptrace(PTRACE_DETACH, pid, nullptr, nullptr), 0) << strerror(errno);
	EXPECT_TRUE(target.wait_running()) << target.state();
}

TEST(Process, KernelWithoutTheRequestIsAOneLineErrorAndDetaches)
{
	Sleeper target;
	std::string pid = std::to_string(target.child.pid());
	testproc::Result r = testproc::run({builddir + "/tests/tools/deny-ptrace-rseq", tool, "-p", pid});
	EXPECT_EQ(r.status, 2);
	EXPECT_EQ(r.err, "rseq-inspect: this kernel does not support PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13 or later)\n");
	EXPECT_TRUE(target.running()) << target.state();  // not left in a tracing stop
	// And it can be inspected normally right after.
	Inspection i = inspect({"--json", "-p", pid});
	EXPECT_EQ(i.run.status, 0) << i.run.err;
	ASSERT_TRUE(i.parsed);
	EXPECT_EQ(i.json["threads"].size(), 1u);
}

TEST(Process, StoppedProcessStaysStopped)
{
	Sleeper target;
	pid_t pid = target.child.pid();
	ASSERT_EQ(kill(pid, SIGSTOP), 0);
	for (int k = 0; k < 100 && target.state() != "T"; k++)
		usleep(10000);
	ASSERT_EQ(target.state(), "T");
	Inspection i = inspect({"--json", "-p", std::to_string(pid)});
	EXPECT_EQ(i.run.status, 0) << i.run.err;
	// Detaching wakes the thread in the kernel, where it re-enters its group stop
	// (no user code runs): it must settle in "T" again and stay there.
	for (int k = 0; k < 200 && target.state() != "T"; k++)
		usleep(10000);
	EXPECT_EQ(target.state(), "T");
	usleep(200000);
	EXPECT_EQ(target.state(), "T");
	kill(pid, SIGCONT);
	EXPECT_TRUE(target.wait_running()) << target.state();
}

// ---- Man page ----

TEST(ManPage, LintClean)
{
	std::string mandoc = env_or("MANDOC", "");
	if (mandoc.empty())
		GTEST_SKIP() << "mandoc not configured";
	testproc::Result r = testproc::run({mandoc, "-Tlint", "-Wwarning", srcdir + "/man/man1/rseq-inspect.1"});
	EXPECT_EQ(r.status, 0) << r.out << r.err;
	EXPECT_EQ(r.out + r.err, "");
}

TEST(ManPage, DocumentsEveryCheckAndMessageKind)
{
	std::string page = read_file(srcdir + "/man/man1/rseq-inspect.1");
	for (const char *check : {"pointer", "descriptor", "alignment", "version", "flags-deprecated", "flags-unknown",
				  "start", "length", "end", "end-function", "abort", "abort-inside", "signature",
				  "exit-start", "exit-orphan", "exit-target", "exit-inside", "table", "unlisted",
				  "duplicate", "name-record"})
		EXPECT_NE(page.find(std::string(".B ") + check + "\n"), std::string::npos) << check;
}

TEST(ManPage, ExampleProgramBuildsRunsAndChecksClean)
{
#if !defined(__x86_64__)
	GTEST_SKIP() << "the example is x86_64 code";
#endif
	std::string page = read_file(srcdir + "/man/man1/rseq-inspect.1");
	size_t ex = page.find("\n.EX\n");
	size_t ee = page.find("\n.EE\n", ex);
	ASSERT_NE(ex, std::string::npos);
	ASSERT_NE(ee, std::string::npos);
	std::string code = page.substr(ex + 5, ee - ex - 5);
	// roff escapes used in the example: \e is a backslash, \- a minus.
	std::string c;
	for (size_t k = 0; k < code.size(); k++) {
		if (code[k] == '\\' && k + 1 < code.size() && code[k + 1] == 'e') {
			c += '\\';
			k++;
		} else if (code[k] == '\\' && k + 1 < code.size() && code[k + 1] == '-') {
			c += '-';
			k++;
		} else {
			c += code[k];
		}
	}
	TempDir tmp;
	write_file(tmp.path + "/example.c", c);
	testproc::Result cc = testproc::run({env_or("CC", "cc"), "-O2", "-o", tmp.path + "/example", tmp.path + "/example.c"});
	ASSERT_EQ(cc.status, 0) << cc.err << c;
	testproc::Result run = testproc::run({tmp.path + "/example"});
	EXPECT_EQ(run.status, 0) << run.out << run.err;
	Inspection i = inspect({"--json", tmp.path + "/example"});
	EXPECT_EQ(i.run.status, 0) << i.run.out;
	ASSERT_TRUE(i.parsed);
	ASSERT_EQ(i.json["files"][0]["sequences"].size(), 1u);
	EXPECT_EQ(i.json["files"][0]["sequences"][0]["name"].str(), "example_add");
}

// ---- Sanitizers: every fixture, then corrupted copies ----

#ifdef RSEQ_INSPECT_ASAN
std::vector<std::string> all_fixtures()
{
	std::vector<std::string> out;
	testproc::Result r = testproc::run({"ls", fixtures});
	std::istringstream in(r.out);
	std::string name;
	while (std::getline(in, name))
		if (!name.empty())
			out.push_back(fx(name));
	std::sort(out.begin(), out.end());
	return out;
}

void expect_clean_run(const testproc::Result &r, const std::string &what)
{
	EXPECT_FALSE(r.timed_out) << what;
	EXPECT_TRUE(r.status == 0 || r.status == 1 || r.status == 2) << what << ": status " << r.status << "\n" << r.err;
	EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << what << "\n" << r.err;
	EXPECT_EQ(r.err.find("runtime error"), std::string::npos) << what << "\n" << r.err;
	// Every stderr line is one of rseq-inspect's one-line errors.
	std::istringstream in(r.err);
	std::string line;
	while (std::getline(in, line))
		EXPECT_EQ(line.rfind("rseq-inspect: ", 0), 0u) << what << ": " << line;
}

TEST(Sanitizers, EveryFixtureGivesTheSameVerdictCleanly)
{
	std::vector<std::string> files = all_fixtures();
	ASSERT_GT(files.size(), 40u);
	for (const std::string &f : files) {
		testproc::Result plain = testproc::run({tool, "--json", f});
		testproc::Result asan = testproc::run({asan_tool, "--json", f});
		expect_clean_run(asan, f);
		EXPECT_EQ(asan.status, plain.status) << f;
		EXPECT_EQ(asan.out, plain.out) << f;
		testproc::Result text = testproc::run({asan_tool, f});
		expect_clean_run(text, f);
	}
}

// Section header table bounds of a 64-bit little-endian ELF image, from its header.
bool shdr_table(const std::string &img, size_t *off, size_t *size)
{
	if (img.size() < 64)
		return false;
	uint64_t shoff = 0;
	for (int i = 7; i >= 0; i--)
		shoff = shoff << 8 | static_cast<uint8_t>(img[40 + i]);
	uint16_t shnum = static_cast<uint16_t>(static_cast<uint8_t>(img[60]) | static_cast<uint8_t>(img[61]) << 8);
	if (shoff >= img.size() || shnum == 0)
		return false;
	*off = shoff;
	*size = std::min<size_t>(img.size() - shoff, size_t(shnum) * 64);
	return true;
}

// A 64-bit little-endian ELF image's section headers, read directly.
struct RawSection {
	size_t entry;  // file offset of the header
	std::string name;
	uint32_t type;
};

uint64_t le_at(const std::string &img, size_t off, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | static_cast<uint8_t>(img.at(off + static_cast<size_t>(i)));
	return v;
}

void put_le(std::string &img, size_t off, int n, uint64_t v)
{
	for (int i = 0; i < n; i++, v >>= 8)
		img.at(off + static_cast<size_t>(i)) = static_cast<char>(v & 0xff);
}

std::vector<RawSection> raw_sections(const std::string &img)
{
	std::vector<RawSection> out;
	uint64_t shoff = le_at(img, 40, 8);
	size_t shnum = le_at(img, 60, 2), shstrndx = le_at(img, 62, 2);
	size_t strtab = le_at(img, shoff + 64 * shstrndx + 24, 8);
	for (size_t i = 0; i < shnum; i++) {
		size_t e = shoff + 64 * i;
		out.push_back({e, std::string(img.c_str() + strtab + le_at(img, e, 4)), static_cast<uint32_t>(le_at(img, e + 4, 4))});
	}
	return out;
}

const RawSection &raw_section(const std::vector<RawSection> &secs, const std::string &name)
{
	for (const RawSection &r : secs)
		if (r.name == name)
			return r;
	throw std::runtime_error("no section " + name);
}

// Hand-made hostile files: each targets one way a header or table can lie.
TEST(Sanitizers, HandMadeHostileFiles)
{
	TempDir tmp;
	std::vector<std::string> files;
	for (const std::string &a : archs()) {
		for (const std::string &seed : {"good-" + a + ".o", "good-" + a + "-pie", "good-" + a + "-g.o"}) {
			const std::string img = read_file(fx(seed));
			const std::vector<RawSection> secs = raw_sections(img);
			const size_t ptrs = raw_section(secs, "__rseq_cs_ptr_array").entry;
			const size_t cs = raw_section(secs, "__rseq_cs").entry;
			const size_t text = raw_section(secs, ".text").entry;
			std::vector<std::pair<std::string, std::string>> cases;
			auto mk = [&](const std::string &what, const std::function<void(std::string &)> &edit) {
				std::string c = img;
				edit(c);
				cases.push_back({what, c});
			};
			mk("huge-ptr-array", [&](std::string &c) { put_le(c, ptrs + 32, 8, UINT64_MAX); });
			mk("ptr-array-past-eof", [&](std::string &c) { put_le(c, ptrs + 24, 8, c.size() - 4); });
			mk("ptr-array-nobits", [&](std::string &c) { put_le(c, ptrs + 4, 4, 8 /* SHT_NOBITS */); });
			mk("cs-over-text", [&](std::string &c) { put_le(c, cs + 16, 8, le_at(c, text + 16, 8)); });
			mk("cs-wraps", [&](std::string &c) { put_le(c, cs + 16, 8, UINT64_MAX - 15); });
			mk("cs-align-huge", [&](std::string &c) { put_le(c, cs + 48, 8, 1ULL << 63); });
			mk("all-sections-whole-file", [&](std::string &c) {
				for (const RawSection &r : secs) {
					put_le(c, r.entry + 24, 8, 0);
					put_le(c, r.entry + 32, 8, c.size());
				}
			});
			mk("shstrndx-out-of-range", [&](std::string &c) { put_le(c, 62, 2, 0xfffe); });
			mk("shnum-huge", [&](std::string &c) { put_le(c, 60, 2, 0xffff); });
			mk("shoff-near-eof", [&](std::string &c) { put_le(c, 40, 8, c.size() - 10); });
			mk("links-out-of-range", [&](std::string &c) {
				for (const RawSection &r : secs) {
					put_le(c, r.entry + 40, 4, 0xffffffu);  // sh_link
					put_le(c, r.entry + 44, 4, 0xffffffu);  // sh_info
				}
			});
			mk("relocations-anywhere", [&](std::string &c) {
				for (const RawSection &r : secs) {
					if (r.type != 4 /* SHT_RELA */)
						continue;
					size_t off = le_at(c, r.entry + 24, 8), size = le_at(c, r.entry + 32, 8);
					for (size_t e = off; e + 24 <= off + size && e + 24 <= c.size(); e += 24) {
						put_le(c, e, 8, le_at(c, e, 8) * 0x1000193 + 0xfffffffffff0ULL);  // r_offset
						put_le(c, e + 8, 8, le_at(c, e + 8, 8) ^ 0xffffff0000000000ULL);  // r_info: symbol
						put_le(c, e + 16, 8, 0x8000000000000000ULL);                      // r_addend
					}
				}
			});
			mk("symbols-anywhere", [&](std::string &c) {
				for (const RawSection &r : secs) {
					if (r.type != 2 /* SHT_SYMTAB */ && r.type != 11 /* SHT_DYNSYM */)
						continue;
					size_t off = le_at(c, r.entry + 24, 8), size = le_at(c, r.entry + 32, 8);
					for (size_t e = off; e + 24 <= off + size && e + 24 <= c.size(); e += 24) {
						put_le(c, e, 4, 0xfffffff0u);                   // st_name
						put_le(c, e + 6, 2, 0xfff0);                    // st_shndx
						put_le(c, e + 8, 8, UINT64_MAX - 3);            // st_value
						put_le(c, e + 16, 8, UINT64_MAX);               // st_size
					}
				}
			});
			for (auto &[what, bytes] : cases) {
				std::string path = tmp.path + "/" + seed + "-" + what;
				write_file(path, bytes);
				files.push_back(path);
			}
		}
	}
	for (const std::string &f : files) {
		testproc::Result r = testproc::run({asan_tool, "--json", f}, 60000);
		expect_clean_run(r, f);
		testproc::Result plain = testproc::run({tool, f}, 60000);
		EXPECT_TRUE(plain.status >= 0 && plain.status <= 2) << f << ": " << plain.status;
		EXPECT_EQ(plain.status, r.status) << f;
	}
}

TEST(Sanitizers, CorruptedCopiesNeverCrashOrHang)
{
	std::vector<std::string> seeds;
	for (const std::string &a : archs())
		for (const std::string &n : {"good-" + a + ".o", "good-" + a + "-g.o", "good-" + a + "-pie-g",
					     "good-" + a + ".so", "inline-" + a + "-g", "defect-misaligned-" + a + ".o"})
			seeds.push_back(fx(n));
	if (exists(fx("good-x86_64-relr")))
		seeds.push_back(fx("good-x86_64-relr"));
	TempDir tmp;
	std::mt19937_64 rng(20261203);
	std::vector<std::string> batch;
	size_t total = 0;
	auto flush = [&] {
		if (batch.empty())
			return;
		std::vector<std::string> args = {asan_tool, "--json"};
		args.insert(args.end(), batch.begin(), batch.end());
		testproc::Result r = testproc::run(args, 300000);
		expect_clean_run(r, batch.front() + " ... " + batch.back());
		if (r.status == 0 || r.status == 1 || r.status == 2) {
			try {
				jsonmini::Value v = jsonmini::parse(r.out);
				EXPECT_EQ(v["files"].size(), batch.size());
			} catch (const std::exception &e) {
				ADD_FAILURE() << "invalid JSON for " << batch.front() << ": " << e.what();
			}
		}
		for (const std::string &f : batch)
			unlink(f.c_str());
		batch.clear();
	};
	auto add = [&](const std::string &bytes) {
		std::string path = tmp.path + "/c" + std::to_string(total++);
		write_file(path, bytes);
		batch.push_back(path);
		if (batch.size() == 150)
			flush();
	};
	for (const std::string &seed : seeds) {
		SCOPED_TRACE(seed);
		const std::string img = read_file(seed);
		ASSERT_GT(img.size(), 64u);
		// Truncated: every length through the ELF header, then spread over the file.
		for (size_t n = 1; n <= 80; n++)
			add(img.substr(0, n));
		for (size_t k = 1; k < 48; k++)
			add(img.substr(0, img.size() * k / 48));
		// The ELF header, each byte inverted.
		for (size_t k = 0; k < 64; k++) {
			std::string c = img;
			c[k] = static_cast<char>(~c[k]);
			add(c);
		}
		// Section headers: random bytes overwritten (sizes, offsets, links, types).
		size_t shoff = 0, shsize = 0;
		ASSERT_TRUE(shdr_table(img, &shoff, &shsize));
		for (int k = 0; k < 120; k++) {
			std::string c = img;
			int changes = 1 + static_cast<int>(rng() % 4);
			for (int m = 0; m < changes; m++) {
				size_t at = shoff + rng() % shsize;
				c[at] = static_cast<char>(rng() % 3 == 0 ? 0xff : rng());
			}
			add(c);
		}
		// Anywhere in the file: relocations, tables, strings, DWARF.
		for (int k = 0; k < 120; k++) {
			std::string c = img;
			int changes = 1 + static_cast<int>(rng() % 8);
			for (int m = 0; m < changes; m++)
				c[rng() % c.size()] = static_cast<char>(rng());
			add(c);
		}
	}
	flush();
	EXPECT_GT(total, 2000u);
}
#endif

}  // namespace
