#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fuzz.sh - the long run of the seeded ioctl fuzzer (make fuzz): over a
# million calls per architecture, with every kernel report a failure, as
# in make check.
#
#   x86	fuzz_test alone on the debug kernel (scripts/check-debug.sh:
#	KASAN, lockdep, UBSAN, kmemleak, DEBUG_PAGEALLOC) under QEMU
#	with SVM, and a kmemleak scan after rmmod
#   arm64	fuzz_test alone on Debian's arm64 kernel at EL2
#	(scripts/check-arm64.sh; there is no arm64 debug kernel)
#
# fuzz_test makes AXVCPU_FUZZ_CALLS calls in each of three threads and a
# quarter of that in a forked child, per seed: the defaults, seeds 1-16
# of 20000, are 16 x 65,000 = 1,040,000 calls per architecture.  On two
# cores the x86 run on the debug kernel takes about 80 minutes, the arm64
# one two.
#
# Environment: AXVCPU_FUZZ_SEEDS, AXVCPU_FUZZ_CALLS, AXVCPU_FUZZ_ARCHS
# (default "x86 arm64"), and what check-guest.sh takes.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

export AXVCPU_TESTS=fuzz_test
export AXVCPU_FUZZ_SEEDS=${AXVCPU_FUZZ_SEEDS:-$(seq -s, 1 16)}
export AXVCPU_FUZZ_CALLS=${AXVCPU_FUZZ_CALLS:-20000}
export AXVCPU_KVM_SELFTESTS=none
# No test limit to speak of; the guest's own limit still ends a hang.
export AXVCPU_TEST_TIMEOUT=${AXVCPU_TEST_TIMEOUT:-14400}
export AXVCPU_TIMEOUT=${AXVCPU_TIMEOUT:-15000}

seeds=$(echo "$AXVCPU_FUZZ_SEEDS" | tr , '\n' | grep -c .)
calls=$((seeds * (3 * AXVCPU_FUZZ_CALLS + AXVCPU_FUZZ_CALLS / 4)))
rc=0
for arch in ${AXVCPU_FUZZ_ARCHS:-x86 arm64}; do
	msg "$arch: $calls calls ($seeds seeds of $AXVCPU_FUZZ_CALLS calls per thread)"
	start=$(now)
	case $arch in
	x86)	"$AX_SCRIPTS/check-debug.sh" || rc=1 ;;
	arm64)	"$AX_SCRIPTS/check-arm64.sh" || rc=1 ;;
	*)	die "unknown architecture $arch" ;;
	esac
	msg "$arch: done in $(elapsed "$start") s"
done
exit $rc
