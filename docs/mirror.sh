#!/bin/sh
# mirror.sh: keep rsync destinations a real-time mirror of a folder, driven
# by inotifywait. See docs/mirror.md for how it works and why.
#
# Needs: a POSIX sh (dash is fine), rsync 3.1 or later on both ends, our
# inotifywait, and the usual GNU or busybox tools (head -c, tail -c,
# sort -z, xargs -0, find -print0, mkfifo, mktemp, and a sleep that takes
# fractions of a second). Linux only (inotify, /proc).

# shellcheck disable=SC2154 # per-destination variables are set by eval

me=${0##*/}
set -f

usage() {
	cat <<EOF
Usage: $me [options] -s SOURCE -d DEST [-d DEST ...]
       $me [options] SOURCE DEST [DEST ...]

Mirrors the folder SOURCE to every DEST in real time: a full
'rsync -a --delete' at start, then one 'rsync --files-from' per
destination for each batch of changes. DEST is anything rsync takes as a
destination: rsync://user@host:port/module/, host::module/, host:path/,
or a local path. A daemon's password goes in RSYNC_PASSWORD, an ssh
command in RSYNC_RSH, as rsync reads them.

Options (environment variable in brackets; options win):
  -s DIR      the folder to mirror [MIRROR_SOURCE]
  -d DEST     a destination; repeat for more [MIRROR_DESTS, separated by
              white space]
  -q SECONDS  quiet period: a batch is sent once no event came for this
              long (fractions allowed) [MIRROR_QUIET, 0.5]
  -m SECONDS  longest a batch waits for the quiet period, so that a file
              written without pause is still sent [MIRROR_MAX_DELAY, 5]
  -o OPTS     extra rsync options, split at white space, for every rsync
              run, e.g. '-H -A -X --bwlimit=20m' [MIRROR_RSYNC_OPTS]
  -b SECONDS  longest wait between retries of a failed destination
              [MIRROR_BACKOFF_MAX, 60]
  -i PATH     the inotifywait to use [MIRROR_INOTIFYWAIT; default: the
              one in the folder above this script, else inotifywait in PATH]
  -p FILE     write the watcher's process id to FILE [MIRROR_PIDFILE]
  -L BYTES    start a new event log once the current one is this big
              [MIRROR_LOG_MAX, 67108864]
  -v          say what each batch did, on stderr [MIRROR_VERBOSE=1]
  -h          print this text and exit

Runs until SIGINT, SIGTERM or SIGHUP (exit 0), or until the watcher ends
(exit 1). Failures are reported on stderr and retried with back-off.
EOF
}

say() {
	printf '%s: %s\n' "$me" "$*" >&2
}

note() {
	if [ "$verbose" = 1 ]; then
		say "$@"
	fi
}

die() {
	say "$*"
	exit 1
}

# --- Options ---------------------------------------------------------------

src=${MIRROR_SOURCE:-}
quiet=${MIRROR_QUIET:-0.5}
maxdelay=${MIRROR_MAX_DELAY:-5}
rsync_opts=${MIRROR_RSYNC_OPTS:-}
backoff_max=${MIRROR_BACKOFF_MAX:-60}
iw=${MIRROR_INOTIFYWAIT:-}
pidfile=${MIRROR_PIDFILE:-}
log_max=${MIRROR_LOG_MAX:-67108864}
verbose=${MIRROR_VERBOSE:-0}
ndest=0

add_dest() {
	[ -n "$1" ] || die "an empty destination"
	ndest=$((ndest + 1))
	eval "dest_$ndest=\$1"
}

while getopts s:d:q:m:o:b:i:p:L:vh opt; do
	case $opt in
	s) src=$OPTARG ;;
	d) add_dest "$OPTARG" ;;
	q) quiet=$OPTARG ;;
	m) maxdelay=$OPTARG ;;
	o) rsync_opts=$OPTARG ;;
	b) backoff_max=$OPTARG ;;
	i) iw=$OPTARG ;;
	p) pidfile=$OPTARG ;;
	L) log_max=$OPTARG ;;
	v) verbose=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
if [ -z "$src" ] && [ $# -gt 0 ]; then
	src=$1
	shift
fi
if [ $# -gt 0 ]; then
	[ "$ndest" -eq 0 ] || die "destinations given both as -d and as arguments"
	for d in "$@"; do
		add_dest "$d"
	done
fi
if [ "$ndest" -eq 0 ]; then
	for d in ${MIRROR_DESTS:-}; do
		add_dest "$d"
	done
fi

[ -n "$src" ] || { usage >&2; die "no source folder (-s)"; }
[ "$ndest" -gt 0 ] || { usage >&2; die "no destination (-d)"; }
[ -d "$src" ] || die "$src is not a folder"

is_decimal() {
	case $1 in
	'' | . | *[!0-9.]* | *.*.*) return 1 ;;
	esac
	return 0
}
is_decimal "$quiet" || die "-q: '$quiet' is not a number of seconds"
is_decimal "$maxdelay" || die "-m: '$maxdelay' is not a number of seconds"
case $backoff_max in '' | *[!0-9]* | 0) die "-b: '$backoff_max' is not a whole number of seconds" ;; esac
case $log_max in '' | *[!0-9]*) die "-L: '$log_max' is not a number of bytes" ;; esac
# How many quiet periods a batch may wait at most.
maxnaps=$(awk -v q="$quiet" -v m="$maxdelay" \
	'BEGIN { n = (q > 0) ? int(m / q) : 1; print (n < 1) ? 1 : n }')

if [ -z "$iw" ]; then
	here=$(cd "$(dirname "$0")" && pwd -P)
	if [ -x "$here/../inotifywait" ]; then
		iw=$here/../inotifywait
	else
		iw=inotifywait
	fi
fi
command -v "$iw" >/dev/null 2>&1 || die "no inotifywait at '$iw' (use -i)"
command -v rsync >/dev/null 2>&1 || die "rsync is not installed"

# The physical path, even when it ends in a newline.
src=$(cd "$src" && pwd -P && echo x) || die "cannot enter $src"
src=${src%?x}

# --- Work folder, clean-up -------------------------------------------------

# The work folder holds the event log; the watcher must not see it.
work=$(mktemp -d "${TMPDIR:-/tmp}/mirror.XXXXXX") || die "cannot make a work folder"
work=$(cd "$work" && pwd -P)
case $work/ in
"$src"/*)
	rm -rf "$work"
	die "the work folder $work is inside the source; set TMPDIR to a folder outside it"
	;;
esac

# Our children not yet waited for (so their ids cannot have been reused).
child=      # the command the loop waits for now (dd, sleep, rsync)
iw_pid=     # the watcher of the source
tick_pid=   # the watcher of the event log

cleanup() {
	trap '' INT TERM HUP
	pids="$child $iw_pid $tick_pid"
	j=1
	while [ "$j" -le "$ndest" ]; do
		eval "pids=\"\$pids \${timer_$j:-}\""
		j=$((j + 1))
	done
	for p in $pids; do
		kill "$p" 2>/dev/null
		# A stopped process would keep the signal pending and us waiting.
		kill -s CONT "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$work"
	if [ -n "$pidfile" ]; then
		rm -f "$pidfile"
	fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP

# --- Waking up without polling ---------------------------------------------
#
# Everything the loop waits for shows up as a change in $work/ev: the
# watcher appends events to a log there and writes its messages there, and
# closes the log when it ends; a retry timer is a sleep whose output file is
# there. A second inotifywait ("tick watcher") turns each change into a byte
# on a FIFO, and the loop blocks reading that FIFO. A change made while the
# loop is busy leaves a byte behind, so no wake-up is ever lost.

if ! { mkdir "$work/ev" && mkfifo "$work/tick"; }; then
	die "cannot set up $work"
fi
# alive PID: the process exists and is not a zombie (Linux /proc).
alive() {
	st=
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	case $st in *') Z '* | *') X '*) return 1 ;; esac
	return 0
}

# block: wait until something changed in $work/ev (or a signal came).
block() {
	dd bs=65536 count=1 <&3 >/dev/null 2>&1 &
	child=$!
	wait "$child"
	child=
	if ! alive "$tick_pid"; then
		cat "$work/tick.err" >&2
		die "the watcher of the event log ended; stopping"
	fi
}

# nap SECONDS: sleep, ending early on a signal.
nap() {
	sleep "$1" &
	child=$!
	wait "$child"
	child=
}

# fsize FILE: its size in bytes.
fsize() {
	sz=$(wc -c <"$1")
	echo "${sz##* }"
}

# The tick watcher is the only writer of the FIFO, so if it ends, the
# reads see the end of file and the loop notices. (It opens the FIFO itself:
# inotifywait makes its output non-blocking when it is a FIFO, which on a
# shared open file would make our reads non-blocking too: a busy loop.)
"$iw" -m -e modify,close_write --format x --no-newline "$work/ev" \
	>"$work/tick" 2>"$work/tick.err" &
tick_pid=$!
# Opening the read end waits for the writer, and the writer for us.
exec 3<"$work/tick"
until grep -q '^Watches established\.$' "$work/tick.err" 2>/dev/null; do
	if ! alive "$tick_pid"; then
		cat "$work/tick.err" >&2
		die "the watcher of the event log did not start"
	fi
	nap 0.05
done

# --- The watcher -------------------------------------------------------------

gen=0
ev=

# start_watcher: start a watcher of the source writing to a new log, and
# wait until its watches are in place. Events come as "EVENTS ./path" each
# ended by a NUL; the overflow comes as "Q_OVERFLOW " (empty path).
start_watcher() {
	gen=$((gen + 1))
	ev=$work/ev/events.$gen
	everr=$work/ev/err.$gen
	(cd "$src" && exec "$iw" -m -r \
		-e create,modify,close_write,attrib,moved_to,moved_from,delete,delete_self,move_self \
		--format '%e %w%f%0' --no-newline .) >>"$ev" 2>"$everr" 3>&- &
	iw_pid=$!
	if [ -n "$pidfile" ]; then
		echo "$iw_pid" >"$pidfile"
	fi
	until grep -q '^Watches established\.$' "$everr" 2>/dev/null; do
		if ! alive "$iw_pid"; then
			cat "$everr" >&2
			return 1
		fi
		block
	done
	return 0
}

# --- Destinations ------------------------------------------------------------
#
# Each destination i has: off_i, how much of the log it has been sent;
# full_i, 1 when its next sync must be a full one; fails_i, failures in a
# row; due_i, when (epoch seconds) it may be tried again, 0 for now.

i=1
while [ "$i" -le "$ndest" ]; do
	eval "off_$i=0 full_$i=1 fails_$i=0 due_$i=0"
	i=$((i + 1))
done
nfailing=0

# The shell code that turns events into the paths to send, run by xargs
# in the source folder, one argument per event.
# shellcheck disable=SC2016
expand_sh='
for r do
	e=${r%% *}
	p=${r#* }
	[ -n "$p" ] || continue
	case $p in */) p=${p%/} ;; esac
	if [ -e "$p" ] || [ -L "$p" ]; then
		# A folder that appeared (made, or renamed or moved in): all of it.
		case ,$e, in *,ISDIR,*)
			case ,$e, in *,CREATE,* | *,MOVED_TO,*)
				if [ -d "$p" ] && [ ! -L "$p" ]; then
					find "$p" -print0
					continue
				fi
			esac
		esac
		printf "%s\000" "$p"
	elif [ -d "${p%/*}" ]; then
		# Gone: rsync deletes it on the mirror (--delete-missing-args).
		# If its folder is gone too, the event of that folder does it.
		printf "%s\000" "$p"
	fi
done'

# prepare OFF SIZE: put the log from OFF to SIZE, cut after the last whole
# record, in $work/chunk, and set chunk_end to where it ends in the log.
prepare() {
	tail -c +$(($1 + 1)) "$ev" | head -c $(($2 - $1)) >"$work/chunk"
	chunk_end=$2
	last=$(tail -c 1 "$work/chunk" | tr -d '\000' | wc -c)
	if [ "${last##* }" -ne 0 ]; then
		# The last record is still being written: leave it for later.
		part=$(tr -c '\000' x <"$work/chunk" | tr '\000' '\n' | tail -n 1 | wc -c)
		part=${part##* }
		chunk_end=$(($2 - part))
		head -c $((chunk_end - $1)) "$work/chunk" >"$work/chunk.tmp"
		mv "$work/chunk.tmp" "$work/chunk"
	fi
	# Records that are not paths to send: the overflow, and the end of the
	# source folder itself (whose path is ./).
	marks=$(tr '\n\000' '\001\n' <"$work/chunk" |
		LC_ALL=C grep -x -e 'Q_OVERFLOW ' -e 'DELETE_SELF ./' -e 'MOVE_SELF ./')
	case $marks in
	*SELF*) die "the source folder $src was deleted or moved; stopping" ;;
	esac
	overflow=0
	if [ -n "$marks" ]; then
		overflow=1
	else
		(cd "$src" && xargs -0 sh -c "$expand_sh" sh <"$work/chunk") |
			LC_ALL=C sort -z -u >"$work/list"
	fi
}

# run_rsync DEST ARGS...: run rsync, report its failure; 0 if it did its job.
run_rsync() {
	rdest=$1
	shift
	# shellcheck disable=SC2086
	rsync "$@" $rsync_opts -- "$src/" "$rdest" 2>"$work/rsync.err" &
	child=$!
	wait "$child"
	rc=$?
	child=
	case $rc in
	0) return 0 ;;
	24)
		# Files vanished while rsync ran: their events come next.
		if [ "$verbose" = 1 ]; then
			sed "s|^|$me: |" "$work/rsync.err" >&2
		fi
		return 0
		;;
	esac
	sed "s|^|$me: |" "$work/rsync.err" >&2
	return "$rc"
}

# retry_later I RC: destination I failed; schedule a full sync with back-off.
retry_later() {
	eval "fails=\$fails_$1 rdest=\$dest_$1"
	[ "$fails" -gt 0 ] || nfailing=$((nfailing + 1))
	fails=$((fails + 1))
	delay=1
	n=1
	while [ "$n" -lt "$fails" ] && [ "$delay" -lt "$backoff_max" ]; do
		delay=$((delay * 2))
		n=$((n + 1))
	done
	[ "$delay" -le "$backoff_max" ] || delay=$backoff_max
	now=$(date +%s)
	eval "full_$1=1 fails_$1=$fails due_$1=$((now + delay))"
	say "rsync to $rdest failed (exit $2, $fails in a row); full sync again in ${delay}s"
	# The end of the sleep closes a file in $work/ev, which wakes the loop.
	sleep "$delay" >"$work/ev/timer.$1" 2>/dev/null &
	eval "timer_$1=\$!"
}

# sync_all SIZE: send the log up to SIZE to every destination that is due.
sync_all() {
	synced=0
	prepared=
	now=0
	[ "$nfailing" -eq 0 ] || now=$(date +%s)
	i=1
	while [ "$i" -le "$ndest" ]; do
		eval "d=\$dest_$i off=\$off_$i full=\$full_$i due=\$due_$i fails=\$fails_$i"
		i_now=$i
		i=$((i + 1))
		[ "$due" -le "$now" ] || continue
		# A retry: the timer of this destination is done with.
		eval "t=\${timer_$i_now:-}"
		if [ -n "$t" ]; then
			kill "$t" 2>/dev/null
			wait "$t" 2>/dev/null
			eval "timer_$i_now="
		fi
		kind=full
		end=$1
		if [ "$full" = 0 ]; then
			[ "$off" -lt "$1" ] || continue
			if [ "$prepared" != "$off" ]; then
				prepare "$off" "$1"
				prepared=$off
			fi
			end=$chunk_end
			[ "$end" -gt "$off" ] || continue
			if [ "$overflow" = 1 ]; then
				say "the kernel's event queue overflowed: events were lost; full sync to $d"
			else
				kind=incremental
			fi
		fi
		if [ "$kind" = full ]; then
			note "full sync to $d"
			run_rsync "$d" -a --delete
		elif [ -s "$work/list" ]; then
			if [ "$verbose" = 1 ]; then
				note "sending a list of $(tr -cd '\000' <"$work/list" | wc -c) path(s) to $d"
			fi
			run_rsync "$d" -a --files-from="$work/list" --from0 \
				--delete-missing-args --force
		fi
		rc=$?
		synced=1
		if [ "$rc" -eq 0 ]; then
			if [ "$fails" -gt 0 ]; then
				nfailing=$((nfailing - 1))
				say "$d is in sync again"
			fi
			eval "off_$i_now=$end full_$i_now=0 fails_$i_now=0 due_$i_now=0"
			note "$d: in sync"
		else
			retry_later "$i_now" "$rc"
		fi
	done
}

# pending SIZE: some destination has something to do now.
pending() {
	now=0
	[ "$nfailing" -eq 0 ] || now=$(date +%s)
	j=1
	while [ "$j" -le "$ndest" ]; do
		eval "off=\$off_$j full=\$full_$j due=\$due_$j"
		j=$((j + 1))
		[ "$due" -le "$now" ] || continue
		[ "$full" = 1 ] && return 0
		[ "$off" -lt "$1" ] && return 0
	done
	return 1
}

# rotate: hand over to a new watcher and log once the log is big. The new
# watcher is in place before the old one stops, so nothing falls between.
rotate() {
	old_ev=$ev
	old_pid=$iw_pid
	start_watcher || die "the new watcher did not start"
	kill "$old_pid" 2>/dev/null
	wait "$old_pid" 2>/dev/null
	new_ev=$ev
	ev=$old_ev
	sync_all "$(fsize "$ev")"
	ev=$new_ev
	rm -f "$old_ev" "$work/ev/err.$((gen - 1))"
	j=1
	while [ "$j" -le "$ndest" ]; do
		eval "off_$j=0"
		j=$((j + 1))
	done
	note "started a new event log"
}

# --- Main loop ---------------------------------------------------------------

start_watcher || die "the watcher did not start"
say "watching $src"
sync_all "$(fsize "$ev")"
seen=$(fsize "$ev")
while :; do
	if ! alive "$iw_pid"; then
		wait "$iw_pid"
		status=$?
		cat "$everr" >&2
		iw_pid=
		die "the watcher ended (exit $status); stopping"
	fi
	size=$(fsize "$ev")
	if ! pending "$size"; then
		block
		continue
	fi
	# New events: wait until they stop for the quiet period (or too long).
	if [ "$size" -gt "$seen" ]; then
		n=0
		while [ "$n" -lt "$maxnaps" ]; do
			nap "$quiet"
			now_size=$(fsize "$ev")
			[ "$now_size" -ne "$size" ] || break
			size=$now_size
			n=$((n + 1))
		done
	fi
	seen=$size
	[ -d "$src" ] || die "the source folder $src is gone; stopping"
	sync_all "$size"
	if [ "$synced" = 0 ]; then
		# Nothing could be sent (a record half written): wait for more.
		block
	fi
	if [ "$size" -ge "$log_max" ]; then
		rotate
		seen=0
	fi
done
