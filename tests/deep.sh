#!/bin/sh
# Whole tracebacks through recursion, unwound from DWARF with no frame pointers (-O2).
. "$srcdir/tests/lib.sh"
plan 7

db=$T/deep.db
run_victim "$db" deep >"$T/out" 2>"$T/err"
is "$?" 0 "deep exits 0"
"$HEAPSCOPE" top "$db" --by traceback -n 0 --json >"$T/tb.json"
is "$?" 0 "top --by traceback"
# frames KEYSUFFIX: the traceback of the entry whose key ends so, as "function:line" words.
frames() {
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["stats"]:
    if s["key"].endswith(sys.argv[2]):
        print(" ".join("%s:%s" % (f["function"], f["line"]) for f in s["traceback"]))
' "$T/tb.json" "$1"
}
f=$(frames "deep.c:$(line deep.c deep-f)")
g=$(frames "deep.c:$(line deep.c deep-g)")
is "$(echo "$f" | tr ' ' '\n' | grep -c '^f:')" 21 "f: 21 frames of f (depth 20 and the leaf)"
like "$f" "^f:$(line deep.c deep-f) " "f: the innermost frame is the malloc line"
like "$f" " main:$(line deep.c call-f)( |$)" "f: then main at its call"
is "$(echo "$g" | tr ' ' '\n' | grep -c '^g:')" 4 "g: 4 frames of g"
is "$(entry "$T/tb.json" "deep.c:$(line deep.c deep-f)")" "7700 100" "f: 100 blocks of 77 bytes"
done_testing
