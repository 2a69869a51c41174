// SPDX-License-Identifier: MIT
// libFuzzer target: any byte string as an ELF file through rseq-inspect's reader,
// every check, the DWARF lookups and both output formats.  Built by `make fuzz`.
//
// The input goes through a file descriptor, as the tool's files do: libelf then reads
// each section into a buffer of its own size, so a read past a section's end is a read
// past a heap block, which AddressSanitizer sees.  (An image in one buffer would hide
// every overrun that stays inside the file.)
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "check.h"
#include "elf_image.h"
#include "report.h"

using namespace rseqinspect;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;  // the tool refuses empty files before libelf sees them
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0) {
		perror("fuzz-elf: memfd_create");
		abort();
	}
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0) {
			perror("fuzz-elf: write");
			abort();
		}
		done += static_cast<size_t>(n);
	}
	std::string error;
	std::unique_ptr<ElfImage> img = ElfImage::from_fd(fd, &error);  // takes fd
	if (!img)
		return 0;
	// What -p asks of every loaded object.
	(void)img->lookup_symbol("__rseq_offset");
	(void)img->lookup_symbol("__rseq_abi");
	(void)img->program_headers();
	std::vector<FileReport> reports(1);
	reports[0].path = "input";
	CheckOptions options;
	inspect_image(*img, options, &reports[0]);
	int status = exit_status(reports);
	volatile size_t sink = json_files(reports, status).size() + text_files(reports, true).size();
	(void)sink;
	return 0;
}
