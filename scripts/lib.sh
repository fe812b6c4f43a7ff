# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the variables are for the scripts
#
# lib.sh - helpers shared by the axvcpu build and test scripts.
#
# Sourced, never executed.  Every script of scripts/ starts with
#
#	. "$(dirname "$0")/lib.sh"
#
# and then finds here:
#
#   AX_REPO	top of the source tree
#   AX_SCRIPTS	this directory
#   AX_CACHE	downloads and extracted packages, kept between runs:
#		$AXVCPU_CACHE, else $XDG_CACHE_HOME/axvcpu, else ~/.cache/axvcpu
#   AX_BUILD	scratch builds, initramfs images and serial logs:
#		$AXVCPU_BUILD, else <repo>/build (ignored by git)
#
# and the small functions below.  Only the apt helpers reach the network,
# and only Debian's mirrors.

AX_SCRIPTS=$(cd "$(dirname "$0")" && pwd)
AX_REPO=$(cd "$AX_SCRIPTS/.." && pwd)

if [ -n "${AXVCPU_CACHE:-}" ]; then
	AX_CACHE=$AXVCPU_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
	AX_CACHE=$XDG_CACHE_HOME/axvcpu
elif [ -n "${HOME:-}" ]; then
	AX_CACHE=$HOME/.cache/axvcpu
else
	AX_CACHE=$AX_REPO/build/cache
fi
AX_BUILD=${AXVCPU_BUILD:-$AX_REPO/build}

# depmod, modprobe and dpkg-deb live in sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH LC_ALL=C

# Status messages go to stderr: stdout of some scripts is machine-read.
msg()
{
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

die()
{
	msg "error: $*"
	exit 1
}

# Seconds since the epoch, with a fraction where date(1) can.
now()
{
	date +%s.%N 2>/dev/null || date +%s
}

# elapsed START: seconds since START, one decimal.
elapsed()
{
	awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'
}

#
# Results.
#
# A test step appends "name passed failed skipped" to $AXVCPU_RESULTS when
# the caller (scripts/check.sh) set it; the caller sums the file into the
# final summary line.  Run alone, a step only prints its own summary.
#
record()
{
	if [ -n "${AXVCPU_RESULTS:-}" ]; then
		echo "$1 $2 $3 $4" >>"$AXVCPU_RESULTS"
	fi
}

# summary PASSED FAILED SKIPPED: the one-line summary format of the project.
summary()
{
	echo "$1 passed, $2 failed, $3 skipped"
}

# setup_failed WHAT: a test step failed before its guest could run (the
# caller's $label names the step): that counts as one failed test.
setup_failed()
{
	record "$label:$1" 0 1 0
	echo "$label: $1 failed"
	echo "$label: $(summary 0 1 0)"
	exit 1
}

# bench_table N LOG...: the "bench NAME DEVICE NS" lines of the logs, each
# figure on /dev/axvcpu beside KVM's with their ratio, under a title line
# for N iterations (none with N "-").
bench_table()
{
	local n=$1

	shift
	[ "$n" = - ] ||
		echo "guest clock per exit, $n iterations (-icount shift=0: 1 ns = 1 instruction)"
	printf '%-8s %12s %12s %8s\n' bench axvcpu kvm ratio
	cat "$@" | awk '/^bench / {
		v[$2 "," $3] = $4; names[$2] = 1
	}
	END {
		for (b in names) {
			a = v[b ",/dev/axvcpu"]; k = v[b ",/dev/kvm"]
			printf "%-8s %9s ns %9s ns %8s\n", b, a, k,
			       (a && k) ? sprintf("%.2f", a / k) : "-"
		}
	}' | sort
}

#
# Debian packages.
#

# pkg_missing PKG...: print the packages of the list that are not installed.
pkg_missing()
{
	local p

	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Abbrev}\n' "$p" 2>/dev/null |
			grep -q '^ii' || echo "$p"
	done
}

# apt_update: refresh the package lists, once per script at most.
AX_APT_UPDATED=

apt_update()
{
	[ -z "$AX_APT_UPDATED" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		msg "warning: the package lists may be stale (apt-get update" \
			"needs root)"
		return 0
	fi
	msg "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	AX_APT_UPDATED=1
	mkdir -p "$AX_CACHE"
	touch "$AX_CACHE/apt-update.stamp"
}

# apt_have_lists: true when apt has package lists at all (a fresh
# container image has none).
apt_have_lists()
{
	ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1
}

# apt_refresh: the kernel ABI moves with Debian's security updates, so
# lists older than a day, or never refreshed by these scripts, are
# refreshed before anything is resolved from them.
apt_refresh()
{
	if apt_have_lists &&
	   [ -n "$(find "$AX_CACHE/apt-update.stamp" -mmin -1440 \
			2>/dev/null)" ]; then
		return 0
	fi
	apt_update
}

# pkg_install PKG...: install the missing ones, without recommends.
pkg_install()
{
	local missing

	missing=$(pkg_missing "$@" | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0
	[ "$(id -u)" -eq 0 ] ||
		die "missing packages (install them as root): $missing"
	apt_refresh
	msg "installing $missing"
	# Stale lists name versions the mirror no longer has: refresh them
	# once and try again.
	apt_get_install "$missing" ||
		{ [ -z "$AX_APT_UPDATED" ] && apt_update &&
		  apt_get_install "$missing"; } ||
		die "apt-get install failed"
}

# apt_get_install "PKG...": dpkg's progress goes to $AX_CACHE/apt.log,
# shown when the installation fails.
apt_get_install()
{
	local log=$AX_CACHE/apt.log

	mkdir -p "$AX_CACHE"
	# shellcheck disable=SC2086 # one word per package
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $1 >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		return 1
	fi
}

# apt_depends META PREFIX: the first dependency of package META whose name
# starts with PREFIX, e.g. "apt_depends linux-image-amd64 linux-image-"
# gives linux-image-6.1.0-NN-amd64.  This is how the current Debian kernel
# ABI is found: it moves with every security update, so it is never
# written down anywhere in the tree.
apt_depends()
{
	local dep

	dep=$(apt-cache depends "$1" 2>/dev/null |
		sed -n "s/^ *|\{0,1\}Depends: \($2[^ ]*\)$/\1/p" |
		head -n 1)
	[ -n "$dep" ] || die "cannot resolve the dependency $2* of $1"
	echo "$dep"
}

# apt_version PKG: the version apt would fetch for PKG.
apt_version()
{
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'
}

#
# Kernel builds.
#

# copy_module_tree DEST: a fresh copy of the module sources (the root
# Kbuild/Makefile and sources, arch/ and uapi/) in DEST.  Building the copy
# keeps builds against different kernels apart, leaves the developer's own
# in-tree build alone, and never reuses a stale object.
copy_module_tree()
{
	rm -rf "$1"
	mkdir -p "$1"
	(
		cd "$AX_REPO" || exit 1
		{
			find . -maxdepth 1 -type f \( -name '*.[chS]' \
				-o -name Kbuild -o -name Makefile \)
			find arch uapi -type f \( -name '*.[chS]' \
				-o -name '*.lds' -o -name Kbuild \
				-o -name Makefile \) 2>/dev/null
		} | grep -v '\.mod\.c$' | cpio -pdm --quiet "$1"
	)
}

# kbuild KDIR DIR [ARGS...]: build the module in DIR against the kernel
# headers in KDIR.  Output goes to stdout.
kbuild()
{
	local kdir=$1 dir=$2

	shift 2
	make -C "$kdir" M="$dir" -j"$(nproc)" "$@" modules 2>&1
}

# kernel_env: the variables of scripts/kernel.sh (KREL, KDIR, VMLINUZ,
# KMODS, KDIR_612, KSFT_INC, ...), exported.  They are resolved once, and
# kept in the file that AX_KERNEL_ENV names for the steps run below
# (scripts/check.sh runs several); being read from that file, they always
# override a KDIR of the user's environment or make command line.
kernel_env()
{
	local env

	if [ -n "${AX_KERNEL_ENV:-}" ] && [ -f "$AX_KERNEL_ENV" ]; then
		env=$(cat "$AX_KERNEL_ENV")
	else
		env=$("$AX_SCRIPTS/kernel.sh") || {
			msg "cannot set up the test kernel"
			return 1
		}
		mkdir -p "$AX_BUILD"
		echo "$env" >"$AX_BUILD/kernel.env"
		export AX_KERNEL_ENV=$AX_BUILD/kernel.env
	fi
	eval "$env"
	export KREL KDIR VMLINUZ KMODS KREL_612 KDIR_612 KSRC KSFT_INC
}

# build_module KDIR DIR [ARGS...]: copy the module sources to DIR and build
# them against KDIR, with kbuild's ARGS (ARCH=, CROSS_COMPILE=); the output
# is in DIR.log, shown when the build fails.
build_module()
{
	local start

	start=$(now)
	copy_module_tree "$2"
	if ! kbuild "$@" >"$2.log"; then
		tail -n 40 "$2.log" >&2
		msg "module build against ${1##*/} failed (log: $2.log)"
		return 1
	fi
	msg "built $2/axvcpu.ko against ${1##*/} ($(elapsed "$start") s)"
}

# build_tools OUT: build tools/ (axvm, the sample guests and the
# benchmark) into OUT, for CROSS_COMPILE's target if set; the output is in
# OUT.log, shown when the build fails.
build_tools()
{
	local cc=()

	[ -z "${CROSS_COMPILE:-}" ] || cc=(CROSS_COMPILE="$CROSS_COMPILE")
	if ! make -C "$AX_REPO/tools" UAPI_INC="$AX_REPO/uapi" OUT="$1" \
			"${cc[@]}" -j"$(nproc)" >"$1.log" 2>&1; then
		tail -n 40 "$1.log" >&2
		msg "tools build failed (log: $1.log)"
		return 1
	fi
}

# build_selftests DIR OUT LOG: build the kselftest programs of DIR into
# OUT (kselftest's OUTPUT=), with the harness from linux-source, and print
# the path of each program, one a line.  The programs are the Makefile's
# TEST_GEN_PROGS.  CROSS_COMPILE, if set, picks the compiler.
build_selftests()
{
	local dir=$1 out=$2 log=$3 progs p probe cc=()

	[ -f "$dir/Makefile" ] || {
		msg "no $dir/Makefile"
		return 1
	}
	[ -z "${CROSS_COMPILE:-}" ] || cc=(CC="${CROSS_COMPILE}gcc")
	mkdir -p "$out"
	if ! make -C "$dir" OUTPUT="$out" KSFT_INC="$KSFT_INC" \
			UAPI_INC="$AX_REPO/uapi" "${cc[@]}" -j"$(nproc)" \
			>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		msg "selftests build failed (log: $log)"
		return 1
	fi

	probe=$(mktemp)
	# shellcheck disable=SC2016 # $(TEST_GEN_PROGS) is for make
	printf 'ax-print-progs:\n\t@echo $(TEST_GEN_PROGS)\n' >"$probe"
	progs=$(make -s --no-print-directory -C "$dir" -f Makefile \
		-f "$probe" KSFT_INC="$KSFT_INC" UAPI_INC="$AX_REPO/uapi" \
		ax-print-progs) || progs=
	rm -f "$probe"
	[ -n "$progs" ] || {
		msg "$dir/Makefile names no TEST_GEN_PROGS"
		return 1
	}
	for p in $progs; do
		p=${p##*/}
		if [ -x "$out/$p" ]; then
			echo "$out/$p"
		elif [ -x "$dir/$p" ]; then
			echo "$dir/$p"	# a Makefile without OUTPUT=
		else
			msg "selftest $p was not built"
			return 1
		fi
	done
}

# nested_initrd BUSYBOX OUT: the initramfs QEMU boots in qemu_linux_test
# (scripts/qemu-linux*.sh): BUSYBOX and an /init that prints
# AXVCPU-LINUX-UP with the uptime and the CPU count, then powers off.
nested_initrd()
{
	local root=$2.d

	rm -rf "$root"
	mkdir -p "$root/bin" "$root/proc"
	cp "$1" "$root/bin/busybox"
	cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "AXVCPU-LINUX-UP $(/bin/busybox cut -d' ' -f1 /proc/uptime) s," \
	"$(/bin/busybox grep -c ^processor /proc/cpuinfo) CPUs"
/bin/busybox poweroff -f
EOF
	chmod 755 "$root/init"
	(cd "$root" && find . -print0 |
		cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$2"
	rm -rf "$root"
}
