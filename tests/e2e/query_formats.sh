# phitrail query prints the same records as a table for people, JSON lines
# and CSV for programs; filters by patient, actor, event and time work.
. "$(dirname "$0")/lib.sh"
setup
start_collector

for p in 4711 5822; do
	mkdir -p "$P/$p"
	printf 'chart %s\n' "$p" >"$P/$p/chart.txt"
done
shim cat "$P/4711/chart.txt" "$P/5822/chart.txt" >/dev/null
shim sh -c "echo more >> '$P/4711/chart.txt'"
wait_count 2 --patient 4711
wait_count 1 --patient 5822

[ "$(count --patient 4711)" = 2 ] || fail "patient filter"
[ "$(count --patient 5822)" = 1 ] || fail "patient filter"
[ "$(count --event viewed)" = 2 ] || fail "event filter"
[ "$(count --event viewed --event modified)" = 3 ] || fail "repeated event filter"
[ "$(count --actor "$(actor_for_uid 0)" --event viewed)" = 2 ] || fail "actor filter"
[ "$(count --actor nobody-here)" = 0 ] || fail "actor filter matched a stranger"
[ "$(count --since 1h --patient 4711)" = 2 ] || fail "--since 1h"
[ "$(count --until 1h --patient 4711)" = 0 ] || fail "--until 1h"
[ "$(count --since 2020-01-01T00:00:00Z --until 2100-01-01 --patient 4711)" = 2 ] || fail "RFC 3339 range"
[ "$(q --patient 4711 --limit 1 | wc -l)" = 1 ] || fail "--limit"

# JSON: every line valid, the schema's keys present.
q | jq -e 'has("workspace_id") and has("actor_user_id") and has("event_type") and has("end_user_id") and has("timestamp") and has("id")' >/dev/null ||
	fail "a JSON record lacks a schema key"
[ "$(q --event "Audit Collector Started" | jq -r '.end_user_id')" = null ] || fail "a nil patient is not JSON null"

# CSV: a header and one line per record.
csv=$("$PHITRAIL" query --config "$CONF" --format csv --patient 4711)
echo "$csv" | head -n 1 | grep -q 'timestamp' || fail "CSV has no header: $csv"
[ "$(echo "$csv" | wc -l)" = 3 ] || fail "CSV has not 1 + 2 lines: $csv"

# Table: readable, one row per record and a count.
table=$("$PHITRAIL" query --config "$CONF" --format table --patient 4711)
echo "$table" | grep -q "PHI File Viewed" || fail "table lacks the event: $table"
echo "$table" | grep -q "2 records" || fail "table lacks the count: $table"
pass
