#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh - everything CI runs (make check).
#
# 1. scripts/deps.sh: the Debian packages (root, Debian 12);
# 2. scripts/kernel.sh: the test kernel, resolved and fetched once for all
#    the steps below;
# 3. scripts/lint.sh: checkpatch, W=1 builds, sparse;
# 4. "make <target>" for each target of $CHECK_TARGETS (default
#    check-x86-svm), each booting a guest that runs the selftests.
#
# Every step records its tests in $AXVCPU_RESULTS; a step that fails
# before it could record anything counts as one failed test.  The last
# line printed is the total, alone on its line:
#
#	N passed, N failed, N skipped
#
# and the exit status is non-zero when anything failed.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

CHECK_TARGETS=${CHECK_TARGETS:-check-x86-svm}
unset AX_KERNEL_ENV	# resolved afresh below, once for every step

mkdir -p "$AX_BUILD"
AXVCPU_RESULTS=$AX_BUILD/results
: >"$AXVCPU_RESULTS"
export AXVCPU_RESULTS

# step NAME COMMAND...: run one step, timed; if it fails without having
# recorded a result, record it as one failed test.
step()
{
	local name=$1 before after start rc=0 verdict=ok

	shift
	echo "=== $name"
	before=$(wc -l <"$AXVCPU_RESULTS")
	start=$(now)
	"$@" || rc=$?
	after=$(wc -l <"$AXVCPU_RESULTS")
	[ $rc -eq 0 ] || [ "$after" -ne "$before" ] || record "$name" 0 1 0
	[ $rc -eq 0 ] || verdict=FAILED
	echo "=== $name: $verdict ($(elapsed "$start") s)"
	return $rc
}

# totals: the per-step table and the summary line, from the results file.
totals()
{
	echo "=== results"
	awk '{
		printf "  %-28s %s passed, %s failed, %s skipped\n",
		       $1, $2, $3, $4
		p += $2; f += $3; s += $4
	}
	END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' \
		"$AXVCPU_RESULTS"
}

start=$(now)
status=0

# Without the packages and the kernel nothing else can run.
if step deps "$AX_SCRIPTS/deps.sh" && step kernel kernel_env; then
	step lint "$AX_SCRIPTS/lint.sh" || status=1
	for t in $CHECK_TARGETS; do
		step "$t" make --no-print-directory -C "$AX_REPO" "$t" ||
			status=1
	done
else
	status=1
fi

echo "=== check took $(elapsed "$start") s"
totals
[ $status -eq 0 ] && ! awk '$3 > 0 { bad = 1 } END { exit !bad }' \
	"$AXVCPU_RESULTS"
