# A claim that never reaches the collector (its process died between
# creating its .claim file in incoming/ and sending the claim) while the
# collector runs: the collector leaves the file alone while it is younger
# than HANDOFF_CLAIM_GRACE_S (10 s: its claim may still be queued), then
# its rescan (every 5 s) adopts it as a fallback file: both records stored
# once, under the file's owner, the file gone once read.
. "$(dirname "$0")/lib.sh"
setup
start_collector
python3 "$ROOT/tests/fault/forge.py" lostclaim "$T/spool" 7101 >"$T/forge.out" ||
	fail "the writer failed: $(cat "$T/forge.out")"
claim=$(sed -n 's/^lostclaim: \(.*\.claim\) by pid.*/\1/p' "$T/forge.out")
[ -f "$claim" ] || fail "no claim file: $(cat "$T/forge.out")"
sleep 4
[ "$(count --patient 7101)" = 0 ] || fail "a claim younger than its grace was taken"
[ -f "$claim" ] || fail "the young claim file was moved"
i=0
until [ "$(count --patient 7101)" -ge 2 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "the lost claim was not adopted within 30 s"
	sleep 0.1
done
settle
expect_count 2 --patient 7101
[ "$(jfield '.identity' --patient 7101 | sort -u)" = "file-owner" ] ||
	fail "identity is $(jfield '.identity' --patient 7101 | sort -u), not file-owner"
[ "$(jfield '.uid' --patient 7101 | sort -u)" = "$(id -u)" ] || fail "not under the file's owner"
[ "$(jfield '.seq' --patient 7101 | tr '\n' ' ')" = "0 1 " ] || fail "records out of order or twice"
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
i=0
while [ -e "$claim" ] || ls "$T/spool/incoming/" | grep -q "$(basename "$claim" .claim)"; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the adopted file was not retired: $(ls "$T/spool/incoming/")"
	sleep 0.1
done
pass
