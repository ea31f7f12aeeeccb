#!/usr/bin/env python3
# slowloris.py QUERY_SOCK INGEST_SOCK READY SECONDS: keeps up to 800 query
# connections open that each sent one byte (a request never finished; one
# the collector closes is replaced at once), up to 200 ingest connections
# that never send their hello, and throws random blobs at both sockets,
# until SECONDS pass. Touches READY once the first
# connections are open. Prints what it managed, for the test's log.
import os, random, select, signal, socket, sys, time

qpath, ipath, ready, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
end = time.monotonic() + seconds
held, iheld, opened, closed_by_peer, blobs, most = [], [], 0, 0, 0, 0


def report(*_):
    print("connections opened %d (at most %d held at once), closed by the "
          "collector %d, blobs %d" % (opened, most, closed_by_peer, blobs), flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, report)
while time.monotonic() < end:
    while len(held) < 800:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(qpath)
            s.send(b"\x00")
        except OSError:
            s.close()
            break
        held.append(s)
        opened += 1
    while len(iheld) < 200:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.setblocking(False)
        try:
            s.connect(ipath)
        except OSError:
            s.close()
            break
        iheld.append(s)
        opened += 1
    most = max(most, len(held) + len(iheld))
    if opened and not os.path.exists(ready):
        open(ready, "w").close()
    for path, kind in ((qpath, socket.SOCK_STREAM), (ipath, socket.SOCK_SEQPACKET)):
        s = socket.socket(socket.AF_UNIX, kind)
        s.setblocking(False)
        try:
            s.connect(path)
            s.send(os.urandom(random.randint(1, 4096)))
            blobs += 1
        except OSError:
            pass
        s.close()
    # Readable means the collector answered (an error) or closed: replace it.
    r, _, _ = select.select(held + iheld, [], [], 0.05)
    for s in r:
        (held if s in held else iheld).remove(s)
        s.close()
        closed_by_peer += 1
report()
