#!/bin/sh
# Compiles and runs every program in the EXAMPLES sections of the man pages.
#
# A program is an .EX/.EE block inside EXAMPLES that defines main(); other blocks
# (shell sessions, output) are left alone, but a section 3 page with an EXAMPLES
# section must contain at least one program.  The roff escapes are undone (\e \- \(aq
# \(dq \(ti \(ha \(rs \& and font changes); any other escape fails the check, since it
# would not show the reader what the compiler sees.  A program that includes a .hpp
# header, or a C++ standard header, is C++ ($CXX -std=c++20), any other C ($CC
# -std=gnu11).  Warnings are errors.  Programs link with the build tree's librseqkit.so
# and run in every registration mode of tests/harness/run-mode (glibc, rseqkit, enosys,
# eperm): they must exit 0 in all of them.  Prints one line per program.
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check}
builddir=${RSEQKIT_BUILDDIR:?run through make check}
cc=${CC:-cc}
cxx=${CXX:-c++}
libdir=$builddir/lib/.libs
lib=$libdir/librseqkit.so
deny=$builddir/tests/harness/rseq-deny
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

[ -f "$lib" ] || { echo "examples.sh: $lib not found (build the library first)"; exit 1; }
command -v perl >/dev/null 2>&1 || { echo "examples.sh: perl not found"; exit 1; }
if [ -x "$deny" ]; then
  modes="glibc rseqkit enosys eperm"
else
  echo "examples.sh: $deny not built; running the examples in the default mode only"
  modes="glibc"
fi

cd "$srcdir/man" || exit 1
pages=$(find man[1-9]* -type f -name '*.[1-9]*' 2>/dev/null | LC_ALL=C sort)
[ -n "$pages" ] || { echo "examples.sh: no man pages under $srcdir/man"; exit 1; }

fail=0
programs=0
seen=" "
for page in $pages; do
  # A copy of another page (an alias in a tarball that dereferenced the link) runs once.
  sum=$(cksum < "$page" | cut -d' ' -f1)
  case $seen in *" $sum "*) continue ;; esac
  seen="$seen$sum "

  dir=$tmp/$(printf '%s' "$page" | tr '/.' '__')
  mkdir -p "$dir"
  # Writes dir/LINE.c or dir/LINE.cc per program, dir/LINE.txt per other block (LINE:
  # where its .EX is); fails on escapes it does not know.
  if ! perl -e '
    my ($page, $dir) = @ARGV;
    open(my $in, "<", $page) or die "$page: $!\n";
    my ($section, $in_ex, $start, @block, $bad) = ("", 0, 0);
    my %map = ("e" => "\\", "-" => "-", "(aq" => "\x27", "(dq" => "\"", "(ti" => "~",
               "(ha" => "^", "(rs" => "\\", "&" => "");
    while (my $line = <$in>) {
      chomp $line;
      if ($line =~ /^[.\x27]SH\s+"?([^"]*?)"?\s*$/) { $section = $1; next; }
      next unless $section eq "EXAMPLES";
      if ($line =~ /^[.\x27]EX\b/) { $in_ex = 1; $start = $.; @block = (); next; }
      if ($line =~ /^[.\x27]EE\b/) {
        $in_ex = 0;
        my $text = join("\n", @block) . "\n";
        my $is_program = $text =~ /\bmain\s*\(/;
        my $cxx = $text =~ /^\s*#\s*include\s*[<"]([^>"]*\.hpp|[a-z_]+)[>"]/m;
        my $ext = !$is_program ? "txt" : $cxx ? "cc" : "c";
        open(my $out, ">", "$dir/$start.$ext") or die "$dir/$start.$ext: $!\n";
        print $out $text;
        close($out);
        next;
      }
      next unless $in_ex;
      next if $line =~ /^[.\x27]/;  # requests inside the block (.in, comments)
      $line =~ s{\\(e|-|&|\((?:aq|dq|ti|ha|rs)|f(?:\[[^\]]*\]|\(..|.))|\\(.)}{
        defined $1 ? ($1 =~ /^f/ ? "" : $map{$1})
                   : do { warn "$page:$.: unknown roff escape \\$2\n"; $bad = 1; "" }
      }ge;
      push @block, $line;
    }
    die "$page: .EX without .EE\n" if $in_ex;
    exit($bad ? 1 : 0);
  ' "$page" "$dir"; then
    echo "FAIL: $page: could not extract the examples"
    fail=1
    continue
  fi

  found=0
  for src in "$dir"/*.c "$dir"/*.cc; do
    [ -e "$src" ] || continue
    found=1
    programs=$((programs + 1))
    n=${src##*/}
    n=${n%.*}
    what="example at $page:$n"
    # CC and CXX may carry options: split them.
    # shellcheck disable=SC2086
    case $src in
      *.cc) lang="C++"; set -- $cxx -std=c++20 ;;
      *) lang="C"; set -- $cc -std=gnu11 ;;
    esac
    if ! "$@" -Wall -Wextra -Werror -pthread -I"$srcdir/lib/include" -I"$builddir/lib/include" \
        -o "$dir/$n" "$src" "$lib" -Wl,-rpath,"$libdir" > "$dir/$n.cc-log" 2>&1; then
      echo "FAIL: $what ($lang) does not compile:"
      cat "$dir/$n.cc-log"
      fail=1
      continue
    fi
    failed_modes=
    for mode in $modes; do
      if ! RSEQKIT_BUILDDIR=$builddir timeout 300 \
          sh "$srcdir/tests/harness/run-mode" "$mode" "$dir/$n" > "$dir/$n.$mode.log" 2>&1; then
        failed_modes="$failed_modes $mode"
      fi
    done
    if [ -n "$failed_modes" ]; then
      echo "FAIL: $what ($lang) exits non-zero in mode(s)$failed_modes:"
      for mode in $failed_modes; do
        echo "--- $mode"
        cat "$dir/$n.$mode.log"
      done
      fail=1
    else
      echo "ok: $what ($lang) runs in: $modes"
    fi
  done

  case $page in
    man3*/*)
      if [ $found -eq 0 ] && grep -q '^[.'\'']SH[[:blank:]]*"\{0,1\}EXAMPLES' "$page"; then
        echo "FAIL: $page: its EXAMPLES section has no complete program (one that defines main())"
        fail=1
      fi ;;
  esac
done

[ $programs -gt 0 ] || { echo "FAIL: no example programs found under $srcdir/man"; fail=1; }
exit $fail
