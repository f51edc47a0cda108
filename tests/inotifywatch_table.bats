#!/usr/bin/env bats
# inotifywatch: the statistics table, byte-exact as the reference prints
# it (columns, their widths and order, and the sort options).
#
# How the counts are made deterministic:
# * every action is a single syscall-level operation with a known set of
#   inotify events (touch of a new file: CREATE OPEN ATTRIB CLOSE_WRITE;
#   chmod: ATTRIB; echo >>: OPEN MODIFY CLOSE_WRITE; cat of a non-empty
#   file: OPEN ACCESS CLOSE_NOWRITE), and -e lists keep incidental events
#   out;
# * the kernel merges identical consecutive events, so no test repeats the
#   same event on the same watch twice in a row (files are interleaved);
# * collection is ended by a signal only after wait_idle (iwatch_helper.bash)
#   has seen the watcher asleep in select/poll/read: at that point every
#   event our actions queued has been read and counted.  This matters for
#   the reference, which drops events still queued when SIGINT arrives.
# The tests of -t expiry cannot use that (the alarm is the end), so they
# act immediately after start-up and use a timeout (2 s) far longer than
# the time the watcher needs to read a handful of events.

load helper
load iwatch_helper

HDR_ALL='total  access  modify  attrib  close_write  close_nowrite  open  moved_from  moved_to  move_self  create  delete  delete_self  filename\n'

# Three files with different counts in three columns, for the sort tests:
#   w/a: access 0 modify 1 attrib 3 (total 4)
#   w/b: access 2 modify 0 attrib 0 (total 2)
#   w/c: access 1 modify 2 attrib 0 (total 3)
# They are watched in the order c, b, a, so ties show the watch order.
ROW_A='4      0       1       3       w/a\n'
ROW_B='2      2       0       0       w/b\n'
ROW_C='3      1       2       0       w/c\n'
HDR_SORT='total  access  modify  attrib  filename\n'

sort_scenario() {
	local f
	for f in a b c; do echo data >w/$f; done
	start_iwatch -e access,modify,attrib "$@" w/c w/b w/a
	chmod 600 w/a
	cat w/b >/dev/null
	echo x >>w/c
	chmod 644 w/a
	cat w/c >/dev/null
	echo x >>w/a
	cat w/b >/dev/null
	echo x >>w/c
	chmod 600 w/a
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"
}

# --- layout -------------------------------------------------------------------

@test "inotifywatch prints a header and one row for a watched directory" {
	touch w/f
	start_iwatch -e attrib w
	chmod 600 w/f
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"
	expect_out 'total  attrib  filename\n1      1       w/\n'
}

@test "inotifywatch shows only the columns of events that occurred" {
	start_iwatch w
	touch w/a
	stop_iwatch
	expect_status 0
	expect_out 'total  attrib  close_write  open  create  filename\n4      1       1            1     1       w/\n'
}

@test "inotifywatch leaves zero rows out of the table" {
	touch w/f w/g
	start_iwatch -e attrib w/f w/g w
	chmod 600 w/g
	stop_iwatch
	expect_status 0
	expect_out 'total  attrib  filename\n1      1       w/g\n1      1       w/\n'
}

@test "inotifywatch -z shows all twelve default columns and zero rows" {
	touch w/f
	start_iwatch -z w w/f
	touch w/a
	stop_iwatch
	expect_status 0
	expect_out "$HDR_ALL"'4      0       0       1       1            0              1     0           0         0          1       0       0            w/\n0      0       0       0       0            0              0     0           0         0          0       0       0            w/f\n'
}

@test "inotifywatch -z shows only the columns of the -e mask" {
	start_iwatch -z -e create,delete w
	touch w/a
	stop_iwatch
	expect_status 0
	expect_out 'total  create  delete  filename\n1      1       0       w/\n'
}

@test "inotifywatch shows an unmount column only with -e unmount and -z" {
	touch w/f
	start_iwatch -z -e attrib,unmount w
	chmod 600 w/f
	stop_iwatch
	expect_status 0
	expect_out 'total  attrib  unmount  filename\n1      1       0        w/\n'
	start_iwatch -e attrib,unmount w
	chmod 644 w/f
	stop_iwatch
	expect_status 0
	expect_out 'total  attrib  filename\n1      1       w/\n'
}

@test "inotifywatch left-justifies multi-digit counts in their columns" {
	start_iwatch -z w
	touch w/f01 w/f02 w/f03 w/f04 w/f05 w/f06 w/f07 w/f08 w/f09 w/f10 w/f11 w/f12
	stop_iwatch
	expect_status 0
	expect_out "$HDR_ALL"'48     0       0       12      12           0              12    0           0         0          12      0       0            w/\n'
	! grep -q ' $' out || fail "trailing space in the table"
}

@test "inotifywatch names file rows without and directory rows with a slash" {
	mkdir w/d
	touch w/f
	start_iwatch -e attrib w/f w/d w/d/
	chmod 600 w/f
	chmod 700 w/d
	stop_iwatch
	expect_status 0
	# w/d and w/d/ are the same inode: the first name given is used.
	expect_out 'total  attrib  filename\n1      1       w/f\n1      1       w/d/\n'
}

@test "inotifywatch counts every event of a row in total, even ones without a column" {
	mkdir -p w/s/t
	start_iwatch -r -e delete,delete_self w
	rmdir w/s/t
	stop_iwatch
	expect_status 0
	# w/s/t/ got DELETE_SELF and IGNORED: total 2, one column hit.
	expect_out 'total  delete  delete_self  filename\n2      0       1            w/s/t/\n1      1       0            w/s/\n'
}

@test "inotifywatch does not count events dropped by --exclude or --include" {
	start_iwatch -e create --exclude '^w/b' w
	touch w/a w/b1 w/c w/b2
	stop_iwatch
	expect_status 0
	expect_out 'total  create  filename\n2      2       w/\n'
	touch w/f
	start_iwatch -e attrib --includei '^W/F$' w w/f
	chmod 600 w/f
	stop_iwatch
	expect_status 0
	# the directory's event is named w/f too (watch name + entry name)
	expect_out 'total  attrib  filename\n1      1       w/\n1      1       w/f\n'
}

# --- order ----------------------------------------------------------------------

@test "inotifywatch sorts rows by descending total by default" {
	sort_scenario
	expect_out "$HDR_SORT$ROW_A$ROW_C$ROW_B"
}

@test "inotifywatch breaks ties in total by watch order" {
	touch w/a w/b w/c
	start_iwatch -e attrib w/c w/a w/b
	chmod 600 w/a w/b w/c
	stop_iwatch
	expect_status 0
	expect_out 'total  attrib  filename\n1      1       w/c\n1      1       w/a\n1      1       w/b\n'
	start_iwatch -e attrib -a total w/b w/c w/a
	chmod 644 w/a w/b w/c
	stop_iwatch
	expect_status 0
	expect_out 'total  attrib  filename\n1      1       w/b\n1      1       w/c\n1      1       w/a\n'
}

@test "inotifywatch -d total sorts by descending total" {
	sort_scenario -d total
	expect_out "$HDR_SORT$ROW_A$ROW_C$ROW_B"
}

@test "inotifywatch -a total sorts by ascending total" {
	sort_scenario -a total
	expect_out "$HDR_SORT$ROW_B$ROW_C$ROW_A"
}

@test "inotifywatch -a access sorts by ascending access count" {
	sort_scenario -a access
	expect_out "$HDR_SORT$ROW_A$ROW_C$ROW_B"
}

@test "inotifywatch -a modify sorts by ascending modify count" {
	sort_scenario -a MODIFY
	expect_out "$HDR_SORT$ROW_B$ROW_A$ROW_C"
}

@test "inotifywatch -d modify sorts by descending modify count" {
	sort_scenario --descending modify
	expect_out "$HDR_SORT$ROW_C$ROW_A$ROW_B"
}

@test "inotifywatch -a attrib sorts ascending with ties in watch order" {
	sort_scenario --ascending=attrib
	expect_out "$HDR_SORT$ROW_C$ROW_B$ROW_A"
}

@test "inotifywatch -d attrib sorts descending with ties in watch order" {
	sort_scenario -d attrib
	expect_out "$HDR_SORT$ROW_A$ROW_C$ROW_B"
}

@test "inotifywatch -d access sorts by descending access count" {
	deliberate_difference "reference sorts -d access by total" "$IWATCH"
	sort_scenario -d access
	expect_out "$HDR_SORT$ROW_B$ROW_C$ROW_A"
}

@test "inotifywatch -z sorts zero rows in watch order" {
	touch w/a w/b w/c w/d
	start_iwatch -z -e attrib w/d w/b w/a w/c
	chmod 600 w/a
	stop_iwatch
	expect_status 0
	expect_out 'total  attrib  filename\n1      1       w/a\n0      0       w/d\n0      0       w/b\n0      0       w/c\n'
}

# --- -r -------------------------------------------------------------------------

@test "inotifywatch -r prints one row per watched subdirectory" {
	mkdir -p w/s/t
	start_iwatch -r -e create w
	touch w/s/t/x w/y w/s/t/z
	stop_iwatch
	expect_status 0
	expect_out 'total  create  filename\n2      2       w/s/t/\n1      1       w/\n'
}

@test "inotifywatch -r -z lists subdirectories deepest first" {
	mkdir -p w/s/t
	start_iwatch -r -z -e create,delete w
	touch w/s/t/x
	stop_iwatch
	expect_status 0
	expect_out 'total  create  delete  filename\n1      1       0       w/s/t/\n0      0       0       w/s/\n0      0       0       w/\n'
}

@test "inotifywatch -r counts events in a directory created while collecting" {
	start_iwatch -r -e create w
	mkdir w/n
	# the new directory is watched once the watcher has handled its CREATE
	wait_watches 2
	touch w/n/x
	stop_iwatch
	expect_status 0
	expect_out 'total  create  filename\n1      1       w/\n1      1       w/n/\n'
}

# --- ending -------------------------------------------------------------------------

@test "inotifywatch prints No events occurred. when nothing happens" {
	iwatch_run -t 1 w
	expect_status 0
	expect_out ''
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

@test "inotifywatch prints No events occurred. on SIGINT when nothing happened" {
	start_iwatch -e attrib w
	echo x >w/f # CREATE OPEN MODIFY CLOSE_WRITE: none in the mask
	cat w/f >/dev/null
	stop_iwatch INT
	expect_status 0
	expect_out ''
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

@test "inotifywatch prints the table and exits 0 when -t expires" {
	start_iwatch -t 2 -e attrib w
	chmod 700 w
	wait_exit
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"
	expect_out 'total  attrib  filename\n1      1       w/\n'
}

@test "inotifywatch prints the table and exits 0 on SIGINT, SIGTERM and SIGHUP" {
	local sig
	for sig in INT TERM HUP; do
		start_iwatch -e attrib w
		chmod 700 w
		stop_iwatch "$sig"
		expect_status 0
		expect_err "$ESTABLISHING$FINISHED"
		expect_out 'total  attrib  filename\n1      1       w/\n'
	done
}

@test "inotifywatch prints the current table and an empty line on SIGUSR1 and keeps collecting" {
	start_iwatch -e attrib,create w
	touch w/a
	usr1_iwatch
	kill -0 "$PID" || fail "SIGUSR1 ended the watcher"
	chmod 600 w/a
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"
	expect_out 'total  attrib  create  filename\n2      1       1       w/\n\ntotal  attrib  create  filename\n3      2       1       w/\n'
}

@test "inotifywatch says No events occurred. on SIGUSR1 before any event" {
	touch w/f
	start_iwatch -e attrib w
	usr1_iwatch
	chmod 700 w
	usr1_iwatch
	chmod 600 w/f
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
	expect_out '\ntotal  attrib  filename\n1      1       w/\n\ntotal  attrib  filename\n2      2       w/\n'
}

# column_scenario: events with different counts in d1, d2 and d3.
column_scenario() {
	touch d1/a
	touch d2/a d2/b
	touch d3/a d3/b d3/c
	echo x >>d3/a
	echo x >>d3/b
	echo x >>d2/a
	cat d1/a d2/a d3/a d3/b >/dev/null
	chmod 600 d2/b
	chmod 600 d1/a
	mv d3/c d1/c
	rm d2/b
}

# check_sorted KEY DIRECTION: the table in ./out is ordered by column KEY
# (ascending or descending), ties in watch order (d1, d2, d3).
check_sorted() {
	awk -v key="$1" -v dir="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == key) col = i; next }
		{
			v = $col; w = substr($NF, 2, 1)
			if (NR > 2) {
				if (dir == "a" && v < pv) bad = 1
				if (dir == "d" && v > pv) bad = 1
				if (v == pv && w < pw) bad = 1
			}
			pv = v; pw = w; rows++
		}
		END { exit (col == 0 || rows != 3 || bad) }' out
}

@test "inotifywatch -a and -d sort by each event column, ties in watch order" {
	local key dir
	for key in access modify attrib close_write close_nowrite open moved_from moved_to move_self create delete delete_self; do
		for dir in a d; do
			# The reference sorts -d access by total (a known bug).
			if [ "$key$dir" = accessd ] && iwatch_is_reference; then continue; fi
			rm -rf d1 d2 d3 && mkdir d1 d2 d3
			start_iwatch -z -"$dir" "$key" d1 d2 d3
			column_scenario
			stop_iwatch INT
			expect_status 0
			check_sorted "$key" "$dir" || fail "-$dir $key: $(cat out)"
		done
	done
}

@test "inotifywatch keeps the row of a directory moved out of the tree, with what happened there" {
	deliberate_difference "the row of a moved-out directory is dropped there" "$IWATCH"
	mkdir -p w/sub
	start_iwatch -r -e create,moved_from w
	touch w/sub/x
	mv w/sub gone
	stop_iwatch
	expect_status 0
	# The row's total counts the IGNORED that ended its watch, as totals do.
	expect_out 'total  moved_from  create  filename\n2      0           1       w/sub/\n1      1           0       w/\n'
}

@test "inotifywatch ends on SIGTERM even when the reader of its table takes nothing" {
	deliberate_difference "the reference waits in its write for ever" "$IWATCH"
	mkfifo pipe
	# The reader opens the pipe and never reads.
	sleep 600 <pipe 3>&- &
	WRITER=$!
	# 300 rows of more than 200 bytes: more than the pipe holds.
	local long i
	long=$(printf '%0200d' 0)
	for i in $(seq 300); do mkdir "w/$long-$i"; done
	"$IWATCH" -r -z w >pipe 2>err 3>&- &
	PID=$!
	wait_file_match err '^Finished establishing watches, now collecting statistics\.$'
	# Counted before the signal is handled: the queue is read to its end.
	touch w/f
	kill -TERM "$PID"
	wait_exit
	expect_status 143
	grep -q "^Couldn't write the table: the reader took none for 2 seconds\.\$" err ||
		fail "no word of the table left unwritten: $(cat err)"
}
