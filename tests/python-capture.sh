#!/bin/sh
# Python mode in the preload: every block of CPython's allocator domains is recorded once, with
# its domain and its Python traceback; under PYTHONMALLOC and -X dev (allocators replaced during
# start-up, wrapped again after it), beside tracemalloc, on Python threads and generators; and
# not at all with HEAPSCOPE_PYTHON=0.  Checked in the database with plain SQL.
. "$srcdir/tests/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || skip_all "$PYTHON is not installed"
plan 42
prog="$srcdir/tests/py/capture.py"
ln() { grep -n "tag:$1\$" "$prog" | cut -d: -f1; }

# Blocks of snapshot "here" whose innermost Python frame is the line tagged $2, of size $3.
at() {
	q "$1" "SELECT count(*) FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id
	    JOIN stacks k ON k.id = b.stack_id
	    JOIN py_frames f ON f.stack_id = b.stack_id AND f.level = 0
	    JOIN py_code c ON c.id = f.code_id
	    WHERE s.label = 'here' AND c.filename LIKE '%capture.py' AND f.line = $(ln "$2")
	    AND b.size = $3 ${4:+AND k.domain = '$4'}"
}

# traced NAME [ENV...] -- runs the script under heapscope into $T/NAME.db.
traced() {
	name=$1
	shift
	env "$@" "$HEAPSCOPE" run -o "$T/$name.db" -- "$PYTHON" "$prog" $extra >"$T/$name.out" \
	    2>"$T/$name.err"
}

extra= traced plain
is "$?" 0 "python exits 0"
is "$(cat "$T/plain.out")" "snapshot 1" "its output is unchanged"
is "$(q "$T/plain.db" "SELECT python FROM process")" \
    "$("$PYTHON" -c 'import platform; print(platform.python_version())')" "process.python"
# bytes(100): a 33-byte header and 100 bytes, from PyObject_Malloc.
is "$(at "$T/plain.db" bytes 133 obj)" 10000 "10000 bytes objects at their line, obj domain"
is "$(at "$T/plain.db" list 8000 mem)" 1 "[None] * 1000: one 8000-byte item array, mem domain"
# Its two instructions each allocate a list object (obj) and an item array (mem): four stacks,
# each instruction's two sharing one stored traceback (a traceback's frame is an instruction).
is "$(q "$T/plain.db" "SELECT count(*), count(DISTINCT k.py_traceback) FROM stacks k
    JOIN py_tracebacks t ON t.id = k.py_traceback JOIN py_code c
    ON c.id = t.code_id WHERE c.filename LIKE '%capture.py' AND t.line = $(ln list)")" "4 2" \
    "stacks that differ only in domain or native frames share one stored traceback"
is "$(q "$T/plain.db" "SELECT count(*) FROM stacks k WHERE k.py_depth <> (SELECT count(*)
    FROM py_frames f WHERE f.stack_id = k.id)")" 0 \
    "every stack's traceback has py_depth frames"
# The module's call of make(), the outermost frame of the tracebacks of every allocation that
# make() and its list comprehension made, is stored once.
is "$(q "$T/plain.db" "SELECT count(*), (SELECT count(DISTINCT f.stack_id) > 2 FROM py_frames f
    WHERE f.code_id = t.code_id AND f.line = t.line) FROM py_tracebacks t JOIN py_code c
    ON c.id = t.code_id WHERE t.parent IS NULL AND c.name = '<module>'
    AND c.filename LIKE '%capture.py' AND t.line = $(ln make)")" "1 1" \
    "a call that tracebacks share is one row"
# A damaged tree, a traceback whose caller is itself: an error, not a walk without end.
cp "$T/plain.db" "$T/loop.db"
sqlite3 "$T/loop.db" "UPDATE py_tracebacks SET parent = id WHERE id = 2"
"$HEAPSCOPE" top "$T/loop.db" >"$T/loop.out" 2>"$T/loop.err"
is "$? $(cat "$T/loop.err")" \
    "1 heapscope: top: \"$T/loop.db\": py_tracebacks: row 2 is out of order or has a bad parent" \
    "a traceback that is its own caller is refused"
is "$(at "$T/plain.db" deep 233 obj)" 7 "7 objects at the end of a 30-deep recursion"
# The stacks of those 7 blocks, and the line of each one's frame at level $2.
deep_frames() {
	q "$1" "SELECT count(*), min(f.line), max(f.line) FROM py_frames f WHERE f.level = $2 AND
	    f.stack_id IN (SELECT b.stack_id FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id
	    JOIN py_frames z ON z.stack_id = b.stack_id AND z.level = 0
	    WHERE s.label = 'here' AND b.size = 233 AND z.line = $(ln deep))"
}
n=$(deep_frames "$T/plain.db" 0 | cut -d' ' -f1)
is "$(deep_frames "$T/plain.db" 15)" "$n $(ln recurse) $(ln recurse)" \
    "their tracebacks are cut at the default 16 frames, most recent first"
is "$(deep_frames "$T/plain.db" 16)" "0  " "... and no deeper"
is "$(at "$T/plain.db" gen 333 obj)" 300 "300 objects made in a generator"
is "$(at "$T/plain.db" thread 433 obj)" 1000 "1000 objects made on a Python thread"
is "$(q "$T/plain.db" "SELECT count(DISTINCT b.thread_id) FROM blocks b JOIN py_frames f
    ON f.stack_id = b.stack_id AND f.level = 0 WHERE b.size = 433")" 1 "... all by that thread"
is "$(q "$T/plain.db" "SELECT DISTINCT c.name FROM blocks b JOIN py_frames f
    ON f.stack_id = b.stack_id AND f.level = 0 JOIN py_code c ON c.id = f.code_id
    WHERE b.size = 433")" "worker.<locals>.<genexpr>" "code names are qualified names"
[ "$(q "$T/plain.db" "SELECT count(*) FROM mappings m JOIN snapshots s ON s.id = m.snapshot_id
    WHERE s.label = 'here' AND m.kind = 'pyarena' AND m.size = 1048576")" -gt 0 ]
ok $? "pymalloc's 1 MiB arenas are mappings of kind pyarena"
is "$(q "$T/plain.db" "SELECT count(*) FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id
    JOIN stacks k ON k.id = b.stack_id WHERE s.label = 'here' AND k.domain = 'obj'
    AND b.size = 133 AND NOT EXISTS (SELECT 1 FROM mappings m
    WHERE m.snapshot_id = b.snapshot_id AND m.kind = 'pyarena'
    AND b.address >= m.address AND b.address < m.address + m.size)")" 0 \
    "the 133-byte objects lie in arenas"
is "$(q "$T/plain.db" "SELECT count(*) FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id
    JOIN stacks k ON k.id = b.stack_id WHERE s.label = 'here' AND k.domain IS NULL
    AND b.size = 133")" 0 "and none is recorded a second time by the malloc hooks"

# Allocators replaced during start-up are wrapped again once it is over.
extra= traced malloc PYTHONMALLOC=malloc
is "$(at "$T/malloc.db" bytes 133 obj)" 10000 "PYTHONMALLOC=malloc: 10000 at the line"
is "$(q "$T/malloc.db" "SELECT count(*) FROM mappings WHERE kind = 'pyarena'")" 0 \
    "... and no pymalloc arena"
extra= traced debug PYTHONMALLOC=pymalloc_debug
is "$(at "$T/debug.db" bytes 133 obj)" 10000 "PYTHONMALLOC=pymalloc_debug: 10000 at the line"
is "$(cat "$T/debug.out")" "snapshot 1" "... and the snapshot is written"
extra= traced devmode PYTHONDEVMODE=1
is "$(at "$T/devmode.db" bytes 133 obj)" 10000 "-X dev (PYTHONDEVMODE): 10000 at the line"

# Beside tracemalloc, which wraps heapscope's wrapper: both see the 10000 objects.
extra=tracemalloc traced tm PYTHONTRACEMALLOC=1
is "$(sed -n 1p "$T/tm.out")" "tracemalloc 10000" "tracemalloc sees 10000 at the line"
is "$(at "$T/tm.db" bytes 133 obj)" 10000 "heapscope too"

# Settings.
extra= traced depth HEAPSCOPE_PY_DEPTH=3 HEAPSCOPE_PY_NATIVE_DEPTH=5
is "$(q "$T/depth.db" "SELECT max(level) + 1 FROM py_frames")" 3 "HEAPSCOPE_PY_DEPTH=3"
is "$(q "$T/depth.db" "SELECT py_depth FROM process")" 3 "... is process.py_depth"
is "$(q "$T/depth.db" "SELECT max(depth) FROM stacks WHERE domain IS NOT NULL")" 5 \
    "HEAPSCOPE_PY_NATIVE_DEPTH=5"
extra= traced off HEAPSCOPE_PYTHON=0
is "$(q "$T/off.db" "SELECT count(*) FROM stacks WHERE domain IS NOT NULL")" 0 \
    "HEAPSCOPE_PYTHON=0: no domain blocks"
is "$(q "$T/off.db" "SELECT coalesce(python, 'null'), py_depth FROM process")" "null 0" \
    "... and process.python is NULL"
extra= traced bad HEAPSCOPE_PY_DEPTH=0
like "$(cat "$T/bad.err")" 'heapscope: HEAPSCOPE_PY_DEPTH "0": not a number from 1 to 256' \
    "a bad HEAPSCOPE_PY_DEPTH is refused"

# Code objects freed and made again at the same address: each new one is told from the old one.
cat >"$T/reuse.py" <<'EOF'
import ctypes
snap = ctypes.CDLL(None).heapscope_snapshot
snap.argtypes = [ctypes.c_char_p]
keep, addrs = [], set()
for k in range(200):
    ns = {}
    exec(compile("def f():\n    return [bytes(%d) for i in range(3)]\n" % (1000 + k),
                 "gen%d.py" % k, "exec"), ns)
    addrs.add(id(ns["f"].__code__))
    keep.append(ns["f"]())
    del ns
snap(b"here")
print(len(addrs) < 200)
EOF
"$HEAPSCOPE" run -o "$T/reuse.db" -- "$PYTHON" "$T/reuse.py" >"$T/reuse.out" 2>"$T/reuse.err"
is "$(cat "$T/reuse.out")" True "code objects were made again at addresses of freed ones"
is "$(q "$T/reuse.db" "SELECT count(*), sum(c.filename = 'gen' || (b.size - 1033) || '.py')
    FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id AND s.label = 'here'
    JOIN py_frames f ON f.stack_id = b.stack_id AND f.level = 0
    JOIN py_code c ON c.id = f.code_id WHERE c.name = 'f.<locals>.<listcomp>'
    AND b.size BETWEEN 1033 AND 1232")" "600 600" \
    "... and each one's 3 blocks are counted at its own file"

# The same, one level out: the caller of the allocating function is run only when its code
# object is at the address of the one run before it, so that no capture deeper than the module
# comes between them (where a capture reuses what the one before it found at a level).
cat >"$T/reuse1.py" <<'EOF'
import ctypes, types
snap = ctypes.CDLL(None).heapscope_snapshot
snap.argtypes = [ctypes.c_char_p]
def h(n):
    return bytes(n)
keep, last = [], None
for k in range(400):
    code = compile("def f():\n    return h(%d)\n" % (1000 + k), "gen%d.py" % k,
                   "exec").co_consts[0]
    if last in (None, id(code)):
        last = id(code)
        keep.append(types.FunctionType(code, globals())())
    del code
snap(b"here")
print(len(keep) >= 100)
EOF
"$HEAPSCOPE" run -o "$T/reuse1.db" -- "$PYTHON" "$T/reuse1.py" >"$T/reuse1.out" 2>"$T/reuse1.err"
is "$(cat "$T/reuse1.out")" True "callers' code objects were made again at the address of the last"
is "$(q "$T/reuse1.db" "SELECT count(*) >= 100, count(*) - sum(c.filename = 'gen' ||
    (b.size - 1033) || '.py') FROM blocks b
    JOIN snapshots s ON s.id = b.snapshot_id AND s.label = 'here'
    JOIN py_frames f ON f.stack_id = b.stack_id AND f.level = 1
    JOIN py_code c ON c.id = f.code_id WHERE c.name = 'f'
    AND b.size BETWEEN 1033 AND 1432")" "1 0" \
    "... and each caller is named by its own file"

# Other CPython versions, where this machine has them.
for v in 3.12.1/bin/python3.12 3.13.0/bin/python3.13; do
	p=/root/.pyenv/versions/$v
	if [ ! -x "$p" ]; then
		skip 3 "$p is not installed"
		continue
	fi
	PYTHON=$p extra= traced v
	is "$(at "$T/v.db" bytes 133 obj)" 10000 "$(basename "$p"): 10000 at the line"
	is "$(at "$T/v.db" gen 333 obj)" 300 "$(basename "$p"): 300 in the generator"
	n=$(deep_frames "$T/v.db" 0 | cut -d' ' -f1)
	is "$(deep_frames "$T/v.db" 15)" "$n $(ln recurse) $(ln recurse)" \
	    "$(basename "$p"): 16 frames deep"
	rm -f "$T/v.db"
done
done_testing
