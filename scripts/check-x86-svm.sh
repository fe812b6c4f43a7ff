#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-x86-svm.sh - the selftests on AMD SVM, in a QEMU guest.
#
# scripts/check-guest.sh with QEMU (scripts/qemu-x86.sh: TCG, -cpu max:
# SVM with nested paging) and kvm_amd for KVM's reference runs.  Of KVM's
# own selftests only those of the expected list
# (selftests/kvm-expected/x86_64.txt) run by default; all of them, or
# others, only when asked (AXVCPU_KVM_SELFTESTS=all, or their names):
# axvcpu passes few of them yet on x86 (no in-kernel irqchip), and KVM's
# own run of them all once hung the emulated machine's only CPU
# (xapic_state_test, under TCG).  The machine has 2 GiB (AXVCPU_MEM),
# which they need.  Everything it writes is under $AX_BUILD/x86-svm; the
# environment is check-guest.sh's.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

if [ -z "${AXVCPU_KVM_SELFTESTS:-}" ]; then
	AXVCPU_KVM_SELFTESTS=$(sed 's/#.*//' \
		"$AX_REPO/selftests/kvm-expected/x86_64.txt" | xargs)
fi
export AXVCPU_KVM_SELFTESTS=${AXVCPU_KVM_SELFTESTS:-none}
export AXVCPU_MEM=${AXVCPU_MEM:-2048}
exec "$AX_SCRIPTS/check-guest.sh" x86-svm "$AX_SCRIPTS/qemu-x86.sh" kvm_amd \
	axtest.kvm=kvm_amd
