# The fleet end to end: a 3-node nats-server JetStream cluster (replicas 3,
# own store directories, loopback ports chosen at run time), two host
# collectors forwarding and one aggregator. Records are written on both
# hosts while one NATS node is killed and restarted, the aggregator is
# SIGKILLed twice, a host collector is SIGKILLed while it publishes, and
# the whole cluster is stopped and started again. At the end the central
# store holds every host record exactly once (count and ids per host), the
# hosts' cursors have caught up, nothing was refused or reported lost, and
# phitrail verify passes on the central store.
. "$(dirname "$0")/lib.sh"
setup
. "$ROOT/tests/e2e/fleet.inc"

PER_BATCH=${FLEET_BATCH:-25000}
cc -std=gnu11 -O1 -D_GNU_SOURCE -I"$ROOT/common/format" -I"$ROOT/common/protocol" -o "$T/driver" \
	"$ROOT/tests/collector/driver.c" "$ROOT/common/format/codec.c" "$ROOT"/common/format/record_*.c "$ROOT/common/format/spool.c" \
	-lmsgpackc || fail "cannot build the driver"

nats_cluster_start 3
host_setup h1
host_setup h2
for h in h1 h2; do
	sed -i 's/^batch_delay_ms = 20$/batch_delay_ms = 20\ncheckpoint_interval = 2/' \
		"$T/$h/phitrail.conf"
done
# a host must ship past a gap for longer than a forwarder takes to resend
# after a publish that timed out (10 s, or 20 s when cnats never answered,
# 30 s for publishes unanswered across a node restart); the whole-cluster
# stop does not count (the gap clock is the host's shipping time); 60 s
# is the default
FLEET_GAP_S=60 aggregator_setup
daemon_start h1
daemon_start h2
daemon_start central --aggregate

# write HOST TAG: one driver batch into HOST's collector, in the background
write() {
	"$T/driver" --tag "$2" "$T/$1/run/ingest.sock" "$PER_BATCH" \
		>>"$T/driver.log" 2>&1 &
	eval "WRITER_$1=$!"
}
wait_writers() {
	wait "$WRITER_h1" || fail "driver on h1 failed"
	wait "$WRITER_h2" || fail "driver on h2 failed"
}

# 1. a NATS node killed and restarted while both hosts write
write h1 a1; write h2 a2
sleep 1
nats_node_kill 2
sleep 2
nats_node_start 2
wait_writers

# 2. the aggregator SIGKILLed twice while records flow
write h1 b1; write h2 b2
sleep 1
daemon_kill central
sleep 1
daemon_start central --aggregate
sleep 2
daemon_kill central
daemon_start central --aggregate
wait_writers

# 3. a host collector SIGKILLed while it publishes (the restarted one
#    resumes its spool files and ships from its cursor)
before=$(host_sql h1 "SELECT count(*) FROM records")
write h1 c1; write h2 c2
i=0
while [ "$(host_sql h1 "SELECT count(*) FROM records")" -lt $((before + 1000)) ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "h1 stores nothing of its third batch"
	sleep 0.05
done
daemon_kill h1
daemon_start h1
# the driver, unlike the shim, has no fallback when it asks the dead
# collector for its next spool file: it may stop; write the rest again
wait "$WRITER_h1" || { write h1 c1b; }
wait_writers

# 4. the whole cluster stopped for a while, records written meanwhile
for i in 1 2 3; do nats_node_stop $i; done
write h1 d1; write h2 d2
wait_writers
sleep 3
for i in 1 2 3; do nats_node_start $i; done

# caught up: every host record centrally, every cursor at the host's end
caught_up() {
	for h in h1 h2; do
		top=$(host_sql $h "SELECT max(id) FROM records")
		cur=$(host_sql $h "SELECT through_id FROM forward_cursor WHERE sink = 'nats'")
		got=$(central_sql "SELECT count(*) FROM origin WHERE host = '$h'")
		[ "$cur" = "$top" ] && [ "$got" = "$top" ] || return 1
	done
	return 0
}
# (on a loaded machine the ASan aggregator may take a while: fail only
# when nothing moves for 60 s)
last=-1
still=0
until caught_up; do
	now=$(central_sql "SELECT count(*) FROM origin")$(host_sql h1 \
		"SELECT through_id FROM forward_cursor WHERE sink = 'nats'")$(host_sql h2 \
		"SELECT through_id FROM forward_cursor WHERE sink = 'nats'")
	if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; fi
	last=$now
	[ $still -lt 120 ] || fail "no progress for 60 s: $(for h in h1 h2; do
		echo "$h: stored $(host_sql $h 'SELECT max(id) FROM records')" \
		"cursor $(host_sql $h "SELECT through_id FROM forward_cursor WHERE sink = 'nats'")" \
		"central $(central_sql "SELECT count(*) FROM origin WHERE host = '$h'")"
		done) $(tail -n 20 "$T/central.log")"
	sleep 0.5
done

for h in h1 h2; do
	top=$(host_sql $h "SELECT max(id) FROM records")
	n=$(host_sql $h "SELECT count(*) FROM records")
	[ "$n" = "$top" ] || fail "$h: ids not contiguous ($n records, max id $top)"
	[ "$top" -ge $((4 * PER_BATCH)) ] || fail "$h: only $top records stored"
	row=$(central_sql "SELECT count(*), count(DISTINCT record_id), min(record_id),
		max(record_id) FROM origin WHERE host = '$h'")
	[ "$row" = "$top|$top|1|$top" ] || fail "$h: central holds $row, expected $top|$top|1|$top"
	# the central copy of each record is the host's bytes
	host_sql $h "SELECT id, hex(leaf_hash) FROM records ORDER BY id" >"$T/$h.leaves"
	central_sql "SELECT record_id, hex(leaf_hash) FROM origin WHERE host = '$h'
		ORDER BY record_id" >"$T/$h.central"
	cmp -s "$T/$h.leaves" "$T/$h.central" || fail "$h: central leaves differ from the host's"
	cps=$(central_sql "SELECT count(*) FROM fleet_checkpoints c JOIN fleet_stores s
		USING (store_id) WHERE s.host = '$h'")
	[ "$cps" -ge 1 ] || fail "$h: no signed checkpoint of the host reached the central store"
done
# the central store's own records are only its query audits
lost=$(central_sql "SELECT count(*) FROM records WHERE event_type = 'Audit Records Lost'")
own=$(central_sql "SELECT count(*) FROM records WHERE id NOT IN (SELECT id FROM origin)
	AND event_type != 'Audit Trail Queried'")
[ "$lost" = 0 ] && [ "$own" = 0 ] || fail "central store: $lost loss report(s), $own other record(s) of its own"
rej=$(central_sql "SELECT coalesce(sum(count), 0) FROM fleet_rejects")
[ "$rej" = 0 ] || fail "central refused $rej genuine messages: $(central_sql 'SELECT * FROM fleet_rejects')"
grep -q "refused a message" "$T/central.log" && fail "central refused a message"

daemon_stop central
"$PHITRAIL" verify --config "$T/central/phitrail.conf" >"$T/verify.out" 2>&1 ||
	fail "verify of the central store failed: $(cat "$T/verify.out")"
daemon_stop h1
daemon_stop h2
echo "fleet: $(central_sql 'SELECT count(*) FROM origin') records from 2 hosts, exactly once"
pass
