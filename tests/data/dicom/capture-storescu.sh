#!/bin/sh
# Records real DICOM upper layer traffic for the detector tests: storescp
# listens, a small Python relay in front of it writes each direction to a
# file, storescu sends sample-explicit.dcm (default: many proposed contexts,
# explicit VR) and sample-implicit.dcm (-xi: implicit VR only). Needs dcmtk.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
relay() {   # relay LISTEN_PORT TARGET_PORT CLIENT_FILE SERVER_FILE
	python3 - "$@" <<'PY' &
import socket, sys, threading
lp, tp, cf, sf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lp)); ls.listen(1)
c, _ = ls.accept(); s = socket.create_connection(("127.0.0.1", tp))
def pump(a, b, name):
    with open(name, "wb") as f:
        while True:
            d = a.recv(65536)
            if not d: break
            f.write(d); b.sendall(d)
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
ts = [threading.Thread(target=pump, args=(c, s, cf)), threading.Thread(target=pump, args=(s, c, sf))]
[t.start() for t in ts]; [t.join() for t in ts]
PY
	sleep 2
}
storescp 11113 -od "$tmp" & scp=$!
sleep 1
relay 11114 11113 storescu-client.bin storescp-server.bin
storescu 127.0.0.1 11114 sample-explicit.dcm
relay 11115 11113 storescu-implicit-client.bin "$tmp/ignored.bin"
storescu -xi 127.0.0.1 11115 sample-implicit.dcm
sleep 1
kill "$scp"
rm -rf "$tmp"
