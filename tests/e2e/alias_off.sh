# follow_aliases = no: paths are matched as written only, so a chart read
# through a symlinked directory leaves nothing, while the same chart read
# by its own path is recorded as before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup "follow_aliases = no"
start_collector
ln -s "$P/p9" "$T/other/link"
shim cat "$T/other/link/c.txt" >"$T/out" || fail "cat failed under the shim"
alias_same "$REAL" "$T/out"
shim head -n 1 "$REAL" >/dev/null || fail "head failed under the shim"
wait_count 1 --patient p9
expect_count 1 --rule charts
[ "$(jfield .target --rule charts)" = "$REAL" ] || fail "the record is not head's of the chart itself"
pass
