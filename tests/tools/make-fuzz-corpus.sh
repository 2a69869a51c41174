#!/bin/sh
# make-fuzz-corpus.sh OUTDIR: (re)builds the small seed corpus checked in as
# tests/tools/fuzz-corpus/ from the fixture sources (relocatable objects as *.rel): objects, a PIE, shared objects
# (one with packed relative relocations), DWARF from assembler and from C, both
# architectures, and a few defective tables.  Linked seeds skip the C library and
# use 4 KiB pages to stay small.  Needs gcc and aarch64-linux-gnu-gcc.
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
for d in SIG MISALIGNED EXIT_INSIDE BAD_POINTER NO_PTR_ARRAY; do
	$CC -I"$fx" -DDEFECT_$d -c "$fx/seq-x86_64.S" -o "$out/defect-$d-x86_64.rel"
done
$AARCH64_CC -I"$fx" -c "$fx/seq-aarch64.S" -o "$out/aarch64.rel"
$AARCH64_CC -I"$fx" $map -g -c "$fx/seq-aarch64.S" -o "$out/aarch64-g.rel"
$AARCH64_CC -I"$fx" $small -shared "$fx/seq-aarch64.S" -o "$out/aarch64.so"
$AARCH64_CC -I"$fx" -DDEFECT_ABORT_INSIDE -c "$fx/seq-aarch64.S" -o "$out/defect-ABORT_INSIDE-aarch64.rel"
ls -l "$out"
