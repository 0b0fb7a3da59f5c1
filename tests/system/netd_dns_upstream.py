#!/usr/bin/env python3
"""A tiny DNS upstream for netd's tests: answers every A query with 192.0.2.99 (and
upstream.test. with 192.0.2.1), on 127.0.0.1:PORT. Never touches the host's resolvers."""
import socket
import struct
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5353
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
while True:
    data, addr = s.recvfrom(4096)
    if len(data) < 12:
        continue
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    off, labels = 12, []
    while off < len(data) and data[off] != 0:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode(errors="replace"))
        off += 1 + n
    off += 5
    name = ".".join(labels).lower()
    if name.startswith("slow."):
        continue  # never answered: netd must time out
    ip = bytes([192, 0, 2, 1]) if name == "upstream.test" else bytes([192, 0, 2, 99])
    rcode = 3 if name.startswith("nx.") else 0
    ans = b"" if rcode else struct.pack("!HHHLH", 0xC00C, 1, 1, 60, 4) + ip
    hdr = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 0 if rcode else 1, 0, 0)
    s.sendto(hdr + data[12:off] + ans, addr)
