/* SPDX-License-Identifier: MIT */
/*
 * abort-workload: the exactness tests' workload for rseq-top.
 *
 * Runs per-CPU sequences (hand-written x86_64, see abort-workload.h) on N threads,
 * makes them abort with a delay loop inside the critical section (preemption) and
 * with per-thread timer signals, and counts every abort itself: each abort lands on
 * the sequence's abort handler exactly once.  Prints what it counted as
 *   {"ok":true,"sequences":[{"name":..,"pid":N,"start_ip":"0x..","commits":N,"aborts":N},..]}
 * (the shape rseq-stress --json uses, plus the pid and "cpu_s", the CPU time it used).
 * "ok" is false if the per-CPU slots do not add up to the commits, i.e. if a sequence
 * was not atomic.
 *
 *   --op add|store|lib|all   t_add (named), t_store (no name record: rseq-top falls
 *                            back to symbol+offset), t_lib (named, in a library
 *                            dlopen()ed after the others ran)
 *   --threads N  --ops N | --duration SEC  --delay N  --signal-every-us N
 *   --cpu N      pin every thread to CPU N (oversubscription without migration)
 *   --fork       fork once at start; both processes run the workload
 *   --sleep-first MS  sleep before anything else (time for a monitor to attach)
 *   --json       print JSON (default: one line of text per sequence)
 *   --then PROGRAM ARG...  after printing, exec PROGRAM (same PID, a new image)
 */
#define _GNU_SOURCE
#include <rseqkit/rseqkit.h>

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abort-workload.h"

enum { OP_ADD, OP_STORE, OP_LIB, NR_OPS };
static const char *const op_names[NR_OPS] = {"t_add", "t_store", "t_lib"};

extern const struct wl_rseq_cs wl_add_cs __attribute__((visibility("hidden")));
extern const struct wl_rseq_cs wl_store_cs __attribute__((visibility("hidden")));

struct counts {
	uint64_t commits[NR_OPS];
	uint64_t aborts[NR_OPS];
	uint64_t signals;
	uint64_t start_ip[NR_OPS];
	int ok;
	int error;
	char message[200];
};

static struct {
	unsigned ops_mask;
	int threads;
	long ops;
	double duration;
	long delay;
	long signal_every_us;
	int cpu;
	int fork;
	long sleep_first_ms;
	int json;
	const char *lib_path;
	char **then;
} opt = {.ops_mask = 1u << OP_ADD, .threads = 2, .ops = 100000, .cpu = -1};

static struct wl_slot *slots;
static long nr_slots;
static atomic_int stop_flag;
static struct timespec t_start;
static uint64_t (*lib_op)(struct rseqkit_area *, long, struct wl_slot *);
static const struct wl_rseq_cs *(*lib_descriptor)(void);
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static const char *lib_error;
static __thread uint64_t thread_signals;

static __attribute__((noinline)) uint64_t op_add(struct rseqkit_area *area, long delay)
{
	uint64_t aborts = 0;
again:
	asm goto(WL_DESCRIPTOR(wl_add_cs) WL_NAME_RECORD(wl_add_cs, "t_add")
		 WL_BODY(wl_add_cs, "addq $1, (%%rcx)") WL_ABORT_HANDLER(aborted)
		 :
		 : [area] "r"(area), [delay] "r"(delay), [slots] "r"(slots)
		 : "rax", "rcx", "rdx", "memory", "cc"
		 : aborted);
	return aborts;
aborted:
	aborts++;
	goto again;
}

/* No name record on purpose: rseq-top names it from the symbol table. */
static __attribute__((noinline)) uint64_t op_store(struct rseqkit_area *area, long delay, uint64_t value)
{
	uint64_t aborts = 0;
again:
	asm goto(WL_DESCRIPTOR(wl_store_cs)
		 WL_BODY(wl_store_cs, "movq %[value], 8(%%rcx)") WL_ABORT_HANDLER(aborted)
		 :
		 : [area] "r"(area), [delay] "r"(delay), [slots] "r"(slots), [value] "r"(value)
		 : "rax", "rcx", "rdx", "memory", "cc"
		 : aborted);
	return aborts;
aborted:
	aborts++;
	goto again;
}

static void load_lib(void)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	const char *candidates[3] = {opt.lib_path, NULL, NULL};
	void *h = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		char *dir = dirname(self);
		/* Build tree: libtool keeps the library in .libs next to the program. */
		snprintf(path, sizeof(path), "%s/.libs/abort-workload-lib.so", dir);
		candidates[1] = strdup(path);
		snprintf(path, sizeof(path), "%s/abort-workload-lib.so", dir);
		candidates[2] = strdup(path);
	}
	for (int i = 0; i < 3 && !h; i++)
		if (candidates[i])
			h = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		lib_error = "cannot find abort-workload-lib.so (use --lib PATH)";
		return;
	}
	lib_op = (uint64_t(*)(struct rseqkit_area *, long, struct wl_slot *))dlsym(h, "wl_lib_op");
	lib_descriptor = (const struct wl_rseq_cs *(*)(void))dlsym(h, "wl_lib_descriptor");
	if (!lib_op || !lib_descriptor)
		lib_error = "abort-workload-lib.so lacks wl_lib_op";
}

static void on_signal(int sig)
{
	(void)sig;
	thread_signals++;
}

static double elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t_start.tv_sec) + (double)(now.tv_nsec - t_start.tv_nsec) / 1e9;
}

struct worker {
	pthread_t thread;
	int index;
	struct counts c;
};

/* Run op until its share of the run is done. */
static void run_op(struct worker *w, int op, struct rseqkit_area *area, double until)
{
	for (long i = 0;; i++) {
		if (opt.duration > 0) {
			if ((i & 63) == 0 && (elapsed() >= until || atomic_load(&stop_flag)))
				break;
		} else if (i >= opt.ops) {
			break;
		}
		uint64_t a = 0;
		switch (op) {
		case OP_ADD:
			a = op_add(area, opt.delay);
			break;
		case OP_STORE:
			a = op_store(area, opt.delay, (uint64_t)i);
			break;
		case OP_LIB:
			a = lib_op(area, opt.delay, slots);
			break;
		}
		w->c.aborts[op] += a;
		w->c.commits[op]++;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	timer_t timer;
	int have_timer = 0;

	if (opt.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(opt.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			w->c.error = errno;
			snprintf(w->c.message, sizeof(w->c.message), "cannot pin to CPU %d: %s", opt.cpu,
				 strerror(errno));
			return NULL;
		}
	}
	if (rseqkit_register_current_thread()) {
		w->c.error = errno;
		snprintf(w->c.message, sizeof(w->c.message), "no rseq on this thread: %s (owner %s)",
			 strerror(errno), rseqkit_owner_name(rseqkit_thread_owner()));
		return NULL;
	}
	struct rseqkit_area *area = rseqkit_thread_area();

	if (opt.signal_every_us > 0) {
		struct sigevent sev = {0};
		struct itimerspec its = {0};

		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGUSR1;
		sev._sigev_un._tid = gettid();
		its.it_value.tv_sec = opt.signal_every_us / 1000000;
		its.it_value.tv_nsec = (opt.signal_every_us % 1000000) * 1000;
		its.it_interval = its.it_value;
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0 && timer_settime(timer, 0, &its, NULL) == 0)
			have_timer = 1;
	}

	int nr = 0, order[NR_OPS];
	for (int op = 0; op < NR_OPS; op++)
		if (opt.ops_mask & (1u << op))
			order[nr++] = op;
	for (int k = 0; k < nr; k++) {
		int op = order[k];

		if (op == OP_LIB) {
			pthread_once(&lib_once, load_lib);
			if (lib_error) {
				w->c.error = ENOENT;
				snprintf(w->c.message, sizeof(w->c.message), "%s", lib_error);
				break;
			}
		}
		run_op(w, op, area, opt.duration * (k + 1) / nr);
	}
	if (have_timer)
		timer_delete(timer);
	w->c.signals = thread_signals;
	return NULL;
}

/* Runs the threads and fills *total; returns 0, or -1 with total->message set. */
static int run(struct counts *total)
{
	struct worker *w = calloc((size_t)opt.threads, sizeof(*w));

	memset(total, 0, sizeof(*total));
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	for (int i = 0; i < opt.threads; i++) {
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			snprintf(total->message, sizeof(total->message), "pthread_create failed");
			return -1;
		}
	}
	for (int i = 0; i < opt.threads; i++) {
		pthread_join(w[i].thread, NULL);
		for (int op = 0; op < NR_OPS; op++) {
			total->commits[op] += w[i].c.commits[op];
			total->aborts[op] += w[i].c.aborts[op];
		}
		total->signals += w[i].c.signals;
		if (w[i].c.error && !total->error) {
			total->error = w[i].c.error;
			memcpy(total->message, w[i].c.message, sizeof(total->message));
		}
	}
	free(w);
	return total->error ? -1 : 0;
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: abort-workload [--op add|store|lib|all] [--threads N] [--ops N | --duration SEC]\n"
		   "       [--delay N] [--signal-every-us N] [--cpu N] [--fork] [--lib PATH] [--json]\n"
		   "       [--sleep-first MS] [--then PROGRAM ARG...]\n");
}

static void print_counts(const struct counts *c, pid_t pid, int *first)
{
	for (int op = 0; op < NR_OPS; op++) {
		if (!(opt.ops_mask & (1u << op)) || !c->start_ip[op])
			continue;
		if (opt.json)
			printf("%s{\"name\":\"%s\",\"pid\":%d,\"start_ip\":\"0x%" PRIx64 "\",\"commits\":%" PRIu64
			       ",\"aborts\":%" PRIu64 "}",
			       *first ? "" : ",", op_names[op], (int)pid, c->start_ip[op], c->commits[op], c->aborts[op]);
		else
			printf("%-8s pid %-7d start_ip 0x%-14" PRIx64 " commits %-10" PRIu64 " aborts %" PRIu64 "\n",
			       op_names[op], (int)pid, c->start_ip[op], c->commits[op], c->aborts[op]);
		*first = 0;
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;

		if (!strcmp(a, "--then") && v) {
			opt.then = &argv[i + 1];
			break;
		} else if (!strcmp(a, "--json")) {
			opt.json = 1;
		} else if (!strcmp(a, "--fork")) {
			opt.fork = 1;
		} else if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!v) {
			fprintf(stderr, "abort-workload: unknown option or missing value: %s\n", a);
			usage(stderr);
			return 2;
		} else if (!strcmp(a, "--op")) {
			i++;
			if (!strcmp(v, "add"))
				opt.ops_mask = 1u << OP_ADD;
			else if (!strcmp(v, "store"))
				opt.ops_mask = 1u << OP_STORE;
			else if (!strcmp(v, "lib"))
				opt.ops_mask = 1u << OP_LIB;
			else if (!strcmp(v, "all"))
				opt.ops_mask = (1u << NR_OPS) - 1;
			else {
				fprintf(stderr, "abort-workload: unknown operation '%s' (add, store, lib, all)\n", v);
				return 2;
			}
		} else if (!strcmp(a, "--lib")) {
			i++;
			opt.lib_path = v;
		} else {
			i++;
			if (parse_long(v, 0, &n)) {
				fprintf(stderr, "abort-workload: bad value for %s: '%s'\n", a, v);
				return 2;
			}
			if (!strcmp(a, "--threads") && n > 0 && n <= 1024)
				opt.threads = (int)n;
			else if (!strcmp(a, "--ops"))
				opt.ops = n;
			else if (!strcmp(a, "--duration") && n > 0)
				opt.duration = (double)n;
			else if (!strcmp(a, "--delay"))
				opt.delay = n;
			else if (!strcmp(a, "--signal-every-us"))
				opt.signal_every_us = n;
			else if (!strcmp(a, "--sleep-first"))
				opt.sleep_first_ms = n;
			else if (!strcmp(a, "--cpu") && n < CPU_SETSIZE)
				opt.cpu = (int)n;
			else {
				fprintf(stderr, "abort-workload: unknown option or bad value: %s %s\n", a, v);
				return 2;
			}
		}
	}

	nr_slots = sysconf(_SC_NPROCESSORS_CONF);
	if (nr_slots < 1)
		nr_slots = 1;
	/* cpu_id is below the number of possible CPUs; be generous for sparse ones. */
	nr_slots = nr_slots < 64 ? 64 : nr_slots * 2;
	slots = mmap(NULL, (size_t)nr_slots * sizeof(*slots), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct counts *shared = mmap(NULL, sizeof(struct counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED || shared == MAP_FAILED) {
		perror("abort-workload: mmap");
		return 1;
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);

	if (opt.sleep_first_ms > 0) {
		struct timespec ts = {opt.sleep_first_ms / 1000, (opt.sleep_first_ms % 1000) * 1000000};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	pid_t child = -1;
	if (opt.fork) {
		child = fork();
		if (child < 0) {
			perror("abort-workload: fork");
			return 1;
		}
	}

	struct counts mine;
	int rc = run(&mine);
	mine.start_ip[OP_ADD] = wl_add_cs.start_ip;
	mine.start_ip[OP_STORE] = wl_store_cs.start_ip;
	if (lib_descriptor)
		mine.start_ip[OP_LIB] = lib_descriptor()->start_ip;

	if (child == 0) {
		*shared = mine;
		_exit(rc ? 1 : 0);
	}
	struct counts theirs = {0};
	if (child > 0) {
		int status;

		waitpid(child, &status, 0);
		theirs = *shared;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			rc = -1;
			if (!mine.error)
				snprintf(mine.message, sizeof(mine.message), "the forked process failed: %.150s",
					 theirs.message[0] ? theirs.message : "killed");
		}
	}

	/* Atomicity check: the per-CPU slots must add up to the commits. */
	uint64_t sum_add = 0, sum_lib = 0;
	for (long i = 0; i < nr_slots; i++) {
		sum_add += slots[i].count;
		sum_lib += slots[i].lib;
	}
	int ok = rc == 0 && sum_add == mine.commits[OP_ADD] + theirs.commits[OP_ADD] &&
		 sum_lib == mine.commits[OP_LIB] + theirs.commits[OP_LIB];
	if (rc == 0 && !ok)
		snprintf(mine.message, sizeof(mine.message), "per-CPU sums differ from commits");

	int first = 1;
	if (opt.json) {
		printf("{\"ok\":%s,\"sequences\":[", ok ? "true" : "false");
		print_counts(&mine, getpid(), &first);
		if (child > 0)
			print_counts(&theirs, child, &first);
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("],\"signals\":%" PRIu64 ",\"cpu_s\":%.6f", mine.signals + theirs.signals,
		       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
			       (double)ru.ru_stime.tv_usec / 1e6);
		if (!ok)
			printf(",\"error\":\"%s\"", mine.message);
		printf("}\n");
	} else {
		print_counts(&mine, getpid(), &first);
		if (child > 0)
			print_counts(&theirs, child, &first);
	}
	if (!ok) {
		fprintf(stderr, "abort-workload: %s\n", mine.message);
		return 1;
	}
	if (opt.then) {
		fflush(stdout);
		execv(opt.then[0], opt.then);
		fprintf(stderr, "abort-workload: cannot exec %s: %s\n", opt.then[0], strerror(errno));
		return 1;
	}
	return 0;
}
