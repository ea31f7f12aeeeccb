# posix_spawn and posix_spawnp with empty environments, through both symbol
# versions glibc exports on x86_64 (GLIBC_2.15, and GLIBC_2.2.5 that older
# binaries bind to): every child is audited (the shim puts itself back
# into the environment it gets).
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
mkdir -p "$P/4711"
echo chart >"$P/4711/chart.txt"
shim "$T/shapes" spawn "$P/4711/chart.txt" >/dev/null || fail "spawn failed under the shim"
wait_count 2 --event "PHI File Viewed" --patient 4711
expect_count 2 --patient 4711
[ "$(jfield '.pid' --patient 4711 | sort -u | wc -l)" = 2 ] || fail "not two children"
mkdir -p "$P/4712"
echo chart >"$P/4712/chart.txt"
shim "$T/shapes" spawn_old "$P/4712/chart.txt" >/dev/null
rc=$?
if [ $rc -ne 77 ]; then
	[ $rc -eq 0 ] || fail "spawn through GLIBC_2.2.5 failed under the shim"
	wait_count 2 --event "PHI File Viewed" --patient 4712
	expect_count 2 --patient 4712
fi
pass
