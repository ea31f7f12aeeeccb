# The collector asleep (nothing written for a second) is woken by a single
# record in a mapped spool file: the writer sees the collector's "asleep"
# word and signals its eventfd (the only system call of the hand-off). The
# record is stored within a second, and the collector's log says writers
# woke it. The program first makes 100 records: its first ones go to the
# file it claimed (write()), and a process that goes on writing is given a
# mapped file (handoff.c, HANDOFF_UPGRADE_RECORDS), seen in its maps.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -o "$T/mapload" "$ROOT/tests/fault/mapload.c" -lpthread || fail "cannot build mapload"
mkdir -p "$P/4711"
echo chart >"$P/4711/chart.txt"
start_collector
shim "$T/mapload" idle "$P/4711/chart.txt" "$T/ready" 100 &
shell=$!
i=0
while [ ! -s "$T/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$T/ready" ] || fail "mapload never signalled readiness"
wait_count 100 --event viewed --patient 4711
pid=$(pgrep -f "mapload idle $P/4711" | head -n 1)
grep -q "$T/spool/active/" "/proc/$pid/maps" 2>/dev/null ||
	fail "the program (pid $pid) has no spool file mapped after 100 records"
sleep 1                      # nothing to read: the collector sleeps
rm -f "$T/ready"             # one more record
i=0
while [ "$(count --event viewed --patient 4711)" -lt 101 ]; do
	[ $i -lt 20 ] || fail "a single record was not stored within a second"
	sleep 0.05
	i=$((i + 1))
done
wait $shell || fail "the program failed under the shim"
stop_collector
grep -q "woken [1-9][0-9]* time(s) by writers" "$T/collector.log" ||
	fail "no writer ever woke the collector: $(grep 'stopped:' "$T/collector.log")"
pass
