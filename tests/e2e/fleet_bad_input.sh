# What the aggregator does with messages no honest host sends: a record
# altered in flight (its bytes no longer hash to its leaf), garbage,
# an oversized message, a message whose subject names another host than
# its headers, a host store claimed by another host, and a checkpoint
# signed with another key. Each is refused and counted (fleet_rejects),
# nothing of them is stored, and the aggregator stays up and keeps
# storing a genuine host's records. Then a host store whose ids jump
# (1, 2, 5) while it keeps shipping past the gap for longer than
# stall_time gets "Audit Records Lost" for 3..4.
. "$(dirname "$0")/lib.sh"
setup
. "$ROOT/tests/e2e/fleet.inc"

fleet_tools

FLEET_REPLICAS=1
nats_cluster_start 1
host_setup h1
sed -i 's/^batch_delay_ms = 20$/batch_delay_ms = 20\ncheckpoint_interval = 1/' "$T/h1/phitrail.conf"
FLEET_GAP_S=2 aggregator_setup
sed -i 's|^key_file .*|&\ncheckpoint_interval = 1|' "$T/central/phitrail.conf"
daemon_start h1
daemon_start central --aggregate
"$T/driver" --tag genuine "$T/h1/run/ingest.sock" 100 || fail "driver failed"
URL=nats://127.0.0.1:$(nats_port 1)
i=0
# (and the central store's own first checkpoint: the forged one below is
# made of it; read before it exists it was empty, which cnats cannot parse)
until [ "$(central_sql "SELECT count(*) FROM fleet_checkpoints")" -ge 1 ] 2>/dev/null &&
      [ "$(central_sql "SELECT count(*) FROM checkpoints")" -ge 1 ] 2>/dev/null &&
      [ "$(central_sql "SELECT count(*) FROM origin")" -ge 100 ] 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "h1's records and checkpoints did not reach the central store"
	sleep 0.1
done
STORE=$(host_sql h1 "SELECT value FROM meta WHERE key = 'store_id'")
before=$(central_sql "SELECT count(*) FROM records")

# record 5 of h1 as the host sent it, headers and all
row=$(host_sql h1 "SELECT hex(bytes), lower(hex(leaf_hash)) FROM records WHERE id = 5")
echo "${row%|*}" | xxd -r -p >"$T/r5"
LEAF=${row#*|}
pub() { # SUBJECT DATAFILE HEADERS...
	"$T/fleet_publish" "$URL" "$@" || fail "fleet_publish $1 failed"
}
record_headers() { # HOST STORE ID LEAF
	echo "Phitrail-Version:1 Phitrail-Kind:record Phitrail-Host:$1 Phitrail-Store:$2 Phitrail-Id:$3 Phitrail-Leaf:$4"
}

# altered in flight: one byte of the record changed, the leaf kept
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-3]^=1; open(sys.argv[2],"wb").write(b)' \
	"$T/r5" "$T/r5.altered"
pub phitrail.ws_fleet.h1 "$T/r5.altered" $(record_headers h1 "$STORE" 5 "$LEAF")
# garbage without headers, and garbage with a record's headers
head -c 300 /dev/urandom >"$T/garbage"
pub phitrail.ws_fleet.h1 "$T/garbage"
pub phitrail.ws_fleet.h1 "$T/garbage" $(record_headers h1 "$STORE" 7 "$LEAF")
# oversized: 100 KiB (a record is at most 16 KiB)
head -c 102400 /dev/zero >"$T/big"
pub phitrail.ws_fleet.h1 "$T/big" $(record_headers h1 "$STORE" 8 "$LEAF")
# the subject names h2, the headers h1
pub phitrail.ws_fleet.h2 "$T/r5" $(record_headers h1 "$STORE" 5 "$LEAF")
# h1's store claimed by h2 (subject and headers agree)
pub phitrail.ws_fleet.h2 "$T/r5" $(record_headers h2 "$STORE" 5 "$LEAF")
# h1's checkpoint re-signed... with h2's key: take a checkpoint of another
# store (the central store's own) and claim it for h1's store
cp=$(central_sql "SELECT hex(signed), tree_size FROM checkpoints ORDER BY seq LIMIT 1")
echo "${cp%|*}" | xxd -r -p >"$T/cp"
KEY=$(cat "$T/central/db/signing.key.pub")
pub phitrail.ws_fleet.h1.checkpoints "$T/cp" Phitrail-Version:1 Phitrail-Kind:checkpoint \
	Phitrail-Host:h1 Phitrail-Store:"$STORE" Phitrail-Id:999 Phitrail-Key:"$KEY" \
	Phitrail-Tree-Size:"${cp#*|}" Phitrail-Checkpoint-Kind:checkpoint

# (garbage under a record's headers fails the leaf check first: "altered")
want="altered|2
malformed|1
origin|3
size|1"
i=0
until [ "$(central_sql "SELECT reason, count FROM fleet_rejects ORDER BY reason")" = "$want" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "refusals: $(central_sql 'SELECT * FROM fleet_rejects'), expected $want"
	sleep 0.1
done
kill -0 "$DAEMON_PID_central" || fail "the aggregator died"
[ "$(central_sql "SELECT count(*) FROM origin WHERE host != 'h1'")" = 0 ] ||
	fail "a forged record was stored"
[ "$(central_sql "SELECT count(*) FROM fleet_checkpoints WHERE seq = 999")" = 0 ] ||
	fail "a checkpoint signed with another key was stored"
[ "$(central_sql "SELECT count(*) FROM origin o JOIN records r USING (id)
	WHERE o.record_id = 5 AND o.leaf_hash != X'$LEAF'")" = 0 ] ||
	fail "the altered record replaced the genuine one"

# still up and storing: more genuine records arrive
"$T/driver" --tag after "$T/h1/run/ingest.sock" 50 || fail "driver failed"
i=0
until [ "$(central_sql "SELECT count(*) FROM origin")" = "$(host_sql h1 "SELECT max(id) FROM records")" ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "genuine records stopped arriving after the bad ones"
	sleep 0.1
done

# a store (host h9) whose ids jump from 2 to 5 while it keeps shipping
S9=99999999999999999999999999999999
for id in 1 2 5; do
	row=$(host_sql h1 "SELECT hex(bytes), lower(hex(leaf_hash)) FROM records WHERE id = $id")
	echo "${row%|*}" | xxd -r -p >"$T/g$id"
	pub phitrail.ws_fleet.h9 "$T/g$id" $(record_headers h9 $S9 $id "${row#*|}")
done
sleep 3
# (its shipping clock moves at most 1 s between two of its messages)
for id in 6 7 8 9; do
	row=$(host_sql h1 "SELECT hex(bytes), lower(hex(leaf_hash)) FROM records WHERE id = $id")
	echo "${row%|*}" | xxd -r -p >"$T/g$id"
	pub phitrail.ws_fleet.h9 "$T/g$id" $(record_headers h9 $S9 $id "${row#*|}")
	sleep 1.5
done
i=0
until [ "$(central_sql "SELECT count(*) FROM records WHERE event_type = 'Audit Records Lost'")" -ge 1 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "no Audit Records Lost for h9's ids 3..4"
	sleep 0.1
done
got=$("$PHITRAIL" query --config "$T/central/phitrail.conf" --host h9 \
	--event "Audit Records Lost" --format json | jq -c '[.host, .target, .detail.from_id, .detail.to_id, .detail.count]')
[ "$got" = "[\"h9\",\"$S9\",3,4,2]" ] || fail "loss report: $got"
# fleet answers: --host picks one host's records, the host in every format
n=$("$PHITRAIL" query --config "$T/central/phitrail.conf" --host h1 --count)
[ "$n" = "$(central_sql "SELECT count(*) FROM origin WHERE host = 'h1'")" ] ||
	fail "--host h1 counts $n"
"$PHITRAIL" query --config "$T/central/phitrail.conf" --host h9 --format csv | head -n 1 |
	grep -q host || fail "csv has no host column"
"$PHITRAIL" query --config "$T/central/phitrail.conf" --host h9 | grep -q " h9 " ||
	fail "the table shows no host"
daemon_stop central
daemon_stop h1
# verify: the central chain, and each host's records against its signed roots
"$PHITRAIL" verify --config "$T/central/phitrail.conf" >"$T/verify.out" 2>&1 ||
	fail "verify of the central store: $(cat "$T/verify.out")"
grep -q "^ok: host h1 (store $STORE): .* signed checkpoint(s) of the host hold" "$T/verify.out" ||
	fail "verify did not check h1's chain: $(cat "$T/verify.out")"
grep -q "^  records from 3 on are not all here" "$T/verify.out" ||
	fail "verify did not say h9's records are incomplete: $(cat "$T/verify.out")"
# a host's copy changed centrally (one byte of record 5's origin bytes)
cp "$T/central/db/central.db" "$T/central.db.orig"
central_sql "UPDATE origin SET bytes = CAST(replace(CAST(bytes AS TEXT), 'genuine', 'genuinf') AS BLOB)
	WHERE store_id = '$STORE' AND record_id = 5"
"$PHITRAIL" verify --config "$T/central/phitrail.conf" >"$T/verify.out" 2>&1 &&
	fail "verify passed a changed host record: $(cat "$T/verify.out")"
grep -q "record 5 of host h1" "$T/verify.out" ||
	fail "verify did not name h1's record 5: $(cat "$T/verify.out")"
pass
