load helper
load iw_helper

# The classic use: inotifywait -m piped into a shell loop that calls
# rsync for every reported path, keeping a mirror of a folder.

# Kill both processes before waiting: bash's wait on the loop's pid waits
# for the whole pipeline, inotifywait included.
teardown() {
	local p
	for p in ${PID:-} ${LOOP_PID:-}; do
		kill "$p" 2>/dev/null
	done
	for p in ${PID:-} ${LOOP_PID:-}; do
		wait "$p" 2>/dev/null
	done
	return 0
}

# mirror_start SRC DST: start the pipeline in the background; PID is
# inotifywait's, LOOP_PID the loop's.
mirror_start() {
	local src=$1 dst=$2
	{
		echo "$BASHPID" >iw.pid
		exec "$IW" -mrq --format '%w%f' -e close_write,delete "$src" 2>err
	} 3>&- | while read -r line; do
		printf '%s\n' "$line" >>seen
		# Sync the directory holding the reported entry, that one
		# only (-d, no recursion), so a wrong path leaves a stale mirror.
		dir=${line%/*}
		rsync -dlptgoD --delete -- "$dir/" "$dst/${dir#"$src"}/" 2>>rsync.err
	done 3>&- &
	LOOP_PID=$!
	wait_until test -s iw.pid
	PID=$(cat iw.pid)
}

mirrored() {
	diff -r "$1" "$2" >/dev/null 2>&1
}

@test "inotifywait -mrq piped into rsync keeps a mirror of a folder" {
	mkdir -p w/sub1/deep w/sub2 mirror
	echo keep >w/sub2/gone
	rsync -a w/ mirror/
	mirror_start w mirror
	wait_watches 4
	echo one >w/top
	echo two >w/sub1/a
	echo three >w/sub1/deep/b
	echo four >w/sub2/c
	echo more >>w/sub1/a
	rm w/sub2/gone
	wait_until mirrored w mirror
	[ ! -e mirror/sub2/gone ] || fail "deleted file still mirrored"
	[ "$(cat mirror/sub1/a)" = "$(printf 'two\nmore')" ] || fail "modification not mirrored"
	# The mirror can be complete before the last lines are handled.
	wait_file_match seen '^w/sub2/gone$'
	wait_file_match seen '^w/sub1/deep/b$'
	[ ! -s rsync.err ] || fail "rsync failed: $(cat rsync.err)"
	# Ending inotifywait ends the loop (end of input).
	kill "$PID"
	wait_exit "$LOOP_PID"
	expect_status 0
	LOOP_PID=
	wait_exit
}
