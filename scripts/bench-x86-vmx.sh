#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-x86-vmx.sh - the cost of an exit on axvcpu beside KVM, on VMX
# (make bench-x86-vmx).
#
# As bench-x86-svm.sh, under Bochs (scripts/bochs-x86.sh) instead of QEMU.
# Bochs has no icount, but with "clock: sync=none" its emulated time is
# the instruction count alone, at "ips" instructions per emulated second,
# and the guest kernel calibrates its clock against that time.  At
# ips=1000000000 one instruction is one nanosecond of guest time, as under
# QEMU's -icount shift=0: the figures do not depend on the host's speed.  The
# count is Bochs's: the host's instructions and the nested guest's alike,
# VM instructions among them.
#
# Environment:
#   AXVCPU_BENCH_N	iterations of each benchmark (default 20000)

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

AXVCPU_BOCHS_IPS=1000000000 AXVCPU_MEM=${AXVCPU_MEM:-2048} \
	AXVCPU_TIMEOUT=${AXVCPU_TIMEOUT:-3600} \
	exec "$AX_SCRIPTS/bench-guest.sh" bench-x86-vmx "$AX_SCRIPTS/bochs-x86.sh" \
	kvm_intel "x86 VMX (Bochs), guest clock per operation (Bochs, sync=none, ips=10^9: 1 ns = 1 instruction)"
