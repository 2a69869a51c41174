#!/bin/busybox sh
# /init of the kernel matrix's VMs (tests/matrix/mkinitramfs.sh puts it there): mounts
# the kernel's file systems, runs every test program in every registration mode under
# every glibc of /rseqkit/matrix.conf, prints "@@MATRIX" lines on the serial console
# (tests/matrix/run-one.sh), runs the hooks, and powers off.  The last line is
# "@@MATRIX done kernel=..."; the host treats a VM without it as a failed boot.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
# For the BPF programs and hooks: tracefs (classic tracepoints) and bpffs.
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null

. /rseqkit/matrix.conf
kernel=$(uname -r)
export RSEQKIT_BUILDDIR=/rseqkit/build
export MATRIX_RUN_MODE=/rseqkit/src/tests/harness/run-mode
export MATRIX_KERNEL=$kernel MATRIX_TIMEOUT=$VM_TIMEOUT
export MATRIX_GLIBC MATRIX_LOADER MATRIX_LIBPATH

have_btf=no
[ -e /sys/kernel/btf/vmlinux ] && [ -d /sys/kernel/tracing/events/rseq/rseq_ip_fixup ] && have_btf=yes
echo
echo "@@MATRIX boot kernel=$kernel cpus=$(nproc) btf_and_tracepoint=$have_btf uptime=$(cut -d' ' -f1 /proc/uptime)"

in_list() {  # in_list WORD LIST...
  w=$1
  shift
  for x; do [ "$x" = "$w" ] && return 0; done
  return 1
}

skip() {  # skip PROGRAM REASON
  for m in $MODES; do
    echo "@@MATRIX result kernel=$kernel glibc=$MATRIX_GLIBC mode=$m program=$1 status=SKIP tests=0 failed=0 skipped=0 seconds=0 exit=0 reason=$2"
  done
}

for spec in $GLIBCS; do
  MATRIX_GLIBC=${spec%%:*}
  dir=${spec#*:}
  if [ "$dir" = system ]; then
    # The system's glibc of the build machine, at its usual place in this image.
    MATRIX_LOADER='' MATRIX_LIBPATH=''
    export LD_LIBRARY_PATH=$BUILD_LIBPATH
  else
    MATRIX_LOADER=$dir/ld-linux-x86-64.so.2 MATRIX_LIBPATH=$dir:$BUILD_LIBPATH:$SYSTEM_LIBPATH
    unset LD_LIBRARY_PATH
  fi
  for p in $PROGRAMS; do
    if in_list "$p" $VM_SKIP; then
      skip "$p" too-slow-under-TCG-emulation
      continue
    fi
    if in_list "$p" $BPF_PROGRAMS && [ $have_btf = no ]; then
      skip "$p" kernel-without-BTF-or-rseq-tracepoint
      continue
    fi
    for m in $MODES; do
      sh /rseqkit/src/tests/matrix/run-one.sh "$m" "$p"
    done
  done
done
unset LD_LIBRARY_PATH

# Hooks: whatever else a part of rseqkit wants to run on every kernel (rseq-top ...).
matrix_result() {  # matrix_result NAME PASS|FAIL|SKIP
  echo "@@MATRIX result kernel=$kernel glibc=$SYSTEM_GLIBC mode=hook program=$1 status=$2 tests=1 failed=$([ "$2" = FAIL ] && echo 1 || echo 0) skipped=$([ "$2" = SKIP ] && echo 1 || echo 0) seconds=0 exit=0"
}
export have_btf
for h in $HOOKS; do
  # A hook that did not run is a failure, not nothing.
  [ -f "/rseqkit/src/$h" ] || { matrix_result "$h" FAIL; continue; }
  # shellcheck disable=SC1090 # a subshell: a hook that exits must not end /init
  (. "/rseqkit/src/$h") || matrix_result "$h" FAIL
done

echo "@@MATRIX done kernel=$kernel uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
