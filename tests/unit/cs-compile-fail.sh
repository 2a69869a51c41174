#!/bin/sh
# The DSL refuses misuse at build time: each case of tests/unit/cs-misuse.c must fail
# to compile (or assemble, or link) with the reason expected, as C11 and as C++17, with
# GCC and with Clang; the same file without a case must build cleanly (the control).
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check}
builddir=${RSEQKIT_BUILDDIR:?}
inc=$srcdir/lib/include
src=$srcdir/tests/unit/cs-misuse.c
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; n=0

compilers="${CC:-cc}:c11 clang:c11 ${CXX:-c++}:c++17 clang++:c++17"

# case|pattern the diagnostics must contain (extended regular expression)
cases='NO_COMMIT|RSEQKIT_CS.*(requires 7 arguments|too few arguments)|(requires 7 arguments|too few arguments).*
EMPTY_COMMIT|rseqkit_error_RSEQKIT_CS_needs_a_commit_as_last_argument
COMMIT_AMONG_STEPS|rseqkit_error_a_commit_must_be_the_last_argument_of_RSEQKIT_CS
STEP_AS_COMMIT|rseqkit_error_the_last_argument_of_RSEQKIT_CS_must_be_a_commit
NARROW_LOAD|RSEQKIT_LOAD needs a pointer to a 64-bit object
NARROW_COMMIT|RSEQKIT_COMMIT_T needs a pointer to a 64-bit object
WIDE_VALUE|RSEQKIT_ADD needs a value of at most 64 bits
BAD_TEMPORARY|RSEQKIT__TEMP_t2
BAD_KIND|RSEQKIT_INDEX_NODE_ID|RSEQKIT__KIND_OFFSET_NODE_ID
BAD_ORDER|RSEQKIT__ARCH_COMMIT_SEQ_CST
LABEL_TWICE|duplicate
NAME_TWICE|two different sequences are named misuse'

for cs in $compilers; do
  comp=${cs%%:*}; std=${cs##*:}
  command -v "$comp" >/dev/null 2>&1 || { echo "FAIL: missing compiler $comp"; fail=1; continue; }
  case $std in c11) lang=c ;; *) lang=c++ ;; esac
  n=$((n + 1))
  if $comp -std=$std -x $lang -Wall -Wextra -Werror -pedantic -O2 -I"$inc" -c "$src" -o "$tmp/ok.o" 2> "$tmp/err"; then
    echo "ok: control builds as $std with $comp"
  else
    echo "FAIL: control does not build as $std with $comp:"; cat "$tmp/err"; fail=1
  fi
  echo "$cases" | while IFS='|' read -r name pattern; do
    if $comp -std=$std -x $lang -O2 -I"$inc" -D"$name" -c "$src" -o "$tmp/bad.o" > "$tmp/err" 2>&1; then
      echo "FAIL: $name compiled as $std with $comp"; exit 1
    elif grep -Eq "$pattern" "$tmp/err"; then
      echo "ok: $name refused as $std with $comp"
    else
      echo "FAIL: $name refused as $std with $comp, but not for the expected reason ($pattern):"
      head -n 20 "$tmp/err"; exit 1
    fi
  done || fail=1

  # Across translation units: copies of one sequence fold, two sequences with one name
  # do not link.
  printf 'int seq(long *, int); int seq2(long *, int);\nint main(void) { return 0; }\n' > "$tmp/main.c"
  $comp -std=$std -x $lang -O2 -I"$inc" -c "$src" -o "$tmp/a.o" &&
  $comp -std=$std -x $lang -O2 -I"$inc" -Dseq=seq2 -c "$src" -o "$tmp/b.o" &&
  $comp -std=$std -x $lang -O2 -I"$inc" -Dseq=seq2 -DOTHER_LINE -c "$src" -o "$tmp/c.o" &&
  ${CC:-cc} -c "$tmp/main.c" -o "$tmp/main.o" || { echo "FAIL: objects for the link test ($comp)"; fail=1; continue; }
  link="${CC:-cc} -o $tmp/prog $tmp/main.o -L$builddir/lib/.libs -Wl,-rpath,$builddir/lib/.libs"
  if $link "$tmp/a.o" "$tmp/b.o" -lrseqkit 2> "$tmp/err"; then
    echo "ok: one sequence in two translation units links ($comp)"
  else
    echo "FAIL: one sequence in two translation units does not link ($comp):"; cat "$tmp/err"; fail=1
  fi
  if $link "$tmp/a.o" "$tmp/c.o" -lrseqkit > "$tmp/err" 2>&1; then
    echo "FAIL: two sequences named misuse linked ($comp)"; fail=1
  elif grep -Eq '(multiple definition|duplicate symbol).*__rseqkit_seq_misuse' "$tmp/err"; then
    echo "ok: two sequences named misuse refused by the linker ($comp)"
  else
    echo "FAIL: link refused for another reason ($comp):"; cat "$tmp/err"; fail=1
  fi
done
# A header's sequence built by GCC in one object and by Clang in another still folds:
# the key is the commit's line, which both compilers agree on.
if command -v clang >/dev/null 2>&1; then
  ${CC:-cc} -std=c11 -O2 -I"$inc" -c "$src" -o "$tmp/gcc.o" &&
  clang -std=c11 -O2 -I"$inc" -Dseq=seq2 -c "$src" -o "$tmp/clang.o" &&
  ${CC:-cc} -o "$tmp/prog" "$tmp/main.o" "$tmp/gcc.o" "$tmp/clang.o" -L"$builddir/lib/.libs" -lrseqkit 2> "$tmp/err" &&
  echo "ok: one sequence built by ${CC:-cc} and by clang links" ||
  { echo "FAIL: one sequence built by ${CC:-cc} and by clang does not link:"; cat "$tmp/err"; fail=1; }
fi
[ "$n" -gt 0 ] || { echo "FAIL: no compiler"; exit 1; }
exit $fail
