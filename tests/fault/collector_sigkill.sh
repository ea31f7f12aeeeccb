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
PER=40800            # x 5 programs = 204,000 records
PROGRAMS=5
KILLS=6
make_programs

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
wait_all_stored
stop_collector        # a clean stop: everything committed, the file closed
check_exactly_once
pass
