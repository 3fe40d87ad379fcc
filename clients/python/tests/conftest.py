"""Starts one coopd (the binary named by $COOPD) on the shipped data for the whole test session.

Nothing leaves this machine: coopd listens on a Unix socket in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from typing import Iterator

import pytest

import coopclient


@pytest.fixture(scope="session")
def coopd_socket() -> Iterator[str]:
    binary = os.environ.get("COOPD")
    if not binary:
        pytest.skip("set COOPD to the coopd binary (make test-python does)")
    directory = tempfile.mkdtemp(prefix="coopclient-test-")
    socket_path = os.path.join(directory, "coopd.sock")
    log = open(os.path.join(directory, "coopd.log"), "wb")
    process = subprocess.Popen([binary, "serve", "--socket", socket_path, "--state-directory",
                                os.path.join(directory, "state")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while coopclient.discovery.probe(socket_path) is not None:
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("coopd did not start:\n" + open(log.name).read())
            time.sleep(0.05)
        yield socket_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def client(coopd_socket: str) -> Iterator[coopclient.Client]:
    with coopclient.Client(coopd_socket, timeout=30) as c:
        yield c
