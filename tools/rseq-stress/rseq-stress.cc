// SPDX-License-Identifier: MIT
// rseq-stress: runs per-CPU operation families on many threads, with delays inside the
// sequences, signals and yields, then checks each family's invariant exactly and
// reports, per sequence, the commits and kernel aborts it saw.  See rseq-stress(1).
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <rseqkit/index.h>
#include <rseqkit/rseqkit.h>

#include "sequences.h"

namespace {

using namespace stress;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// ---- families and their sequences ----

enum family : int { fam_add, fam_cmpeq, fam_list, fam_buffer, fam_memcpy, fam_offset_add, fam_count };

const char *const family_names[fam_count] = {"add", "cmpeq", "list", "buffer", "memcpy", "offset-add"};

struct family_seqs {
	seq s[2];
	int n;
};
const family_seqs family_sequences[fam_count] = {
	{{seq_add, seq_add}, 1},
	{{seq_cmpeq, seq_cmpeq}, 1},
	{{seq_list_push, seq_list_pop}, 2},
	{{seq_buffer_push, seq_buffer_pop}, 2},
	{{seq_memcpy_push, seq_memcpy_pop}, 2},
	{{seq_offset_add, seq_offset_add}, 1},
};

family family_of(seq s)
{
	for (int f = 0; f < fam_count; ++f)
		for (int k = 0; k < family_sequences[f].n; ++k)
			if (family_sequences[f].s[k] == s)
				return static_cast<family>(f);
	return fam_count;
}

// ---- options ----

struct options {
	unsigned families = 0;    // bit per family
	int threads = 0;          // 0: twice the online CPUs
	long long ops = -1;       // per thread and family; -1: not given
	double duration = -1;     // seconds; -1: not given
	long delay = 0;           // loops before each commit
	long signal_us = 0;       // 0: no signals
	bool yield = false;
	rseqkit_index kind = RSEQKIT_INDEX_CPU_ID;
	bool json = false;
};

constexpr long long kDefaultOps = 100000;

[[noreturn]] void usage_error(const char *fmt, const char *arg)
{
	fputs("rseq-stress: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see rseq-stress --help)\n", stderr);
	exit(kExitUsage);
}

void print_help()
{
	printf("Usage: rseq-stress [OPTION]...\n"
	       "Run per-CPU operations built on restartable sequences on many threads, check\n"
	       "their results exactly, and count each sequence's commits and aborts.\n"
	       "\n"
	       "  --op FAMILY[,FAMILY...]  add, cmpeq, list, buffer, memcpy, offset-add, or all\n"
	       "                           (default: all)\n"
	       "  --threads N              worker threads (default: twice the online CPUs)\n"
	       "  --ops N                  operations per thread and family (default: %lld)\n"
	       "  --duration SEC           run for SEC seconds instead (decimals allowed)\n"
	       "  --delay N                spin N loops inside each sequence, before its commit\n"
	       "  --signal-every-us N      send every worker a signal every N microseconds\n"
	       "  --yield                  call sched_yield() after every operation\n"
	       "  --index cpu|mm_cid       index per-CPU data by CPU number or by mm_cid\n"
	       "  --json                   print one JSON document instead of the table\n"
	       "  --help                   print this help and exit\n"
	       "  --version                print the version and exit\n"
	       "\n"
	       "Exit status: 0 every invariant held, 1 an invariant failed, 2 bad arguments.\n",
	       kDefaultOps);
}

// A whole decimal number in [lo, hi], or a usage error naming the option.
long long parse_count(const char *opt, const char *arg, long long lo, long long hi)
{
	errno = 0;
	char *end = nullptr;
	long long v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi || arg[0] == '-' || arg[0] == '+' ||
	    arg[0] == ' ') {
		std::string msg = std::string(opt) + ": expected a whole number from " + std::to_string(lo) + " to " +
				  std::to_string(hi) + ", got '%s'";
		usage_error(msg.c_str(), arg);
	}
	return v;
}

unsigned parse_families(const char *arg)
{
	unsigned mask = 0;
	std::string s(arg);
	size_t pos = 0;
	for (;;) {
		size_t comma = s.find(',', pos);
		std::string name = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
		bool found = false;
		if (name == "all") {
			mask |= (1u << fam_count) - 1;
			found = true;
		}
		for (int f = 0; f < fam_count && !found; ++f)
			if (name == family_names[f]) {
				mask |= 1u << f;
				found = true;
			}
		if (!found)
			usage_error("--op: unknown family '%s' (add, cmpeq, list, buffer, memcpy, offset-add, all)",
				    name.c_str());
		if (comma == std::string::npos)
			break;
		pos = comma + 1;
	}
	return mask;
}

options parse_options(int argc, char **argv)
{
	enum { o_op = 256, o_threads, o_ops, o_duration, o_delay, o_signal, o_yield, o_index, o_json, o_help, o_version };
	static const struct option longopts[] = {
		{"op", required_argument, nullptr, o_op},
		{"threads", required_argument, nullptr, o_threads},
		{"ops", required_argument, nullptr, o_ops},
		{"duration", required_argument, nullptr, o_duration},
		{"delay", required_argument, nullptr, o_delay},
		{"signal-every-us", required_argument, nullptr, o_signal},
		{"yield", no_argument, nullptr, o_yield},
		{"index", required_argument, nullptr, o_index},
		{"json", no_argument, nullptr, o_json},
		{"help", no_argument, nullptr, o_help},
		{"version", no_argument, nullptr, o_version},
		{nullptr, 0, nullptr, 0},
	};
	options o;
	opterr = 0;  // our own one-line messages
	int c;
	while ((c = getopt_long(argc, argv, ":", longopts, nullptr)) != -1) {
		switch (c) {
		case o_op: o.families = parse_families(optarg); break;
		case o_threads: o.threads = static_cast<int>(parse_count("--threads", optarg, 1, 4096)); break;
		case o_ops: o.ops = parse_count("--ops", optarg, 1, 1000000000000LL); break;
		case o_duration: {
			errno = 0;
			char *end = nullptr;
			double d = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(d > 0) || d > 86400)
				usage_error("--duration: expected seconds, more than 0 and at most 86400, got '%s'", optarg);
			o.duration = d;
			break;
		}
		case o_delay: o.delay = static_cast<long>(parse_count("--delay", optarg, 0, 1000000000)); break;
		case o_signal: o.signal_us = static_cast<long>(parse_count("--signal-every-us", optarg, 0, 1000000000)); break;
		case o_yield: o.yield = true; break;
		case o_index:
			if (strcmp(optarg, "cpu") == 0 || strcmp(optarg, "cpu_id") == 0)
				o.kind = RSEQKIT_INDEX_CPU_ID;
			else if (strcmp(optarg, "mm_cid") == 0)
				o.kind = RSEQKIT_INDEX_MM_CID;
			else
				usage_error("--index: expected cpu or mm_cid, got '%s'", optarg);
			break;
		case o_json: o.json = true; break;
		case o_help: print_help(); exit(kExitOk);
		case o_version: printf("rseq-stress (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); exit(kExitOk);
		case ':': usage_error("option '%s' needs an argument", argv[optind - 1]);
		default: usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o.ops >= 0 && o.duration >= 0)
		usage_error("%s", "--ops and --duration exclude each other");
	if (o.families == 0)
		o.families = (1u << fam_count) - 1;
	if (o.ops < 0 && o.duration < 0)
		o.ops = kDefaultOps;
	if (o.threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o.threads = cpus > 0 ? static_cast<int>(cpus > 2048 ? 4096 : 2 * cpus) : 2;
	}
	return o;
}

// ---- the descriptors, from the __rseqkit_names records of this executable ----

struct name_record {
	uint64_t cs;
	uint64_t name;
};
struct rseq_cs_desc {
	uint32_t version;
	uint32_t flags;
	uint64_t start_ip;
	uint64_t post_commit_offset;
	uint64_t abort_ip;
};

extern "C" {
extern const name_record __start___rseqkit_names[] __attribute__((weak, visibility("hidden")));
extern const name_record __stop___rseqkit_names[] __attribute__((weak, visibility("hidden")));
}

struct descriptor {
	int found = 0;  // descriptors with this name
	uint64_t start_ip = 0;
};

descriptor find_descriptor(const char *name)
{
	descriptor d;
	if (!__start___rseqkit_names)
		return d;
	for (const name_record *r = __start___rseqkit_names; r < __stop___rseqkit_names; ++r) {
		if (r->name == 0 || r->cs == 0 || strcmp(reinterpret_cast<const char *>(r->name), name) != 0)
			continue;
		++d.found;
		d.start_ip = reinterpret_cast<const rseq_cs_desc *>(r->cs)->start_ip;
	}
	return d;
}

// ---- counts ----

struct counts {
	uint64_t attempts = 0;       // calls of the operation's function
	uint64_t commits = 0;        // the sequence committed
	uint64_t aborts = 0;         // the kernel aborted it
	uint64_t stale = 0;          // the index was stale (nothing ran)
	uint64_t compare_failed = 0; // the compare step left the sequence
	uint64_t locked_commits = 0; // committed under the lock (locked mode)
	uint64_t locked_compare_failed = 0;

	void note(int r)
	{
		++attempts;
		switch (r) {
		case stress::committed: ++commits; break;
		case stress::aborted: ++aborts; break;
		case stress::stale: ++stale; break;
		case stress::compare_failed: ++compare_failed; break;
		case stress::locked_committed: ++locked_commits; break;
		default: ++locked_compare_failed; break;
		}
	}
	void operator+=(const counts &o)
	{
		attempts += o.attempts;
		commits += o.commits;
		aborts += o.aborts;
		stale += o.stale;
		compare_failed += o.compare_failed;
		locked_commits += o.locked_commits;
		locked_compare_failed += o.locked_compare_failed;
	}
	uint64_t all_commits() const { return commits + locked_commits; }
};

bool done(int r)
{
	return r == committed || r == locked_committed;
}
bool empty_or_failed(int r)
{
	return r == compare_failed || r == locked_compare_failed;
}

struct alignas(64) thread_stats {
	counts c[seq_count];
	uint64_t ops[fam_count] = {};
	uint64_t empty[fam_count] = {};  // pops that found the caller's list or array empty
	uint64_t full = 0;               // pushes that found an array full (never expected)
	rseqkit_owner owner = RSEQKIT_OWNER_NONE;
};

// ---- the shared data ----

template <class T> struct alignas(64) padded {
	T v{};
};

struct list_node {
	intptr_t id;
	intptr_t next;  // not at offset 0: the pop's load at an offset is exercised
};

struct array {
	intptr_t top = 0;  // address of the first free entry
	intptr_t base = 0;
	intptr_t end = 0;
};

struct record {  // what the memcpy family copies in and out
	intptr_t id;
	intptr_t check;  // ~id
	intptr_t pad[2];
};

struct target {
	intptr_t before;  // must stay 0: the add at an offset touches `count` only
	intptr_t count;
	intptr_t after;
};

constexpr int kPerIndex = 32;      // list nodes, buffer and memcpy items per index
constexpr int kMaxItems = 2048;    // ... at most this many in all

struct world {
	rseqkit_index kind;
	int count;  // indexes
	int items;  // list nodes, buffer items, memcpy records
	std::vector<padded<intptr_t>> add_cells, cmpeq_cells, offset_ptrs;
	std::vector<padded<target>> targets;
	std::vector<padded<intptr_t>> heads;
	std::vector<list_node> nodes;
	std::vector<padded<array>> bufs, mbufs;
	std::vector<intptr_t> buf_storage;  // count * items entries
	std::vector<intptr_t> buf_items;    // the items (their addresses are pushed)
	std::vector<record> mstorage;       // count * items records

	explicit world(rseqkit_index k) : kind(k), count(rseqkit_index_count())
	{
		items = count * kPerIndex > kMaxItems ? kMaxItems : count * kPerIndex;
		size_t n = static_cast<size_t>(count);
		add_cells.resize(n);
		cmpeq_cells.resize(n);
		offset_ptrs.resize(n);
		targets.resize(n);
		for (size_t i = 0; i < n; ++i)
			offset_ptrs[i].v = reinterpret_cast<intptr_t>(&targets[i].v);
		heads.resize(n);
		nodes.resize(static_cast<size_t>(items));
		bufs.resize(n);
		mbufs.resize(n);
		// Every array can hold every item: a push never finds it full.
		buf_storage.resize(n * static_cast<size_t>(items));
		mstorage.resize(n * static_cast<size_t>(items));
		buf_items.resize(static_cast<size_t>(items));
		for (size_t i = 0; i < n; ++i) {
			array &b = bufs[i].v;
			b.base = b.top = reinterpret_cast<intptr_t>(&buf_storage[i * static_cast<size_t>(items)]);
			b.end = b.base + static_cast<intptr_t>(static_cast<size_t>(items) * sizeof(intptr_t));
			array &m = mbufs[i].v;
			m.base = m.top = reinterpret_cast<intptr_t>(&mstorage[i * static_cast<size_t>(items)]);
			m.end = m.base + static_cast<intptr_t>(static_cast<size_t>(items) * sizeof(record));
		}
		// Spread the nodes and items over all indexes, round robin.
		for (int i = 0; i < items; ++i) {
			size_t at = static_cast<size_t>(i % count);
			list_node &nd = nodes[static_cast<size_t>(i)];
			nd.id = i;
			nd.next = heads[at].v;
			heads[at].v = reinterpret_cast<intptr_t>(&nd);
			buf_items[static_cast<size_t>(i)] = i;
			array &b = bufs[at].v;
			*reinterpret_cast<intptr_t *>(b.top) = reinterpret_cast<intptr_t>(&buf_items[static_cast<size_t>(i)]);
			b.top += static_cast<intptr_t>(sizeof(intptr_t));
			array &m = mbufs[at].v;
			*reinterpret_cast<record *>(m.top) = record{i, ~static_cast<intptr_t>(i), {0, 0}};
			m.top += static_cast<intptr_t>(sizeof(record));
		}
	}
};

intptr_t load(const intptr_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

// ---- one operation of each family, retried until it is done ----

void run_add(world &w, thread_stats &st)
{
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		int r = op_add(w.kind, &w.add_cells[i].v, 1, i);
		st.c[seq_add].note(r);
		if (done(r))
			return;
	}
}

void run_cmpeq(world &w, thread_stats &st)
{
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		intptr_t *v = &w.cmpeq_cells[i].v;
		intptr_t old = load(v);
		int r = op_cmpeq(w.kind, v, old, old + 1, i);
		st.c[seq_cmpeq].note(r);
		if (done(r))
			return;
	}
}

void run_list(world &w, thread_stats &st)
{
	intptr_t node = 0;
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		int r = op_list_pop(w.kind, &w.heads[i].v, static_cast<long>(offsetof(list_node, next)), &node, i);
		st.c[seq_list_pop].note(r);
		if (done(r))
			break;
		if (empty_or_failed(r)) {
			++st.empty[fam_list];
			return;
		}
	}
	intptr_t *next = &reinterpret_cast<list_node *>(node)->next;
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		intptr_t *head = &w.heads[i].v;
		int r = op_list_push(w.kind, head, load(head), next, node, i);
		st.c[seq_list_push].note(r);
		if (done(r))
			return;
	}
}

void run_buffer(world &w, thread_stats &st)
{
	intptr_t item = 0;
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		array &b = w.bufs[i].v;
		int r = op_buffer_pop(w.kind, &b.top, b.base, &item, i);
		st.c[seq_buffer_pop].note(r);
		if (done(r))
			break;
		if (empty_or_failed(r)) {
			++st.empty[fam_buffer];
			return;
		}
	}
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		array &b = w.bufs[i].v;
		intptr_t top = load(&b.top);
		if (top == b.end) {
			++st.full;
			sched_yield();
			continue;
		}
		int r = op_buffer_push(w.kind, &b.top, top, item, i);
		st.c[seq_buffer_push].note(r);
		if (done(r))
			return;
	}
}

void run_memcpy(world &w, thread_stats &st)
{
	record rec;
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		array &m = w.mbufs[i].v;
		intptr_t top = load(&m.top);
		if (top == m.base) {
			++st.empty[fam_memcpy];
			return;
		}
		int r = op_memcpy_pop(w.kind, &m.top, top, &rec, sizeof(rec), i);
		st.c[seq_memcpy_pop].note(r);
		if (done(r))
			break;
	}
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		array &m = w.mbufs[i].v;
		intptr_t top = load(&m.top);
		if (top == m.end) {
			++st.full;
			sched_yield();
			continue;
		}
		int r = op_memcpy_push(w.kind, &m.top, top, &rec, sizeof(rec), i);
		st.c[seq_memcpy_push].note(r);
		if (done(r))
			return;
	}
}

void run_offset_add(world &w, thread_stats &st)
{
	for (;;) {
		int i = rseqkit_current_index(w.kind);
		int r = op_offset_add(w.kind, &w.offset_ptrs[i].v, static_cast<long>(offsetof(target, count)), 1, i);
		st.c[seq_offset_add].note(r);
		if (done(r))
			return;
	}
}

void (*const runners[fam_count])(world &, thread_stats &) = {run_add,    run_cmpeq,  run_list,
							       run_buffer, run_memcpy, run_offset_add};

// ---- the invariants ----

struct verdict {
	family fam;
	bool ok;
	std::string detail;
};

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return buf;
}

verdict check_sum(family fam, intptr_t sum, uint64_t commits, long long expect_ops)
{
	bool ok = static_cast<uint64_t>(sum) == commits && (expect_ops < 0 || commits == static_cast<uint64_t>(expect_ops));
	std::string d = fmt("sum %" PRIdPTR ", commits %" PRIu64, sum, commits);
	if (expect_ops >= 0)
		d += fmt(", expected %lld", expect_ops);
	return {fam, ok, d};
}

// Every id in [0, n) seen exactly once.
verdict check_once(family fam, const std::vector<int> &seen, long bad, uint64_t pops, uint64_t pushes)
{
	long missing = 0, twice = 0;
	for (int s : seen) {
		if (s == 0)
			++missing;
		else if (s > 1)
			twice += s - 1;
	}
	bool ok = missing == 0 && twice == 0 && bad == 0 && pops == pushes;
	return {fam, ok,
		fmt("%zu items: %ld missing, %ld extra, %ld corrupt; pops %" PRIu64 ", pushes %" PRIu64, seen.size(),
		    missing, twice, bad, pops, pushes)};
}

std::vector<verdict> check(const world &w, const options &o, const counts *total)
{
	std::vector<verdict> out;
	const long long expect = o.ops >= 0 ? o.ops * o.threads : -1;
	const size_t n = static_cast<size_t>(w.count);
	const size_t items = static_cast<size_t>(w.items);
	for (int f = 0; f < fam_count; ++f) {
		if (!(o.families & (1u << f)))
			continue;
		switch (f) {
		case fam_add: {
			intptr_t s = 0;
			for (auto &c : w.add_cells)
				s += c.v;
			out.push_back(check_sum(fam_add, s, total[seq_add].all_commits(), expect));
			break;
		}
		case fam_cmpeq: {
			intptr_t s = 0;
			for (auto &c : w.cmpeq_cells)
				s += c.v;
			out.push_back(check_sum(fam_cmpeq, s, total[seq_cmpeq].all_commits(), expect));
			break;
		}
		case fam_offset_add: {
			intptr_t s = 0;
			long bad = 0;
			for (size_t i = 0; i < n; ++i) {
				s += w.targets[i].v.count;
				bad += w.targets[i].v.before != 0 || w.targets[i].v.after != 0;
				bad += w.offset_ptrs[i].v != reinterpret_cast<intptr_t>(&w.targets[i].v);
			}
			verdict v = check_sum(fam_offset_add, s, total[seq_offset_add].all_commits(), expect);
			if (bad) {
				v.ok = false;
				v.detail += fmt(", %ld neighbours or pointers changed", bad);
			}
			out.push_back(v);
			break;
		}
		case fam_list: {
			std::vector<int> seen(items);
			long bad = 0;
			for (size_t i = 0; i < n; ++i) {
				size_t steps = 0;
				for (intptr_t p = w.heads[i].v; p != 0 && steps <= items; ++steps) {
					const list_node *nd = reinterpret_cast<const list_node *>(p);
					if (nd < w.nodes.data() || nd >= w.nodes.data() + items) {
						++bad;
						break;
					}
					++seen[static_cast<size_t>(nd - w.nodes.data())];
					p = nd->next;
				}
				if (steps > items)
					++bad;  // a cycle
			}
			out.push_back(check_once(fam_list, seen, bad, total[seq_list_pop].all_commits(),
						 total[seq_list_push].all_commits()));
			break;
		}
		case fam_buffer: {
			std::vector<int> seen(items);
			long bad = 0;
			for (size_t i = 0; i < n; ++i) {
				const array &b = w.bufs[i].v;
				if (b.top < b.base || b.top > b.end || (b.top - b.base) % static_cast<intptr_t>(sizeof(intptr_t))) {
					++bad;
					continue;
				}
				for (intptr_t p = b.base; p < b.top; p += static_cast<intptr_t>(sizeof(intptr_t))) {
					const intptr_t *item = reinterpret_cast<const intptr_t *>(*reinterpret_cast<const intptr_t *>(p));
					if (item < w.buf_items.data() || item >= w.buf_items.data() + items) {
						++bad;
						continue;
					}
					++seen[static_cast<size_t>(item - w.buf_items.data())];
				}
			}
			out.push_back(check_once(fam_buffer, seen, bad, total[seq_buffer_pop].all_commits(),
						 total[seq_buffer_push].all_commits()));
			break;
		}
		case fam_memcpy: {
			std::vector<int> seen(items);
			long bad = 0;
			for (size_t i = 0; i < n; ++i) {
				const array &m = w.mbufs[i].v;
				if (m.top < m.base || m.top > m.end || (m.top - m.base) % static_cast<intptr_t>(sizeof(record))) {
					++bad;
					continue;
				}
				for (intptr_t p = m.base; p < m.top; p += static_cast<intptr_t>(sizeof(record))) {
					const record *r = reinterpret_cast<const record *>(p);
					if (r->id < 0 || r->id >= w.items || r->check != ~r->id || r->pad[0] || r->pad[1]) {
						++bad;
						continue;
					}
					++seen[static_cast<size_t>(r->id)];
				}
			}
			out.push_back(check_once(fam_memcpy, seen, bad, total[seq_memcpy_pop].all_commits(),
						 total[seq_memcpy_push].all_commits()));
			break;
		}
		}
	}
	return out;
}

// ---- threads and signals ----

std::atomic<uint64_t> signals_received{0};

void on_signal(int)
{
	signals_received.fetch_add(1, std::memory_order_relaxed);
}

struct run_state {
	std::atomic<bool> stop{false};
	std::atomic<int> ready{0};
	std::atomic<bool> go{false};
	std::atomic<int> finished{0};
	std::atomic<int> timer_errno{0};
};

void worker(world &w, const options &o, run_state &rs, thread_stats &st)
{
	int fams[fam_count], nf = 0;
	for (int f = 0; f < fam_count; ++f)
		if (o.families & (1u << f))
			fams[nf++] = f;
	// Each worker's own timer signals it, from interrupt context: no signalling thread
	// takes a CPU from the workers, and a worker that runs gets its signal at once.
	timer_t timer{};
	bool have_timer = false;
	if (o.signal_us) {
		struct sigevent sev;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGUSR1;
#ifdef sigev_notify_thread_id
		sev.sigev_notify_thread_id = gettid();
#else
		sev._sigev_un._tid = gettid();  // glibc before 2.38 names the field only so
#endif
		have_timer = timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0;
		if (!have_timer)
			rs.timer_errno.store(errno);
	}
	rs.ready.fetch_add(1);
	while (!rs.go.load(std::memory_order_acquire))
		sched_yield();
	if (have_timer) {
		struct itimerspec its;
		its.it_interval.tv_sec = o.signal_us / 1000000;
		its.it_interval.tv_nsec = (o.signal_us % 1000000) * 1000;
		its.it_value = its.it_interval;
		timer_settime(timer, 0, &its, nullptr);
	}
	for (long long round = 0; o.ops < 0 || round < o.ops; ++round) {
		if (rs.stop.load(std::memory_order_relaxed))
			break;
		for (int k = 0; k < nf; ++k) {
			runners[fams[k]](w, st);
			++st.ops[fams[k]];
			if (o.yield)
				sched_yield();
		}
	}
	if (have_timer)
		timer_delete(timer);
	st.owner = rseqkit_thread_owner();
	rs.finished.fetch_add(1, std::memory_order_release);
}

void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

// ---- output ----

struct report_seq {
	seq s;
	const char *name;
	descriptor d;
	counts c;
};

double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

void print_json(bool ok, const options &o, const std::vector<report_seq> &seqs, const std::vector<verdict> &vs,
		rseqkit_owner owner, bool locked, double seconds)
{
	printf("{\"ok\": %s, \"index\": \"%s\", \"threads\": %d, \"owner\": \"%s\", \"locked\": %s, "
	       "\"seconds\": %.3f, \"delay\": %ld, \"signals\": %" PRIu64 ",\n",
	       ok ? "true" : "false", o.kind == RSEQKIT_INDEX_MM_CID ? "mm_cid" : "cpu_id", o.threads,
	       rseqkit_owner_name(owner), locked ? "true" : "false", seconds, o.delay, signals_received.load());
	printf(" \"sequences\": [\n");
	for (size_t k = 0; k < seqs.size(); ++k) {
		const report_seq &r = seqs[k];
		printf("  {\"name\": \"%s\", \"family\": \"%s\", \"start_ip\": \"0x%" PRIx64 "\", \"commits\": %" PRIu64
		       ", \"aborts\": %" PRIu64 ", \"attempts\": %" PRIu64 ", \"stale\": %" PRIu64
		       ", \"compare_failed\": %" PRIu64 ", \"locked_commits\": %" PRIu64 "}%s\n",
		       r.name, family_names[family_of(r.s)], r.d.start_ip, r.c.commits, r.c.aborts, r.c.attempts,
		       r.c.stale, r.c.compare_failed + r.c.locked_compare_failed, r.c.locked_commits,
		       k + 1 < seqs.size() ? "," : "");
	}
	printf(" ],\n \"invariants\": [\n");
	for (size_t k = 0; k < vs.size(); ++k)
		printf("  {\"family\": \"%s\", \"ok\": %s, \"detail\": \"%s\"}%s\n", family_names[vs[k].fam],
		       vs[k].ok ? "true" : "false", vs[k].detail.c_str(), k + 1 < vs.size() ? "," : "");
	printf(" ]}\n");
}

void print_table(bool ok, const options &o, const std::vector<report_seq> &seqs, const std::vector<verdict> &vs,
		 rseqkit_owner owner, bool locked, double seconds)
{
	printf("rseq-stress: %d threads, index %s, delay %ld, %.2f s, owner %s, %s\n", o.threads,
	       o.kind == RSEQKIT_INDEX_MM_CID ? "mm_cid" : "cpu_id", o.delay, seconds, rseqkit_owner_name(owner),
	       locked ? "locked mode (no sequence runs)" : "sequences run");
	if (o.signal_us)
		printf("signals: %" PRIu64 " received, one every %ld us per thread\n", signals_received.load(), o.signal_us);
	printf("\n%-32s %-18s %11s %11s %10s %7s %9s %9s %11s\n", "SEQUENCE", "START_IP", "ATTEMPTS", "COMMITS",
	       "ABORTS", "ABORT%", "STALE", "CMPFAIL", "LOCKED");
	for (const report_seq &r : seqs)
		printf("%-32s 0x%-16" PRIx64 " %11" PRIu64 " %11" PRIu64 " %10" PRIu64 " %6.2f%% %9" PRIu64 " %9" PRIu64
		       " %11" PRIu64 "\n",
		       r.name, r.d.start_ip, r.c.attempts, r.c.commits, r.c.aborts, pct(r.c.aborts, r.c.attempts),
		       r.c.stale, r.c.compare_failed + r.c.locked_compare_failed, r.c.locked_commits);
	printf("\n%-11s %-6s %s\n", "FAMILY", "RESULT", "INVARIANT");
	for (const verdict &v : vs)
		printf("%-11s %-6s %s\n", family_names[v.fam], v.ok ? "ok" : "FAILED", v.detail.c_str());
	printf("\n%s\n", ok ? "ok: every invariant held" : "FAILED: an invariant did not hold");
}

double now()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char **argv)
{
	const options o = parse_options(argc, argv);

	// The sequences this run reports, each with its only descriptor.
	std::vector<report_seq> seqs;
	bool tables_ok = true;
	for (int s = 0; s < seq_count; ++s) {
		if (!(o.families & (1u << family_of(static_cast<seq>(s)))))
			continue;
		report_seq r{static_cast<seq>(s), seq_name(static_cast<seq>(s), o.kind), {}, {}};
		r.d = find_descriptor(r.name);
		if (RSEQKIT_ARCH_SUPPORTED && r.d.found != 1) {
			fprintf(stderr, "rseq-stress: sequence %s has %d descriptors in __rseqkit_names, expected 1\n",
				r.name, r.d.found);
			tables_ok = false;
		}
		seqs.push_back(r);
	}
	if (!tables_ok)
		return kExitFailed;

	world w(o.kind);
	set_delay(o.delay);

	if (o.signal_us) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, nullptr);
	}

	run_state rs;
	std::vector<thread_stats> stats(static_cast<size_t>(o.threads));
	std::vector<std::thread> threads;
	try {
		for (int t = 0; t < o.threads; ++t)
			threads.emplace_back(worker, std::ref(w), std::cref(o), std::ref(rs), std::ref(stats[t]));
	} catch (const std::system_error &e) {
		fprintf(stderr, "rseq-stress: cannot start thread %zu: %s\n", threads.size() + 1, e.what());
		rs.stop = true;
		rs.go = true;
		for (auto &t : threads)
			t.join();
		return kExitFailed;
	}
	while (rs.ready.load() < o.threads)
		sched_yield();
	const double t0 = now();
	rs.go.store(true, std::memory_order_release);

	if (o.duration > 0) {
		// Sleep in steps, so that a run with --ops-like speed still ends on time.
		const double end = t0 + o.duration;
		for (double t = now(); t < end && rs.finished.load() < o.threads; t = now())
			sleep_us(static_cast<long>((end - t > 0.05 ? 0.05 : end - t) * 1e6) + 1);
		rs.stop = true;
	}
	for (auto &t : threads)
		t.join();
	const double seconds = now() - t0;
	if (rs.timer_errno.load()) {
		errno = rs.timer_errno.load();
		fprintf(stderr, "rseq-stress: --signal-every-us: timer_create: %m\n");
		return kExitFailed;
	}

	counts total[seq_count];
	uint64_t full = 0;
	for (const thread_stats &st : stats) {
		for (int s = 0; s < seq_count; ++s)
			total[s] += st.c[s];
		full += st.full;
	}
	for (report_seq &r : seqs)
		r.c = total[r.s];

	std::vector<verdict> vs = check(w, o, total);
	bool ok = full == 0;
	for (const verdict &v : vs)
		ok = ok && v.ok;
	const rseqkit_owner owner = stats.empty() ? RSEQKIT_OWNER_NONE : stats[0].owner;
	const bool locked = rseqkit_percpu_locked(o.kind) != 0;
	if (full)
		fprintf(stderr, "rseq-stress: %" PRIu64 " pushes found an array full, which cannot happen\n", full);
	if (o.json)
		print_json(ok, o, seqs, vs, owner, locked, seconds);
	else
		print_table(ok, o, seqs, vs, owner, locked, seconds);
	return ok ? kExitOk : kExitFailed;
}
