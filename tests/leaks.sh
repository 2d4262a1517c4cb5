#!/bin/sh
# leaks: the report of a scanned snapshot, on databases whose verdicts are written by hand over
# a real run of the leaker victim (its real blocks, stacks and frames; what the preload's own
# scan wrote is cleared first), so that every number is known: the summary, the cycles with their members and pointers, the loss records, --since,
# suppressions, errors; then run --leak-check on real runs, once the preload scans.
. "$srcdir/tests/lib.sh"
plan 106

src=leaker.c
base=$T/base.db
run_victim "$base" leaker >"$T/out" 2>"$T/err"
is "$?" 0 "leaker exits 0 under heapscope"
is "$(cat "$T/out")" "" "nothing on stdout"
mid=$(q "$base" "SELECT id FROM snapshots WHERE label = 'mid'")
exit=$(q "$base" "SELECT id FROM snapshots WHERE trigger = 'exit'")
is "$mid $exit" "1 2" "an api snapshot, then the exit snapshot"
# The report needs symbols: top caches them in the database, where the shapes below find them.
"$HEAPSCOPE" top "$base" >/dev/null
# Whatever the preload's scan found, if it scanned, is forgotten: unscanned.db has no verdicts.
unscanned=$T/unscanned.db
cp "$base" "$unscanned"
sqlite3 "$unscanned" "UPDATE blocks SET leak = NULL, cycle_id = NULL, root_refs = NULL,
    block_refs = NULL; DELETE FROM edges; UPDATE snapshots SET scanned = 0"

# addrs TAG: the addresses of the exit snapshot's blocks allocated at the line tagged TAG.
addrs() {
	q "$base" "SELECT b.address FROM blocks AS b JOIN stack_frames AS sf
	    ON sf.stack_id = b.stack_id AND sf.level = 0 JOIN symbols AS y
	    ON y.frame_id = sf.frame_id AND y.inline_level = 0
	    WHERE b.snapshot_id = $exit AND y.file LIKE '%$src' AND y.line = $(line $src "$1")
	    ORDER BY b.address"
}
# hex ADDRESS: ADDRESS in hex, as the report prints it.
hex() { printf '0x%x' "$1"; }

set -- $(addrs plain); plain="$*"
set -- $(addrs pair); p0=$1 p1=$2
set -- $(addrs ring); r0=$1 r1=$2 r2=$3 r3=$4 r4=$5
self=$(addrs self)
set -- $(addrs tcycle); c0=$1 c1=$2
set -- $(addrs tail); t0=$1 t1=$2
root=$(addrs root)
set -- $(addrs leaf); l0=$1 l1=$2
inner=$(addrs inner)
kept=$(addrs kept)
is "$(echo $plain $p0 $p1 $r0 $r1 $r2 $r3 $r4 $self $c0 $c1 $t0 $t1 $root $l0 $l1 $inner $kept |
    wc -w)" 20 "the victim's 20 blocks, found by their lines"
is "$(q "$base" "SELECT count(*) FROM blocks WHERE snapshot_id = $exit")" 20 "and no other"

# The verdicts a scan would give, with the cycle ids in no particular order.  Each cycle has
# one definitely lost block (the first, by address) and the rest is indirectly lost.
verdict() { echo "UPDATE blocks SET leak = '$1', cycle_id = $2 WHERE snapshot_id = $exit AND address = $3;"; }
edge() { echo "INSERT INTO edges VALUES ($exit, $1, $2, $3, ${4:-0});"; }
{
	echo "BEGIN;"
	echo "UPDATE blocks SET leak = 'reachable', root_refs = 1, block_refs = 0 WHERE snapshot_id = $exit;"
	for a in $plain; do verdict definitely NULL "$a"; done
	verdict definitely 9 "$p0"; verdict indirectly 9 "$p1"
	edge "$p0" 8 "$p1"; edge "$p1" 8 "$p0"
	verdict definitely 7 "$r0"
	for a in $r1 $r2 $r3 $r4; do verdict indirectly 7 "$a"; done
	edge "$r0" 8 "$r1"; edge "$r1" 8 "$r2"; edge "$r2" 8 "$r3"; edge "$r3" 8 "$r4"; edge "$r4" 8 "$r0"
	verdict definitely 5 "$self"; edge "$self" 8 "$self"
	verdict definitely 3 "$c0"; verdict indirectly 3 "$c1"
	edge "$c0" 8 "$c1"; edge "$c1" 8 "$c0"; edge "$c1" 16 "$t0"
	verdict indirectly NULL "$t0"; verdict indirectly NULL "$t1"; edge "$t0" 8 "$t1"
	verdict definitely NULL "$root"; verdict indirectly NULL "$l0"; verdict indirectly NULL "$l1"
	edge "$root" 8 "$l0"; edge "$root" 16 "$l1"
	verdict possibly NULL "$inner"
	echo "UPDATE blocks SET root_refs = 0, block_refs = 1 WHERE snapshot_id = $exit AND leak <> 'reachable';"
	echo "UPDATE snapshots SET scanned = 1 WHERE id = $exit;"
	echo "COMMIT;"
} >"$T/shape.sql"
db=$T/shaped.db
cp "$unscanned" "$db"
sqlite3 "$db" <"$T/shape.sql"
is "$?" 0 "the shapes written"

"$HEAPSCOPE" snapshots "$db" --json >"$T/snaps.json"
is "$(member "$T/snaps.json" '[s["scanned"] for s in d["snapshots"] if s["id"] > 0]')" "[False, True]" \
    "snapshots --json says which snapshot was scanned"
like "$("$HEAPSCOPE" --help)" '^  leaks FILE \[SNAPSHOT\]' "heapscope --help lists leaks"

# summary JSONFILE: the summary as "KIND BYTES BLOCKS ..." in a fixed order.
summary() {
	member "$1" '" ".join("%s %d %d" % (k, d["summary"][k]["bytes"], d["summary"][k]["blocks"]) for k in ("definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable", "suppressed")) + " cycles %d %d %d" % (d["summary"]["leaked_cycles"]["cycles"], d["summary"]["leaked_cycles"]["bytes"], d["summary"]["leaked_cycles"]["blocks"])'
}
all="definitely_lost 508 8 indirectly_lost 360 10 possibly_lost 80 1 still_reachable 200 1 suppressed 0 0 cycles 4 408 10"

"$HEAPSCOPE" leaks "$db" --json >"$T/l.json"
is "$?" 0 "leaks --json"
is "$(summary "$T/l.json")" "$all" \
    "summary: plain, tree and the cycles' leaders; the rest indirectly; inner possibly; kept"
is "$(member "$T/l.json" '(d["snapshot"]["id"], d["snapshot"]["trigger"], d["since"])')" \
    "($exit, 'exit', None)" "the last scanned snapshot by default"
is "$(member "$T/l.json" '[(c["bytes"], c["blocks"]) for c in d["cycles"]]')" \
    "[(240, 5), (80, 2), (64, 2), (24, 1)]" "cycles, largest first: ring, tcycle, pair, self"
is "$(member "$T/l.json" '[c["id"] for c in d["cycles"]]')" "[7, 3, 9, 5]" "with their ids"
is "$(member "$T/l.json" '" ".join(str(int(m["address"], 16)) for m in d["cycles"][0]["members"])')" \
    "$r0 $r1 $r2 $r3 $r4" "the ring's members, by address"
is "$(member "$T/l.json" '[(m["size"], m["kind"]) for m in d["cycles"][0]["members"]]')" \
    "[(48, 'definitely'), (48, 'indirectly'), (48, 'indirectly'), (48, 'indirectly'), (48, 'indirectly')]" \
    "their sizes and kinds"
# edges JSONFILE N: the pointers of cycle N as "FROM+OFFSET>TO" (">>" when out of the cycle).
edges() {
	member "$1" '" ".join("%d+%d%s%d" % (int(e["from"], 16), e["offset"], ">" if e["inside"] else ">>", int(e["to"], 16)) for e in d["cycles"]['"$2"']["edges"])'
}
# members JSONFILE N: the addresses of the blocks of cycle N.
members() { member "$1" '" ".join(str(int(m["address"], 16)) for m in d["cycles"]['"$2"']["members"])'; }
# records JSONFILE: the loss records as (kind, bytes, blocks, line of the site).
records() { member "$1" '[(r["kind"], r["bytes"], r["blocks"], r["site"].split(" ")[0].rsplit(":", 1)[1]) for r in d["leaks"]]'; }

is "$(edges "$T/l.json" 0)" "$r0+8>$r1 $r1+8>$r2 $r2+8>$r3 $r3+8>$r4 $r4+8>$r0" \
    "the ring's pointers: each block at the next"
is "$(members "$T/l.json" 1) / $(edges "$T/l.json" 1)" \
    "$c0 $c1 / $c0+8>$c1 $c1+8>$c0 $c1+16>>$t0" \
    "cycle with a tail: two members, and the pointer to the tail marked as out of it"
is "$(member "$T/l.json" '[(s["blocks"], s["bytes"], len(s["stack"])) for s in d["cycles"][1]["sites"]]')" \
    "[(1, 40, 6), (1, 40, 5)]" "its members' sites: one line, called from two places, by key"
is "$(members "$T/l.json" 2) / $(edges "$T/l.json" 2)" "$p0 $p1 / $p0+8>$p1 $p1+8>$p0" \
    "a pair pointing at each other"
is "$(members "$T/l.json" 3) / $(edges "$T/l.json" 3)" "$self / $self+8>$self" \
    "a block pointing at itself is a cycle"
is "$(records "$T/l.json")" \
    "[('definitely', 300, 3, '$(line $src plain)'), ('possibly', 80, 1, '$(line $src inner)'), ('indirectly', 64, 2, '$(line $src leaf)'), ('definitely', 64, 1, '$(line $src root)'), ('indirectly', 32, 2, '$(line $src tail)')]" \
    "loss records outside cycles: by site and kind, largest first"
is "$(member "$T/l.json" '[sum(r["bytes"] for r in d["leaks"] if r["kind"] == k) + sum(m["size"] for c in d["cycles"] for m in c["members"] if m["kind"] == k) == d["summary"][k + "_lost"]["bytes"] for k in ("definitely", "indirectly", "possibly")]')" \
    "[True, True, True]" "records and cycles add up to the summary"
is "$(member "$T/l.json" '[f["function"] for f in d["leaks"][3]["stack"]][:2]')" "['leak_tree', 'main']" \
    "a record's stack, from the key frame out"

# The same as text.
"$HEAPSCOPE" leaks "$db" >"$T/l.txt"
is "$?" 0 "leaks as text"
is "$(sed -n '/^LEAK SUMMARY:$/,/leaked cycles/p' "$T/l.txt")" "LEAK SUMMARY:
   definitely lost: 508 bytes in 8 blocks
   indirectly lost: 360 bytes in 10 blocks
     possibly lost: 80 bytes in 1 blocks
   still reachable: 200 bytes in 1 blocks
        suppressed: 0 bytes in 0 blocks
     leaked cycles: 408 bytes in 10 blocks in 4 cycles" "text: valgrind's summary, exact"
is "$(grep '^cycle ' "$T/l.txt")" "cycle 1 of 4: 240 bytes in 5 blocks
cycle 2 of 4: 80 bytes in 2 blocks
cycle 3 of 4: 64 bytes in 2 blocks
cycle 4 of 4: 24 bytes in 1 blocks" "text: the cycles"
is "$(grep -c "^  block 0x[0-9a-f]*: 48 bytes, indirectly lost, at [^ ]*$src:$(line $src ring) in leak_ring\$" "$T/l.txt")" 4 \
    "text: a member's address, size, kind and site"
is "$(grep -c "^  $(hex $r4)+8 -> $(hex $r0)\$" "$T/l.txt") $(grep -c "^  $(hex $c1)+16 -> $(hex $t0) (out of the cycle)\$" "$T/l.txt")" \
    "1 1" "text: pointers as 0xA+8 -> 0xB"
is "$(grep -c '^  2 blocks, 64 bytes allocated at [^ ]*leaker.c:[0-9]* in leak_pair:$' "$T/l.txt")" 1 \
    "text: a cycle's sites"
is "$(grep 'in loss record' "$T/l.txt" | head -n 2)" \
    "300 bytes in 3 blocks are definitely lost in loss record 1 of 5
80 bytes in 1 blocks are possibly lost in loss record 2 of 5" "text: valgrind's loss records"
like "$(sed -n '/loss record 1 of 5/{n;p;}' "$T/l.txt")" "^  [^ ]*$src:$(line $src plain) in leak_plain\$" \
    "text: each with its stack"
"$HEAPSCOPE" leaks "$db" last >"$T/last.txt"
is "$(cmp -s "$T/l.txt" "$T/last.txt"; echo $?)" 0 "SNAPSHOT last names the same"

# --since: what was allocated after "mid", by the age of the blocks or their absence from it.
sall="definitely_lost 104 2 indirectly_lost 136 5 possibly_lost 80 1 still_reachable 0 0 suppressed 0 0 cycles 1 80 2"
"$HEAPSCOPE" leaks "$db" --since mid --json >"$T/s.json"
is "$(summary "$T/s.json")" "$sall" "--since: the tree, inner, the tail, and the cycle made after mid"
is "$(members "$T/s.json" 0)" "$c0 $c1" "--since: a cycle goes whole, its older block too"
is "$(records "$T/s.json")" \
    "[('possibly', 80, 1, '$(line $src inner)'), ('indirectly', 64, 2, '$(line $src leaf)'), ('definitely', 64, 1, '$(line $src root)'), ('indirectly', 32, 2, '$(line $src tail)')]" \
    "--since: the records after mid"
is "$(member "$T/s.json" 'd["since"]["label"]')" mid "--since: the snapshot named"
"$HEAPSCOPE" leaks "$db" "$exit" --since "$mid" --json >"$T/s2.json"
is "$(summary "$T/s2.json")" "$sall" "--since by id"
cp "$db" "$T/interval.db"
sqlite3 "$T/interval.db" "UPDATE snapshots SET full = 0, trigger = 'interval' WHERE id = $mid;
    DELETE FROM blocks WHERE snapshot_id = $mid"
"$HEAPSCOPE" leaks "$T/interval.db" --since "$mid" --json >"$T/s3.json"
is "$(summary "$T/s3.json")" "$sall" "--since an interval snapshot (no blocks): by age alone"
set -- $plain
cp "$db" "$T/young.db"
sqlite3 "$T/young.db" "UPDATE blocks SET age = 0 WHERE snapshot_id = $exit AND address = $1"
"$HEAPSCOPE" leaks "$T/young.db" --since mid --json >"$T/s4.json"
is "$(member "$T/s4.json" 'd["summary"]["definitely_lost"]')" "{'bytes': 204, 'blocks': 3}" \
    "--since: a block younger than the interval is new, though mid had its address"
cp "$db" "$T/absent.db"
sqlite3 "$T/absent.db" "DELETE FROM blocks WHERE snapshot_id = $mid AND address = $1"
"$HEAPSCOPE" leaks "$T/absent.db" --since mid --json >"$T/s5.json"
is "$(member "$T/s5.json" 'd["summary"]["definitely_lost"]')" "{'bytes': 204, 'blocks': 3}" \
    "--since: a block mid did not have is new"
"$HEAPSCOPE" leaks "$db" --since mid >"$T/s.txt"
like "$(sed -n 2p "$T/s.txt")" '^leaked after snapshot 1 "mid" \(api, .*\): what was allocated after it$' \
    "--since as text: the line that names it"

# Suppressions, in LeakSanitizer's format.
supp() { printf '%s\n' "$@" >"$T/supp"; }
supp "# the plain leaks" "" "  leak:leak_plain  "
"$HEAPSCOPE" leaks "$db" --suppressions "$T/supp" --json >"$T/p.json"
is "$(summary "$T/p.json")" \
    "definitely_lost 208 5 indirectly_lost 360 10 possibly_lost 80 1 still_reachable 200 1 suppressed 300 3 cycles 4 408 10" \
    "a function: exactly its blocks, counted as suppressed"
is "$(member "$T/p.json" '[r["blocks"] for r in d["leaks"]]')" "[1, 2, 1, 2]" "and its record gone"
supp "leak:leak_ring"
"$HEAPSCOPE" leaks "$db" --suppressions "$T/supp" --json >"$T/r.json"
is "$(summary "$T/r.json")" \
    "definitely_lost 460 7 indirectly_lost 168 6 possibly_lost 80 1 still_reachable 200 1 suppressed 240 5 cycles 3 168 5" \
    "a cycle's site: the cycle gone, counted as suppressed"
supp "leak:leak_tcycle"
"$HEAPSCOPE" leaks "$db" --suppressions "$T/supp" --json >"$T/t.json"
is "$(summary "$T/t.json")" \
    "definitely_lost 468 7 indirectly_lost 288 7 possibly_lost 80 1 still_reachable 200 1 suppressed 112 4 cycles 3 328 8" \
    "a frame of one member's stack suppresses the whole cycle, and the tail's own stack"
for pattern in 'leak:^leak_p*n$' 'leak:plai' 'leak:*_pl*ai*'; do
	supp "$pattern"
	"$HEAPSCOPE" leaks "$db" --suppressions "$T/supp" --json >"$T/a.json"
	is "$(member "$T/a.json" 'd["summary"]["suppressed"]')" "{'bytes': 300, 'blocks': 3}" \
	    "pattern $pattern"
done
for pattern in 'leak:^eak_plain' 'leak:leak_plain$x' 'leak:nothing*here'; do
	supp "$pattern"
	"$HEAPSCOPE" leaks "$db" --suppressions "$T/supp" --json >"$T/a.json"
	is "$(member "$T/a.json" 'd["summary"]["suppressed"]')" "{'bytes': 0, 'blocks': 0}" \
	    "pattern $pattern matches nothing"
done
for pattern in "leak:$src" 'leak:/leaker$'; do
	supp "$pattern"
	"$HEAPSCOPE" leaks "$db" --suppressions "$T/supp" --json >"$T/a.json"
	is "$(summary "$T/a.json") $(member "$T/a.json" 'len(d["cycles"]), len(d["leaks"])')" \
	    "definitely_lost 0 0 indirectly_lost 0 0 possibly_lost 0 0 still_reachable 200 1 suppressed 948 19 cycles 0 0 0 (0, 0)" \
	    "pattern $pattern (a file, a module) matches every leak, never what is reachable"
done
supp "leak:leak_plain"
printf 'leak:leak_ring\n' >"$T/supp2"
"$HEAPSCOPE" leaks "$db" --suppressions "$T/supp" --suppressions "$T/supp2" >"$T/two.txt"
is "$(grep -E '(definitely lost|suppressed):' "$T/two.txt")" "   definitely lost: 160 bytes in 4 blocks
        suppressed: 540 bytes in 8 blocks" "two files, as text"
supp "leak:leak_tcycle"
"$HEAPSCOPE" leaks "$db" --since mid --suppressions "$T/supp" --json >"$T/st.json"
is "$(summary "$T/st.json")" \
    "definitely_lost 64 1 indirectly_lost 64 2 possibly_lost 80 1 still_reachable 0 0 suppressed 112 4 cycles 0 0 0" \
    "--since with suppressions"

# Errors: one line naming the input.
fails 1 '^heapscope: leaks: ".*shaped.db": snapshot 1 "mid" was not scanned for leaks \(the last scanned is 2\)$' \
    "an unscanned snapshot" "$HEAPSCOPE" leaks "$db" mid
fails 1 '^heapscope: leaks: ".*unscanned.db": no snapshot was scanned for leaks$' \
    "no scanned snapshot" "$HEAPSCOPE" leaks "$unscanned"
fails 1 '^heapscope: leaks: "'"$T"'/nofile": No such file or directory$' "missing suppressions file" \
    "$HEAPSCOPE" leaks "$db" --suppressions "$T/nofile"
supp "leak:x" "   " "frob:y"
fails 1 '^heapscope: leaks: "'"$T"'/supp":3: not a leak suppression: "frob:y" \(leak:PATTERN\)$' \
    "a bad suppression line" "$HEAPSCOPE" leaks "$db" --suppressions "$T/supp"
supp "leak:"
fails 1 '^heapscope: leaks: "'"$T"'/supp":1: empty pattern: "leak:"$' "an empty pattern" \
    "$HEAPSCOPE" leaks "$db" --suppressions "$T/supp"
fails 1 '^heapscope: leaks: ".*shaped.db": --since snapshot 2 is not before snapshot 2$' \
    "--since a later snapshot" "$HEAPSCOPE" leaks "$db" --since last
fails 2 '^usage: heapscope leaks FILE' "no file" "$HEAPSCOPE" leaks
fails 2 '^usage: heapscope leaks FILE' "too many arguments" "$HEAPSCOPE" leaks "$db" 1 2

# run's side of --leak-check on the shaped databases, whatever the preload does: the library is
# replaced by /dev/null (which the dynamic loader ignores, with a message), and the child copies
# a database where run looks for it.
# fake_run DB STATUS RUN-OPTIONS...: run RUN-OPTIONS -- a child that writes DB and exits STATUS.
fake_run() {
	from=$1 code=$2
	shift 2
	rm -f "$T"/copy.*.db
	HEAPSCOPE_LIBRARY=/dev/null "$HEAPSCOPE" run "$@" -o "$T/copy.%p.db" -- \
	    sh -c 'cp "$0" "$1.$$.db" && exit "$2"' "$from" "$T/copy" "$code" >"$T/out" 2>"$T/err"
}
fake_run "$db" 0 --leak-check --error-exitcode=3
is "$?" 3 "run --error-exitcode=3: a definitely lost block or a cycle, status 3"
is "$(grep '^heapscope: ' "$T/err" | sed 's/copy\.[0-9]*\.db/copy.db/')" "heapscope: database in $T/copy.db
heapscope: LEAK SUMMARY:
heapscope:    definitely lost: 508 bytes in 8 blocks
heapscope:    indirectly lost: 360 bytes in 10 blocks
heapscope:      possibly lost: 80 bytes in 1 blocks
heapscope:    still reachable: 200 bytes in 1 blocks
heapscope:         suppressed: 0 bytes in 0 blocks
heapscope:      leaked cycles: 408 bytes in 10 blocks in 4 cycles
heapscope: where they were allocated: heapscope leaks $T/copy.db" \
    "run --leak-check: the summary on stderr, as heapscope leaks gives it"
is "$(cat "$T/out")" "" "nothing on stdout"
fake_run "$db" 5 --leak-check
is "$?" 5 "run --leak-check alone: the command's status"
supp "leak:$src"
fake_run "$db" 0 --error-exitcode=3 --suppressions "$T/supp"
is "$?" 0 "run --suppressions: what they match does not count"
like "$(cat "$T/err")" '^heapscope:         suppressed: 948 bytes in 19 blocks$' "but is shown"
cp "$db" "$T/mild.db"
sqlite3 "$T/mild.db" "UPDATE blocks SET leak = 'reachable', cycle_id = NULL
    WHERE snapshot_id = $exit AND leak <> 'possibly'"
fake_run "$T/mild.db" 4 --error-exitcode=3
is "$?" 4 "run --error-exitcode=3: only possibly lost, the command's status"
fake_run "$T/mild.db" 0 --error-exitcode=0
is "$?" 0 "--error-exitcode=0: the command's status whatever leaked"
fake_run "$unscanned" 6 --error-exitcode=3
is "$?" 6 "run --leak-check, no scanned snapshot: the command's status"
like "$(cat "$T/err")" \
    '^heapscope: run: warning: ".*copy\.[0-9]*\.db": no snapshot was scanned for leaks; leaks not checked$' \
    "and a warning"

# run --leak-check: the summary on stderr, and --error-exitcode=N when something leaked.  It
# needs the preload's scan, which the database shows in snapshots.scanned.
"$HEAPSCOPE" run --leak-check --error-exitcode=3 -o "$T/run.db" -- "$VICTIMS/leaker" \
    >"$T/out" 2>"$T/err"
status=$?
if [ "$(q "$T/run.db" "SELECT max(scanned) FROM snapshots")" = 1 ]; then
	is "$status" 3 "run --error-exitcode=3: leaks found"
	like "$(cat "$T/err")" '^heapscope:    definitely lost: 508 bytes in 8 blocks$' \
	    "run --leak-check: the summary on stderr"
	"$HEAPSCOPE" leaks "$T/run.db" --json >"$T/run.json"
	# A conservative scan may find a stale word pointing at the start of inner, which then
	# counts as still reachable rather than possibly lost.
	is "$(summary "$T/run.json" | sed -E 's/possibly_lost [0-9]+ [0-9]+ still_reachable [0-9]+ [0-9]+/P/')" \
	    "$(echo "$all" | sed -E 's/possibly_lost [0-9]+ [0-9]+ still_reachable [0-9]+ [0-9]+/P/')" \
	    "the scan finds what the victim leaked"
	is "$(member "$T/run.json" '[d["summary"]["possibly_lost"][k] + d["summary"]["still_reachable"][k] for k in ("bytes", "blocks")]')" \
	    "[280, 2]" "and inner, possibly lost or still reachable, with kept"
	is "$(member "$T/run.json" '[(c["bytes"], c["blocks"]) for c in d["cycles"]]')" \
	    "[(240, 5), (80, 2), (64, 2), (24, 1)]" "and its cycles"
	"$HEAPSCOPE" run --leak-check --error-exitcode=3 -o "$T/clean.db" -- "$VICTIMS/exiter" \
	    >/dev/null 2>"$T/err"
	is "$?" 7 "run --error-exitcode=3: nothing lost, the command's status"
	like "$(cat "$T/err")" '^heapscope:    definitely lost: 0 bytes in 0 blocks$' \
	    "the summary all the same"
	supp "leak:$src"
	"$HEAPSCOPE" run --error-exitcode=3 --suppressions "$T/supp" -o "$T/supp.db" -- \
	    "$VICTIMS/leaker" >/dev/null 2>"$T/err"
	is "$?" 0 "run --suppressions: what they match does not count"
else
	skip 8 "the preload does not scan for leaks yet (snapshots.scanned = 0)"
fi
HEAPSCOPE_LEAKS=0 "$HEAPSCOPE" run --leak-check --error-exitcode=3 -o "$T/off.db" -- \
    "$VICTIMS/leaker" >"$T/out" 2>"$T/err"
status=$?
if [ "$(q "$T/off.db" "SELECT max(scanned) FROM snapshots")" = 0 ]; then
	is "$status" 0 "run --leak-check without a scan: the command's status"
	like "$(cat "$T/err")" \
	    '^heapscope: run: warning: ".*off.db": no snapshot was scanned for leaks; leaks not checked$' \
	    "and a warning"
else
	skip 2 "HEAPSCOPE_LEAKS=0 did not turn the scan off"
fi
fails 2 '^heapscope: run: bad --error-exitcode "256" \(a status from 0 to 255\)$' \
    "a bad --error-exitcode" "$HEAPSCOPE" run --error-exitcode=256 -- "$VICTIMS/leaker"
fails 1 '^heapscope: run: "'"$T"'/nofile": No such file or directory$' \
    "run --suppressions with a missing file" \
    "$HEAPSCOPE" run --suppressions "$T/nofile" -o "$T/never.db" -- "$VICTIMS/leaker"
is "$(ls "$T/never.db" 2>/dev/null)" "" "and nothing run"
done_testing
