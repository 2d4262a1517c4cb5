#!/bin/bash
# The diff benchmark: wall time and peak memory of heapscope diff on two snapshots of 1M live
# blocks over 100k distinct sites, and beside it heaptrack_print --diff on the same program.
#
# Synthetic databases (bench/diff-synth.py, on the real schema of a real trace, symbols cached
# as after a first report): two snapshots of 1M blocks over 100k sites each in one file; the
# same written as another run (other load addresses, every id permuted) for the cross-run form;
# and 4M blocks over the same sites, to show that memory follows sites, not blocks.  Then a real
# program (bench/sites.c: 1M blocks from 100k distinct stacks) traced by heapscope and, when it
# is installed, by heaptrack.  Prints the median of RUNS runs; the first report on a real trace
# symbolizes from DWARF and fills the cache, and is shown apart.
#
# Usage: bench/diff-bench.sh [RUNS=5]   (from a built tree; works in a temp dir)
set -eu
runs=${1:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
heapscope=$top/heapscope
lib=${HEAPSCOPE_LIBRARY:-$top/.libs/libheapscope.so}
export HEAPSCOPE_LIBRARY=$lib
[ -x "$heapscope" ] && [ -f "$lib" ] || { echo "diff-bench: build first (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "diff-bench: /usr/bin/time is missing (Debian: time)" >&2; exit 1; }
python3 -c 'import sqlite3' || { echo "diff-bench: python3 with sqlite3 is missing" >&2; exit 1; }
heaptrack=$(command -v heaptrack || true)
heaptrack_print=$(command -v heaptrack_print || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cc -O2 -g -o hold "$top/bench/hold.c"
cc -O2 -g -o sites "$top/bench/sites.c" -ldl

# measure CMD...: "SECONDS KIB", the median wall time and the largest max RSS of RUNS runs.
measure() {
	local i
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f '%e %M' -o time.out "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
		cat time.out
	done | sort -g | awk '{ t[NR] = $1; if ($2 > m) m = $2 } END { print t[int((NR + 1) / 2)], m }'
}

# row NAME CMD...: one line of the table.
row() {
	local name=$1 t m
	shift
	read -r t m < <(measure "$@")
	printf '%-58s %8.2f s %9.1f MiB\n' "$name" "$t" "$(awk -v k="$m" 'BEGIN { print k / 1024 }')"
}

echo "diff-bench: building the databases in $work" >&2
"$heapscope" run -o base.db -- ./hold 10 >/dev/null 2>&1
python3 "$top/bench/diff-synth.py" base.db one.db >&2
python3 "$top/bench/diff-synth.py" base.db two.db --aslr >&2
python3 "$top/bench/diff-synth.py" base.db big.db --blocks 4000000 >&2
"$heapscope" run -o r1.db -- ./sites 1000000 >/dev/null 2>&1
"$heapscope" run -o r2.db -- ./sites 500000 >/dev/null 2>&1

printf '%-58s %10s %13s\n' "heapscope diff ($(nproc) CPUs, median of $runs)" wall "max RSS"
row "synthetic, one file: 1M blocks, 100k sites, before after" \
    "$heapscope" diff one.db before after
row "synthetic, two runs: one.db:before two.db:after" \
    "$heapscope" diff one.db:before two.db:after
row "synthetic, one file, 4M blocks over the same 100k sites" \
    "$heapscope" diff big.db before after
row "synthetic, one file, --by traceback -n 0 --csv" \
    "$heapscope" diff one.db before after --by traceback -n 0 --csv
row "synthetic, one file, --cumulative" \
    "$heapscope" diff one.db before after --cumulative
read -r t m < <(runs=1 measure "$heapscope" diff r1.db half last)
printf '%-58s %8.2f s %9.1f MiB\n' "sites 1M, one file, half last (first: symbolizes)" "$t" \
    "$(awk -v k="$m" 'BEGIN { print k / 1024 }')"
row "sites 1M, one file, half last (symbols cached)" "$heapscope" diff r1.db half last
row "sites 500k against 1M, two runs, last last" "$heapscope" diff r2.db:last r1.db:last
row "sites 500k against 1M, two runs, --by traceback" \
    "$heapscope" diff r2.db:last r1.db:last --by traceback

if [ -n "$heaptrack" ] && [ -n "$heaptrack_print" ]; then
	"$heaptrack" -o "$work/ht1" ./sites 1000000 >/dev/null 2>&1
	"$heaptrack" -o "$work/ht2" ./sites 500000 >/dev/null 2>&1
	set -- "$work"/ht1.*
	h1=$1
	set -- "$work"/ht2.*
	h2=$1
	row "heaptrack_print -f (sites 1M) -d (sites 500k)" "$heaptrack_print" -f "$h1" -d "$h2"
else
	echo "heaptrack is not installed: no comparison"
fi
