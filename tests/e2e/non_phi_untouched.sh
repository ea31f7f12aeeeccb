# Files no rule matches pass through untouched: no record at all.
. "$(dirname "$0")/lib.sh"
setup
start_collector

printf 'public\n' >"$T/other/readme.txt"
mkdir -p "$P/4711"
printf 'x\n' >"$P/4711/chart.txt"
shim cat "$T/other/readme.txt" >/dev/null || fail "cat failed under the shim"
shim cp "$T/other/readme.txt" "$T/other/copy.txt" || fail "cp failed under the shim"
shim rm "$T/other/copy.txt" || fail "rm failed under the shim"
# A last PHI read proves the collector saw this session's records at all.
shim cat "$P/4711/chart.txt" >/dev/null
expect_event "PHI File Viewed" 4711
expect_count 0 --target "$T/other/**"
expect_count 1 --event viewed
pass
