#!/bin/sh
# mkinitramfs.sh OUTPUT BUSYBOX GLIBCS: the initramfs (gzip'ed newc cpio) of the kernel
# matrix's VMs.  GLIBCS is fetch.sh's output ("LABEL DIR" lines).  The image holds:
#
#   /init                   tests/matrix/vm-init.sh
#   /bin/busybox            static, from Debian; /init installs its applets
#   /lib64, /lib/...        the build machine's loader and every shared library the
#                           programs need outside the build tree, at their own paths:
#                           the "system" glibc of the image
#   /glibc/LABEL/           each other glibc's libraries and loader
#   /rseqkit/build/...      the test programs, tests/harness/rseq-deny and the
#                           programs of the hooks (the ELF files, where libtool made
#                           wrappers), the build tree's shared libraries
#   /rseqkit/src/...        tests/harness/run-mode, tests/matrix/run-one.sh, the hooks
#   /rseqkit/matrix.conf    what /init runs
#
# Environment as for check-kernels.sh.
set -u
[ $# -eq 3 ] || { echo "usage: mkinitramfs.sh OUTPUT BUSYBOX GLIBCS" >&2; exit 2; }
output=$1 busybox=$2 glibcs=$3
srcdir=${RSEQKIT_SRCDIR:?}
builddir=${RSEQKIT_BUILDDIR:?}
: "${RSEQKIT_MATRIX_CACHE:?}"
. "$srcdir/tests/matrix/lib.sh"

die() { echo "mkinitramfs.sh: $*" >&2; exit 1; }

root=$output.root
rm -rf "$root" && mkdir -p "$root/bin" "$root/rseqkit/build" "$root/rseqkit/src" || die "cannot create $root"
cp "$busybox" "$root/bin/busybox" && chmod 755 "$root/bin/busybox" || die "cannot copy busybox"
cp "$srcdir/tests/matrix/vm-init.sh" "$root/init" && chmod 755 "$root/init" || die "cannot copy /init"

# copy FILE DEST: FILE's contents (symbolic links followed) at DEST inside the image.
copy() {
  mkdir -p "$root$(dirname "$2")" && cp -L "$1" "$root$2" || die "cannot copy $1"
}

# Programs at their place in the build tree, as the ELF files (no libtool wrappers):
# the tests, and the programs the hooks run (MATRIX_VM_TOOLS).
elves=
for p in ${MATRIX_BINARIES:?} tests/harness/rseq-deny ${MATRIX_VM_TOOLS:-}; do
  case " ${MATRIX_VM_SKIP:-} " in *" $p "*) continue ;; esac  # /init reports it skipped
  [ -e "$builddir/$p" ] || die "$p is not built"
  b=$(real_binary "$builddir/$p") || exit 1
  copy "$b" "/rseqkit/build/$p"
  elves="$elves $b"
done

# The build tree's shared libraries, in their .libs directories.
build_libpath=
for d in $(build_lib_dirs | tr ':' ' '); do
  rel=${d#"$builddir/"}
  for f in "$d"/*.so*; do
    [ -f "$f" ] || continue
    copy "$f" "/rseqkit/build/$rel/${f##*/}"
    elves="$elves $f"
  done
  build_libpath="$build_libpath${build_libpath:+:}/rseqkit/build/$rel"
done

# The system's loader and libraries, wherever ldd finds them.
# shellcheck disable=SC2086
for f in $(for e in $elves; do ldd "$e" 2>/dev/null; done |
    sed -n -e 's|.*=> \(/[^ ]*\) .*|\1|p' -e 's|^[[:space:]]*\(/[^ ]*ld-linux[^ ]*\) .*|\1|p' |
    grep -v "^$builddir/" | sort -u); do
  copy "$f" "$f"
done
# shellcheck disable=SC2086
system_libpath=$(system_lib_dirs $elves)

# Other glibc versions: the libraries of libc6, not its gconv modules.
glibc_specs="$(system_glibc):system"
while read -r label dir; do
  [ -n "$label" ] || continue
  mkdir -p "$root/glibc/$label" || die "cannot create /glibc/$label"
  for f in "$dir"/*.so*; do
    [ -f "$f" ] && cp -L "$f" "$root/glibc/$label/"
  done
  glibc_specs="$glibc_specs $label:/glibc/$label"
done <<EOF
$glibcs
EOF

for f in tests/harness/run-mode tests/matrix/run-one.sh ${MATRIX_VM_HOOKS:-}; do
  copy "$srcdir/$f" "/rseqkit/src/$f"
done

cat > "$root/rseqkit/matrix.conf" <<EOF
PROGRAMS='$MATRIX_BINARIES'
MODES='${MATRIX_MODES:-glibc rseqkit enosys eperm}'
GLIBCS='$glibc_specs'
SYSTEM_GLIBC='$(system_glibc)'
BUILD_LIBPATH='$build_libpath'
SYSTEM_LIBPATH='$system_libpath'
VM_SKIP='${MATRIX_VM_SKIP:-}'
BPF_PROGRAMS='${MATRIX_BPF_BINARIES:-}'
HOOKS='${MATRIX_VM_HOOKS:-}'
VM_TIMEOUT='${MATRIX_VM_TIMEOUT:-120}'
EOF

# Owned by root, as the kernel unpacks it for PID 1.
(cd "$root" && find . | LC_ALL=C sort | "$root/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
  gzip -1 > "$output.tmp" || die "cannot write $output"
mv "$output.tmp" "$output" && rm -rf "$root"
