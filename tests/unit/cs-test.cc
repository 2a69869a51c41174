// SPDX-License-Identifier: MIT
// The DSL's steps and commits one by one, exact effects, the mismatch exit, the
// compare exits, and a deterministic abort: an instruction injected into the sequence
// traps (SIGILL), the kernel moves the signal's return address to abort_ip, and the
// handler's return lands on the abort label.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <ucontext.h>

#include "mode.h"

extern "C" __attribute__((visibility("hidden"))) volatile unsigned char cs_test_trap_armed;
volatile unsigned char cs_test_trap_armed;

#if defined(__x86_64__)
// Point 1 (right after the checks): trap with ud2 while cs_test_trap_armed is set.
#define RSEQKIT_INJECT_ASM(point) CS_TEST_INJECT_##point
#define CS_TEST_INJECT_1 "cmpb $0, cs_test_trap_armed(%%rip)\n\tje 1f\n\tud2\n1:\n\t"
#define CS_TEST_INJECT_2 ""
#endif

#include <rseqkit/cs.h>

namespace {

using namespace rseqkit_test;

enum outcome { committed, aborted_, mismatched, exited_eq, exited_ne };

// Runs one attempt at the current index, or at `force_index` when >= 0.
outcome steps(intptr_t *v, intptr_t *spec, intptr_t *spec_t, unsigned char *dst, const unsigned char *src,
	      size_t len, int force_index)
{
	int index = force_index >= 0 ? force_index : rseqkit_current_index(RSEQKIT_INDEX_CPU_ID);
	// t0 = *v; t0 += 5; t1 = *(v + 1); *spec = 7; *spec_t = t1; memcpy; *v = t0
	RSEQKIT_CS(cs_test_steps, CPU_ID, index, aborted, mismatch,
		   RSEQKIT_LOAD(t0, v) RSEQKIT_ADD(t0, 5) RSEQKIT_LOAD_AT(t1, t0, 0) RSEQKIT_STORE(spec, 7)
		   RSEQKIT_STORE_T(spec_t, t1) RSEQKIT_MEMCPY(dst, src, len),
		   RSEQKIT_COMMIT_T(RELAXED, v, t0));
	return committed;
aborted:
	return aborted_;
mismatch:
	return mismatched;
}

TEST(Dsl, StepsAndCommitT)
{
	// *v holds an address minus 5: LOAD_AT(t1, t0, 0) after ADD(t0, 5) reads target.
	intptr_t target = 1234;
	intptr_t v = reinterpret_cast<intptr_t>(&target) - 5;
	intptr_t spec = 0, spec_t = 0;
	unsigned char src[19], dst[21];
	for (size_t k = 0; k < sizeof(src); ++k)
		src[k] = static_cast<unsigned char>(3 * k + 1);
	memset(dst, 0xaa, sizeof(dst));
	outcome o;
	while ((o = steps(&v, &spec, &spec_t, dst + 1, src, sizeof(src), -1)) != committed) {
		ASSERT_TRUE(o == aborted_ || o == mismatched);
		if (o == mismatched && rseqkit_cs_recover(RSEQKIT_INDEX_CPU_ID)) {
			ASSERT_FALSE(rseq_works()) << "locked mode where rseq works";
			GTEST_SKIP() << "no sequences in this registration mode";
		}
	}
	EXPECT_EQ(v, reinterpret_cast<intptr_t>(&target));
	EXPECT_EQ(spec, 7);
	EXPECT_EQ(spec_t, 1234);
	EXPECT_EQ(dst[0], 0xaa);
	EXPECT_EQ(memcmp(dst + 1, src, sizeof(src)), 0);
	EXPECT_EQ(dst[20], 0xaa);
}

TEST(Dsl, WrongIndexIsAMismatchAndStoresNothing)
{
	intptr_t target = 0, v = 77, spec = 1, spec_t = 2;
	unsigned char src[4] = {1, 2, 3, 4}, dst[4] = {};
	(void)target;
	// No CPU has this number (the index check fails before any step runs).
	EXPECT_EQ(steps(&v, &spec, &spec_t, dst, src, sizeof(src), 1 << 20), mismatched);
	EXPECT_EQ(v, 77);
	EXPECT_EQ(spec, 1);
	EXPECT_EQ(spec_t, 2);
	EXPECT_EQ(dst[0], 0);
}

outcome commit_at_release(intptr_t *slot, intptr_t off, intptr_t inc)
{
	int index = rseqkit_current_index(RSEQKIT_INDEX_MM_CID);
	// t0 = *slot; t1 = *(t0 + off); t1 += inc; *(t0 + off) = t1 (release)
	RSEQKIT_CS(cs_test_commit_at_release, MM_CID, index, aborted, mismatch,
		   RSEQKIT_LOAD(t0, slot) RSEQKIT_LOAD_AT(t1, t0, off) RSEQKIT_ADD(t1, inc),
		   RSEQKIT_COMMIT_AT(RELEASE, t0, off, t1));
	return committed;
aborted:
	return aborted_;
mismatch:
	return mismatched;
}

TEST(Dsl, CommitAtRelease)
{
	intptr_t arr[3] = {10, 20, 30};
	intptr_t slot = reinterpret_cast<intptr_t>(arr);
	for (int n = 0; n < 5; ++n) {
		outcome o;
		while ((o = commit_at_release(&slot, 2 * sizeof(intptr_t), -3)) != committed)
			if (o == mismatched && rseqkit_cs_recover(RSEQKIT_INDEX_MM_CID)) {
				ASSERT_TRUE(!rseq_works() || !(rseqkit_area_features & RSEQKIT_FEATURE_MM_CID));
				GTEST_SKIP() << "no mm_cid sequences in this registration mode";
			}
	}
	EXPECT_EQ(arr[0], 10);
	EXPECT_EQ(arr[1], 20);
	EXPECT_EQ(arr[2], 15);
}

outcome exits(intptr_t *v, intptr_t not_this, intptr_t only_this, intptr_t newv)
{
	int index = rseqkit_current_index(RSEQKIT_INDEX_CPU_ID);
	// t0 = *v; if (t0 == not_this) goto eq; if (t0 != only_this) goto ne; *v = newv
	RSEQKIT_CS(cs_test_exits, CPU_ID, index, aborted, mismatch,
		   RSEQKIT_LOAD(t0, v) RSEQKIT_EXIT_IF_EQ(t0, not_this, eq) RSEQKIT_EXIT_IF_NE(t0, only_this, ne),
		   RSEQKIT_COMMIT(RELEASE, v, newv));
	return committed;
eq:
	return exited_eq;
ne:
	return exited_ne;
aborted:
	return aborted_;
mismatch:
	return mismatched;
}

outcome until_done(intptr_t *v, intptr_t a, intptr_t b, intptr_t c)
{
	for (;;) {
		outcome o = exits(v, a, b, c);
		if (o == mismatched && rseqkit_cs_recover(RSEQKIT_INDEX_CPU_ID))
			return mismatched;
		if (o != aborted_ && o != mismatched)
			return o;
	}
}

TEST(Dsl, CompareExits)
{
	intptr_t v = 4;
	if (until_done(&v, 4, 4, 9) == mismatched)
		GTEST_SKIP() << "no sequences in this registration mode";
	EXPECT_EQ(v, 4);
	EXPECT_EQ(until_done(&v, 4, 4, 9), exited_eq);
	EXPECT_EQ(until_done(&v, 3, 5, 9), exited_ne);
	EXPECT_EQ(v, 4);
	EXPECT_EQ(until_done(&v, 3, 4, 9), committed);
	EXPECT_EQ(v, 9);
	// Large values and negative ones go through registers, not immediates.
	EXPECT_EQ(until_done(&v, INTPTR_MIN, 9, INTPTR_MAX), committed);
	EXPECT_EQ(v, INTPTR_MAX);
	EXPECT_EQ(until_done(&v, -1, INTPTR_MAX, -1), committed);
	EXPECT_EQ(v, -1);
}

outcome commit_value(intptr_t *v, intptr_t newv)
{
	int index = rseqkit_current_index(RSEQKIT_INDEX_CPU_ID);
	RSEQKIT_CS(cs_test_commit_value, CPU_ID, index, aborted, mismatch, , RSEQKIT_COMMIT(RELAXED, v, newv));
	return committed;
aborted:
	return aborted_;
mismatch:
	return mismatched;
}

TEST(Dsl, SequenceWithoutSteps)
{
	intptr_t v = 0;
	outcome o;
	while ((o = commit_value(&v, 42)) != committed)
		if (o == mismatched && rseqkit_cs_recover(RSEQKIT_INDEX_CPU_ID))
			GTEST_SKIP() << "no sequences in this registration mode";
	EXPECT_EQ(v, 42);
}

#if defined(__x86_64__)
volatile sig_atomic_t traps;
volatile uintptr_t trap_rip;

void on_sigill(int, siginfo_t *, void *ctx)
{
	ucontext_t *uc = static_cast<ucontext_t *>(ctx);
	traps = traps + 1;
	trap_rip = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
	cs_test_trap_armed = 0;
	// Without the kernel's fix-up we would be back on the ud2: step over it.
	const unsigned char *ip = reinterpret_cast<const unsigned char *>(trap_rip);
	if (ip[0] == 0x0f && ip[1] == 0x0b)
		uc->uc_mcontext.gregs[REG_RIP] += 2;
}

outcome trap(intptr_t *v)
{
	int index = rseqkit_current_index(RSEQKIT_INDEX_CPU_ID);
	RSEQKIT_CS(cs_test_trap, CPU_ID, index, aborted, mismatch, RSEQKIT_LOAD(t0, v) RSEQKIT_ADD(t0, 1),
		   RSEQKIT_COMMIT_T(RELAXED, v, t0));
	return committed;
aborted:
	return aborted_;
mismatch:
	return mismatched;
}

TEST(Dsl, SignalInsideTheSequenceLandsOnAbort)
{
	struct sigaction sa = {}, old;
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO;
	ASSERT_EQ(sigaction(SIGILL, &sa, &old), 0);
	intptr_t v = 0;
	// Get the thread registered and the mode decided first.
	while (trap(&v) != committed)
		if (rseqkit_cs_recover(RSEQKIT_INDEX_CPU_ID)) {
			sigaction(SIGILL, &old, nullptr);
			GTEST_SKIP() << "no sequences in this registration mode";
		}
	ASSERT_EQ(v, 1);
	outcome o;
	do {
		traps = 0;
		cs_test_trap_armed = 1;
		o = trap(&v);
		cs_test_trap_armed = 0;
		// A migration between reading the index and the check is a mismatch: again.
	} while (o == mismatched && traps == 0);
	sigaction(SIGILL, &old, nullptr);
	EXPECT_EQ(traps, 1);
	EXPECT_EQ(o, aborted_);
	EXPECT_EQ(v, 1) << "the aborted sequence committed";
	// The handler saw the return address the kernel moved: abort_ip, just after the
	// signature (0f b9 3d + 0x53053053), where the trampoline jumps to the label.
	const unsigned char *ip = reinterpret_cast<const unsigned char *>(trap_rip);
	EXPECT_EQ(memcmp(ip - 7, "\x0f\xb9\x3d\x53\x30\x05\x53", 7), 0);
	EXPECT_EQ(static_cast<uint64_t>(rseqkit_thread_area()->rseq_cs), 0u) << "the kernel clears rseq_cs on abort";
}
#endif

}  // namespace
