#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-linux-arm64.sh - stage Debian's arm64 QEMU and a Linux guest for the
# arm64 test guest.
#
# Usage: qemu-linux-arm64.sh OUTDIR IMAGE BUSYBOX
#
# The arm64 twin of scripts/qemu-linux.sh: fills OUTDIR (copied into the
# test guest's initramfs as /tests/qemu-linux by mkinitramfs.sh --dir)
# with what scripts/qemu-linux-test.sh needs to run Debian's own,
# unmodified qemu-system-aarch64 with -accel kvm:
#
#   bin/qemu-system-aarch64	from qemu-system-arm:arm64
#   lib/			its shared libraries and ld-linux-aarch64.so.1,
#				from Debian's arm64 packages
#   fw/				empty: a -kernel boot of "virt" loads none
#   vmlinuz			IMAGE, the kernel the nested guest boots
#   initrd.gz			its initramfs: BUSYBOX (static, arm64) and an
#				/init that prints AXVCPU-LINUX-UP and the
#				uptime, then powers off
#
# The arm64 packages are downloaded (never installed) into
# $AX_CACHE/qemu-arm64 and unpacked there; .version names QEMU's version.
# The libraries are found by their sonames: the ELF NEEDED entries of the
# arm64 binary and, in turn, of each library, read with
# aarch64-linux-gnu-readelf.  A soname is mapped to its package through the
# host's amd64 copy of the same library (dpkg -S): the host has them all,
# for its own qemu-system-arm (scripts/deps.sh), and Debian names a library
# package the same on every architecture.  The arm64 architecture is added
# to dpkg by scripts/arm64-headers.sh, which runs first.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || die "usage: ${0##*/} OUTDIR IMAGE BUSYBOX"
out=$1
image=$2
busybox=$3
readelf=aarch64-linux-gnu-readelf
command -v $readelf >/dev/null || die "no $readelf (gcc-aarch64-linux-gnu)"

ver=$(apt_version qemu-system-arm:arm64)
[ -n "$ver" ] || die "apt knows no qemu-system-arm:arm64"
cache=$AX_CACHE/qemu-arm64
sys=$cache/root
libdirs="$sys/lib/aarch64-linux-gnu $sys/usr/lib/aarch64-linux-gnu"

# download PKG...: fetch the arm64 packages and unpack them into $sys.
download()
{
	local deb

	rm -rf "$cache/debs"
	mkdir -p "$cache/debs"
	msg "downloading $*"
	(cd "$cache/debs" && apt-get download -qq "$@") 2>&1 |
		{ grep -v 'unsandboxed' || true; } >&2
	for deb in "$cache"/debs/*.deb; do
		[ -f "$deb" ] || die "cannot download $*"
		dpkg-deb -x "$deb" "$sys"
	done
	rm -rf "$cache/debs"
}

# find_lib SONAME: its path in $sys, if there.
find_lib()
{
	local d

	for d in $libdirs; do
		[ ! -e "$d/$1" ] || { echo "$d/$1"; return 0; }
	done
	return 1
}

# needed FILE...: the sonames they name.
needed()
{
	$readelf -d "$@" 2>/dev/null |
		sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p' | sort -u
}

if [ ! -f "$cache/.version" ] || [ "$(cat "$cache/.version")" != "$ver" ]
then
	rm -rf "$cache"
	mkdir -p "$sys"
	download qemu-system-arm:arm64 libc6:arm64
	files=$sys/usr/bin/qemu-system-aarch64
	[ -f "$files" ] || die "no qemu-system-aarch64 in qemu-system-arm:arm64"
	# The closure, a level at a time: what the files of the last level
	# need and $sys lacks, by package.
	while [ -n "$files" ]; do
		pkgs=
		missing=
		# shellcheck disable=SC2086 # one path per word
		for so in $(needed $files); do
			find_lib "$so" >/dev/null && continue
			pkg=$(dpkg -S "*/x86_64-linux-gnu/$so" 2>/dev/null |
				head -n 1 | cut -d: -f1)
			[ -n "$pkg" ] || die "no package known for $so" \
				"(is qemu-system-arm installed on the host?)"
			pkgs="$pkgs $pkg:arm64"
			missing="$missing $so"
		done
		[ -n "$pkgs" ] || break
		# shellcheck disable=SC2046,SC2086 # one package per word
		download $(echo $pkgs | tr ' ' '\n' | sort -u)
		files=
		for so in $missing; do
			lib=$(find_lib "$so") ||
				die "$so is not in its arm64 package"
			files="$files $lib"
		done
	done
	echo "$ver" >"$cache/.version"
fi

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/fw"
cp "$sys/usr/bin/qemu-system-aarch64" "$out/bin/"
# The binary's closure, which the test calls through the loader by name.
todo=$out/bin/qemu-system-aarch64
while [ -n "$todo" ]; do
	next=
	# shellcheck disable=SC2086 # one path per word
	for so in $(needed $todo); do
		[ ! -e "$out/lib/$so" ] || continue
		lib=$(find_lib "$so") || die "$so missing from $sys"
		cp -L "$lib" "$out/lib/$so"
		next="$next $out/lib/$so"
	done
	todo=$next
done
lib=$(find_lib ld-linux-aarch64.so.1) || die "no ld-linux-aarch64.so.1"
cp -L "$lib" "$out/lib/"
cp "$image" "$out/vmlinuz"

# The nested guest's initramfs: busybox, and an /init that says it is up.
nested_initrd "$busybox" "$out/initrd.gz"
msg "staged arm64 QEMU $ver ($(find "$out/lib" -type f | wc -l) libraries)" \
	"and a Linux guest in $out"
