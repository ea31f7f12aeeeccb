# Slowloris on the collector: another user holds hundreds of query-socket
# connections with one byte each (2 s at a time, round after round) and
# throws random blobs at both sockets. Meanwhile a real program's PHI read
# (cat under the shim) must be stored, and root's query answered, each
# within the usual 10 s wait: ingest never waits on a query client, a
# request must be whole within its deadline, and one user cannot hold all
# the query slots. The times of each step are printed (figures, not
# assertions on speed).
. "$(dirname "$0")/../e2e/lib.sh"
command -v setpriv >/dev/null || skip "setpriv not installed"
command -v jq >/dev/null || skip "jq not installed"
[ "$(id -u)" = 0 ] || skip "needs root to run the attacker as another user"
setup
start_collector
mkdir -p "$P/4711"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
chmod -R a+rX "$T"
mkdir "$T/attack"
chown 65534:65534 "$T/attack"

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
PY=""
for p in /usr/bin/python3 "$(command -v python3)"; do
	as_nobody "$p" -c 'import socket' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || skip "no python3 that uid 65534 may run"
ms() { date +%s%3N; }
give_up() {
	kill_collector
	fail "$@"
}

t0=$(ms)
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$PY" "$ROOT/tests/fault/slowloris.py" \
	"$T/run/query.sock" "$T/run/ingest.sock" "$T/attack/ready" 30 >"$T/attack/log" 2>&1 &
ATTACK=$!
track_pid "$ATTACK"
i=0
while [ ! -e "$T/attack/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$T/attack/ready" ] || give_up "the attacker did not open its connections: $(cat "$T/attack/log")"
t1=$(ms)
echo "attack: first round open after $((t1 - t0)) ms"

shim cat "$P/4711/chart.txt" >/dev/null || give_up "cat failed under the shim"
t2=$(ms)
echo "cat under the shim: $((t2 - t1)) ms"
# Stored and answered within 10 s of the cat, however long each try waits.
until [ "$(timeout 2 "$PHITRAIL" query --config "$CONF" --count --patient 4711 2>/dev/null)" = 1 ]; do
	[ $(($(ms) - t2)) -lt 10000 ] ||
		give_up "the PHI read was not stored (or no query answered) within 10 s of held connections"
	sleep 0.1
done
t3=$(ms)
echo "PHI read stored and a query answered: $((t3 - t2)) ms after cat"
n=$(timeout 10 "$PHITRAIL" query --config "$CONF" --count --event viewed) ||
	give_up "root's query was not answered while connections are held"
t4=$(ms)
echo "a second query answered in $((t4 - t3)) ms"
[ "$n" = 1 ] || give_up "expected 1 view, the store has $n"
# Handed its spool file on the ingest socket, not pushed to the fallback.
id=$(timeout 10 "$PHITRAIL" query --config "$CONF" --format json --event viewed | jq -r .identity)
[ "$id" = verified ] || give_up "the PHI read was stored with identity $id, not verified: ingest was full"
kill -0 "$ATTACK" 2>/dev/null || give_up "the attack ended before the checks: $(cat "$T/attack/log")"

stop_pid "$ATTACK"
wait_count 1 --event viewed
kill -0 "$COLLECTOR_PID" || fail "the collector died"
echo "attacker: $(cat "$T/attack/log")"
echo "collector peak RSS (its processes' VmHWM summed): $(collector_kb VmHWM) kB"
grep -E 'query|ingest' "$T/collector.log" | tail -n 3
pass
