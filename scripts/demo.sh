#!/bin/sh
# The demonstration: a collector on a scratch store, real programs reading,
# copying, editing and deleting patients' charts under the shim, and the
# audit trail they left, printed for people and as JSON.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
D=$(mktemp -d /tmp/phitrail-demo.XXXXXX)
chmod 0755 "$D"
COLLECTOR=""
finish() {
	[ -n "$COLLECTOR" ] && kill -TERM "$COLLECTOR" 2>/dev/null && wait "$COLLECTOR" 2>/dev/null
	rm -rf "$D"
}
trap finish EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$1"; eval "$1"; }

mkdir -p "$D/srv/ehr/patients/4711" "$D/srv/ehr/patients/5822" "$D/srv/public"
cat >"$D/phitrail.conf" <<CONF
[phitrail]
workspace_id = ws_demo_clinic
socket       = $D/run/ingest.sock
query_socket = $D/run/query.sock
database     = $D/lib/audit.db
spool        = $D/spool
key_file     = $D/lib/signing.key

[rule charts]
files = $D/srv/ehr/patients/{patient}/**
CONF
printf 'Name: Jane Doe\nDOB: 1961-02-03\nDx: hypertension\n' >"$D/srv/ehr/patients/4711/chart.txt"
printf 'Name: John Roe\nDOB: 1958-07-21\nDx: type 2 diabetes\n' >"$D/srv/ehr/patients/5822/chart.txt"
printf 'Visiting hours: 9-17\n' >"$D/srv/public/notice.txt"

say "The policy: everything under srv/ehr/patients/{patient}/ is PHI"
cat "$D/phitrail.conf"

say "Starting the collector (store: $D/lib/audit.db)"
"$B/phitraild" --config "$D/phitrail.conf" 2>"$D/collector.log" &
COLLECTOR=$!
i=0
until "$B/phitrail" query --config "$D/phitrail.conf" --count >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$D/collector.log"; exit 1; }
	sleep 0.1
done

export PHITRAIL_CONFIG="$D/phitrail.conf"
cd "$D/srv"
say "Unmodified programs at work, each run under the shim"
export PATH="$B:$PATH"
show "phitrail run -- cat ehr/patients/4711/chart.txt"
show "phitrail run -- cp ehr/patients/4711/chart.txt ehr/patients/5822/referral-from-4711.txt"
show "phitrail run -- sed -i 's/type 2 diabetes/type 2 diabetes, on metformin/' ehr/patients/5822/chart.txt"
show "phitrail run -- python3 -c \"open('ehr/patients/4711/chart.txt', 'a').write('BP 128/82\\\\n')\""
show "phitrail run -- rm ehr/patients/5822/referral-from-4711.txt"
show "phitrail run -- cat public/notice.txt"
echo "(the notice is not PHI: no record)"

sleep 0.5
say "The audit trail: phitrail query"
phitrail query --config "$D/phitrail.conf"

say "Who touched patient 4711? phitrail report patient 4711"
phitrail report patient 4711 --config "$D/phitrail.conf"

say "The same records for programs: phitrail query --patient 4711 --format json"
phitrail query --config "$D/phitrail.conf" --patient 4711 --format json

say "Stopping the collector: it signs a checkpoint of the store as it stops"
kill -TERM "$COLLECTOR"
wait "$COLLECTOR" || true
COLLECTOR=""

say "Is the store intact? phitrail verify"
phitrail verify --config "$D/phitrail.conf"
