#!/bin/sh
# check-glibc.sh: the glibc matrix (`make check-glibc`).  Runs every test program of
# the matrix in every registration mode under the build machine's glibc and under the
# libc6 of each Debian suite in MATRIX_GLIBC_SUITES (fetched once into the cache), each
# through that glibc's own loader:
#
#   ld-linux-x86-64.so.2 --library-path GLIBC:BUILD/lib/.libs:...:SYSTEM BINARY
#
# libstdc++, libgcc_s and libasan come from the system.  Prints a result line per run,
# the table, and exits 1 if anything failed.
#
# Environment (set by the make rule): RSEQKIT_SRCDIR, RSEQKIT_BUILDDIR,
# RSEQKIT_MATRIX_CACHE, MATRIX_BINARIES, MATRIX_GLIBC_SUITES, MATRIX_MODES,
# MATRIX_TIMEOUT; RSEQKIT_MATRIX_REFRESH=1 asks Debian's archive for newer packages.
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check-glibc}
builddir=${RSEQKIT_BUILDDIR:?run through make check-glibc}
: "${RSEQKIT_MATRIX_CACHE:?run through make check-glibc}"
programs=${MATRIX_BINARIES:?no test programs}
suites=${MATRIX_GLIBC_SUITES-trixie sid}
modes=${MATRIX_MODES:-glibc rseqkit enosys eperm}
. "$srcdir/tests/matrix/lib.sh"

start=$(date +%s)
out=$builddir/tests/matrix/glibc-matrix
rm -rf "$out" && mkdir -p "$out/logs" || exit 1

glibcs=$(sh "$srcdir/tests/matrix/fetch.sh" "$RSEQKIT_MATRIX_CACHE" glibc $suites) || {
  echo "check-glibc: could not fetch glibc for: $suites"; exit 1; }

binaries=
for p in $programs; do
  [ -e "$builddir/$p" ] || { echo "check-glibc: $p is not built"; exit 1; }
  b=$(real_binary "$builddir/$p") || exit 1
  binaries="$binaries $b"
done
# shellcheck disable=SC2086
libpath_tail=$(build_lib_dirs):$(system_lib_dirs $binaries)

export RSEQKIT_BUILDDIR MATRIX_KERNEL MATRIX_GLIBC MATRIX_LOADER MATRIX_LIBPATH MATRIX_LOGDIR
MATRIX_RUN_MODE=$srcdir/tests/harness/run-mode
MATRIX_KERNEL=$(uname -r)
MATRIX_LOGDIR=$out/logs
export MATRIX_RUN_MODE MATRIX_TIMEOUT

# One glibc: LABEL and the directory of its loader (empty: the system's, run directly).
run_glibc() {
  MATRIX_GLIBC=$1
  MATRIX_LOADER=${2:+$2/ld-linux-x86-64.so.2}
  MATRIX_LIBPATH=${2:+$2:$libpath_tail}
  for p in $programs; do
    # Under another loader the program must be the ELF file itself.
    run=$p
    if [ -n "$2" ]; then
      run=$(real_binary "$builddir/$p") || return
      run=${run#"$builddir/"}
    fi
    for m in $modes; do
      sh "$srcdir/tests/matrix/run-one.sh" "$m" "$run" | sed "s|program=$run |program=$p |"
    done
  done
}

{
  echo "@@MATRIX glibc system=$(system_glibc) kernel=$MATRIX_KERNEL"
  run_glibc "$(system_glibc)" ""
  echo "$glibcs" | while read -r label dir; do
    [ -n "$label" ] && run_glibc "$label" "$dir"
  done
} | tee "$out/results" | grep -v '^@@MATRIX facts'

echo
awk -v title="glibc matrix: $(echo $programs | wc -w) programs x $(echo $modes | wc -w) modes, glibc $(system_glibc) (system)$(echo "$glibcs" | awk '{printf ", %s", $1}'); logs in $out/logs" \
  -v modes="$modes" -f "$srcdir/tests/matrix/table.awk" "$out/results" | tee "$out/table"
echo "check-glibc: $(( $(date +%s) - start )) s"
! grep -q '^@@MATRIX result .* status=FAIL' "$out/results"
