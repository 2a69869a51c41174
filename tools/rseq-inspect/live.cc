// SPDX-License-Identifier: MIT
// rseq-inspect -p (see live.h).
//
// Each thread is seized, interrupted, queried and detached before the next one is
// touched, so at most one thread of the target is ever stopped, for a few system
// calls.  Should rseq-inspect die meanwhile, the kernel detaches its tracees.
#include "live.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <set>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_input.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

namespace rseqinspect {

namespace {

// The kernel's struct ptrace_rseq_configuration (Linux 5.13).
struct RseqConfiguration {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

constexpr int kStopTimeoutMs = 2000;
constexpr uint64_t kMaxDtvEntries = 4096;
constexpr uint64_t kDtvUnallocated = UINT64_MAX;  // glibc's TLS_DTV_UNALLOCATED, (void *)-1

struct Mapping {
	uint64_t start = 0, end = 0, offset = 0;
	unsigned dev_major = 0, dev_minor = 0;
	uint64_t inode = 0;
	std::string path;
	bool deleted = false;
};

struct LoadedObject {
	std::string path;
	std::vector<const Mapping *> maps;
	std::unique_ptr<ElfImage> image;
	bool bias_known = false;
	uint64_t bias = 0;
	FileReport report;
};

// What one stop of a thread yields; interpreted after the thread runs again.
struct ThreadSample {
	RseqConfiguration conf{};
	bool have_tp = false;
	uint64_t tp = 0;
	bool area_read = false;
	uint8_t area[32]{};
	std::vector<uint64_t> tls_blocks;  // the thread's DTV entries (TLS block addresses)
};

std::string proc_path(int pid, const std::string &rest)
{
	return "/proc/" + std::to_string(pid) + "/" + rest;
}

std::string read_small_file(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "";
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return "";
	std::string s(buf, static_cast<size_t>(n));
	while (!s.empty() && s.back() == '\n')
		s.pop_back();
	return s;
}

std::string permission_message(int pid)
{
	std::string msg = "no permission to inspect process " + std::to_string(pid) +
			  " (ptrace access denied: needs the same user and no stricter ptrace policy, or CAP_SYS_PTRACE";
	std::string scope = read_small_file("/proc/sys/kernel/yama/ptrace_scope");
	if (!scope.empty())
		msg += "; kernel.yama.ptrace_scope is " + scope;
	return msg + ")";
}

// TracerPid of a thread, 0 when untraced, -1 when unknown.
long tracer_of(int pid, int tid)
{
	int fd = open(proc_path(pid, "task/" + std::to_string(tid) + "/status").c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	std::string text;
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		text.append(buf, static_cast<size_t>(n));
	close(fd);
	size_t at = text.find("\nTracerPid:");
	if (at == std::string::npos)
		return -1;
	return strtol(text.c_str() + at + 11, nullptr, 10);
}

bool parse_maps(const std::string &text, std::vector<Mapping> *out)
{
	size_t pos = 0;
	while (pos < text.size()) {
		size_t eol = text.find('\n', pos);
		if (eol == std::string::npos)
			eol = text.size();
		std::string line = text.substr(pos, eol - pos);
		pos = eol + 1;
		Mapping m;
		char perms[8];
		uint64_t start, end, offset, inode;
		unsigned maj, min;
		int consumed = 0;
		if (sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &start, &end, perms,
			   &offset, &maj, &min, &inode, &consumed) < 7)
			continue;
		m.start = start;
		m.end = end;
		m.offset = offset;
		m.dev_major = maj;
		m.dev_minor = min;
		m.inode = inode;
		m.path = line.substr(static_cast<size_t>(consumed));
		static const char deleted[] = " (deleted)";
		if (m.path.size() > sizeof deleted - 1 &&
		    m.path.compare(m.path.size() - (sizeof deleted - 1), sizeof deleted - 1, deleted) == 0) {
			m.path.resize(m.path.size() - (sizeof deleted - 1));
			m.deleted = true;
		}
		out->push_back(std::move(m));
	}
	return true;
}

bool read_whole(int fd, std::string *out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			return true;
		out->append(buf, static_cast<size_t>(n));
	}
}

class Memory {
public:
	explicit Memory(int fd) : fd_(fd) {}
	~Memory()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	bool read(uint64_t addr, void *out, size_t n) const
	{
		if (addr > static_cast<uint64_t>(INT64_MAX) - n)
			return false;
		ssize_t got = pread(fd_, out, n, static_cast<off_t>(addr));
		return got == static_cast<ssize_t>(n);
	}
	bool read_u64(uint64_t addr, uint64_t *out) const { return read(addr, out, sizeof *out); }

private:
	int fd_;
};

// Opens the file behind a mapping: its path if that is still the same file, else
// the kernel's handle on the mapped file (/proc/PID/map_files, needs privileges).
std::unique_ptr<ElfImage> open_object(int pid, const Mapping &m, std::string *error)
{
	std::string err;
	if (!m.deleted) {
		int fd = open_regular_file(m.path, &err);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) == 0 && st.st_ino == m.inode && major(st.st_dev) == m.dev_major &&
			    minor(st.st_dev) == m.dev_minor)
				return ElfImage::from_fd(fd, error);
			close(fd);
			err = "replaced on disk since it was mapped";
		}
	} else {
		err = "deleted since it was mapped";
	}
	char range[64];
	snprintf(range, sizeof range, "map_files/%" PRIx64 "-%" PRIx64, m.start, m.end);
	std::string unused;
	int fd = open_regular_file(proc_path(pid, range), &unused);
	if (fd < 0) {
		*error = err;
		return nullptr;
	}
	return ElfImage::from_fd(fd, error);
}

bool is_elf_file(int pid, const Mapping &m)
{
	// Mapped devices (/dev/zero, GPU nodes) and data files (locale archives, fonts)
	// are no loaded objects.  Look at the magic through the path open_object will
	// use; when neither can be opened, let open_object report why.
	struct stat st;
	if (!m.deleted && stat(m.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
		return false;
	std::string err;
	int fd = m.deleted ? -1 : open_regular_file(m.path, &err);
	if (fd < 0) {
		char range[64];
		snprintf(range, sizeof range, "map_files/%" PRIx64 "-%" PRIx64, m.start, m.end);
		std::string via = proc_path(pid, range);
		if (stat(via.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
			return false;
		fd = open_regular_file(via, &err);
	}
	if (fd < 0)
		return true;
	unsigned char magic[4];
	bool elf = pread(fd, magic, 4, 0) == 4 && memcmp(magic, ELFMAG, SELFMAG) == 0;
	close(fd);
	return elf;
}

// Load bias: where the first PT_LOAD landed minus where it was linked.
void compute_bias(LoadedObject &obj)
{
	if (!obj.image)
		return;
	std::vector<GElf_Phdr> phdrs = obj.image->program_headers();
	long page = sysconf(_SC_PAGESIZE);
	uint64_t mask = ~static_cast<uint64_t>(page > 0 ? page - 1 : 4095);
	for (const GElf_Phdr &ph : phdrs) {
		if (ph.p_type != PT_LOAD)
			continue;
		uint64_t file_page = ph.p_offset & mask;
		for (const Mapping *m : obj.maps) {
			if (m->offset != file_page)
				continue;
			// The mapping holds file byte file_page at m->start; the segment's p_vaddr
			// corresponds to file byte p_offset.
			obj.bias = m->start - (ph.p_vaddr - (ph.p_offset - file_page));
			obj.bias_known = true;
			return;
		}
		return;  // only the first PT_LOAD is used
	}
}

enum class Attach { ok, gone, error };

// Seize, interrupt, sample, detach one thread.
Attach sample_thread(int tid, const Memory &mem, ThreadSample *out, int *err, std::string *why)
{
	if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
		*err = errno;
		if (errno == ESRCH)
			return Attach::gone;
		*why = std::string("cannot seize: ") + strerror(errno);
		return Attach::error;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
		*err = errno;
		ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
		if (*err == ESRCH)
			return Attach::gone;
		*why = std::string("cannot interrupt: ") + strerror(*err);
		return Attach::error;
	}
	int status = 0;
	int inject = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == tid) {
			if (WIFEXITED(status) || WIFSIGNALED(status))
				return Attach::gone;  // exited meanwhile: nothing left to detach
			if (WIFSTOPPED(status)) {
				// A signal-delivery-stop (not our interrupt's PTRACE_EVENT_STOP)
				// holds a signal for the thread: hand it back on detach.
				if ((status >> 16) == 0)
					inject = WSTOPSIG(status);
				break;
			}
			continue;
		}
		if (r < 0 && errno != EINTR) {
			*err = errno;
			if (errno == ECHILD)
				return Attach::gone;
			*why = std::string("waitpid: ") + strerror(errno);
			ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
			return Attach::error;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed > kStopTimeoutMs) {
			// Not stopped (say, blocked in the kernel uninterruptibly): it cannot be
			// detached while running; our exit will detach it.
			*err = ETIMEDOUT;
			*why = "did not stop within " + std::to_string(kStopTimeoutMs / 1000) + " s";
			ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
			return Attach::error;
		}
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, nullptr);
	}

	Attach result = Attach::ok;
	long n = ptrace(static_cast<enum __ptrace_request>(PTRACE_GET_RSEQ_CONFIGURATION), tid,
			reinterpret_cast<void *>(sizeof out->conf), &out->conf);
	if (n < 0) {
		*err = errno;
		*why = std::string("PTRACE_GET_RSEQ_CONFIGURATION: ") + strerror(errno);
		result = errno == ESRCH ? Attach::gone : Attach::error;
	} else {
#if defined(__x86_64__)
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) {
			out->tp = regs.fs_base;
			out->have_tp = true;
		}
#elif defined(__aarch64__)
		uint64_t tpidr = 0;
		struct iovec iov = {&tpidr, sizeof tpidr};
		if (ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void *>(NT_ARM_TLS), &iov) == 0) {
			out->tp = tpidr;
			out->have_tp = true;
		}
#endif
		if (out->conf.rseq_abi_pointer)
			out->area_read = mem.read(out->conf.rseq_abi_pointer, out->area, sizeof out->area);
		// The thread's DTV: one TLS block address per module, as glibc lays it out
		// (the TCB's dtv pointer; dtv[-1] holds the number of slots).
		uint64_t dtv = 0;
#if defined(__x86_64__)
		const uint64_t dtv_slot = out->tp + 8;
#else
		const uint64_t dtv_slot = out->tp;
#endif
		uint64_t count = 0;
		if (out->have_tp && out->tp && mem.read_u64(dtv_slot, &dtv) && dtv > 16 && mem.read_u64(dtv - 16, &count)) {
			count = std::min(count, kMaxDtvEntries);
			std::vector<uint64_t> raw(2 * (count + 1));
			if (count && mem.read(dtv, raw.data(), raw.size() * 8))
				for (uint64_t i = 1; i <= count; i++) {
					uint64_t val = raw[2 * i];
					if (val && val != kDtvUnallocated)
						out->tls_blocks.push_back(val);
				}
		}
	}
	if (ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void *>(static_cast<long>(inject))) != 0 &&
	    errno != ESRCH && result == Attach::ok) {
		*err = errno;
		*why = std::string("cannot detach: ") + strerror(errno);
		result = Attach::error;
	}
	return result;
}

uint32_t le32(const uint8_t *p)
{
	return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

int inspect_process(int pid, const CheckOptions &options, ProcessReport *report, std::string *error)
{
	report->pid = pid;
	if (pid == getpid()) {
		*error = "cannot inspect itself (process " + std::to_string(pid) + ")";
		return 2;
	}
	struct stat st;
	if (stat(proc_path(pid, "").c_str(), &st) != 0) {
		*error = errno == ENOENT ? "no such process: " + std::to_string(pid)
					 : "cannot look at process " + std::to_string(pid) + ": " + strerror(errno);
		return 2;
	}
	report->command = read_small_file(proc_path(pid, "comm"));
	// The state follows the command's closing parenthesis in /proc/PID/stat.
	std::string stat = read_small_file(proc_path(pid, "stat"));
	size_t paren = stat.rfind(')');
	if (paren != std::string::npos && paren + 2 < stat.size() && (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X')) {
		*error = "process " + std::to_string(pid) + " has exited (a zombie, not yet reaped)";
		return 2;
	}

	int memfd = open(proc_path(pid, "mem").c_str(), O_RDONLY | O_CLOEXEC);
	if (memfd < 0) {
		if (errno == EACCES || errno == EPERM)
			*error = permission_message(pid);
		else if (errno == ENOENT || errno == ESRCH)
			*error = "no such process: " + std::to_string(pid);
		else
			*error = "cannot open /proc/" + std::to_string(pid) + "/mem: " + strerror(errno);
		return 2;
	}
	Memory mem(memfd);

	std::string maps_text;
	int mapsfd = open(proc_path(pid, "maps").c_str(), O_RDONLY | O_CLOEXEC);
	if (mapsfd < 0 || !read_whole(mapsfd, &maps_text)) {
		int e = errno;
		if (mapsfd >= 0)
			close(mapsfd);
		*error = e == EACCES || e == EPERM ? permission_message(pid)
						   : "cannot read /proc/" + std::to_string(pid) + "/maps: " + strerror(e);
		return 2;
	}
	close(mapsfd);
	std::vector<Mapping> maps;
	parse_maps(maps_text, &maps);
	if (maps.empty()) {
		*error = "process " + std::to_string(pid) + " has no memory mappings (a kernel thread)";
		return 2;
	}

	// Loaded objects: files mapped from disk, grouped by device and inode.
	std::vector<LoadedObject> objects;
	std::map<std::tuple<unsigned, unsigned, uint64_t>, size_t> by_file;
	for (const Mapping &m : maps) {
		if (m.path.empty() || m.path[0] != '/' || m.inode == 0)
			continue;
		auto key = std::make_tuple(m.dev_major, m.dev_minor, m.inode);
		auto it = by_file.find(key);
		if (it == by_file.end()) {
			if (!is_elf_file(pid, m)) {
				by_file.emplace(key, SIZE_MAX);
				continue;
			}
			it = by_file.emplace(key, objects.size()).first;
			objects.emplace_back();
			objects.back().path = m.path;
		}
		if (it->second != SIZE_MAX)
			objects[it->second].maps.push_back(&m);
	}
	for (LoadedObject &obj : objects) {
		obj.report.path = obj.path;
		std::string err;
		obj.image = open_object(pid, *obj.maps.front(), &err);
		if (!obj.image) {
			obj.report.error = err;
			continue;
		}
		compute_bias(obj);
	}

	// glibc's published registration: __rseq_offset and __rseq_size in libc (or a
	// static executable).
	for (LoadedObject &obj : objects) {
		if (!obj.image || !obj.bias_known)
			continue;
		auto off = obj.image->lookup_symbol("__rseq_offset");
		auto size = obj.image->lookup_symbol("__rseq_size");
		uint64_t offset_value = 0;
		uint32_t size_value = 0;
		if (off && size && mem.read(obj.bias + off->value, &offset_value, 8) &&
		    mem.read(obj.bias + size->value, &size_value, 4)) {
			report->glibc_rseq = true;
			report->glibc_rseq_offset = static_cast<int64_t>(offset_value);
			report->glibc_rseq_size = size_value;
			break;
		}
	}
	// Objects defining a TLS __rseq_abi (rseqkit, tcmalloc, older librseq).
	struct AbiDefinition {
		std::string path;
		uint64_t tls_offset;
	};
	std::vector<AbiDefinition> abi_defs;
	for (LoadedObject &obj : objects) {
		if (!obj.image)
			continue;
		auto sym = obj.image->lookup_symbol("__rseq_abi");
		if (sym && sym->type == STT_TLS)
			abi_defs.push_back({obj.path, sym->value});
	}

	// Threads.
	DIR *dir = opendir(proc_path(pid, "task").c_str());
	if (!dir) {
		*error = errno == ENOENT ? "no such process: " + std::to_string(pid)
					 : "cannot list the threads of process " + std::to_string(pid) + ": " + strerror(errno);
		return 2;
	}
	std::vector<int> tids;
	while (struct dirent *de = readdir(dir)) {
		char *end = nullptr;
		long tid = strtol(de->d_name, &end, 10);
		if (*end == 0 && tid > 0)
			tids.push_back(static_cast<int>(tid));
	}
	closedir(dir);
	std::sort(tids.begin(), tids.end());
	// The thread-group leader first, as in ps.
	std::stable_partition(tids.begin(), tids.end(), [pid](int t) { return t == pid; });

	int status = 0;
	for (int tid : tids) {
		ThreadSample sample;
		int err = 0;
		std::string why;
		ThreadReport t;
		t.tid = tid;
		t.name = read_small_file(proc_path(pid, "task/" + std::to_string(tid) + "/comm"));
		Attach a = sample_thread(tid, mem, &sample, &err, &why);
		if (a == Attach::gone)
			continue;  // exited while we looked
		if (a == Attach::error) {
			if (err == EPERM || err == EACCES) {
				// A tracee cannot have two tracers: say so rather than blame permissions.
				long tracer = tracer_of(pid, tid);
				*error = tracer > 0 ? "process " + std::to_string(pid) + " is already traced by process " +
							      std::to_string(tracer) + " (a debugger or strace?)"
						    : permission_message(pid);
				return 2;
			}
			if (err == EIO && why.rfind("PTRACE_GET_RSEQ_CONFIGURATION", 0) == 0) {
				*error = "this kernel does not support PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13 or later)";
				return 2;
			}
			t.error = why;
			status = 2;
			report->threads.push_back(std::move(t));
			continue;
		}
		t.registered = sample.conf.rseq_abi_pointer != 0;
		if (t.registered) {
			t.area = sample.conf.rseq_abi_pointer;
			t.length = sample.conf.rseq_abi_size;
			t.signature = sample.conf.signature;
			t.flags = sample.conf.flags;
			t.area_read = sample.area_read;
			if (sample.area_read) {
				t.cpu_id_start = le32(sample.area);
				t.cpu_id = le32(sample.area + 4);
				memcpy(&t.rseq_cs, sample.area + 8, 8);
				t.node_id = le32(sample.area + 20);
				t.mm_cid = le32(sample.area + 24);
			}
			if (report->glibc_rseq && sample.have_tp &&
			    t.area == sample.tp + static_cast<uint64_t>(report->glibc_rseq_offset)) {
				t.owner = "glibc";
			} else {
				// __rseq_abi of some object: the area is that symbol in one of this
				// thread's TLS blocks.  Blocks do not say which object they belong
				// to, so objects with the symbol at the same offset are all named.
				for (const AbiDefinition &def : abi_defs)
					for (uint64_t block : sample.tls_blocks)
						if (block + def.tls_offset == t.area &&
						    std::find(t.owner_objects.begin(), t.owner_objects.end(), def.path) ==
							    t.owner_objects.end())
							t.owner_objects.push_back(def.path);
				t.owner = t.owner_objects.empty() ? "unknown" : "__rseq_abi";
			}
		}
		report->threads.push_back(std::move(t));
	}
	if (report->threads.empty()) {
		*error = "no such process: " + std::to_string(pid) + " (it exited)";
		return 2;
	}

	for (LoadedObject &obj : objects) {
		if (obj.image)
			inspect_image(*obj.image, options, &obj.report);
		report->files.push_back(std::move(obj.report));
	}
	int file_status = exit_status(report->files);
	return std::max(status, file_status);
}

}  // namespace rseqinspect
