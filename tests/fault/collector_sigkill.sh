# The collector killed with SIGKILL 6 times while 5 programs under the real
# shim produce 204,000 PHI records (two start while the collector is up,
# three while it is down; each writes across several kills), then started
# again: every record is stored exactly
# once. Each program's records form seq 0..N-1 with no gap and no repeat,
# and no loss is reported.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/exactly_once.inc"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
setup
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
PER=40800            # x 5 programs = 204,000 records
PROGRAMS=5
KILLS=6
r=1
while [ $r -le $PROGRAMS ]; do
	mkdir -p "$P/p$r"
	k=0; while [ $k -lt 16 ]; do echo "chart $r $k" >"$P/p$r/f$k.txt"; k=$((k + 1)); done
	r=$((r + 1))
done

# launch R: program R reads 40,800 PHI files, pausing 200 ms every 1000, so
# it writes for several seconds, across several collector kills.
launch() {
	shim "$T/phiload" read "$P/p$1" $PER 16 200000 >"$T/out$1" &
	pids="$pids $!"
}

pids=""
start_collector
launch 1
launch 2
sleep 0.3
r=1
next=3
while [ $r -le $KILLS ]; do
	sleep 0.7
	stored=$(count --event viewed 2>/dev/null || echo "?")
	kill_collector
	running=0
	for p in $pids; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
	echo "kill $r: $stored record(s) stored, $running program(s) writing"
	[ $r -ge 2 ] && [ $r -le 4 ] && [ "$running" = 0 ] &&
		fail "no program was writing at kill $r: the test proves nothing"
	if [ $next -le $PROGRAMS ]; then
		launch $next       # starts while the collector is down
		next=$((next + 1))
		sleep 0.3
	fi
	start_collector
	r=$((r + 1))
done
for p in $pids; do
	wait "$p" || fail "a program under the shim failed"
done

total=$((PER * PROGRAMS))
i=0
while [ $i -lt 120 ]; do
	got=$(count --event viewed 2>/dev/null || echo 0)
	[ "$got" -ge "$total" ] && break
	sleep 0.5
	i=$((i + 1))
done
stop_collector        # a clean stop: everything committed, the file closed
check_exactly_once
pass
