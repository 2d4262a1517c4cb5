#!/bin/sh
# top and diff key the blocks of CPython's allocators on their Python lines and agree with
# tracemalloc itself, taken in the same process: a script starts tracemalloc (1 frame, as
# HEAPSCOPE_PY_DEPTH=1 here), allocates known objects at known lines, and takes a tracemalloc
# snapshot and right after a heapscope one, twice; it writes tracemalloc's statistics('lineno')
# of both and compare_to(old, 'lineno') for its own lines, which heapscope's reports must match
# within 5%.  Debian's python3, then pyenv's 3.12 and 3.13 when they are installed.
#
# How the two nest: heapscope wraps CPython's allocators when the process starts, so
# tracemalloc.start() wraps heapscope's wrappers: heapscope is tracemalloc's inner allocator.
# tracemalloc keeps its own bookkeeping out of its statistics, but allocates it through the RAW
# allocator it found, heapscope's, with the GIL held: so heapscope records one 16-byte trace_t
# per traced block (and a few tracebacks) as RAW blocks at the very line that allocated.  The
# script's own lines allocate nothing through the RAW domain, so the checks subtract the RAW
# blocks of each line (read from the database) from heapscope's figures, and check that they are
# one per block tracemalloc traced.
. "$srcdir/tests/lib.sh"
PER=17
plan $((3 * PER))

cat >"$T/tm.py" <<'PY'
import ctypes, json, sys, tracemalloc

tracemalloc.start(1)
hs = ctypes.CDLL(None).heapscope_snapshot
hs.argtypes = [ctypes.c_char_p]
me = __file__


def lineno(snapshot):
    """tracemalloc's statistics of SNAPSHOT by line, for the lines of this file."""
    return {st.traceback[0].lineno: [st.size, st.count]
            for st in snapshot.statistics("lineno") if st.traceback[0].filename == me}


a = [bytes(100) for i in range(10000)]  # tag:bytes
d = {i: i for i in range(5000)}  # tag:dict
s = [str(i) * 3 for i in range(5000)]  # tag:strs
old = tracemalloc.take_snapshot()
hs(b"one")
b = [bytearray(200) for i in range(3000)]  # tag:more
del a[5000:]  # tag:del
t = [("x", i, float(i)) for i in range(2000)]  # tag:tuples
new = tracemalloc.take_snapshot()
hs(b"two")
json.dump({"one": lineno(old), "two": lineno(new),
           "diff": {st.traceback[0].lineno: [st.size, st.size_diff, st.count, st.count_diff]
                    for st in new.compare_to(old, "lineno")
                    if st.traceback[0].filename == me}}, open(sys.argv[1], "w"))
PY

# The checks of one run, on its tracemalloc figures, heapscope's reports and its database; each
# prints "ok NAME" or "not NAME: WHY".  Sizes agree when within 5% of tracemalloc's.
cat >"$T/check.py" <<'PY'
import json, sqlite3, sys

d = sys.argv[1]
tm = json.load(open(d + "/tm.json"))
tm = {k: {int(n): v for n, v in tm[k].items()} for k in tm}
lines = {t: int(n) for t, n in (a.split("=") for a in sys.argv[2:])}
db = sqlite3.connect(d + "/hs.db")


def report(name):
    doc = json.load(open(d + "/" + name + ".json"))
    return {int(s["key"].rsplit(":", 1)[1]): s for s in doc["stats"] if s["python"]}


# (bytes, blocks) of the RAW domain per line at a snapshot: tracemalloc's own bookkeeping.
raw = {}
for label, line, size, count in db.execute(
        "SELECT sn.label, pf.line, sum(s.live_bytes), sum(s.live_blocks) FROM site_states AS s"
        " JOIN snapshots AS sn ON sn.id = s.snapshot_id JOIN stacks AS st ON st.id = s.stack_id"
        " JOIN py_frames AS pf ON pf.stack_id = s.stack_id AND pf.level = 0"
        " WHERE st.domain = 'raw' GROUP BY 1, 2"):
    raw[label, line] = (size, count)


def near(got, want):
    return abs(got - want) <= 0.05 * abs(want)


def check(name, cond, why):
    print(("ok " if cond else "not ") + name + ("" if cond else ": " + why))


def mine(label, rep, line):
    """heapscope's (size, count) at LINE of snapshot LABEL, without tracemalloc's RAW blocks."""
    s = rep.get(line, {"size": 0, "count": 0})
    r = raw.get((label, line), (0, 0))
    return s["size"] - r[0], s["count"] - r[1]


top = {"one": report("one"), "two": report("two")}
for label, tags in (("one", ("bytes", "dict", "strs")), ("two", ("bytes", "more", "tuples"))):
    for tag in tags:
        line = lines[tag]
        got, want = mine(label, top[label], line), tm[label][line]
        check("top %s %s: size and count" % (label, tag),
              near(got[0], want[0]) and near(got[1], want[1]),
              "heapscope %s, tracemalloc %s" % (got, want))
line = lines["bytes"]
got = mine("one", top["one"], line)
check("top one bytes: 10000 bytes objects and the list's array, exactly",
      got[1] == tm["one"][line][1] == 10001, "heapscope %d, tracemalloc %d" %
      (got[1], tm["one"][line][1]))
r = raw.get(("one", line), (0, 0))
check("inside tracemalloc: one RAW block of tracemalloc's per block it traces",
      near(r[1], tm["one"][line][1]), "%d RAW blocks" % r[1])

diff = report("diff")
for tag in ("bytes", "dict", "more", "tuples"):
    line = lines[tag]
    s = diff.get(line, {"size": 0, "size_diff": 0, "count": 0, "count_diff": 0})
    new = mine("two", {line: s}, line)
    r = raw.get(("one", line), (0, 0))
    old = (s["size"] - s["size_diff"] - r[0], s["count"] - s["count_diff"] - r[1])
    size, size_diff, count, count_diff = tm["diff"][line]
    check("diff %s: new and old size and count" % tag,
          near(new[0], size) and near(new[1], count) and near(old[0], size - size_diff) and
          near(old[1], count - count_diff),
          "heapscope new %s old %s, tracemalloc %s" % (new, old, tm["diff"][line]))
PY

# tag NAME: the line of tm.py marked tag:NAME.
tag() { grep -n "tag:$1\$" "$T/tm.py" | cut -d: -f1; }

# pyrun PYTHON NAME: the checks for one interpreter.
pyrun() {
	py=$1 name=$2 d=$T/$2
	if [ ! -x "$py" ]; then
		skip $PER "$py is not installed"
		return
	fi
	mkdir "$d"
	HEAPSCOPE_PY_DEPTH=1 "$HEAPSCOPE" run -o "$d/hs.db" -- "$py" "$T/tm.py" "$d/tm.json" \
	    >"$d/out" 2>"$d/err"
	is "$?" 0 "$name: exits 0 under heapscope"
	"$HEAPSCOPE" top "$d/hs.db" one --json -n 0 --include tm.py >"$d/one.json"
	"$HEAPSCOPE" top "$d/hs.db" two --json -n 0 --by lineno --include tm.py >"$d/two.json"
	"$HEAPSCOPE" diff "$d/hs.db" one two --json -n 0 --include '*/tm.py' >"$d/diff.json"
	python3 "$T/check.py" "$d" bytes="$(tag bytes)" dict="$(tag dict)" strs="$(tag strs)" \
	    more="$(tag more)" tuples="$(tag tuples)" >"$d/checks"
	while read -r verdict text; do
		if [ "$verdict" = ok ]; then
			ok 0 "$name: $text"
		else
			ok 1 "$name: $text"
		fi
	done <"$d/checks"
	is "$(wc -l <"$d/checks")" 12 "$name: every check ran"

	# --include tests the Python file: by its last component, and every key is of it.
	is "$(member "$d/two.json" 'sorted(set(s["file"] for s in d["stats"]))')" \
	    "['$T/tm.py']" "$name: --include keeps the lines of tm.py, keyed on Python"
	# --native: the same blocks keyed on the C code that served them.
	"$HEAPSCOPE" top "$d/hs.db" two --json -n 0 --native >"$d/native.json"
	is "$(member "$d/native.json" '[s["key"] for s in d["stats"] if s["python"] or "tm.py" in s["key"]]')" \
	    "[]" "$name: --native: no Python key"
	# By traceback, as text: a line as Python prints it per frame, the most recent call first
	# (one here); before 3.12 a comprehension is a function of its own.
	"$HEAPSCOPE" top "$d/hs.db" two -n 1 --by traceback --include tm.py >"$d/tb.txt"
	is "$(sed -n 3,4p "$d/tb.txt" | sed -e '1s/.* //' -e 's/<listcomp>$/<module>/')" \
	    "$(printf '%s\n  File "%s", line %s, in <module>' "$T/tm.py:$(tag more)" "$T/tm.py" \
	    "$(tag more)")" "$name: by traceback"
}

pyrun /usr/bin/python3 python3
pyrun /root/.pyenv/versions/3.12.1/bin/python3.12 python3.12
pyrun /root/.pyenv/versions/3.13.0/bin/python3.13 python3.13
done_testing
