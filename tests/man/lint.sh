#!/bin/sh
# Every man page under man/ is clean under `mandoc -Tlint -Wwarning` (any output fails),
# and follows the project's style rules that mandoc does not check for man(7) pages:
# sections in the standard order, and one sentence per line.
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check}
mandoc=${MANDOC:-}
if [ -z "$mandoc" ] || ! command -v "$mandoc" >/dev/null 2>&1; then
  echo "lint.sh: mandoc not found (Debian: mandoc); the man pages cannot be checked"
  exit 1
fi

# mandoc resolves .so requests relative to the directory it runs in.
cd "$srcdir/man" || exit 1
pages=$(find man[1-9]* \( -type f -o -type l \) -name '*.[1-9]*' 2>/dev/null | LC_ALL=C sort)
if [ -z "$pages" ]; then
  echo "lint.sh: no man pages under $srcdir/man"
  exit 1
fi

fail=0
# shellcheck disable=SC2086 # page names have no spaces
out=$("$mandoc" -Tlint -Wwarning $pages 2>&1)
rc=$?
if [ -n "$out" ] || [ $rc -ne 0 ]; then
  printf '%s\n' "$out"
  echo "FAIL: mandoc -Tlint -Wwarning (exit $rc)"
  fail=1
fi

# Project style.  The section order is man-pages(7)'s, which contains the project's
# (NAME SYNOPSIS DESCRIPTION OPTIONS EXIT STATUS/RETURN VALUE ERRORS ENVIRONMENT FILES
# NOTES BUGS EXAMPLES SEE ALSO); a name outside the list is an error too.
style_fail=0
order='NAME|LIBRARY|SYNOPSIS|CONFIGURATION|DESCRIPTION|OPTIONS|EXIT STATUS|RETURN VALUE|ERRORS|ENVIRONMENT|FILES|ATTRIBUTES|VERSIONS|STANDARDS|HISTORY|NOTES|CAVEATS|BUGS|EXAMPLES|AUTHORS|REPORTING BUGS|COPYRIGHT|SEE ALSO'
for page in $pages; do
  [ ! -L "$page" ] || continue  # an alias: checked as its target
  style=$(awk -v order="$order" -v page="$page" '
    BEGIN { n = split(order, names, "|"); for (i = 1; i <= n; i++) rank[names[i]] = i; last = 0 }
    /^[.'\'']so[ \t]/ { exit }  # an alias: its target is checked on its own
    /^[.'\'']SH/ {
      name = $0; sub(/^[.'\'']SH[ \t]*/, "", name); gsub(/"/, "", name)
      if (!(name in rank)) { printf "%s:%d: section \"%s\" is not a standard section\n", page, NR, name; next }
      if (rank[name] <= last) printf "%s:%d: section \"%s\" is out of order (after \"%s\")\n", page, NR, name, names[last]
      last = rank[name]; next
    }
    /^[.'\''](EX|nf|TS)([ \t]|$)/ { nofill = 1; next }
    /^[.'\''](EE|fi|TE)([ \t]|$)/ { nofill = 0; next }
    /^[.'\'']/ || nofill { next }
    {
      line = $0
      gsub(/\\f(\[[^]]*\]|\(..|.)/, "", line)  # font changes
      gsub(/\\&/, "", line)
      # A sentence end followed by the start of another sentence on the same line.
      if (line ~ /[a-z0-9)][.!?]["'\'')]* +[A-Z]/)
        printf "%s:%d: more than one sentence on a line: %s\n", page, NR, $0
    }' "$page")
  if [ -n "$style" ]; then
    printf '%s\n' "$style"
    style_fail=1
  fi
done
[ $style_fail -eq 0 ] || echo "FAIL: project style of the man pages"
[ $fail -eq 0 ] && [ $style_fail -eq 0 ] || exit 1

echo "ok: $(printf '%s\n' "$pages" | wc -l) man pages lint clean"
exit 0
