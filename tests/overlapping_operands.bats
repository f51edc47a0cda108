#!/usr/bin/env bats
# Operands that overlap, nest or repeat, as scripts that build their path
# lists give them: one watch per directory, named after the first operand
# that reached it, a set-up that always ends, and no crash.

load helper
load iw_helper
load iwatch_helper

# The tree lives in t/, and the programs run there, so that their output
# (written beside t/) makes no events of its own.
setup() {
	backend_ready
	cd "$BATS_TEST_TMPDIR" || return 1
	mkdir -p t/sub/deep/deeper t/sub2 t/a/b
	PID=
}

# start_in_t READY TOOL ARGS...: start TOOL in t/ with stdout in ./out and
# stderr in ./err; wait until stderr has the line READY.
start_in_t() {
	local ready=$1 tool=$2
	shift 2
	rm -f out err
	(cd t && exec "$tool" "$@" >../out 2>../err 3>&-) &
	PID=$!
	wait_file_match err "$ready"
}

iw_in_t() { start_in_t '^Watches established\.$' "$IW" "$@"; }
iwatch_in_t() {
	start_in_t '^Finished establishing watches, now collecting statistics\.$' \
		"$IWATCH" "$@"
}

# stop_iw: end the watcher with SIGTERM; it must die of it (143).
stop_iw() {
	kill -TERM "$PID"
	wait_exit
	expect_status 143
}

@test "inotifywait -m -r . sub does not crash on a new directory chain" {
	iw_in_t -m -r . sub
	mkdir -p t/n1/a
	wait_file_match out '^\./ CREATE,ISDIR n1$'
	stop_iw
}

@test "inotifywait -m -r a . . finishes its set-up and watches each directory once" {
	iw_in_t -m -r -e create a . .
	# ., a, a/b, sub, sub/deep, sub/deep/deeper, sub2
	wait_watches 7
	[ "${BACKEND:-}" = fanotify ] || [ "$(count_watches "$PID")" -eq 7 ] ||
		fail "$(count_watches "$PID") watches, expected 7"
	touch t/a/b/x
	wait_lines out 1
	expect out 'a/b/ CREATE x'
	stop_iw
}

@test "inotifywatch -r with nested and repeated operands finishes its set-up" {
	iwatch_in_t -r -e modify sub/deep ./ .
	stop_iwatch
	expect_status 0
	expect err 'Establishing watches...' \
		'Finished establishing watches, now collecting statistics.' \
		'No events occurred.'
}

@test "inotifywait -m -r names a directory after the first operand that reached it" {
	iw_in_t -m -r -e create sub/deep sub sub2
	touch t/sub/x t/sub/deep/y
	wait_lines out 2
	expect out 'sub/ CREATE x' 'sub/deep/ CREATE y'
	stop_iw
}

@test "inotifywait -m -r keeps ./sub/ for sub when ./sub came before ." {
	iw_in_t -m -r -e create sub/deep ./sub .
	touch t/sub/x t/sub/deep/y t/z
	wait_lines out 3
	expect out './sub/ CREATE x' 'sub/deep/ CREATE y' './ CREATE z'
	stop_iw
}

@test "inotifywatch -r counts events under nested operands" {
	needs_inotify "the counts include the set-up walk's reads, which -S does not make"
	iwatch_in_t -r sub/deep sub sub2
	touch t/sub/x
	stop_iwatch
	expect_status 0
	grep -qE ' sub/$' out || fail "no row for sub/"
	grep -qE ' sub/deep/$' out || fail "no row for sub/deep/ (the second walk read it)"
}

@test "inotifywatch -v -r . sub counts every name a watch was set up under" {
	needs_inotify "-S sets up no watch per directory"
	iwatch_in_t -v -r . sub
	stop_iwatch
	expect_status 0
	has_line err 'Total of 10 watches.'
	grep -qE ' \./$' out || fail "no row for ./"
	grep -qE ' \./sub/$' out || fail "no row for ./sub/"
	grep -qE ' \./sub/deep/$' out || fail "no row for ./sub/deep/"
}

@test "inotifywait -m -r sub/deep sub reports the second walk reading sub/deep" {
	needs_inotify "-S has no set-up walk"
	iw_in_t -m -r sub/deep sub
	wait_lines out 12
	expect out 'sub/deep/ OPEN,ISDIR ' 'sub/deep/ ACCESS,ISDIR ' \
		'sub/deep/ OPEN,ISDIR deeper' 'sub/deep/deeper/ OPEN,ISDIR ' \
		'sub/deep/ ACCESS,ISDIR deeper' 'sub/deep/deeper/ ACCESS,ISDIR ' \
		'sub/deep/ ACCESS,ISDIR deeper' 'sub/deep/deeper/ ACCESS,ISDIR ' \
		'sub/deep/ CLOSE_NOWRITE,CLOSE,ISDIR deeper' \
		'sub/deep/deeper/ CLOSE_NOWRITE,CLOSE,ISDIR ' \
		'sub/deep/ ACCESS,ISDIR ' 'sub/deep/ CLOSE_NOWRITE,CLOSE,ISDIR '
	stop_iw
}

@test "an @ exclusion leaves out one spelling: a later operand's walk still watches the directory" {
	# @sub/deep leaves sub/deep out of sub's tree, but sub// spells it
	# sub//deep, which is watched, as the reference does, and goes by
	# that name; its events are reported even though sub// itself was
	# watched already (by sub) under another name.
	iw_in_t -m -r -e create sub @sub/deep sub//
	touch t/sub/deep/x t/sub/deep/deeper/y t/sub/z
	wait_lines out 3
	expect out 'sub//deep/ CREATE x' 'sub//deep/deeper/ CREATE y' 'sub/ CREATE z'
	stop_iw
}

@test "a later operand's walk reading a leaf below a watched directory is reported" {
	needs_inotify "-S has no set-up walk"
	# a is watched by the first operand; a//'s walk reads its leaf a//b,
	# which a's watch reports, then watches a//b (left out of a's tree).
	iw_in_t -m -r a @a/b a//
	wait_lines out 7
	expect out 'a/ OPEN,ISDIR ' 'a/ ACCESS,ISDIR ' 'a/ OPEN,ISDIR b' \
		'a/ ACCESS,ISDIR b' 'a/ CLOSE_NOWRITE,CLOSE,ISDIR b' \
		'a/ ACCESS,ISDIR ' 'a/ CLOSE_NOWRITE,CLOSE,ISDIR '
	touch t/a/b/x
	wait_lines out 8
	has_line out 'a//b/ CREATE x'
	stop_iw
}

# The operand spellings the random sets are drawn from, relative to t/.
SPELLINGS=(. ./ sub sub/ ./sub sub//deep sub/deep sub/deep/deeper sub2 a
	a/b ./a/b/ sub/../a)

# distinct_dirs OPERAND...: how many directories the operands' trees hold,
# each counted once however many operands reach it (run in t/).
distinct_dirs() {
	find "$@" -type d -printf '%i\n' | sort -u | wc -l
}

# lines_exist_in_t FILE: every line of FILE is a path that exists in t/.
lines_exist_in_t() {
	local line
	while IFS= read -r line; do
		[ -e "t/$line" ] || return 1
	done <"$1"
}

# random_set SEED: print 1 to 5 spellings, repeats allowed.
random_set() {
	local n i
	RANDOM=$1
	n=$((RANDOM % 5 + 1))
	for ((i = 0; i < n; i++)); do
		printf '%s\n' "${SPELLINGS[RANDOM % ${#SPELLINGS[@]}]}"
	done
}

# covered DIR OPERAND...: DIR (relative to t/) is in one operand's tree.
covered() {
	local dir o
	dir=$(cd t && realpath -m "$1")
	shift
	for o in "$@"; do
		o=$(cd t && realpath -m "$o")
		[[ "$dir/" == "$o"/* ]] && return 0
	done
	return 1
}

# check_set SEED HOW: watch the set SEED draws, with both tools, given on
# the command line (HOW=args) or in a --fromfile list (HOW=fromfile).
check_set() {
	local seed=$1 how=$2 want expected=0 total d repro
	local -a ops args
	mapfile -t ops < <(random_set "$seed")
	if [ "$how" = fromfile ]; then
		printf '%s\n' "${ops[@]}" >list
		args=(--fromfile ../list)
	else
		args=("${ops[@]}")
	fi
	repro="set $seed: cd t && inotifywait -m -r $(printf '%q ' "${args[@]}")"
	want=$(cd t && distinct_dirs "${ops[@]}")
	for d in sub/deep/deeper a/b sub; do
		covered "$d" "${ops[@]}" && expected=$((expected + 1))
	done

	iw_in_t -m -r -e create --format '%w%f' "${args[@]}" ||
		fail "inotifywait set-up did not end: $repro"
	[ "${BACKEND:-}" = fanotify ] || [ "$(count_watches "$PID")" -eq "$want" ] ||
		fail "$(count_watches "$PID") watches for $want directories: $repro"
	touch t/sub/deep/deeper/f t/a/b/f t/sub/f
	wait_lines out "$expected" || fail "inotifywait missed events: $repro"
	lines_exist_in_t out || fail "inotifywait printed a wrong path: $repro"
	kill -TERM "$PID"
	wait_exit
	[ "$status" -eq 143 ] || fail "inotifywait ended with $status: $repro"

	iwatch_in_t -r -e create "${args[@]}" ||
		fail "inotifywatch set-up did not end: ${repro/inotifywait -m/inotifywatch}"
	touch t/sub/deep/deeper/g t/a/b/g t/sub/g
	stop_iwatch
	[ "$status" -eq 0 ] || fail "inotifywatch ended with $status: ${repro/inotifywait -m/inotifywatch}"
	total=$(awk 'NR > 1 { n += $1 } END { print n + 0 }' out)
	[ "$total" -eq "$expected" ] ||
		fail "inotifywatch counted $total creations, expected $expected: ${repro/inotifywait -m/inotifywatch}"
	rm -f t/sub/deep/deeper/[fg] t/a/b/[fg] t/sub/[fg]
}

# check_sets HOW N: N sets from $OPERANDS_SEED (or a fresh seed, printed).
check_sets() {
	local base=${OPERANDS_SEED:-$((RANDOM * 32768 + RANDOM))} k
	echo "# OPERANDS_SEED=$base" >&3
	for ((k = 0; k < $2; k++)); do
		check_set $((base + k)) "$1" || return 1
	done
}

@test "no set of overlapping, nested or repeated operands crashes or hangs either tool" {
	check_sets args 20
}

@test "operand sets given with --fromfile behave as on the command line" {
	check_sets fromfile 10
}
