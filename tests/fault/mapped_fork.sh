# A program with a mapped spool file forks; the child makes PHI reads of
# its own. The child never writes into its parent's mapping: its records
# carry its own pid and seq from 0, in a spool file of its own, and both
# sets are complete.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -o "$T/mapload" "$ROOT/tests/fault/mapload.c" -lpthread || fail "cannot build mapload"
N=5000
mkdir -p "$P/4711"
echo chart >"$P/4711/parent.txt"
echo chart >"$P/4711/child.txt"
start_collector
shim "$T/mapload" fork "$P/4711" $N >"$T/out" || fail "the program failed under the shim"
wait_count $((2 * N)) --event viewed --patient 4711
expect_count $((2 * N)) --event viewed --patient 4711
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
[ "$(count --event "Audit Spool Tampered")" = 0 ] || fail "tampering was reported"
q --event viewed --patient 4711 >"$T/records.json"
python3 - "$T/records.json" $N <<'PY' || fail "parent's and child's records are mixed up"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
by = {}
for r in recs:
    by.setdefault(r["target"].rsplit("/", 1)[1], []).append(r)
parent, child = by.get("parent.txt", []), by.get("child.txt", [])
if len(parent) != n or len(child) != n:
    sys.exit("parent %d, child %d records" % (len(parent), len(child)))
if len({r["pid"] for r in parent}) != 1 or len({r["pid"] for r in child}) != 1:
    sys.exit("more than one pid per side")
if parent[0]["pid"] == child[0]["pid"]:
    sys.exit("the child's records carry the parent's pid")
for side in (parent, child):
    if sorted(r["seq"] for r in side) != list(range(n)):
        sys.exit("seq is not 0..n-1 on one side")
PY
pass
