#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bochs-x86.sh - boot the x86 test guest under Bochs with Intel VMX.
#
# Usage: bochs-x86.sh VMLINUZ INITRD LOG [KERNEL ARGS...]
#
# QEMU does not emulate VMX; Bochs does, with EPT, VPID and unrestricted
# guest for its "corei7_skylake_x" CPU (one CPU: Bochs has no SMP with
# VMX here).  Bochs cannot boot a bzImage directly and spends most of a
# minute in its XZ decompressor, so the kernel is booted uncompressed
# through its PVH entry instead:
#
#   ISO (isolinux) -> mboot.c32 -> bochs/pvh-shim (multiboot) -> vmlinux
#
# The flat kernel image (bochs/pvh-image.c) is made once per kernel and
# kept in the cache; the shim and the ISO are rebuilt each run (a second).
#
# The serial console is written to LOG.  Bochs does not end when Linux
# powers off with ACPI off, so the log is watched: after "=== GUEST DONE"
# (scripts/guest-init.sh) or a kernel panic, Bochs is stopped.
#
# Environment:
#   AXVCPU_TIMEOUT	seconds before the guest is killed (default 600)
#   AXVCPU_MEM		its memory in MiB (default 256)
#   AXVCPU_BOCHS_IPS	emulated instructions per guest second (default
#			50000000).  With "clock: sync=none" the guest's clock
#			counts instructions, not host time: runs are
#			repeatable, and time-outs in the guest are in
#			instructions.
#   AXVCPU_BOCHS_CPU	the CPU model (default corei7_skylake_x)
#
# Exits 0 when the guest finished, 124 when the time limit killed it, else
# Bochs's status.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: ${0##*/} VMLINUZ INITRD LOG [KERNEL ARGS...]"
vmlinuz=$1
initrd=$2
log=$3
shift 3

bochs_dir=$AX_SCRIPTS/bochs
work=${log%/*}/bochs
rm -rf "$work"
mkdir -p "$work/iso/isolinux"

# pvh_image: the kernel's flat image for the shim, made once per kernel.
pvh_image()
{
	local img off tool

	img=$AX_CACHE/pvh/${vmlinuz##*/}.pvh
	if [ ! -s "$img" ] || [ "$img" -ot "$vmlinuz" ] ||
	   [ "$img" -ot "$bochs_dir/pvh-image.c" ]; then
		mkdir -p "${img%/*}"
		tool=$work/pvh-image
		gcc -O2 -Wall -o "$tool" "$bochs_dir/pvh-image.c" >&2 ||
			die "cannot build pvh-image"
		# The bzImage's payload is an XZ stream of the ELF vmlinux.
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" |
			head -n 1 | cut -d: -f1)
		[ -n "$off" ] || die "$vmlinuz has no XZ payload"
		# xz stops at the stream's end: tail's SIGPIPE is expected.
		{ tail -c +$((off + 1)) "$vmlinuz" || :; } |
			xz -dc --single-stream >"$work/vmlinux" ||
			die "cannot unpack $vmlinuz"
		"$tool" "$work/vmlinux" "$img.tmp" >&2 || die "pvh-image failed"
		mv "$img.tmp" "$img"
		rm -f "$work/vmlinux"
	fi
	echo "$img"
}

img=$(pvh_image)

# The shim: 32-bit, freestanding, linked at 1 MiB.
build_shim()
{
	gcc -m32 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -mno-sse -mno-mmx -O2 -Wall \
		-c "$bochs_dir/pvh-shim.c" -o "$work/pvh-shim.o" || return 1
	gcc -m32 -c "$bochs_dir/pvh-start.S" -o "$work/pvh-start.o" || return 1
	ld -m elf_i386 -T "$bochs_dir/pvh-shim.ld" -nostdlib -z noexecstack \
		--no-warn-rwx-segments -o "$work/iso/pvh-shim.elf" \
		"$work/pvh-start.o" "$work/pvh-shim.o"
}

build_shim || die "cannot build the PVH shim"

# Kernel arguments, beyond those of qemu-x86.sh:
#   acpi=off		ACPI's start-up costs seconds under Bochs; no device
#			the tests need is behind it
#   cryptomgr.notests=1, initcall_blacklist=...
#			self-tests and tables nothing here uses, which take
#			seconds of emulated time
#   mitigations=off	the guest kernel is not what is tested
#   noxsave		Bochs's corei7_skylake_x reports an XSAVE area size
#			that disagrees with its features: the kernel warns
#			at boot (and the judge fails the run) unless XSAVE
#			is left off
append="console=ttyS0 quiet panic=-1 softlockup_panic=1 hung_task_panic=1"
append="$append acpi=off cryptomgr.notests=1 mitigations=off noxsave"
append="$append initcall_blacklist=trace_eval_init,load_system_certificate_list"
append="$append $*"

cp /usr/lib/ISOLINUX/isolinux.bin "$work/iso/isolinux/"
for f in ldlinux.c32 mboot.c32 libcom32.c32; do
	cp "/usr/lib/syslinux/modules/bios/$f" "$work/iso/isolinux/"
done
cp "$img" "$work/iso/vmlinux.pvh"
cp "$initrd" "$work/iso/initrd.gz"
cat >"$work/iso/isolinux/isolinux.cfg" <<EOC
SERIAL 0 115200
DEFAULT pvh
PROMPT 0
TIMEOUT 0
LABEL pvh
  KERNEL mboot.c32
  APPEND /pvh-shim.elf $append --- /vmlinux.pvh --- /initrd.gz
EOC
xorriso -as mkisofs -quiet -o "$work/boot.iso" \
	-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
	-boot-load-size 4 -boot-info-table "$work/iso" >"$work/xorriso.log" 2>&1 ||
	{ cat "$work/xorriso.log" >&2; die "cannot build the boot ISO"; }

# No display: Debian's Bochs has no "nogui"; an RFB server that never
# waits for a client is the closest.  The speaker and sound are off (the
# sound drivers crash without a device).
cat >"$work/bochsrc" <<EOC
megs: ${AXVCPU_MEM:-256}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=${AXVCPU_BOCHS_CPU:-corei7_skylake_x}, count=1, ips=${AXVCPU_BOCHS_IPS:-50000000}, reset_on_triple_fault=1
clock: sync=none, time0=946684800
display_library: rfb, options="timeout=0"
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$work/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$log
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
EOC
# Bochs's debugger, where built in, waits at a prompt: continue, then quit.
printf 'c\nquit\n' >"$work/debugger.rc"

timeout=${AXVCPU_TIMEOUT:-600}
rm -f "$log"
: >"$log"
(cd "$work" && exec bochs -q -f "$work/bochsrc" -rc "$work/debugger.rc" \
	</dev/null >"$work/bochs.out" 2>&1) &
pid=$!
start=$(now)
rc=
while kill -0 "$pid" 2>/dev/null; do
	if grep -qE '^=== GUEST DONE|Kernel panic - not syncing' "$log"; then
		sleep 1
		rc=0
		grep -q '^=== GUEST DONE' "$log" || rc=1
		break
	fi
	if [ "$(awk -v s="$start" -v e="$(now)" 'BEGIN { print (e - s >= 0) ? int(e - s) : 0 }')" -ge "$timeout" ]; then
		rc=124
		break
	fi
	sleep 0.5
done
if kill -0 "$pid" 2>/dev/null; then
	kill "$pid" 2>/dev/null || :
	wait "$pid" 2>/dev/null || :
else
	# Bochs ended by itself (it exits 1 even after a clean power-off).
	wait "$pid" 2>/dev/null || :
	[ -n "$rc" ] || { grep -q '^=== GUEST DONE' "$log" && rc=0 || rc=1; }
fi
exit "$rc"
