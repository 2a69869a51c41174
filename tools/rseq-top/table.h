// SPDX-License-Identifier: MIT
// Rows of rseq-top: one per counted sequence of a process image (and thread with -T),
// with totals, the last interval's counts and rate.  Rows outlive the BPF map entries
// of ended images (exec, exit), which rseq-top deletes to keep the map small.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collector.h"

namespace rseqtop {

struct RowKey {
	uint32_t tgid = 0, tid = 0, gen = 0;
	uint64_t start_ip = 0;
	bool operator==(const RowKey &o) const
	{
		return tgid == o.tgid && tid == o.tid && gen == o.gen && start_ip == o.start_ip;
	}
};

struct RowKeyHash {
	size_t operator()(const RowKey &k) const
	{
		uint64_t h = k.start_ip * 0x9e3779b97f4a7c15ULL;
		h ^= ((uint64_t)k.tgid << 32 | k.tid) + 0x7f4a7c15 + (h << 6) + (h >> 2);
		h ^= k.gen * 0xc2b2ae3d27d4eb4fULL;
		return static_cast<size_t>(h);
	}
};

struct Row {
	RowKey key;
	std::string comm;
	std::string name;
	uint64_t total = 0;
	uint64_t causes[RSEQ_TOP_NR_CAUSES] = {};
	uint64_t delta = 0;  // aborts in the last interval
	uint64_t delta_causes[RSEQ_TOP_NR_CAUSES] = {};
	double rate = 0;     // delta / interval
	double notify_share = -1;  // process's aborts per notify-resume in the interval, or -1
	bool ended = false;  // its image exec()ed or exited: no more aborts can come
	unsigned ended_intervals = 0;
};

enum class SortField { Rate, Total, Pid, Name, Preempt, Migrate, Signal };
const char *sort_field_name(SortField f);
bool parse_sort_field(const std::string &s, SortField *out);
SortField next_sort_field(SortField f, bool causes);

inline RowKey row_key(const rseq_top_key &k)
{
	return RowKey{k.tgid, k.tid, k.gen, k.start_ip};
}

class Table {
public:
	// Applies a complete read of the counts map covering `interval` seconds; fills
	// *fresh with the keys of rows created now (to be named by the caller).
	void update(const std::vector<Sample> &samples, double interval, std::vector<RowKey> *fresh);

	Row *find(const RowKey &k);
	// Marks the rows of an image as ended; returns their keys.
	std::vector<RowKey> end_image(uint32_t tgid, uint32_t gen);
	// Drops ended rows older than `linger` intervals, then more ended rows, oldest
	// first, while there are more than max_rows.  Returns the images left without rows.
	std::vector<std::pair<uint32_t, uint32_t>> expire(unsigned linger, size_t max_rows);

	std::vector<const Row *> sorted(SortField field, const std::unordered_set<uint32_t> &pids) const;
	size_t size() const { return rows_.size(); }
	size_t processes() const;
	uint64_t total() const;
	uint64_t interval_total() const;

private:
	std::unordered_map<RowKey, Row, RowKeyHash> rows_;
	std::unordered_map<uint64_t, unsigned> image_rows_;  // (tgid << 32 | gen) -> rows
};

}  // namespace rseqtop
