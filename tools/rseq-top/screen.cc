// SPDX-License-Identifier: MIT
#include "screen.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace rseqtop {

namespace {
struct termios g_saved;
bool g_saved_valid = false;

void write_all(const std::string &s)
{
	const char *p = s.data();
	size_t left = s.size();
	while (left) {
		ssize_t n = ::write(STDOUT_FILENO, p, left);
		if (n <= 0)
			return;
		p += n;
		left -= static_cast<size_t>(n);
	}
}

// Also run at exit(), so that an error path never leaves the terminal raw.
void restore_terminal()
{
	if (!g_saved_valid)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved);
	g_saved_valid = false;
	write_all("\x1b[?25h\x1b[?1049l");
}
}  // namespace

Screen::~Screen()
{
	stop();
}

bool Screen::start()
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return false;
	if (tcgetattr(STDIN_FILENO, &g_saved) != 0)
		return false;
	struct termios raw = g_saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0)
		return false;
	g_saved_valid = true;
	static bool registered = false;
	if (!registered) {
		std::atexit(restore_terminal);
		registered = true;
	}
	active_ = true;
	update_size();
	write_all("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
	return true;
}

void Screen::stop()
{
	if (!active_)
		return;
	active_ = false;
	restore_terminal();
}

void Screen::update_size()
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		rows_ = ws.ws_row;
		cols_ = ws.ws_col;
	}
}

void Screen::draw(const std::vector<std::string> &lines)
{
	std::string out = "\x1b[H";
	for (int i = 0; i < rows_; i++) {
		if (i < (int)lines.size()) {
			const std::string &l = lines[i];
			// Row 3 (after the header) is the column header: reverse video.
			const bool inverse = !l.empty() && l[0] == '\x01';
			std::string text = inverse ? l.substr(1) : l;
			if ((int)text.size() > cols_)
				text.resize(static_cast<size_t>(cols_));
			if (inverse) {
				text.resize(static_cast<size_t>(cols_), ' ');
				out += "\x1b[7m" + text + "\x1b[0m";
			} else {
				out += text;
			}
		}
		out += "\x1b[K";
		if (i + 1 < rows_)
			out += "\r\n";
	}
	write_all(out);
}

int Screen::read_key(int timeout_ms)
{
	struct pollfd p = {STDIN_FILENO, POLLIN, 0};
	if (poll(&p, 1, timeout_ms) <= 0 || !(p.revents & POLLIN))
		return -1;
	unsigned char c;
	if (::read(STDIN_FILENO, &c, 1) != 1)
		return -1;
	return c;
}

bool Screen::prompt(const std::string &label, std::string *answer)
{
	answer->clear();
	for (;;) {
		std::string line = "\x1b[" + std::to_string(rows_) + ";1H\x1b[K" + label + *answer + "\x1b[?25h";
		write_all(line);
		int c = read_key(-1);
		if (c == '\r' || c == '\n')
			break;
		if (c == 0x1b || c < 0) {
			write_all("\x1b[?25l");
			return false;
		}
		if ((c == 0x7f || c == 0x08) && !answer->empty())
			answer->pop_back();
		else if (c >= 0x20 && c < 0x7f && answer->size() < 200)
			answer->push_back(static_cast<char>(c));
	}
	write_all("\x1b[?25l");
	return true;
}

}  // namespace rseqtop
