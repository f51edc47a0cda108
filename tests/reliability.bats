#!/usr/bin/env bats
# What ours guarantees beyond the reference: no silent loss, no missed
# directories, right paths, clean exits. Each of these fails on the
# reference, so each is a deliberate difference.

load helper

# burst_trees N: creates N trees d<i>/a/b holding one written file each.
burst_trees() {
	local i
	for i in $(seq "$1"); do
		mkdir -p "w/d$i/a/b"
		echo x >"w/d$i/a/b/f"
	done
}

@test "a burst of mkdir -p and writes under -r -m loses no directory and no file, 5 rounds" {
	deliberate_difference "the reference misses directories created before their watch"
	local round
	for round in 1 2 3 4 5; do
		rm -rf w/* out err
		WATCHES=1 start_iw -m -r -q -e create,close_write --format '%w%f %e' w
		burst_trees 50
		wait_until unique_lines_at_least out 250
		kill "$PID"
		wait_exit
		[ "$(sort -u out | grep -c ' CREATE,ISDIR$')" -eq 150 ] || fail "round $round: directories"
		[ "$(sort -u out | grep -c ' CREATE$')" -eq 50 ] || fail "round $round: file creations"
		[ "$(sort -u out | grep -c ' CLOSE_WRITE,CLOSE$')" -eq 50 ] || fail "round $round: files"
		# A file the scan found still open for writing has its real
		# CLOSE_WRITE later: that one may come twice, nothing else.
		[ "$(grep -v CLOSE_WRITE out | sort | uniq -d | wc -l)" -eq 0 ] || fail "round $round: repeats"
	done
}

unique_lines_at_least() { [ "$(sort -u "$1" | wc -l)" -ge "$2" ]; }

@test "every file of trees copied in with cp -r is reported by close_write" {
	deliberate_difference "the reference reports about half of them"
	local i j
	mkdir src
	for i in $(seq 30); do
		mkdir -p "src/t$i/a/b/c"
		for j in 1 2 3 4 5 6; do echo "$i.$j" >"src/t$i/a/b/c/f$j"; done
	done
	WATCHES=1 start_iw -mrq -e close_write --format '%w%f' w
	# Three copies: the reference's loss depends on timing, ours is none.
	local k
	for k in 1 2 3; do
		cp -r src "w/copy$k"
		wait_until unique_lines_at_least out $((180 * k))
	done
	(cd w && find . -type f | sed 's|^\./||' | sort) >expected
	# A file the scan found still being written is reported again at its
	# real close: each file at least once is what a mirror needs.
	sed 's|^w/||' out | sort -u >got
	diff expected got || fail "files reported differ"
}

@test "a new directory's contents are reported, creations once each, with the events that made them" {
	deliberate_difference "the reference misses what was created before the watch"
	WATCHES=1 start_iw -mrq -e create,modify,close_write --format '%w%f %e' w
	mkdir -p w/n/x/y && echo hi >w/n/x/y/f && : >w/n/empty && ln -s f w/n/link
	wait_file_match out '^w/n/link CREATE$'
	wait_file_match out '^w/n/x/y/f CLOSE_WRITE,CLOSE$'
	# An event after the burst proves the queue was read past any repeats.
	touch w/marker
	wait_file_match out '^w/marker CREATE$'
	kill "$PID"
	wait_exit
	for line in 'w/n CREATE,ISDIR' 'w/n/x CREATE,ISDIR' 'w/n/x/y CREATE,ISDIR' \
	    'w/n/x/y/f CREATE' 'w/n/empty CREATE' 'w/n/link CREATE'; do
		[ "$(grep -cxF "$line" out)" -eq 1 ] || fail "'$line' not exactly once"
	done
	# A file the scan found still being written also gets its real
	# MODIFY and CLOSE_WRITE later.
	for line in 'w/n/x/y/f MODIFY' 'w/n/x/y/f CLOSE_WRITE,CLOSE' \
	    'w/n/empty CLOSE_WRITE,CLOSE'; do
		[ "$(grep -cxF "$line" out)" -ge 1 ] || fail "no '$line'"
	done
	! grep -q '^w/n/empty MODIFY' out || fail "an empty file was reported modified"
}

@test "a filter that drops directory events does not hide new subdirectories" {
	deliberate_difference "the reference never watches a directory whose CREATE was filtered"
	WATCHES=1 start_iw -mrq --include '\.txt$' --format '%w%f %e' w
	mkdir w/new
	wait_watches 2
	touch w/new/a.txt w/new/b.dat
	wait_file_match out '^w/new/a\.txt CREATE$'
	kill "$PID"
	wait_exit
	! grep -q 'b\.dat' out || fail "an excluded name was printed"
}

@test "a slow reader loses none of 200,000 events" {
	deliberate_difference "the reference lets the kernel queue overflow silently"
	needs_inotify "fanotify merges the queued repeats of one file's events"
	touch w/f
	mkfifo pipe
	# The reader takes the first line, then waits until all events were
	# made before reading the rest: the watcher must hold them meanwhile.
	(
		exec 5<pipe
		IFS= read -r first <&5
		while [ ! -e made ]; do sleep 0.1; done
		{ printf '%s\n' "$first"; cat <&5; } >out
	) 3>&- &
	local reader=$!
	"$IW" -m -q -t 3 -e open,close_nowrite --format '%f %e' w >pipe 2>err 3>&- &
	PID=$!
	wait_watches 1
	python3 -c '
for i in range(100000):
    open("w/f").close()
'
	touch made
	wait_exit
	wait "$reader"
	[ "$status" -eq 2 ] || fail "status $status"
	# An overflow (the watcher starved of CPU while the kernel's queue
	# filled) is told apart from a loss.
	! grep -q Q_OVERFLOW out || fail "overflow reported after $(grep -c . out) lines"
	[ "$(wc -l <out)" -eq 200000 ] || fail "$(wc -l <out) lines"
}

@test "a reader that falls behind finds all that is held in the pipe, for one read" {
	deliberate_difference "the reference blocks on a full pipe of 64 KiB"
	needs_inotify "fanotify merges the queued repeats of one file's events"
	# 8,000 lines of 64 bytes, 512,000 bytes, are made while the reader
	# waits; the bytes the pipe holds (FIONREAD) must reach them all. Two
	# names take turns: the kernel merges an event that repeats the last.
	python3 - "$IW" <<'PY' || fail "see above"
import fcntl, os, struct, subprocess, sys, termios, time
names = ["w/" + c * 61 for c in "ab"]
watcher = subprocess.Popen([sys.argv[1], "-m", "-e", "close_write",
                            "--format", "%w%f", "w"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
while b"Watches established." not in watcher.stderr.readline():
    pass
for i in range(8000):
    open(names[i % 2], "w").close()
want, held = 8000 * 64, 0
deadline = time.monotonic() + 20
while held < want and time.monotonic() < deadline:
    time.sleep(0.05)
    buf = fcntl.ioctl(watcher.stdout.fileno(), termios.FIONREAD, b"\0" * 4)
    held = struct.unpack("i", buf)[0]
got = os.read(watcher.stdout.fileno(), 4 << 20)
watcher.kill()
watcher.wait()
if got != "".join(n + "\n" for n in names).encode() * 4000:
    sys.exit("the pipe held %d bytes, one read took %d of %d" % (held, len(got), want))
PY
}

# overflow_queue: makes the kernel queue of the stopped watcher overflow
# (it holds 16384 events), then lets the watcher go on.
overflow_queue() {
	kill -STOP "$PID"
	python3 -c '
import os
for i in range(17000):
    os.close(os.open("w/f%d" % i, os.O_CREAT | os.O_WRONLY))
'
	kill -CONT "$PID"
}

@test "a kernel queue overflow is printed and warned about even when not asked for" {
	deliberate_difference "the reference drops the overflow unless -e q_overflow"
	WATCHES=1 start_iw -m -q -e create w
	overflow_queue
	wait_file_match out '^ Q_OVERFLOW $'
	grep -q 'overflow' err || fail "no warning on stderr"
}

@test "the overflow line of --format '%w%f' is empty, for a mirror loop to resync" {
	deliberate_difference "the reference drops the overflow unless -e q_overflow"
	WATCHES=1 start_iw -m -q -e create --format '%w%f' w
	overflow_queue
	wait_file_match out '^$'
}

@test "inotifywait exits when the reader of its output goes away, with no event" {
	deliberate_difference "the reference runs until the next event"
	mkfifo pipe
	"$IW" -m -q w >pipe 2>err 3>&- &
	PID=$!
	exec 4<pipe
	wait_watches 1
	exec 4<&-
	wait_exit
	[ "$status" -eq 141 ] || fail "status $status"
}

@test "inotifywait exits when the reader of its output goes away while events it does not print stream in" {
	deliberate_difference "the reference runs until the next event it prints"
	mkfifo pipe
	"$IW" -m -q -e modify --exclude '/[fg]$' w >pipe 2>err 3>&- &
	PID=$!
	exec 4<pipe
	wait_watches 1
	# Events that are read, and never printed, all the time; two names,
	# as the kernel merges a repeat of the event last queued.
	(while :; do echo x >>w/f; echo x >>w/g; done) 3>&- 4<&- &
	WRITER=$!
	# Many events read by now: the watcher is in its stream's pauses.
	wait_until size_at_least w/f 20000
	exec 4<&-
	wait_exit
	[ "$status" -eq 141 ] || fail "status $status"
}

@test "paths stay right after renames and moves at any depth" {
	deliberate_difference "the reference keeps stale names after delete, recreate and rename"
	mkdir -p w/a/b/c w/x
	WATCHES=5 start_iw -mrq -e create --format '%w%f' w
	mv w/a/b w/x/b2
	touch w/x/b2/c/one
	wait_file_match out '^w/x/b2/c/one$'
	mv w/x w/y
	touch w/y/b2/c/two
	wait_file_match out '^w/y/b2/c/two$'
	rmdir w/a && mkdir w/a && mv w/a w/z
	wait_watches 5
	touch w/z/three
	wait_file_match out '^w/z/three$'
	kill "$PID"
	wait_exit
	[ "$(wc -l <out)" -eq 4 ] || fail "unexpected lines"
}

@test "a directory moved out of the tree is no longer watched, at any depth" {
	deliberate_difference "the reference keeps watching the subdirectories of a moved-out directory"
	mkdir -p w/c/sub/deep outside
	WATCHES=4 start_iw -mrq -e create --format '%w%f' w
	mv w/c outside/
	# Once the watches are gone, nothing from outside can be reported.
	wait_watches_at_most 1
	touch outside/c/sub/deep/f outside/c/sub/f outside/c/f w/inside
	wait_file_match out '^w/inside$'
	[ "$(cat out)" = "w/inside" ] || fail "events from outside the tree"
}

@test "100,000 mkdir and rmdir cycles under -r -m leave memory flat" {
	deliberate_difference "memory bound of ours"
	[ -z "${SANITIZED:-}${VALGRIND:-}" ] || skip "a checking allocator keeps freed memory"
	needs_inotify "other processes' directories fill -S's bounded cache (fanotify_backend.bats)"
	WATCHES=1 start_iw -mrq -e create w
	rss() { awk '/^VmRSS/ { print $2 }' /proc/"$PID"/status; }
	python3 -c '
import os
for i in range(10000):
    os.mkdir("w/x"); os.rmdir("w/x")
'
	touch w/sync1
	wait_file_match out 'sync1'
	local before after
	before=$(rss)
	python3 -c '
import os
for i in range(100000):
    os.mkdir("w/x"); os.rmdir("w/x")
'
	touch w/sync2
	wait_file_match out 'sync2'
	after=$(rss)
	[ "$((after - before))" -le 256 ] || fail "RSS grew from $before kB to $after kB"
	[ "$(count_watches "$PID")" -eq 1 ] || fail "watches left behind"
}

@test "names with newline, CR, tab, spaces, a leading dash and non-UTF-8 bytes come out byte-exact with %0" {
	WATCHES=1 start_iw -m -q -e create --format '%w%f%0' --no-newline w
	local names=($'nl\nx' $'cr\rx' $'tab\tx' ' lead' 'trail ' '-dash' $'\xff\xfe')
	local n
	for n in "${names[@]}"; do touch "w/$n"; done
	wait_nuls out "${#names[@]}"
	for n in "${names[@]}"; do printf 'w/%s\0' "$n"; done >expected
	cmp expected out || fail "bytes differ"
}

@test "--csv quotes a name holding a carriage return" {
	deliberate_difference "the reference does not quote CR"
	WATCHES=1 start_iw -q -c -e create w
	touch w/$'a\rb'
	wait_exit
	[ "$(cat out)" = $'w/,CREATE,"a\rb"' ] || fail "csv line"
}

@test "the watch limit names the limit and the need, and nothing is left watched" {
	deliberate_difference "the reference gives no figures"
	unshare --user --map-root-user true 2>/dev/null || skip "no user namespaces here"
	mkdir -p w/a/b w/c w/d w/e w/f
	run unshare --user --map-root-user sh -c \
	    'echo 3 >/proc/sys/user/max_inotify_watches && exec "$0" -r w' "$IW"
	[ "$status" -eq 1 ] || fail "status $status"
	[[ "$output" == *"Failed to watch w; upper limit on inotify watches reached!"* ]] || fail "$output"
	[[ "$output" == *"The limit is 3 watches"*"this needs 7"*"fs.inotify.max_user_watches="* ]] || fail "$output"
}

@test "an unreadable directory under -r is reported and skipped, the rest watched" {
	deliberate_difference "the reference skips it silently"
	command -v setpriv >/dev/null || skip "no setpriv"
	local top
	top=$(mktemp -d /tmp/iw-unreadable.XXXXXX)
	chmod 755 "$top"
	mkdir -p "$top/w/closed/sub" "$top/w/open"
	chown -R 65534:65534 "$top/w"
	chmod 000 "$top/w/closed"
	cd "$top"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$IW" -m -r w >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	PID=$!
	cd "$BATS_TEST_TMPDIR"
	wait_file_match err '^Watches established\.$'
	grep -qx 'Skipping w/closed/: Permission denied' err || fail "no report"
	touch "$top/w/open/f"
	wait_file_match out '^w/open/ CREATE f$'
	kill "$PID"
	wait_exit
	rm -rf "$top"
}

@test "SIGTERM and SIGHUP end inotifywait with its output written" {
	local sig want dfl=()
	for sig in TERM HUP; do
		rm -f out err
		# Started with the signal's default action, even where the suite
		# runs with it ignored (nohup), which the watcher would keep.
		! env --default-signal="$sig" true 2>/dev/null ||
			dfl=(env --default-signal="$sig")
		"${dfl[@]}" "$IW" -m w >out 2>err 3>&- &
		PID=$!
		wait_file_match err '^Watches established\.$'
		touch w/"$sig"
		wait_file_match out "CLOSE_WRITE,CLOSE $sig\$"
		kill -"$sig" "$PID"
		wait_exit
		want=$((128 + $(kill -l "$sig")))
		[ "$status" -eq "$want" ] || fail "$sig: status $status"
	done
}

@test "inotifywait leaves SIGINT ignored when its shell started it ignored" {
	# A shell without job control starts background commands with SIGINT
	# ignored; the reference then ignores it too.
	start_iw -m w
	kill -INT "$PID"
	touch w/after
	wait_file_match out 'CREATE after$'
	kill -0 "$PID" || fail "SIGINT ended it"
}

@test "a directory moved in is reported with everything it holds, empty files included" {
	needs_inotify "-S does not scan a tree moved in: its contents are not told"
	deliberate_difference "the reference reports only the move"
	mkdir -p outside/m/sub
	: >outside/m/empty
	echo hi >outside/m/sub/f
	WATCHES=1 start_iw -mrq -e create,modify,close_write,moved_to --format '%w%f %e' w
	mv outside/m w/
	wait_file_match out '^w/m/sub/f CLOSE_WRITE,CLOSE$'
	touch w/marker
	wait_file_match out '^w/marker CREATE$'
	kill "$PID"
	wait_exit
	sort out >got
	printf '%s\n' 'w/m MOVED_TO,ISDIR' 'w/m/empty CREATE' 'w/m/empty CLOSE_WRITE,CLOSE' \
	    'w/m/sub CREATE,ISDIR' 'w/m/sub/f CREATE' 'w/m/sub/f MODIFY' \
	    'w/m/sub/f CLOSE_WRITE,CLOSE' 'w/marker CREATE' 'w/marker CLOSE_WRITE,CLOSE' | sort >want
	diff want got || fail "moved-in contents"
}

@test "inotifywait leaves a FIFO it shares with its reader blocking for the reader" {
	mkfifo f
	exec 5<>f
	"$IW" -m -q --format '%f' w >&5 2>err 3>&- &
	PID=$!
	wait_watches 1
	touch w/x
	# A blocking read waits for the line; a non-blocking one would fail.
	local line
	IFS= read -r -t "$DEADLINE" line <&5 || fail "read failed"
	[ "$line" = x ] || fail "got '$line'"
	exec 5<&-
}
