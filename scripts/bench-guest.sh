#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-guest.sh - the cost of an exit on axvcpu beside KVM, in a guest.
#
# Usage: bench-guest.sh NAME EMULATOR KVM_MODULE TITLE
#
# Builds the module and tools/axvcpu-bench, boots the test kernel with
# EMULATOR (scripts/qemu-x86.sh, scripts/bochs-x86.sh), whose clock the
# caller set up to count instructions, runs the benchmark against
# /dev/axvcpu and then against KVM (KVM_MODULE) in the same boot, and
# prints TITLE and each figure beside KVM's with their ratio (lib.sh's
# bench_report).  Everything it writes is under $AX_BUILD/NAME, but the
# figures: $AX_BUILD/NAME.csv and the chart $AX_BUILD/NAME.png.
#
# Environment:
#   AXVCPU_BENCH_N	iterations of each benchmark (default 20000)

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 4 ] || die "usage: ${0##*/} NAME EMULATOR KVM_MODULE TITLE"
out=$AX_BUILD/$1
emulator=$2
kvm=$3
title=$4
n=${AXVCPU_BENCH_N:-20000}
mkdir -p "$out"
kernel_env

build_module "$KDIR" "$out/module" || die "module build failed"
build_tools "$out/tools" || die "tools build failed"
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --ko "$out/module/axvcpu.ko" \
	--kmods "$KMODS" --kmod "$kvm" -- "$out/tools/axvcpu-bench"

msg "booting $KREL with ${emulator##*/}"
rm -f "$out/serial.log"
# A session of its own: the emulator and its timeout end together.
setsid "$emulator" "$VMLINUZ" "$out/initrd.gz" "$out/serial.log" \
	axtest.mode=bench "axtest.kvm=$kvm" "axtest.bench_n=$n" &
pid=$!
# Once the figures are out, the power-off (a sleep that idle=poll spins
# through under icount, a minute or more) is not worth waiting for.
while kill -0 "$pid" 2>/dev/null; do
	if grep -q '^=== GUEST DONE' "$out/serial.log" 2>/dev/null; then
		sleep 5
		kill -- "-$pid" 2>/dev/null || :
		break
	fi
	sleep 2
done
wait "$pid" || :

if grep -q '^bench failed' "$out/serial.log" ||
   ! grep -q '^bench ' "$out/serial.log"; then
	grep -E '^bench|insmod|rmmod' "$out/serial.log" >&2 || :
	die "the benchmark did not run (log: $out/serial.log)"
fi

bench_report "$1" "$title, $n iterations" "$out/serial.log"
