#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-qemu-arm64.sh - Debian's QEMU boots Linux on arm64, against KVM
# arm64 and against axvcpu.
#
# qemu_linux_test (scripts/qemu-linux-test.sh) alone, with Debian's arm64
# qemu-system-aarch64 and its arm64 libraries staged by
# scripts/qemu-linux-arm64.sh: "-accel kvm -M virt,gic-version=2,
# kernel-irqchip=off -cpu host -m 192 -smp 1" boots Debian's arm64 kernel
# (the one the test guest runs) to a busybox /init that prints a marker
# and powers off.  Two boots of the arm64 test guest under QEMU TCG (as
# check-arm64.sh): arm64-kvm, where KVM arm64 (VHE) is the reference, and
# arm64, kvm-arm.mode=none, against /dev/axvcpu.  Part of make check
# (Documentation/testing.rst has the time and the result).  Everything it
# writes is under $AX_BUILD/arm64-qemu.
#
# Environment: AXVCPU_TIMEOUT (seconds per boot, default 1200),
# AXVCPU_SMP (CPUs of the test guest, default 2), AXVCPU_VERBOSE,
# AXVCPU_QEMU_ARGS (as scripts/qemu-arm64.sh), AXVCPU_QEMU_TIMEOUT
# (seconds the nested boot may take, default 600), AXVCPU_QEMU_SMP (its
# vCPU counts, default "1 2"; the KVM boot runs on CPU0 alone, so more
# than one vCPU is a SKIP there).

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

label=arm64-qemu
out=$AX_BUILD/$label
export AXVCPU_TIMEOUT=${AXVCPU_TIMEOUT:-1200}
# Two CPUs: axvcpu's boot also runs QEMU with two vCPUs (KVM's keeps CPU0
# alone, guest-init.sh, and skips that case).
export AXVCPU_SMP=${AXVCPU_SMP:-2}
AXVCPU_QEMU_SMP=${AXVCPU_QEMU_SMP:-1 2}

mkdir -p "$out"
env=$("$AX_SCRIPTS/arm64-kernel.sh") || setup_failed arm64-kernel
eval "$env"

build_module "$KDIR_ARM64" "$out/module" ARCH=arm64 \
	CROSS_COMPILE=aarch64-linux-gnu- || setup_failed build-module
"$AX_SCRIPTS/qemu-linux-arm64.sh" "$out/qemu-linux" "$VMLINUZ_ARM64" \
	"$BUSYBOX_ARM64" || setup_failed stage-qemu-linux
cp "$AX_SCRIPTS/qemu-linux-test.sh" "$out/qemu_linux_test"
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --busybox "$BUSYBOX_ARM64" \
	--ko "$out/module/axvcpu.ko" --dir "$out/qemu-linux" \
	-- "$out/qemu_linux_test" || setup_failed initramfs

args="axtest.mode=check axtest.tests=qemu_linux_test"
args="$args axtest.kvm_tests=qemu_linux_test"
args="$args axtest.qemu_timeout=${AXVCPU_QEMU_TIMEOUT:-600}"
args="$args axtest.timeout=$((${AXVCPU_QEMU_TIMEOUT:-600} * 2 + 60))"
[ -z "${AXVCPU_QEMU_SMP:-}" ] ||
	args="$args axtest.qemu_smp=$(echo "$AXVCPU_QEMU_SMP" | tr ' ' ,)"

status=0
# boot NAME ARGS...: one boot, judged as NAME.
boot()
{
	arm64_boot "$out" "$@" || status=1
}

# KVM arm64 first, the reference; then axvcpu with EL2 to itself.
# shellcheck disable=SC2086
boot arm64-kvm $args axtest.kvm=builtin
# shellcheck disable=SC2086
boot arm64 $args kvm-arm.mode=none
exit $status
