# Extra helpers for the inotifywatch tests.  Load after helper:
#   load helper
#   load iwatch_helper
#
# Run against the reference with
#   IWATCH=/usr/bin/inotifywatch IW=/usr/bin/inotifywait bats tests/inotifywatch_*.bats

# iwatch_is_reference: true when $IWATCH is the distribution's binary.
iwatch_is_reference() { is_reference "$IWATCH"; }

# Syscall numbers in which a process sits when it is idle, waiting for
# input or a signal: read, poll, select, pause, rt_sigtimedwait,
# rt_sigsuspend, epoll_wait, pselect6, ppoll, epoll_pwait, epoll_pwait2.
case "$(uname -m)" in
aarch64 | arm64) IWATCH_IDLE_SYSCALLS=" 63 73 72 137 133 22 441 " ;;
*) IWATCH_IDLE_SYSCALLS=" 0 7 23 34 128 130 232 270 271 281 441 " ;;
esac

# wait_idle [PID]: wait until the process is asleep in one of the syscalls
# above, i.e. it has consumed everything that was ready for it.
#
# Why this is a real synchronisation point: the kernel queues an inotify
# event synchronously inside the syscall that causes it (touch, chmod...)
# and wakes the reader at that moment.  /proc/PID/syscall only names a
# syscall while the task is stably asleep (it says "running" otherwise),
# and a reader blocked in select/poll/read on the inotify fd cannot be
# asleep while that fd is readable.  The reference reads the whole queue
# into its buffer and hands out every buffered event before it selects
# again, so once our actions have returned and the watcher is seen asleep
# in select, every event they caused has been counted.  Ours may instead
# be asleep in the pause it takes between reads while events stream in,
# with events still queued; it reads the queue before it acts on any
# signal, so what a signal sent afterwards reports includes them.  The same point
# also guarantees the reference has installed its signal handlers (it
# does so after printing "Finished establishing watches..."), so a SIGINT
# sent afterwards ends collection instead of hitting the "impatient user"
# handler of the set-up phase.
wait_idle() {
	local pid=${1:-$PID} i=0 sc
	while :; do
		sc=
		read -r sc _ <"/proc/$pid/syscall" 2>/dev/null
		if [ -z "$sc" ]; then
			fail "process $pid is gone while waiting for it to be idle"
			return 1
		fi
		case "$IWATCH_IDLE_SYSCALLS" in
		*" $sc "*) return 0 ;;
		esac
		i=$((i + 1))
		if [ "$i" -gt $((DEADLINE * 50)) ]; then
			fail "process $pid not idle after ${DEADLINE}s (last: $sc)"
			return 1
		fi
		sleep 0.02
	done
}

# stop_iwatch [SIGNAL]: once the watcher has counted everything (wait_idle),
# send it SIGNAL (default INT) and wait for it to exit; status in $status.
stop_iwatch() {
	wait_idle || return 1
	kill -"${1:-INT}" "$PID" || return 1
	wait_exit
}

# usr1_iwatch: make the watcher print its current table (SIGUSR1) and wait
# until it has done so and is idle again.  (Sending a signal wakes the
# task synchronously, so it is only seen idle again after the handler ran.)
usr1_iwatch() {
	wait_idle || return 1
	kill -USR1 "$PID" || return 1
	wait_idle
}

# iwatch_run ARGS...: run inotifywatch to completion (killed after
# $DEADLINE s so that a missing error check cannot hang the suite), stdout
# in ./out, stderr in ./err, exit status in $status.
iwatch_run() {
	status=0
	timeout -s KILL "$DEADLINE" "$IWATCH" "$@" >out 2>err 3>&- || status=$?
}

# _expect_file FILE WHAT FORMAT [ARGS...]: FILE must hold exactly the bytes
# of printf FORMAT ARGS.
_expect_file() {
	local file=$1 what=$2
	shift 2
	# shellcheck disable=SC2059
	printf -- "$@" >"expected.$file"
	if ! cmp -s "expected.$file" "$file"; then
		{
			echo "--- expected $what:"
			cat -A "expected.$file"
			diff -u "expected.$file" "$file"
		} >&2
		fail "$what differs from the expected bytes"
		return 1
	fi
}

# expect_out FORMAT [ARGS...] / expect_err FORMAT [ARGS...]: byte-exact
# comparison of ./out / ./err with printf FORMAT ARGS.
expect_out() { _expect_file out stdout "$@"; }
expect_err() { _expect_file err stderr "$@"; }

# The two lines every successful start prints on stderr.
ESTABLISHING='Establishing watches...\n'
FINISHED='Finished establishing watches, now collecting statistics.\n'
