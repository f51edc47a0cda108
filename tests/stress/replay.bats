#!/usr/bin/env bats
# The replay test of the whole `inotifywait -m -r` event stream (see
# replay.py): a seeded random workload on a watched tree, whose printed
# events must rebuild the tree exactly. REPLAY_SEED=N reruns a failure;
# otherwise each run takes a fresh seed, which replay.py prints.

load stress_helper

# replay WRITERS [OPTION]: 30 rounds of 500 operations.
replay() {
	run_stress replay.py --seed "${REPLAY_SEED:-$(fresh_seed)}" \
	    --writers "$1" --rounds 30 --ops 500 ${2:+"$2"}
}

@test "the -m -r event stream rebuilds the tree exactly, one writer, 30 rounds of 500 operations" {
	replay 1
}

@test "the -m -r event stream rebuilds the tree exactly, two writers, 30 rounds of 500 operations" {
	replay 2
}

# Under -S a round need not be exact (the kernel merges queued events; a
# directory there at start is named by the path it has when first met:
# replay.py --fanotify prints each round's first difference); it must
# not hang, end, or complain.
@test "-S neither hangs nor ends nor complains under the replay workload, one writer, 30 rounds" {
	needs_fanotify
	replay 1 --fanotify
}

@test "-S neither hangs nor ends nor complains under the replay workload, two writers, 30 rounds" {
	needs_fanotify
	replay 2 --fanotify
}
