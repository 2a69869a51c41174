#!/bin/sh
# SPDX-License-Identifier: MIT
# rseq-top's overhead (make bench; not a test: it asserts nothing, it measures).
#   1. Throughput of the exactness workload (2 threads, per-CPU add) alone and while
#      rseq-top watches the whole system, at a low abort rate (preemption only) and a
#      high one (timer signals), causes off and on.  Runs alternate; medians of $RUNS.
#      Throughput is given per CPU-second of the workload (what it gets done with the
#      CPU it had, robust against other load on the machine) and per wall second.
#   2. The cost of each BPF program per event, from the kernel's BPF run-time
#      statistics (kernel.bpf_stats_enabled), in the high-rate runs.
#   3. Time from the start of rseq-top until it counts and to its first sample.
#   4. Peak RSS: idle, watching the workload with causes, and while 1000 short-lived
#      processes abort (their rows expire: memory stays bounded).
# Needs root.  Environment: RUNS (default 7), SECONDS_PER_RUN (default 2).
set -u
builddir=${RSEQKIT_BUILDDIR:-.}
TOP=$builddir/tools/rseq-top/rseq-top
WL=$builddir/tests/bpf/abort-workload
RUNS=${RUNS:-7}
DUR=${SECONDS_PER_RUN:-2}
BPFTOOL=${BPFTOOL:-bpftool}
if [ "$(id -u)" != 0 ]; then
	echo "rseq-top-overhead: needs root to load BPF programs" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rseq-top-bench.XXXXXX")
trap 'rm -rf "$tmp"; [ -n "${stats_was:-}" ] && sysctl -q kernel.bpf_stats_enabled="$stats_was"' EXIT

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# workload ARGS: prints "ops-per-cpu-second ops-per-second aborts-per-second".
workload() {
	"$WL" --op add --threads 2 --duration "$DUR" --json "$@" |
		python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["sequences"][0]
t = float(sys.argv[1])
print(s["commits"] / d["cpu_s"], s["commits"] / t, s["aborts"] / t)' "$DUR"
}

# Starts rseq-top in the background and waits until it counts.
start_top() {
	"$TOP" -b -d 1 -o /dev/null -v "$@" 2> "$tmp/top.err" &
	top_pid=$!
	for _ in $(seq 1 200); do
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

peak_rss() {
	sed -n 's/.*peak RSS \([0-9]*\) kB/\1/p' "$tmp/top.err"
}

echo "rseq-top overhead: $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$RUNS alternating runs of ${DUR}s per configuration, medians"
echo
printf '%-30s %13s %13s %9s %11s %11s %9s %10s\n' "configuration" "alone/cpu-s" "watched/cpu-s" "slowdown" \
	"alone/s" "watched/s" "slowdown" "aborts/s"
for rate in low high; do
	if [ $rate = low ]; then wargs="--delay 100"; else wargs="--delay 100 --signal-every-us 20"; fi
	for causes in off on; do
		topargs=
		[ $causes = on ] && topargs=-C
		: > "$tmp/a_cpu"; : > "$tmp/w_cpu"; : > "$tmp/a_wall"; : > "$tmp/w_wall"; : > "$tmp/aborts"
		for _ in $(seq 1 "$RUNS"); do
			# shellcheck disable=SC2086
			workload $wargs > "$tmp/r"
			cut -d' ' -f1 "$tmp/r" >> "$tmp/a_cpu"; cut -d' ' -f2 "$tmp/r" >> "$tmp/a_wall"
			# shellcheck disable=SC2086
			start_top $topargs
			# shellcheck disable=SC2086
			workload $wargs > "$tmp/r"
			stop_top
			cut -d' ' -f1 "$tmp/r" >> "$tmp/w_cpu"; cut -d' ' -f2 "$tmp/r" >> "$tmp/w_wall"
			cut -d' ' -f3 "$tmp/r" >> "$tmp/aborts"
		done
		ac=$(median < "$tmp/a_cpu"); wc=$(median < "$tmp/w_cpu")
		aw=$(median < "$tmp/a_wall"); ww=$(median < "$tmp/w_wall")
		printf '%-30s %13.0f %13.0f %8.2f%% %11.0f %11.0f %8.2f%% %10.0f\n' "$rate abort rate, causes $causes" \
			"$ac" "$wc" "$(echo "$ac $wc" | awk '{ print ($1 - $2) * 100 / $1 }')" \
			"$aw" "$ww" "$(echo "$aw $ww" | awk '{ print ($1 - $2) * 100 / $1 }')" "$(median < "$tmp/aborts")"
	done
done

# BPF run time of the programs rseq-top (top_pid) holds, as "name runs ns" lines: its
# file descriptors tell the program IDs.
prog_times() {
	ids=$(cat /proc/"$top_pid"/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p' | sort -u | tr '\n' ' ')
	"$BPFTOOL" -j prog show | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1].split()}
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0))' "$ids"
}

echo
echo "Time in rseq-top's BPF programs (kernel.bpf_stats_enabled, whose own clock reads are included):"
echo "the abort path's share of the workload's CPU time, all programs' share of the machine"
echo "(events of every process count there), and each program's rate and cost per run:"
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1
for rate in low high; do
	if [ $rate = low ]; then wargs="--delay 100"; else wargs="--delay 100 --signal-every-us 20"; fi
	for causes in off on; do
		topargs=
		[ $causes = on ] && topargs=-C
		# shellcheck disable=SC2086
		start_top $topargs
		prog_times > "$tmp/before"
		# shellcheck disable=SC2086
		"$WL" --op add --threads 2 --duration "$DUR" --json $wargs > "$tmp/wl.json"
		prog_times > "$tmp/after"
		stop_top
		python3 - "$tmp/before" "$tmp/after" "$tmp/wl.json" "$rate abort rate, causes $causes" "$DUR" "$(nproc)" <<'PY'
import json, sys
def load(path):
    return {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in open(path) if l.strip()}
before, after = load(sys.argv[1]), load(sys.argv[2])
wl = json.load(open(sys.argv[3]))
dur = float(sys.argv[5])
ncpu = int(sys.argv[6])
total_ns = fixup_ns = 0
parts = []
for name, (runs, ns) in sorted(after.items()):
    r0, n0 = before.get(name, (0, 0))
    if runs > r0:
        total_ns += ns - n0
        if name.startswith("ip_fixup"):
            fixup_ns = ns - n0
        parts.append("%s %.0f/s %.0f ns" % (name, (runs - r0) / dur, (ns - n0) / (runs - r0)))
aborts = wl["sequences"][0]["aborts"] / dur
print("  %-30s %6.0f aborts/s: abort path %.3f%% of the workload's CPU, all programs %.3f%% of the machine"
      % (sys.argv[4], aborts, fixup_ns / 1e9 / wl["cpu_s"] * 100, total_ns / 1e9 / (dur * ncpu) * 100))
print("  %-30s %s" % ("", "; ".join(parts)))
PY
	done
done
sysctl -q kernel.bpf_stats_enabled="$stats_was"
stats_was=

echo
: > "$tmp/start"; : > "$tmp/ready"
for _ in $(seq 1 "$RUNS"); do
	t0=$(date +%s%N)
	"$TOP" -b -n 1 -d 0.01 -j -v > /dev/null 2> "$tmp/err"
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000000 - 10 ))" >> "$tmp/start"
	sed -n 's/.*counting after \([0-9.]*\) ms.*/\1/p' "$tmp/err" >> "$tmp/ready"
done
echo "start until counting: $(median < "$tmp/ready") ms;" \
	"start to first sample (wall time of rseq-top -b -n 1 -d 0.01, less the 10 ms interval): $(median < "$tmp/start") ms"

start_top
sleep 2
stop_top
echo "peak RSS, idle for 2 s: $(peak_rss) kB"
start_top -C
workload --delay 100 --signal-every-us 50 > /dev/null
stop_top
echo "peak RSS, watching the workload with causes: $(peak_rss) kB"
"$TOP" -b -d 0.2 -o /dev/null -v 2> "$tmp/top.err" &
top_pid=$!
sleep 0.5
for _ in $(seq 1 1000); do
	"$WL" --op all --threads 1 --ops 300 --delay 3000 --signal-every-us 30 > /dev/null
done
sleep 1.5
stop_top
echo "peak RSS, 1000 short-lived processes with 3 sequences each: $(peak_rss) kB"
