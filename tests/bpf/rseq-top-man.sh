#!/bin/sh
# SPDX-License-Identifier: MIT
# rseq-top(8) is lint-clean and documents every option the program accepts.
set -u
page=$RSEQKIT_SRCDIR/man/man8/rseq-top.8
status=0
if [ -n "${MANDOC:-}" ]; then
	if ! out=$($MANDOC -Tlint -Wwarning "$page" 2>&1) || [ -n "$out" ]; then
		echo "FAIL: mandoc -Tlint -Wwarning: $out"
		status=1
	fi
else
	echo "note: no mandoc, lint not run"
fi
help=$("$RSEQKIT_BUILDDIR/tools/rseq-top/rseq-top" --help)
# Every long option of --help appears in the page (man(7) source writes \- for -).
for opt in $(printf '%s\n' "$help" | grep -Eo -- '--[a-z][a-z-]+' | sort -u); do
	escaped=$(printf '%s' "$opt" | sed 's/-/\\-/g')
	if ! grep -qF -- "$escaped" "$page"; then
		echo "FAIL: $opt is not documented in rseq-top(8)"
		status=1
	fi
done
for section in FIELDS OVERHEAD; do
	grep -q "^\\.SH $section" "$page" || { echo "FAIL: no $section section"; status=1; }
done
exit $status
