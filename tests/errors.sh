#!/bin/sh
# Bad input: one line "heapscope: ..." on stderr naming the input, and the right exit status.
. "$srcdir/tests/lib.sh"
plan 36

db=$T/good.db
run_victim "$db" exiter >/dev/null 2>&1
echo "not a database" >"$T/text.db"
sqlite3 "$T/other.db" "CREATE TABLE t (x)"
cp "$db" "$T/newer.db"
sqlite3 "$T/newer.db" "PRAGMA user_version = 999"
head -c 3000 "$db" >"$T/cut.db"

fails 1 '^heapscope: top: "'"$T"'/missing.db": No such file or directory$' "missing file" \
    "$HEAPSCOPE" top "$T/missing.db"
fails 1 '^heapscope: top: ".*text.db": not a heapscope database$' "text file" \
    "$HEAPSCOPE" top "$T/text.db"
fails 1 '^heapscope: snapshots: ".*other.db": not a heapscope database$' "foreign SQLite file" \
    "$HEAPSCOPE" snapshots "$T/other.db"
fails 1 '^heapscope: top: ".*newer.db": .*(newer|format 999).*$' "newer format" \
    "$HEAPSCOPE" top "$T/newer.db"
fails 1 '^heapscope: top: ".*cut.db": .*$' "truncated database" \
    "$HEAPSCOPE" top "$T/cut.db"
fails 1 '^heapscope: top: ".*good.db": no snapshot "nosuch"$' "unknown snapshot" \
    "$HEAPSCOPE" top "$db" nosuch
fails 2 '^(usage|heapscope: top: bad --by).*' "bad --by" "$HEAPSCOPE" top "$db" --by colour
fails 2 '^(usage|heapscope: top: bad -n).*' "bad -n" "$HEAPSCOPE" top "$db" -n lots
fails 2 '^heapscope: unknown command "frob".*' "unknown command" "$HEAPSCOPE" frob
fails 127 '^heapscope: run: "'"$T"'/nothere": No such file or directory$' "missing program" \
    "$HEAPSCOPE" run -o "$T/x.db" -- "$T/nothere"
fails 2 '^usage: heapscope run' "run without a command" "$HEAPSCOPE" run
HEAPSCOPE_LIBRARY=$T/nolib.so
export HEAPSCOPE_LIBRARY
fails 1 '^heapscope: run: .*"[^"]*nolib.so": No such file or directory$' "missing preload" \
    "$HEAPSCOPE" run -o "$T/y.db" -- /bin/true
done_testing
