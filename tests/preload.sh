#!/bin/sh
# The preload as a guest: its output file (exclusive, 0600, no symlinks, %p), bad settings, the
# stack depth, exec, dlopen/dlclose, C++ new, and descendants left alone.
. "$srcdir/tests/lib.sh"
plan 23

# The output file: created with mode 0600, %p expands to the pid.
"$HEAPSCOPE" run -o "$T/out.%p.db" -- "$VICTIMS/exiter" >/dev/null 2>"$T/err"
is "$?" 7 "exit status with a %p pattern"
set -- "$T"/out.*.db
is "$(basename "$1")" "out.$(q "$1" "SELECT pid FROM process").db" "%p is the pid"
is "$(stat -c %a "$1")" 600 "mode 0600"

# An existing file is never overwritten; a symbolic link is never followed.
cp "$1" "$T/keep.db"
LD_PRELOAD=$HEAPSCOPE_LIBRARY HEAPSCOPE_OUTPUT=$1 "$VICTIMS/exiter" >/dev/null 2>"$T/err"
is "$?" 7 "the program runs on when the file exists"
like "$(cat "$T/err")" "^heapscope: cannot create .*out\..*\.db: File exists$" "one warning"
ok "$(cmp -s "$1" "$T/keep.db"; echo $?)" "the existing file is untouched"
"$HEAPSCOPE" run -o "$1" -- "$VICTIMS/exiter" >/dev/null 2>"$T/err"
is "$?" 1 "heapscope run refuses an existing file before running anything"
like "$(cat "$T/err")" '^heapscope: run: ".*out\..*\.db": File exists$' "and says so"
ln -s "$T/target.db" "$T/link.db"
"$HEAPSCOPE" run -o "$T/link.db" -- "$VICTIMS/exiter" >/dev/null 2>"$T/err"
is "$?" 7 "the program runs on when the path is a symlink"
ok "$([ ! -e "$T/target.db" ]; echo $?)" "the link's target is not created"

# Bad settings: one warning, no tracing, the program undisturbed.
HEAPSCOPE_DEPTH=lots LD_PRELOAD=$HEAPSCOPE_LIBRARY HEAPSCOPE_OUTPUT=$T/bad.db \
    "$VICTIMS/exiter" >"$T/out" 2>"$T/err"
is "$?" 7 "bad HEAPSCOPE_DEPTH: the program runs on"
is "$(cat "$T/err")" 'heapscope: HEAPSCOPE_DEPTH "lots": not a number from 1 to 256' \
    "bad HEAPSCOPE_DEPTH: one warning"
ok "$([ ! -e "$T/bad.db" ]; echo $?)" "bad HEAPSCOPE_DEPTH: no database"

# --depth bounds every stack.
"$HEAPSCOPE" run -o "$T/depth.db" --depth 3 -- "$VICTIMS/deep" >/dev/null 2>&1
is "$(q "$T/depth.db" "SELECT max(depth), stack_depth FROM stacks, process")" "3 3" "--depth 3"

# exec: the program that replaces the traced one is traced under the same pid.
"$HEAPSCOPE" run -o "$T/exec.db" -- /bin/sh -c "exec '$VICTIMS/exiter'" >/dev/null 2>&1
is "$?" 7 "exec: status"
"$HEAPSCOPE" top "$T/exec.db" -n 0 --json >"$T/exec.json"
is "$(entry "$T/exec.json" "exiter.c:$(line exiter.c six-hundred)")" "2400 4" "exec: traced after exec"

# Descendants that exec under another pid stay untraced (no --follow).
mkdir "$T/cwd"
(cd "$T/cwd" && "$HEAPSCOPE" run -- /bin/sh -c "'$VICTIMS/exiter'; true" >/dev/null 2>&1)
is "$(ls "$T/cwd" | wc -l)" 1 "one database: the shell's, not its child's"
like "$(ls "$T/cwd")" '^heapscope\.sh\.[0-9]+\.db$' "the default name heapscope.PROGRAM.PID.db"

# dlopen/dlclose: blocks made in a module that is gone by the snapshot keep their names.
"$HEAPSCOPE" run -o "$T/dl.db" -- "$VICTIMS/loader" "$VICTIMS/.libs/plugin.so" >/dev/null 2>&1
is "$?" 0 "loader exits 0"
"$HEAPSCOPE" top "$T/dl.db" closed --by function -n 0 --json >"$T/dl.json"
is "$(entry "$T/dl.json" "plugin_make")" "2889 9" "the closed module's function"
"$HEAPSCOPE" top "$T/dl.db" closed -n 0 --json >"$T/dl2.json"
is "$(entry "$T/dl2.json" "plugin.c:$(line plugin.c plugin-malloc)")" "2889 9" \
    "the closed module's line"

# C++: operator new is skipped, so the key is the line with new.
if [ -x "$VICTIMS/cxx" ]; then
	"$HEAPSCOPE" run -o "$T/cxx.db" -- "$VICTIMS/cxx" >/dev/null 2>&1
	"$HEAPSCOPE" top "$T/cxx.db" -n 0 --json >"$T/cxx.json"
	is "$(entry "$T/cxx.json" "cxx.cc:$(line cxx.cc new)")" "64 1" "new: the line of new"
	is "$(entry "$T/cxx.json" "cxx.cc:$(line cxx.cc new-array)")" "1000 1" "new[]"
else
	skip 2 "no C++ compiler"
fi
done_testing
