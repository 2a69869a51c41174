#!/bin/sh
# make-fuzz-corpus.sh OUTDIR: (re)builds the small seed corpus checked in as
# tests/tools/fuzz-corpus/ from the fixture sources (relocatable objects as *.rel): objects, a PIE, shared objects
# (one with packed relative relocations), DWARF from assembler and from C, both
# architectures, and a few defective tables.  Linked seeds skip the C library and
# use 4 KiB pages to stay small.  Needs gcc, aarch64-linux-gnu-gcc and binutils.
#
# Regression seeds (damaged on purpose, see the comments below):
#   inline-aarch64-g-pie-line-str-no-nul   .debug_line_str cut short of its NUL byte
set -eu
out=$1
fx=$(cd "$(dirname "$0")" && pwd)/fixtures
CC=${CC:-gcc}
AARCH64_CC=${AARCH64_CC:-aarch64-linux-gnu-gcc}
map="-fdebug-prefix-map=$fx=fixtures -fdebug-prefix-map=$(pwd)=."
small="-nostdlib -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code -Wl,--build-id=none"
mkdir -p "$out"
$CC -I"$fx" -c "$fx/seq-x86_64.S" -o "$out/x86_64.rel"
$CC -I"$fx" $map -g -c "$fx/seq-x86_64.S" -o "$out/x86_64-g.rel"
$CC -I"$fx" $small -pie -Wl,-e,fx_counter_add "$fx/seq-x86_64.S" -o "$out/x86_64-pie"
$CC -I"$fx" $small -shared -Wl,-z,pack-relative-relocs "$fx/seq-x86_64.S" -o "$out/x86_64-relr.so"
$CC -I"$fx" $small -no-pie -Wl,-e,fx_counter_add "$fx/seq-x86_64.S" -o "$out/x86_64-nopie"
$CC -I"$fx" $map -g -O2 -c "$fx/inline.c" -o "$out/inline-x86_64-g.rel"
$CC -I"$fx" $map -g -O2 $small -pie -Wl,-e,main "$fx/inline.c" -o "$out/inline-x86_64-g-pie"
for d in SIG MISALIGNED EXIT_INSIDE BAD_POINTER NO_PTR_ARRAY; do
	$CC -I"$fx" -DDEFECT_$d -c "$fx/seq-x86_64.S" -o "$out/defect-$d-x86_64.rel"
done
$AARCH64_CC -I"$fx" -c "$fx/seq-aarch64.S" -o "$out/aarch64.rel"
$AARCH64_CC -I"$fx" $map -g -c "$fx/seq-aarch64.S" -o "$out/aarch64-g.rel"
$AARCH64_CC -I"$fx" $small -shared "$fx/seq-aarch64.S" -o "$out/aarch64.so"
$AARCH64_CC -I"$fx" -DDEFECT_ABORT_INSIDE -c "$fx/seq-aarch64.S" -o "$out/defect-ABORT_INSIDE-aarch64.rel"
$AARCH64_CC -I"$fx" $map -g -O2 $small -pie -Wl,-e,main "$fx/inline.c" -o "$out/inline-aarch64-g-pie"

# set_sh_size FILE SECTION SIZE: writes SIZE (< 256) into the section's sh_size.
set_sh_size() {
	idx=$(readelf -SW "$1" | sed -n "s/^ *\[ *\([0-9]*\)\] $2 .*/\1/p")
	shoff=$(readelf -hW "$1" | sed -n 's/.*Start of section headers: *\([0-9]*\).*/\1/p')
	[ -n "$idx" ] && [ -n "$shoff" ] || { echo "make-fuzz-corpus: no section $2 in $1" >&2; exit 1; }
	printf "$(printf '\\%03o' "$3" 0 0 0 0 0 0 0)" |
		dd of="$1" bs=1 seek=$((shoff + 64 * idx + 32)) conv=notrunc status=none
}
# A string section whose last byte is not NUL: libdw 0.188 ran strlen past the
# 1-byte .debug_line_str (".", the compilation directory) while looking up
# file:line -- a heap-buffer-overflow once each section has a buffer of its own.
f=$out/inline-aarch64-g-pie-line-str-no-nul
cp "$out/inline-aarch64-g-pie" "$f"
set_sh_size "$f" .debug_line_str 1
ls -l "$out"
