# SPDX-License-Identifier: MIT
# A hook of the kernel matrix (MATRIX_VM_HOOKS): sourced by tests/matrix/vm-init.sh in
# a subshell inside each VM, as root, under busybox sh.  rseq-top on this kernel:
#   rseq-top-probes  it loads, attaches to rseq:rseq_ip_fixup, and says whether the
#                    notify-resume probe is there (never on 6.19+, which has no
#                    __rseq_handle_notify_resume: the tracepoint alone must do)
#   rseq-top-exact   `rseq-top -b -j -- rseq-stress ...` totals equal rseq-stress's own
#                    abort counts, per sequence and by name, causes off and on
# Details go to the console as "@@log" lines, which check-kernels.sh prints.
top=$RSEQKIT_BUILDDIR/tools/rseq-top/rseq-top
stress=$RSEQKIT_BUILDDIR/tools/rseq-stress/rseq-stress
export LD_LIBRARY_PATH=$BUILD_LIBPATH

log() { echo "@@log rseq-top: $*"; }

if [ "$have_btf" = no ]; then
  log "no BTF or no rseq:rseq_ip_fixup tracepoint in $kernel"
  matrix_result rseq-top-probes SKIP
  matrix_result rseq-top-exact SKIP
  exit 0
fi

# Linux 6.19 reworked rseq and removed __rseq_handle_notify_resume.
major=${kernel%%.*}
minor=${kernel#*.}
minor=${minor%%[!0-9]*}
reworked=no
{ [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 19 ]; }; } && reworked=yes

"$top" -b -n 1 -d 0.2 > /tmp/top-header.txt 2>&1
rc=$?
probes=$(grep -o 'probes: [^(]*([^)]*)' /tmp/top-header.txt)
notify=$(grep '^notify-resume probe: ' /tmp/top-header.txt)
log "exit $rc; $probes; $notify"
status=PASS
if [ $rc -ne 0 ] || ! echo "$probes" | grep -q rseq_ip_fixup || [ -z "$notify" ]; then
  status=FAIL
  sed 's/^/@@log rseq-top:   | /' /tmp/top-header.txt
elif [ $reworked = yes ] && ! echo "$notify" | grep -q 'no __rseq_handle_notify_resume'; then
  log "Linux $kernel has no __rseq_handle_notify_resume, but rseq-top did not say so"
  status=FAIL
fi
matrix_result rseq-top-probes $status

# exact NAME RSEQ-TOP-OPTIONS -- RSEQ-STRESS-ARGS: compares per-sequence totals
# (start_ip, name, aborts) of rseq-top's final JSON line with rseq-stress's own.  Where
# the kernel skipped the counter (rseq-top's "missed": a task running it was preempted
# by another that aborted on the same CPU, seen on 7.2), no sequence may have more than
# rseq-stress counted, and the shortfall must be exactly what rseq-top says it missed.
# The rule of tests/bpf/check-totals.py, in awk: the VMs have busybox, no python.
exact() {
  name=$1
  shift
  opts=
  while [ "$1" != -- ]; do opts="$opts $1"; shift; done
  shift
  # shellcheck disable=SC2086
  "$top" -b -j $opts -o /tmp/$name.top -- "$stress" --json "$@" > /tmp/$name.wl 2> /tmp/$name.err
  rc=$?
  if [ $rc -ne 0 ] || ! grep -q '"ok": true' /tmp/$name.wl; then
    log "$name: exit $rc: $(tr '\n' ' ' < /tmp/$name.err | cut -c1-300)"
    return 1
  fi
  # rseq-stress: {"name": "N", "family": "F", "start_ip": "0x..", "commits": C, "aborts": A
  # rseq-top:    {"missed":M,"sequences":[{"pid":P,"comm":"C","name":"N","start_ip":"0x..","aborts":A
  {
    grep -o '"name": "[^"]*", "family": "[^"]*", "start_ip": "0x[0-9a-f]*", "commits": [0-9]*, "aborts": [0-9]*' /tmp/$name.wl |
      sed 's/^"name": "\([^"]*\)".*"start_ip": "\(0x[0-9a-f]*\)".*"aborts": \([0-9]*\)$/wl \2 \1 \3/'
    tail -n 1 /tmp/$name.top | grep -o '"name":"[^"]*","start_ip":"0x[0-9a-f]*","aborts":[0-9]*' |
      sed 's/^"name":"\([^"]*\)","start_ip":"\(0x[0-9a-f]*\)","aborts":\([0-9]*\)$/top \2 \1 \3/'
    tail -n 1 /tmp/$name.top | grep -o '"missed":[0-9]*' | sed 's/^"missed":/missed - - /'
  } | awk -v name="$name" '
    $1 == "wl" { want[$2] += $4; wname[$2] = $3; total += $4; nseq++ }
    $1 == "top" { got[$2] += $4; gname[$2] = $3; counted += $4 }
    $1 == "missed" { missed = $4; have_missed = 1 }
    END {
      bad = 0
      for (ip in want) {
        if (got[ip] + 0 > want[ip] || (!missed && got[ip] + 0 != want[ip])) {
          printf "@@log rseq-top: %s: %s (%s): rseq-stress counted %d aborts, rseq-top %d\n", name, wname[ip], ip, want[ip], got[ip]
          bad = 1
        } else if (got[ip] > 0 && gname[ip] != wname[ip]) {
          printf "@@log rseq-top: %s: %s named %s\n", name, ip, gname[ip]
          bad = 1
        }
      }
      for (ip in got)
        if (!(ip in want)) {
          printf "@@log rseq-top: %s: rseq-top counted %d aborts at %s, not a sequence of rseq-stress\n", name, got[ip], ip
          bad = 1
        }
      if (!have_missed) {
        printf "@@log rseq-top: %s: no \"missed\" in its final JSON\n", name
        bad = 1
      } else if (counted + missed != total) {
        printf "@@log rseq-top: %s: %d counted + %d missed != %d aborts of rseq-stress\n", name, counted, missed, total
        bad = 1
      }
      if (nseq == 0 || total == 0) {
        printf "@@log rseq-top: %s: no aborts to compare (%d sequences)\n", name, nseq
        bad = 1
      }
      if (!bad)
        printf "@@log rseq-top: %s: %d aborts over %d sequences: %d counted as rseq-stress did, %d reported missed\n", name, total, nseq, counted, missed
      exit bad
    }'
}

status=PASS
exact plain -- --op all --threads 4 --ops 2000 --delay 2000 --signal-every-us 1000 || status=FAIL
exact signals -C -- --op all --threads 2 --ops 2000 --delay 500 --signal-every-us 500 || status=FAIL
matrix_result rseq-top-exact $status
