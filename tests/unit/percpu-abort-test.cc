// SPDX-License-Identifier: MIT
// Every operation family under contention, with a delay loop injected right before the
// commit (RSEQKIT_INJECT_ASM) and a thread that signals the workers, so that the kernel
// aborts sequences often.  Invariants are exact; aborts are counted where they land
// (RSEQKIT_ABORTED) and must be seen wherever rseq works, and never in locked mode.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <pthread.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string>
#include <thread>
#include <vector>

#include "mode.h"

// Loop count of the delay injected before every commit; 0 outside the contended parts.
extern "C" __attribute__((visibility("hidden"))) unsigned rseqkit_test_delay;
unsigned rseqkit_test_delay;

// Point 1 (after the checks) stays empty; point 2 (before the commit) spins.
#define RSEQKIT_INJECT_ASM(point) RSEQKIT_TEST_INJECT_##point
#define RSEQKIT_TEST_INJECT_1 ""
#if defined(__x86_64__)
#define RSEQKIT_TEST_INJECT_2                                                  \
	"movl rseqkit_test_delay(%%rip), %%ecx\n"                              \
	"1: testl %%ecx, %%ecx\n\tjz 2f\n\tdecl %%ecx\n\tjmp 1b\n2:\n\t"
#elif defined(__aarch64__)
#define RSEQKIT_TEST_INJECT_2                                                  \
	"adrp x11, rseqkit_test_delay\n\t"                                      \
	"ldr w11, [x11, :lo12:rseqkit_test_delay]\n"                           \
	"1: cbz w11, 2f\n\tsub w11, w11, #1\n\tb 1b\n2:\n\t"
#endif

#include <rseqkit/percpu.h>

namespace {

using namespace rseqkit_test;

const rseqkit_index kKinds[] = {RSEQKIT_INDEX_CPU_ID, RSEQKIT_INDEX_MM_CID};
constexpr int kThreads = 4;  // more threads than this machine's CPUs: preemption
constexpr unsigned kDelay = 3000;

struct counts {
	long commits = 0, compare_failed = 0, aborts = 0, stale = 0;
	void add(const counts &o)
	{
		commits += o.commits;
		compare_failed += o.compare_failed;
		aborts += o.aborts;
		stale += o.stale;
	}
	// Records one result; true when the operation is finished (committed or compare failed).
	bool record(int r)
	{
		switch (r) {
		case RSEQKIT_COMMITTED: ++commits; return true;
		case RSEQKIT_COMPARE_FAILED: ++compare_failed; return true;
		case RSEQKIT_ABORTED: ++aborts; return false;
		case RSEQKIT_STALE_INDEX: ++stale; return false;
		default: ADD_FAILURE() << "unexpected result " << r; return true;
		}
	}
};

// Retries op(index) until it is finished; returns its final result.
template <class F> int run(rseqkit_index kind, counts &c, F op)
{
	for (;;) {
		int i = rseqkit_current_index(kind);
		int r = op(i);
		if (c.record(r))
			return r;
	}
}

void on_signal(int) {}

// Starts kThreads workers running body(thread, counts) for `ms` milliseconds, with
// SIGUSR1 sent to each of them every 200 microseconds.  Returns the summed counts.
template <class F> counts contend(int ms, F body)
{
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, nullptr);
	std::atomic<bool> stop{false};
	std::vector<counts> per(kThreads);
	std::vector<std::thread> ts;
	std::vector<pthread_t> handles(kThreads);
	std::atomic<int> ready{0};
	rseqkit_test_delay = kDelay;
	for (int t = 0; t < kThreads; ++t)
		ts.emplace_back([&, t] {
			handles[t] = pthread_self();
			ready.fetch_add(1);
			while (!stop.load(std::memory_order_relaxed))
				body(t, per[t]);
		});
	while (ready.load() < kThreads)
		std::this_thread::yield();
	auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
	while (std::chrono::steady_clock::now() < end) {
		for (auto h : handles)
			pthread_kill(h, SIGUSR1);
		std::this_thread::sleep_for(std::chrono::microseconds(200));
	}
	stop = true;
	for (auto &t : ts)
		t.join();
	rseqkit_test_delay = 0;
	counts total;
	for (auto &c : per)
		total.add(c);
	return total;
}

void expect_aborts(const counts &c, const char *family, rseqkit_index kind)
{
	printf("%-14s %-6s commits %8ld  compare-failed %8ld  aborts %6ld (%.2f%%)  stale %6ld\n", family,
	       kind == RSEQKIT_INDEX_CPU_ID ? "cpu_id" : "mm_cid", c.commits, c.compare_failed, c.aborts,
	       100.0 * c.aborts / double(c.commits + c.compare_failed + c.aborts + c.stale), c.stale);
	EXPECT_GT(c.commits, 0);
	if (rseqkit_percpu_locked(kind)) {
		// Locked mode: the operations never abort and the index is never stale.
		EXPECT_EQ(c.aborts, 0);
		EXPECT_EQ(c.stale, 0);
	} else {
		EXPECT_GT(c.aborts, 0) << family << ": no abort seen with rseq working";
	}
}

void check_mode(rseqkit_index kind)
{
	// Settle the mode with one operation, then say what this run covers.
	intptr_t x = 0;
	counts c;
	run(kind, c, [&](int i) { return rseqkit_percpu_add(kind, &x, 1, i); });
	if (rseq_works()) {
		EXPECT_EQ(rseqkit_percpu_locked(RSEQKIT_INDEX_CPU_ID), 0);
		if (kind == RSEQKIT_INDEX_MM_CID && !(rseqkit_area_features & RSEQKIT_FEATURE_MM_CID))
			GTEST_SKIP() << "the kernel does not provide mm_cid (Linux 6.3+)";
	} else {
		EXPECT_EQ(rseqkit_percpu_locked(kind), 1);
	}
}

struct alignas(64) slot {
	intptr_t v = 0;
	intptr_t v2 = 0;
	intptr_t *target = nullptr;
};

struct slots {
	std::vector<slot> s;
	slots() : s(static_cast<size_t>(rseqkit_index_count())) {}
	slot &operator[](int i) { return s.at(static_cast<size_t>(i)); }
};

class Families : public ::testing::TestWithParam<rseqkit_index> {
protected:
	void SetUp() override { check_mode(GetParam()); }
};

TEST_P(Families, Add)
{
	rseqkit_index kind = GetParam();
	slots s;
	counts c = contend(300, [&](int, counts &mine) {
		run(kind, mine, [&](int i) { return rseqkit_percpu_add(kind, &s[i].v, 1, i); });
	});
	intptr_t sum = 0;
	for (auto &x : s.s)
		sum += x.v;
	EXPECT_EQ(sum, c.commits);
	expect_aborts(c, "add", kind);
}

// store_if_eq as compare-and-swap: an increment that retries on a failed compare.
TEST_P(Families, StoreIfEqIncrement)
{
	rseqkit_index kind = GetParam();
	slots s;
	counts c = contend(300, [&](int, counts &mine) {
		run(kind, mine, [&](int i) {
			intptr_t seen = __atomic_load_n(&s[i].v, __ATOMIC_RELAXED);
			return rseqkit_percpu_store_if_eq(kind, &s[i].v, seen, seen + 1, i);
		});
	});
	intptr_t sum = 0;
	for (auto &x : s.s)
		sum += x.v;
	EXPECT_EQ(sum, c.commits);
	expect_aborts(c, "store_if_eq", kind);
}

// store_if_ne as a toggle: "set to 1 unless it is 1" and "set to 0 unless it is 0".
// Every commit is a real transition, so #(0->1) - #(1->0) is the final sum exactly; a
// commit based on a stale value would count a transition that did not happen.
TEST_P(Families, StoreIfNeToggle)
{
	rseqkit_index kind = GetParam();
	slots s;
	std::vector<long> up(kThreads), down(kThreads);
	counts c = contend(300, [&](int t, counts &mine) {
		static thread_local unsigned n;
		intptr_t to = (++n + t) & 1;
		if (run(kind, mine, [&](int i) { return rseqkit_percpu_store_if_ne(kind, &s[i].v, to, to, i); }) == 0)
			(to ? up : down)[t]++;
	});
	long ups = 0, downs = 0;
	for (int t = 0; t < kThreads; ++t) {
		ups += up[t];
		downs += down[t];
	}
	intptr_t sum = 0;
	for (auto &x : s.s)
		sum += x.v;
	EXPECT_EQ(ups - downs, sum);
	EXPECT_GT(c.compare_failed, 0);
	expect_aborts(c, "store_if_ne", kind);
}

// A per-index intrusive stack: push = store_store_if_eq (node->next speculative, head
// commit with release), pop = pop_if_ne.  Each popped node must be owned by exactly one
// thread; at the end every node is in exactly one stack.
struct node {
	node *next;
	std::atomic<int> owner{0};
	long visits = 0;
};

TEST_P(Families, ListPushPop)
{
	rseqkit_index kind = GetParam();
	const int kNodes = 64;
	std::vector<node> nodes(kNodes);
	slots s;
	// Spread the nodes over every stack.
	for (int k = 0; k < kNodes; ++k) {
		int i = k % rseqkit_index_count();
		nodes[k].next = reinterpret_cast<node *>(s[i].v);
		s[i].v = reinterpret_cast<intptr_t>(&nodes[k]);
	}
	std::atomic<long> double_owner{0}, pops{0};
	counts c = contend(300, [&](int t, counts &mine) {
		intptr_t got = 0;
		int r = run(kind, mine, [&](int i) {
			return rseqkit_percpu_pop_if_ne(kind, &s[i].v, 0, offsetof(node, next), &got, i);
		});
		if (r != 0)
			return;  // this stack is empty right now
		node *n = reinterpret_cast<node *>(got);
		int expected = 0;
		if (!n->owner.compare_exchange_strong(expected, t + 1))
			double_owner.fetch_add(1);
		n->visits++;
		pops.fetch_add(1, std::memory_order_relaxed);
		n->owner.store(0);
		// Push back; a failed compare means the head moved: read it again.
		while (run(kind, mine, [&](int i) {
			intptr_t head = __atomic_load_n(&s[i].v, __ATOMIC_RELAXED);
			return rseqkit_percpu_store_store_if_eq(kind, RSEQKIT_MO_RELEASE, &s[i].v, head,
								reinterpret_cast<intptr_t *>(&n->next), head,
								reinterpret_cast<intptr_t>(n), i);
		}) != RSEQKIT_COMMITTED) {
		}
	});
	EXPECT_EQ(double_owner.load(), 0);
	std::vector<int> seen(kNodes);
	long visits = 0;
	for (auto &x : s.s)
		for (node *n = reinterpret_cast<node *>(x.v); n; n = n->next) {
			ptrdiff_t k = n - nodes.data();
			ASSERT_TRUE(k >= 0 && k < kNodes);
			ASSERT_EQ(seen[k]++, 0) << "node " << k << " is in two places";
		}
	for (int k = 0; k < kNodes; ++k) {
		EXPECT_EQ(seen[k], 1) << "node " << k << " lost";
		visits += nodes[k].visits;
	}
	EXPECT_EQ(visits, pops.load());
	expect_aborts(c, "list", kind);
}

// The _if_ne twins of store_store and memcpy_store, as toggles.  Their speculative
// store (or copy) goes to memory private to the thread, as the rules require: the
// commit publishes it, an abort may leave it half written.
TEST_P(Families, StoreStoreIfNeToggle)
{
	rseqkit_index kind = GetParam();
	slots s;
	std::vector<long> up(kThreads), down(kThreads), wrong(kThreads);
	counts c = contend(300, [&](int t, counts &mine) {
		static thread_local unsigned n;
		static thread_local intptr_t priv;
		intptr_t to = (++n + t) & 1;
		rseqkit_mo mo = (n & 2) ? RSEQKIT_MO_RELEASE : RSEQKIT_MO_RELAXED;
		if (run(kind, mine, [&](int i) {
			    return rseqkit_percpu_store_store_if_ne(kind, mo, &s[i].v, to, &priv, n, to, i);
		    }) == 0) {
			(to ? up : down)[t]++;
			if (priv != static_cast<intptr_t>(n))
				wrong[t]++;
		}
	});
	long ups = 0, downs = 0, wrongs = 0;
	for (int t = 0; t < kThreads; ++t) {
		ups += up[t];
		downs += down[t];
		wrongs += wrong[t];
	}
	intptr_t sum = 0;
	for (auto &x : s.s)
		sum += x.v;
	EXPECT_EQ(ups - downs, sum);
	EXPECT_EQ(wrongs, 0);
	expect_aborts(c, "store_store_ne", kind);
}

// A per-index bounded buffer of 24-byte records moved with memcpy_store_if_eq: push
// copies a record in and commits count+1; pop copies the top record out (into private
// memory) and commits count-1.  Records must come out whole, each exactly once.
// Every buffer can hold every record, so a push never finds its buffer full: a thread
// that had to wait for the scheduler to move it to another CPU could wait for minutes
// on a busy machine (seen in the glibc matrix).
struct record {
	intptr_t id, check, visits;
};

TEST_P(Families, MemcpyBuffer)
{
	rseqkit_index kind = GetParam();
	const int kRecords = 40, kCap = kRecords;
	struct alignas(64) buffer {
		intptr_t count = 0;
		record r[kCap];
	};
	std::vector<buffer> bufs(static_cast<size_t>(rseqkit_index_count()));
	int n = 0;
	for (int k = 0; k < kRecords; ++k) {
		buffer &b = bufs[static_cast<size_t>(k % rseqkit_index_count())];
		if (b.count == kCap)
			continue;
		b.r[b.count++] = record{k, ~intptr_t(k), 0};
		++n;
	}
	std::atomic<long> torn{0}, moves{0}, full{0};
	counts c = contend(300, [&](int, counts &mine) {
		record out;
		int r = run(kind, mine, [&](int i) {
			buffer &b = bufs[static_cast<size_t>(i)];
			intptr_t cnt = __atomic_load_n(&b.count, __ATOMIC_RELAXED);
			if (cnt == 0)
				return RSEQKIT_COMPARE_FAILED;
			return rseqkit_percpu_memcpy_store_if_eq(kind, RSEQKIT_MO_RELAXED, &b.count, cnt, &out,
								 &b.r[cnt - 1], sizeof(out), cnt - 1, i);
		});
		if (r != 0)
			return;
		if (out.check != ~out.id)
			torn.fetch_add(1);
		out.visits++;
		moves.fetch_add(1, std::memory_order_relaxed);
		for (;;) {
			int i = rseqkit_current_index(kind);
			buffer &b = bufs[static_cast<size_t>(i)];
			intptr_t cnt = __atomic_load_n(&b.count, __ATOMIC_RELAXED);
			if (cnt == kCap) {  // cannot happen; the record is lost and the test fails
				full.fetch_add(1);
				break;
			}
			int rr = rseqkit_percpu_memcpy_store_if_eq(kind, RSEQKIT_MO_RELEASE, &b.count, cnt, &b.r[cnt],
								   &out, sizeof(out), cnt + 1, i);
			if (mine.record(rr) && rr == 0)
				break;
		}
	});
	EXPECT_EQ(torn.load(), 0);
	EXPECT_EQ(full.load(), 0);
	std::vector<int> seen(kRecords);
	long total = 0, visits = 0;
	for (auto &b : bufs) {
		ASSERT_GE(b.count, 0);
		ASSERT_LE(b.count, kCap);
		for (intptr_t k = 0; k < b.count; ++k) {
			const record &r = b.r[k];
			ASSERT_EQ(r.check, ~r.id);
			ASSERT_TRUE(r.id >= 0 && r.id < kRecords);
			EXPECT_EQ(seen[static_cast<size_t>(r.id)]++, 0) << "record " << r.id << " twice";
			visits += r.visits;
			++total;
		}
	}
	EXPECT_EQ(total, n);
	EXPECT_EQ(visits, moves.load());
	expect_aborts(c, "memcpy", kind);
}

TEST_P(Families, MemcpyIfNeToggle)
{
	rseqkit_index kind = GetParam();
	slots s;
	std::vector<long> up(kThreads), down(kThreads), wrong(kThreads);
	counts c = contend(300, [&](int t, counts &mine) {
		static thread_local unsigned n;
		static thread_local unsigned char priv[40];
		unsigned char rec[40];
		intptr_t to = (++n + t) & 1;
		memset(rec, static_cast<int>(n & 0xff), sizeof(rec));
		rseqkit_mo mo = (n & 2) ? RSEQKIT_MO_RELEASE : RSEQKIT_MO_RELAXED;
		if (run(kind, mine, [&](int i) {
			    return rseqkit_percpu_memcpy_store_if_ne(kind, mo, &s[i].v, to, priv, rec, sizeof(rec), to, i);
		    }) == 0) {
			(to ? up : down)[t]++;
			if (memcmp(priv, rec, sizeof(rec)) != 0)
				wrong[t]++;
		}
	});
	long ups = 0, downs = 0, wrongs = 0;
	for (int t = 0; t < kThreads; ++t) {
		ups += up[t];
		downs += down[t];
		wrongs += wrong[t];
	}
	intptr_t sum = 0;
	for (auto &x : s.s)
		sum += x.v;
	EXPECT_EQ(ups - downs, sum);
	EXPECT_EQ(wrongs, 0);
	expect_aborts(c, "memcpy_ne", kind);
}

// deref_add: each slot points at a counter; add through the pointer at an offset.
TEST_P(Families, DerefAdd)
{
	rseqkit_index kind = GetParam();
	struct target {
		intptr_t pad, count;
	};
	slots s;
	std::vector<target> targets(s.s.size());
	for (size_t k = 0; k < s.s.size(); ++k)
		s.s[k].v = reinterpret_cast<intptr_t>(&targets[k]);
	counts c = contend(300, [&](int, counts &mine) {
		run(kind, mine, [&](int i) {
			return rseqkit_percpu_deref_add(kind, &s[i].v, offsetof(target, count), 1, i);
		});
	});
	intptr_t sum = 0;
	for (auto &t : targets) {
		EXPECT_EQ(t.pad, 0);
		sum += t.count;
	}
	EXPECT_EQ(sum, c.commits);
	expect_aborts(c, "deref_add", kind);
}

// ---- The switch to locked mode while sequences run ----
//
// Workers add with the delay loop (so that many sequences are between their mode check
// and their commit at any time) while the process switches to locked mode, either by
// request or because a thread with a foreign area starts using the operations.  The sum
// must stay exact: a sequence that saw the old mode must never commit after a locked
// operation on the same slot started.  Locked mode is one-way, so each run is a child.

template <class F> int in_child(F fn)
{
	fflush(nullptr);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

enum class trigger { request, foreign_thread, request_without_membarrier };

// Makes membarrier(2) fail with ENOSYS in this (single-threaded) child and the threads it
// starts, as on kernels before 5.10: the switch must fence by visiting every CPU.
bool deny_membarrier()
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 &&
	       syscall(__NR_membarrier, 0, 0, 0) == -1 && errno == ENOSYS;
}

// Waits until done() holds, sending SIGUSR1 to the workers every 200 microseconds so
// that sequences abort on any machine (an idle one with many CPUs preempts nobody).
// The limit only turns a hang into a failure: on a loaded machine the switch (and any
// thread) may be late by a long time, so no step of the test may depend on timing.
template <class P> bool wait_for(const std::vector<pthread_t> &workers, P done)
{
	auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	while (!done()) {
		if (std::chrono::steady_clock::now() > limit)
			return false;
		for (auto h : workers)
			pthread_kill(h, SIGUSR1);
		std::this_thread::sleep_for(std::chrono::microseconds(200));
	}
	return true;
}

// What a thread of switch_over() did, published as it goes for the main thread to wait on.
struct alignas(64) progress {
	std::atomic<long> commits{0}, aborts{0};
};

[[noreturn]] void give_up(int code, const char *why)
{
	fprintf(stderr, "switch_over: %s\n", why);
	fflush(nullptr);
	_exit(code);  // threads may be stuck: do not wait for them
}

// Exit status: 0 passed; 1 the sum is wrong; 2 not in locked mode once the switch was
// done (or once the foreign thread's first operation finished), or an operation then
// did not commit at once; 3 the run did not
// start in rseq mode with sequences aborting; 4, 5, 6 no progress for a minute before,
// during, after the switch; 2x the foreign thread failed; 30 no seccomp.
int switch_over(rseqkit_index kind, trigger how)
{
	if (how == trigger::request_without_membarrier && !deny_membarrier())
		return 30;
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, nullptr);
	slots s;
	std::atomic<bool> stop{false};
	constexpr int kWorkers = 3;
	std::vector<progress> prog(kWorkers + 2);  // then the foreign thread's, the main thread's
	// Every first attempt names the neighbour's slot, as a thread that moved since it
	// read its index would: in rseq mode that is RSEQKIT_STALE_INDEX and a retry, in
	// locked mode a locked add on a slot that sequences on another CPU may be updating.
	auto work = [&](progress &p, counts mine) {
		const int n = rseqkit_index_count();
		while (!stop.load(std::memory_order_relaxed)) {
			for (int attempt = 0;; ++attempt) {
				int i = rseqkit_current_index(kind);
				if (attempt == 0 && (i ^ 1) < n)
					i ^= 1;
				if (mine.record(rseqkit_percpu_add(kind, &s[i].v, 1, i)))
					break;
			}
			p.commits.store(mine.commits, std::memory_order_release);
			p.aborts.store(mine.aborts, std::memory_order_relaxed);
		}
		return mine;
	};
	// Run by the switching thread right after the switch: 1 added to every slot, each
	// through the locked path at once (in locked mode an operation commits whatever
	// index it is given).  Workers running on other CPUs are inside their long window
	// now: if one of their sequences that saw the old mode could still commit (no
	// fence), it would overwrite one of these adds and the sum would come out short.
	auto sweep = [&](counts &c) {
		for (int i = 0; i < rseqkit_index_count(); ++i)
			if (!c.record(rseqkit_percpu_add(kind, &s[i].v, 1, i)))
				return false;
		return true;
	};
	auto total = [&](std::atomic<long> progress::*field) {
		long n = 0;
		for (auto &p : prog)
			n += (p.*field).load();
		return n;
	};
	// A long window: the switching thread's first locked add lands inside it.
	rseqkit_test_delay = 20 * kDelay;
	std::vector<std::thread> ts;
	std::vector<pthread_t> handles(kWorkers);
	std::atomic<int> ready{0};
	for (int t = 0; t < kWorkers; ++t)
		ts.emplace_back([&, t] {
			handles[t] = pthread_self();
			ready.fetch_add(1);
			(void)work(prog[t], counts());
		});
	while (ready.load() < kWorkers)
		std::this_thread::yield();
	// Sequences must be running, and aborting, before the switch: otherwise the run
	// proves nothing about sequences in flight.  150 ms at least, as long as it takes.
	auto soak = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
	if (!wait_for(handles, [&] {
		    return std::chrono::steady_clock::now() > soak &&
			   (!rseq_works() || (total(&progress::aborts) > 0 && total(&progress::commits) >= 100));
	    }))
		give_up(4, "no sequence committed or aborted for a minute");
	bool was_locked = rseqkit_percpu_locked(kind);
	long aborts_before = total(&progress::aborts);
	bool locked = false;
	std::thread foreign;
	std::atomic<int> first_done{0};  // 1 + whether the process was locked right after it
	if (how != trigger::foreign_thread) {
		rseqkit_percpu_force_locked();
		counts c;
		locked = sweep(c) && rseqkit_percpu_locked(kind);
		prog[kWorkers + 1].commits = c.commits;
	} else {
		// glibc 2.41+ register their areas with the kernel's feature size (33 on 7.2).
		const uint32_t glibc_length = current_mode() == mode::glibc ? glibc_area_length() : 0;
		foreign = std::thread([&] {
			static __thread struct rseqkit_area mine __attribute__((aligned(32)));
			if (glibc_length && raw_rseq(glibc_area(), glibc_length, 1, RSEQKIT_SIG) != 0)
				_exit(20);
			if (rseq_works() && raw_rseq(&mine, 32, 0, RSEQKIT_SIG) != 0)
				_exit(21);
			// The first operation switches the process: it may only finish in locked mode.
			counts first;
			progress &p = prog[kWorkers];
			run(kind, first, [&](int i) { return rseqkit_percpu_add(kind, &s[i].v, 1, i); });
			bool swept = sweep(first);
			p.commits.store(first.commits);
			first_done = 1 + (swept && rseqkit_percpu_locked(kind));
			counts c = work(p, first);
			if (rseq_works() && rseqkit_thread_owner() != RSEQKIT_OWNER_FOREIGN)
				_exit(22);
			if (c.aborts || c.stale)
				_exit(23);  // this thread only ever took the locks
			if (rseq_works())
				raw_rseq(&mine, 32, 1, RSEQKIT_SIG);
		});
		// However long the switch takes (membarrier(2) may wait for the kernel), the
		// first operation's return is the moment to look.
		if (!wait_for(handles, [&] { return first_done.load() != 0; }))
			give_up(5, "the foreign thread's first operation did not finish in a minute");
		locked = first_done.load() == 2;
	}
	// Locked operations from every worker (and the foreign thread) while sequences that
	// straddled the switch may still try to commit: 150 ms at least, and until each of
	// them did some.
	std::vector<long> at_switch(prog.size());
	for (size_t k = 0; k < prog.size(); ++k)
		at_switch[k] = prog[k].commits.load();
	soak = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
	if (!wait_for(handles, [&] {
		    if (std::chrono::steady_clock::now() < soak)
			    return false;
		    for (size_t k = 0; k < prog.size(); ++k)
			    if ((k < kWorkers || (k == kWorkers && foreign.joinable())) &&
				prog[k].commits.load() < at_switch[k] + 100)
				    return false;
		    return true;
	    }))
		give_up(6, "a thread did not make progress in locked mode for a minute");
	locked = locked && rseqkit_percpu_locked(kind);
	stop = true;
	for (auto &t : ts)
		t.join();
	if (foreign.joinable())
		foreign.join();
	long commits = total(&progress::commits);
	long aborts = total(&progress::aborts);
	intptr_t sum = 0;
	for (auto &x : s.s)
		sum += x.v;
	printf("switch %-7s %s: commits %ld (foreign thread %ld), aborts %ld (%ld before the switch), locked "
	       "before %d after %d\n",
	       how == trigger::request ? "request" : how == trigger::foreign_thread ? "foreign" : "affinity",
	       kind == RSEQKIT_INDEX_CPU_ID ? "cpu_id" : "mm_cid", commits, prog[kWorkers].commits.load(), aborts,
	       aborts_before, was_locked, locked);
	fflush(stdout);
	if (sum != commits) {
		fprintf(stderr, "sum %ld != commits %ld\n", static_cast<long>(sum), commits);
		return 1;
	}
	if (!locked)
		return 2;
	if (rseq_works() && (was_locked || aborts_before == 0))
		return 3;  // the run did not start in rseq mode: it would prove nothing
	return 0;
}

class SwitchOver : public ::testing::TestWithParam<rseqkit_index> {
protected:
	void SetUp() override
	{
		if (rseq_works() && GetParam() == RSEQKIT_INDEX_MM_CID &&
		    !(rseqkit_area_features & RSEQKIT_FEATURE_MM_CID))
			GTEST_SKIP() << "the kernel does not provide mm_cid (Linux 6.3+)";
	}
};

TEST_P(SwitchOver, OnRequest)
{
	for (int round = 0; round < 3; ++round)
		EXPECT_EQ(in_child([&] { return switch_over(GetParam(), trigger::request); }), 0);
}

TEST_P(SwitchOver, OnRequestWithoutMembarrier)
{
	for (int round = 0; round < 3; ++round)
		EXPECT_EQ(in_child([&] { return switch_over(GetParam(), trigger::request_without_membarrier); }), 0);
}

TEST_P(SwitchOver, ForeignThread)
{
	for (int round = 0; round < 3; ++round)
		EXPECT_EQ(in_child([&] { return switch_over(GetParam(), trigger::foreign_thread); }), 0);
}

INSTANTIATE_TEST_SUITE_P(Kinds, SwitchOver, ::testing::Values(RSEQKIT_INDEX_CPU_ID, RSEQKIT_INDEX_MM_CID),
			 [](const ::testing::TestParamInfo<rseqkit_index> &info) {
				 return std::string(info.param == RSEQKIT_INDEX_CPU_ID ? "cpu_id" : "mm_cid");
			 });

INSTANTIATE_TEST_SUITE_P(Kinds, Families, ::testing::Values(RSEQKIT_INDEX_CPU_ID, RSEQKIT_INDEX_MM_CID),
			 [](const ::testing::TestParamInfo<rseqkit_index> &info) {
				 return std::string(info.param == RSEQKIT_INDEX_CPU_ID ? "cpu_id" : "mm_cid");
			 });

}  // namespace
