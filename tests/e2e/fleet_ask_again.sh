# A record JetStream acknowledged and then lost is asked for again and
# arrives. nats-server 2.9 can do this: after a node or the whole cluster
# restarted while publishes were in flight, its replicas may hold
# different messages at one stream sequence, and a consumer led by the
# replica without the record never delivers it, while the host's cursor
# is past it. Here the host's collector (a test build) plays that
# replica: record 7's first publish is not sent and its acknowledgement
# is made up (PHITRAILD_FAULT_LOST_PUBLISH). The aggregator sees the gap,
# asks the host for it again (fleet_wire.h), and the host ships it with a
# new Nats-Msg-Id: every record arrives once, nothing is reported lost or
# refused, though the host's cursor passed record 7 long before.
. "$(dirname "$0")/lib.sh"
setup
. "$ROOT/tests/e2e/fleet.inc"

fleet_tools
FLEET_REPLICAS=1
nats_cluster_start 1
host_setup h1
# longer than the aggregator waits before it asks (35 s): a loss report
# would come only after the fault was not mended
FLEET_GAP_S=120 aggregator_setup
export PHITRAILD_FAULT_LOST_PUBLISH=7
daemon_start h1
unset PHITRAILD_FAULT_LOST_PUBLISH
daemon_start central --aggregate
"$T/driver" --tag again "$T/h1/run/ingest.sock" 40 || fail "driver failed"

top=0
i=0
until [ "$top" -ge 40 ] &&
	[ "$(host_sql h1 "SELECT through_id FROM forward_cursor WHERE sink = 'nats'")" = "$top" ] &&
	[ "$(central_sql "SELECT count(*) FROM origin WHERE host = 'h1'")" = "$top" ]; do
	i=$((i + 1))
	[ $i -lt 900 ] || fail "after 90 s the central store holds $(central_sql \
		"SELECT count(*) FROM origin WHERE host = 'h1'") of h1's $top records" \
		"(missing: $(central_sql "SELECT group_concat(record_id) FROM origin
		WHERE host = 'h1'" | tr ',' '\n' | sort -n | awk '$1 != ++n {print n; n = $1}' |
		tr '\n' ' '))"
	sleep 0.1
	top=$(host_sql h1 "SELECT max(id) FROM records" 2>/dev/null || echo 0)
	top=${top:-0}
done

grep -q "injected fault: record 7 not published" "$T/h1.log" ||
	fail "the fault was not injected: $(tail -n 20 "$T/h1.log")"
grep -q "h1 (store [0-9a-f]*): records 7\.\.7 missing: asked the host" "$T/central.log" ||
	fail "the aggregator did not ask for record 7: $(tail -n 20 "$T/central.log")"
grep -q "asked for records 7\.\.7 again" "$T/h1.log" ||
	fail "the host did not take the request: $(tail -n 20 "$T/h1.log")"
row=$(central_sql "SELECT count(*), count(DISTINCT record_id), min(record_id),
	max(record_id) FROM origin WHERE host = 'h1'")
[ "$row" = "$top|$top|1|$top" ] || fail "central holds $row, expected $top|$top|1|$top"
host_sql h1 "SELECT id, hex(leaf_hash) FROM records ORDER BY id" >"$T/h1.leaves"
central_sql "SELECT record_id, hex(leaf_hash) FROM origin WHERE host = 'h1'
	ORDER BY record_id" >"$T/h1.central"
cmp -s "$T/h1.leaves" "$T/h1.central" || fail "central leaves differ from the host's"
lost=$(central_sql "SELECT count(*) FROM records WHERE event_type = 'Audit Records Lost'")
[ "$lost" = 0 ] || fail "central store: $lost loss report(s)"
rej=$(central_sql "SELECT coalesce(sum(count), 0) FROM fleet_rejects")
[ "$rej" = 0 ] || fail "central refused $rej message(s): $(central_sql 'SELECT * FROM fleet_rejects')"

daemon_stop central
"$PHITRAIL" verify --config "$T/central/phitrail.conf" >"$T/verify.out" 2>&1 ||
	fail "verify of the central store failed: $(cat "$T/verify.out")"
daemon_stop h1
pass
