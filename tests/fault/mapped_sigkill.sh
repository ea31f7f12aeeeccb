# A program with 4 threads flooding its mapped spool file is killed with
# SIGKILL mid-flood. Every call that had returned in the program has its
# record in the store; what a thread had reserved but not yet written is
# reported lost ("Audit Records Lost"), never silently dropped, and a
# reserved frame never written does not stop the records after it from
# being stored: stored + reported lost covers every returned call, and
# exceeds it by at most the calls that were in flight (one per thread).
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -o "$T/mapload" "$ROOT/tests/fault/mapload.c" -lpthread || fail "cannot build mapload"
THREADS=4
mkdir -p "$P/4711"
k=0
while [ $k -lt $THREADS ]; do
	j=0; while [ $j -lt 16 ]; do echo "chart" >"$P/4711/t${k}_$j.txt"; j=$((j + 1)); done
	k=$((k + 1))
done
start_collector
shim "$T/mapload" threads "$P/4711" $THREADS 10000000 "$T/counts" >/dev/null 2>&1 &
shell=$!
i=0
pid=""
while [ -z "$pid" ] && [ $i -lt 100 ]; do
	pid=$(pgrep -f "$T/mapload threads" | head -n 1)
	sleep 0.05
	i=$((i + 1))
done
[ -n "$pid" ] || fail "mapload did not start"
sleep 1.5
kill -KILL "$pid" || fail "cannot kill mapload"
wait $shell 2>/dev/null
kill -0 "$pid" 2>/dev/null && fail "mapload survived SIGKILL"
# The collector sees the writer gone within a second, then reads the rest.
sleep 1.5
settle
q --event viewed --patient 4711 >"$T/records.json"
q --event "Audit Records Lost" >"$T/lost.json"
python3 - "$T/counts" "$T/records.json" "$T/lost.json" $THREADS <<'PY' || fail "a returned call's record is missing, or a loss is silent"
import json, re, struct, sys
counts_path, recs_path, lost_path, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(counts_path, "rb") as f:
    counts = struct.unpack("<%dq" % threads, f.read(8 * threads))
recs = [json.loads(l) for l in open(recs_path) if l.strip()]
lost = sum(int(json.loads(l)["detail"]["count"]) for l in open(lost_path) if l.strip())
per = [0] * threads
for r in recs:
    per[int(re.search(r"/t(\d+)_\d+\.txt$", r["target"]).group(1))] += 1
returned = sum(counts)
print("returned %d stored %d lost %d per-thread %s vs %s" % (returned, len(recs), lost, per, counts))
if returned < 1000:
    sys.exit("the flood was too short to mean anything")
for k in range(threads):
    if per[k] < counts[k]:
        sys.exit("thread %d: %d calls returned, %d records stored" % (k, counts[k], per[k]))
if len(recs) + lost < returned or len(recs) + lost > returned + threads:
    sys.exit("stored + lost = %d, returned %d" % (len(recs) + lost, returned))
if len({r["seq"] for r in recs}) != len(recs):
    sys.exit("a seq was stored twice")
PY
[ "$(count --event "Audit Spool Tampered")" = 0 ] || fail "tampering was reported"
left=$(find "$T/spool/active" -type f | wc -l)
[ "$left" = 0 ] || fail "$left spool file(s) left after the writer was gone and all was read"
pass
