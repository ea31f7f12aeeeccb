#!/bin/sh
# The fleet demonstration: a NATS JetStream server on a loopback port, two
# hosts' collectors (ehr-1 and lab-2) forwarding their trails, real programs
# reading patient 4711's charts on both, and the aggregator answering one
# fleet-wide report for the patient, each access with the host it was on.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
D=$(mktemp -d /tmp/phitrail-demo-fleet.XXXXXX)
chmod 0755 "$D"
PIDS=""
finish() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap finish EXIT INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$1"; eval "$1"; }

command -v nats-server >/dev/null || PATH=$PATH:/usr/sbin
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$D/nats"
nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$D/nats" >"$D/nats.log" 2>&1 &
PIDS="$PIDS $!"

conf() { # NAME SECTION...
	mkdir -p "$D/$1/srv/patients/4711" "$D/$1/run"
	chmod -R 0755 "$D/$1"
	cat >"$D/$1/phitrail.conf" <<CONF
[phitrail]
workspace_id = ws_demo_hospital
socket       = $D/$1/run/ingest.sock
query_socket = $D/$1/run/query.sock
database     = $D/$1/lib/audit.db
spool        = $D/$1/spool
key_file     = $D/$1/lib/signing.key
checkpoint_interval = 2

$2

[rule charts]
files = $D/$1/srv/patients/{patient}/**
CONF
}
start() { # NAME [ARGS]
	n=$1
	shift
	"$B/phitraild" --config "$D/$n/phitrail.conf" "$@" >"$D/$n.log" 2>&1 &
	PIDS="$PIDS $!"
	i=0
	until "$B/phitrail" query --config "$D/$n/phitrail.conf" --count >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$D/$n.log"; exit 1; }
		sleep 0.1
	done
}
for h in ehr-1 lab-2; do
	conf $h "[forward]
servers = nats://127.0.0.1:$PORT
host = $h"
done
conf central "[aggregate]
servers = nats://127.0.0.1:$PORT
durable = central"

say "Two hosts and an aggregator, one JetStream server on port $PORT"
start ehr-1
start lab-2
start central --aggregate
echo "chart of 4711" >"$D/ehr-1/srv/patients/4711/chart.txt"
echo "lab result of 4711" >"$D/lab-2/srv/patients/4711/cbc.txt"

say "On ehr-1 a clerk reads the chart; on lab-2 the lab edits a result"
show "'$B/phitrail' run --config '$D/ehr-1/phitrail.conf' -- cat '$D/ehr-1/srv/patients/4711/chart.txt'"
show "'$B/phitrail' run --config '$D/lab-2/phitrail.conf' -- sed -i s/result/RESULT/ '$D/lab-2/srv/patients/4711/cbc.txt'"

say "The aggregator receives both trails (a second or so)"
i=0
until [ "$("$B/phitrail" query --config "$D/central/phitrail.conf" --patient 4711 --count)" -ge 2 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || exit 1
	sleep 0.1
done
show "'$B/phitrail' query --config '$D/central/phitrail.conf' --patient 4711"

say "One fleet-wide accounting of disclosures for patient 4711"
show "'$B/phitrail' report patient 4711 --config '$D/central/phitrail.conf'"

say "Only what happened on lab-2"
show "'$B/phitrail' query --config '$D/central/phitrail.conf' --host lab-2 --patient 4711 --format json"
