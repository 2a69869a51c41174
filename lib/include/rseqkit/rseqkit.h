/* SPDX-License-Identifier: MIT */
/*
 * rseqkit: who owns this thread's rseq area, where it is, and fast accessors.
 *
 * Layout and invariants
 * ---------------------
 * The kernel accepts one rseq area per thread.  The owner of that area is one of:
 *
 *   GLIBC    glibc 2.35+ registered it in the thread control block; it lives at
 *            thread pointer + __rseq_offset.  rseqkit uses it and never unregisters it.
 *   RSEQKIT  rseqkit registered its own area, the initial-exec TLS symbol __rseq_abi
 *            (32 bytes, 32-byte aligned, weak, default visibility), or found that same
 *            symbol already registered by a co-owner (EBUSY).  Several copies of rseqkit,
 *            and older libraries that follow the __rseq_abi convention, share it.
 *   FOREIGN  someone registered another area rseqkit cannot find, or __rseq_abi with
 *            another signature.
 *   UNAVAILABLE  the kernel or a sandbox refuses rseq (ENOSYS, EPERM).
 *   NONE     rseqkit has not looked at this thread yet, or dropped its registration.
 *
 * Every thread has a pointer, rseqkit_tls_area, to the area the inline accessors read.
 * Until the thread is attached it points to a read-only area whose cpu_id is
 * RSEQ_CPU_ID_UNINITIALIZED (-1), and so does __rseq_abi before its registration:
 * a negative cpu_id is the one test the fast path makes, and it sends the first call
 * (and every call on a FOREIGN or UNAVAILABLE thread) to the out-of-line path, which
 * attaches or registers lazily and otherwise falls back to sched_getcpu().
 *
 * The header compiles as C11 and C++17 with GCC and Clang.
 */
#ifndef RSEQKIT_RSEQKIT_H
#define RSEQKIT_RSEQKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The signature placed before every abort handler, also passed at registration.
 * It matches glibc, librseq and tcmalloc, which share the area with us. */
#if defined(__x86_64__)
#define RSEQKIT_SIG 0x53053053U
#define RSEQKIT_ARCH_SUPPORTED 1
#elif defined(__aarch64__)
#define RSEQKIT_SIG 0xd428bc00U
#define RSEQKIT_ARCH_SUPPORTED 1
#else
/* No critical sections here; the accessors still work through sched_getcpu(). */
#define RSEQKIT_SIG 0U
#define RSEQKIT_ARCH_SUPPORTED 0
#endif

/* The kernel's struct rseq, with the fields added after Linux 4.18.
 * The kernel writes cpu_id_start, cpu_id, node_id (6.3+), mm_cid (6.3+) and
 * flags bits 4-5 (7.0+); user space writes rseq_cs and slice_request. */
struct rseqkit_area {
	uint32_t cpu_id_start;
	uint32_t cpu_id;          /* (uint32_t)-1 uninitialized, -2 registration failed */
	uint64_t rseq_cs;         /* address of the active struct rseq_cs, or 0 */
	uint32_t flags;
	uint32_t node_id;         /* valid when RSEQKIT_FEATURE_NODE_ID */
	uint32_t mm_cid;          /* valid when RSEQKIT_FEATURE_MM_CID */
	uint8_t slice_request;    /* time-slice extension (7.0+) */
	uint8_t slice_granted;
	uint16_t reserved;
} __attribute__((aligned(32)));

/* Who owns the calling thread's area; see the comment at the top. */
enum rseqkit_owner {
	RSEQKIT_OWNER_NONE = 0,
	RSEQKIT_OWNER_GLIBC = 1,
	RSEQKIT_OWNER_RSEQKIT = 2,
	RSEQKIT_OWNER_FOREIGN = 3,
	RSEQKIT_OWNER_UNAVAILABLE = 4
};

/* Bits of rseqkit_info.features. */
#define RSEQKIT_FEATURE_NODE_ID (1U << 0)            /* area.node_id is filled in */
#define RSEQKIT_FEATURE_MM_CID (1U << 1)             /* area.mm_cid is filled in */
#define RSEQKIT_FEATURE_SLICE_EXT (1U << 2)          /* time-slice extension available */
#define RSEQKIT_FEATURE_SLICE_EXT_ENABLED (1U << 3)  /* ... and enabled for this thread */

struct rseqkit_info {
	enum rseqkit_owner owner;     /* as rseqkit_thread_owner() */
	int error;                    /* errno of the failed registration (FOREIGN, UNAVAILABLE) */
	struct rseqkit_area *area;    /* the thread's area, or NULL where rseqkit has none */
	uint32_t area_length;         /* length the area was registered with, or 0 */
	uint32_t signature;           /* signature it was registered with, or 0 */
	uint32_t feature_size;        /* kernel's AT_RSEQ_FEATURE_SIZE (20 before Linux 6.3) */
	uint32_t feature_align;       /* kernel's AT_RSEQ_ALIGN (32 before Linux 6.3) */
	uint32_t glibc_rseq_size;     /* glibc's __rseq_size as seen (0: glibc did not register) */
	uint32_t features;            /* RSEQKIT_FEATURE_* */
	ptrdiff_t glibc_rseq_offset;  /* glibc's __rseq_offset, or 0 without it */
	int glibc_has_rseq;           /* glibc publishes __rseq_offset and __rseq_size */
	uint32_t reserved[7];         /* zero; room to grow without breaking the ABI */
};

/* Make sure the calling thread has a usable area.  0 on success (also when glibc or a
 * co-owner already registered it); -1 with errno: EBUSY (FOREIGN), ENOSYS or EPERM
 * (UNAVAILABLE).  Async-signal-safe. */
int rseqkit_register_current_thread(void);

/* Drop what rseqkit registered on this thread (never glibc's or a co-owner's
 * registration).  0 on success, -1 with errno when the kernel refuses. */
int rseqkit_unregister_current_thread(void);

/* Owner of the calling thread's area; does not register.  Async-signal-safe. */
enum rseqkit_owner rseqkit_thread_owner(void);

/* "none", "glibc", "rseqkit", "foreign", "unavailable", or "invalid". */
const char *rseqkit_owner_name(enum rseqkit_owner owner);

/* Fill *info for the calling thread; does not register.  0, or -1 with EINVAL. */
int rseqkit_get_info(struct rseqkit_info *info);

/* Time-slice extension (Linux 7.0+ built with CONFIG_RSEQ_SLICE_EXTENSION, and only for
 * an area registered with at least the kernel's feature size): a thread asks the
 * scheduler not to preempt it during a short lock-holding region.  Where the kernel
 * does not offer it, rseqkit_slice_enable() fails with EOPNOTSUPP (or the
 * registration's error) and the other calls are cheap no-ops that return 0.
 * See rseqkit_slice_enable(3). */

/* What rseqkit_slice_release() found. */
enum rseqkit_slice_outcome {
	RSEQKIT_SLICE_NONE = 0,     /* no request of this thread was pending: nothing done */
	RSEQKIT_SLICE_UNUSED = 1,   /* the request was still pending: no extension was needed */
	RSEQKIT_SLICE_YIELDED = 2,  /* an extension was granted: the CPU was given back */
	RSEQKIT_SLICE_REVOKED = 3   /* an extension was granted and ended before the release */
};

/* Enable the extension for the calling thread (registers it first).  0, or -1 with
 * errno: EOPNOTSUPP (the kernel offers no extension for this thread's area), or the
 * error of rseqkit_register_current_thread(). */
int rseqkit_slice_enable(void);

/* Before the region: 1 when a request is now pending, 0 when the extension is not
 * enabled for this thread (nothing done).  Requests nest.  Async-signal-safe. */
int rseqkit_slice_request(void);

/* 1 while the kernel grants the calling thread an extension, 0 otherwise. */
int rseqkit_slice_granted(void);

/* After the region: withdraws the outermost request and gives the CPU back with
 * rseq_slice_yield(2) when an extension was granted.  An enum rseqkit_slice_outcome,
 * or -1 with errno when that system call fails.  Async-signal-safe. */
int rseqkit_slice_release(void);

/* Out-of-line accessors.  The inline functions below call them when the area is not
 * usable; they are complete on their own (for dlsym and foreign-function users). */
int rseqkit_current_cpu_slow(void);
int rseqkit_current_mm_cid_slow(void);
int rseqkit_current_node_slow(void);

/* Not API: what the inline accessors and the sequences read.  Named in rseqkit(7).
 * rseqkit_area_offset is process-wide: the thread pointer plus it is glibc's area when
 * glibc registered (__rseq_offset), otherwise __rseq_abi.  The library sets it in its
 * constructor; declared const here so that compilers keep it in a register. */
extern __thread struct rseqkit_area *rseqkit_tls_area __attribute__((tls_model("initial-exec")));
#ifdef RSEQKIT_BUILDING_LIBRARY
extern ptrdiff_t rseqkit_area_offset;
extern uint32_t rseqkit_area_features;
#else
extern const ptrdiff_t rseqkit_area_offset;
extern const uint32_t rseqkit_area_features;
#endif

#if defined(__GNUC__)
#define RSEQKIT_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define RSEQKIT_LIKELY(x) (x)
#endif
#define RSEQKIT_READ_ONCE_U32(p) (*(const volatile uint32_t *)(p))

/* The area the calling thread's sequences use (never NULL). */
static inline struct rseqkit_area *rseqkit_thread_area(void)
{
	return rseqkit_tls_area;
}

/* One 32-bit field of the area at the process-wide offset: a single load relative to
 * the thread pointer.  A thread whose area is elsewhere (it registered its own while
 * glibc owns the others') reads a negative cpu_id there and takes the slow path. */
static inline uint32_t rseqkit__area_field(ptrdiff_t field)
{
#if defined(__x86_64__)
	uint32_t v;
	__asm__ __volatile__("movl %%fs:(%1), %0" : "=r"(v) : "r"(rseqkit_area_offset + field));
	return v;
#elif defined(__aarch64__)
	return RSEQKIT_READ_ONCE_U32((const char *)__builtin_thread_pointer() + rseqkit_area_offset + field);
#else
	(void)field;
	return UINT32_MAX;  /* no rseq here: always the slow path */
#endif
}

/* Current CPU number, always valid: one load from the area when it is registered,
 * sched_getcpu() otherwise.  Registers lazily.  Async-signal-safe. */
static inline int rseqkit_current_cpu(void)
{
	int32_t cpu = (int32_t)rseqkit__area_field(offsetof(struct rseqkit_area, cpu_id));

	if (RSEQKIT_LIKELY(cpu >= 0))
		return cpu;
	return rseqkit_current_cpu_slow();
}

/* Concurrency ID of the thread in its process (dense, below the thread count),
 * or -1 where the kernel or the thread's owner does not provide one. */
static inline int rseqkit_current_mm_cid(void)
{
	if (RSEQKIT_LIKELY((rseqkit_area_features & RSEQKIT_FEATURE_MM_CID) &&
			   (int32_t)rseqkit__area_field(offsetof(struct rseqkit_area, cpu_id)) >= 0))
		return (int)rseqkit__area_field(offsetof(struct rseqkit_area, mm_cid));
	return rseqkit_current_mm_cid_slow();
}

/* NUMA node of the current CPU: the area's node_id where the kernel fills it in,
 * getcpu(2) otherwise; -1 only if both fail. */
static inline int rseqkit_current_node(void)
{
	if (RSEQKIT_LIKELY((rseqkit_area_features & RSEQKIT_FEATURE_NODE_ID) &&
			   (int32_t)rseqkit__area_field(offsetof(struct rseqkit_area, cpu_id)) >= 0))
		return (int)rseqkit__area_field(offsetof(struct rseqkit_area, node_id));
	return rseqkit_current_node_slow();
}

#ifdef __cplusplus
}
#endif

#endif /* RSEQKIT_RSEQKIT_H */
