// SPDX-License-Identifier: MIT
// rseq-inspect: checks the rseq critical-section tables of ELF files, and shows the
// rseq registrations of a live process's threads.  See rseq-inspect(1).
#include "config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <string>
#include <vector>

#include "check.h"
#include "file_input.h"
#include "live.h"
#include "report.h"

using namespace rseqinspect;

namespace {

constexpr int kExitUsage = 2;

void usage(FILE *out)
{
	fputs("usage: rseq-inspect [--json] [--signature SIG] [--no-dwarf] FILE...\n"
	      "       rseq-inspect [--json] [--signature SIG] [--no-dwarf] -p PID\n"
	      "Checks the rseq critical-section descriptors of ELF files, or shows the rseq\n"
	      "registration of every thread of a running process and checks its loaded objects.\n"
	      "Exit status: 0 all descriptors valid, 1 a defect, 2 usage or I/O error.\n"
	      "See rseq-inspect(1).\n",
	      out);
}

[[noreturn]] void usage_error(const std::string &msg)
{
	fprintf(stderr, "rseq-inspect: %s (try --help)\n", msg.c_str());
	exit(kExitUsage);
}

bool parse_u32(const char *s, uint32_t *out)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	char *end = nullptr;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = static_cast<uint32_t>(v);
	return true;
}

bool parse_pid(const char *s, int *out)
{
	if (!*s)
		return false;
	long long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
		if (v > 0x7fffffff)
			return false;
	}
	if (v <= 0)
		return false;
	*out = static_cast<int>(v);
	return true;
}

}  // namespace

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_SIGNATURE, OPT_NO_DWARF };
	static const struct option longopts[] = {
		{"json", no_argument, nullptr, OPT_JSON},
		{"pid", required_argument, nullptr, 'p'},
		{"signature", required_argument, nullptr, OPT_SIGNATURE},
		{"no-dwarf", no_argument, nullptr, OPT_NO_DWARF},
		{"help", no_argument, nullptr, 'h'},
		{"version", no_argument, nullptr, 'V'},
		{nullptr, 0, nullptr, 0},
	};
	bool json = false;
	int pid = 0;
	CheckOptions options;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+p:hV", longopts, nullptr)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case 'p':
			if (pid)
				usage_error("-p given twice");
			if (!parse_pid(optarg, &pid))
				usage_error(std::string("invalid process ID '") + optarg + "'");
			break;
		case OPT_SIGNATURE: {
			uint32_t sig;
			if (!parse_u32(optarg, &sig))
				usage_error(std::string("invalid signature '") + optarg + "' (a 32-bit number, e.g. 0x53053053)");
			options.signature = sig;
			break;
		}
		case OPT_NO_DWARF:
			options.dwarf = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rseq-inspect (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		case ':':
			usage_error(std::string("option '") + argv[optind - 1] + "' needs an argument");
		default:
			if (optopt && optopt < 256)
				usage_error(std::string("unknown option '-") + static_cast<char>(optopt) + "'");
			usage_error(std::string("unknown option '") + argv[optind - 1] + "'");
		}
	}
	std::vector<std::string> paths(argv + optind, argv + argc);
	if (pid && !paths.empty())
		usage_error("give either -p PID or files, not both");
	if (!pid && paths.empty())
		usage_error("no file given");

	if (pid) {
		ProcessReport proc;
		std::string error;
		int status = inspect_process(pid, options, &proc, &error);
		if (status == kExitUsage && !error.empty()) {
			fprintf(stderr, "rseq-inspect: %s\n", printable(error).c_str());
			return status;
		}
		for (const ThreadReport &t : proc.threads)
			if (!t.error.empty())
				fprintf(stderr, "rseq-inspect: thread %d: %s\n", t.tid, printable(t.error).c_str());
		for (const FileReport &f : proc.files)
			if (!f.error.empty())
				fprintf(stderr, "rseq-inspect: %s: %s\n", printable(f.path).c_str(), printable(f.error).c_str());
		fputs((json ? json_process(proc, status) : text_process(proc)).c_str(), stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "rseq-inspect: cannot write the report: %s\n", strerror(errno));
			return kExitUsage;
		}
		return status;
	}

	std::vector<FileReport> files(paths.size());
	for (size_t i = 0; i < paths.size(); i++) {
		inspect_path(paths[i], options, &files[i]);
		if (!files[i].error.empty())
			fprintf(stderr, "rseq-inspect: %s: %s\n", printable(paths[i]).c_str(),
				printable(files[i].error).c_str());
	}
	int status = exit_status(files);
	fputs((json ? json_files(files, status) : text_files(files, true)).c_str(), stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rseq-inspect: cannot write the report: %s\n", strerror(errno));
		return kExitUsage;
	}
	return status;
}
