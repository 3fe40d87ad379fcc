"""The Python client against a live coopd on the shipped data (see conftest.py), and against a fake server
for what coopd does not echo back (the metadata sent)."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import List

import pytest

import coopclient
from coopclient import RPCError, StatusCode, cooperation_pb2 as pb
from coopclient.generated.ttrpc import ttrpc_pb2

MHLW = dict(indicator="JP_MHLW_FOREIGN_WORKERS", origin="VN", destination="JP")


def test_echo(client: coopclient.Client) -> None:
    assert client.echo(data=b"xin ch\xc3\xa0o").data == b"xin ch\xc3\xa0o"


def test_get_metrics_is_prometheus_text(client: coopclient.Client) -> None:
    client.echo(data=b"counted")
    metrics = client.get_metrics()
    assert metrics.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE coopd_calls_total counter\n" in metrics.text
    assert 'coopd_calls_total{service="coop.v1.Diagnostics",method="Echo",code="OK"} ' in metrics.text


def test_every_rpc_is_a_method() -> None:
    names = {f"{m.service}/{m.name}" for m in coopclient.METHODS.values()}
    assert "coop.v1.Cooperation/GetSeries" in names and "grpc.health.v1.Health/Watch" in names
    for name in coopclient.METHODS:
        assert callable(getattr(coopclient.Client, name))


def test_get_series_mhlw(client: coopclient.Client) -> None:
    series = client.get_series(**MHLW)
    assert isinstance(series, pb.Series)
    assert series.indicator.code == "JP_MHLW_FOREIGN_WORKERS"
    values = {p.period_end: p.observation.value for p in series.points}
    assert values["2023-10-31"] == 518364
    assert [p.period_start for p in series.points] == sorted(p.period_start for p in series.points)


def test_request_message_instead_of_fields(client: coopclient.Client) -> None:
    series = client.get_series(pb.GetSeriesRequest(**MHLW))
    assert any(p.observation.value == 518364 for p in series.points)
    with pytest.raises(TypeError):
        client.get_series(pb.GetSeriesRequest(**MHLW), origin="VN")


def test_misnamed_field_is_refused_before_sending(client: coopclient.Client) -> None:
    with pytest.raises(ValueError, match="indicatr"):
        client.get_series(indicatr="JP_MHLW_FOREIGN_WORKERS")
    with pytest.raises(TypeError):
        client.list_observations(page_size="ten")


def test_client_timeout_is_for_unary_calls_only(coopd_socket: str) -> None:
    with coopclient.Client(coopd_socket, timeout=0.3) as c:
        watch = c.health_watch(service="")
        assert watch._deadline is None
        assert next(watch).status == coopclient.health_pb2.HealthCheckResponse.SERVING
        time.sleep(0.6)
        assert c.echo(data=b"ok").data == b"ok"  # the watch is still open; nothing has ended it
        watch.close()


def test_list_observations_pages(client: coopclient.Client) -> None:
    seen: List[int] = []
    token, pages = "", 0
    while True:
        page = client.list_observations(origin="VN", destination="JP", page_size=5, page_token=token)
        assert len(page.observations) <= 5
        seen += [o.id for o in page.observations]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages > 1
    assert len(seen) == len(set(seen))
    everything = client.list_observations(origin="VN", destination="JP", page_size=1000)
    assert sorted(seen) == sorted(o.id for o in everything.observations)


def test_unknown_indicator_is_not_found(client: coopclient.Client) -> None:
    with pytest.raises(RPCError) as caught:
        client.get_series(indicator="NO_SUCH_INDICATOR", origin="VN", destination="JP")
    error = caught.value
    assert error.code == StatusCode.NOT_FOUND and error.code == 5 and error.code_name == "NOT_FOUND"
    assert "NO_SUCH_INDICATOR" in error.message
    assert str(error).startswith("NOT_FOUND: ")
    # The connection is still good for the next call.
    assert client.echo(data=b"after").data == b"after"


def test_stream_deadline(client: coopclient.Client) -> None:
    started = time.monotonic()
    with pytest.raises(RPCError) as caught:
        for _ in client.health_watch(service="", timeout=0.5):
            pass
    assert caught.value.code == StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 10
    assert client.echo(data=b"still here").data == b"still here"


def test_unary_deadline_already_passed(client: coopclient.Client) -> None:
    with pytest.raises(RPCError) as caught:
        client.echo(data=b"late", timeout=0)
    assert caught.value.code == StatusCode.DEADLINE_EXCEEDED


def test_concurrent_calls_on_one_client(client: coopclient.Client) -> None:
    """Threads share one connection; each gets its own answer (by stream id), even with a stream open."""
    watch = client.health_watch(service="", timeout=30)
    errors: List[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                payload = f"{n}-{i}".encode() * (n + 1)
                assert client.echo(data=payload).data == payload
                if i % 5 == 0:
                    assert any(p.observation.value == 518364 for p in client.get_series(**MHLW).points)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert next(watch).status == coopclient.health_pb2.HealthCheckResponse.SERVING
    watch.close()


def test_watch_changes_sees_another_clients_write(coopd_socket: str, client: coopclient.Client) -> None:
    if os.getuid() != 0:
        pytest.skip("writes need root (coopd's default writer policy)")
    with client.watch_changes(from_sequence=0, timeout=30) as changes:
        # The watch is registered once coopd has answered a later call on the same connection.
        client.health_check(service="")
        with coopclient.Client(coopd_socket, timeout=30) as writer:
            source = writer.put_source(request_id=str(uuid.uuid4()), source=pb.Source(
                title="watched from Python", publisher="coopclient tests", url="https://example.org/python",
                published="2026-01-15", kind=pb.SOURCE_KIND_NEWS))
        assert source.id > 0
        change = next(changes)
    assert isinstance(change, pb.Change)
    assert (change.entity_kind, change.entity_id) == ("source", source.id)
    assert change.operation == pb.CHANGE_OPERATION_INSERT
    assert change.WhichOneof("entity") == "source" and change.source.title == "watched from Python"


def test_to_dataframe(client: coopclient.Client) -> None:
    pandas = pytest.importorskip("pandas")
    frame = coopclient.to_dataframe(client.get_series(**MHLW))
    assert isinstance(frame, pandas.DataFrame)
    assert int(frame.loc[frame.period_end == "2023-10-31", "value"].iloc[0]) == 518364
    assert set(frame.origin) == {"VN"} and set(frame.destination) == {"JP"}
    listed = coopclient.to_dataframe(client.list_observations(indicators=["JP_MHLW_FOREIGN_WORKERS"], origin="VN",
                                                              destination="JP"))
    assert len(listed) >= 1 and list(listed.columns) == list(frame.columns)


def test_socket_from_environment(coopd_socket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOP_SOCKET", coopd_socket)
    with coopclient.Client() as c:
        assert c.socket_path == coopd_socket
        assert c.echo(data=b"found").data == b"found"
    monkeypatch.setenv("COOP_SOCKET", coopd_socket + ".missing")
    with pytest.raises(RPCError) as caught:
        coopclient.Client()
    assert caught.value.code == StatusCode.UNAVAILABLE
    assert coopd_socket + ".missing ($COOP_SOCKET): no such file" in caught.value.message


def test_discovery_order(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    paths = [c[0] for c in coopclient.discovery.candidates(None, env, uid=1000)]
    assert paths == ["/run/coopd/coopd.sock", "/run/user/1000/coopd/coopd.sock", "/tmp/coopd-1000/coopd.sock"]
    assert [c[0] for c in coopclient.discovery.candidates(None, {"COOPD_SOCKET": "/x"}, uid=1000)] == ["/x"]
    assert [c[0] for c in coopclient.discovery.candidates("/y", {"COOP_SOCKET": "/x"}, uid=1000)] == ["/y"]
    assert [c[0] for c in coopclient.discovery.candidates(None, {}, uid=0)] == ["/run/coopd/coopd.sock"]


def test_untrusted_per_user_directory() -> None:
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o777)
        reason = coopclient.discovery.untrusted(os.path.join(d, "coopd.sock"), os.getuid())
        assert reason and "writable by other users" in reason


def test_metadata_and_timeout_sent() -> None:
    """A fake server records the request envelope: coopd does not echo metadata back."""
    received: List[ttrpc_pb2.Request] = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fake.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                header = conn.recv(10, socket.MSG_WAITALL)
                length, stream_id, kind, flags = struct.unpack(">IIBB", header)
                received.append(ttrpc_pb2.Request.FromString(conn.recv(length, socket.MSG_WAITALL)))
                assert (stream_id, kind, flags) == (1, 1, 0)
                answer = ttrpc_pb2.Response(payload=coopclient.diagnostics_pb2.EchoResponse(data=b"ok")
                                            .SerializeToString()).SerializeToString()
                conn.sendall(struct.pack(">IIBB", len(answer), stream_id, 2, 0) + answer)
                conn.recv(1)

        server = threading.Thread(target=serve)
        server.start()
        with coopclient.Client(path, metadata={"client": "python-tests"}) as c:
            assert c.echo(data=b"hi", timeout=5, metadata=[("trace", "a"), ("trace", "b")]).data == b"ok"
        server.join()
        listener.close()
    request = received[0]
    assert (request.service, request.method) == ("coop.v1.Diagnostics", "Echo")
    assert [(kv.key, kv.value) for kv in request.metadata] == [("client", "python-tests"), ("trace", "a"),
                                                                 ("trace", "b")]
    assert 0 < request.timeout_nano <= 5_000_000_000
    assert coopclient.diagnostics_pb2.EchoRequest.FromString(request.payload).data == b"hi"


def test_connection_lost_fails_waiting_calls() -> None:
    """A call waiting when coopd goes away fails UNAVAILABLE instead of hanging."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fake.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            conn.recv(10)
            conn.close()

        server = threading.Thread(target=serve)
        server.start()
        with coopclient.Client(path) as c:
            with pytest.raises(RPCError) as caught:
                c.echo(data=b"x", timeout=10)
        server.join()
        listener.close()
    assert caught.value.code == StatusCode.UNAVAILABLE


HERE = os.path.dirname(os.path.abspath(__file__))


def test_example_prints_the_mhlw_series(coopd_socket: str) -> None:
    env = dict(os.environ, COOP_SOCKET=coopd_socket, PYTHONPATH=os.path.join(HERE, "..", "src"))
    out = subprocess.run([sys.executable, os.path.join(HERE, "..", "examples", "mhlw_series.py")], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "VN -> JP" in out and "2023-10-31" in out and "518,364" in out


def test_pip_install(tmp_path: "os.PathLike[str]") -> None:
    """pip install ./clients/python works (offline: protobuf comes from the system, --system-site-packages)."""
    if subprocess.run([sys.executable, "-c", "import ensurepip, venv"], capture_output=True).returncode:
        pytest.skip("python3-venv is not installed")
    root = os.path.join(str(tmp_path), "src")
    shutil.copytree(os.path.join(HERE, ".."), root, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = os.path.join(str(tmp_path), "venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", root], check=True,
                   capture_output=True, timeout=300)
    where = subprocess.run([python, "-c", "import coopclient; print(coopclient.__file__)"], cwd=str(tmp_path),
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(venv)
