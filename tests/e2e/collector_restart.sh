# The collector restarted between two programs, cleanly and by SIGKILL:
# nothing lost, nothing stored twice.
. "$(dirname "$0")/lib.sh"
setup
start_collector

mkdir -p "$P/4711"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
shim cat "$P/4711/chart.txt" >/dev/null
expect_event viewed 4711

stop_collector
start_collector
shim head -n 1 "$P/4711/chart.txt" >/dev/null
wait_count 2 --event viewed --patient 4711

kill_collector
shim cat "$P/4711/chart.txt" >/dev/null
start_collector
wait_count 3 --event viewed --patient 4711

# A program still running while the collector is killed and restarted.
fifo=$T/go
mkfifo "$fifo"
shim python3 -c '
import sys
p, fifo = sys.argv[1], sys.argv[2]
open(p).read()
open(fifo).read()
open(p, "a").write("late entry\n")
' "$P/4711/chart.txt" "$fifo" &
py=$!
wait_count 4 --event viewed --patient 4711
kill_collector
start_collector
echo go >"$fifo"
wait "$py" || fail "python3 failed under the shim"
wait_count 1 --event modified --patient 4711

expect_count 4 --event viewed --patient 4711
expect_count 1 --event modified --patient 4711
dups=$(q --patient 4711 | jq -r '"\(.pid) \(.seq) \(.event_type)"' | sort | uniq -d)
[ -z "$dups" ] || fail "records stored twice: $dups"
[ "$(count --event "Audit Collector Started")" = 4 ] || fail "expected 4 collector starts"
[ "$(count --event "Audit Collector Stopped")" = 1 ] || fail "expected 1 clean stop"
pass
