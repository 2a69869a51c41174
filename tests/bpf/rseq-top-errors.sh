#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad input and missing kernel support: one line on stderr saying what and how to fix
# it, and the documented exit status; never a crash.  The command's exit status
# passes through.
. "$RSEQKIT_SRCDIR/tests/bpf/lib.sh"
require_root

# expect STATUS PATTERN CMD...: CMD exits with STATUS and prints exactly one line on
# stderr, matching PATTERN (grep -E).
expect() {
	want=$1; pattern=$2; shift 2
	"$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	lines=$(wc -l < "$tmp/err")
	if [ "$rc" = "$want" ] && [ "$lines" = 1 ] && grep -Eq -- "$pattern" "$tmp/err"; then
		pass "$*: $rc, $(cat "$tmp/err")"
	else
		fail "$*: status $rc (want $want), stderr: $(cat "$tmp/err")"
	fi
}

expect 2 'bad iteration count' "$TOP" -b -n 0
expect 2 'bad delay' "$TOP" -b -d abc
expect 2 'bad delay' "$TOP" -b -d 0
expect 2 "bad PID 'x'" "$TOP" -b -p 1,x
expect 2 'unknown sort field' "$TOP" -b -s bogus
expect 2 'bad --attach' "$TOP" -b --attach kprobe
expect 2 '-F needs -p' "$TOP" -b -F
expect 2 'unknown option' "$TOP" --no-such-option
expect 2 'needs a value' "$TOP" -b -d
expect 2 'cannot be combined' "$TOP" -b -p 1 -- true
expect 2 'bad --max-sequences' "$TOP" -b --max-sequences 0
expect 1 'no such process: 2147483' "$TOP" -b -p 2147483
expect 1 'cannot open cgroup' "$TOP" -b -n 1 --cgroup /nonexistent/cgroup
expect 1 'not a cgroup v2 directory' "$TOP" -b -n 1 --cgroup /tmp
expect 1 'cannot write /nonexistent' "$TOP" -b -n 1 -o /nonexistent/dir/out

# Privileges: as nobody, with no capabilities.
expect 1 'missing privileges: .*CAP_BPF and CAP_PERFMON.*setcap' \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$TOP" -b -n 1

# No BTF, and BTF without the tracepoint (the BTF of rseq-top's own BPF object).
RSEQ_TOP_BTF=/nonexistent/vmlinux expect 1 'cannot read kernel BTF from /nonexistent/vmlinux' "$TOP" -b -n 1
RSEQ_TOP_BTF=$builddir/bpf/rseq_notify.o expect 1 'no rseq:rseq_ip_fixup tracepoint.*CONFIG_RSEQ' "$TOP" -b -n 1

# The command: not found, not runnable, its status, its death by a signal.
expect 127 'cannot run the command: No such file or directory' "$TOP" -b -- /nonexistent/command
expect 126 'cannot run the command: Permission denied' "$TOP" -b -- /etc/passwd
"$TOP" -b -- sh -c 'exit 7' > /dev/null 2>&1
[ $? = 7 ] && pass "command status 7 passes through" || fail "command status 7 did not pass through"
"$TOP" -b -- sh -c 'kill -TERM $$' > /dev/null 2>&1
[ $? = 143 ] && pass "death by SIGTERM is 143" || fail "death by SIGTERM is not 143"

# --demo without rseq-stress.
RSEQ_STRESS=/nonexistent/rseq-stress expect 1 'demo needs rseq-stress' "$TOP" --demo -b

# Not a terminal: batch output without -b.
if "$TOP" -n 1 -d 0.1 < /dev/null > "$tmp/nontty" 2>&1 && grep -q '^    PID COMM' "$tmp/nontty"; then
	pass "no terminal: batch output"
else
	fail "no terminal: $(cat "$tmp/nontty")"
fi
finish
