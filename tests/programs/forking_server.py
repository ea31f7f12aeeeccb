# forking_server.py PORT DIR - a forking TCP server for the socket tests:
# the parent reads a 10-byte greeting before it forks (in verify_request),
# each child reads the rest of its connection, writes the byte count it
# read to DIR/child.PID and answers with twice as many bytes. Serves two
# connections, then exits. DIR/up holds the server's pid once it listens.
import os, socketserver, sys

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        n = 0
        while True:
            b = self.request.recv(1000)
            if not b:
                break
            n += len(b)
        with open("%s/child.%d" % (sys.argv[2], os.getpid()), "w") as f:
            f.write(str(n))
        self.request.sendall(b"x" * (n * 2))

class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    def verify_request(self, request, address):
        got = b""
        while len(got) < 10:
            b = request.recv(10 - len(got))
            if not b:
                return False
            got += b
        return True

s = Server(("127.0.0.1", int(sys.argv[1])), Handler)
open(sys.argv[2] + "/up", "w").write(str(os.getpid()))
for _ in range(2):
    s.handle_request()
s.collect_children(blocking=True)
s.server_close()
