"""Streamed request bodies on AsyncSession: async generators, sync generators
and file objects are fed to the engine as libcurl takes them, never joined
first; the producer pauses while enough is buffered; a body that fails or
ends short fails the request; an early answer stops the producer."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from servers.sink import PATTERN, SinkServer, pattern_sha256

import requestx


@pytest.fixture(scope="module")
def sink():
    with SinkServer() as server:
        yield server


def sync_blocks(size: int):
    left = size
    while left:
        n = min(left, len(PATTERN))
        yield PATTERN[:n]
        left -= n


async def pattern_blocks(size: int, delay: float = 0.0):
    for block in sync_blocks(size):
        yield block
        if delay:
            await asyncio.sleep(delay)


@pytest.mark.parametrize("size", [0, 1, 65536, 70_000, 3_000_000])
def test_async_generator_body_arrives_whole_and_chunked(sink, size):
    async def main():
        async with requestx.AsyncSession() as s:
            return (await s.post(sink.url + "/upload", data=pattern_blocks(size))).json()

    got = asyncio.run(main())
    assert got == {"bytes": size, "sha256": pattern_sha256(size), "chunked": True}


def test_async_generator_with_content_length_is_not_chunked(sink):
    size = 1_000_000

    async def main():
        async with requestx.AsyncSession() as s:
            r = await s.put(
                sink.url + "/upload",
                data=pattern_blocks(size),
                headers={"Content-Length": str(size)},
            )
            return r.json()

    assert asyncio.run(main()) == {"bytes": size, "sha256": pattern_sha256(size), "chunked": False}


def test_sync_generator_and_file_are_streamed_too(sink, tmp_path):
    size = 2_500_000
    path = tmp_path / "body.bin"
    with open(path, "wb") as f:
        for block in sync_blocks(size):
            f.write(block)

    async def main():
        async with requestx.AsyncSession() as s:
            from_gen = (await s.post(sink.url + "/upload", data=sync_blocks(size))).json()
            with open(path, "rb") as f:
                from_file = (await s.post(sink.url + "/upload", data=f)).json()
            return from_gen, from_file

    from_gen, from_file = asyncio.run(main())
    assert from_gen == {"bytes": size, "sha256": pattern_sha256(size), "chunked": True}
    # a file's length is known: Content-Length, as on the sync Session
    assert from_file == {"bytes": size, "sha256": pattern_sha256(size), "chunked": False}


def test_str_chunks_are_sent_as_utf8(sink):
    async def words():
        yield "caf"
        yield "é "
        yield b"bytes"

    async def main():
        async with requestx.AsyncSession() as s:
            return (await s.post(sink.url + "/upload", data=words())).json()

    import hashlib

    assert asyncio.run(main())["sha256"] == hashlib.sha256("café bytes".encode()).hexdigest()


def test_body_shorter_than_its_content_length_fails(sink):
    async def main():
        async with requestx.AsyncSession() as s:
            with pytest.raises(requestx.ConnectionError, match="ended after 1000 of its 5000"):
                await s.post(
                    sink.url + "/upload",
                    data=pattern_blocks(1000),
                    headers={"Content-Length": "5000"},
                )
            # the session still works
            return (await s.post(sink.url + "/upload", data=b"x")).json()["bytes"]

    assert asyncio.run(main()) == 1


def test_producer_error_fails_the_request_with_that_error(sink):
    class Broken(Exception):
        pass

    async def breaks():
        yield PATTERN
        await asyncio.sleep(0.01)
        raise Broken("the source went away")

    async def main():
        async with requestx.AsyncSession() as s:
            with pytest.raises(Broken, match="source went away"):
                await s.post(sink.url + "/upload", data=breaks())
            return (await s.post(sink.url + "/upload", data=pattern_blocks(10))).json()

    assert asyncio.run(main())["bytes"] == 10


def test_slow_producer_is_not_a_read_timeout(sink):
    # waiting for our own body's producer stops the read-timeout clock
    async def main():
        async with requestx.AsyncSession() as s:
            body = pattern_blocks(4 * len(PATTERN), delay=0.25)
            return (await s.post(sink.url + "/upload", data=body, timeout=0.1)).json()

    assert asyncio.run(main())["bytes"] == 4 * len(PATTERN)


def test_sync_session_rejects_an_async_body_before_sending(isolated_fault_server):
    with requestx.Session() as s:
        with pytest.raises(TypeError, match="AsyncSession"):
            s.post(isolated_fault_server.url + "/echo-raw", data=pattern_blocks(10))
    assert isolated_fault_server.requests == []


class _Endless:
    """A body that never ends; ``produced`` counts the bytes handed out."""

    def __init__(self) -> None:
        self.produced = 0

    async def blocks(self):
        while True:
            self.produced += len(PATTERN)
            yield PATTERN


class _DeafServer:
    """Reads a request's head, then reads nothing more until told to answer
    413 and close: the client's upload can only go as far as buffers allow."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.answer = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(1)
            self.answer.wait(30)
            try:
                conn.sendall(
                    b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n"
                    b"Connection: close\r\n\r\ntoo big\n"
                )
                conn.shutdown(socket.SHUT_WR)
                time.sleep(0.2)
            except OSError:
                pass  # the client gave up first (cancelled)

    def close(self) -> None:
        self.answer.set()
        self.sock.close()


def test_producer_pauses_while_the_server_does_not_read_and_stops_on_an_answer():
    server = _DeafServer()
    body = _Endless()

    async def main():
        async with requestx.AsyncSession() as s:
            task = asyncio.ensure_future(s.post(server.url + "/upload", data=body.blocks()))
            # wait until the producer has stopped: the buffers are full
            last = -1
            while body.produced != last:
                last = body.produced
                await asyncio.sleep(0.3)
            stalled_at = body.produced
            server.answer.set()
            r = await task
            await asyncio.sleep(0.1)
            return stalled_at, r

    try:
        stalled_at, r = asyncio.run(main())
    finally:
        server.close()
    # at most our 1 MiB buffer plus the kernel's socket buffers, not endless
    assert 0 < stalled_at < 16 * 1024 * 1024
    assert r.status_code == 413
    assert r.content == b"too big\n"
    assert body.produced < stalled_at + 4 * 1024 * 1024  # stopped once answered


def test_cancelling_the_request_stops_the_producer():
    server = _DeafServer()
    body = _Endless()

    async def main():
        async with requestx.AsyncSession() as s:
            task = asyncio.ensure_future(s.post(server.url + "/upload", data=body.blocks()))
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.2)
            at_cancel = body.produced
            server.answer.set()  # the server would now read: nothing more is sent
            await asyncio.sleep(0.3)
            # and the session goes on working
            ok = await s.get(sink_url + "/download?size=3")
            return at_cancel, ok.content

    with SinkServer() as sink_server:
        sink_url = sink_server.url
        try:
            at_cancel, content = asyncio.run(main())
        finally:
            server.close()
    assert 0 < at_cancel < 16 * 1024 * 1024
    assert body.produced == at_cancel
    assert content == PATTERN[:3]
