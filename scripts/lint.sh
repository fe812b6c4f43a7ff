#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh - static checks of the module sources.
#
# Seven checks, each one test of the summary:
#
#   lint:checkpatch	checkpatch.pl --strict over the module's sources (the
#			root's *.c/*.h, arch/ and uapi/): any ERROR, WARNING or
#			CHECK fails.  Trace headers (*_trace.h) are written in
#			TRACE_EVENT's own layout, as the kernel's: checkpatch's
#			rules of C expressions and alignment
#			($TRACE_HEADER_IGNORE) do not apply to them
#   lint:emulate-unit	selftests/axvcpu/x86_emulate_unit.c, the unit tests of
#			the x86 instruction emulator (arch/x86/emulate.c, the
#			same C file in userspace), built and run here: any
#			failed case fails
#   lint:w1-6.1		a W=1 build against the headers of the booted 6.1
#			kernel: any warning fails, the compiler's or modpost's
#   lint:w1-6.12	the same against Debian's 6.12 headers
#   lint:w1-arm64	the same, cross-built for arm64 against Debian's arm64
#			headers (scripts/arm64-headers.sh)
#   lint:sparse		a C=2 sparse build against 6.1: any sparse warning or
#			error in our own files fails (the kernel's headers
#			are not ours to fix)
#   lint:htmldocs	"make htmldocs": Sphinx renders Documentation/, the
#			state machine's graphviz diagram included, with no
#			warning
#
# checkpatch.pl comes from linux-source-6.1 (see scripts/kernel.sh).  Each
# build runs on its own copy of the sources in $AX_BUILD/lint/, so builds
# against different kernels never share an object.
#
# Prints one line per check and "lint: N passed, N failed, N skipped".

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

out=$AX_BUILD/lint
passed=0
failed=0

# result NAME STATUS DETAIL: report and record one check.
result()
{
	if [ "$2" -eq 0 ]; then
		echo "ok   $1${3:+ ($3)}"
		passed=$((passed + 1))
		record "$1" 1 0 0
	else
		echo "FAIL $1${3:+ ($3)}"
		failed=$((failed + 1))
		record "$1" 0 1 0
	fi
}

# show LOG: the lines of a failed check, indented.
show()
{
	sed 's/^/	/' "$1" | head -n 60
}

# The module's sources: what checkpatch reads.
sources()
{
	cd "$AX_REPO"
	{
		find . -maxdepth 1 -type f -name '*.[ch]'
		find arch uapi -type f -name '*.[chS]' 2>/dev/null
	} | sed 's|^\./||' | grep -v '\.mod\.c$' | sort
}

TRACE_HEADER_IGNORE=COMPLEX_MACRO,PARENTHESIS_ALIGNMENT,OPEN_ENDED_LINE
# ENOSYS is KVM's ABI, not a syscall's: KVM_RUN fails with it on an arm64
# data abort without a syndrome (checkpatch reserves it for syscalls).
CHECKPATCH_IGNORE=ENOSYS

check_checkpatch()
{
	local log=$out/checkpatch.log files traces rc=0 n

	files=$(sources | grep -v '_trace\.h$' || :)
	traces=$(sources | grep '_trace\.h$' || :)
	[ -n "$files" ] || {
		echo "no sources" >"$log"
		result lint:checkpatch 1 "no sources found"
		return
	}
	# shellcheck disable=SC2086 # one file per word
	(cd "$AX_REPO" && perl "$KSRC/scripts/checkpatch.pl" --no-tree \
		--strict --terse --show-types --ignore "$CHECKPATCH_IGNORE" \
		-f $files) \
		>"$log" 2>&1 || rc=$?
	# shellcheck disable=SC2086
	[ -z "$traces" ] ||
		(cd "$AX_REPO" && perl "$KSRC/scripts/checkpatch.pl" --no-tree \
			--strict --terse --show-types \
			--ignore "$TRACE_HEADER_IGNORE,$CHECKPATCH_IGNORE" \
			-f $traces) \
			>>"$log" 2>&1 || rc=$?
	files="$files $traces"
	n=$(grep -cE ': (ERROR|WARNING|CHECK):' "$log" || :)
	if [ $rc -eq 0 ] && [ "$n" -eq 0 ]; then
		result lint:checkpatch 0 "$(echo $files | wc -w) files"
	else
		result lint:checkpatch 1 "$n reports"
		show "$log"
	fi
}

# check_emulate_unit: the emulator's unit tests.  -mno-red-zone: they run
# PUSHF/POPF in inline assembly to compare RFLAGS with the CPU's.
check_emulate_unit()
{
	local log=$out/emulate-unit.log bin=$out/x86_emulate_unit

	if [ "$(uname -m)" != x86_64 ]; then
		result lint:emulate-unit 1 "needs an x86-64 build machine"
		return
	fi
	if gcc -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
			-mno-red-zone -o "$bin" \
			"$AX_REPO/selftests/axvcpu/x86_emulate_unit.c" \
			>"$log" 2>&1 && "$bin" >>"$log" 2>&1; then
		result lint:emulate-unit 0 "$(sed -n \
			's/^x86_emulate_unit: \([0-9]*\) cases.*/\1 cases/p' \
			"$log")"
	else
		result lint:emulate-unit 1 "$(grep -c '^FAIL' "$log" || :) failed"
		show "$log"
	fi
}

# check_w1 NAME KDIR [MAKE ARGS...]: a W=1 build against KDIR, clean of
# warnings.
check_w1()
{
	local name=$1 kdir=$2 dir=$out/$1 rc=0 n

	shift 2
	copy_module_tree "$dir"
	kbuild "$kdir" "$dir" W=1 "$@" >"$dir.log" || rc=$?
	n=$(grep -ci 'warning' "$dir.log" || :)
	if [ $rc -ne 0 ]; then
		result "lint:$name" 1 "build failed against ${kdir##*/}"
		show "$dir.log"
	elif [ "$n" -ne 0 ]; then
		result "lint:$name" 1 "$n warnings"
		grep -i -A3 'warning' "$dir.log" | sed 's/^/	/' | head -n 60
	else
		result "lint:$name" 0 "${kdir##*/}"
	fi
}

# check_sparse KDIR: a C=2 build with sparse; only reports about files of
# our copy of the tree count.
check_sparse()
{
	local kdir=$1 dir=$out/sparse rc=0 ours

	copy_module_tree "$dir"
	kbuild "$kdir" "$dir" C=2 CHECK=sparse AXVCPU_TEST_HOOKS=y >"$dir.log" ||
		rc=$?
	# (The compiler's own warnings, "... [-Wfoo]", are the W=1 checks'.)
	ours=$(awk -v d="$dir/" 'index($0, d) == 1 &&
		/:[0-9]+:([0-9]+:)? (warning|error):/ &&
		!/\[-W[^]]*\]$/' "$dir.log")
	if [ $rc -ne 0 ]; then
		result lint:sparse 1 "build failed against ${kdir##*/}"
		show "$dir.log"
	elif [ -n "$ours" ]; then
		result lint:sparse 1 "$(echo "$ours" | wc -l) reports"
		echo "$ours" | sed "s|^$dir/|	|" | head -n 60
	else
		result lint:sparse 0 "${kdir##*/}"
	fi
}

# check_htmldocs: the documentation renders, without a warning.
check_htmldocs()
{
	local log=$out/htmldocs.log

	rm -rf "$out/htmldocs"
	if make --no-print-directory -C "$AX_REPO" htmldocs \
			HTMLDOCS_OUT="$out/htmldocs" >"$log" 2>&1; then
		result lint:htmldocs 0 "$(find "$out/htmldocs" -name '*.html' |
			wc -l) pages"
	else
		result lint:htmldocs 1 "sphinx-build failed"
		show "$log"
	fi
}

start=$(now)
mkdir -p "$out"
kernel_env

check_checkpatch
check_emulate_unit
# shellcheck disable=SC2153 # KDIR and KDIR_612 come from kernel_env
# The 6.1 builds with the test hooks, 6.12 and arm64 without.
check_w1 w1-6.1 "$KDIR" AXVCPU_TEST_HOOKS=y
check_w1 w1-6.12 "$KDIR_612"
if kdir_arm64=$("$AX_SCRIPTS/arm64-headers.sh"); then
	check_w1 w1-arm64 "$kdir_arm64" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu-
else
	result lint:w1-arm64 1 "no arm64 headers"
fi
check_sparse "$KDIR"
check_htmldocs

echo "lint: $(summary $passed $failed 0) ($(elapsed "$start") s)"
[ $failed -eq 0 ]
