// SPDX-License-Identifier: MIT
// rseq-inspect: file input (see file_input.h).
#include "file_input.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rseqinspect {

namespace {

const char *type_phrase(mode_t mode)
{
	if (S_ISDIR(mode))
		return "is a directory";
	if (S_ISFIFO(mode))
		return "is a FIFO, not a regular file";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "is a device, not a regular file";
	if (S_ISSOCK(mode))
		return "is a socket, not a regular file";
	return "is not a regular file";
}

}  // namespace

int open_regular_file(const std::string &path, std::string *error)
{
	struct stat st;
	// Look before opening: opening some devices has side effects.
	if (stat(path.c_str(), &st) != 0) {
		*error = strerror(errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error = type_phrase(st.st_mode);
		return -1;
	}
	// O_NONBLOCK: should the path have become a FIFO since, open() must not wait
	// for a writer.
	int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		*error = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*error = S_ISREG(st.st_mode) ? strerror(errno) : type_phrase(st.st_mode);
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		*error = "empty file";
		close(fd);
		return -1;
	}
	return fd;
}

void inspect_path(const std::string &path, const CheckOptions &options, FileReport *report)
{
	report->path = path;
	std::string error;
	int fd = open_regular_file(path, &error);
	if (fd < 0) {
		report->error = error;
		return;
	}
	std::unique_ptr<ElfImage> img = ElfImage::from_fd(fd, &error);
	if (!img) {
		report->error = error;
		return;
	}
	inspect_image(*img, options, report);
}

}  // namespace rseqinspect
