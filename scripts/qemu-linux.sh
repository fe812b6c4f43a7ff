#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-linux.sh - stage Debian's QEMU and a Linux guest for the test guest.
#
# Usage: qemu-linux.sh OUTDIR VMLINUZ
#
# Fills OUTDIR (copied into the test guest's initramfs as /tests/qemu-linux
# by mkinitramfs.sh --dir) with what the test guest needs to run Debian's
# own, unmodified qemu-system-x86_64 with -accel kvm against /dev/axvcpu
# and against KVM (scripts/qemu-linux-test.sh is the test that does it):
#
#   bin/qemu-system-x86_64	the Debian package's binary
#   lib/			its shared libraries and their loader (ldd)
#   fw/				the firmware QEMU loads (-L): SeaBIOS,
#				linuxboot_dma.bin, kvmvapic.bin
#   vmlinuz			VMLINUZ, the kernel the nested guest boots
#   initrd.gz			its busybox initramfs: /init prints
#				AXVCPU-LINUX-UP and the uptime, then powers off
#
# The host's QEMU is the emulator of make check itself (scripts/deps.sh
# installs qemu-system-x86), so nothing more is downloaded.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: ${0##*/} OUTDIR VMLINUZ"
out=$1
vmlinuz=$2
qemu=$(command -v qemu-system-x86_64) || die "no qemu-system-x86_64"

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/fw"
cp "$qemu" "$out/bin/"
# Every library ldd resolves, and the loader, which the test calls by name:
# the test guest has no /lib64 of its own.
ldd "$qemu" | awk '/=> \// { print $3 } /^\t\// { print $1 }' |
while read -r lib; do
	cp -L "$lib" "$out/lib/"
done
[ -e "$out/lib/ld-linux-x86-64.so.2" ] || die "ldd named no loader"
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
	 /usr/share/qemu/kvmvapic.bin; do
	cp -L "$f" "$out/fw/" || die "no $f: is qemu-system-x86 installed?"
done
cp "$vmlinuz" "$out/vmlinuz"

# The nested guest's initramfs: busybox, and an /init that says it is up.
nested_initrd /bin/busybox "$out/initrd.gz"
msg "staged QEMU $("$qemu" --version | head -n 1 | awk '{ print $4 }')" \
	"and a Linux guest in $out"
