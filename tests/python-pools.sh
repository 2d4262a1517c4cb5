#!/bin/sh
# heapscope pools against CPython's own sys._debugmallocstats() for the same heap: a script makes
# 5000 objects in each of four size classes, takes a snapshot through the heapscope module, then
# prints the pymalloc table with CPython's own allocator restored (the table is left out while
# heapscope's wrapper is the OBJ allocator).  Debian's python3 always; the pyenv builds of 3.12
# and 3.13 when they are installed.
#
# Between the two readings the script returns from the snapshot call and calls
# PyMem_SetAllocator through ctypes: a block or two of ctypes' argument handling is live at the
# snapshot and freed before the table is printed (one 64-byte block on 3.11, one 80-byte block on
# 3.13 as measured).  So the blocks of a class may differ by at most 2, and of all classes by at
# most 4; the pools, the arenas and everything derived from them must be equal.
. "$srcdir/tests/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}
: "${HEAPSCOPE_PYTHON_DIR:=$srcdir/python}"
export HEAPSCOPE_PYTHON_DIR
[ -x "$PYTHON" ] || skip_all "$PYTHON is not installed"
pythons=$PYTHON
for p in /root/.pyenv/versions/3.12.*/bin/python3.12 /root/.pyenv/versions/3.13.*/bin/python3.13
do
	[ -x "$p" ] && pythons="$pythons $p"
done
n=0
for p in $pythons; do n=$((n + 1)); done
plan $((n * 13 + 16))

cat >"$T/prog.py" <<'PY'
import ctypes, os, sys
import heapscope

class PyMemAllocatorEx(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("malloc", ctypes.c_void_p),
                ("calloc", ctypes.c_void_p), ("realloc", ctypes.c_void_p),
                ("free", ctypes.c_void_p)]

PYMEM_DOMAIN_OBJ = 2
# heapscope's wrapper is the OBJ allocator; its ctx starts with the allocator it wraps.
wrapper = PyMemAllocatorEx()
ctypes.pythonapi.PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, ctypes.byref(wrapper))
original = PyMemAllocatorEx.from_buffer_copy(PyMemAllocatorEx.from_address(wrapper.ctx))
set_allocator = ctypes.pythonapi.PyMem_SetAllocator
wrapper_ref, original_ref = ctypes.byref(wrapper), ctypes.byref(original)

# bytes(n) takes 33 + n bytes: classes 64, 144, 336 and 512.
keep = {n: [bytes(n) for i in range(5000)] for n in (31, 100, 300, 470)}

# Everything the two readings use is made beforehand.
label = b"pools"
table = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
stderr = os.dup(2)
debugmallocstats, dup2 = sys._debugmallocstats, os.dup2
dup2(table, 2)
snap = heapscope.snapshot(label)
set_allocator(PYMEM_DOMAIN_OBJ, original_ref)
debugmallocstats()
set_allocator(PYMEM_DOMAIN_OBJ, wrapper_ref)
dup2(stderr, 2)
print(snap)
PY

# compare TABLE JSON: one line per check, "OK WHAT" with OK 1 or 0.
compare() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
table, totals, arenas = {}, {}, None
for line in open(sys.argv[1]):
    m = re.match(r"\s*\d+\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s*$", line)
    if m:
        size, pools, blocks = map(int, m.groups())
        table[size] = (blocks, pools)
    m = re.match(r"(.*?)\s+=\s+([\d,]+)$", line)
    if m:
        # The first Total is the arenas'; a second one follows for the arena map.
        totals.setdefault(re.sub(r"^\d+ ", "N ", m.group(1)), int(m.group(2).replace(",", "")))
doc = json.load(open(sys.argv[2]))
worst_blocks = worst_pools = diff_blocks = 0
for c in doc["size_classes"]:
    blocks, pools = table.get(c["size"], (0, 0))
    worst_blocks = max(worst_blocks, abs(c["blocks"] - blocks))
    worst_pools = max(worst_pools, abs(c["pools"] - pools))
    diff_blocks += abs(c["blocks"] - blocks)
def check(ok, what):
    print(int(ok), what)
low = min(c["blocks"] for c in doc["size_classes"] if c["size"] in (64, 144, 336, 512))
check(low >= 5000, "the four classes made hold 5000 blocks or more (%d at least)" % low)
check(worst_blocks <= 2, "blocks of a class differ by %d at most (2 allowed)" % worst_blocks)
check(diff_blocks <= 4, "blocks of all classes differ by %d (4 allowed)" % diff_blocks)
check(worst_pools == 0, "pools of every class equal (largest difference %d)" % worst_pools)
def equal(got, name):
    check(got == totals[name], "%s: %d, _debugmallocstats %d" % (name.lstrip("# "), got,
                                                                   totals[name]))
equal(doc["arenas"], "# arenas allocated current")
equal(doc["unused_pool_bytes"], "N unused pools * 16384 bytes")
equal(doc["pool_header_bytes"], "# bytes lost to pool headers")
equal(doc["quantization_bytes"], "# bytes lost to quantization")
equal(doc["arena_alignment_bytes"], "# bytes lost to arena alignment")
equal(doc["arena_bytes"], "Total")
got, want = doc["allocated_bytes"], totals["# bytes in allocated blocks"]
check(abs(got - want) <= 4 * 512, "bytes in allocated blocks: %d, _debugmallocstats %d"
      " (4 blocks of at most 512 bytes allowed)" % (got, want))
PY
}

for p in $pythons; do
	v=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	db=$T/pools-$v.db
	"$HEAPSCOPE" run -o "$db" -- "$p" "$T/prog.py" "$T/table-$v" >"$T/out" 2>"$T/err"
	is "$?" 0 "$v: exit 0"
	"$HEAPSCOPE" pools "$db" pools --json >"$T/pools-$v.json"
	is "$?" 0 "$v: pools --json"
	compare "$T/table-$v" "$T/pools-$v.json" >"$T/cmp-$v"
	while read -r pass what; do
		ok $((1 - pass)) "$v: $what"
	done <"$T/cmp-$v"
done

# The text table, from Debian's python3's run.
v=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$HEAPSCOPE" pools "$T/pools-$v.db" pools >"$T/text"
is "$?" 0 "text output"
like "$(sed -n 1p "$T/text")" '^snapshot [0-9]+ "pools" \(api, .*\): pymalloc of CPython 3\.' \
    "the header names the snapshot and the CPython"
is "$(grep -c '^# bytes lost to quantization *= *[0-9,]*$' "$T/text")" 1 \
    "the totals in _debugmallocstats's words"
is "$(grep -Ec '^0x[0-9a-f]+ +[0-9]+ +6[34] +[0-9.]+%$' "$T/text")" \
    "$(q "$T/pools-$v.db" "SELECT count(*) FROM mappings m JOIN snapshots s ON s.id = m.snapshot_id
    WHERE s.label = 'pools' AND m.kind = 'pyarena'")" "one line per arena"

# Errors: a snapshot without blocks, a process that is not CPython, CPython without pymalloc.
cp "$T/pools-$v.db" "$T/interval.db"
sqlite3 "$T/interval.db" "UPDATE snapshots SET full = 0, trigger = 'interval' WHERE label = 'pools'"
fails 1 '^heapscope: pools: ".*interval.db": snapshot [0-9]+ is not a full snapshot' \
    "an interval snapshot" "$HEAPSCOPE" pools "$T/interval.db" pools
run_victim "$T/c.db" family >/dev/null 2>&1
fails 1 '^heapscope: pools: ".*c.db": not a traced CPython process' "a C program" \
    "$HEAPSCOPE" pools "$T/c.db"
PYTHONMALLOC=malloc "$HEAPSCOPE" run -o "$T/malloc.db" -- "$PYTHON" -c 'x = [1] * 100' \
    >/dev/null 2>&1
fails 1 '^heapscope: pools: ".*malloc.db": snapshot [0-9]+: no pymalloc arenas: .*PYTHONMALLOC=malloc' \
    "PYTHONMALLOC=malloc" "$HEAPSCOPE" pools "$T/malloc.db"
fails 2 '^usage: heapscope pools FILE \[SNAPSHOT\] \[--json\]$' "a bad option" \
    "$HEAPSCOPE" pools "$T/c.db" --bogus
done_testing
