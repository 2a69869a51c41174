#!/bin/sh
# fuzz-smoke.sh FUZZER SEEDS OUTDIR [SECONDS]: a short libFuzzer run for CI.
# Copies the checked-in seeds into OUTDIR/fuzz-corpus (the seeds stay untouched), runs
# FUZZER for SECONDS (default 60) on one core, and fails on any finding; crash inputs
# land in OUTDIR/fuzz-findings/.  Prints libFuzzer's final statistics.
set -u
fuzzer=$1 seeds=$2 out=$3 seconds=${4:-60}
corpus=$out/fuzz-corpus
findings=$out/fuzz-findings
mkdir -p "$corpus" "$findings"
cp "$seeds"/* "$corpus"/ || exit 1
log=$out/fuzz-smoke.log
echo "fuzz-smoke: $fuzzer for ${seconds}s from $(ls "$seeds" | wc -l) seeds (log: $log)"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-print_final_stats=1 -artifact_prefix="$findings/" "$corpus" > "$log" 2>&1
status=$?
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
grep -E '^#[0-9]+ +DONE' "$log" | tail -1
if [ "$status" -ne 0 ]; then
	echo "fuzz-smoke: FAILED (status $status): a finding; see $log and $findings" >&2
	grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -20 >&2
	exit 1
fi
echo "fuzz-smoke: no findings"
