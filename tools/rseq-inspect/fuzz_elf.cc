// SPDX-License-Identifier: MIT
// libFuzzer target: any byte string as an ELF file through rseq-inspect's reader,
// every check, the DWARF lookups and both output formats.  Built by `make fuzz`.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "check.h"
#include "elf_image.h"
#include "report.h"

using namespace rseqinspect;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string error;
	std::unique_ptr<ElfImage> img = ElfImage::from_memory(std::vector<uint8_t>(data, data + size), &error);
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
