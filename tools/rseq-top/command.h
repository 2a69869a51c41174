// SPDX-License-Identifier: MIT
// The command rseq-top runs (`rseq-top -- COMMAND`, --demo): started held at a gate so
// that its PID is in the filter before its first instruction, then released to exec.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace rseqtop {

class Command {
public:
	~Command();
	// Forks; the child waits at the gate.  quiet: its stdout and stderr go to /dev/null.
	bool spawn(const std::vector<std::string> &argv, bool quiet, std::string *error);
	pid_t pid() const { return pid_; }
	// Lets the child exec.  Returns false (and *error) when exec failed; the child
	// has exited with 127 (not found) or 126 (not runnable) then.
	bool release(std::string *error);
	// Non-blocking (block=false) or blocking wait; true once it has exited.
	bool wait(bool block);
	// Exit status as a shell reports it: the code, or 128 + the signal.
	int status() const { return status_; }
	void kill_it(int sig);

private:
	pid_t pid_ = -1;
	int gate_ = -1;    // write end: one byte releases the child
	int report_ = -1;  // read end: the child's errno if exec fails (close-on-exec)
	bool done_ = false;
	int status_ = 0;
};

// Where rseq-stress is for --demo: $RSEQ_STRESS, next to this program, the build
// tree's tools/rseq-stress, the installed bin directory, PATH; in a build tree
// without it, the exactness workload tests/bpf/abort-workload.  Empty if none.
std::string find_stress_program();

}  // namespace rseqtop
