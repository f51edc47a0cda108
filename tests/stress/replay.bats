#!/usr/bin/env bats
# The replay test of the whole `inotifywait -m -r` event stream (see
# replay.py): a seeded random workload on a watched tree, whose printed
# events must rebuild the tree exactly. REPLAY_SEED=N reruns a failure;
# otherwise each run takes a fresh seed, which replay.py prints.

# helper.bash finds the binaries from its own directory's parent, which
# here is tests/: point them at the repository's top first.
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
IW=${IW:-$TOP/inotifywait}
IWATCH=${IWATCH:-$TOP/inotifywatch}
# 30 rounds take well under a minute; a round never waits more than 20 s.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
[ "$BATS_TEST_TIMEOUT" -ge 300 ] || BATS_TEST_TIMEOUT=300

load ../helper

# replay WRITERS: 30 rounds of 500 operations; replay.py's output is shown
# when it fails (its first line names the seed and how to rerun it).
replay() {
	local seed=${REPLAY_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	run env IW="$IW" python3 "$BATS_TEST_DIRNAME/replay.py" \
	    --seed "$seed" --writers "$1" --rounds 30 --ops 500
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$output" >&2
		return 1
	fi
	printf '%s\n' "$output" | tail -1
}

@test "the -m -r event stream rebuilds the tree exactly, one writer, 30 rounds of 500 operations" {
	replay 1
}

@test "the -m -r event stream rebuilds the tree exactly, two writers, 30 rounds of 500 operations" {
	replay 2
}
