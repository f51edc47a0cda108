#!/bin/sh
# Benchmark: ours against the reference, alternating in one run.
#   bench/bench.sh [DIRECTORIES] [RUNS]      (defaults: 20000 3)
# Prints the median of RUNS for each figure and the ratio ours/reference.
# Uses about DIRECTORIES watches at a time; cleans up after itself.
set -eu
dirs=${1:-20000}
runs=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
OURS_WAIT=${OURS_WAIT:-$top/inotifywait}
OURS_WATCH=${OURS_WATCH:-$top/inotifywatch}
REF_WAIT=${REF_WAIT:-/usr/bin/inotifywait}
REF_WATCH=${REF_WATCH:-/usr/bin/inotifywatch}
files=20000
samples=${SAMPLES:-10000}

work=$(mktemp -d /tmp/iw-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cc -O2 -o "$work/runner" "$top/bench/runner.c"
runner=$work/runner

echo "building a tree of $dirs directories and $((dirs * 3)) files..." >&2
python3 - "$work/tree" "$dirs" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
per = 1000
for i in range(n):
    d = os.path.join(top, "a%03d" % (i // per), "b%04d" % (i % per))
    os.makedirs(d)
    for j in range(3):
        with open(os.path.join(d, "f%d" % j), "w") as f:
            f.write("x")
PY
mkdir "$work/empty"
tree_dirs=$(find "$work/tree" -type d | wc -l)

# latency FIRST SECOND: both watchers at once, their samples interleaved,
# FIRST taking the first sample of each pair; on the writer's CPU and on
# another. Prints "NAME key value" lines.
latency() {
	for place in other same; do
		rm -rf "$work/la" "$work/lb" && mkdir "$work/la" "$work/lb"
		[ "$1" = ours ] && a=$OURS_WAIT b=$REF_WAIT || a=$REF_WAIT b=$OURS_WAIT
		PLACE=$place READY="Watches established." "$runner" latency \
		    "$samples" "$work/la" "$work/lb" "$a" "$b" \
		    -m -e close_write --format '%w%f' |
		    sed "s/^a_\([a-z0-9]*\)_us/$1 \1_${place}_us/; s/^b_\([a-z0-9]*\)_us/$2 \1_${place}_us/"
	done
}

# settle: the kernel frees the watches of a process that ended in the
# background, for a while; what comes next should not share the CPU with it.
settle() { sleep 2; }

# measure NAME: one run of every figure for ours or ref, as "NAME key value".
measure() {
	name=$1
	if [ "$name" = ours ]; then
		iw=$OURS_WAIT iwatch=$OURS_WATCH
	else
		iw=$REF_WAIT iwatch=$REF_WATCH
	fi
	ready="Watches established."
	READY=$ready "$runner" setup "$iw" -m -r "$work/tree" | sed "s/^/$name /"
	settle
	READY=$ready "$runner" setup "$iw" -m -r "$work/empty" |
	    sed -n "s/^rss_kb /$name rss_empty_kb /p"
	rm -rf "$work/ev" && mkdir "$work/ev"
	READY=$ready LINES_PER_FILE=4 "$runner" events "$iw" "$files" "$work/ev" \
	    -m --format '%w%f %e' "$work/ev" | sed "s/^/$name /"
	ready="Finished establishing watches, now collecting statistics."
	READY=$ready "$runner" setup "$iwatch" -r "$work/tree" |
	    sed -n "s/^setup_s /$name watch_setup_s /p"
	settle
	rm -rf "$work/ev" && mkdir "$work/ev"
	READY=$ready "$runner" count "$iwatch" "$files" "$work/ev" "$work/ev" \
	    2>/dev/null | sed "s/^cpu_s /$name watch_cpu_s /"
}

: >"$work/results"
i=1
while [ "$i" -le "$runs" ]; do
	echo "run $i of $runs..." >&2
	if [ $((i % 2)) -eq 1 ]; then first=ours second=ref; else first=ref second=ours; fi
	{
		measure "$first"
		measure "$second"
		latency "$first" "$second"
	} >>"$work/results"
	i=$((i + 1))
done

. "$top/bench/median.sh"

print_row() { # LABEL OURS REF UNIT SCALE: one row, values times SCALE
	awk -v l="$1" -v o="$2" -v r="$3" -v u="$4" -v s="$5" 'BEGIN {
		printf "| %-44s | %12.3f %-3s | %12.3f %-3s | %6.2fx |\n", l, o * s, u, r * s, u, (r > 0 ? o / r : 0)
	}'
}

row() { # LABEL KEY UNIT SCALE: the medians of KEY
	print_row "$1" "$(median ours "$2")" "$(median ref "$2")" "$3" "$4"
}

per_watch() { # NAME: bytes per watch above an empty run
	awk -v full="$(median "$1" rss_kb)" -v empty="$(median "$1" rss_empty_kb)" \
	    -v n="$tree_dirs" 'BEGIN { print (full - empty) * 1024 / n }'
}

echo
echo "$tree_dirs directories, $((dirs * 3)) files; $files file writes; $samples latency samples; median of $runs alternating runs"
echo
echo "| figure                                       |          ours    |     reference    |  ratio  |"
echo "|----------------------------------------------|------------------|------------------|---------|"
row "inotifywait -m -r: start to Watches established" setup_s ms 1000
row "inotifywait: resident set once established" rss_kb kB 1
print_row "inotifywait: bytes per watch above an empty run" \
    "$(per_watch ours)" "$(per_watch ref)" B 1
row "inotifywait: CPU for all events of the writes" cpu_s ms 1000
# Microseconds per event, for the seconds of all events of the writes.
per_event=$(awk -v n="$((files * 4))" 'BEGIN { print 1e6 / n }')
row "inotifywait: CPU per printed event" cpu_s us "$per_event"
row "latency write to line, other CPU, p50" p50_other_us us 1
row "latency write to line, other CPU, p99" p99_other_us us 1
row "latency write to line, writer's CPU, p50" p50_same_us us 1
row "latency write to line, writer's CPU, p99" p99_same_us us 1
row "inotifywatch -r: start to collecting" watch_setup_s ms 1000
row "inotifywatch: CPU per event counted" watch_cpu_s us "$per_event"
echo
for name in ours ref; do
	l=$(median "$name" lines) w=$(median "$name" wanted)
	echo "$name printed $l of $w events in the event-cost run"
done
