#!/bin/sh
# SPDX-License-Identifier: MIT
# rseq-top's per-sequence totals equal the workload's own abort counts exactly:
# delay (preemption) and signal injection, causes off and on, tp_btf and raw_tp,
# descendants (sh -c, fork), exec, per-thread rows.
. "$RSEQKIT_SRCDIR/tests/bpf/lib.sh"
require_root

# 4 threads on 2 CPUs with a long critical section: preempted often.
run_checked delay --min-aborts 20 --names -- -- --op all --threads 4 --ops 4000 --delay 50000
run_checked signals --min-aborts 200 --names -- -- --op all --threads 2 --ops 40000 --delay 2000 --signal-every-us 300
run_checked both-causes --min-aborts 200 --causes --names -- -C -- \
	--op all --threads 4 --ops 20000 --delay 4000 --signal-every-us 400
run_checked raw-tp --min-aborts 100 --causes --names -- -C --attach raw_tp -- \
	--op all --threads 2 --ops 30000 --delay 2000 --signal-every-us 300
run_checked tp-btf --min-aborts 100 -- --attach tp_btf -- \
	--op add --threads 2 --ops 30000 --delay 2000 --signal-every-us 300
# Descendants: a forked copy of the workload is counted too (per PID).
run_checked fork --min-aborts 100 --causes --names -- -C -- \
	--op all --threads 2 --ops 20000 --delay 2000 --signal-every-us 300 --fork
# Exec: the same PID runs a second image with other sequences.
run_checked exec --min-aborts 100 --names -- -- \
	--op add --threads 2 --ops 20000 --delay 2000 --signal-every-us 300 \
	--then "$WL" --json --op store --threads 2 --ops 20000 --delay 2000 --signal-every-us 300
# Per thread: the rows of each sequence add up to its total.
run_checked threads --min-aborts 100 -- -T -- --op add --threads 3 --ops 20000 --delay 2000 --signal-every-us 300
if python3 -c '
import json, sys
rows = json.loads(open(sys.argv[1]).read().splitlines()[-1])["sequences"]
tids = {r["tid"] for r in rows}
sys.exit(0 if len(tids) == 3 and all(r["tid"] != r["pid"] for r in rows) else 1)' "$tmp/threads.top"; then
	pass "threads: one row per worker thread"
else
	fail "threads: want 3 worker-thread rows: $(cat "$tmp/threads.top")"
fi

# The issue's form: a shell command writing the workload's JSON to a file.
"$TOP" -b -j -o "$tmp/sh.top" -- sh -c "'$WL' --op all --threads 4 --ops 20000 --delay 3000 --signal-every-us 500 --json > '$tmp/sh.wl'"
if [ $? = 0 ] && $CHECK "$tmp/sh.wl" "$tmp/sh.top" --min-aborts 50 --names > "$tmp/sh.check"; then
	pass "sh -c: $(tail -n 1 "$tmp/sh.check")"
else
	fail "sh -c: $(cat "$tmp/sh.check")"
fi

# The issue's acceptance check, with rseq-stress's own counts, once it is built here.
STRESS=$builddir/tools/rseq-stress/rseq-stress
if [ -x "$STRESS" ]; then
	for args in "--op all --threads 4 --delay 500" "--op all --threads 2 --delay 200 --signal-every-us 500"; do
		"$TOP" -b -j -C -o "$tmp/stress.top" -- sh -c "'$STRESS' $args --json > '$tmp/stress.wl'"
		if [ $? = 0 ] && $CHECK "$tmp/stress.wl" "$tmp/stress.top" --min-aborts 1 --causes > "$tmp/stress.check"; then
			pass "rseq-stress $args: $(tail -n 1 "$tmp/stress.check")"
		else
			fail "rseq-stress $args: $(cat "$tmp/stress.check")"
		fi
	done
else
	echo "note: no rseq-stress in this build tree; its acceptance check did not run"
fi
finish
