# Verified identity: a process running as "nobody" (uid 65534) writes
# records claiming pid 1, uid 0, auid 0, actor root, exe /sbin/init,
# straight into the spool file the ingest socket gave it, into a
# fallback spool file whose header claims pid 1 and uid 0, and into a file
# of its own it claims as a forked child would (common/format/handoff.h). Every record is
# stored under its real identity (the kernel's on the socket, the file's
# owner for the fallback file: its uid, and its pid only when the kernel
# confirms it); a record claiming a collector event is refused and
# reported as tampering.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip "setpriv not installed"
[ "$(id -u)" = 0 ] || skip "needs root to run a writer as another user"
setup
start_collector
cp "$ROOT/tests/fault/forge.py" "$T/forge.py"
chmod 0755 "$T/forge.py"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
PY=""
for p in /usr/bin/python3 "$(command -v python3)"; do
	as_nobody "$p" -c 'import socket; socket.recv_fds' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || skip "no python3 (3.9 or later) that uid 65534 may run"

# --- on the socket
as_nobody "$PY" "$T/forge.py" socket "$T/run/ingest.sock" 7001 >"$T/forge.out" &
forger=$!
wait "$forger" || fail "the forging client failed: $(cat "$T/forge.out")"
real_pid=$(sed -n 's/.*written by pid \([0-9]*\) uid.*/\1/p' "$T/forge.out")
wait_count 2 --patient 7001
wait_count 1 --event "Audit Spool Tampered"
expect_count 2 --patient 7001
[ "$(jfield '"\(.pid) \(.uid) \(.identity)"' --patient 7001 | sort -u)" = "$real_pid 65534 verified" ] ||
	fail "socket records not under the real identity: $(jfield '"\(.pid) \(.uid) \(.identity)"' --patient 7001 | sort -u)"
[ "$(jfield '.actor_user_id' --patient 7001 | sort -u)" = "$(actor_for_uid 65534)" ] ||
	fail "actor is $(jfield '.actor_user_id' --patient 7001 | sort -u), not $(actor_for_uid 65534)"
exe=$(jfield '.exe' --patient 7001 | sort -u)
case "$exe" in */python3*) ;; *) fail "exe is $exe, not the real python3" ;; esac
[ "$(jfield '.auid' --patient 7001 | sort -u)" != 0 ] || fail "the forged auid 0 was believed"
[ "$(jfield '.ppid' --patient 7001 | sort -u)" != 0 ] || fail "the forged ppid 0 was believed"
why=$(jfield '.detail.reason' --event "Audit Spool Tampered")
case "$why" in *"collector event"*) ;; *) fail "the forged collector event is not reported: [$why]" ;; esac
[ "$(count --event "Audit Collector Started")" = 1 ] || fail "a forged collector event was stored"

# --- in a fallback spool file
as_nobody "$PY" "$T/forge.py" fallback "$T/spool" 7002 >"$T/forge2.out" ||
	fail "the forging client failed: $(cat "$T/forge2.out")"
wait_count 2 --patient 7002
wait_count 2 --event "Audit Spool Tampered"
expect_count 2 --patient 7002
[ "$(jfield '"\(.uid) \(.identity)"' --patient 7002 | sort -u)" = "65534 file-owner" ] ||
	fail "fallback records not under the file's owner: $(jfield '"\(.uid) \(.identity)"' --patient 7002 | sort -u)"
[ "$(jfield '.pid' --patient 7002 | sort -u)" != 1 ] || fail "the claimed pid 1 was believed"
[ "$(jfield '.actor_user_id' --patient 7002 | sort -u)" != root ] || fail "the claimed actor root was believed"
grep -q "claims pid 1, which belongs to another user" "$T/collector.log" ||
	fail "the false pid claim is not in the collector's log"

# --- in a claimed file (the hand-off of a forked child)
as_nobody "$PY" "$T/forge.py" claim "$T/run/ingest.sock" "$T/spool" 7003 >"$T/forge3.out" ||
	fail "the forging client failed: $(cat "$T/forge3.out")"
wait_count 2 --patient 7003
wait_count 3 --event "Audit Spool Tampered"
expect_count 2 --patient 7003
[ "$(jfield '"\(.uid) \(.identity)"' --patient 7003 | sort -u)" = "65534 file-owner" ] ||
	fail "claimed records not under the file's owner: $(jfield '"\(.uid) \(.identity)"' --patient 7003 | sort -u)"
[ "$(jfield '.pid' --patient 7003 | sort -u)" != 1 ] || fail "the claimed pid 1 was believed"
grep -q "closed: the header's pid or uid is not the peer's" "$T/collector.log" ||
	fail "the refused claim is not in the collector's log"
pass
