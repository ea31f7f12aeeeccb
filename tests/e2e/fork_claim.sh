# A forked child's first record does not wait for the collector (the
# claim, common/format/handoff.h), yet keeps the guarantees: python3 reads a PHI
# file (the parent has handed off), then forks children that read one each.
#   1  twenty children, one after the other: twenty records, each with its
#      child's own pid, ppid = the parent, identity "verified"; no claim or
#      spool file left behind once they are stored;
#   2  a child SIGKILLed right after its read returns: its record is stored,
#      verified, with its pid (the collector reads the claim after the death);
#   3  the collector SIGKILLed right after a child's read returns: after a
#      restart the record is stored exactly once with the child's pid.
. "$(dirname "$0")/lib.sh"
setup
command -v python3 >/dev/null || skip "python3 is needed"
for p in parent one kill9 coll9; do mkdir -p "$P/$p"; echo chart >"$P/$p/chart.txt"; done
for i in $(seq 1 20); do mkdir -p "$P/c$i"; echo chart >"$P/c$i/chart.txt"; done

# forker MODE: the parent reads its chart, then forks as MODE says.
cat >"$T/forker.py" <<'PY'
import os, sys, time
P, mode, ready = sys.argv[1], sys.argv[2], sys.argv[3]
def read(patient):
    with open(os.path.join(P, patient, "chart.txt")) as f:
        f.read()
read("parent")
if mode == "many":
    for i in range(1, 21):
        pid = os.fork()
        if pid == 0:
            read("c%d" % i)
            os._exit(0)
        os.waitpid(pid, 0)
    print(os.getpid())
else:
    pid = os.fork()
    if pid == 0:
        read(mode)
        with open(ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(ready + ".tmp", ready)
        time.sleep(60)
        os._exit(0)
    os.waitpid(pid, 0)
PY

# ready_pid: waits for the child's pid in $T/ready.
ready_pid() {
	i=0
	while [ ! -s "$T/ready" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
	[ -s "$T/ready" ] || fail "the child never signalled readiness"
	cat "$T/ready"
}

start_collector
parent=$(shim python3 "$T/forker.py" "$P" many "$T/ready") || fail "forker many failed"
wait_count 21 --event viewed
for i in $(seq 1 20); do
	rec=$(q --event viewed --patient "c$i" | jq -c '[.pid, .ppid, .identity]')
	pid=$(echo "$rec" | jq -r '.[0]')
	[ "$(echo "$rec" | jq -r '.[1]')" = "$parent" ] || fail "c$i: ppid is not the parent $parent: $rec"
	[ "$(echo "$rec" | jq -r '.[2]')" = verified ] || fail "c$i: identity not verified: $rec"
	[ "$pid" != "$parent" ] || fail "c$i: the record names the parent, not the child"
	echo "$pid"
done >"$T/pids"
[ "$(sort -u "$T/pids" | wc -l)" -eq 20 ] || fail "twenty children, not twenty pids: $(cat "$T/pids")"
i=0
while ls "$T/spool/incoming" | grep -q . && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(ls "$T/spool/incoming")" ] || fail "files left in incoming/: $(ls "$T/spool/incoming")"

# 2: the child is killed right after its read.
rm -f "$T/ready"
shim python3 "$T/forker.py" "$P" kill9 "$T/ready" &
forker=$!
child=$(ready_pid)
kill -KILL "$child"
wait "$forker"
wait_count 1 --event viewed --patient kill9
[ "$(jfield '.pid' --event viewed --patient kill9)" = "$child" ] || fail "kill9: not the child's pid $child"
[ "$(jfield '.identity' --event viewed --patient kill9)" = verified ] || fail "kill9: identity not verified"

# 3: the collector is killed right after the child's read.
rm -f "$T/ready"
shim python3 "$T/forker.py" "$P" coll9 "$T/ready" &
forker=$!
child=$(ready_pid)
kill_collector
start_collector
wait_count 1 --event viewed --patient coll9
kill -KILL "$child"
wait "$forker"
expect_count 1 --event viewed --patient coll9
[ "$(jfield '.pid' --event viewed --patient coll9)" = "$child" ] || fail "coll9: not the child's pid $child"
expect_count 25 --event viewed
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
[ "$(count --event "Audit Spool Tampered")" = 0 ] || fail "tampering was reported"
pass
