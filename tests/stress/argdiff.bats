#!/usr/bin/env bats
# A seeded random differential test of arguments against inotify-tools
# (see argdiff.py): event lists, formats, time formats, filters, operands,
# timeouts and sort keys, run by ours and the reference, whose stdout,
# stderr and exit status must agree but for the deliberate differences of
# docs/compat.md. ARGDIFF_SEED=N reruns a failure.

load stress_helper

@test "random argument lists give the reference's output, messages and status" {
	[ -x /usr/bin/inotifywait ] && [ -x /usr/bin/inotifywatch ] ||
		skip "inotify-tools is not installed in /usr/bin"
	run_stress argdiff.py --seed "${ARGDIFF_SEED:-$(fresh_seed)}"
}
