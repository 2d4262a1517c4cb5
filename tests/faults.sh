#!/bin/sh
# Every out-of-memory path of the preload, walked with the fault switch of its debug build
# (mem.c, built for make check as tests/libheapscope-debug.la): HEAPSCOPE_FAULT_MAP=N makes the
# Nth of heapscope's own mappings fail, and says so on stderr ("heapscope: fault: ...") when it
# does; the mappings after it succeed, so that the snapshots that follow show what the failure
# left behind.  For each victim the walk runs N = 1, 2, ... until a run makes fewer than N
# mappings (the switch no longer speaks), and asserts at every N what the preload's rule says:
# the program runs on as if untraced (its exit status and stdout are the untraced run's), no
# crash and no hang, at most one warning of heapscope's on stderr besides heapscope run's line
# about the database, and it says what failed; the database, if one was written, holds whole
# snapshots (each one's sites add up to its totals, a full one holds every live block, with
# verdicts if it says it was scanned), the first ones of the run without a fault, all of them
# when nothing was said.  Each line names the call site that failed and its caller (addr2line),
# and the end counts the distinct ones.
#
# Victims: threads (four threads, an API snapshot, the exit snapshot: both scanned for leaks),
# roots (a leak scan that stops live threads, with dynamic TLS) and python3 on a script with
# threads and garbage cycles (the Python paths and the scan's gc emulation).  The native two
# exit 90 when heapscope_snapshot() fails, as it does once tracing has stopped: that answer is
# the API's, to a program that asked, so 90 passes where a warning said something failed.
. "$srcdir/tests/lib.sh"
LIB=${DEBUG_LIBRARY:-}
[ -f "$LIB" ] || skip_all "no debug build of the preload at \"$LIB\""
command -v timeout >/dev/null || skip_all "timeout (coreutils) is not installed"
PYTHON=${PYTHON:-/usr/bin/python3}
LIMIT=2000		# the walk of one victim ends here at the latest
WAIT=60			# seconds one run may take: more is a hang
# The failures that may go unsaid, by a function on their path: thread_fold (the ending thread's
# state stays registered, nothing is lost).  Any other failure must be told.
QUIET=' < (thread_fold) \('
# What a warning must say: out of memory.
TOLD='out of memory'

cat >"$T/prog.py" <<'PY'
import gc, threading
gc.disable()
class Node:
    def __init__(self, i):
        self.i = i
        self.other = None
def work(k, out):
    keep = []
    for i in range(300):
        a = Node(i); b = Node(-i); a.other = b; b.other = a
        if i % 2:
            keep.append(a)
    out[k] = sum(n.i for n in keep)
out = [0] * 3
threads = [threading.Thread(target=work, args=(k, out)) for k in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(out)
PY

# consistent DB: prints what is wrong with the snapshots of DB, nothing if they are whole.
consistent() {
	q "$1" "PRAGMA integrity_check" | grep -vx ok
	q "$1" "SELECT 'foreign key: ' || \"table\" || ' -> ' || parent FROM pragma_foreign_key_check
	    GROUP BY 1"
	q "$1" "SELECT 'snapshot ' || id || ': ' || what FROM (
	    SELECT s.id, s.live_bytes != ifnull(sum(c.live_bytes), 0) AS bytes,
	      s.live_blocks != ifnull(sum(c.live_blocks), 0) AS blocks,
	      s.total_allocs != ifnull(sum(c.allocs), 0) OR
	        s.total_frees != ifnull(sum(c.frees), 0) AS totals
	    FROM snapshots s LEFT JOIN site_states c ON c.snapshot_id = s.id WHERE s.id > 0
	    GROUP BY s.id
	    UNION ALL
	    SELECT 0, s.live_bytes != ifnull(sum(p.live_bytes), 0),
	      s.live_blocks != ifnull(sum(p.live_blocks), 0), 0
	    FROM snapshots s, peak_sites p WHERE s.id = 0 GROUP BY s.id)
	  JOIN (SELECT 1 AS k, 'sites do not add up to live_bytes' AS what UNION ALL
	    SELECT 2, 'sites do not add up to live_blocks' UNION ALL
	    SELECT 3, 'sites do not add up to the totals')
	  ON (k = 1 AND bytes) OR (k = 2 AND blocks) OR (k = 3 AND totals)
	  UNION ALL
	  SELECT 'snapshot ' || s.id || ': ' || count(b.address) || ' blocks of ' ||
	    ifnull(sum(b.size), 0) || ' bytes, for ' || s.live_blocks || ' of ' || s.live_bytes
	  FROM snapshots s LEFT JOIN blocks b ON b.snapshot_id = s.id WHERE s.full GROUP BY s.id
	  HAVING count(b.address) != s.live_blocks OR ifnull(sum(b.size), 0) != s.live_bytes
	  UNION ALL
	  SELECT 'snapshot ' || s.id || ': blocks without their verdicts' FROM snapshots s
	  WHERE EXISTS (SELECT 1 FROM blocks b WHERE b.snapshot_id = s.id AND
	    (b.leak IS NULL) = (s.scanned = 1))
	  UNION ALL
	  SELECT 'snapshot ' || s.id || ': mappings do not add up' FROM snapshots s
	  WHERE s.mappings != (SELECT count(*) FROM mappings m WHERE m.snapshot_id = s.id)"
}

# triggers DB: the snapshots of DB, as "trigger:label ...".
triggers() { q "$1" "SELECT group_concat(trigger || ':' || ifnull(label, ''), ' ') FROM snapshots
    WHERE id > 0"; }

# path OFFSETS: the path that a fault line names (the return addresses of the failed call, of its
# caller and so on) as "function (file:line) < its caller (file:line) < ...", inlined functions
# counted; the offsets themselves without addr2line.
path() {
	if command -v addr2line >/dev/null; then
		for a in $(echo "$1" | tr -d ,); do
			addr2line -i -f -s -e "$LIB" "$a"
		done | paste - - | awk '{ printf "%s%s (%s)", (NR > 1 ? " < " : ""), $1, $2 } END { print "" }'
	else
		echo "$1"
	fi
}

# walk NAME API COMMAND...: the walk of one victim; API 1 if it exits 90 when
# heapscope_snapshot() fails.
walk() {
	name=$1 api=$2
	shift 2
	"$@" >"$T/want.out" 2>"$T/want.err"
	want=$?
	HEAPSCOPE_LIBRARY=$LIB "$HEAPSCOPE" run -o "$T/$name.db" -- "$@" >/dev/null 2>&1
	full=$(triggers "$T/$name.db")
	n=1
	fired=0
	while [ $n -le $LIMIT ]; do
		db=$T/$name.$n.db
		HEAPSCOPE_FAULT_MAP=$n HEAPSCOPE_LIBRARY=$LIB timeout -k 5 $WAIT \
		    "$HEAPSCOPE" run -o "$db" -- "$@" >"$T/out" 2>"$T/err"
		rc=$?
		fault=$(sed -n 's/^heapscope: fault: mapping [0-9]* fails, called from //p' "$T/err")
		grep -v '^heapscope: \(fault: \|database in \|no database was written$\)' "$T/err" \
		    >"$T/said"
		said=$(grep '^heapscope: ' "$T/said")
		if [ -n "$fault" ]; then
			fired=$((fired + 1))
			full_path=$(path "$fault")
			where=$(echo "$full_path" | awk -F ' < ' '{ print $1 (NF > 1 ? " < " $2 : "") }')
			echo "$where" >>"$T/sites"
		else
			where="no fault (fewer mappings)"
		fi
		wrong=
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			wrong="$wrong; hung"
		elif [ $rc -gt 128 ]; then
			wrong="$wrong; died of signal $((rc - 128))"
		elif [ $rc -ne $want ] &&
		    ! { [ $api = 1 ] && [ $rc -eq 90 ] && [ -n "$said" ]; }; then
			wrong="$wrong; exit status $rc, not $want"
		fi
		cmp -s "$T/out" "$T/want.out" || wrong="$wrong; stdout differs"
		grep -v '^heapscope: ' "$T/said" | cmp -s - "$T/want.err" || wrong="$wrong; stderr: $(
		    grep -v '^heapscope: ' "$T/said" | head -3 | tr '\n' '|')"
		lines=$(printf '%s' "$said" | grep -c '')
		[ "$lines" -le 1 ] || wrong="$wrong; $lines warnings"
		[ -z "$said" ] || printf '%s\n' "$said" | grep -Eq "$TOLD" ||
		    wrong="$wrong; a warning that does not say out of memory"
		[ -n "$said" ] || [ -z "$fault" ] || [ "$full_path" = "$fault" ] ||
		    echo "$full_path" | grep -Eq "$QUIET" || wrong="$wrong; a failure and nothing said"
		if [ -f "$db" ]; then
			grep -q '^heapscope: database in ' "$T/err" ||
			    wrong="$wrong; a database that heapscope run did not find"
			bad=$(consistent "$db" 2>&1 | head -3 | tr '\n' ';')
			[ -z "$bad" ] || wrong="$wrong; $bad"
			got=$(triggers "$db")
			case "$full " in
			"$got "*) ;;
			*) [ -z "$got" ] || wrong="$wrong; snapshots \"$got\" of \"$full\"" ;;
			esac
			[ -n "$said" ] || [ "$got" = "$full" ] ||
			    wrong="$wrong; snapshots missing, and nothing said"
		elif [ -z "$said" ] && [ -n "$full" ]; then
			wrong="$wrong; no database, and nothing said"
		fi
		said=$(printf '%s' "$said" | head -1)
		if [ -z "$wrong" ]; then
			ok 0 "$name N=$n, $where: ${said#heapscope: }"
		else
			ok 1 "$name N=$n, $where: ${said#heapscope: }"
			echo "# ${wrong#; }"
			sed 's/^/# stderr: /' "$T/err"
		fi
		rm -f "$db"
		[ -n "$fault" ] || break
		n=$((n + 1))
	done
	ok "$([ $fired -gt 0 ] && [ $n -le $LIMIT ]; echo $?)" \
	    "$name: the walk reached the end of the mappings, after $fired"
}

: >"$T/sites"
walk threads 1 "$VICTIMS/threads" 4 2000
walk roots 1 "$VICTIMS/roots" "$VICTIMS/.libs/tlsmod.so"
if [ -x "$PYTHON" ]; then
	walk python 0 "$PYTHON" "$T/prog.py"
else
	skip 1 "$PYTHON is not installed"
fi
echo "# $(sort -u "$T/sites" | wc -l) distinct call sites (and callers) failed:"
sort "$T/sites" | uniq -c | sort -k2 | sed 's/^/#   /'
plan $tap_n
done_testing
