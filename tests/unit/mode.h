// SPDX-License-Identifier: MIT
// Test helpers: the registration mode a test binary runs in, and raw rseq(2) calls.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <rseqkit/rseqkit.h>

extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

namespace rseqkit_test {

enum class mode { glibc, rseqkit, enosys, eperm };

// rseq(2): 0 or -errno.
inline long raw_rseq(void *area, uint32_t len, int flags, uint32_t sig)
{
	return syscall(SYS_rseq, area, len, flags, sig) == 0 ? 0 : -errno;
}

// The mode tests/harness/run-mode chose; inferred when the binary is run by hand.
inline mode current_mode()
{
	const char *m = getenv("RSEQKIT_TEST_MODE");
	if (m && strcmp(m, "glibc") == 0) return mode::glibc;
	if (m && strcmp(m, "rseqkit") == 0) return mode::rseqkit;
	if (m && strcmp(m, "enosys") == 0) return mode::enosys;
	if (m && strcmp(m, "eperm") == 0) return mode::eperm;
	if (&__rseq_size && __rseq_size > 0) return mode::glibc;
	long r = raw_rseq(nullptr, 0, 1 << 30, 0);  // EINVAL from any kernel with rseq
	if (r == -ENOSYS) return mode::enosys;
	if (r == -EPERM) return mode::eperm;
	return mode::rseqkit;
}

inline bool rseq_works() { return current_mode() == mode::glibc || current_mode() == mode::rseqkit; }

// The owner rseqkit must report on a thread nobody else touched, after registration.
inline enum rseqkit_owner expected_owner()
{
	switch (current_mode()) {
	case mode::glibc: return RSEQKIT_OWNER_GLIBC;
	case mode::rseqkit: return RSEQKIT_OWNER_RSEQKIT;
	default: return RSEQKIT_OWNER_UNAVAILABLE;
	}
}

inline int expected_unavailable_errno() { return current_mode() == mode::eperm ? EPERM : ENOSYS; }

// glibc's area of the calling thread (valid only in glibc mode).
inline void *glibc_area()
{
	void *tp;
#if defined(__x86_64__)
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
#else
	tp = __builtin_thread_pointer();
#endif
	return static_cast<char *>(tp) + __rseq_offset;
}

// The length glibc registered its areas with (valid only in glibc mode): 32 for the
// original area, glibc 2.41+ use the kernel's feature size when that is larger (33 on
// Linux 7.2).  Asked of the kernel, not computed like the library does: registering
// the same area again is EBUSY only with the same length.  The first call must come
// from a thread whose glibc registration is intact; later calls return that answer.
inline uint32_t glibc_area_length()
{
	static const uint32_t length = [] {
		for (uint32_t len = 32; len <= 4096; len++)
			if (raw_rseq(glibc_area(), len, 0, RSEQKIT_SIG) == -EBUSY)
				return len;
		return 0U;
	}();
	return length;
}

// The part of this process's command line that came before this test binary: the
// loader and its options when the test was started through an explicit dynamic loader
// (`ld.so --library-path DIR TEST`, as `make check-glibc` and the kernel matrix run every
// test under other glibc versions), empty when it was started directly.
inline std::vector<std::string> loader_prefix()
{
	std::vector<std::string> cmdline;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		std::string all;
		char buf[4096];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			all.append(buf, static_cast<size_t>(n));
		close(fd);
		for (size_t at = 0; at < all.size();) {
			size_t end = all.find('\0', at);
			if (end == std::string::npos)
				end = all.size();
			cmdline.push_back(all.substr(at, end - at));
			at = end + 1;
		}
	}
	// The loader shifts the program's argv: argv[0] is the test, cmdline[0] the loader.
	std::vector<std::string> prefix;
	const std::string self = program_invocation_name;
	if (!cmdline.empty() && cmdline[0] != self) {
		for (size_t i = 0; i < cmdline.size() && cmdline[i] != self; i++)
			prefix.push_back(cmdline[i]);
	}
	return prefix;
}

// Replaces the process with this test binary, run with the arguments args, through the
// same loader as now (/proc/self/exe is that loader then).  Returns only on failure.
inline void exec_self(const std::vector<std::string> &args)
{
	std::vector<std::string> argv = loader_prefix();
	argv.push_back(program_invocation_name);
	argv.insert(argv.end(), args.begin(), args.end());
	std::vector<char *> ptrs;
	for (auto &a : argv)
		ptrs.push_back(a.data());
	ptrs.push_back(nullptr);
	execv("/proc/self/exe", ptrs.data());
}

}  // namespace rseqkit_test
