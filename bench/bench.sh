#!/bin/bash
# The side-by-side benchmark: no tracer, heapscope and heaptrack (when installed), in one run,
# on the shared reference workloads (../shared/bench: churn on 1 and 2 threads, deepstack,
# pywork.py).  Prints the median wall time of each and its ratio to the untraced run, then
# heapscope's memory per live block.  Ratios, not absolute times: the machines are noisy.
#
# Usage: bench/bench.sh [RUNS=5]   (from a built tree; builds the workloads into a temp dir)
set -eu
runs=${1:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${HEAPSCOPE_SHARED_BENCH:-$top/../shared/bench}
lib=${HEAPSCOPE_LIBRARY:-$top/.libs/libheapscope.so}
[ -f "$lib" ] || { echo "bench: $lib: not built (run make first)" >&2; exit 1; }
[ -d "$shared" ] || { echo "bench: $shared: the shared workloads are missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/churn" "$shared/churn.c" -lpthread
cc -O2 -o "$work/deepstack" "$shared/deepstack.c"
cc -O2 -o "$work/hold" "$top/bench/hold.c"
# Debian's interpreter: a pyenv shim would time its shell scripts too.
python=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
heaptrack=$(command -v heaptrack || true)
cd "$work"

# median SECONDS...: the middle value.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timeit CMD...: the median wall time of RUNS runs, in seconds.
timeit() {
	local t=() i s e
	for ((i = 0; i < runs; i++)); do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s.%N)
		t+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
		rm -f heapscope.*.db heaptrack.*
	done
	median "${t[@]}"
}

printf '%-22s %10s %10s %8s %10s %8s\n' workload untraced heapscope ratio heaptrack ratio
bench() {
	local name=$1 base hs ht="-" htr="-"
	shift
	base=$(timeit "$@")
	hs=$(timeit env LD_PRELOAD="$lib" "$@")
	if [ -n "$heaptrack" ]; then
		ht=$(timeit "$heaptrack" -o "$work/heaptrack.out" "$@")
		htr=$(awk -v a="$ht" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')
	fi
	printf '%-22s %9.3fs %9.3fs %7.2fx %9ss %8s\n' "$name" "$base" "$hs" \
	    "$(awk -v a="$hs" -v b="$base" 'BEGIN { print a / b }')" "$ht" "$htr"
}
bench "churn 1M, 1 thread" ./churn 1000000 10000 1
bench "churn 1M, 2 threads" ./churn 1000000 10000 2
bench "deepstack 1M" ./deepstack 1000000
bench "pywork.py" "$python" "$shared/pywork.py"

# Memory: resident growth for 1M live blocks of 32 bytes, traced minus untraced.
read -r b0 a0 < <(./hold 1000000)
read -r b1 a1 < <(env LD_PRELOAD="$lib" HEAPSCOPE_OUTPUT="$work/hold.db" ./hold 1000000)
echo "heapscope memory per live block: $(( ((a1 - b1) - (a0 - b0)) * 1024 / 1000000 )) bytes" \
    "(1M live blocks of 32 bytes; stack table included)"
