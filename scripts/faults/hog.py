#!/usr/bin/env python3
"""A client that pipelines requests and never reads its answers.

    hog.py SOCKET CONNECTIONS COUNT PID

Each of CONNECTIONS connections sends COUNT ListObservations requests (page of 100, any breakdown, with sources:
tens of kilobytes of answer each) for up to 2 s, never reading; then prints how many bytes coopd took on each and
coopd's resident memory (PID). A coopd that queued every answer would grow by gigabytes.
"""
import socket
import struct
import sys
import time

path, conns, count, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def field(number, data):
    return bytes([number << 3 | 2, len(data)]) + data


payload = bytes([7 << 3, 1, 12 << 3, 1, 13 << 3, 100])  # any_breakdown, include_sources, page_size = 100
envelope = field(1, b"coop.v1.Cooperation") + field(2, b"ListObservations") + field(3, payload)
data = b"".join(struct.pack(">IIBB", len(envelope), 2 * i + 1, 1, 0) + envelope for i in range(count))
sockets, taken = [], []
for _ in range(conns):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.setblocking(False)
    sockets.append(s)
    offset, deadline = 0, time.time() + 2
    while offset < len(data) and time.time() < deadline:
        try:
            offset += s.send(data[offset:offset + 65536])
        except BlockingIOError:
            time.sleep(0.01)
    taken.append(offset)
time.sleep(2)
rss = next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS")).split()[1]
print(f"bytes taken per connection {taken} of {len(data)}; coopd VmRSS {int(rss) // 1024} MiB")
