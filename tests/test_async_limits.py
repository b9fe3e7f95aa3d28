"""AsyncSession connection limits: ``max_connections`` bounds the transfers in
flight (as the server sees them), ``max_connections_per_host`` bounds them per
host, requests beyond the limits wait in a queue, and thousands of gathered
requests complete."""

from __future__ import annotations

import asyncio
import time

import pytest
from _helpers import parse_wire, token, wait_until
from servers.fault import SLOW_FIRST, SLOW_SECOND
from servers.watch import WatchServer

import requestx


@pytest.fixture
def watch():
    with WatchServer() as server:
        yield server
    assert not server.errors, server.errors


@pytest.mark.parametrize("limit", [1, 3, 8])
def test_max_connections_bounds_requests_in_flight(watch, limit):
    async def go():
        async with requestx.AsyncSession(max_connections=limit) as s:
            rs = await asyncio.gather(*(s.get(watch + "/slow?delay=0.1") for _ in range(4 * limit)))
            return [r.text for r in rs]

    assert asyncio.run(go()) == ["slow\n"] * (4 * limit)
    assert watch.peak == limit
    assert watch.connections_accepted <= limit


def test_max_connections_queues_behind_a_gate(fault_server):
    """With the limit reached, no further request reaches the server until one
    of those in flight ends."""
    tok = token()
    gate = fault_server.gate(tok)

    async def go():
        async with requestx.AsyncSession(max_connections=2) as s:
            tasks = [
                asyncio.ensure_future(s.get(fault_server + f"/slow-chunks?gate={tok}&i={i}"))
                for i in range(6)
            ]
            deadline = time.monotonic() + 3
            while len(fault_server.requests_with(tok)) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            seen_while_gated = len(fault_server.requests_with(tok))
            gate.open()
            rs = await asyncio.gather(*tasks)
            return seen_while_gated, [r.content for r in rs]

    seen_while_gated, bodies = asyncio.run(go())
    assert seen_while_gated == 2
    assert bodies == [SLOW_FIRST + SLOW_SECOND] * 6
    assert len(fault_server.requests_with(tok)) == 6


def test_max_connections_per_host(watch):
    """Two host names for one server: each is held to 2 at a time, and the
    per-host limit does not serialise the other host's requests."""
    hosts = [watch.url_for_host("127.0.0.1"), watch.url_for_host("localhost")]

    async def go():
        async with requestx.AsyncSession(max_connections=10, max_connections_per_host=2) as s:
            coros = [s.get(h + "/slow?delay=0.15") for h in hosts for _ in range(6)]
            return await asyncio.gather(*coros)

    rs = asyncio.run(go())
    assert [r.status_code for r in rs] == [200] * 12
    assert watch.peak_by_host == {f"127.0.0.1:{watch.port}": 2, f"localhost:{watch.port}": 2}
    assert watch.peak == 4


def test_max_connections_caps_the_per_host_limit(watch):
    hosts = [watch.url_for_host("127.0.0.1"), watch.url_for_host("localhost")]

    async def go():
        async with requestx.AsyncSession(max_connections=3, max_connections_per_host=2) as s:
            coros = [s.get(h + "/slow?delay=0.1") for h in hosts for _ in range(5)]
            return await asyncio.gather(*coros)

    asyncio.run(go())
    assert watch.peak == 3
    assert max(watch.peak_by_host.values()) == 2


def test_limits_are_per_session(watch):
    async def go():
        async with requestx.AsyncSession(max_connections=2) as a:
            async with requestx.AsyncSession(max_connections=2) as b:
                coros = [s.get(watch + "/slow?delay=0.15") for s in (a, b) for _ in range(4)]
                await asyncio.gather(*coros)

    asyncio.run(go())
    assert watch.peak == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_connections": 0},
        {"max_connections": -1},
        {"max_connections_per_host": -1},
        {"max_connections_per_host": 0},
    ],
)
def test_limits_below_one_are_refused(kwargs):
    with pytest.raises(ValueError):
        requestx.AsyncSession(**kwargs)


def test_limits_are_exposed_as_attributes():
    s = requestx.AsyncSession(max_connections=7, max_connections_per_host=3)
    assert (s.max_connections, s.max_connections_per_host) == (7, 3)
    asyncio.run(s.close())


def test_connections_are_reused_up_to_the_limit(isolated_fault_server):
    async def go():
        async with requestx.AsyncSession(max_connections=4) as s:
            for _ in range(3):
                await asyncio.gather(*(s.get(isolated_fault_server + "/ok") for _ in range(40)))

    asyncio.run(go())
    assert 1 <= isolated_fault_server.connections_accepted <= 4


def test_ten_thousand_gathered_requests_complete(fault_server):
    n = 10_000
    tok = token()

    async def go():
        async with requestx.AsyncSession() as s:
            coros = [s.get(fault_server + f"/echo-head?t={tok}&i={i}") for i in range(n)]
            return await asyncio.gather(*coros)

    started = time.monotonic()
    rs = asyncio.run(go())
    elapsed = time.monotonic() - started
    assert [r.status_code for r in rs] == [200] * n
    targets = [parse_wire(r.content).target for r in rs]
    assert targets == [f"/echo-head?t={tok}&i={i}" for i in range(n)]
    assert len(fault_server.requests_with(tok)) == n
    assert elapsed < 20, elapsed


def test_cancelling_a_queued_request_never_sends_it(isolated_fault_server):
    """A request still waiting behind the limit is dropped from the queue when
    cancelled: the server never sees it, and the queue keeps moving."""
    server = isolated_fault_server
    tok = token()
    gate = server.gate(tok)

    async def go():
        async with requestx.AsyncSession(max_connections=1) as s:
            first = asyncio.ensure_future(s.get(server + f"/slow-chunks?gate={tok}"))
            queued = asyncio.ensure_future(s.get(server + "/echo-raw?queued=1"))
            assert await asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_until(lambda: server.requests_with(tok), 3)
            )
            await asyncio.sleep(0.1)
            queued.cancel()
            await asyncio.sleep(0.1)
            gate.open()
            r1 = await first
            with pytest.raises(asyncio.CancelledError):
                await queued
            r3 = await s.get(server + "/ok")
            return r1.content, r3.text

    first, third = asyncio.run(go())
    assert first == SLOW_FIRST + SLOW_SECOND
    assert third == "ok\n"
    assert server.requests_with("queued=1") == []


def test_queued_requests_still_complete_after_close(watch):
    """close() closes the pool once the transfers in flight end: requests
    already waiting behind the limit are still sent."""

    async def go():
        s = requestx.AsyncSession(max_connections=1)
        tasks = [asyncio.ensure_future(s.get(watch + "/slow?delay=0.05")) for _ in range(4)]
        await asyncio.sleep(0.01)
        await s.close()
        return [r.text for r in await asyncio.gather(*tasks)]

    assert asyncio.run(go()) == ["slow\n"] * 4
    assert watch.peak == 1


def test_per_host_limit_counts_each_port_separately():
    """Two servers on one address but different ports are different origins:
    each gets its own per-host allowance (libcurl's MAX_HOST_CONNECTIONS and
    aiohttp's limit_per_host count host and port together)."""
    with WatchServer() as one, WatchServer() as two:

        async def go():
            async with requestx.AsyncSession(max_connections_per_host=1) as s:
                coros = [s.get(srv + "/slow?delay=0.2") for srv in (one, two) for _ in range(3)]
                started = time.monotonic()
                rs = await asyncio.gather(*coros)
                return rs, time.monotonic() - started

        rs, elapsed = asyncio.run(go())
        assert [r.status_code for r in rs] == [200] * 6
        assert one.peak == 1 and two.peak == 1
        # 3 x 0.2 s on each server side by side, not 6 x 0.2 s one after the other
        assert elapsed < 0.95, elapsed


def test_fully_read_stream_returns_its_connection_to_the_pool(isolated_fault_server):
    server = isolated_fault_server

    async def go():
        async with requestx.AsyncSession(max_connections=1) as s:
            async with s.stream("GET", server + "/conn-id") as r:
                first = (await r.aread()).decode().split()
            second = (await s.get(server + "/conn-id")).text.split()
            return first, second

    first, second = asyncio.run(go())
    assert second[0] == first[0]  # same connection
    assert int(second[1]) == int(first[1]) + 1
    assert server.connections_accepted == 1
