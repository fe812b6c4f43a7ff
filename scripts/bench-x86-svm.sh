#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-x86-svm.sh - the cost of an exit on axvcpu beside KVM (make bench).
#
# Boots the test kernel under QEMU with -icount shift=0,sleep=off: the
# guest's clock then counts instructions (1 ns each), so a figure is the
# same on every run and a ratio compares the same work.  The guest runs
# tools/axvcpu-bench against /dev/axvcpu, then against KVM in the same
# boot, and this prints each figure beside KVM's with their ratio.
#
# Environment:
#   AXVCPU_BENCH_N	iterations of each benchmark (default 20000)

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

out=$AX_BUILD/bench
n=${AXVCPU_BENCH_N:-20000}
mkdir -p "$out"
kernel_env

build_module "$KDIR" "$out/module" || die "module build failed"
make -C "$AX_REPO/tools" UAPI_INC="$AX_REPO/uapi" >"$out/tools.log" 2>&1 ||
	die "tools build failed (log: $out/tools.log)"
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --ko "$out/module/axvcpu.ko" \
	--kmods "$KMODS" --kmod kvm_amd -- "$AX_REPO/tools/axvcpu-bench"

# One CPU: under icount a second one does not come up.
msg "booting $KREL under QEMU with -icount shift=0,sleep=off"
AXVCPU_SMP=1 AXVCPU_QEMU_ARGS="-icount shift=0,sleep=off" \
	"$AX_SCRIPTS/qemu-x86.sh" "$VMLINUZ" "$out/initrd.gz" \
	"$out/serial.log" axtest.mode=bench axtest.kvm=kvm_amd \
	"axtest.bench_n=$n" || :

if grep -q '^bench failed' "$out/serial.log" ||
   ! grep -q '^bench ' "$out/serial.log"; then
	grep -E '^bench|insmod|rmmod' "$out/serial.log" >&2 || :
	die "the benchmark did not run (log: $out/serial.log)"
fi

bench_table "$n" "$out/serial.log"
