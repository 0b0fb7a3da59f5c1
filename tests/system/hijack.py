#!/usr/bin/env python3
# A minimal client for Docker's hijacked streams (attach, exec start), for the system tests:
# hijack.py SOCK PATH [--body JSON] [--start ID] [--stdin TEXT] [--raw] [--halfclose]
#           [--halfclose-after SECONDS] (half-close late, without reading meanwhile)
import argparse, json, socket, struct, sys, time

p = argparse.ArgumentParser()
p.add_argument("sock")
p.add_argument("path")
p.add_argument("--body", default="")
p.add_argument("--start")
p.add_argument("--stdin")
p.add_argument("--raw", action="store_true")
p.add_argument("--halfclose", action="store_true")
p.add_argument("--halfclose-after", type=float)
p.add_argument("--timeout", type=float, default=20)
a = p.parse_args()

s = socket.socket(socket.AF_UNIX)
s.settimeout(a.timeout)
s.connect(a.sock)
body = a.body.encode()
req = (f"POST /v1.41{a.path} HTTP/1.1\r\nHost: \r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
       f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
s.sendall(req)
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
head, _, rest = buf.partition(b"\r\n\r\n")
status = head.split(b"\r\n")[0].decode()
sys.stderr.write("STATUS " + status + "\n")
if " 101 " not in status and " 200 " not in status:
    sys.stdout.write(rest.decode(errors="replace"))
    sys.exit(1)
if a.stdin is not None:
    s.sendall(a.stdin.encode())
if a.halfclose or a.stdin is not None:
    s.shutdown(socket.SHUT_WR)
if a.start:
    c = socket.socket(socket.AF_UNIX)
    c.connect(a.sock)
    c.sendall(f"POST /v1.41/containers/{a.start}/start HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    r = c.recv(4096).split(b"\r\n")[0].decode()
    sys.stderr.write("START " + r + "\n")
    c.close()
if a.halfclose_after is not None:
    time.sleep(a.halfclose_after)
    s.shutdown(socket.SHUT_WR)
data = rest
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except socket.timeout:
    sys.stderr.write("TIMEOUT\n")
    sys.exit(2)
if a.raw:
    sys.stdout.write(data.decode(errors="replace"))
    sys.exit(0)
while len(data) >= 8:
    stream, n = data[0], struct.unpack(">I", data[4:8])[0]
    chunk = data[8:8 + n]
    data = data[8 + n:]
    (sys.stdout if stream == 1 else sys.stderr).write(chunk.decode(errors="replace"))
if data:
    sys.stderr.write("TRAILING %r\n" % data)
    sys.exit(3)
