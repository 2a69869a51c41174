# Shell functions of the matrix scripts on the build machine (sourced, POSIX sh).

# The ELF file behind a program of the build tree: libtool may have made PROGRAM a
# wrapper script, with the real binary in .libs/ (an explicit loader runs only ELF).
real_binary() {
  case $(head -c 4 "$1" 2>/dev/null | tr -d '\000') in
    *ELF) echo "$1"; return 0 ;;
  esac
  d=$(dirname "$1") b=$(basename "$1")
  for c in "$d/.libs/lt-$b" "$d/.libs/$b"; do
    [ -f "$c" ] && { echo "$c"; return 0; }
  done
  echo "matrix: $1 is neither an ELF file nor a libtool wrapper with a .libs/ binary" >&2
  return 1
}

# Directories of the build tree that hold its shared libraries (lib/.libs, ...),
# colon-separated.  The matrix cache, which holds other glibc versions, is left out.
build_lib_dirs() {
  find "$RSEQKIT_BUILDDIR" -path "$RSEQKIT_MATRIX_CACHE" -prune -o \
    -path '*/.libs/*.so*' -type f -print 2>/dev/null |
    sed 's|/[^/]*$||' | sort -u | tr '\n' ':' | sed 's/:$//'
}

# The system directories the programs' other libraries (libstdc++, libgcc_s, libasan,
# ...) come from, colon-separated, as the system's loader resolves them.
system_lib_dirs() {
  for p; do
    ldd "$p" 2>/dev/null
  done | sed -n 's|.*=> \(/[^ ]*\) .*|\1|p' | grep -v "^$RSEQKIT_BUILDDIR/" |
    sed 's|/[^/]*$||' | sort -u | tr '\n' ':' | sed 's/:$//'
}

# The glibc version of the build machine (2.36).
system_glibc() {
  getconf GNU_LIBC_VERSION 2>/dev/null | sed 's/^glibc //'
}
