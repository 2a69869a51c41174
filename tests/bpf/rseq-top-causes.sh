#!/bin/sh
# SPDX-License-Identifier: MIT
# Cause attribution: a signal-driven run charges at least 95% of its aborts to signals,
# an oversubscribed delay-driven run (4 threads pinned to one CPU, so no migration)
# at least 95% to preemption.  Totals stay exact.
. "$RSEQKIT_SRCDIR/tests/bpf/lib.sh"
require_root

run_checked signal-driven --min-aborts 500 --causes --min-share signal=0.95 -- -C -- \
	--op add --threads 2 --duration 2 --delay 1500 --signal-every-us 200
run_checked preempt-driven --min-aborts 100 --causes --min-share preempt=0.95 -- -C -- \
	--op add --threads 4 --cpu 0 --ops 3000 --delay 200000
finish
