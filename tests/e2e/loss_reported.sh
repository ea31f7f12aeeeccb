# Loss that cannot be avoided is never silent, shown with real programs
# under the real shim:
#  - neither the collector nor the fallback spool can take a record: the
#    shim counts it and the next record it hands off says so; the collector
#    stores "Audit Records Lost" (count 1, the program's pid);
#  - a fallback spool file cut short: "Audit Records Lost" (frame cut short);
#  - a frame removed from the middle (a seq gap): "Audit Records Lost";
#  - a byte changed: "Audit Spool Tampered", the file set aside in quarantine/.
. "$(dirname "$0")/lib.sh"
setup
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
for p in 1001 1002 1003 1004; do mkdir -p "$P/$p"; echo "chart $p" >"$P/$p/chart.txt"; done
INC=$T/spool/incoming

# --- the shim cannot hand off at all (collector down, spool unwritable).
sed "s|^spool .*|spool = /proc/phitrail-no-spool|" "$CONF" >"$T/nospool.conf"
mkfifo "$T/go"
"$PHITRAIL" run --config "$T/nospool.conf" -- \
	timeout 60 "$T/phiload" steps "$P/1001/chart.txt" "$T/go" rgr >"$T/steps.out" &
prog=$!
sleep 0.5
start_collector
echo go >"$T/go"
wait "$prog" || fail "the program failed when its record could not be handed off"
[ "$(cat "$T/steps.out")" = "r:0 r:0 " ] || fail "the program saw: $(cat "$T/steps.out")"
wait_count 1 --event "Audit Records Lost"
expect_count 1 --event viewed --patient 1001
lost=$(q --event "Audit Records Lost" | jq -r 'select(.detail.reason == "writer could not hand them off") | "\(.detail.count) \(.detail.pid)"')
viewer=$(jfield '.pid' --event viewed --patient 1001)
[ "$lost" = "1 $viewer" ] || fail "expected a loss of 1 record from pid $viewer, got [$lost]"
grep -q "record(s) of pid $viewer lost (writer could not hand them off)" "$T/collector.log" ||
	fail "the loss is not in the collector's log"
stop_collector

# --- fallback spool files written while the collector is down, then damaged.
newest() { ls -t "$INC" | head -n 1; }
shim "$T/phiload" steps "$P/1002/chart.txt" /dev/null rrr >/dev/null
cut=$INC/$(newest)
size=$(stat -c %s "$cut")
truncate -s $((size - 5)) "$cut"          # the last frame cut short
cutpid=$(od -An -tu4 -j20 -N4 "$cut" | tr -d ' ')   # the writer its header names

shim "$T/phiload" steps "$P/1003/chart.txt" /dev/null rrr >/dev/null
gap=$INC/$(newest)
[ "$gap" != "$cut" ] || fail "no new fallback spool file"
python3 - "$gap" <<'PY' || fail "cannot remove a frame"
import struct, sys
p = sys.argv[1]
b = open(p, "rb").read()
head, pos, frames = b[:64], 64, []
while pos < len(b):
    n = struct.unpack_from("<I", b, pos)[0]
    frames.append(b[pos:pos + 8 + n])
    pos += 8 + n
assert len(frames) == 3, len(frames)
open(p, "wb").write(head + frames[0] + frames[2])   # seq 1 is gone
PY

shim "$T/phiload" steps "$P/1004/chart.txt" /dev/null rrr >/dev/null
bad=$INC/$(newest)
python3 - "$bad" <<'PY' || fail "cannot damage a frame"
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack_from("<I", b, 64)[0]
b[64 + 8 + n + 8 + 20] ^= 0x01            # a byte inside the second frame
open(p, "wb").write(b)
PY

start_collector
wait_count 1 --event "Audit Spool Tampered"
wait_count 2 --event viewed --patient 1002
settle
expect_count 2 --event viewed --patient 1002
expect_count 2 --event viewed --patient 1003
expect_count 1 --event viewed --patient 1004
reasons=$(q --event "Audit Records Lost" | jq -r '"\(.detail.reason) \(.detail.count) \(.detail.from_seq)"' | sort)
expected=$(printf '%s\n' "frame cut short 1 2" "sequence gap 1 1" "writer could not hand them off 1 null" | sort)
[ "$reasons" = "$expected" ] || fail "losses reported: [$reasons], expected [$expected]"
# The writer is gone: its records carry no pid (not confirmed by the
# kernel), the loss names the pid the file claims.
[ "$(jfield '.pid' --event viewed --patient 1002 | sort -u)" = null ] ||
	fail "an unconfirmed pid was recorded"
[ "$(q --event "Audit Records Lost" | jq -r 'select(.detail.reason == "frame cut short") | .detail.pid')" = "$cutpid" ] ||
	fail "the cut-short loss does not name pid $cutpid"
why=$(jfield '.detail.reason' --event "Audit Spool Tampered")
echo "tampering reported: $why"
[ -n "$why" ] && [ "$why" != null ] || fail "no reason for the tampering"
ls "$T/spool/quarantine" | grep -q . || fail "the damaged file was not set aside in quarantine/"
[ ! -e "$bad" ] || fail "the damaged file is still in incoming/"
grep -q "damaged or tampered with" "$T/collector.log" || fail "the tampering is not in the collector's log"
pass
