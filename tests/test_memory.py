"""Big bodies move through requestx with flat memory: a 200 MiB upload (from a
generator or a file, on Session and AsyncSession) and a 200 MiB streamed
download each grow the client's peak RSS by far less than the body. Measured
in a fresh interpreter. (The async download: test_async_streaming.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from servers.sink import PATTERN, SinkServer, pattern_sha256

SCRIPT = os.path.join(os.path.dirname(__file__), "isolated", "memory_check.py")
SIZE = 200 * 1024 * 1024
MAX_GROWTH_KIB = 32 * 1024


@pytest.fixture(scope="module")
def sink():
    with SinkServer() as server:
        yield server


def _run(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("memory") / "big.bin"
    with open(path, "wb") as f:
        for _ in range(SIZE // len(PATTERN)):
            f.write(PATTERN)
    return str(path)


@pytest.mark.parametrize("scenario", ["upload-generator", "async-upload-generator"])
def test_upload_from_generator_is_streamed_with_flat_memory(sink, scenario):
    result = _run(scenario, sink.url, str(SIZE))
    assert result["bytes"] == SIZE
    assert result["chunked"] is True
    assert result["sha256"] == pattern_sha256(SIZE)
    assert result["growth_kib"] < MAX_GROWTH_KIB


@pytest.mark.parametrize("scenario", ["upload-file", "async-upload-file"])
def test_upload_from_file_is_streamed_with_flat_memory(sink, big_file, scenario):
    result = _run(scenario, sink.url, str(SIZE), big_file)
    assert result["bytes"] == SIZE
    assert result["chunked"] is False  # a file's length is known: Content-Length
    assert result["sha256"] == pattern_sha256(SIZE)
    assert result["growth_kib"] < MAX_GROWTH_KIB


def test_streamed_download_keeps_memory_flat(sink):
    result = _run("download", sink.url, str(SIZE))
    assert result["bytes"] == SIZE
    assert result["sha256"] == pattern_sha256(SIZE)
    assert result["growth_kib"] < MAX_GROWTH_KIB
