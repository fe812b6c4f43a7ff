#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms.sh - axvcpu for DKMS: installed from the tree, packaged, checked.
#
# Usage: dkms.sh version		the version (debian/changelog's upstream)
#        dkms.sh stage DIR		the module's sources, as DKMS builds
#					them, into DIR (debian/rules uses it)
#        dkms.sh install [KREL]	(root; make dkms-install) the sources in
#					/usr/src/axvcpu-<version>, the udev
#					rule, the modprobe options file, the
#					uapi header and the group axvcpu; then
#					dkms add, build and install, for KREL
#					(default: the running kernel)
#        dkms.sh remove		(root; make dkms-remove) all of it again
#        dkms.sh deb [OUT]		(make deb) the axvcpu-dkms package,
#					with dpkg-buildpackage, into OUT
#					(default $AX_BUILD/deb); prints its path
#        dkms.sh check			(make check-dkms) the package built,
#					its files checked, its module built by
#					DKMS for the test kernel in a root of
#					its own, then loaded in the x86 SVM
#					guest for the quick tests
#
# One set of files serves both ways of installing: dkms.conf, and
# debian/axvcpu-dkms.axvcpu.udev and .modprobe.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

UDEV_RULE=65-axvcpu.rules

version()
{
	local v

	v=$(dpkg-parsechangelog -l "$AX_REPO/debian/changelog" -S Version) ||
		die "cannot read debian/changelog"
	echo "${v%-*}"
}

# stage DIR: the sources DKMS builds (Kbuild, the C files, arch/, uapi/).
stage()
{
	copy_module_tree "$1"
	# The tree's Makefile drives its tests; DKMS calls kbuild itself.
	rm -f "$1/Makefile"
}

# dkms_conf VERSION DEST: dkms.conf with the version in place.
dkms_conf()
{
	sed "s/#MODULE_VERSION#/$1/" "$AX_REPO/dkms.conf" >"$2"
}

install_tree()
{
	local ver krel=${1:-$(uname -r)} src

	[ "$(id -u)" -eq 0 ] || die "dkms-install needs root"
	command -v dkms >/dev/null || die "no dkms: run scripts/deps.sh"
	ver=$(version)
	src=/usr/src/axvcpu-$ver
	dkms remove "axvcpu/$ver" --all >/dev/null 2>&1 || true
	rm -rf "$src"
	stage "$src"
	dkms_conf "$ver" "$src/dkms.conf"
	install -D -m 0644 "$AX_REPO/debian/axvcpu-dkms.axvcpu.udev" \
		"/etc/udev/rules.d/$UDEV_RULE"
	install -D -m 0644 "$AX_REPO/debian/axvcpu-dkms.axvcpu.modprobe" \
		/etc/modprobe.d/axvcpu.conf
	install -D -m 0644 "$AX_REPO/uapi/linux/axvcpu.h" \
		/usr/local/include/linux/axvcpu.h
	getent group axvcpu >/dev/null || groupadd --system axvcpu
	dkms add "axvcpu/$ver"
	dkms build "axvcpu/$ver" -k "$krel"
	dkms install "axvcpu/$ver" -k "$krel"
	msg "axvcpu $ver installed for $krel: modprobe axvcpu"
}

remove_tree()
{
	local ver

	[ "$(id -u)" -eq 0 ] || die "dkms-remove needs root"
	ver=$(version)
	dkms remove "axvcpu/$ver" --all || true
	rm -rf "/usr/src/axvcpu-$ver" "/etc/udev/rules.d/$UDEV_RULE" \
		/etc/modprobe.d/axvcpu.conf /usr/local/include/linux/axvcpu.h
	msg "axvcpu $ver removed (the group axvcpu stays)"
}

# deb OUT: the package, built from a copy of the tree's tracked files.
deb()
{
	local out=${1:-$AX_BUILD/deb} ver src start

	start=$(now)
	ver=$(version)
	src=$out/axvcpu-$ver
	rm -rf "$out"
	mkdir -p "$src"
	if git -C "$AX_REPO" rev-parse --git-dir >/dev/null 2>&1; then
		# What git tracks, as it is in the work tree.
		(cd "$AX_REPO" && git ls-files -z --cached --others \
			--exclude-standard | grep -zv '^build/' |
			cpio -0pdm --quiet "$src")
	else
		(cd "$AX_REPO" && find . -path ./build -prune -o -type f \
			-print0 | cpio -0pdm --quiet "$src")
	fi
	if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
		tail -n 30 "$out/build.log" >&2
		die "dpkg-buildpackage failed (log: $out/build.log)"
	fi
	msg "built axvcpu-dkms $ver ($(elapsed "$start") s)"
	ls "$out"/axvcpu-dkms_"$ver"-*_all.deb
}

# expect_file ROOT PATH [PATTERN]: the package holds PATH (matching PATTERN).
expect_file()
{
	[ -f "$1/$2" ] || { echo "not in the package: /$2"; return 1; }
	[ -z "${3:-}" ] || grep -q "$3" "$1/$2" ||
		{ echo "/$2 lacks '$3'"; return 1; }
	echo "/$2"
}

# check_package DEB ROOT VERSION: what the package holds, unpacked in ROOT.
check_package()
{
	local deb=$1 root=$2 ver=$3

	dpkg-deb -x "$deb" "$root"
	dpkg-deb -e "$deb" "$root/DEBIAN"
	expect_file "$root" "usr/src/axvcpu-$ver/dkms.conf" \
		"PACKAGE_VERSION=\"$ver\"" &&
	expect_file "$root" "usr/src/axvcpu-$ver/Kbuild" &&
	expect_file "$root" "usr/src/axvcpu-$ver/vcpu_state.c" &&
	expect_file "$root" "lib/udev/rules.d/$UDEV_RULE" \
		'GROUP="axvcpu", MODE="0660"' &&
	expect_file "$root" etc/modprobe.d/axvcpu.conf 'options axvcpu' &&
	expect_file "$root" usr/include/linux/axvcpu.h AXVCPU_CREATE_VCPU &&
	expect_file "$root" DEBIAN/postinst 'addgroup --system axvcpu' &&
	expect_file "$root" DEBIAN/postinst dkms
}

# dkms_build ROOT VERSION OUT: DKMS builds the package's sources in ROOT
# for the test kernel ($KREL, headers $KDIR), in ROOT's own source and
# DKMS trees; the module it built is copied to OUT.  No "dkms install":
# that would run depmod on the machine's own /lib/modules.
dkms_build()
{
	local root=$1 ver=$2 out=$3 args ko

	args=(--sourcetree "$root/usr/src" --dkmstree "$root/var/lib/dkms"
	      -k "$KREL" --kernelsourcedir "$KDIR")
	mkdir -p "$root/var/lib/dkms"
	dkms add "axvcpu/$ver" "${args[@]}" &&
	dkms build "axvcpu/$ver" "${args[@]}" &&
	dkms status "axvcpu/$ver" "${args[@]}" || return 1
	ko=$(find "$root/var/lib/dkms/axvcpu/$ver/$KREL" -name 'axvcpu.ko*' |
		head -n 1)
	[ -n "$ko" ] || { echo "DKMS built no axvcpu.ko"; return 1; }
	echo "DKMS built ${ko#"$root"}"
	case $ko in
	*.xz)	xz -dc "$ko" >"$out" ;;
	*.zst)	zstd -qdc "$ko" >"$out" ;;
	*)	cp "$ko" "$out" ;;
	esac
	modinfo -F vermagic "$out"
}

# result NAME STATUS DESCRIPTION: report and record one check.
result()
{
	if [ "$2" -eq 0 ]; then
		echo "ok   $1: $3"
		record "$1" 1 0 0
	else
		echo "FAIL $1: $3"
		record "$1" 0 1 0
	fi
}

check()
{
	local label=dkms out=$AX_BUILD/dkms deb ver rc=0

	mkdir -p "$out"
	kernel_env
	ver=$(version)
	deb=$(deb "$out/deb") || setup_failed deb
	rm -rf "$out/root"
	mkdir -p "$out/root"
	check_package "$deb" "$out/root" "$ver" >"$out/package.log" 2>&1 ||
		rc=$?
	result dkms:package $rc \
		"${deb##*/}: sources, dkms.conf, udev rule, modprobe file, header"
	sed 's/^/	/' "$out/package.log"
	[ $rc -eq 0 ] || exit 1
	dkms_build "$out/root" "$ver" "$out/axvcpu.ko" >"$out/dkms.log" 2>&1 ||
		rc=$?
	result dkms:build $rc "DKMS builds axvcpu $ver for $KREL"
	tail -n "$([ $rc -eq 0 ] && echo 3 || echo 30)" "$out/dkms.log" |
		sed 's/^/	/'
	[ $rc -eq 0 ] || exit 1
	# The DKMS-built module in the SVM guest, with the quick tests: no
	# test hooks in it, and no KVM runs.
	AXVCPU_MODULE=$out/axvcpu.ko \
	AXVCPU_TESTS=${AXVCPU_DKMS_TESTS:-kvm_abi_test,stats_test,trace_test,x86_guest_test} \
	AXVCPU_KVM_SELFTESTS=none AXVCPU_BUILD=$out \
		exec "$AX_SCRIPTS/check-guest.sh" dkms-x86-svm \
		"$AX_SCRIPTS/qemu-x86.sh" none
}

case ${1:-} in
version)	version ;;
stage)		[ $# -eq 2 ] || die "usage: ${0##*/} stage DIR"
		stage "$2" ;;
install)	install_tree "${2:-}" ;;
remove)		remove_tree ;;
deb)		deb "${2:-}" ;;
check)		check ;;
*)		die "usage: ${0##*/} version | stage DIR | install [KREL] | remove | deb [OUT] | check" ;;
esac
