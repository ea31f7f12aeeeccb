# A program killed with SIGKILL right after a PHI call returns: the call's
# record is in the store (the shim hands it off inside the call, not at
# exit). Once with the collector up, once with it down (fallback spool).
. "$(dirname "$0")/lib.sh"
setup
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
mkdir -p "$P/4711" "$P/5822"
echo chart >"$P/4711/chart.txt"
echo chart >"$P/5822/chart.txt"

# killed: run one program under the shim; kill -9 it once READY exists.
killed() {
	rm -f "$T/ready"
	shim timeout 60 "$T/phiload" readwait "$1" "$T/ready" >/dev/null 2>&1 &
	shell=$!
	i=0
	while [ ! -s "$T/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	[ -s "$T/ready" ] || fail "phiload never signalled readiness"
	pid=$(cat "$T/ready")
	kill -KILL "$pid" || fail "cannot kill phiload (pid $pid)"
	wait "$shell" 2>/dev/null
	kill -0 "$pid" 2>/dev/null && fail "phiload (pid $pid) survived SIGKILL"
	[ "$(jfield '.pid' --event viewed 2>/dev/null | grep -c "^$pid$")" -le 1 ] ||
		fail "more than one record from pid $pid"
}

start_collector
killed "$P/4711/chart.txt"
wait_count 1 --event viewed --patient 4711
[ "$(jfield '.pid' --event viewed --patient 4711)" = "$pid" ] || fail "the record is not from the killed pid $pid"
stop_collector

killed "$P/5822/chart.txt"
start_collector
wait_count 1 --event viewed --patient 5822
expect_count 1 --event viewed --patient 4711
expect_count 1 --event viewed --patient 5822
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
pass
