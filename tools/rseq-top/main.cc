// SPDX-License-Identifier: MIT
// rseq-top: which restartable sequences abort, how often and why (see rseq-top(8)).
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collector.h"
#include "command.h"
#include "render.h"
#include "screen.h"
#include "symbols.h"
#include "table.h"

using namespace rseqtop;

namespace {

const char *const kUsage =
	"usage: rseq-top [options]                 watch every process\n"
	"       rseq-top [options] -- COMMAND [ARG...]  count COMMAND and its descendants\n"
	"       rseq-top --demo [options]            watch rseq-stress with injected aborts\n"
	"options:\n"
	"  -b, --batch            plain output per interval instead of the live screen\n"
	"  -n, --iterations N     stop after N intervals\n"
	"  -d, --delay SEC        interval length (default 1)\n"
	"  -p, --pid PID[,PID...] count only these processes\n"
	"  -F, --follow           with -p, also count their descendants\n"
	"      --cgroup DIR       count only tasks in this cgroup v2 directory and below\n"
	"  -T, --threads          one row per thread\n"
	"  -C, --causes           attribute aborts to preemption, migration or signals\n"
	"  -j, --json             one JSON document per interval (implies -b)\n"
	"  -s, --sort FIELD       rate, total, pid, name, preempt, migrate, signal\n"
	"  -o, --output FILE      write the output to FILE\n"
	"      --max-sequences N  size of the kernel counts map (default 16384)\n"
	"      --attach MODE      auto, tp_btf or raw_tp\n"
	"  -v, --verbose          libbpf messages and timings on stderr\n"
	"  -h, --help             this text\n"
	"  -V, --version          the version\n";

struct Options {
	bool batch = false, json = false, threads = false, causes = false, follow = false, demo = false;
	bool verbose = false;
	long iterations = -1;
	double delay = 1.0;
	std::vector<pid_t> pids;
	std::string cgroup;
	SortField sort = SortField::Rate;
	AttachMode attach = AttachMode::Auto;
	uint32_t max_sequences = 16384;
	std::string output;
	std::vector<std::string> command;
};

volatile sig_atomic_t g_quit = 0;
volatile sig_atomic_t g_winch = 0;

double now_mono()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double now_real()
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

[[noreturn]] void usage_error(const std::string &msg)
{
	std::fprintf(stderr, "rseq-top: %s (see rseq-top --help)\n", msg.c_str());
	std::exit(2);
}

bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = std::strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = std::strtod(s, &end);
	if (errno || end == s || *end || !std::isfinite(v) || v < 0.01 || v > 86400)
		return false;
	*out = v;
	return true;
}

// A thread ID is accepted for its process.
bool process_of(pid_t pid, pid_t *tgid)
{
	char path[64];
	std::snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = std::fopen(path, "re");
	if (!f)
		return false;
	char line[256];
	bool found = false;
	while (std::fgets(line, sizeof(line), f))
		if (std::sscanf(line, "Tgid: %d", tgid) == 1) {
			found = true;
			break;
		}
	std::fclose(f);
	return found;
}

bool parse_pid_list(const std::string &text, std::vector<pid_t> *out, std::string *error)
{
	size_t start = 0;
	out->clear();
	while (start <= text.size()) {
		size_t end = text.find(',', start);
		if (end == std::string::npos)
			end = text.size();
		std::string item = text.substr(start, end - start);
		unsigned long long v;
		if (!parse_uint(item.c_str(), 0x3fffffff, &v) || v == 0) {
			*error = "bad PID '" + item + "'";
			return false;
		}
		out->push_back((pid_t)v);
		start = end + 1;
	}
	return true;
}

Options parse_args(int argc, char **argv)
{
	enum { OPT_CGROUP = 256, OPT_MAX_SEQ, OPT_ATTACH, OPT_DEMO };
	static const struct option longopts[] = {
		{"batch", no_argument, nullptr, 'b'},
		{"iterations", required_argument, nullptr, 'n'},
		{"delay", required_argument, nullptr, 'd'},
		{"pid", required_argument, nullptr, 'p'},
		{"follow", no_argument, nullptr, 'F'},
		{"cgroup", required_argument, nullptr, OPT_CGROUP},
		{"threads", no_argument, nullptr, 'T'},
		{"causes", no_argument, nullptr, 'C'},
		{"json", no_argument, nullptr, 'j'},
		{"sort", required_argument, nullptr, 's'},
		{"output", required_argument, nullptr, 'o'},
		{"max-sequences", required_argument, nullptr, OPT_MAX_SEQ},
		{"attach", required_argument, nullptr, OPT_ATTACH},
		{"demo", no_argument, nullptr, OPT_DEMO},
		{"verbose", no_argument, nullptr, 'v'},
		{"help", no_argument, nullptr, 'h'},
		{"version", no_argument, nullptr, 'V'},
		{nullptr, 0, nullptr, 0},
	};
	Options o;
	bool have_pids = false;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:bn:d:p:FTCjs:o:vhV", longopts, nullptr)) != -1) {
		unsigned long long v;
		std::string err;
		switch (c) {
		case 'b':
			o.batch = true;
			break;
		case 'n':
			if (!parse_uint(optarg, 1000000000ULL, &v) || v == 0)
				usage_error(std::string("bad iteration count '") + optarg + "'");
			o.iterations = (long)v;
			break;
		case 'd':
			if (!parse_seconds(optarg, &o.delay))
				usage_error(std::string("bad delay '") + optarg + "' (seconds, 0.01 to 86400)");
			break;
		case 'p':
			if (!parse_pid_list(optarg, &o.pids, &err))
				usage_error(err);
			have_pids = true;
			break;
		case 'F':
			o.follow = true;
			break;
		case OPT_CGROUP:
			o.cgroup = optarg;
			if (o.cgroup.empty())
				usage_error("empty cgroup path");
			break;
		case 'T':
			o.threads = true;
			break;
		case 'C':
			o.causes = true;
			break;
		case 'j':
			o.json = true;
			o.batch = true;
			break;
		case 's':
			if (!parse_sort_field(optarg, &o.sort))
				usage_error(std::string("unknown sort field '") + optarg +
					    "' (rate, total, pid, name, preempt, migrate, signal)");
			break;
		case 'o':
			o.output = optarg;
			break;
		case OPT_MAX_SEQ:
			if (!parse_uint(optarg, 1U << 20, &v) || v == 0)
				usage_error(std::string("bad --max-sequences '") + optarg + "' (1 to 1048576)");
			o.max_sequences = (uint32_t)v;
			break;
		case OPT_ATTACH:
			if (!std::strcmp(optarg, "auto"))
				o.attach = AttachMode::Auto;
			else if (!std::strcmp(optarg, "tp_btf"))
				o.attach = AttachMode::TpBtf;
			else if (!std::strcmp(optarg, "raw_tp"))
				o.attach = AttachMode::RawTp;
			else
				usage_error(std::string("bad --attach '") + optarg + "' (auto, tp_btf, raw_tp)");
			break;
		case OPT_DEMO:
			o.demo = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			std::fputs(kUsage, stdout);
			std::exit(0);
		case 'V':
			std::printf("rseq-top %s\n", PACKAGE_VERSION);
			std::exit(0);
		case ':':
			usage_error(std::string("option needs a value: ") + argv[optind - 1]);
		default:
			usage_error(std::string("unknown option: ") + (optind > 0 ? argv[optind - 1] : "?"));
		}
	}
	for (int i = optind; i < argc; i++)
		o.command.push_back(argv[i]);
	if (o.demo && !o.command.empty())
		usage_error("--demo runs its own command");
	if ((o.demo || !o.command.empty()) && (have_pids || !o.cgroup.empty()))
		usage_error("-p and --cgroup cannot be combined with a command or --demo");
	if (o.follow && !have_pids)
		usage_error("-F needs -p");
	if (!o.command.empty() && o.iterations > 0)
		usage_error("-n cannot be combined with a command (it runs until the command exits)");
	return o;
}

// Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems).
std::string cgroup2_mount()
{
	FILE *f = std::fopen("/proc/self/mounts", "re");
	std::string found = "/sys/fs/cgroup";
	if (!f)
		return found;
	char line[1024];
	while (std::fgets(line, sizeof(line), f)) {
		char dev[256], dir[512], type[64];
		if (std::sscanf(line, "%255s %511s %63s", dev, dir, type) == 3 && !std::strcmp(type, "cgroup2")) {
			found = dir;
			break;
		}
	}
	std::fclose(f);
	return found;
}

uint64_t image_id(uint32_t tgid, uint32_t gen)
{
	return (uint64_t)tgid << 32 | gen;
}

std::string read_comm(uint32_t tgid)
{
	char path[64];
	std::snprintf(path, sizeof(path), "/proc/%u/comm", tgid);
	FILE *f = std::fopen(path, "re");
	if (!f)
		return "?";
	char buf[64] = "";
	if (!std::fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	std::fclose(f);
	std::string s = buf;
	while (!s.empty() && s.back() == '\n')
		s.pop_back();
	return s.empty() ? "?" : s;
}

// The monitor: events, samples, rows.  Front ends (screen, batch, command) drive it.
class Monitor {
public:
	Monitor(const Options &o, Collector *c)
		: opt_(o), col_(c),
		  sym_([c](uint32_t tgid, uint32_t gen) { return c->current_gen(tgid) == gen; })
	{
		handler_ = [this](const rseq_top_event &ev) { on_event(ev); };
	}

	void drain_events(int timeout_ms)
	{
		col_->poll_events(timeout_ms, handler_);
	}

	// Reads the counts map; keep_rows: never expire rows (a command's totals).
	bool sample(double now, bool keep_rows, std::string *error)
	{
		// Images that ended before this read have all their aborts in it.
		auto ended = std::move(ended_pending_);
		ended_pending_.clear();
		std::vector<Sample> samples;
		if (!col_->read_counts(&samples, error))
			return false;
		const double interval = last_sample_ > 0 ? now - last_sample_ : 0;
		last_sample_ = now;
		interval_ = interval;
		std::vector<RowKey> fresh;
		table_.update(samples, interval, &fresh);
		for (const RowKey &k : fresh)
			name_row(table_.find(k));
		// Ended images: their rows are complete and named, so the kernel's entries and
		// the image's memory map can go (memory stays bounded with many processes).
		std::vector<rseq_top_key> dead;
		for (const auto &img : ended) {
			for (const RowKey &k : table_.end_image(img.first, img.second))
				dead.push_back(rseq_top_key{k.tgid, k.tid, k.start_ip, k.gen, 0});
			sym_.forget_image(img.first, img.second);
			comms_.erase(image_id(img.first, img.second));
		}
		col_->delete_keys(dead);
		sample_no_++;
		for (auto it = names_.begin(); it != names_.end();)
			it = sample_no_ - it->second.second > 3 ? names_.erase(it) : std::next(it);

		auto stats = col_->read_stats();
		delta_ = stats[RSEQ_TOP_STAT_ABORTS] - total_;
		total_ = stats[RSEQ_TOP_STAT_ABORTS];
		dropped_ = stats[RSEQ_TOP_STAT_DROPPED];
		events_lost_ = stats[RSEQ_TOP_STAT_EVENTS_LOST];
		missed_ = col_->missed();
		update_notify();
		if (!keep_rows)
			for (const auto &img : table_.expire(5, opt_.max_sequences)) {
				sym_.forget_image(img.first, img.second);
				comms_.erase(image_id(img.first, img.second));
			}
		return true;
	}

	Status status() const
	{
		Status st;
		st.version = PACKAGE_VERSION;
		struct utsname u;
		st.kernel = uname(&u) == 0 ? u.release : "?";
		st.probe_type = col_->probe_type();
		st.tracepoints = col_->tracepoints();
		st.notify_status = col_->notify_status();
		st.time = now_real();
		st.interval = interval_;
		st.total = total_;
		st.delta = delta_;
		st.dropped = dropped_;
		st.events_lost = events_lost_;
		st.missed = missed_;
		st.sequences = table_.size();
		st.processes = table_.processes();
		st.sort = sort_field_name(sort);
		st.delay = opt_.delay;
		return st;
	}

	uint64_t missed() const { return missed_; }

	ViewOptions view() const
	{
		return ViewOptions{opt_.causes, opt_.threads, col_->notify_available()};
	}

	std::vector<const Row *> rows(const std::unordered_set<uint32_t> &filter) const
	{
		return table_.sorted(sort, filter);
	}

	SortField sort = SortField::Rate;

private:
	void on_event(const rseq_top_event &ev)
	{
		switch (ev.type) {
		case RSEQ_TOP_EV_NEW_KEY: {
			std::string comm(ev.comm, strnlen(ev.comm, sizeof(ev.comm)));
			comms_.emplace(image_id(ev.tgid, ev.gen), comm);
			// Name it now, while the process is alive to be looked at.
			RowKey k{ev.tgid, opt_.threads ? ev.tid : 0, ev.gen, ev.start_ip};
			names_[k] = {sym_.name(ev.tgid, ev.gen, ev.start_ip), sample_no_};
			break;
		}
		case RSEQ_TOP_EV_EXEC:
		case RSEQ_TOP_EV_EXIT:
			sym_.end_image(ev.tgid, ev.gen);
			ended_pending_.emplace_back(ev.tgid, ev.gen);
			break;
		}
	}

	void name_row(Row *r)
	{
		if (!r)
			return;
		auto c = comms_.find(image_id(r->key.tgid, r->key.gen));
		r->comm = c != comms_.end() ? c->second : read_comm(r->key.tgid);
		auto n = names_.find(r->key);
		if (n != names_.end()) {
			r->name = n->second.first;
			names_.erase(n);
		} else {
			r->name = sym_.name(r->key.tgid, r->key.gen, r->key.start_ip);
		}
	}

	void update_notify()
	{
		if (!col_->notify_available())
			return;
		std::unordered_map<uint32_t, uint64_t> now;
		col_->read_notify(&now);
		std::unordered_map<uint32_t, uint64_t> aborts;
		for (const Row *r : table_.sorted(SortField::Pid, {}))
			aborts[r->key.tgid] += r->delta;
		for (const Row *cr : table_.sorted(SortField::Pid, {})) {
			Row *r = table_.find(cr->key);
			const uint64_t before = notify_prev_.count(r->key.tgid) ? notify_prev_[r->key.tgid] : 0;
			const uint64_t n = now.count(r->key.tgid) ? now[r->key.tgid] - before : 0;
			r->notify_share = n ? (double)aborts[r->key.tgid] / (double)n : -1;
		}
		notify_prev_ = std::move(now);
	}

	const Options &opt_;
	Collector *col_;
	Symbolizer sym_;
	Table table_;
	std::function<void(const rseq_top_event &)> handler_;
	std::unordered_map<uint64_t, std::string> comms_;
	std::unordered_map<RowKey, std::pair<std::string, uint64_t>, RowKeyHash> names_;
	std::vector<std::pair<uint32_t, uint32_t>> ended_pending_;
	std::unordered_map<uint32_t, uint64_t> notify_prev_;
	uint64_t sample_no_ = 0;
	double last_sample_ = 0, interval_ = 0;
	uint64_t total_ = 0, delta_ = 0, dropped_ = 0, events_lost_ = 0, missed_ = 0;
};

FILE *g_out = stdout;

void emit(const std::string &s)
{
	std::fputs(s.c_str(), g_out);
	std::fputc('\n', g_out);
	std::fflush(g_out);
}

void print_batch(const Monitor &m, const Options &o, const std::string &workload)
{
	Status st = m.status();
	st.workload = workload;
	auto rows = m.rows({});
	if (o.json) {
		emit(interval_json(st, rows, m.view()));
		return;
	}
	std::string out;
	for (const auto &l : header_lines(st))
		out += l + "\n";
	out += column_header(m.view(), false) + "\n";
	for (const Row *r : rows)
		out += row_text(*r, m.view(), false) + "\n";
	emit(out);
}

void print_final(const Monitor &m, const Options &o, const std::string &what, int status)
{
	auto rows = m.rows({});
	// Final totals sort by total unless asked otherwise.
	const uint64_t missed = m.missed();
	if (missed)  // never silently short totals
		fprintf(stderr,
			"rseq-top: the kernel skipped the counter %" PRIu64
			" times (it was already running on that CPU): the totals are short by as many aborts\n",
			missed);
	if (o.json) {
		emit(final_json(rows, m.view(), missed));
		return;
	}
	uint64_t total = 0;
	for (const Row *r : rows)
		total += r->total;
	std::string out = "rseq-top: " + what + " exited with status " + std::to_string(status) + "; " +
			  std::to_string(total) + " aborts in " + std::to_string(rows.size()) + " sequences";
	if (missed)
		out += ", " + std::to_string(missed) + " missed";
	out += "\n";
	out += column_header(m.view(), true) + "\n";
	for (const Row *r : rows)
		out += row_text(*r, m.view(), true) + "\n";
	emit(out);
}

const char *const kHelpScreen[] = {
	"rseq-top keys",
	"",
	"  q        quit",
	"  h or ?   this help",
	"  s        next sort field (rate, total, pid, name; preempt, migrate, signal with --causes)",
	"  p        show only some PIDs (comma-separated; empty shows all)",
	"  d        set the delay between refreshes, in seconds",
	"  space    refresh now",
	"",
	"Press any key to go back.",
};

// The live screen; returns when q is pressed, a signal arrives, or `cmd` ends.
int run_screen(Monitor &m, Collector &col, Options &o, Command *cmd, const std::string &workload)
{
	Screen screen;
	if (!screen.start()) {
		std::fprintf(stderr, "rseq-top: the live screen needs a terminal; use -b for batch output\n");
		return 1;
	}
	std::unordered_set<uint32_t> filter;
	std::string filter_text, message;
	double message_until = 0;
	double next = now_mono() + o.delay;
	bool help = false;
	std::string error;
	long iterations = 0;
	auto draw = [&]() {
		std::vector<std::string> lines;
		if (help) {
			for (const char *l : kHelpScreen)
				lines.push_back(l);
			screen.draw(lines);
			return;
		}
		Status st = m.status();
		st.filter = filter_text;
		st.workload = workload;
		lines = header_lines(st);
		if (now_mono() < message_until)
			lines.push_back(message);
		else
			lines.push_back("");
		lines.push_back("\x01" + column_header(m.view(), false));
		for (const Row *r : m.rows(filter)) {
			if ((int)lines.size() >= screen.rows())
				break;
			lines.push_back(row_text(*r, m.view(), false));
		}
		screen.draw(lines);
	};
	m.sample(now_mono(), cmd != nullptr, &error);
	draw();
	while (!g_quit) {
		if (cmd && cmd->wait(false))
			break;
		double t = now_mono();
		int timeout = t >= next ? 0 : (int)std::ceil((next - t) * 1000);
		if (cmd && timeout > 100)
			timeout = 100;  // notice the command's exit soon
		struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {col.events_fd(), POLLIN, 0}};
		int r = poll(fds, 2, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (fds[1].revents & POLLIN))
			m.drain_events(0);
		bool refresh = false;
		if (g_winch) {
			g_winch = 0;
			screen.update_size();
			draw();
		}
		if (r > 0 && (fds[0].revents & POLLIN)) {
			int key = screen.read_key(0);
			if (help && key >= 0) {
				help = false;
				draw();
				continue;
			}
			switch (key) {
			case 'q':
				g_quit = 1;
				break;
			case 'h':
			case '?':
				help = true;
				draw();
				break;
			case 's':
				m.sort = next_sort_field(m.sort, o.causes);
				draw();
				break;
			case ' ':
				refresh = true;
				break;
			case 'p': {
				std::string answer;
				if (screen.prompt("PIDs to show (comma-separated, empty for all): ", &answer)) {
					std::vector<pid_t> pids;
					std::string err;
					if (answer.empty()) {
						filter.clear();
						filter_text.clear();
					} else if (parse_pid_list(answer, &pids, &err)) {
						filter.clear();
						for (pid_t p : pids)
							filter.insert((uint32_t)p);
						filter_text = answer;
					} else {
						message = "Not changed: " + err;
						message_until = now_mono() + 3;
					}
				}
				draw();
				break;
			}
			case 'd': {
				std::string answer;
				double d;
				if (screen.prompt("Delay in seconds: ", &answer)) {
					if (parse_seconds(answer.c_str(), &d)) {
						o.delay = d;
						next = now_mono() + d;
					} else {
						message = "Not changed: bad delay '" + answer + "'";
						message_until = now_mono() + 3;
					}
				}
				draw();
				break;
			}
			default:
				break;
			}
		}
		if (refresh || now_mono() >= next) {
			if (!m.sample(now_mono(), cmd != nullptr, &error))
				break;
			next = now_mono() + o.delay;
			if (!help)
				draw();
			if (o.iterations > 0 && ++iterations >= o.iterations)
				break;
		}
	}
	screen.stop();
	if (!error.empty()) {
		std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
		return 1;
	}
	return 0;
}

// Batch output every interval; returns when -n is reached, on a signal or when `cmd` ends.
int run_batch(Monitor &m, Collector &col, const Options &o, Command *cmd, bool print_intervals,
	      const std::string &workload)
{
	std::string error;
	long iterations = 0;
	m.sample(now_mono(), cmd != nullptr, &error);
	double next = now_mono() + o.delay;
	while (!g_quit) {
		if (cmd && cmd->wait(false))
			break;
		double t = now_mono();
		int timeout = t >= next ? 0 : (int)std::ceil((next - t) * 1000);
		if (cmd && timeout > 50)
			timeout = 50;
		struct pollfd fd = {col.events_fd(), POLLIN, 0};
		int r = poll(&fd, 1, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			m.drain_events(0);
		if (now_mono() >= next) {
			if (!m.sample(now_mono(), cmd != nullptr, &error)) {
				std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
				return 1;
			}
			next += o.delay;
			if (next < now_mono())
				next = now_mono() + o.delay;
			if (print_intervals)
				print_batch(m, o, workload);
			if (o.iterations > 0 && ++iterations >= o.iterations)
				break;
		}
	}
	return 0;
}

// With -v: the peak resident set size at exit (the OVERHEAD figures of rseq-top(8)).
void print_peak_rss()
{
	FILE *f = std::fopen("/proc/self/status", "re");
	if (!f)
		return;
	char line[256];
	while (std::fgets(line, sizeof(line), f))
		if (!std::strncmp(line, "VmHWM:", 6)) {
			long kb = 0;
			std::sscanf(line + 6, "%ld", &kb);
			std::fprintf(stderr, "rseq-top: peak RSS %ld kB\n", kb);
		}
	std::fclose(f);
}

void on_signal(int sig)
{
	if (sig == SIGWINCH)
		g_winch = 1;
	else
		g_quit = 1;
}

void install_signals(bool command_mode)
{
	struct sigaction sa;
	std::memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	sigaction(SIGHUP, &sa, nullptr);
	if (command_mode) {
		// Ctrl-C reaches the command too: let it end, then report (like time(1)).
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
	} else {
		sigaction(SIGINT, &sa, nullptr);
		sigaction(SIGQUIT, &sa, nullptr);
	}
}

}  // namespace

int main(int argc, char **argv)
{
	Options o = parse_args(argc, argv);
	const double t0 = now_mono();
	if (o.verbose)
		std::atexit(print_peak_rss);

	std::string workload;
	if (o.demo) {
		std::string stress = find_stress_program();
		if (stress.empty()) {
			std::fprintf(stderr, "rseq-top: --demo needs rseq-stress: not found next to rseq-top, in PATH, "
					     "or at $RSEQ_STRESS\n");
			return 1;
		}
		o.command = {stress, "--op", "all", "--threads", "4", "--duration", "6", "--delay", "2000",
			     "--signal-every-us", "3000"};
		for (const auto &a : o.command)
			workload += (workload.empty() ? "" : " ") + a;
		if (o.delay == 1.0)
			o.delay = 0.5;
	}
	const bool command_mode = !o.command.empty();
	const bool live = !o.batch && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (!o.batch && !live && !command_mode)
		o.batch = true;  // not a terminal: batch output, like top -b

	if (!o.output.empty()) {
		g_out = std::fopen(o.output.c_str(), "we");
		if (!g_out) {
			std::fprintf(stderr, "rseq-top: cannot write %s: %s\n", o.output.c_str(), std::strerror(errno));
			return 1;
		}
	}

	// Filter PIDs must exist; a thread ID stands for its process.
	std::vector<pid_t> tgids;
	for (pid_t p : o.pids) {
		pid_t tg;
		if (!process_of(p, &tg)) {
			std::fprintf(stderr, "rseq-top: no such process: %d\n", (int)p);
			return 1;
		}
		tgids.push_back(tg);
	}
	std::string cgroup = o.cgroup;
	if (!cgroup.empty() && cgroup[0] != '/' && access(cgroup.c_str(), F_OK) != 0)
		cgroup = cgroup2_mount() + "/" + cgroup;

	CollectorConfig cfg;
	cfg.causes = o.causes;
	cfg.per_thread = o.threads;
	cfg.filter_pids = !tgids.empty() || command_mode;
	cfg.follow = o.follow || command_mode;
	cfg.cgroup = cgroup;
	cfg.attach = o.attach;
	cfg.max_sequences = o.max_sequences;
	if (const char *btf = std::getenv("RSEQ_TOP_BTF"))
		cfg.btf_path = btf;
	cfg.verbose = o.verbose;

	std::string error;
	auto col = Collector::open(cfg, &error);
	if (!col) {
		std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
		return 1;
	}
	for (pid_t p : tgids)
		if (!col->track(p, &error)) {
			std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
			return 1;
		}

	install_signals(command_mode);
	Command cmd;
	if (command_mode) {
		// Counting covers the command from its first instruction: its PID is in the
		// filter before it may exec.
		if (!cmd.spawn(o.command, o.demo, &error) || !col->track(cmd.pid(), &error)) {
			std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
			cmd.kill_it(SIGKILL);
			cmd.wait(true);
			return 1;
		}
	}
	if (!col->attach(&error)) {
		std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
		cmd.kill_it(SIGKILL);
		cmd.wait(true);
		return 1;
	}
	if (o.verbose)
		std::fprintf(stderr, "rseq-top: counting after %.1f ms (%s; %s; notify-resume probe: %s)\n",
			     (now_mono() - t0) * 1000, col->timings().c_str(), col->probe_type().c_str(),
			     col->notify_status().c_str());

	Monitor mon(o, col.get());
	mon.sort = o.sort;

	if (!command_mode) {
		int rc = live ? run_screen(mon, *col, o, nullptr, workload)
			      : run_batch(mon, *col, o, nullptr, true, workload);
		return rc;
	}

	if (!cmd.release(&error)) {
		std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
		cmd.wait(true);
		return cmd.status();
	}
	if (o.demo && live)
		run_screen(mon, *col, o, &cmd, workload);
	else
		run_batch(mon, *col, o, &cmd, o.demo, workload);
	if (g_quit)
		cmd.kill_it(SIGTERM);  // rseq-top was told to stop (q, SIGTERM): so is the command
	cmd.wait(true);
	// Everything the command did is in the map now; take the last events and counts.
	mon.drain_events(0);
	if (!mon.sample(now_mono(), true, &error)) {
		std::fprintf(stderr, "rseq-top: %s\n", error.c_str());
		return 1;
	}
	mon.sort = o.sort == SortField::Rate ? SortField::Total : o.sort;
	std::string what = o.demo ? "the demo workload" : o.command[0];
	print_final(mon, o, what, cmd.status());
	// A demo stopped with q (or SIGTERM) ends normally; a command's status is its own.
	return o.demo && g_quit ? 0 : cmd.status();
}
