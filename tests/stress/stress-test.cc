// SPDX-License-Identifier: MIT
// Stress suite: runs rseq-stress (the built tool) on every operation family, in the
// registration mode tests/harness/run-mode set up for this test binary (rseq-stress
// inherits it: environment and seccomp filter), and checks its JSON report.
//
// At least as demanding as the kernel's param_test (run_param_test.sh: 6 threads per
// CPU, 1000 repetitions, loop injection of 10000, yield and signal injection): 6
// threads per CPU (12 on a 2-CPU machine), 1000 operations per thread and family, a delay loop
// of 8000 (10000 with yields) right before every commit, and a signal to every thread
// every 50 us (200 us).  Where sequences run, every sequence must have been aborted on at
// least 1% of its attempts, and the invariants (exact sums; every list node, buffer
// item and copied record exactly once) must hold.  Where rseq is unavailable the same
// runs go through locked mode and must be exact too.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <rseqkit/rseqkit.h>

#include "json.h"
#include "mode.h"

extern char **environ;

namespace {

struct run_result {
	int status = -1;  // exit status, or 128 + signal
	std::string out, err;
};

std::string read_file(const std::string &path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

std::string builddir()
{
	const char *b = getenv("RSEQKIT_BUILDDIR");
	return b ? b : ".";
}

std::string tmpdir()
{
	static std::string dir;
	if (dir.empty()) {
		char templ[] = "/tmp/rseqkit-stress-XXXXXX";
		const char *d = mkdtemp(templ);
		dir = d ? d : "/tmp";
	}
	return dir;
}

// Runs argv with stdout and stderr in files; returns both and the exit status.
run_result run(const std::vector<std::string> &argv)
{
	run_result r;
	static int n = 0;
	std::string base = tmpdir() + "/run" + std::to_string(n++);
	std::string out = base + ".out", err = base + ".err";
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	pid_t pid;
	int e = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		r.err = std::string("posix_spawn ") + argv[0] + ": " + strerror(e);
		return r;
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r.out = read_file(out);
	r.err = read_file(err);
	unlink(out.c_str());
	unlink(err.c_str());
	return r;
}

// rseq-stress, under the glibc this test runs under: started through another glibc's
// loader (the portability matrices), this test starts rseq-stress through it too, as
// the ELF file itself rather than libtool's wrapper script.
std::vector<std::string> stress(std::vector<std::string> args)
{
	std::vector<std::string> argv = rseqkit_test::loader_prefix();
	std::string prog = builddir() + "/tools/rseq-stress/rseq-stress";
	const std::string elf = builddir() + "/tools/rseq-stress/.libs/rseq-stress";
	if (!argv.empty() && access(elf.c_str(), X_OK) == 0)
		prog = elf;
	argv.push_back(prog);
	argv.insert(argv.end(), args.begin(), args.end());
	return argv;
}

// Whether sequences of this index kind run here (else rseq-stress uses locked mode).
bool sequences_run(const std::string &index)
{
	if (!rseqkit_test::rseq_works())
		return false;
	if (index == "mm_cid") {
		struct rseqkit_info info;
		if (rseqkit_get_info(&info) != 0)
			return false;
		return (info.features & RSEQKIT_FEATURE_MM_CID) != 0;
	}
	return true;
}

// Parses rseq-stress's JSON and checks the schema every report has.
::testing::AssertionResult parse_report(const run_result &r, json::value &doc)
{
	json::parser p(r.out);
	if (!p.parse(doc))
		return ::testing::AssertionFailure() << "not one JSON document (" << p.error() << "):\n" << r.out;
	if (doc.k != json::value::object || doc["ok"].k != json::value::boolean ||
	    doc["sequences"].k != json::value::array || doc["invariants"].k != json::value::array)
		return ::testing::AssertionFailure() << "missing ok, sequences or invariants:\n" << r.out;
	for (const json::value &s : doc["sequences"].items) {
		if (s["name"].k != json::value::string || s["start_ip"].k != json::value::string ||
		    s["commits"].k != json::value::number || s["aborts"].k != json::value::number ||
		    s["attempts"].k != json::value::number || s["locked_commits"].k != json::value::number)
			return ::testing::AssertionFailure() << "a sequence lacks name, start_ip or counts:\n" << r.out;
		const std::string &ip = s["start_ip"].text;
		if (ip.size() < 3 || ip.compare(0, 2, "0x") != 0 || ip.find_first_not_of("0123456789abcdef", 2) != std::string::npos)
			return ::testing::AssertionFailure() << "start_ip is not 0x and hex digits: " << ip;
	}
	return ::testing::AssertionSuccess();
}

uint64_t hex(const std::string &s)
{
	return std::strtoull(s.c_str(), nullptr, 16);
}

struct family_case {
	const char *family;
	std::vector<std::string> seqs;  // names without the _<kind> suffix
	bool sum;                       // one add per operation: commits are exact
};

const family_case kFamilies[] = {
	{"add", {"rseq_stress_add"}, true},
	{"cmpeq", {"rseq_stress_cmpeq"}, true},
	{"list", {"rseq_stress_list_push", "rseq_stress_list_pop"}, false},
	{"buffer", {"rseq_stress_buffer_push", "rseq_stress_buffer_pop"}, false},
	{"memcpy", {"rseq_stress_memcpy_push", "rseq_stress_memcpy_pop"}, false},
	{"offset-add", {"rseq_stress_offset_add"}, true},
};

// 6 threads per online CPU, as run_param_test.sh; at least 12, at most 64.
int threads()
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long n = 6 * (cpus > 0 ? cpus : 1);
	return static_cast<int>(n < 12 ? 12 : n > 64 ? 64 : n);
}
constexpr int kOps = 1000;

// The checks every stress run shares: exit 0, nothing on stderr, ok, every invariant
// ok, and per sequence either aborts >= 1% of attempts (sequences run) or the locked
// path did the work.
void check_run(const run_result &r, const std::string &index, json::value &doc)
{
	ASSERT_EQ(0, r.status) << r.err << r.out;
	EXPECT_EQ("", r.err);
	ASSERT_TRUE(parse_report(r, doc));
	EXPECT_TRUE(doc["ok"].b) << r.out;
	for (const json::value &v : doc["invariants"].items)
		EXPECT_TRUE(v["ok"].b) << v["family"].text << ": " << v["detail"].text;
	const bool run = sequences_run(index);
	EXPECT_EQ(!run, doc["locked"].b);
	EXPECT_EQ(index == "mm_cid" ? "mm_cid" : "cpu_id", doc["index"].text);
	for (const json::value &s : doc["sequences"].items) {
		const std::string &name = s["name"].text;
		const uint64_t aborts = s["aborts"].u64(), attempts = s["attempts"].u64();
		if (run) {
			EXPECT_GT(s["commits"].u64(), 0u) << name;
			EXPECT_EQ(0u, s["locked_commits"].u64()) << name;
			EXPECT_GT(aborts, 0u) << name;
			EXPECT_GE(aborts * 100, attempts) << name << ": aborts " << aborts << " of " << attempts
							  << " attempts, less than 1%";
		} else {
			EXPECT_EQ(0u, s["commits"].u64()) << name;
			EXPECT_EQ(0u, aborts) << name;
			EXPECT_GT(s["locked_commits"].u64(), 0u) << name;
		}
	}
}

class Family : public ::testing::TestWithParam<std::tuple<int, const char *>> {};

TEST_P(Family, DelaysAndSignals)
{
	const family_case &fc = kFamilies[std::get<0>(GetParam())];
	const std::string index = std::get<1>(GetParam());
	const run_result r = run(stress({"--op", fc.family, "--index", index, "--threads", std::to_string(threads()),
					 "--ops", std::to_string(kOps), "--delay", "8000", "--signal-every-us", "50",
					 "--json"}));
	json::value doc;
	ASSERT_NO_FATAL_FAILURE(check_run(r, index, doc));

	// Exactly this family's sequences, each with its own descriptor.
	const std::string suffix = index == "mm_cid" ? "_mm_cid" : "_cpu_id";
	const auto &seqs = doc["sequences"].items;
	ASSERT_EQ(fc.seqs.size(), seqs.size()) << r.out;
	std::map<uint64_t, std::string> ips;
	for (size_t k = 0; k < seqs.size(); ++k) {
		EXPECT_EQ(fc.seqs[k] + suffix, seqs[k]["name"].text);
		EXPECT_EQ(fc.family, seqs[k]["family"].text);
		const uint64_t ip = hex(seqs[k]["start_ip"].text);
		EXPECT_NE(0u, ip);
		EXPECT_TRUE(ips.emplace(ip, seqs[k]["name"].text).second) << "two sequences share start_ip " << ip;
	}
	const uint64_t total = static_cast<uint64_t>(threads()) * kOps;
	if (fc.sum) {
		// One commit per operation, through the sequence or the lock.
		EXPECT_EQ(total, seqs[0]["commits"].u64() + seqs[0]["locked_commits"].u64());
	} else {
		// A pop per operation (unless the caller's list was empty), a push per pop.
		const json::value &push = seqs[0], &pop = seqs[1];
		const uint64_t pushes = push["commits"].u64() + push["locked_commits"].u64();
		const uint64_t pops = pop["commits"].u64() + pop["locked_commits"].u64();
		EXPECT_EQ(pops, pushes);
		EXPECT_LE(pops, total);
		EXPECT_GT(pops, total / 2);
	}
}

INSTANTIATE_TEST_SUITE_P(Stress, Family,
			 ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kFamilies))),
					    ::testing::Values("cpu", "mm_cid")),
			 [](const ::testing::TestParamInfo<Family::ParamType> &info) {
				 std::string n = kFamilies[std::get<0>(info.param)].family;
				 for (char &c : n)
					 if (c == '-')
						 c = '_';
				 return n + "_" + std::get<1>(info.param);
			 });

// param_test's loop injection (10000) with yields, every family at once.
TEST(Stress, AllFamiliesYieldAndLongDelay)
{
	const run_result r = run(stress({"--op", "all", "--threads", std::to_string(threads()), "--ops", "1000",
					 "--delay", "10000", "--yield", "--signal-every-us", "200", "--json"}));
	json::value doc;
	ASSERT_NO_FATAL_FAILURE(check_run(r, "cpu", doc));
	EXPECT_EQ(9u, doc["sequences"].items.size());
}

// The acceptance run: --op all --threads 4 --delay 200 --duration 3.  No signals:
// preemption and migration alone must abort every sequence where sequences run.
TEST(Stress, AcceptanceRun)
{
	const run_result r = run(
		stress({"--op", "all", "--threads", "4", "--delay", "200", "--duration", "3", "--json"}));
	ASSERT_EQ(0, r.status) << r.err << r.out;
	json::value doc;
	ASSERT_TRUE(parse_report(r, doc));
	EXPECT_TRUE(doc["ok"].b) << r.out;
	EXPECT_EQ(9u, doc["sequences"].items.size());
	EXPECT_GE(doc["seconds"].num(), 3.0);
	EXPECT_LT(doc["seconds"].num(), 30.0);  // it stops (generous: the machine may be busy)
	for (const json::value &s : doc["sequences"].items) {
		if (sequences_run("cpu"))
			EXPECT_GT(s["aborts"].u64(), 0u) << s["name"].text;
		else
			EXPECT_EQ(0u, s["aborts"].u64()) << s["name"].text;
	}
}

// Every abort rseq-stress counts is one kernel abort of that sequence's descriptor:
// the kernel's rseq:rseq_ip_fixup events, recorded with perf(1), grouped by start_ip,
// match the report exactly.
TEST(Stress, AbortsMatchKernelEvents)
{
	if (!sequences_run("cpu"))
		GTEST_SKIP() << "sequences do not run in this mode";
	const std::string data = tmpdir() + "/perf.data";
	run_result probe = run({"perf", "--version"});
	if (probe.status != 0)
		GTEST_SKIP() << "perf(1) is not available (Debian: linux-perf)";
	std::vector<std::string> args = {"perf", "record", "-q", "-e", "rseq:rseq_ip_fixup", "-o", data, "--"};
	for (const std::string &a : stress({"--op", "all", "--threads", "8", "--ops", "500", "--delay", "3000",
					    "--signal-every-us", "50", "--json"}))
		args.push_back(a);
	const run_result r = run(args);
	if (r.status != 0 && r.out.empty())
		GTEST_SKIP() << "perf record cannot trace rseq:rseq_ip_fixup here: " << r.err;
	ASSERT_EQ(0, r.status) << r.err << r.out;
	json::value doc;
	ASSERT_TRUE(parse_report(r, doc));
	EXPECT_TRUE(doc["ok"].b) << r.out;
	if (r.err.find("lost") != std::string::npos)
		GTEST_SKIP() << "perf lost events: " << r.err;

	const run_result script = run({"perf", "script", "-i", data, "-F", "trace"});
	ASSERT_EQ(0, script.status) << script.err;
	std::map<uint64_t, uint64_t> kernel;
	std::istringstream lines(script.out);
	std::string line;
	while (std::getline(lines, line)) {
		size_t at = line.find("start_ip=");
		if (at == std::string::npos)
			continue;
		++kernel[hex(line.substr(at + 9))];
	}
	uint64_t reported_total = 0;
	for (const json::value &s : doc["sequences"].items) {
		const uint64_t ip = hex(s["start_ip"].text);
		EXPECT_EQ(s["aborts"].u64(), kernel[ip]) << s["name"].text;
		reported_total += s["aborts"].u64();
		kernel.erase(ip);
	}
	EXPECT_GT(reported_total, 0u);
	for (const auto &k : kernel)
		ADD_FAILURE() << k.second << " kernel aborts at start_ip 0x" << std::hex << k.first
			      << ", which is none of the reported sequences";
	unlink(data.c_str());
}

// Bad arguments: exit status 2, nothing on stdout, one line on stderr.
TEST(Cli, BadArguments)
{
	const std::vector<std::vector<std::string>> cases = {
		{"--threads", "0"},     {"--threads", "x"},         {"--threads", "5000"},
		{"--ops", "-5"},        {"--ops", "10", "--duration", "1"},
		{"--op", "nope"},       {"--op", "add,"},          {"--index", "numa"},
		{"--duration", "0"},    {"--duration", "abc"},      {"--delay", "-1"},
		{"--signal-every-us", "1x"}, {"--bogus"},            {"extra"},
		{"--threads"},          {"--json=yes"},
	};
	for (const auto &c : cases) {
		const run_result r = run(stress(c));
		std::string what;
		for (const auto &a : c)
			what += a + " ";
		EXPECT_EQ(2, r.status) << what;
		EXPECT_EQ("", r.out) << what;
		EXPECT_EQ(0u, r.err.rfind("rseq-stress: ", 0)) << what << ": " << r.err;
		EXPECT_EQ(1, std::count(r.err.begin(), r.err.end(), '\n')) << what << ": " << r.err;
	}
}

TEST(Cli, HelpAndTable)
{
	run_result r = run(stress({"--help"}));
	EXPECT_EQ(0, r.status);
	for (const char *flag : {"--op", "--threads", "--ops", "--duration", "--delay", "--signal-every-us", "--yield",
				 "--index", "--json"})
		EXPECT_NE(std::string::npos, r.out.find(flag)) << flag;
	r = run(stress({"--op", "add,offset-add", "--threads", "2", "--ops", "1000"}));
	EXPECT_EQ(0, r.status) << r.err;
	EXPECT_NE(std::string::npos, r.out.find("rseq_stress_add_cpu_id")) << r.out;
	EXPECT_NE(std::string::npos, r.out.find("rseq_stress_offset_add_cpu_id")) << r.out;
	EXPECT_EQ(std::string::npos, r.out.find("rseq_stress_list")) << r.out;
	EXPECT_NE(std::string::npos, r.out.find("ok: every invariant held")) << r.out;
}

}  // namespace
