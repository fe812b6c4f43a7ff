#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-guest.sh - the selftests in an emulated guest, for one backend.
#
# Usage: check-guest.sh LABEL EMULATOR KVM_MODULE [KERNEL ARGS...]
#
# KVM_MODULE "none": no KVM in the initramfs (and no axtest.kvm= to pass).
#
# Builds axvcpu.ko against the headers of the Debian kernel that
# scripts/kernel.sh resolved, builds the selftests, packs both with
# KVM_MODULE and its dependencies into an initramfs, boots that kernel
# with EMULATOR (scripts/qemu-x86.sh, scripts/bochs-x86.sh: "EMULATOR
# VMLINUZ INITRD LOG ARGS...") and judges the serial log with
# scripts/tap-summary.sh under LABEL.  The guest side is
# scripts/guest-init.sh; KERNEL ARGS go to it.
#
# Everything it writes is under $AX_BUILD/LABEL: module/ and selftests/
# (the builds, with their .log), initrd.gz and serial.log (the guest's
# console).
#
# Environment:
#   AXVCPU_MODULE	an axvcpu.ko to test instead of building one (the
#			DKMS-built module of scripts/dkms.sh check)
#   AXVCPU_TESTS	the tests to run against /dev/axvcpu, separated by
#			spaces or commas (default: all but coexist_test)
#   AXVCPU_SELFTESTS	the selftests directory (default selftests/axvcpu)
#   AXVCPU_TIMEOUT	seconds the guest may run (default 600)
#   AXVCPU_TEST_TIMEOUT	seconds one test may run in it (default 300)
#   AXVCPU_VERBOSE=1	also show the whole serial log
#   AXVCPU_FUZZ_SEEDS, AXVCPU_FUZZ_CALLS	fuzz_test's seeds and calls
#   AXVCPU_KVM_SELFTESTS	which of KVM's own selftests (scripts/kvm-selftests.sh)
#			run, against KVM and against axvcpu: "all", "none"
#			(the default here; check-x86-svm.sh says "all"), or
#			their names (x86_64/cpuid_test,demand_paging_test)
#   AXVCPU_KST_TIMEOUT	seconds one of them may run (default 60)
#   AXVCPU_QEMU_LINUX=0	no qemu_linux_test (Debian's QEMU booting Linux on
#			the device, scripts/qemu-linux.sh)
#   AXVCPU_KERNEL=debug	boot the debug kernel of scripts/debug-kernel.sh
#			(KASAN, lockdep, kmemleak, UBSAN, ...) instead, with
#			no KVM runs, fuzzer seeds 1-8, 2 GiB, and a kmemleak
#			scan after rmmod that must find nothing new

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: ${0##*/} LABEL EMULATOR KVM_MODULE [ARGS...]"
label=$1
emulator=$2
kvm=$3
shift 3
out=$AX_BUILD/$label
selftests=${AXVCPU_SELFTESTS:-$AX_REPO/selftests/axvcpu}

mkdir -p "$out"
kernel_env
kmods=(--kmods "$KMODS" --kmod "$kvm")
[ "$kvm" != none ] || kmods=()
args="axtest.mode=check axtest.timeout=${AXVCPU_TEST_TIMEOUT:-300}"
linux_image=$VMLINUZ	# what QEMU boots in qemu_linux_test
if [ "${AXVCPU_KERNEL:-}" = debug ]; then
	denv=$("$AX_SCRIPTS/debug-kernel.sh") || setup_failed debug-kernel
	eval "$denv"
	# shellcheck disable=SC2153 # DKDIR, DVMLINUZ, DKREL: set by the eval
	{ KDIR=$DKDIR; VMLINUZ=$DVMLINUZ; KREL=$DKREL; }
	# No KVM: the run is about axvcpu under the checkers.
	kmods=()
	args="$args axtest.kmemleak=1"
	: "${AXVCPU_FUZZ_SEEDS:=1,2,3,4,5,6,7,8}"
	AXVCPU_KVM_SELFTESTS=none
	# KASAN's shadow and kmemleak's pool want more than 512 MiB.
	export AXVCPU_MEM=${AXVCPU_MEM:-2048}
fi

if [ -n "${AXVCPU_MODULE:-}" ]; then
	mkdir -p "$out/module"
	cp "$AXVCPU_MODULE" "$out/module/axvcpu.ko" ||
		setup_failed copy-module
else
	build_module "$KDIR" "$out/module" AXVCPU_TEST_HOOKS=y ||
		setup_failed build-module
fi
tests=$(build_selftests "$selftests" "$out/selftests" \
	"$out/selftests.log") ||
	setup_failed build-selftests
names=$(for t in $tests; do printf ' %s' "${t##*/}"; done)
msg "selftests:$names"
# axvm and its guests, for axvm_test.
build_tools "$out/tools" || setup_failed build-tools

# Debian's QEMU and a Linux guest for qemu_linux_test (/tests/qemu-linux).
ql=()
qlt=()
if [ "${AXVCPU_QEMU_LINUX:-1}" = 1 ]; then
	"$AX_SCRIPTS/qemu-linux.sh" "$out/qemu-linux" "$linux_image" ||
		setup_failed stage-qemu-linux
	cp "$AX_SCRIPTS/qemu-linux-test.sh" "$out/qemu_linux_test"
	ql=(--dir "$out/qemu-linux")
	qlt=("$out/qemu_linux_test")
fi

# KVM's own selftests, staged as $out/kvm-selftests (/tests/kvm-selftests).
kst=()
kst_tests=${AXVCPU_KVM_SELFTESTS:-none}
if [ "$kst_tests" != none ]; then
	"$AX_SCRIPTS/kvm-selftests.sh" build x86_64 "$out/kvm-selftests" \
		>/dev/null || setup_failed build-kvm-selftests
	kst=(--dir "$out/kvm-selftests")
	[ "$kst_tests" = all ] ||
		args="$args axtest.kst=$(echo "$kst_tests" | tr ' ' ,)"
	args="$args axtest.kst_timeout=${AXVCPU_KST_TIMEOUT:-60}"
fi

# KVM is loaded in the guest for the comparison and coexistence runs.
# shellcheck disable=SC2086 # one path per word
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --ko "$out/module/axvcpu.ko" \
	"${kmods[@]}" --dir "$out/tools/guests" "${kst[@]}" "${ql[@]}" -- \
	$tests "$out/tools/axvm" "${qlt[@]}" || setup_failed initramfs

[ -z "${AXVCPU_FUZZ_SEEDS:-}" ] ||
	args="$args axtest.fuzz_seeds=$AXVCPU_FUZZ_SEEDS"
[ -z "${AXVCPU_FUZZ_CALLS:-}" ] ||
	args="$args axtest.fuzz_calls=$AXVCPU_FUZZ_CALLS"
if [ -n "${AXVCPU_TESTS:-}" ]; then
	args="$args axtest.tests=$(echo "$AXVCPU_TESTS" | tr ' ' ,)"
fi

msg "booting $KREL with ${emulator##*/} (log: $out/serial.log)"
start=$(now)
rc=0
# shellcheck disable=SC2086
"$emulator" "$VMLINUZ" "$out/initrd.gz" "$out/serial.log" $args "$@" ||
	rc=$?
msg "guest ran for $(elapsed "$start") s, emulator exit status $rc"
touch "$out/serial.log"	# an emulator that failed to start wrote none
[ "${AXVCPU_VERBOSE:-0}" != 1 ] || cat "$out/serial.log"
[ ${#kst[@]} -eq 0 ] ||
	"$AX_SCRIPTS/kvm-selftests.sh" table "$label" "$out/serial.log"

exec "$AX_SCRIPTS/tap-summary.sh" "$label" "$out/serial.log" "$rc"
