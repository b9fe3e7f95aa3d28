"""A plain ``AsyncSession.get(url)`` returns requestx._engine.Pending, a
coroutine written in C (requestx/_engine/pending.h), not a Python coroutine.
Everything a caller can do with a coroutine must work the same: asyncio
accepts it everywhere a coroutine goes, nothing is sent before it is first
resumed, redirects, hooks and errors behave as with request("GET", url), and
throw/close/cancel do what they do to a coroutine. (Cancellation closing the
connection at once: test_async_cancel.py, which uses plain gets throughout.)
"""

from __future__ import annotations

import asyncio
import collections.abc
import gc
import warnings

import pytest

import requestx
from requestx import _engine
from requestx import exceptions as exc


def run(coro_fn):
    async def go():
        async with requestx.AsyncSession() as s:
            return await coro_fn(s)

    return asyncio.run(go())


def test_a_plain_get_is_a_coroutine_to_asyncio(fault_server):
    async def go(s):
        pending = s.get(fault_server + "/json")
        assert type(pending) is _engine.Pending
        assert asyncio.iscoroutine(pending)
        assert isinstance(pending, collections.abc.Coroutine)
        task = asyncio.create_task(pending)
        first = await task
        second, third = await asyncio.gather(
            s.get(fault_server + "/json"), asyncio.wait_for(s.get(fault_server + "/json"), 5)
        )
        return [r.json()["path"] for r in (first, second, third)]

    assert run(go) == ["/json"] * 3


def test_asyncio_run_takes_it_directly(fault_server):
    s = requestx.AsyncSession()
    r = asyncio.run(s.get(fault_server + "/json"))
    assert r.status_code == 200
    assert r.request.method == "GET"
    assert r.url == fault_server + "/json"


def test_nothing_is_sent_before_it_is_awaited(isolated_fault_server):
    async def go(s):
        pending = s.get(isolated_fault_server + "/ok")
        await asyncio.sleep(0.2)
        assert isolated_fault_server.requests == []
        r = await pending
        return r.text, len(isolated_fault_server.requests)

    assert run(go) == ("ok\n", 1)


def test_one_never_awaited_warns_like_a_coroutine_and_sends_nothing(isolated_fault_server):
    async def go(s):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            s.get(isolated_fault_server + "/ok")
            gc.collect()
        return [str(w.message) for w in caught if w.category is RuntimeWarning]

    assert run(go) == ["coroutine 'AsyncSession.get' was never awaited"]
    assert isolated_fault_server.requests == []


def test_bad_urls_raise_when_awaited_not_when_called():
    async def go(s):
        pending = s.get("no-scheme.example/path")
        with pytest.raises(exc.MissingSchema):
            await pending
        with pytest.raises(exc.InvalidSchema):
            await s.get("ftp://127.0.0.1/file")

    run(go)


def test_redirects_and_hooks_are_followed_through_it(fault_server):
    seen = []

    async def go(s):
        s.hooks["response"].append(lambda r, **kw: seen.append(r.status_code))
        r = await s.get(fault_server + "/redirect?status=302&location=/json")
        return r

    r = run(go)
    assert r.status_code == 200
    assert r.json()["path"] == "/json"
    assert [h.status_code for h in r.history] == [302]
    assert seen == [302, 200]


def test_a_failed_request_raises_the_requests_exception_without_context(refused_url):
    async def go(s):
        with pytest.raises(exc.ConnectionError) as info:
            await s.get(refused_url)
        return info.value

    error = run(go)
    assert error.__suppress_context__
    assert error.request.url.rstrip("/") == refused_url.rstrip("/")


def test_a_cancelled_task_raises_cancelled_error(watch_url):
    async def go(s):
        task = asyncio.ensure_future(s.get(watch_url))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return (await s.get(watch_url.replace("/hold", "/ok"))).text

    assert run(go) == "ok\n"


@pytest.fixture
def watch_url():
    from servers.watch import WatchServer

    with WatchServer() as server:
        yield server + "/hold?id=pending"


def test_send_throw_and_close_behave_as_on_a_coroutine(fault_server, watch_url):
    async def go(s):
        # throw into one never started: raised there, and it is over
        pending = s.get(fault_server + "/ok")
        with pytest.raises(KeyError):
            pending.throw(KeyError("x"))
        with pytest.raises(RuntimeError, match="cannot reuse"):
            pending.send(None)
        # a value sent to a fresh one is refused, as by a coroutine
        fresh = s.get(fault_server + "/ok")
        with pytest.raises(TypeError):
            fresh.send(1)
        fresh.close()  # still unstarted: closing it sends nothing
        # close() on one waiting for its answer cancels the transfer
        held = s.get(watch_url)
        future = held.send(None)
        assert isinstance(future, asyncio.Future)
        held.close()
        with pytest.raises(RuntimeError, match="cannot reuse"):
            held.send(None)
        # an exception thrown into a waiting one surfaces from it
        waiting = s.get(watch_url)
        waiting.send(None)
        with pytest.raises(ValueError, match="boom"):
            waiting.throw(ValueError("boom"))
        return (await s.get(fault_server + "/ok")).text

    assert run(go) == "ok\n"


def test_await_twice_raises(fault_server):
    async def go(s):
        pending = s.get(fault_server + "/ok")
        await pending
        with pytest.raises(RuntimeError, match="cannot reuse"):
            await pending

    run(go)


def test_many_gathered_plain_gets_all_complete(fault_server):
    async def go(s):
        rs = await asyncio.gather(*(s.get(fault_server + "/conn-id") for _ in range(300)))
        return {r.status_code for r in rs}

    assert run(go) == {200}


def test_a_dropped_waiting_get_cancels_its_transfer():
    from servers.watch import WatchServer

    with WatchServer() as watch:

        async def go(s):
            pending = s.get(watch + "/hold?id=dropped")
            pending.send(None)  # submitted, waiting for the answer
            assert await _until(lambda: "dropped" in watch.held)
            del pending  # finalized: its transfer is cancelled, as close() does
            assert await _until(lambda: "dropped" in watch.closed_at)
            return (await s.get(watch + "/ok")).text

        assert run(go) == "ok\n"


async def _until(predicate, timeout=3.0):
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return bool(predicate())
