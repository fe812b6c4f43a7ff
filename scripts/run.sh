#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - boot a guest with axvcpu and run the demo (make run).
#
# Builds the module as scripts/check-x86-svm.sh does, builds tools/ and
# boots the same QEMU guest with /tests/axvcpu-demo, whose output shows on
# the terminal.  The guest powers off when the demo is done.
#
# Environment:
#   AXVCPU_SHELL=1	a shell in the guest after the demo (exit to end)
#   AXVCPU_TIMEOUT	seconds the guest may run (default 600)
#
# Exits with the status of QEMU: the demo's own status is printed by the
# guest.  The console is also saved in $AX_BUILD/run/serial.log.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

out=$AX_BUILD/run
mkdir -p "$out"
kernel_env

build_module "$KDIR" "$out/module" || die "module build failed"
make -C "$AX_REPO/tools" UAPI_INC="$AX_REPO/uapi" >"$out/tools.log" 2>&1 || {
	tail -n 40 "$out/tools.log" >&2
	die "tools build failed (log: $out/tools.log)"
}
"$AX_SCRIPTS/mkinitramfs.sh" "$out/initrd.gz" --ko "$out/module/axvcpu.ko" \
	-- "$AX_REPO/tools/axvcpu-demo"

args=axtest.mode=run
[ "${AXVCPU_SHELL:-0}" != 1 ] || args="$args axtest.shell=1"

msg "booting $KREL under QEMU (Ctrl-a x quits)"
export AXVCPU_INTERACTIVE=1
# shellcheck disable=SC2086 # kernel arguments, one a word
exec "$AX_SCRIPTS/qemu-x86.sh" "$VMLINUZ" "$out/initrd.gz" \
	"$out/serial.log" $args
