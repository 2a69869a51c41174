// SPDX-License-Identifier: MIT
// Looks up a few names in a raw BTF file (the kernel's /sys/kernel/btf/vmlinux) in
// one pass, without libbpf's full parse: rseq-top checks for its tracepoints and for
// __rseq_handle_notify_resume before loading, and libbpf parses the same 5 MB again
// for the load; one parse at a time keeps start-up time and peak RSS down.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rseqtop {

struct BtfWanted {
	std::string name;
	unsigned kind;      // BTF_KIND_*
	int32_t id = -1;    // the type ID when found
};

// Fills in the IDs of the wanted (name, kind) pairs.  False with *error when the file
// cannot be read or is not raw BTF (an ELF file with a .BTF section, for one: callers
// fall back to libbpf then).
bool btf_scan(const std::string &path, std::vector<BtfWanted> *wanted, std::string *error);

}  // namespace rseqtop
