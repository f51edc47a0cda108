#!/bin/bash
# Mirror benchmark: time from the start of a burst (200 files of 100 KB in
# nested new folders) until the mirror equals the source, for
#   1. the classic one-rsync-per-event loop with inotify-tools,
#   2. the same loop with our inotifywait,
#   3. docs/mirror.sh (batched, with our inotifywait).
# The destination is a local folder, so rsync's own cost is the same for all.
#   bench/mirror.sh [RUNS]     (default 3; prints the median of each)
set -u
runs=${1:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
ours=$top/inotifywait
ref=/usr/bin/inotifywait
limit=${LIMIT:-60}

work=$(mktemp -d /tmp/iw-mirror-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }

# wait_for CMD...: poll CMD every 20 ms; fails after $limit seconds.
wait_for() {
	local end
	end=$(awk -v t="$(now)" -v l="$limit" 'BEGIN { printf "%.3f", t + l }')
	until "$@" >/dev/null 2>&1; do
		awk -v t="$(now)" -v e="$end" 'BEGIN { exit !(t > e) }' && return 1
		sleep 0.02
	done
}

watches() { cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:'; }
has_watch() { [ "$(watches "$1")" -ge 1 ]; }
same() { diff -r "$work/src" "$work/dst"; }

burst() {
	python3 - "$work/src" <<'PY'
import os, sys
top = sys.argv[1]
data = b"x" * 100 * 1024
for d in range(10):
    for s in range(4):
        p = os.path.join(top, "d%d" % d, "s%d" % s)
        os.makedirs(p)
        for f in range(5):
            with open(os.path.join(p, "f%d" % f), "wb") as fh:
                fh.write(data)
PY
}

# classic BIN: the one-line-per-event loop of the classic recipe.
classic() {
	local bin=$1 src=$work/src dst=$work/dst
	(
		"$bin" -mrq --format '%w%f' -e close_write,delete "$src" &
		echo $! >"$work/iw.pid"
		wait
	) | while IFS= read -r f; do
		rsync -a --relative "$src/./${f#"$src"/}" "$dst/" 2>/dev/null ||
		    rsync -a --delete "$src/" "$dst/"
	done &
	pids+=($!)
	wait_for test -s "$work/iw.pid" && wait_for has_watch "$(cat "$work/iw.pid")"
}

recipe() {
	touch "$work/src/.ready"
	"$top/docs/mirror.sh" -i "$ours" -p "$work/iw.pid" "$work/src" "$work/dst/" \
	    2>/dev/null &
	pids+=($!)
	wait_for test -e "$work/dst/.ready" && rm "$work/src/.ready" &&
	    wait_for test ! -e "$work/dst/.ready"
}

# one NAME: one run; prints the seconds from the burst to an equal mirror.
one() {
	local name=$1 start end p
	rm -rf "$work/src" "$work/dst" "$work/iw.pid"
	mkdir "$work/src" "$work/dst"
	case $name in
	classic-reference) classic "$ref" ;;
	classic-ours) classic "$ours" ;;
	mirror.sh) recipe ;;
	esac || { echo "$name: did not start" >&2; return 1; }
	start=$(now)
	burst
	if wait_for same; then
		end=$(now)
		echo "$name $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')"
	else
		echo "$name never ($(diff -rq "$work/src" "$work/dst" 2>/dev/null | wc -l) differences after ${limit}s)"
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -s "$work/iw.pid" ] && kill "$(cat "$work/iw.pid")" 2>/dev/null
	wait 2>/dev/null
	pids=()
}

results=$work/results
for i in $(seq "$runs"); do
	echo "run $i of $runs..." >&2
	for name in classic-reference classic-ours mirror.sh; do
		one "$name" >>"$results"
	done
done
echo
echo "burst: 200 files of 100 KB in 40 new nested folders; local destination; median of $runs"
echo
sed 's/^/# /' "$results"
echo
echo "| loop | inotifywait | burst to equal mirror |"
echo "|---|---|---|"
for name in classic-reference classic-ours mirror.sh; do
	med=$(awk -v n="$name" '$1 == n && $2 != "never" { print $2 }' "$results" | sort -g |
	    awk '{ v[NR] = $1 } END { if (NR) printf "%.2f s", v[int((NR + 1) / 2)] }')
	never=$(awk -v n="$name" '$1 == n && $2 == "never"' "$results" | wc -l)
	[ "$never" -gt 0 ] && med="${med:+$med; }never equal in $never of $runs runs"
	case $name in
	classic-reference) echo "| classic, one rsync per event | inotify-tools 3.22.6 | $med |" ;;
	classic-ours) echo "| classic, one rsync per event | ours | $med |" ;;
	mirror.sh) echo "| docs/mirror.sh, batched | ours | $med |" ;;
	esac
done
