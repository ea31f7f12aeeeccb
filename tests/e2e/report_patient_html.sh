# phitrail report patient: every access to one patient's data, grouped by
# person and program in date order, as text, CSV, JSON and one
# self-contained HTML page, rendered by headless Chromium (screenshot taken,
# DOM checked). Records come from real programs under the real shim.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
setup
start_collector

for p in 4711 5822; do
	mkdir -p "$P/$p"
	printf 'chart %s\n' "$p" >"$P/$p/chart.txt"
done
shim cat "$P/4711/chart.txt" "$P/5822/chart.txt" >/dev/null
shim sh -c "echo more >> '$P/4711/chart.txt'"
shim cat "$P/4711/chart.txt" >/dev/null
wait_count 3 --patient 4711
wait_count 1 --patient 5822
me=$(actor_for_uid 0)
cat_exe=$(readlink -f "$(command -v cat)")

# Text: the two groups, in order of first access, and every access.
text=$("$PHITRAIL" report patient 4711 --config "$CONF") || fail "report patient failed"
echo "$text" | grep -q "^Access report for patient 4711$" || fail "text title: $text"
echo "$text" | grep -q "^Accesses:  3   People and programs: 2$" || fail "text summary: $text"
first=$(echo "$text" | grep -n " using " | head -n 1)
echo "$first" | grep -q "$me using $cat_exe: 2 accesses" || fail "first group is not cat with 2: $text"
[ "$(echo "$text" | grep -c 'PHI File Viewed')" = 2 ] || fail "text lists 2 views: $text"
[ "$(echo "$text" | grep -c 'PHI File Modified')" = 1 ] || fail "text lists 1 modification: $text"
echo "$text" | grep -q 5822 && fail "another patient in the report: $text"

# JSON: exact groups and counts, accesses in date order.
json=$("$PHITRAIL" report patient 4711 --config "$CONF" --format json)
[ "$(echo "$json" | jq -r '.report + " " + .subject + " " + (.records|tostring)')" = "patient 4711 3" ] ||
	fail "JSON head: $json"
[ "$(echo "$json" | jq -c '[.groups[] | [.exe, .count]]')" = "[[\"$cat_exe\",2],[\"$(readlink -f /bin/sh)\",1]]" ] ||
	fail "JSON groups: $(echo "$json" | jq -c '[.groups[] | [.exe, .count]]')"
echo "$json" | jq -e '[.groups[].accesses[].timestamp] as $t | ($t[0:2] | . == sort)' >/dev/null ||
	fail "JSON accesses of a group are not in date order"

# CSV: header and one line per access.
csv=$("$PHITRAIL" report patient 4711 --config "$CONF" --format csv)
[ "$(echo "$csv" | head -n 1 | tr -d '\r')" = "actor,program,timestamp,event_type,target,result,host,pid,id" ] ||
	fail "CSV header: $csv"
[ "$(echo "$csv" | wc -l)" = 4 ] || fail "CSV is not 1 + 3 lines: $csv"

# Periods: --until before everything gives an empty report.
[ "$("$PHITRAIL" report patient 4711 --config "$CONF" --format json --until 1h | jq .records)" = 0 ] ||
	fail "--until 1h still reports accesses"

# Usage errors say what to do.
"$PHITRAIL" report patient --config "$CONF" 2>"$T/err" && fail "report patient without ID succeeded"
grep -q "phitrail report patient ID" "$T/err" || fail "no hint for a missing ID: $(cat "$T/err")"
"$PHITRAIL" report --help | grep -q "report unusual" || fail "report --help"

# HTML: one self-contained page.
html=$T/report.html
"$PHITRAIL" report patient 4711 --config "$CONF" --format html --output "$html" || fail "HTML report failed"
grep -qi '<svg' "$html" || fail "no inline SVG timeline"
if grep -Eio '(src|href)=|url\(|@import|<script|<link' "$html" | grep -q .; then
	fail "the page refers to something outside itself: $(grep -Eio '(src|href)=[^ >]*|url\([^)]*|@import|<script|<link' "$html" | head -3)"
fi
grep -q '@media print' "$html" || fail "no print rules"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium is not installed (apt-get install chromium)"
profile=$(mktemp -d)
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--user-data-dir=$profile"
# shellcheck disable=SC2086
timeout 60 "$CHROMIUM" $flags --screenshot="$T/report.png" --window-size=1280,2000 \
	"file://$html" >"$T/chromium.log" 2>&1 || fail "chromium failed: $(tail -5 "$T/chromium.log")"
[ -s "$T/report.png" ] || fail "no screenshot"
[ "$(head -c 8 "$T/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
# shellcheck disable=SC2086
timeout 60 "$CHROMIUM" $flags --dump-dom "file://$html" >"$T/dom.html" 2>>"$T/chromium.log" ||
	fail "chromium --dump-dom failed"
rm -rf "$profile"
grep -q '<span id="subject">4711</span>' "$T/dom.html" || fail "rendered page lacks the patient"
grep -q '<b id="accesses">3</b>' "$T/dom.html" || fail "rendered page lacks the count of 3"
[ "$(grep -o 'class="mark"' "$T/dom.html" | wc -l)" = 3 ] || fail "timeline has not 3 marks"
[ "$(grep -o '<section class="group"' "$T/dom.html" | wc -l)" = 2 ] || fail "page has not 2 groups"
grep -q "$cat_exe" "$T/dom.html" || fail "rendered page lacks the program"
[ -n "${REPORT_SCREENSHOT:-}" ] && cp "$T/report.png" "$REPORT_SCREENSHOT"
pass
