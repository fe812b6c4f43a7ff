#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-x86-svm.sh - the selftests on AMD SVM, in a QEMU guest.
#
# scripts/check-guest.sh with QEMU (scripts/qemu-x86.sh: TCG, -cpu max:
# SVM with nested paging) and kvm_amd for KVM's reference runs, KVM's own
# selftests included (AXVCPU_KVM_SELFTESTS, default all): the machine has
# 2 GiB (AXVCPU_MEM), which they need.  Everything it writes is under
# $AX_BUILD/x86-svm; the environment is check-guest.sh's.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

export AXVCPU_KVM_SELFTESTS=${AXVCPU_KVM_SELFTESTS:-all}
export AXVCPU_MEM=${AXVCPU_MEM:-2048}
exec "$AX_SCRIPTS/check-guest.sh" x86-svm "$AX_SCRIPTS/qemu-x86.sh" kvm_amd \
	axtest.kvm=kvm_amd
