// SPDX-License-Identifier: MIT
// 10,000 threads register (lazily) and exit, built with AddressSanitizer together with
// the library sources.  Every thread's own registration must be gone when its later
// exit hooks run, so the kernel never writes into a reused stack or TLS block.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <pthread.h>

#include "mode.h"

extern "C" __thread struct rseqkit_area __rseq_abi;

using namespace rseqkit_test;

namespace {
pthread_key_t probe_key;
std::atomic<long> still_registered{0}, probed{0}, bad{0};

void probe_at_exit(void *)
{
	probed.fetch_add(1);
	// Unregistering an area that is not registered is EINVAL (where rseq works at all).
	long expected = rseq_works() ? -EINVAL : -expected_unavailable_errno();
	if (raw_rseq(&__rseq_abi, 32, 1, RSEQKIT_SIG) != expected)
		still_registered.fetch_add(1);
}
}  // namespace

TEST(Threads, TenThousandRegisterAndExit)
{
	ASSERT_EQ(pthread_key_create(&probe_key, probe_at_exit), 0);
	const int rounds = 100, per_round = 100;
	for (int r = 0; r < rounds; r++) {
		std::vector<std::thread> threads;
		threads.reserve(per_round);
		for (int i = 0; i < per_round; i++)
			threads.emplace_back([] {
				pthread_setspecific(probe_key, &probe_key);
				if (rseqkit_current_cpu() < 0 || rseqkit_thread_owner() != expected_owner())
					bad.fetch_add(1);
			});
		for (auto &t : threads)
			t.join();
	}
	EXPECT_EQ(probed.load(), rounds * per_round);
	EXPECT_EQ(bad.load(), 0);
	EXPECT_EQ(still_registered.load(), 0);
	pthread_key_delete(probe_key);
}
