# sendfile from a file to a PHI socket: python3's socket.sendfile (the
# sendfile call with an explicit offset) under the shim sends a file of two
# MLLP-framed HL7 messages to a plain listener. The rule has protocol = hl7:
# the shim reads the sent bytes back from the file, so each message is one
# PHI Message Sent naming its PID-3, and the listener got the bytes intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
setup
PORT=$(free_port)
printf '[rule hl7-out]\nconnect = 127.0.0.1:%s\nprotocol = hl7\n' "$PORT" >>"$CONF"
start_collector

printf '\013MSH|^~\\&|ADT1|GOOD HEALTH|LAB|LAB|202611281447||ADT^A01|MSG00001|P|2.5\rPID|1||4711^^^HOSP^MR||DOE^JANE\r\034\r' >"$T/msgs"
printf '\013MSH|^~\\&|LAB|LAB|EHR|GOOD HEALTH|202611281450||ORU^R01|MSG00002|P|2.5\rPID|1||8800^^^HOSP^MR||ROE^RICHARD\r\034\r' >>"$T/msgs"
cat >"$T/listen.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").write("up")
c, _ = s.accept()
data = b""
while True:
    b = c.recv(4096)
    if not b:
        break
    data += b
open(sys.argv[3], "wb").write(data)
PY
cat >"$T/send.py" <<'PY'
import os, socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "rb") as f:
    # os.sendfile is the sendfile call itself (socket.sendfile may fall back)
    size = os.fstat(f.fileno()).st_size
    off = 0
    while off < size:
        off += os.sendfile(c.fileno(), f.fileno(), off, size - off)
c.close()
PY
python3 "$T/listen.py" "$PORT" "$T/up" "$T/received" &
LISTENER=$!
wait_file "$T/up"
shim python3 "$T/send.py" "$PORT" "$T/msgs" || fail "sender failed under the shim"
wait_pid "$LISTENER" || fail "listener failed"
cmp -s "$T/msgs" "$T/received" || fail "the listener received other bytes"

expect_count 1 --event "PHI Connection Opened"
expect_count 2 --event "PHI Message Sent"
expect_count 1 --event "PHI Message Sent" --patient 4711
expect_count 1 --event "PHI Message Sent" --patient 8800
[ "$(jfield '.detail.message_type' --patient 8800)" = "ORU^R01" ] || fail "message type of 8800"
# every byte went through a detector that read it: no count-only record
expect_count 0 --event "PHI Message Received"
[ -z "$(q --rule hl7-out | jq -r 'select(.detail.scope == "connection") | .id')" ] ||
	fail "sendfile bytes were reported as counted, not read"
pass
