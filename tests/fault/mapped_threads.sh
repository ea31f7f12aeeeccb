# The mapped spool file under 8 threads x 20,000 PHI reads in one program:
# the program maps its spool file (seen in /proc/PID/maps while it runs),
# the file grows past several preallocation chunks, and every record is
# stored exactly once, each thread's in the order it made them (seq order
# = file order), with no loss reported.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -o "$T/mapload" "$ROOT/tests/fault/mapload.c" -lpthread || fail "cannot build mapload"
THREADS=8
PER=20000
mkdir -p "$P/4711"
k=0
while [ $k -lt $THREADS ]; do
	j=0; while [ $j -lt 16 ]; do echo "chart" >"$P/4711/t${k}_$j.txt"; j=$((j + 1)); done
	k=$((k + 1))
done
start_collector
shim "$T/mapload" threads "$P/4711" $THREADS $PER >"$T/out" &
shell=$!
# While it runs: the spool file is mapped into the program.
mapped=0
i=0
while [ $i -lt 100 ] && kill -0 $shell 2>/dev/null; do
	for pid in $(pgrep -f "$T/mapload threads"); do
		grep -q "$T/spool/active/" "/proc/$pid/maps" 2>/dev/null && mapped=1
	done
	[ $mapped = 1 ] && break
	sleep 0.05
	i=$((i + 1))
done
wait $shell || fail "the program failed under the shim"
[ $mapped = 1 ] || fail "the spool file was never mapped into the program"
[ "$(cat "$T/out")" = $((THREADS * PER)) ] || fail "the program did not finish its reads"
wait_count $((THREADS * PER)) --event viewed --patient 4711
expect_count $((THREADS * PER)) --event viewed --patient 4711
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
[ "$(count --event "Audit Spool Tampered")" = 0 ] || fail "tampering was reported"
q --event viewed --patient 4711 >"$T/records.json"
python3 - "$T/records.json" $THREADS $PER <<'PY' || fail "records missing, repeated or out of order"
import json, re, sys
path, threads, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [json.loads(l) for l in open(path) if l.strip()]
seqs = [r["seq"] for r in recs]
if sorted(seqs) != list(range(threads * per)):
    sys.exit("seq is not 0..%d exactly once" % (threads * per - 1))
by_thread = {}
for r in sorted(recs, key=lambda r: r["seq"]):
    m = re.search(r"/t(\d+)_(\d+)\.txt$", r["target"])
    by_thread.setdefault(int(m.group(1)), []).append(int(m.group(2)))
for k in range(threads):
    got = by_thread.get(k, [])
    if got != [i % 16 for i in range(per)]:
        sys.exit("thread %d: %d records, not in its order" % (k, len(got)))
PY
left=$(find "$T/spool/active" -type f | wc -l)
[ "$left" = 0 ] || fail "$left spool file(s) left after the writer exited and all was stored"
pass
