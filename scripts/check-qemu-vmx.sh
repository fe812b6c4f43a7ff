#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-qemu-vmx.sh - Debian's QEMU boots Linux on Intel VMX, under Bochs.
#
# qemu_linux_test (scripts/qemu-linux-test.sh) alone, against KVM
# (kvm_intel) and against axvcpu, in one Bochs boot with the memory QEMU's
# guest and the staged QEMU need.  Not part of make check: Bochs takes
# long for a whole Linux boot inside it (Documentation/testing.rst has the
# time).  Everything it writes is under $AX_BUILD/x86-vmx-qemu.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

export AXVCPU_QEMU_LINUX=1 AXVCPU_TESTS=qemu_linux_test
export AXVCPU_MEM=${AXVCPU_MEM:-1024}
export AXVCPU_TIMEOUT=${AXVCPU_TIMEOUT:-3600}
export AXVCPU_TEST_TIMEOUT=${AXVCPU_TEST_TIMEOUT:-1500}
exec "$AX_SCRIPTS/check-guest.sh" x86-vmx-qemu "$AX_SCRIPTS/bochs-x86.sh" \
	kvm_intel axtest.kvm=kvm_intel axtest.kvm_tests=qemu_linux_test \
	axtest.qemu_timeout=1200
