// SPDX-License-Identifier: MIT
/*
 * The eBPF abort counter behind rseq-top(8).
 *
 * Counts the kernel's rseq:rseq_ip_fixup tracepoint (one hit per abort, fired in
 * the aborting thread on its way back to user space) per (tgid, start_ip), and per
 * thread when asked, in a per-CPU hash so that no abort is lost to contention.
 * Every program comes twice, as tp_btf (BTF-typed arguments, cheapest) and as
 * raw_tp (for kernels that refuse tp_btf); rseq-top keeps one family with
 * bpf_program__set_autoload() before load.  Options are read-only data set before
 * load, so the verifier drops the code of the features that are off.
 *
 * With causes on, sched_switch (switched out while running), sched_migrate_task and
 * signal_deliver stamp the thread's last event of each kind; an abort is charged to
 * the newest event newer than the thread's previous abort.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "rseq_aborts.h"

/* Set by rseq-top before load. */
const volatile bool filter_tgid = false;   /* count only tgids in the tracked map */
const volatile bool follow_forks = false;  /* children of tracked tgids become tracked */
const volatile bool filter_cgroup = false; /* count only tasks under cgroups[0] */
const volatile bool per_thread = false;    /* key by thread as well */
const volatile bool with_causes = false;   /* attribute aborts to events */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rseq_top_key);
	__type(value, struct rseq_top_count);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct rseq_top_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroups SEC(".maps");

/* LRU: threads that exit without our seeing it must not fill the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct rseq_top_task);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RSEQ_TOP_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Kernels up to 6.18 keep a pointer to the area in task_struct; 6.19 wraps it. */
struct rseq_data___v619 {
	struct rseq *usrptr;
} __attribute__((preserve_access_index));
struct task_struct___v618 {
	struct rseq *rseq;
} __attribute__((preserve_access_index));
struct task_struct___v619 {
	struct rseq_data___v619 rseq;
} __attribute__((preserve_access_index));
/* Before 5.14 the state field was called state. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline void stat_add(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	/* Tracepoints run with preemption off: a plain per-CPU add cannot race. */
	if (v)
		*v += 1;
}

/* Filters that need the task to be current (cgroup); tgid is current's. */
static __always_inline bool wanted_current(__u32 tgid)
{
	if (filter_tgid && !bpf_map_lookup_elem(&tracked, &tgid))
		return false;
	if (filter_cgroup && bpf_current_task_under_cgroup(&cgroups, 0) != 1)
		return false;
	return true;
}

static __always_inline void *task_rseq_area(struct task_struct *t)
{
	if (bpf_core_field_exists(((struct task_struct___v618 *)0)->rseq))
		return BPF_CORE_READ((struct task_struct___v618 *)t, rseq);
	if (bpf_core_field_exists(((struct task_struct___v619 *)0)->rseq))
		return BPF_CORE_READ((struct task_struct___v619 *)t, rseq.usrptr);
	return (void *)1; /* unknown layout: assume registered */
}

/*
 * Could the current thread abort after this event?  Only with a registered area
 * whose rseq_cs is set (user space sets it on entering a sequence; it can be stale,
 * which errs on the side of recording).  This keeps the per-task map small: most
 * threads (kernel threads, programs that never enter a sequence) are skipped.
 */
static __always_inline bool current_may_be_in_sequence(struct task_struct *t)
{
	void *area = task_rseq_area(t);
	__u64 cs = 0;

	if (!area)
		return false;
	if (area == (void *)1)
		return true;
	if (bpf_probe_read_user(&cs, sizeof(cs), area + 8))
		return true; /* not readable now: record rather than miss */
	return cs != 0;
}

static __always_inline void note_event(__u32 tid, int kind)
{
	__u64 now = bpf_ktime_get_ns();
	struct rseq_top_task *t = bpf_map_lookup_elem(&tasks, &tid);

	if (t) {
		t->event_ns[kind] = now;
		return;
	}
	struct rseq_top_task fresh = {};
	fresh.event_ns[kind] = now;
	bpf_map_update_elem(&tasks, &tid, &fresh, BPF_NOEXIST);
}

static __always_inline int charge_cause(__u32 tid)
{
	struct rseq_top_task *t = bpf_map_lookup_elem(&tasks, &tid);
	int cause = RSEQ_TOP_CAUSE_OTHER;
	__u64 newest;

	if (!t)
		return cause;
	newest = t->abort_ns;
	for (int k = 0; k < RSEQ_TOP_CAUSE_OTHER; k++) {
		if (t->event_ns[k] > newest) {
			newest = t->event_ns[k];
			cause = k;
		}
	}
	t->abort_ns = bpf_ktime_get_ns();
	return cause;
}

static __always_inline void send_event(__u32 type, __u32 tgid, __u32 tid, __u32 gen, __u64 start_ip)
{
	struct rseq_top_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		stat_add(RSEQ_TOP_STAT_EVENTS_LOST);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	e->tid = tid;
	e->gen = gen;
	e->start_ip = start_ip;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/*
 * The generation of the current process image: the group leader's start time (PID
 * reuse) mixed with the exec count (exec).  Computed from the task on every abort,
 * so that the hot path needs no map of processes.  0 is never used.
 */
static __always_inline __u32 mix_gen(__u64 start_ns, __u32 exec_id)
{
	__u32 gen = (__u32)(start_ns ^ (start_ns >> 32)) ^ (exec_id * 0x9e3779b1U);

	return gen ? gen : 1;
}

static __always_inline __u32 image_gen_btf(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	/* BTF-typed pointers are read directly: no helper calls. */
	return mix_gen(t->group_leader->start_time, (__u32)t->self_exec_id);
}

static __always_inline __u32 image_gen_raw(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 exec_id = 0;

	/* The low half on little-endian machines, whether the field is 32 or 64 bits. */
	bpf_core_read(&exec_id, sizeof(exec_id), &t->self_exec_id);
	return mix_gen(BPF_CORE_READ(t, group_leader, start_time), exec_id);
}

static __always_inline int on_ip_fixup(__u64 start_ip, __u32 gen)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct rseq_top_key key = {};
	struct rseq_top_count *c;
	int cause = RSEQ_TOP_CAUSE_OTHER;

	if (!wanted_current(tgid))
		return 0;
	if (with_causes)
		cause = charge_cause(tid);
	key.tgid = tgid;
	key.tid = per_thread ? tid : 0;
	key.start_ip = start_ip;
	key.gen = gen;

	c = bpf_map_lookup_elem(&counts, &key);
	if (!c) {
		struct rseq_top_count zero = {};

		if (bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST) == 0) {
			/* First abort of this key: remember the image for its exec and exit. */
			struct rseq_top_proc p = {.gen = gen};

			if (bpf_map_update_elem(&procs, &tgid, &p, BPF_ANY))
				stat_add(RSEQ_TOP_STAT_PROCS_FULL);
			send_event(RSEQ_TOP_EV_NEW_KEY, tgid, tid, gen, start_ip);
		}
		c = bpf_map_lookup_elem(&counts, &key);
		if (!c) {
			stat_add(RSEQ_TOP_STAT_DROPPED);
			return 0;
		}
	}
	c->aborts += 1;
	if (with_causes)
		c->causes[cause & 3] += 1;
	stat_add(RSEQ_TOP_STAT_ABORTS);
	return 0;
}

SEC("tp_btf/rseq_ip_fixup")
int BPF_PROG(ip_fixup_btf, unsigned long regs_ip, unsigned long start_ip)
{
	return on_ip_fixup(start_ip, image_gen_btf());
}

SEC("raw_tp/rseq_ip_fixup")
int BPF_PROG(ip_fixup_raw, unsigned long regs_ip, unsigned long start_ip)
{
	return on_ip_fixup(start_ip, image_gen_raw());
}

/* ---- cause events (loaded with causes on) ---- */

static __always_inline int on_switch(bool preempt, struct task_struct *prev)
{
	__u64 id = bpf_get_current_pid_tgid(); /* prev is current here */
	long state;

	if (!wanted_current(id >> 32))
		return 0;
	if (bpf_core_field_exists(prev->__state))
		state = BPF_CORE_READ(prev, __state);
	else
		state = BPF_CORE_READ((struct task_struct___pre514 *)prev, state);
	/* Switched out while still runnable: preempted (at a tick or by a wakeup). */
	if (!preempt && state != 0)
		return 0;
	if (!current_may_be_in_sequence(prev))
		return 0;
	note_event((__u32)id, RSEQ_TOP_CAUSE_PREEMPT);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev)
{
	return on_switch(preempt, prev);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev)
{
	return on_switch(preempt, prev);
}

static __always_inline int on_migrate(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	/* p is usually not current: the cgroup filter cannot be checked here. */
	if (filter_tgid && !bpf_map_lookup_elem(&tracked, &tgid))
		return 0;
	if (!task_rseq_area(p))
		return 0;
	note_event(BPF_CORE_READ(p, pid), RSEQ_TOP_CAUSE_MIGRATE);
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(migrate_btf, struct task_struct *p)
{
	return on_migrate(p);
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(migrate_raw, struct task_struct *p)
{
	return on_migrate(p);
}

static __always_inline int on_signal(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!wanted_current(id >> 32))
		return 0;
	if (!current_may_be_in_sequence((struct task_struct *)bpf_get_current_task()))
		return 0;
	note_event((__u32)id, RSEQ_TOP_CAUSE_SIGNAL);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_btf)
{
	return on_signal();
}

SEC("raw_tp/signal_deliver")
int BPF_PROG(signal_raw)
{
	return on_signal();
}

/* ---- process lifetime ---- */

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (ptgid == ctgid || !bpf_map_lookup_elem(&tracked, &ptgid))
		return 0;
	bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

/* A new image: later aborts belong to a new generation with new names. */
static __always_inline int on_exec(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct rseq_top_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	__u32 gen;

	if (!p)
		return 0;
	gen = p->gen;
	bpf_map_delete_elem(&procs, &tgid);
	send_event(RSEQ_TOP_EV_EXEC, tgid, (__u32)id, gen, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf)
{
	return on_exec();
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw)
{
	return on_exec();
}

static __always_inline int on_exit(struct task_struct *t)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct rseq_top_proc *p;
	__u32 gen;

	if (with_causes)
		bpf_map_delete_elem(&tasks, &tid);
	/* signal->live drops to 0 before this tracepoint when the last thread exits. */
	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0;
	if (filter_tgid)
		bpf_map_delete_elem(&tracked, &tgid);
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return 0;
	gen = p->gen;
	bpf_map_delete_elem(&procs, &tgid);
	send_event(RSEQ_TOP_EV_EXIT, tgid, tid, gen, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *t)
{
	return on_exit(t);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *t)
{
	return on_exit(t);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
