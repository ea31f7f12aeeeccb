# cat and head read a patient's chart: one "PHI File Viewed" each, naming the
# patient from the path, the real actor, the program and the file.
. "$(dirname "$0")/lib.sh"
setup
start_collector

mkdir -p "$P/4711"
printf 'Name: Jane Doe\nDOB: 1961-02-03\nDx: hypertension\n' >"$P/4711/chart.txt"
before=$(date -u +%Y-%m-%dT%H:%M:%SZ)

shim cat "$P/4711/chart.txt" >"$T/out" || fail "cat failed under the shim"
cmp -s "$P/4711/chart.txt" "$T/out" || fail "cat printed something else under the shim"
shim head -n 1 "$P/4711/chart.txt" >"$T/out2" || fail "head failed under the shim"
[ "$(cat "$T/out2")" = "Name: Jane Doe" ] || fail "head printed something else under the shim"

wait_count 2 --event "PHI File Viewed" --patient 4711
expect_count 2 --patient 4711

[ "$(jfield '.actor_user_id' --patient 4711 | sort -u)" = "$(actor_for_uid 0)" ] ||
	fail "actor is not $(actor_for_uid 0)"
[ "$(jfield '.target' --patient 4711 | sort -u)" = "$P/4711/chart.txt" ] ||
	fail "target is not the chart's absolute path"
[ "$(jfield '.exe' --patient 4711 | sort | tr '\n' ' ')" = "$(command -v cat) $(command -v head) " ] ||
	[ "$(jfield '.exe' --patient 4711 | xargs -n1 basename | sort | tr '\n' ' ')" = "cat head " ] ||
	fail "programs are not cat and head: $(jfield '.exe' --patient 4711)"
[ "$(jfield '.rule' --patient 4711 | sort -u)" = "charts" ] || fail "rule is not charts"
[ "$(jfield '.workspace_id' --patient 4711 | sort -u)" = "ws_e2e" ] || fail "workspace_id is not ws_e2e"
[ "$(jfield '.result' --patient 4711 | sort -u)" = "ok" ] || fail "result is not ok"
[ "$(jfield '.identity' --patient 4711 | sort -u)" = "verified" ] || fail "identity is not verified"
[ "$(jfield '.uid' --patient 4711 | sort -u)" = "0" ] || fail "uid is not 0"

# Timestamps: RFC 3339 UTC with nanoseconds, and inside this test's window.
jfield '.timestamp' --patient 4711 | grep -Eqv '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' &&
	fail "a timestamp is not RFC 3339 UTC with nanoseconds"
first=$(jfield '.timestamp' --patient 4711 | sort | head -n 1 | cut -c1-19)Z
[ "$(printf '%s\n%s\n' "$before" "$first" | sort | head -n 1)" = "$before" ] ||
	fail "timestamp $first is before the test started ($before)"
pass
