// SPDX-License-Identifier: MIT
#include "table.h"

#include <algorithm>

namespace rseqtop {

namespace {
uint64_t image_id(uint32_t tgid, uint32_t gen)
{
	return (uint64_t)tgid << 32 | gen;
}

const struct {
	SortField field;
	const char *name;
	bool needs_causes;
} kSortFields[] = {
	{SortField::Rate, "rate", false},       {SortField::Total, "total", false},
	{SortField::Pid, "pid", false},         {SortField::Name, "name", false},
	{SortField::Preempt, "preempt", true}, {SortField::Migrate, "migrate", true},
	{SortField::Signal, "signal", true},
};
}  // namespace

const char *sort_field_name(SortField f)
{
	for (const auto &s : kSortFields)
		if (s.field == f)
			return s.name;
	return "rate";
}

bool parse_sort_field(const std::string &s, SortField *out)
{
	for (const auto &f : kSortFields)
		if (s == f.name) {
			*out = f.field;
			return true;
		}
	return false;
}

SortField next_sort_field(SortField f, bool causes)
{
	const size_t n = sizeof(kSortFields) / sizeof(kSortFields[0]);
	size_t i = 0;
	while (i < n && kSortFields[i].field != f)
		i++;
	for (size_t step = 1; step <= n; step++) {
		const auto &cand = kSortFields[(i + step) % n];
		if (!cand.needs_causes || causes)
			return cand.field;
	}
	return f;
}

void Table::update(const std::vector<Sample> &samples, double interval, std::vector<RowKey> *fresh)
{
	for (auto &kv : rows_) {
		kv.second.delta = 0;
		std::fill(std::begin(kv.second.delta_causes), std::end(kv.second.delta_causes), 0);
		kv.second.rate = 0;
		if (kv.second.ended)
			kv.second.ended_intervals++;
	}
	for (const Sample &s : samples) {
		const RowKey k = row_key(s.key);
		auto it = rows_.find(k);
		if (it == rows_.end()) {
			it = rows_.emplace(k, Row{}).first;
			it->second.key = k;
			image_rows_[image_id(k.tgid, k.gen)]++;
			fresh->push_back(k);
		}
		Row &r = it->second;
		// Counts only grow while the key exists; rseq-top deletes keys of ended images
		// only, which never count again.
		if (s.count.aborts >= r.total) {
			r.delta = s.count.aborts - r.total;
			r.total = s.count.aborts;
		}
		for (int c = 0; c < RSEQ_TOP_NR_CAUSES; c++)
			if (s.count.causes[c] >= r.causes[c]) {
				r.delta_causes[c] = s.count.causes[c] - r.causes[c];
				r.causes[c] = s.count.causes[c];
			}
		r.rate = interval > 0 ? (double)r.delta / interval : 0;
	}
}

Row *Table::find(const RowKey &k)
{
	auto it = rows_.find(k);
	return it == rows_.end() ? nullptr : &it->second;
}

std::vector<RowKey> Table::end_image(uint32_t tgid, uint32_t gen)
{
	std::vector<RowKey> keys;
	for (auto &kv : rows_)
		if (kv.first.tgid == tgid && kv.first.gen == gen && !kv.second.ended) {
			kv.second.ended = true;
			keys.push_back(kv.first);
		}
	return keys;
}

std::vector<std::pair<uint32_t, uint32_t>> Table::expire(unsigned linger, size_t max_rows)
{
	std::vector<std::pair<uint32_t, uint32_t>> gone;
	auto drop = [&](std::unordered_map<RowKey, Row, RowKeyHash>::iterator it) {
		const RowKey k = it->first;
		rows_.erase(it);
		auto img = image_rows_.find(image_id(k.tgid, k.gen));
		if (img != image_rows_.end() && --img->second == 0) {
			image_rows_.erase(img);
			gone.emplace_back(k.tgid, k.gen);
		}
	};
	for (auto it = rows_.begin(); it != rows_.end();) {
		auto next = std::next(it);
		if (it->second.ended && it->second.ended_intervals > linger)
			drop(it);
		it = next;
	}
	if (rows_.size() > max_rows) {
		std::vector<std::pair<unsigned, RowKey>> ended;
		for (const auto &kv : rows_)
			if (kv.second.ended)
				ended.emplace_back(kv.second.ended_intervals, kv.first);
		std::sort(ended.begin(), ended.end(),
			  [](const auto &a, const auto &b) { return a.first > b.first; });
		for (const auto &e : ended) {
			if (rows_.size() <= max_rows)
				break;
			drop(rows_.find(e.second));
		}
	}
	return gone;
}

std::vector<const Row *> Table::sorted(SortField field, const std::unordered_set<uint32_t> &pids) const
{
	std::vector<const Row *> out;
	out.reserve(rows_.size());
	for (const auto &kv : rows_)
		if (pids.empty() || pids.count(kv.first.tgid))
			out.push_back(&kv.second);
	auto tie = [](const Row *a, const Row *b) {
		if (a->key.tgid != b->key.tgid)
			return a->key.tgid < b->key.tgid;
		if (a->key.tid != b->key.tid)
			return a->key.tid < b->key.tid;
		if (a->key.gen != b->key.gen)
			return a->key.gen < b->key.gen;
		return a->key.start_ip < b->key.start_ip;
	};
	auto by = [&](const Row *a, const Row *b) {
		switch (field) {
		case SortField::Rate:
			if (a->rate != b->rate)
				return a->rate > b->rate;
			if (a->total != b->total)
				return a->total > b->total;
			break;
		case SortField::Total:
			if (a->total != b->total)
				return a->total > b->total;
			break;
		case SortField::Pid:
			break;
		case SortField::Name:
			if (a->name != b->name)
				return a->name < b->name;
			break;
		case SortField::Preempt:
		case SortField::Migrate:
		case SortField::Signal: {
			const int c = field == SortField::Preempt   ? RSEQ_TOP_CAUSE_PREEMPT
				      : field == SortField::Migrate ? RSEQ_TOP_CAUSE_MIGRATE
								    : RSEQ_TOP_CAUSE_SIGNAL;
			if (a->causes[c] != b->causes[c])
				return a->causes[c] > b->causes[c];
			break;
		}
		}
		return tie(a, b);
	};
	std::sort(out.begin(), out.end(), by);
	return out;
}

size_t Table::processes() const
{
	std::unordered_set<uint32_t> p;
	for (const auto &kv : rows_)
		p.insert(kv.first.tgid);
	return p.size();
}

uint64_t Table::total() const
{
	uint64_t t = 0;
	for (const auto &kv : rows_)
		t += kv.second.total;
	return t;
}

uint64_t Table::interval_total() const
{
	uint64_t t = 0;
	for (const auto &kv : rows_)
		t += kv.second.delta;
	return t;
}

}  // namespace rseqtop
