#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-debug.sh - the selftests on AMD SVM, on the debug kernel.
#
# scripts/check-guest.sh with QEMU and AXVCPU_KERNEL=debug: the kernel of
# scripts/debug-kernel.sh (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_LIST,
# DEBUG_OBJECTS, kmemleak, UBSAN, DEBUG_PAGEALLOC), no KVM runs, more
# fuzzer seeds, and a kmemleak scan after rmmod.  Everything it writes is
# under $AX_BUILD/x86-svm-debug.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

AXVCPU_KERNEL=debug exec "$AX_SCRIPTS/check-guest.sh" x86-svm-debug \
	"$AX_SCRIPTS/qemu-x86.sh" none
