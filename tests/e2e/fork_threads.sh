# fork three times while four threads are inside the shim (relative opens
# take its path lock): no deadlock, and each child reports its own read
# with its own pid, seq 0, parent = the program.
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
mkdir -p "$P/4711"
echo chart >"$P/4711/chart.txt"
echo public >"$T/other/public.txt"
(cd "$T/other" && shim timeout 60 "$T/shapes" forkthreads "$P/4711/chart.txt" public.txt) ||
	fail "forkthreads failed or hung under the shim"
wait_count 3 --event "PHI File Viewed" --patient 4711
expect_count 3 --patient 4711
[ "$(jfield '.pid' --patient 4711 | sort -u | wc -l)" = 3 ] || fail "children do not have their own pids"
[ "$(jfield '.seq' --patient 4711 | sort -u)" = 0 ] || fail "a child's seq does not start at 0"
[ "$(jfield '.ppid' --patient 4711 | sort -u | wc -l)" = 1 ] || fail "children have different parents"
pass
