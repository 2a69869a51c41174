/* SPDX-License-Identifier: MIT */
/*
 * Shared between the eBPF abort counter (rseq_aborts.bpf.c, rseq_notify.bpf.c) and
 * rseq-top: map keys, values and ring-buffer events.  Plain fixed-size types only,
 * laid out the same on both sides.  The includer provides __u32/__u64 (vmlinux.h in
 * BPF code, <linux/types.h> in user space).
 */
#ifndef RSEQKIT_BPF_RSEQ_ABORTS_H
#define RSEQKIT_BPF_RSEQ_ABORTS_H

/* Why an abort happened: the most recent traced event of the aborting thread since
 * its previous abort.  OTHER: none was seen (causes off, a blocking switch, or an
 * event the counter does not trace). */
enum rseq_top_cause {
	RSEQ_TOP_CAUSE_PREEMPT = 0,
	RSEQ_TOP_CAUSE_MIGRATE = 1,
	RSEQ_TOP_CAUSE_SIGNAL = 2,
	RSEQ_TOP_CAUSE_OTHER = 3,
	RSEQ_TOP_NR_CAUSES = 4,
};

/* One counted sequence.  gen tells apart two lifetimes of one tgid (PID reuse) and
 * the images of one process before and after exec; tid is 0 unless per-thread
 * counting was asked for. */
struct rseq_top_key {
	__u32 tgid;
	__u32 tid;
	__u64 start_ip;
	__u32 gen;
	__u32 pad;
};

/* Per-CPU value of the counts map: summed over CPUs by rseq-top. */
struct rseq_top_count {
	__u64 aborts;
	__u64 causes[RSEQ_TOP_NR_CAUSES];
};

/* Per-thread cause state: the time (bpf_ktime_get_ns) of the last event of each kind
 * and of the last abort.  An event counts for an abort only if it is newer than the
 * thread's previous abort, so stale events never leak into later aborts. */
struct rseq_top_task {
	__u64 event_ns[RSEQ_TOP_CAUSE_OTHER];
	__u64 abort_ns;
};

/* The image of a process the counter has seen abort (value of the procs map), for
 * its exec and exit events. */
struct rseq_top_proc {
	__u32 gen;
	__u32 pad;
};

/* Indexes of the per-CPU stats array. */
enum rseq_top_stat {
	RSEQ_TOP_STAT_ABORTS = 0,     /* aborts counted (after filters) */
	RSEQ_TOP_STAT_DROPPED = 1,    /* aborts not counted: the counts map was full */
	RSEQ_TOP_STAT_EVENTS_LOST = 2,/* ring-buffer events lost (buffer full) */
	RSEQ_TOP_STAT_NOTIFY = 3,     /* notify-resume calls seen (when that probe works) */
	RSEQ_TOP_STAT_PROCS_FULL = 4, /* procs map full: no exec/exit events for a process */
	RSEQ_TOP_NR_STATS = 5,
};

/* Ring-buffer events, so that rseq-top names a sequence while its process is alive
 * and refreshes its symbol cache after exec. */
enum rseq_top_event_type {
	RSEQ_TOP_EV_NEW_KEY = 1,  /* first abort of a key */
	RSEQ_TOP_EV_EXEC = 2,     /* a process with counted aborts called exec */
	RSEQ_TOP_EV_EXIT = 3,     /* its last thread exited */
};

struct rseq_top_event {
	__u32 type;
	__u32 tgid;
	__u32 tid;
	__u32 gen;
	__u64 start_ip;
	char comm[16];
};

#endif /* RSEQKIT_BPF_RSEQ_ABORTS_H */
