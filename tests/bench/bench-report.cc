// SPDX-License-Identifier: MIT
// bench-report FILE.json [--check]: reads the JSON output of percpu-bench (Google
// Benchmark's --benchmark_out_format=json), prints the table and the ratios of the
// project's speed targets, computed from that one run, and whether each holds.
// With --check, exits 1 when a target does not hold.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "json.h"

namespace {

struct result {
	std::string name;  // without the /real_time/threads:N suffixes
	int threads = 1;
	double ips = 0;  // items (operations) per second, all threads together
};

std::string base_name(const std::string &full)
{
	return full.substr(0, full.find('/'));
}

}  // namespace

int main(int argc, char **argv)
{
	const char *path = nullptr;
	bool check = false;
	for (int i = 1; i < argc; ++i) {
		if (strcmp(argv[i], "--check") == 0)
			check = true;
		else if (!path)
			path = argv[i];
		else {
			fprintf(stderr, "bench-report: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: bench-report FILE.json [--check]\n");
		return 2;
	}
	std::ifstream in(path);
	if (!in) {
		fprintf(stderr, "bench-report: cannot read %s\n", path);
		return 2;
	}
	std::stringstream ss;
	ss << in.rdbuf();
	const std::string text = ss.str();
	json::value doc;
	json::parser p(text);
	if (!p.parse(doc) || doc["benchmarks"].k != json::value::array) {
		fprintf(stderr, "bench-report: %s: not Google Benchmark JSON (%s)\n", path, p.error().c_str());
		return 2;
	}

	// One result per benchmark and thread count: the median when there are
	// repetitions, else the run itself.
	std::vector<result> results;
	std::map<std::string, size_t> index;
	bool medians = false;
	for (const json::value &b : doc["benchmarks"].items)
		if (b["aggregate_name"].text == "median")
			medians = true;
	for (const json::value &b : doc["benchmarks"].items) {
		if (b.has("error_occurred") && b["error_occurred"].b) {
			fprintf(stderr, "bench-report: %s failed: %s\n", b["name"].text.c_str(),
				b["error_message"].text.c_str());
			continue;
		}
		const std::string type = b["run_type"].text;
		if (medians ? (type != "aggregate" || b["aggregate_name"].text != "median") : type == "aggregate")
			continue;
		result r;
		r.name = base_name(b.has("run_name") ? b["run_name"].text : b["name"].text);
		r.threads = b.has("threads") ? static_cast<int>(b["threads"].u64()) : 1;
		r.ips = b["items_per_second"].num();
		const std::string key = r.name + "/" + std::to_string(r.threads);
		if (index.count(key))
			continue;
		index[key] = results.size();
		results.push_back(r);
	}
	auto ips = [&](const char *name, int threads) -> double {
		auto it = index.find(std::string(name) + "/" + std::to_string(threads));
		return it == index.end() ? 0 : results[it->second].ips;
	};

	printf("%-34s %7s %12s %14s\n", "benchmark", "threads", "ns/op", "Mops/s (all)");
	for (const result &r : results) {
		const double per_thread = r.ips / r.threads;
		printf("%-34s %7d %12.2f %14.1f\n", r.name.c_str() + (r.name.rfind("BM_", 0) == 0 ? 3 : 0), r.threads,
		       per_thread > 0 ? 1e9 / per_thread : 0.0, r.ips / 1e6);
	}

	struct target {
		const char *what;
		double ratio;
		const char *op;
		double limit;
	};
	const double tls1 = ips("BM_counter_tls_increment", 1), add1 = ips("BM_counter_percpu_add", 1);
	const double add2 = ips("BM_counter_percpu_add", 2), shared2 = ips("BM_counter_shared_atomic", 2);
	const double tlsload = ips("BM_cpu_tls_load", 1), cur = ips("BM_cpu_rseqkit_current_cpu", 1);
	const target targets[] = {
		{"per-CPU add / thread-local ++, 1 thread (time)", add1 > 0 ? tls1 / add1 : 0, "<=", 5},
		{"per-CPU add / shared atomic, 2 threads (throughput)", shared2 > 0 ? add2 / shared2 : 0, ">=", 14},
		{"rseqkit_current_cpu() / TLS load (time)", cur > 0 ? tlsload / cur : 0, "<=", 2},
	};
	printf("\n%-54s %8s %8s  %s\n", "target", "ratio", "limit", "holds");
	bool all = true;
	for (const target &t : targets) {
		const bool known = t.ratio > 0;
		const bool holds = known && (t.op[0] == '<' ? t.ratio <= t.limit : t.ratio >= t.limit);
		all = all && holds;
		printf("%-54s %8.2f %5s%3.0f  %s\n", t.what, t.ratio, t.op, t.limit,
		       !known ? "UNKNOWN (benchmark missing)" : holds ? "yes" : "NO");
	}

	// For the reader: the other alternatives and the fallback, as ratios of the same run.
	const double getcpu2 = ips("BM_counter_sched_getcpu_atomic", 2), locked1 = ips("BM_locked_counter_add", 1);
	printf("\n%-54s %8s\n", "other ratios", "ratio");
	if (getcpu2 > 0)
		printf("%-54s %8.2f\n", "per-CPU add / sched_getcpu() atomic slot, 2 threads", add2 / getcpu2);
	if (ips("BM_counter_shared_atomic", 1) > 0)
		printf("%-54s %8.2f\n", "per-CPU add / shared atomic, 1 thread",
		       add1 / ips("BM_counter_shared_atomic", 1));
	if (locked1 > 0)
		printf("%-54s %8.2f\n", "per-CPU add / locked-mode add, 1 thread", add1 / locked1);
	if (ips("BM_cpu_sched_getcpu", 1) > 0)
		printf("%-54s %8.2f\n", "rseqkit_current_cpu() / sched_getcpu()", cur / ips("BM_cpu_sched_getcpu", 1));
	if (ips("BM_cpu_getcpu_syscall", 1) > 0)
		printf("%-54s %8.2f\n", "rseqkit_current_cpu() / getcpu system call",
		       cur / ips("BM_cpu_getcpu_syscall", 1));
	if (ips("BM_locked_stack_push_pop", 1) > 0)
		printf("%-54s %8.2f\n", "stack push+pop / locked-mode push+pop, 1 thread",
		       ips("BM_stack_push_pop", 1) / ips("BM_locked_stack_push_pop", 1));
	return check && !all ? 1 : 0;
}
