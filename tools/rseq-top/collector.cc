// SPDX-License-Identifier: MIT
#include "config.h"

#include "collector.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <deque>

#include "btf-scan.h"
#include "rseq_aborts.skel.h"
#include "rseq_notify.skel.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

namespace rseqtop {
namespace {

constexpr const char *kDefaultBtf = "/sys/kernel/btf/vmlinux";

bool g_verbose = false;
std::deque<std::string> g_messages;

int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	va_list copy;
	va_copy(copy, ap);
	std::vsnprintf(buf, sizeof(buf), fmt, copy);
	va_end(copy);
	if (g_verbose && level != LIBBPF_DEBUG)
		std::fputs(buf, stderr);
	if (level == LIBBPF_DEBUG)
		return 0;
	std::string msg(buf);
	while (!msg.empty() && msg.back() == '\n')
		msg.pop_back();
	g_messages.push_back(msg);
	if (g_messages.size() > 8)
		g_messages.pop_front();
	return 0;
}

// Effective capabilities: CAP_BPF + CAP_PERFMON (5.8+), or CAP_SYS_ADMIN.
bool privileged_enough()
{
	__user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct data[2]{};
	if (syscall(SYS_capget, &hdr, data) != 0)
		return true;  // cannot tell: let the kernel decide at load time
	auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1U; };
	return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

bool ends_with(const char *s, const char *suffix)
{
	size_t n = std::strlen(s), m = std::strlen(suffix);
	return n >= m && std::strcmp(s + n - m, suffix) == 0;
}

double ms_now()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

std::string errno_text(int err)
{
	return std::strerror(err < 0 ? -err : err);
}

}  // namespace

std::string libbpf_last_message()
{
	// The most telling line is usually the last one that names a program or an error.
	for (auto it = g_messages.rbegin(); it != g_messages.rend(); ++it)
		if (it->find("prog '") != std::string::npos || it->find("failed") != std::string::npos)
			return *it;
	return g_messages.empty() ? std::string() : g_messages.back();
}

Collector::~Collector()
{
	if (rb_)
		ring_buffer__free(rb_);
	if (notify_)
		rseq_notify__destroy(notify_);
	if (skel_)
		rseq_aborts__destroy(skel_);
	if (cgroup_fd_ >= 0)
		::close(cgroup_fd_);
}

std::unique_ptr<Collector> Collector::open(const CollectorConfig &config, std::string *error)
{
	g_verbose = config.verbose;
	libbpf_set_print(libbpf_print);

	if (!privileged_enough()) {
		*error = "missing privileges: the BPF counter needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); "
			 "run as root or grant them with 'setcap cap_bpf,cap_perfmon+ep rseq-top'";
		return nullptr;
	}

	const std::string btf_path = config.btf_path.empty() ? kDefaultBtf : config.btf_path;
	if (config.btf_path.empty() && access(kDefaultBtf, F_OK) != 0) {
		*error = std::string("no kernel BTF (") + kDefaultBtf +
			 " is missing): rseq-top needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, "
			 "or a BTF file for it named by RSEQ_TOP_BTF";
		return nullptr;
	}
	std::vector<BtfWanted> want = {
		{"btf_trace_rseq_ip_fixup", BTF_KIND_TYPEDEF},
		{"btf_trace_sched_switch", BTF_KIND_TYPEDEF},
		{"btf_trace_sched_migrate_task", BTF_KIND_TYPEDEF},
		{"btf_trace_signal_deliver", BTF_KIND_TYPEDEF},
		{"__rseq_handle_notify_resume", BTF_KIND_FUNC},
	};
	std::string scan_error;
	double t = ms_now();
	if (!btf_scan(btf_path, &want, &scan_error)) {
		// Not raw BTF (an ELF file with .BTF, say): libbpf reads more formats.
		struct btf *btf = btf__parse(btf_path.c_str(), nullptr);
		if (!btf) {
			*error = "cannot read kernel BTF from " + btf_path + ": " + errno_text(errno);
			return nullptr;
		}
		for (auto &w : want)
			w.id = btf__find_by_name_kind(btf, w.name.c_str(), w.kind);
		btf__free(btf);
	}
	if (want[0].id < 0) {
		*error = "the kernel has no rseq:rseq_ip_fixup tracepoint (needs CONFIG_RSEQ=y, Linux 4.18 or later)";
		return nullptr;
	}
	if (config.causes)
		for (size_t i = 1; i <= 3; i++)
			if (want[i].id < 0) {
				*error = "--causes needs the " + want[i].name.substr(10) +
					 " tracepoint, which this kernel lacks; run without --causes";
				return nullptr;
			}

	std::unique_ptr<Collector> c(new Collector());
	c->config_ = config;
	c->ncpus_ = libbpf_num_possible_cpus();
	if (c->ncpus_ < 1) {
		*error = "cannot tell the number of possible CPUs";
		return nullptr;
	}

	c->timings_ = "BTF check " + std::to_string((int)(ms_now() - t)) + " ms";
	t = ms_now();
	std::string first_error;
	bool loaded = false;
	if (config.attach != AttachMode::RawTp) {
		loaded = c->load(config, false, &first_error);
		if (!loaded && config.attach == AttachMode::TpBtf) {
			*error = first_error;
			return nullptr;
		}
	}
	if (!loaded) {
		std::string raw_error;
		if (!c->load(config, true, &raw_error)) {
			*error = first_error.empty() ? raw_error : first_error + " (raw_tp too: " + raw_error + ")";
			return nullptr;
		}
	}

	if (!config.cgroup.empty()) {
		c->cgroup_fd_ = ::open(config.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->cgroup_fd_ < 0) {
			*error = "cannot open cgroup " + config.cgroup + ": " + errno_text(errno);
			return nullptr;
		}
		uint32_t zero = 0;
		uint32_t fd = static_cast<uint32_t>(c->cgroup_fd_);
		if (bpf_map_update_elem(bpf_map__fd(c->skel_->maps.cgroups), &zero, &fd, BPF_ANY) != 0) {
			*error = "not a cgroup v2 directory: " + config.cgroup;
			return nullptr;
		}
	}

	c->rb_ = ring_buffer__new(
		bpf_map__fd(c->skel_->maps.events),
		[](void *ctx, void *data, size_t size) -> int {
			auto *self = static_cast<Collector *>(ctx);
			if (self->handler_ && size >= sizeof(rseq_top_event)) {
				rseq_top_event ev;
				std::memcpy(&ev, data, sizeof(ev));
				(*self->handler_)(ev);
			}
			return 0;
		},
		c.get(), nullptr);
	if (!c->rb_) {
		*error = "cannot set up the BPF ring buffer: " + errno_text(errno);
		return nullptr;
	}

	c->timings_ += ", load " + std::to_string((int)(ms_now() - t)) + " ms";
	t = ms_now();
	c->open_notify(config, want[4].id);
	c->timings_ += ", notify-resume probe " + std::to_string((int)(ms_now() - t)) + " ms";
	return c;
}

bool Collector::load(const CollectorConfig &config, bool raw, std::string *error)
{
	if (skel_) {
		rseq_aborts__destroy(skel_);
		skel_ = nullptr;
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	if (!config.btf_path.empty())
		opts.btf_custom_path = config.btf_path.c_str();
	skel_ = rseq_aborts__open_opts(&opts);
	if (!skel_) {
		*error = "cannot open the BPF counter: " + errno_text(errno);
		return false;
	}
	skel_->rodata->filter_tgid = config.filter_pids;
	skel_->rodata->follow_forks = config.follow;
	skel_->rodata->filter_cgroup = !config.cgroup.empty();
	skel_->rodata->per_thread = config.per_thread;
	skel_->rodata->with_causes = config.causes;

	const uint32_t maxseq = config.max_sequences ? config.max_sequences : 1;
	if (!raw) {
		// Allocate entries when first used: preallocating 16384 per-CPU entries costs
		// tens of milliseconds at start.  These maps are never written under the
		// scheduler's locks; raw_tp programs of kernels before 6.1 insist on
		// preallocation, so the fallback keeps it.
		for (struct bpf_map *m : {skel_->maps.counts, skel_->maps.procs, skel_->maps.tracked})
			bpf_map__set_map_flags(m, bpf_map__map_flags(m) | BPF_F_NO_PREALLOC);
	}
	bpf_map__set_max_entries(skel_->maps.counts, maxseq);
	bpf_map__set_max_entries(skel_->maps.procs, maxseq < 4096 ? 4096 : maxseq);
	// The per-thread cause state is only needed with causes (an LRU map preallocates).
	bpf_map__set_max_entries(skel_->maps.tasks, config.causes ? 65536 : 1);

	tracepoints_.clear();
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel_->obj)
	{
		const char *name = bpf_program__name(prog);
		bool want = ends_with(name, raw ? "_raw" : "_btf");
		const bool cause = !std::strncmp(name, "switch_", 7) || !std::strncmp(name, "migrate_", 8) ||
				   !std::strncmp(name, "signal_", 7);
		if (cause && !config.causes)
			want = false;
		if (!std::strncmp(name, "fork_", 5) && !config.follow)
			want = false;
		bpf_program__set_autoload(prog, want);
		if (want) {
			// Section "tp_btf/NAME" or "raw_tp/NAME": the tracepoint's name.
			const char *sec = bpf_program__section_name(prog);
			const char *slash = sec ? std::strchr(sec, '/') : nullptr;
			if (slash)
				tracepoints_.push_back(slash + 1);
		}
	}
	const int err = rseq_aborts__load(skel_);
	if (err) {
		std::string detail = libbpf_last_message();
		*error = std::string("cannot load the BPF counter (") + (raw ? "raw_tp" : "tp_btf") +
			 "): " + errno_text(err) + (detail.empty() ? "" : " [" + detail + "]");
		rseq_aborts__destroy(skel_);
		skel_ = nullptr;
		return false;
	}
	probe_type_ = raw ? "raw_tp" : "tp_btf";
	return true;
}

// Can a fentry program attach to the function with this BTF ID?  A trivial program
// tells in a millisecond, where the skeleton would parse the kernel's BTF again first.
static int probe_fentry(int32_t btf_id)
{
	const struct bpf_insn insns[] = {
		{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
		{BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = static_cast<__u32>(btf_id));
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "rseq_top_probe", "Dual MIT/GPL", insns, 2, &opts);
	if (fd < 0)
		return errno ? errno : EINVAL;
	::close(fd);
	return 0;
}

void Collector::open_notify(const CollectorConfig &config, int32_t func_id)
{
	if (func_id < 0) {
		notify_status_ = "unavailable (no __rseq_handle_notify_resume in this kernel)";
		return;
	}
	std::string reasons;
	for (int kprobe = 0; kprobe < 2; kprobe++) {
		if (kprobe && access("/sys/bus/event_source/devices/kprobe", F_OK) != 0) {
			reasons += "; kprobe: no kprobes in this kernel";
			break;
		}
		// BTF IDs of another BTF file mean nothing to this kernel: no quick probe then.
		if (!kprobe && config.btf_path.empty()) {
			const int err = probe_fentry(func_id);
			if (err) {
				reasons += "fentry: " + errno_text(err);
				continue;
			}
		}
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		if (!config.btf_path.empty())
			opts.btf_custom_path = config.btf_path.c_str();
		rseq_notify *n = rseq_notify__open_opts(&opts);
		if (!n) {
			reasons += std::string(kprobe ? "; kprobe: " : "fentry: ") + errno_text(errno);
			continue;
		}
		n->rodata->filter_tgid = config.filter_pids;
		n->rodata->filter_cgroup = !config.cgroup.empty();
		bpf_map__reuse_fd(n->maps.tracked, bpf_map__fd(skel_->maps.tracked));
		bpf_map__reuse_fd(n->maps.cgroups, bpf_map__fd(skel_->maps.cgroups));
		bpf_program__set_autoload(n->progs.notify_fentry, !kprobe);
		bpf_program__set_autoload(n->progs.notify_kprobe, kprobe);
		const int err = rseq_notify__load(n);
		if (err) {
			reasons += std::string(kprobe ? "; kprobe: " : "fentry: ") + errno_text(err);
			rseq_notify__destroy(n);
			continue;
		}
		notify_ = n;
		notify_status_ = kprobe ? "available (kprobe)" : "available (fentry)";
		return;
	}
	notify_status_ = "unavailable (" + reasons + ")";
}

bool Collector::track(pid_t tgid, std::string *error)
{
	uint32_t key = static_cast<uint32_t>(tgid);
	uint8_t one = 1;
	if (bpf_map_update_elem(bpf_map__fd(skel_->maps.tracked), &key, &one, BPF_ANY) != 0) {
		*error = "cannot add process " + std::to_string(tgid) + " to the filter: " + errno_text(errno);
		return false;
	}
	return true;
}

bool Collector::attach(std::string *error)
{
	const int err = rseq_aborts__attach(skel_);
	if (err) {
		*error = "cannot attach to the tracepoints: " + errno_text(err);
		return false;
	}
	if (notify_) {
		const int nerr = rseq_notify__attach(notify_);
		if (nerr) {
			notify_status_ = "unavailable (attach: " + errno_text(nerr) + ")";
			rseq_notify__destroy(notify_);
			notify_ = nullptr;
		} else {
			notify_attached_ = true;
		}
	}
	return true;
}

int Collector::events_fd() const
{
	return ring_buffer__epoll_fd(rb_);
}

int Collector::poll_events(int timeout_ms, const std::function<void(const rseq_top_event &)> &handler)
{
	handler_ = &handler;
	int n = ring_buffer__poll(rb_, timeout_ms);
	handler_ = nullptr;
	return n == -EINTR ? 0 : n;
}

bool Collector::read_counts(std::vector<Sample> *out, std::string *error)
{
	out->clear();
	const int fd = bpf_map__fd(skel_->maps.counts);
	auto add = [&](const rseq_top_key &k, const rseq_top_count *percpu) {
		Sample s{};
		s.key = k;
		for (int cpu = 0; cpu < ncpus_; cpu++) {
			s.count.aborts += percpu[cpu].aborts;
			for (int i = 0; i < RSEQ_TOP_NR_CAUSES; i++)
				s.count.causes[i] += percpu[cpu].causes[i];
		}
		out->push_back(s);
	};

	if (batch_ok_) {
		uint32_t chunk = 256;
		std::vector<rseq_top_key> keys(chunk);
		std::vector<rseq_top_count> vals(static_cast<size_t>(chunk) * ncpus_);
		// The batch token of hash maps is opaque; give it the room of a key.
		rseq_top_key in{}, outb{};
		bool first = true;
		for (;;) {
			uint32_t count = chunk;
			LIBBPF_OPTS(bpf_map_batch_opts, opts);
			int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &outb, keys.data(), vals.data(), &count,
						       &opts);
			if (err && errno == ENOSPC && count == 0) {
				// One hash bucket holds more than a chunk: retry bigger.
				chunk *= 2;
				keys.resize(chunk);
				vals.resize(static_cast<size_t>(chunk) * ncpus_);
				continue;
			}
			if (err && errno != ENOENT) {
				if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
					batch_ok_ = false;  // old kernel: walk the keys instead
					break;
				}
				*error = "cannot read the counts map: " + errno_text(errno);
				return false;
			}
			for (uint32_t i = 0; i < count; i++)
				add(keys[i], &vals[static_cast<size_t>(i) * ncpus_]);
			if (err)
				return true;  // ENOENT: that was the last batch
			in = outb;
			first = false;
		}
	}

	std::vector<rseq_top_count> vals(ncpus_);
	rseq_top_key key{}, next{};
	const rseq_top_key *prev = nullptr;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals.data()) == 0)
			add(key, vals.data());
	}
	return true;
}

void Collector::delete_keys(const std::vector<rseq_top_key> &keys)
{
	const int fd = bpf_map__fd(skel_->maps.counts);
	for (const auto &k : keys)
		bpf_map_delete_elem(fd, &k);
}

uint64_t Collector::missed()
{
	bpf_program *prog = probe_type_ == "raw_tp" ? skel_->progs.ip_fixup_raw : skel_->progs.ip_fixup_btf;
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0)
		return 0;
	return info.recursion_misses;
}

std::array<uint64_t, RSEQ_TOP_NR_STATS> Collector::read_stats()
{
	std::array<uint64_t, RSEQ_TOP_NR_STATS> total{};
	std::vector<uint64_t> vals(ncpus_);
	const int fd = bpf_map__fd(skel_->maps.stats);
	for (uint32_t i = 0; i < RSEQ_TOP_NR_STATS; i++)
		if (bpf_map_lookup_elem(fd, &i, vals.data()) == 0)
			for (int cpu = 0; cpu < ncpus_; cpu++)
				total[i] += vals[cpu];
	return total;
}

void Collector::read_notify(std::unordered_map<uint32_t, uint64_t> *out)
{
	out->clear();
	if (!notify_available())
		return;
	const int fd = bpf_map__fd(notify_->maps.notify);
	std::vector<uint64_t> vals(ncpus_);
	uint32_t key = 0, next = 0;
	const uint32_t *prev = nullptr;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals.data()) == 0) {
			uint64_t sum = 0;
			for (int cpu = 0; cpu < ncpus_; cpu++)
				sum += vals[cpu];
			(*out)[key] = sum;
		}
	}
}

uint32_t Collector::current_gen(uint32_t tgid)
{
	rseq_top_proc p{};
	if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.procs), &tgid, &p) != 0)
		return 0;
	return p.gen;
}

}  // namespace rseqtop
