#!/bin/bash
# The leak scan's benchmark: the wall time of one API snapshot of N live blocks (bench/leaks.c,
# 1M by default) with the scan (HEAPSCOPE_LEAKS=1) and without (=0); the difference is what the
# scan and the classification cost, writing their results to the database included.  Prints the
# median of RUNS runs of each, and the verdicts of the last scanned run as a check.
#
# Usage: bench/leaks-bench.sh [N=1000000] [RUNS=5]   (from a built tree)
set -eu
n=${1:-1000000}
runs=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
lib=${HEAPSCOPE_LIBRARY:-$top/.libs/libheapscope.so}
[ -f "$lib" ] || { echo "leaks-bench: $lib: not built (run make first)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/leaks" "$top/bench/leaks.c" -ldl

# median SECONDS...: the middle value.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# snapshot LEAKS: the median time of one API snapshot over RUNS runs.
snapshot() {
	local t=() i
	for ((i = 0; i < runs; i++)); do
		rm -f "$work/leaks.db"
		t+=("$(HEAPSCOPE_LEAKS=$1 HEAPSCOPE_OUTPUT="$work/leaks.db" LD_PRELOAD="$lib" \
		    "$work/leaks" "$n")")
	done
	median "${t[@]}"
}

off=$(snapshot 0)
on=$(snapshot 1)
printf '%d live blocks: API snapshot %.3fs without the scan, %.3fs with it: scan %.3fs\n' \
    "$(sqlite3 "$work/leaks.db" "SELECT live_blocks FROM snapshots WHERE id = 1")" \
    "$off" "$on" "$(awk -v a="$on" -v b="$off" 'BEGIN { print a - b }')"
sqlite3 -separator ' ' "$work/leaks.db" "SELECT leak, count(*) FROM blocks WHERE snapshot_id = 1
    GROUP BY leak ORDER BY leak" | sed 's/^/  /'
