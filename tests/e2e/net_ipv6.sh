# IPv6 end to end: rules connect = [::1]:PORT and accept = [::1]:PORT; a
# python3 server and socat TCP6 client, both under the shim. Targets are
# written tcp:[::1]:PORT; byte counts per connection are exact on both
# sides. Skipped (77) when the machine has no ::1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
command -v socat >/dev/null || skip "socat is not installed"
python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
	skip "no ::1 on this machine"
setup
PORT=$(free_port ::1)
printf '[rule v6-out]\nconnect = [::1]:%s\n\n[rule v6-in]\naccept = [::1]:%s\n' \
	"$PORT" "$PORT" >>"$CONF"
start_collector

head -c 2048 /dev/urandom >"$T/data"
cat >"$T/server.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").write("up")
c, _ = s.accept()
n = 0
while True:
    b = c.recv(1000)
    if not b:
        break
    n += len(b)
c.sendall(b"a" * 64)
c.close()
open(sys.argv[3], "w").write(str(n))
PY
shim python3 "$T/server.py" "$PORT" "$T/up" "$T/count" &
SERVER=$!
wait_file "$T/up"
shim socat -t 5 STDIO "TCP6:[::1]:$PORT" <"$T/data" >"$T/answer" || fail "socat failed under the shim"
wait_pid "$SERVER" || fail "server failed under the shim"
[ "$(cat "$T/count")" = 2048 ] || fail "server received $(cat "$T/count") bytes"
[ "$(wc -c <"$T/answer")" = 64 ] || fail "client received $(wc -c <"$T/answer") bytes"

expect_count 1 --event "PHI Connection Opened"
expect_count 1 --event "PHI Connection Accepted"
[ "$(jfield '.target' --rule v6-out | sort -u)" = "tcp:[::1]:$PORT" ] ||
	fail "client targets are not tcp:[::1]:$PORT"
[ "$(jfield '.detail.local' --event 'PHI Connection Accepted')" = "tcp:[::1]:$PORT" ] ||
	fail "accepted local address is not tcp:[::1]:$PORT"
jfield '.target' --rule v6-in | grep -qv '^tcp:\[::1\]:[0-9]*$' &&
	fail "server targets are not tcp:[::1]:PORT"
[ "$(jfield '.detail.bytes' --rule v6-out --event 'PHI Message Sent')" = 2048 ] || fail "client sent bytes"
[ "$(jfield '.detail.bytes' --rule v6-out --event 'PHI Message Received')" = 64 ] || fail "client received bytes"
[ "$(jfield '.detail.bytes' --rule v6-in --event 'PHI Message Received')" = 2048 ] || fail "server received bytes"
[ "$(jfield '.detail.bytes' --rule v6-in --event 'PHI Message Sent')" = 64 ] || fail "server sent bytes"
expect_count 3 --rule v6-out
expect_count 3 --rule v6-in
pass
