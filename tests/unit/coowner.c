/* SPDX-License-Identifier: MIT */
/* A co-owner of the area as older libraries (tcmalloc, librseq < 0.1) are: its own weak
 * initial-exec TLS __rseq_abi, registered by hand with length 32.  ELF interposition
 * makes it the same object as rseqkit's. */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rseqkit/rseqkit.h> /* only for RSEQKIT_SIG: the signature every co-owner uses */

struct coowner_area {
	uint32_t word[8];
} __attribute__((aligned(32)));

__attribute__((weak, tls_model("initial-exec")))
__thread struct coowner_area __rseq_abi = {{0, UINT32_MAX}};

void *coowner_area(void) { return &__rseq_abi; }

/* 0 or -errno. */
long coowner_register(void)
{
	return syscall(SYS_rseq, &__rseq_abi, 32, 0, RSEQKIT_SIG) == 0 ? 0 : -errno;
}

long coowner_unregister(void)
{
	return syscall(SYS_rseq, &__rseq_abi, 32, 1, RSEQKIT_SIG) == 0 ? 0 : -errno;
}
