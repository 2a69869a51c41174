// SPDX-License-Identifier: MIT
// Time-slice extension (Linux 7.0+): the protocol of Documentation/userspace-api/rseq.rst.
//
//   request:  slice_request = 1, then the lock-holding region
//   release:  slice_request = 0; if slice_granted, call rseq_slice_yield()
//
// The kernel grants an extension by clearing slice_request and setting slice_granted,
// and clears both when it schedules the thread out anyway.  Everything is CPU-local,
// so plain stores and compiler barriers suffice.  The kernel kills a thread that calls
// prctl(PR_RSEQ_SLICE_EXTENSION) while its area lacks the AVAILABLE flag, so enable
// asks only when the flag is there.  Same rules as area.cc: no malloc, no libstdc++.
#include "config.h"

#include <rseqkit/rseqkit.h>

#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "slice.h"

namespace rseqkit::detail {

namespace {

constexpr int kPrRseqSliceExtension = 79;
constexpr int kPrRseqSliceExtensionSet = 2;
constexpr int kPrRseqSliceExtEnable = 1;
constexpr long kSysRseqSliceYield = 471;  // the same on every architecture
// The kernel's internal ENOTSUPP, which this prctl leaks to user space.
constexpr int kKernelEnotsupp = 524;

long system_enable()
{
	long r = syscall(SYS_prctl, kPrRseqSliceExtension, kPrRseqSliceExtensionSet,
			 kPrRseqSliceExtEnable, 0, 0);
	return r < 0 ? -errno : r;
}

long system_yield()
{
	long r = syscall(kSysRseqSliceYield);
	return r < 0 ? -errno : r;
}

uint32_t load_flags(const struct rseqkit_area *area)
{
	return __atomic_load_n(&area->flags, __ATOMIC_RELAXED);
}

}  // namespace

const slice_kernel system_slice_kernel = {system_enable, system_yield};

int slice_enable_on(struct rseqkit_area *area, const slice_kernel &kernel)
{
	uint32_t flags = load_flags(area);
	if (flags & kFlagSliceExtEnabled)
		return 0;
	if (!(flags & kFlagSliceExtAvailable))
		return -EOPNOTSUPP;
	long r = kernel.enable();
	if (r == -EINVAL || r == -kKernelEnotsupp)  // disabled at boot, or a legacy area
		return -EOPNOTSUPP;
	return r < 0 ? static_cast<int>(r) : 0;
}

int slice_request_on(struct rseqkit_area *area, uint32_t &depth)
{
	if (!(load_flags(area) & kFlagSliceExtEnabled))
		return 0;
	if (depth++ == 0)
		__atomic_store_n(&area->slice_request, 1, __ATOMIC_RELAXED);
	// The region must not start before the request is in place.
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return 1;
}

int slice_granted_on(const struct rseqkit_area *area)
{
	return __atomic_load_n(&area->slice_granted, __ATOMIC_RELAXED) != 0;
}

int slice_release_on(struct rseqkit_area *area, uint32_t &depth, const slice_kernel &kernel)
{
	if (depth == 0 || --depth > 0)
		return RSEQKIT_SLICE_NONE;
	// Not enabled now: the thread's area changed under the request (it unregistered);
	// the area it points at may be the read-only one.
	if (!(load_flags(area) & kFlagSliceExtEnabled))
		return RSEQKIT_SLICE_NONE;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);  // the region is over before the withdrawal
	uint8_t pending = __atomic_load_n(&area->slice_request, __ATOMIC_RELAXED);
	__atomic_store_n(&area->slice_request, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	// A grant that lands between the load and the store shows up here.
	if (__atomic_load_n(&area->slice_granted, __ATOMIC_RELAXED)) {
		long r = kernel.yield();
		if (r < 0)
			return static_cast<int>(r);
		// 0: the extension ran out (or the thread was scheduled) before the yield.
		return r > 0 ? RSEQKIT_SLICE_YIELDED : RSEQKIT_SLICE_REVOKED;
	}
	return pending ? RSEQKIT_SLICE_UNUSED : RSEQKIT_SLICE_REVOKED;
}

}  // namespace rseqkit::detail

using namespace rseqkit::detail;

namespace {
// The calling thread's nested requests.
__attribute__((tls_model("initial-exec"))) __thread uint32_t slice_depth;
}  // namespace

extern "C" {

#define RSEQKIT_API __attribute__((visibility("default")))

RSEQKIT_API int rseqkit_slice_enable(void)
{
	if (rseqkit_register_current_thread() != 0)
		return -1;  // errno from the registration
	int r = slice_enable_on(rseqkit_tls_area, system_slice_kernel);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

// Threads without a usable area point at a read-only area whose flags are 0, so the
// no-op path never writes.
RSEQKIT_API int rseqkit_slice_request(void)
{
	return slice_request_on(rseqkit_tls_area, slice_depth);
}

RSEQKIT_API int rseqkit_slice_granted(void)
{
	return slice_granted_on(rseqkit_tls_area);
}

RSEQKIT_API int rseqkit_slice_release(void)
{
	int r = slice_release_on(rseqkit_tls_area, slice_depth, system_slice_kernel);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

}  // extern "C"
