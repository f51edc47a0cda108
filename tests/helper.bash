# Shared set-up for the bats suite.
#
# The binaries under test come from variables, so the same suite runs
# against the reference implementation:
#   IW=/usr/bin/inotifywait IWATCH=/usr/bin/inotifywatch bats tests
# Tests of a deliberate difference call `deliberate_difference` first; it
# skips them when the binary under test is the reference.
#
# BACKEND=fanotify (make check-fanotify) runs the behaviour tests through
# wrappers that add -S; tests of what only inotify does call
# `needs_inotify` first.

: "${BATS_TEST_TIMEOUT:=60}"
export BATS_TEST_TIMEOUT

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
IW=${IW:-$TOP/inotifywait}
IWATCH=${IWATCH:-$TOP/inotifywatch}
# The program name getopt prints: argv[0], unless a wrapper changed it.
IWATCH_ARGV0=${IWATCH_ARGV0:-$IWATCH}

# Seconds any single wait may take before the test fails.
DEADLINE=${DEADLINE:-20}

# is_reference [BINARY]: the binary under test (default $IW) is the reference.
is_reference() {
	case "$(readlink -f "${1:-$IW}")" in
	/usr/bin/*) return 0 ;;
	esac
	return 1
}

# deliberate_difference REASON [BINARY]: skip the test when the binary
# under test (default $IW; inotifywatch tests pass "$IWATCH") is the
# reference (the test checks a behaviour where we deliberately differ).
deliberate_difference() {
	if is_reference "${2:-$IW}"; then
		skip "deliberate difference from the reference: $1"
	fi
}

# needs_inotify REASON: skip the test under the fanotify back end.
needs_inotify() {
	if [ "${BACKEND:-}" = fanotify ]; then
		skip "inotify only: $1"
	fi
}

# has_fanotify: this process may take fanotify file-system marks and open
# file handles (CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH).
has_fanotify() {
	local caps
	caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
	[ $((0x$caps >> 21 & 1)) -eq 1 ] && [ $((0x$caps >> 2 & 1)) -eq 1 ]
}

# needs_fanotify: the binary is ours (the reference ignores -F and -S),
# and may take fanotify marks here.
needs_fanotify() {
	deliberate_difference "the reference ignores -F and -S"
	has_fanotify || skip "fanotify needs CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH"
}

# backend_ready: skip the test if the back end under test cannot run here.
backend_ready() {
	if [ "${BACKEND:-}" = fanotify ] && ! has_fanotify; then
		skip "fanotify needs CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH"
	fi
}

setup() {
	backend_ready
	cd "$BATS_TEST_TMPDIR" || return 1
	mkdir -p w
	PID= WRITER=
}

# PID: the watcher a test started; WRITER: a process making events for it.
teardown() {
	local p
	for p in ${WRITER:-} ${PID:-}; do
		if kill -0 "$p" 2>/dev/null; then
			kill "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	return 0
}

# fail MESSAGE: print MESSAGE and the watcher's output, then fail.
fail() {
	{
		echo "FAIL: $*"
		for f in out err; do
			[ -f "$f" ] && { echo "--- $f:"; cat -A "$f"; }
		done
	} >&2
	return 1
}

# count_watches PID: the number of inotify watches the process holds, as
# the kernel lists them in fdinfo (works whatever the program prints);
# under fanotify, its marks.
count_watches() {
	if [ "${BACKEND:-}" = fanotify ]; then
		cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^fanotify \(sdev\|ino\|mnt\)'
		return 0
	fi
	cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:'
}

# wait_until CMD...: wait until CMD succeeds; fail after $DEADLINE seconds.
wait_until() {
	local i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le $((DEADLINE * 50)) ] || fail "'$*' still false after ${DEADLINE}s"
		sleep 0.02
	done
}

watches_at_least() { [ "$(count_watches "$2")" -ge "$1" ]; }
watches_at_most() { [ "$(count_watches "$2")" -le "$1" ]; }
file_matches() { grep -qE -- "$2" "$1"; }
size_at_least() { [ "$(stat -c %s "$1")" -ge "$2" ]; }
lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; }
nuls_at_least() { [ "$(tr -cd '\0' <"$1" | wc -c)" -ge "$2" ]; }

# wait_watches N [PID]: wait until the process holds at least N watches
# (under fanotify: its one mark of the file system).
wait_watches() {
	local n=$1
	[ "${BACKEND:-}" = fanotify ] && n=1
	wait_until watches_at_least "$n" "${2:-$PID}"
}

# wait_watches_at_most N [PID]: ... at most N (after watches were removed).
wait_watches_at_most() { wait_until watches_at_most "$1" "${2:-$PID}"; }

# wait_file_match FILE REGEX: wait until FILE has a line matching REGEX.
wait_file_match() { wait_until file_matches "$1" "$2"; }

# wait_lines FILE N: wait until FILE holds at least N lines.
wait_lines() { wait_until lines_at_least "$1" "$2"; }

# wait_nuls FILE N: wait until FILE holds at least N NUL bytes.
wait_nuls() { wait_until nuls_at_least "$1" "$2"; }

# wait_exit [PID]: wait for the process to end; its exit status goes to $status.
wait_exit() {
	local pid=${1:-$PID} i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $((DEADLINE * 50)) ]; then
			fail "process $pid still running after ${DEADLINE}s"
			return 1
		fi
		sleep 0.02
	done
	status=0
	wait "$pid" || status=$?
	[ "$pid" = "$PID" ] && PID=
	return 0
}

# expect_status N: the last run (iw, iwatch_run...) or wait_exit ended
# with exit status N.
expect_status() {
	[ "$status" -eq "$1" ] || fail "exit status $status, expected $1"
}

# start_iw ARGS...: start inotifywait in the background with stdout in
# ./out and stderr in ./err, and wait until its watches are in place.
# Without -q, readiness is the "Watches established." line; with -q (or
# when WATCHES is set), the number of watches the kernel lists.
start_iw() {
	# A previous run's "Watches established." must not count for this one.
	rm -f out err
	"$IW" "$@" >out 2>err 3>&- &
	PID=$!
	if [ -n "${WATCHES:-}" ]; then
		wait_watches "$WATCHES"
	else
		wait_file_match err '^Watches established\.$'
	fi
}

# start_iwatch ARGS...: start inotifywatch likewise; ready once it says
# it is collecting statistics.
start_iwatch() {
	rm -f out err
	"$IWATCH" "$@" >out 2>err 3>&- &
	PID=$!
	wait_file_match err '^Finished establishing watches, now collecting statistics\.$'
}
