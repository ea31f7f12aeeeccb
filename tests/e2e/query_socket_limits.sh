# The query socket's limits, at the limit and one past it: a request frame
# of QUERY_MAX_REQUEST (8192) bytes is read (and refused as undecodable),
# 8193 and 0 are refused by length; a request sent in two parts 1 s apart
# is answered; one uid may hold 8 unfinished requests, its 9th is answered
# "busy" at once while another user's query is still answered; held
# requests are answered "no complete frame in time" once 2 s have passed.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip "setpriv not installed"
[ "$(id -u)" = 0 ] || skip "needs root to hold connections as another user"
setup
start_collector
chmod -R a+rX "$T"
PY=""
for p in /usr/bin/python3 "$(command -v python3)"; do
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$p" -c 'import socket' 2>/dev/null &&
		{ PY=$p; break; }
done
[ -n "$PY" ] || skip "no python3 that uid 65534 may run"

cat >"$T/limits.py" <<'EOF'
import socket, struct, sys, time
path, what = sys.argv[1], sys.argv[2]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def answer(s, wait=5.0):
    s.settimeout(wait)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass               # reset: the collector closed with our bytes unread
    return data

def frame(n):
    return struct.pack(">I", n) + b"\xc1" * n

if what == "lengths":
    for n, want in ((8192, b"bad request"), (8193, b"frame length out of range"),
                    (0, b"frame length out of range")):
        s = conn()
        s.sendall(frame(n))
        got = answer(s)
        if want not in got or (n == 8192 and b"out of range" in got):
            sys.exit("length %d: answered %r" % (n, got[:120]))
        print("length %d: %s" % (n, want.decode()))
    s = conn()
    s.sendall(frame(20)[:3])
    time.sleep(1)
    s.sendall(frame(20)[3:])
    got = answer(s)
    if b"bad request" not in got or b"in time" in got:
        sys.exit("split request: answered %r" % got[:120])
    print("split request: read whole, answered")
elif what == "hold":
    held = []
    for _ in range(8):
        s = conn()
        s.send(b"\x00")
        held.append(s)
    time.sleep(0.3)
    s = conn()
    s.send(b"\x00")
    t = time.monotonic()
    got = answer(s, 1.5)
    if b"busy" not in got:
        sys.exit("the 9th held request was answered %r" % got[:120])
    print("9th: busy after %.0f ms" % ((time.monotonic() - t) * 1000))
    open(sys.argv[3], "w").close()
    for i, s in enumerate(held):
        got = answer(s, 4)
        if b"no complete frame in time" not in got:
            sys.exit("held request %d answered %r" % (i, got[:120]))
    print("8 held: no complete frame in time")
EOF
python3 "$T/limits.py" "$T/run/query.sock" lengths || fail "request lengths"
mkdir "$T/hold"
chown 65534 "$T/hold"
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$PY" "$T/limits.py" \
	"$T/run/query.sock" hold "$T/hold/busy" >"$T/hold.out" 2>&1 &
HOLD=$!
track_pid "$HOLD"
i=0
while [ ! -e "$T/hold/busy" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$T/hold/busy" ] || fail "the holder was not answered busy: $(cat "$T/hold.out")"
# uid 65534 holds its 8: root is still answered.
[ "$(timeout 5 "$PHITRAIL" query --config "$CONF" --count --event "Audit Collector Started")" = 1 ] ||
	fail "root's query was not answered while another uid held its share"
wait "$HOLD" || fail "held requests: $(cat "$T/hold.out")"
cat "$T/hold.out"
kill -0 "$COLLECTOR_PID" || fail "the collector died"
pass
