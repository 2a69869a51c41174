#!/bin/sh
# SPDX-License-Identifier: MIT
# The live screen and its keys, driven through tmux: --demo shows named sequences with
# rates; s, h, p, d, space and q do what rseq-top(8) says.  Also --demo in batch mode.
. "$RSEQKIT_SRCDIR/tests/bpf/lib.sh"
require_root
command -v tmux > /dev/null || { echo "ERROR: tmux is needed for the live-screen test"; exit 99; }

# The demo runs the exactness workload: its sequence names are known.
RSEQ_STRESS=$WL
export RSEQ_STRESS

# --demo in batch mode: interval documents with rates, then the totals.
"$TOP" --demo -b -j -d 1 > "$tmp/demo.json" 2> "$tmp/demo.err"
rc=$?
if [ $rc = 0 ] && python3 - "$tmp/demo.json" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
intervals = [d for d in docs if "interval" in d]
final = docs[-1]
assert len(intervals) >= 3, "only %d interval documents" % len(intervals)
names = {r["name"] for d in intervals for r in d["sequences"] if r["rate"] > 0}
assert {"t_add", "t_lib"} <= names, "named sequences with a rate: %s" % names
assert "interval" not in final and final["sequences"], "no final totals"
assert all(r["aborts"] > 0 for r in final["sequences"]), final
PY
then
	pass "--demo -b -j: named sequences with live rates, then totals"
else
	fail "--demo -b -j: status $rc, $(cat "$tmp/demo.err") $(head -c 600 "$tmp/demo.json")"
fi

session=rseq-top-test-$$
pane() { tmux capture-pane -p -t "$session"; }
# wait_for PATTERN: up to 5 s for the screen to show PATTERN (grep -E).
wait_for() {
	for _ in $(seq 1 50); do
		pane | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
check() {
	if wait_for "$2"; then pass "$1"; else fail "$1: the screen lacks /$2/:"; pane; fi
}

tmux new-session -d -s "$session" -x 200 -y 30 \
	"'$TOP' --demo -d 0.5; echo \$? > '$tmp/screen.rc'; sleep 60"
trap 'tmux kill-session -t "$session" 2>/dev/null; rm -rf "$tmp"' EXIT
check "header" '^rseq-top .* probes: (tp_btf|raw_tp) \(rseq_ip_fixup'
check "notify-resume probe state in the header" '^notify-resume probe: (available \((fentry|kprobe)\)|unavailable \(.+\))$'
check "column header" 'PID COMM +ABORTS/s +TOTAL SEQUENCE'
check "named sequences with a rate" '[0-9]+\.[0-9] +[0-9]+ t_add$'
tmux send-keys -t "$session" s
check "s sorts by total" 'sort total'
tmux send-keys -t "$session" h
check "h shows the keys" 'rseq-top keys'
tmux send-keys -t "$session" x
check "any key leaves the help" 'PID COMM'
tmux send-keys -t "$session" p
check "p asks for PIDs" 'PIDs to show'
tmux send-keys -t "$session" 1 Enter
check "p filters the display" 'pid 1$'
if pane | grep -q 't_add'; then fail "p 1 still shows the workload"; else pass "p 1 hides the workload"; fi
tmux send-keys -t "$session" p Enter
check "an empty answer shows all again" 't_add'
tmux send-keys -t "$session" d 0.3 Enter
check "d sets the delay" 'delay 0.3s'
tmux send-keys -t "$session" Space
check "space refreshes" 't_add'
tmux send-keys -t "$session" q
for _ in $(seq 1 50); do
	[ -s "$tmp/screen.rc" ] && break
	sleep 0.1
done
# Back on the normal screen: the totals.
pane > "$tmp/screen.out"
if [ "$(cat "$tmp/screen.rc" 2>/dev/null)" = 0 ] && grep -q 'the demo workload exited' "$tmp/screen.out" &&
   grep -q 't_add$' "$tmp/screen.out"; then
	pass "q quits, restores the terminal and prints the totals"
else
	fail "q: status $(cat "$tmp/screen.rc" 2>/dev/null), screen: $(cat "$tmp/screen.out")"
fi
finish
