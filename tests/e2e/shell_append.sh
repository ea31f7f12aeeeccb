# A shell's ">>" redirection onto a chart: Modified, by the shell.
. "$(dirname "$0")/lib.sh"
setup
start_collector

mkdir -p "$P/4711"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
shim sh -c "echo 'BP 120/80' >> '$P/4711/chart.txt'" || fail "sh failed under the shim"
[ "$(tail -n 1 "$P/4711/chart.txt")" = "BP 120/80" ] || fail "the append did not happen"
expect_event "PHI File Modified" 4711 --target "$P/4711/chart.txt"
expect_count 1 --patient 4711

# A redirection that creates a new PHI file is Created.
shim sh -c "echo 'new' > '$P/4711/vitals.txt'" || fail "sh failed under the shim"
expect_event "PHI File Created" 4711 --target "$P/4711/vitals.txt"
pass
