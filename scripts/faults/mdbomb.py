#!/usr/bin/env python3
"""Requests stuffed with metadata, as fast as they are answered.

    mdbomb.py SOCKET CONNECTIONS ENTRIES SECONDS

Each connection sends Echo requests carrying ENTRIES metadata entries (400,000 make a 3.2 MB frame, under the
4 MiB frame limit) one after another for SECONDS; prints how many were answered. Run a latency client beside it.
"""
import socket
import struct
import sys
import threading
import time

path, conns, entries, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])


def field(number, data):
    out, n = bytearray([number << 3 | 2]), len(data)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + data


envelope = (field(1, b"coop.v1.Diagnostics") + field(2, b"Echo") + field(3, b"\x0a\x01x")
            + field(5, field(1, b"k") + field(2, b"v")) * entries)
answered = [0]
lock = threading.Lock()


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("coopd closed the connection")
        data += chunk
    return data


def run():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    stream, end = 1, time.time() + seconds
    while time.time() < end:
        s.sendall(struct.pack(">IIBB", len(envelope), stream, 1, 0) + envelope)
        stream += 2
        length = struct.unpack(">I", read_exactly(s, 10)[:4])[0]
        read_exactly(s, length)
        with lock:
            answered[0] += 1


threads = [threading.Thread(target=run) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"{answered[0]} requests of {len(envelope) + 10} bytes answered")
