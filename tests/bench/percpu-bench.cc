// SPDX-License-Identifier: MIT
// Benchmarks of the per-CPU operations against their alternatives (make bench; the
// targets are checked by bench-report on this binary's JSON output):
//   counter: rseqkit per-CPU add, __atomic_fetch_add on one shared counter, an atomic
//            per-CPU slot chosen with sched_getcpu(), and thread-local ++ (the floor),
//            at 1 and 2 threads;
//   cpu:     rseqkit_current_cpu(), sched_getcpu(), the getcpu system call, a TLS load;
//   stack:   percpu_stack push + pop;
//   locked:  the same add and stack in locked mode (the fallback), registered last
//            because the switch to locked mode is for the whole process, for good.
// Every benchmark reports items_per_second (one item per operation); with 2 threads
// over real time, so that it is the aggregate throughput.
#include <benchmark/benchmark.h>

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include <rseqkit/rseqkit.hpp>

namespace {

// ---- counters ----

thread_local long tls_counter;

void BM_counter_tls_increment(benchmark::State &state)
{
	for (auto _ : state) {
		++tls_counter;
		benchmark::ClobberMemory();  // a load, an add and a store per iteration
	}
	state.SetItemsProcessed(state.iterations());
}

rseqkit::percpu_counter<> percpu_counter;

void BM_counter_percpu_add(benchmark::State &state)
{
	for (auto _ : state)
		percpu_counter.add(1);
	state.SetItemsProcessed(state.iterations());
}

alignas(64) long shared_counter;

void BM_counter_shared_atomic(benchmark::State &state)
{
	for (auto _ : state)
		__atomic_fetch_add(&shared_counter, 1, __ATOMIC_SEQ_CST);
	state.SetItemsProcessed(state.iterations());
}

rseqkit::percpu<long> getcpu_slots;

void BM_counter_sched_getcpu_atomic(benchmark::State &state)
{
	const int n = static_cast<int>(getcpu_slots.size());
	for (auto _ : state) {
		int cpu = sched_getcpu();
		__atomic_fetch_add(&getcpu_slots[static_cast<unsigned>(cpu) % static_cast<unsigned>(n)], 1,
				   __ATOMIC_RELAXED);
	}
	state.SetItemsProcessed(state.iterations());
}

// ---- the CPU number ----

// Volatile, as the area's cpu_id is read: GCC hoisted a plain load of it out of the
// loop despite DoNotOptimize's memory clobber (measured: an empty loop).
thread_local volatile int tls_value = 1;

// The CPU-number benchmarks read 8 times per iteration: Google Benchmark's loop costs
// about as much as one read, and the loop the compiler builds around a call that may
// go out of line (rseqkit_current_cpu_slow) has more branches than the one around a
// plain load.  Items count the reads.
#define READ1(expr)                                                            \
	do {                                                                   \
		int v_ = (expr);                                               \
		benchmark::DoNotOptimize(v_);                                  \
	} while (0)
#define READ8(expr)                                                            \
	do {                                                                   \
		READ1(expr); READ1(expr); READ1(expr); READ1(expr);            \
		READ1(expr); READ1(expr); READ1(expr); READ1(expr);            \
	} while (0)

void BM_cpu_tls_load(benchmark::State &state)
{
	for (auto _ : state)
		READ8(tls_value);
	state.SetItemsProcessed(state.iterations() * 8);
}

void BM_cpu_rseqkit_current_cpu(benchmark::State &state)
{
	for (auto _ : state)
		READ8(rseqkit_current_cpu());
	state.SetItemsProcessed(state.iterations() * 8);
}

// For comparison: the CPU number in one load, at a fixed offset from the thread pointer,
// as glibc's area can be read (__rseq_offset); what rseqkit_current_cpu() would cost
// without its per-thread area pointer.  Only where glibc registered the area.
extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

void BM_cpu_glibc_area_load(benchmark::State &state)
{
	if (!&__rseq_size || __rseq_size == 0) {
		state.SkipWithError("glibc did not register an rseq area");
		return;
	}
	const char *cpu_id = static_cast<const char *>(__builtin_thread_pointer()) + __rseq_offset + 4;
	for (auto _ : state)
		READ8(*reinterpret_cast<const volatile int *>(cpu_id));
	state.SetItemsProcessed(state.iterations() * 8);
}

void BM_cpu_sched_getcpu(benchmark::State &state)
{
	for (auto _ : state) {
		int cpu = sched_getcpu();
		benchmark::DoNotOptimize(cpu);
	}
	state.SetItemsProcessed(state.iterations());
}

void BM_cpu_getcpu_syscall(benchmark::State &state)
{
	for (auto _ : state) {
		unsigned cpu = 0;
		syscall(SYS_getcpu, &cpu, nullptr, nullptr);
		benchmark::DoNotOptimize(cpu);
	}
	state.SetItemsProcessed(state.iterations());
}

// ---- stack ----

// A line each: the two threads' nodes would otherwise share one, and every push writes
// the node's link (measured: 2 threads slower in aggregate than 1).
struct alignas(64) node : rseqkit::stack_hook<> {
	long payload = 0;
};

rseqkit::percpu_stack<node> stack;

// Nodes are interchangeable: a thread pushes the one it holds and holds what it pops.
// When it moved to another CPU in between, it may pop nothing (its node went to the
// stack it left): it takes a fresh node from the pool then.
node pool[1 << 14];
std::atomic<size_t> pool_next{0};

node *fresh_node()
{
	size_t i = pool_next.fetch_add(1, std::memory_order_relaxed);
	return i < std::size(pool) ? &pool[i] : nullptr;
}

void stack_push_pop(benchmark::State &state)
{
	node *held = fresh_node();
	for (auto _ : state) {
		stack.push(held);
		held = stack.pop();
		if (!held && !(held = fresh_node())) {
			state.SkipWithError("node pool exhausted");
			break;
		}
	}
	state.SetItemsProcessed(state.iterations());
}

void BM_stack_push_pop(benchmark::State &state)
{
	stack_push_pop(state);
}

// ---- locked mode (the fallback) ----

void BM_locked_counter_add(benchmark::State &state)
{
	if (state.thread_index() == 0)
		rseqkit_percpu_force_locked();
	for (auto _ : state)
		percpu_counter.add(1);
	if (!rseqkit_percpu_locked(RSEQKIT_INDEX_CPU_ID))
		state.SkipWithError("not in locked mode");
	state.SetItemsProcessed(state.iterations());
}

void BM_locked_stack_push_pop(benchmark::State &state)
{
	rseqkit_percpu_force_locked();
	stack_push_pop(state);
}

}  // namespace

// One thread: rates over the thread's CPU time, which other load on the machine does
// not inflate.  Two threads: over real time, so that the rate is the aggregate.
#define ONE_AND_TWO(b) BENCHMARK(b)->Threads(1); BENCHMARK(b)->Threads(2)->UseRealTime()
ONE_AND_TWO(BM_counter_tls_increment);
ONE_AND_TWO(BM_counter_percpu_add);
ONE_AND_TWO(BM_counter_shared_atomic);
ONE_AND_TWO(BM_counter_sched_getcpu_atomic);
BENCHMARK(BM_cpu_tls_load);
BENCHMARK(BM_cpu_rseqkit_current_cpu);
BENCHMARK(BM_cpu_glibc_area_load);
BENCHMARK(BM_cpu_sched_getcpu);
BENCHMARK(BM_cpu_getcpu_syscall);
ONE_AND_TWO(BM_stack_push_pop);
// Last: they switch the process to locked mode.
ONE_AND_TWO(BM_locked_counter_add);
ONE_AND_TWO(BM_locked_stack_push_pop);

BENCHMARK_MAIN();
