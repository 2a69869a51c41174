#!/bin/sh
# make-fixtures.sh OUTDIR: builds rseq-inspect's test fixtures from the sources in
# fixtures/ (next to this script).  CC builds the x86_64 ones (when the host is x86_64),
# AARCH64_CC (optional) the aarch64 ones; STRIP and AARCH64_STRIP default to strip and
# aarch64-linux-gnu-strip.  Prints one line per skipped group; fails on any build error.
#
#   good-ARCH.o good-ARCH-g.o              relocatable objects, without and with DWARF
#   good-ARCH-pie[-g|-stripped]            PIE executables
#   good-ARCH.so good-ARCH-stripped.so     shared objects
#   good-x86_64-nopie[-stripped]           non-PIE executables (and good-aarch64-nopie)
#   good-x86_64-relr                       PIE with packed relative relocations (DT_RELR)
#   inline-ARCH-g                          C inline-asm sequence, PIE with DWARF
#   defect-NAME-ARCH.o defect-NAME-ARCH-pie   one defect each (see seq-*.S)
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
fx=$here/fixtures
mkdir -p "$out"
CC=${CC:-cc}
STRIP=${STRIP:-strip}
AARCH64_CC=${AARCH64_CC:-}
AARCH64_STRIP=${AARCH64_STRIP:-aarch64-linux-gnu-strip}

DEFECTS="SIG ABORT_INSIDE ABORT_NOEXEC MISALIGNED VERSION FLAGS UNKNOWN_FLAG ZERO_LENGTH
START_OUTSIDE END_FUNCTION END_SECTION EXIT_INSIDE EXIT_ORPHAN BAD_POINTER UNLISTED NO_PTR_ARRAY"

run() {
	"$@" || { echo "make-fixtures: failed: $*" >&2; exit 1; }
}

# build ARCH CC STRIP LINKFLAGS: everything for one architecture.  LINKFLAGS link a PIE
# and a shared object without the C library for cross builds.
build() {
	arch=$1 cc=$2 strip=$3 nolibc=$4
	src=$fx/seq-$arch.S
	inc="-I$fx"
	run $cc $inc -c "$src" -o "$out/good-$arch.o"
	run $cc $inc -g -c "$src" -o "$out/good-$arch-g.o"
	if [ "$nolibc" = yes ]; then
		pie="-nostdlib -pie -Wl,-e,fx_counter_add"
		so="-nostdlib -shared"
		run $cc $inc -nostdlib -no-pie -Wl,-e,fx_counter_add "$src" -o "$out/good-$arch-nopie"
	else
		pie="-pie -fPIE $fx/main.c"
		so="-shared -fPIC"
	fi
	run $cc $inc -g $pie "$src" -o "$out/good-$arch-pie-g"
	run $cc $inc $pie "$src" -o "$out/good-$arch-pie"
	cp "$out/good-$arch-pie" "$out/good-$arch-pie-stripped"
	run $strip "$out/good-$arch-pie-stripped"
	run $cc $inc $so "$src" -o "$out/good-$arch.so"
	cp "$out/good-$arch.so" "$out/good-$arch-stripped.so"
	run $strip "$out/good-$arch-stripped.so"
	run $cc $inc -g -O2 "$fx/inline.c" -o "$out/inline-$arch-g"
	for d in $DEFECTS; do
		name=$(echo "$d" | tr 'A-Z_' 'a-z-')
		run $cc $inc -DDEFECT_$d -c "$src" -o "$out/defect-$name-$arch.o"
		run $cc $inc -DDEFECT_$d $pie "$src" -o "$out/defect-$name-$arch-pie"
	done
}

case $($CC -dumpmachine) in
x86_64*)
	build x86_64 "$CC" "$STRIP" no
	run $CC -I"$fx" -no-pie "$fx/main.c" "$fx/seq-x86_64.S" -o "$out/good-x86_64-nopie"
	cp "$out/good-x86_64-nopie" "$out/good-x86_64-nopie-stripped"
	run $STRIP "$out/good-x86_64-nopie-stripped"
	if $CC -I"$fx" -pie -fPIE -Wl,-z,pack-relative-relocs "$fx/main.c" "$fx/seq-x86_64.S" \
		-o "$out/good-x86_64-relr" 2>/dev/null; then
		:
	else
		echo "make-fixtures: SKIP good-x86_64-relr: the linker has no -z pack-relative-relocs"
	fi
	;;
*)
	echo "make-fixtures: SKIP x86_64 fixtures: $CC does not build for x86_64"
	;;
esac
if [ -n "$AARCH64_CC" ]; then
	build aarch64 "$AARCH64_CC" "$AARCH64_STRIP" yes
else
	echo "make-fixtures: SKIP aarch64 fixtures: no aarch64 cross compiler configured"
fi
