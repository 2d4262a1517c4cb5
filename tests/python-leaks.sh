#!/bin/sh
# Python objects in the leak scan: with the gc disabled, N garbage cycles of class instances
# beside reachable ones, and objects given a leaked reference with Py_IncRef.  The scan must find
# exactly the cycles that gc.collect() then finds in the same run, and exactly the leaked
# references, with refcount = references found + 1.  Each Python present is tried: Debian's
# python3 (3.11) must be, pyenv's 3.12 and 3.13 may be (their immortal objects never reported).
. "$srcdir/tests/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || skip_all "$PYTHON is not installed"
pythons=$PYTHON
for v in 3.12.1/bin/python3.12 3.13.0/bin/python3.13; do
	[ -x "/root/.pyenv/versions/$v" ] && pythons="$pythons /root/.pyenv/versions/$v"
done
set -- $pythons
plan $((18 * $#))

N=7	# garbage cycles
K=5	# reachable cycles
L=3	# objects with a leaked reference
cat >"$T/prog.py" <<'PY'
import ctypes, gc, sys
gc.disable()
class Cyc:
    __slots__ = ('other', '__weakref__')
class Kept:
    __slots__ = ('other',)
class Leaky:
    __slots__ = ('x',)
N, K, L = map(int, sys.argv[1:4])
keep = []
def make():
    for i in range(N):
        a = Cyc(); b = Cyc()
        a.other = b; b.other = a
        del a, b
    for i in range(K):
        a = Kept(); b = Kept()
        a.other = b; b.other = a
        keep.append(a)
make()
leaky = [Leaky() for i in range(L)]
# No Python variable holds them meanwhile: a dead slot of the interpreter's stack would be a root.
list(map(ctypes.pythonapi.Py_IncRef, map(ctypes.py_object, leaky)))
snap = ctypes.CDLL(None).heapscope_snapshot
snap.argtypes = [ctypes.c_char_p]
snap(b"x")
gc.set_debug(gc.DEBUG_SAVEALL)
gc.collect()
print(",".join("(%d)" % id(o) for o in gc.garbage if type(o) is Cyc))
print(",".join("(%d)" % id(o) for o in leaky))
PY
# The same with ordinary classes, whose attributes (3.11, 3.12) live in a values array of the
# instance's own: a stale word pointing into that array must not keep a garbage cycle alive.
sed "s/__slots__ = .*/pass/" "$T/prog.py" >"$T/plain.py"

for py; do
	v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	db="$T/py$v.db"
	"$HEAPSCOPE" run -o "$db" -- "$py" "$T/prog.py" $N $K $L >"$T/out" 2>"$T/err"
	is "$?" 0 "$v: the program exits 0 under heapscope"
	is "$(q "$db" "SELECT python LIKE '$v.%' FROM process")" 1 "$v: traced as CPython $v"
	x="SELECT id FROM snapshots WHERE label = 'x'"
	is "$(q "$db" "SELECT scanned FROM snapshots WHERE label = 'x'")" 1 "$v: the snapshot is scanned"
	is "$(sed -n 1p "$T/out" | tr ',' '\n' | wc -l)" $((2 * N)) "$v: gc.collect() finds the $N cycles"
	# An object's id() is its address, inside its block.
	is "$(q "$db" "WITH ids(v) AS (VALUES $(sed -n 1p "$T/out")) SELECT count(*),
	    (SELECT count(*) FROM blocks WHERE snapshot_id = ($x) AND py_cycle_id IS NOT NULL)
	    FROM blocks AS b JOIN ids ON b.address < v AND v < b.address + b.size
	    WHERE b.snapshot_id = ($x) AND b.py_cycle_id IS NOT NULL")" "$((2 * N)) $((2 * N))" \
	    "$v: the scan's garbage cycles hold exactly gc's garbage"
	is "$(q "$db" "SELECT count(DISTINCT py_cycle_id), count(*), min(py_type), max(py_type),
	    sum(py_garbage) FROM blocks WHERE snapshot_id = ($x) AND py_cycle_id IS NOT NULL")" \
	    "$N $((2 * N)) Cyc Cyc $((2 * N))" "$v: $N cycles of two Cyc objects each, garbage"
	is "$(q "$db" "SELECT DISTINCT py_refcnt || ' ' || py_refs FROM blocks
	    WHERE snapshot_id = ($x) AND py_cycle_id IS NOT NULL")" "1 1" \
	    "$v: each member's one reference is the other's"
	is "$(q "$db" "SELECT count(*), sum(py_garbage) FROM blocks WHERE snapshot_id = ($x)
	    AND py_type = 'Kept'")" "$((2 * K)) 0" "$v: the reachable cycles are not garbage"
	is "$(q "$db" "WITH ids(v) AS (VALUES $(sed -n 2p "$T/out")) SELECT count(*),
	    (SELECT count(*) FROM blocks WHERE snapshot_id = ($x) AND py_refcnt > py_refs)
	    FROM blocks AS b JOIN ids ON b.address < v AND v < b.address + b.size
	    WHERE b.snapshot_id = ($x) AND b.py_refcnt > b.py_refs")" "$L $L" \
	    "$v: the leaked references are exactly the Py_IncRef'd objects"
	is "$(q "$db" "SELECT DISTINCT py_type || ' ' || (py_refcnt - py_refs) FROM blocks
	    WHERE snapshot_id = ($x) AND py_refcnt > py_refs")" "Leaky 1" \
	    "$v: their refcount is the references found + 1"
	is "$(q "$db" "SELECT count(*) FROM blocks WHERE snapshot_id = ($x) AND py_type IS NOT NULL
	    AND py_refcnt IS NULL AND (py_garbage OR py_cycle_id IS NOT NULL)")" 0 \
	    "$v: no immortal object is garbage"
	"$HEAPSCOPE" leaks --json "$db" x >"$T/json" 2>"$T/err"
	is "$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
p = d["summary"]["python"]
print(p["garbage_cycles"]["cycles"], p["leaked_references"], len(d["python_cycles"]),
    sorted({m["type"] for c in d["python_cycles"] for m in c["members"]}),
    sorted({(r["type"], r["refcnt"] - r["refs_found"]) for r in d["leaked_references"]}),
    len(d["leaked_references"]))' "$T/json")" \
	    "$N $L $N ['Cyc'] [('Leaky', 1)] $L" "$v: leaks --json: python_cycles, leaked_references"
	is "$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["python_cycles"][0]["members"][0]["traceback"][0]["function"],
    d["leaked_references"][0]["traceback"][-1]["function"])' "$T/json")" "make <module>" \
	    "$v: leaks --json: Python tracebacks, most recent call first"
	"$HEAPSCOPE" leaks "$db" x >"$T/text" 2>"$T/err"
	like "$(cat "$T/text")" "python garbage cycle 1 of $N: [0-9]+ bytes in 2 blocks, 2 objects" \
	    "$v: leaks: the garbage cycles"
	like "$(grep -A1 '^leaked reference: Leaky object' "$T/text" | tr '\n' ' ')" \
	    "refcount 2, 1 references found.*File \"$T/prog.py\", line [0-9]+, in " \
	    "$v: leaks: the leaked references, with their lines"
	"$HEAPSCOPE" run --error-exitcode=3 -o "$T/check$v.db" -- "$py" "$T/prog.py" 0 $K $L \
	    >/dev/null 2>"$T/err"
	is "$?" 3 "$v: run --error-exitcode: a leaked reference fails the check"
	"$HEAPSCOPE" run -o "$T/plain$v.db" -- "$py" "$T/plain.py" $N $K $L >"$T/out" 2>"$T/err"
	is "$(sed -n 1p "$T/out" | tr ',' '\n' | wc -l)" $((2 * N)) \
	    "$v: ordinary classes: gc.collect() finds the $N cycles"
	is "$(q "$T/plain$v.db" "SELECT count(DISTINCT py_cycle_id), sum(py_type = 'Cyc'),
	    sum(py_type = 'Kept' AND py_garbage) FROM blocks
	    WHERE snapshot_id = (SELECT id FROM snapshots WHERE label = 'x')")" "$N $((2 * N)) 0" \
	    "$v: ordinary classes: so does the scan, and the reachable ones are not garbage"
done
done_testing
