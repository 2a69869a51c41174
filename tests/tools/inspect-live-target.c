/* SPDX-License-Identifier: MIT */
/*
 * inspect-live-target: the process the rseq-inspect -p test looks at.
 *
 * Starts three "worker-N" threads that register through
 * rseqkit_register_current_thread() and then run a real critical section
 * (fx_inline_add from fixtures/inline-seq.h) in a loop, and one "unreg" thread that
 * never asks rseqkit for anything and only counts.  The main thread registers too.
 * It also maps /dev/zero, a device rseq-inspect must pass over.
 * In glibc mode glibc has registered every thread anyway; in rseqkit mode "unreg"
 * has no area; in enosys/eperm mode nobody has one.
 *
 * With --churn, one more thread keeps creating and joining short-lived threads, so
 * that threads come and go while rseq-inspect looks.
 *
 * Protocol on stdout, one line each:
 *   glibc OFFSET SIZE                   glibc's __rseq_offset and __rseq_size as rseqkit sees them
 *   thread TID NAME OWNER AREA LENGTH   for each thread, once registered (rseqkit's view)
 *   ready
 * then for every line read on stdin:
 *   progress N1 N2 N3 N4                loop iterations of each worker and of "unreg"
 *   sum COUNTERS COMMITS                sum over the per-CPU counters, committed additions
 * and it exits 0 at end of input.  COUNTERS == COMMITS unless a sequence misbehaved.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <rseqkit/rseqkit.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fixtures/inline-seq.h"

#define WORKERS 3
#define MAX_CPUS 4096

static int64_t counters[MAX_CPUS];
static atomic_long commits;
static atomic_long progress[WORKERS + 1];
static atomic_int registered_count;
static atomic_int pause_requested;  /* workers park between sequences while set */
static atomic_int parked;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void report_thread(const char *name)
{
	struct rseqkit_info info;
	memset(&info, 0, sizeof info);
	rseqkit_get_info(&info);
	pthread_mutex_lock(&print_lock);
	printf("thread %ld %s %s %#lx %u\n", (long)syscall(SYS_gettid), name, rseqkit_owner_name(info.owner),
	       (unsigned long)(uintptr_t)info.area, info.area_length);
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
	atomic_fetch_add(&registered_count, 1);
}

static void *worker(void *arg)
{
	long index = (long)arg;
	char name[16] = "worker-1";
	name[7] = (char)('1' + index);  /* WORKERS < 10 */
	pthread_setname_np(pthread_self(), name);
	rseqkit_register_current_thread();
	report_thread(name);
	for (;;) {
		if (atomic_load(&pause_requested)) {
			atomic_fetch_add(&parked, 1);
			while (atomic_load(&pause_requested))
				usleep(100);
			atomic_fetch_sub(&parked, 1);
		}
		struct rseqkit_area *area = rseqkit_thread_area();
		/* The sequence writes rseq_cs first: only on an area the kernel knows. */
		if ((int32_t)area->cpu_id >= 0) {
			int r = fx_inline_add((struct fx_area *)area, counters, 1);
			if (r == 0)
				atomic_fetch_add(&commits, 1);
		}
		atomic_fetch_add(&progress[index], 1);
		usleep(100);
	}
	return NULL;
}

static void *unregistered(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "unreg");
	report_thread("unreg");
	for (;;) {
		atomic_fetch_add(&progress[WORKERS], 1);
		usleep(1000);
	}
	return NULL;
}

static void *short_lived(void *arg)
{
	return arg;
}

static void *churn(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "churn");
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, short_lived, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct rseqkit_info info;
	memset(&info, 0, sizeof info);
	rseqkit_get_info(&info);
	printf("glibc %ld %u\n", (long)info.glibc_rseq_offset, info.glibc_rseq_size);
	rseqkit_register_current_thread();
	report_thread("main");
	/* A mapped device, which rseq-inspect must pass over (it is no loaded object). */
	int zero = open("/dev/zero", O_RDONLY);
	if (zero < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, zero, 0) == MAP_FAILED)
		return 2;
	pthread_t t;
	for (long i = 0; i < WORKERS; i++)
		if (pthread_create(&t, NULL, worker, (void *)i) != 0)
			return 2;
	if (pthread_create(&t, NULL, unregistered, NULL) != 0)
		return 2;
	if (argc > 1 && strcmp(argv[1], "--churn") == 0 && pthread_create(&t, NULL, churn, NULL) != 0)
		return 2;
	while (atomic_load(&registered_count) < WORKERS + 2)
		usleep(1000);
	printf("ready\n");
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		printf("progress");
		for (int i = 0; i <= WORKERS; i++)
			printf(" %ld", atomic_load(&progress[i]));
		printf("\n");
		/* Park the workers between sequences, so that the sum is exact. */
		atomic_store(&pause_requested, 1);
		while (atomic_load(&parked) < WORKERS)
			usleep(100);
		int64_t sum = 0;
		for (int c = 0; c < MAX_CPUS; c++)
			sum += __atomic_load_n(&counters[c], __ATOMIC_RELAXED);
		printf("sum %lld %ld\n", (long long)sum, atomic_load(&commits));
		atomic_store(&pause_requested, 0);
		fflush(stdout);
	}
	return 0;
}
