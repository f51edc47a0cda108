load helper
load iw_helper

# --- 0, 1, 2 ----------------------------------------------------------------

@test "inotifywait exits 0 after the first requested event" {
	start_iw -e create w
	touch w/a
	wait_exit
	expect_status 0
	expect out 'w/ CREATE a'
}

@test "inotifywait without -e exits 0 on the first event of any kind" {
	touch w/f
	start_iw w/f
	chmod 600 w/f
	wait_exit
	expect_status 0
	expect out 'w/f ATTRIB '
}

@test "inotifywait exits 1 and prints nothing when the watch goes away unrequested" {
	touch w/f
	start_iw -e modify w/f
	rm w/f
	wait_exit
	expect_status 1
	expect out
}

@test "inotifywait -t exits 2 when nothing happens" {
	iw -t 1 -e create w
	expect_status 2
	expect out
	expect err 'Setting up watches.' 'Watches established.'
}

@test "inotifywait -t exits 2 when only unrequested events happen" {
	start_iw -t 1 -e delete w
	touch w/a
	wait_exit
	expect_status 2
	expect out
}

@test "inotifywait -m -t exits 2 after the last event" {
	start_iw -m -t 1 -e create w
	touch w/a
	wait_exit
	expect_status 2
	expect out 'w/ CREATE a'
}

@test "inotifywait -m -t is an idle timeout restarted by every event" {
	start_iw -m -t 2 -e create w
	# Events about a second apart keep it running for over 3 s, past a
	# 2 s timeout counted from the start, without ever being idle 2 s.
	timer 1
	touch w/a
	wait_lines out 1
	timer 1
	touch w/b
	wait_lines out 2
	timer 1
	touch w/c
	wait_lines out 3
	kill -0 "$PID" 2>/dev/null || fail "exited although it was never idle for 2 s"
	wait_exit
	expect_status 2
	expect out 'w/ CREATE a' 'w/ CREATE b' 'w/ CREATE c'
}

@test "inotifywait -e ignored prints IGNORED and exits 0" {
	touch w/f
	start_iw -e ignored w/f
	rm w/f
	wait_exit
	expect_status 0
	expect out 'w/f IGNORED '
}

@test "inotifywait -e delete_self prints DELETE_SELF and exits 0" {
	touch w/f
	start_iw -e delete_self w/f
	rm w/f
	wait_exit
	expect_status 0
	expect out 'w/f DELETE_SELF '
}

@test "inotifywait -e isdir alone delivers nothing until the watch is gone" {
	mkdir w/d
	start_iw -e isdir w/d
	touch w/d/a
	rm w/d/a
	rmdir w/d
	wait_exit
	expect_status 1
	expect out
}

@test "inotifywait -e oneshot ends -m monitoring after the first event" {
	start_iw -m -t 1 -e create -e oneshot w
	touch w/a
	wait_lines out 1
	touch w/b
	wait_exit
	expect_status 2
	expect out 'w/ CREATE a'
}

@test "inotifywait -m -r -e oneshot: a creation ends a watch unreported, as -m -r watches creations" {
	needs_inotify "-S has one mark, not one oneshot watch per directory"
	mkdir -p w/d
	start_iw -m -r -t 1 -e delete,ignored -e oneshot w
	# The creation spends w/d's watch (IGNORED); the deletion is not seen.
	touch w/d/a
	wait_lines out 1
	rm w/d/a
	wait_exit
	expect_status 2
	expect out 'w/d/ IGNORED '
}

@test "inotifywait exits 2 when filtered events are the only ones" {
	start_iw -t 1 -e create --exclude 'skip' w
	touch w/skip
	wait_exit
	expect_status 2
	expect out
}

@test "inotifywait events dropped by --exclude do not restart -t" {
	deliberate_difference "the reference restarts the timeout on filtered events"
	start_iw -t 2 -e create --exclude 'skip' w
	local watcher=$PID
	# The control times out 3 s after the watcher started; by then a
	# watcher whose timeout was restarted by the events at ~1 s and ~2 s
	# would still be running.
	mkdir ctl
	"$IW" -qq -t 3 ctl 3>&- &
	local control=$!
	timer 1
	touch w/skip1
	timer 1
	touch w/skip2
	wait_exit "$control"
	kill -0 "$watcher" 2>/dev/null && fail "timeout was restarted by dropped events"
	wait_exit "$watcher"
	expect_status 2
	expect out
}

# --- watch failures -------------------------------------------------------

@test "inotifywait exits 1 when a path does not exist" {
	iw nothere
	expect_status 1
	expect err 'Setting up watches.' "Couldn't watch nothere: No such file or directory"
	expect out
}

@test "inotifywait -qq still reports a missing path" {
	iw -qq nothere
	expect_status 1
	expect err "Couldn't watch nothere: No such file or directory"
}

@test "inotifywait stops at the first path it cannot watch" {
	iw -q w nothere1 nothere2
	expect_status 1
	expect err "Couldn't watch nothere1: No such file or directory"
}

@test "inotifywait reports a directory it may not read" {
	needs_inotify "without CAP_DAC_READ_SEARCH -S says it falls back to inotify"
	chmod 000 w
	if [ "$(id -u)" -eq 0 ]; then
		# Root may read anything; drop the capabilities that allow it.
		command -v setpriv >/dev/null || skip "running as root without setpriv"
		setpriv --bounding-set -dac_override,-dac_read_search true 2>/dev/null ||
			skip "cannot drop capabilities here"
		status=0
		timeout -k 2 "$DEADLINE" setpriv --bounding-set -dac_override,-dac_read_search \
			"$IW" -t 1 w >out 2>err 3>&- || status=$?
	else
		iw -t 1 w
	fi
	chmod 755 w
	expect_status 1
	expect err 'Setting up watches.' "Couldn't watch w: Permission denied"
}

@test "inotifywait cannot follow a dangling symlink" {
	ln -s nowhere dl
	iw -t 1 dl
	expect_status 1
	expect err 'Setting up watches.' "Couldn't watch dl: No such file or directory"
}

@test "inotifywait -P watches a dangling symlink itself" {
	ln -s nowhere dl
	start_iw -P -e attrib dl
	touch -h dl
	wait_exit
	expect_status 0
	expect out 'dl ATTRIB '
}

@test "inotifywait -P on a symlink to a directory does not see the directory's events" {
	ln -s w ld
	start_iw -m -P -e create,attrib ld
	touch w/a
	touch -h ld
	wait_lines out 1
	expect out 'ld ATTRIB '
}

# --- watch names ----------------------------------------------------------

@test "inotifywait names a symlinked directory without a trailing slash" {
	ln -s w ld
	start_iw -e create ld
	touch w/new
	wait_exit
	expect_status 0
	expect out 'ld CREATE new'
}

@test "inotifywait names . as ./" {
	cd w
	start_iw -e create .
	touch x
	wait_exit
	expect_status 0
	expect out './ CREATE x'
}

@test "inotifywait keeps a double slash in the watch name" {
	start_iw -e create w//
	touch w/a
	wait_exit
	expect out 'w// CREATE a'
}

@test "inotifywait does not add a second slash" {
	start_iw -e create w/
	touch w/a
	wait_exit
	expect out 'w/ CREATE a'
}

@test "inotifywait names an absolute path as given plus a slash" {
	start_iw -e create "$PWD/w"
	touch w/a
	wait_exit
	expect out "$PWD/w/ CREATE a"
}

@test "inotifywait -m ends on SIGTERM with 143 even when its reader takes nothing more" {
	mkfifo pipe
	# The reader opens the pipe and never reads.
	sleep 600 <pipe 3>&- &
	WRITER=$!
	"$IW" -m --format '%f' w >pipe 2>err 3>&- &
	PID=$!
	wait_file_match err '^Watches established\.$'
	# Far more than the pipe holds, even grown to 1 MiB (three lines of
	# 200 bytes a file): the watcher is left holding the rest.
	local long
	long=$(printf '%0195d' 0)
	for i in $(seq 3000); do : >"w/$long-$i"; done
	kill -TERM "$PID"
	wait_exit
	[ "$status" -eq 143 ] || fail "status $status"
	# Ours says so; the reference dies in its write, saying nothing.
	is_reference || grep -q "^Couldn't write the last events: the reader took none for 2 seconds\.\$" err ||
		fail "no word of the events left unwritten"
}
