#!/usr/bin/env bats
# Races between the scan of a new directory and renames made while it
# runs. The scan watches the directory, lists it, then looks at each
# entry it listed; an entry renamed between two of those steps is a race
# that the replay test (tests/stress) meets once in a few hundred rounds.
# Here gdb stops the watcher at the exact step, at a C library call (so
# any build of ours serves), and makes the rename there: each race is
# run every time. The second breakpoint of each is armed by the first, as
# the set-up makes the same calls. The scan tells the entry as listed,
# with nothing in it; what it holds must still be told, once, under the
# path it has by then, before any event inside it.

load helper

setup() {
	command -v gdb >/dev/null 2>&1 || skip "gdb is not installed"
	[ -z "${VALGRIND:-}" ] || skip "gdb cannot stop a program valgrind runs"
	deliberate_difference "new directories are scanned, with renames during the scan followed"
	needs_inotify "the fanotify back end needs no scan to follow a new directory"
	cd "$BATS_TEST_TMPDIR" || return 1
	PID=
}

teardown() {
	local child
	if [ -n "${PID:-}" ]; then
		for child in $(ps -o pid= --ppid "$PID" 2>/dev/null); do
			kill "$child" 2>/dev/null
		done
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	return 0
}

# start_gdb GDBSCRIPT: inotifywait -m -r on t, under gdb with the
# breakpoints of GDBSCRIPT; its output in ./out and ./err, gdb's in
# ./gdb.log. Ready at "Watches established.".
start_gdb() {
	rm -f out err
	gdb -q -batch -nx -x "$1" \
	    -ex "run -m -r --format '%w|%f|%e' t >out 2>err" "$IW" \
	    >gdb.log 2>&1 3>&- &
	PID=$!
	wait_file_match err '^Watches established\.$'
}

# race_script AT1 DO1 AT2 DO2: a gdb script, g.gdb, that runs the shell
# command DO1 at the first stop at breakpoint AT1, and DO2 at the first
# stop at AT2 after that; each then touches reached1 or reached2.
race_script() {
	cat >g.gdb <<EOF
set pagination off
set breakpoint pending on
break $1
commands
  silent
  shell $2 && touch reached1
  delete 1
  enable 2
  continue
end
break $3
commands
  silent
  shell $4 && touch reached2
  delete 2
  continue
end
disable 2
EOF
}

# contents_told DIR FILE: the file DIR/FILE, which the scan did not see,
# is told once, and before a change made to it now.
contents_told() {
	wait_file_match out "^$1/\\|$2\\|CREATE\$"
	echo two >>"$1/$2"
	wait_file_match out "^$1/\\|$2\\|MODIFY\$"
	told_before "$1/|$2|CREATE" "$1/|$2|MODIFY"
	[ "$(grep -cxF "$1/|$2|CREATE" out)" -eq 1 ] || fail "$2 told twice"
}

# reached: both breakpoints of the race script were reached.
reached() {
	[ -f reached1 ] && [ -f reached2 ] || fail "the breakpoints were not reached"
}

# told_before FIRST SECOND: the line FIRST (a fixed string) is in out,
# and comes before any line SECOND.
told_before() {
	local a b
	a=$(grep -nxF -- "$1" out | head -1 | cut -d: -f1)
	b=$(grep -nxF -- "$2" out | head -1 | cut -d: -f1)
	[ -n "$a" ] || fail "never told: $1"
	[ -z "$b" ] || [ "$a" -lt "$b" ] || fail "'$2' told before '$1'"
}

@test "a directory renamed into a new one before its listing, then renamed on before it was read, is told with its contents" {
	mkdir -p t/w prep/X
	echo one >t/w/f1
	# fdopendir: the new directory X is watched, about to be listed.
	# fstatat of "it's": listed, not yet looked at.
	race_script 'fdopendir' \
	    'mv t/w "t/X/it'\''s"' \
	    'fstatat64 if $_streq((char *)$rsi, "it'\''s")' \
	    'mv "t/X/it'\''s" t/X/a'
	start_gdb g.gdb
	mv prep/X t/X
	wait_file_match out '^t/X/\|a\|MOVED_TO,ISDIR$'
	reached
	contents_told t/X/a f1
}

# adopted_race AT2 DO2: t/x (t/x/c/a, t/x/q) is renamed into the new
# directory P as P is about to be opened, so that its scan meets x, watched
# already, under the name b; DO2 runs at breakpoint AT2 after that.
adopted_race() {
	mkdir -p t/x/c t/x/q prep/P
	echo one >t/x/c/a
	race_script 'openat64 if $_streq((char *)$rsi, "t/P/")' \
	    'mv t/x t/P/b' "$1" "$2"
	start_gdb g.gdb
	mv prep/P t/P
}

@test "a watched subdirectory of a directory moved in, renamed between the listing and its stat, is told with its contents where it went" {
	adopted_race 'fstatat64 if $_streq((char *)$rsi, "c")' 'mv t/P/b/c t/c2'
	wait_file_match out '^t/\|c2\|MOVED_TO,ISDIR$'
	reached
	contents_told t/c2 a
}

@test "a watched subdirectory renamed between its stat and its opening by the scan is told with its contents where it went" {
	adopted_race 'openat64 if $_streq((char *)$rsi, "c")' 'mv t/P/b/c t/c2'
	wait_file_match out '^t/\|c2\|MOVED_TO,ISDIR$'
	reached
	contents_told t/c2 a
}

@test "a watched subdirectory renamed and removed between the listing and its stat is told empty, and nothing inside it is told" {
	adopted_race 'fstatat64 if $_streq((char *)$rsi, "c")' \
	    'mv t/P/b/c t/c2 && rm -r t/c2'
	wait_file_match out '^t/\|c2\|DELETE,ISDIR$'
	reached
	touch t/end
	wait_file_match out '^t/\|end\|CLOSE_WRITE,CLOSE$'
	told_before "t/P/b/|c|CREATE,ISDIR" "t/|c2|DELETE,ISDIR"
	! grep -q '|a|' out || fail "an event inside the directory told empty"
}

@test "a directory moved in, then renamed and replaced by a new one of its name before the watcher opened it, is told where it went, and the new one as new" {
	mkdir -p t prep/X
	echo one >prep/X/f1
	# The MOVED_TO of X is read; as its directory is opened by that path,
	# X has moved on to a and a new X has taken its place.
	cat >g.gdb <<'GDB'
set pagination off
set breakpoint pending on
break openat64 if $_streq((char *)$rsi, "t/X/")
commands
  silent
  shell mv t/X t/a && mkdir t/X && echo new >t/X/g && touch reached1
  delete 1
  continue
end
GDB
	start_gdb g.gdb
	mv prep/X t/X
	wait_file_match out '^t/X/\|g\|CLOSE_WRITE,CLOSE$'
	[ -f reached1 ] || fail "the breakpoint was not reached"
	echo two >>t/a/f1
	echo two >>t/X/g
	wait_file_match out '^t/a/\|f1\|MODIFY$'
	wait_file_match out '^t/X/\|g\|MODIFY$'
	told_before "t/|a|MOVED_TO,ISDIR" "t/a/|f1|CREATE"
	told_before "t/|X|CREATE,ISDIR" "t/X/|g|CREATE"
	[ "$(grep -cxF "t/X/|g|CREATE" out)" -eq 1 ] || fail "g told $(grep -cxF "t/X/|g|CREATE" out) times"
	! grep -q '^t/X/|f1|' out || fail "f1 told in the new X"
}

@test "a new directory the watcher cannot tell from another after its retries is reported on stderr, and watching goes on" {
	mkdir -p t
	# Every watch a scan places (the mask with IN_MASK_CREATE) is asked
	# of t instead, which is watched: the kernel refuses it, and the new
	# directory seems another one, watched already.
	cat >g.gdb <<'GDB'
set pagination off
set breakpoint pending on
break inotify_add_watch if ($rdx & 0x10000000) != 0
commands
  silent
  set {char[2]}$rsi = "t"
  continue
end
GDB
	start_gdb g.gdb
	mkdir t/X
	wait_file_match err "^Couldn't watch new directory t/X: its path kept leading elsewhere\$"
	[ "$(grep -c "Couldn't watch" err)" -eq 1 ] || fail "reported more than once: $(cat err)"
	touch t/after
	wait_file_match out '^t/\|after\|CLOSE_WRITE,CLOSE$'
}
