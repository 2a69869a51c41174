// SPDX-License-Identifier: MIT
// Exact results of every <rseqkit/percpu.h> operation, in both index kinds and both
// commit orders, single- and multi-threaded, and the switch to locked mode.
#include <rseqkit/percpu.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

const rseqkit_index kKinds[] = {RSEQKIT_INDEX_CPU_ID, RSEQKIT_INDEX_MM_CID};
const rseqkit_mo kOrders[] = {RSEQKIT_MO_RELAXED, RSEQKIT_MO_RELEASE};

std::string mode_name()
{
	const char *m = getenv("RSEQKIT_TEST_MODE");
	return m ? m : "glibc";
}

// One slot per index, a cache line each.
struct alignas(64) slot {
	intptr_t v = 0;
	intptr_t v2 = 0;
};

struct slots {
	std::vector<slot> s;
	slots() : s(static_cast<size_t>(rseqkit_index_count())) {}
	slot &operator[](int i) { return s.at(static_cast<size_t>(i)); }
};

// Runs op(index) until it does not return a negative value; returns that result.
template <class F> int retry(rseqkit_index kind, F op)
{
	for (;;) {
		int i = rseqkit_current_index(kind);
		int r = op(i);
		if (r >= 0)
			return r;
		EXPECT_TRUE(r == RSEQKIT_ABORTED || r == RSEQKIT_STALE_INDEX) << r;
	}
}

long possible_cpus_from_sysfs()
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	if (!f)
		return -1;
	char buf[256] = {};
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	long highest = -1;
	// "0-3,8-11": every number is a CPU; the separators are not signs.
	for (char *p = buf; *p;) {
		if (*p < '0' || *p > '9') {
			++p;
			continue;
		}
		char *end;
		long x = strtol(p, &end, 10);
		if (x > highest)
			highest = x;
		p = end;
	}
	return highest + 1;
}

TEST(Index, CountIsPossibleCpus)
{
	long expect = possible_cpus_from_sysfs();
	ASSERT_GT(expect, 0);
	EXPECT_EQ(rseqkit_index_count(), expect);
	EXPECT_EQ(static_cast<long>(rseqkit_index_limit), expect);
}

TEST(Index, CurrentIndexInRange)
{
	for (rseqkit_index kind : kKinds) {
		for (int n = 0; n < 1000; ++n) {
			int i = rseqkit_current_index(kind);
			ASSERT_GE(i, 0);
			ASSERT_LT(i, rseqkit_index_count());
		}
	}
	// Where the area is usable the index is exactly what the kernel wrote there.
	if (rseqkit_register_current_thread() == 0) {
		EXPECT_EQ(rseqkit_current_index(RSEQKIT_INDEX_CPU_ID),
			  static_cast<int>(rseqkit_thread_area()->cpu_id));
	}
}

TEST(Ops, Add)
{
	for (rseqkit_index kind : kKinds) {
		slots s;
		int last = -1;
		for (int n = 1; n <= 100; ++n)
			ASSERT_EQ(retry(kind, [&](int i) {
					  last = i;
					  return rseqkit_percpu_add(kind, &s[i].v, n, i);
				  }),
				  0);
		intptr_t sum = 0;
		for (auto &x : s.s)
			sum += x.v;
		EXPECT_EQ(sum, 5050);
		EXPECT_NE(last, -1);
		// Negative counts subtract.
		ASSERT_EQ(retry(kind, [&](int i) { return rseqkit_percpu_add(kind, &s[i].v, -5050, i); }), 0);
		sum = 0;
		for (auto &x : s.s)
			sum += x.v;
		EXPECT_EQ(sum, 0);
	}
}

TEST(Ops, StoreIfEq)
{
	for (rseqkit_index kind : kKinds) {
		intptr_t v = 7;
		EXPECT_EQ(retry(kind, [&](int i) { return rseqkit_percpu_store_if_eq(kind, &v, 8, 9, i); }),
			  RSEQKIT_COMPARE_FAILED);
		EXPECT_EQ(v, 7);
		EXPECT_EQ(retry(kind, [&](int i) { return rseqkit_percpu_store_if_eq(kind, &v, 7, 9, i); }),
			  RSEQKIT_COMMITTED);
		EXPECT_EQ(v, 9);
	}
}

TEST(Ops, StoreIfNe)
{
	for (rseqkit_index kind : kKinds) {
		intptr_t v = 7;
		EXPECT_EQ(retry(kind, [&](int i) { return rseqkit_percpu_store_if_ne(kind, &v, 7, 9, i); }),
			  RSEQKIT_COMPARE_FAILED);
		EXPECT_EQ(v, 7);
		EXPECT_EQ(retry(kind, [&](int i) { return rseqkit_percpu_store_if_ne(kind, &v, 8, 9, i); }),
			  RSEQKIT_COMMITTED);
		EXPECT_EQ(v, 9);
	}
}

struct node {
	intptr_t payload;
	node *next;
};

TEST(Ops, PopIfNeOrder)
{
	for (rseqkit_index kind : kKinds) {
		node nodes[4];
		node *head = nullptr;
		for (int k = 0; k < 4; ++k) {  // push 0,1,2,3: pops come back 3,2,1,0
			nodes[k].payload = k;
			nodes[k].next = head;
			head = &nodes[k];
		}
		intptr_t *hv = reinterpret_cast<intptr_t *>(&head);
		for (int k = 3; k >= 0; --k) {
			intptr_t got = -1;
			ASSERT_EQ(retry(kind, [&](int i) {
					  return rseqkit_percpu_pop_if_ne(kind, hv, 0, offsetof(node, next), &got, i);
				  }),
				  RSEQKIT_COMMITTED);
			EXPECT_EQ(got, reinterpret_cast<intptr_t>(&nodes[k]));
			EXPECT_EQ(head, k ? &nodes[k - 1] : nullptr);
		}
		intptr_t untouched = 1234;
		EXPECT_EQ(retry(kind, [&](int i) {
				  return rseqkit_percpu_pop_if_ne(kind, hv, 0, offsetof(node, next), &untouched, i);
			  }),
			  RSEQKIT_COMPARE_FAILED);
		EXPECT_EQ(untouched, 1234);
		EXPECT_EQ(head, nullptr);
	}
}

TEST(Ops, StoreStore)
{
	for (rseqkit_index kind : kKinds)
		for (rseqkit_mo mo : kOrders) {
			intptr_t v = 1, v2 = 2;
			EXPECT_EQ(retry(kind, [&](int i) {
					  return rseqkit_percpu_store_store_if_eq(kind, mo, &v, 5, &v2, 20, 10, i);
				  }),
				  RSEQKIT_COMPARE_FAILED);
			EXPECT_EQ(v, 1);
			EXPECT_EQ(v2, 2);
			EXPECT_EQ(retry(kind, [&](int i) {
					  return rseqkit_percpu_store_store_if_eq(kind, mo, &v, 1, &v2, 20, 10, i);
				  }),
				  RSEQKIT_COMMITTED);
			EXPECT_EQ(v, 10);
			EXPECT_EQ(v2, 20);
			EXPECT_EQ(retry(kind, [&](int i) {
					  return rseqkit_percpu_store_store_if_ne(kind, mo, &v, 10, &v2, 21, 11, i);
				  }),
				  RSEQKIT_COMPARE_FAILED);
			EXPECT_EQ(v, 10);
			EXPECT_EQ(v2, 20);
			EXPECT_EQ(retry(kind, [&](int i) {
					  return rseqkit_percpu_store_store_if_ne(kind, mo, &v, 99, &v2, 21, 11, i);
				  }),
				  RSEQKIT_COMMITTED);
			EXPECT_EQ(v, 11);
			EXPECT_EQ(v2, 21);
		}
}

TEST(Ops, MemcpyStore)
{
	for (rseqkit_index kind : kKinds)
		for (rseqkit_mo mo : kOrders)
			// Lengths around the word size, to cover every tail of the copy loop.
			for (size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 200}) {
				unsigned char src[256], dst[256];
				for (size_t k = 0; k < sizeof(src); ++k) {
					src[k] = static_cast<unsigned char>(k * 7 + len);
					dst[k] = 0xee;
				}
				intptr_t v = 3;
				EXPECT_EQ(retry(kind, [&](int i) {
						  return rseqkit_percpu_memcpy_store_if_eq(kind, mo, &v, 4, dst + 1, src,
											  len, 5, i);
					  }),
					  RSEQKIT_COMPARE_FAILED);
				for (size_t k = 0; k < sizeof(dst); ++k)
					ASSERT_EQ(dst[k], 0xee);
				EXPECT_EQ(v, 3);
				EXPECT_EQ(retry(kind, [&](int i) {
						  return rseqkit_percpu_memcpy_store_if_eq(kind, mo, &v, 3, dst + 1, src,
											  len, 5, i);
					  }),
					  RSEQKIT_COMMITTED);
				EXPECT_EQ(v, 5);
				EXPECT_EQ(dst[0], 0xee);
				EXPECT_EQ(memcmp(dst + 1, src, len), 0) << len;
				EXPECT_EQ(dst[len + 1], 0xee) << len;
				EXPECT_EQ(retry(kind, [&](int i) {
						  return rseqkit_percpu_memcpy_store_if_ne(kind, mo, &v, 5, dst, src, len,
											  6, i);
					  }),
					  RSEQKIT_COMPARE_FAILED);
				EXPECT_EQ(v, 5);
				EXPECT_EQ(dst[0], 0xee);
				EXPECT_EQ(retry(kind, [&](int i) {
						  return rseqkit_percpu_memcpy_store_if_ne(kind, mo, &v, 4, dst, src, len,
											  6, i);
					  }),
					  RSEQKIT_COMMITTED);
				EXPECT_EQ(v, 6);
				EXPECT_EQ(memcmp(dst, src, len), 0) << len;
			}
}

TEST(Ops, DerefAdd)
{
	for (rseqkit_index kind : kKinds) {
		struct {
			intptr_t a, b, c;
		} target = {1, 2, 3};
		intptr_t p = reinterpret_cast<intptr_t>(&target);
		for (int n = 0; n < 10; ++n)
			ASSERT_EQ(retry(kind, [&](int i) {
					  return rseqkit_percpu_deref_add(kind, &p, sizeof(intptr_t), 3, i);
				  }),
				  RSEQKIT_COMMITTED);
		EXPECT_EQ(target.a, 1);
		EXPECT_EQ(target.b, 32);
		EXPECT_EQ(target.c, 3);
		EXPECT_EQ(p, reinterpret_cast<intptr_t>(&target));
	}
}

TEST(Ops, LockedVariantsDirect)
{
	intptr_t v = 0;
	EXPECT_EQ(rseqkit_percpu_add_locked(&v, 4, 12345), 0);
	EXPECT_EQ(v, 4);
	EXPECT_EQ(rseqkit_percpu_store_if_eq_locked(&v, 5, 1, -7), 1);
	EXPECT_EQ(rseqkit_percpu_store_if_eq_locked(&v, 4, 1, -7), 0);
	EXPECT_EQ(v, 1);
	EXPECT_EQ(rseqkit_percpu_store_if_ne_locked(&v, 1, 2, 0), 1);
	EXPECT_EQ(rseqkit_percpu_store_if_ne_locked(&v, 3, 2, 0), 0);
	EXPECT_EQ(v, 2);
}

// Threads hammer the slots of their current index; the total must be exact.
TEST(Threads, AddExactSum)
{
	const int threads = 4, per_thread = 200000;
	for (rseqkit_index kind : kKinds) {
		slots s;
		std::vector<std::thread> ts;
		for (int t = 0; t < threads; ++t)
			ts.emplace_back([&] {
				for (int n = 0; n < per_thread; ++n)
					retry(kind, [&](int i) { return rseqkit_percpu_add(kind, &s[i].v, 1, i); });
			});
		for (auto &t : ts)
			t.join();
		intptr_t sum = 0;
		for (auto &x : s.s)
			sum += x.v;
		EXPECT_EQ(sum, static_cast<intptr_t>(threads) * per_thread);
	}
}

// A lock held by another thread at fork() is free in the child (only the forking
// thread exists there).
TEST(LockedMode, LocksAreFreeAfterFork)
{
	std::atomic<int> state{0};
	std::thread holder([&] {
		rseqkit_percpu_lock(5);
		state = 1;
		while (state.load() != 2)
			std::this_thread::yield();
		rseqkit_percpu_unlock(5);
	});
	while (state.load() != 1)
		std::this_thread::yield();
	fflush(nullptr);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10);  // a deadlock ends as SIGALRM
		rseqkit_percpu_lock(5);
		rseqkit_percpu_unlock(5);
		intptr_t v = 0;
		int r = rseqkit_percpu_add_locked(&v, 3, 5);  // takes lock 5 itself
		_exit(r == 0 && v == 3 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	state = 2;
	holder.join();
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(LockedMode, ModeMatchesRegistrationMode)
{
	// Run one operation of each kind, then look at the mode the process settled in.
	intptr_t v = 0;
	for (rseqkit_index kind : kKinds)
		retry(kind, [&](int i) { return rseqkit_percpu_add(kind, &v, 1, i); });
	EXPECT_EQ(v, 2);
	std::string m = mode_name();
	if (m == "enosys" || m == "eperm") {
		EXPECT_EQ(rseqkit_thread_owner(), RSEQKIT_OWNER_UNAVAILABLE);
		EXPECT_EQ(rseqkit_percpu_locked(RSEQKIT_INDEX_CPU_ID), 1);
		EXPECT_EQ(rseqkit_percpu_locked(RSEQKIT_INDEX_MM_CID), 1);
	} else {
		EXPECT_EQ(rseqkit_percpu_locked(RSEQKIT_INDEX_CPU_ID), 0);
		bool mm_cid = rseqkit_area_features & RSEQKIT_FEATURE_MM_CID;
		EXPECT_EQ(rseqkit_percpu_locked(RSEQKIT_INDEX_MM_CID), mm_cid ? 0 : 1);
	}
}

}  // namespace
