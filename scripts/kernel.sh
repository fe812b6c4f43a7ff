#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel.sh - resolve, fetch and unpack the Debian kernel the tests boot.
#
# Usage: eval "$(scripts/kernel.sh)"
#
# The Debian kernel ABI changes with security updates, so it is resolved
# from apt at every run (linux-image-amd64 -> linux-image-6.1.0-NN-amd64) and
# never written down.  The image package is downloaded with "apt-get
# download" and unpacked with "dpkg-deb -x" into the cache, not installed.
# From linux-source-6.1 only the few files the tree needs are unpacked:
# the kselftest harness and checkpatch.
#
# Prints shell assignments, one a line:
#
#   KREL	release of the booted kernel, e.g. 6.1.0-NN-amd64
#   KDIR	its headers, /usr/src/linux-headers-$KREL
#   VMLINUZ	its bzImage
#   KMODS	its module tree, .../lib/modules/$KREL, with modules.dep
#   KREL_612	release of the Debian 6.12 kernel
#   KDIR_612	its headers (the lint step builds against both)
#   KSRC	the files unpacked from linux-source-6.1 (checkpatch.pl...)
#   KSFT_INC	the directory of kselftest_harness.h and kselftest.h
#
# Messages go to stderr.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

# download PKG VER: fetch one package into $AX_CACHE/debs and print the
# path of the .deb, or nothing if that failed.
download()
{
	local debs=$AX_CACHE/debs

	mkdir -p "$debs"
	rm -f "$debs/${1}_"*.deb
	msg "downloading $1 $2"
	# Downloading as root into a root-owned directory makes apt warn
	# that it runs unsandboxed: harmless, so filtered out.
	(cd "$debs" && apt-get download -qq "$1=$2") 2>&1 |
		{ grep -v 'unsandboxed' || true; } >&2
	# shellcheck disable=SC2012 # a package file name has no odd characters
	ls "$debs/${1}_"*.deb 2>/dev/null | head -n 1
}

#
# The image: linux-image-$KREL, unpacked in $AX_CACHE/image/$KREL.  The
# directory's .version names the package version it came from, so a
# rebuilt package with the same ABI is fetched again.
#
fetch_image()
{
	local pkg=linux-image-$KREL dir=$AX_CACHE/image/$KREL ver deb old

	ver=$(apt_version "$pkg")
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		die "apt knows no version of $pkg"
	fi
	if [ -f "$dir/.version" ] && [ "$(cat "$dir/.version")" = "$ver" ]; then
		return 0
	fi

	deb=$(download "$pkg" "$ver")
	[ -n "$deb" ] || die "apt-get download $pkg=$ver failed"

	msg "unpacking $pkg"
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$dir"
	# Debian ships no modules.dep: depmod builds one for the whole tree,
	# from which the guest's module closure is taken.
	depmod -b "$dir" "$KREL"
	echo "$ver" >"$dir/.version"
	rm -f "$deb"

	# Older ABIs are of no further use: 400 MiB each.
	for old in "$AX_CACHE"/image/*; do
		[ "$old" = "$dir" ] || rm -rf "$old"
	done
}

#
# The few files the tree needs from linux-source-6.1, in
# $AX_CACHE/linux-source-6.1-<version>.  Unpacking them scans the whole
# 130 MiB tarball (~10 s), hence the cache; .done names what was
# unpacked, so a list that grew unpacks again.  kselftest's lib.mk and
# runner give selftests/axvcpu its run_tests and install targets.
#
KSRC_FILES="tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/lib.mk
	tools/testing/selftests/kselftest
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch"

fetch_source()
{
	local tarball=/usr/src/linux-source-6.1.tar.xz ver dir tmp f old members=

	[ -f "$tarball" ] || die "$tarball missing: run scripts/deps.sh"
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	dir=$AX_CACHE/linux-source-6.1-$ver
	KSRC=$dir
	[ "$(cat "$dir/.done" 2>/dev/null)" = "$KSRC_FILES" ] && return 0

	msg "unpacking kselftest harness and checkpatch from $tarball"
	# Beside, then in place: a build reading the old copy keeps its files.
	tmp=$AX_CACHE/.linux-source-tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	for f in $KSRC_FILES; do
		members="$members linux-source-6.1/$f"
	done
	# shellcheck disable=SC2086
	tar -xJf "$tarball" -C "$tmp" --strip-components=1 $members
	echo "$KSRC_FILES" >"$tmp/.done"
	rm -rf "$dir"
	mv "$tmp" "$dir"

	for old in "$AX_CACHE"/linux-source-6.1-*; do
		[ "$old" = "$dir" ] || rm -rf "$old"
	done
}

apt_refresh
KREL=$(apt_depends linux-image-amd64 linux-image-)
KREL=${KREL#linux-image-}
KDIR=/usr/src/linux-headers-$KREL
KREL_612=$(apt_depends linux-headers-6.12-amd64 linux-headers-)
KREL_612=${KREL_612#linux-headers-}
KDIR_612=/usr/src/linux-headers-$KREL_612

for d in "$KDIR" "$KDIR_612"; do
	[ -f "$d/Makefile" ] || die "$d missing: run scripts/deps.sh"
done

fetch_image
fetch_source

# shellcheck disable=SC2034 # printed below through ${!v}
VMLINUZ=$AX_CACHE/image/$KREL/boot/vmlinuz-$KREL
# shellcheck disable=SC2034
KMODS=$AX_CACHE/image/$KREL/lib/modules/$KREL
# shellcheck disable=SC2034
KSFT_INC=$KSRC/tools/testing/selftests

for v in KREL KDIR VMLINUZ KMODS KREL_612 KDIR_612 KSRC KSFT_INC; do
	printf "%s='%s'\n" "$v" "${!v}"
done
