#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# guest-init.sh - /init of the test guest.
#
# Copied into the initramfs as /init by scripts/mkinitramfs.sh and run by
# busybox sh as PID 1, so it must never exit: it ends in "poweroff -f".
#
# The guest's initramfs holds:
#   /lib/modules/axvcpu.ko		the module under test
#   /lib/modules/<release>/		the kernel's own modules needed (KVM)
#   /tests/*				static test binaries
#   /tests/kvm-selftests/		KVM's own selftests, when built
#					(scripts/kvm-selftests.sh)
#
# The kernel command line chooses what to do ("axtest." and not "axvcpu.":
# the kernel would take the latter for parameters of the axvcpu module):
#
#   axtest.mode=check	(default) run the test suite, see check() below
#   axtest.mode=run	run the sample guests under /tests/axvm, shown plainly
#   axtest.mode=bench	run /tests/axvcpu-bench on axvcpu, then on KVM
#   axtest.bench_n=N	iterations of each benchmark
#   axtest.tests=a,b	the tests to run against /dev/axvcpu (default: all
#			of /tests but the coexistence test, the programs and
#			AXVCPU_NOT_YET below)
#   axtest.kvm=m1,m2	modules to modprobe for the KVM comparison runs
#			(e.g. kvm_amd); none: no KVM runs; "builtin": KVM is
#			part of the kernel and owns the extension (arm64 without
#			kvm-arm.mode=none), so axvcpu must refuse to load
#   axtest.kvm_tests=a,b	the tests run against KVM (default KVM_TESTS)
#   axtest.timeout=S	seconds a test may run before it is killed
#   axtest.shell=1	run mode: a shell after the guests; exit powers off
#   axtest.kmemleak=1	kmemleak: a baseline before insmod, and a scan after
#			rmmod that must report nothing new
#   axtest.fuzz_seeds=a,b	fuzz_test's seeds (AXVCPU_FUZZ_SEEDS)
#   axtest.fuzz_calls=N	fuzz_test's calls per thread and seed
#   axtest.kst=a,b	the KVM selftests to run (names as in
#			/tests/kvm-selftests/list; default all of them;
#			none: not one)
#   axtest.kst_timeout=S	seconds one KVM selftest may run (default 60)
#   axtest.qemu_smp=1,2	the vCPU counts qemu_linux_test boots
#   axtest.qemu_debug=1	qemu_linux_test shows SeaBIOS's and axvcpu's traces
#   axtest.qemu_timeout=S	seconds one QEMU boot may take (default 240)
#
# Output framing, read by scripts/tap-summary.sh on the host:
#
#   === BEGIN <domain>:<name>
#   ... TAP of one test program or of one step ...
#   === END <domain>:<name> rc=<exit status>
#   ...
#   === DMESG BEGIN / === DMESG END	the kernel log
#   === GUEST DONE			the guest finished (no crash, no hang)

export PATH=/bin:/sbin

# It mounts, loads modules and powers off: never on a host by mistake.
if [ $$ -ne 1 ]; then
	echo "${0##*/}: this is the test guest's /init, not a program" >&2
	exit 1
fi

/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1

KO=/lib/modules/axvcpu.ko

# The tests that also run against /dev/kvm: KVM is the reference, and
# both runs must pass the same tests.
KVM_TESTS="kvm_abi_test x86_guest_test x86_hostile_test x86_stress_test
	x86_mmio_test x86_state_test x86_events_test dirty_log_test
	x86_irqchip_test x86_msr_test x86_debug_test
	qemu_linux_test
	arm64_guest_test
	axvm_test kvm-selftests"

# Tests not yet run against /dev/axvcpu by default (axtest.tests may still
# name them): a new test of a feature a backend is still building goes
# here until the backend passes it, while it already runs against KVM.
# x86_hop_test: a vCPU's XSAVE image read after KVM_RUN can come back
# all-init (XSTATE_BV 0, the guest's XMM lost), now and then; an FPU state
# bug to settle first (Documentation/testing.rst).
AXVCPU_NOT_YET="x86_hop_test"

MODE=check
TESTS=
KVM_MODS=
TIMEOUT=300
SHELL_AFTER=
KMEMLEAK=
KST=/tests/kvm-selftests
KST_TESTS=
KST_TIMEOUT=60

# shellcheck disable=SC2013 # the words of one line
for arg in $(cat /proc/cmdline); do
	case $arg in
	axtest.mode=*)		MODE=${arg#*=} ;;
	axtest.bench_n=*)	BENCH_N=${arg#*=} ;;
	axtest.tests=*)		TESTS=$(echo "${arg#*=}" | tr , ' ') ;;
	axtest.kvm=*)		KVM_MODS=$(echo "${arg#*=}" | tr , ' ') ;;
	axtest.kvm_tests=*)	KVM_TESTS=$(echo "${arg#*=}" | tr , ' ') ;;
	axtest.timeout=*)	TIMEOUT=${arg#*=} ;;
	axtest.shell=*)		SHELL_AFTER=${arg#*=} ;;
	axtest.kmemleak=*)	KMEMLEAK=${arg#*=} ;;
	axtest.fuzz_seeds=*)	export AXVCPU_FUZZ_SEEDS=${arg#*=} ;;
	axtest.fuzz_calls=*)	export AXVCPU_FUZZ_CALLS=${arg#*=} ;;
	axtest.kst=*)		KST_TESTS=$(echo "${arg#*=}" | tr , ' ') ;;
	axtest.kst_timeout=*)	KST_TIMEOUT=${arg#*=} ;;
	axtest.qemu_debug=*)	export AXVCPU_QEMU_DEBUG=${arg#*=} ;;
	axtest.qemu_timeout=*)	export AXVCPU_QEMU_TIMEOUT=${arg#*=} ;;
	axtest.qemu_smp=*)	export AXVCPU_QEMU_SMP=$(echo "${arg#*=}" |
					tr , ' ') ;;
	esac
done

# step NAME DESCRIPTION COMMAND...: one framed TAP test of a command, with
# the command's output as TAP diagnostics.  Returns its exit status.
step()
{
	local name="$1" desc="$2" out rc

	shift 2
	echo "=== BEGIN $name"
	echo "TAP version 13"
	echo "1..1"
	out=$("$@" 2>&1)
	rc=$?
	[ -z "$out" ] || echo "$out" | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		echo "ok 1 $desc"
	else
		echo "not ok 1 $desc # exit status $rc"
	fi
	echo "=== END $name rc=$rc"
	return $rc
}

# run_test NAME DEVICE DOMAIN: run /tests/NAME against DEVICE, framed.
# "kvm-selftests" is KVM's own selftests, see kvm_selftests below.
run_test()
{
	local name="$1" dev="$2" domain="$3" rc

	if [ "$name" = kvm-selftests ]; then
		kvm_selftests "$dev" "$domain"
		return
	fi

	echo "=== BEGIN $domain:$name"
	AXVCPU_DEV=$dev AXVCPU_KO=$KO \
		timeout -s KILL "$TIMEOUT" "/tests/$name" </dev/null
	rc=$?
	if [ $rc -gt 128 ]; then
		echo "# $name: killed by signal $((rc - 128))" \
			"(the time limit is $TIMEOUT s)"
		# timeout kills the program, not the children the harness
		# forked: they would hold their fds into the next tests.
		kill_program "/tests/$name"
	fi
	echo "=== END $domain:$name rc=$rc"
}

# kill_program PATH: kill every process that runs PATH (what a test that
# was killed forked); busybox has no pkill.
kill_program()
{
	local p

	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" != "$1" ] ||
			kill -KILL "${p#/proc/}" 2>/dev/null
	done
}

# in_list WORD LIST...: true when WORD is one of the LIST.
in_list()
{
	local w="$1" x

	shift
	for x in "$@"; do
		[ "$x" != "$w" ] || return 0
	done
	return 1
}

# The tests run against /dev/axvcpu: those named on the command line, else
# axvcpu_test, kvm_abi_test and then every other program of /tests, save
# the coexistence test (it needs KVM loaded), the programs and
# AXVCPU_NOT_YET, and KVM's selftests ("kvm-selftests") when there.
default_tests()
{
	local t

	for t in axvcpu_test kvm_abi_test; do
		[ -x "/tests/$t" ] && echo "$t"
	done
	for t in /tests/*; do
		case ${t##*/} in
		axvcpu_test|kvm_abi_test|coexist_test) ;;
		axvcpu-bench|axvm) ;;	# programs, not tests
		*)
			# shellcheck disable=SC2086 # a list of names
			in_list "${t##*/}" $AXVCPU_NOT_YET ||
				{ [ -f "$t" ] && [ -x "$t" ] &&
				  echo "${t##*/}"; }
			;;
		esac
	done
	# KVM's selftests last: one that hangs or leaves something behind
	# cannot disturb axvcpu's own tests.
	[ ! -f "$KST/list" ] || echo kvm-selftests
}

# KVM's own selftests (tools/testing/selftests/kvm of linux-source-6.1,
# built by scripts/kvm-selftests.sh): $KST/list names them, $KST/expected
# those that must pass on axvcpu.

# kst_args NAME: a test's short-run arguments, for a small machine.  On
# arm64 the paging tests run in the default guest mode alone (-m 5, 40-bit
# IPA with 4 KiB pages), not in every mode the host offers.
kst_args()
{
	local m=

	[ "$(uname -m)" != aarch64 ] || m="-m 5"
	case $1 in
	access_tracking_perf_test|demand_paging_test|kvm_page_table_test)
		echo "-b 64M -v 1 $m" ;;
	# KVM faults its 64 MiB in for 30 s of the 60 under TCG: 32 MiB.
	dirty_log_perf_test)	echo "-b 32M -v 1 -i 2 $m" ;;
	memslot_modification_stress_test)
		echo "-b 64M -v 1 -i 100 $m" ;;
	memslot_perf_test)	echo "-s 32 -l 1 -r 1" ;;
	dirty_log_test)		echo "-i 3 $m" ;;	# its least; see kst_not_run
	max_guest_memory_test)	echo "-c 1 -m 5 -s 1" ;;
	esac
}

# kst_not_run NAME: why a test is not run, if it is not.
kst_not_run()
{
	case $1 in
	dirty_log_test)
		# 6.1's logs a fixed 1 GiB slot (DIRTY_MEM_BITS) beside a 2 GiB
		# slot 0, which axvcpu pins whole: 3 GiB and more.
		[ "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" -ge \
			3500000 ] ||
			echo "not run: its 3 GiB of slots need a machine of 4 GiB" ;;
	esac
}

# kst_run TEST: one KVM selftest with its arguments and the time limit;
# its output in /tmp/kst.out.  Returns its exit status.
kst_run()
{
	local rc p

	# shellcheck disable=SC2046 # the arguments, one a word
	timeout -s KILL "$KST_TIMEOUT" "$KST/$1" $(kst_args "${1##*/}") \
		</dev/null >/tmp/kst.out 2>&1
	rc=$?
	if [ $rc -eq 137 ]; then
		echo "killed (the time limit is $KST_TIMEOUT s)" >>/tmp/kst.out
	elif [ $rc -gt 128 ] && [ $rc -lt 192 ]; then
		echo "killed by signal $((rc - 128))" >>/tmp/kst.out
	fi
	# The processes it forked, if any, die with it.
	kill_program "$KST/$1"
	return $rc
}

# kvm_selftests DEVICE DOMAIN: every KVM selftest against DEVICE (through
# /dev/kvm, the path they open: a symlink to /dev/axvcpu for axvcpu), in
# one frame, one TAP result each:
#   exit 0	ok
#   exit 4	ok # SKIP, with the test's reason (KSFT_SKIP)
#   else	not ok, for a test of $KST/expected (or one that does not
#		exist); "not ok # TODO" for the others: seen, counted as
#		skipped, never failing the run.  KVM is held to the same
#		list: a test is expected of axvcpu only where KVM passes it.
kvm_selftests()
{
	local dev="$1" dom="$2" tests t n=0 rc start secs expected link=

	[ -f "$KST/list" ] && [ "$KST_TESTS" != none ] || return 0
	expected=$(cat "$KST/expected")
	if [ -n "$KST_TESTS" ]; then
		tests=$KST_TESTS
	else
		# The list, and what the expected list names beyond it.
		tests=$(cat "$KST/list")
		for t in $expected; do
			# shellcheck disable=SC2086 # a list of names
			in_list "$t" $tests || tests="$tests $t"
		done
	fi
	if [ "$dev" != /dev/kvm ]; then
		ln -sf "$dev" /dev/kvm
		link=1
	fi

	echo "=== BEGIN kvm-selftests:$dom"
	echo "TAP version 13"
	echo "1..$(echo "$tests" | wc -w)"
	for t in $tests; do
		n=$((n + 1))
		start=$(cut -d' ' -f1 /proc/uptime)
		# shellcheck disable=SC2086 # $expected: a list of names
		if [ -n "$(kst_not_run "${t##*/}")" ]; then
			if in_list "$t" $expected; then
				echo "not ok $n $t # expected, but not run"
			else
				echo "ok $n $t # SKIP $(kst_not_run "${t##*/}")"
			fi
			continue
		elif [ -x "$KST/$t" ]; then
			kst_run "$t"
			rc=$?
		else
			echo "no such test" >/tmp/kst.out
			rc=127
		fi
		secs=$(awk -v s="$start" -v e="$(cut -d' ' -f1 /proc/uptime)" \
			'BEGIN { printf "%.1f", e - s }')
		# The end of the output: a failed assertion's block, a skip's
		# reason.  As diagnostics, so that nothing in it counts.
		tail -n 12 /tmp/kst.out | sed "s|^|# $t: |"
		echo "# $t: exit status $rc, $secs s"
		# shellcheck disable=SC2086 # $expected: a list of names
		if [ $rc -eq 0 ]; then
			echo "ok $n $t"
		elif [ $rc -eq 4 ]; then
			echo "ok $n $t # SKIP $(grep -v '^ *$' /tmp/kst.out |
				tail -n 1 | sed 's/^1\.\.0 # SKIP //;
					s/^- //' | cut -c1-100)"
		elif in_list "$t" $expected || [ $rc -eq 127 ]; then
			echo "not ok $n $t # exit status $rc"
		else
			echo "not ok $n $t # TODO not expected of $dom yet"
		fi
	done
	echo "=== END kvm-selftests:$dom rc=0"
	[ -z "$link" ] || rm -f /dev/kvm
}

check()
{
	local t have_kvm=

	[ -n "$TESTS" ] || TESTS=$(default_tests)

	# KVM's own answers to the same tests first, for comparison, on CPU0
	# alone: under TCG, KVM's cross-CPU calls hang now and then (the other
	# CPU stops answering once KVM enables SVM on it; see testing.rst).
	if [ -n "$KVM_MODS" ]; then
		secondary_cpus 0
		if step kvm:modprobe "modprobe $KVM_MODS" load_kvm; then
			have_kvm=1
			for t in $KVM_TESTS; do
				{ [ -x "/tests/$t" ] ||
				  [ -f "/tests/$t/list" ]; } &&
					run_test "$t" /dev/kvm kvm
			done
			step kvm:rmmod "modprobe -r $KVM_MODS" unload_kvm
		fi
		secondary_cpus 1
	fi

	# KVM in the kernel holds the extension for good: axvcpu refuses.
	if [ "$KVM_MODS" = builtin ]; then
		step axvcpu:insmod-refused "insmod axvcpu refused" \
			insmod_refused "$KO"
		return
	fi

	# The module alone: load, every test, unload with all fds closed.
	[ -z "$KMEMLEAK" ] || step kmemleak:baseline "kmemleak baseline" \
		kmemleak_baseline
	if step axvcpu:insmod "insmod axvcpu" insmod "$KO"; then
		for t in $TESTS; do
			run_test "$t" /dev/axvcpu axvcpu
		done
		step axvcpu:rmmod "rmmod axvcpu" rmmod axvcpu &&
			[ -n "$KMEMLEAK" ] &&
			step kmemleak:scan "no leak after rmmod" kmemleak_scan
	fi

	# Both at once: axvcpu must load, and must refuse cleanly to use the
	# virtualization extension that KVM owns (CPU0 alone again, for KVM).
	[ -z "$have_kvm" ] || secondary_cpus 0
	if [ -n "$have_kvm" ] &&
	   step kvm:modprobe-coexist "modprobe $KVM_MODS again" load_kvm &&
	   step axvcpu:insmod-coexist "insmod axvcpu with KVM loaded" \
		insmod "$KO"; then
		[ ! -x /tests/coexist_test ] ||
			run_test coexist_test /dev/axvcpu axvcpu
		step axvcpu:rmmod-coexist "rmmod axvcpu with KVM loaded" \
			rmmod axvcpu
		step kvm:rmmod-coexist "modprobe -r $KVM_MODS" unload_kvm
	fi
	[ -z "$have_kvm" ] || secondary_cpus 1
}

# secondary_cpus 0|1: take every CPU but CPU0 offline, or bring it back.
secondary_cpus()
{
	local c

	for c in /sys/devices/system/cpu/cpu[1-9]*/online; do
		[ -w "$c" ] && echo "$1" >"$c"
	done
	return 0
}

KMEMLEAK_FILE=/sys/kernel/debug/kmemleak

# kmemleak_baseline: no automatic scans (their reports would land in the
# log at random), and what the kernel leaked before the module is set aside.
kmemleak_baseline()
{
	[ -w "$KMEMLEAK_FILE" ] || { echo "no $KMEMLEAK_FILE"; return 1; }
	echo scan=off >"$KMEMLEAK_FILE" &&
		echo scan >"$KMEMLEAK_FILE" &&
		echo clear >"$KMEMLEAK_FILE"
}

# kmemleak_scan: objects unreferenced since the baseline.  An object must
# be 5 s old to be reported, and a second scan confirms the first.
kmemleak_scan()
{
	local leaks

	sleep 6
	echo scan >"$KMEMLEAK_FILE" && echo scan >"$KMEMLEAK_FILE" || return 1
	leaks=$(cat "$KMEMLEAK_FILE")
	[ -z "$leaks" ] || { echo "$leaks"; return 1; }
	echo "kmemleak: nothing new"
}

# insmod_refused KO: loading fails, with the module's one message.
insmod_refused()
{
	! insmod "$1" && dmesg | grep 'axvcpu: '
}

# load_kvm: the KVM modules with their dependencies; /dev/kvm must appear.
load_kvm()
{
	if [ "$KVM_MODS" = builtin ]; then
		ls -l /dev/kvm
		return
	fi
	# shellcheck disable=SC2086 # a list of modules
	modprobe -a $KVM_MODS && ls -l /dev/kvm
}

# unload_kvm: the KVM modules and what they pulled in, last loaded first.
unload_kvm()
{
	local m rc=0

	[ "$KVM_MODS" != builtin ] || return 0
	for m in $(echo "$KVM_MODS" | tr ' ' '\n' | sed -n '1!G;h;$p'); do
		modprobe -r "$m" || rc=$?
	done
	return $rc
}

# The sample guests under axvm, plainly: what a user sees with "make run".
run()
{
	local arch rc=0

	case $(uname -m) in
	x86_64)		arch=x86 ;;
	aarch64)	arch=arm64 ;;
	*)		echo "no sample guests for $(uname -m)"; return ;;
	esac
	if ! insmod "$KO"; then
		echo "insmod $KO failed"
		dmesg | tail -n 20
		return
	fi
	echo "=== axvm guests/$arch/hello.elf"
	/tests/axvm "/tests/guests/$arch/hello.elf" || rc=$?
	echo "=== axvm --cpus 4 --stats guests/$arch/smp.elf"
	/tests/axvm --cpus 4 --stats "/tests/guests/$arch/smp.elf" || rc=$?
	echo "=== axvm guests/$arch/primes.elf"
	/tests/axvm "/tests/guests/$arch/primes.elf" || rc=$?
	echo "=== the guests ran; axvm exit status $rc"
	[ ! -x /tests/qemu_linux_test ] || run_qemu_linux
	if [ -n "$SHELL_AFTER" ]; then
		echo "=== shell: try /tests/axvm --help (exit to power off)"
		setsid cttyhack sh
	fi
	rmmod axvcpu || echo "rmmod axvcpu failed"
	[ $rc -eq 0 ] || dmesg | tail -n 40
	[ ! -x /tests/qemu_linux_test ] || run_qemu_linux_kvm
}

# Standard input's lines as one, "; " between them.
join_lines()
{
	awk 'NR > 1 { printf "; " } { printf "%s", $0 }'
}

# Debian's QEMU boots Linux on axvcpu, its console shown as it comes.
run_qemu_linux()
{
	local m="-M q35,kernel-irqchip=off"

	[ "$(uname -m)" = x86_64 ] || m="-M virt,gic-version=2,kernel-irqchip=off"
	echo "=== Debian's QEMU boots Linux on /dev/axvcpu (-accel kvm $m)"
	AXVCPU_QEMU_SHOW=1 AXVCPU_DEV=/dev/axvcpu /tests/qemu_linux_test \
		>/tmp/qemu-axvcpu.tap
	sed -n 's/^# //p' /tmp/qemu-axvcpu.tap
	if grep -q '^ok 1' /tmp/qemu-axvcpu.tap; then
		echo "=== Linux booted on /dev/axvcpu:" \
			"$(sed -n 's/^# qemu -smp 1 on [^:]*: //p' \
				/tmp/qemu-axvcpu.tap | join_lines)"
	else
		echo "=== Linux did not boot on /dev/axvcpu"
	fi
}

# The same boot on KVM, for the time beside axvcpu's.
run_qemu_linux_kvm()
{
	[ -n "$KVM_MODS" ] && [ "$KVM_MODS" != builtin ] || return 0
	# CPU0 alone for KVM, as in check().
	secondary_cpus 0
	if load_kvm >/dev/null 2>&1; then
		AXVCPU_DEV=/dev/kvm /tests/qemu_linux_test >/tmp/qemu-kvm.tap
		echo "=== the same on KVM: $(sed -n \
			's/^# qemu -smp 1 on [^:]*: //p' /tmp/qemu-kvm.tap |
			join_lines)"
		unload_kvm >/dev/null 2>&1
	fi
	secondary_cpus 1
}

bench()
{
	local n=${BENCH_N:-20000}

	# KVM in the kernel owns the extension: KVM's figures alone.
	if [ "$KVM_MODS" = builtin ]; then
		/tests/axvcpu-bench /dev/kvm "$n" || echo "bench failed: kvm"
		return
	fi
	if insmod "$KO"; then
		/tests/axvcpu-bench /dev/axvcpu "$n" || echo "bench failed: axvcpu"
		rmmod axvcpu || echo "bench failed: rmmod axvcpu"
	else
		echo "bench failed: insmod $KO"
	fi
	# shellcheck disable=SC2086 # one module a word
	if [ -n "$KVM_MODS" ] && modprobe -a $KVM_MODS; then
		/tests/axvcpu-bench /dev/kvm "$n" || echo "bench failed: kvm"
		# shellcheck disable=SC2086
		modprobe -r $KVM_MODS
	fi
}

echo "=== GUEST UP $(uname -r) $(cut -d' ' -f1 /proc/uptime) s"
case $MODE in
run)	run ;;
bench)	bench ;;
*)	check
	echo "=== DMESG BEGIN"
	dmesg
	echo "=== DMESG END"
	;;
esac
echo "=== GUEST DONE $(cut -d' ' -f1 /proc/uptime) s"

# Give the serial line time to drain: poweroff -f does not wait for it.
sleep 0.5
poweroff -f
while :; do sleep 1; done
