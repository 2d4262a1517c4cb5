#!/bin/bash
# The side-by-side benchmark: each workload untraced and under heapscope and the peer tools
# (Debian's heaptrack, gcc's LeakSanitizer with its default frame-pointer stacks and with DWARF
# stacks, CPython's tracemalloc), in one run.  For each it prints the median wall time and peak
# resident memory (the largest process, bench/measure.c) over the untraced run's: ratios, not
# absolute times, since the machines are noisy; the runs of one workload are interleaved, one
# of each tracer a round, so that the noise falls on all alike.
#
# The workloads: the shared micro-benchmarks (../shared/bench: churn on 1 and 2 threads,
# deepstack as built by default and with frame pointers, where LeakSanitizer's fast stacks are
# right, pywork.py in Python mode), then two real programs nobody here wrote
# (../shared/bench/real-programs.sh: CPython 3.11's own tests, and gcc's cc1plus compiling a
# real C++ file at -O2), with the size of each tracer's output.  Last, heapscope's memory per
# live block.
#
# Usage: bench/bench.sh [RUNS=5]   (from a built tree; builds the workloads into a temp dir)
# The real programs run BENCH_REAL_RUNS times (3); BENCH_REAL=0 leaves them out.  Two peers are
# too slow for every run and come only with BENCH_SLOW=1: heaptrack on cc1plus (about 19x and
# 19 GB here) and tracemalloc with 25 frames on the CPython tests (about 46x).
set -eu
runs=${1:-5}
real_runs=${BENCH_REAL_RUNS:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${HEAPSCOPE_SHARED_BENCH:-$top/../shared/bench}
lib=${HEAPSCOPE_LIBRARY:-$top/.libs/libheapscope.so}
heapscope=$top/heapscope
[ -f "$lib" ] && [ -x "$heapscope" ] || { echo "bench: build first (make)" >&2; exit 1; }
[ -d "$shared" ] || { echo "bench: $shared: the shared workloads are missing" >&2; exit 1; }
export HEAPSCOPE_LIBRARY=$lib
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/measure" "$top/bench/measure.c"
cc -O2 -o "$work/churn" "$shared/churn.c" -lpthread
cc -O2 -o "$work/deepstack" "$shared/deepstack.c"
cc -O2 -fno-omit-frame-pointer -o "$work/deepstack-fp" "$shared/deepstack.c"
cc -O2 -o "$work/hold" "$top/bench/hold.c"
# Debian's interpreter: a pyenv shim would time its shell scripts too.
python=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
heaptrack=$(command -v heaptrack || true)
lsan=$(ls /usr/lib/x86_64-linux-gnu/liblsan.so.0 2>/dev/null || true)
cd "$work"

# median VALUE...: the middle value.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# once FN: "SECONDS KIB" of one run of the variant FN, its output and files thrown away.
once() {
	./measure "$work/measured" "$1" >/dev/null 2>&1 || true
	rm -rf heapscope.*.db heaptrack.* out.*
	cat "$work/measured"
}

# The variants of a workload: untraced, and under each tracer, each a command prefix.  A
# micro-benchmark's variant is the prefix and the command; a real program's is
# real-programs.sh, which puts the prefix before the program itself (not its shell or driver).
# Each becomes a script that measure runs, so that its peak memory is the traced program's.
declare -A prefix=(
	[base]=""
	[hs]="env LD_PRELOAD=$lib HEAPSCOPE_OUTPUT=$work/out.%p.db"
	[hsrun]="$heapscope run -o $work/out.%p.db --"
	[hsint]="$heapscope run --interval 1 -o $work/out.%p.db --"
	[hs1]="env LD_PRELOAD=$lib HEAPSCOPE_OUTPUT=$work/out.%p.db HEAPSCOPE_PY_DEPTH=1"
	[off]="env LD_PRELOAD=$lib HEAPSCOPE_OUTPUT=$work/out.%p.db HEAPSCOPE_PYTHON=0"
	[ht]="$heaptrack -o $work/heaptrack.out"
	[lsan]="env LD_PRELOAD=$lsan LSAN_OPTIONS=exitcode=0"
	[lsandw]="env LD_PRELOAD=$lsan LSAN_OPTIONS=exitcode=0:fast_unwind_on_malloc=0"
	[tm1]="env PYTHONTRACEMALLOC=1"
	[tm25]="env PYTHONTRACEMALLOC=25"
)
# micro COMMAND...: the variants of a micro-benchmark.  real WHAT: of a real program.
micro() {
	local v c
	c=$(printf '%q ' "$@")
	for v in "${!prefix[@]}"; do
		printf '#!/bin/bash\nexec %s %s\n' "${prefix[$v]}" "$c" >"$work/$v"
		chmod +x "$work/$v"
	done
}
real() {
	local v
	for v in "${!prefix[@]}"; do
		printf '#!/bin/bash\nexec sh %q %s %s\n' "$shared/real-programs.sh" "$1" \
		    "${prefix[$v]}" >"$work/$v"
		chmod +x "$work/$v"
	done
}

# measureall N FN...: N interleaved rounds of the variants FN; prints "FN SECONDS KIB" medians.
measureall() {
	local -A t m
	local i f r n=$1
	shift
	for ((i = 0; i < n; i++)); do
		for f in "$@"; do
			r=$(once "./$f")
			t[$f]+=" ${r% *}"
			m[$f]+=" ${r#* }"
		done
	done
	for f in "$@"; do
		# shellcheck disable=SC2086
		echo "$f $(median ${t[$f]}) $(median ${m[$f]})"
	done
}

# The columns: a tracer per column, each "TIME RSS" as ratios to the untraced run.
columns=(hs ht lsan lsandw)
header() {
	printf '%-24s %14s' "$1" "untraced"
	shift
	for h in "$@"; do printf ' %15s' "$h"; done
	printf '\n'
}
# row NAME RUNS FN...: measures the workload under base and FN...; "-" where FN is "-" (not
# installed).  The medians stay in t and m, by variant.
declare -A t m
row() {
	local name=$1 n=$2 f bt bm
	t=() m=()
	shift 2
	local fns=(base)
	for f in "$@"; do [ "$f" != - ] && fns+=("$f"); done
	while read -r f s k; do t[$f]=$s; m[$f]=$k; done < <(measureall "$n" "${fns[@]}")
	bt=${t[base]} bm=${m[base]}
	printf '%-24s %7.3fs %4dMB' "$name" "$bt" $((bm / 1024))
	for f in "$@"; do
		if [ "$f" = - ]; then
			printf ' %15s' "-"
		else
			printf ' %6.2fx %5.2fxM' "$(awk -v a="${t[$f]}" -v b="$bt" 'BEGIN { print a / b }')" \
			    "$(awk -v a="${m[$f]}" -v b="$bm" 'BEGIN { print a / b }')"
		fi
	done
	printf '\n'
}
have() { [ -n "$1" ] && echo "$2" || echo -; }

echo "time and peak RSS over the untraced run's (medians of $runs runs; real programs: $real_runs)"
header workload heapscope heaptrack "lsan (fp)" "lsan (dwarf)"
micro ./churn 1000000 10000 1
row "churn 1M, 1 thread" "$runs" hs "$(have "$heaptrack" ht)" "$(have "$lsan" lsan)" \
    "$(have "$lsan" lsandw)"
micro ./churn 1000000 10000 2
row "churn 1M, 2 threads" "$runs" hs "$(have "$heaptrack" ht)" "$(have "$lsan" lsan)" \
    "$(have "$lsan" lsandw)"
micro ./deepstack 1000000
row "deepstack 1M" "$runs" hs "$(have "$heaptrack" ht)" "$(have "$lsan" lsan)" \
    "$(have "$lsan" lsandw)"
micro ./deepstack-fp 1000000
row "deepstack 1M, fp" "$runs" hs "$(have "$heaptrack" ht)" "$(have "$lsan" lsan)" \
    "$(have "$lsan" lsandw)"

echo
header "Python mode" heapscope "1 py frame" "py mode off" "tracemalloc=1"
micro "$python" "$shared/pywork.py"
row "pywork.py" "$runs" hs hs1 off tm1

if [ "${BENCH_REAL:-1}" != 0 ]; then
	echo
	# sizes FN: the size in MB of what one run of FN writes (heapscope's databases, heaptrack's
	# compressed trace).
	sizes() {
		rm -rf heapscope.*.db heaptrack.* out.*
		"./$1" >/dev/null 2>&1 || true
		du -cm out.* heaptrack.* 2>/dev/null | tail -n 1 | cut -f1
	}
	slow=${BENCH_SLOW:-0}
	header "real programs" heapscope "--interval 1" heaptrack "tracemalloc=1"
	real python
	row "CPython tests" "$real_runs" hsrun hsint "$(have "$heaptrack" ht)" tm1
	echo "  --interval 1 over heapscope without it: $(awk -v a="${t[hsint]}" -v b="${t[hsrun]}" \
	    'BEGIN { printf "%.2fx", a / b }') time"
	echo "  output: heapscope $(sizes hsrun) MB, with --interval 1 $(sizes hsint) MB$(
	    [ -n "$heaptrack" ] && echo ", heaptrack $(sizes ht) MB")"
	if [ "$slow" = 1 ]; then
		header "" "tracemalloc=25"
		row "CPython tests" 1 tm25
	fi
	header "" heapscope heaptrack "lsan (fp)" "lsan (dwarf)"
	real cc
	row "cc1plus -O2 realcc.cc" "$real_runs" hsrun \
	    "$( [ "$slow" = 1 ] && have "$heaptrack" ht || echo -)" "$(have "$lsan" lsan)" \
	    "$(have "$lsan" lsandw)"
	echo "  output: heapscope $(sizes hsrun) MB$( [ "$slow" = 1 ] && [ -n "$heaptrack" ] &&
	    echo ", heaptrack $(sizes ht) MB")"
fi

# Memory: resident growth for 1M live blocks of 32 bytes, traced minus untraced.
echo
read -r b0 a0 < <(./hold 1000000)
read -r b1 a1 < <(env LD_PRELOAD="$lib" HEAPSCOPE_OUTPUT="$work/hold.db" ./hold 1000000)
echo "heapscope memory per live block: $(( ((a1 - b1) - (a0 - b0)) * 1024 / 1000000 )) bytes" \
    "(1M live blocks of 32 bytes; stack table included)"
