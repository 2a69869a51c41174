// SPDX-License-Identifier: MIT
/*
 * Optional probe of rseq-top(8): counts calls of __rseq_handle_notify_resume per
 * process, the kernel's rseq work on returns to user space after preemption,
 * migration or a signal, so that rseq-top can show what share of them aborted.
 *
 * Kept apart from rseq_aborts.bpf.c because it often cannot load: the function is
 * gone in Linux 6.19, some kernels refuse fentry (EPERM) and many have no kprobes.
 * rseq-top tries fentry, then kprobe, and carries on without it.  It shares the
 * filter maps of the abort counter (bpf_map__reuse_fd) and has the same options.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "rseq_aborts.h"

const volatile bool filter_tgid = false;
const volatile bool filter_cgroup = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} notify SEC(".maps");

/* Reused from the abort counter. */
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

static __always_inline int count_notify(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *v;

	if (filter_tgid && !bpf_map_lookup_elem(&tracked, &tgid))
		return 0;
	if (filter_cgroup && bpf_current_task_under_cgroup(&cgroups, 0) != 1)
		return 0;
	v = bpf_map_lookup_elem(&notify, &tgid);
	if (v) {
		/* fentry and kprobe programs may be preempted: atomic add. */
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	if (bpf_map_update_elem(&notify, &tgid, &one, BPF_NOEXIST) == 0)
		return 0;
	/* Another CPU inserted it first; a full map only loses this statistic. */
	v = bpf_map_lookup_elem(&notify, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

SEC("fentry/__rseq_handle_notify_resume")
int BPF_PROG(notify_fentry)
{
	return count_notify();
}

SEC("kprobe/__rseq_handle_notify_resume")
int BPF_KPROBE(notify_kprobe)
{
	return count_notify();
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
