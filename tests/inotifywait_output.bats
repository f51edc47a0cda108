load helper
load iw_helper

# --- default format ---------------------------------------------------

@test "inotifywait prints an entry event as watch, events and name" {
	start_iw -e create w
	touch w/a
	wait_exit
	expect_status 0
	expect out 'w/ CREATE a'
}

@test "inotifywait prints an event on the watched directory itself with a trailing space" {
	start_iw -e open w
	ls w >/dev/null
	wait_exit
	expect out 'w/ OPEN,ISDIR '
}

@test "inotifywait prints an event on a watched file with a trailing space" {
	touch w/f
	start_iw -e attrib w/f
	chmod 600 w/f
	wait_exit
	expect out 'w/f ATTRIB '
}

@test "inotifywait writes setup messages on stderr and events on stdout" {
	start_iw -e create w
	touch w/a
	wait_exit
	expect err 'Setting up watches.' 'Watches established.'
	expect out 'w/ CREATE a'
}

@test "inotifywait names events of entries in a fixed order" {
	start_iw -m -e close_write,create,moved_from,moved_to,delete w
	mkdir w/d
	echo x >w/a
	mv w/a w/b
	rmdir w/d
	wait_lines out 6
	expect out 'w/ CREATE,ISDIR d' 'w/ CREATE a' 'w/ CLOSE_WRITE,CLOSE a' \
		'w/ MOVED_FROM a' 'w/ MOVED_TO b' 'w/ DELETE,ISDIR d'
}

@test "inotifywait adds ISDIR after CLOSE for a watched directory" {
	start_iw -m -e open,close_nowrite w
	ls w >/dev/null
	wait_lines out 2
	expect out 'w/ OPEN,ISDIR ' 'w/ CLOSE_NOWRITE,CLOSE,ISDIR '
}

@test "inotifywait prints ISDIR for a directory moved within the watch" {
	mkdir w/d
	start_iw -m -e move w
	mv w/d w/e
	wait_lines out 2
	expect out 'w/ MOVED_FROM,ISDIR d' 'w/ MOVED_TO,ISDIR e'
}

@test "inotifywait prints MOVE_SELF and DELETE_SELF of a watched file without ISDIR" {
	touch w/f
	start_iw -m -e move_self,delete_self w/f
	mv w/f w/g
	rm w/g
	wait_lines out 2
	expect out 'w/f MOVE_SELF ' 'w/f DELETE_SELF '
}

@test "inotifywait prints DELETE_SELF of a watched directory without ISDIR" {
	mkdir w/d
	start_iw -e delete_self w/d
	rmdir w/d
	wait_exit
	expect_status 0
	expect out 'w/d/ DELETE_SELF '
}

@test "inotifywait reports writing a new file as MODIFY then CLOSE_WRITE,CLOSE" {
	start_iw -m -e modify,close_write --format '%e' w
	echo x >w/a
	wait_lines out 2
	expect out 'MODIFY' 'CLOSE_WRITE,CLOSE'
}

@test "inotifywait prints a name with a newline raw in the default format" {
	start_iw -e create w
	touch $'w/l1\nl2'
	wait_exit
	expect out 'w/ CREATE l1' 'l2'
}

# --- CSV ------------------------------------------------------------------

@test "inotifywait --csv quotes fields with a comma, a quote, a newline or edge spaces" {
	start_iw -m -c -e create w
	touch 'w/a b' 'w/ lead' 'w/trail ' 'w/q"x' 'w/c,d' $'w/l1\nl2' 'w/"'
	wait_file_match out '^w/,CREATE,""""$'
	printf '%s\n' 'w/,CREATE,a b' 'w/,CREATE," lead"' 'w/,CREATE,"trail "' \
		'w/,CREATE,"q""x"' 'w/,CREATE,"c,d"' 'w/,CREATE,"l1' 'l2"' \
		'w/,CREATE,""""' >want
	cmp want out || fail "csv output differs"
}

@test "inotifywait --csv quotes the event list when it has a comma" {
	touch 'w/a b'
	start_iw -c -e close_write w
	echo x >'w/a b'
	wait_exit
	expect out 'w/,"CLOSE_WRITE,CLOSE",a b'
}

@test "inotifywait --csv quotes watch names too" {
	mkdir 'c,d' ' sp'
	start_iw -m -c -e create 'c,d' ' sp'
	touch 'c,d/x'
	wait_lines out 1
	touch ' sp/y'
	wait_lines out 2
	expect out '"c,d/",CREATE,x' '" sp/",CREATE,y'
}

@test "inotifywait --csv ends the line with a comma when there is no name" {
	touch f
	start_iw -m -c -e open,attrib w f
	ls w >/dev/null
	wait_lines out 1
	chmod 600 f
	wait_lines out 2
	expect out 'w/,"OPEN,ISDIR",' 'f,ATTRIB,'
}

@test "inotifywait --csv quotes a field containing a carriage return" {
	deliberate_difference "the reference does not quote a carriage return"
	start_iw -c -e create w
	touch $'w/cr\rx'
	wait_exit
	expect out $'w/,CREATE,"cr\rx"'
}

# --- --format ------------------------------------------------------------

@test "inotifywait --format expands %w %f %e and %Xe with any separator" {
	touch w/a
	start_iw -e close_write --format '%w|%f|%e|%:e|% e|%;e|%-e|%/e|%Ee' w
	echo x >w/a
	wait_exit
	expect out 'w/|a|CLOSE_WRITE,CLOSE|CLOSE_WRITE:CLOSE|CLOSE_WRITE CLOSE|CLOSE_WRITE;CLOSE|CLOSE_WRITE-CLOSE|CLOSE_WRITE/CLOSE|CLOSE_WRITEECLOSE'
}

@test "inotifywait --format %Xe separates ISDIR too" {
	start_iw -m -e close_nowrite --format '%:e' w
	ls w >/dev/null
	wait_lines out 1
	expect out 'CLOSE_NOWRITE:CLOSE:ISDIR'
}

@test "inotifywait --format prints %% as %, %x literally and no backslash escapes" {
	start_iw -e create --format '%%|%x|%q|\n\t|\\%f' w
	touch w/a
	wait_exit
	expect out '%|%x|%q|\n\t|\\a'
}

@test "inotifywait --format %0 writes a NUL and %n a newline" {
	start_iw -e create --format '<%0|%n>' w
	touch w/a
	wait_exit
	printf '<\0|\n>\n' >want
	cmp want out || fail "NUL/newline directives"
}

@test "inotifywait --format reads one character after % and keeps the rest literal" {
	start_iw -e create --format '%0e|%ne|%we|%ee|%%e|%fe' w
	touch w/a
	wait_exit
	printf '\0e|\ne|w/e|CREATEe|%%e|ae\n' >want
	cmp want out || fail "directive followed by e"
}

@test "inotifywait --format %f is empty for an event on the watched object" {
	start_iw -e open --format '[%w][%f]' w
	ls w >/dev/null
	wait_exit
	expect out '[w/][]'
}

@test "inotifywait --format %c is the same non-zero cookie for both halves of a move" {
	touch w/a
	start_iw -m -e moved_from,moved_to,attrib --format '%e %c %f' w
	chmod 600 w/a
	mv w/a w/b
	wait_lines out 3
	sed -n 1p out | grep -qx 'ATTRIB 0 a' || fail "cookie of a non-move is not 0"
	local from to
	from=$(sed -n 2p out)
	to=$(sed -n 3p out)
	[[ "$from" =~ ^MOVED_FROM\ ([0-9a-f]+)\ a$ ]] || fail "bad MOVED_FROM line"
	local c=${BASH_REMATCH[1]}
	[ "$c" != 0 ] || fail "move cookie is 0"
	[ "$to" = "MOVED_TO $c b" ] || fail "MOVED_TO has another cookie"
}

@test "inotifywait --format %T renders --timefmt in the local time zone" {
	TZ=XYZ-5 start_iw -e create --format '%T|%f' --timefmt '%Z %z' w
	touch w/a
	wait_exit
	expect out 'XYZ +0500|a'
}

@test "inotifywait --format %T uses the time of the event" {
	local before after t
	before=$(date +%s)
	start_iw -e create --format '%T' --timefmt '%s' w
	touch w/a
	wait_exit
	after=$(date +%s)
	t=$(cat out)
	[[ "$t" =~ ^[0-9]+$ ]] || fail "not a number"
	[ "$t" -ge "$before" ] && [ "$t" -le "$after" ] || fail "time $t not in [$before, $after]"
}

@test "inotifywait --format '' prints an empty line per event" {
	start_iw -e create --format '' w
	touch w/a
	wait_exit
	expect_status 0
	printf '\n' >want
	cmp want out || fail "not one empty line"
}

@test "inotifywait --no-newline leaves lines unterminated" {
	start_iw -m -e create --format '%f|' --no-newline w
	touch w/a
	wait_file_match out 'a\|$'
	touch w/b
	wait_file_match out 'b\|$'
	printf 'a|b|' >want
	cmp want out || fail "output differs"
}

@test "inotifywait --format with a trailing % prints it literally when a newline follows" {
	start_iw -e create --format 'abc%' w
	touch w/a
	wait_exit
	expect out 'abc%'
}

@test "inotifywait rejects a format that renders nothing without a newline" {
	local f
	for f in '%w' '%f' '' '%f%w'; do
		iw --format "$f" --no-newline w
		expect_status 1
		expect err "Something is wrong with your format string."
		expect out
	done
}

@test "inotifywait --format with a trailing % and --no-newline prints the %" {
	deliberate_difference "the reference prints nothing at all"
	start_iw -e create --format 'abc%' --no-newline w
	touch w/a
	wait_exit
	printf 'abc%%' >want
	cmp want out || fail "literal % expected"
}

@test "inotifywait --format prints the rest of the line when %T renders empty" {
	deliberate_difference "the reference prints nothing at all"
	start_iw -e create --format '[%T]%f' --timefmt '' w
	touch w/a
	wait_exit
	expect out '[]a'
}

@test "inotifywait uses the last of two --format options" {
	deliberate_difference "the reference crashes on a second, longer --format"
	start_iw -e create --format '%f' --format 'the second, much longer format: %w %f' w
	touch w/a
	wait_exit
	expect_status 0
	expect out 'the second, much longer format: w/ a'
}

@test "inotifywait does not cap an output line at 4095 bytes" {
	deliberate_difference "the reference truncates output at 4095 bytes"
	local pad
	pad=$(printf '%5000s' '' | tr ' ' x)
	start_iw -e create --format "$pad%f" w
	touch w/a
	wait_exit
	expect out "${pad}a"
}

# --- names byte for byte --------------------------------------------------

@test "inotifywait %w%f%0 with --no-newline gives exact NUL-separated paths" {
	start_iw -m -e create --format '%w%f%0' --no-newline w
	touch -- 'w/a b' $'w/n\nl' $'w/t\tb' 'w/-x' 'w/ lead'
	wait_nuls out 5
	printf 'w/a b\0w/n\nl\0w/t\tb\0w/-x\0w/ lead\0' >want
	cmp want out || fail "paths differ"
}

# --- quiet levels ---------------------------------------------------------

@test "inotifywait -q prints no setup messages but prints events" {
	WATCHES=1 start_iw -q -e create w
	touch w/a
	wait_exit
	expect_status 0
	expect err
	expect out 'w/ CREATE a'
}

@test "inotifywait -qq prints no events and still exits 0" {
	WATCHES=1 start_iw -qq -e create w
	touch w/a
	wait_exit
	expect_status 0
	expect err
	expect out
}

@test "inotifywait -q -q is the same as -qq" {
	WATCHES=1 start_iw -q -q -e create w
	touch w/a
	wait_exit
	expect_status 0
	expect out
}

@test "inotifywait -qq still prints errors" {
	iw -qq nothere
	expect_status 1
	expect err "Couldn't watch nothere: No such file or directory"
}

# --- -o -------------------------------------------------------------------

@test "inotifywait -o appends events to the file and keeps stdout empty" {
	echo old >log
	start_iw -o log -e create w
	touch w/a
	wait_exit
	expect_status 0
	expect log 'old' 'w/ CREATE a'
	expect out
	expect err 'Setting up watches.' 'Watches established.'
}

@test "inotifywait -o creates the file with mode 0600" {
	start_iw -o log -e create w
	touch w/a
	wait_exit
	[ "$(stat -c %a log)" = 600 ] || fail "mode $(stat -c %a log)"
	expect log 'w/ CREATE a'
}

@test "inotifywait -o writes CSV and --format output too" {
	start_iw -o log -c -m -e create w
	touch w/a
	wait_lines log 1
	expect log 'w/,CREATE,a'
}

@test "inotifywait -o reports a file it cannot open" {
	iw -o nodir/x w
	expect_status 1
	expect err "Failed to open output file nodir/x"
}

# --- -d -------------------------------------------------------------------

@test "inotifywait -d returns 0 at once and the daemon appends events to the outfile" {
	echo old >log
	# -t: the daemon also ends by itself once idle.
	iw -d -t 10 -o log -e create "$PWD/w"
	expect_status 0
	expect out
	expect err
	find_daemon "$PWD/log"
	wait_watches 1
	touch w/a
	wait_lines log 2
	expect log 'old' "$PWD/w/ CREATE a"
}

@test "inotifywait -d creates a missing outfile and resolves relative watch paths" {
	deliberate_difference "the reference needs an existing outfile and resolves paths from /"
	iw -d -t 10 -o log -e create w
	expect_status 0
	find_daemon "$PWD/log"
	wait_watches 1
	touch w/a
	wait_lines log 1
	expect log 'w/ CREATE a'
	[ "$(stat -c %a log)" = 600 ] || fail "mode $(stat -c %a log)"
}

@test "inotifywait -d reports a path it cannot watch on stderr and exits 1" {
	deliberate_difference "the reference forks first, so the error only reaches syslog and the command returns 0"
	iw -d -o log -e create nothere
	expect_status 1
	expect err "Couldn't watch nothere: No such file or directory"
}
