/* SPDX-License-Identifier: MIT */
/*
 * matrix-probe: one line of facts about rseq in this process, for the tables of
 * `make check-glibc` and `make check-kernels`:
 *
 *   @facts glibc_version=2.41 feature_size=33 align=64 rseq_size=33 rseq_offset=-256
 *          owner=glibc area_length=33 kernel_length=33 area_align=64 mm_cid=0 slice=EOPNOTSUPP
 *
 * kernel_length is the registered length as the kernel reports it
 * (PTRACE_GET_RSEQ_CONFIGURATION on a forked copy of this thread), "?" where it cannot.
 * area_align is the largest power of two (up to 4096) the area's address is a multiple
 * of.  slice is "enabled", or the errno name with which rseqkit_slice_enable() failed.
 * Exits 1 when rseqkit's view of the registration disagrees with the kernel's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rseqkit/rseqkit.h>

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

struct rseq_config {
	uint64_t pointer;
	uint32_t size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

static const char *errno_name(int err)
{
	static char buf[16];

	switch (err) {
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSYS: return "ENOSYS";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case ESRCH: return "ESRCH";
	}
	snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}

static int kernel_registration(struct rseq_config *cfg)
{
	int status, ok;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	memset(cfg, 0, sizeof(*cfg));
	ok = waitpid(pid, &status, 0) == pid && WIFSTOPPED(status) &&
	     ptrace(0x420f, pid, (void *)sizeof(*cfg), cfg) == (long)sizeof(*cfg);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (cfg->pointer == 0)  /* kernels before 6.3 say 32 bytes also then */
		cfg->size = 0;
	return ok;
}

int main(void)
{
	struct rseqkit_info info;
	struct rseq_config cfg;
	unsigned long align = 0;
	int slice, slice_errno = 0, bad = 0, have_cfg;

	(void)rseqkit_register_current_thread();
	if (rseqkit_get_info(&info) != 0) {
		perror("matrix-probe: rseqkit_get_info");
		return 1;
	}
	if (info.area)
		for (align = 4096; (uintptr_t)info.area % align; align /= 2)
			;
	slice = rseqkit_slice_enable();
	if (slice != 0)
		slice_errno = errno;
	have_cfg = kernel_registration(&cfg);

	printf("@facts glibc_version=%s feature_size=%u align=%u rseq_size=%u rseq_offset=%td owner=%s "
	       "area_length=%u kernel_length=",
	       gnu_get_libc_version(), info.feature_size, info.feature_align,
	       &__rseq_size ? __rseq_size : 0, &__rseq_offset ? __rseq_offset : 0,
	       rseqkit_owner_name(info.owner), info.area_length);
	if (have_cfg)
		printf("%u", cfg.size);
	else
		printf("?");
	printf(" area_align=%lu mm_cid=%d slice=%s\n", align, rseqkit_current_mm_cid(),
	       slice == 0 ? "enabled" : errno_name(slice_errno));

	if (have_cfg && (cfg.size != info.area_length ||
			 cfg.pointer != (uintptr_t)info.area)) {
		fprintf(stderr, "matrix-probe: the kernel has %#llx (%u bytes) registered, "
			"rseqkit reports %p (%u bytes)\n", (unsigned long long)cfg.pointer,
			cfg.size, (void *)info.area, info.area_length);
		bad = 1;
	}
	return bad;
}
