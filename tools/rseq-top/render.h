// SPDX-License-Identifier: MIT
// Text and JSON renderings of rseq-top's rows and header.
#pragma once

#include <string>
#include <vector>

#include "table.h"

namespace rseqtop {

struct ViewOptions {
	bool causes = false;
	bool threads = false;
	bool notify = false;  // the notify-resume probe works: ABORT% column
};

struct Status {
	std::string version;
	std::string kernel;
	std::string probe_type;
	std::vector<std::string> tracepoints;
	std::string notify_status;
	double time = 0;       // seconds since the epoch
	double interval = 0;   // seconds covered by the deltas
	double delay = 0;      // the interval asked for
	uint64_t total = 0;    // aborts counted since start
	uint64_t delta = 0;    // ... in the interval
	uint64_t dropped = 0;  // aborts lost to a full counts map
	uint64_t events_lost = 0;
	uint64_t missed = 0;   // aborts the kernel did not let the counter see
	size_t sequences = 0;
	size_t processes = 0;
	std::string sort;
	std::string filter;    // display PID filter, "" for all
	std::string workload;  // --demo: what runs
};

std::string json_escape(const std::string &s);

// Header lines (no trailing newline on the last).
std::vector<std::string> header_lines(const Status &st);
std::string column_header(const ViewOptions &v, bool final_totals);
std::string row_text(const Row &r, const ViewOptions &v, bool final_totals);

// One JSON document (one line, no newline) per interval.
std::string interval_json(const Status &st, const std::vector<const Row *> &rows, const ViewOptions &v);
// {"missed":N,"sequences":[...]} with totals, for the end of a command (missed as in
// Status).
std::string final_json(const std::vector<const Row *> &rows, const ViewOptions &v, uint64_t missed);

}  // namespace rseqtop
