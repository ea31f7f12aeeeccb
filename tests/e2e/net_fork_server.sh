# A forking server under the shim (python3 socketserver.ForkingTCPServer):
# the parent accepts and reads a 10-byte greeting before it forks (in
# verify_request), the child reads the rest and answers. Each process
# reports only its own bytes: the parent 10 received, the child the rest
# received and its answer sent, so a child's counts do not include what
# the parent moved before the fork. Rule without protocol: counts per
# connection.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
setup
PORT=$(free_port)
printf '[rule server]\naccept = 127.0.0.1:%s\n' "$PORT" >>"$CONF"
start_collector

cp "$ROOT/tests/programs/forking_server.py" "$T/server.py"
cat >"$T/client.py" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"G" * 10)
c.sendall(b"b" * int(sys.argv[2]))
c.shutdown(socket.SHUT_WR)
got = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    got += len(b)
assert got == 2 * int(sys.argv[2]), got
PY
mkdir "$T/out"
shim python3 "$T/server.py" "$PORT" "$T/out" &
SERVER=$!
wait_file "$T/out/up"
python3 "$T/client.py" "$PORT" 300 || fail "first client"
python3 "$T/client.py" "$PORT" 4000 || fail "second client"
wait_pid "$SERVER" || fail "server failed under the shim"
PARENT=$(cat "$T/out/up")

expect_count 2 --event "PHI Connection Accepted"
[ "$(jfield '.pid' --event 'PHI Connection Accepted' | sort -u)" = "$PARENT" ] ||
	fail "connections were not accepted by the server process $PARENT"
# The parent: 10 bytes received per connection (the greeting), nothing sent.
[ "$(q --event 'PHI Message Received' | jq -r "select(.pid == $PARENT) | .detail.bytes" | sort -n | tr '\n' ' ')" = "10 10 " ] ||
	fail "the server process did not report exactly 10 bytes received per connection"
[ -z "$(q --event 'PHI Message Sent' | jq -r "select(.pid == $PARENT) | .pid")" ] ||
	fail "the server process reported bytes its children sent"
# Each child: its own bytes only.
[ "$(ls "$T"/out/child.* | wc -l)" = 2 ] || fail "not two children"
for f in "$T"/out/child.*; do
	pid=${f##*.}
	n=$(cat "$f")
	[ "$pid" != "$PARENT" ] || fail "a child has the parent's pid"
	[ "$(q --event 'PHI Message Received' | jq -r "select(.pid == $pid) | .detail.bytes")" = "$n" ] ||
		fail "child $pid: received bytes are not $n"
	[ "$(q --event 'PHI Message Sent' | jq -r "select(.pid == $pid) | .detail.bytes")" = "$((n * 2))" ] ||
		fail "child $pid: sent bytes are not $((n * 2))"
	[ "$(q --event 'PHI Message Sent' | jq -r "select(.pid == $pid) | .detail.scope")" = "connection" ] ||
		fail "child $pid: scope is not connection"
	[ "$(q --event 'PHI Message Sent' | jq -r "select(.pid == $pid) | .target")" = \
	  "$(q --event 'PHI Message Received' | jq -r "select(.pid == $pid) | .target")" ] ||
		fail "child $pid: sent and received name different peers"
done
expect_count 4 --event "PHI Message Received"
expect_count 2 --event "PHI Message Sent"
pass
