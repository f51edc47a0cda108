# docs/mirror.sh against a real rsync daemon, under seeded random
# operations: files made, appended to, moved, linked, deleted, folders
# made, moved, copied and deleted, modes changed, names with any byte,
# in bursts of random length. After each run the module must hold the
# same names, types, modes, link targets and contents as the folder.
# A failure prints the seed and the line that runs it again.
#   MIRROR_RANDOM_SEEDS="7 8"  the seeds to run (default: 4 fixed ones)
#   MIRROR_RANDOM_OPS=300      operations per seed (default 150)

BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
[ "$BATS_TEST_TIMEOUT" -ge 300 ] || BATS_TEST_TIMEOUT=300

load helper
load iw_helper
load mirror_helper

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	EXTRA_PIDS=
	start_daemon
}

teardown() {
	mirror_teardown
}

# Names chosen to be hard: blanks at either end, a newline, quotes,
# glob and rsync filter characters, bytes that are not UTF-8, a leading
# dash, and the words of the watcher's own records.
NAMES=(a 'b c' $'new\nline' "q\"u'o" '*' '[x]' $'\xff\xfe' -dash ' lead' 'trail '
	.hidden BATCH_END 'Q_OVERFLOW ' '+ inc' '- exc' 'DELETE_SELF ' 'MOVE_SELF ')

# tree_state DIR: each entry's type, mode, link target and path, NUL-ended
# and sorted; the contents are compared by diff.
tree_state() {
	(cd "$1" && find . -mindepth 1 -printf '%y %m %l %P\0' | LC_ALL=C sort -z)
}

# same_tree A B: A and B hold the same names, types, modes, link targets
# and file contents.
same_tree() {
	diff -r --no-dereference "$1" "$2" >/dev/null 2>&1 &&
		cmp -s <(tree_state "$1") <(tree_state "$2")
}

# tree_lines DIR: tree_state a line each, a newline in a name shown as ?.
tree_lines() {
	tree_state "$1" | tr '\n\0' '?\n'
}

same_tree_or_died() {
	same_tree "$1" "$2" || mirror_died
}

# random_op: one operation in ./src chosen by $RANDOM, logged to ./ops.
# Every choice is made here: a subshell draws other numbers. Failing
# operations (a move into its own subtree, a name taken) are part of the
# game: what the folder holds afterwards is what counts.
random_op() {
	local -a dirs files subdirs fmodes=(600 644 640 755) dmodes=(700 750 755) targets=(. missing a0)
	local d f='' s='' name op fmode dmode target size
	# Sorted: the order of a folder differs from one file system to another.
	mapfile -d '' dirs < <(cd src && find . -type d -print0 | LC_ALL=C sort -z)
	mapfile -d '' files < <(cd src && find . -mindepth 1 ! -type d -print0 | LC_ALL=C sort -z)
	subdirs=("${dirs[@]:1}")
	d=${dirs[RANDOM % ${#dirs[@]}]}
	name=${NAMES[RANDOM % ${#NAMES[@]}]}$((RANDOM % 3))
	op=$((RANDOM % 16))
	# Operations on a file or a subfolder need one.
	((${#files[@]} > 0)) || ((op < 4 || op > 7)) || op=0
	((${#subdirs[@]} > 0)) || ((op < 8 || op > 11)) || op=12
	((${#files[@]} == 0)) || f=${files[RANDOM % ${#files[@]}]}
	((${#subdirs[@]} == 0)) || s=${subdirs[RANDOM % ${#subdirs[@]}]}
	# Link targets stay inside the folder: writing through a link must not
	# make files elsewhere.
	fmode=${fmodes[RANDOM % 4]} dmode=${dmodes[RANDOM % 3]} target=${targets[RANDOM % 3]}
	size=$((RANDOM % 3000))
	(
		cd src || exit
		case $op in
		0 | 1 | 2) head -c "$size" /dev/urandom >"$d/$name" ;;
		3) mkdir -p "$d/$name/x/y" && echo deep >"$d/$name/x/y/f" ;;
		4) echo more >>"$f" ;;
		5) mv -f "$f" "$d/$name" ;;
		6) rm -f "$f" ;;
		7) chmod "$fmode" "$f" ;;
		8) mv -f "$s" "$d/$name" ;;
		9) chmod "$dmode" "$s" ;;
		# Not into itself: what cp copies before it stops depends on
		# inode numbers, which would make the seed repeat differently.
		10) [[ $d/ == "$s"/* ]] || cp -r "$s" "$d/$name" ;;
		11) rm -rf "$s" ;;
		12) mkdir "$d/$name" ;;
		13) ln -s "$target" "$d/$name" ;;
		14) sleep 0.1 ;;   # a pause: the burst ends
		15) for i in 1 2 3 4 5 6 7 8; do : >"$d/$name.$i"; done ;;
		esac
	) 2>/dev/null || true
	printf '%d %q %q %q %q\n' "$op" "$d" "$f" "$s" "$name" >>ops
}

@test "mirror.sh keeps a daemon module equal to a folder through seeded random operations and bursts" {
	local seed ops=${MIRROR_RANDOM_OPS:-150} n i sizes=(4 30 1000)
	for seed in ${MIRROR_RANDOM_SEEDS:-11 23 42 1009}; do
		# Each seed has a folder of its own in the module.
		rm -rf src ops
		mkdir src "module/$seed"
		echo seed >src/seed
		RANDOM=$seed
		# A burst limit of a few events sends most bursts in parts.
		n=${sizes[RANDOM % 3]}
		start_mirror -n "$n" -s src -d "$URL$seed/"
		wait_synced "module/$seed/seed"
		for ((i = 0; i < ops; i++)); do random_op; done
		within "$MIRROR_DEADLINE" same_tree_or_died src "module/$seed" || true
		if ! same_tree src "module/$seed"; then
			diff -r --no-dereference src "module/$seed" 2>&1 | cat -v | head -10 >&2
			diff <(tree_lines src) <(tree_lines "module/$seed") | head -10 >&2
			tail -5 ops >&2
			fail "seed $seed (-n $n): module differs; again: MIRROR_RANDOM_SEEDS=$seed bats tests/mirror_random.bats; $(tail -3 mirror.err)"
		fi
		! grep -q 'overflow\|failed' mirror.err || fail "seed $seed: $(cat mirror.err)"
		stop_mirror
	done
}
