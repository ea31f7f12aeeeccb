#!/usr/bin/env python3
"""forge.py - a writer that lies, for the verified-identity and bad-input
tests. Speaks the ingest hand-off and the spool format by hand (no shim, no
msgpack module), so every byte is under the test's control.

  forge.py socket SOCK PATIENT       hand-off, then records claiming pid 1,
                                     uid 0, auid 0, actor "root", exe
                                     /sbin/init; then one claiming the
                                     collector event "Audit Collector Started"
  forge.py fallback SPOOL PATIENT    the same records in a fallback spool file
                                     SPOOL/incoming/... whose header claims
                                     pid 1 (alive, with its real start time)
                                     and uid 0
  forge.py claim SOCK SPOOL PATIENT  the same records in a file of its own,
                                     SPOOL/incoming/....claim, whose header
                                     claims pid 1 and uid 0, then the claim
                                     (PHTCLAIM with its descriptor) of a
                                     forked child
  forge.py lostclaim SPOOL PATIENT   two true records in a file of its own,
                                     SPOOL/incoming/....claim, header true
                                     (its own pid, uid, start time), and no
                                     claim sent: a process that died between
                                     creating the file and sending the claim
  forge.py bad SOCK KIND...          per KIND, one connection doing one bad
                                     thing (see BAD below: hellos, messages
                                     with wrong descriptors, spool input);
                                     prints what the collector did
  forge.py badheader SPOOL PATIENT   a fallback spool file whose header
                                     checksum is wrong
Prints one line per step; exits 0 when every step was possible.
"""
import array
import os
import socket
import struct
import sys
import time


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def mp(v):
    """A tiny msgpack encoder: dict, str, int, None, bytes, Ts."""
    if v is None:
        return b"\xc0"
    if isinstance(v, Ts):
        return b"\xd7\xff" + struct.pack(">Q", (v.nsec << 34) | v.sec)
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        v = v.encode()
        if len(v) < 32:
            return bytes([0xA0 | len(v)]) + v
        if len(v) < 256:
            return b"\xd9" + bytes([len(v)]) + v
        if len(v) < 65536:
            return b"\xda" + struct.pack(">H", len(v)) + v
        return b"\xdb" + struct.pack(">I", len(v)) + v
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        return b"\xdc" + struct.pack(">H", len(v)) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        out = b"\xde" + struct.pack(">H", len(v))
        for k, x in v.items():
            out += mp(k) + mp(x)
        return out
    raise TypeError(type(v))


class Ts:
    def __init__(self):
        t = time.time_ns()
        self.sec, self.nsec = t // 10**9, t % 10**9


def record(patient, seq, **over):
    r = {
        "workspace_id": "ws_e2e", "actor_user_id": "root",
        "event_type": "PHI File Viewed", "end_user_id": patient,
        "timestamp": Ts(), "v": 1, "host": "forged-host", "pid": 1,
        "ppid": 0, "exe": "/sbin/init", "uid": 0, "auid": 0, "session": 1,
        "target": "/srv/ehr/patients/%s/chart.txt" % patient,
        "rule": "charts", "result": "ok", "seq": seq,
    }
    r.update(over)
    return mp(r)


def frame(payload, bad_crc=False):
    crc = crc32c(payload) ^ (0xFF if bad_crc else 0)
    return struct.pack("<II", len(payload), crc) + payload


def lies(patient):
    return [record(patient, 0), record(patient, 1, uid=4242, pid=4242),
            record(patient, 2, event_type="Audit Collector Started")]


HELLO = b"PHTHELLO" + struct.pack("<II", 1, 0)


def handoff(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.send(HELLO)
    msg, fds, _, _ = socket.recv_fds(s, 64, 4)
    s.close()
    if len(msg) != 16 or msg[:8] != b"PHTREADY" or len(fds) != 1:
        raise SystemExit("forge: no spool file: %r" % (msg,))
    return fds[0]


def start_ticks(pid):
    stat = open("/proc/%d/stat" % pid).read()
    return int(stat[stat.rindex(")") + 2:].split()[19])


def header(pid, uid, gid, ticks, flags):
    h = b"PHTSPOOL" + struct.pack("<IIIIII", 1, 64, flags, pid, uid, gid)
    h += struct.pack("<QQ", ticks, time.time_ns()) + b"\0" * 12
    return h + struct.pack("<I", crc32c(h))


def cmd_socket(sock, patient):
    fd = handoff(sock)
    for r in lies(patient):
        os.write(fd, frame(r))
    print("socket: 3 forged records written by pid %d uid %d" % (os.getpid(), os.getuid()))


def cmd_fallback(spool, patient):
    path = "%s/incoming/%d.%d.forged.spool" % (spool, os.getpid(), start_ticks(os.getpid()))  # renamed into place
    body = header(1, 0, 0, start_ticks(1), 0x2)
    body += b"".join(frame(r) for r in lies(patient))
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, body)
    os.close(fd)
    os.rename(path + ".tmp", path)
    print("fallback: %s claims pid 1 uid 0, written by uid %d" % (path, os.getuid()))


def cmd_claim(sock, spool, patient):
    path = "%s/incoming/%d.%d.forged.claim" % (spool, os.getpid(), start_ticks(os.getpid()))
    body = header(1, 0, 0, start_ticks(1), 0x2)
    body += b"".join(frame(r) for r in lies(patient))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    os.write(fd, body)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sock)
    socket.send_fds(s, [b"PHTCLAIM" + struct.pack("<II", 1, 0)], [fd])
    s.close()
    os.close(fd)
    print("claim: %s claims pid 1 uid 0, sent by pid %d uid %d" % (path, os.getpid(), os.getuid()))


def cmd_lostclaim(spool, patient):
    me, ticks = os.getpid(), start_ticks(os.getpid())
    path = "%s/incoming/%d.%d.%s.claim" % (spool, me, ticks, os.urandom(8).hex())
    body = header(me, os.getuid(), os.getgid(), ticks, 0x2)
    body += b"".join(frame(record(patient, seq, pid=me, uid=os.getuid(),
                                  ppid=os.getppid(), exe="/usr/bin/python3"))
                     for seq in (0, 1))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    os.write(fd, body)
    os.close(fd)
    print("lostclaim: %s by pid %d uid %d, no claim sent" % (path, me, os.getuid()))


def nested(depth):
    return b"\x81\xa1k" * depth + b"\x01"


# Each bad thing: on the ingest socket (hello stage) or in a spool file
# handed out by the collector (record stage).
BAD = {
    "garbage-hello": ("hello", os.urandom(16)),
    "short-hello": ("hello", HELLO[:7]),
    "long-hello": ("hello", HELLO + b"x" * 4000),
    "wrong-version": ("hello", b"PHTHELLO" + struct.pack("<II", 99, 0)),
    "empty-hello": ("hello", b""),
    "hello-with-fd": ("fds", (HELLO, 1)),
    "claim-no-fd": ("fds", (b"PHTCLAIM" + struct.pack("<II", 1, 0), 0)),
    "claim-two-fds": ("fds", (b"PHTCLAIM" + struct.pack("<II", 1, 0), 2)),
    "claim-pipe": ("fds", (b"PHTCLAIM" + struct.pack("<II", 1, 0), 1)),
    "garbage-frames": ("raw", b"\x13\x37" * 2500),
    "huge-length": ("raw", struct.pack("<II", 0x7FFFFFFF, 0) + b"x" * 64),
    "bad-crc": ("frame", frame(record("6001", 0), bad_crc=True)),
    "truncated-record": ("frame", frame(record("6001", 0)[:40])),
    "not-a-map": ("frame", frame(mp([1, 2, 3]))),
    "nested-maps": ("frame", frame(nested(2000))),
    "wrong-types": ("frame", frame(record("6001", 0, pid="one", uid=[1], v="x"))),
    "huge-string": ("frame", frame(record("6001", 0, target="A" * 16000))),
    "oversized-record": ("raw", struct.pack("<II", 20000, 0) + b"\x80" * 20000),
    "unknown-keys": ("frame", frame(record("6001", 0, surprise=1))),
    "trailing-bytes": ("frame", frame(record("6001", 0) + b"\xc0")),
}


def cmd_badheader(spool, patient):
    path = "%s/incoming/%d.badheader.spool" % (spool, os.getpid())
    h = bytearray(header(os.getpid(), os.getuid(), os.getgid(),
                         start_ticks(os.getpid()), 0x2))
    h[60] ^= 0xFF                               # its checksum no longer fits
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, bytes(h) + frame(record(patient, 0)))
    os.close(fd)
    print("badheader: %s" % path)


def cmd_bad(sock, *kinds):
    for kind in kinds:
        bad_one(sock, kind)
        sys.stdout.flush()


def bad_one(sock, kind):
    stage, data = BAD[kind]
    if stage == "hello":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(sock)
        if data:
            s.send(data)
        s.settimeout(3)
        try:
            msg = s.recv(64)
            print("%s: collector answered %r" % (kind, msg[:8]))
        except (socket.timeout, ConnectionResetError) as e:
            print("%s: collector closed (%s)" % (kind, type(e).__name__))
        s.close()
        return
    if stage == "fds":                 # a message carrying n pipe ends
        msg, n = data
        pipes = [os.pipe() for _ in range(n)]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(sock)
        socket.send_fds(s, [msg], [p[0] for p in pipes])
        s.settimeout(3)
        try:
            print("%s: collector answered %r" % (kind, s.recv(64)[:8]))
        except (socket.timeout, ConnectionResetError) as e:
            print("%s: collector closed (%s)" % (kind, type(e).__name__))
        s.close()
        for p in pipes:
            os.close(p[0])
            os.close(p[1])
        return
    fd = handoff(sock)
    os.write(fd, data)
    os.close(fd)
    print("%s: %d bytes written into the spool file" % (kind, len(data)))


def main():
    cmd, *args = sys.argv[1:]
    {"socket": cmd_socket, "fallback": cmd_fallback, "claim": cmd_claim, "bad": cmd_bad,
     "badheader": cmd_badheader, "lostclaim": cmd_lostclaim}[cmd](*args)


if __name__ == "__main__":
    main()
