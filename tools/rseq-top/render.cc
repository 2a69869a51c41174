// SPDX-License-Identifier: MIT
#include "render.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <ctime>

#include "symbols.h"

namespace rseqtop {

namespace {
const char *const kCauseNames[RSEQ_TOP_NR_CAUSES] = {"preempt", "migrate", "signal", "other"};

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, f);
	std::vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return buf;
}

std::string causes_json(const uint64_t *c)
{
	std::string s = "{";
	for (int i = 0; i < RSEQ_TOP_NR_CAUSES; i++)
		s += fmt("%s\"%s\":%" PRIu64, i ? "," : "", kCauseNames[i], c[i]);
	return s + "}";
}

std::string row_json_common(const Row &r, const ViewOptions &v)
{
	std::string s = fmt("{\"pid\":%u,", r.key.tgid);
	if (v.threads)
		s += fmt("\"tid\":%u,", r.key.tid);
	s += "\"comm\":\"" + json_escape(r.comm) + "\",\"name\":\"" + json_escape(r.name) + "\",\"start_ip\":\"" +
	     hex_address(r.key.start_ip) + "\"";
	return s;
}
}  // namespace

std::string json_escape(const std::string &s)
{
	std::string out;
	out.reserve(s.size());
	for (unsigned char c : s) {
		switch (c) {
		case '"':
			out += "\\\"";
			break;
		case '\\':
			out += "\\\\";
			break;
		case '\n':
			out += "\\n";
			break;
		case '\t':
			out += "\\t";
			break;
		default:
			if (c < 0x20)
				out += fmt("\\u%04x", c);
			else
				out += static_cast<char>(c);
		}
	}
	return out;
}

std::vector<std::string> header_lines(const Status &st)
{
	std::string probes = st.probe_type + " (";
	for (size_t i = 0; i < st.tracepoints.size(); i++)
		probes += (i ? " " : "") + st.tracepoints[i];
	probes += ")";
	char when[32] = "";
	time_t t = static_cast<time_t>(st.time);
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	std::vector<std::string> lines;
	lines.push_back(fmt("rseq-top %s - %s  kernel %s  probes: %s", st.version.c_str(), when, st.kernel.c_str(),
			    probes.c_str()));
	lines.push_back("notify-resume probe: " + st.notify_status);
	std::string second = fmt("Aborts: %" PRIu64 " total, %.1f/s  sequences %zu  processes %zu", st.total,
				 st.interval > 0 ? (double)st.delta / st.interval : 0.0, st.sequences, st.processes);
	if (st.dropped)
		second += fmt("  DROPPED %" PRIu64 " (counts map full: raise --max-sequences)", st.dropped);
	if (st.events_lost)
		second += fmt("  events lost %" PRIu64, st.events_lost);
	if (st.missed)
		second += fmt("  MISSED %" PRIu64 " (the kernel skipped the counter)", st.missed);
	second += fmt("  delay %gs  sort %s", st.delay, st.sort.c_str());
	if (!st.filter.empty())
		second += "  pid " + st.filter;
	lines.push_back(second);
	if (!st.workload.empty())
		lines.push_back("Demo: " + st.workload);
	return lines;
}

std::string column_header(const ViewOptions &v, bool final_totals)
{
	std::string s = "    PID ";
	if (v.threads)
		s += "    TID ";
	s += "COMM            ";
	if (!final_totals)
		s += "  ABORTS/s ";
	s += "     TOTAL ";
	if (v.causes)
		s += "  PREEMPT   MIGRATE    SIGNAL     OTHER ";
	if (v.notify && !final_totals)
		s += "ABORT% ";
	return s + "SEQUENCE";
}

std::string row_text(const Row &r, const ViewOptions &v, bool final_totals)
{
	std::string s = fmt("%7u ", r.key.tgid);
	if (v.threads)
		s += fmt("%7u ", r.key.tid);
	s += fmt("%-15.15s ", r.comm.c_str());
	if (!final_totals)
		s += fmt("%10.1f ", r.rate);
	s += fmt("%10" PRIu64 " ", r.total);
	if (v.causes)
		for (int c = 0; c < RSEQ_TOP_NR_CAUSES; c++)
			s += fmt("%9" PRIu64 " ", r.causes[c]);
	if (v.notify && !final_totals)
		s += r.notify_share >= 0 ? fmt("%5.1f%% ", r.notify_share * 100) : std::string("     - ");
	return s + r.name;
}

std::string interval_json(const Status &st, const std::vector<const Row *> &rows, const ViewOptions &v)
{
	std::string s = fmt("{\"time\":%.3f,\"interval\":%.3f,\"kernel\":\"", st.time, st.interval);
	s += json_escape(st.kernel) + "\",\"probe\":\"" + st.probe_type + "\",\"notify_probe\":\"" +
	     json_escape(st.notify_status) + "\"";
	s += fmt(",\"aborts\":%" PRIu64 ",\"total\":%" PRIu64 ",\"rate\":%.1f,\"dropped\":%" PRIu64
		 ",\"missed\":%" PRIu64 ",\"sequences\":[",
		 st.delta, st.total, st.interval > 0 ? (double)st.delta / st.interval : 0.0, st.dropped, st.missed);
	for (size_t i = 0; i < rows.size(); i++) {
		const Row &r = *rows[i];
		s += (i ? "," : "") + row_json_common(r, v);
		s += fmt(",\"aborts\":%" PRIu64 ",\"total\":%" PRIu64 ",\"rate\":%.1f", r.delta, r.total, r.rate);
		if (v.causes)
			s += ",\"causes\":" + causes_json(r.delta_causes);
		if (v.notify && r.notify_share >= 0)
			s += fmt(",\"abort_share\":%.4f", r.notify_share);
		s += "}";
	}
	return s + "]}";
}

std::string final_json(const std::vector<const Row *> &rows, const ViewOptions &v, uint64_t missed)
{
	std::string s = fmt("{\"missed\":%" PRIu64 ",\"sequences\":[", missed);
	for (size_t i = 0; i < rows.size(); i++) {
		const Row &r = *rows[i];
		s += (i ? "," : "") + row_json_common(r, v);
		s += fmt(",\"aborts\":%" PRIu64, r.total);
		if (v.causes)
			s += ",\"causes\":" + causes_json(r.causes);
		s += "}";
	}
	return s + "]}";
}

}  // namespace rseqtop
