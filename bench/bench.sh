#!/bin/bash
# The side-by-side benchmark: no tracer, heapscope, heaptrack and LeakSanitizer (when installed:
# Debian's heaptrack and gcc's liblsan0), in one run,
# on the shared reference workloads (../shared/bench: churn on 1 and 2 threads, deepstack,
# pywork.py, also against tracemalloc).  Prints the median wall time of each and its ratio to the untraced run, then
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
lsan=$(ls /usr/lib/x86_64-linux-gnu/liblsan.so.0 2>/dev/null || true)
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

# ratio A B: A / B as "1.23x".  secs A: A as "0.123s".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.3fs", a }'; }

printf '%-22s %9s %9s %7s %9s %7s %9s %7s\n' workload untraced heapscope ratio \
    heaptrack ratio lsan ratio
bench() {
	local name=$1 base hs ht="-" htr="-" ls="-" lsr="-"
	shift
	base=$(timeit "$@")
	hs=$(timeit env LD_PRELOAD="$lib" "$@")
	if [ -n "$heaptrack" ]; then
		ht=$(timeit "$heaptrack" -o "$work/heaptrack.out" "$@")
		htr=$(ratio "$ht" "$base")
		ht=$(secs "$ht")
	fi
	if [ -n "$lsan" ]; then
		ls=$(timeit env LD_PRELOAD="$lsan" LSAN_OPTIONS=exitcode=0 "$@")
		lsr=$(ratio "$ls" "$base")
		ls=$(secs "$ls")
	fi
	printf '%-22s %9s %9s %7s %9s %7s %9s %7s\n' "$name" "$(secs "$base")" "$(secs "$hs")" \
	    "$(ratio "$hs" "$base")" "$ht" "$htr" "$ls" "$lsr"
}
bench "churn 1M, 1 thread" ./churn 1000000 10000 1
bench "churn 1M, 2 threads" ./churn 1000000 10000 2
bench "deepstack 1M" ./deepstack 1000000
bench "pywork.py" "$python" "$shared/pywork.py"

# Python mode against tracemalloc (1 frame, and heapscope's 16-frame Python tracebacks), and
# heapscope with tracing of the Python allocators off (what the line above measured before).
base=$(timeit "$python" "$shared/pywork.py")
hs=$(timeit env LD_PRELOAD="$lib" "$python" "$shared/pywork.py")
hs1=$(timeit env LD_PRELOAD="$lib" HEAPSCOPE_PY_DEPTH=1 "$python" "$shared/pywork.py")
off=$(timeit env LD_PRELOAD="$lib" HEAPSCOPE_PYTHON=0 "$python" "$shared/pywork.py")
tm=$(timeit "$python" -X tracemalloc=1 "$shared/pywork.py")
echo "pywork.py: heapscope Python mode $(ratio "$hs" "$base") (1 frame: $(ratio "$hs1" "$base")," \
    "Python mode off: $(ratio "$off" "$base")), tracemalloc=1 $(ratio "$tm" "$base")"

# Memory: resident growth for 1M live blocks of 32 bytes, traced minus untraced.
read -r b0 a0 < <(./hold 1000000)
read -r b1 a1 < <(env LD_PRELOAD="$lib" HEAPSCOPE_OUTPUT="$work/hold.db" ./hold 1000000)
echo "heapscope memory per live block: $(( ((a1 - b1) - (a0 - b0)) * 1024 / 1000000 )) bytes" \
    "(1M live blocks of 32 bytes; stack table included)"
