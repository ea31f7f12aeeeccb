# rm of a chart: one "PHI File Deleted".
. "$(dirname "$0")/lib.sh"
setup
start_collector

mkdir -p "$P/4711"
printf 'x\n' >"$P/4711/old-note.txt"
shim rm "$P/4711/old-note.txt" || fail "rm failed under the shim"
[ ! -e "$P/4711/old-note.txt" ] || fail "rm did not remove the file"
expect_event "PHI File Deleted" 4711 --target "$P/4711/old-note.txt"
expect_count 1 --patient 4711
pass
