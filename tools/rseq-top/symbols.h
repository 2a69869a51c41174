// SPDX-License-Identifier: MIT
// Names for the start_ip of an abort, per process image (tgid + generation):
//   1. the rseqkit name record of the sequence in the mapped object,
//   2. symbol+offset from the object's symbol table (libdwfl), with file:line
//      where debug information exists,
//   3. the address.
// A process image is snapshotted (/proc/PID/maps, objects opened) while it is alive,
// so sequences stay nameable after it exits.  Objects are shared between processes
// and only a bounded number stays open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace rseqtop {

class Symbolizer {
public:
	// is_current(tgid, gen): is gen still the live image of tgid?  Guards snapshots
	// against exec and PID reuse between the event and the read of /proc.
	using CurrentFn = std::function<bool(uint32_t tgid, uint32_t gen)>;

	Symbolizer(CurrentFn is_current, size_t max_open_objects = 32);
	~Symbolizer();
	Symbolizer(const Symbolizer &) = delete;
	Symbolizer &operator=(const Symbolizer &) = delete;

	// The name of the sequence starting at start_ip in image (tgid, gen).
	// Snapshots the image on first use and re-reads its maps when the address is
	// in no known object (a library loaded later), as long as the image is alive.
	std::string name(uint32_t tgid, uint32_t gen, uint64_t start_ip);

	// The image exec()ed or exited: never re-read its maps.
	void end_image(uint32_t tgid, uint32_t gen);
	// Drop what is kept about the image (its rows are gone).
	void forget_image(uint32_t tgid, uint32_t gen);

	size_t images() const { return images_.size(); }
	size_t objects() const { return objects_.size(); }
	size_t open_objects() const { return open_count_; }

private:
	struct Object;
	struct Mapping {
		uint64_t start, end, pgoff;
		std::shared_ptr<Object> object;
	};
	struct ImageState {
		std::vector<Mapping> maps;
		bool snapshotted = false;
		bool ended = false;
	};
	struct ObjectKey {
		uint64_t dev, ino;
		bool operator<(const ObjectKey &o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
	};

	bool snapshot(uint32_t tgid, uint32_t gen, ImageState *img);
	std::shared_ptr<Object> object_for(uint32_t tgid, const std::string &path, uint64_t dev, uint64_t ino,
					   uint64_t start, uint64_t end);
	bool open_object(Object *obj);
	void close_object(Object *obj);
	void touch(Object *obj);
	std::string describe(Object *obj, uint64_t runtime, const Mapping &m);

	CurrentFn is_current_;
	size_t max_open_;
	size_t open_count_ = 0;
	uint64_t clock_ = 0;
	std::unordered_map<uint64_t, ImageState> images_;  // (tgid << 32 | gen)
	std::map<ObjectKey, std::weak_ptr<Object>> objects_;
};

// "0x..." for an address.
std::string hex_address(uint64_t addr);

}  // namespace rseqtop
