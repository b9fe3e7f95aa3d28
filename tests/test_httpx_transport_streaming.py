"""Streaming through the httpx transports: response chunks reach httpx as they
arrive (``stream()``, ``iter_bytes``, ``aiter_lines``, httpx-sse), closing a
response stops its transfer, and request bodies from httpx's sync and async
byte streams go out as they are produced, never buffered whole."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import pytest
from _helpers import token, wait_until
from _httpx_faces import face_fixture, hx_fixture, send, server_fixture  # noqa: F401
from servers.fault import SLOW_FIRST, SLOW_SECOND, big_body
from servers.httpx_fakes import HttpxFaultServer, UploadProbeServer
from servers.quick_http import QuickHTTPServer

import requestx

pytestmark = pytest.mark.requestx_only


# ---------------------------------------------------------------------------
# response bodies: chunks as they arrive
# ---------------------------------------------------------------------------


def _gated(server, path):
    """(URL of a gated endpoint, its gate): the server sends the first part,
    then waits until the test opens the gate."""
    mark = token()
    return server + f"{path}?gate={mark}", server.gate(mark)


def test_first_chunk_arrives_before_the_rest_is_sent(hx, server):
    url, gate = _gated(server, "/slow-chunks")
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with c.stream("GET", url) as r:
            chunks = r.iter_raw()
            assert next(chunks) == SLOW_FIRST
            assert not gate.second_sent.is_set()
            gate.open()
            assert b"".join(chunks) == SLOW_SECOND


def test_first_chunk_arrives_before_the_rest_is_sent_async(hx, server):
    url, gate = _gated(server, "/slow-chunks")

    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:
            async with c.stream("GET", url) as r:
                chunks = r.aiter_raw()
                first = await chunks.__anext__()
                assert not gate.second_sent.is_set()
                gate.open()
                rest = b"".join([chunk async for chunk in chunks])
        return first, rest

    assert asyncio.run(go()) == (SLOW_FIRST, SLOW_SECOND)


def test_iter_lines_as_they_arrive(hx, server):
    url, gate = _gated(server, "/slow-chunks")
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with c.stream("GET", url) as r:
            lines = r.iter_lines()
            assert [next(lines), next(lines)] == ["alpha", "beta"]
            gate.open()
            assert list(lines) == ["gamma"]


def test_aiter_lines_as_they_arrive(hx, server):
    url, gate = _gated(server, "/slow-chunks")

    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:
            async with c.stream("GET", url) as r:
                lines = r.aiter_lines()
                first = [await lines.__anext__(), await lines.__anext__()]
                gate.open()
                return first, [line async for line in lines]

    assert asyncio.run(go()) == (["alpha", "beta"], ["gamma"])


def test_httpx_sse_events_as_they_arrive(server):
    hx = pytest.importorskip("httpx")
    httpx_sse = pytest.importorskip("httpx_sse")
    url, gate = _gated(server, "/sse-gated")
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with httpx_sse.connect_sse(c, "GET", url) as source:
            events = source.iter_sse()
            first = next(events)
            assert (first.event, first.data) == ("first", "one")
            assert not gate.second_sent.is_set()
            gate.open()
            rest = [(e.event, e.data, e.id) for e in events]
    assert rest == [("second", "two", "2"), ("message", "three\nlines", "2")]


def test_httpx_sse_async_events_as_they_arrive(server):
    hx = pytest.importorskip("httpx")
    httpx_sse = pytest.importorskip("httpx_sse")
    url, gate = _gated(server, "/sse-gated")

    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:
            async with httpx_sse.aconnect_sse(c, "GET", url) as source:
                events = source.aiter_sse()
                first = await events.__anext__()
                assert not gate.second_sent.is_set()
                gate.open()
                return first.data, [e.data async for e in events]

    assert asyncio.run(go()) == ("one", ["two", "three\nlines"])


def test_httpx2_sse_events_as_they_arrive(server):
    """httpx2 has server-sent events built in: Client.sse()."""
    httpx2 = pytest.importorskip("httpx2")
    if not hasattr(httpx2.Client, "sse"):
        pytest.skip("this httpx2 has no Client.sse")
    url, gate = _gated(server, "/sse-gated")
    with httpx2.Client(transport=requestx.HTTPTransport()) as c:
        with c.sse(url) as source:
            events = iter(source)
            assert next(events).data == "one"
            assert not gate.second_sent.is_set()
            gate.open()
            assert [e.data for e in events] == ["two", "three\nlines"]


def test_httpx2_sse_async_events_as_they_arrive(server):
    httpx2 = pytest.importorskip("httpx2")
    if not hasattr(httpx2.AsyncClient, "sse"):
        pytest.skip("this httpx2 has no AsyncClient.sse")
    url, gate = _gated(server, "/sse-gated")

    async def go():
        async with httpx2.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:
            async with c.sse(url) as source:
                events = source.__aiter__()
                first = await events.__anext__()
                assert not gate.second_sent.is_set()
                gate.open()
                return first.data, [e.data async for e in events]

    assert asyncio.run(go()) == ("one", ["two", "three\nlines"])


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_big_body_arrives_whole(hx, face, server, path):
    size = 6 * 1024 * 1024 + 123
    r = send(hx, face, "GET", server + f"{path}?size={size}")
    assert hashlib.sha256(r.content).digest() == hashlib.sha256(big_body(size)).digest()


def test_iter_bytes_with_chunk_size(hx, server):
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with c.stream("GET", server + "/big?size=100000") as r:
            sizes = [len(chunk) for chunk in r.iter_bytes(chunk_size=4096)]
    assert set(sizes[:-1]) == {4096} and sum(sizes) == 100000


# ---------------------------------------------------------------------------
# closing a response stops its transfer
# ---------------------------------------------------------------------------


@pytest.fixture
def fresh_server():
    """A server of one's own, to watch its connections."""
    with HttpxFaultServer() as s:
        yield s
    assert not s.handler_errors


def _all_closed(server) -> bool:
    return wait_until(lambda: not server.open_connection_ids())


def test_closing_a_response_early_closes_its_connection(hx, fresh_server):
    server = fresh_server
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with c.stream("GET", server + "/big?size=50000000") as r:
            next(r.iter_raw())
        # the half-read connection is closed, not returned to the pool
        assert _all_closed(server)
        assert c.get(server + "/ok").text == "ok\n"
        assert server.connections_accepted == 2


def test_closing_an_async_response_early_closes_its_connection(hx, fresh_server):
    server = fresh_server

    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:
            async with c.stream("GET", server + "/big?size=50000000") as r:
                await r.aiter_raw().__anext__()
            assert await asyncio.to_thread(_all_closed, server)
            return (await c.get(server + "/ok")).text

    assert asyncio.run(go()) == "ok\n"


def test_cancelled_task_stops_its_transfer(hx, fresh_server):
    server = fresh_server

    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:
            task = asyncio.ensure_future(c.get(server + "/hold"))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.to_thread(_all_closed, server)
            return (await c.get(server + "/ok")).text

    assert asyncio.run(go()) == "ok\n"


def test_cancelled_task_while_reading_a_body(hx, server):
    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:

            async def read_slowly():
                async with c.stream("GET", server + "/drip?n=50&interval=0.1") as r:
                    async for _ in r.aiter_raw():
                        pass

            task = asyncio.ensure_future(read_slowly())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await c.get(server + "/ok")).text

    assert asyncio.run(go()) == "ok\n"


# ---------------------------------------------------------------------------
# request bodies: streamed, not buffered
# ---------------------------------------------------------------------------


def test_sync_body_goes_out_as_it_is_produced(hx):
    """The generator yields its second chunk only once the server holds the
    first one: a transport that read the whole body first would hang."""
    with UploadProbeServer() as probe:
        first_seen = threading.Event()

        def body():
            yield b"a" * 1000
            first_seen.set() if probe.wait_received(1000) else None
            yield b"b" * 1000

        with hx.Client(transport=requestx.HTTPTransport(), timeout=10) as c:
            r = c.post(probe.url, content=body())
    assert first_seen.is_set()
    assert r.text == "2000"


def test_async_body_goes_out_as_it_is_produced(hx):
    with UploadProbeServer() as probe:

        async def body():
            yield b"a" * 1000
            assert await asyncio.to_thread(probe.wait_received, 1000)
            yield b"b" * 1000

        async def go():
            async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport(), timeout=10) as c:
                return (await c.post(probe.url, content=body())).text

        assert asyncio.run(go()) == "2000"


def test_streamed_body_with_content_length(hx, face):
    def body():
        yield b"x" * 300
        yield b"y" * 700

    async def abody():
        for chunk in body():
            yield chunk

    with UploadProbeServer() as probe:
        r = send(
            hx,
            face,
            "PUT",
            probe.url,
            content=body() if face == "sync" else abody(),
            headers={"Content-Length": "1000"},
        )
    assert r.text == "1000"


def test_big_streamed_upload(hx, face):
    size = 8 * 1024 * 1024

    def body():
        block = b"z" * 65536
        for _ in range(size // len(block)):
            yield block

    async def abody():
        for chunk in body():
            yield chunk

    with UploadProbeServer() as probe:
        r = send(hx, face, "POST", probe.url, content=body() if face == "sync" else abody())
    assert r.text == str(size)


def test_file_upload_is_streamed(hx, face, tmp_path):
    path = tmp_path / "upload.bin"
    path.write_bytes(b"f" * 200_000)
    with UploadProbeServer() as probe, open(path, "rb") as f:
        r = send(hx, face, "POST", probe.url, files={"file": f})
    assert int(r.text) > 200_000


def test_producer_error_propagates(hx, face, server):
    class Boom(Exception):
        pass

    def body():
        yield b"partial"
        raise Boom("the producer broke")

    async def abody():
        yield b"partial"
        raise Boom("the producer broke")

    with pytest.raises(Boom):
        send(hx, face, "POST", server + "/echo-raw", content=body() if face == "sync" else abody())


def test_every_response_of_a_busy_loop_completes(hx):
    """64 exchanges in flight against a fast server, thousands in all: the
    engine posts news while the event loop is still walking the previous
    batch, and every waiter must be woken (it once lost such news, and some
    responses never completed)."""

    async def go(url):
        transport = requestx.AsyncHTTPTransport()
        request = hx.Request("GET", url)

        async def worker():
            for _ in range(500):
                response = await transport.handle_async_request(request)
                assert await response.aread() == b"quick"

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(64))), 20)

    with QuickHTTPServer() as quick:
        asyncio.run(go(quick.url))
