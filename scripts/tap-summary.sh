#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tap-summary.sh - judge the serial log of a test guest.
#
# Usage: tap-summary.sh LABEL LOG [EMULATOR_STATUS]
#
# LOG is the console of a guest that ran scripts/guest-init.sh; LABEL names
# the backend (x86-svm, ...) in the report.  Any backend's log is judged
# the same way.
#
# Each frame "=== BEGIN <name>" ... "=== END <name> rc=<n>" holds the TAP
# output of one test program or one step.  Every line of it is printed,
# prefixed with "LABEL/<name>: ", and its results are counted:
#
#   ok N ...			passed
#   ok N ... # SKIP ...	skipped (the kselftest harness's skip)
#   not ok N ... # TODO ...	skipped (a known, expected failure)
#   not ok N ...		failed
#
# Only results at the start of a line count: an indented result belongs
# to a subtest whose parent line is counted already, so each test counts
# once.  A frame also fails
#   - once when its program exited non-zero (4, the kselftest skip status,
#     only skips) without printing any "not ok";
#   - once per result its "1..N" plan announced but never printed;
#   - once, and only once, when it never ended (the guest crashed or hung
#     inside it).
#
# Two checks of the guest as a whole count as one test each:
#   guest:done	"=== GUEST DONE" was printed, and the emulator did not
#		time out (EMULATOR_STATUS 124 or 137)
#   guest:log	the kernel log is free of warnings, BUGs, oopses, lockdep,
#		KASAN/UBSAN and kmemleak reports, stalls and panics.  The
#		kernel's lines are those of the "=== DMESG" section, lines
#		outside frames, and time-stamped lines anywhere.
# and the run fails outright when no test passed.
#
# Prints the report, ending with "LABEL: N passed, N failed, N skipped";
# records the counts (see record() in lib.sh); exits 1 on any failure.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: ${0##*/} LABEL LOG [EMULATOR_STATUS]"
label=$1
log=$2
emu_rc=${3:-0}
[ -f "$log" ] || die "no log $log"

counts=$(mktemp)
trap 'rm -f "$counts"' EXIT

# The kernel's own reports of trouble.  Extend with care: every match fails
# the run.
splat='WARNING:|(^|[^A-Za-z])BUG:|Oops|KASAN|UBSAN|kernel BUG'
splat="$splat|general protection fault"
splat="$splat|possible recursive locking|circular locking"
splat="$splat|inconsistent lock state|INFO: possible|INFO: task .* blocked"
splat="$splat|turning off the locking correctness validator"
splat="$splat|suspected memory leak|soft lockup|hard LOCKUP|detected stall"
splat="$splat|Call Trace:|Kernel panic|Unable to handle kernel"

tr -d '\r' <"$log" | awk -v label="$label" -v splat="$splat" \
	-v emu_rc="$emu_rc" -v counts="$counts" '
function fail(what) {
	failed++
	problems = problems sprintf("  %s: %s\n", label, what)
}

# frame_done: account for the frame that just ended.
function frame_done(rc) {
	if (rc != 0 && rc != 4 && !f_notok)
		fail(frame ": exit status " rc)
	if (rc == 4 && !f_results)
		skipped++
	if (f_plan > f_results)
		fail(frame ": " f_plan - f_results " of " f_plan \
		     " planned results missing")
	frame = ""
}

# frame_lost: the frame never ended; one failure however much is missing.
function frame_lost() {
	fail(frame ": did not finish")
	frame = ""
}

/^=== BEGIN / {
	if (frame != "")
		frame_lost()
	frame = $3
	f_plan = f_results = f_notok = 0
	next
}

/^=== END / {
	if (frame == "")
		next
	rc = $4
	sub(/^rc=/, "", rc)
	frame_done(rc + 0)
	next
}

/^=== DMESG BEGIN/ { in_dmesg = 1; next }
/^=== DMESG END/ { in_dmesg = 0; next }
/^=== GUEST DONE/ { done = 1 }

# The kernel: dmesg, outside frames, or a printk time stamp.
in_dmesg || frame == "" || /^\[ *[0-9]+\.[0-9]+\] / {
	if ($0 ~ splat) {
		nsplat++
		if (nsplat <= 20)
			splats = splats "  " label "/kernel: " $0 "\n"
	}
}

frame == "" { next }

{ print label "/" frame ": " $0 }

/^1\.\.[0-9]+/ {
	plan = $0
	sub(/^1\.\./, "", plan)
	sub(/[^0-9].*$/, "", plan)
	f_plan = plan + 0
	next
}

/^(not )?ok( |$)/ {
	f_results++
	if ($0 ~ /^ok/ && $0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/)
		skipped++
	else if ($0 ~ /^not ok/ && $0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]/)
		skipped++
	else if ($0 ~ /^ok/)
		passed++
	else {
		failed++
		f_notok++
		problems = problems "  " label "/" frame ": " $0 "\n"
	}
}

END {
	if (frame != "")
		frame_lost()
	tests_passed = passed

	if (!done)
		fail("guest:done: the guest did not finish (crash or hang)")
	else if (emu_rc == 124 || emu_rc == 137)
		fail("guest:done: the emulator timed out")
	else
		passed++

	if (nsplat) {
		fail("guest:log: " nsplat " kernel log lines report trouble")
		problems = problems splats
	} else {
		passed++
	}

	if (!tests_passed)
		fail("no test passed")

	if (problems != "")
		printf "%s: problems:\n%s", label, problems
	printf "%s: %d passed, %d failed, %d skipped\n", label, passed,
	       failed, skipped
	printf "%d %d %d\n", passed, failed, skipped > counts
}'

read -r passed failed skipped <"$counts"
record "$label" "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
