// SPDX-License-Identifier: MIT
// rseq-inspect: descriptor checks (see check.h and rseq-inspect(1)).
#include "check.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

#include "lines.h"

namespace rseqinspect {

namespace {

constexpr uint64_t kDescriptorSize = 32;
constexpr uint64_t kDescriptorAlign = 32;
constexpr size_t kMaxNameLength = 4096;
// The kernel's deprecated RSEQ_CS_FLAG_NO_RESTART_ON_{PREEMPT,SIGNAL,MIGRATE}.
constexpr uint32_t kDeprecatedFlags = 0x7;

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

Address make_address(const ElfImage &img, const Word &w)
{
	Address a;
	if (!w.ok()) {
		a.why = w.why;
		a.value = w.value;
		return a;
	}
	a.resolved = true;
	a.value = w.value;
	a.display = img.display_address(w.value);
	a.text = img.display_place(w.value);
	if (const Section *s = img.section_containing(w.value))
		a.section = s->name;
	return a;
}

Address make_address(const ElfImage &img, uint64_t addr)
{
	Word w;
	w.status = Word::Status::ok;
	w.value = addr;
	return make_address(img, w);
}

// "0x1139 (in .data)" or "0x1139 (outside every section)".
std::string where(const Address &a)
{
	return a.text + (a.section.empty() ? " (outside every section)" : " (in " + a.section + ")");
}

bool in_executable_section(const ElfImage &img, uint64_t addr)
{
	const Section *s = img.section_containing(addr);
	return s && s->executable();
}

std::string flag_names(uint32_t flags)
{
	static const char *const names[] = {"RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT",
					    "RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL",
					    "RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE"};
	std::string out;
	for (int i = 0; i < 3; i++)
		if (flags & (1u << i))
			out += (out.empty() ? "" : " | ") + std::string(names[i]);
	return out;
}

class Checker {
public:
	Checker(ElfImage &img, const CheckOptions &opt, FileReport *r) : img_(img), opt_(opt), r_(r) {}
	void run();

private:
	void file_defect(std::string msg) { r_->defects.push_back({"table", std::move(msg)}); }
	void warn(const char *check, std::string msg) { r_->warnings.push_back({check, std::move(msg)}); }
	void find_descriptors();
	void read_names();
	void check_descriptor(SequenceReport &seq);
	void check_exit_points();
	void name_sequences();

	ElfImage &img_;
	const CheckOptions &opt_;
	FileReport *r_;
	std::map<uint64_t, std::string> names_;  // descriptor address -> record name
};

void Checker::run()
{
	r_->arch = img_.arch();
	r_->kind = img_.kind();
	r_->signature = opt_.signature ? *opt_.signature : default_signature(img_.arch());
	if (!img_.has_rseq_sections())
		return;
	img_.load_tables();
	find_descriptors();
	for (SequenceReport &seq : r_->sequences)
		if (seq.has_descriptor)
			check_descriptor(seq);
	read_names();
	name_sequences();
	check_exit_points();
	if (opt_.dwarf) {
		LineTable lines(img_);
		r_->has_dwarf = lines.available();
		if (lines.available())
			for (SequenceReport &seq : r_->sequences)
				if (seq.start_ip.resolved)
					seq.file_line = lines.at(seq.start_ip.value);
	}
}

void Checker::find_descriptors()
{
	const Section *ptrs = img_.section_named("__rseq_cs_ptr_array");
	const Section *cs = img_.section_named("__rseq_cs");
	std::set<uint64_t> seen;
	if (ptrs) {
		size_t size = 0;
		if (!img_.section_data(*ptrs, &size) || !ptrs->mapped) {
			file_defect("__rseq_cs_ptr_array has no data in the file");
		} else {
			if (ptrs->size % 8)
				file_defect("__rseq_cs_ptr_array is " + std::to_string(ptrs->size) +
					    " bytes, not a multiple of 8");
			for (uint64_t i = 0; i < size / 8; i++) {
				Word w = img_.read_pointer(ptrs->addr + 8 * i);
				SequenceReport seq;
				if (!w.ok()) {
					seq.descriptor = make_address(img_, w);
					seq.defects.push_back({"pointer", "entry " + std::to_string(i) +
									 " of __rseq_cs_ptr_array cannot be used: " + w.why});
					r_->sequences.push_back(std::move(seq));
					continue;
				}
				if (!seen.insert(w.value).second) {
					warn("duplicate", "descriptor " + img_.display_place(w.value) +
								  " is listed more than once in __rseq_cs_ptr_array");
					continue;
				}
				seq.has_descriptor = true;
				seq.descriptor = make_address(img_, w);
				r_->sequences.push_back(std::move(seq));
			}
		}
	}
	if (!cs)
		return;
	size_t size = 0;
	if (!img_.section_data(*cs, &size) || !cs->mapped) {
		if (!ptrs)
			file_defect("__rseq_cs has no data in the file");
		return;
	}
	if (!ptrs && cs->size % kDescriptorSize)
		file_defect("__rseq_cs is " + std::to_string(cs->size) + " bytes, not a multiple of 32");
	// Descriptors in __rseq_cs the pointer array does not list: every 32-byte slot
	// that overlaps no listed descriptor and is not all zero (alignment padding).
	size_t found = 0;
	for (uint64_t off = 0; off + kDescriptorSize <= size; off += kDescriptorSize) {
		uint64_t slot = cs->addr + off;
		auto next = seen.lower_bound(slot);
		if (next != seen.end() && *next < slot + kDescriptorSize)
			continue;
		if (next != seen.begin() && *std::prev(next) + kDescriptorSize > slot)
			continue;
		uint8_t bytes[kDescriptorSize];
		if (!img_.read(slot, sizeof bytes, bytes))
			continue;
		bool zero = std::all_of(bytes, bytes + sizeof bytes, [](uint8_t b) { return b == 0; });
		if (zero && !img_.has_relocation(slot, kDescriptorSize))
			continue;
		SequenceReport seq;
		seq.has_descriptor = true;
		seq.listed = false;
		seq.descriptor = make_address(img_, slot);
		if (ptrs)
			warn("unlisted", "descriptor " + seq.descriptor.text +
						 " in __rseq_cs is not listed in __rseq_cs_ptr_array");
		r_->sequences.push_back(std::move(seq));
		found++;
	}
	if (!ptrs && found)
		warn("unlisted", "no __rseq_cs_ptr_array: " + std::to_string(found) +
					 " descriptors found by scanning __rseq_cs");
}

void Checker::check_descriptor(SequenceReport &seq)
{
	const uint64_t d = seq.descriptor.value;
	auto add = [&seq](const char *check, std::string msg) { seq.defects.push_back({check, std::move(msg)}); };
	uint8_t bytes[kDescriptorSize];
	if (!img_.read(d, sizeof bytes, bytes)) {
		add("descriptor", "descriptor " + where(seq.descriptor) + " is not 32 bytes of file data");
		return;
	}
	seq.readable = true;
	if (d % kDescriptorAlign)
		add("alignment", "descriptor " + seq.descriptor.text + " is not 32-byte aligned");
	else if (img_.relocatable()) {
		const Section *s = img_.section_containing(d);
		if (s && s->align < kDescriptorAlign)
			add("alignment", "descriptor " + seq.descriptor.text + " is in section " + s->name +
						 ", aligned to only " + std::to_string(s->align) + " bytes");
	}
	// The fields come from the 32 bytes just read: in a file with overlapping
	// sections a second lookup could land elsewhere.
	auto le = [&bytes](size_t off, size_t n) {
		uint64_t v = 0;
		for (size_t i = n; i-- > 0;)
			v = v << 8 | bytes[off + i];
		return v;
	};
	seq.version = static_cast<uint32_t>(le(0, 4));
	seq.flags = static_cast<uint32_t>(le(4, 4));
	seq.post_commit_offset = le(16, 8);
	seq.start_ip = make_address(img_, img_.read_pointer(d + 8));
	seq.abort_ip = make_address(img_, img_.read_pointer(d + 24));
	if (seq.version != 0)
		add("version", "version is " + std::to_string(seq.version) + ", the kernel only accepts 0");
	if (seq.flags & kDeprecatedFlags)
		add("flags-deprecated", "flags " + hex(seq.flags) + " set the deprecated " +
						flag_names(seq.flags & kDeprecatedFlags) +
						", fatal on current kernels");
	if (seq.flags & ~kDeprecatedFlags)
		add("flags-unknown", "flags " + hex(seq.flags) + " set bits the kernel does not define (" +
					     hex(seq.flags & ~kDeprecatedFlags) + ")");

	const Address &start = seq.start_ip;
	const Address &abort = seq.abort_ip;
	const uint64_t len = seq.post_commit_offset;
	bool start_good = false;
	if (!start.resolved)
		add("start", "start_ip cannot be resolved: " + start.why);
	else if (!in_executable_section(img_, start.value))
		add("start", "start_ip " + where(start) + " is not in an executable section");
	else
		start_good = true;
	if (len == 0)
		add("length", "post_commit_offset is 0: the sequence is empty");

	uint64_t end = 0;
	bool end_good = false;
	if (start_good && len > 0) {
		const Section *s = img_.section_containing(start.value);
		if (__builtin_add_overflow(start.value, len, &end)) {
			add("end", "start_ip + post_commit_offset (" + hex(len) + ") overflows");
		} else if (end > s->end()) {
			add("end", "the sequence " + start.text + " + " + hex(len) + " runs past the end of section " +
					   s->name + " by " + hex(end - s->end()) + " bytes");
			end_good = true;  // still a range, for the abort and exit checks
		} else {
			end_good = true;
			if (const Symbol *f = img_.function_containing(start.value)) {
				uint64_t fend = f->addr + f->size;  // no overflow: function_containing checked
				if (end > fend)
					add("end-function", "the sequence " + start.text + " + " + hex(len) +
								    " runs past the end of function " + f->name + " by " +
								    hex(end - fend) + " bytes");
			}
		}
	}

	if (!abort.resolved) {
		add("abort", "abort_ip cannot be resolved: " + abort.why);
		return;
	}
	if (!in_executable_section(img_, abort.value))
		add("abort", "abort_ip " + where(abort) + " is not in an executable section");
	if (end_good && abort.value >= start.value && abort.value < end)
		add("abort-inside", "abort_ip " + abort.text + " is inside the sequence [" + start.text + ", " +
					    img_.display_place(end) + ")");
	// The kernel compares the 4 bytes before abort_ip with the registered signature.
	uint8_t sig[4];
	if (abort.value < 4 || !img_.read(abort.value - 4, 4, sig)) {
		add("signature", "the 4 bytes before abort_ip " + abort.text + " are not file data");
		return;
	}
	uint32_t got = uint32_t(sig[0]) | uint32_t(sig[1]) << 8 | uint32_t(sig[2]) << 16 | uint32_t(sig[3]) << 24;
	if (got != r_->signature) {
		char bytes_text[32];
		snprintf(bytes_text, sizeof bytes_text, "%02x %02x %02x %02x", sig[0], sig[1], sig[2], sig[3]);
		add("signature", "the 4 bytes before abort_ip " + abort.text + " are " + bytes_text + " (" +
					 hex32(got) + "), not the " + (opt_.signature ? "" : arch_name(img_.arch())) +
					 (opt_.signature ? "" : " ") + "signature " + hex32(r_->signature));
	}
}

void Checker::read_names()
{
	const Section *names = img_.section_named("__rseqkit_names");
	if (!names || !names->mapped)
		return;
	size_t size = 0;
	if (!img_.section_data(*names, &size)) {
		warn("name-record", "__rseqkit_names has no data in the file");
		return;
	}
	if (names->size % 16)
		warn("name-record", "__rseqkit_names is " + std::to_string(names->size) +
					    " bytes, not a multiple of 16");
	std::set<uint64_t> descriptors;
	for (const SequenceReport &seq : r_->sequences)
		if (seq.has_descriptor)
			descriptors.insert(seq.descriptor.value);
	for (uint64_t i = 0; i < size / 16; i++) {
		Word cs = img_.read_pointer(names->addr + 16 * i);
		Word name = img_.read_pointer(names->addr + 16 * i + 8);
		std::string rec = "name record " + std::to_string(i);
		if (!cs.ok() || !name.ok()) {
			warn("name-record", rec + " cannot be used: " + (!cs.ok() ? cs.why : name.why));
			continue;
		}
		std::optional<std::string> text = img_.read_string(name.value, kMaxNameLength);
		if (!text) {
			warn("name-record", rec + ": its name at " + img_.display_place(name.value) +
						    " is not a NUL-terminated string in the file");
			continue;
		}
		if (!descriptors.count(cs.value)) {
			warn("name-record", rec + " (\"" + *text + "\") names " + img_.display_place(cs.value) +
						    ", which is no descriptor");
			continue;
		}
		auto [it, inserted] = names_.emplace(cs.value, *text);
		if (!inserted && it->second != *text)
			warn("name-record", rec + " names descriptor " + img_.display_place(cs.value) + " \"" + *text +
						    "\", already named \"" + it->second + "\"");
	}
}

void Checker::name_sequences()
{
	for (SequenceReport &seq : r_->sequences) {
		if (seq.start_ip.resolved)
			seq.function = img_.symbolize(seq.start_ip.value);
		auto it = seq.has_descriptor ? names_.find(seq.descriptor.value) : names_.end();
		if (it != names_.end()) {
			seq.name = it->second;
			seq.name_source = "record";
		} else if (!seq.function.empty()) {
			seq.name = seq.function;
			seq.name_source = "symbol";
		} else {
			seq.name_source = "address";
			if (seq.start_ip.resolved)
				seq.name = seq.start_ip.text;
			else if (seq.has_descriptor)
				seq.name = "descriptor " + seq.descriptor.text;
			else
				seq.name = "entry " + std::to_string(&seq - r_->sequences.data()) +
					   " of __rseq_cs_ptr_array";
		}
	}
}

void Checker::check_exit_points()
{
	const Section *ex = img_.section_named("__rseq_exit_point_array");
	if (!ex || !ex->mapped)
		return;
	size_t size = 0;
	if (!img_.section_data(*ex, &size)) {
		file_defect("__rseq_exit_point_array has no data in the file");
		return;
	}
	if (ex->size % 16)
		file_defect("__rseq_exit_point_array is " + std::to_string(ex->size) +
			    " bytes, not a multiple of 16");
	std::multimap<uint64_t, const SequenceReport *> by_start;
	for (const SequenceReport &seq : r_->sequences)
		if (seq.has_descriptor && seq.start_ip.resolved)
			by_start.emplace(seq.start_ip.value, &seq);
	for (uint64_t i = 0; i < size / 16; i++) {
		ExitPointReport e;
		e.start_ip = make_address(img_, img_.read_pointer(ex->addr + 16 * i));
		e.exit_ip = make_address(img_, img_.read_pointer(ex->addr + 16 * i + 8));
		if (!e.start_ip.resolved) {
			e.defects.push_back({"exit-start", "start_ip cannot be resolved: " + e.start_ip.why});
		} else {
			auto range = by_start.equal_range(e.start_ip.value);
			if (range.first == range.second)
				e.defects.push_back({"exit-orphan", "start_ip " + e.start_ip.text +
									    " is the start of no sequence"});
			for (auto it = range.first; it != range.second; ++it) {
				const SequenceReport &seq = *it->second;
				if (e.sequence.empty())
					e.sequence = seq.name;
				uint64_t end;
				if (!e.exit_ip.resolved || seq.post_commit_offset == 0 ||
				    __builtin_add_overflow(seq.start_ip.value, seq.post_commit_offset, &end))
					continue;
				// An exit point is where a jump out of the sequence lands; one inside
				// the range is no exit, and a debugger stopping there would restart
				// the sequence forever.
				if (e.exit_ip.value >= seq.start_ip.value && e.exit_ip.value < end)
					e.defects.push_back({"exit-inside", "exit_ip " + e.exit_ip.text +
										    " is inside its sequence " + seq.name + " [" +
										    seq.start_ip.text + ", " +
										    img_.display_place(end) + ")"});
			}
		}
		if (!e.exit_ip.resolved)
			e.defects.push_back({"exit-target", "exit_ip cannot be resolved: " + e.exit_ip.why});
		else if (!in_executable_section(img_, e.exit_ip.value))
			e.defects.push_back({"exit-target", "exit_ip " + where(e.exit_ip) +
								    " is not in an executable section"});
		r_->exit_points.push_back(std::move(e));
	}
}

}  // namespace

uint32_t default_signature(Arch arch)
{
	return arch == Arch::x86_64 ? 0x53053053u : 0xd428bc00u;
}

bool FileReport::ok() const
{
	if (!defects.empty())
		return false;
	for (const SequenceReport &s : sequences)
		if (!s.ok())
			return false;
	for (const ExitPointReport &e : exit_points)
		if (!e.ok())
			return false;
	return true;
}

void inspect_image(ElfImage &image, const CheckOptions &options, FileReport *report)
{
	Checker(image, options, report).run();
}

}  // namespace rseqinspect
