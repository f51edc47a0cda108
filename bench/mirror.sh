#!/bin/bash
# Mirror benchmark: for each kind of change, the time from the end of the
# change until an rsync daemon's module equals the source folder, for
#   mirror.sh  docs/mirror.sh (our inotifywait --batch),
#   lsyncd     Debian's lsyncd, sync{ default.rsync, delay = 1 },
#   classic    the one-rsync-per-event `inotifywait | while read` loop (ours).
# Each run starts each tool on a fresh folder, waits for its first full
# sync, then makes the changes one after the other, each once the mirror
# caught up with the last. Nothing is deleted before the end: ext4 makes
# each new file slow for minutes after many were deleted (it looks for a
# free inode not deleted of late), which would measure the last clean-up.
# A mirror not equal after LIMIT seconds counts as "never". Prints the
# median of RUNS for each change and tool.
#   bench/mirror.sh [RUNS]     (default 3; LIMIT=30 by default; TOOLS and
#   CHANGES, lists separated by spaces, choose a part of the table)
set -u
runs=${1:-3}
limit=${LIMIT:-30}
top=$(cd "$(dirname "$0")/.." && pwd)
ours=$top/inotifywait
read -r -a tools <<<"${TOOLS:-mirror.sh lsyncd classic}"
read -r -a changes <<<"${CHANGES:-bulk chains cptree renames oddnames small stream}"
command -v lsyncd >/dev/null || { echo "lsyncd is not installed (make deps)" >&2; exit 1; }

work=$(mktemp -d /tmp/iw-mirror-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}" ${daemon:-}; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}" ${daemon:-}; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
same() { diff -r "$src" "$dst" >/dev/null 2>&1; }

# wait_for CMD...: poll CMD every 20 ms; fails after $limit seconds.
wait_for() {
	local end=$((EPOCHSECONDS + limit))
	until "$@"; do
		((EPOCHSECONDS < end)) || return 1
		sleep 0.02
	done
}

# An rsync daemon on a free port of 127.0.0.1, module "backup" in
# $work/module; each run of each tool has a folder of its own there.
mkdir -p "$work/module"
printf 'rsync_backup:secret\n' >"$work/secrets"
printf 'secret\n' >"$work/pass"
chmod 600 "$work/secrets" "$work/pass"
export RSYNC_PASSWORD=secret
cat >"$work/rsyncd.conf" <<EOF
[backup]
	path = $work/module
	read only = no
	use chroot = no
	munge symlinks = no
	auth users = rsync_backup
	secrets file = $work/secrets
	uid = $(id -u)
	gid = $(id -g)
EOF
base=$((20000 + RANDOM % 30000))
for port in $(seq "$base" $((base + 49))); do
	rsync --daemon --no-detach --address=127.0.0.1 --port="$port" \
		--config="$work/rsyncd.conf" --log-file="$work/rsyncd.log" &
	daemon=$!
	if wait_for eval 'rsync --contimeout=5 rsync://127.0.0.1:'"$port"'/ >/dev/null 2>&1 || ! kill -0 '"$daemon"' 2>/dev/null' &&
		kill -0 "$daemon" 2>/dev/null; then
		break
	fi
	daemon=
done
[ -n "${daemon:-}" ] || { echo "no rsync daemon could start" >&2; exit 1; }
module_url="rsync://rsync_backup@127.0.0.1:$port/backup"

start_tool() {
	case $1 in
	mirror.sh)
		"$top/docs/mirror.sh" -i "$ours" -s "$src" -d "$url" 2>>"$work/mirror.log" &
		pids+=($!) ;;
	lsyncd)
		cat >"$work/lsyncd.conf" <<EOF
settings { insist = true, logfile = "$work/lsyncd.log" }
sync { default.rsync, source = "$src", target = "$url", delay = 1,
	rsync = { archive = true, password_file = "$work/pass" } }
EOF
		lsyncd -nodaemon "$work/lsyncd.conf" >/dev/null 2>&1 &
		pids+=($!) ;;
	classic)
		(
			echo "$BASHPID" >"$work/iw.pid"
			exec "$ours" -mrq --format '%w%f' -e close_write,delete "$src"
		) | while IFS= read -r f; do
			if [ -e "$f" ]; then
				rsync -a --relative "$src/./${f#"$src"/}" "$url" 2>/dev/null
			else
				rsync -a --delete "$src/" "$url" 2>/dev/null
			fi
		done &
		pids+=($!)
		# The loop has no first sync of its own.
		rsync -a --delete "$src/" "$url" ;;
	esac
	wait_for test -e "$dst/seed"
}

stop_tool() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	# The classic loop's watcher, the first command of its pipeline.
	[ ! -s "$work/iw.pid" ] || kill "$(cat "$work/iw.pid")" 2>/dev/null
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -f "$work/iw.pid"
	pids=()
}

blob=$work/blob
head -c 102400 /dev/urandom >"$blob"

# The changes; each works in a folder of its own under $src.
change_bulk() {
	mkdir "$src/bulk"
	for i in $(seq 200); do cp "$blob" "$src/bulk/f$i"; done
	for i in $(seq 1 4 200); do echo more >>"$src/bulk/f$i"; done
	for i in $(seq 2 4 200); do rm "$src/bulk/f$i"; done
}
change_chains() {
	local i j
	for i in $(seq 40); do
		mkdir -p "$src/chains/a$i/b/c"
		for j in $(seq 5); do echo "$i $j" >"$src/chains/a$i/b/c/f$j"; done
	done
}
change_cptree() {
	local d s f
	if [ ! -d "$work/tree" ]; then
		for d in $(seq 6); do for s in $(seq 3); do
			mkdir -p "$work/tree/d$d/s$s"
			for f in $(seq 10); do echo "$d $s $f" >"$work/tree/d$d/s$s/f$f"; done
		done; done
	fi
	cp -r "$work/tree" "$src/copied"
}
change_renames() {
	local i
	for i in $(seq 3 4 200); do mv "$src/bulk/f$i" "$src/bulk/r$i"; done
	mv "$src/copied/d1" "$src/copied/d1-renamed"
	mv "$src/copied/d2/s1" "$src/chains/a1/s1-moved"
	mv "$src/chains/a2" "$src/chains/a2-renamed"
	rm -r "$src/copied/d3"
	for i in $(seq 4 8 200); do rm "$src/bulk/f$i"; done
}
change_oddnames() {
	mkdir "$src/odd"
	echo 1 >"$src/odd/with space"
	echo 2 >"$src/odd/new"$'\n'"line"
	echo 3 >"$src/odd/quo\"te'"
	echo 4 >"$src/odd/bytes"$'\xff\xfe'
	mkdir "$src/odd/dir with space"
	echo 5 >"$src/odd/dir with space/x"
	mv "$src/odd/with space" "$src/odd/with  two spaces"
}
change_small() {
	local d
	for d in $(seq 50); do
		mkdir "$src/small$d"
		(cd "$src/small$d" && seq -f 'f%g' 100 | xargs touch)
	done
}
# stream: a line with the time every 10 ms for 10 s; the worst lag of the
# mirror's copy behind the source while it is written goes to $work/lag.
change_stream() {
	local end=$((EPOCHSECONDS + 10)) worst=0 lag last
	(
		while ((EPOCHSECONDS < end)); do echo "$EPOCHREALTIME"; sleep 0.01; done
	) >"$src/stream.log" &
	local writer=$!
	while kill -0 "$writer" 2>/dev/null; do
		sleep 0.05
		last=$(tail -n 1 "$dst/stream.log" 2>/dev/null)
		lag=$(awk -v n="$EPOCHREALTIME" -v l="${last:-0}" -v s="$end" \
			'BEGIN { if (l == 0) l = s - 10; printf "%.3f", n - l }')
		worst=$(awk -v a="$worst" -v b="$lag" 'BEGIN { print (b > a) ? b : a }')
	done
	wait "$writer"
	echo "$worst" >"$work/lag"
}

# log_settled: no new line in mirror.sh's log for 0.2 s (at most 2 s).
log_settled() {
	local n m i
	for i in $(seq 10); do
		n=$(wc -l <"$work/mirror.log")
		sleep 0.2
		m=$(wc -l <"$work/mirror.log")
		[ "$n" != "$m" ] || return 0
	done
}

# tool_idle: no rsync started by the tool runs. Each change starts then:
# lsyncd's rsync ends a moment after the module is equal, and it sends
# what changed meanwhile at once, not after its delay, which a change
# made after a pause would see.
tool_idle() {
	local roots
	roots="${pids[*]} $(cat "$work/iw.pid" 2>/dev/null)"
	ps -e -o pid= -o ppid= -o comm= | awk -v roots="$roots" '
		BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) mine[r[i]] = 1 }
		{ parent[$1] = $2; name[$1] = $3 }
		END {
			for (p in name)
				if (name[p] == "rsync")
					for (q = parent[p]; q > 1; q = parent[q])
						if (q in mine) exit 1
		}'
}

results=$work/results
for run in $(seq "$runs"); do
	for tool in "${tools[@]}"; do
		echo "run $run of $runs: $tool..." >&2
		rm -f "$work/mirror.log"
		src=$work/src-$run-$tool dst=$work/module/$run-$tool url=$module_url/$run-$tool/
		mkdir "$src" "$dst"
		echo seed >"$src/seed"
		start_tool "$tool" || { echo "$tool did not start" >&2; stop_tool; continue; }
		[ "$tool" != mirror.sh ] || log_settled
		for change in "${changes[@]}"; do
			wait_for tool_idle || echo "$tool: an rsync of it still runs after ${limit}s" >&2
			syncs=$(grep -c ' file(s), ' "$work/mirror.log" 2>/dev/null)
			"change_$change"
			end=$(now)
			if wait_for same; then
				t=$(elapsed "$end" "$(now)")
			else
				t=never
			fi
			[ "$change" != stream ] || t=$(cat "$work/lag")
			# mirror.sh logs a sync once its rsync is over, just after
			# the module became equal: its last line may be on its way.
			[ "$tool" != mirror.sh ] || log_settled
			runs_made=$(($(grep -c ' file(s), ' "$work/mirror.log" 2>/dev/null) - ${syncs:-0}))
			echo "$tool $change $t $runs_made" >>"$results"
			# A tool that is behind would be measured on the next change
			# too: the module is brought up to date first.
			[ "$t" != never ] || rsync -a --delete "$src/" "$url"
		done
		stop_tool
	done
done

median() { # TOOL CHANGE: the median over the runs, "never" when most never
	awk -v t="$1" -v c="$2" '$1 == t && $2 == c { print ($3 == "never") ? 1e9 : $3 }' "$results" |
		sort -g | awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]
			print (m == "") ? "-" : (m >= 1e9) ? "never" : m }'
}
echo
echo "median of $runs runs; seconds from the end of each change to an equal"
echo "module (stream: the worst lag of the copy while the file is written)"
echo
sed 's/^/# /' "$results"
echo
echo "| change | mirror.sh | lsyncd, delay 1 | classic loop | mirror.sh / lsyncd | rsync runs of mirror.sh |"
echo "|---|---|---|---|---|---|"
for change in "${changes[@]}"; do
	m=$(median mirror.sh "$change") l=$(median lsyncd "$change") c=$(median classic "$change")
	r=$(awk -v m="$m" -v l="$l" 'BEGIN { if (m + 0 > 0 && l + 0 > 0) printf "%.2fx", m / l; else print "-" }')
	n=$(awk -v c="$change" '$1 == "mirror.sh" && $2 == c { print $4 }' "$results" | sort -n | tr '\n' ' ')
	echo "| $change | $m | $l | $c | $r | $n|"
done
