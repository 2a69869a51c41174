#!/bin/sh
# Installs the build into a scratch root, builds a C program with
# `pkg-config --cflags --libs rseqkit` against it, and checks what it sees in each
# registration mode; and that every man page alias was installed as a .so request
# naming an installed page.
set -u
builddir=${RSEQKIT_BUILDDIR:?run through make check}
srcdir=${RSEQKIT_SRCDIR:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
${MAKE:-make} -s -C "$builddir" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 || {
  echo "FAIL: make install"; cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp/root" -name rseqkit.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: rseqkit.pc not installed"; exit 1; }
export PKG_CONFIG_PATH="${pc%/*}" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs rseqkit) || { echo "FAIL: pkg-config"; exit 1; }
# pkgconf puts the sysroot in front of libdir already.
libdir=$(pkg-config --variable=libdir rseqkit)
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$tmp/owner-report" "$srcdir/tests/unit/owner-report.c" \
  $flags -pthread -Wl,-rpath,"$libdir" || { echo "FAIL: compile with pkg-config flags"; exit 1; }
ldd "$tmp/owner-report" | grep -q "$tmp/root.*librseqkit" || { echo "FAIL: not linked to the installed library"; exit 1; }
fail=0
for mode in glibc rseqkit enosys eperm; do
  case $mode in
    glibc) want="main=glibc pinned=OK foreign-thread=foreign" ;;
    rseqkit) want="main=rseqkit pinned=OK foreign-thread=foreign" ;;
    *) want="main=unavailable pinned=OK foreign-thread=unavailable" ;;
  esac
  got=$(sh "$srcdir/tests/harness/run-mode" "$mode" "$tmp/owner-report")
  if [ "$got" = "$want" ]; then echo "ok: $mode: $got"; else echo "FAIL: $mode: got '$got', want '$want'"; fail=1; fi
done

# Man page aliases: symbolic links in the source tree (or man/aliases in a tarball).
man3=$(find "$tmp/root" -type d -path '*/man/man3' | head -n 1)
[ -n "$man3" ] || { echo "FAIL: no man3 directory installed"; exit 1; }
if [ -f "$srcdir/man/aliases" ]; then cat "$srcdir/man/aliases"; else
  (cd "$srcdir/man" && find man[1-9] -type l | while read -r a; do echo "$a $(readlink "$a")"; done); fi > "$tmp/aliases"
n=0
while read -r alias target; do
  n=$((n + 1))
  f=${man3%/man3}/$alias
  got=$(cat "$f" 2>/dev/null)
  if [ "$got" != ".so ${alias%/*}/$target" ]; then
    echo "FAIL: installed alias $alias is '$(printf '%s' "$got" | head -c 60)', want '.so ${alias%/*}/$target'"; fail=1
  elif [ ! -s "${man3%/man3}/${alias%/*}/$target" ]; then
    echo "FAIL: alias $alias names $target, which is not installed"; fail=1
  fi
done < "$tmp/aliases"
[ "$n" -gt 0 ] || { echo "FAIL: no man page aliases found"; fail=1; }
[ $fail -ne 0 ] || echo "ok: $n man page aliases installed as .so requests"
exit $fail
