"""Async streaming: ``AsyncSession.stream()`` and ``stream=True`` responses
read with ``aiter_content``, ``aiter_lines``, ``aread`` and ``aclose``. Bytes
are handed out as they arrive, a broken body raises where it is reached, an
aborted stream leaves the session working, and a slow consumer holds the
transfer back instead of letting the body pile up in memory."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time

import pytest
from _helpers import token
from servers.fault import SLOW_FIRST, SLOW_SECOND, big_body, compressed_payload
from servers.sink import SinkServer, pattern_sha256

import requestx
from requestx import exceptions as exc

MEMORY_SCRIPT = os.path.join(os.path.dirname(__file__), "isolated", "async_memory_check.py")


def run(coro_fn):
    async def go():
        async with requestx.AsyncSession() as s:
            return await coro_fn(s)

    return asyncio.run(go())


# ---------------------------------------------------------------------------
# bytes as they arrive
# ---------------------------------------------------------------------------


def test_first_chunk_arrives_before_the_server_sends_the_rest(fault_server):
    tok = token()
    gate = fault_server.gate(tok)

    async def go(s):
        async with s.stream("GET", fault_server + f"/slow-chunks?gate={tok}") as r:
            assert r.status_code == 200
            chunks = r.aiter_content()
            first = await asyncio.wait_for(chunks.__anext__(), 2)
            gate_was_open = gate.opened.is_set()
            second_was_sent = gate.second_sent.is_set()
            gate.open()
            rest = [c async for c in chunks]
            return first, gate_was_open, second_was_sent, b"".join(rest)

    first, gate_was_open, second_was_sent, rest = run(go)
    assert first == SLOW_FIRST
    assert not gate_was_open and not second_was_sent
    assert rest == SLOW_SECOND


def test_headers_are_available_before_the_body(fault_server):
    """``await s.get(..., stream=True)`` returns at the headers, not at the end."""
    tok = token()
    gate = fault_server.gate(tok)

    async def go(s):
        r = await asyncio.wait_for(s.get(fault_server + f"/slow-chunks?gate={tok}", stream=True), 2)
        returned_before_gate = not gate.opened.is_set()
        gate.open()
        body = await r.aread()
        return r, returned_before_gate, body

    r, returned_before_gate, body = run(go)
    assert returned_before_gate
    assert r.headers["Transfer-Encoding"] == "chunked"
    assert body == SLOW_FIRST + SLOW_SECOND


def test_aiter_lines_yields_each_line_as_it_completes(fault_server):
    tok = token()
    gate = fault_server.gate(tok)

    async def go(s):
        lines = []
        before_gate = None
        async with s.stream("GET", fault_server + f"/slow-chunks?gate={tok}") as r:
            async for line in r.aiter_lines():
                lines.append(line)
                if len(lines) == 2:
                    before_gate = not gate.opened.is_set()
                    gate.open()
        return lines, before_gate

    lines, before_gate = run(go)
    assert lines == [b"alpha", b"beta", b"gamma"]
    assert before_gate  # two lines arrived while the server still held the third
    with requestx.get(fault_server + "/slow-chunks?delay=0.05", stream=True) as sync:
        assert list(sync.iter_lines()) == lines


def test_aiter_lines_with_delimiter(fault_server):
    async def go(s):
        async with s.stream("GET", fault_server + "/slow-chunks?delay=0.05") as r:
            return [line async for line in r.aiter_lines(delimiter=b"a")]

    lines = run(go)
    assert b"".join(lines) == (SLOW_FIRST + SLOW_SECOND).replace(b"a", b"")
    with requestx.get(fault_server + "/slow-chunks?delay=0.05", stream=True) as sync:
        assert list(sync.iter_lines(delimiter=b"a")) == lines


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_aiter_content_chunk_size_and_integrity(fault_server, path):
    size = 3 * 1024 * 1024 + 17

    async def go(s):
        async with s.stream("GET", fault_server + f"{path}?size={size}") as r:
            return [c async for c in r.aiter_content(10_000)]

    chunks = run(go)
    assert b"".join(chunks) == big_body(size)
    assert all(0 < len(c) <= 10_000 for c in chunks)


def test_aread_returns_the_whole_body(fault_server):
    size = 2 * 1024 * 1024

    async def go(s):
        async with s.stream("GET", fault_server + f"/big?size={size}") as r:
            body = await r.aread()
            again = await r.aread()
            return body, again, r.content

    body, again, content = run(go)
    assert body == big_body(size)
    assert again is body and content is body


def test_content_of_an_unread_async_stream_raises(fault_server):
    async def go(s):
        async with s.stream("GET", fault_server + "/ok") as r:
            with pytest.raises(RuntimeError):
                r.content
            with pytest.raises(RuntimeError):
                r.text
            await r.aread()
            return r.text

    assert run(go) == "ok\n"


def test_iterating_a_consumed_stream_again_raises(fault_server):
    async def go(s):
        async with s.stream("GET", fault_server + "/ok") as r:
            first = [c async for c in r.aiter_content()]
            with pytest.raises(exc.StreamConsumedError):
                [c async for c in r.aiter_content()]
            return first

    assert b"".join(run(go)) == b"ok\n"


def test_aiter_content_after_aread_replays_the_body(fault_server):
    async def go(s):
        async with s.stream("GET", fault_server + "/big?size=1000") as r:
            await r.aread()
            return [c async for c in r.aiter_content(300)]

    chunks = run(go)
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert b"".join(chunks) == big_body(1000)


def test_non_stream_response_supports_the_async_readers(fault_server):
    async def go(s):
        r = await s.get(fault_server + "/big?size=1000")
        return r.content, await r.aread(), b"".join([c async for c in r.aiter_content(64)])

    content, read, iterated = run(go)
    assert content == read == iterated == big_body(1000)


@pytest.mark.parametrize("name", ["gzip", "deflate", "br", "zstd"])
def test_compressed_stream_is_decoded(fault_server, name):
    async def go(s):
        async with s.stream("GET", fault_server + f"/{name}") as r:
            return b"".join([c async for c in r.aiter_content(7)])

    body = run(go)
    assert body == compressed_payload(name)
    assert requestx.get(fault_server + f"/{name}").content == body


@pytest.mark.parametrize("path", ["/bad-chunk", "/truncated-chunk", "/short"])
def test_broken_stream_raises_chunked_encoding_error_where_reached(fault_server, path):
    async def go(s):
        got = []
        async with s.stream("GET", fault_server + path) as r:
            with pytest.raises(exc.ChunkedEncodingError):
                async for c in r.aiter_content():
                    got.append(c)
        return b"".join(got), (await s.get(fault_server + "/ok")).text

    got, after = run(go)
    sync_got = []
    with requestx.get(fault_server + path, stream=True) as r:
        with pytest.raises(exc.ChunkedEncodingError):
            for c in r.iter_content(None):
                sync_got.append(c)
    assert got == b"".join(sync_got)
    assert after == "ok\n"


def test_stream_follows_redirects(fault_server):
    async def go(s):
        url = fault_server + "/redirect?status=302&location=/slow-chunks?delay=0.05"
        async with s.stream("GET", url) as r:
            return [h.status_code for h in r.history], await r.aread()

    history, body = run(go)
    assert history == [302]
    assert body == SLOW_FIRST + SLOW_SECOND


def test_head_and_204_streams_are_empty(fault_server):
    async def go(s):
        async with s.stream("HEAD", fault_server + "/big?size=5000") as head:
            head_body = await head.aread()
            length = head.headers["Content-Length"]
        async with s.stream("GET", fault_server + "/status/204") as empty:
            empty_body = [c async for c in empty.aiter_content()]
        return head_body, length, empty_body

    assert run(go) == (b"", "5000", [])


# ---------------------------------------------------------------------------
# closing early
# ---------------------------------------------------------------------------


def test_aclose_mid_body_closes_the_connection_and_the_session_works(isolated_fault_server):
    server = isolated_fault_server

    async def go():
        async with requestx.AsyncSession(max_connections=1) as s:
            before = (await s.get(server + "/conn-id")).text.split()[0]
            r = await s.get(server + "/big?size=67108864", stream=True)
            first = await r.aiter_content(1024).__anext__()
            await r.aclose()
            closed = r.raw.closed
            after = (await s.get(server + "/conn-id")).text.split()[0]
            ok = (await s.get(server + "/ok")).text
            return before, first, closed, after, ok

    before, first, closed, after, ok = asyncio.run(go())
    assert first == big_body(1024)
    assert closed is True
    assert after != before  # the aborted connection was not reused
    assert ok == "ok\n"


def test_leaving_the_stream_context_closes_an_unread_response(isolated_fault_server):
    server = isolated_fault_server

    async def go():
        async with requestx.AsyncSession() as s:
            async with s.stream("GET", server + "/big?size=67108864") as r:
                pass
            with pytest.raises(KeyError):
                async with s.stream("GET", server + "/big?size=67108864") as r2:
                    raise KeyError("boom")
            return r.raw.closed, r2.raw.closed, (await s.get(server + "/ok")).text

    assert asyncio.run(go()) == (True, True, "ok\n")


def test_response_async_context_manager_closes(fault_server):
    async def go(s):
        async with await s.get(fault_server + "/big?size=4194304", stream=True) as r:
            await r.aiter_content(100).__anext__()
        return r.raw.closed, (await s.get(fault_server + "/ok")).text

    assert run(go) == (True, "ok\n")


def test_stream_survives_session_close(fault_server):
    """close() closes the pool once the transfers in flight end: a stream
    opened before it still delivers its whole body."""
    size = 3 * 1024 * 1024

    async def go():
        s = requestx.AsyncSession()
        r = await s.get(fault_server + f"/big?size={size}", stream=True)
        await s.close()
        return await r.aread()

    assert asyncio.run(go()) == big_body(size)


def test_abandoned_stream_does_not_hold_a_connection_slot(isolated_fault_server):
    """An unread stream=True response that is dropped without aclose() (a
    paused transfer: its body is far bigger than the engine's buffer) must not
    keep its slot of max_connections forever, or the session deadlocks."""
    server = isolated_fault_server

    async def go():
        async with requestx.AsyncSession(max_connections=1) as s:
            r = await s.get(server + "/big?size=67108864", stream=True)
            assert r.status_code == 200
            del r
            gc.collect()
            return (await asyncio.wait_for(s.get(server + "/ok"), 2)).text

    assert asyncio.run(go()) == "ok\n"


def test_closed_session_still_works_like_session(fault_server):
    """As with requests' Session: close() closes the pool, the next request
    opens a new one."""

    async def go():
        s = requestx.AsyncSession()
        await s.get(fault_server + "/ok")
        await s.close()
        r = await s.get(fault_server + "/ok")
        await s.close()
        return r.text

    assert asyncio.run(go()) == "ok\n"


# ---------------------------------------------------------------------------
# many streams, back-pressure
# ---------------------------------------------------------------------------


def test_many_concurrent_streams_stay_separate(fault_server):
    sizes = [100_000 + 4099 * i for i in range(16)]

    async def go(s):
        async def one(size):
            got = bytearray()
            async with s.stream("GET", fault_server + f"/big?size={size}") as r:
                async for c in r.aiter_content(8192):
                    got += c
                    await asyncio.sleep(0)
            return bytes(got)

        return await asyncio.gather(*(one(n) for n in sizes))

    bodies = run(go)
    assert [len(b) for b in bodies] == sizes
    assert all(b == big_body(n) for b, n in zip(bodies, sizes))


def test_slow_consumer_is_not_read_timed_out(fault_server):
    """A paused transfer (consumer slower than the server) is not idle: the
    read timeout must not fire while the data waits for the reader."""
    size = 8 * 1024 * 1024

    async def go(s):
        got = 0
        started = time.monotonic()
        async with s.stream("GET", fault_server + f"/big?size={size}", timeout=0.2) as r:
            async for c in r.aiter_content(1024 * 1024):
                got += len(c)
                if time.monotonic() - started < 1.0:
                    await asyncio.sleep(0.3)
        return got

    assert run(go) == size


@pytest.fixture(scope="module")
def sink():
    with SinkServer() as server:
        yield server


def test_slow_consumer_keeps_memory_flat(sink):
    size = 64 * 1024 * 1024
    out = subprocess.run(
        [sys.executable, MEMORY_SCRIPT, sink.url, str(size), "0.0005"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bytes"] == size
    assert result["sha256"] == pattern_sha256(size)
    assert result["biggest"] <= 64 * 1024
    assert result["growth_kib"] < 16 * 1024, result
