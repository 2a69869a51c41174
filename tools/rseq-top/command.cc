// SPDX-License-Identifier: MIT
#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace rseqtop {

Command::~Command()
{
	if (gate_ >= 0)
		::close(gate_);
	if (report_ >= 0)
		::close(report_);
}

bool Command::spawn(const std::vector<std::string> &argv, bool quiet, std::string *error)
{
	int gate[2], report[2];
	if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
		*error = std::string("cannot create a pipe: ") + std::strerror(errno);
		return false;
	}
	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);

	pid_ = fork();
	if (pid_ < 0) {
		*error = std::string("cannot fork: ") + std::strerror(errno);
		return false;
	}
	if (pid_ == 0) {
		// The child: the command's signals as the user expects them, then wait to be
		// counted before exec.
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		::close(gate[1]);
		::close(report[0]);
		char c;
		ssize_t n;
		do
			n = ::read(gate[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(127);  // rseq-top gave up (could not set up counting)
		if (quiet) {
			int null = ::open("/dev/null", O_WRONLY);
			if (null >= 0) {
				dup2(null, STDOUT_FILENO);
				dup2(null, STDERR_FILENO);
				if (null > STDERR_FILENO)
					::close(null);
			}
		}
		execvp(args[0], args.data());
		int err = errno;
		ssize_t w = ::write(report[1], &err, sizeof(err));
		(void)w;
		_exit(err == ENOENT ? 127 : 126);
	}
	::close(gate[0]);
	::close(report[1]);
	gate_ = gate[1];
	report_ = report[0];
	return true;
}

bool Command::release(std::string *error)
{
	if (::write(gate_, "x", 1) != 1) {
		*error = std::string("cannot start the command: ") + std::strerror(errno);
		return false;
	}
	::close(gate_);
	gate_ = -1;
	int err = 0;
	ssize_t n;
	do
		n = ::read(report_, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	::close(report_);
	report_ = -1;
	if (n == (ssize_t)sizeof(err)) {
		*error = std::string("cannot run the command: ") + std::strerror(err);
		return false;
	}
	return true;
}

bool Command::wait(bool block)
{
	if (done_ || pid_ <= 0)
		return true;
	int st = 0;
	pid_t r;
	do
		r = waitpid(pid_, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != pid_)
		return false;
	done_ = true;
	status_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
	return true;
}

void Command::kill_it(int sig)
{
	if (pid_ > 0 && !done_)
		::kill(pid_, sig);
}

namespace {
bool executable(const std::string &p)
{
	struct stat st;
	return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}
}  // namespace

std::string find_stress_program()
{
	if (const char *env = std::getenv("RSEQ_STRESS"))
		return executable(env) ? env : std::string();
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	std::string dir;
	if (n > 0) {
		self[n] = 0;
		dir = self;
		dir.resize(dir.rfind('/'));
		// Run from the build tree through libtool, the binary may sit in .libs.
		if (dir.size() >= 6 && dir.compare(dir.size() - 6, 6, "/.libs") == 0)
			dir.resize(dir.size() - 6);
		for (const char *rel : {"/rseq-stress", "/../rseq-stress/rseq-stress", "/../bin/rseq-stress"})
			if (executable(dir + rel))
				return dir + rel;
	}
	if (const char *path = std::getenv("PATH")) {
		std::string p = path;
		size_t start = 0;
		while (start <= p.size()) {
			size_t end = p.find(':', start);
			if (end == std::string::npos)
				end = p.size();
			std::string d = p.substr(start, end - start);
			if (!d.empty() && executable(d + "/rseq-stress"))
				return d + "/rseq-stress";
			start = end + 1;
		}
	}
	if (!dir.empty() && executable(dir + "/../../tests/bpf/abort-workload"))
		return dir + "/../../tests/bpf/abort-workload";
	return std::string();
}

}  // namespace rseqtop
