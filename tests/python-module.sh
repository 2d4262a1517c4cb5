#!/bin/sh
# The heapscope Python module: under heapscope run it is importable with no setup and takes
# labelled snapshots; without heapscope it warns once and does nothing.
. "$srcdir/tests/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}
: "${HEAPSCOPE_PYTHON_DIR:=$srcdir/python}"
export HEAPSCOPE_PYTHON_DIR
[ -x "$PYTHON" ] || skip_all "$PYTHON is not installed"
plan 16

cat >"$T/prog.py" <<'PY'
import os, sys, warnings
import extra
import heapscope
print("file", os.path.realpath(os.path.dirname(heapscope.__file__)))
print("tracing", heapscope.tracing())
data = [bytes(600) for i in range(1000)]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("x", heapscope.snapshot("x"))
    print("none", heapscope.snapshot())
    print("bytes", heapscope.snapshot(b"y"))
print("warnings", len(caught))
try:
    heapscope.snapshot(3)
except TypeError as e:
    print("TypeError", e)
PY
mkdir "$T/extra"
echo 'VALUE = 1' >"$T/extra/extra.py"

PYTHONPATH="$T/extra" "$HEAPSCOPE" run -o "$T/m.db" -- "$PYTHON" "$T/prog.py" >"$T/out" 2>"$T/err"
is "$?" 0 "under heapscope run: exit 0"
is "$(sed -n 's/^file //p' "$T/out")" "$(cd "$HEAPSCOPE_PYTHON_DIR" && pwd -P)" \
    "imported from the directory run puts in front of PYTHONPATH"
is "$(sed -n 's/^tracing //p' "$T/out")" True "tracing() is True"
x=$(sed -n 's/^x //p' "$T/out")
like "$x" '^[0-9]+$' "snapshot(\"x\") returns an id"
is "$(q "$T/m.db" "SELECT id FROM snapshots WHERE label = 'x'")" "$x" \
    "the database has that snapshot, labelled x"
is "$(q "$T/m.db" "SELECT trigger || ' ' || full FROM snapshots WHERE id = $x")" "api 1" \
    "a full snapshot taken through the API"
is "$(q "$T/m.db" "SELECT count(*) FROM blocks WHERE snapshot_id = $x AND size = 633")" 1000 \
    "it holds the 1000 bytes objects of 600 bytes (33-byte header)"
is "$(sed -n 's/^none //p' "$T/out")" "$((x + 1))" "snapshot() without a label: the next id"
is "$(q "$T/m.db" "SELECT coalesce(label, 'NULL') FROM snapshots WHERE id = $((x + 1))")" NULL \
    "unlabelled"
is "$(q "$T/m.db" "SELECT label FROM snapshots WHERE id = $(sed -n 's/^bytes //p' "$T/out")")" \
    y "a bytes label"
is "$(sed -n 's/^warnings //p' "$T/out")" 0 "no warning while tracing"
like "$(grep TypeError "$T/out")" "label must be str, bytes or None, not int" \
    "a label of another type is a TypeError"

PYTHONPATH="$HEAPSCOPE_PYTHON_DIR:$T/extra" "$PYTHON" - >"$T/out" 2>"$T/err" <<'PY'
import heapscope
print("tracing", heapscope.tracing())
print("x", heapscope.snapshot("x"))
print("again", heapscope.snapshot("again"))
PY
is "$?" 0 "without heapscope: exit 0"
is "$(tr '\n' ' ' <"$T/out")" "tracing False x None again None " \
    "tracing() is False, snapshot() returns None"
is "$(grep -c 'HeapscopeWarning: heapscope is not tracing this process' "$T/err")" 1 \
    "one warning"
like "$(head -1 "$T/err")" '^<stdin>:3: ' "the warning names the caller's line"
done_testing
