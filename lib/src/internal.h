// SPDX-License-Identifier: MIT
// Private to librseqkit: raw system calls and the thread pointer.  Not installed.
#pragma once

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rseqkit::detail {

// Registration flag of the rseq system call (linux/rseq.h).
inline constexpr int kFlagUnregister = 1;
// Length rseqkit registers its own area with: the original struct rseq.  It is what
// every other __rseq_abi user registers (a different length would be EINVAL for the
// second of two co-owners), and it selects the kernel's legacy behaviour after the
// Linux 6.19 rework (cpu_id_start rewritten on every return after preemption).
inline constexpr uint32_t kOwnAreaLength = 32;

// rseq(2) without errno games: returns 0 or -errno.
inline long sys_rseq(void *area, uint32_t len, int flags, uint32_t sig)
{
#ifdef SYS_rseq
	long r = syscall(SYS_rseq, area, len, flags, sig);
	return r == 0 ? 0 : -errno;
#else
	(void)area; (void)len; (void)flags; (void)sig;
	return -ENOSYS;
#endif
}

inline void *thread_pointer()
{
#if defined(__x86_64__)
	void *tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
#elif defined(__aarch64__)
	void *tp;
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
	return tp;
#else
	return __builtin_thread_pointer();
#endif
}

}  // namespace rseqkit::detail
