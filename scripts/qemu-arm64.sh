#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-arm64.sh - boot the arm64 test guest under QEMU, the kernel at EL2.
#
# Usage: qemu-arm64.sh IMAGE INITRD LOG [KERNEL ARGS...]
#
# "virt" with virtualization=on gives the guest EL2, and "-cpu max" has
# VHE, so Debian's kernel runs at EL2.  With kvm-arm.mode=none among the
# kernel arguments it stays there with KVM off, which axvcpu needs;
# without it KVM owns EL2 (the reference runs).  GICv3, as KVM wants.
# pauth-impdef=on: QEMU's architected pointer authentication is four
# times slower to emulate.
#
# The serial console is written to LOG.  With AXVCPU_INTERACTIVE=1 it is
# the terminal instead (and copied to LOG): QEMU's escape is Ctrl-a x.
#
# Environment:
#   AXVCPU_TIMEOUT	seconds before the guest is killed (default 600)
#   AXVCPU_SMP		CPUs of the guest (default 2)
#   AXVCPU_MEM		its memory in MiB (default 1024)
#   AXVCPU_QEMU_ARGS	more QEMU arguments, e.g. "-icount shift=0"
#
# Exits with QEMU's status; 124 (or 137) when the time limit killed it.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: ${0##*/} IMAGE INITRD LOG [KERNEL ARGS...]"
image=$1
initrd=$2
log=$3
shift 3

# Kernel arguments: as qemu-x86.sh (quiet, panic=-1, the lockup panics
# and the generous stall limits for TCG on a loaded host).
append="console=ttyAMA0 quiet panic=-1 softlockup_panic=1 hung_task_panic=1"
append="$append watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=90 $*"

# shellcheck disable=SC2086 # AXVCPU_QEMU_ARGS is a list of words
set -- qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 \
	-accel tcg -cpu max,pauth-impdef=on -m "${AXVCPU_MEM:-1024}" -smp "${AXVCPU_SMP:-2}" \
	-display none -no-reboot -nic none \
	-kernel "$image" -initrd "$initrd" -append "$append" \
	${AXVCPU_QEMU_ARGS:-}

timeout=${AXVCPU_TIMEOUT:-600}
mkdir -p "$(dirname "$log")"
rm -f "$log"

rc=0
if [ "${AXVCPU_INTERACTIVE:-0}" = 1 ]; then
	timeout --foreground -k 5 "$timeout" "$@" -serial mon:stdio |
		tee "$log" || rc=$?
else
	timeout -k 5 "$timeout" "$@" -monitor none -serial "file:$log" \
		</dev/null || rc=$?
fi
exit $rc
