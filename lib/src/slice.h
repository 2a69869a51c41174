// SPDX-License-Identifier: MIT
// Private to librseqkit: the time-slice extension protocol (see rseqkit_slice_enable(3)),
// written against any area and any "kernel", so that a test can drive an area by hand
// and play the kernel's part.  The exported functions pass the calling thread's area
// and the real system calls.  Not installed.
#pragma once

#include <stdint.h>

#include <rseqkit/rseqkit.h>

namespace rseqkit::detail {

// Read-only bits the kernel keeps in rseq->flags (Linux 7.0+).
inline constexpr uint32_t kFlagSliceExtAvailable = 1U << 4;
inline constexpr uint32_t kFlagSliceExtEnabled = 1U << 5;

// The two system calls of the protocol; each returns its result or -errno.
struct slice_kernel {
	// prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, PR_RSEQ_SLICE_EXT_ENABLE)
	long (*enable)();
	// rseq_slice_yield(2): 1 when the thread gave the CPU back within its extension
	long (*yield)();
};

extern const slice_kernel system_slice_kernel;

// 0, or -errno (EOPNOTSUPP when the area does not offer the extension).
int slice_enable_on(struct rseqkit_area *area, const slice_kernel &kernel);
// 1 when a request is pending, 0 when the extension is not enabled.  depth counts the
// calling thread's nested requests.
int slice_request_on(struct rseqkit_area *area, uint32_t &depth);
int slice_granted_on(const struct rseqkit_area *area);
// An enum rseqkit_slice_outcome, or -errno from the yield.
int slice_release_on(struct rseqkit_area *area, uint32_t &depth, const slice_kernel &kernel);

}  // namespace rseqkit::detail
