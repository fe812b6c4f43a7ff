#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh - install the Debian packages the build and the tests need.
#
# Run as root on Debian 12 (bookworm).  Only missing packages are installed,
# so a second run takes a fraction of a second.  The kernel headers are
# installed for the ABI that linux-image-amd64 and linux-headers-6.12-amd64
# point at right now, so the module is always built against the headers of
# the kernel that scripts/kernel.sh boots.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

# What each package is for:
#   gcc make libc6-dev		module build, static selftest binaries
#   perl			checkpatch.pl
#   sparse			make C=2
#   kmod			depmod/modprobe for the guest's module tree
#   linux-source-6.1		kselftest_harness.h and checkpatch.pl
#   patch			mending KVM's selftests (scripts/kvm-selftests.sh)
#   qemu-system-x86		the emulator (TCG with SVM)
#   bochs bochsbios vgabios	the emulator with VMX (scripts/bochs-x86.sh)
#   isolinux syslinux-common xorriso
#				its boot ISO (isolinux, mboot.c32)
#   busybox-static cpio gzip	the guest's initramfs
#   xz-utils zstd		compressed kernel modules, linux-source
#   gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross
#				the arm64 cross build (module, static tests)
#   qemu-system-arm		the arm64 emulator (EL2 with VHE)
#   bc bison flex libelf-dev libssl-dev
#				building the debug kernel (kconfig, objtool,
#				certs; scripts/debug-kernel.sh)
#   python3-sphinx graphviz	make htmldocs (the state machine's diagram)
#   rsync			kselftest's lib.mk: make install
#   gnuplot-nox		make bench: the chart of the figures
#   dkms dh-dkms debhelper dpkg-dev
#				make dkms-install, make deb (the axvcpu-dkms
#				package, dpkg-buildpackage)
PKGS="gcc make libc6-dev perl sparse kmod linux-source-6.1 patch
	qemu-system-x86 busybox-static cpio gzip xz-utils zstd
	bochs bochsbios vgabios isolinux syslinux-common xorriso
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross
	qemu-system-arm bc bison flex libelf-dev libssl-dev
	python3-sphinx graphviz rsync gnuplot-nox dkms dh-dkms debhelper
	dpkg-dev"

start=$(now)

# A fresh container has no package lists, and old lists name kernels the
# mirror has dropped.
apt_refresh

# shellcheck disable=SC2086
pkg_install $PKGS

# Headers of the kernel that is booted (6.1) and of the newer one the
# lint step also builds against (6.12).
krel_61=$(apt_depends linux-image-amd64 linux-image-)
krel_61=${krel_61#linux-image-}
hdr_612=$(apt_depends linux-headers-6.12-amd64 linux-headers-)
pkg_install "linux-headers-$krel_61" "$hdr_612"

msg "all packages present ($(elapsed "$start") s)"
