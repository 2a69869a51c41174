// SPDX-License-Identifier: MIT
// rseq-inspect: output (see report.h; the JSON schema is in rseq-inspect(1)).
#include "report.h"

#include <cinttypes>
#include <cstdio>

namespace rseqinspect {

namespace {

std::string hex(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "0x%" PRIx64, v);
	return buf;
}

std::string hex32(uint32_t v)
{
	char buf[16];
	snprintf(buf, sizeof buf, "0x%08" PRIx32, v);
	return buf;
}

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_length(const std::string &s, size_t i)
{
	auto c = static_cast<unsigned char>(s[i]);
	size_t n;
	uint32_t min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (i + n > s.size())
		return 0;
	uint32_t cp = c & (0x7f >> n);
	for (size_t k = 1; k < n; k++) {
		auto b = static_cast<unsigned char>(s[i + k]);
		if ((b & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (b & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

// A JSON string: control characters escaped, invalid UTF-8 replaced by U+FFFD.
std::string js(const std::string &s)
{
	std::string out = "\"";
	for (size_t i = 0; i < s.size();) {
		auto c = static_cast<unsigned char>(s[i]);
		if (c == '"' || c == '\\') {
			out += '\\';
			out += static_cast<char>(c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char buf[8];
			snprintf(buf, sizeof buf, "\\u%04x", c);
			out += buf;
			i++;
		} else if (size_t n = utf8_length(s, i)) {
			out.append(s, i, n);
			i += n;
		} else {
			out += "\\ufffd";
			i++;
		}
	}
	return out + "\"";
}

std::string js_or_null(const std::string &s)
{
	return s.empty() ? "null" : js(s);
}

const char *jbool(bool b)
{
	return b ? "true" : "false";
}

std::string json_defects(const std::vector<Defect> &defects)
{
	std::string out = "[";
	for (size_t i = 0; i < defects.size(); i++)
		out += (i ? ", " : "") + std::string("{\"check\": ") + js(defects[i].check) +
		       ", \"message\": " + js(defects[i].message) + "}";
	return out + "]";
}

// "start_ip": "0x1b", "start_section": ".text"
std::string json_address(const char *key, const Address &a)
{
	std::string out = "\"" + std::string(key) + "\": ";
	out += a.resolved ? js(hex(a.display)) : "null";
	std::string sec = key;
	if (sec.size() > 3 && sec.compare(sec.size() - 3, 3, "_ip") == 0)
		sec.resize(sec.size() - 3);
	out += ", \"" + sec + "_section\": " + (a.resolved ? js_or_null(a.section) : "null");
	return out;
}

std::string json_file(const FileReport &f, const char *indent)
{
	std::string in = indent;
	std::string out = in + "{\"path\": " + js(f.path);
	if (!f.error.empty())
		return out + ", \"error\": " + js(f.error) + ", \"ok\": false}";
	out += ", \"arch\": " + js(arch_name(f.arch)) + ", \"type\": " + js(kind_name(f.kind)) +
	       ", \"signature\": " + js(hex32(f.signature)) + ", \"dwarf\": " + jbool(f.has_dwarf) + ",\n";
	out += in + " \"sequences\": [";
	for (size_t i = 0; i < f.sequences.size(); i++) {
		const SequenceReport &s = f.sequences[i];
		out += std::string(i ? "," : "") + "\n" + in + "  {\"name\": " + js(s.name) +
		       ", \"name_source\": " + js(s.name_source) + ", \"function\": " + js_or_null(s.function) +
		       ", " + json_address("descriptor", s.descriptor) + ", \"listed\": " + jbool(s.listed);
		if (s.readable)
			out += ",\n" + in + "   \"version\": " + std::to_string(s.version) + ", \"flags\": " +
			       std::to_string(s.flags) + ", " + json_address("start_ip", s.start_ip) +
			       ", \"post_commit_offset\": " + std::to_string(s.post_commit_offset) + ", " +
			       json_address("abort_ip", s.abort_ip);
		else
			out += ",\n" + in + "   \"version\": null, \"flags\": null, \"start_ip\": null, "
			       "\"start_section\": null, \"post_commit_offset\": null, \"abort_ip\": null, "
			       "\"abort_section\": null";
		out += ",\n" + in + "   \"file_line\": " + js_or_null(s.file_line) + ", \"ok\": " + jbool(s.ok()) +
		       ", \"defects\": " + json_defects(s.defects) + "}";
	}
	out += std::string(f.sequences.empty() ? "" : "\n" + in + " ") + "],\n";
	out += in + " \"exit_points\": [";
	for (size_t i = 0; i < f.exit_points.size(); i++) {
		const ExitPointReport &e = f.exit_points[i];
		out += std::string(i ? "," : "") + "\n" + in + "  {" + json_address("start_ip", e.start_ip) + ", " +
		       json_address("exit_ip", e.exit_ip) + ", \"sequence\": " + js_or_null(e.sequence) +
		       ", \"ok\": " + jbool(e.ok()) + ", \"defects\": " + json_defects(e.defects) + "}";
	}
	out += std::string(f.exit_points.empty() ? "" : "\n" + in + " ") + "],\n";
	out += in + " \"defects\": " + json_defects(f.defects) + ", \"warnings\": " + json_defects(f.warnings) +
	       ", \"ok\": " + jbool(f.ok()) + "}";
	return out;
}

std::string json_file_list(const std::vector<FileReport> &files)
{
	std::string out = "\"files\": [";
	for (size_t i = 0; i < files.size(); i++)
		out += std::string(i ? ",\n" : "\n") + json_file(files[i], "  ");
	return out + (files.empty() ? "]" : "\n ]");
}

const char *kind_phrase(Kind k)
{
	switch (k) {
	case Kind::executable: return "executable";
	case Kind::pie: return "PIE executable";
	case Kind::shared: return "shared object";
	case Kind::relocatable: return "relocatable object";
	}
	return "?";
}

std::string plural(size_t n, const char *one, const char *many)
{
	return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string text_file(const FileReport &f, bool also_empty)
{
	std::string path = printable(f.path);
	if (!f.error.empty())
		return "";  // the error went to stderr
	if (f.sequences.empty() && f.exit_points.empty() && f.defects.empty() && f.warnings.empty()) {
		if (!also_empty)
			return "";
		return path + ": " + arch_name(f.arch) + " " + kind_phrase(f.kind) + ", no rseq sequences\n";
	}
	size_t bad = 0;
	for (const SequenceReport &s : f.sequences)
		bad += !s.ok();
	std::string out = path + ": " + arch_name(f.arch) + " " + kind_phrase(f.kind) + ", " +
			  plural(f.sequences.size(), "sequence", "sequences");
	if (bad)
		out += " (" + std::to_string(bad) + " defective)";
	if (!f.exit_points.empty())
		out += ", " + plural(f.exit_points.size(), "exit point", "exit points");
	out += "\n";
	size_t width = 4;
	for (const SequenceReport &s : f.sequences)
		width = std::max(width, printable(s.name).size());
	width = std::min<size_t>(width, 40);
	for (const SequenceReport &s : f.sequences) {
		std::string name = printable(s.name);
		name.resize(std::max(name.size(), width), ' ');
		out += std::string("  ") + (s.ok() ? "ok   " : "BAD  ") + name;
		if (s.readable) {
			out += "  start " + (s.start_ip.resolved ? s.start_ip.text : "?") + ", " +
			       std::to_string(s.post_commit_offset) + " bytes, abort " +
			       (s.abort_ip.resolved ? s.abort_ip.text : "?");
		}
		if (!s.file_line.empty())
			out += "  (" + printable(s.file_line) + ")";
		out += "\n";
	}
	for (const Defect &d : f.defects)
		out += path + ": " + d.check + ": " + printable(d.message) + "\n";
	for (const SequenceReport &s : f.sequences)
		for (const Defect &d : s.defects)
			out += path + ": " + printable(s.name) + ": " + d.check + ": " + printable(d.message) + "\n";
	for (const ExitPointReport &e : f.exit_points)
		for (const Defect &d : e.defects)
			out += path + ": exit point " + (e.start_ip.resolved ? e.start_ip.text : "?") + " -> " +
			       (e.exit_ip.resolved ? e.exit_ip.text : "?") +
			       (e.sequence.empty() ? "" : " of " + printable(e.sequence)) + ": " + d.check + ": " +
			       printable(d.message) + "\n";
	for (const Defect &w : f.warnings)
		out += path + ": warning: " + w.check + ": " + printable(w.message) + "\n";
	return out;
}

}  // namespace

std::string printable(const std::string &s)
{
	std::string out;
	for (unsigned char c : s) {
		if (c < 0x20 || c >= 0x7f || c == '\\') {
			char buf[8];
			snprintf(buf, sizeof buf, "\\x%02x", c);
			out += buf;
		} else {
			out += static_cast<char>(c);
		}
	}
	return out;
}

int exit_status(const std::vector<FileReport> &files)
{
	int status = 0;
	for (const FileReport &f : files) {
		if (!f.error.empty())
			return 2;
		if (!f.ok())
			status = 1;
	}
	return status;
}

std::string json_files(const std::vector<FileReport> &files, int status)
{
	return "{" + json_file_list(files) + ",\n \"ok\": " + jbool(status == 0) +
	       ", \"exit_status\": " + std::to_string(status) + "}\n";
}

std::string json_process(const ProcessReport &p, int status)
{
	std::string out = "{\"pid\": " + std::to_string(p.pid) + ", \"command\": " + js(p.command) +
			  ", \"glibc_rseq_offset\": " + (p.glibc_rseq ? std::to_string(p.glibc_rseq_offset) : "null") +
			  ", \"glibc_rseq_size\": " + (p.glibc_rseq ? std::to_string(p.glibc_rseq_size) : "null") +
			  ",\n \"threads\": [";
	for (size_t i = 0; i < p.threads.size(); i++) {
		const ThreadReport &t = p.threads[i];
		out += std::string(i ? "," : "") + "\n  {\"tid\": " + std::to_string(t.tid) + ", \"name\": " + js(t.name);
		if (!t.error.empty()) {
			out += ", \"error\": " + js(t.error) + "}";
			continue;
		}
		out += ", \"registered\": " + std::string(jbool(t.registered));
		if (t.registered) {
			out += ", \"area\": " + js(hex(t.area)) + ", \"length\": " + std::to_string(t.length) +
			       ", \"signature\": " + js(hex32(t.signature)) + ", \"flags\": " + std::to_string(t.flags) +
			       ", \"owner\": " + js(t.owner) + ", \"owner_objects\": [";
			for (size_t k = 0; k < t.owner_objects.size(); k++)
				out += (k ? ", " : "") + js(t.owner_objects[k]);
			out += "]";
			if (t.area_read)
				out += ",\n   \"cpu_id_start\": " + std::to_string(t.cpu_id_start) +
				       ", \"cpu_id\": " + std::to_string(static_cast<int32_t>(t.cpu_id)) +
				       ", \"rseq_cs\": " + js(hex(t.rseq_cs)) + ", \"node_id\": " + std::to_string(t.node_id) +
				       ", \"mm_cid\": " + std::to_string(t.mm_cid);
		}
		out += "}";
	}
	out += std::string(p.threads.empty() ? "" : "\n ") + "],\n " + json_file_list(p.files) +
	       ",\n \"ok\": " + jbool(status == 0) + ", \"exit_status\": " + std::to_string(status) + "}\n";
	return out;
}

std::string text_files(const std::vector<FileReport> &files, bool also_empty)
{
	std::string out;
	for (const FileReport &f : files)
		out += text_file(f, also_empty);
	return out;
}

std::string text_process(const ProcessReport &p)
{
	std::string out = "process " + std::to_string(p.pid) + " (" + printable(p.command) + "): " +
			  plural(p.threads.size(), "thread", "threads");
	if (p.glibc_rseq)
		out += "; glibc's area at thread pointer + " + std::to_string(p.glibc_rseq_offset) +
		       " (__rseq_size " + std::to_string(p.glibc_rseq_size) + ")";
	else
		out += "; no glibc rseq support found";
	out += "\n";
	char line[512];
	snprintf(line, sizeof line, "  %-8s %-16s %-12s %-18s %4s %-10s %5s %6s %4s\n", "TID", "NAME", "OWNER", "AREA",
		 "LEN", "SIGNATURE", "CPU", "MM_CID", "NODE");
	out += line;
	for (const ThreadReport &t : p.threads) {
		std::string name = printable(t.name);
		if (!t.error.empty()) {
			snprintf(line, sizeof line, "  %-8d %-16s error: %s\n", t.tid, name.c_str(), printable(t.error).c_str());
		} else if (!t.registered) {
			snprintf(line, sizeof line, "  %-8d %-16s %-12s (no rseq area registered)\n", t.tid, name.c_str(),
				 "UNREGISTERED");
		} else {
			std::string cpu = t.area_read ? std::to_string(static_cast<int32_t>(t.cpu_id)) : "?";
			std::string cid = t.area_read ? std::to_string(t.mm_cid) : "?";
			std::string node = t.area_read ? std::to_string(t.node_id) : "?";
			snprintf(line, sizeof line, "  %-8d %-16s %-12s %-18s %4u %-10s %5s %6s %4s\n", t.tid, name.c_str(),
				 t.owner.c_str(), hex(t.area).c_str(), t.length, hex32(t.signature).c_str(), cpu.c_str(),
				 cid.c_str(), node.c_str());
		}
		out += line;
		if (t.registered && t.error.empty() && !t.owner_objects.empty()) {
			std::string objs;
			for (size_t k = 0; k < t.owner_objects.size(); k++)
				objs += (k ? " or " : "") + printable(t.owner_objects[k]);
			out += "           __rseq_abi of " + objs + "\n";
		}
	}
	size_t with = 0;
	for (const FileReport &f : p.files)
		with += !f.sequences.empty() || !f.exit_points.empty() || !f.defects.empty();
	out += "loaded objects: " + std::to_string(p.files.size()) + " checked, " + std::to_string(with) +
	       " with rseq sequences\n";
	out += text_files(p.files, false);
	return out;
}

}  // namespace rseqinspect
