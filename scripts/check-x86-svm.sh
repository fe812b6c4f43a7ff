#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-x86-svm.sh - the selftests on AMD SVM, in a QEMU guest.
#
# Usage: check-x86-svm.sh [debug]
#
# With "debug" (make check-debug) the guest kernel is the debug kernel of
# scripts/debug-kernel.sh (KASAN, lockdep, kmemleak, UBSAN, ...), without
# KVM's runs, with more fuzzer seeds, and after the module is unloaded a
# kmemleak scan must find nothing new.
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
#   AXVCPU_FUZZ_SEEDS, AXVCPU_FUZZ_CALLS	fuzz_test's seeds and calls

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-}
case $flavour in
"")	label=x86-svm ;;
debug)	label=x86-svm-debug ;;
*)	die "usage: ${0##*/} [debug]" ;;
esac
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
if [ "$flavour" = debug ]; then
	denv=$("$AX_SCRIPTS/debug-kernel.sh") || setup_failed debug-kernel
	eval "$denv"
	# shellcheck disable=SC2153 # set by the eval above
	KDIR=$DKDIR
	VMLINUZ=$DVMLINUZ
	KREL=$DKREL
fi

build_module "$KDIR" "$out/module" || setup_failed build-module
tests=$(build_selftests "$selftests" "$out/selftests" \
	"$out/selftests.log") ||
	setup_failed build-selftests
names=$(for t in $tests; do printf ' %s' "${t##*/}"; done)
msg "selftests:$names"
# axvm and its guests, for axvm_test.
build_tools "$out/tools" || setup_failed build-tools

args="axtest.mode=check axtest.timeout=${AXVCPU_TEST_TIMEOUT:-300}"
if [ "$flavour" = debug ]; then
	# No KVM: the run is about axvcpu under the checkers.
	# shellcheck disable=SC2086 # one path per word
	"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" \
		--ko "$out/module/axvcpu.ko" --dir "$out/tools/guests" -- \
		$tests "$out/tools/axvm" || setup_failed initramfs
	args="$args axtest.kmemleak=1"
	: "${AXVCPU_FUZZ_SEEDS:=1,2,3,4,5,6,7,8}"
	# KASAN's shadow and kmemleak's pool want more than 512 MiB.
	export AXVCPU_MEM=${AXVCPU_MEM:-2048}
else
	# KVM is loaded in the guest for the comparison and coexistence runs.
	# shellcheck disable=SC2086 # one path per word
	"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" \
		--ko "$out/module/axvcpu.ko" --kmods "$KMODS" --kmod kvm_amd \
		--dir "$out/tools/guests" -- $tests "$out/tools/axvm" ||
		setup_failed initramfs
	args="$args axtest.kvm=kvm_amd"
fi
[ -z "${AXVCPU_FUZZ_SEEDS:-}" ] ||
	args="$args axtest.fuzz_seeds=$AXVCPU_FUZZ_SEEDS"
[ -z "${AXVCPU_FUZZ_CALLS:-}" ] ||
	args="$args axtest.fuzz_calls=$AXVCPU_FUZZ_CALLS"
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
