"""Server-sent events: the WHATWG event-stream rules on a table of tricky
streams, each fed whole, byte by byte and in uneven pieces (the same events
must come out), and live streams where each event arrives at once."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

import requestx
from requestx import ServerSentEvent as E
from requestx._engine import SSEParser

STREAMS = {
    "lf": (b"data: one\n\ndata: two\n\n", [E(data="one"), E(data="two")]),
    "crlf": (b"data: one\r\n\r\n", [E(data="one")]),
    "cr": (b"data: one\r\rdata: two\r\r", [E(data="one"), E(data="two")]),
    "mixed-line-ends": (b"data: a\r\ndata: b\rdata: c\n\n", [E(data="a\nb\nc")]),
    "bom-at-start": (b"\xef\xbb\xbfdata: x\n\n", [E(data="x")]),
    "bom-later-is-data": (b"data: x\n\n\xef\xbb\xbfdata: y\n\n", [E(data="x")]),
    "comments": (b": hello\n:\ndata: x\n: between\n\n", [E(data="x")]),
    "multi-line-data": (b"data: a\ndata: b\ndata:\n\n", [E(data="a\nb\n")]),
    "no-space-after-colon": (b"data:x\n\n", [E(data="x")]),
    "two-spaces-keeps-one": (b"data:  x\n\n", [E(data=" x")]),
    "field-without-colon": (b"data\n\n", [E(data="")]),
    "event-type": (b"event: update\ndata: 1\n\n", [E(event="update", data="1")]),
    "event-type-resets": (
        b"event: a\ndata: 1\n\ndata: 2\n\n",
        [E(event="a", data="1"), E(data="2")],
    ),
    "id-carried-forward": (
        b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
        [E(data="a", id="7"), E(data="b", id="7"), E(data="c", id="")],
    ),
    "id-with-nul-ignored": (
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        [
            E(data="a", id="1"),
            E(data="b", id="1"),
        ],
    ),
    "retry-numeric": (b"retry: 1500\ndata: a\n\n", [E(data="a", retry=1500)]),
    "retry-not-numeric-ignored": (
        b"retry: 15s\ndata: a\n\nretry:\ndata: b\n\n",
        [
            E(data="a"),
            E(data="b"),
        ],
    ),
    "no-data-no-event": (b"event: x\n\nid: 3\n\ndata: y\n\n", [E(data="y", id="3")]),
    "unknown-fields-ignored": (b"foo: bar\ndata: x\n\n", [E(data="x")]),
    "unfinished-event-dropped": (b"data: done\n\ndata: never", [E(data="done")]),
    "unicode": ("data: héllo ✓\n\n".encode(), [E(data="héllo ✓")]),
    "merged-events": (b"data: 1\n\ndata: 2\n\ndata: 3\n\n", [E(data=str(i)) for i in (1, 2, 3)]),
}


def _parse(pieces) -> list:
    parser = SSEParser()
    return [E(*fields) for piece in pieces for fields in parser.feed(piece)]


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_stream_whole(name):
    stream, expected = STREAMS[name]
    assert _parse([stream]) == expected


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_stream_byte_by_byte(name):
    stream, expected = STREAMS[name]
    assert _parse([stream[i : i + 1] for i in range(len(stream))]) == expected


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_stream_in_uneven_pieces(name):
    stream, expected = STREAMS[name]
    cuts, i, step = [], 0, 1
    while i < len(stream):
        cuts.append(stream[i : i + step])
        i += step
        step = step % 5 + 2
    assert _parse(cuts) == expected


def test_event_json():
    assert E(data='{"a": [1, 2]}').json() == {"a": [1, 2]}


class _OneEventThenWait:
    """An SSE server: sends one event, waits until released, sends another."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/events"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                first = b"id: 1\ndata: first\n\n"
                conn.sendall(b"%x\r\n%s\r\n" % (len(first), first))
                self.release.wait(10)
                second = b"data: second\n\n"
                conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(second), second))

    def close(self) -> None:
        self.release.set()
        self.sock.close()


@pytest.fixture
def sse_server():
    server = _OneEventThenWait()
    yield server
    server.close()


def test_each_event_arrives_before_the_stream_goes_on(sse_server):
    with requestx.get(sse_server.url, stream=True, timeout=10) as r:
        events = r.iter_sse()
        first = next(events)  # would block for 10 s if held back for a buffer
        assert first == E(data="first", id="1")
        assert not sse_server.release.is_set()
        sse_server.release.set()
        assert list(events) == [E(data="second", id="1")]


def test_async_each_event_arrives_before_the_stream_goes_on(sse_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.stream("GET", sse_server.url, timeout=10) as r:
                events = r.aiter_sse()
                first = await events.__anext__()
                released_before = sse_server.release.is_set()
                sse_server.release.set()
                rest = [e async for e in events]
        return first, released_before, rest

    first, released_before, rest = asyncio.run(go())
    assert first == E(data="first", id="1")
    assert released_before is False
    assert rest == [E(data="second", id="1")]
