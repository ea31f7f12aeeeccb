# HL7 v2 over MLLP: socat sends an ADT^A01 and an ORU^R01 (two MLLP frames)
# to a python3 listener; both run under the shim. Each side reports PHI
# Connection Opened / Accepted once, and one PHI Message Sent / Received
# per message naming that message's PID-3 and type. A connection to a port
# no rule names produces no record.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
command -v socat >/dev/null || skip "socat is not installed"
setup
PORT=$(free_port)
OTHER=$(free_port)
cat >>"$CONF" <<EOF
[rule hl7-out]
connect = 127.0.0.1:$PORT
protocol = hl7

[rule hl7-in]
accept = :$PORT
protocol = hl7
EOF
start_collector

# Two MLLP frames: 0x0B message 0x1C 0x0D.
printf '\013MSH|^~\\&|ADT1|GOOD HEALTH|LAB|LAB|202611281447||ADT^A01^ADT_A01|MSG00001|P|2.5\rEVN|A01|202611281447\rPID|1||4711^^^HOSP^MR~991-22-3333^^^SSA^SS||DOE^JANE||19610203|F\rPV1|1|I\r\034\r' >"$T/msgs"
printf '\013MSH|^~\\&|LAB|LAB|EHR|GOOD HEALTH|202611281450||ORU^R01|MSG00002|P|2.5\rPID|1||8800^^^HOSP^MR||ROE^RICHARD||19700101|M\rOBR|1|||GLU\rOBX|1|NM|GLU||5.4|mmol/l\r\034\r' >>"$T/msgs"

# The listener reads 7 bytes at a time: messages cut across many calls.
cat >"$T/listen.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[3], "w").write("up")
c, _ = s.accept()
data = b""
while True:
    chunk = c.recv(7)
    if not chunk:
        break
    data += chunk
c.close()
open(sys.argv[2], "wb").write(data)
PY
shim python3 "$T/listen.py" "$PORT" "$T/received" "$T/up" &
LISTENER=$!
wait_file "$T/up"
shim socat -u "FILE:$T/msgs" "TCP:127.0.0.1:$PORT" || fail "socat failed under the shim"
wait_pid "$LISTENER" || fail "listener failed under the shim"
cmp -s "$T/msgs" "$T/received" || fail "the listener received other bytes than socat sent"

# A connection no rule names: socat under the shim, a plain listener.
python3 -c 'import socket,sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").write("up")
c, _ = s.accept(); c.recv(4096)' "$OTHER" "$T/up2" &
OTHER_PID=$!
wait_file "$T/up2"
shim socat -u "FILE:$T/msgs" "TCP:127.0.0.1:$OTHER" || fail "socat to the other port failed"
wait_pid "$OTHER_PID"

expect_count 1 --event "PHI Connection Opened"
expect_count 1 --event "PHI Connection Accepted"
[ "$(jfield '.target' --event 'PHI Connection Opened')" = "tcp:127.0.0.1:$PORT" ] ||
	fail "Opened target is not tcp:127.0.0.1:$PORT"
[ "$(jfield '.rule' --event 'PHI Connection Accepted')" = "hl7-in" ] || fail "Accepted rule is not hl7-in"
[ "$(jfield '.detail.local' --event 'PHI Connection Accepted')" = "tcp:127.0.0.1:$PORT" ] ||
	fail "Accepted local address is not tcp:127.0.0.1:$PORT"

expect_count 1 --event "PHI Message Sent" --patient 4711
expect_count 1 --event "PHI Message Sent" --patient 8800
expect_count 1 --event "PHI Message Received" --patient 4711
expect_count 1 --event "PHI Message Received" --patient 8800
expect_count 2 --event "PHI Message Sent"
expect_count 2 --event "PHI Message Received"
[ "$(jfield '.detail.message_type' --patient 4711 --event 'PHI Message Received')" = "ADT^A01" ] ||
	fail "message type of 4711 is not ADT^A01"
[ "$(jfield '.detail.message_type' --patient 8800 --event 'PHI Message Sent')" = "ORU^R01" ] ||
	fail "message type of 8800 is not ORU^R01"
[ "$(jfield '.detail.identifiers' --patient 4711 --event 'PHI Message Sent')" = "4711 (HOSP MR),991-22-3333 (SSA SS)" ] ||
	fail "identifiers of 4711 are $(jfield '.detail.identifiers' --patient 4711 --event 'PHI Message Sent')"
[ "$(jfield '.detail.protocol' --patient 8800 | sort -u)" = "hl7" ] || fail "protocol is not hl7"
[ "$(jfield '.target' --event 'PHI Message Sent' --patient 4711)" = "tcp:127.0.0.1:$PORT" ] ||
	fail "Sent target is not the peer"
q | grep -q "127.0.0.1:$OTHER\"" && fail "a connection to an unlisted port was recorded"
pass
