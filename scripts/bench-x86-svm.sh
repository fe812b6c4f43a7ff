#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-x86-svm.sh - the cost of an exit on axvcpu beside KVM (make bench).
#
# Boots the test kernel under QEMU with -icount shift=0,sleep=off: the
# guest's clock then counts instructions (1 ns each), so a figure is the
# same on every run and a ratio compares the same work.  The guest runs
# tools/axvcpu-bench against /dev/axvcpu, then against KVM in the same
# boot (scripts/bench-guest.sh), and this prints each figure beside KVM's
# with their ratio.  One CPU: under icount a second one does not come up.
#
# Environment:
#   AXVCPU_BENCH_N	iterations of each benchmark (default 20000)

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

AXVCPU_SMP=1 AXVCPU_MEM=${AXVCPU_MEM:-2048} AXVCPU_TIMEOUT=${AXVCPU_TIMEOUT:-1800} \
	AXVCPU_QEMU_ARGS="-icount shift=0,sleep=off" \
	exec "$AX_SCRIPTS/bench-guest.sh" bench-x86-svm "$AX_SCRIPTS/qemu-x86.sh" \
	kvm_amd "x86 SVM (QEMU), guest clock per operation (-icount shift=0: 1 ns = 1 instruction)"
