#!/bin/sh
# SPDX-License-Identifier: MIT
# Filters keep other processes out: a second workload aborting at the same time is
# never listed, and the counted one still matches exactly.  Covers a command, -p,
# -p with -F (descendants) and --cgroup.
. "$RSEQKIT_SRCDIR/tests/bpf/lib.sh"
require_root

outsider() {
	"$WL" --op all --threads 2 --duration "$1" --delay 2000 --signal-every-us 300 --json > "$tmp/outsider.$2" &
	echo $!
}

# rows_only FILE PID...: every interval document of FILE lists only these PIDs, and
# at least one lists one of them with aborts.
rows_only() {
	file=$1; shift
	python3 - "$file" "$@" <<'PY'
import json, sys
allowed = {int(p) for p in sys.argv[2:]}
seen = 0
for line in open(sys.argv[1]):
    doc = json.loads(line)
    for r in doc["sequences"]:
        if r["pid"] not in allowed:
            print("pid %d (%s) is listed" % (r["pid"], r["comm"])); sys.exit(1)
        seen += r["aborts"]
if not seen:
    print("no aborts of the watched processes were listed"); sys.exit(1)
PY
}

# 1. A command: the outsider runs all along and must not appear.
o=$(outsider 6 cmd)
sleep 0.3
run_checked command --min-aborts 100 --pids-only -- -- --op all --threads 2 --ops 30000 --delay 2000 --signal-every-us 300
wait "$o"

# 2. -p: only the named process among two.
a=$(outsider 4 a)
b=$(outsider 4 b)
sleep 0.3
if "$TOP" -b -j -n 3 -d 0.5 -p "$a" > "$tmp/p.json" 2> "$tmp/p.err" && msg=$(rows_only "$tmp/p.json" "$a"); then
	pass "-p $a: only that process"
else
	fail "-p $a: $msg $(cat "$tmp/p.err")"
fi
wait "$a" "$b"

# 3. -p with -F: the process and what it forks, not the other one.
# The workload sleeps first so that rseq-top is watching before it forks.
"$WL" --op add --threads 2 --duration 3 --delay 2000 --signal-every-us 300 --fork --sleep-first 1000 \
	--json > "$tmp/forker.json" &
f=$!
b=$(outsider 4 b2)
"$TOP" -b -j -n 6 -d 0.5 -p "$f" -F > "$tmp/pf.json" 2> "$tmp/pf.err" &
t=$!
wait "$f" "$b" "$t"
child=$(python3 -c 'import json,sys; print([s["pid"] for s in json.load(open(sys.argv[1]))["sequences"] if s["pid"] != int(sys.argv[2])][0])' "$tmp/forker.json" "$f")
if msg=$(rows_only "$tmp/pf.json" "$f" "$child") && grep -q "\"pid\":$child," "$tmp/pf.json"; then
	pass "-p $f -F: the process and its child $child"
else
	fail "-p $f -F: ${msg:-child $child not listed} $(cat "$tmp/pf.err")"
fi

# 4. --cgroup: a process moved into a fresh cgroup v2 directory.
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -z "$cg2" ]; then
	fail "--cgroup: no cgroup v2 mounted here"
else
	dir=$cg2/rseq-top-test-$$
	mkdir "$dir"
	a=$(outsider 4 cg)
	b=$(outsider 4 nocg)
	echo "$a" > "$dir/cgroup.procs"
	sleep 0.3
	if "$TOP" -b -j -n 3 -d 0.5 --cgroup "$dir" > "$tmp/cg.json" 2> "$tmp/cg.err" && msg=$(rows_only "$tmp/cg.json" "$a"); then
		pass "--cgroup: only the process in $dir"
	else
		fail "--cgroup: $msg $(cat "$tmp/cg.err")"
	fi
	wait "$a" "$b"
	# The kernel lets go of an emptied cgroup a little after the exit.
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		rmdir "$dir" 2> /dev/null && break
		sleep 0.1
	done
fi
finish
