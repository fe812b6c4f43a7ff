#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh - build the test guest's initramfs.
#
# Usage: mkinitramfs.sh OUT.gz [options] [--] [TEST...]
#
#   --busybox FILE	static busybox for the guest (default /bin/busybox)
#   --init FILE		the guest's /init (default scripts/guest-init.sh)
#   --ko FILE		the module, installed as /lib/modules/axvcpu.ko
#   --kmods DIR		the booted kernel's module tree, .../lib/modules/<rel>
#   --kmod NAME		a module of that tree to include with its
#			dependencies (repeatable), e.g. kvm_amd
#   --dir DIR		a directory copied whole into /tests (repeatable),
#			e.g. the sample guests
#   TEST...		static programs, installed in /tests
#
# The staging tree is OUT.gz with ".d" instead of ".gz", rebuilt each time.
# The kernel's modules are copied with their dependency closure, as plain
# .ko files (a compressed module is unpacked here, so the guest needs no
# decompressor), and depmod writes the modules.dep that the guest's
# busybox modprobe reads.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || die "usage: ${0##*/} OUT.gz [options] [--] [TEST...]"
out=$1
shift
busybox=/bin/busybox
init=$AX_SCRIPTS/guest-init.sh
ko=
kmods=
kmod_names=
dirs=

while [ $# -gt 0 ]; do
	case $1 in
	--busybox)	busybox=$2; shift 2 ;;
	--init)		init=$2; shift 2 ;;
	--ko)		ko=$2; shift 2 ;;
	--kmods)	kmods=$2; shift 2 ;;
	--kmod)		kmod_names="$kmod_names $2"; shift 2 ;;
	--dir)		dirs="$dirs $2"; shift 2 ;;
	--)		shift; break ;;
	-*)		die "unknown option $1" ;;
	*)		break ;;
	esac
done

root=${out%.gz}.d
rm -rf "$root"
mkdir -p "$root"/bin "$root"/sbin "$root"/proc "$root"/sys "$root"/dev \
	"$root"/tmp "$root"/lib/modules "$root"/tests

cp "$busybox" "$root/bin/busybox"
cp "$init" "$root/init"
chmod 755 "$root/init"
[ -z "$ko" ] || cp "$ko" "$root/lib/modules/axvcpu.ko"
for t in "$@"; do
	cp "$t" "$root/tests/"
done
for d in $dirs; do
	cp -r "$d" "$root/tests/"
done

# install_kmod NAME: NAME and everything it depends on, in the tree's own
# layout, from the module tree's modules.dep (scripts/kernel.sh made it).
install_kmod()
{
	local base=${kmods%/lib/modules/*} rel=${kmods##*/} line path dst

	modprobe -d "$base" -S "$rel" --show-depends "$1" |
	while read -r line; do
		case $line in
		insmod\ *) ;;
		builtin\ *) continue ;;
		*) die "modprobe --show-depends $1: $line" ;;
		esac
		path=${line#insmod }
		path=${path%% *}
		dst=$root/lib/modules/$rel/${path#"$kmods"/}
		mkdir -p "${dst%/*}"
		case $path in
		*.ko.xz)  xz -dc "$path" >"${dst%.xz}" ;;
		*.ko.zst) zstd -qdc "$path" >"${dst%.zst}" ;;
		*.ko.gz)  gzip -dc "$path" >"${dst%.gz}" ;;
		*)	  cp "$path" "$dst" ;;
		esac
	done
}

if [ -n "$kmod_names" ]; then
	[ -d "$kmods" ] || die "no module tree at '$kmods'"
	for m in $kmod_names; do
		install_kmod "$m"
	done
	# The built-in modules, for modprobe to know them.
	cp "$kmods"/modules.builtin* "$kmods/modules.order" \
		"$root/lib/modules/${kmods##*/}/"
	depmod -b "$root" "${kmods##*/}"
fi

# Owned by root whoever builds it; gzip -1: the kernel unpacks it faster
# than the image would shrink.
(cd "$root" && find . -print0 |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out"
