#!/bin/bash
# mirror.sh: a real-time rsync mirror of a folder; docs/mirror.md says how and why.
# Linux; bash 4.4+, rsync 3.1+ on both ends, our inotifywait, mktemp, sort, awk, GNU dd.
me=${0##*/}
set -f -o pipefail

usage() {
	cat <<EOF
Usage: $me [options] SOURCE DEST [DEST ...]
       $me [options] -s SOURCE -d DEST [-d DEST ...]
Keeps each rsync destination DEST (rsync://user@host/module/, host:path/, a
local path...) a mirror of the folder SOURCE: a full sync at start, then one
rsync per DEST for each burst of changes; a log line per sync on stderr. Exits
0 on SIGINT, SIGTERM or SIGHUP, 1 when the source or the watcher goes. Options,
which win over the environment variable beside them (default after the =):
  -s DIR      MIRROR_SOURCE          the folder to mirror
  -d DEST     MIRROR_DESTS           a destination; repeatable (white space apart)
  -q SECONDS  MIRROR_QUIET=0.05      quiet period that ends a burst
  -m SECONDS  MIRROR_MAX_DELAY=0.5   longest a burst waits for its quiet period
  -n EVENTS   MIRROR_MAX_EVENTS=1000 a burst this many events long goes at once
  -x PATTERN  MIRROR_EXCLUDES        rsync exclude pattern: neither watched nor
                                     sent; repeatable (white space apart)
  -f SECONDS  MIRROR_FULL_EVERY=0    also sync everything this often; 0: never
  -o OPTS     MIRROR_RSYNC_OPTS      more rsync options, e.g. '-H -A -X'
  -b SECONDS  MIRROR_BACKOFF_MAX=60  longest wait between retries of a DEST
  -i PATH     MIRROR_INOTIFYWAIT     the watcher [../inotifywait, else PATH's]
  -p FILE     MIRROR_PIDFILE         write the watcher's process id to FILE
  -v          MIRROR_VERBOSE=1       also log bursts that sent nothing
  -h                                 print this text and exit
EOF
}
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { say "$*"; exit 1; }

src=${MIRROR_SOURCE:-} quiet=${MIRROR_QUIET:-0.05} maxdelay=${MIRROR_MAX_DELAY:-0.5}
full_every=${MIRROR_FULL_EVERY:-0} backoff_max=${MIRROR_BACKOFF_MAX:-60} dests=()
max_events=${MIRROR_MAX_EVENTS:-1000}
iw=${MIRROR_INOTIFYWAIT:-} pidfile=${MIRROR_PIDFILE:-} verbose=${MIRROR_VERBOSE:-0}
read -r -a rsync_opts <<<"${MIRROR_RSYNC_OPTS:-}"
read -r -a excludes <<<"${MIRROR_EXCLUDES:-}"
while getopts s:d:q:m:n:x:f:o:b:i:p:vh opt; do
	case $opt in
	s) src=$OPTARG ;;           d) dests+=("$OPTARG") ;;
	q) quiet=$OPTARG ;;         m) maxdelay=$OPTARG ;;
	x) excludes+=("$OPTARG") ;; f) full_every=$OPTARG ;;
	o) read -r -a rsync_opts <<<"$OPTARG" ;; n) max_events=$OPTARG ;;
	b) backoff_max=$OPTARG ;;   i) iw=$OPTARG ;;
	p) pidfile=$OPTARG ;;       v) verbose=1 ;;
	h) usage; exit 0 ;;         *) usage >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$src" ] || { src=${1:-}; shift; }
[ $# -eq 0 ] || [ ${#dests[@]} -eq 0 ] || die "destinations given both as -d and as arguments"
[ $# -gt 0 ] && dests=("$@")
[ ${#dests[@]} -gt 0 ] || read -r -a dests <<<"${MIRROR_DESTS:-}"
[ -n "$src" ] || { usage >&2; die "no source folder (-s)"; }
[ ${#dests[@]} -gt 0 ] || { usage >&2; die "no destination (-d)"; }
[ -d "$src" ] || die "$src is not a folder"
[[ $full_every =~ ^[0-9]+$ ]] || die "-f: '$full_every' is not a whole number of seconds"
[[ $backoff_max =~ ^[1-9][0-9]*$ ]] || die "-b: '$backoff_max' is not a whole number of seconds"
[[ $max_events =~ ^[1-9][0-9]*$ ]] || die "-n: '$max_events' is not a whole number of events"
[ -n "$iw" ] || { iw=${0%/*}/../inotifywait; [ -x "$iw" ] || iw=inotifywait; }
command -v "$iw" >/dev/null 2>&1 || die "no inotifywait at '$iw' (use -i)"
case $iw in */*) iw=$(cd "${iw%/*}" && pwd -P)/${iw##*/} ;; esac   # it runs in the source
command -v rsync >/dev/null 2>&1 || die "rsync is not installed"
src=$(cd "$src" && pwd -P && echo x) || die "cannot enter $src"
src=${src%?x}   # the physical path, even when it ends in a newline
work=$(w=$(mktemp -d "${TMPDIR:-/tmp}/mirror.XXXXXX") && cd "$w" && pwd -P) || die "cannot make a work folder"
[[ $work/ != "$src"/* ]] || { rm -rf "$work"; die "the work folder $work is in the source; set TMPDIR"; }

iw_pid='' child='' events=''
cleanup() {
	trap '' INT TERM HUP
	# The watcher writes out what it holds before it ends: not to us.
	[ -z "$events" ] || exec {events}<&-
	for p in $child $iw_pid; do kill "$p" 2>/dev/null; done
	# A stop never hangs: what has not ended within 10 s is killed.
	for p in $child $iw_pid; do
		for i in {1..100}; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		! kill -KILL "$p" 2>/dev/null || say "process $p did not end on SIGTERM; killed"
		wait "$p" 2>/dev/null
	done
	rm -rf "$work"
	[ -z "$pidfile" ] || rm -f "$pidfile"
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP

# glob_re GLOB: rsync's wildcards (** any, * and ? in a name, [...]) as an ERE, the rest literal.
glob_re() {
	local g=$1 re='' c r i
	for ((i = 0; i < ${#g}; i++)); do
		c=${g:i:1}
		case $c in
		'*') if [ "${g:i+1:1}" = '*' ]; then re+='.*' i=$((i + 1)); else re+='[^/]*'; fi ;;
		'?') re+='[^/]' ;;
		'[') r=${g:i+2} r=${r%%]*}
			if [ "$r" = "${g:i+2}" ]; then re+='\['
			else c=${g:i+1:${#r}+1} re+="[${c/#!/^}]" i=$((i + ${#r} + 2)); fi ;;
		[].+^$\\\(\){}\|]) re+="\\$c" ;;
		*) re+=$c ;;
		esac
	done
	printf '%s' "$re"
}

# Exclude rules go to every rsync run, and as one --prune ERE on the watcher's
# paths (./a/b/) keep it off the folders they match: a rule with a leading / is
# anchored at the top, one with another / matches a path's end, one without any name.
filter=() prune=''
for x in "${excludes[@]}"; do
	filter+=("--exclude=$x")
	x=${x%'/***'} x=${x%/}
	case $x in
	/*) re="^\\.$(glob_re "$x")/\$" ;;
	*/* | *'**'*) re="(^\\./|/)$(glob_re "$x")/\$" ;;
	*) re="/$(glob_re "$x")/\$" ;;
	esac
	prune+=${prune:+|}"($re)"
done

# The watcher prints a NUL-ended record per event, "EVENTS ./path", and
# "BATCH_END " once a burst is over (see --batch in inotifywait(1)).
exec {events}< <(cd "$src" && exec "$iw" -m -r --batch "$quiet,$maxdelay" \
	-e create,modify,close_write,attrib,moved_to,moved_from,delete,delete_self,move_self \
	--format '%e %w%f%0' --no-newline ${prune:+--prune "$prune"} . 2>"$work/iw.err")
iw_pid=$!
[ -z "$pidfile" ] || echo "$iw_pid" >"$pidfile"
until grep -q '^Watches established\.$' "$work/iw.err" 2>/dev/null; do
	kill -0 "$iw_pid" 2>/dev/null || die "the watcher did not start: $(cat "$work/iw.err")"
	sleep 0.02
done

# rsync_to I ARGS...: one rsync run to destination I, logged in one line; after
# a failure, destination I gets a full sync, not before due[i] (epoch seconds).
rsync_to() {
	local i=$1 d=${dests[$1]} start=$EPOCHREALTIME rc delay st us
	shift
	# In the background: bash runs no trap while a foreground child runs.
	# TCP_NODELAY: to a daemon, without it rsync's small writes wait for
	# the peer's delayed ACK, 40 ms at a time: 90 ms a run on loopback.
	rsync "$@" --sockopts=TCP_NODELAY --stats --no-h "${filter[@]}" "${rsync_opts[@]}" -- "$src/" "$d" >"$work/stats" 2>"$work/rsync.err" &
	child=$! && wait "$child"
	rc=$? child=''
	# 23 with only "Not a directory": a listed path's folder became a file
	# meanwhile, an event of its own, which a later burst sends.
	((rc != 23)) || grep -qv -e 'link_stat .* failed: Not a directory (20)$' \
		-e '^rsync error: some files/attrs were not transferred' "$work/rsync.err" || rc=24
	if ((rc == 0 || rc == 24)); then   # 24: files vanished meanwhile
		((fails[i] == 0)) || say "$d is in sync again"
		fails[i]=0 due[i]=0
		# Read by bash, not awk: no process to start while the next burst waits.
		us=$((${EPOCHREALTIME/[.,]/} - ${start/[.,]/})) && mapfile -t st <"$work/stats"
		[[ ${st[*]} =~ files\ transferred:\ ([0-9]+).*transferred\ file\ size:\ ([0-9]+) ]]
		printf '%s: %s: %d file(s), %d bytes, %d.%02d s\n' "$me" "$d" "${BASH_REMATCH[1]:-0}" \
			"${BASH_REMATCH[2]:-0}" $((us / 1000000)) $((us / 10000 % 100)) >&2
		return
	fi
	sed "s|^|$me: |" "$work/rsync.err" >&2
	fails[i]=$((fails[i] + 1))
	# 1, 2, 4 ... seconds, at most backoff_max (the shift stays below 63).
	delay=$((fails[i] > 31 || 1 << (fails[i] - 1) > backoff_max ? backoff_max : 1 << (fails[i] - 1)))
	due[i]=$((EPOCHSECONDS + delay))
	say "rsync to $d failed (exit $rc, ${fails[i]} in a row); full sync again in ${delay}s"
}

# sync_due: each destination that may be tried now gets everything (full=1, or
# after a failure) or the burst's paths in $work/list, with -r and --delete for
# the folders among them: one renamed in the tree has no events for what it
# holds, and one listed is sent whole. Sets due_at, when the next retry or
# periodic sync is due (0: none).
sync_due() {
	local i
	((next_full == 0 || EPOCHSECONDS < next_full)) || full=1 next_full=$((EPOCHSECONDS + full_every))
	due_at=$next_full
	for i in "${!dests[@]}"; do
		if ((due[i] > EPOCHSECONDS)); then :
		elif ((full || fails[i])); then rsync_to "$i" -a --delete
		elif [ -s "$work/list" ]; then
			rsync_to "$i" -a -r --delete --files-from="$work/list" --from0 --delete-missing-args --force
		elif ((verbose)); then say "${dests[i]}: nothing to send"
		fi
		((due[i] > 0 && (due_at == 0 || due[i] < due_at))) && due_at=${due[i]}
	done
	full=0
	: >"$work/list"
}

# records: the records in $work/chunk, taken whole: bash is slow per record,
# and each pass over them delays the next rsync. A marker's path is empty,
# which rsync skips. A name may hold any byte, the words of rare records
# too: a marker found in one only sends the burst early, and those rare
# records are then matched one by one.
records() {
	local recs all r over=0
	mapfile -d '' -t recs <"$work/chunk"
	recs[0]=$partial${recs[0]}
	# The chunk ends in E: alone after a whole record, else after the start
	# of one whose rest comes with the next chunk.
	partial=${recs[-1]%E}
	unset 'recs[-1]'
	((${#recs[@]})) || return
	all=" ${recs[*]} "
	[[ $all != *' BATCH_END  '* ]] || batch_end=1
	[[ $all == *' Q_OVERFLOW  '* || $all == *' '[DM][EO][LV]E_SELF' ./'* ]] && for r in "${recs[@]}"; do
		case $r in
		'Q_OVERFLOW ') over=1 ;;
		'DELETE_SELF ./' | 'MOVE_SELF ./') die "the source folder $src was deleted or moved; stopping" ;;
		esac
	done
	((over == 0)) || { full=1; say "the kernel's event queue overflowed: events were lost; full sync"; }
	paths+=("${recs[@]#* }")
}

say "watching $src"
full=1 fails=() due=() paths=() partial='' batch_end=0
next_full=$((full_every > 0 ? EPOCHSECONDS + full_every : 0))
sync_due
# bash reads a pipe one byte a system call: so one byte waits for the watcher,
# dd copies all that is there after it, and bash reads the records from a file.
# Bursts that ended while rsync ran are in one chunk, and go out as one.
while :; do
	t=''   # wait in read until the next retry or periodic sync is due
	((due_at == 0)) || { t=$((due_at - EPOCHSECONDS)); ((t > 0)) || t=0.01; }
	IFS= read -r -d '' -n 1 ${t:+-t "$t"} -u "$events" first
	rc=$?; ((rc <= 128)) || { sync_due; continue; }   # timed out: something is due
	((rc == 0)) || die "the watcher ended; stopping: $(cat "$work/iw.err")"
	{
		if [ -n "$first" ]; then printf '%s' "$first"; else printf '\0'; fi
		dd if=/dev/fd/"$events" iflag=nonblock bs=1M status=none 2>/dev/null
		printf E
	} >"$work/chunk"
	records
	# A long burst goes in parts: rsync then runs while it goes on.
	((batch_end || ${#paths[@]} >= max_events)) || continue
	# Each path once, none under a folder also listed, which rsync sends whole:
	# a file listed twice costs rsync as much as two (sort puts a folder first).
	# None under an excluded folder: rsync would make the folders on its path.
	((${#paths[@]} == 0)) || printf '%s\0' "${paths[@]}" | LC_ALL=C sort -zu | prune=$prune LC_ALL=C awk '
		BEGIN { RS = ORS = "\0"; x = ENVIRON["prune"] }
		{ sub(/\/$/, "") } $0 == "" || $0 in sent { next }
		{ for (p = $0; sub(/\/[^\/]*$/, "", p);) if (p in sent || (x != "" && p "/" ~ x)) next
		  sent[$0]; print }' >"$work/list"
	paths=() batch_end=0
	sync_due
done
