#!/usr/bin/env python3
"""A DNS client for netd's tests (no dig needed), over UDP or TCP (RFC 7766 framing).
  query [--tcp] SERVER NAME...   one TCP connection for all names, all sent at once
                                 (pipelined); prints per reply: NAME RCODE tc=0|1 ADDRESSES...
  split SERVER NAME              one query over TCP, a byte at a time
  idle SERVER                    one query, then seconds until the server closes the connection
  badlen SERVER LENGTH           a length prefix (0 or too big): "closed" if the server hangs up
Exit 1 on a timeout (5 s per reply)."""
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def parse(reply):
    qid, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    off = 12
    for _ in range(qd):
        while reply[off] != 0:
            off += 1 + reply[off]
        off += 5
    addrs = []
    for _ in range(an):
        if reply[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while reply[off] != 0:
                off += 1 + reply[off]
            off += 1
        rtype, _, _, rdlen = struct.unpack("!HHLH", reply[off:off + 10])
        off += 10
        if rtype == 1:
            addrs.append(socket.inet_ntoa(reply[off:off + 4]))
        off += rdlen
    return qid, RCODES.get(flags & 0xF, str(flags & 0xF)), (flags >> 9) & 1, addrs


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def tcp_connect(server):
    s = socket.create_connection((server, 53), timeout=5)
    s.settimeout(5)
    return s


def framed(q):
    return struct.pack("!H", len(q)) + q


def read_reply(s):
    return recv_exact(s, struct.unpack("!H", recv_exact(s, 2))[0])


def show(names, reply):
    qid, rcode, tc, addrs = parse(reply)
    print(names[qid - 1], rcode, "tc=%d" % tc, *addrs)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "query":
        tcp = args[0] == "--tcp"
        if tcp:
            args = args[1:]
        server, names = args[0], args[1:]
        if tcp:
            s = tcp_connect(server)
            s.sendall(b"".join(framed(query(i + 1, n)) for i, n in enumerate(names)))
            for _ in names:
                show(names, read_reply(s))
            s.close()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            for i, n in enumerate(names):
                s.sendto(query(i + 1, n), (server, 53))
                show(names, s.recv(65535))
    elif cmd == "split":
        s = tcp_connect(args[0])
        for b in framed(query(1, args[1])):
            s.send(bytes([b]))
            time.sleep(0.01)
        show([args[1]], read_reply(s))
    elif cmd == "idle":
        s = tcp_connect(args[0])
        s.settimeout(30)
        s.sendall(framed(query(1, "x")))
        read_reply(s)
        t0 = time.monotonic()
        try:
            while s.recv(1):
                pass
        except ConnectionResetError:
            pass
        print("%.1f" % (time.monotonic() - t0))
    elif cmd == "badlen":
        s = tcp_connect(args[0])
        n = int(args[1])
        s.sendall(struct.pack("!H", n) + b"\0" * min(n, 100))
        try:
            print("closed" if s.recv(1) == b"" else "answered")
        except ConnectionResetError:
            print("closed")


try:
    main()
except (socket.timeout, EOFError) as e:
    print("error:", repr(e))
    sys.exit(1)
