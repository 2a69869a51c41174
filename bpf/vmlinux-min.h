/* SPDX-License-Identifier: MIT */
/*
 * The few kernel types the rseq-top BPF programs touch, for builds where no kernel
 * BTF is at hand (build hosts, chroots, reproducible builds): used instead of a
 * vmlinux.h dumped from /sys/kernel/btf/vmlinux.  Every record is CO-RE relocatable
 * (preserve_access_index), so libbpf finds the real offsets in the running kernel's
 * BTF at load time and only the field names have to be right here.  Constants and
 * fixed-width types come from the kernel's UAPI headers (linux-libc-dev).
 */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#include <linux/types.h>
#include <linux/bpf.h>

typedef _Bool bool;
enum { false = 0, true = 1 };

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

struct rseq;
struct pt_regs;

struct signal_struct {
	atomic_t live;
};

struct task_struct {
	unsigned int __state;
	int pid;
	int tgid;
	struct task_struct *group_leader;
	__u64 start_time;
	__u64 self_exec_id;
	struct signal_struct *signal;
};

#pragma clang attribute pop

#endif /* __VMLINUX_H__ */
