# vfork: the child shares the parent's memory; it closes every descriptor
# and execs cat on a chart. The cat is audited, and the parent's PHI
# descriptor table is whole afterwards (its later read is reported).
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
mkdir -p "$P/4711" "$P/4712"
echo a >"$P/4711/a.txt"
echo b >"$P/4712/b.txt"
shim timeout 20 "$T/shapes" vfork "$P/4711/a.txt" "$P/4712/b.txt" >/dev/null || fail "vfork failed under the shim"
expect_event "PHI File Viewed" 4711
expect_event "PHI File Viewed" 4712
expect_count 1 --patient 4711
expect_count 1 --patient 4712
jfield '.exe' --patient 4712 | grep -q 'cat$' || fail "the exec'd cat did not report"
jfield '.exe' --patient 4711 | grep -q 'shapes$' || fail "the parent's read after vfork was lost"
pass
