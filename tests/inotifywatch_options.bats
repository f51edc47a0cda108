#!/usr/bin/env bats
# inotifywatch: command-line options, their error messages and the
# diagnostic lines on stderr, worded as the reference words them.
#
# Error cases run to completion through iwatch_run (with a kill deadline,
# so a missing check cannot hang the suite); cases that start collecting
# are ended with SIGINT once the watcher is idle (see wait_idle in
# iwatch_helper.bash), which prints "No events occurred." when nothing
# happened.

load helper
load iwatch_helper

NOT_VALID_TIMEOUT='Please specify a long int value.\n'

# --- getopt errors -------------------------------------------------------

@test "inotifywatch rejects -q as an invalid option with exit 1" {
	iwatch_run -q w
	expect_status 1
	expect_out ''
	expect_err "%s: invalid option -- 'q'\n" "$IWATCH_ARGV0"
}

@test "inotifywatch rejects an unknown short option with exit 1" {
	iwatch_run -x w
	expect_status 1
	expect_out ''
	expect_err "%s: invalid option -- 'x'\n" "$IWATCH_ARGV0"
}

@test "inotifywatch rejects an unknown long option with exit 1" {
	iwatch_run --bogus w
	expect_status 1
	expect_out ''
	expect_err "%s: unrecognized option '--bogus'\n" "$IWATCH_ARGV0"
}

@test "inotifywatch reports a missing argument of a short option" {
	for opt in e t a d; do
		iwatch_run -"$opt"
		expect_status 1
		expect_out ''
		expect_err "%s: option requires an argument -- '%s'\n" "$IWATCH_ARGV0" "$opt"
	done
}

@test "inotifywatch reports a missing argument of a long option" {
	for opt in timeout event ascending descending fromfile exclude excludei include includei; do
		iwatch_run --"$opt"
		expect_status 1
		expect_out ''
		expect_err "%s: option '--%s' requires an argument\n" "$IWATCH_ARGV0" "$opt"
	done
}

@test "inotifywatch reports an ambiguous long option prefix" {
	iwatch_run --excl=x w
	expect_status 1
	expect_err "%s: option '--excl=x' is ambiguous; possibilities: '--exclude' '--excludei'\n" "$IWATCH_ARGV0"
}

@test "inotifywatch accepts unambiguous long option prefixes" {
	start_iwatch --verb --timeo=50 --eve=attrib w
	stop_iwatch
	expect_status 0
	expect_out ''
	expect_err "$ESTABLISHING"'Total of 1 watches.\n'"$FINISHED"'Will listen for events for 50 seconds.\nNo events occurred.\n'
}

@test "inotifywatch still runs the sort and regex checks after an invalid option" {
	iwatch_run --exclude a --excludei b -x w
	expect_status 1
	expect_err "%s: invalid option -- 'x'\n--exclude and --excludei cannot both be specified.\n" "$IWATCH_ARGV0"
	iwatch_run -a modify -e access -x w
	expect_status 1
	expect_err "%s: invalid option -- 'x'\nCan't sort by an event which isn't being watched for!\n" "$IWATCH_ARGV0"
}

# --- -e --------------------------------------------------------------------

@test "inotifywatch rejects an unknown event name quoting the whole -e argument" {
	iwatch_run -e foo w
	expect_status 1
	expect_out ''
	expect_err "'foo' is not a valid event!  Run with the '--help' option to see a list of events.\n"
	iwatch_run -e modify,bogus,access w
	expect_status 1
	expect_err "'modify,bogus,access' is not a valid event!  Run with the '--help' option to see a list of events.\n"
}

@test "inotifywatch stops at the first bad option in argument order" {
	iwatch_run -e foo -t abc w
	expect_status 1
	expect_err "'foo' is not a valid event!  Run with the '--help' option to see a list of events.\n"
	iwatch_run -t abc -e foo w
	expect_status 1
	expect_err "'abc' is not a valid timeout value.\n$NOT_VALID_TIMEOUT"
}

# --- -t --------------------------------------------------------------------

@test "inotifywatch rejects a -t value with trailing junk" {
	for v in 1.5 abc '1 ' 2x; do
		iwatch_run -t "$v" w
		expect_status 1
		expect_out ''
		expect_err "'%s' is not a valid timeout value.\n$NOT_VALID_TIMEOUT" "$v"
	done
}

@test "inotifywatch rejects an empty -t value" {
	iwatch_run -t '' w
	expect_status 1
	expect_out ''
	expect_err "The provided value is not a valid timeout value.\n$NOT_VALID_TIMEOUT"
}

@test "inotifywatch rejects a -t value out of the long range" {
	iwatch_run -t 99999999999999999999 w
	expect_status 1
	expect_out ''
	expect_err 'Something went wrong with the timeout value you provided.\nNumerical result out of range\n'
}

@test "inotifywatch accepts -t values with leading blanks or a plus sign" {
	start_iwatch -v -t ' 30' w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Total of 1 watches.\n'"$FINISHED"'Will listen for events for 30 seconds.\nNo events occurred.\n'
	start_iwatch -v -t +40 w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Total of 1 watches.\n'"$FINISHED"'Will listen for events for 40 seconds.\nNo events occurred.\n'
}

@test "inotifywatch rejects a negative -t value" {
	deliberate_difference "reference wraps a negative timeout to ~136 years" "$IWATCH"
	for v in -1 -5; do
		iwatch_run -t "$v" w
		expect_status 1
		expect_out ''
		expect_err "'%s' is not a valid timeout value.\n$NOT_VALID_TIMEOUT" "$v"
	done
	iwatch_run --timeout=-1 w
	expect_status 1
	expect_err "'-1' is not a valid timeout value.\n$NOT_VALID_TIMEOUT"
}

# --- -a / -d -----------------------------------------------------------------

@test "inotifywatch refuses to sort by move with -a" {
	for k in move MOVE Move; do
		iwatch_run -a "$k" w
		expect_status 1
		expect_out ''
		expect_err "Cannot sort by \`move' event; please use \`moved_from' or \`moved_to'.\n"
	done
}

@test "inotifywatch refuses to sort by close with -a" {
	for k in close CLOSE; do
		iwatch_run -a "$k" w
		expect_status 1
		expect_out ''
		expect_err "Cannot sort by \`close' event; please use \`close_write' or \`close_nowrite'.\n"
	done
}

@test "inotifywatch rejects an unknown sort key with -a or -d" {
	for opt in -a -d; do
		iwatch_run "$opt" foo w
		expect_status 1
		expect_out ''
		expect_err "'foo' is not a valid key for sorting!\n"
		iwatch_run "$opt" foo,bar w
		expect_status 1
		expect_err "'foo,bar' is not a valid key for sorting!\n"
	done
}

@test "inotifywatch says Please specify -a or -d once only! for -a given twice" {
	iwatch_run -a access -a modify w
	expect_status 1
	expect_out ''
	expect_err 'Please specify -a or -d once only!\n'
	iwatch_run -a total -a total w
	expect_status 1
	expect_err 'Please specify -a or -d once only!\n'
}

@test "inotifywatch says Please specify -a or -d once only! for -a then -d" {
	iwatch_run -a access -d modify w
	expect_status 1
	expect_out ''
	expect_err 'Please specify -a or -d once only!\n'
}

@test "inotifywatch checks -a twice before the sort key of the second -a" {
	iwatch_run -a access -a foo w
	expect_status 1
	expect_err 'Please specify -a or -d once only!\n'
	iwatch_run -a access -a move w
	expect_status 1
	expect_err 'Please specify -a or -d once only!\n'
}

@test "inotifywatch refuses to sort by an event that is not watched for" {
	iwatch_run -a modify -e access w
	expect_status 1
	expect_out ''
	expect_err "Can't sort by an event which isn't being watched for!\n"
	iwatch_run -d modify -e access,attrib w
	expect_status 1
	expect_err "Can't sort by an event which isn't being watched for!\n"
	iwatch_run -d isdir w
	expect_status 1
	expect_err "Can't sort by an event which isn't being watched for!\n"
}

@test "inotifywatch refuses to sort by unmount unless -e unmount is given" {
	iwatch_run -a unmount w
	expect_status 1
	expect_err "Can't sort by an event which isn't being watched for!\n"
	start_iwatch -a unmount -e unmount,attrib w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

@test "inotifywatch accepts total and a watched event as sort keys" {
	start_iwatch -a total -e access w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
	start_iwatch -d MODIFY -e modify w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

@test "inotifywatch lists an ambiguous prefix's candidates in the reference's order" {
	iwatch_run --in x w
	expect_status 1
	expect_err "%s: option '--in' is ambiguous; possibilities: '--inotify' '--include' '--includei'\n" "$IWATCH_ARGV0"
	iwatch_run --f w
	expect_status 1
	expect_err "%s: option '--f' is ambiguous; possibilities: '--fanotify' '--filesystem' '--fromfile'\n" "$IWATCH_ARGV0"
}

# sort_rows OPTION KEY: count 3 creations in a/ and 1 in b/, sorted with
# OPTION KEY; the rows' names, in table order, go to $rows.
sort_rows() {
	mkdir -p a b
	start_iwatch "$1" "$2" a b
	touch a/1 a/2 a/3 b/1
	stop_iwatch
	expect_status 0
	rows=$(awk 'NR > 1 { print $NF }' out | tr '\n' ' ')
	rm -f a/* b/*
}

@test "inotifywatch reads a sort key with an empty name as total, as the reference does" {
	local key rows
	for key in '' 'modify,' ',modify' ',' 'modify,,access' ',bogus'; do
		sort_rows -a "$key"
		[ "$rows" = "b/ a/ " ] || fail "-a '$key' did not sort by total, smallest first"
	done
	iwatch_run -a 'bogus,' w
	expect_status 1
	expect_err "'bogus,' is not a valid key for sorting!\n"
}

@test "inotifywatch -d with an empty key sorts by total, largest first" {
	deliberate_difference "-d '' sorts smallest first there" "$IWATCH"
	local rows
	sort_rows -d ''
	[ "$rows" = "a/ b/ " ] || fail "-d '' did not sort by total, largest first"
}

@test "inotifywatch -d move and -d close give the same errors as -a" {
	deliberate_difference "reference accepts them and crashes when sorting" "$IWATCH"
	iwatch_run -d move w
	expect_status 1
	expect_out ''
	expect_err "Cannot sort by \`move' event; please use \`moved_from' or \`moved_to'.\n"
	iwatch_run -d close w
	expect_status 1
	expect_out ''
	expect_err "Cannot sort by \`close' event; please use \`close_write' or \`close_nowrite'.\n"
}

@test "inotifywatch rejects multi-event sort keys" {
	deliberate_difference "reference accepts them and crashes when sorting" "$IWATCH"
	for opt in -a -d; do
		for k in modify,access all_events close_write,close_nowrite; do
			iwatch_run "$opt" "$k" w
			expect_status 1
			expect_out ''
			expect_err "'%s' is not a valid key for sorting!\n" "$k"
		done
	done
}

@test "inotifywatch says Please specify -a or -d once only! for -d then -a or -d" {
	deliberate_difference "reference lets a later -a/-d override -d" "$IWATCH"
	iwatch_run -d access -a modify w
	expect_status 1
	expect_out ''
	expect_err 'Please specify -a or -d once only!\n'
	iwatch_run -d modify -d access w
	expect_status 1
	expect_out ''
	expect_err 'Please specify -a or -d once only!\n'
}

# --- regex options -------------------------------------------------------------

@test "inotifywatch refuses --exclude together with --excludei" {
	iwatch_run --exclude a --excludei b w
	expect_status 1
	expect_out ''
	expect_err '--exclude and --excludei cannot both be specified.\n'
}

@test "inotifywatch refuses --include together with --includei" {
	iwatch_run --include a --includei b w
	expect_status 1
	expect_out ''
	expect_err '--include and --includei cannot both be specified.\n'
}

@test "inotifywatch refuses any include regex together with any exclude regex" {
	for pair in "--include --exclude" "--include --excludei" "--includei --exclude" "--includei --excludei"; do
		set -- $pair
		iwatch_run "$1" a "$2" b w
		expect_status 1
		expect_out ''
		expect_err 'include and exclude regexp cannot both be specified.\n'
	done
}

@test "inotifywatch checks the sort key before the regex conflicts" {
	iwatch_run --exclude a --excludei b -a modify -e access w
	expect_status 1
	expect_err "Can't sort by an event which isn't being watched for!\n"
}

@test "inotifywatch reports a bad exclude regular expression" {
	for opt in --exclude --excludei; do
		iwatch_run "$opt" '(' w
		expect_status 1
		expect_out ''
		expect_err "Error in \`exclude' regular expression.\n"
	done
}

@test "inotifywatch reports a bad include regular expression" {
	for opt in --include --includei; do
		iwatch_run "$opt" 'a[' w
		expect_status 1
		expect_out ''
		expect_err "Error in \`include' regular expression.\n"
	done
}

@test "inotifywatch takes the last of repeated --exclude options silently" {
	start_iwatch --exclude '(' --exclude 'x' w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

# --- paths -------------------------------------------------------------------

@test "inotifywatch says No files specified to watch! without paths" {
	iwatch_run
	expect_status 1
	expect_out ''
	expect_err 'No files specified to watch!\n'
	iwatch_run -e modify -z -v
	expect_status 1
	expect_err 'No files specified to watch!\n'
}

@test "inotifywatch treats empty arguments and lone @ as no path" {
	iwatch_run '' @
	expect_status 1
	expect_err 'No files specified to watch!\n'
}

@test "inotifywatch treats @PATH as an exclusion, not a path to watch" {
	iwatch_run @w
	expect_status 1
	expect_out ''
	expect_err 'No files specified to watch!\n'
}

@test "inotifywatch fails with Failed to watch for a missing path" {
	iwatch_run nonexist
	expect_status 1
	expect_out ''
	expect_err "${ESTABLISHING}Failed to watch nonexist: No such file or directory\n"
}

@test "inotifywatch stops at the first path it cannot watch" {
	iwatch_run -v w nonexist w/also-missing
	expect_status 1
	expect_out ''
	expect_err "${ESTABLISHING}Failed to watch nonexist: No such file or directory\n"
	iwatch_run -r w/missing w
	expect_status 1
	expect_err "${ESTABLISHING}Failed to watch w/missing: No such file or directory\n"
}

@test "inotifywatch --fromfile reads one path per line, skipping empty lines" {
	touch w/f
	printf 'w/f\n\nw\n' >list
	start_iwatch -v --fromfile list
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Total of 2 watches.\n'"$FINISHED"'No events occurred.\n'
}

@test "inotifywatch watches --fromfile paths before the command-line paths" {
	mkdir w/s
	touch w/f
	printf 'w/f\n' >list
	start_iwatch -r -v --fromfile list w/s
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Setting up watch(es) on w/f\nOK, w/f is now being watched.\nSetting up watch(es) on w/s\nOK, w/s is now being watched.\nTotal of 2 watches.\n'"$FINISHED"'No events occurred.\n'
}

@test "inotifywatch --fromfile - reads the paths from stdin" {
	touch w/f
	printf 'w/f\nw\n' >list
	"$IWATCH" -v -e attrib --fromfile - <list >out 2>err 3>&- &
	PID=$!
	wait_file_match err '^Finished establishing watches'
	chmod 600 w/f
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Total of 2 watches.\n'"$FINISHED"
	expect_out 'total  attrib  filename\n1      1       w/f\n1      1       w/\n'
}

@test "inotifywatch reports an unreadable --fromfile and falls back to the command line" {
	iwatch_run --fromfile nofile
	expect_status 1
	expect_out ''
	expect_err "Couldn't open nofile: No such file or directory\nNo files specified to watch!\n"
	start_iwatch --fromfile nofile w
	stop_iwatch
	expect_status 0
	expect_err "Couldn't open nofile: No such file or directory\n$ESTABLISHING$FINISHED"'No events occurred.\n'
}

@test "inotifywatch refuses two --fromfile options" {
	printf 'w\n' >list
	iwatch_run --fromfile list --fromfile list
	expect_status 1
	expect_out ''
	expect_err 'Multiple --fromfile options given.\n'
}

@test "inotifywatch excludes an @PATH subdirectory under -r" {
	mkdir -p w/s/t w/k
	start_iwatch -r -v -e create w @w/s
	touch w/s/t/x w/s/y w/k/z
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Setting up watch(es) on w\nOK, w is now being watched.\nTotal of 2 watches.\n'"$FINISHED"
	expect_out 'total  create  filename\n1      1       w/k/\n'
}

@test "inotifywatch --fromfile lines starting with @ are exclusions" {
	mkdir -p w/s w/k
	printf '@w/s/\nw\n' >list
	start_iwatch -r -v --fromfile list
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Setting up watch(es) on w\nOK, w is now being watched.\nTotal of 2 watches.\n'"$FINISHED"'No events occurred.\n'
}

@test "inotifywatch ignores @PATH exclusions without -r" {
	start_iwatch -v -e attrib w @w
	chmod 700 w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Total of 1 watches.\n'"$FINISHED"
	expect_out 'total  attrib  filename\n1      1       w/\n'
}

# --- stderr sequence and -v ------------------------------------------------------

@test "inotifywatch prints Establishing watches... then Finished establishing watches" {
	start_iwatch w
	stop_iwatch
	expect_status 0
	expect_out ''
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

@test "inotifywatch -v prints the total number of watches" {
	touch w/f
	start_iwatch -v w w/f
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Total of 2 watches.\n'"$FINISHED"'No events occurred.\n'
}

@test "inotifywatch -v with -t says how long it will listen" {
	start_iwatch -v -t 100 w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Total of 1 watches.\n'"$FINISHED"'Will listen for events for 100 seconds.\nNo events occurred.\n'
}

@test "inotifywatch without -v prints no Will listen line for -t" {
	start_iwatch -t 100 w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

@test "inotifywatch -r -v reports setting up each top-level path" {
	mkdir -p w/s/t
	touch w/f
	start_iwatch -r -v w w/f
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING"'Setting up watch(es) on w\nOK, w is now being watched.\nSetting up watch(es) on w/f\nOK, w/f is now being watched.\nTotal of 4 watches.\n'"$FINISHED"'No events occurred.\n'
}

@test "inotifywatch -r -v reports the path of a failing watch" {
	iwatch_run -r -v w nonexist
	expect_status 1
	expect_out ''
	expect_err "$ESTABLISHING"'Setting up watch(es) on w\nOK, w is now being watched.\nSetting up watch(es) on nonexist\nFailed to watch nonexist: No such file or directory\n'
}

@test "inotifywatch -r without -v prints no per-path lines" {
	mkdir -p w/s
	start_iwatch -r w
	stop_iwatch
	expect_status 0
	expect_err "$ESTABLISHING$FINISHED"'No events occurred.\n'
}

# --- help and version ---------------------------------------------------------------

@test "inotifywatch --help prints help on stdout with exit 0" {
	deliberate_difference "reference exits 1 after --help" "$IWATCH"
	iwatch_run --help
	expect_status 0
	expect_err ''
	[ -s out ] || fail "no help text"
	grep -q 'inotifywatch' out || fail "help does not name inotifywatch"
	grep -qx 'Events:' out || fail "no Events: section"
	local ev
	for ev in access modify attrib close_write close_nowrite close open \
		moved_to moved_from move move_self create delete delete_self unmount; do
		sed -n '/^Events:$/,$p' out | grep -qP "^\t$ev(\t| |\$)" ||
			fail "no Events: line starting with one TAB then '$ev'"
	done
	cp out help.out
	iwatch_run -h
	expect_status 0
	cmp -s help.out out || fail "-h and --help print different texts"
}

@test "inotifywatch --version prints its name and version on stdout with exit 0" {
	deliberate_difference "reference has no --version option" "$IWATCH"
	iwatch_run --version
	expect_status 0
	expect_err ''
	grep -qE 'inotifywatch.*[0-9]+\.[0-9]+' out || fail "no name and version"
}
