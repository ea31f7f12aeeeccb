# _Fork (glibc 2.34+) runs no atfork handlers: the shim wraps it so the
# child still gets its own identity and spool: its record names the child.
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
mkdir -p "$P/4711"
echo chart >"$P/4711/chart.txt"
shim timeout 20 "$T/shapes" Fork "$P/4711/chart.txt" || fail "_Fork failed under the shim"
wait_count 1 --event "PHI File Viewed" --patient 4711
expect_count 1 --patient 4711
pid=$(jfield '.pid' --patient 4711)
ppid=$(jfield '.ppid' --patient 4711)
[ "$pid" != "$ppid" ] && [ "$(jfield '.seq' --patient 4711)" = 0 ] || fail "record does not carry the child's identity"
pass
