// SPDX-License-Identifier: MIT
// Ownership negotiation, accessors and lifecycle of librseqkit, in every registration
// mode of tests/harness/run-mode (the expectations depend on RSEQKIT_TEST_MODE).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mode.h"

extern "C" {
void *coowner_area(void);
long coowner_register(void);
long coowner_unregister(void);
extern __thread struct rseqkit_area __rseq_abi;
}

using namespace rseqkit_test;

namespace {

// Runs fn on a fresh thread (a fresh rseq state) and waits for it.
void on_new_thread(const std::function<void()> &fn)
{
	std::thread t(fn);
	t.join();
}

std::vector<int> allowed_cpus()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	std::vector<int> cpus;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus.push_back(c);
	return cpus;
}

bool pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

// A 32-byte area nobody else knows of.
struct foreign_area {
	struct rseqkit_area area;
};

}  // namespace

TEST(Owner, BeforeAndAfterRegistration)
{
	on_new_thread([] {
		enum rseqkit_owner before = rseqkit_thread_owner();
		// glibc's area needs no registration; rseqkit's own waits for the first use.
		EXPECT_EQ(before, current_mode() == mode::glibc ? RSEQKIT_OWNER_GLIBC : RSEQKIT_OWNER_NONE);
		int r = rseqkit_register_current_thread();
		int err = errno;
		EXPECT_EQ(rseqkit_thread_owner(), expected_owner());
		if (rseq_works()) {
			EXPECT_EQ(r, 0);
		} else {
			EXPECT_EQ(r, -1);
			EXPECT_EQ(err, expected_unavailable_errno());
		}
		// A second call changes nothing.
		EXPECT_EQ(rseqkit_register_current_thread(), r);
		EXPECT_EQ(rseqkit_thread_owner(), expected_owner());
	});
}

TEST(Owner, LazyRegistrationOnFirstAccessor)
{
	on_new_thread([] {
		int cpu = rseqkit_current_cpu();
		EXPECT_GE(cpu, 0);
		EXPECT_EQ(rseqkit_thread_owner(), expected_owner());
	});
}

TEST(Owner, AccessorsLeaveErrnoAlone)
{
	on_new_thread([] {
		errno = 1234;
		EXPECT_GE(rseqkit_current_cpu(), 0);  // negotiates (and fails in the seccomp modes)
		EXPECT_GE(rseqkit_current_mm_cid(), -1);
		EXPECT_GE(rseqkit_current_node(), 0);
		EXPECT_EQ(errno, 1234);
		EXPECT_EQ(rseqkit_thread_owner(), expected_owner());
	});
}

TEST(Owner, Names)
{
	EXPECT_STREQ(rseqkit_owner_name(RSEQKIT_OWNER_NONE), "none");
	EXPECT_STREQ(rseqkit_owner_name(RSEQKIT_OWNER_GLIBC), "glibc");
	EXPECT_STREQ(rseqkit_owner_name(RSEQKIT_OWNER_RSEQKIT), "rseqkit");
	EXPECT_STREQ(rseqkit_owner_name(RSEQKIT_OWNER_FOREIGN), "foreign");
	EXPECT_STREQ(rseqkit_owner_name(RSEQKIT_OWNER_UNAVAILABLE), "unavailable");
	EXPECT_STREQ(rseqkit_owner_name(static_cast<enum rseqkit_owner>(42)), "invalid");
}

TEST(Info, DescribesTheArea)
{
	EXPECT_EQ(rseqkit_get_info(nullptr), -1);
	EXPECT_EQ(errno, EINVAL);
	on_new_thread([] {
		(void)rseqkit_register_current_thread();
		struct rseqkit_info info;
		memset(&info, 0xa5, sizeof(info));
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		EXPECT_EQ(info.owner, expected_owner());
		unsigned long fs = getauxval(27), align = getauxval(28);
		EXPECT_EQ(info.feature_size, fs ? fs : 20);
		EXPECT_EQ(info.feature_align, align ? align : 32);
		EXPECT_EQ(info.glibc_has_rseq, 1);
		EXPECT_EQ(info.glibc_rseq_size, __rseq_size);
		EXPECT_EQ(info.glibc_rseq_offset, __rseq_offset);
		for (uint32_t word : info.reserved)
			EXPECT_EQ(word, 0U);
		switch (current_mode()) {
		case mode::glibc:
			EXPECT_EQ(info.area, glibc_area());
			EXPECT_EQ(info.area_length, glibc_area_length());
			EXPECT_EQ(info.signature, RSEQKIT_SIG);
			EXPECT_EQ(info.error, 0);
			break;
		case mode::rseqkit:
			EXPECT_EQ(info.area, &__rseq_abi);
			EXPECT_EQ(info.area_length, 32U);
			EXPECT_EQ(info.signature, RSEQKIT_SIG);
			EXPECT_EQ(info.error, 0);
			break;
		default:
			EXPECT_EQ(info.area, nullptr);
			EXPECT_EQ(info.area_length, 0U);
			EXPECT_EQ(info.signature, 0U);
			EXPECT_EQ(info.error, expected_unavailable_errno());
			break;
		}
	});
}

TEST(Accessors, CurrentCpuMatchesPinnedCpu)
{
	on_new_thread([] {
		for (int cpu : allowed_cpus()) {
			ASSERT_TRUE(pin_to(cpu));
			// The kernel moves us before sched_setaffinity returns.
			EXPECT_EQ(rseqkit_current_cpu(), cpu);
			EXPECT_EQ(sched_getcpu(), cpu);
			EXPECT_EQ(rseqkit_current_cpu_slow(), cpu);
		}
	});
}

TEST(Accessors, MmCidAndNodeMatchAuxv)
{
	on_new_thread([] {
		unsigned long fs = getauxval(27);
		bool has_mm_cid = fs >= 28, has_node = fs >= 24;
		struct rseqkit_info info;
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		EXPECT_EQ(!!(info.features & RSEQKIT_FEATURE_MM_CID), has_mm_cid);
		EXPECT_EQ(!!(info.features & RSEQKIT_FEATURE_NODE_ID), has_node);
		unsigned int cpu, node;
		ASSERT_EQ(getcpu(&cpu, &node), 0);
		EXPECT_EQ(rseqkit_current_node(), static_cast<int>(node));
		EXPECT_EQ(rseqkit_current_node_slow(), static_cast<int>(node));
		int mm_cid = rseqkit_current_mm_cid();
		if (has_mm_cid && rseq_works()) {
			// Dense: below the number of threads and of CPUs the process may use.
			EXPECT_GE(mm_cid, 0);
			EXPECT_LT(mm_cid, CPU_SETSIZE);
			EXPECT_LT(mm_cid, static_cast<int>(sysconf(_SC_NPROCESSORS_CONF)));
			EXPECT_EQ(rseqkit_current_mm_cid_slow(), mm_cid);
		} else {
			EXPECT_EQ(mm_cid, -1);
			EXPECT_EQ(rseqkit_current_mm_cid_slow(), -1);
		}
	});
}

TEST(Accessors, MmCidIsSharedNeverAmongConcurrentThreads)
{
	if (!rseq_works() || getauxval(27) < 28)
		GTEST_SKIP() << "no mm_cid in this mode or kernel";
	// Two threads pinned to two CPUs at the same time hold two different IDs.
	std::vector<int> cpus = allowed_cpus();
	if (cpus.size() < 2)
		GTEST_SKIP() << "needs two CPUs";
	std::atomic<int> ready{0};
	int cid[2] = {-1, -1};
	auto body = [&](int i) {
		pin_to(cpus[i]);
		ready.fetch_add(1);
		while (ready.load() < 2) {
		}
		cid[i] = rseqkit_current_mm_cid();
		ready.fetch_add(1);
		while (ready.load() < 4) {
		}
	};
	std::thread a(body, 0), b(body, 1);
	a.join();
	b.join();
	EXPECT_GE(cid[0], 0);
	EXPECT_GE(cid[1], 0);
	EXPECT_NE(cid[0], cid[1]);
}

// Drops glibc's registration of this thread in glibc mode, so a test can register
// something else first.  Returns false where the kernel refuses rseq altogether.
static bool clear_thread_for_foreign_area()
{
	if (current_mode() == mode::glibc) {
		EXPECT_EQ(raw_rseq(glibc_area(), glibc_area_length(), 1, RSEQKIT_SIG), 0);
	}
	return rseq_works();
}

TEST(Foreign, AnotherAreaRegisteredFirst)
{
	on_new_thread([] {
		static __thread foreign_area mine;
		if (!clear_thread_for_foreign_area()) {
			EXPECT_EQ(raw_rseq(&mine, 32, 0, RSEQKIT_SIG), -expected_unavailable_errno());
			EXPECT_EQ(rseqkit_register_current_thread(), -1);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_UNAVAILABLE);
			return;
		}
		ASSERT_EQ(raw_rseq(&mine, 32, 0, RSEQKIT_SIG), 0);
		EXPECT_EQ(rseqkit_register_current_thread(), -1);
		EXPECT_EQ(errno, EBUSY);
		EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_FOREIGN);
		struct rseqkit_info info;
		ASSERT_EQ(rseqkit_get_info(&info), 0);
		EXPECT_EQ(info.area, nullptr);
		EXPECT_EQ(info.error, EBUSY);
		// The fallback answers right, and the foreign area is left alone.
		for (int cpu : allowed_cpus()) {
			ASSERT_TRUE(pin_to(cpu));
			EXPECT_EQ(rseqkit_current_cpu(), cpu);
			EXPECT_EQ(static_cast<int>(mine.area.cpu_id), cpu);
		}
		EXPECT_EQ(rseqkit_current_mm_cid(), -1);
		EXPECT_EQ(rseqkit_unregister_current_thread(), 0);
		EXPECT_EQ(raw_rseq(&mine, 32, 1, RSEQKIT_SIG), 0);
	});
}

TEST(Foreign, SameAreaWithAnotherSignature)
{
	on_new_thread([] {
		if (!clear_thread_for_foreign_area()) {
			EXPECT_EQ(rseqkit_register_current_thread(), -1);
			EXPECT_EQ(errno, expected_unavailable_errno());
			return;
		}
		const uint32_t other_sig = 0x12345678;
		ASSERT_EQ(raw_rseq(&__rseq_abi, 32, 0, other_sig), 0);
		EXPECT_EQ(rseqkit_register_current_thread(), -1);
		EXPECT_EQ(errno, EBUSY);
		EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_FOREIGN);
		EXPECT_GE(rseqkit_current_cpu(), 0);
		// Not ours: rseqkit must leave it registered.
		EXPECT_EQ(rseqkit_unregister_current_thread(), 0);
		EXPECT_EQ(raw_rseq(&__rseq_abi, 32, 1, other_sig), 0);
	});
}

TEST(CoOwner, SharedRseqAbiIsOneArea)
{
	// ELF interposition: both weak definitions resolve to one object.
	EXPECT_EQ(coowner_area(), static_cast<void *>(&__rseq_abi));
	on_new_thread([] {
		long r = coowner_register();
		switch (current_mode()) {
		case mode::glibc:
			EXPECT_EQ(r, -EINVAL);  // glibc's area is registered
			EXPECT_EQ(rseqkit_register_current_thread(), 0);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_GLIBC);
			break;
		case mode::rseqkit: {
			ASSERT_EQ(r, 0);
			EXPECT_EQ(rseqkit_register_current_thread(), 0);  // EBUSY from the kernel
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_RSEQKIT);
			struct rseqkit_info info;
			ASSERT_EQ(rseqkit_get_info(&info), 0);
			EXPECT_EQ(info.area, coowner_area());
			EXPECT_GE(rseqkit_current_cpu(), 0);
			// rseqkit did not register it, so it must not unregister it.
			EXPECT_EQ(rseqkit_unregister_current_thread(), 0);
			EXPECT_EQ(coowner_unregister(), 0);
			// Registered by the co-owner again: the fast path reads the shared area
			// without rseqkit's help, and registering joins it (EBUSY).  Then dropped by
			// the co-owner behind rseqkit's back: rseqkit notices and registers the area
			// itself on the next use.
			ASSERT_EQ(coowner_register(), 0);
			EXPECT_GE(rseqkit_current_cpu(), 0);
			EXPECT_EQ(rseqkit_register_current_thread(), 0);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_RSEQKIT);
			EXPECT_EQ(coowner_unregister(), 0);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_NONE);
			EXPECT_GE(rseqkit_current_cpu(), 0);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_RSEQKIT);
			EXPECT_EQ(coowner_register(), -EBUSY);  // registered, by rseqkit this time
			EXPECT_EQ(rseqkit_unregister_current_thread(), 0);
			EXPECT_EQ(coowner_unregister(), -EINVAL);
			break;
		}
		default:
			EXPECT_EQ(r, -expected_unavailable_errno());
			EXPECT_EQ(rseqkit_register_current_thread(), -1);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_UNAVAILABLE);
		}
	});
}

TEST(Lifecycle, UnregisterDropsOnlyWhatRseqkitRegistered)
{
	on_new_thread([] {
		(void)rseqkit_register_current_thread();
		EXPECT_EQ(rseqkit_unregister_current_thread(), 0);
		switch (current_mode()) {
		case mode::glibc:
			// Still registered: the same registration again is EBUSY.
			EXPECT_EQ(raw_rseq(glibc_area(), glibc_area_length(), 0, RSEQKIT_SIG), -EBUSY);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_GLIBC);
			break;
		case mode::rseqkit:
			// Gone: unregistering it again is EINVAL.
			EXPECT_EQ(raw_rseq(&__rseq_abi, 32, 1, RSEQKIT_SIG), -EINVAL);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_NONE);
			EXPECT_EQ(static_cast<int32_t>(rseqkit_thread_area()->cpu_id), -1);
			// The next use registers again.
			EXPECT_GE(rseqkit_current_cpu(), 0);
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_RSEQKIT);
			break;
		default:
			EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_NONE);
		}
	});
}

namespace {
// Runs after librseqkit's exit hook: its key was created first, by the constructor.
pthread_key_t probe_key;
std::atomic<long> probe_result{1};

void probe_at_exit(void *)
{
	if (current_mode() == mode::glibc)  // glibc keeps its registration to the end
		probe_result = raw_rseq(glibc_area(), glibc_area_length(), 0, RSEQKIT_SIG);
	else
		probe_result = raw_rseq(&__rseq_abi, 32, 1, RSEQKIT_SIG);
}
}  // namespace

TEST(Lifecycle, ThreadExitUnregistersOwnArea)
{
	ASSERT_EQ(pthread_key_create(&probe_key, probe_at_exit), 0);
	if (current_mode() == mode::glibc) {
		ASSERT_NE(glibc_area_length(), 0U);  // asked while glibc's area is registered
	}
	on_new_thread([] {
		pthread_setspecific(probe_key, &probe_key);
		EXPECT_GE(rseqkit_current_cpu(), 0);
		EXPECT_EQ(rseqkit_thread_owner(), expected_owner());
		if (current_mode() == mode::rseqkit) {  // registered now...
			EXPECT_EQ(raw_rseq(&__rseq_abi, 32, 0, RSEQKIT_SIG), -EBUSY);
		}
	});
	switch (current_mode()) {
	case mode::glibc: EXPECT_EQ(probe_result.load(), -EBUSY); break;
	case mode::rseqkit: EXPECT_EQ(probe_result.load(), -EINVAL); break;  // ...and no longer
	default: EXPECT_EQ(probe_result.load(), -expected_unavailable_errno());
	}
	pthread_key_delete(probe_key);
}

TEST(Lifecycle, ForkChildKeepsAWorkingArea)
{
	(void)rseqkit_register_current_thread();
	enum rseqkit_owner parent_owner = rseqkit_thread_owner();
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int bad = 0;
		if (rseqkit_thread_owner() != parent_owner)
			bad |= 1;
		for (int cpu : allowed_cpus()) {
			if (!pin_to(cpu) || rseqkit_current_cpu() != cpu)
				bad |= 2;
		}
		// A thread of the child negotiates from scratch.
		std::thread t([&] {
			if (rseqkit_current_cpu() < 0 || rseqkit_thread_owner() != expected_owner())
				bad |= 4;
		});
		t.join();
		_exit(bad);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Lifecycle, ExecStartsFresh)
{
	(void)rseqkit_register_current_thread();
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("RSEQKIT_TEST_EXEC_PROBE", "1", 1);
		exec_self({});
		_exit(99);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The exec'd image: checks a fresh state before any use, then registers.
static int exec_probe()
{
	enum rseqkit_owner before = rseqkit_thread_owner();
	enum rseqkit_owner fresh = current_mode() == mode::glibc ? RSEQKIT_OWNER_GLIBC : RSEQKIT_OWNER_NONE;
	if (before != fresh)
		return 1;
	if (current_mode() == mode::rseqkit && static_cast<int32_t>(__rseq_abi.cpu_id) != -1)
		return 2;  // the kernel dropped the registration at exec
	if (rseqkit_current_cpu() < 0 || rseqkit_thread_owner() != expected_owner())
		return 3;
	return 0;
}

namespace {
std::atomic<long> handler_runs{0}, handler_bad{0};

void accessor_handler(int)
{
	int saved = errno;
	handler_runs.fetch_add(1, std::memory_order_relaxed);
	int cpu = rseqkit_current_cpu();
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		handler_bad.fetch_add(1);
	int cid = rseqkit_current_mm_cid();
	if (cid < -1 || cid >= CPU_SETSIZE)
		handler_bad.fetch_add(1);
	enum rseqkit_owner o = rseqkit_thread_owner();
	if (o != expected_owner() && o != RSEQKIT_OWNER_NONE)
		handler_bad.fetch_add(1);
	errno = saved;
}
}  // namespace

TEST(Signals, AccessorsInHandlerWhileThreadRegisters)
{
	struct sigaction sa = {}, old;
	sa.sa_handler = accessor_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	handler_runs = 0;
	handler_bad = 0;
	std::atomic<bool> done{false};
	std::atomic<long> loop_bad{0};
	std::thread worker([&] {
		for (int i = 0; i < 20000; i++) {
			int r = rseqkit_register_current_thread();
			if ((r == 0) != rseq_works() || rseqkit_thread_owner() != expected_owner())
				loop_bad.fetch_add(1);
			if (rseqkit_current_cpu() < 0)
				loop_bad.fetch_add(1);
			if (rseqkit_unregister_current_thread() != 0)
				loop_bad.fetch_add(1);
		}
		done = true;
	});
	pthread_t target = worker.native_handle();
	long sent = 0;
	while (!done.load()) {
		pthread_kill(target, SIGUSR1);
		sent++;
		if (sent % 64 == 0)
			sched_yield();
	}
	worker.join();
	ASSERT_EQ(sigaction(SIGUSR1, &old, nullptr), 0);
	EXPECT_GT(handler_runs.load(), 0);
	EXPECT_EQ(handler_bad.load(), 0);
	EXPECT_EQ(loop_bad.load(), 0);
}

int main(int argc, char **argv)
{
	if (getenv("RSEQKIT_TEST_EXEC_PROBE"))
		return exec_probe();
	testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
