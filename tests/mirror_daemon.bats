# A real-time mirror to a real rsync daemon: docs/mirror.sh, and the
# classic one-line-per-event loop, against `rsync --daemon` on 127.0.0.1
# with a password-protected module.

# Each test may wait MIRROR_DEADLINE (60 s) for a mirror to catch up.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-150}
[ "$BATS_TEST_TIMEOUT" -ge 150 ] || BATS_TEST_TIMEOUT=150

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

# mode_is MODE FILE: FILE has these permission bits (octal).
mode_is() {
	[ "$(stat -c %a "$2")" = "$1" ]
}

# make_tree DIR DIRS SUBDIRS FILES: DIR/dN/sM/fK, each 100 KB and unique.
make_tree() {
	local top=$1 d s f
	[ -f blob ] || head -c 102400 /dev/urandom >blob
	for d in $(seq 0 $(($2 - 1))); do
		for s in $(seq 0 $(($3 - 1))); do
			mkdir -p "$top/d$d/s$s"
			for f in $(seq 0 $(($4 - 1))); do
				{
					echo "$top/d$d/s$s/f$f"
					cat blob
				} >"$top/d$d/s$s/f$f"
			done
		done
	done
}

@test "mirror.sh is valid bash, and -h prints its usage" {
	bash -n "$MIRROR"
	[ -x "$MIRROR" ] || fail "mirror.sh is not executable"
	"$MIRROR_SHELL" "$MIRROR" -h >out 2>err
	grep -q '^Usage: ' out || fail "no usage"
	[ ! -s err ] || fail "stderr: $(cat err)"
	run "$MIRROR_SHELL" "$MIRROR" -i "$IW" src
	[ "$status" -eq 1 ] || fail "no destination: status $status"
}

@test "mirror.sh keeps a daemon module equal to a folder through a burst, renames, deletes, a copied tree and odd names" {
	mkdir -p src/old/deep
	echo seed >src/seed
	echo stale >module/stale-before-start
	echo keep >src/old/deep/keep
	start_mirror -s src -d "$URL"
	# The initial full sync (with --delete) is visible in the module.
	wait_synced module/old/deep/keep
	within "$MIRROR_DEADLINE" test ! -e module/stale-before-start || fail "the full sync kept a stale file"

	# A burst: 10 dirs x 4 subdirs x 5 files of 100 KB.
	make_tree src 10 4 5
	# Modify some, rename files and directories, delete some.
	echo more >>src/d1/s1/f1
	printf 'rewritten' >src/d1/s2/f0
	mv src/d2/s0/f0 src/d2/s0/renamed
	mv src/d2/s1/f1 src/d5/s2/moved-across
	mv src/d3 src/d3-renamed
	mv src/d4/s3 src/d6/s3-moved-in
	mv src/old src/old-renamed
	rm src/d7/s0/f0 src/d7/s0/f1
	rm -r src/d8
	chmod 600 src/d9/s0/f0
	# A tree copied in.
	make_tree tree 2 2 3
	cp -r tree src/copied
	# Names with spaces and a newline, and a symbolic link.
	echo spaces >"src/name with spaces"
	mkdir "src/dir with space"
	echo newline >"src/dir with space/new"$'\n'"line"
	ln -s d1/s1/f1 src/link
	wait_mirrored src module
	# The content is there; the mode may come later in the same rsync run.
	within "$MIRROR_DEADLINE" mode_is 600 module/d9/s0/f0 || fail "mode not mirrored"
	[ "$(readlink module/link)" = d1/s1/f1 ] || fail "link not mirrored"

	# More changes on top of a mirror in sync.
	mv src/d3-renamed src/d3
	rm -r src/copied/d1
	mv "src/dir with space" "src/dir with space 2"
	echo again >>"src/dir with space 2/new"$'\n'"line"
	# A folder listed with a file deleted in it: the folder is sent whole,
	# the deletion too.
	rm src/d5/s0/f1 && chmod 700 src/d5/s0
	# Names that hold the words of the watcher's own records.
	echo words >"src/ Q_OVERFLOW  BATCH_END  DELETE_SELF "
	wait_mirrored src module
	! grep -q 'failed' mirror.err || fail "a sync failed: $(cat mirror.err)"
	! grep -q 'overflow' mirror.err || fail "a name taken for an overflow: $(cat mirror.err)"
	stop_mirror
}

@test "the classic inotifywait | while read | rsync loop keeps a daemon module equal to a flat folder" {
	local src=$PWD/src
	mkdir src
	echo old >src/gone
	echo same >src/same
	rsync -a src/ "$URL"
	{
		echo "$BASHPID" >iw.pid
		exec "$IW" -mrq --format '%w%f' -e close_write,delete "$src" 2>iw.err
	} 3>&- | while read -r line; do
		if [ -e "$line" ]; then
			rsync -a --relative "$src/./${line#"$src"/}" "$URL"
		else
			rsync -a --delete "$src/" "$URL"
		fi
	done 3>&- &
	EXTRA_PIDS=$!
	within "$MIRROR_DEADLINE" test -s iw.pid || fail "no watcher"
	EXTRA_PIDS="$(cat iw.pid) $EXTRA_PIDS"
	wait_watches 1 "$(cat iw.pid)"
	echo one >src/a
	echo two >src/b
	echo three >src/c
	echo more >>src/a
	rm src/gone
	rm src/b
	wait_mirrored src module
	[ "$(cat module/a)" = "$(printf 'one\nmore')" ] || fail "modification not mirrored"
	[ ! -e module/gone ] || fail "deletion not mirrored"
}

@test "mirror.sh resyncs everything after the kernel's event queue overflows" {
	deliberate_difference "the reference drops the overflow unless -e q_overflow"
	local n
	n=$(($(cat /proc/sys/fs/inotify/max_queued_events) + 1000))
	mkdir src
	echo seed >src/seed
	start_mirror -s src -d "$URL"
	wait_synced module/seed
	kill -STOP "$(cat watcher.pid)"
	# More events than the queue holds (each file is at least CREATE and
	# CLOSE_WRITE): the later ones are lost, only a full sync brings them.
	(cd src && seq -f 'f%.0f' 1 "$n" | xargs touch)
	rm src/seed
	kill -CONT "$(cat watcher.pid)"
	wait_mirrored src module
	grep -q 'overflow' mirror.err || fail "overflow not reported: $(cat mirror.err)"
	stop_mirror
}

@test "mirror.sh retries a failing destination with back-off while the others stay in sync" {
	mkdir src
	echo seed >src/seed
	# rsync makes the last folder of a local destination, not its parent.
	start_mirror -b 2 -s src -d "$URL" -d "$PWD/later/copy/"
	wait_synced module/seed
	wait_file_match mirror.err 'failed .*full sync again in 1s'
	wait_file_match mirror.err 'failed .*full sync again in 2s'
	echo one >src/one
	wait_mirrored src module
	mkdir later
	wait_mirrored src later/copy
	wait_file_match mirror.err 'later/copy/ is in sync again'
	echo two >src/two
	wait_mirrored src later/copy
	wait_mirrored src module
	stop_mirror
}

@test "mirror.sh -x keeps excluded paths off the mirror and leaves excluded folders unwatched" {
	mkdir -p src/cache src/keep/x.tmp src/keep/build/o src/keep/deep/node_modules/m src/build
	echo seed >src/seed
	start_mirror -x /cache/ -x '*.tmp' -x 'deep/node_modules/' -x '/keep/bu?ld' -s src -d "$URL"
	wait_synced module/seed
	# Watched: the top, keep/, keep/deep/ and build/ (/keep/bu?ld is
	# anchored at the top: build/ is not keep/build/). Not watched:
	# cache/, keep/x.tmp/, keep/build/ with keep/build/o/, and
	# keep/deep/node_modules/ with what it holds.
	wait_watches 4 "$(cat watcher.pid)"
	[ "$(count_watches "$(cat watcher.pid)")" -eq 4 ] ||
		fail "$(count_watches "$(cat watcher.pid)") watches, expected 4"
	mkdir src/keep/new.tmp src/keep/new
	echo a >src/keep/a
	echo t >src/keep/b.tmp
	echo c >src/cache/c
	echo b >src/build/b
	echo z >src/z
	within "$MIRROR_DEADLINE" test -e module/z || fail "z not mirrored"
	within "$MIRROR_DEADLINE" test -e module/build/b || fail "build/b not mirrored"
	[ -e module/keep/a ] || fail "keep/a not mirrored"
	[ ! -e module/keep/b.tmp ] || fail "an excluded file was sent"
	[ ! -e module/cache/c ] || fail "a file in an excluded folder was sent"
	[ ! -e module/keep/new.tmp ] || fail "an excluded folder was sent"
	# The new keep/new/ is watched, keep/new.tmp/ is not.
	wait_watches 5 "$(cat watcher.pid)"
	[ "$(count_watches "$(cat watcher.pid)")" -eq 5 ] ||
		fail "$(count_watches "$(cat watcher.pid)") watches, expected 5"
	# Renamed to an excluded name, a folder leaves the mirror and is no
	# longer watched: what is made in it is not sent.
	mkdir src/keep/new/sub
	within "$MIRROR_DEADLINE" test -e module/keep/new/sub || fail "keep/new/sub not mirrored"
	mv src/keep/new src/keep/old.tmp
	echo f >src/keep/old.tmp/f
	echo g >src/keep/old.tmp/sub/g
	echo y >src/y
	within "$MIRROR_DEADLINE" test -e module/y || fail "y not mirrored"
	within "$MIRROR_DEADLINE" test ! -e module/keep/new || fail "keep/new stayed on the mirror"
	[ ! -e module/keep/old.tmp ] || fail "a folder renamed to an excluded name was sent"
	wait_watches_at_most 4 "$(cat watcher.pid)"
	[ "$(count_watches "$(cat watcher.pid)")" -eq 4 ] ||
		fail "$(count_watches "$(cat watcher.pid)") watches, expected 4"
	stop_mirror
}

@test "mirror.sh -f syncs everything periodically, repairing a mirror changed behind its back" {
	mkdir src
	echo seed >src/seed
	start_mirror -f 1 -s src -d "$URL"
	wait_synced module/seed
	# No event in the source tells of these: only a full sync repairs them.
	echo intruder >module/intruder
	rm module/seed
	wait_mirrored src module
	stop_mirror
}

@test "mirror.sh takes a listed path whose folder became a file before rsync ran as no failure" {
	local real
	real=$(command -v rsync)
	mkdir -p src/d bin
	# An rsync that first runs ./hook, once: the change lands between the
	# list and the run.
	printf '#!/bin/sh\n[ ! -f "%s/hook" ] || { sh "%s/hook"; rm -f "%s/hook"; }\nexec "%s" "$@"\n' \
		"$PWD" "$PWD" "$PWD" "$real" >bin/rsync
	chmod +x bin/rsync
	PATH=$PWD/bin:$PATH start_mirror -s src -d "$URL"
	wait_synced module/d
	printf 'rm -r "%s/src/d" && echo file >"%s/src/d"\n' "$PWD" "$PWD" >hook
	echo x >src/d/x
	within "$MIRROR_DEADLINE" test -f module/d || fail "d did not become a file on the mirror: $(cat mirror.err)"
	wait_mirrored src module
	[ ! -e hook ] || fail "the hook did not run"
	! grep -q 'failed' mirror.err || fail "taken for a failure: $(cat mirror.err)"
	stop_mirror
}

@test "mirror.sh logs one line per sync: destination, files, bytes and seconds" {
	mkdir src
	echo seed >src/seed
	start_mirror -s src -d "$URL"
	wait_synced module/seed
	printf '12345' >src/five
	wait_mirrored src module
	wait_file_match mirror.err "^mirror.sh: $URL: 1 file\\(s\\), 5 bytes, [0-9]+\\.[0-9]{2} s\$"
	stop_mirror
}

@test "mirror.sh -n sends a long burst in parts while it goes on" {
	mkdir src
	echo seed >src/seed
	# The watcher ends no burst for ten minutes: only -n can send these.
	start_mirror -q 600 -m 600 -n 20 -s src -d "$URL"
	wait_synced module/seed
	python3 -c '
for i in range(100):
    with open("src/f%03d" % i, "w") as f:
        f.write("x")
'
	wait_synced module/f000
	grep -q "^mirror.sh: $URL: [1-9][0-9]* file(s), " mirror.err || fail "no sync logged: $(cat mirror.err)"
	stop_mirror
}

@test "mirror.sh refuses an -n that is not a whole number of events" {
	mkdir src
	run "$MIRROR" -i "$IW" -n 0 -s src -d "$PWD/copy"
	[ "$status" -eq 1 ] || fail "status $status"
	[ "$output" = "mirror.sh: -n: '0' is not a whole number of events" ] || fail "said: $output"
}

# synced_times N: mirror.sh -v said N times that a destination is in sync.
synced_times() {
	[ "$(grep -c ' file(s), ' mirror.err)" -ge "$1" ]
}

@test "mirror.sh stops within seconds on SIGTERM, status 0 and nothing left, even when its watcher ignores SIGTERM" {
	mkdir -p src
	echo seed >src/seed
	# A watcher deaf to SIGTERM: the ignored signal stays ignored across exec.
	printf '#!/bin/bash\ntrap "" TERM\necho "Watches established." >&2\nexec sleep 600\n' >deaf
	chmod +x deaf
	start_mirror -i "$PWD/deaf" -s src -d "$URL"
	wait_synced module/seed
	start=$SECONDS
	stop_mirror
	[ $((SECONDS - start)) -lt 30 ] || fail "the stop took $((SECONDS - start)) s"
	grep -q 'did not end on SIGTERM; killed$' mirror.err || fail "no word of the kill: $(cat mirror.err)"
}

@test "mirror.sh uses no CPU while nothing changes, and stops cleanly on SIGTERM" {
	local before after
	mkdir src
	echo seed >src/seed
	start_mirror -s src -d "$URL"
	wait_synced module/seed
	echo one >src/one
	wait_mirrored src module
	# The batch is over: its rsync ended and said so.
	within "$MIRROR_DEADLINE" synced_times 2 || fail "no end of batch: $(cat mirror.err)"
	before=$(cpu_ticks "$MIRROR_PID")
	timer 2
	after=$(cpu_ticks "$MIRROR_PID")
	# A loop that polls would burn most of the 2 s (200 ticks).
	[ $((after - before)) -le 10 ] || fail "$((after - before)) ticks of CPU in 2 s idle"
	stop_mirror
}

@test "mirror.sh stops with status 1, leaving the mirror as it was, when the source folder is moved away" {
	local ids left
	mkdir -p src/sub
	echo seed >src/sub/seed
	start_mirror -s src -d "$URL"
	wait_synced module/sub/seed
	ids=$(descendants "$MIRROR_PID")
	mv src src-moved
	wait_exit "$MIRROR_PID"
	MIRROR_PID=
	[ "$status" -eq 1 ] || fail "status $status: $(cat mirror.err)"
	grep -q 'stopping' mirror.err || fail "no reason given: $(cat mirror.err)"
	[ -f module/sub/seed ] || fail "the mirror was changed"
	left=$(still_there $ids)
	[ -z "$left" ] || fail "processes left behind: $left"
	[ -z "$(ls -A work)" ] || fail "work folder left behind"
}

@test "the systemd unit for mirror.sh passes systemd-analyze verify, and its settings file names only what mirror.sh reads" {
	local var
	# Every setting in the example file is one mirror.sh (or rsync) reads.
	for var in $(sed -n 's/^#\{0,1\}\([A-Z_]*\)=.*/\1/p' "$TOP/docs/mirror.env"); do
		case $var in RSYNC_PASSWORD) continue ;; esac
		grep -q "\${$var:-" "$MIRROR" || fail "mirror.sh does not read $var"
	done
	grep -q '^EnvironmentFile=/etc/default/mirror$' "$TOP/docs/mirror.service" ||
		fail "the unit does not read /etc/default/mirror"
	command -v systemd-analyze >/dev/null ||
		skip "systemd-analyze is not installed: the unit's syntax is not checked"
	systemd-analyze verify "$TOP/docs/mirror.service" >out 2>err ||
		fail "systemd-analyze verify failed"
	[ ! -s err ] || fail "systemd-analyze: $(cat err)"
}

@test "the unit's command, run with a settings file as systemd passes it, mirrors and stops with 0 on SIGTERM" {
	deliberate_difference "mirror.sh reads --batch, an option of ours"
	local line exec_start
	local -a envs=(PATH="$PATH" TMPDIR="$PWD/work")
	mkdir -p src work
	echo seed >src/seed
	# The example settings, with this test's source and destination; the
	# lines systemd's EnvironmentFile= takes (KEY=VALUE; # starts a
	# comment), each passed whole, spaces and all, as systemd does.
	sed -e "s|^MIRROR_SOURCE=.*|MIRROR_SOURCE=$PWD/src|" \
		-e "s|^MIRROR_DESTS=.*|MIRROR_DESTS=$URL|" \
		-e 's|^#MIRROR_EXCLUDES=|MIRROR_EXCLUDES=|' \
		-e 's|^#MIRROR_RSYNC_OPTS=.*|MIRROR_RSYNC_OPTS=-H|' \
		"$TOP/docs/mirror.env" >settings
	printf 'MIRROR_INOTIFYWAIT=%s\nMIRROR_PIDFILE=%s\n' "$IW" "$PWD/watcher.pid" >>settings
	while IFS= read -r line; do
		[[ $line =~ ^[A-Z_]+= ]] && envs+=("$line")
	done <settings
	# ExecStart=, with the script where this tree has it.
	exec_start=$(sed -n 's/^ExecStart=//p' "$TOP/docs/mirror.service")
	[ "$exec_start" = "/bin/bash /usr/local/bin/mirror.sh" ] ||
		fail "unexpected ExecStart=$exec_start"
	env -i "${envs[@]}" /bin/bash "$MIRROR" >mirror.out 2>mirror.err 3>&- &
	MIRROR_PID=$!
	wait_synced module/seed
	mkdir -p src/cache src/keep
	echo a >src/keep/a
	echo c >src/cache/c
	within "$MIRROR_DEADLINE" test -e module/keep/a || fail "keep/a not mirrored"
	[ ! -e module/cache/c ] || fail "MIRROR_EXCLUDES=/cache/ was not honoured"
	# systemctl stop sends SIGTERM; Restart=on-failure restarts only on a
	# status other than 0.
	kill -TERM "$MIRROR_PID"
	PID=$MIRROR_PID MIRROR_PID=
	wait_exit
	expect_status 0
	[ ! -e watcher.pid ] || fail "the pidfile was left behind"
}

# Seeded random operations: files made, appended to, moved, linked,
# deleted; folders made, moved, copied and deleted; modes changed; names
# with any byte; bursts of random length. A failure prints the seed and
# the line that runs it again.
#   MIRROR_RANDOM_SEEDS="7 8"  the seeds to run (default: 4 fixed ones)
#   MIRROR_RANDOM_OPS=300      operations per seed (default 150)

# Names chosen to be hard: blanks at either end, a newline, quotes,
# glob and rsync filter characters, bytes that are not UTF-8, a leading
# dash, and the words of the watcher's own records.
NAMES=(a 'b c' $'new\nline' "q\"u'o" '*' '[x]' $'\xff\xfe' -dash ' lead' 'trail '
	.hidden BATCH_END 'Q_OVERFLOW ' '+ inc' '- exc' 'DELETE_SELF ' 'MOVE_SELF ')

# The name pattern a run excludes (-x), or none: rsync, diff -x and
# find -name read a pattern without a slash alike.
EXCLUDE=

# tree_state DIR: each entry's type, mode, link target and path, NUL-ended
# and sorted, but what EXCLUDE matches; the contents are compared by diff.
tree_state() {
	(cd "$1" && find . -mindepth 1 ${EXCLUDE:+-name "$EXCLUDE" -prune -o} \
		-printf '%y %m %l %P\0' | LC_ALL=C sort -z)
}

# same_tree A B: A and B hold the same names, types, modes, link targets
# and file contents, but what EXCLUDE matches.
same_tree() {
	diff -r --no-dereference ${EXCLUDE:+-x "$EXCLUDE"} "$1" "$2" >/dev/null 2>&1 &&
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
	local seed ops=${MIRROR_RANDOM_OPS:-150} n i sent sizes=(4 30 1000) excludes=('' 'BATCH_END*' '[x]*')
	for seed in ${MIRROR_RANDOM_SEEDS:-11 23 42 1009}; do
		# Each seed has a folder of its own in the module.
		rm -rf src ops
		mkdir src "module/$seed"
		echo seed >src/seed
		RANDOM=$seed
		# A burst limit of a few events sends most bursts in parts.
		n=${sizes[RANDOM % 3]}
		# Excluded names are made, moved in and out of the tree's view, and
		# must never reach the module ([x]* matches the x of mkdir -p x/y).
		EXCLUDE=${excludes[RANDOM % 3]}
		start_mirror -n "$n" ${EXCLUDE:+-x "$EXCLUDE"} -s src -d "$URL$seed/"
		wait_synced "module/$seed/seed"
		for ((i = 0; i < ops; i++)); do random_op; done
		within "$MIRROR_DEADLINE" same_tree_or_died src "module/$seed" || true
		if ! same_tree src "module/$seed"; then
			diff -r --no-dereference ${EXCLUDE:+-x "$EXCLUDE"} src "module/$seed" 2>&1 | cat -v | head -10 >&2
			diff <(tree_lines src) <(tree_lines "module/$seed") | head -10 >&2
			tail -5 ops >&2
			fail "seed $seed (-n $n${EXCLUDE:+ -x $EXCLUDE}): module differs; again: MIRROR_RANDOM_SEEDS=$seed bats -f 'seeded random' tests/mirror_daemon.bats; $(tail -3 mirror.err)"
		fi
		if [ -n "$EXCLUDE" ]; then
			sent=$(cd "module/$seed" && find . -name "$EXCLUDE" | head -3)
			[ -z "$sent" ] || fail "seed $seed (-x $EXCLUDE): excluded paths sent: $sent"
		fi
		! grep -q 'overflow\|failed' mirror.err || fail "seed $seed: $(cat mirror.err)"
		stop_mirror
	done
}
