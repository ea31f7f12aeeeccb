#!/usr/bin/env python3
"""fake_collector.py - the collector's side of the ingest hand-off
(common/format/handoff.h), just enough to test the shim on its own.

  fake_collector.py SOCKET SPOOLDIR MODE
    MODE ok       answer PHTREADY and pass a spool file (header written,
                  SPOOL_FLAG_COLLECTOR, pid/uid/gid from SO_PEERCRED); take
                  a claim (PHTCLAIM with the shim's own file) by moving
                  that file into SPOOLDIR, as the collector takes it over,
                  and acking it with one byte (any mode)
    MODE silent   accept, read the hello, never answer (the shim times out)
    MODE garbage  answer 16 bytes of garbage
Serves until killed; prints one line per connection to stdout.
"""
import os, socket, struct, sys, time

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def header(pid, uid, gid):
    h = b"PHTSPOOL" + struct.pack("<IIIIII", 1, 64, 1, pid, uid, gid)
    h += struct.pack("<QQ", 0, time.time_ns()) + b"\0" * 12
    return h + struct.pack("<I", crc32c(h))

def main():
    path, spooldir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(16)
    n = 0
    while True:
        conn, _ = srv.accept()
        cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        pid, uid, gid = struct.unpack("3i", cred)
        hello, fds, _, _ = socket.recv_fds(conn, 64, 4)
        claim = len(hello) == 16 and hello[:8] == b"PHTCLAIM" and len(fds) == 1
        ok = len(hello) == 16 and hello[:8] == b"PHTHELLO" and \
            struct.unpack("<I", hello[8:12])[0] == 1 and not fds
        print(f"conn pid={pid} uid={uid} hello={'ok' if ok else 'bad'} "
              f"claim={'ok' if claim else 'no'}", flush=True)
        if claim and mode == "ok":
            n += 1
            own = os.readlink(f"/proc/self/fd/{fds[0]}")
            os.rename(own, os.path.join(spooldir, f"{pid}.{n}.spool"))
        for fd in fds:
            os.close(fd)
        if claim:
            try:
                conn.send(b"\0")      # the ack: the claimant may exit
            except OSError:
                pass                  # it exited already
        elif mode == "silent":
            time.sleep(2)
        elif mode == "garbage":
            conn.send(b"X" * 16)
        elif ok:
            n += 1
            spool = os.path.join(spooldir, f"{pid}.{n}.spool")
            fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            os.write(fd, header(pid, uid, gid))
            socket.send_fds(conn, [b"PHTREADY" + struct.pack("<II", 1, 0)], [fd])
            os.close(fd)
        conn.close()

if __name__ == "__main__":
    main()
