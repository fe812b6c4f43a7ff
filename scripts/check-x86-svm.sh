#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-x86-svm.sh - the selftests on AMD SVM, in a QEMU guest.
#
# Builds axvcpu.ko against the headers of the Debian kernel that
# scripts/kernel.sh resolved, builds the selftests, packs both with KVM's
# modules into an initramfs, boots that kernel under QEMU (TCG, -cpu max:
# SVM with nested paging) and judges the serial log with
# scripts/tap-summary.sh.  The guest side is scripts/guest-init.sh.
#
# Everything it writes is under $AX_BUILD/x86-svm: module/ and
# selftests/ (the builds, with their .log), initrd.gz and serial.log (the
# guest's console).
#
# Environment:
#   AXVCPU_TESTS	the tests to run against /dev/axvcpu, separated by
#			spaces or commas (default: all but coexist_test)
#   AXVCPU_SELFTESTS	the selftests directory (default selftests/axvcpu)
#   AXVCPU_TIMEOUT	seconds the guest may run (default 600)
#   AXVCPU_TEST_TIMEOUT	seconds one test may run in it (default 300)
#   AXVCPU_VERBOSE=1	also show the whole serial log

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

label=x86-svm
out=$AX_BUILD/$label
selftests=${AXVCPU_SELFTESTS:-$AX_REPO/selftests/axvcpu}

mkdir -p "$out"
kernel_env

build_module "$KDIR" "$out/module" || setup_failed build-module
tests=$(build_selftests "$selftests" "$out/selftests" \
	"$out/selftests.log") ||
	setup_failed build-selftests
names=$(for t in $tests; do printf ' %s' "${t##*/}"; done)
msg "selftests:$names"

# KVM is loaded in the guest for the comparison and coexistence runs.
# shellcheck disable=SC2086 # one path per word
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --ko "$out/module/axvcpu.ko" \
	--kmods "$KMODS" --kmod kvm_amd -- $tests || setup_failed initramfs

args="axtest.mode=check axtest.kvm=kvm_amd"
args="$args axtest.timeout=${AXVCPU_TEST_TIMEOUT:-300}"
if [ -n "${AXVCPU_TESTS:-}" ]; then
	args="$args axtest.tests=$(echo "$AXVCPU_TESTS" | tr ' ' ,)"
fi

msg "booting $KREL under QEMU (log: $out/serial.log)"
start=$(now)
rc=0
# shellcheck disable=SC2086
"$AX_SCRIPTS/qemu-x86.sh" "$VMLINUZ" "$out/initrd.gz" "$out/serial.log" \
	$args || rc=$?
msg "guest ran for $(elapsed "$start") s, QEMU exit status $rc"
touch "$out/serial.log"	# QEMU that failed to start wrote none
[ "${AXVCPU_VERBOSE:-0}" != 1 ] || cat "$out/serial.log"

exec "$AX_SCRIPTS/tap-summary.sh" "$label" "$out/serial.log" "$rc"
