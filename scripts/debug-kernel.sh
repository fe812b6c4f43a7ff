#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh - build, once, the small x86-64 debug kernel of
# make check-debug.
#
# Usage: eval "$(scripts/debug-kernel.sh)"
#
# From Debian's linux-source-6.1 (scripts/deps.sh installs it): "make
# tinyconfig", then scripts/debug/debug.config merged over it (KASAN,
# lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, DEBUG_OBJECTS, kmemleak, UBSAN,
# DEBUG_PAGEALLOC, and what the test guest needs), "make olddefconfig", and
# bzImage plus the modules (KVM's, whose FPU helpers the module uses).
# The tree is kept in the cache, keyed by the package version and the
# fragment's hash, so the next run only checks it; the module is built
# against it.  About 7 minutes on 2 cores the first time.
#
# Prints shell assignments:
#
#   DKDIR	the built tree (make -C $DKDIR M=... modules)
#   DVMLINUZ	its bzImage
#   DKREL	its release
#
# Messages go to stderr.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

fragment=$AX_SCRIPTS/debug/debug.config
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || die "no $tarball: run scripts/deps.sh (linux-source-6.1)"

ver=$(dpkg-query -W -f '${Version}' linux-source-6.1)
key=$(cat "$fragment" "$0" | sha256sum | cut -c1-12)
dir=$AX_CACHE/debug-kernel/$ver-$key
tree=$dir/linux

if [ ! -f "$dir/.done" ]; then
	start=$(now)
	# An older build (another version or fragment) is not reused.
	rm -rf "$AX_CACHE/debug-kernel"
	mkdir -p "$tree"
	msg "unpacking linux-source $ver"
	tar -xJf "$tarball" -C "$tree" --strip-components=1
	msg "configuring: tinyconfig + ${fragment#"$AX_REPO"/}"
	make -C "$tree" -s tinyconfig >&2
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" \
		"$tree/.config" "$fragment" >/dev/null
	make -C "$tree" -s olddefconfig >&2
	# Every option asked for must have survived olddefconfig.
	while read -r line; do
		case $line in
		CONFIG_*=n) opt=${line%=n}
			! grep -q "^$opt=" "$tree/.config" ||
				die "debug kernel: $opt is set" ;;
		CONFIG_*=*)
			grep -qx "$line" "$tree/.config" ||
				die "debug kernel: $line did not stick" ;;
		esac
	done <"$fragment"
	msg "building the debug kernel (-j$(nproc)); log: $dir/build.log"
	if ! make -C "$tree" -j"$(nproc)" bzImage modules >"$dir/build.log" 2>&1; then
		tail -n 30 "$dir/build.log" >&2
		die "debug kernel build failed (log: $dir/build.log)"
	fi
	touch "$dir/.done"
	msg "debug kernel built in $(elapsed "$start") s"
fi

echo "DKDIR=$tree"
echo "DVMLINUZ=$tree/arch/x86/boot/bzImage"
echo "DKREL=$(make -C "$tree" -s kernelrelease)"
