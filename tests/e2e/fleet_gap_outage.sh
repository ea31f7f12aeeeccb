# A gap in a host's ids is lost only after the host kept shipping past it
# for [aggregate] stall_time, never because time passed while nothing
# arrived. A host store (played with fleet_publish) ships ids 1, 2 and 5;
# the only JetStream node is stopped for longer than stall_time with the
# gap 3..4 open, started again, the host ships 6 and 7 (as a forwarder's
# buffered publishes go out at a reconnect), and 3..4 arrive a few seconds
# later (as its resend after a timeout does): nothing is reported lost.
# Then the host skips id 9 and keeps shipping 10, 11, ... for longer than
# stall_time: "Audit Records Lost" names 9..9 of that store, and only it.
. "$(dirname "$0")/lib.sh"
setup
. "$ROOT/tests/e2e/fleet.inc"

fleet_tools

FLEET_REPLICAS=1
nats_cluster_start 1
# a host whose genuine records the fake store ships
host_setup h1
daemon_start h1
"$T/driver" --tag genuine "$T/h1/run/ingest.sock" 40 || fail "driver failed"
i=0
until [ "$(host_sql h1 "SELECT count(*) FROM records")" -ge 40 ] 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "h1 did not store its records"
	sleep 0.1
done
daemon_stop h1
FLEET_GAP_S=4 aggregator_setup
daemon_start central --aggregate
URL=nats://127.0.0.1:$(nats_port 1)
S9=99999999999999999999999999999999

# ship ID...: h1's record ID, as store S9 of host h9
ship() {
	for id in "$@"; do
		row=$(host_sql h1 "SELECT hex(bytes), lower(hex(leaf_hash)) FROM records WHERE id = $id")
		echo "${row%|*}" | xxd -r -p >"$T/g$id"
		"$T/fleet_publish" "$URL" phitrail.ws_fleet.h9 "$T/g$id" Phitrail-Version:1 \
			Phitrail-Kind:record Phitrail-Host:h9 Phitrail-Store:$S9 Phitrail-Id:"$id" \
			Phitrail-Leaf:"${row#*|}" || fail "fleet_publish of $id failed"
	done
}
# wait_ids N: the central store holds N records of S9
wait_ids() {
	i=0
	until [ "$(central_sql "SELECT count(*) FROM origin WHERE store_id = '$S9'")" -ge "$1" ] 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "the central store holds $(central_sql \
			"SELECT count(*) FROM origin WHERE store_id = '$S9'") of $1 records of h9"
		sleep 0.1
	done
}
lost() {
	central_sql "SELECT count(*) FROM records WHERE event_type = 'Audit Records Lost'"
}

# 1. the gap 3..4 open across an outage longer than stall_time
ship 1 2 5
wait_ids 3
sleep 2
nats_node_stop 1
sleep 6
nats_node_start 1
i=0
until "$T/fleet_publish" "$URL" probe - 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the NATS node did not come back"
	sleep 0.1
done
ship 6
sleep 0.5
ship 7
wait_ids 5
sleep 4
ship 3 4
wait_ids 7
sleep 3
[ "$(lost)" = 0 ] || fail "a gap that filled after the outage was reported lost: $(grep "never arrived" "$T/central.log")"

# 2. a real loss: 9 never comes while the host ships on for longer
ship 8 10
n=11
while [ $n -le 30 ]; do
	ship $n
	sleep 0.5
	n=$((n + 1))
done
wait_ids 28
i=0
until [ "$(lost)" -ge 1 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "no Audit Records Lost for h9's id 9"
	sleep 0.1
done
got=$("$PHITRAIL" query --config "$T/central/phitrail.conf" --host h9 \
	--event "Audit Records Lost" --format json | jq -c '[.host, .target, .detail.from_id, .detail.to_id, .detail.count]')
[ "$got" = "[\"h9\",\"$S9\",9,9,1]" ] || fail "loss report: $got"
[ "$(lost)" = 1 ] || fail "$(lost) loss reports, expected 1"
daemon_stop central
pass
