// SPDX-License-Identifier: MIT
// The live screen: plain ANSI escapes on a terminal in non-canonical mode (no curses).
// Uses the alternate screen and restores the terminal on stop() and at exit.
#pragma once

#include <string>
#include <vector>

namespace rseqtop {

class Screen {
public:
	~Screen();
	// Takes over the terminal on fd 0/1; false when they are not a terminal.
	bool start();
	void stop();
	// Redraws the whole screen: lines are cut to the width, the rest is cleared.
	void draw(const std::vector<std::string> &lines);
	int rows() const { return rows_; }
	int cols() const { return cols_; }
	void update_size();
	// Reads one key press, waiting up to timeout_ms; -1 when none.
	int read_key(int timeout_ms);
	// Line input on the last status line; false when cancelled (Escape).
	bool prompt(const std::string &label, std::string *answer);

private:
	bool active_ = false;
	int rows_ = 24, cols_ = 80;
};

}  // namespace rseqtop
