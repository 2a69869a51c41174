// SPDX-License-Identifier: MIT
// The time-slice extension protocol of lib/src/slice.cc against an area this test
// drives by hand: the test plays the kernel (sets the flag bits, grants, revokes) and
// counts the system calls the library makes.  No kernel with the extension is needed;
// the exported functions are tested on real kernels by tests/matrix/test-abi.
#include <gtest/gtest.h>

#include <errno.h>

#include "../../lib/src/slice.h"

using namespace rseqkit::detail;

namespace {

// The kernel's side of the protocol, for one thread.
struct fake_kernel {
	struct rseqkit_area area = {};
	int enable_calls = 0;
	long enable_result = 0;
	int yield_calls = 0;
	long yield_result = 1;
	uint32_t depth = 0;

	void available() { area.flags |= kFlagSliceExtAvailable; }
	void grant()  // the tick found a pending request
	{
		area.slice_request = 0;
		area.slice_granted = 1;
	}
	void schedule_out() { area.slice_request = area.slice_granted = 0; }
};

fake_kernel *current;

const slice_kernel kernel_ops = {
	[]() -> long {
		current->enable_calls++;
		if (current->enable_result == 0)
			current->area.flags |= kFlagSliceExtEnabled;  // as prctl() does
		return current->enable_result;
	},
	[]() -> long {
		current->yield_calls++;
		current->area.slice_granted = 0;  // the syscall entry ends the grant
		return current->yield_result;
	},
};

class SliceProtocol : public ::testing::Test {
protected:
	fake_kernel k;
	void SetUp() override { current = &k; }
	void TearDown() override { current = nullptr; }
	int enable() { return slice_enable_on(&k.area, kernel_ops); }
	int request() { return slice_request_on(&k.area, k.depth); }
	int release() { return slice_release_on(&k.area, k.depth, kernel_ops); }
	void enabled()
	{
		k.available();
		ASSERT_EQ(enable(), 0);
	}
};

}  // namespace

TEST_F(SliceProtocol, UnavailableAreaNeverAsksTheKernel)
{
	// No AVAILABLE flag: the kernel would kill a thread that calls prctl() now.
	EXPECT_EQ(enable(), -EOPNOTSUPP);
	EXPECT_EQ(k.enable_calls, 0);
	EXPECT_EQ(request(), 0);
	EXPECT_EQ(k.area.slice_request, 0);
	EXPECT_EQ(k.depth, 0U);
	EXPECT_EQ(slice_granted_on(&k.area), 0);
	EXPECT_EQ(release(), RSEQKIT_SLICE_NONE);
	EXPECT_EQ(k.yield_calls, 0);
}

TEST_F(SliceProtocol, AvailableButNotEnabledIsANoOp)
{
	k.available();
	EXPECT_EQ(request(), 0);
	EXPECT_EQ(k.area.slice_request, 0);
	EXPECT_EQ(release(), RSEQKIT_SLICE_NONE);
	EXPECT_EQ(k.enable_calls, 0);
}

TEST_F(SliceProtocol, EnableAsksOnceAndTrustsTheFlag)
{
	k.available();
	EXPECT_EQ(enable(), 0);
	EXPECT_EQ(k.enable_calls, 1);
	EXPECT_TRUE(k.area.flags & kFlagSliceExtEnabled);
	EXPECT_EQ(enable(), 0);  // already enabled: no system call
	EXPECT_EQ(k.enable_calls, 1);
	// Enabled by default at registration (RSEQ_FLAG_SLICE_EXT_DEFAULT_ON): no call either.
	fake_kernel other;
	other.area.flags = kFlagSliceExtAvailable | kFlagSliceExtEnabled;
	current = &other;
	EXPECT_EQ(slice_enable_on(&other.area, kernel_ops), 0);
	EXPECT_EQ(other.enable_calls, 0);
	current = &k;
}

TEST_F(SliceProtocol, EnableMapsTheKernelsRefusals)
{
	k.available();
	k.enable_result = -EINVAL;  // disabled on the kernel command line (older kernels)
	EXPECT_EQ(enable(), -EOPNOTSUPP);
	k.enable_result = -524;  // ENOTSUPP: disabled at boot, or a legacy 32-byte area
	EXPECT_EQ(enable(), -EOPNOTSUPP);
	k.enable_result = -ENXIO;  // no area registered: passed on as it is
	EXPECT_EQ(enable(), -ENXIO);
	EXPECT_EQ(k.enable_calls, 3);
	EXPECT_FALSE(k.area.flags & kFlagSliceExtEnabled);
	EXPECT_EQ(request(), 0);
}

TEST_F(SliceProtocol, RequestNotNeeded)
{
	enabled();
	EXPECT_EQ(request(), 1);
	EXPECT_EQ(k.area.slice_request, 1);
	EXPECT_EQ(slice_granted_on(&k.area), 0);
	EXPECT_EQ(release(), RSEQKIT_SLICE_UNUSED);
	EXPECT_EQ(k.area.slice_request, 0);
	EXPECT_EQ(k.yield_calls, 0);
	EXPECT_EQ(k.depth, 0U);
}

TEST_F(SliceProtocol, GrantedExtensionIsGivenBack)
{
	enabled();
	ASSERT_EQ(request(), 1);
	k.grant();
	EXPECT_EQ(slice_granted_on(&k.area), 1);
	EXPECT_EQ(release(), RSEQKIT_SLICE_YIELDED);
	EXPECT_EQ(k.yield_calls, 1);
	EXPECT_EQ(k.area.slice_request, 0);
	EXPECT_EQ(k.area.slice_granted, 0);
}

TEST_F(SliceProtocol, GrantThatRanOutBeforeTheYield)
{
	enabled();
	ASSERT_EQ(request(), 1);
	k.grant();
	k.yield_result = 0;  // the kernel had already taken the CPU back
	EXPECT_EQ(release(), RSEQKIT_SLICE_REVOKED);
	EXPECT_EQ(k.yield_calls, 1);
}

TEST_F(SliceProtocol, RevokedGrantNeedsNoYield)
{
	enabled();
	ASSERT_EQ(request(), 1);
	k.grant();
	k.schedule_out();
	EXPECT_EQ(slice_granted_on(&k.area), 0);
	EXPECT_EQ(release(), RSEQKIT_SLICE_REVOKED);
	EXPECT_EQ(k.yield_calls, 0);
}

TEST_F(SliceProtocol, NestedRequestsActOnTheOutermost)
{
	enabled();
	ASSERT_EQ(request(), 1);
	ASSERT_EQ(request(), 1);  // a second lock inside the first region
	EXPECT_EQ(k.depth, 2U);
	k.grant();
	EXPECT_EQ(release(), RSEQKIT_SLICE_NONE);  // inner: the region goes on
	EXPECT_EQ(k.yield_calls, 0);
	EXPECT_EQ(k.area.slice_granted, 1);
	EXPECT_EQ(release(), RSEQKIT_SLICE_YIELDED);
	EXPECT_EQ(k.yield_calls, 1);
	EXPECT_EQ(release(), RSEQKIT_SLICE_NONE);  // unbalanced: nothing to withdraw
	EXPECT_EQ(k.depth, 0U);
}

TEST_F(SliceProtocol, ReleaseOnAnAreaThatIsNoLongerEnabledWritesNothing)
{
	enabled();
	ASSERT_EQ(request(), 1);
	// The thread unregistered inside the region: its area is now one without flags,
	// possibly read-only.
	fake_kernel other;
	other.area.slice_request = 0x5a;  // not ours to touch
	EXPECT_EQ(slice_release_on(&other.area, k.depth, kernel_ops), RSEQKIT_SLICE_NONE);
	EXPECT_EQ(other.area.slice_request, 0x5a);
	EXPECT_EQ(k.depth, 0U);
	EXPECT_EQ(k.yield_calls + other.yield_calls, 0);
}

TEST_F(SliceProtocol, YieldFailurePassesTheError)
{
	enabled();
	ASSERT_EQ(request(), 1);
	k.grant();
	k.yield_result = -ENOSYS;
	EXPECT_EQ(release(), -ENOSYS);
	EXPECT_EQ(k.area.slice_request, 0);
	EXPECT_EQ(k.depth, 0U);
}

TEST_F(SliceProtocol, RequestLeavesTheOtherFieldsAlone)
{
	enabled();
	k.area.cpu_id = 7;
	k.area.mm_cid = 3;
	k.area.reserved = 0xabcd;
	uint32_t flags = k.area.flags;
	ASSERT_EQ(request(), 1);
	EXPECT_EQ(release(), RSEQKIT_SLICE_UNUSED);
	EXPECT_EQ(k.area.cpu_id, 7U);
	EXPECT_EQ(k.area.mm_cid, 3U);
	EXPECT_EQ(k.area.reserved, 0xabcd);
	EXPECT_EQ(k.area.flags, flags);  // read-only for user space
}
