# Set-up of the slow tier. helper.bash finds the binaries from its own
# directory's parent, which here would be tests/: point them at the
# repository's top first. A run takes a minute or so; none waits for ever.
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
IW=${IW:-$TOP/inotifywait}
IWATCH=${IWATCH:-$TOP/inotifywatch}
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
[ "$BATS_TEST_TIMEOUT" -ge 300 ] || BATS_TEST_TIMEOUT=300

load ../helper

# fresh_seed: a random 32-bit seed.
fresh_seed() { od -An -N4 -tu4 /dev/urandom | tr -d ' '; }

# run_stress SCRIPT ARGS...: run one of this tier's scripts with the
# binaries under test; its whole output is shown when it fails (its first
# failure line says how to rerun it), its summary line when it passes.
run_stress() {
	local script=$1
	shift
	run env IW="$IW" IWATCH="$IWATCH" python3 "$BATS_TEST_DIRNAME/$script" "$@"
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$output" >&2
		return 1
	fi
	printf '%s\n' "$output" | tail -1
}
