#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-x86-vmx.sh - the selftests on Intel VMX, in a Bochs guest.
#
# scripts/check-guest.sh with Bochs (scripts/bochs-x86.sh) and kvm_intel
# for KVM's reference runs: the same module build, the same selftests, the
# same guest side (scripts/guest-init.sh) and the same judge as on SVM.
# Bochs emulates one CPU, so the tests that need two skip.
#
# Everything it writes is under $AX_BUILD/x86-vmx.  The environment is
# check-guest.sh's, and bochs-x86.sh's, and:
#   AXVCPU_KVM		the KVM modules of the reference runs (default
#			kvm_intel; empty: no KVM runs)
#   AXVCPU_KVM_TESTS	the tests KVM runs (default kvm_abi_test and
#			x86_msr_test)

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

# KVM runs kvm_abi_test and x86_msr_test only: under Bochs an external
# interrupt does not exit a guest whose RFLAGS.IF is 0, so the guests of
# x86_guest_test that spin with IF=0 never give the CPU back to KVM
# (axvcpu bounds every entry with the VMX-preemption timer; see vmx.c).
# x86_msr_test's guests spin only with IF=1.
# QEMU booting Linux is make check-qemu-vmx's: too slow under Bochs for CI.
export AXVCPU_QEMU_LINUX=${AXVCPU_QEMU_LINUX:-0}
exec "$AX_SCRIPTS/check-guest.sh" x86-vmx "$AX_SCRIPTS/bochs-x86.sh" \
	kvm_intel "axtest.kvm=${AXVCPU_KVM-kvm_intel}" \
	"axtest.kvm_tests=${AXVCPU_KVM_TESTS:-kvm_abi_test,x86_msr_test}"
