# A forking server under the shim with protocol = hl7: the parent reads
# the first 10 bytes of an MLLP stream before it forks, the child reads the
# rest. The child's detector goes on from where the parent's stopped, so
# each child reports both messages whole (PID-3, type, full byte count);
# the parent, closing its copy mid-message, reports no message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
setup
PORT=$(free_port)
printf "[rule server]\naccept = 127.0.0.1:%s\nprotocol = hl7\n" "$PORT" >>"$CONF"
start_collector

cp "$ROOT/tests/programs/forking_server.py" "$T/server.py"
cat >"$T/client_hl7.py" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(open(sys.argv[2], "rb").read())
c.shutdown(socket.SHUT_WR)
while c.recv(65536):
    pass
PY
mkdir "$T/out"
shim python3 "$T/server.py" "$PORT" "$T/out" &
SERVER=$!
wait_file "$T/out/up"
printf '\013MSH|^~\\&|ADT1|GOOD HEALTH|LAB|LAB|202611281447||ADT^A01|MSG00001|P|2.5\rPID|1||4711^^^HOSP^MR||DOE^JANE\r\034\r' >"$T/msgs"
printf '\013MSH|^~\\&|LAB|LAB|EHR|GOOD HEALTH|202611281450||ORU^R01|MSG00002|P|2.5\rPID|1||8800^^^HOSP^MR||ROE^RICHARD\r\034\r' >>"$T/msgs"
python3 "$T/client_hl7.py" "$PORT" "$T/msgs" || fail "first client"
python3 "$T/client_hl7.py" "$PORT" "$T/msgs" || fail "second client"
wait_pid "$SERVER" || fail "server failed under the shim"
PARENT=$(cat "$T/out/up")

expect_count 2 --event "PHI Connection Accepted"
[ "$(jfield '.pid' --event 'PHI Connection Accepted' | sort -u)" = "$PARENT" ] ||
	fail "connections were not accepted by the server process $PARENT"
[ -z "$(q --rule server | jq -r "select(.pid == $PARENT and (.event_type | startswith(\"PHI Message\"))) | .id")" ] ||
	fail "the server process reported a message of a connection its child served"
[ "$(ls "$T"/out/child.* | wc -l)" = 2 ] || fail "not two children"
for f in "$T"/out/child.*; do
	pid=${f##*.}
	[ "$(q --event 'PHI Message Received' | jq -r "select(.pid == $pid) | \"\\(.end_user_id)/\\(.detail.message_type)/\\(.detail.bytes)\"" | sort | tr '\n' ' ')" = \
	  "4711/ADT^A01/106 8800/ORU^R01/108 " ] || fail "child $pid did not report both messages whole"
done
expect_count 4 --event "PHI Message Received"
pass
