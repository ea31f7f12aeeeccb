# follow_exec = yes (the default): execve with an environment holding only
# PATH, execv after unsetenv("LD_PRELOAD"), and fexecve with an empty
# environment all keep the shim in the new program.
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
for p in 4711 4712 4713; do mkdir -p "$P/$p"; echo chart >"$P/$p/chart.txt"; done
shim "$T/shapes" scrubbed "$P/4711/chart.txt" >/dev/null || fail "execve failed"
shim "$T/shapes" execv "$P/4712/chart.txt" >/dev/null || fail "execv failed"
shim "$T/shapes" fexecve "$P/4713/chart.txt" >/dev/null || fail "fexecve failed"
for p in 4711 4712 4713; do
	expect_event "PHI File Viewed" $p
	jfield '.exe' --patient $p | grep -q 'cat$' || fail "patient $p: not read by cat"
done
pass
