#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-x86.sh - boot the x86 test guest under QEMU with AMD SVM.
#
# Usage: qemu-x86.sh VMLINUZ INITRD LOG [KERNEL ARGS...]
#
# QEMU's TCG emulates SVM with nested paging for "-cpu max", so the module
# runs on a real SVM implementation on any x86 host.  TCG is asked for by
# name: a host /dev/kvm may not be able to run a stock kernel at all.
#
# The serial console is written to LOG.  With AXVCPU_INTERACTIVE=1 it is
# the terminal instead (and copied to LOG): QEMU's escape is Ctrl-a x.
#
# Environment:
#   AXVCPU_TIMEOUT	seconds before the guest is killed (default 600)
#   AXVCPU_SMP		CPUs of the guest (default 2)
#   AXVCPU_MEM		its memory in MiB (default 512)
#   AXVCPU_QEMU_ARGS	more QEMU arguments, e.g. "-icount shift=0"
#
# Exits with QEMU's status; 124 (or 137) when the time limit killed it.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: ${0##*/} VMLINUZ INITRD LOG [KERNEL ARGS...]"
vmlinuz=$1
initrd=$2
log=$3
shift 3

# Kernel arguments:
#   quiet		only errors on the console, which keeps the test output
#			readable; the guest dumps its whole log at the end
#   panic=-1		a panic reboots at once, and -no-reboot ends QEMU
#   softlockup_panic=1, hung_task_panic=1
#			a lockup ends the run in a minute or two rather than at
#			the time limit; its report is in the log
#   softlockup_all_cpu_backtrace=1
#			and the report has every CPU's stack (by NMI), so a
#			lockup waiting on another CPU shows what that CPU did
#   idle=poll		once KVM has enabled SVM on a CPU, TCG (QEMU 7.2) may
#			never wake that CPU from HLT: IPIs to it then hang the
#			sender (soft lockup in smp_call_function_many_cond).
#			Idle CPUs that poll never halt.
#   watchdog_thresh=30, rcupdate.rcu_cpu_stall_timeout=90
#			TCG on a loaded 2-core host can stall a vCPU for tens of
#			seconds; a real lockup lasts forever and is still caught
append="console=ttyS0 quiet panic=-1 softlockup_panic=1 hung_task_panic=1"
append="$append softlockup_all_cpu_backtrace=1"
append="$append watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=90"
append="$append idle=poll $*"

# shellcheck disable=SC2086 # AXVCPU_QEMU_ARGS is a list of words
set -- qemu-system-x86_64 -M q35 -accel tcg -cpu max \
	-m "${AXVCPU_MEM:-512}" -smp "${AXVCPU_SMP:-2}" \
	-display none -vga none -no-reboot -nic none \
	-kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
	${AXVCPU_QEMU_ARGS:-}

timeout=${AXVCPU_TIMEOUT:-600}
mkdir -p "$(dirname "$log")"
rm -f "$log"

if [ "${AXVCPU_INTERACTIVE:-0}" = 1 ]; then
	rc=0
	timeout --foreground -k 5 "$timeout" "$@" -serial mon:stdio |
		tee "$log" || rc=$?
else
	rc=0
	timeout -k 5 "$timeout" "$@" -monitor none -serial "file:$log" \
		</dev/null || rc=$?
fi
exit $rc
