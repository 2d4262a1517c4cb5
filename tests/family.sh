#!/bin/sh
# Every interposed allocation function, at its own line, with exact sizes and counts from top.
. "$srcdir/tests/lib.sh"
plan 19

db=$T/family.db
run_victim "$db" family >"$T/out" 2>"$T/err"
is "$?" 0 "family exits 0 under heapscope"
is "$(cat "$T/out")" "" "nothing on stdout"

"$HEAPSCOPE" top "$db" all --by lineno -n 0 --json >"$T/all.json"
is "$?" 0 "top of the api snapshot"
src=family.c
is "$(entry "$T/all.json" "$src:$(line $src malloc)")" "10000 10" "malloc"
is "$(entry "$T/all.json" "$src:$(line $src calloc)")" "210 1" "calloc"
is "$(entry "$T/all.json" "$src:$(line $src realloc-first)")" "" "realloc'd block gone from its first site"
is "$(entry "$T/all.json" "$src:$(line $src realloc)")" "4000 1" "realloc"
is "$(entry "$T/all.json" "$src:$(line $src reallocarray)")" "200 1" "reallocarray"
is "$(entry "$T/all.json" "$src:$(line $src posix_memalign)")" "96 1" "posix_memalign"
is "$(entry "$T/all.json" "$src:$(line $src aligned_alloc)")" "256 1" "aligned_alloc"
is "$(entry "$T/all.json" "$src:$(line $src memalign)")" "160 1" "memalign"
is "$(entry "$T/all.json" "$src:$(line $src valloc)")" "5000 1" "valloc"
is "$(entry "$T/all.json" "$src:$(line $src pvalloc)")" "3000 1" "pvalloc"
is "$(entry "$T/all.json" "$src:$(line $src strdup)")" "12 1" "strdup, keyed on the caller of libc"

is "$(q "$db" "SELECT m.size, m.prot FROM mappings m JOIN snapshots s ON s.id = m.snapshot_id
    WHERE s.label = 'all'")" "12288 3" "the mmap region, apart from heap blocks"

"$HEAPSCOPE" top "$db" none --by lineno -n 0 --json >"$T/none.json"
n=0
for tag in malloc calloc realloc reallocarray posix_memalign aligned_alloc memalign valloc \
    pvalloc strdup; do
	[ -z "$(entry "$T/none.json" "$src:$(line $src $tag)")" ] || n=$((n + 1))
done
is "$n" 0 "after the frees, no site of family.c is live"
is "$(q "$db" "SELECT count(*) FROM mappings m JOIN snapshots s ON s.id = m.snapshot_id
    WHERE s.label = 'none'")" 0 "the munmap'd region is gone"

is "$(q "$db" "SELECT group_concat(trigger || ':' || ifnull(label, ''), ' ') FROM snapshots
    WHERE trigger != 'peak'")" \
    "api:all api:none exit:" "snapshots: two from the API, one at exit"
is "$(q "$db" "SELECT live_blocks = (SELECT count(*) FROM blocks WHERE snapshot_id = s.id)
    FROM snapshots s WHERE label = 'all'")" 1 "a full snapshot holds every live block"
done_testing
