#!/bin/bash
# The side-by-side benchmark: no tracer, heapscope, heaptrack and LeakSanitizer (when installed:
# Debian's heaptrack and gcc's liblsan0), in one run,
# on the shared reference workloads (../shared/bench: churn on 1 and 2 threads, deepstack,
# pywork.py, also against tracemalloc).  Prints the median wall time of each and its ratio to the
# untraced run, then heapscope's memory per live block.  Ratios, not absolute times: the machines
# are noisy, and the runs of one workload are interleaved so that the noise falls on all alike.
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

# once FN: the wall time of one run of the function FN, in seconds.
once() {
	local s e
	s=$(date +%s.%N)
	"$1" >/dev/null 2>&1 || true
	e=$(date +%s.%N)
	rm -f heapscope.*.db heaptrack.*
	awk -v s="$s" -v e="$e" 'BEGIN { print e - s }'
}

# timeall FN...: the median wall time of RUNS runs of each function FN, in order, one per line.
# The runs are interleaved, one of each function per round, so that the machine's slow and fast
# moments fall on all of them alike and the ratios stay fair.
timeall() {
	local -A t
	local i f
	for ((i = 0; i < runs; i++)); do
		for f in "$@"; do
			t[$f]+=" $(once "$f")"
		done
	done
	for f in "$@"; do
		# shellcheck disable=SC2086
		median ${t[$f]}
	done
}

# ratio A B: A / B as "1.23x".  secs A: A as "0.123s".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.3fs", a }'; }

# The variants of the workload in cmd: untraced, and under each tracer.
cmd=()
v_base() { "${cmd[@]}"; }
v_hs() { env LD_PRELOAD="$lib" "${cmd[@]}"; }
v_ht() { "$heaptrack" -o "$work/heaptrack.out" "${cmd[@]}"; }
v_lsan() { env LD_PRELOAD="$lsan" LSAN_OPTIONS=exitcode=0 "${cmd[@]}"; }
v_hs1() { env LD_PRELOAD="$lib" HEAPSCOPE_PY_DEPTH=1 "${cmd[@]}"; }
v_off() { env LD_PRELOAD="$lib" HEAPSCOPE_PYTHON=0 "${cmd[@]}"; }
v_tm() { "${cmd[0]}" -X tracemalloc=1 "${cmd[@]:1}"; }

printf '%-22s %9s %9s %7s %9s %7s %9s %7s\n' workload untraced heapscope ratio \
    heaptrack ratio lsan ratio
bench() {
	local name=$1 base hs ht="-" htr="-" ls="-" lsr="-" fns=(v_base v_hs) times
	shift
	cmd=("$@")
	[ -n "$heaptrack" ] && fns+=(v_ht)
	[ -n "$lsan" ] && fns+=(v_lsan)
	mapfile -t times < <(timeall "${fns[@]}")
	base=${times[0]}
	hs=${times[1]}
	if [ -n "$heaptrack" ]; then
		ht=${times[2]}
		htr=$(ratio "$ht" "$base")
		ht=$(secs "$ht")
	fi
	if [ -n "$lsan" ]; then
		ls=${times[-1]}
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
cmd=("$python" "$shared/pywork.py")
mapfile -t times < <(timeall v_base v_hs v_hs1 v_off v_tm)
echo "pywork.py: heapscope Python mode $(ratio "${times[1]}" "${times[0]}")" \
    "(1 frame: $(ratio "${times[2]}" "${times[0]}")," \
    "Python mode off: $(ratio "${times[3]}" "${times[0]}")), tracemalloc=1 $(ratio "${times[4]}" "${times[0]}")"

# Memory: resident growth for 1M live blocks of 32 bytes, traced minus untraced.
read -r b0 a0 < <(./hold 1000000)
read -r b1 a1 < <(env LD_PRELOAD="$lib" HEAPSCOPE_OUTPUT="$work/hold.db" ./hold 1000000)
echo "heapscope memory per live block: $(( ((a1 - b1) - (a0 - b0)) * 1024 / 1000000 )) bytes" \
    "(1M live blocks of 32 bytes; stack table included)"
