# phitrail report unusual, on records made by real programs under the real
# shim: one cat reading 12 patients' charts is a bulk read, a user refused a
# chart is a failed attempt; each finding says why; normal use is quiet.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to run a program as another user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
command -v jq >/dev/null || skip "jq is not installed"
setup
start_collector

for p in $(seq 100 111); do
	mkdir -p "$P/$p"
	printf 'chart %s\n' "$p" >"$P/$p/chart.txt"
done
chmod 0755 "$P"/*
# Normal use first: nothing to report.
shim cat "$P/100/chart.txt" "$P/101/chart.txt" >/dev/null
wait_count 2 --event viewed
[ "$("$PHITRAIL" report unusual --config "$CONF" --format json | jq '.findings | length')" = 0 ] ||
	fail "two reads are reported as unusual"
"$PHITRAIL" report unusual --config "$CONF" | grep -q "Nothing unusual found." || fail "text says nothing"

shim cat "$P"/1*/chart.txt >/dev/null
chmod 000 "$P/105/chart.txt"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	env LD_PRELOAD="$PHITRAIL_LIB" PHITRAIL_CONFIG="$CONF" cat "$P/105/chart.txt" >/dev/null 2>&1
wait_count 14 --event viewed
wait_count 1 --event denied

json=$("$PHITRAIL" report unusual --config "$CONF" --format json)
[ "$(echo "$json" | jq -c '[.findings[].signal] | sort')" = '["bulk-read","denied"]' ] ||
	fail "findings are not one bulk read and one denial: $json"
echo "$json" | jq -e '.findings[] | select(.signal == "bulk-read") | .why | test("read 12 different patients.* files within 60 s")' >/dev/null ||
	fail "bulk read not explained: $json"
echo "$json" | jq -e --arg who "$(actor_for_uid 65534)" '.findings[] | select(.signal == "denied") | .actor == $who and (.why | test("1 failed attempt.*patient 105.*EACCES"))' >/dev/null ||
	fail "denial not explained: $json"
text=$("$PHITRAIL" report unusual --config "$CONF")
echo "$text" | grep -q "^bulk-read " || fail "text lacks the bulk read: $text"
echo "$text" | grep -q "Findings: 2" || fail "text lacks the count: $text"
[ "$("$PHITRAIL" report unusual --config "$CONF" --format csv | wc -l)" = 3 ] || fail "CSV is not 1 + 2 lines"
"$PHITRAIL" report unusual --config "$CONF" --format html >"$T/u.html" || fail "HTML failed"
[ "$(grep -o 'class="finding"' "$T/u.html" | wc -l)" = 2 ] || fail "HTML has not 2 findings"
# The period: nothing before it.
[ "$("$PHITRAIL" report unusual --config "$CONF" --until 1h --format json | jq '.findings | length')" = 0 ] ||
	fail "--until 1h still finds something"
pass
