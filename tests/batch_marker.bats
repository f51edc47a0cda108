#!/usr/bin/env bats
# --batch QUIET[,MAX] (ours): under -m, each burst of events ends with a
# record whose events field is BATCH_END, once no event came for QUIET
# seconds or MAX seconds after the burst's first event. A shell loop reads
# it to know that the burst is over; it is never an event's record.

load helper
load iw_helper

setup_file() {
	export BATCH_REASON="--batch is an extension of ours"
}

@test "--batch ends a burst with one BATCH_END record after its quiet period" {
	deliberate_difference "$BATCH_REASON"
	start_iw -m --batch 1 -e create --format '%e %f' w
	touch w/a w/b
	wait_file_match out '^BATCH_END $'
	expect out "CREATE a" "CREATE b" "BATCH_END "
	# The next burst gets its own marker.
	touch w/c
	wait_lines out 5
	expect out "CREATE a" "CREATE b" "BATCH_END " "CREATE c" "BATCH_END "
}

@test "--batch prints no marker while nothing happens" {
	deliberate_difference "$BATCH_REASON"
	iw -m -t 1 --batch 0.1 w
	expect_status 2
	expect out
}

@test "--batch ends a batch after its longest delay while events keep coming" {
	deliberate_difference "$BATCH_REASON"
	start_iw -m --batch 2,2 -e modify --format '%e' w
	# Writes every 20 ms, never quiet for 2 s, until the marker comes.
	timeout -k 2 "$DEADLINE" python3 - <<'PY' || fail "no BATCH_END while writing"
import time
with open("w/f", "w") as f:
    while True:
        f.write("x")
        f.flush()
        with open("out") as o:
            if "BATCH_END" in o.read():
                break
        time.sleep(0.02)
PY
	grep -q '^MODIFY$' out || fail "no MODIFY before the marker"
}

@test "--batch marks a batch in NUL-separated output with a record of its own" {
	deliberate_difference "$BATCH_REASON"
	start_iw -m --batch 0.1 -e create --format '%e%0%w%f%0' --no-newline w
	touch 'w/new
line'
	wait_nuls out 4
	printf 'CREATE\0w/new\nline\0BATCH_END\0\0' >want
	cmp -s want out || fail "records differ: $(cat -A want)"
}

@test "--batch marks a batch in --csv output as a line of its own" {
	deliberate_difference "$BATCH_REASON"
	start_iw -m --batch 0.1 -e create --csv w
	touch w/a
	wait_lines out 2
	expect out "w/,CREATE,a" "BATCH_END,"
}

@test "--batch prints the marker in the default format too" {
	deliberate_difference "$BATCH_REASON"
	start_iw -m --batch 0.1 -e create w
	touch w/a
	wait_lines out 2
	expect out "w/ CREATE a" " BATCH_END "
}

@test "--batch ends the open batch when a signal ends the watcher" {
	deliberate_difference "$BATCH_REASON"
	start_iw -m --batch 60 -e create --format '%e %f' w
	touch w/a
	wait_file_match out '^CREATE a$'
	kill "$PID"
	wait_exit
	expect_status 143
	expect out "CREATE a" "BATCH_END "
}

@test "--batch refuses a value that is not seconds, and MAX below QUIET" {
	deliberate_difference "$BATCH_REASON"
	for value in 0 x 1, ,1 . 1e3 0x10 -1 0.0001 0.5,0.2 1,2,3; do
		iw -m --batch "$value" w
		expect_status 1
		expect err "--batch: '$value' is not <quiet>[,<max>] in seconds, with <quiet> at least 0.001 and <max> not below it."
	done
}

@test "--batch needs -m, and %e in a --format" {
	deliberate_difference "$BATCH_REASON"
	iw --batch 1 w
	expect_status 1
	expect err "--batch needs -m or -d: without them the first event ends the program."
	iw -m --batch 1 --format '%w%f' w
	expect_status 1
	expect err "--batch needs %e in --format: the events field is where BATCH_END marks the end of a batch."
}
