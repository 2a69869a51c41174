// SPDX-License-Identifier: MIT
// Running programs from the rseq-inspect tests: capture stdout and stderr, enforce a
// timeout (a hang is a failure, never a stuck test), and talk to a long-running child.
#ifndef RSEQKIT_TESTS_RUN_PROCESS_H
#define RSEQKIT_TESTS_RUN_PROCESS_H

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace testproc {

struct Result {
	int status = -1;        // exit status, or 128 + signal
	bool timed_out = false;
	std::string out, err;
};

inline long now_ms()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

inline std::vector<char *> cargv(const std::vector<std::string> &argv)
{
	std::vector<char *> v;
	for (const std::string &a : argv)
		v.push_back(const_cast<char *>(a.c_str()));
	v.push_back(nullptr);
	return v;
}

// Runs argv (PATH is searched) with stdin from /dev/null; kills it after timeout_ms.
inline Result run(const std::vector<std::string> &argv, int timeout_ms = 60000)
{
	Result r;
	int outp[2], errp[2];
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		std::vector<char *> v = cargv(argv);
		execvp(v[0], v.data());
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	long deadline = now_ms() + timeout_ms;
	struct pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0) {
		long left = deadline - now_ms();
		if (left <= 0) {
			r.timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		int n = poll(fds, 2, static_cast<int>(left));
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[65536];
			ssize_t got = read(fds[i].fd, buf, sizeof buf);
			if (got > 0) {
				(i ? r.err : r.out).append(buf, static_cast<size_t>(got));
			} else {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (auto &f : fds)
		if (f.fd >= 0)
			close(f.fd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

// A child we talk to line by line over its stdin and stdout.
class Child {
public:
	explicit Child(const std::vector<std::string> &argv)
	{
		int inp[2], outp[2];
		if (pipe2(inp, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0)
			abort();
		pid_ = fork();
		if (pid_ == 0) {
			dup2(inp[0], 0);
			dup2(outp[1], 1);
			std::vector<char *> v = cargv(argv);
			execvp(v[0], v.data());
			_exit(127);
		}
		close(inp[0]);
		close(outp[1]);
		in_ = inp[1];
		out_ = outp[0];
	}
	~Child()
	{
		if (in_ >= 0)
			close(in_);
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
		if (out_ >= 0)
			close(out_);
	}
	pid_t pid() const { return pid_; }
	bool write_line(const std::string &line)
	{
		std::string s = line + "\n";
		return write(in_, s.data(), s.size()) == static_cast<ssize_t>(s.size());
	}
	// One line without its newline; false on end of output or timeout.
	bool read_line(std::string *line, int timeout_ms = 20000)
	{
		long deadline = now_ms() + timeout_ms;
		for (;;) {
			size_t nl = buf_.find('\n');
			if (nl != std::string::npos) {
				*line = buf_.substr(0, nl);
				buf_.erase(0, nl + 1);
				return true;
			}
			long left = deadline - now_ms();
			if (left <= 0)
				return false;
			struct pollfd p = {out_, POLLIN, 0};
			int n = poll(&p, 1, static_cast<int>(left));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return false;
			char tmp[4096];
			ssize_t got = read(out_, tmp, sizeof tmp);
			if (got <= 0)
				return false;
			buf_.append(tmp, static_cast<size_t>(got));
		}
	}
	// Closes stdin and waits; the exit status, or 128 + signal, or -1 on timeout.
	int finish(int timeout_ms = 20000)
	{
		close(in_);
		in_ = -1;
		long deadline = now_ms() + timeout_ms;
		int st = 0;
		while (now_ms() < deadline) {
			pid_t r = waitpid(pid_, &st, WNOHANG);
			if (r == pid_) {
				pid_ = -1;
				return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			}
			usleep(10000);
		}
		return -1;
	}

private:
	pid_t pid_ = -1;
	int in_ = -1, out_ = -1;
	std::string buf_;
};

}  // namespace testproc

#endif
