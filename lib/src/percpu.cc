// SPDX-License-Identifier: MIT
// Out-of-line half of <rseqkit/percpu.h> and <rseqkit/index.h>: the index count, the
// process-wide locked mode and its switch, the locks, and the locked operations.
//
// Same rules as area.cc: no malloc and no libstdc++ at run time, no exceptions.
//
// Why a process-wide switch: a sequence only excludes writers on the same CPU (or
// mm_cid), so a thread that cannot run sequences must not write a slot that others
// update with sequences, lock or no lock.  The switch makes every thread use the locks,
// and the fence after it makes sure no sequence that saw the old mode still commits.
#include "config.h"

#include <rseqkit/percpu.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ (1 << 7)
#endif
#ifndef MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ (1 << 8)
#endif

extern "C" {
// Both kinds start undecided: the first operation of each kind goes through
// rseqkit_cs_recover(), which decides (so that, e.g., no mm_cid sequence ever runs on a
// kernel that does not fill mm_cid in, where every area would read mm_cid 0).
__attribute__((visibility("default"))) uint32_t rseqkit_cs_mode[2] = {RSEQKIT_CS_MODE_UNDECIDED,
								    RSEQKIT_CS_MODE_UNDECIDED};
__attribute__((visibility("default"))) uint32_t rseqkit_index_limit;
}

namespace {

// Enough locks that distinct CPUs of usual machines never share one; 16 KiB.
constexpr unsigned kLocks = 256;

struct alignas(64) padded_lock {
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
};
padded_lock locks[kLocks];

pthread_mutex_t &lock_of(int index)
{
	return locks[static_cast<unsigned>(index) % kLocks].m;
}

struct lock_guard {
	int index;
	explicit lock_guard(int i) : index(i) { pthread_mutex_lock(&lock_of(index)); }
	~lock_guard() { pthread_mutex_unlock(&lock_of(index)); }
	lock_guard(const lock_guard &) = delete;
	lock_guard &operator=(const lock_guard &) = delete;
};

// Highest number in a CPU list such as "0-3,8-11\n", or -1.
long highest_in_list(const char *s)
{
	long best = -1, cur = -1;
	for (; *s; ++s) {
		if (*s >= '0' && *s <= '9') {
			cur = (cur < 0 ? 0 : cur * 10) + (*s - '0');
			if (cur > (1L << 20))
				return -1;
		} else {
			if (cur > best)
				best = cur;
			cur = -1;
		}
	}
	return cur > best ? cur : best;
}

uint32_t compute_index_limit()
{
	char buf[256];
	long highest = -1;
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			highest = highest_in_list(buf);
		}
	}
	long count = highest >= 0 ? highest + 1 : sysconf(_SC_NPROCESSORS_CONF);
	// A CPU beyond the count (no sysfs, odd numbering) sends its threads to locked
	// mode (see thread_can_run), so a low guess stays correct.
	if (count < 1)
		count = 1;
	return static_cast<uint32_t>(count);
}

uint32_t index_limit()
{
	uint32_t limit = __atomic_load_n(&rseqkit_index_limit, __ATOMIC_RELAXED);
	if (limit == 0) {
		limit = compute_index_limit();  // racing callers store the same value
		__atomic_store_n(&rseqkit_index_limit, limit, __ATOMIC_RELAXED);
	}
	return limit;
}

int fallback_index(uint32_t limit)
{
	int cpu = sched_getcpu();
	return static_cast<int>(static_cast<unsigned>(cpu >= 0 ? cpu : 0) % limit);
}

// Whether the calling thread can run sequences of this kind (registers it if needed).
bool thread_can_run(enum rseqkit_index mode)
{
	if (!RSEQKIT_ARCH_SUPPORTED)
		return false;
	uint32_t limit = index_limit();
	const struct rseqkit_area *area = rseqkit_tls_area;
	if (static_cast<int32_t>(__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED)) < 0) {
		if (rseqkit_register_current_thread() != 0)
			return false;  // FOREIGN, UNAVAILABLE, or past the thread's exit hook
		area = rseqkit_tls_area;
	}
	uint32_t cpu = __atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED);
	if (static_cast<int32_t>(cpu) < 0 || cpu >= limit)
		return false;
	if (mode == RSEQKIT_INDEX_MM_CID) {
		if (!(__atomic_load_n(&rseqkit_area_features, __ATOMIC_RELAXED) & RSEQKIT_FEATURE_MM_CID))
			return false;
		if (__atomic_load_n(&area->mm_cid, __ATOMIC_RELAXED) >= limit)
			return false;
	}
	return true;
}

struct signal_block {
	sigset_t old;
	signal_block()
	{
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
	}
	~signal_block() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
	signal_block(const signal_block &) = delete;
	signal_block &operator=(const signal_block &) = delete;
};

// Fallback fence for kernels without MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ (before 5.10,
// or membarrier filtered): run on every CPU in turn.  Running on CPU c means whatever ran
// there was switched out since, and a sequence switched out is aborted when it resumes.
// Returns false when some CPU could not be visited (cpuset limits): then a sequence on
// that CPU may still commit once; nothing better is possible without the kernel's help.
bool fence_by_affinity()
{
	cpu_set_t old;
	if (sched_getaffinity(0, sizeof(old), &old) != 0)
		return false;
	bool all = true;
	uint32_t limit = index_limit();
	for (uint32_t cpu = 0; cpu < limit && cpu < CPU_SETSIZE; ++cpu) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		// EINVAL also means offline: no thread runs there, nothing to wait for.
		if (sched_setaffinity(0, sizeof(one), &one) != 0 && errno != EINVAL)
			all = false;
	}
	(void)sched_setaffinity(0, sizeof(old), &old);
	return all;
}

// Makes sure no sequence that read RSEQKIT_CS_MODE_RSEQ can still commit.
void fence()
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0 &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0)
		return;
	if (fence_by_affinity())
		return;
	// Last resort (documented in rseqkit_cs(3) BUGS): a sequence lasts nanoseconds;
	// one that read the old mode and was not preempted since has long committed.
	struct timespec ts = {0, 10 * 1000 * 1000};
	nanosleep(&ts, nullptr);
}

void wait_locked(enum rseqkit_index mode)
{
	while (__atomic_load_n(&rseqkit_cs_mode[mode], __ATOMIC_ACQUIRE) != RSEQKIT_CS_MODE_LOCKED)
		sched_yield();
}

void switch_to_locked(enum rseqkit_index mode)
{
	// With signals blocked a handler on this thread cannot wait for our own switch.
	signal_block blocked;
	for (;;) {
		uint32_t m = __atomic_load_n(&rseqkit_cs_mode[mode], __ATOMIC_ACQUIRE);
		if (m == RSEQKIT_CS_MODE_LOCKED)
			return;
		if (m == RSEQKIT_CS_MODE_SWITCHING) {
			wait_locked(mode);
			return;
		}
		if (m == RSEQKIT_CS_MODE_UNDECIDED) {
			// No sequence of this kind ever passed its mode check: no fence needed.
			if (__atomic_compare_exchange_n(&rseqkit_cs_mode[mode], &m, RSEQKIT_CS_MODE_LOCKED, false,
							__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				return;
			continue;
		}
		if (__atomic_compare_exchange_n(&rseqkit_cs_mode[mode], &m, RSEQKIT_CS_MODE_SWITCHING, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			fence();
			__atomic_store_n(&rseqkit_cs_mode[mode], RSEQKIT_CS_MODE_LOCKED, __ATOMIC_RELEASE);
			return;
		}
	}
}

void reset_locks_in_child()
{
	// Another thread may have held a lock at fork(); only this thread exists now.
	for (auto &l : locks)
		pthread_mutex_init(&l.m, nullptr);
	for (auto &m : rseqkit_cs_mode)
		if (__atomic_load_n(&m, __ATOMIC_RELAXED) == RSEQKIT_CS_MODE_SWITCHING)
			__atomic_store_n(&m, RSEQKIT_CS_MODE_LOCKED, __ATOMIC_RELAXED);
}

__attribute__((constructor)) void percpu_constructor()
{
	(void)index_limit();
	// Without sequences on this architecture the operations always take the locks:
	// say so from the start.
	if (!RSEQKIT_ARCH_SUPPORTED)
		for (auto &m : rseqkit_cs_mode)
			__atomic_store_n(&m, RSEQKIT_CS_MODE_LOCKED, __ATOMIC_RELAXED);
	pthread_atfork(nullptr, nullptr, reset_locks_in_child);
}

inline intptr_t load(const intptr_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

inline void commit(intptr_t *p, intptr_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

}  // namespace

extern "C" {

#define RSEQKIT_API __attribute__((visibility("default")))

RSEQKIT_API int rseqkit_index_count(void)
{
	return static_cast<int>(index_limit());
}

RSEQKIT_API int rseqkit_current_index_slow(enum rseqkit_index mode)
{
	uint32_t limit = index_limit();
	if (mode == RSEQKIT_INDEX_MM_CID) {
		int cid = rseqkit_current_mm_cid();
		if (cid >= 0 && static_cast<uint32_t>(cid) < limit)
			return cid;
		return fallback_index(limit);
	}
	int cpu = rseqkit_current_cpu();
	return static_cast<int>(static_cast<unsigned>(cpu) % limit);
}

RSEQKIT_API int rseqkit_cs_recover(enum rseqkit_index mode)
{
	if (mode != RSEQKIT_INDEX_CPU_ID && mode != RSEQKIT_INDEX_MM_CID)
		mode = RSEQKIT_INDEX_CPU_ID;
	for (;;) {
		uint32_t m = __atomic_load_n(&rseqkit_cs_mode[mode], __ATOMIC_ACQUIRE);
		if (m == RSEQKIT_CS_MODE_LOCKED)
			return 1;
		if (m == RSEQKIT_CS_MODE_SWITCHING) {
			wait_locked(mode);
			return 1;
		}
		if (!thread_can_run(mode)) {
			switch_to_locked(mode);
			return 1;
		}
		if (m == RSEQKIT_CS_MODE_RSEQ)
			return 0;  // the index was stale (or the thread just registered)
		__atomic_compare_exchange_n(&rseqkit_cs_mode[mode], &m, RSEQKIT_CS_MODE_RSEQ, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		// Look again: another thread may have switched to locked mode meanwhile.
	}
}

RSEQKIT_API void rseqkit_percpu_force_locked(void)
{
	switch_to_locked(RSEQKIT_INDEX_CPU_ID);
	switch_to_locked(RSEQKIT_INDEX_MM_CID);
}

RSEQKIT_API int rseqkit_percpu_locked(enum rseqkit_index mode)
{
	if (mode != RSEQKIT_INDEX_CPU_ID && mode != RSEQKIT_INDEX_MM_CID)
		return 0;
	return __atomic_load_n(&rseqkit_cs_mode[mode], __ATOMIC_ACQUIRE) == RSEQKIT_CS_MODE_LOCKED;
}

RSEQKIT_API void rseqkit_percpu_lock(int index)
{
	pthread_mutex_lock(&lock_of(index));
}

RSEQKIT_API void rseqkit_percpu_unlock(int index)
{
	pthread_mutex_unlock(&lock_of(index));
}

RSEQKIT_API int rseqkit_percpu_add_locked(intptr_t *v, intptr_t count, int index)
{
	lock_guard g(index);
	commit(v, load(v) + count);
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_store_if_eq_locked(intptr_t *v, intptr_t expect, intptr_t newv, int index)
{
	lock_guard g(index);
	if (load(v) != expect)
		return RSEQKIT_COMPARE_FAILED;
	commit(v, newv);
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_store_if_ne_locked(intptr_t *v, intptr_t expectnot, intptr_t newv, int index)
{
	lock_guard g(index);
	if (load(v) == expectnot)
		return RSEQKIT_COMPARE_FAILED;
	commit(v, newv);
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_pop_if_ne_locked(intptr_t *v, intptr_t expectnot, long voffp, intptr_t *load_out,
						int index)
{
	lock_guard g(index);
	intptr_t head = load(v);
	if (head == expectnot)
		return RSEQKIT_COMPARE_FAILED;
	*load_out = head;
	commit(v, load(reinterpret_cast<intptr_t *>(head + voffp)));
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_store_store_if_eq_locked(intptr_t *v, intptr_t expect, intptr_t *v2,
							intptr_t newv2, intptr_t newv, int index)
{
	lock_guard g(index);
	if (load(v) != expect)
		return RSEQKIT_COMPARE_FAILED;
	__atomic_store_n(v2, newv2, __ATOMIC_RELAXED);
	commit(v, newv);
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_store_store_if_ne_locked(intptr_t *v, intptr_t expectnot, intptr_t *v2,
							intptr_t newv2, intptr_t newv, int index)
{
	lock_guard g(index);
	if (load(v) == expectnot)
		return RSEQKIT_COMPARE_FAILED;
	__atomic_store_n(v2, newv2, __ATOMIC_RELAXED);
	commit(v, newv);
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_memcpy_store_if_eq_locked(intptr_t *v, intptr_t expect, void *dst,
							 const void *src, size_t len, intptr_t newv, int index)
{
	lock_guard g(index);
	if (load(v) != expect)
		return RSEQKIT_COMPARE_FAILED;
	memcpy(dst, src, len);
	commit(v, newv);
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_memcpy_store_if_ne_locked(intptr_t *v, intptr_t expectnot, void *dst,
							 const void *src, size_t len, intptr_t newv, int index)
{
	lock_guard g(index);
	if (load(v) == expectnot)
		return RSEQKIT_COMPARE_FAILED;
	memcpy(dst, src, len);
	commit(v, newv);
	return RSEQKIT_COMMITTED;
}

RSEQKIT_API int rseqkit_percpu_deref_add_locked(intptr_t *ptr, long off, intptr_t inc, int index)
{
	lock_guard g(index);
	intptr_t *target = reinterpret_cast<intptr_t *>(load(ptr) + off);
	commit(target, load(target) + inc);
	return RSEQKIT_COMMITTED;
}

}  // extern "C"
