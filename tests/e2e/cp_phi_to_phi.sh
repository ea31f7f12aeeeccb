# cp from one PHI file to a new PHI file: the source Viewed, the copy Created.
. "$(dirname "$0")/lib.sh"
setup
start_collector

mkdir -p "$P/4711" "$P/5822"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
shim cp "$P/4711/chart.txt" "$P/5822/imported.txt" || fail "cp failed under the shim"
cmp -s "$P/4711/chart.txt" "$P/5822/imported.txt" || fail "the copy differs"

expect_event "PHI File Viewed" 4711 --target "$P/4711/chart.txt"
expect_event "PHI File Created" 5822 --target "$P/5822/imported.txt"
expect_count 1 --patient 4711
expect_count 1 --patient 5822
[ "$(jfield '.pid' --patient 4711)" = "$(jfield '.pid' --patient 5822)" ] ||
	fail "the two records do not come from the same cp process"
pass
