#!/usr/bin/env bats
# Under a stream of events, the watchers read the queue in batches (a short
# pause between reads instead of a wake-up per event). Batching must never
# cost an event, its order, its timely end, or -t.

load helper
load iw_helper

# create_files N PREFIX: creates N files in w/, as fast as Python can.
create_files() {
	python3 - "$1" "$2" <<'PY'
import os, sys
n, prefix = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    os.close(os.open("w/%s%05d" % (prefix, i), os.O_CREAT | os.O_WRONLY))
PY
}

# dense_stream FILE: opens and closes FILE for 15 s, as fast as Python can:
# the queue is never empty for long. Run it in the background.
dense_stream() {
	exec python3 -c '
import os, sys, time
end = time.time() + 15
while time.time() < end:
    os.close(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY))
' "$1" 3>&-
}

# outlived_by_control WRITER: waits for a control watcher that ends 4 s
# after it starts, stops the writer, and fails if the watcher under test
# ($PID, started with -t 1 before) is still running by then.
outlived_by_control() {
	local writer=$1 alive=0
	mkdir ctl
	"$IW" -qq -t 4 ctl 3>&- &
	wait_exit $!
	kill -0 "$PID" 2>/dev/null && alive=1
	kill "$writer" 2>/dev/null
	wait "$writer" 2>/dev/null || true
	[ "$alive" -eq 0 ] || fail "the stream kept -t from ending the watcher"
}

@test "a stream of 5,000 creations is printed whole and in creation order" {
	start_iw -m -e create --format '%f' w
	create_files 5000 f
	wait_lines out 5000
	kill "$PID"
	wait_exit
	seq -f 'f%05g' 0 4999 >want
	cmp -s want out || fail "lines differ from the creation order"
}

@test "the last event of a stream is printed without waiting for another" {
	start_iw -m -e create --format '%f' w
	create_files 2000 f
	wait_lines out 2000
	# The stream is over; one more event must come out on its own.
	touch w/last
	wait_lines out 2001
	[ "$(tail -n 1 out)" = last ] || fail "last line is not 'last'"
}

@test "inotifywait -m -t ends while only dropped events stream in" {
	deliberate_difference "the reference restarts the timeout on filtered events"
	[ -z "${VALGRIND:-}" ] || skip "under valgrind the watcher falls behind: the queue overflows, and each overflow, an event, restarts -t"
	start_iw -m -t 1 --exclude 'skip' w
	dense_stream w/skip &
	outlived_by_control $! || {
		# A watcher slowed below the stream's pace (sanitizers, load)
		# overflows the queue: an overflow is printed, and restarts -t.
		! grep -q Q_OVERFLOW out || skip "the watcher fell behind the stream here: the queue overflowed"
		return 1
	}
	wait_exit
	expect_status 2
	# Slowed (sanitizers, load), it may have overflowed the queue: that
	# is printed, and is all that may be.
	if grep -q Q_OVERFLOW out; then
		! grep -qv '^ Q_OVERFLOW $' out || fail "more than overflows printed: $(cat out)"
	else
		expect out
	fi
}

@test "inotifywatch counts every event of a stream" {
	start_iwatch -e create w
	create_files 5000 f
	kill -INT "$PID"
	wait_exit
	expect_status 0
	grep -qE '^5000 +5000 +w/$' out || fail "not 5000 creations counted"
}

@test "inotifywatch -t ends on time while events stream in" {
	# The stream runs before the count starts: a slow start of the
	# writer on a loaded machine must not leave the second empty.
	dense_stream w/a &
	local writer=$!
	wait_until test -e w/a
	start_iwatch -t 1 w
	outlived_by_control $writer
	wait_exit
	expect_status 0
	grep -qE '^[0-9]+ +.* w/$' out || fail "no table row for w/"
}
