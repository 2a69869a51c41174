// SPDX-License-Identifier: MIT
// The eBPF abort counter (bpf/rseq_aborts.bpf.c) from user space: checks what the
// machine offers, configures the programs (read-only data, map sizes, which program
// family loads), loads, attaches, and reads counts and events.
#pragma once

#include <linux/types.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rseq_aborts.h"

struct rseq_aborts;
struct rseq_notify;
struct ring_buffer;

namespace rseqtop {

enum class AttachMode { Auto, TpBtf, RawTp };

struct CollectorConfig {
	bool causes = false;
	bool per_thread = false;
	bool filter_pids = false;  // count only tracked processes (track() before attach())
	bool follow = false;       // processes forked by tracked ones become tracked
	std::string cgroup;        // count only tasks in this cgroup v2 directory (and below)
	AttachMode attach = AttachMode::Auto;
	uint32_t max_sequences = 16384;
	std::string btf_path;      // kernel BTF; empty: /sys/kernel/btf/vmlinux
	bool verbose = false;      // libbpf's messages on stderr
};

struct Sample {
	rseq_top_key key;
	rseq_top_count count;  // summed over CPUs
};

class Collector {
public:
	~Collector();
	Collector(const Collector &) = delete;
	Collector &operator=(const Collector &) = delete;

	// Checks privileges, BTF and tracepoints, then loads.  nullptr and a one-line
	// *error (what is missing and how to fix it) on failure.
	static std::unique_ptr<Collector> open(const CollectorConfig &config, std::string *error);

	// Adds a process to the tracked set (filter_pids).
	bool track(pid_t tgid, std::string *error);
	bool attach(std::string *error);

	const std::string &probe_type() const { return probe_type_; }  // "tp_btf" or "raw_tp"
	const std::vector<std::string> &tracepoints() const { return tracepoints_; }
	bool notify_available() const { return notify_ != nullptr && notify_attached_; }
	const std::string &notify_status() const { return notify_status_; }
	const std::string &timings() const { return timings_; }  // of open(), for -v

	// Ring-buffer events: waits up to timeout_ms (0: none, -1: forever).
	int poll_events(int timeout_ms, const std::function<void(const rseq_top_event &)> &handler);
	int events_fd() const;

	bool read_counts(std::vector<Sample> *out, std::string *error);
	void delete_keys(const std::vector<rseq_top_key> &keys);
	std::array<uint64_t, RSEQ_TOP_NR_STATS> read_stats();
	// Aborts the counter never saw: the kernel skips a BPF program that is already
	// running on the CPU (its recursion_misses), which happens where the kernel lets
	// a task running the program be preempted by another that hits the tracepoint.
	uint64_t missed();
	// Notify-resume calls per tgid (empty when that probe is unavailable).
	void read_notify(std::unordered_map<uint32_t, uint64_t> *out);
	// The live generation of tgid (0: none, i.e. no abort since its exec or exit).
	uint32_t current_gen(uint32_t tgid);

private:
	Collector() = default;
	bool load(const CollectorConfig &config, bool raw, std::string *error);
	void open_notify(const CollectorConfig &config, int32_t func_id);

	CollectorConfig config_;
	rseq_aborts *skel_ = nullptr;
	rseq_notify *notify_ = nullptr;
	bool notify_attached_ = false;
	ring_buffer *rb_ = nullptr;
	int cgroup_fd_ = -1;
	int ncpus_ = 1;
	bool batch_ok_ = true;
	std::string probe_type_;
	std::vector<std::string> tracepoints_;
	std::string notify_status_;
	std::string timings_;
	const std::function<void(const rseq_top_event &)> *handler_ = nullptr;
};

// Captured libbpf messages (the last few), for error reports.
std::string libbpf_last_message();

}  // namespace rseqtop
