// SPDX-License-Identifier: MIT
// Ownership negotiation for the per-thread rseq area (see rseqkit(7)).
//
// Rules this file keeps:
//  - no malloc and no libstdc++ at run time (the library links with the C driver);
//  - every change of a thread's state happens with all signals blocked, so that a
//    signal handler using the accessors sees either the old or the new state;
//  - rseqkit unregisters what it registered before the thread's memory goes away
//    (a pthread key destructor), and the library is never unloaded (-z nodelete), so
//    the kernel never writes into freed TLS.
// This file defines the globals the public header declares const for users.
#ifndef RSEQKIT_BUILDING_LIBRARY
#define RSEQKIT_BUILDING_LIBRARY 1
#endif
#include "config.h"

#include <rseqkit/rseqkit.h>

#include <atomic>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>

#include "internal.h"
#include "slice.h"

using namespace rseqkit::detail;

// glibc 2.35+ publishes its registration.  Weak, so that an older glibc leaves them
// null and static links work too.
extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#endif
#ifndef AT_RSEQ_ALIGN
#define AT_RSEQ_ALIGN 28
#endif

extern "C" {

// rseqkit's own area, shared by name with every co-owner in the process (see rseqkit(7)).
// cpu_id starts at -1 (RSEQ_CPU_ID_UNINITIALIZED) so the fast path sends the first call
// to the registration.
__attribute__((weak, visibility("default"), tls_model("initial-exec")))
__thread struct rseqkit_area __rseq_abi = {0, UINT32_MAX, 0, 0, 0, 0, 0, 0, 0};

// What the inline accessors read until the thread is attached: never registered,
// never written (it is read-only, so a stray write faults instead of corrupting).
static const struct rseqkit_area unattached_area = {0, UINT32_MAX, 0, 0, 0, 0, 0, 0, 0};

__attribute__((visibility("default"), tls_model("initial-exec")))
__thread struct rseqkit_area *rseqkit_tls_area = const_cast<struct rseqkit_area *>(&unattached_area);

__attribute__((visibility("default"))) uint32_t rseqkit_area_features;

// Thread pointer + this = the area the inline accessors read.  0 until init_process():
// the constructor runs before any library or program that links librseqkit can call
// it (priority 101 also orders it first among constructors of a static link).
__attribute__((visibility("default"))) ptrdiff_t rseqkit_area_offset;

}  // extern "C"

namespace {

struct thread_state {
	uint8_t owner;   // enum rseqkit_owner
	uint8_t ours;    // rseqkit made the registration: unregister it at thread exit
	uint8_t exited;  // the exit hook ran: never register again on this thread
	int32_t error;   // errno rseqkit_register_current_thread() reports
};

__attribute__((tls_model("initial-exec"))) __thread thread_state tstate;

struct process_state {
	std::atomic<int> ready{0};        // 0 not yet, 1 computed
	std::atomic<int> key_state{0};    // 0 none, 1 being created, 2 created, 3 failed
	pthread_key_t exit_key{};
	uint32_t feature_size = 0;
	uint32_t feature_align = 0;
	uint32_t glibc_size = 0;
	ptrdiff_t glibc_offset = 0;
	bool glibc_has_rseq = false;
};

process_state proc;

// Idempotent: racing callers compute and store the same values.
void init_process()
{
	if (proc.ready.load(std::memory_order_acquire))
		return;
	unsigned long size = getauxval(AT_RSEQ_FEATURE_SIZE);
	unsigned long align = getauxval(AT_RSEQ_ALIGN);
	// Kernels before 6.3 have no auxv entries: the original 20 bytes, 32-byte aligned.
	proc.feature_size = size ? static_cast<uint32_t>(size) : 20;
	proc.feature_align = align ? static_cast<uint32_t>(align) : 32;
	proc.glibc_has_rseq = &__rseq_offset != nullptr && &__rseq_size != nullptr;
	if (proc.glibc_has_rseq) {
		proc.glibc_size = __rseq_size;
		proc.glibc_offset = __rseq_offset;
	}
	uint32_t features = 0;
	if (RSEQKIT_ARCH_SUPPORTED) {
		if (proc.feature_size >= 24)  // offsetofend(struct rseq, node_id)
			features |= RSEQKIT_FEATURE_NODE_ID;
		if (proc.feature_size >= 28)  // offsetofend(struct rseq, mm_cid)
			features |= RSEQKIT_FEATURE_MM_CID;
	}
	__atomic_store_n(&rseqkit_area_features, features, __ATOMIC_RELAXED);
	if (RSEQKIT_ARCH_SUPPORTED) {
		// Initial-exec TLS sits at one offset from the thread pointer in every thread.
		ptrdiff_t own = reinterpret_cast<char *>(&__rseq_abi) - static_cast<char *>(thread_pointer());
		__atomic_store_n(&rseqkit_area_offset, proc.glibc_size > 0 ? proc.glibc_offset : own,
				 __ATOMIC_RELAXED);
	}
	proc.ready.store(1, std::memory_order_release);
}

void on_thread_exit(void *);

// The exit hook is created by the constructor; this covers calls that come earlier
// (another library's constructor).  Callers have signals blocked, so a handler on the
// same thread cannot spin on an unfinished creation.
bool ensure_exit_key()
{
	for (;;) {
		int st = proc.key_state.load(std::memory_order_acquire);
		if (st == 2)
			return true;
		if (st == 3)
			return false;
		int expected = 0;
		if (st == 0 && proc.key_state.compare_exchange_strong(expected, 1)) {
			bool ok = pthread_key_create(&proc.exit_key, on_thread_exit) == 0;
			proc.key_state.store(ok ? 2 : 3, std::memory_order_release);
			return ok;
		}
		sched_yield();
	}
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

struct rseqkit_area *glibc_area()
{
	return reinterpret_cast<struct rseqkit_area *>(static_cast<char *>(thread_pointer()) +
						       proc.glibc_offset);
}

void set_owner(enum rseqkit_owner owner, struct rseqkit_area *area, bool ours, int error)
{
	// The pointer first: a handler that sees the new owner also sees the new area.
	rseqkit_tls_area = area ? area : const_cast<struct rseqkit_area *>(&unattached_area);
	tstate.ours = ours;
	tstate.error = error;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tstate.owner = static_cast<uint8_t>(owner);
}

// EPERM is either a sandbox (seccomp) or a registration with another signature.  A call
// that every kernel rejects with EINVAL (an unknown flag) tells them apart.
bool kernel_answers()
{
	return sys_rseq(nullptr, 0, 1 << 30, 0) == -EINVAL;
}

// Decides the owner of the calling thread.  Registers rseqkit's own area only when
// may_register; callers that register have all signals blocked.
// The owner recorded for this thread no longer holds a registration: a co-owner
// unregistered the shared area, or someone unregistered glibc's.  The kernel resets
// cpu_id to -1 when it drops a registration.
bool registration_vanished()
{
	uint8_t owner = tstate.owner;
	return (owner == RSEQKIT_OWNER_GLIBC || owner == RSEQKIT_OWNER_RSEQKIT) &&
	       static_cast<int32_t>(__atomic_load_n(&rseqkit_tls_area->cpu_id, __ATOMIC_RELAXED)) < 0;
}

enum rseqkit_owner attach(bool may_register)
{
	if (tstate.owner != RSEQKIT_OWNER_NONE) {
		if (!registration_vanished())
			return static_cast<enum rseqkit_owner>(tstate.owner);
		if (!may_register)  // report it; forgetting the old state needs signals blocked
			return RSEQKIT_OWNER_NONE;
		set_owner(RSEQKIT_OWNER_NONE, nullptr, false, 0);
	}
	if (!RSEQKIT_ARCH_SUPPORTED) {
		set_owner(RSEQKIT_OWNER_UNAVAILABLE, nullptr, false, ENOSYS);
		return RSEQKIT_OWNER_UNAVAILABLE;
	}
	init_process();
	if (proc.glibc_size > 0) {
		struct rseqkit_area *area = glibc_area();
		// The kernel fills cpu_id in before glibc's thread start code returns to user
		// space, so a negative value means this thread's glibc area was unregistered
		// (by hand); then negotiate as on a thread glibc never registered.
		if (static_cast<int32_t>(__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED)) >= 0) {
			set_owner(RSEQKIT_OWNER_GLIBC, area, false, 0);
			return RSEQKIT_OWNER_GLIBC;
		}
	}
	if (!may_register || tstate.exited)
		return RSEQKIT_OWNER_NONE;
	if (!ensure_exit_key()) {
		// Without an exit hook the kernel could write into this thread's freed TLS.
		set_owner(RSEQKIT_OWNER_UNAVAILABLE, nullptr, false, EAGAIN);
		return RSEQKIT_OWNER_UNAVAILABLE;
	}
	// Arm the exit hook first: a registration without one must not happen.  The key is
	// created by the constructor, so it is normally among the first 32 whose values live
	// in the thread descriptor: no allocation (see BUGS in rseqkit(7)).
	if (pthread_setspecific(proc.exit_key, &tstate) != 0) {
		set_owner(RSEQKIT_OWNER_UNAVAILABLE, nullptr, false, EAGAIN);
		return RSEQKIT_OWNER_UNAVAILABLE;
	}
	long r = sys_rseq(&__rseq_abi, kOwnAreaLength, 0, RSEQKIT_SIG);
	switch (r) {
	case 0:
		set_owner(RSEQKIT_OWNER_RSEQKIT, &__rseq_abi, true, 0);
		return RSEQKIT_OWNER_RSEQKIT;
	case -EBUSY:  // the same area, length and signature: a co-owner registered it
		set_owner(RSEQKIT_OWNER_RSEQKIT, &__rseq_abi, false, 0);
		return RSEQKIT_OWNER_RSEQKIT;
	case -EINVAL:  // another area is registered
		set_owner(RSEQKIT_OWNER_FOREIGN, nullptr, false, EBUSY);
		return RSEQKIT_OWNER_FOREIGN;
	case -EPERM:
		if (kernel_answers()) {  // our area with another signature
			set_owner(RSEQKIT_OWNER_FOREIGN, nullptr, false, EBUSY);
			return RSEQKIT_OWNER_FOREIGN;
		}
		set_owner(RSEQKIT_OWNER_UNAVAILABLE, nullptr, false, EPERM);
		return RSEQKIT_OWNER_UNAVAILABLE;
	default:  // ENOSYS (no rseq, emulators, sandboxes) and anything unexpected
		set_owner(RSEQKIT_OWNER_UNAVAILABLE, nullptr, false, static_cast<int>(-r));
		return RSEQKIT_OWNER_UNAVAILABLE;
	}
}

// True when the thread has nothing usable yet and may still get it.
bool needs_negotiation()
{
	return (tstate.owner == RSEQKIT_OWNER_NONE || registration_vanished()) && !tstate.exited;
}

// errno is left as it was: the accessors call this from signal handlers too.
enum rseqkit_owner attach_and_register()
{
	if (tstate.owner != RSEQKIT_OWNER_NONE && !registration_vanished())
		return static_cast<enum rseqkit_owner>(tstate.owner);
	int saved_errno = errno;
	enum rseqkit_owner owner;
	{
		signal_block blocked;
		owner = attach(true);
	}
	errno = saved_errno;
	return owner;
}

void on_thread_exit(void *)
{
	int saved_errno = errno;
	signal_block blocked;
	if (tstate.owner == RSEQKIT_OWNER_RSEQKIT && tstate.ours)
		(void)sys_rseq(&__rseq_abi, kOwnAreaLength, kFlagUnregister, RSEQKIT_SIG);
	set_owner(RSEQKIT_OWNER_NONE, nullptr, false, 0);
	tstate.exited = 1;
	errno = saved_errno;
}

int fallback_cpu()
{
	int cpu = sched_getcpu();
	// sched_getcpu() fails only without vDSO and getcpu(2); CPU 0 is still a valid
	// index for per-CPU data.
	return cpu >= 0 ? cpu : 0;
}

__attribute__((constructor(101))) void rseqkit_constructor()
{
	init_process();
	signal_block blocked;
	(void)ensure_exit_key();
}

}  // namespace

extern "C" {

#define RSEQKIT_API __attribute__((visibility("default")))

RSEQKIT_API int rseqkit_register_current_thread(void)
{
	enum rseqkit_owner owner = attach_and_register();
	switch (owner) {
	case RSEQKIT_OWNER_GLIBC:
	case RSEQKIT_OWNER_RSEQKIT:
		return 0;
	case RSEQKIT_OWNER_NONE:  // only after the thread's exit hook ran
		errno = ESRCH;
		return -1;
	default:
		errno = tstate.error;
		return -1;
	}
}

RSEQKIT_API int rseqkit_unregister_current_thread(void)
{
	signal_block blocked;
	switch (tstate.owner) {
	case RSEQKIT_OWNER_NONE:
	case RSEQKIT_OWNER_GLIBC:  // glibc's registration is not ours to drop
		return 0;
	case RSEQKIT_OWNER_RSEQKIT:
		if (tstate.ours) {
			long r = sys_rseq(&__rseq_abi, kOwnAreaLength, kFlagUnregister, RSEQKIT_SIG);
			if (r != 0) {
				errno = static_cast<int>(-r);
				return -1;
			}
		}
		break;
	default:
		break;
	}
	// Forget the outcome too: the next use negotiates again.
	set_owner(RSEQKIT_OWNER_NONE, nullptr, false, 0);
	return 0;
}

RSEQKIT_API enum rseqkit_owner rseqkit_thread_owner(void)
{
	// Attaching to glibc's area needs no registration and is idempotent: no signal mask.
	return attach(false);
}

RSEQKIT_API const char *rseqkit_owner_name(enum rseqkit_owner owner)
{
	switch (owner) {
	case RSEQKIT_OWNER_NONE: return "none";
	case RSEQKIT_OWNER_GLIBC: return "glibc";
	case RSEQKIT_OWNER_RSEQKIT: return "rseqkit";
	case RSEQKIT_OWNER_FOREIGN: return "foreign";
	case RSEQKIT_OWNER_UNAVAILABLE: return "unavailable";
	}
	return "invalid";
}

RSEQKIT_API int rseqkit_get_info(struct rseqkit_info *info)
{
	if (!info) {
		errno = EINVAL;
		return -1;
	}
	memset(info, 0, sizeof(*info));
	init_process();
	enum rseqkit_owner owner = attach(false);
	info->owner = owner;
	info->error = tstate.error;
	info->feature_size = proc.feature_size;
	info->feature_align = proc.feature_align;
	info->glibc_has_rseq = proc.glibc_has_rseq;
	info->glibc_rseq_size = proc.glibc_size;
	info->glibc_rseq_offset = proc.glibc_offset;
	info->features = __atomic_load_n(&rseqkit_area_features, __ATOMIC_RELAXED);
	if (owner == RSEQKIT_OWNER_GLIBC || owner == RSEQKIT_OWNER_RSEQKIT) {
		info->area = rseqkit_tls_area;
		info->signature = RSEQKIT_SIG;  // glibc registers with the same RSEQ_SIG
		if (owner == RSEQKIT_OWNER_RSEQKIT)
			info->area_length = kOwnAreaLength;
		else  // 20 and 32 both mean the original 32-byte area; 2.41+ publishes more
			info->area_length = proc.glibc_size > 32 ? proc.glibc_size : 32;
		uint32_t flags = __atomic_load_n(&info->area->flags, __ATOMIC_RELAXED);
		if (flags & kFlagSliceExtAvailable)
			info->features |= RSEQKIT_FEATURE_SLICE_EXT;
		if (flags & kFlagSliceExtEnabled)
			info->features |= RSEQKIT_FEATURE_SLICE_EXT_ENABLED;
	}
	return 0;
}

RSEQKIT_API int rseqkit_current_cpu_slow(void)
{
	int32_t cpu = static_cast<int32_t>(__atomic_load_n(&rseqkit_tls_area->cpu_id, __ATOMIC_RELAXED));
	if (cpu >= 0)
		return cpu;
	if (needs_negotiation()) {
		attach_and_register();
		cpu = static_cast<int32_t>(__atomic_load_n(&rseqkit_tls_area->cpu_id, __ATOMIC_RELAXED));
		if (cpu >= 0)
			return cpu;
	}
	return fallback_cpu();
}

RSEQKIT_API int rseqkit_current_mm_cid_slow(void)
{
	init_process();
	if (!(__atomic_load_n(&rseqkit_area_features, __ATOMIC_RELAXED) & RSEQKIT_FEATURE_MM_CID))
		return -1;
	if (needs_negotiation())
		attach_and_register();
	const struct rseqkit_area *area = rseqkit_tls_area;
	if (static_cast<int32_t>(__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED)) < 0)
		return -1;
	return static_cast<int>(__atomic_load_n(&area->mm_cid, __ATOMIC_RELAXED));
}

RSEQKIT_API int rseqkit_current_node_slow(void)
{
	init_process();
	if (__atomic_load_n(&rseqkit_area_features, __ATOMIC_RELAXED) & RSEQKIT_FEATURE_NODE_ID) {
		if (needs_negotiation())
			attach_and_register();
		const struct rseqkit_area *area = rseqkit_tls_area;
		if (static_cast<int32_t>(__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED)) >= 0)
			return static_cast<int>(__atomic_load_n(&area->node_id, __ATOMIC_RELAXED));
	}
	unsigned int cpu, node;
	if (getcpu(&cpu, &node) == 0)
		return static_cast<int>(node);
	return -1;
}

}  // extern "C"
