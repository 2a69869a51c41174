#!/bin/sh
# The man pages and the library agree:
#  1. every dynamic symbol librseqkit.so exports is named in some page under man/;
#  2. every name in the NAME section of a section 3 page is an exported symbol, or a
#     macro or inline function of lib/include, and has a page of its own name (the
#     page itself or an alias) that `man NAME` finds;
#  3. every alias (a symbolic link, or a page that is only a .so request) points to a
#     page in the same section whose NAME section lists the alias.
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check}
builddir=${RSEQKIT_BUILDDIR:?run through make check}
nm=${NM:-nm}
lib=$builddir/lib/.libs/librseqkit.so
mandir=$srcdir/man
incdir=$srcdir/lib/include
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

[ -f "$lib" ] || { echo "symbols.sh: $lib not found (build the library first)"; exit 1; }
command -v "$nm" >/dev/null 2>&1 || { echo "symbols.sh: $nm not found (Debian: binutils)"; exit 1; }

# Defined dynamic symbols without their version (name@@RSEQKIT_0); the version node
# itself is an absolute symbol (type A).
if ! "$nm" -D --defined-only "$lib" > "$tmp/nm"; then
  echo "symbols.sh: $nm -D failed on $lib"; exit 1
fi
awk 'NF >= 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" | LC_ALL=C sort -u > "$tmp/exported"
[ -s "$tmp/exported" ] || { echo "symbols.sh: no exported symbols found in $lib"; exit 1; }

pages=$(cd "$mandir" && find man[1-9]* \( -type f -o -type l \) -name '*.[1-9]*' 2>/dev/null | LC_ALL=C sort)
[ -n "$pages" ] || { echo "symbols.sh: no man pages under $mandir"; exit 1; }

# An alias page: a symbolic link, or a file whose only request is .so.  Prints the
# target relative to the man directory (manN/target.N).
alias_target() {
  if [ -L "$mandir/$1" ]; then
    printf '%s/%s\n' "${1%/*}" "$(readlink "$mandir/$1")"
  else
    sed -n '/^[.'\'']\\"/d; /^[.'\'']so[[:blank:]]/{ s/^[.'\'']so[[:blank:]]*//p; q; }; q' "$mandir/$1"
  fi
}

# The text of the real pages as a reader sees it: no comments, no font escapes.
for page in $pages; do
  [ -z "$(alias_target "$page")" ] || continue
  sed -e '/^[.'\'']\\"/d' -e 's/\\f\(\[[^]]*\]\|(..\|.\)//g' -e 's/\\&//g' -e 's/\\-/-/g' \
    "$mandir/$page"
done > "$tmp/text"

fail=0

# 1. Exported symbols named somewhere.
missing=
n=0
while read -r sym; do
  n=$((n + 1))
  grep -qwF -- "$sym" "$tmp/text" || missing="$missing $sym"
done < "$tmp/exported"
if [ -n "$missing" ]; then
  echo "FAIL: exported by librseqkit.so but named in no man page:$missing"
  fail=1
else
  echo "ok: all $n exported symbols of librseqkit.so are named in the man pages"
fi

# The names a page's NAME section lists: the text before "\-", split at commas.
name_entries() {
  awk '
    /^[.'\'']SH/ { if (in_name) exit; in_name = ($0 ~ /^[.'\'']SH[ \t]+"?NAME"?[ \t]*$/); next }
    in_name && !/^[.'\'']/ { text = text " " $0 }
    END {
      sub(/[ \t]\\-.*/, "", text)
      gsub(/\\f(\[[^]]*\]|\(..|.)/, "", text); gsub(/\\&/, "", text)
      n = split(text, names, /[, \t]+/)
      for (i = 1; i <= n; i++) if (names[i] != "") print names[i]
    }' "$1"
}

# Defined in the public headers as a macro, an inline function, or a C++ type or
# function (for names such as rseqkit::percpu_counter, the last component).
in_headers() {
  id=${1##*::}
  id=${id%%<*}
  grep -Eq "^[[:space:]]*#[[:space:]]*define[[:space:]]+$id([^A-Za-z0-9_]|\$)" "$tmp/headers" && return 0
  grep -Eq "(^|[^A-Za-z0-9_])inline([^A-Za-z0-9_].*)?[^A-Za-z0-9_]${id}[[:space:]]*\\(" "$tmp/headers" && return 0
  case $1 in
    *::*) grep -Eq "((class|struct|union|enum|concept|using)[[:space:]]+$id([^A-Za-z0-9_]|\$))|([^A-Za-z0-9_]${id}[[:space:]]*\\()" "$tmp/headers" && return 0 ;;
  esac
  return 1
}

# 2. NAME entries of section 3 pages.
find "$incdir" -type f \( -name '*.h' -o -name '*.hpp' \) -exec cat {} + > "$tmp/headers"
n=0
for page in $pages; do
  case $page in man3*/*) ;; *) continue ;; esac
  [ -z "$(alias_target "$page")" ] || continue
  dir=${page%/*}
  ext=${page##*.}
  names=$(name_entries "$mandir/$page")
  [ -n "$names" ] || { echo "FAIL: $page: empty NAME section"; fail=1; continue; }
  for name in $names; do
    n=$((n + 1))
    if ! grep -qxF -- "$name" "$tmp/exported" && ! in_headers "$name"; then
      echo "FAIL: $page: $name is neither exported by librseqkit.so nor a macro or inline function in lib/include"
      fail=1
    fi
    if [ ! -e "$mandir/$dir/$name.$ext" ]; then
      echo "FAIL: $page: no page $dir/$name.$ext, so \`man $name\` finds nothing (add an alias)"
      fail=1
    fi
  done
done
[ $fail -ne 0 ] || echo "ok: all $n NAME entries of section 3 pages exist and have a page"

# 3. Aliases.
n=0
for page in $pages; do
  target=$(alias_target "$page")
  [ -n "$target" ] || continue
  n=$((n + 1))
  base=${page##*/}
  if [ "${target%/*}" != "${page%/*}" ] || [ ! -f "$mandir/$target" ] || [ -n "$(alias_target "$target")" ]; then
    echo "FAIL: alias $page points to $target, which is not a page of the same section"
    fail=1
  elif ! name_entries "$mandir/$target" | grep -qxF -- "${base%.*}"; then
    echo "FAIL: alias $page: ${base%.*} is not in the NAME section of $target"
    fail=1
  fi
done
[ $fail -ne 0 ] || echo "ok: all $n aliases point to a page that lists them"
exit $fail
