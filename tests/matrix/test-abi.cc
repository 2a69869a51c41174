// SPDX-License-Identifier: MIT
// What changes between kernels and glibc versions, checked against the kernel itself:
// the registration rseqkit reports (read back with PTRACE_GET_RSEQ_CONFIGURATION), the
// area glibc 2.41+ sizes and aligns by the kernel's feature size, rseqkit's own 32-byte
// registration on kernels that want more (Linux 7.2: feature size 33, alignment 64),
// mm_cid before Linux 6.3, and the time-slice extension wherever the kernel lacks it.
// Runs in every registration mode, and in `make check-glibc` / `make check-kernels`
// under every glibc and kernel of the matrix.
#include <gtest/gtest.h>

#include <thread>

#include <errno.h>
#include <gnu/libc-version.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/mode.h"

extern "C" __thread struct rseqkit_area __rseq_abi;

using namespace rseqkit_test;

namespace {

// struct ptrace_rseq_configuration (Linux 5.13+).
struct rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};
constexpr int kPtraceGetRseqConfiguration = 0x420f;

// The registration of the calling thread as the kernel sees it: a forked child (a copy
// of this thread, registration included) stops, and this thread reads its
// configuration.  False when the kernel cannot tell.
bool kernel_registration(rseq_config *out)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
		raise(SIGSTOP);
		_exit(0);
	}
	int status;
	bool ok = waitpid(pid, &status, 0) == pid && WIFSTOPPED(status);
	*out = {};
	ok = ok && ptrace(static_cast<enum __ptrace_request>(kPtraceGetRseqConfiguration), pid,
			  reinterpret_cast<void *>(sizeof(*out)), out) == static_cast<long>(sizeof(*out));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	// Kernels before 6.3 report 32 bytes also when nothing is registered.
	if (out->rseq_abi_pointer == 0)
		out->rseq_abi_size = 0;
	return ok;
}

void run_on_new_thread(void (*fn)())
{
	std::thread t(fn);
	t.join();
}

uint32_t auxv_feature_size()
{
	unsigned long fs = getauxval(27);
	return fs ? static_cast<uint32_t>(fs) : 20;
}

uint32_t auxv_align()
{
	unsigned long a = getauxval(28);
	return a ? static_cast<uint32_t>(a) : 32;
}

// glibc's version as 100 * major + minor (241 for 2.41).
int glibc_version()
{
	int major = 0, minor = 0;
	if (sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

bool pin_to_current_cpu()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

}  // namespace

TEST(Registration, InfoMatchesTheKernel)
{
	run_on_new_thread([] {
		(void)rseqkit_register_current_thread();
		struct rseqkit_info info;
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		rseq_config cfg;
		if (!kernel_registration(&cfg))
			GTEST_SKIP() << "PTRACE_GET_RSEQ_CONFIGURATION failed (Linux 5.13+, ptrace allowed)";
		EXPECT_EQ(cfg.rseq_abi_pointer, reinterpret_cast<uintptr_t>(info.area));
		EXPECT_EQ(cfg.rseq_abi_size, info.area_length);
		EXPECT_EQ(cfg.signature, info.signature);
		if (rseq_works())
			EXPECT_NE(info.area, nullptr);
		else
			EXPECT_EQ(cfg.rseq_abi_pointer, 0U);
	});
}

TEST(Glibc, AreaFollowsTheKernelFeatureSize)
{
	if (current_mode() != mode::glibc)
		GTEST_SKIP() << "glibc owns the area only in glibc mode";
	run_on_new_thread([] {
		int version = glibc_version();
		uint32_t fs = auxv_feature_size(), align = auxv_align();
		struct rseqkit_info info;
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		EXPECT_EQ(info.owner, RSEQKIT_OWNER_GLIBC);
		EXPECT_EQ(info.area, glibc_area());
		EXPECT_EQ(info.glibc_rseq_size, __rseq_size);
		rseq_config cfg;
		ASSERT_TRUE(kernel_registration(&cfg));
		EXPECT_EQ(cfg.rseq_abi_pointer, reinterpret_cast<uintptr_t>(glibc_area()));
		if (version >= 241) {
			// The kernel's feature size, the area in its own block, aligned as the
			// kernel asks, and registered with at least 32 bytes.
			EXPECT_EQ(__rseq_size, fs);
			EXPECT_EQ(cfg.rseq_abi_size, fs > 32 ? fs : 32U);
			EXPECT_EQ(reinterpret_cast<uintptr_t>(glibc_area()) % align, 0U);
#if defined(__x86_64__)
			EXPECT_LT(__rseq_offset, 0) << "2.41 moved the area below the thread pointer";
#endif
		} else {
			// The original 32-byte area inside struct pthread.
			EXPECT_TRUE(__rseq_size == 20 || __rseq_size == 32) << __rseq_size;
			EXPECT_EQ(cfg.rseq_abi_size, 32U);
			EXPECT_EQ(reinterpret_cast<uintptr_t>(glibc_area()) % 32, 0U);
#if defined(__x86_64__)
			EXPECT_GT(__rseq_offset, 0);
#endif
		}
		EXPECT_EQ(info.area_length, cfg.rseq_abi_size);
		ASSERT_TRUE(pin_to_current_cpu());
		EXPECT_EQ(rseqkit_current_cpu(), sched_getcpu());
	});
}

TEST(OwnArea, ValidOnEveryKernel)
{
	if (current_mode() != mode::rseqkit)
		GTEST_SKIP() << "rseqkit registers its own area only in rseqkit mode";
	run_on_new_thread([] {
		ASSERT_EQ(rseqkit_register_current_thread(), 0);
		struct rseqkit_info info;
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		EXPECT_EQ(info.owner, RSEQKIT_OWNER_RSEQKIT);
		EXPECT_EQ(info.area, &__rseq_abi);
		EXPECT_EQ(info.area_length, 32U);
		// 32-byte aligned is all the original length needs, also where the kernel
		// asks more of longer areas (Linux 7.2: 64).
		EXPECT_EQ(reinterpret_cast<uintptr_t>(&__rseq_abi) % 32, 0U);
		rseq_config cfg;
		ASSERT_TRUE(kernel_registration(&cfg));
		EXPECT_EQ(cfg.rseq_abi_pointer, reinterpret_cast<uintptr_t>(&__rseq_abi));
		EXPECT_EQ(cfg.rseq_abi_size, 32U);
		EXPECT_EQ(cfg.signature, RSEQKIT_SIG);
		ASSERT_TRUE(pin_to_current_cpu());
		EXPECT_EQ(rseqkit_current_cpu(), sched_getcpu());
		EXPECT_EQ(static_cast<int>(__rseq_abi.cpu_id_start), sched_getcpu());
	});
}

// A 32-byte registration gets the kernel's legacy behaviour (Linux 6.19 and later keep
// it for exactly this length): the IDs are written after every context switch, so a
// co-owner that stores its own data in cpu_id_start (tcmalloc) sees it overwritten,
// as on every kernel before 6.19.  The optimized mode of longer registrations would
// kill the process for that store instead, so it is made only on 32-byte areas.
TEST(OwnArea, LegacyBehaviourRewritesCpuIdStart)
{
	struct rseqkit_area *area;
	if (current_mode() == mode::rseqkit) {
		area = &__rseq_abi;
	} else if (current_mode() == mode::glibc && glibc_area_length() == 32) {
		area = static_cast<struct rseqkit_area *>(glibc_area());
	} else {
		GTEST_SKIP() << "needs a 32-byte registration (rseqkit mode, or glibc registering 32 bytes)";
	}
	ASSERT_EQ(rseqkit_register_current_thread(), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		// Only rounds in which the thread was switched out count: a short sleep may end
		// before the thread blocks (under emulation, say).  Any switch counted by the
		// second getrusage() is followed by a return to user space before the load.
		const uint32_t mark = 0x8000abcdU;  // never a CPU number
		int switched = 0, rewritten = 0;
		for (int i = 0; i < 1000 && switched < 20; i++) {
			__atomic_store_n(&area->cpu_id_start, mark, __ATOMIC_RELAXED);
			struct rusage before, after;
			getrusage(RUSAGE_THREAD, &before);
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, nullptr);
			getrusage(RUSAGE_THREAD, &after);
			uint32_t seen = __atomic_load_n(&area->cpu_id_start, __ATOMIC_RELAXED);
			if (after.ru_nvcsw + after.ru_nivcsw == before.ru_nvcsw + before.ru_nivcsw)
				continue;
			switched++;
			if (seen != mark)
				rewritten++;
		}
		_exit(switched < 20 ? 2 : rewritten == switched ? 0 : 1);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
	ASSERT_NE(WEXITSTATUS(status), 2) << "the thread was not switched out 20 times in 1000 sleeps";
	EXPECT_EQ(WEXITSTATUS(status), 0) << "cpu_id_start was not rewritten after a context switch";
}

TEST(Kernel, FeatureSizeDecidesMmCidAndNode)
{
	run_on_new_thread([] {
		(void)rseqkit_register_current_thread();
		uint32_t fs = auxv_feature_size();
		struct rseqkit_info info;
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		EXPECT_EQ(info.feature_size, fs);
		EXPECT_EQ(info.feature_align, auxv_align());
		EXPECT_EQ(!!(info.features & RSEQKIT_FEATURE_MM_CID), fs >= 28);
		EXPECT_EQ(!!(info.features & RSEQKIT_FEATURE_NODE_ID), fs >= 24);
		ASSERT_TRUE(pin_to_current_cpu());
		if (fs < 28 || !rseq_works()) {
			// Linux before 6.3 (feature size 20), or no area: no concurrency ID.
			EXPECT_EQ(rseqkit_current_mm_cid(), -1);
			EXPECT_EQ(rseqkit_current_mm_cid_slow(), -1);
		} else {
			int cid = rseqkit_current_mm_cid();
			EXPECT_GE(cid, 0);
			EXPECT_LT(cid, static_cast<int>(sysconf(_SC_NPROCESSORS_CONF)));
		}
		unsigned int cpu, node;
		ASSERT_EQ(getcpu(&cpu, &node), 0);
		EXPECT_EQ(rseqkit_current_node(), static_cast<int>(node));
	});
}

namespace {
// prctl(PR_RSEQ_SLICE_EXTENSION, SET, ENABLE) made directly, in a child (the kernel
// kills a thread that asks while its area lacks the AVAILABLE flag): 0 on success,
// EINVAL, 524 (the kernel's ENOTSUPP), -2 for another errno, -1 when the child died.
int kernel_slice_enable_errno()
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		long r = prctl(79, 2, 1, 0, 0);
		_exit(r == 0 ? 0 : errno == EINVAL ? 1 : errno == 524 ? 2 : 3);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	static const int result[] = {0, EINVAL, 524, -2};
	return WEXITSTATUS(status) < 4 ? result[WEXITSTATUS(status)] : -1;
}
}  // namespace

TEST(Slice, FollowsWhatTheKernelOffers)
{
	run_on_new_thread([] {
		(void)rseqkit_register_current_thread();
		struct rseqkit_area *area = rseqkit_thread_area();
		bool offered = rseq_works() && (__atomic_load_n(&area->flags, __ATOMIC_RELAXED) & (1U << 4));
		if (offered) {
			// A kernel with the extension, and an area registered long enough.
			ASSERT_EQ(rseqkit_slice_enable(), 0);
			struct rseqkit_info info;
			ASSERT_EQ(rseqkit_get_info(&info), 0);
			EXPECT_TRUE(info.features & RSEQKIT_FEATURE_SLICE_EXT);
			EXPECT_TRUE(info.features & RSEQKIT_FEATURE_SLICE_EXT_ENABLED);
			EXPECT_EQ(prctl(79, 1, 0, 0, 0), 1);  // PR_RSEQ_SLICE_EXTENSION_GET
			EXPECT_EQ(rseqkit_slice_request(), 1);
			int r = rseqkit_slice_release();
			EXPECT_TRUE(r == RSEQKIT_SLICE_UNUSED || r == RSEQKIT_SLICE_YIELDED ||
				    r == RSEQKIT_SLICE_REVOKED) << r;
			EXPECT_EQ(area->slice_request, 0);
			return;
		}
		// Unavailable: the kernel itself refuses (EINVAL without the feature or before
		// Linux 7.0, 524 ENOTSUPP when it is off or the area is a legacy one).
		if (rseq_works()) {
			int err = kernel_slice_enable_errno();
			EXPECT_TRUE(err == EINVAL || err == 524) << "prctl errno " << err;
		}
		errno = 0;
		EXPECT_EQ(rseqkit_slice_enable(), -1);
		EXPECT_EQ(errno, rseq_works() ? EOPNOTSUPP : expected_unavailable_errno());
		struct rseqkit_info info;
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		EXPECT_EQ(info.features & (RSEQKIT_FEATURE_SLICE_EXT | RSEQKIT_FEATURE_SLICE_EXT_ENABLED), 0U);
		// The region's calls do nothing, touch neither errno nor the area.
		area = rseqkit_thread_area();
		uint8_t request_before = area->slice_request, granted_before = area->slice_granted;
		errno = 1234;
		for (int i = 0; i < 3; i++) {
			EXPECT_EQ(rseqkit_slice_request(), 0);
			EXPECT_EQ(rseqkit_slice_granted(), 0);
			EXPECT_EQ(rseqkit_slice_release(), RSEQKIT_SLICE_NONE);
		}
		EXPECT_EQ(errno, 1234);
		EXPECT_EQ(area->slice_request, request_before);
		EXPECT_EQ(area->slice_granted, granted_before);
	});
}

TEST(Slice, CallsBeforeAnyRegistrationAreNoOps)
{
	run_on_new_thread([] {
		// No rseqkit call yet on this thread: nothing to request on.
		EXPECT_EQ(rseqkit_slice_request(), 0);
		EXPECT_EQ(rseqkit_slice_granted(), 0);
		EXPECT_EQ(rseqkit_slice_release(), RSEQKIT_SLICE_NONE);
	});
}
