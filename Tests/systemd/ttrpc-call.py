#!/usr/bin/env python3
"""One unary ttrpc call, for the systemd test: ttrpc-call.py SOCKET SERVICE METHOD [PAYLOAD_HEX]

Prints the response payload in hex and exits 0; on an RPC error prints "status CODE: MESSAGE" to stderr
and exits 2; on a transport error exits 1. Standard library only (framing per containerd/ttrpc).
"""
import socket
import struct
import sys

REQUEST, RESPONSE = 1, 2


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def parse(data):
    """Yields (field number, wire type, value) of a protobuf message."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        yield number, wire, value


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def read_exactly(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        buf += chunk
    return bytes(buf)


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__.strip(), file=sys.stderr)
        return 64
    path, service, method = sys.argv[1:4]
    payload = bytes.fromhex(sys.argv[4]) if len(sys.argv) == 5 else b""
    request = field_bytes(1, service.encode()) + field_bytes(2, method.encode()) + field_bytes(3, payload)
    stream_id = 1
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(struct.pack(">IIBB", len(request), stream_id, REQUEST, 0) + request)
        while True:
            length, sid, kind, _flags = struct.unpack(">IIBB", read_exactly(sock, 10))
            body = read_exactly(sock, length)
            if sid == stream_id and kind == RESPONSE:
                break
    except (OSError, ConnectionError) as error:
        print("transport error: %s" % error, file=sys.stderr)
        return 1
    code, message, result = 0, "", b""
    for number, _wire, value in parse(body):
        if number == 1:
            for n, _w, v in parse(value):
                if n == 1:
                    code = v
                elif n == 2:
                    message = v.decode(errors="replace")
        elif number == 2:
            result = value
    if code:
        print("status %d: %s" % (code, message), file=sys.stderr)
        return 2
    print(result.hex())
    return 0


if __name__ == "__main__":
    sys.exit(main())
