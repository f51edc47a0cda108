#!/bin/sh
# Benchmark of the fanotify back end on a large tree: ours with -S, ours
# with -r (inotify) and the reference with -r, alternating in one run.
#   bench/fanotify.sh [DIRECTORIES] [RUNS]      (defaults: 150000 3)
# Prints the median of RUNS for each figure, and ratios. Needs root (-S);
# the inotify runs need DIRECTORIES free watches. Cleans up after itself.
set -eu
dirs=${1:-150000}
runs=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
OURS_WAIT=${OURS_WAIT:-$top/inotifywait}
REF_WAIT=${REF_WAIT:-/usr/bin/inotifywait}
files=20000

work=$(mktemp -d /tmp/iw-fanbench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cc -O2 -o "$work/runner" "$top/bench/runner.c"
runner=$work/runner
ready="Watches established."

mkdir "$work/probe"
if "$OURS_WAIT" -S -t 1 "$work/probe" 2>&1 | grep -q '^Couldn.t watch with fanotify'; then
	echo "fanotify benchmark skipped: $("$OURS_WAIT" -S -t 1 "$work/probe" 2>&1 | head -1)"
	exit 0
fi

echo "building a tree of $dirs directories..." >&2
python3 - "$work/tree" "$dirs" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.makedirs(os.path.join(top, "a%03d" % (i // 1000), "b%04d" % (i % 1000)))
PY
tree_dirs=$(find "$work/tree" -type d | wc -l)
free=$(($(cat /proc/sys/fs/inotify/max_user_watches) - $(cat /proc/[0-9]*/fdinfo/* 2>/dev/null | grep -c '^inotify wd:' || true)))
inotify_fits=1
[ "$free" -gt "$tree_dirs" ] || inotify_fits=0

# setup NAME BIN ARGS...: time to "Watches established.", RSS and slab growth.
setup() {
	name=$1
	shift
	READY=$ready "$runner" setup "$@" | sed "s/^/$name /"
	sleep 2 # the kernel frees a killed watcher's marks for a while
}

# burst NAME BIN ARGS...: CPU for the events of $files new files.
burst() {
	name=$1 bin=$2
	shift 2
	rm -rf "$work/ev" && mkdir "$work/ev"
	READY=$ready LINES_PER_FILE=4 "$runner" events "$bin" "$files" "$work/ev" \
	    -m --format '%w%f %e' "$@" "$work/ev" | sed "s/^/$name /" |
	    sed "s/^\($name\) \(cpu_s\|lines\|wanted\) /\1 burst_\2 /"
}

: >"$work/results"
i=1
while [ "$i" -le "$runs" ]; do
	echo "run $i of $runs..." >&2
	{
		setup fan "$OURS_WAIT" -m -r -S "$work/tree"
		if [ "$inotify_fits" -eq 1 ]; then
			setup ours "$OURS_WAIT" -m -r "$work/tree"
			setup ref "$REF_WAIT" -m -r "$work/tree"
		fi
		burst fan "$OURS_WAIT" -S
		burst ours "$OURS_WAIT"
	} >>"$work/results"
	i=$((i + 1))
done

. "$top/bench/median.sh"

row() { # LABEL KEY UNIT SCALE: -S, ours -r, the reference -r, ratios
	awk -v l="$1" -v f="$(median fan "$2")" -v o="$(median ours "$2")" \
	    -v r="$(median ref "$2")" -v u="$3" -v s="$4" 'BEGIN {
		printf "| %-34s | %10.3f %-2s | %10.3f %-2s | %10.3f %-2s | %7.3fx | %7.3fx |\n",
		    l, f * s, u, o * s, u, r * s, u, (o > 0 ? f / o : 0), (r > 0 ? f / r : 0)
	}'
}

echo
echo "$tree_dirs directories; $files file writes; median of $runs runs"
[ "$inotify_fits" -eq 1 ] || echo "(only $free inotify watches free: the -r runs were left out)"
echo
echo "| figure                             |      -S       |    ours -r    |  reference -r |  -S/ours |  -S/ref  |"
echo "|------------------------------------|---------------|---------------|---------------|----------|----------|"
row "start to Watches established" setup_s ms 1000
row "resident set once established" rss_kb kB 1
row "kernel slab growth, established" slab_kb kB 1
row "of it unreclaimable" sunreclaim_kb kB 1
echo
cpu_fan=$(median fan burst_cpu_s) lines_fan=$(median fan burst_lines)
cpu_ours=$(median ours burst_cpu_s) lines_ours=$(median ours burst_lines)
awk -v cf="$cpu_fan" -v lf="$lines_fan" -v co="$cpu_ours" -v lo="$lines_ours" 'BEGIN {
	pf = cf * 1e6 / lf; po = co * 1e6 / lo
	printf "CPU per printed line, %d new files: -S %.2f us (%d lines), ours -r %.2f us (%d lines): %.2fx\n",
	    lf / 4, pf, lf, po, lo, pf / po
}'
