# TAP helpers for heapscope's tests, sourced by each tests/*.sh.
#
# The environment (Makefile.am's AM_TESTS_ENVIRONMENT) gives HEAPSCOPE (the analyzer),
# HEAPSCOPE_LIBRARY (the uninstalled preload), VICTIMS (built victim programs) and srcdir.
# Each test works in a temporary directory of its own, removed at exit.

set -u
: "${srcdir:=.}"
: "${HEAPSCOPE:=./heapscope}"
: "${VICTIMS:=./tests/victims}"
tap_n=0
tap_failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/heapscope-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

plan() { echo "1..$1"; }

# skip_all REASON: the whole test is skipped (exit 77 for the parallel harness).
skip_all() { echo "1..0 # SKIP $1"; exit 0; }

# ok STATUS NAME: passes when STATUS is 0.
ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=1
	fi
}

# is GOT WANT NAME: passes when the two strings are equal.
is() {
	tap_n=$((tap_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		printf '# got:  %s\n# want: %s\n' "$1" "$2" | sed '2,$s/^/#       /;s/^#        #/#/'
		tap_failed=1
	fi
}

# like GOT REGEX NAME: passes when GOT matches the extended regular expression.
like() {
	tap_n=$((tap_n + 1))
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		printf '%s\n' "$1" | head -20 | sed 's/^/# got: /'
		echo "# want match: $2"
		tap_failed=1
	fi
}

# skip N REASON: N assertions skipped.
skip() {
	i=0
	while [ "$i" -lt "$1" ]; do
		tap_n=$((tap_n + 1))
		echo "ok $tap_n # SKIP $2"
		i=$((i + 1))
	done
}

# done_testing: exits with the status the harness expects.
done_testing() { exit "$tap_failed"; }

# line FILE TAG: the line number of the source line marked "tag:TAG".
line() { grep -En "tag:$2( |$)" "$srcdir/tests/victims/$1" | cut -d: -f1; }

# q DB SQL: runs a query with the sqlite3 command.
q() { sqlite3 -batch -noheader -separator ' ' "$1" "$2"; }

# member JSONFILE EXPR: a Python expression on the report d, printed.
member() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# entry JSONFILE KEYSUFFIX: "SIZE COUNT" of the entry of a --json report whose key ends with
# KEYSUFFIX ("" if none).
entry() {
	python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for s in doc["stats"]:
    if s["key"].endswith(sys.argv[2]):
        print(s["size"], s["count"])
        break
' "$1" "$2"
}

# fails STATUS PATTERN NAME COMMAND...: COMMAND exits STATUS with one stderr line like PATTERN
# (three assertions).
fails() {
	want=$1 pattern=$2 name=$3
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	is "$?" "$want" "$name: exit status $want"
	like "$(cat "$T/err")" "$pattern" "$name: one clear line"
	is "$(wc -l <"$T/err")" 1 "$name: only that line"
}

# wait_for FILE PATTERN: waits (at most 20 s) until FILE has a line matching PATTERN.
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.1
	done
}

# snapshots DB: the number of snapshots written so far (0 before the file exists; sqlite3 is not
# run on a missing file, which it would create, and heapscope never writes over a file).
snapshots() { [ -f "$1" ] && q "$1" "SELECT count(*) FROM snapshots WHERE trigger != 'peak'" || echo 0; }

# wait_snapshots DB N: waits (at most 20 s) until DB holds N snapshots.
wait_snapshots() {
	i=0
	while [ "$(snapshots "$1")" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.1
	done
}

# run_victim OUT NAME ARGS...: runs a victim under heapscope run with database OUT.
run_victim() {
	out=$1
	shift
	prog=$1
	shift
	"$HEAPSCOPE" run -o "$out" -- "$VICTIMS/$prog" "$@"
}

command -v sqlite3 >/dev/null || skip_all "the sqlite3 command is not installed"
command -v python3 >/dev/null || skip_all "python3 is not installed"
