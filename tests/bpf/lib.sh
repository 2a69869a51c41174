# SPDX-License-Identifier: MIT
# Shared by the rseq-top tests: paths, root check, a scratch directory, assertions.
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check}
builddir=${RSEQKIT_BUILDDIR:?run through make check}
TOP=$builddir/tools/rseq-top/rseq-top
WL=$builddir/tests/bpf/abort-workload
CHECK="python3 $srcdir/tests/bpf/check-totals.py"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rseq-top-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

# Loading BPF programs needs root here (CAP_BPF + CAP_PERFMON): 77 is SKIP, which
# the CI counts as a failure.
require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $(basename "$0") needs root (CAP_BPF and CAP_PERFMON) to load BPF programs"
		exit 77
	fi
	command -v python3 >/dev/null || { echo "ERROR: python3 is needed"; exit 99; }
}

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

# run_checked NAME CHECK-OPTIONS -- RSEQ-TOP-OPTIONS -- WORKLOAD-ARGS:
# counts the workload under rseq-top and compares the totals exactly.
run_checked() {
	name=$1; shift
	check_opts=
	while [ "$1" != -- ]; do check_opts="$check_opts $1"; shift; done
	shift
	top_opts=
	while [ "$1" != -- ]; do top_opts="$top_opts $1"; shift; done
	shift
	# shellcheck disable=SC2086
	"$TOP" -b -j $top_opts -o "$tmp/$name.top" -- "$WL" --json "$@" > "$tmp/$name.wl" 2> "$tmp/$name.err"
	rc=$?
	if [ $rc != 0 ]; then
		fail "$name: rseq-top exited with $rc: $(cat "$tmp/$name.err")"
		return
	fi
	# shellcheck disable=SC2086
	if $CHECK "$tmp/$name.wl" "$tmp/$name.top" $check_opts > "$tmp/$name.check"; then
		pass "$name: $(tail -n 1 "$tmp/$name.check")"
	else
		fail "$name:"
		cat "$tmp/$name.check"
		echo "workload: $(cat "$tmp/$name.wl")"
		echo "rseq-top: $(cat "$tmp/$name.top")"
	fi
}

finish() {
	if [ $failures != 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	exit 0
}
