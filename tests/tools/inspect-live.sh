#!/bin/sh
# Runs rseq-inspect's live-process gtest suite (inspect-live-test) in each of the four
# registration modes through tests/harness/run-mode, and fails if any mode fails.
# (Listing inspect-live-test.glibc ... .eperm in TESTS would give all four the same
# log file, and only one of them would run.)
set -u
b=${RSEQKIT_BUILDDIR:-.}
s=${RSEQKIT_SRCDIR:-.}
failed=
for mode in glibc rseqkit enosys eperm; do
	echo "=== mode $mode"
	if ! sh "$s/tests/harness/run-mode" "$mode" "$b/tests/tools/inspect-live-test"; then
		failed="$failed $mode"
	fi
done
if [ -n "$failed" ]; then
	echo "inspect-live: FAILED in mode(s):$failed"
	exit 1
fi
echo "inspect-live: passed in all four modes"
