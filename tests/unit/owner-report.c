/* SPDX-License-Identifier: MIT */
/*
 * Prints what an ordinary C program linked with `pkg-config --libs rseqkit` sees:
 *   main=OWNER pinned=OK|BAD foreign-thread=OWNER
 * "pinned" checks rseqkit_current_cpu() against every CPU the process may run on;
 * the foreign thread registers an area of its own before asking rseqkit.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rseqkit/rseqkit.h>

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static void *foreign_thread(void *arg)
{
	static __thread struct rseqkit_area mine;
	/* glibc registered this thread: drop that first, as a foreign library might. */
	if (&__rseq_size && __rseq_size > 0) {
		struct rseqkit_area *glibc = (struct rseqkit_area *)((char *)__builtin_thread_pointer() + __rseq_offset);
		syscall(SYS_rseq, glibc, 32, 1, RSEQKIT_SIG);
	}
	syscall(SYS_rseq, &mine, 32, 0, RSEQKIT_SIG);
	(void)rseqkit_register_current_thread();
	*(enum rseqkit_owner *)arg = rseqkit_thread_owner();
	syscall(SYS_rseq, &mine, 32, 1, RSEQKIT_SIG);
	return NULL;
}

int main(void)
{
	(void)rseqkit_register_current_thread();
	const char *pinned = "OK";
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return 2;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0 || rseqkit_current_cpu() != cpu)
			pinned = "BAD";
	}
	enum rseqkit_owner foreign = RSEQKIT_OWNER_NONE;
	pthread_t t;
	if (pthread_create(&t, NULL, foreign_thread, &foreign) != 0 || pthread_join(t, NULL) != 0)
		return 2;
	printf("main=%s pinned=%s foreign-thread=%s\n", rseqkit_owner_name(rseqkit_thread_owner()), pinned,
	       rseqkit_owner_name(foreign));
	return 0;
}
