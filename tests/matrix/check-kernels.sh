#!/bin/sh
# check-kernels.sh: the kernel matrix (`make check-kernels`).  Boots the current cloud
# kernel of each Debian suite in MATRIX_KERNEL_SUITES under qemu (TCG, no KVM needed)
# with an initramfs holding the test programs, busybox and every glibc of the glibc
# matrix (tests/matrix/mkinitramfs.sh); inside, every program runs in every
# registration mode under every glibc.  Results come back over the serial console.
# Fails if a test fails, or a VM does not finish within MATRIX_BOOT_TIMEOUT seconds.
#
#   qemu-system-x86_64 -M q35 -cpu max -smp 2 -m 1024 -nographic -no-reboot
#                      -kernel vmlinuz -initrd initrd.cpio.gz
#                      -append "console=ttyS0 quiet panic=-1"
#
# Environment (set by the make rule): as check-glibc.sh, plus MATRIX_KERNEL_SUITES,
# MATRIX_VM_SKIP, MATRIX_BPF_BINARIES, MATRIX_VM_HOOKS, MATRIX_VM_TOOLS, MATRIX_VM_TIMEOUT,
# MATRIX_BOOT_TIMEOUT, MATRIX_QEMU.
set -u
srcdir=${RSEQKIT_SRCDIR:?run through make check-kernels}
builddir=${RSEQKIT_BUILDDIR:?run through make check-kernels}
cache=${RSEQKIT_MATRIX_CACHE:?run through make check-kernels}
suites=${MATRIX_KERNEL_SUITES-bookworm trixie sid}
qemu=${MATRIX_QEMU:-qemu-system-x86_64}
boot_timeout=${MATRIX_BOOT_TIMEOUT:-900}
modes=${MATRIX_MODES:-glibc rseqkit enosys eperm}
. "$srcdir/tests/matrix/lib.sh"

start=$(date +%s)
command -v "$qemu" >/dev/null 2>&1 ||
  { echo "check-kernels: $qemu not found (Debian: qemu-system-x86; see build-aux/install-deps)"; exit 1; }
out=$builddir/tests/matrix/kernel-matrix
rm -rf "$out" && mkdir -p "$out" || exit 1

fetch() { sh "$srcdir/tests/matrix/fetch.sh" "$cache" "$@"; }
kernels=$(fetch kernel $suites) || { echo "check-kernels: could not fetch kernels for: $suites"; exit 1; }
glibcs=$(fetch glibc ${MATRIX_GLIBC_SUITES-trixie sid}) || { echo "check-kernels: could not fetch glibc"; exit 1; }
busybox=$(fetch busybox) || { echo "check-kernels: could not fetch busybox"; exit 1; }

initrd=$out/initrd.cpio.gz
sh "$srcdir/tests/matrix/mkinitramfs.sh" "$initrd" "$busybox" "$glibcs" || exit 1
echo "check-kernels: initramfs $(du -k "$initrd" | cut -f1) KiB; VMs skip: ${MATRIX_VM_SKIP:-nothing} (too slow emulated)"

: > "$out/results"
echo "$kernels" | while read -r label vmlinuz; do
  [ -n "$label" ] || continue
  log=$out/console-$label.log
  t0=$(date +%s)
  echo "check-kernels: booting Linux $label ($vmlinuz)"
  timeout "$boot_timeout" "$qemu" -M q35 -cpu max -smp 2 -m 1024 -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1" \
    < /dev/null > "$log" 2>&1
  rc=$?
  seconds=$(( $(date +%s) - t0 ))
  # The firmware's terminal escapes may precede the first line.
  tr -d '\r' < "$log" | grep -a -o '@@.*' > "$out/results-$label"
  kernel=$(sed -n 's/^@@MATRIX boot kernel=\([^ ]*\).*/\1/p' "$out/results-$label" | head -n 1)
  if ! grep -q '^@@MATRIX done ' "$out/results-$label"; then
    reason=did-not-finish
    [ $rc -eq 124 ] && reason=timeout-after-${boot_timeout}s
    [ -n "$kernel" ] || reason=$reason-before-init
    echo "@@MATRIX boot-failed kernel=${kernel:-$label} reason=$reason qemu_exit=$rc" >> "$out/results-$label"
    echo "check-kernels: Linux $label did not finish ($reason); the end of its console:"
    tr -d '\r' < "$log" | tail -n 30 | sed 's/^/  | /'
  fi
  grep -v '^@@MATRIX facts' "$out/results-$label" | grep -v '^@@log '
  grep '^@@log ' "$out/results-$label" | sed 's/^@@log /  | /'
  echo "check-kernels: Linux $label: $seconds s"
  cat "$out/results-$label" >> "$out/results"
done

echo
awk -v title="kernel matrix: Linux $(echo "$kernels" | awk '{printf "%s%s", sep, $1; sep=", "}') x glibc $(system_glibc)$(echo "$glibcs" | awk '{printf ", %s", $1}') x $(echo $modes | wc -w) modes; console logs in $out" \
  -v modes="$modes" -f "$srcdir/tests/matrix/table.awk" "$out/results" | tee "$out/table"
echo "check-kernels: $(( $(date +%s) - start )) s"
! grep -q -e '^@@MATRIX result .* status=FAIL' -e '^@@MATRIX boot-failed' "$out/results"
