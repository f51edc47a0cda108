#!/usr/bin/env bats
# --prune REGEX (ours): under -r, a directory below an operand whose path,
# as %w prints it (with its final slash), matches the POSIX extended
# regular expression gets no watch, and nothing below it does: at set-up,
# when it is created or moved in later, or renamed to a matching path,
# and in both back ends. Its parent's
# events that name it still come. Operands themselves are always watched.

load helper
load iw_helper

setup_file() {
	export PRUNE_REASON="--prune is an extension of ours"
}

@test "--prune leaves matching directories unwatched at set-up, with all below them" {
	deliberate_difference "$PRUNE_REASON"
	mkdir -p w/a/cache/x w/cache w/b/keep
	start_iw -m -r -e create --prune '/cache/$' w
	if [ "${BACKEND:-}" != fanotify ]; then
		# w, w/a, w/b, w/b/keep
		[ "$(count_watches "$PID")" -eq 4 ] ||
			fail "$(count_watches "$PID") watches, expected 4"
	fi
	touch w/a/cache/x/f w/cache/f w/b/keep/f
	wait_lines out 1
	touch w/a/f
	wait_lines out 2
	expect out 'w/b/keep/ CREATE f' 'w/a/ CREATE f'
}

@test "--prune leaves directories created or moved in later unwatched, and names them in their parent" {
	deliberate_difference "$PRUNE_REASON"
	mkdir -p outside/tmp.d/in
	start_iw -m -r -e create,moved_to --prune '\.d/$' w
	mkdir -p w/new.d/sub
	mv outside/tmp.d w/moved.d
	touch w/new.d/f w/new.d/sub/f w/moved.d/f w/moved.d/in/f
	mkdir w/plain
	touch w/plain/f
	wait_lines out 4
	expect out 'w/ CREATE,ISDIR new.d' 'w/ MOVED_TO,ISDIR moved.d' \
		'w/ CREATE,ISDIR plain' 'w/plain/ CREATE f'
}

@test "--prune stops watching a directory renamed to a matching name or into a pruned one, with all below it" {
	deliberate_difference "$PRUNE_REASON"
	mkdir -p w/a/sub w/cache.d
	start_iw -m -r -e create,moved_to --prune '\.d/$' w
	mv w/a w/a.d
	mkdir -p w/b/sub
	wait_lines out 3
	mv w/b w/cache.d/b
	touch w/a.d/f w/a.d/sub/f w/cache.d/b/f w/cache.d/b/sub/f w/end
	wait_lines out 4
	expect out 'w/ MOVED_TO,ISDIR a.d' 'w/ CREATE,ISDIR b' 'w/b/ CREATE,ISDIR sub' \
		'w/ CREATE end'
	if [ "${BACKEND:-}" != fanotify ]; then
		[ "$(count_watches "$PID")" -eq 1 ] ||
			fail "$(count_watches "$PID") watches, expected 1 (w)"
	fi
}

@test "--prune never leaves an operand unwatched, and several patterns all apply" {
	deliberate_difference "$PRUNE_REASON"
	mkdir -p w/x w/y w/z
	start_iw -m -r -e create --prune '^w/' --prune '/x/$' --prune '/y/$' w w/z
	touch w/f w/x/f w/y/f w/z/f
	wait_lines out 2
	expect out 'w/ CREATE f' 'w/z/ CREATE f'
}

@test "inotifywatch --prune counts nothing below a pruned directory" {
	deliberate_difference "$PRUNE_REASON" "$IWATCH"
	mkdir -p w/skip w/count
	start_iwatch -r -e create --prune '/skip/$' w
	touch w/skip/f w/count/f
	kill -INT "$PID"
	wait_exit
	expect_status 0
	grep -qE '^1 +1 +w/count/$' out || fail "no count for w/count/"
	no_line out 'skip'
}

@test "a bad --prune pattern is refused with one line and exit 1" {
	deliberate_difference "$PRUNE_REASON"
	iw -r --prune '(' w
	expect_status 1
	expect err "Error in \`prune' regular expression: ("
}

# pruned_path DIR: DIR (w/a/b/), or a folder above it below w/, matches
# the pattern of the random test below.
pruned_path() {
	local p=${1#w/}
	while [ -n "$p" ]; do
		[[ ! "w/$p" =~ \.p/$ ]] || return 0
		p=${p%/}
		[[ $p == */* ]] && p=${p%/*}/ || p=
	done
	return 1
}

@test "--prune under seeded random folder moves: no event from below a pruned folder, and a watch for each other folder" {
	deliberate_difference "$PRUNE_REASON"
	local seed i op dirs subs d s name bad want have
	local names=(a0 a1 b0 b1 c0 a0.p a1.p b0.p)
	for seed in ${PRUNE_RANDOM_SEEDS:-3 4 17 101}; do
		rm -rf w && mkdir -p w/a w/b.p/c
		RANDOM=$seed
		start_iw -m -r -e create,moved_to,moved_from,delete --prune '\.p/$' w
		for ((i = 0; i < 150; i++)); do
			# Sorted: the order of a folder differs between file systems.
			mapfile -t dirs < <(find w -type d | LC_ALL=C sort)
			subs=("${dirs[@]:1}")
			d=${dirs[RANDOM % ${#dirs[@]}]} name=${names[RANDOM % 8]}
			s=${subs[RANDOM % (${#subs[@]} + 1)]:-}
			op=$((RANDOM % 4))
			case $op in
			0) mkdir "$d/$name" 2>/dev/null || true ;;
			1) [ -z "$s" ] || mv "$s" "$d/$name" 2>/dev/null || true ;;
			2) touch "$d/f$name" ;;
			3) [ -z "$s" ] || ((RANDOM % 4)) || rm -rf "$s" ;;
			esac
		done
		touch w/end
		wait_file_match out '^w/ CREATE end$'
		bad=$(while read -r d _; do pruned_path "$d" && echo "$d"; done <out | head -3)
		[ -z "$bad" ] || fail "seed $seed: events from below a pruned folder: $bad (again: PRUNE_RANDOM_SEEDS=$seed bats -f 'seeded random folder' tests/prune_option.bats)"
		if [ "${BACKEND:-}" != fanotify ]; then
			want=0
			while read -r d; do pruned_path "$d/" || want=$((want + 1)); done < <(find w -type d)
			have=$(count_watches "$PID")
			[ "$have" -eq "$want" ] ||
				fail "seed $seed: $have watches for $want folders not pruned (again: PRUNE_RANDOM_SEEDS=$seed bats -f 'seeded random folder' tests/prune_option.bats)"
		fi
		kill "$PID" && wait "$PID" || true
	done
}
