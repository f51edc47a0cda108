# Sourced by the benchmarks: their results are "NAME KEY VALUE" lines in
# $work/results, one per figure of each run.

# median NAME KEY: the median of KEY's values for NAME, or nan.
median() {
	awk -v n="$1" -v k="$2" '$1 == n && $2 == k { print $3 }' "$work/results" |
	    sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "nan" }'
}
