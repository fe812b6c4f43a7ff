#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-arm64.sh - the selftests on arm64 at EL2 (VHE), in QEMU guests.
#
# Cross-builds axvcpu.ko against Debian's arm64 headers and the selftests
# with aarch64-linux-gnu-gcc, packs them with an arm64 busybox into an
# initramfs and boots Debian's arm64 kernel (scripts/arm64-kernel.sh)
# three times under QEMU (scripts/qemu-arm64.sh):
#
#   arm64-kvm	KVM (VHE) owns EL2 and is the reference: the tests of
#		KVM's ABI run against /dev/kvm, and axvcpu must refuse to
#		load
#   arm64-nvhe	kvm-arm.mode=nvhe: the kernel runs at EL1 under KVM's
#		EL2 code; the same tests, and the same refusal
#   arm64	kvm-arm.mode=none: the kernel keeps EL2 with KVM off;
#		axvcpu is loaded and the whole suite runs against it
#
# KVM's own selftests (scripts/kvm-selftests.sh, cross-built) run in the
# arm64-kvm boot against KVM and in the arm64 boot against axvcpu; the
# table of both follows the last boot.
#
# Each boot's serial log is judged by scripts/tap-summary.sh; the guest
# side is scripts/guest-init.sh.  Everything it writes is under
# $AX_BUILD/arm64.
#
# Environment: as check-x86-svm.sh (AXVCPU_TESTS, AXVCPU_SELFTESTS,
# AXVCPU_TIMEOUT, AXVCPU_TEST_TIMEOUT, AXVCPU_VERBOSE,
# AXVCPU_KVM_SELFTESTS (default all), AXVCPU_KST_TIMEOUT).

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

label=arm64
out=$AX_BUILD/$label
selftests=${AXVCPU_SELFTESTS:-$AX_REPO/selftests/axvcpu}

mkdir -p "$out"
kernel_env			# KSFT_INC
env=$("$AX_SCRIPTS/arm64-kernel.sh") || setup_failed arm64-kernel
eval "$env"

build_module "$KDIR_ARM64" "$out/module" ARCH=arm64 \
	CROSS_COMPILE=aarch64-linux-gnu- AXVCPU_TEST_HOOKS=y ||
	setup_failed build-module
tests=$(CROSS_COMPILE=aarch64-linux-gnu- build_selftests "$selftests" \
	"$out/selftests" "$out/selftests.log") ||
	setup_failed build-selftests
names=$(for t in $tests; do printf ' %s' "${t##*/}"; done)
msg "selftests:$names"

# axvm and its guests, for axvm_test.
CROSS_COMPILE=aarch64-linux-gnu- build_tools "$out/tools" ||
	setup_failed build-tools

args="axtest.mode=check axtest.timeout=${AXVCPU_TEST_TIMEOUT:-300}"

# KVM's own selftests, staged as $out/kvm-selftests (/tests/kvm-selftests).
kst=()
kst_tests=${AXVCPU_KVM_SELFTESTS:-all}
if [ "$kst_tests" != none ]; then
	"$AX_SCRIPTS/kvm-selftests.sh" build arm64 "$out/kvm-selftests" \
		>/dev/null || setup_failed build-kvm-selftests
	kst=(--dir "$out/kvm-selftests")
	[ "$kst_tests" = all ] ||
		args="$args axtest.kst=$(echo "$kst_tests" | tr ' ' ,)"
	args="$args axtest.kst_timeout=${AXVCPU_KST_TIMEOUT:-60}"
fi

# shellcheck disable=SC2086 # one path per word
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --busybox "$BUSYBOX_ARM64" \
	--ko "$out/module/axvcpu.ko" --dir "$out/tools/guests" "${kst[@]}" \
	-- $tests "$out/tools/axvm" || setup_failed initramfs

[ -z "${AXVCPU_FUZZ_SEEDS:-}" ] ||
	args="$args axtest.fuzz_seeds=$AXVCPU_FUZZ_SEEDS"
[ -z "${AXVCPU_FUZZ_CALLS:-}" ] ||
	args="$args axtest.fuzz_calls=$AXVCPU_FUZZ_CALLS"
if [ -n "${AXVCPU_TESTS:-}" ]; then
	args="$args axtest.tests=$(echo "$AXVCPU_TESTS" | tr ' ' ,)"
fi

status=0
# boot NAME ARGS...: one boot, judged as NAME.
boot()
{
	arm64_boot "$out" "$@" || status=1
}

# KVM's answers first, as on x86; then axvcpu with EL2 to itself.  KVM's
# selftests run against KVM once, in the VHE boot.
# shellcheck disable=SC2086
boot arm64-kvm $args axtest.kvm=builtin
# shellcheck disable=SC2086
boot arm64-nvhe $args axtest.kvm=builtin kvm-arm.mode=nvhe axtest.kst=none
# shellcheck disable=SC2086
boot arm64 $args kvm-arm.mode=none
[ ${#kst[@]} -eq 0 ] || "$AX_SCRIPTS/kvm-selftests.sh" table arm64 \
	"$out/arm64-kvm.log" "$out/arm64.log"
exit $status
