load helper
load iw_helper

EVENT_HINT="Run with the '--help' option to see a list of events."

# --- getopt's own complaints -------------------------------------------

@test "inotifywait rejects an unknown short option with getopt's message and exit 1" {
	iw -x w
	expect_status 1
	expect_getopt err "invalid option -- 'x'"
	expect out
}

@test "inotifywait rejects an unknown long option with getopt's message and exit 1" {
	iw --bogus w
	expect_status 1
	expect_getopt err "unrecognized option '--bogus'"
}

@test "inotifywait reports a missing argument to a short option" {
	iw -e
	expect_status 1
	expect_getopt err "option requires an argument -- 'e'"
}

@test "inotifywait reports a missing argument to a long option" {
	iw --timeout
	expect_status 1
	expect_getopt err "option '--timeout' requires an argument"
}

@test "inotifywait reports an ambiguous long option prefix" {
	iw --excl x w
	expect_status 1
	expect_getopt err "option '--excl' is ambiguous; possibilities: '--exclude' '--excludei'"
}

@test "inotifywait lists an ambiguous prefix's candidates in the reference's order" {
	iw --in x w
	expect_status 1
	expect_getopt err "option '--in' is ambiguous; possibilities: '--inotify' '--include' '--includei'"
	iw --f w
	expect_status 1
	expect_getopt err "option '--f' is ambiguous; possibilities: '--filename' '--fanotify' '--filesystem' '--format' '--fromfile'"
	iw --t 1 w
	expect_status 1
	expect_getopt err "option '--t' is ambiguous; possibilities: '--timeout' '--timefmt'"
}

@test "inotifywait warns about repeated --exclude even after a bad option" {
	iw --exclude a --exclude b --bogus w
	expect_status 1
	[ "$(wc -l <err)" -eq 2 ] || fail "two lines expected"
	[[ "$(head -n 1 err)" == *": unrecognized option '--bogus'" ]] || fail "getopt line first"
	[ "$(tail -n 1 err)" = "--exclude: only the last option will be taken into consideration." ] ||
		fail "the warning second"
}

@test "inotifywait has no short forms of its long-only options" {
	iw -n w
	expect_status 1
	expect_getopt err "invalid option -- 'n'"
	iw -a w
	expect_status 1
	expect_getopt err "invalid option -- 'a'"
}

@test "inotifywait stops scanning at a bad option, so later options are never seen" {
	iw -x -f w
	expect_status 1
	expect_getopt err "invalid option -- 'x'"
	iw -x -e foo w
	expect_status 1
	expect_getopt err "invalid option -- 'x'"
}

@test "inotifywait still runs the consistency checks after a bad option" {
	iw -d -x w
	expect_status 1
	[ "$(wc -l <err)" -eq 2 ] || fail "two lines expected"
	[[ "$(head -n 1 err)" == *": invalid option -- 'x'" ]] || fail "getopt line first"
	[ "$(tail -n 1 err)" = "-o must be specified with -d." ] || fail "check line second"
}

@test "inotifywait accepts unambiguous long option prefixes" {
	iw --timeo=1 --qui w
	expect_status 2
	expect err
	expect out
}

@test "inotifywait long option prefixes reach the right option" {
	iw --even=bogus w
	expect_status 1
	expect err "'bogus' is not a valid event!  $EVENT_HINT"
	iw --timeo=x w
	expect_status 1
	expect err "'x' is not a valid timeout value." "Please specify a long int value."
}

# --- -e ----------------------------------------------------------------

@test "inotifywait -e is case-insensitive and only the listed event ends the wait" {
	echo old >w/a
	start_iw -e Close_Write w
	cat w/a >/dev/null
	chmod 600 w/a
	echo new >w/a
	wait_exit
	expect_status 0
	expect out 'w/ CLOSE_WRITE,CLOSE a'
}

# only_moved_to_and_delete ARGS...: with -e ARGS asking for moved_to and
# delete, a chmod, a rename, a write and a delete print just those two.
only_moved_to_and_delete() {
	touch w/a
	start_iw -m "$@" w
	chmod 600 w/a
	mv w/a w/c
	echo x >w/b
	rm w/c
	wait_lines out 2
	expect out 'w/ MOVED_TO c' 'w/ DELETE c'
}

@test "inotifywait -e takes a comma-separated list" {
	only_moved_to_and_delete -e delete,MOVED_TO
}

@test "inotifywait ORs the events of repeated -e options" {
	only_moved_to_and_delete -e delete -e moved_to
}

@test "inotifywait -e close means both close events" {
	echo x >w/a
	start_iw -m -e close w
	cat w/a >/dev/null
	echo y >w/a
	wait_lines out 2
	expect out 'w/ CLOSE_NOWRITE,CLOSE a' 'w/ CLOSE_WRITE,CLOSE a'
}

@test "inotifywait rejects an unknown event name quoting the whole list" {
	iw -e MODIFY,bar w
	expect_status 1
	expect err "'MODIFY,bar' is not a valid event!  $EVENT_HINT"
	expect out
}

@test "inotifywait rejects an unknown event name given alone" {
	iw -e foo w
	expect_status 1
	expect err "'foo' is not a valid event!  $EVENT_HINT"
}

@test "inotifywait reports the first scanning error in argument order" {
	iw -e foo -t bar w
	expect_status 1
	expect err "'foo' is not a valid event!  $EVENT_HINT"
	iw -t bar -e foo w
	expect_status 1
	expect err "'bar' is not a valid timeout value." "Please specify a long int value."
	iw -e foo -d w
	expect_status 1
	expect err "'foo' is not a valid event!  $EVENT_HINT"
	iw -e foo -h
	expect_status 1
	expect err "'foo' is not a valid event!  $EVENT_HINT"
	expect out
}

@test "inotifywait ignores an empty token in -e instead of meaning all events" {
	deliberate_difference "an empty -e token means all events in the reference"
	echo x >w/a
	start_iw -e modify, w
	touch w/b
	echo y >>w/a
	wait_exit
	expect_status 0
	expect out 'w/ MODIFY a'
}

@test "inotifywait ignores leading and doubled empty tokens in -e" {
	deliberate_difference "an empty -e token means all events in the reference"
	echo x >w/a
	start_iw -e ,modify,,moved_to w
	touch w/b
	echo y >>w/a
	wait_exit
	expect_status 0
	expect out 'w/ MODIFY a'
}

# --- -t ----------------------------------------------------------------

@test "inotifywait -t rejects an empty value" {
	iw -t '' w
	expect_status 1
	expect err "The provided value is not a valid timeout value." "Please specify a long int value."
}

@test "inotifywait -t rejects trailing junk" {
	local v
	for v in 1.5 abc '1 '; do
		iw -t "$v" w
		expect_status 1
		expect err "'$v' is not a valid timeout value." "Please specify a long int value."
	done
}

@test "inotifywait -t rejects an out-of-range value" {
	iw -t 99999999999999999999 w
	expect_status 1
	expect err "Something went wrong with the timeout value you provided." "Numerical result out of range"
}

@test "inotifywait -t accepts leading blanks and a plus sign" {
	local v
	for v in ' 1' '+1'; do
		iw -q -t "$v" nothere
		expect_status 1
		expect err "Couldn't watch nothere: No such file or directory"
	done
}

@test "inotifywait -t rejects a negative value" {
	deliberate_difference "the reference wraps a negative timeout to 2^32-1 seconds"
	iw -t -1 w
	expect_status 1
	expect err "'-1' is not a valid timeout value." "Please specify a long int value."
}

@test "inotifywait -t does not wrap values of 2^32 and above" {
	deliberate_difference "the reference wraps 4294967297 to 1 second"
	"$IW" -q -t 4294967297 w >out 2>err 3>&- &
	PID=$!
	# A control watcher with a 2 s timeout: when it has timed out, a
	# wrapped value (1 s) would have expired too.
	mkdir ctl
	"$IW" -q -t 2 ctl 3>&- &
	local control=$!
	wait_exit "$control"
	expect_status 2
	if kill -0 "$PID" 2>/dev/null; then
		return 0
	fi
	wait_exit
	[ "$status" -ne 2 ] || fail "4294967297 was wrapped to a short timeout"
}

# --- post-scan checks ----------------------------------------------------

@test "inotifywait rejects --exclude with --excludei" {
	iw --exclude a --excludei b w
	expect_status 1
	expect err "--exclude and --excludei cannot both be specified."
}

@test "inotifywait rejects --include with --includei" {
	iw --include a --includei b w
	expect_status 1
	expect err "--include and --includei cannot both be specified."
}

@test "inotifywait rejects include and exclude regexps together" {
	iw --includei a --exclude b w
	expect_status 1
	expect err "include and exclude regexp cannot both be specified."
}

@test "inotifywait rejects -c with --format" {
	iw -c --format x w
	expect_status 1
	expect err "-c and --format cannot both be specified."
}

@test "inotifywait rejects --no-newline without --format" {
	iw --no-newline w
	expect_status 1
	expect err "--no-newline cannot be specified without --format."
}

@test "inotifywait rejects --timefmt without --format" {
	iw --timefmt %s w
	expect_status 1
	expect err "--timefmt cannot be specified without --format."
}

@test "inotifywait rejects %T without --timefmt" {
	iw --format '%T' w
	expect_status 1
	expect err "%T is in --format string, but --timefmt was not specified."
	iw --format 'x %w%T' w
	expect_status 1
	expect err "%T is in --format string, but --timefmt was not specified."
}

@test "inotifywait accepts %%T without --timefmt and prints %T" {
	deliberate_difference "the reference finds %T inside %%T and refuses it"
	start_iw -e create --format '%%T %f' w
	touch w/a
	wait_exit
	expect_status 0
	expect out '%T a'
}

@test "inotifywait rejects -d without -o" {
	iw -d w
	expect_status 1
	expect err "-o must be specified with -d."
}

@test "inotifywait runs the consistency checks in a fixed order" {
	iw --exclude a --excludei b --include c --includei d w
	expect err "--exclude and --excludei cannot both be specified."
	iw --include a --includei b --exclude c w
	expect err "--include and --includei cannot both be specified."
	iw --include a --exclude b -c --format x w
	expect err "include and exclude regexp cannot both be specified."
	iw -c --format %T -d w
	expect err "-c and --format cannot both be specified."
	iw --no-newline --timefmt x -d w
	expect err "--no-newline cannot be specified without --format."
	iw --timefmt x -d w
	expect err "--timefmt cannot be specified without --format."
	iw --format %T -d w
	expect err "%T is in --format string, but --timefmt was not specified."
	iw --exclude a --exclude b -d w
	expect err "-o must be specified with -d."
	expect_status 1
}

@test "inotifywait checks options before the regex, the regex before the format, the format before the paths" {
	iw --exclude '(' -d
	expect_status 1
	expect err "-o must be specified with -d."
	iw --exclude '(' --format '' --no-newline
	expect_status 1
	expect err 'Error in `exclude'"'"' regular expression.'
	iw --format '' --no-newline
	expect_status 1
	expect err "Something is wrong with your format string."
}

@test "inotifywait reports a bad exclude regex" {
	iw --exclude '(' w
	expect_status 1
	expect err 'Error in `exclude'"'"' regular expression.'
	iw --excludei 'a[' w
	expect_status 1
	expect err 'Error in `exclude'"'"' regular expression.'
}

@test "inotifywait reports a bad include regex" {
	iw --include '(' w
	expect_status 1
	expect err 'Error in `include'"'"' regular expression.'
	iw --includei 'a[' w
	expect_status 1
	expect err 'Error in `include'"'"' regular expression.'
}

@test "inotifywait regexes are POSIX extended ones" {
	start_iw -m -e create --exclude 'w/(a|b)$' w
	touch w/a w/b 'w/(a|b)' w/c
	wait_lines out 2
	expect out 'w/ CREATE (a|b)' 'w/ CREATE c'
}

@test "inotifywait warns when --exclude is given twice and carries on" {
	iw --exclude a --exclude b nothere
	expect_status 1
	expect err "--exclude: only the last option will be taken into consideration." \
		"Setting up watches." "Couldn't watch nothere: No such file or directory"
}

@test "inotifywait warns when --excludei is given twice and carries on" {
	iw --excludei a --excludei b nothere
	expect_status 1
	expect err "--excludei: only the last option will be taken into consideration." \
		"Setting up watches." "Couldn't watch nothere: No such file or directory"
}

@test "inotifywait does not warn when --include is given twice" {
	iw --include a --include b nothere
	expect_status 1
	expect err "Setting up watches." "Couldn't watch nothere: No such file or directory"
}

@test "inotifywait uses only the last of two --exclude patterns" {
	start_iw -m -e create --exclude '/a$' --exclude '/b$' w
	touch w/a w/b w/c
	wait_lines out 2
	expect out 'w/ CREATE a' 'w/ CREATE c'
}

@test "inotifywait -f says the option no longer exists" {
	iw -f w
	expect_status 1
	expect err "The '--filename' option no longer exists.  The option it enabled in earlier" \
		"versions of inotifywait is now turned on by default."
	expect out
}

@test "inotifywait rejects two --outfile options" {
	iw -o a -o b w
	expect_status 1
	expect err "Multiple --outfile options given."
	[ ! -e a ] && [ ! -e b ] || fail "no outfile should be created"
}

# --- paths ----------------------------------------------------------------

@test "inotifywait without paths says no files are specified" {
	iw
	expect_status 1
	expect err "No files specified to watch!"
	expect out
}

@test "inotifywait skips empty arguments, a lone @ and @-exclusions when counting paths" {
	iw '' @ @w
	expect_status 1
	expect err "No files specified to watch!"
}

@test "inotifywait reads paths from --fromfile, one a line, before the command line" {
	printf 'x1\n' >list
	iw -q --fromfile list x2
	expect_status 1
	expect err "Couldn't watch x1: No such file or directory"
}

@test "inotifywait --fromfile keeps blanks and skips empty and @ lines" {
	printf '\n@\n@w\n sp\n' >list
	iw -q --fromfile list
	expect_status 1
	expect err "Couldn't watch  sp: No such file or directory"
}

@test "inotifywait --fromfile with only exclusions has no files to watch" {
	printf '@w\n\n@\n' >list
	iw --fromfile list
	expect_status 1
	expect err "No files specified to watch!"
}

@test "inotifywait --fromfile - reads the paths from stdin" {
	printf 'fromstdin\n' >list
	iw -q --fromfile - <list
	expect_status 1
	expect err "Couldn't watch fromstdin: No such file or directory"
}

@test "inotifywait --fromfile names a directory that is then watched" {
	printf 'w\n' >list
	start_iw -e create --fromfile list
	touch w/a
	wait_exit
	expect_status 0
	expect out 'w/ CREATE a'
}

@test "inotifywait names a watch after the first path given for it, fromfile first" {
	printf './w\n' >list
	start_iw -e create --fromfile list w
	touch w/a
	wait_exit
	expect_status 0
	expect out './w/ CREATE a'
}

@test "inotifywait continues with the command line when --fromfile cannot be opened" {
	iw --fromfile nofile nothere
	expect_status 1
	expect err "Couldn't open nofile: No such file or directory" \
		"Setting up watches." "Couldn't watch nothere: No such file or directory"
}

@test "inotifywait with an unreadable --fromfile and no other path has no files" {
	iw --fromfile nofile
	expect_status 1
	expect err "Couldn't open nofile: No such file or directory" "No files specified to watch!"
}

@test "inotifywait rejects two --fromfile options" {
	printf 'w\n' >list
	iw --fromfile list --fromfile list
	expect_status 1
	expect err "Multiple --fromfile options given."
}

@test "inotifywait @PATH excludes a subdirectory under -r" {
	mkdir w/a w/b
	WATCHES=2 start_iw -q -m -r -e create w @w/a
	touch w/a/x w/b/y
	wait_lines out 1
	expect out 'w/b/ CREATE y'
}

@test "inotifywait @ lines in --fromfile exclude a subdirectory under -r" {
	mkdir w/a w/b
	printf 'w\n@w/a\n' >list
	WATCHES=2 start_iw -q -m -r -e create --fromfile list
	touch w/a/x w/b/y
	wait_lines out 1
	expect out 'w/b/ CREATE y'
}

@test "inotifywait without -r ignores @ exclusions" {
	start_iw -e create w @w
	touch w/a
	wait_exit
	expect_status 0
	expect out 'w/ CREATE a'
}

# --- argument order ---------------------------------------------------------

@test "inotifywait accepts options after the paths" {
	iw nothere -q
	expect_status 1
	expect err "Couldn't watch nothere: No such file or directory"
}

@test "inotifywait accepts bundled short options after the paths" {
	iw w -qt1
	expect_status 2
	expect err
	expect out
}

@test "inotifywait with POSIXLY_CORRECT stops options at the first path" {
	POSIXLY_CORRECT=1 iw w -q
	expect_status 1
	expect err "Setting up watches." "Couldn't watch -q: No such file or directory"
}

@test "inotifywait treats everything after -- as a path" {
	iw -t 1 -- -q
	expect_status 1
	expect err "Setting up watches." "Couldn't watch -q: No such file or directory"
}

@test "inotifywait watches a directory named like an option after --" {
	mkdir -- -d
	start_iw -e create -- -d
	touch ./-d/x
	wait_exit
	expect_status 0
	expect out '-d/ CREATE x'
}

@test "inotifywait accepts and ignores -I, -F and -S" {
	local o
	for o in -I -F -S --inotify --fanotify --filesystem; do
		iw "$o" nothere
		expect_status 1
		expect err "Setting up watches." "Couldn't watch nothere: No such file or directory"
	done
}

# --- help and version ---------------------------------------------------

@test "inotifywait --help lists every event on a line starting with one TAB" {
	iw --help
	local name
	grep -qx 'Events:' out || fail "no Events: section"
	for name in access modify attrib close_write close_nowrite close open \
		moved_to moved_from move move_self create delete delete_self unmount; do
		sed -n '/^Events:$/,$p' out | grep -qE "^	${name}([[:space:]]|\$)" ||
			fail "event $name not listed"
	done
	expect err
}

@test "inotifywait -h shows the help even when a bad option follows" {
	iw -h -e foo
	grep -q '^Events:$' out || fail "no help on stdout"
	expect err
}

@test "inotifywait --help exits 0" {
	deliberate_difference "the reference's --help exits 1"
	iw --help
	expect_status 0
	grep -q '^Events:$' out || fail "no help on stdout"
}

@test "inotifywait --version prints its name and a version on stdout" {
	deliberate_difference "the reference has no --version"
	iw --version
	expect_status 0
	grep -qE 'inotifywait.*[0-9]+\.[0-9]+' out || fail "no version line"
}
