# A program that starts while the collector is down and keeps writing after
# it starts: its fallback spool file is adopted while still being written,
# followed to the end, and deleted once the program is gone. Every record
# is stored exactly once (seq 0..2999), marked "file-owner", and the
# program never notices.
. "$(dirname "$0")/lib.sh"
setup
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
mkdir -p "$P/4711"
k=0; while [ $k -lt 16 ]; do echo "chart $k" >"$P/4711/f$k.txt"; k=$((k + 1)); done

shim "$T/phiload" read "$P/4711" 3000 16 1500000 >"$T/out" &
prog=$!
sleep 0.5
[ -n "$(ls -A "$T/spool/incoming" 2>/dev/null)" ] || fail "no fallback spool file while the collector is down"
start_collector
kill -0 "$prog" 2>/dev/null || fail "the program ended before the collector started: the test proves nothing"
wait_count 1 --event viewed --patient 4711
wait "$prog" || fail "the program failed under the shim"
[ "$(cat "$T/out")" = 3000 ] || fail "the program did not finish its 3000 reads"
wait_count 3000 --event viewed --patient 4711
expect_count 3000 --event viewed --patient 4711
seqs=$(jfield '.seq' --event viewed --patient 4711 | sort -n | uniq | awk 'NR == 1 { first = $1 } END { print NR, first, $1 }')
[ "$seqs" = "3000 0 2999" ] || fail "seq is not 0..2999 once each: $seqs (count first last)"
[ "$(jfield '.identity' --patient 4711 | sort -u)" = "file-owner" ] || fail "identity is not file-owner"
[ "$(jfield '.pid' --patient 4711 | sort -u | wc -l)" = 1 ] || fail "records from more than one pid"
i=0
while [ -n "$(ls -A "$T/spool/incoming")" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(ls -A "$T/spool/incoming")" ] || fail "the fallback spool file was left behind"
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
pass
