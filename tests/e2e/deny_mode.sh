# on_collector_down = deny (fail closed): while the collector is down a PHI
# call fails with EACCES and the file is untouched; once the collector is
# back the same program's calls succeed and are recorded, and the
# collector's log says how many calls were denied and to whom.
. "$(dirname "$0")/lib.sh"
setup "on_collector_down = deny"
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
mkdir -p "$P/4711"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
before=$(sha256sum <"$P/4711/chart.txt")
mkfifo "$T/go"

# w: append, r: read, g: wait until the test says go.
shim timeout 60 "$T/phiload" steps "$P/4711/chart.txt" "$T/go" wrgwr >"$T/steps.out" &
prog=$!
i=0
while [ "$(cat "$T/steps.out")" != "w:EACCES r:EACCES " ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ "$(cat "$T/steps.out")" = "w:EACCES r:EACCES " ] ||
	fail "calls were not denied while the collector was down: $(cat "$T/steps.out")"
[ "$(sha256sum <"$P/4711/chart.txt")" = "$before" ] || fail "a denied append changed the file"
[ -z "$(ls -A "$T/spool/incoming" 2>/dev/null)" ] || fail "deny mode wrote a fallback spool file"

start_collector
echo go >"$T/go"
wait "$prog" || fail "the program failed"
[ "$(cat "$T/steps.out")" = "w:EACCES r:EACCES w:0 r:0 " ] ||
	fail "calls after the collector came back: $(cat "$T/steps.out")"
grep -q "appended" "$P/4711/chart.txt" || fail "the allowed append did not happen"
wait_count 1 --event viewed --patient 4711
expect_count 1 --event modified --patient 4711
expect_count 1 --event viewed --patient 4711
denied=$(q --patient 4711 | jq -r 'select(.detail.denied_while_down != null) | .detail.denied_while_down')
[ "$denied" = 2 ] || fail "the first record after the collector came back does not say 2 calls were denied: [$denied]"
pid=$(jfield '.pid' --event modified --patient 4711)
grep -q "pid $pid (.*phiload, .*) was denied 2 PHI call(s) with EACCES while the collector could not be reached" \
	"$T/collector.log" || fail "the collector's log does not say pid $pid was denied 2 calls"
pass
