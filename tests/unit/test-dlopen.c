/* SPDX-License-Identifier: MIT */
/*
 * librseqkit loaded with dlopen() into a process whose threads already run: those
 * threads use it (its initial-exec TLS comes from glibc's static TLS surplus), exit
 * (the exit hook unregisters), and the library is dlclose()d.  Not linked with
 * librseqkit.  Exit 0 on success, 1 with a message per failed check.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rseqkit/rseqkit.h>

#define NTHREADS 4

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED); } } while (0)

static int (*p_register)(void);
static enum rseqkit_owner (*p_owner)(void);
static int (*p_cpu)(void);
static int (*p_info)(struct rseqkit_info *);

static pthread_barrier_t loaded, finished;
static const char *mode;

static enum rseqkit_owner expected_owner(void)
{
	if (strcmp(mode, "glibc") == 0)
		return RSEQKIT_OWNER_GLIBC;
	if (strcmp(mode, "rseqkit") == 0)
		return RSEQKIT_OWNER_RSEQKIT;
	return RSEQKIT_OWNER_UNAVAILABLE;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&loaded);  /* started before the dlopen, used after it */
	int r = p_register();
	CHECK((r == 0) == (expected_owner() != RSEQKIT_OWNER_UNAVAILABLE), "register returned %d (%s)", r, strerror(errno));
	CHECK(p_owner() == expected_owner(), "owner %d, expected %d", p_owner(), expected_owner());
	int cpu = p_cpu();
	CHECK(cpu >= 0 && cpu == sched_getcpu(), "cpu %d vs sched_getcpu %d", cpu, sched_getcpu());
	struct rseqkit_info info;
	CHECK(p_info(&info) == 0, "get_info");
	if (expected_owner() == RSEQKIT_OWNER_RSEQKIT) {
		/* Registered by rseqkit: registering the same area again is EBUSY. */
		long rr = syscall(SYS_rseq, info.area, 32, 0, RSEQKIT_SIG);
		CHECK(rr == -1 && errno == EBUSY, "own area not registered (%ld, %s)", rr, strerror(errno));
	}
	pthread_barrier_wait(&finished);
	return NULL;
}

static void *fresh_thread(void *arg)
{
	(void)arg;
	/* After dlclose: a thread that never saw rseqkit can register an area of its own. */
	static __thread struct rseqkit_area own;
	if (expected_owner() == RSEQKIT_OWNER_RSEQKIT) {
		CHECK(syscall(SYS_rseq, &own, 32, 0, RSEQKIT_SIG) == 0, "fresh registration: %s", strerror(errno));
		CHECK(syscall(SYS_rseq, &own, 32, 1, RSEQKIT_SIG) == 0, "fresh unregistration: %s", strerror(errno));
	}
	return NULL;
}

int main(void)
{
	const char *builddir = getenv("RSEQKIT_BUILDDIR");
	mode = getenv("RSEQKIT_TEST_MODE");
	if (!builddir || !mode) {
		fprintf(stderr, "test-dlopen: run through tests/harness/run-mode (RSEQKIT_BUILDDIR, RSEQKIT_TEST_MODE)\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/lib/.libs/librseqkit.so", builddir);

	pthread_t threads[NTHREADS];
	pthread_barrier_init(&loaded, NULL, NTHREADS + 1);
	pthread_barrier_init(&finished, NULL, NTHREADS + 1);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&threads[i], NULL, worker, NULL);

	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "FAIL: dlopen %s: %s\n", path, dlerror());
		return 1;
	}
	p_register = (int (*)(void))dlsym(lib, "rseqkit_register_current_thread");
	p_owner = (enum rseqkit_owner (*)(void))dlsym(lib, "rseqkit_thread_owner");
	p_cpu = (int (*)(void))dlsym(lib, "rseqkit_current_cpu_slow");
	p_info = (int (*)(struct rseqkit_info *))dlsym(lib, "rseqkit_get_info");
	if (!p_register || !p_owner || !p_cpu || !p_info) {
		fprintf(stderr, "FAIL: dlsym: %s\n", dlerror());
		return 1;
	}
	pthread_barrier_wait(&loaded);
	pthread_barrier_wait(&finished);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(threads[i], NULL);

	CHECK(dlclose(lib) == 0, "dlclose: %s", dlerror());
	/* -z nodelete: threads may still hold registrations of its TLS, so it stays. */
	CHECK(dlopen(path, RTLD_NOW | RTLD_NOLOAD) != NULL, "librseqkit was unloaded");

	pthread_t t;
	pthread_create(&t, NULL, fresh_thread, NULL);
	pthread_join(t, NULL);
	if (failures)
		return 1;
	printf("test-dlopen: %d threads used librseqkit after dlopen in mode %s\n", NTHREADS, mode);
	return 0;
}
