#!/bin/sh
# SPDX-License-Identifier: MIT
# rseq-top's overhead (make bench; not a test: it asserts nothing, it measures).
#   1. Throughput of the exactness workload (2 threads, per-CPU add) alone and while
#      rseq-top watches the whole system, at a low abort rate (preemption only) and a
#      high one (timer signals), causes off and on.  Runs alternate; medians of $RUNS.
#   2. Time from the start of rseq-top to its first sample (-b -n 1 -d 0.01).
#   3. Peak RSS: idle, watching the workload with causes, and while 1000 short-lived
#      processes abort (their rows expire: memory stays bounded).
# Needs root.  Environment: RUNS (default 5), SECONDS_PER_RUN (default 2).
set -u
builddir=${RSEQKIT_BUILDDIR:-.}
TOP=$builddir/tools/rseq-top/rseq-top
WL=$builddir/tests/bpf/abort-workload
RUNS=${RUNS:-5}
DUR=${SECONDS_PER_RUN:-2}
if [ "$(id -u)" != 0 ]; then
	echo "rseq-top-overhead: needs root to load BPF programs" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rseq-top-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# workload ARGS: prints "commits/s aborts/s".
workload() {
	"$WL" --op add --threads 2 --duration "$DUR" --json "$@" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["sequences"][0]; t=float(sys.argv[1]); print(s["commits"]/t, s["aborts"]/t)' "$DUR"
}

# Starts rseq-top in the background and waits until it counts.
start_top() {
	"$TOP" -b -d 1 -o /dev/null -v "$@" 2> "$tmp/top.err" &
	top_pid=$!
	for _ in $(seq 1 100); do
		grep -q 'counting after' "$tmp/top.err" 2>/dev/null && return
		sleep 0.05
	done
	echo "rseq-top did not start: $(cat "$tmp/top.err")" >&2
	exit 1
}

stop_top() {
	kill -TERM "$top_pid"
	wait "$top_pid" 2>/dev/null
}

echo "rseq-top overhead, $(uname -r), $(nproc) CPUs, $RUNS runs of ${DUR}s each, medians"
echo
printf '%-34s %14s %14s %10s %12s\n' "configuration" "alone ops/s" "watched ops/s" "slowdown" "aborts/s"
for rate in low high; do
	if [ $rate = low ]; then wargs="--delay 100"; else wargs="--delay 100 --signal-every-us 20"; fi
	for causes in off on; do
		topargs=
		[ $causes = on ] && topargs=-C
		: > "$tmp/alone"; : > "$tmp/watched"; : > "$tmp/aborts"
		for _ in $(seq 1 "$RUNS"); do
			# shellcheck disable=SC2086
			workload $wargs > "$tmp/r" && cut -d' ' -f1 "$tmp/r" >> "$tmp/alone"
			# shellcheck disable=SC2086
			start_top $topargs
			# shellcheck disable=SC2086
			workload $wargs > "$tmp/r" && cut -d' ' -f1 "$tmp/r" >> "$tmp/watched" && cut -d' ' -f2 "$tmp/r" >> "$tmp/aborts"
			stop_top
		done
		a=$(median < "$tmp/alone"); w=$(median < "$tmp/watched"); ab=$(median < "$tmp/aborts")
		printf '%-34s %14.0f %14.0f %9.2f%% %12.0f\n' "$rate abort rate, causes $causes" "$a" "$w" \
			"$(echo "$a $w" | awk '{ print ($1 - $2) * 100 / $1 }')" "$ab"
	done
done

echo
: > "$tmp/start"; : > "$tmp/ready"
for _ in $(seq 1 "$RUNS"); do
	t0=$(date +%s%N)
	"$TOP" -b -n 1 -d 0.01 -j -v > /dev/null 2> "$tmp/err"
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000000 ))" >> "$tmp/start"
	sed -n 's/.*counting after \([0-9.]*\) ms.*/\1/p' "$tmp/err" >> "$tmp/ready"
done
echo "start to first sample (rseq-top -b -n 1 -d 0.01, whole run): $(median < "$tmp/start") ms;" \
	"counting begins after $(median < "$tmp/ready") ms"

# Peak RSS.
start_top
sleep 2
stop_top
echo "peak RSS, idle for 2 s: $(sed -n 's/.*peak RSS \([0-9]*\) kB/\1/p' "$tmp/top.err") kB"
start_top -C
workload --delay 100 --signal-every-us 50 > /dev/null
stop_top
echo "peak RSS, watching the workload with causes: $(sed -n 's/.*peak RSS \([0-9]*\) kB/\1/p' "$tmp/top.err") kB"
"$TOP" -b -d 0.2 -o /dev/null -v 2> "$tmp/top.err" &
top_pid=$!
sleep 0.5
for i in $(seq 1 1000); do
	"$WL" --op all --threads 1 --ops 300 --delay 3000 --signal-every-us 30 > /dev/null
done
sleep 0.5
stop_top
echo "peak RSS, 1000 short-lived processes with 3 sequences each: $(sed -n 's/.*peak RSS \([0-9]*\) kB/\1/p' "$tmp/top.err") kB"
