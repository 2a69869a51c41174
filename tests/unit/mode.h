// SPDX-License-Identifier: MIT
// Test helpers: the registration mode a test binary runs in, and raw rseq(2) calls.
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

}  // namespace rseqkit_test
