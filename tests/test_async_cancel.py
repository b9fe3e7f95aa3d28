"""Cancellation and timeouts on AsyncSession: a cancelled task (or an
``asyncio.wait_for`` that runs out) stops its transfer on the engine thread and
closes the connection at once, ``timeout=`` raises ConnectTimeout/ReadTimeout
as the sync Session does, the session keeps working afterwards, and the event
loop is never blocked while requests wait."""

from __future__ import annotations

import asyncio
import time

import pytest
from _helpers import token
from servers.fault import counting_body
from servers.watch import WatchServer

import requestx
from requestx import exceptions as exc

PROMPT = 1.0  # seconds within which the server must see a cancelled connection close


@pytest.fixture(scope="module")
def watch():
    with WatchServer() as server:
        yield server
    assert not server.errors, server.errors


async def _until(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return bool(predicate())


# ---------------------------------------------------------------------------
# cancellation
# ---------------------------------------------------------------------------


def test_cancelled_task_closes_its_connection_promptly(watch):
    ident = token()

    async def go():
        async with requestx.AsyncSession() as s:
            task = asyncio.ensure_future(s.get(watch + f"/hold?id={ident}"))
            assert await _until(lambda: ident in watch.held)
            cancelled_at = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()
            assert await _until(lambda: ident in watch.closed_at)
            after = await s.get(watch + "/ok")
            return cancelled_at, after.text

    cancelled_at, text = asyncio.run(go())
    assert watch.closed_at[ident] - cancelled_at < PROMPT
    assert text == "ok\n"


def test_wait_for_timeout_cancels_the_transfer(watch):
    ident = token()

    async def go():
        async with requestx.AsyncSession() as s:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(s.get(watch + f"/hold?id={ident}"), 0.2)
            elapsed = time.monotonic() - started
            assert await _until(lambda: ident in watch.closed_at)
            closed_after = watch.closed_at[ident] - started
            r = await s.get(watch + "/ok")
            return elapsed, closed_after, r.text

    elapsed, closed_after, text = asyncio.run(go())
    assert 0.15 < elapsed < 1.0
    assert closed_after < 0.2 + PROMPT
    assert text == "ok\n"


def test_cancelling_many_tasks_closes_every_connection(watch):
    ids = [token() for _ in range(30)]

    async def go():
        async with requestx.AsyncSession() as s:
            tasks = [asyncio.ensure_future(s.get(watch + f"/hold?id={i}")) for i in ids]
            assert await _until(lambda: all(i in watch.held for i in ids))
            for t in tasks:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            assert await _until(lambda: all(i in watch.closed_at for i in ids))
            return [r.text for r in await asyncio.gather(*(s.get(watch + "/ok") for _ in range(5)))]

    assert asyncio.run(go()) == ["ok\n"] * 5


def test_cancelling_one_request_leaves_the_others_alone(watch):
    ident = token()

    async def go():
        async with requestx.AsyncSession() as s:
            others = [asyncio.ensure_future(s.get(watch + "/slow?delay=0.3")) for _ in range(5)]
            victim = asyncio.ensure_future(s.get(watch + f"/hold?id={ident}"))
            assert await _until(lambda: ident in watch.held)
            victim.cancel()
            done = await asyncio.gather(*others)
            return [r.text for r in done]

    assert asyncio.run(go()) == ["slow\n"] * 5


def test_cancel_before_the_request_starts(fault_server):
    """A task cancelled before its first step never sends anything."""
    tok = token()

    async def go():
        async with requestx.AsyncSession() as s:
            task = asyncio.ensure_future(s.get(fault_server + f"/ok?t={tok}"))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await s.get(fault_server + "/ok")).text

    assert asyncio.run(go()) == "ok\n"
    assert fault_server.requests_with(tok) == []


def test_cancelled_stream_read_then_session_works(fault_server):
    """Cancelling a task that waits for body bytes of a stream leaves the
    response closable and the session usable."""
    tok = token()
    gate = fault_server.gate(tok)

    async def go():
        async with requestx.AsyncSession() as s:
            r = await s.get(fault_server + f"/slow-chunks?gate={tok}", stream=True)

            async def consume():
                return [c async for c in r.aiter_content()]

            task = asyncio.ensure_future(consume())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await r.aclose()
            gate.open()
            return r.raw.closed, (await s.get(fault_server + "/ok")).text

    closed, text = asyncio.run(go())
    assert closed is True
    assert text == "ok\n"


# ---------------------------------------------------------------------------
# timeouts (the same exceptions as the sync Session)
# ---------------------------------------------------------------------------


def _async_get(url, **kwargs):
    async def go():
        async with requestx.AsyncSession() as s:
            return await s.get(url, **kwargs)

    return asyncio.run(go())


def _raised(func, *args, **kwargs):
    started = time.monotonic()
    try:
        func(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - inspected by the caller
        return e, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("timeout", [0.3, (5, 0.3)])
def test_read_timeout_waiting_for_headers(fault_server, timeout):
    sync_exc, _ = _raised(requestx.get, fault_server + "/stall-headers", timeout=timeout)
    async_exc, elapsed = _raised(_async_get, fault_server + "/stall-headers", timeout=timeout)
    assert isinstance(async_exc, exc.ReadTimeout), async_exc
    assert type(async_exc) is type(sync_exc)
    assert 0.25 < elapsed < 2.0


def test_read_timeout_on_a_stalled_body(fault_server):
    sync_exc, _ = _raised(requestx.get, fault_server + "/stall-body", timeout=0.3)
    async_exc, elapsed = _raised(_async_get, fault_server + "/stall-body", timeout=0.3)
    assert isinstance(async_exc, exc.ReadTimeout), async_exc
    assert type(async_exc) is type(sync_exc)
    assert elapsed < 2.0


def test_read_timeout_from_aiter_content_on_a_stalled_body(fault_server):
    def sync_stream():
        got = []
        with requestx.Session() as s:
            with s.get(fault_server + "/stall-body", stream=True, timeout=0.3) as r:
                try:
                    for c in r.iter_content(None):
                        got.append(c)
                except Exception as e:  # noqa: BLE001
                    return b"".join(got), e
        return b"".join(got), None

    async def async_stream():
        got = []
        async with requestx.AsyncSession() as s:
            async with s.stream("GET", fault_server + "/stall-body", timeout=0.3) as r:
                assert r.status_code == 200
                try:
                    async for c in r.aiter_content():
                        got.append(c)
                except Exception as e:  # noqa: BLE001
                    return b"".join(got), e, (await s.get(fault_server + "/ok")).text
        return b"".join(got), None, None

    sync_body, sync_exc = sync_stream()
    body, async_exc, after = asyncio.run(async_stream())
    assert isinstance(async_exc, exc.ReadTimeout), async_exc
    assert type(async_exc) is type(sync_exc)
    assert body == sync_body == b"partial..."
    assert after == "ok\n"


def test_read_timeout_is_per_read_not_total(fault_server):
    """/drip sends a byte every 0.1 s for 0.5 s: a 0.3 s read timeout is never hit."""
    url = fault_server + "/drip?n=5&interval=0.1"
    r = _async_get(url, timeout=0.3)
    assert r.content == b"xxxxx"
    assert requestx.get(url, timeout=0.3).content == r.content


def test_connect_timeout(stalled_connect_url):
    url = stalled_connect_url + "/"
    sync_exc, _ = _raised(requestx.get, url, timeout=(0.3, None))
    async_exc, elapsed = _raised(_async_get, url, timeout=(0.3, None))
    assert isinstance(async_exc, exc.ConnectTimeout), async_exc
    assert isinstance(async_exc, exc.ConnectionError)
    assert isinstance(async_exc, exc.Timeout)
    assert type(async_exc) is type(sync_exc)
    assert elapsed < 2.0


def test_session_works_after_timeouts(fault_server, stalled_connect_url):
    async def go():
        async with requestx.AsyncSession() as s:
            with pytest.raises(exc.ConnectTimeout):
                await s.get(stalled_connect_url + "/", timeout=0.2)
            with pytest.raises(exc.ReadTimeout):
                await s.get(fault_server + "/stall-headers", timeout=0.2)
            return (await s.get(fault_server + "/ok", timeout=2)).text

    assert asyncio.run(go()) == "ok\n"


def test_one_timeout_does_not_disturb_other_requests(watch):
    async def go():
        async with requestx.AsyncSession() as s:
            slow = [s.get(watch + "/slow?delay=0.5", timeout=2) for _ in range(5)]
            stalled = s.get(watch + f"/hold?id={token()}", timeout=0.2)
            return await asyncio.gather(stalled, *slow, return_exceptions=True)

    results = asyncio.run(go())
    assert isinstance(results[0], exc.ReadTimeout)
    assert [r.text for r in results[1:]] == ["slow\n"] * 5


# ---------------------------------------------------------------------------
# the event loop is never blocked
# ---------------------------------------------------------------------------


def test_loop_keeps_ticking_while_requests_wait(watch):
    interval = 0.01

    async def go():
        stop = asyncio.Event()
        ticks = []

        async def ticker():
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(interval)

        ticking = asyncio.ensure_future(ticker())
        async with requestx.AsyncSession() as s:
            coros = [s.get(watch + f"/hold?id={token()}", timeout=0.8) for _ in range(50)]
            started = time.monotonic()
            results = await asyncio.gather(*coros, return_exceptions=True)
            elapsed = time.monotonic() - started
        stop.set()
        await ticking
        return ticks, results, elapsed

    ticks, results, elapsed = asyncio.run(go())
    assert all(isinstance(r, exc.ReadTimeout) for r in results), results[:3]
    assert elapsed < 3.0
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    # a loop blocked by the waiting requests would show a gap of their 0.8 s
    # timeout; a busy machine stretches gaps too, so the bound stays far below
    # that and far above a scheduler's hiccup
    assert max(gaps) < 0.5, max(gaps)
    assert len(ticks) >= 0.25 * elapsed / interval


def test_loop_keeps_ticking_during_a_big_download(fault_server):
    """32 MiB, all but the last 256 KiB at once, the rest over about a second
    (/counting's trickle): a loop blocked for the download would show a gap
    of most of that second."""
    size = 32 * 1024 * 1024
    trickle = 256 * 1024
    expected = counting_body(size)  # made now, not by the server while the loop is timed

    async def go():
        stop = asyncio.Event()
        ticks = []

        async def ticker():
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.005)

        async with requestx.AsyncSession() as s:
            # the engine thread and the connection first: what is timed is the
            # download (their start-up takes most of a second under ASan)
            await s.get(fault_server + "/ok")
            ticking = asyncio.ensure_future(ticker())
            r = await s.get(fault_server + f"/counting?size={size}&trickle={trickle}")
            stop.set()
            await ticking
        return ticks, r.content

    ticks, body = asyncio.run(go())
    assert body == expected
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) >= 2
    assert max(gaps) < 0.5, max(gaps)


def test_loop_keeps_ticking_during_a_digest_auth_retry(watch):
    """The authorised retry of HTTPDigestAuth is a request like any other: it
    must not block the event loop while the server takes its time."""

    async def go():
        stop = asyncio.Event()
        ticks = []

        async def ticker():
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        ticking = asyncio.ensure_future(ticker())
        async with requestx.AsyncSession() as s:
            auth = requestx.auth.HTTPDigestAuth("user", "pass")
            r = await s.get(watch + "/digest?delay=0.5", auth=auth)
            ticks.append(time.monotonic())  # a blocked loop shows as one long gap
        stop.set()
        await ticking
        return ticks, r

    ticks, r = asyncio.run(go())
    assert r.status_code == 200 and r.text == "authorized\n"
    assert [h.status_code for h in r.history] == [401]
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.4, max(gaps)  # blocked, the loop would wait out the 0.5 s delay
