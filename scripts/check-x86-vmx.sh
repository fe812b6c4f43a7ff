#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-x86-vmx.sh - the selftests on Intel VMX, in a Bochs guest.
#
# As check-x86-svm.sh, with Bochs (scripts/bochs-x86.sh) for QEMU: the
# same module build, the same selftests, the same guest side
# (scripts/guest-init.sh) and the same judge (scripts/tap-summary.sh).
# KVM's reference runs use kvm_intel.  Bochs emulates one CPU, so the
# tests that need two skip.
#
# Everything it writes is under $AX_BUILD/x86-vmx.  The environment is
# check-x86-svm.sh's, and bochs-x86.sh's, and:
#   AXVCPU_KVM		the KVM modules of the reference runs (default
#			kvm_intel; empty: no KVM runs)

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

label=x86-vmx
out=$AX_BUILD/$label
selftests=${AXVCPU_SELFTESTS:-$AX_REPO/selftests/axvcpu}

# setup_failed WHAT: a failure before the guest could run counts as one
# failed test.
setup_failed()
{
	record "$label:$1" 0 1 0
	echo "$label: $1 failed"
	echo "$label: $(summary 0 1 0)"
	exit 1
}

mkdir -p "$out"
kernel_env

build_module "$KDIR" "$out/module" || setup_failed build-module
tests=$(build_selftests "$selftests" "$out/selftests" \
	"$out/selftests.log") ||
	setup_failed build-selftests
names=$(for t in $tests; do printf ' %s' "${t##*/}"; done)
msg "selftests:$names"

# shellcheck disable=SC2086 # one path per word
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --ko "$out/module/axvcpu.ko" \
	--kmods "$KMODS" --kmod kvm_intel -- $tests || setup_failed initramfs

# KVM runs kvm_abi_test only: under Bochs an external interrupt does not
# exit a guest whose RFLAGS.IF is 0, so the guests of x86_guest_test that
# spin with IF=0 never give the CPU back to KVM (axvcpu bounds every entry
# with the VMX-preemption timer; see vmx.c).
args="axtest.mode=check axtest.kvm=${AXVCPU_KVM-kvm_intel}"
args="$args axtest.kvm_tests=${AXVCPU_KVM_TESTS:-kvm_abi_test}"
args="$args axtest.timeout=${AXVCPU_TEST_TIMEOUT:-300}"
if [ -n "${AXVCPU_TESTS:-}" ]; then
	args="$args axtest.tests=$(echo "$AXVCPU_TESTS" | tr ' ' ,)"
fi

msg "booting $KREL under Bochs (log: $out/serial.log)"
start=$(now)
rc=0
# shellcheck disable=SC2086
"$AX_SCRIPTS/bochs-x86.sh" "$VMLINUZ" "$out/initrd.gz" "$out/serial.log" \
	$args || rc=$?
msg "guest ran for $(elapsed "$start") s, Bochs exit status $rc"
touch "$out/serial.log"
[ "${AXVCPU_VERBOSE:-0}" != 1 ] || cat "$out/serial.log"

exec "$AX_SCRIPTS/tap-summary.sh" "$label" "$out/serial.log" "$rc"
