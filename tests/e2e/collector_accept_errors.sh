# A collector started on a configuration with errors refuses to start,
# naming FILE:LINE, unless started with --accept-errors; then it runs on
# what was read and status reports the errors (and needs attention).
. "$(dirname "$0")/lib.sh"
setup
mkdir -p "$P/4711" && echo "chart" >"$P/4711/chart.txt"
printf '\n[rule broken]\nfiels = %s/other/**\n' "$T" >>"$CONF"
line=$(grep -n '^fiels' "$CONF" | cut -d: -f1)

out=$(timeout 20 "$PHITRAILD" --config "$CONF" 2>&1)
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the collector started (or hung, rc $rc) on a broken configuration: $out"
echo "$out" | grep -q "$CONF:$line:" || fail "the refusal does not name $CONF:$line: $out"
echo "$out" | grep -q -- "--accept-errors" || fail "the refusal does not say how to start anyway: $out"
[ -S "$T/run/query.sock" ] && fail "a refused collector left its query socket"

# A missing file is no "error in the file": refused even with --accept-errors.
out=$(timeout 20 "$PHITRAILD" --config "$T/missing.conf" --accept-errors 2>&1) &&
	fail "the collector started without its configuration file: $out"

"$PHITRAILD" --config "$CONF" --accept-errors >>"$T/collector.log" 2>&1 &
COLLECTOR_PID=$!
i=0
until count >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "the collector with --accept-errors did not answer"
	kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "the collector with --accept-errors exited"
	sleep 0.05
done
grep -q "despite [0-9]* error(s) (--accept-errors)" "$T/collector.log" || fail "no warning in the log"

out=$("$PHITRAIL" status --config "$CONF" 2>/dev/null) && fail "status said all is well on a broken configuration: $out"
echo "$out" | grep -q "^config .* error(s), first: $CONF:$line:" || fail "status does not report the error: $out"
echo "$out" | grep -q "^attention .*--accept-errors" || fail "the errors are not under attention: $out"
"$PHITRAIL" status --config "$CONF" --format json 2>/dev/null | jq -e '.config_errors >= 1' >/dev/null ||
	fail "config_errors is 0"
pass
