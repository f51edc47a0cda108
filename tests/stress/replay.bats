#!/usr/bin/env bats
# The replay test of the whole `inotifywait -m -r` event stream (see
# replay.py): a seeded random workload on a watched tree, whose printed
# events must rebuild the tree exactly. REPLAY_SEED=N reruns a failure;
# otherwise each run takes a fresh seed, which replay.py prints.

load stress_helper

# replay WRITERS: 30 rounds of 500 operations.
replay() {
	run_stress replay.py --seed "${REPLAY_SEED:-$(fresh_seed)}" \
	    --writers "$1" --rounds 30 --ops 500
}

@test "the -m -r event stream rebuilds the tree exactly, one writer, 30 rounds of 500 operations" {
	replay 1
}

@test "the -m -r event stream rebuilds the tree exactly, two writers, 30 rounds of 500 operations" {
	replay 2
}
