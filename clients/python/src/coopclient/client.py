"""A blocking coopd client that speaks ttrpc itself over the Unix socket.

ttrpc frames: a 10-byte header (payload length and stream id, both big-endian uint32, then type and flags
bytes) and a protobuf payload. A call is a Request frame on a new odd stream id; a unary call is answered by
one Response frame, a server stream by Data frames ending with one flagged remoteClosed|noData (or by a
Response carrying an error status). One reader thread hands each frame to the call waiting on its stream id,
so that several threads can call on one Client (one connection) at once.
"""

from __future__ import annotations

import queue
import socket
import struct
import threading
import time
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from . import discovery
from .generated.methods import METHODS, Method, Methods
from .generated.ttrpc import ttrpc_pb2
from .status import RPCError, StatusCode

HEADER = struct.Struct(">IIBB")
REQUEST, RESPONSE, DATA = 1, 2, 3
REMOTE_CLOSED, REMOTE_OPEN, NO_DATA = 1, 2, 4
#: Frames longer than this are refused: ttrpc's message limit, so a broken peer cannot make us allocate GBs.
MAX_FRAME = 4 << 20

Metadata = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
_Frame = Tuple[int, int, bytes]  # type, flags, payload


class _Closed:
    """Put on every waiting call's queue when the connection ends, carrying why."""

    def __init__(self, error: RPCError) -> None:
        self.error = error


class Client(Methods):
    """One connection to coopd; one method per RPC (see generated/methods.py), safe to share between threads.

    socket_path: None finds coopd's socket as coopctl does ($COOP_SOCKET, then the systemd and per-user paths).
    timeout: the default deadline of every unary call in seconds (None: no deadline); each call, streams
    included, may pass its own.
    metadata: key/value pairs sent with every call, before the call's own.
    """

    def __init__(self, socket_path: Optional[str] = None, *, timeout: Optional[float] = None,
                 metadata: Metadata = None) -> None:
        try:
            self._sock, self.socket_path = discovery.connect(socket_path)
        except ConnectionError as error:
            raise RPCError(StatusCode.UNAVAILABLE, str(error)) from None
        self.timeout = timeout
        self.metadata = _pairs(metadata)
        self._send_lock = threading.Lock()  # whole frames, in stream-id order
        self._lock = threading.Lock()  # guards _calls, _next_id, _closed (taken by the reader too)
        self._calls: Dict[int, "queue.Queue[Union[_Frame, _Closed]]"] = {}
        self._next_id = 1
        self._closed: Optional[RPCError] = None
        self._reader = threading.Thread(target=self._read_loop, name="coopclient-reader", daemon=True)
        self._reader.start()

    # -- lifetime

    def close(self) -> None:
        """Closes the connection; calls still waiting fail with CANCELLED."""
        self._fail_all(RPCError(StatusCode.CANCELLED, "the client was closed"))
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # -- calls

    def call(self, name: str, request: Any = None, *, timeout: Optional[float] = None, metadata: Metadata = None,
             **fields: Any) -> Any:
        """Calls an RPC by its Python name (e.g. "get_series"), for code that picks the method at run time."""
        return self._call(METHODS[name], request, fields, timeout, metadata)

    def _call(self, method: Method, request: Any, fields: Dict[str, Any], timeout: Optional[float],
              metadata: Metadata) -> Any:
        if request is None:
            request = method.request(**fields)  # protobuf's ValueError or TypeError for a misnamed or mistyped field
        elif fields:
            raise TypeError("pass either a request message or its fields, not both")
        elif not isinstance(request, method.request):
            raise TypeError(f"{method.name} takes a {method.request.DESCRIPTOR.full_name}, "
                            f"not {type(request).__name__}")
        if timeout is None and not method.server_streaming:
            timeout = self.timeout  # a stream (a watch) runs until closed unless given its own timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        stream_id, inbox = self._start(method, request, deadline, metadata)
        if method.server_streaming:
            return Stream(self, method, stream_id, inbox, deadline)
        try:
            kind, _flags, payload = self._next(inbox, deadline)
            if kind != RESPONSE:
                raise RPCError(StatusCode.INTERNAL, f"{method.name}: a frame of type {kind} on a unary call")
            return _decode_response(method, payload)
        finally:
            self._forget(stream_id)

    def _start(self, method: Method, request: Any, deadline: Optional[float],
               metadata: Metadata) -> Tuple[int, "queue.Queue[Union[_Frame, _Closed]]"]:
        envelope = ttrpc_pb2.Request(service=method.service, method=method.name,
                                     payload=request.SerializeToString())
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RPCError(StatusCode.DEADLINE_EXCEEDED, "deadline exceeded before the request was sent")
            envelope.timeout_nano = max(1, int(left * 1e9))  # coopd stops working on it then too
        for key, value in self.metadata + _pairs(metadata):
            envelope.metadata.add(key=key, value=value)
        body = envelope.SerializeToString()
        inbox: "queue.Queue[Union[_Frame, _Closed]]" = queue.Queue()
        # Server streams take nothing more from the client, so say so at once (remoteClosed), as ttrpc's do.
        flags = REMOTE_CLOSED if method.server_streaming else 0
        # The id is taken and the frame written under one lock: coopd refuses an id lower than one it has seen.
        with self._send_lock:
            with self._lock:
                if self._closed:
                    raise self._closed
                stream_id = self._next_id
                if stream_id > 0xFFFFFFFF:
                    raise RPCError(StatusCode.RESOURCE_EXHAUSTED, "stream ids used up: open a new Client")
                self._next_id += 2
                self._calls[stream_id] = inbox
            try:
                self._sock.sendall(HEADER.pack(len(body), stream_id, REQUEST, flags) + body)
            except OSError as error:
                self._forget(stream_id)
                raise RPCError(StatusCode.UNAVAILABLE, f"sending to coopd failed: {error}") from None
        return stream_id, inbox

    def _next(self, inbox: "queue.Queue[Union[_Frame, _Closed]]", deadline: Optional[float]) -> _Frame:
        """The call's next frame; DEADLINE_EXCEEDED when none comes in time, the connection's end as its error."""
        try:
            item = inbox.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise RPCError(StatusCode.DEADLINE_EXCEEDED, "deadline exceeded: no answer from coopd in time") from None
        if isinstance(item, _Closed):
            raise item.error
        return item

    def _forget(self, stream_id: int) -> None:
        """Stops routing frames to a call: answers arriving later (e.g. after its deadline) are dropped."""
        with self._lock:
            self._calls.pop(stream_id, None)

    # -- the reader thread

    def _read_loop(self) -> None:
        try:
            while True:
                length, stream_id, kind, flags = HEADER.unpack(self._read_exactly(HEADER.size))
                if length > MAX_FRAME:
                    raise RPCError(StatusCode.RESOURCE_EXHAUSTED, f"coopd sent a frame of {length} bytes")
                payload = self._read_exactly(length)
                with self._lock:
                    inbox = self._calls.get(stream_id)
                if inbox is not None:
                    inbox.put((kind, flags, payload))
        except RPCError as error:
            self._fail_all(error)
        except (OSError, ConnectionError) as error:
            self._fail_all(RPCError(StatusCode.UNAVAILABLE, f"connection to coopd lost: {error}"))

    def _read_exactly(self, n: int) -> bytes:
        chunks: List[bytes] = []
        while n:
            chunk = self._sock.recv(min(n, 1 << 20))
            if not chunk:
                raise ConnectionError("closed by coopd")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _fail_all(self, error: RPCError) -> None:
        with self._lock:
            if self._closed is None:
                self._closed = error
            calls, self._calls = self._calls, {}
        for inbox in calls.values():
            inbox.put(_Closed(error))


class Stream(Iterator[Any]):
    """A server stream's messages as an iterator; raises RPCError if it ends on an error or misses its deadline.

    Use it in a with block (or call close()) to stop early: ttrpc has no cancel frame, so closing only stops
    delivering; coopd ends the stream at its deadline or when the connection closes.
    """

    def __init__(self, client: Client, method: Method, stream_id: int,
                 inbox: "queue.Queue[Union[_Frame, _Closed]]", deadline: Optional[float]) -> None:
        self._client, self._method, self._id, self._inbox, self._deadline = client, method, stream_id, inbox, deadline
        self._done = False

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> Any:
        while not self._done:
            try:
                kind, flags, payload = self._client._next(self._inbox, self._deadline)
            except RPCError:
                self.close()
                raise
            if kind == RESPONSE:  # the stream ended with a status: an error, or OK with nothing more
                self.close()
                _decode_response(self._method, payload)
                break
            if kind != DATA:
                continue
            if flags & REMOTE_CLOSED:
                self.close()
            if not flags & NO_DATA:
                return self._method.response.FromString(payload)
        raise StopIteration

    def close(self) -> None:
        """Stops the stream: no more messages are delivered."""
        self._done = True
        self._client._forget(self._id)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def _decode_response(method: Method, payload: bytes) -> Any:
    response = ttrpc_pb2.Response.FromString(payload)
    if response.status.code != StatusCode.OK:
        raise RPCError(response.status.code, response.status.message)
    return method.response.FromString(response.payload)


def _pairs(metadata: Metadata) -> List[Tuple[str, str]]:
    """Metadata as (key, value) pairs: a mapping, or pairs when a key repeats."""
    if metadata is None:
        return []
    items = metadata.items() if isinstance(metadata, Mapping) else metadata
    return [(str(k), str(v)) for k, v in items]
