# python3 reads a chart and appends to it with open(): Viewed, then Modified.
. "$(dirname "$0")/lib.sh"
setup
start_collector

mkdir -p "$P/4711"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
shim python3 -c '
import sys
p = sys.argv[1]
with open(p) as f:
    data = f.read()
assert data.startswith("Name: Jane Doe"), data
with open(p, "a") as f:
    f.write("Seen by Dr. Who\n")
' "$P/4711/chart.txt" || fail "python3 failed under the shim"
grep -q 'Seen by Dr. Who' "$P/4711/chart.txt" || fail "the append did not happen"

expect_event "PHI File Viewed" 4711
expect_event "PHI File Modified" 4711
expect_count 2 --patient 4711
case "$(jfield '.exe' --patient 4711 | xargs -n1 basename | sort -u)" in
python3*) ;;
*) fail "exe is not python3: $(jfield '.exe' --patient 4711)" ;;
esac
pass
