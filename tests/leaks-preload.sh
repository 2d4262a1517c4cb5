#!/bin/sh
# The leak scan of full snapshots, from the database alone: every kind of root keeps its block,
# every shape of leak gets memcheck's verdicts, cycles, reference counts and edges, signal and
# exit snapshots are scanned too, HEAPSCOPE_LEAKS=0 turns it off; and where valgrind is
# installed, the same victims under valgrind lose the same bytes.
. "$srcdir/tests/lib.sh"
plan 69

# traced DB PROG ARGS...: runs a victim under the preload alone, writing DB.
traced() {
	db=$1
	shift
	LD_PRELOAD=$HEAPSCOPE_LIBRARY HEAPSCOPE_OUTPUT=$db "$@"
}

# Roots: one block per kind of root, each of its own size (see tests/victims/roots.c).
db=$T/roots.db
traced "$db" "$VICTIMS/roots" "$VICTIMS/.libs/tlsmod.so" >"$T/out" 2>"$T/err"
is "$?" 0 "roots exits 0: the thread waiting in sigwait for every signal was given none"
is "$(cat "$T/out" "$T/err")" "" "nothing on stdout or stderr"
R="FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id WHERE s.label = 'roots'"
is "$(q "$db" "SELECT scanned FROM snapshots WHERE label = 'roots'")" 1 \
    "the api snapshot is scanned"
for kind in "1001 a global" "1002 a static" "1003 main's stack" \
    "1004 a register of a spinning thread, and nothing else" "1005 main's static TLS" \
    "1006 another thread's static TLS" "1007 an mmap region, past a PROT_NONE page" \
    "1008 a thread sleeping in read(): its stack" \
    "1011 the stack of a thread that blocks every signal"; do
	size=${kind%% *}
	is "$(q "$db" "SELECT leak, root_refs > 0 $R AND size = $size")" "reachable 1" \
	    "kept by ${kind#* }"
done
is "$(q "$db" "SELECT group_concat(leak || ' ' || block_refs, ', ') $R AND size IN (1009, 1010)")" \
    "reachable 1, reachable 1" \
    "kept by main's and another thread's dynamic TLS: a block that only the DTV leads to"
is "$(q "$db" "SELECT leak, root_refs, block_refs $R AND size = 1013")" "definitely 0 0" \
    "freed memory keeps nothing: its block is definitely lost"
is "$(q "$db" "SELECT count(*) $R AND leak <> 'reachable'")" 1 \
    "nothing else of the program or of libc is reported lost"
is "$(q "$db" "SELECT count(*) $R AND (leak IS NULL OR root_refs IS NULL OR
    block_refs IS NULL)")" 0 "every block has a verdict and reference counts"
is "$(q "$db" "SELECT group_concat(size, ' ') FROM (SELECT size FROM blocks b JOIN snapshots s
    ON s.id = b.snapshot_id WHERE s.trigger = 'exit' AND leak <> 'reachable' ORDER BY size)")" \
    "1003 1004 1013" "at exit, main's stack block and the spinner's returned block are lost too"

# Shapes: every shape of leak (see tests/victims/shapes.c for the table).
db=$T/shapes.db
traced "$db" "$VICTIMS/shapes" >"$T/out" 2>"$T/err"
is "$?" 0 "shapes exits 0"
is "$(cat "$T/out" "$T/err")" "" "nothing on stdout or stderr"
S="FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id WHERE s.label = 'shapes'"
# kinds SIZE: "DEFINITELY INDIRECTLY" among the blocks of SIZE.
kinds() {
	q "$db" "SELECT sum(leak = 'definitely'), sum(leak = 'indirectly') $S AND size = $1"
}
is "$(q "$db" "SELECT count(*), sum(size) $S AND leak = 'definitely'")" "12 1586" \
    "definitely lost: 12 blocks, 1586 bytes"
is "$(q "$db" "SELECT count(*), sum(size) $S AND leak = 'indirectly'")" "20 3090" \
    "indirectly lost: 20 blocks, 3090 bytes"
is "$(q "$db" "SELECT group_concat(size, ' ') $S AND leak = 'possibly'")" "211 223" \
    "possibly lost: the block a global points inside, and the block it points at"
is "$(q "$db" "SELECT count(*), min(size), max(size) $S AND leak = 'reachable' AND size = 233")" \
    "3 233 233" "the global list is reachable"
is "$(kinds 101)" "3 0" "plain leaks: each definitely lost"
is "$(kinds 113)" "2 2" "2-cycles: one definitely lost per pair, the other indirectly"
is "$(kinds 121)" "1 4" "a ring of 5: one definitely lost, 4 indirectly"
is "$(q "$db" "SELECT min(address) = (SELECT address $S AND size = 121 AND leak = 'definitely')
    $S AND size = 121")" 1 "the ring's definitely lost block is its lowest address"
is "$(kinds 131)" "2 0" "self-pointers: each definitely lost"
is "$(kinds 141)" "1 1" "a lasso's tail: its first block definitely lost, the next indirectly"
is "$(kinds 151)" "0 3" "a lasso's ring: indirectly lost"
is "$(kinds 161)" "1 1" "a ring with a tail: one ring block definitely lost"
is "$(kinds 171)" "0 2" "the ring's tail: indirectly lost"
is "$(kinds 181)" "1 6" "a tree: its root definitely lost, the rest indirectly"
is "$(q "$db" "SELECT block_refs $S AND size = 181 AND leak = 'definitely'")" 0 \
    "nothing points at the tree's root"
is "$(kinds 191)/$(kinds 197)" "1 0/0 1" "a block pointing inside another: that one indirectly lost"

is "$(q "$db" "SELECT count(DISTINCT cycle_id), count(cycle_id) $S")" "7 16" \
    "7 leaked cycles of 16 blocks in all"
is "$(q "$db" "SELECT group_concat(n, ' ') FROM (SELECT count(*) n $S AND cycle_id IS NOT NULL
    GROUP BY cycle_id ORDER BY n)")" "1 1 2 2 2 3 5" "cycle sizes"
is "$(q "$db" "SELECT group_concat(cycle_id, ' ') FROM (SELECT cycle_id, min(address) a $S
    AND cycle_id IS NOT NULL GROUP BY cycle_id ORDER BY a)")" "1 2 3 4 5 6 7" \
    "cycles are numbered in the address order of their lowest blocks"
is "$(q "$db" "SELECT group_concat(size || ':' || n, ' ') FROM (SELECT size, count(*) n $S
    AND cycle_id IS NOT NULL GROUP BY size ORDER BY size)")" "113:4 121:5 131:2 151:3 161:2" \
    "cycle members: the pairs, the rings, the self-pointers; no tail, tree or plain leak"
is "$(q "$db" "SELECT count(DISTINCT cycle_id) $S AND size = 131")" 2 \
    "each self-pointer is a cycle of its own"
is "$(q "$db" "SELECT group_concat(DISTINCT block_refs) $S AND size IN (113, 121)")" 1 \
    "members of the pairs and of the ring of 5: one reference from another block each"
is "$(q "$db" "SELECT group_concat(block_refs, ' ') FROM (SELECT block_refs $S AND size = 151
    ORDER BY block_refs)")" "1 1 2" "the lasso's ring: the block its tail enters has two"
is "$(q "$db" "SELECT group_concat(DISTINCT root_refs) $S
    AND leak IN ('definitely', 'indirectly')")" 0 "no root points into a lost block"
is "$(q "$db" "SELECT root_refs, block_refs $S AND size = 211")/$(q "$db" "SELECT root_refs,
    block_refs $S AND size = 223")" "1 0/0 1" "reference counts of the possibly lost pair"

# Edges, with f the block holding the pointer and t the block it points into.
E="FROM edges e JOIN snapshots s ON s.id = e.snapshot_id
    JOIN blocks f ON f.snapshot_id = e.snapshot_id AND f.address = e.from_address
    JOIN blocks t ON t.snapshot_id = e.snapshot_id AND t.address = e.to_address
    WHERE s.label = 'shapes'"
is "$(q "$db" "SELECT count(*), sum(e.interior) $E")" "27 1" \
    "27 edges among the lost blocks, 1 interior"
is "$(q "$db" "SELECT count(*) $E AND f.leak IN ('definitely', 'indirectly')
    AND t.leak IN ('definitely', 'indirectly')")" 27 "every edge joins two lost blocks"
is "$(q "$db" "SELECT f.size, e.offset, t.size $E AND e.interior")" "191 0 197" \
    "the interior edge: at offset 0 of the 191-byte block, into the 197-byte one"
is "$(q "$db" "SELECT count(*), min(f.size), max(f.size) $E AND f.address = t.address")" \
    "2 131 131" "the self-pointers are edges to themselves"
is "$(q "$db" "SELECT group_concat(o, ' ') FROM (SELECT e.offset o $E AND f.size = 161
    ORDER BY o)")" "0 0 8" "offsets: the ring of 161 points on at 0, into its tail at 8"
is "$(q "$db" "SELECT count(*), sum(size) FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id
    WHERE s.trigger = 'exit' AND leak IN ('definitely', 'indirectly')")" "32 4676" \
    "the exit snapshot loses the same"

# Signal snapshots are scanned too (by heapscope's writer thread, whose stack is no root).
db=$T/sig.db
mkfifo "$T/in"
traced "$db" "$VICTIMS/waiter" <"$T/in" >"$T/out" 2>"$T/err" &
run=$!
exec 3>"$T/in"
wait_for "$T/out" '^ready'
kill -USR2 "$(sed -n 's/^ready //p' "$T/out")"
wait_snapshots "$db" 1
exec 3>&-
wait "$run"
is "$?" 0 "the waiter exits 0"
is "$(q "$db" "SELECT trigger, scanned FROM snapshots WHERE id = 1")" "signal 1" \
    "the signal snapshot is scanned"
is "$(q "$db" "SELECT count(*), min(leak) FROM blocks WHERE snapshot_id = 1 AND size = 2222")" \
    "3 reachable" "its blocks, kept in a global, are reachable"

# HEAPSCOPE_LEAKS.
db=$T/off.db
HEAPSCOPE_LEAKS=0 traced "$db" "$VICTIMS/shapes" >"$T/out" 2>"$T/err"
is "$?" 0 "HEAPSCOPE_LEAKS=0: exits 0"
is "$(q "$db" "SELECT group_concat(scanned, ' ') FROM snapshots WHERE id > 0")" "0 0" "no snapshot is scanned"
is "$(q "$db" "SELECT count(*) FROM blocks WHERE leak IS NOT NULL OR cycle_id IS NOT NULL OR
    root_refs IS NOT NULL OR block_refs IS NOT NULL")/$(q "$db" "SELECT count(*) FROM edges")" \
    "0/0" "no verdicts, no reference counts, no edges"
is "$(q "$db" "SELECT count(*) FROM blocks WHERE snapshot_id = 1")" \
    "$(q "$T/shapes.db" "SELECT count(*) FROM blocks WHERE snapshot_id = 1")" \
    "the blocks are there all the same"
db=$T/on.db
HEAPSCOPE_LEAKS=1 traced "$db" "$VICTIMS/shapes" >"$T/out" 2>"$T/err"
is "$(q "$db" "SELECT group_concat(scanned, ' ') FROM snapshots WHERE id > 0")" "1 1" "HEAPSCOPE_LEAKS=1"
db=$T/bad.db
HEAPSCOPE_LEAKS=maybe traced "$db" "$VICTIMS/exiter" >"$T/out" 2>"$T/err"
is "$?" 7 "a bad HEAPSCOPE_LEAKS: the program runs on"
is "$(cat "$T/err")" 'heapscope: HEAPSCOPE_LEAKS "maybe": not 0 or 1' "one warning"
ok "$([ ! -e "$db" ]; echo $?)" "and no database"

# valgrind: the same victims, untraced, give the same sums.  Each victim asks valgrind for a
# leak check where it takes its snapshot (when built with <valgrind/memcheck.h>) and valgrind
# checks again at exit: the first LEAK SUMMARY is compared with the api snapshot, the last with
# the exit snapshot.  The shapes agree on every kind.  For roots, valgrind calls each thread's
# DTV, and what only it reaches, "possibly lost" (glibc's pointer to it is 16 bytes in), where
# heapscope takes glibc's pointer for what it is and the loader's blocks for reachable: there
# the lost kinds, definitely and indirectly, are compared.
VALGRIND=${VALGRIND:-$(command -v valgrind || true)}
# summary FILE WHICH KIND: "BYTES BLOCKS" of KIND in the first or last LEAK SUMMARY of FILE.
summary() {
	grep -E "^==[0-9]+==  +$3 lost:" "$1" | { [ "$2" = first ] && head -1 || tail -1; } |
	    sed -E 's/.*: ([0-9,]+) bytes in ([0-9,]+) blocks.*/\1 \2/' | tr -d ,
}
# ours DB WHERE KIND: "BYTES BLOCKS" of KIND in the snapshot WHERE selects.
ours() {
	q "$1" "SELECT ifnull(sum(size), 0), count(*) FROM blocks b JOIN snapshots s ON
	    s.id = b.snapshot_id WHERE $2 AND leak = '$3'"
}
# at_snapshot NAME: valgrind's first LEAK SUMMARY of victim NAME against its api snapshot,
# labelled NAME: definitely and indirectly lost.
at_snapshot() {
	if [ "$(grep -c 'LEAK SUMMARY' "$T/vg-$1")" -ge 2 ]; then
		is "$(summary "$T/vg-$1" first definitely)/$(summary "$T/vg-$1" first \
		    indirectly)" "$(ours "$T/$1.db" "s.label = '$1'" definitely)/$(ours \
		    "$T/$1.db" "s.label = '$1'" indirectly)" \
		    "$1 at the snapshot: definitely and indirectly lost as valgrind says"
	else
		skip 1 "the victims were built without <valgrind/memcheck.h>"
	fi
}
if [ -n "$VALGRIND" ] && "$VALGRIND" --version >/dev/null 2>&1; then
	"$VALGRIND" --leak-check=full --show-leak-kinds=all --log-file="$T/vg-shapes" \
	    "$VICTIMS/shapes"
	is "$?" 0 "shapes under valgrind exits 0"
	for kind in definitely indirectly possibly; do
		is "$(summary "$T/vg-shapes" last $kind)" \
		    "$(ours "$T/shapes.db" "s.trigger = 'exit'" $kind)" \
		    "shapes at exit: $kind lost as valgrind says"
	done
	at_snapshot shapes
	"$VALGRIND" --leak-check=full --show-leak-kinds=all --log-file="$T/vg-roots" \
	    "$VICTIMS/roots" "$VICTIMS/.libs/tlsmod.so"
	is "$?" 0 "roots under valgrind exits 0"
	is "$(summary "$T/vg-roots" last definitely)/$(summary "$T/vg-roots" last indirectly)" \
	    "$(ours "$T/roots.db" "s.trigger = 'exit'" definitely)/$(ours "$T/roots.db" \
	    "s.trigger = 'exit'" indirectly)" "roots at exit: definitely and indirectly as valgrind"
	at_snapshot roots
else
	skip 8 "valgrind is not installed"
fi
done_testing
