#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-arm64.sh - the cost of an exit on arm64, axvcpu beside KVM
# (make bench-arm64).
#
# Boots Debian's arm64 kernel under QEMU with -icount shift=0,sleep=off
# (the guest's clock counts instructions, 1 ns each, so a figure is the
# same on every run) twice, on one CPU: with kvm-arm.mode=none the guest
# runs tools/axvcpu-bench (its arm64 guests) against /dev/axvcpu, without
# it against KVM.  Prints each figure beside KVM's with their ratio (the
# benchmarks are tools/axvcpu-bench's; 2 GiB of guest memory hold its
# 1 GiB slot), into $AX_BUILD/bench-arm64.csv and .png too.
#
# Environment:
#   AXVCPU_BENCH_N	iterations of each benchmark (default 20000)

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

out=$AX_BUILD/bench-arm64
n=${AXVCPU_BENCH_N:-20000}
mkdir -p "$out"
env=$("$AX_SCRIPTS/arm64-kernel.sh") || die "no arm64 kernel"
eval "$env"

build_module "$KDIR_ARM64" "$out/module" ARCH=arm64 \
	CROSS_COMPILE=aarch64-linux-gnu- || die "module build failed"
# tools/Makefile builds in the source tree, for the build machine: this
# copy is for the guest.
aarch64-linux-gnu-gcc -O2 -g -Wall -Wextra -static -I"$AX_REPO/uapi" \
	-o "$out/axvcpu-bench" "$AX_REPO/tools/axvcpu-bench.c" \
	>"$out/tools.log" 2>&1 || die "bench build failed (log: $out/tools.log)"
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --busybox "$BUSYBOX_ARM64" \
	--ko "$out/module/axvcpu.ko" -- "$out/axvcpu-bench"

# One CPU: under icount a second one does not come up.
for boot in axvcpu kvm; do
	args="axtest.mode=bench axtest.bench_n=$n"
	if [ $boot = axvcpu ]; then
		args="$args kvm-arm.mode=none"
	else
		args="$args axtest.kvm=builtin"
	fi
	msg "$boot: booting $KREL_ARM64 under QEMU with -icount shift=0,sleep=off"
	# shellcheck disable=SC2086 # kernel arguments, one a word
	AXVCPU_SMP=1 AXVCPU_MEM=${AXVCPU_MEM:-2048} \
		AXVCPU_TIMEOUT=${AXVCPU_TIMEOUT:-1800} \
		AXVCPU_QEMU_ARGS="-icount shift=0,sleep=off" \
		"$AX_SCRIPTS/qemu-arm64.sh" "$VMLINUZ_ARM64" "$out/initrd.gz" \
		"$out/$boot.log" $args || :
	if grep -q '^bench failed' "$out/$boot.log" ||
	   ! grep -q '^bench ' "$out/$boot.log"; then
		grep -E '^bench|insmod|rmmod' "$out/$boot.log" >&2 || :
		die "the benchmark did not run (log: $out/$boot.log)"
	fi
done

bench_report bench-arm64 \
	"arm64, guest clock per operation (-icount shift=0: 1 ns = 1 instruction), $n iterations" \
	"$out/axvcpu.log" "$out/kvm.log"
