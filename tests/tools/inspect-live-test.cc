// SPDX-License-Identifier: MIT
// rseq-inspect -p on a live multi-threaded process, in each registration mode (the
// test runs as inspect-live.glibc, .rseqkit, .enosys and .eperm; the target inherits
// the mode).  The target (inspect-live-target) tells us what rseqkit sees in each
// thread; rseq-inspect must find the same areas and owners from outside, flag the
// unregistered threads, check the target's critical section, and leave every thread
// running: the target's sequences keep committing and their sum stays exact.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>

#include "json-mini.h"
#include "run-process.h"

namespace {

std::string env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

const std::string builddir = env_or("RSEQKIT_BUILDDIR", ".");
const std::string tool = builddir + "/tools/rseq-inspect/rseq-inspect";
const std::string target_path = builddir + "/tests/tools/inspect-live-target";
const std::string mode = env_or("RSEQKIT_TEST_MODE", "glibc");

#if defined(__x86_64__)
const char *const kSignature = "0x53053053";
#else
const char *const kSignature = "0xd428bc00";
#endif

struct TargetThread {
	std::string name, owner;
	uint64_t area = 0;
	unsigned length = 0;
};

struct Target {
	testproc::Child child;
	long glibc_offset = 0;
	unsigned glibc_size = 0;
	std::map<int, TargetThread> threads;

	explicit Target(std::vector<std::string> args) : child(args) {}

	void start()
	{
		std::string line;
		while (child.read_line(&line)) {
			std::istringstream in(line);
			std::string word;
			in >> word;
			if (word == "ready")
				return;
			if (word == "glibc") {
				in >> glibc_offset >> glibc_size;
			} else if (word == "thread") {
				int tid;
				TargetThread t;
				std::string area;
				in >> tid >> t.name >> t.owner >> area >> t.length;
				t.area = std::stoull(area, nullptr, 16);
				threads[tid] = t;
			}
		}
		FAIL() << "the target did not get ready";
	}

	// Progress counters of the 3 workers and "unreg"; checks the exact sum.
	std::vector<long> progress()
	{
		std::vector<long> p;
		EXPECT_TRUE(child.write_line("check"));
		std::string line;
		EXPECT_TRUE(child.read_line(&line));
		std::istringstream in(line);
		std::string word;
		in >> word;
		EXPECT_EQ(word, "progress") << line;
		long v;
		while (in >> v)
			p.push_back(v);
		EXPECT_TRUE(child.read_line(&line));
		std::istringstream sum(line);
		long long counters = -1, commits = -2;
		sum >> word >> counters >> commits;
		EXPECT_EQ(word, "sum") << line;
		EXPECT_EQ(counters, commits) << "per-CPU counters and committed additions disagree";
		return p;
	}

	// No thread of the target may be left in a stop.
	void expect_all_running()
	{
		std::string dir = "/proc/" + std::to_string(child.pid()) + "/task";
		DIR *d = opendir(dir.c_str());
		ASSERT_TRUE(d);
		while (struct dirent *de = readdir(d)) {
			if (de->d_name[0] == '.')
				continue;
			// Plain read(2): a thread that exits meanwhile yields ESRCH, not an exception.
			std::string s;
			int fd = open((dir + "/" + de->d_name + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				char buf[1024];
				ssize_t n = read(fd, buf, sizeof buf);
				if (n > 0)
					s.assign(buf, static_cast<size_t>(n));
				close(fd);
			}
			size_t paren = s.rfind(')');
			if (paren == std::string::npos || paren + 2 >= s.size())
				continue;  // exited meanwhile
			char state = s[paren + 2];
			EXPECT_TRUE(state != 't' && state != 'T') << "thread " << de->d_name << " is in state " << state;
		}
		closedir(d);
	}
};

jsonmini::Value inspect_json(pid_t pid, testproc::Result *out)
{
	*out = testproc::run({tool, "--json", "-p", std::to_string(pid)});
	EXPECT_FALSE(out->timed_out);
	try {
		return jsonmini::parse(out->out);
	} catch (const std::exception &e) {
		ADD_FAILURE() << "invalid JSON: " << e.what() << "\n" << out->out << out->err;
		return {};
	}
}

TEST(Live, EveryThreadWithOwnerAreaAndCpu)
{
	Target target({target_path});
	target.start();
	ASSERT_EQ(target.threads.size(), 5u);  // main, worker-1..3, unreg
	std::vector<long> before = target.progress();

	testproc::Result r;
	jsonmini::Value v = inspect_json(target.child.pid(), &r);
	ASSERT_EQ(r.status, 0) << r.out << r.err;
	EXPECT_EQ(r.err, "");
	EXPECT_EQ(v["pid"].integer(), target.child.pid());
	EXPECT_TRUE(v["ok"].boolean());
	// glibc's published offset, found through libc's symbol in the target.
	EXPECT_EQ(v["glibc_rseq_offset"].integer(), target.glibc_offset);
	EXPECT_EQ(v["glibc_rseq_size"].integer(), static_cast<long long>(target.glibc_size));

	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	std::map<int, const jsonmini::Value *> by_tid;
	for (const jsonmini::Value &t : v["threads"].items)
		by_tid[static_cast<int>(t["tid"].integer())] = &t;
	size_t unregistered = 0;
	for (const auto &[tid, seen] : target.threads) {
		SCOPED_TRACE(seen.name + " " + std::to_string(tid) + " (" + seen.owner + ")");
		ASSERT_TRUE(by_tid.count(tid)) << "thread missing from the report";
		const jsonmini::Value &t = *by_tid[tid];
		EXPECT_FALSE(t.has("error"));
		bool expect_registered = mode == "glibc" || (mode == "rseqkit" && seen.name != "unreg");
		ASSERT_EQ(t["registered"].boolean(), expect_registered);
		if (!expect_registered) {
			unregistered++;
			EXPECT_FALSE(t.has("area"));
			continue;
		}
		EXPECT_EQ(std::stoull(t["area"].str(), nullptr, 16), seen.area);
		EXPECT_EQ(t["length"].integer(), static_cast<long long>(seen.length));
		EXPECT_EQ(t["signature"].str(), kSignature);
		EXPECT_EQ(t["flags"].integer(), 0);
		if (mode == "glibc") {
			EXPECT_EQ(seen.owner, "glibc");
			EXPECT_EQ(t["owner"].str(), "glibc");
			EXPECT_EQ(t["owner_objects"].size(), 0u);
		} else {
			EXPECT_EQ(seen.owner, "rseqkit");
			EXPECT_EQ(t["owner"].str(), "__rseq_abi");
			ASSERT_EQ(t["owner_objects"].size(), 1u);
			std::string obj = t["owner_objects"][0].str();
			EXPECT_NE(obj.find("/librseqkit.so"), std::string::npos) << obj;
		}
		long long cpu = t["cpu_id"].integer();
		EXPECT_GE(cpu, 0);
		EXPECT_LT(cpu, cpus);
		EXPECT_GE(t["node_id"].integer(), 0);
		EXPECT_GE(t["mm_cid"].integer(), 0);
		EXPECT_LT(t["mm_cid"].integer(), 64);
	}
	if (mode == "glibc")
		EXPECT_EQ(unregistered, 0u);
	else if (mode == "rseqkit")
		EXPECT_EQ(unregistered, 1u);  // "unreg"
	else
		EXPECT_EQ(unregistered, 5u);  // rseq(2) refused everywhere

	// The target's own critical section, checked in its executable.
	bool found = false;
	for (const jsonmini::Value &f : v["files"].items) {
		EXPECT_FALSE(f.has("error")) << f["path"].str();
		for (const jsonmini::Value &s : f["sequences"].items) {
			if (s["name"].str() != "inline_add")
				continue;
			found = true;
			EXPECT_TRUE(s["ok"].boolean());
			EXPECT_NE(f["path"].str().find("inspect-live-target"), std::string::npos) << f["path"].str();
		}
	}
	EXPECT_TRUE(found) << "inline_add not found among the loaded objects";

	// Text mode flags the unregistered threads on their line.
	testproc::Result text = testproc::run({tool, "-p", std::to_string(target.child.pid())});
	EXPECT_EQ(text.status, 0) << text.err;
	size_t flagged = 0;
	for (size_t at = 0; (at = text.out.find("UNREGISTERED", at)) != std::string::npos; at++)
		flagged++;
	EXPECT_EQ(flagged, unregistered) << text.out;

	// Every thread still runs, and the sequences stayed exact.
	target.expect_all_running();
	usleep(100000);
	std::vector<long> after = target.progress();
	ASSERT_EQ(before.size(), 4u);
	ASSERT_EQ(after.size(), 4u);
	for (size_t k = 0; k < 4; k++)
		EXPECT_GT(after[k], before[k]) << "thread " << k << " made no progress after the inspection";
	EXPECT_EQ(target.child.finish(), 0);
}

TEST(Live, ThreadsComingAndGoingNeverBreakIt)
{
	Target target({target_path, "--churn"});
	target.start();
	for (int round = 0; round < 15; round++) {
		testproc::Result r;
		jsonmini::Value v = inspect_json(target.child.pid(), &r);
		ASSERT_EQ(r.status, 0) << "round " << round << ": " << r.err;
		EXPECT_EQ(r.err, "");
		// The five steady threads are always there; short-lived ones may or may not be.
		size_t steady = 0;
		for (const jsonmini::Value &t : v["threads"].items) {
			EXPECT_FALSE(t.has("error")) << t["error"].str();
			steady += target.threads.count(static_cast<int>(t["tid"].integer()));
		}
		EXPECT_EQ(steady, 5u);
	}
	target.expect_all_running();
	target.progress();
	EXPECT_EQ(target.child.finish(), 0);
}

}  // namespace
