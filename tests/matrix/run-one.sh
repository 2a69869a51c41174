#!/bin/sh
# run-one.sh MODE PROGRAM: runs one test program of the build tree in one registration
# mode (tests/harness/run-mode) and prints one result line:
#
#   @@MATRIX result kernel=K glibc=G mode=M program=P status=PASS tests=16 failed=0 skipped=0 seconds=1
#
# status is PASS, FAIL or SKIP (exit status 77).  A GoogleTest program counts its test
# cases; any other program counts as one test.  Lines the program prints that start
# with "@facts " are passed on as "@@MATRIX facts kernel=K glibc=G mode=M program=P ...".
# On failure the end of the program's output follows, each line prefixed with "@@log ".
# Runs on the build machine and, with busybox, inside the kernel matrix's VMs.
#
# Environment:
#   RSEQKIT_BUILDDIR  build tree (PROGRAM is relative to it)       (required)
#   MATRIX_RUN_MODE   path of tests/harness/run-mode                (required)
#   MATRIX_KERNEL, MATRIX_GLIBC  labels for the result line
#   MATRIX_LOADER     a glibc's ld-linux-x86-64.so.2 to run PROGRAM with, and
#   MATRIX_LIBPATH    its --library-path; without MATRIX_LOADER the program runs directly
#   MATRIX_TIMEOUT    seconds before the program is killed (default 300)
#   MATRIX_LOGDIR     where the program's output is kept (default: a temporary file)
#   GTEST_FILTER      honoured by GoogleTest programs
set -u
[ $# -eq 2 ] || { echo "usage: run-one.sh MODE PROGRAM" >&2; exit 2; }
mode=$1 program=$2
builddir=${RSEQKIT_BUILDDIR:?}
run_mode=${MATRIX_RUN_MODE:?}
timeout_s=${MATRIX_TIMEOUT:-300}
label="kernel=${MATRIX_KERNEL:-?} glibc=${MATRIX_GLIBC:-?} mode=$mode program=$program"

if [ -n "${MATRIX_LOGDIR:-}" ]; then
  log=$MATRIX_LOGDIR/$(printf '%s' "${MATRIX_KERNEL:-}_${MATRIX_GLIBC:-}_${mode}_$program" | tr '/ ' '__').log
  keep=1
else
  log=$(mktemp) || exit 2
  keep=0
fi

start=$(date +%s)
if [ -n "${MATRIX_LOADER:-}" ]; then
  timeout "$timeout_s" sh "$run_mode" "$mode" "$MATRIX_LOADER" --library-path "${MATRIX_LIBPATH:-}" \
    "$builddir/$program" > "$log" 2>&1 < /dev/null
else
  timeout "$timeout_s" sh "$run_mode" "$mode" "$builddir/$program" > "$log" 2>&1 < /dev/null
fi
rc=$?
seconds=$(( $(date +%s) - start ))

# GoogleTest's summary: "[==========] N tests from M test suites ran.", then PASSED,
# SKIPPED and FAILED counts.
ran=$(sed -n 's/^\[==========\] \([0-9]*\) tests\{0,1\} from .* ran\..*/\1/p' "$log" | tail -n 1)
if [ -n "$ran" ]; then
  failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -n 1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -n 1)
  tests=$ran failed=${failed:-0} skipped=${skipped:-0}
else
  tests=1 failed=0 skipped=0
fi
if [ $rc -eq 0 ] && [ "$failed" -eq 0 ]; then
  status=PASS
elif [ $rc -eq 77 ] && [ -z "$ran" ]; then
  status=SKIP skipped=1
else
  status=FAIL
  # A crash, a timeout or a sanitizer report after a clean GoogleTest summary.
  [ "$failed" -eq 0 ] && failed=1
fi
note=
[ $rc -ne 0 ] && [ $seconds -ge "$timeout_s" ] && note=" note=timeout-${timeout_s}s"

sed -n "s|^@facts |@@MATRIX facts $label |p" "$log"
echo "@@MATRIX result $label status=$status tests=$tests failed=$failed skipped=$skipped seconds=$seconds exit=$rc$note"
if [ $status = FAIL ]; then
  # GoogleTest's failure messages if there are any, else the end of the output.
  if grep -q '^\[  FAILED  \]' "$log"; then
    grep -E -A12 '(Failure|FAILED  \] [^0-9])' "$log" | head -n 60
  else
    tail -n 30 "$log"
  fi | sed 's/^/@@log /'
fi
[ $keep = 1 ] || rm -f "$log"
[ $status != FAIL ]
