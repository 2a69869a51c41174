#!/bin/sh
# Checks the sequence tables of the aarch64 cross build (tests/unit/cs-aarch64.elf, a
# static image of every percpu.h operation, linked at fixed addresses so the tables hold
# final values; and the C++17 object tests/unit/cs-aarch64-cxx.o):
#   - every section of the conventions is there;
#   - descriptors are 32-byte aligned, version 0, flags 0, one pointer and one name
#     record each, 26 of them (9 operations, 2 index kinds, 4 of them in 2 orders);
#   - abort_ip is outside [start_ip, start_ip + post_commit_offset), inside
#     __rseq_failure, right after the signature word 0xd428bc00, and holds a branch;
#   - the last instruction of each sequence is the commit: a 64-bit str or stlr.
# The relocation-aware check of objects is rseq-inspect's; this one reads values.
set -u
builddir=${RSEQKIT_BUILDDIR:?run through make check}
elf=$builddir/tests/unit/cs-aarch64.elf
obj=$builddir/tests/unit/cs-aarch64-cxx.o
readelf=${AARCH64_READELF:-aarch64-linux-gnu-readelf}
objdump=${AARCH64_OBJDUMP:-aarch64-linux-gnu-objdump}
command -v "$readelf" >/dev/null 2>&1 || { echo "SKIP: $readelf not found"; exit 77; }
command -v "$objdump" >/dev/null 2>&1 || { echo "SKIP: $objdump not found"; exit 77; }
[ -f "$elf" ] && [ -f "$obj" ] || { echo "FAIL: $elf or $obj not built"; exit 1; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$readelf" -SW "$elf" > "$tmp/sections"
# name addr offset size align, from "[Nr] Name Type Address Off Size ES Flg Lk Inf Al"
section() {
  sed -n 's/^ *\[ *[0-9]*\] *\([^ ]*\) *[A-Z_]* *\([0-9a-f]*\) \([0-9a-f]*\) \([0-9a-f]*\) .* \([0-9]*\)$/\1 \2 \3 \4 \5/p' \
    "$tmp/sections" | awk -v n="$1" '$1 == n { print "0x" $2, "0x" $3, "0x" $4, $5 }'
}
for s in __rseq_cs __rseq_cs_ptr_array __rseq_exit_point_array __rseq_failure __rseqkit_names __rseqkit_strings; do
  [ -n "$(section $s)" ] && echo "ok: $s present" || bad "$s missing from $elf"
  "$readelf" -SW "$obj" | grep -q " $s " && echo "ok: $s present in the C++ object" || bad "$s missing from $obj"
done
[ $fail = 0 ] || exit 1

set -- $(section __rseq_cs); cs_addr=$1; cs_off=$2; cs_size=$3; cs_align=$4
set -- $(section __rseq_failure); f_addr=$1; f_off=$2; f_size=$3
set -- $(section .text); t_addr=$1; t_off=$2; t_size=$3
set -- $(section __rseq_cs_ptr_array); p_size=$3
set -- $(section __rseqkit_names); nm_size=$3

[ $((cs_addr % 32)) = 0 ] && [ "$cs_align" -ge 32 ] && echo "ok: __rseq_cs 32-byte aligned" || bad "__rseq_cs at $cs_addr, align $cs_align"
[ $((cs_size % 32)) = 0 ] || bad "__rseq_cs size $cs_size is not a multiple of 32"
count=$((cs_size / 32))
[ "$count" = 26 ] && echo "ok: 26 descriptors" || bad "$count descriptors, expected 26"
[ $((p_size / 8)) = "$count" ] && echo "ok: one pointer per descriptor" || bad "$((p_size / 8)) pointers"
[ $((nm_size / 16)) = "$count" ] && echo "ok: one name record per descriptor" || bad "$((nm_size / 16)) name records"

# The 32-bit little-endian word at an address inside a section (addr off).
word_at() { od -An -tx4 -j $(($3 - $1 + $2)) -N 4 "$elf" | tr -d ' '; }

od -An -tx8 -w32 -v -j $((cs_off)) -N $((cs_size)) "$elf" > "$tmp/cs"
k=0
while read -r head start post abort; do
  start=$((0x$start)); post=$((0x$post)); abort=$((0x$abort))
  [ "$head" = 0000000000000000 ] || bad "descriptor $k: version/flags $head"
  [ "$post" -gt 0 ] && [ "$post" -lt 4096 ] || bad "descriptor $k: post_commit_offset $post"
  [ "$start" -ge $((t_addr)) ] && [ $((start + post)) -le $((t_addr + t_size)) ] || bad "descriptor $k: sequence outside .text"
  if [ "$abort" -ge "$start" ] && [ "$abort" -lt $((start + post)) ]; then bad "descriptor $k: abort_ip inside the sequence"; fi
  [ "$abort" -ge $((f_addr + 4)) ] && [ "$abort" -lt $((f_addr + f_size)) ] || bad "descriptor $k: abort_ip outside __rseq_failure"
  sig=$(word_at $((f_addr)) $((f_off)) $((abort - 4)))
  [ "$sig" = d428bc00 ] || bad "descriptor $k: word before abort_ip is $sig, not the signature d428bc00"
  insn=$((0x$(word_at $((f_addr)) $((f_off)) "$abort")))
  [ $((insn & 0xfc000000)) = $((0x14000000)) ] || bad "descriptor $k: abort_ip does not hold a branch"
  last=$((0x$(word_at $((t_addr)) $((t_off)) $((start + post - 4)))))
  # str Xt, [Xn, #imm] | str Xt, [Xn, Xm] | stlr Xt, [Xn]
  if [ $((last & 0xffc00000)) = $((0xf9000000)) ] || [ $((last & 0xffe00c00)) = $((0xf8200800)) ] ||
     [ $((last & 0xfffffc00)) = $((0xc89ffc00)) ]; then :; else
    bad "descriptor $k: last instruction $(printf %08x $last) is not a 64-bit str/stlr"
  fi
  k=$((k + 1))
done < "$tmp/cs"
[ "$k" = "$count" ] || bad "read $k descriptors of $count"
[ $fail = 0 ] && echo "ok: $k descriptors: signature before abort_ip, abort outside, commit last"

# The disassembler agrees: one brk #0x45e0 (the signature) per sequence in __rseq_failure.
sigs=$("$objdump" -d -j __rseq_failure "$elf" | grep -c 'brk.*0x45e0')
[ "$sigs" = "$count" ] && echo "ok: objdump finds $sigs signatures" || bad "objdump finds $sigs signatures for $count sequences"
sigs=$("$objdump" -d -j __rseq_failure "$obj" | grep -c 'brk.*0x45e0')
[ "$sigs" = 26 ] && echo "ok: the C++ object has 26 signatures" || bad "the C++ object has $sigs signatures"
# The names, as tools print them.
names=$("$objdump" -s -j __rseqkit_strings "$elf" >/dev/null && strings -a "$elf" | grep -c '^rseqkit_percpu_.*_\(cpu_id\|mm_cid\)$')
[ "$names" = 26 ] && echo "ok: 26 names" || bad "$names names"
exit $fail
