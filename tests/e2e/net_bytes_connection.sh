# A connect rule without protocol: socat under the shim sends a file of
# 5000 bytes to a plain python3 peer, which answers 123 bytes. The end of
# the connection is reported as one PHI Message Sent and one PHI Message
# Received with detail scope=connection and the exact byte counts, and no
# per-message records. socat's connection to a port no rule names leaves
# no record at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
command -v socat >/dev/null || skip "socat is not installed"
setup
PORT=$(free_port)
OTHER=$(free_port)
printf '[rule feed]\nconnect = 127.0.0.1:%s\n' "$PORT" >>"$CONF"
start_collector

head -c 5000 /dev/urandom >"$T/data"
cat >"$T/peer.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").write("up")
c, _ = s.accept()
n = 0
while True:
    b = c.recv(4096)
    if not b:
        break
    n += len(b)
c.sendall(b"r" * 123)
c.close()
open(sys.argv[3], "w").write(str(n))
PY
for p in "$PORT" "$OTHER"; do
	rm -f "$T/up"
	python3 "$T/peer.py" "$p" "$T/up" "$T/count.$p" &
	PEER=$!
	wait_file "$T/up"
	shim socat -t 5 STDIO "TCP:127.0.0.1:$p" <"$T/data" >"$T/answer.$p" ||
		fail "socat to port $p failed under the shim"
	wait_pid "$PEER" || fail "peer on $p failed"
	[ "$(cat "$T/count.$p")" = 5000 ] || fail "peer on $p received $(cat "$T/count.$p") bytes"
	[ "$(wc -c <"$T/answer.$p")" = 123 ] || fail "socat got $(wc -c <"$T/answer.$p") bytes from $p"
done

expect_count 1 --event "PHI Connection Opened"
expect_count 1 --event "PHI Message Sent"
expect_count 1 --event "PHI Message Received"
[ "$(jfield '.detail.bytes' --event 'PHI Message Sent')" = 5000 ] ||
	fail "sent bytes are $(jfield '.detail.bytes' --event 'PHI Message Sent'), not 5000"
[ "$(jfield '.detail.bytes' --event 'PHI Message Received')" = 123 ] ||
	fail "received bytes are $(jfield '.detail.bytes' --event 'PHI Message Received'), not 123"
[ "$(jfield '.detail.scope' --rule feed | grep -c '^connection$')" = 2 ] ||
	fail "byte counts are not scope=connection"
[ "$(jfield '.detail.protocol' --rule feed | sort -u)" = null ] || fail "a protocol was reported"
[ "$(jfield '.target' --rule feed | sort -u)" = "tcp:127.0.0.1:$PORT" ] ||
	fail "targets are not tcp:127.0.0.1:$PORT"
[ "$(jfield '.end_user_id' --rule feed | sort -u)" = null ] || fail "a patient was named"
q | grep -q "127.0.0.1:$OTHER\"" && fail "a connection to an unlisted port was recorded"
expect_count 3 --rule feed
pass
