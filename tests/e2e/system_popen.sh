# system() and popen() run a shell through libc's internal spawn: the shell
# and the cat it starts stay audited.
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
mkdir -p "$P/4711"
echo chart >"$P/4711/chart.txt"
shim "$T/shapes" system "$P/4711/chart.txt" || fail "system/popen failed under the shim"
wait_count 2 --event "PHI File Viewed" --patient 4711
expect_count 2 --patient 4711
pass
