#!/usr/bin/env bats
# A seeded random differential test of arguments against inotify-tools
# (see argdiff.py): event lists, formats, time formats, filters, operands,
# timeouts and sort keys, run by ours and the reference, whose stdout,
# stderr and exit status must agree but for the deliberate differences of
# docs/compat.md. ARGDIFF_SEED=N reruns a failure.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
IW=${IW:-$TOP/inotifywait}
IWATCH=${IWATCH:-$TOP/inotifywatch}
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
[ "$BATS_TEST_TIMEOUT" -ge 300 ] || BATS_TEST_TIMEOUT=300

load ../helper

@test "random argument lists give the reference's output, messages and status" {
	[ -x /usr/bin/inotifywait ] && [ -x /usr/bin/inotifywatch ] ||
		skip "inotify-tools is not installed in /usr/bin"
	local seed=${ARGDIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	run env IW="$IW" IWATCH="$IWATCH" python3 "$BATS_TEST_DIRNAME/argdiff.py" \
	    --seed "$seed"
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$output" >&2
		return 1
	fi
	printf '%s\n' "$output" | tail -1
}
