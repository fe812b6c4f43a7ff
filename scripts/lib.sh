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

# bench_report NAME TITLE LOG...: the "bench BENCH DEVICE NS" lines of the
# logs as one table under TITLE: each figure on /dev/axvcpu beside KVM's,
# their ratio, and each path of one KVM_RUN as a multiple of its own
# device's "null" figure (KVM_RUN returning at once: the floor of every
# exit to userspace).  The
# figures also go to $AX_BUILD/NAME.csv and, drawn by gnuplot, to
# $AX_BUILD/NAME.png.  A figure a device has not ("-") stays out of the
# ratios.
bench_report()
{
	local name=$1 title=$2 csv=$AX_BUILD/$1.csv

	shift 2
	mkdir -p "$AX_BUILD"
	cat "$@" | awk '
	{ sub(/\r$/, "") }	# a serial console ends its lines with CR LF
	/^bench / {
		if (!(($2) in seen)) {
			seen[$2] = 1
			order[nr++] = $2
		}
		dev = $3 == "/dev/kvm" ? "kvm" : "axvcpu"
		v[$2 "," dev] = $4
	}
	function div(a, b) {
		if (a == "" || a == "-" || b == "" || b == "-" || b <= 0)
			return "-"
		return sprintf(a / b < 0.1 ? "%.3f" : "%.2f", a / b)
	}
	END {
		print "bench,axvcpu_ns,kvm_ns,ratio,axvcpu_floors,kvm_floors"
		fa = v["null,axvcpu"]; fk = v["null,kvm"]
		for (i = 0; i < nr; i++) {
			b = order[i]
			a = v[b ",axvcpu"]; k = v[b ",kvm"]
			if (a == "") a = "-"
			if (k == "") k = "-"
			# The floor is a KVM_RUN'"'"'s: for the paths of one.
			fl = b !~ /^(vcpu|vm|mem)/
			printf "%s,%s,%s,%s,%s,%s\n", b, a, k, div(a, k),
			       fl ? div(a, fa) : "-", fl ? div(k, fk) : "-"
		}
	}' >"$csv"

	echo "$title"
	awk -F, 'NR == 1 {
		printf "%-8s %14s %14s %7s %12s %12s\n", "bench", "axvcpu ns",
		       "KVM ns", "ratio", "axvcpu/null", "KVM/null"
		next
	}
	{ printf "%-8s %14s %14s %7s %12s %12s\n", $1, $2, $3, $4, $5, $6 }
	' "$csv"
	msg "figures in $csv"
	bench_chart "$csv" "$AX_BUILD/$name.png" "$title"
}

# bench_chart CSV PNG TITLE: bench_report's figures as bars, axvcpu beside
# KVM per benchmark, on a log scale (they span seven decades).
bench_chart()
{
	command -v gnuplot >/dev/null || {
		msg "no gnuplot (make deps installs it): no chart"
		return 0
	}
	rm -f "$2"
	gnuplot <<-EOF || { msg "gnuplot failed: no chart"; rm -f "$2"; }
	set terminal pngcairo size 960,540 noenhanced font ",10"
	set output "$2"
	set title "$3"
	set datafile separator ","
	set datafile missing "-"
	set key autotitle columnhead top left
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set logscale y
	set ylabel "guest ns per operation (log scale)"
	set grid ytics
	set xtics rotate by -40
	plot "$1" using 2:xtic(1) title "axvcpu", "" using 3 title "KVM"
	EOF
	[ ! -f "$2" ] || msg "chart in $2"
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

# arm64_boot OUT NAME ARGS...: boot the arm64 test guest (OUT/initrd.gz,
# $VMLINUZ_ARM64) with kernel ARGS, its serial log OUT/NAME.log, and judge
# it as NAME (tap-summary.sh); a QEMU boot's summary lines go to stderr.
# Fails when the judge does.
arm64_boot()
{
	local out=$1 name=$2 log=$1/$2.log start rc=0

	shift 2
	msg "$name: booting $KREL_ARM64 under QEMU (log: $log)"
	start=$(now)
	# shellcheck disable=SC2068 # kernel arguments, one a word
	"$AX_SCRIPTS/qemu-arm64.sh" "$VMLINUZ_ARM64" "$out/initrd.gz" "$log" \
		$@ || rc=$?
	msg "$name: guest ran for $(elapsed "$start") s, QEMU exit status $rc"
	touch "$log"
	[ "${AXVCPU_VERBOSE:-0}" != 1 ] || cat "$log"
	grep -a '# qemu -smp' "$log" | sed "s/^/$name: /" >&2 || :
	"$AX_SCRIPTS/tap-summary.sh" "$name" "$log" "$rc"
}
