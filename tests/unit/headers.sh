#!/bin/sh
# Every public C header compiles alone as C11 and C++17 (GCC and Clang, -Werror -pedantic),
# and the C++ header as C++17.
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check}
inc=$srcdir/lib/include
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; n=0
for h in "$inc"/rseqkit/*.h "$inc"/rseqkit/*.hpp; do
  [ -e "$h" ] || continue
  name=${h#"$inc"/}
  printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$name" "$name" > "$tmp/t.c"
  case $name in *.hpp) langs="c++17" ;; *) langs="c11 c++17" ;; esac
  for std in $langs; do
    case $std in c11) compilers="${CC:-cc} clang"; lang=c ;; *) compilers="${CXX:-c++} clang++"; lang=c++ ;; esac
    for comp in $compilers; do
      command -v "${comp%% *}" >/dev/null 2>&1 || { echo "missing compiler $comp"; fail=1; continue; }
      n=$((n + 1))
      if $comp -std=$std -Wall -Wextra -Werror -pedantic -I"$inc" -x $lang -c "$tmp/t.c" -o "$tmp/t.o" 2> "$tmp/err"; then
        echo "ok: $name as $std with $comp"
      else
        echo "FAIL: $name as $std with $comp:"; cat "$tmp/err"; fail=1
      fi
    done
  done
done
[ "$n" -gt 0 ] || { echo "no headers found under $inc"; exit 1; }
exit $fail
