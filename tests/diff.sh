#!/bin/sh
# diff: exact differences between two API snapshots of the grow victim, in every output form,
# grouping, filter and argument form; and two runs at different load addresses differ by nothing.
. "$srcdir/tests/lib.sh"
plan 46

# diffstat JSONFILE KEYSUFFIX: "SIZE SIZE_DIFF COUNT COUNT_DIFF" of the entry of a diff --json
# report whose key ends with KEYSUFFIX ("" if none).
diffstat() {
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["stats"]:
    if s["key"].endswith(sys.argv[2]):
        print(s["size"], s["size_diff"], s["count"], s["count_diff"])
        break
' "$1" "$2"
}

src=grow.c
db=$T/grow.db
run_victim "$db" grow >"$T/out" 2>"$T/err"
is "$?" 0 "grow exits 0 under heapscope"
is "$(cat "$T/out")" "" "nothing on stdout"

# The one-file form, by label, with the numbers of the victim's comment.
"$HEAPSCOPE" diff "$db" before after -n 0 --json >"$T/d.json"
is "$?" 0 "diff FILE before after --json"
is "$(diffstat "$T/d.json" "$src:$(line $src grow)")" "20000 10000 20 10" \
    "grow: one line from two stacks, +10000 B in +10 blocks"
is "$(diffstat "$T/d.json" "$src:$(line $src shrink)")" "600 -900 2 -3" "shrink"
is "$(diffstat "$T/d.json" "$src:$(line $src gone)")" "0 -200 0 -4" \
    "gone: only in the old snapshot, size 0 and negative differences"
is "$(diffstat "$T/d.json" "$src:$(line $src steady)")" "1280 0 20 0" "steady: no difference"
is "$(diffstat "$T/d.json" "$src:$(line $src fresh)")" "896 896 7 7" "fresh: only in the new one"
is "$(diffstat "$T/d.json" "$src:$(line $src rec)")" "240 240 6 6" "rec"
is "$(member "$T/d.json" '[s["key"].rsplit(":", 1)[1] for s in d["stats"]]')" \
    "$(printf "['%s', '%s', '%s', '%s', '%s', '%s']" $(line $src grow) $(line $src shrink) \
    $(line $src fresh) $(line $src rec) $(line $src gone) $(line $src steady))" \
    "sorted by |size_diff|, size, |count_diff|, count"
is "$(member "$T/d.json" '(d["old"]["size"], d["new"]["size"], d["total"]["size_diff"], d["total"]["count_diff"])')" \
    "(12980, 23016, 10036, 16)" "totals: old, new and their difference"
is "$(member "$T/d.json" '(d["old"]["label"], d["new"]["label"], d["old"]["live_bytes"], d["new"]["live_blocks"])')" \
    "('before', 'after', 12980, 55)" "the snapshots, whose sites sum to their live heap"

# Snapshot names: ids, first and last (the exit snapshot holds what "after" held).
"$HEAPSCOPE" diff "$db" 1 2 -n 0 --json >"$T/ids.json"
is "$(member "$T/ids.json" 'd["stats"]')" "$(member "$T/d.json" 'd["stats"]')" "by ids"
"$HEAPSCOPE" diff "$db" first last -n 0 --json >"$T/fl.json"
is "$(member "$T/fl.json" 'd["stats"]')" "$(member "$T/d.json" 'd["stats"]')" "first and last"
cp "$db" "$T/peak.db"
sqlite3 "$T/peak.db" "UPDATE snapshots SET trigger = 'peak' WHERE label = 'after'"
"$HEAPSCOPE" diff "$T/peak.db" first peak -n 1 --json >"$T/peak.json"
is "$(member "$T/peak.json" 'd["new"]["id"]')" 2 "peak names the peak snapshot"

# Text and CSV.
"$HEAPSCOPE" diff "$db" before after >"$T/d.txt"
like "$(cat "$T/d.txt")" \
    "^ *19\\.5 KiB +20000 +\\+9\\.8 KiB +\\+10000 +20 +\\+10 +1000 +[^ ]*$src:$(line $src grow)$" \
    "text: size, bytes, differences, count, average, key"
like "$(cat "$T/d.txt")" "^ *0 B +0 +-200 B +-200 +0 +-4 +- +[^ ]*$src:$(line $src gone)$" \
    "text: a vanished key"
like "$(tail -n 1 "$T/d.txt")" \
    "^total: old 12980 B in 39 blocks, new 23016 B in 55 blocks, difference \\+10036 B \\(\\+9\\.8 KiB\\) in \\+16 blocks$" \
    "text: the total line"
"$HEAPSCOPE" diff "$db" before after -n 2 --csv >"$T/d.csv"
is "$(head -n 1 "$T/d.csv")" "key,size,size_diff,count,count_diff" "csv: header"
like "$(sed -n 2p "$T/d.csv")" "^[^,]*$src:$(line $src grow),20000,10000,20,10$" "csv: a row"
is "$(wc -l <"$T/d.csv")" 3 "csv: -n 2 rows"

# Groupings.
"$HEAPSCOPE" diff "$db" before after --by function -n 0 --json >"$T/fn.json"
is "$(diffstat "$T/fn.json" rec)" "240 240 6 6" "by function"
"$HEAPSCOPE" diff "$db" before after --by traceback -n 0 --json >"$T/tb.json"
is "$(member "$T/tb.json" 'sorted((s["size"], s["size_diff"]) for s in d["stats"] if s["key"].endswith(":'"$(line $src grow)"'"))')" \
    "[(10000, 0), (10000, 10000)]" "by traceback: the two calls of more() apart"

# --cumulative: a block counts once under each distinct key of its stack, recursion or not.
"$HEAPSCOPE" diff "$db" before after --cumulative -n 0 --json >"$T/cl.json"
is "$(diffstat "$T/cl.json" "$src:$(line $src rec-call)")" "240 240 6 6" \
    "cumulative: rec's recursive call line counted once, not three times"
is "$(diffstat "$T/cl.json" "$src:$(line $src call-rec)")" "240 240 6 6" \
    "cumulative: main's call of rec"
"$HEAPSCOPE" diff "$db" before after --cumulative --by function -n 0 --json >"$T/cf.json"
is "$(diffstat "$T/cf.json" rec)" "240 240 6 6" "cumulative by function: rec once"
is "$(diffstat "$T/cf.json" main)" "23016 10036 55 16" "cumulative by function: main holds all"
"$HEAPSCOPE" diff "$db" before after --cumulative --by filename -n 0 --json >"$T/cn.json"
is "$(diffstat "$T/cn.json" $src)" "23016 10036 55 16" \
    "cumulative by filename: grow.c once per block"

# Filters, in the manner of tracemalloc's Filter.
"$HEAPSCOPE" diff "$db" before after --include rec -n 0 --json >"$T/f1.json"
is "$(member "$T/f1.json" '[s["size"] for s in d["stats"]], d["total"]["size_diff"]')" \
    "([240], 240)" "--include a function"
"$HEAPSCOPE" diff "$db" before after --exclude main -n 0 --json >"$T/f2.json"
is "$(member "$T/f2.json" 'len(d["stats"]), d["total"]["size"]')" "(2, 20240)" \
    "--exclude tests the key frame only"
"$HEAPSCOPE" diff "$db" before after --exclude main --all-frames -n 0 --json >"$T/f3.json"
is "$(member "$T/f3.json" 'len([s for s in d["stats"] if "'$src'" in s["key"]])')" 0 \
    "--all-frames tests every frame"
"$HEAPSCOPE" diff "$db" before after --include "$src" --exclude '*more*' -n 0 --json >"$T/f4.json"
is "$(member "$T/f4.json" 'd["total"]["size_diff"]')" 36 \
    "--include a file by its last component, --exclude by pattern"
"$HEAPSCOPE" top "$db" after --include 'r?c' --json >"$T/top.json"
is "$(entry "$T/top.json" "$src:$(line $src rec)")" "240 6" "top --include"
is "$(member "$T/top.json" 'd["total"]["size"]')" 240 "top: the total of what the filter keeps"

# The two-file form on one file, and a file name with ':' in it.
"$HEAPSCOPE" diff "$db:before" "$db:after" -n 0 --json >"$T/x.json"
is "$(member "$T/x.json" 'd["stats"]')" "$(member "$T/d.json" 'd["stats"]')" "FILE:SNAPSHOT"
cp "$db" "$T/a:b.db"
"$HEAPSCOPE" diff "$T/a:b.db:before" "$T/a:b.db" -n 0 --json >"$T/c.json"
is "$(member "$T/c.json" '(d["old"]["label"], d["new"]["id"], d["total"]["size_diff"])')" \
    "('before', 3, 10036)" "a file name with ':', with and without a snapshot"

# Two runs: the same program at other load addresses, matched by symbols, not addresses.
db2=$T/grow2.db
run_victim "$db2" grow >/dev/null 2>&1
"$HEAPSCOPE" diff "$db:last" "$db2:last" -n 0 --json >"$T/r.json"
is "$?" 0 "diff of two runs"
is "$(member "$T/r.json" 'sum(1 for s in d["stats"] if s["size_diff"] or s["count_diff"])')" 0 \
    "two runs: every size_diff and count_diff is 0"
"$HEAPSCOPE" diff "$db:last" "$db2:last" --by traceback -n 0 --json >"$T/rt.json"
is "$(member "$T/rt.json" '[len(d["stats"]), sum(1 for s in d["stats"] if s["size_diff"] or s["count_diff"])]')" \
    "[6, 0]" "two runs by traceback: whole stacks match too"
"$HEAPSCOPE" diff "$db:before" "$db2:after" -n 0 --json >"$T/r2.json"
is "$(member "$T/r2.json" 'd["stats"]')" "$(member "$T/d.json" 'd["stats"]')" \
    "two runs: before of one against after of the other, as within one run"
where="path = (SELECT executable FROM process)"
base1=$(q "$db" "SELECT base FROM modules WHERE $where")
base2=$(q "$db2" "SELECT base FROM modules WHERE $where")
if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" = 0 ]; then
	skip 1 "ASLR is off (kernel.randomize_va_space = 0)"
elif [ -z "$base1" ] || [ "$base1" = "$base2" ]; then
	skip 1 "the two runs loaded grow at the same address ($base1)"
else
	ok 0 "the two runs loaded grow at different addresses"
fi

# Bad arguments.
"$HEAPSCOPE" diff "$db" >/dev/null 2>"$T/err"
is "$?" 2 "one argument: exit status 2"
like "$(cat "$T/err")" "^usage: heapscope diff FILE OLD NEW \\| OLD\\.db\\[:SNAPSHOT\\] " "the usage line"
"$HEAPSCOPE" diff "$db" before after --by traceback --cumulative >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "2:heapscope: diff: --cumulative goes with --by lineno, filename or function" \
    "--cumulative --by traceback"
"$HEAPSCOPE" diff "$db" before nosuch >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:heapscope: diff: \"$db\": no snapshot \"nosuch\"" "unknown snapshot"
"$HEAPSCOPE" diff "$T/nothere.db:last" "$db" >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:heapscope: diff: \"$T/nothere.db:last\": No such file or directory" \
    "missing file"
done_testing
