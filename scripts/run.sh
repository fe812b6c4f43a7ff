#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - the sample guests under tools/axvm on axvcpu (make run).
#
# Natively when this machine can: root, the running kernel's headers in
# /lib/modules/$(uname -r)/build, an x86 CPU with VMX or SVM, and no KVM
# module holding it.  Then the module is built for the running kernel and
# loaded, axvm runs the hello, smp and primes guests, and the module is
# unloaded.  Otherwise (the build machines cannot load modules) the same
# runs in the emulators, on both architectures: Debian's x86 kernel under
# QEMU with SVM, then Debian's arm64 kernel under QEMU at EL2 (VHE, KVM
# off); their consoles show on the terminal.
#
# Environment:
#   AXVCPU_RUN=native|emulator	force one way (default: decide as above)
#   AXVCPU_SHELL=1	a shell in the emulator after the guests (exit ends)
#   AXVCPU_TIMEOUT	seconds an emulator may run (default 600)
#
# Exits non-zero if a guest failed.  The consoles are also saved in
# $AX_BUILD/run/.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

out=$AX_BUILD/run
mkdir -p "$out"

# native_blocker: why the guests cannot run on this machine, or nothing.
native_blocker()
{
	local krel

	krel=$(uname -r)
	[ "$(id -u)" = 0 ] || { echo "not root"; return; }
	[ -e "/lib/modules/$krel/build/Makefile" ] ||
		{ echo "no headers for the running kernel $krel"; return; }
	[ "$(uname -m)" = x86_64 ] ||
		{ echo "natively only on x86 (AXVCPU_RUN=native to try)"; return; }
	grep -qwE 'vmx|svm' /proc/cpuinfo ||
		{ echo "the CPU shows no VMX or SVM"; return; }
	if grep -qE '^kvm_(intel|amd) ' /proc/modules; then
		echo "KVM holds the CPU's virtualization (rmmod kvm_intel or kvm_amd to free it)"
	fi
}

run_native()
{
	local krel rc=0 g

	krel=$(uname -r)
	build_module "/lib/modules/$krel/build" "$out/native-module" ||
		die "module build failed"
	build_tools "$out/native-tools" || die "tools build failed"
	insmod "$out/native-module/axvcpu.ko" ||
		die "insmod failed: see dmesg (a kernel that needs signed modules refuses it)"
	# shellcheck disable=SC2064 # expand now
	trap "rmmod axvcpu" EXIT
	g=$out/native-tools/guests/x86
	for args in "$g/hello.elf" "--cpus 4 --stats $g/smp.elf" \
		    "$g/primes.elf"; do
		echo "=== axvm $args"
		# shellcheck disable=SC2086 # options and a path
		"$out/native-tools/axvm" $args || rc=$?
	done
	return $rc
}

run_x86_emulated()
{
	local dir=$out/x86 log

	mkdir -p "$dir"
	build_module "$KDIR" "$dir/module" || die "module build failed"
	build_tools "$dir/tools" || die "tools build failed"
	# Then Debian's QEMU boots Linux on axvcpu, and on KVM for the time.
	"$AX_SCRIPTS/qemu-linux.sh" "$dir/qemu-linux" "$VMLINUZ" ||
		die "cannot stage QEMU"
	cp "$AX_SCRIPTS/qemu-linux-test.sh" "$dir/qemu_linux_test"
	"$AX_SCRIPTS/mkinitramfs.sh" "$dir/initrd.gz" \
		--ko "$dir/module/axvcpu.ko" --dir "$dir/tools/guests" \
		--kmods "$KMODS" --kmod kvm_amd --dir "$dir/qemu-linux" \
		-- "$dir/tools/axvm" "$dir/qemu_linux_test"
	# shellcheck disable=SC2153 # set by kernel_env
	msg "x86: booting $KREL under QEMU with SVM (Ctrl-a x quits)"
	log=$dir/serial.log
	# shellcheck disable=SC2086 # kernel arguments, one a word
	AXVCPU_INTERACTIVE=1 AXVCPU_MEM=${AXVCPU_MEM:-1024} \
		"$AX_SCRIPTS/qemu-x86.sh" "$VMLINUZ" "$dir/initrd.gz" "$log" \
		$args axtest.kvm=kvm_amd </dev/null || true
	grep -q "the guests ran; axvm exit status 0" "$log" &&
		grep -q "Linux booted on /dev/axvcpu" "$log"
}

run_arm64_emulated()
{
	local dir=$out/arm64 log env

	mkdir -p "$dir"
	env=$("$AX_SCRIPTS/arm64-kernel.sh") || die "no arm64 kernel"
	eval "$env"
	build_module "$KDIR_ARM64" "$dir/module" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- || die "module build failed"
	CROSS_COMPILE=aarch64-linux-gnu- build_tools "$dir/tools" ||
		die "tools build failed"
	# Then Debian's arm64 QEMU boots Linux on axvcpu, as on x86.
	"$AX_SCRIPTS/qemu-linux-arm64.sh" "$dir/qemu-linux" "$VMLINUZ_ARM64" \
		"$BUSYBOX_ARM64" || die "cannot stage QEMU"
	cp "$AX_SCRIPTS/qemu-linux-test.sh" "$dir/qemu_linux_test"
	"$AX_SCRIPTS/mkinitramfs.sh" "$dir/initrd.gz" \
		--busybox "$BUSYBOX_ARM64" --ko "$dir/module/axvcpu.ko" \
		--dir "$dir/tools/guests" --dir "$dir/qemu-linux" \
		-- "$dir/tools/axvm" "$dir/qemu_linux_test"
	msg "arm64: booting $KREL_ARM64 under QEMU at EL2 (Ctrl-a x quits)"
	log=$dir/serial.log
	# shellcheck disable=SC2086 # kernel arguments, one a word
	AXVCPU_INTERACTIVE=1 "$AX_SCRIPTS/qemu-arm64.sh" "$VMLINUZ_ARM64" \
		"$dir/initrd.gz" "$log" $args kvm-arm.mode=none </dev/null ||
		true
	grep -q "the guests ran; axvm exit status 0" "$log" &&
		grep -q "Linux booted on /dev/axvcpu" "$log"
}

how=${AXVCPU_RUN:-}
if [ -z "$how" ]; then
	blocker=$(native_blocker)
	if [ -z "$blocker" ]; then
		how=native
	else
		msg "running in the emulator: $blocker"
		how=emulator
	fi
fi

case $how in
native)
	run_native
	;;
emulator)
	kernel_env
	args=axtest.mode=run
	[ "${AXVCPU_SHELL:-0}" != 1 ] || args="$args axtest.shell=1"
	status=0
	run_x86_emulated || {
		status=1
		msg "x86: a guest failed (console: $out/x86/serial.log)"
	}
	run_arm64_emulated || {
		status=1
		msg "arm64: a guest failed (console: $out/arm64/serial.log)"
	}
	exit $status
	;;
*)
	die "AXVCPU_RUN=$how: native or emulator"
	;;
esac
