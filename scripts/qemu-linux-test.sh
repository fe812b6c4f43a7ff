#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# qemu-linux-test.sh - Debian's QEMU boots Linux on a KVM device.
#
# Installed in the test guest as /tests/qemu_linux_test; runs against
# $AXVCPU_DEV (/dev/axvcpu, or /dev/kvm for KVM's reference run), reached
# through /dev/kvm, the path QEMU opens.  It runs the unmodified
# qemu-system-x86_64 staged by scripts/qemu-linux.sh in /tests/qemu-linux:
# a q35 machine with QEMU's own interrupt controllers (kernel-irqchip=off)
# boots the test guest's own kernel to a busybox /init, which prints
# AXVCPU-LINUX-UP and powers off.  One case per vCPU count; TAP output.
# On arm64 it is qemu-system-aarch64 (scripts/qemu-linux-arm64.sh) with
# "virt", GICv2 emulated by QEMU (kernel-irqchip=off) and -cpu host.
#
# Environment:
#   AXVCPU_DEV		the device (default /dev/axvcpu)
#   AXVCPU_QEMU_TIMEOUT	seconds a boot may take (default 240)
#   AXVCPU_QEMU_SMP	the vCPU counts to boot (default 1)
#
# Two vCPUs do not boot with kernel-irqchip=off, on KVM either: QEMU 7.2's
# userspace local APIC ("deprecated for KVM", it warns) deadlocks in
# SeaBIOS's SMP setup.  After the AP's first HLT its thread spins in QEMU,
# holding the global lock, while the BSP waits for that lock; seen the same
# on kvm_amd with two CPUs online (Documentation/testing.rst).
#   AXVCPU_QEMU_SHOW=1	the guest's whole console, not just its end
#   AXVCPU_QEMU_DEBUG=1	also SeaBIOS's debug port and, on a failure, the
#			last exits of the axvcpu tracepoints

Q=/tests/qemu-linux
dev=${AXVCPU_DEV:-/dev/axvcpu}
timeout=${AXVCPU_QEMU_TIMEOUT:-240}
cpus=${AXVCPU_QEMU_SMP:-1}

# The machine, by the architecture QEMU and the test guest share.
if [ "$(uname -m)" = aarch64 ]; then
	qemu="qemu-system-aarch64"
	ld="ld-linux-aarch64.so.1"
	machine="-M virt,gic-version=2,kernel-irqchip=off -cpu host"
	console=ttyAMA0
else
	qemu="qemu-system-x86_64"
	ld="ld-linux-x86-64.so.2"
	machine="-M q35,kernel-irqchip=off -cpu qemu64 -vga none"
	console=ttyS0
fi

if [ ! -x "$Q/bin/$qemu" ]; then
	echo "1..0 # SKIP no QEMU staged in $Q"
	exit 4
fi
if [ "$dev" != /dev/kvm ]; then
	[ ! -e /dev/kvm ] || {
		echo "1..0 # SKIP /dev/kvm exists: KVM is loaded"
		exit 4
	}
	ln -s "$dev" /dev/kvm
	trap 'rm -f /dev/kvm' EXIT
fi

T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs tracefs $T 2>/dev/null
dbg=
loglevel=4
if [ "${AXVCPU_QEMU_DEBUG:-0}" = 1 ]; then
	loglevel=8
	dbg="-trace kvm_vcpu_ioctl -trace kvm_vm_ioctl -trace kvm_run_exit"
	dbg="$dbg -trace runstate_set"
	[ $qemu = qemu-system-aarch64 ] ||
		dbg="$dbg -chardev file,id=fw,path=/tmp/qemu-fw.log
		     -device isa-debugcon,iobase=0x402,chardev=fw
		     -trace cpu_in -trace cpu_out -trace apic_mem_writel
		     -trace cpu_set_apic_base"
	dbg="$dbg -D /tmp/qemu-trace.log"
fi

# The exits of a boot, counted by the kernel's histogram triggers on the
# device's tracepoints: every exit (keyed by the hardware's exit code) and
# those that reached QEMU (keyed by kvm_run's exit reason).
if [ "$dev" = /dev/kvm ]; then
	ev_all=kvm/kvm_exit
	key_all=exit_reason
	[ $qemu = qemu-system-x86_64 ] || key_all=esr_ec
	ev_user=kvm/kvm_userspace_exit
else
	ev_all=axvcpu/axvcpu_exit
	key_all=code
	ev_user=axvcpu/axvcpu_userspace_exit
fi

# The triggers; "!" before one removes it.
hist_all="hist:keys=$key_all.hex:sort=hitcount.descending:size=256"
hist_user="hist:keys=reason:sort=hitcount.descending:size=128"

# exits_on, exits_off: the histograms of one boot.
exits_on()
{
	[ -d $T/events/$ev_all ] && [ -d $T/events/$ev_user ] || return 0
	echo "$hist_all" >$T/events/$ev_all/trigger
	echo "$hist_user" >$T/events/$ev_user/trigger
}

exits_off()
{
	[ -d $T/events/$ev_all ] && [ -d $T/events/$ev_user ] || return 0
	echo "!$hist_all" >$T/events/$ev_all/trigger
	echo "!$hist_user" >$T/events/$ev_user/trigger
}

# exits_report: "N exits, M to QEMU; top: key=count ...", from the
# histograms, before exits_off drops them.
exits_report()
{
	local all user top

	[ -d $T/events/$ev_all ] && [ -d $T/events/$ev_user ] || return 0
	all=$(sed -n 's/^ *Hits: *//p' $T/events/$ev_all/hist)
	user=$(sed -n 's/^ *Hits: *//p' $T/events/$ev_user/hist)
	top=$(grep '^{' $T/events/$ev_all/hist | head -n 6 |
		sed 's/^{ *[a-z_]*: *\([^ }]*\).*hitcount: *\([0-9]*\).*/0x\1=\2/' |
		tr '\n' ' ')
	echo "${all:-?} exits, ${user:-?} to QEMU; most frequent ($key_all): $top"
}

# trace_on, trace_dump: the axvcpu events of one boot, for AXVCPU_QEMU_DEBUG.
trace_on()
{
	[ -n "$dbg" ] && [ -d $T/events/axvcpu ] || return 0
	echo 0 >$T/tracing_on
	echo >$T/trace
	echo 4096 >$T/buffer_size_kb
	echo 1 >$T/events/axvcpu/enable
	echo 1 >$T/tracing_on
}

trace_dump()
{
	[ -n "$dbg" ] || return 0
	echo 0 >$T/tracing_on 2>/dev/null
	echo "SeaBIOS:"
	tail -c 3000 /tmp/qemu-fw.log 2>/dev/null
	echo "QEMU's threads:"
	cat /tmp/qemu-stacks.log 2>/dev/null
	echo "QEMU's KVM calls:"
	tail -n 40 /tmp/qemu-trace.log 2>/dev/null
	echo "last exits:"
	grep -v '^#' $T/trace 2>/dev/null | tail -n 30
}

# stacks PID: where each thread of PID is, for AXVCPU_QEMU_DEBUG.
stacks()
{
	local t

	for t in /proc/"$1"/task/*; do
		echo "thread ${t##*/} $(cat "$t/comm" 2>/dev/null):" \
			"$(cat "$t/wchan" 2>/dev/null)"
		cat "$t/stack" 2>/dev/null | head -n 12
	done
}

# boot N: boot the guest with N vCPUs; its console in /tmp/qemu-linux.log.
# Returns QEMU's exit status, 137 when the time limit killed it.
boot()
{
	local pid t=0

	# shellcheck disable=SC2086 # $machine, $dbg: lists of arguments
	"$Q/lib/$ld" --library-path "$Q/lib" \
		"$Q/bin/$qemu" -L "$Q/fw" \
		-accel kvm $machine \
		-m 192 -smp "$1" -display none -nic none \
		-no-reboot -serial stdio -monitor none \
		-kernel "$Q/vmlinuz" -initrd "$Q/initrd.gz" \
		-append "console=$console panic=-1 loglevel=$loglevel" $dbg \
		</dev/null >/tmp/qemu-linux.log 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		if [ $t -ge "$timeout" ]; then
			[ -z "$dbg" ] || stacks $pid >/tmp/qemu-stacks.log
			kill -KILL $pid
			wait $pid
			echo "killed after $timeout s" >>/tmp/qemu-linux.log
			return 137
		fi
		sleep 1
		t=$((t + 1))
	done
	wait $pid
}

echo "TAP version 13"
echo "1..$(echo "$cpus" | wc -w)"
n=0
fails=0
online=$(grep -c ^processor /proc/cpuinfo)
for c in $cpus; do
	n=$((n + 1))
	# The reference runs of KVM have CPU0 alone (guest-init.sh).
	if [ "$c" -gt 1 ] && [ "$online" -lt 2 ]; then
		echo "ok $n Linux boots with $c vCPUs # SKIP one CPU online"
		continue
	fi
	start=$(cut -d' ' -f1 /proc/uptime)
	trace_on
	exits_on
	boot "$c"
	rc=$?
	exits=$(exits_report)
	exits_off
	secs=$(awk -v s="$start" -v e="$(cut -d' ' -f1 /proc/uptime)" \
		'BEGIN { printf "%.1f", e - s }')
	if [ "${AXVCPU_QEMU_SHOW:-0}" = 1 ] || [ -n "$dbg" ]; then
		sed 's/^/# /' /tmp/qemu-linux.log
	else
		tail -n 25 /tmp/qemu-linux.log | sed 's/^/# /'
	fi
	up=$(grep -o 'AXVCPU-LINUX-UP.*' /tmp/qemu-linux.log | tr -d '\r')
	echo "# qemu -smp $c on $dev: exit status $rc, $secs s; ${up:-no marker}"
	[ -z "$exits" ] || echo "# qemu -smp $c on $dev: $exits"
	if echo "$up" | grep -q " $c CPUs"; then
		echo "ok $n Linux boots to userspace with $c vCPU(s) in $secs s"
	else
		trace_dump | sed 's/^/# /'
		echo "not ok $n Linux boots to userspace with $c vCPU(s)"
		fails=$((fails + 1))
	fi
done
[ $fails -eq 0 ]
