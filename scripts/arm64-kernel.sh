#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# arm64-kernel.sh - the Debian arm64 kernel the arm64 tests boot, its
# headers and a static arm64 busybox.
#
# Usage: eval "$(scripts/arm64-kernel.sh)"
#
# The ABI is the one linux-headers-arm64 points at now (the headers come
# from scripts/arm64-headers.sh).  The image package of the same ABI and
# busybox-static:arm64 are downloaded (never installed) and unpacked into
# $AX_CACHE/arm64-image/<abi>; a directory's .version names the package
# versions it came from.  KVM is built into Debian's arm64 kernel: no
# module tree is needed.
#
# Prints shell assignments, one a line:
#
#   KREL_ARM64		release, e.g. 6.1.0-NN-arm64
#   KDIR_ARM64		its headers, fixed for a cross build on amd64
#   VMLINUZ_ARM64	its Image
#   BUSYBOX_ARM64	a static arm64 busybox
#
# Messages go to stderr.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

KDIR_ARM64=$("$AX_SCRIPTS/arm64-headers.sh")
KREL_ARM64=${KDIR_ARM64##*/linux-headers-}
img=linux-image-$KREL_ARM64:arm64
bb=busybox-static:arm64
dir=$AX_CACHE/arm64-image/$KREL_ARM64
want="$(apt_version "$img") $(apt_version "$bb")"

if [ ! -f "$dir/.version" ] || [ "$(cat "$dir/.version")" != "$want" ]; then
	rm -rf "$dir"
	mkdir -p "$dir/debs"
	msg "downloading $img and $bb"
	# Root downloading into a root-owned directory: apt's warning that
	# it runs unsandboxed is harmless.
	(cd "$dir/debs" && apt-get download -qq "$img" "$bb") 2>&1 |
		{ grep -v 'unsandboxed' || true; } >&2
	for deb in "$dir"/debs/*.deb; do
		[ -f "$deb" ] || die "cannot download $img and $bb"
		dpkg-deb -x "$deb" "$dir"
	done
	rm -rf "$dir/debs" "$dir/lib/modules"
	echo "$want" >"$dir/.version"
	for old in "$AX_CACHE"/arm64-image/*; do
		[ "$old" = "$dir" ] || rm -rf "$old"
	done
fi

# shellcheck disable=SC2034 # printed below through ${!v}
VMLINUZ_ARM64=$dir/boot/vmlinuz-$KREL_ARM64
# shellcheck disable=SC2034
BUSYBOX_ARM64=$dir/bin/busybox
for v in VMLINUZ_ARM64 BUSYBOX_ARM64; do
	[ -f "${!v}" ] || die "no ${!v}"
done
for v in KREL_ARM64 KDIR_ARM64 VMLINUZ_ARM64 BUSYBOX_ARM64; do
	printf "%s='%s'\n" "$v" "${!v}"
done
