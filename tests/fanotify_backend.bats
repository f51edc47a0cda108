#!/usr/bin/env bats
# -S (and -F): one fanotify mark per file system instead of a watch per
# directory. The behaviour tests run through it too (make check-fanotify);
# these are the back end's own promises.

load helper
load iw_helper
load iwatch_helper

# inotify_watches PID: the inotify watches the process holds.
inotify_watches() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:'
}

# fanotify_marks PID: the fanotify file-system marks the process holds.
fanotify_marks() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^fanotify sdev:'
}

@test "-S watches a tree with one file-system mark and no watch per directory" {
	needs_fanotify
	mkdir -p w/a/b/c w/d/e w/f
	start_iw -m -r -S -e create w
	[ "$(fanotify_marks "$PID")" -eq 1 ] || fail "$(fanotify_marks "$PID") marks"
	[ "$(inotify_watches "$PID")" -eq 0 ] || fail "inotify watches were set"
	touch w/a/b/c/x
	wait_file_match out '^w/a/b/c/ CREATE x$'
}

@test "-S reports a burst of mkdir -p and writes whole, with no scan" {
	needs_fanotify
	start_iw -m -r -S -e create,close_write --format '%w%f %e' w
	local i
	for ((i = 0; i < 100; i++)); do
		mkdir -p "w/d$i/a/b"
		echo x >"w/d$i/a/b/f"
		echo y >"w/d$i/a/g"
	done
	touch w/end
	wait_file_match out '^w/end CLOSE_WRITE,CLOSE$'
	[ "$(grep -c '/b/f CLOSE_WRITE,CLOSE$' out)" -eq 100 ] || fail "files in b/ missed"
	[ "$(grep -c '/a/g CLOSE_WRITE,CLOSE$' out)" -eq 100 ] || fail "files in a/ missed"
	[ "$(grep -c '/a/b CREATE,ISDIR$' out)" -eq 100 ] || fail "directories missed"
}

@test "-S drops the events of the file system outside the operands" {
	needs_fanotify
	mkdir -p outside w/in
	start_iw -m -r -S -e create,modify --format '%w%f %e' w
	touch outside/x
	echo y >>outside/x
	touch w/in/marker
	wait_file_match out '^w/in/marker CREATE$'
	expect out 'w/in/marker CREATE'
}

@test "-S without -r reports the operand and its entries only" {
	needs_fanotify
	mkdir -p w/a
	start_iw -m -S -e create,open --format '%w|%f|%e' w
	touch w/a/deep
	ls w/a >/dev/null
	touch w/top
	wait_file_match out '^w/\|top\|OPEN$'
	expect out 'w/|a|OPEN,ISDIR' 'w/|top|CREATE' 'w/|top|OPEN'
}

@test "-S does not report its own output written into the watched tree" {
	needs_fanotify
	start_iw -m -r -S -e create,modify --outfile w/log w
	touch w/x
	wait_file_match w/log '^w/ CREATE x$'
	touch w/y
	wait_file_match w/log '^w/ CREATE y$'
	expect w/log 'w/ CREATE x' 'w/ CREATE y'
}

@test "-S names the events inside a tree deleted before any of them was read" {
	needs_fanotify
	mkdir -p w/a/b/c
	touch w/a/f w/a/b/c/g
	start_iw -m -r -S -e delete,delete_self --format '%w%f %e' w
	rm -rf w/a
	wait_file_match out '^w/a DELETE,ISDIR$'
	expect out 'w/a/b/c/g DELETE' 'w/a/b/c/ DELETE_SELF' 'w/a/b/c DELETE,ISDIR' \
		'w/a/b/ DELETE_SELF' 'w/a/b DELETE,ISDIR' 'w/a/f DELETE' \
		'w/a/ DELETE_SELF' 'w/a DELETE,ISDIR'
}

@test "-S tells the events fanotify merged one per line, in inotify's order" {
	needs_fanotify
	start_iw -m -r -S --format '%f %e' w
	# One process, so the kernel merges what is still queued: the second
	# write's events may fold into the first's (a documented difference).
	sh -c 'echo x >w/f; echo y >>w/f; mkdir w/d; rmdir w/d'
	wait_file_match out '^d DELETE,ISDIR$'
	grep -v ISDIR out | grep -v '^ DELETE_SELF$' >files
	# One event a line, created first, each write's close after it: the
	# order inotify gives, however the reads cut the merges.
	awk 'NR == 1 && $0 != "f CREATE" { exit 1 }
	    NR > 1 && $0 !~ /^f (OPEN|MODIFY|CLOSE_WRITE,CLOSE)$/ { exit 1 }
	    /MODIFY/ { open_write = 1 } /CLOSE_WRITE/ { open_write = 0; closes++ }
	    END { exit !(closes >= 1 && closes <= 2 && !open_write) }' files ||
		fail "file events out of order: $(cat -A files)"
	grep -v '^f ' out >dirs
	expect dirs 'd CREATE,ISDIR' ' DELETE_SELF' 'd DELETE,ISDIR'
}

@test "-S pairs a rename's two lines with one cookie, and follows the directory" {
	needs_fanotify
	mkdir -p w/a/b
	start_iw -m -r -S -e moved_from,moved_to,create --format '%w%f %e %c' w
	mv w/a w/z
	touch w/z/b/x
	wait_file_match out '^w/z/b/x CREATE'
	[ "$(sed -n 1p out | awk '{print $1, $2}')" = 'w/a MOVED_FROM,ISDIR' ] || fail "no MOVED_FROM"
	[ "$(sed -n 2p out | awk '{print $1, $2}')" = 'w/z MOVED_TO,ISDIR' ] || fail "no MOVED_TO"
	[ "$(sed -n 1p out | awk '{print $3}')" = "$(sed -n 2p out | awk '{print $3}')" ] ||
		fail "the cookies differ"
	[ "$(sed -n 1p out | awk '{print $3}')" != 0 ] || fail "no cookie"
}

@test "-S names a directory renamed twice, in one read of the queue, by each name in turn" {
	needs_fanotify
	start_iw -m -r -S -e create --format '%w%f' w
	mkdir w/x
	wait_file_match out '^w/x$'
	# Stopped, the watcher reads all that follows at once; the first
	# rename's old name must not stick to what comes after it.
	kill -STOP "$PID"
	mv w/x w/y
	touch w/y/f
	mv w/y w/z
	touch w/z/g
	kill -CONT "$PID"
	wait_file_match out '^w/z/g$'
	expect out 'w/x' 'w/y/f' 'w/z/g'
}

@test "-S names what is made in a new directory by the name it had then, not the one a later rename gave it" {
	needs_fanotify
	start_iw -m -r -S -e create,moved_from,moved_to --format '%w%f %e' w
	kill -STOP "$PID"
	mkdir -p w/c/d
	touch w/c/d/f
	mv w/c w/z
	touch w/z/d/g
	kill -CONT "$PID"
	wait_file_match out '^w/z/d/g CREATE$'
	expect out 'w/c CREATE,ISDIR' 'w/c/d CREATE,ISDIR' 'w/c/d/f CREATE' \
		'w/c MOVED_FROM,ISDIR' 'w/z MOVED_TO,ISDIR' 'w/z/d/g CREATE'
}

@test "-S tells a directory made and removed in one read of the queue as removed after what was made in it" {
	needs_fanotify
	start_iw -m -r -S -e create,delete --format '%w%f %e' w
	# Stopped, the watcher reads all at once: the kernel has merged the
	# directory's creation and removal (one process's) into one record,
	# before the rest.
	kill -STOP "$PID"
	python3 -c 'import os
os.mkdir("w/d"); open("w/d/f", "w").close(); os.remove("w/d/f"); os.rmdir("w/d")'
	touch w/end
	kill -CONT "$PID"
	wait_file_match out '^w/end CREATE$'
	expect out 'w/d CREATE,ISDIR' 'w/d/f CREATE' 'w/d/f DELETE' 'w/d DELETE,ISDIR' \
		'w/end CREATE'
}

@test "-S refuses -e unmount, which fanotify cannot report" {
	needs_fanotify
	iw -S -e unmount w
	expect_status 1
	expect err "fanotify has no unmount event: -e unmount needs inotify (leave out -F and -S)."
}

@test "-S without CAP_SYS_ADMIN says so and watches with inotify" {
	deliberate_difference "the reference ignores -F and -S"
	local run=()
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "running as root without setpriv"
		setpriv --bounding-set -sys_admin true 2>/dev/null || skip "cannot drop capabilities here"
		run=(setpriv --bounding-set -sys_admin)
	fi
	rm -f out err
	"${run[@]}" "$IW" -S -e create w >out 2>err 3>&- &
	PID=$!
	wait_file_match err '^Watches established\.$'
	touch w/x
	wait_exit
	expect_status 0
	expect out 'w/ CREATE x'
	expect err "Couldn't watch with fanotify: Operation not permitted (it needs CAP_SYS_ADMIN); watching with inotify instead." \
		'Setting up watches.' 'Watches established.'
}

@test "inotifywatch -S counts the events of a tree" {
	needs_fanotify
	mkdir -p w/a
	start_iwatch -S -r -e create,delete w
	touch w/x w/a/y
	rm w/a/y
	mkdir w/a/z
	stop_iwatch
	grep -qE '^3 +2 +1 +w/a/$' out || fail "w/a/ not counted right"
	grep -qE '^1 +1 +0 +w/$' out || fail "w/ not counted right"
}

@test "called fsnotifywait, inotifywait watches through fanotify unless -I is given" {
	needs_fanotify
	[ -z "${VALGRIND:-}" ] || skip "under valgrind the program's name is the wrapper's choice"
	ln -s "$(command -v "$IW" || echo "$IW")" fsnotifywait
	IW=./fsnotifywait start_iw -m -e create w
	[ "$(fanotify_marks "$PID")" -eq 1 ] || fail "no fanotify mark"
	[ "$(inotify_watches "$PID")" -eq 0 ] || fail "inotify watches were set"
	kill "$PID"
	wait_exit
	IW=./fsnotifywait start_iw -m -I -e create w
	[ "$(fanotify_marks "$PID")" -eq 0 ] || fail "a fanotify mark with -I"
	[ "$(inotify_watches "$PID")" -eq 1 ] || fail "no inotify watch with -I"
}

@test "-S memory stays bounded while other processes make 40,000 directories" {
	needs_fanotify
	[ -z "${SANITIZED:-}${VALGRIND:-}" ] || skip "a checking allocator keeps freed memory"
	mkdir other
	start_iw -m -r -S -e create w
	rss() { awk '/^VmRSS/ { print $2 }' /proc/"$PID"/status; }
	local before after
	before=$(rss)
	python3 -c '
import os
for i in range(40000):
    d = "other/d%d" % i
    os.mkdir(d)
    open(d + "/f", "w").close()
'
	touch w/sync
	wait_file_match out '^w/ CREATE sync$'
	after=$(rss)
	# The cache of directories outside holds at most 2 MiB.
	[ "$((after - before))" -le 3072 ] || fail "RSS grew from $before kB to $after kB"
	expect out 'w/ CREATE sync'
}
