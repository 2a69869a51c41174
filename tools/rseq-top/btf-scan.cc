// SPDX-License-Identifier: MIT
#include "btf-scan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace rseqtop {

namespace {
// Bytes that follow struct btf_type for each kind (linux/btf.h).
bool trailing_size(unsigned kind, unsigned vlen, size_t *out)
{
	switch (kind) {
	case BTF_KIND_INT:
		*out = 4;
		return true;
	case BTF_KIND_ARRAY:
		*out = sizeof(struct btf_array);
		return true;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		*out = (size_t)vlen * sizeof(struct btf_member);
		return true;
	case BTF_KIND_ENUM:
		*out = (size_t)vlen * sizeof(struct btf_enum);
		return true;
	case BTF_KIND_FUNC_PROTO:
		*out = (size_t)vlen * sizeof(struct btf_param);
		return true;
	case BTF_KIND_VAR:
		*out = sizeof(struct btf_var);
		return true;
	case BTF_KIND_DATASEC:
		*out = (size_t)vlen * sizeof(struct btf_var_secinfo);
		return true;
	case BTF_KIND_DECL_TAG:
		*out = 4;
		return true;
	case 19:  // BTF_KIND_ENUM64: {u32 name_off, val_lo32, val_hi32}
		*out = (size_t)vlen * 12;
		return true;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		*out = 0;
		return true;
	default:
		return false;  // a kind newer than this code: the layout is unknown
	}
}
}  // namespace

namespace {
bool scan(const char *data, size_t size, std::vector<BtfWanted> *wanted, std::string *error);
}

bool btf_scan(const std::string &path, std::vector<BtfWanted> *wanted, std::string *error)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error = std::strerror(errno);
		return false;
	}
	// Linux 6.16+ lets the kernel's BTF be mapped: no copy, no lasting RSS.  Older
	// kernels need a read into one buffer of the file's size (sysfs reports it).
	struct stat st;
	const bool sized = fstat(fd, &st) == 0 && st.st_size > 0;
	std::vector<char> copy;
	const char *base = nullptr;
	size_t size = 0;
	void *map = sized ? mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	if (map != MAP_FAILED) {
		base = static_cast<const char *>(map);
		size = (size_t)st.st_size;
	} else {
		copy.resize(sized ? (size_t)st.st_size : (size_t)1 << 20);
		for (;;) {
			if (size == copy.size())
				copy.resize(copy.size() * 2);
			ssize_t n = ::read(fd, copy.data() + size, copy.size() - size);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				*error = std::strerror(errno);
				::close(fd);
				return false;
			}
			if (n == 0)
				break;
			size += static_cast<size_t>(n);
		}
		base = copy.data();
	}
	::close(fd);
	const bool ok = scan(base, size, wanted, error);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	return ok;
}

namespace {
bool scan(const char *data, size_t size, std::vector<BtfWanted> *wanted, std::string *error)
{
	struct btf_header hdr;
	if (size < sizeof(hdr)) {
		*error = "not BTF";
		return false;
	}
	std::memcpy(&hdr, data, sizeof(hdr));
	if (hdr.magic != BTF_MAGIC || hdr.hdr_len < sizeof(hdr) ||
	    (uint64_t)hdr.hdr_len + hdr.type_off + hdr.type_len > size ||
	    (uint64_t)hdr.hdr_len + hdr.str_off + hdr.str_len > size) {
		*error = "not raw BTF";
		return false;
	}
	const char *types = data + hdr.hdr_len + hdr.type_off;
	const char *strs = data + hdr.hdr_len + hdr.str_off;
	size_t off = 0;
	int32_t id = 1;
	while (off + sizeof(struct btf_type) <= hdr.type_len) {
		struct btf_type t;
		std::memcpy(&t, types + off, sizeof(t));
		const unsigned kind = BTF_INFO_KIND(t.info), vlen = BTF_INFO_VLEN(t.info);
		size_t extra;
		if (!trailing_size(kind, vlen, &extra)) {
			*error = "unknown BTF kind " + std::to_string(kind);
			return false;
		}
		if (t.name_off && t.name_off < hdr.str_len && (kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_FUNC))
			for (auto &w : *wanted)
				if (w.id < 0 && w.kind == kind && strs[t.name_off] == w.name[0] &&
				    strncmp(strs + t.name_off, w.name.c_str(), hdr.str_len - t.name_off) == 0)
					w.id = id;
		off += sizeof(t) + extra;
		id++;
	}
	return true;
}
}  // namespace

}  // namespace rseqtop
