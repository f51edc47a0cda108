# Extra helpers for the inotifywait tests; load after helper.bash.

# iw ARGS...: run "$IW" to completion (bounded by DEADLINE), stdout in
# ./out, stderr in ./err, exit status in $status. stdin is inherited, so
# a test can feed --fromfile - with `iw ... <file`.
iw() {
	status=0
	timeout -k 2 "$DEADLINE" "$IW" "$@" >out 2>err 3>&- || status=$?
}

# expect FILE LINE...: FILE holds exactly these lines, byte for byte
# (no LINE at all: FILE is empty).
expect() {
	local file=$1
	shift
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" >want
	else
		: >want
	fi
	cmp -s want "$file" || fail "$file is not exactly: $(cat -A want)"
}

# expect_getopt FILE TEXT: FILE is the single line "<argv[0]>: TEXT"
# (glibc prints the program name as argv[0], so only the rest is checked).
expect_getopt() {
	local file=$1 text=$2 got
	[ "$(wc -l <"$file")" -eq 1 ] || fail "$file should hold one line"
	got=$(cat "$file")
	[[ "$got" == *": $text" ]] || fail "$file does not end with ': $text'"
}

# no_line FILE REGEX: no line of FILE matches REGEX.
no_line() {
	if grep -qE -- "$2" "$1"; then
		fail "unexpected line matching '$2' in $1"
	fi
}

# has_line FILE TEXT: FILE has a line that is exactly TEXT.
has_line() {
	grep -qxF -- "$2" "$1" || fail "no line '$2' in $1"
}

# timer N: let N seconds pass, measured by a watcher's own -t expiring on
# an idle directory (a real timer, not a guess about scheduling).
timer() {
	mkdir -p idle
	timeout -k 2 "$DEADLINE" "$IW" -qq -t "$1" idle 3>&- || [ $? -eq 2 ] ||
		fail "timer watcher did not time out"
}

# find_daemon OUTFILE: wait for the process that holds OUTFILE (an
# absolute path) open, that is the -d child writing its events there, and
# set PID to it so that teardown ends it.
find_daemon() {
	local want=$1 i=0 pid
	while :; do
		pid=$(find /proc/[0-9]*/fd -maxdepth 1 -type l -printf '%p\t%l\n' 2>/dev/null |
			awk -F '\t' -v want="$want" '$2 == want { split($1, p, "/"); print p[3]; exit }')
		if [ -n "$pid" ]; then
			PID=$pid
			return 0
		fi
		i=$((i + 1))
		[ "$i" -le $((DEADLINE * 10)) ] || fail "no process has $want open after ${DEADLINE}s"
		sleep 0.1
	done
}
