#!/usr/bin/env bats
# inotifywatch: a deliberate difference of ours.  Every event already
# queued by the kernel when collection ends (SIGINT, SIGTERM or the -t
# alarm) is counted.  The reference stops at once and loses what it has
# not read yet, so all these tests are skipped against it.
#
# Deliberately, the first two tests do NOT wait for the watcher to be idle
# (no wait_idle): the signal follows the actions immediately, as a user's
# Ctrl-C would.  The tests using SIGSTOP make it certain that the events
# are still unread in the kernel queue when the ending signal is handled.

load helper
load iwatch_helper

# A watcher left stopped by a failing test must be continued, or the
# helper's teardown would wait for it forever.
eval "helper_$(declare -f teardown)"
teardown() {
	[ -n "${PID:-}" ] && kill -CONT "$PID" 2>/dev/null
	helper_teardown
}

CREATE3='total  create  filename\n3      3       w/\n'

# one_round SIGNAL: watch w for CREATE, create three files, signal at once.
one_round() {
	rm -f w/a w/b w/c
	start_iwatch -e create w
	touch w/a w/b w/c
	kill -"$1" "$PID"
	wait_exit
}

# twenty_rounds SIGNAL: one_round 20 times; fails on the first miss.
twenty_rounds() {
	local i
	for i in $(seq 1 20); do
		one_round "$1"
		if ! expect_status 0 || ! expect_out "$CREATE3"; then
			fail "iteration $i of 20 missed"
			return 1
		fi
	done
}

@test "inotifywatch counts every event queued when SIGINT arrives" {
	deliberate_difference "reference loses queued events on SIGINT" "$IWATCH"
	twenty_rounds INT
}

@test "inotifywatch counts every event queued when SIGTERM arrives" {
	deliberate_difference "reference loses queued events on SIGTERM" "$IWATCH"
	twenty_rounds TERM
}

@test "inotifywatch counts events still unread when SIGINT is handled" {
	deliberate_difference "reference loses queued events on SIGINT" "$IWATCH"
	start_iwatch -e create w
	wait_idle
	# Stopped, the watcher cannot read: the events and then SIGINT are
	# both pending when it resumes.
	kill -STOP "$PID"
	touch w/a w/b w/c
	kill -INT "$PID"
	kill -CONT "$PID"
	wait_exit
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"
	expect_out "$CREATE3"
}

# ns_since_at_least START NS: NS nanoseconds have passed since START (a
# reading of date +%s%N).
ns_since_at_least() { [ $(($(date +%s%N) - $1)) -ge "$2" ]; }

@test "inotifywatch counts events still unread when the -t time is up" {
	deliberate_difference "reference loses queued events when -t expires" "$IWATCH"
	local start
	start_iwatch -t 1 -e create w
	# The -t time began before this moment.
	start=$(date +%s%N)
	wait_idle
	# Stopped, the watcher cannot read: the events are still queued when
	# it resumes past the end of its -t time.
	kill -STOP "$PID"
	touch w/a w/b w/c
	wait_until ns_since_at_least "$start" 1200000000
	kill -CONT "$PID"
	wait_exit
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"
	expect_out "$CREATE3"
}
