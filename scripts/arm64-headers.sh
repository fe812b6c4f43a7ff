#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# arm64-headers.sh - Debian's arm64 kernel headers, usable for a cross
# build of the module on amd64.  Prints the headers' directory.
#
# The headers are downloaded (never installed) for the ABI that
# linux-headers-arm64 points at now, into the cache, and fixed in two
# ways: their scripts/ is a link into linux-kbuild-<version>, which must be
# the host's (amd64) copy of the same version, and their Makefile includes
# the common headers by an absolute path, which must name our copy.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	rm -f "$AX_CACHE/apt-update.stamp"
fi
apt_refresh >&2
pkg_install gcc-aarch64-linux-gnu >&2

hdr=$(apt_depends linux-headers-arm64:arm64 linux-headers-)
abi=${hdr#linux-headers-}
abi=${abi%%:*}
abi=${abi%-arm64}
root=$AX_CACHE/arm64-headers/$abi
kdir=$root/usr/src/linux-headers-$abi-arm64

if [ ! -f "$root/.done" ]; then
	rm -rf "$root"
	mkdir -p "$root/debs"
	(cd "$root/debs" && apt-get download -qq \
		"linux-headers-$abi-arm64:arm64" \
		"linux-headers-$abi-common") >&2 2>/dev/null ||
		die "cannot download the arm64 headers of $abi"
	for deb in "$root"/debs/*.deb; do
		dpkg-deb -x "$deb" "$root"
	done
	rm -rf "$root/debs"

	kbuild=$(readlink "$kdir/scripts")	# ../../lib/linux-kbuild-X/scripts
	kbuild=${kbuild%/scripts}
	kbuild=${kbuild##*/}
	[ -d "/usr/lib/$kbuild" ] || die "the host has no /usr/lib/$kbuild"
	rm -rf "$root/usr/lib/$kbuild"
	mkdir -p "$root/usr/lib"
	ln -s "/usr/lib/$kbuild" "$root/usr/lib/$kbuild"
	sed -i "s#^include /usr/src/#include $root/usr/src/#" "$kdir/Makefile"
	touch "$root/.done"
fi
echo "$kdir"
