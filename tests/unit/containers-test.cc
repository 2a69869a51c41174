// SPDX-License-Identifier: MIT
// <rseqkit/rseqkit.hpp>: the registration guard and the per-CPU containers, with exact
// sums and contents, in both index kinds, single-threaded (pinned, so the order is
// known) and under contention, and across a switch to locked mode while threads run.
#include <rseqkit/rseqkit.hpp>

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "mode.h"

namespace {

using rseqkit::index_kind;
using rseqkit_test::current_mode;
using rseqkit_test::mode;

// Threads per contention test: more than this machine's CPUs, so that they share CPUs
// and are preempted inside operations.
constexpr int kThreads = 4;

// Runs f on one CPU (the first the thread may use), then restores the affinity: a
// thread that does not migrate sees one stack or array, so the order is known.
template <class F> void pinned(F f)
{
	cpu_set_t old, one;
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(old), &old));
	int cpu = 0;
	while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &old))
		++cpu;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	f();
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(old), &old));
}

template <class F> void run_threads(int n, F f)
{
	std::vector<std::thread> threads;
	for (int t = 0; t < n; ++t)
		threads.emplace_back(f, t);
	for (auto &th : threads)
		th.join();
}

// All threads start their work together, so that they overlap.
class start_barrier {
public:
	explicit start_barrier(int n) : left_(n) {}
	void wait()
	{
		left_.fetch_sub(1);
		while (left_.load() > 0)
			std::this_thread::yield();
	}

private:
	std::atomic<int> left_;
};

// ---- thread_registration ----

TEST(ThreadRegistration, ReportsOwnerAndDropsOnlyItsOwn)
{
	std::thread([] {
		const rseqkit_owner expect = rseqkit_test::expected_owner();
		{
			rseqkit::thread_registration outer;
			EXPECT_EQ(expect, outer.owner());
			EXPECT_EQ(expect, rseqkit_thread_owner());
			EXPECT_EQ(rseqkit_test::rseq_works(), outer.usable());
			// Only a registration rseqkit made on this thread is the guard's to drop.
			EXPECT_EQ(current_mode() == mode::rseqkit, outer.owns_registration());
			EXPECT_EQ(rseqkit_test::rseq_works() ? 0 : rseqkit_test::expected_unavailable_errno(),
				  outer.error());
			{
				rseqkit::thread_registration inner;
				EXPECT_EQ(expect, inner.owner());
				EXPECT_FALSE(inner.owns_registration());
			}
			// The inner guard left the registration alone.
			EXPECT_EQ(expect, rseqkit_thread_owner());
			if (rseqkit_test::rseq_works()) {
				EXPECT_GE(static_cast<int32_t>(rseqkit_thread_area()->cpu_id), 0);
			}
		}
		switch (current_mode()) {
		case mode::glibc:
			EXPECT_EQ(RSEQKIT_OWNER_GLIBC, rseqkit_thread_owner());  // glibc's stays
			break;
		case mode::rseqkit:
			EXPECT_EQ(RSEQKIT_OWNER_NONE, rseqkit_thread_owner());  // ours is gone
			EXPECT_LT(static_cast<int32_t>(rseqkit_thread_area()->cpu_id), 0);
			// ... and the kernel agrees: registering the same area again succeeds.
			EXPECT_EQ(0, rseqkit_register_current_thread());
			EXPECT_EQ(RSEQKIT_OWNER_RSEQKIT, rseqkit_thread_owner());
			break;
		default:
			EXPECT_EQ(RSEQKIT_OWNER_UNAVAILABLE, rseqkit_thread_owner());
			break;
		}
	}).join();
}

TEST(ThreadRegistration, AfterLazyRegistrationOwnsNothing)
{
	std::thread([] {
		(void)rseqkit_current_index(RSEQKIT_INDEX_CPU_ID);  // may register lazily
		(void)rseqkit_register_current_thread();
		rseqkit::thread_registration guard;
		EXPECT_FALSE(guard.owns_registration());
		EXPECT_EQ(rseqkit_test::expected_owner(), guard.owner());
	}).join();
}

// ---- percpu<T> ----

struct small {
	int a;
	char b;
};

TEST(Percpu, OneAlignedSlotPerIndex)
{
	rseqkit::percpu<small> p;
	ASSERT_EQ(static_cast<std::size_t>(rseqkit_index_count()), p.size());
	std::size_t n = 0;
	for (const small &s : p) {
		EXPECT_EQ(0, s.a);  // value-initialized
		EXPECT_EQ(0, s.b);
		++n;
	}
	EXPECT_EQ(p.size(), n);
	for (int i = 0; i < static_cast<int>(p.size()); ++i) {
		EXPECT_EQ(0u, reinterpret_cast<std::uintptr_t>(&p[i]) % rseqkit::cache_line) << i;
		if (i > 0) {
			EXPECT_EQ(rseqkit::cache_line, static_cast<std::size_t>(reinterpret_cast<char *>(&p[i]) -
									    reinterpret_cast<char *>(&p[i - 1])));
		}
	}
	int i = rseqkit::current_index<index_kind::cpu_id>();
	ASSERT_GE(i, 0);
	ASSERT_LT(i, static_cast<int>(p.size()));
	p[i].a = 42;
	EXPECT_EQ(42, p[i].a);
}

struct alignas(256) overaligned {
	long v;
};

TEST(Percpu, OveralignedType)
{
	rseqkit::percpu<overaligned, index_kind::mm_cid> p;
	for (int i = 0; i < static_cast<int>(p.size()); ++i)
		EXPECT_EQ(0u, reinterpret_cast<std::uintptr_t>(&p[i]) % 256) << i;
	int i = rseqkit::current_index<index_kind::mm_cid>();
	ASSERT_GE(i, 0);
	ASSERT_LT(i, static_cast<int>(p.size()));
}

// ---- typed tests over the index kind ----

template <class K> class Containers : public ::testing::Test {};
struct cpu_kind {
	static constexpr index_kind value = index_kind::cpu_id;
};
struct mm_cid_kind {
	static constexpr index_kind value = index_kind::mm_cid;
};
using Kinds = ::testing::Types<cpu_kind, mm_cid_kind>;
TYPED_TEST_SUITE(Containers, Kinds);

TYPED_TEST(Containers, CounterSingleThread)
{
	rseqkit::percpu_counter<TypeParam::value> c;
	EXPECT_EQ(0, c.sum());
	c.add(5);
	c.add(-2);
	c.add(INTPTR_MAX);
	c.add(INTPTR_MIN);
	EXPECT_EQ(2, c.sum());  // wraps as two's complement
}

TYPED_TEST(Containers, CounterExactSumUnderContention)
{
	rseqkit::percpu_counter<TypeParam::value> c;
	constexpr int kAdds = 1000000;
	start_barrier go(kThreads);
	run_threads(kThreads, [&](int t) {
		go.wait();
		for (int k = 0; k < kAdds; ++k)
			c.add(t + 1);  // distinct amounts: a lost or doubled add shows
	});
	intptr_t expect = 0;
	for (int t = 0; t < kThreads; ++t)
		expect += static_cast<intptr_t>(t + 1) * kAdds;
	EXPECT_EQ(expect, c.sum());
	intptr_t parts = 0;
	for (intptr_t p : c.parts())
		parts += p;
	EXPECT_EQ(expect, parts);
}

struct node : rseqkit::stack_hook<> {
	int id = 0;
	std::atomic<int> seen{0};
};

// Two hooks: one node in two kinds of stack at once.
struct tag_a {};
struct tag_b {};
struct dual : rseqkit::stack_hook<tag_a>, rseqkit::stack_hook<tag_b> {
	int id = 0;
};

TYPED_TEST(Containers, StackLifoPinned)
{
	rseqkit::percpu_stack<node, TypeParam::value> s;
	std::vector<node> nodes(5);
	pinned([&] {
		EXPECT_EQ(nullptr, s.pop());
		for (int i = 0; i < 5; ++i) {
			nodes[i].id = i;
			s.push(&nodes[i]);
		}
		EXPECT_FALSE(s.empty());
		for (int i = 4; i >= 0; --i) {
			node *n = s.pop();
			ASSERT_NE(nullptr, n);
			EXPECT_EQ(i, n->id);
		}
		EXPECT_EQ(nullptr, s.pop());
		EXPECT_TRUE(s.empty());
	});
}

TYPED_TEST(Containers, StackTwoHooks)
{
	rseqkit::percpu_stack<dual, TypeParam::value, tag_a> a;
	rseqkit::percpu_stack<dual, TypeParam::value, tag_b> b;
	std::vector<dual> nodes(3);
	pinned([&] {
		for (int i = 0; i < 3; ++i) {
			nodes[i].id = i;
			a.push(&nodes[i]);
			b.push(&nodes[2 - i]);  // the other order
		}
		for (int i = 2; i >= 0; --i) {
			dual *x = a.pop();
			dual *y = b.pop();
			ASSERT_NE(nullptr, x);
			ASSERT_NE(nullptr, y);
			EXPECT_EQ(i, x->id);
			EXPECT_EQ(2 - i, y->id);
		}
		EXPECT_EQ(nullptr, a.pop());
		EXPECT_EQ(nullptr, b.pop());
	});
}

// Every thread pushes its share of the nodes on the index it runs on, then pops a node
// and pushes it back, over and over; at the end every node is in exactly one stack, once.
TYPED_TEST(Containers, StackEveryNodeOnceUnderContention)
{
	rseqkit::percpu_stack<node, TypeParam::value> s;
	constexpr int kPerThread = 64;
	constexpr int kRounds = 400000;
	std::vector<node> nodes(kThreads * kPerThread);
	for (std::size_t i = 0; i < nodes.size(); ++i)
		nodes[i].id = static_cast<int>(i);
	std::atomic<long> popped{0};
	start_barrier go(kThreads);
	run_threads(kThreads, [&](int t) {
		go.wait();
		for (int i = 0; i < kPerThread; ++i)
			s.push(&nodes[t * kPerThread + i]);
		long mine = 0;
		for (int k = 0; k < kRounds; ++k) {
			node *n = s.pop();
			if (!n)
				continue;  // this index's stack is empty now
			++mine;
			s.push(n);
		}
		popped += mine;
	});
	// Nodes move between indexes only when a thread migrates between its pop and push.
	EXPECT_GT(popped.load(), static_cast<long>(kThreads) * kRounds / 2);
	std::size_t drained = s.drain([](node *n) { n->seen.fetch_add(1); });
	EXPECT_EQ(nodes.size(), drained);
	for (const node &n : nodes)
		EXPECT_EQ(1, n.seen.load()) << "node " << n.id;
	EXPECT_TRUE(s.empty());
	EXPECT_EQ(nullptr, s.pop());
}

TYPED_TEST(Containers, BufferBoundsPinned)
{
	constexpr std::size_t kCap = 7;
	rseqkit::percpu_buffer<int, TypeParam::value> b(kCap);
	EXPECT_EQ(kCap, b.capacity());
	int items[kCap + 1];
	pinned([&] {
		EXPECT_EQ(nullptr, b.pop());
		for (std::size_t i = 0; i < kCap; ++i) {
			items[i] = static_cast<int>(i);
			EXPECT_TRUE(b.push(&items[i])) << i;
		}
		EXPECT_FALSE(b.push(&items[kCap]));  // full
		EXPECT_EQ(kCap, b.size());
		for (std::size_t i = kCap; i-- > 0;) {
			int *p = b.pop();
			ASSERT_EQ(&items[i], p);
		}
		EXPECT_EQ(nullptr, b.pop());
		EXPECT_EQ(0u, b.size());
	});
}

TYPED_TEST(Containers, BufferZeroCapacity)
{
	rseqkit::percpu_buffer<int, TypeParam::value> b(0);
	int x = 0;
	EXPECT_FALSE(b.push(&x));
	EXPECT_EQ(nullptr, b.pop());
}

TYPED_TEST(Containers, BufferEveryItemOnceUnderContention)
{
	constexpr int kPerThread = 128;
	constexpr int kItems = kThreads * kPerThread;
	constexpr int kRounds = 400000;
	// Room for every item in every array: a push never fails.
	rseqkit::percpu_buffer<std::atomic<int>, TypeParam::value> b(kItems);
	std::vector<std::atomic<int>> items(kItems);
	std::atomic<long> failed_push{0}, popped{0};
	start_barrier go(kThreads);
	run_threads(kThreads, [&](int t) {
		go.wait();
		for (int i = 0; i < kPerThread; ++i)
			if (!b.push(&items[t * kPerThread + i]))
				++failed_push;
		long mine = 0;
		for (int k = 0; k < kRounds; ++k) {
			std::atomic<int> *p = b.pop();
			if (!p)
				continue;
			++mine;
			if (!b.push(p))
				++failed_push;
		}
		popped += mine;
	});
	EXPECT_EQ(0, failed_push.load());
	EXPECT_GT(popped.load(), static_cast<long>(kThreads) * kRounds / 2);
	EXPECT_EQ(static_cast<std::size_t>(kItems), b.size());
	std::size_t drained = b.drain([&](std::atomic<int> *p) {
		ASSERT_GE(p, &items[0]);
		ASSERT_LT(p, &items[0] + kItems);
		p->fetch_add(1);
	});
	EXPECT_EQ(static_cast<std::size_t>(kItems), drained);
	for (int i = 0; i < kItems; ++i)
		EXPECT_EQ(1, items[i].load()) << "item " << i;
	EXPECT_EQ(0u, b.size());
}

// The process switches to locked mode while threads use every container: the results
// stay exact.  In a child process, since the switch is for good.
TEST(LockedSwitch, ContainersStayExact)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		rseqkit::percpu_counter<> c;
		rseqkit::percpu_stack<node> s;
		rseqkit::percpu_buffer<node> b(64);
		std::vector<node> nodes(64);
		for (auto &n : nodes) {
			s.push(&n);
			(void)b.push(&n);
		}
		std::atomic<bool> go{false};
		std::vector<std::thread> threads;
		constexpr int kOps = 100000;
		for (int t = 0; t < kThreads; ++t)
			threads.emplace_back([&] {
				while (!go.load())
					;
				for (int k = 0; k < kOps; ++k) {
					c.add(1);
					if (node *n = s.pop())
						s.push(n);
					if (node *n = b.pop())
						if (!b.push(n))
							_exit(10);
				}
			});
		go = true;
		rseqkit_percpu_force_locked();
		for (auto &th : threads)
			th.join();
		if (!rseqkit_percpu_locked(RSEQKIT_INDEX_CPU_ID))
			_exit(11);
		if (c.sum() != static_cast<intptr_t>(kThreads) * kOps)
			_exit(12);
		std::vector<int> seen_s(64), seen_b(64);
		s.drain([&](node *n) { ++seen_s[n - nodes.data()]; });
		b.drain([&](node *n) { ++seen_b[n - nodes.data()]; });
		for (int i = 0; i < 64; ++i)
			if (seen_s[i] != 1 || seen_b[i] != 1)
				_exit(13);
		_exit(0);
	}
	int status = 0;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) << status;
	EXPECT_EQ(0, WEXITSTATUS(status)) << "10: push failed, 11: not locked, 12: sum, 13: contents";
}

// Which path the containers took matches the registration mode.
TEST(LockedSwitch, ModeMatchesRegistration)
{
	rseqkit::percpu_counter<> c;
	c.add(1);
	EXPECT_EQ(1, c.sum());
	EXPECT_EQ(!rseqkit_test::rseq_works(), rseqkit_percpu_locked(RSEQKIT_INDEX_CPU_ID) != 0);
}

}  // namespace
