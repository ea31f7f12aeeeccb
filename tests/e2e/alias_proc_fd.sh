# A chart opened once and read only through /proc/self/fd/N, then through
# /dev/fd/N, reopened by name: each is one Viewed for the patient, target
# the name as written, the real path in detail; the control file reopened
# the same way leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
command -v python3 >/dev/null || skip "no python3"
cat >"$T/reopen.py" <<'PY'
import os, sys
fd = os.open(sys.argv[2], os.O_RDONLY)
name = "%s/%d" % (sys.argv[1], fd)
with open(name) as f:
    sys.stdout.write(f.read())
print(name, file=sys.stderr)
PY
for dir in /proc/self/fd /dev/fd; do
	shim python3 "$T/reopen.py" "$dir" "$REAL" >"$T/out" 2>"$T/name" ||
		fail "python3 failed under the shim"
	alias_same "$REAL" "$T/out"
	shim python3 "$T/reopen.py" "$dir" "$T/other/control.txt" >/dev/null 2>&1 ||
		fail "python3 on the control failed"
	alias_expect "$(cat "$T/name")"
	# the next round starts from an empty store
	stop_collector
	rm -rf "$T/db" "$T/spool"
	start_collector
done
pass
