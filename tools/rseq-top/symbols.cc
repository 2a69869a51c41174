// SPDX-License-Identifier: MIT
#include "config.h"

#include "symbols.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#ifdef RSEQTOP_HAVE_ELFUTILS
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>

#include "names.h"
#endif

namespace rseqtop {

std::string hex_address(uint64_t addr)
{
	char buf[32];
	std::snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
	return buf;
}

namespace {
uint64_t image_id(uint32_t tgid, uint32_t gen)
{
	return (uint64_t)tgid << 32 | gen;
}
}  // namespace

struct Symbolizer::Object {
	std::string path;        // how it was first opened (may go through /proc/PID/root)
	std::string plain_path;  // as /proc/PID/maps names it
	uint64_t dev = 0, ino = 0;
	bool parsed = false;     // loads and names read
	bool usable = false;     // could be opened and read at least once
	struct Load {
		uint64_t offset, filesz, vaddr;
	};
	std::vector<Load> loads;
	std::unordered_map<uint64_t, std::string> names;      // link-time start_ip -> record name
	std::unordered_map<uint64_t, std::string> described;  // link-time address -> symbol text
	uint64_t last_use = 0;
#ifdef RSEQTOP_HAVE_ELFUTILS
	Dwfl *dwfl = nullptr;
	Dwfl_Module *mod = nullptr;
#endif
};

Symbolizer::Symbolizer(CurrentFn is_current, size_t max_open_objects)
	: is_current_(std::move(is_current)), max_open_(max_open_objects ? max_open_objects : 1)
{
#ifdef RSEQTOP_HAVE_ELFUTILS
	elf_version(EV_CURRENT);
#endif
}

Symbolizer::~Symbolizer()
{
	for (auto &kv : objects_)
		if (auto obj = kv.second.lock())
			close_object(obj.get());
}

void Symbolizer::end_image(uint32_t tgid, uint32_t gen)
{
	auto it = images_.find(image_id(tgid, gen));
	if (it != images_.end())
		it->second.ended = true;
}

void Symbolizer::forget_image(uint32_t tgid, uint32_t gen)
{
	images_.erase(image_id(tgid, gen));
	// Objects no image maps any more go away with their last shared_ptr.
	for (auto it = objects_.begin(); it != objects_.end();)
		it = it->second.expired() ? objects_.erase(it) : std::next(it);
}

#ifndef RSEQTOP_HAVE_ELFUTILS

// Without elfutils every sequence is named by its address.
std::string Symbolizer::name(uint32_t, uint32_t, uint64_t start_ip)
{
	return hex_address(start_ip);
}
bool Symbolizer::snapshot(uint32_t, uint32_t, ImageState *)
{
	return false;
}
bool Symbolizer::open_object(Object *)
{
	return false;
}
void Symbolizer::close_object(Object *) {}

#else

bool Symbolizer::snapshot(uint32_t tgid, uint32_t gen, ImageState *img)
{
	char path[64];
	std::snprintf(path, sizeof(path), "/proc/%u/maps", tgid);
	FILE *f = std::fopen(path, "re");
	if (!f)
		return false;
	std::vector<Mapping> maps;
	char line[4096 + 128];
	while (std::fgets(line, sizeof(line), f)) {
		uint64_t start, end, pgoff, ino;
		unsigned maj, min;
		char perms[8];
		int name_at = 0;
		if (std::sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &start, &end,
				perms, &pgoff, &maj, &min, &ino, &name_at) < 7)
			continue;
		if (!std::strchr(perms, 'x') || ino == 0 || name_at <= 0)
			continue;
		std::string file(line + name_at);
		while (!file.empty() && (file.back() == '\n' || file.back() == ' '))
			file.pop_back();
		if (file.empty() || file[0] != '/')
			continue;
		auto obj = object_for(tgid, file, makedev(maj, min), ino, start, end);
		maps.push_back({start, end, pgoff, std::move(obj)});
	}
	std::fclose(f);
	// An exec between the event and this read would show another image's maps.
	if (!is_current_(tgid, gen))
		return false;
	img->maps = std::move(maps);
	img->snapshotted = true;
	return true;
}

std::shared_ptr<Symbolizer::Object> Symbolizer::object_for(uint32_t tgid, const std::string &file, uint64_t dev,
							   uint64_t ino, uint64_t start, uint64_t end)
{
	ObjectKey key{dev, ino};
	auto it = objects_.find(key);
	if (it != objects_.end())
		if (auto obj = it->second.lock())
			return obj;
	auto obj = std::make_shared<Object>();
	obj->dev = dev;
	obj->ino = ino;
	obj->plain_path = file;
	// The process's own view of the file system first (containers), then ours; a
	// deleted file is still reachable through map_files while it is mapped.
	char buf[96];
	const std::string deleted = " (deleted)";
	if (file.size() > deleted.size() && file.compare(file.size() - deleted.size(), deleted.size(), deleted) == 0) {
		std::snprintf(buf, sizeof(buf), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, tgid, start, end);
		obj->path = buf;
	} else {
		std::snprintf(buf, sizeof(buf), "/proc/%u/root", tgid);
		obj->path = buf + file;
	}
	open_object(obj.get());
	objects_[key] = obj;
	return obj;
}

namespace {
char *debuginfo_path = nullptr;
const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

int open_checked(const std::string &path, uint64_t ino)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	// Another file at that path now (upgraded, replaced): its addresses mean nothing.
	if (fstat(fd, &st) != 0 || st.st_ino != ino) {
		::close(fd);
		return -1;
	}
	return fd;
}
}  // namespace

bool Symbolizer::open_object(Object *obj)
{
	if (obj->dwfl)
		return true;
	int fd = open_checked(obj->path, obj->ino);
	if (fd < 0 && obj->path != obj->plain_path)
		fd = open_checked(obj->plain_path, obj->ino);
	if (fd < 0)
		return false;
	Dwfl *dwfl = dwfl_begin(&offline_callbacks);
	if (!dwfl) {
		::close(fd);
		return false;
	}
	const char *base = std::strrchr(obj->plain_path.c_str(), '/');
	// base 0 + p_vaddr: module addresses are the object's link-time addresses.
	Dwfl_Module *mod = dwfl_report_elf(dwfl, base ? base + 1 : obj->plain_path.c_str(), obj->path.c_str(), fd, 0, true);
	if (!mod) {
		::close(fd);
		dwfl_end(dwfl);
		return false;
	}
	dwfl_report_end(dwfl, nullptr, nullptr);
	obj->dwfl = dwfl;
	obj->mod = mod;
	obj->usable = true;
	open_count_++;
	touch(obj);
	if (!obj->parsed) {
		GElf_Addr bias = 0;
		Elf *elf = dwfl_module_getelf(mod, &bias);
		size_t nph = 0;
		if (elf && elf_getphdrnum(elf, &nph) == 0) {
			for (size_t i = 0; i < nph; i++) {
				GElf_Phdr ph;
				if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
					obj->loads.push_back({ph.p_offset, ph.p_filesz, ph.p_vaddr});
			}
			std::vector<NameRecord> records;
			std::string error;
			// A broken name section only costs the names: symbols still work.
			if (read_name_records(elf, &records, &error))
				for (auto &r : records)
					obj->names.emplace(r.start_ip, std::move(r.name));
		}
		obj->parsed = true;
	}
	// Keep a bounded number of objects open; closed ones keep names and loads.
	while (open_count_ > max_open_) {
		Object *oldest = nullptr;
		for (auto &kv : objects_) {
			auto o = kv.second.lock();
			if (o && o->dwfl && o.get() != obj && (!oldest || o->last_use < oldest->last_use))
				oldest = o.get();
		}
		if (!oldest)
			break;
		close_object(oldest);
	}
	return true;
}

void Symbolizer::close_object(Object *obj)
{
	if (!obj->dwfl)
		return;
	dwfl_end(obj->dwfl);
	obj->dwfl = nullptr;
	obj->mod = nullptr;
	open_count_--;
}

std::string Symbolizer::describe(Object *obj, uint64_t runtime, const Mapping &m)
{
	const uint64_t file_off = runtime - m.start + m.pgoff;
	for (const auto &ld : obj->loads) {
		if (file_off < ld.offset || file_off - ld.offset >= ld.filesz)
			continue;
		const uint64_t link = file_off - ld.offset + ld.vaddr;
		auto named = obj->names.find(link);
		if (named != obj->names.end())
			return named->second;
		auto done = obj->described.find(link);
		if (done != obj->described.end())
			return done->second;
		if (!open_object(obj))
			return hex_address(runtime);
		touch(obj);
		GElf_Addr bias = 0;
		dwfl_module_getelf(obj->mod, &bias);
		const GElf_Addr addr = link + bias;
		GElf_Off offset = 0;
		GElf_Sym sym;
		const char *symname = dwfl_module_addrinfo(obj->mod, addr, &offset, &sym, nullptr, nullptr, nullptr);
		std::string text;
		if (symname) {
			text = symname;
			if (offset) {
				char buf[32];
				std::snprintf(buf, sizeof(buf), "+0x%" PRIx64, (uint64_t)offset);
				text += buf;
			}
			Dwfl_Line *line = dwfl_module_getsrc(obj->mod, addr);
			int lineno = 0;
			const char *src = line ? dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr) : nullptr;
			if (src) {
				const char *slash = std::strrchr(src, '/');
				text += " (";
				text += slash ? slash + 1 : src;
				text += ":" + std::to_string(lineno) + ")";
			}
		} else {
			text = hex_address(runtime);
		}
		// Bounded: one entry per distinct sequence address of the object.
		if (obj->described.size() < 65536)
			obj->described.emplace(link, text);
		return text;
	}
	return hex_address(runtime);
}

void Symbolizer::touch(Object *obj)
{
	obj->last_use = ++clock_;
}

std::string Symbolizer::name(uint32_t tgid, uint32_t gen, uint64_t start_ip)
{
	ImageState &img = images_[image_id(tgid, gen)];
	if (!img.snapshotted && !img.ended)
		snapshot(tgid, gen, &img);
	for (int attempt = 0; attempt < 2; attempt++) {
		for (const Mapping &m : img.maps)
			if (start_ip >= m.start && start_ip < m.end)
				return m.object ? describe(m.object.get(), start_ip, m) : hex_address(start_ip);
		// In no object we knew of: a library loaded since; look again while alive.
		if (attempt == 0 && !img.ended) {
			ImageState fresh;
			if (snapshot(tgid, gen, &fresh))
				img.maps = std::move(fresh.maps);
			else
				break;
		}
	}
	return hex_address(start_ip);
}

#endif  // RSEQTOP_HAVE_ELFUTILS

}  // namespace rseqtop
