"""AsyncHTTPTransport under trio (httpx runs on anyio, so its users may pick
trio): requests, streamed bodies both ways, timeouts, errors, the pool limit
and cancellation behave as under asyncio."""

from __future__ import annotations

import time

import pytest
from _helpers import parse_wire, token, wait_until
from _httpx_faces import hx_fixture, server_fixture  # noqa: F401
from servers.fault import SLOW_FIRST, SLOW_SECOND
from servers.httpx_fakes import HttpxFaultServer, UploadProbeServer

import requestx

trio = pytest.importorskip("trio")

pytestmark = pytest.mark.requestx_only


def client(hx, **options):
    return hx.AsyncClient(transport=requestx.AsyncHTTPTransport(**options))


def test_get(hx, server):
    async def go():
        async with client(hx) as c:
            return await c.get(server + "/echo-raw", headers={"X-Trio": "yes"})

    r = trio.run(go)
    assert r.status_code == 200
    assert parse_wire(r.content).get("X-Trio") == "yes"


def test_concurrent_requests(hx, server):
    results = {}

    async def fetch(c, i):
        results[i] = parse_wire((await c.get(server + f"/echo-raw?n={i}")).content).target

    async def go():
        async with client(hx) as c:
            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(fetch, c, i)

    trio.run(go)
    assert results == {i: f"/echo-raw?n={i}" for i in range(50)}


def test_streamed_response_chunks_as_they_arrive(hx, server):
    mark = token()
    gate = server.gate(mark)

    async def go():
        async with client(hx) as c:
            async with c.stream("GET", server + f"/slow-chunks?gate={mark}") as r:
                chunks = r.aiter_raw()
                first = await chunks.__anext__()
                assert not gate.second_sent.is_set()
                gate.open()
                return first, b"".join([chunk async for chunk in chunks])

    assert trio.run(go) == (SLOW_FIRST, SLOW_SECOND)


def test_streamed_upload(hx):
    with UploadProbeServer() as probe:

        async def body():
            yield b"a" * 1000
            assert await trio.to_thread.run_sync(probe.wait_received, 1000)
            yield b"b" * 100_000

        async def go():
            async with client(hx) as c:
                return (await c.post(probe.url, content=body())).text

        assert trio.run(go) == "101000"


def test_producer_error_propagates(hx, server):
    class Boom(Exception):
        pass

    async def body():
        yield b"partial"
        raise Boom("the producer broke")

    async def go():
        async with client(hx) as c:
            await c.post(server + "/echo-raw", content=body())

    with pytest.raises(Boom):
        trio.run(go)


def test_read_timeout(hx, server):
    async def go():
        async with client(hx) as c:
            await c.get(server + "/stall-headers", timeout=0.2)

    with pytest.raises(hx.ReadTimeout):
        trio.run(go)


def test_connect_error(hx, refused_url):
    async def go():
        async with client(hx) as c:
            await c.get(refused_url)

    with pytest.raises(hx.ConnectError):
        trio.run(go)


def test_retries_sleep_under_trio(hx, refused_url):
    async def go():
        async with client(hx, retries=1) as c:
            await c.get(refused_url)

    with pytest.raises(hx.ConnectError):
        trio.run(go)


def test_pool_timeout(hx, server):
    async def go():
        async with client(hx, limits=hx.Limits(max_connections=1)) as c:
            async with c.stream("GET", server + "/slow-chunks?delay=1"):
                with pytest.raises(hx.PoolTimeout):
                    await c.get(server + "/ok", timeout=hx.Timeout(5, pool=0.1))
            return (await c.get(server + "/ok")).text

    assert trio.run(go) == "ok\n"


def test_pool_waiter_gets_the_freed_place(hx, server):
    async def go():
        async with client(hx, limits=hx.Limits(max_connections=1)) as c:
            start = time.monotonic()
            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(c.get, server + "/drip?n=2&interval=0.1")
            return time.monotonic() - start

    assert trio.run(go) >= 0.55  # three 0.2 s exchanges, one at a time


def test_cancellation_closes_the_connection(hx):
    with HttpxFaultServer() as fresh:

        async def go():
            async with client(hx) as c:
                with trio.move_on_after(0.2):
                    await c.get(fresh + "/hold")
                assert await trio.to_thread.run_sync(
                    lambda: wait_until(lambda: not fresh.open_connection_ids())
                )
                return (await c.get(fresh + "/ok")).text

        assert trio.run(go) == "ok\n"


def test_cancellation_while_reading_a_body(hx, server):
    async def go():
        async with client(hx) as c:
            with trio.move_on_after(0.3):
                async with c.stream("GET", server + "/drip?n=50&interval=0.1") as r:
                    async for _ in r.aiter_raw():
                        pass
            return (await c.get(server + "/ok")).text

    assert trio.run(go) == "ok\n"


def test_one_transport_in_two_trio_runs(hx, server):
    transport = requestx.AsyncHTTPTransport()

    async def go():
        async with hx.AsyncClient(transport=transport) as c:
            return (await c.get(server + "/ok")).text

    assert trio.run(go) == trio.run(go) == "ok\n"


def test_without_an_event_loop(hx, server):
    import asyncio

    coroutine = requestx.AsyncHTTPTransport().handle_async_request(hx.Request("GET", server.url))
    with pytest.raises(RuntimeError, match="asyncio or trio"):
        coroutine.send(None)
    coroutine.close()
    assert asyncio.run(_get(hx, server)) == "ok\n"


async def _get(hx, server):
    async with client(hx) as c:
        return (await c.get(server + "/ok")).text
