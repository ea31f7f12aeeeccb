# The store process (the collector's unprivileged child that follows the
# spool files and writes the store) killed with SIGKILL 4 times while 4
# programs under the real shim produce 163,200 PHI records (two start while
# the collector is up, two while it is down). Each time the privileged
# parent notices, says so, and exits with status 1 within seconds (a
# service manager starts it again; here the test does); then every record
# is stored exactly once: each program's records form seq 0..N-1 with no
# gap and no repeat, and no loss is reported.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/exactly_once.inc"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
setup
PER=40800            # x 4 programs = 163,200 records
PROGRAMS=4
KILLS=4
make_programs

# store_of PID: the collector's child that is the store process.
store_of() {
	for kid in $(pgrep -P "$1"); do
		grep -q store "/proc/$kid/cmdline" 2>/dev/null && echo "$kid"
	done
	true
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
	store=$(store_of "$COLLECTOR_PID")
	[ "$(echo "$store" | grep -c .)" = 1 ] || fail "not one store process: '$store'"
	kill -KILL "$store"
	status=0
	wait "$COLLECTOR_PID" || status=$?
	COLLECTOR_PID=""
	[ "$status" = 1 ] || fail "the collector exited with status $status after its store process was killed, expected 1"
	grep -q "store process (pid $store) was killed by signal 9: phitraild stops" "$T/collector.log" ||
		fail "the collector did not say its store process was killed"
	running=0
	for p in $pids; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
	echo "kill $r: $running program(s) writing"
	[ $r -le 2 ] && [ "$running" = 0 ] &&
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
stop_collector
check_exactly_once
pass
