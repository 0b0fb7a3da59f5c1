#!/usr/bin/env python3
"""A tiny DNS upstream for netd's tests: answers every A query with 192.0.2.99 (and
upstream.test. with 192.0.2.1), on 127.0.0.1:PORT, over UDP and TCP. big.test. is too big for
UDP (a truncated empty answer, TC set) and answers 192.0.2.7 over TCP. Names starting with
slow. are never answered. Never touches the host's resolvers."""
import socket
import struct
import sys
import threading


def answer(data, tcp):
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    off, labels = 12, []
    while off < len(data) and data[off] != 0:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode(errors="replace"))
        off += 1 + n
    off += 5
    name = ".".join(labels).lower()
    if name.startswith("slow."):
        return None  # never answered: netd must time out
    ip = bytes([192, 0, 2, 1]) if name == "upstream.test" else bytes([192, 0, 2, 99])
    rcode = 3 if name.startswith("nx.") else 0
    tc = 0
    if name == "big.test":
        ip = bytes([192, 0, 2, 7])
        tc = 0 if tcp else 0x0200
    ans = b"" if rcode or tc else struct.pack("!HHHLH", 0xC00C, 1, 1, 60, 4) + ip
    hdr = struct.pack("!HHHHHH", qid, 0x8180 | tc | rcode, 1, 1 if ans else 0, 0, 0)
    return hdr + data[12:off] + ans


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve_tcp_client(c):
    with c:
        while True:
            hdr = recv_exact(c, 2)
            if hdr is None:
                return
            data = recv_exact(c, struct.unpack("!H", hdr)[0])
            if data is None:
                return
            reply = answer(data, True)
            if reply is not None:
                c.sendall(struct.pack("!H", len(reply)) + reply)


def serve_tcp(port):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port))
    t.listen(16)
    while True:
        c, _ = t.accept()
        threading.Thread(target=serve_tcp_client, args=(c,), daemon=True).start()


port = int(sys.argv[1]) if len(sys.argv) > 1 else 5353
threading.Thread(target=serve_tcp, args=(port,), daemon=True).start()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
while True:
    data, addr = s.recvfrom(4096)
    reply = answer(data, False)
    if reply is not None:
        s.sendto(reply, addr)
