"""What only AsyncSession does: the C coroutine of a plain get() and its
errors and cancellation, an overridden request() behind get(), awaitable
hooks, streaming contexts, and the refusal of a sync ``with``.  Everything
AsyncSession shares with Session is checked through both faces in
test_session_faces.py and the topical modules (``face`` fixture,
tests/_session_faces.py)."""

from __future__ import annotations

import asyncio
import json

import pytest

import requestx
from requestx import exceptions as exc


def test_plain_get_is_request_get(httpbin):
    """get(url) without arguments (a leaner coroutine of its own) does what
    request("GET", url) does: session headers, auth, cookies, hooks, redirects."""
    seen = []

    async def go(plain):
        async with requestx.AsyncSession() as s:
            s.headers["X-Session"] = "yes"
            s.auth = ("user", "pass")
            s.cookies.set("jar", "1")
            s.hooks["response"].append(lambda r, **kw: seen.append(r.status_code))
            url = httpbin + "/redirect-to?url=/anything"
            r = await (s.get(url) if plain else s.request("GET", url))
            return r, dict(s.cookies)

    plain, plain_jar = asyncio.run(go(True))
    full, full_jar = asyncio.run(go(False))
    assert seen == [302, 200, 302, 200]
    assert [h.status_code for h in plain.history] == [302]
    assert plain.json()["headers"] == full.json()["headers"]
    assert plain.json()["headers"]["X-Session"] == "yes"
    assert plain.json()["headers"]["Cookie"] == "jar=1"
    assert plain.json()["headers"]["Authorization"].startswith("Basic ")
    assert plain.request.headers == full.request.headers
    assert plain_jar == full_jar


def test_get_runs_an_overridden_request(fault_server):
    """get() goes through request() when a subclass or the instance replaces it."""
    calls = []

    class Logged(requestx.AsyncSession):
        async def request(self, method, url, **kwargs):
            calls.append(("subclass", method, kwargs))
            return await super().request(method, url, **kwargs)

    async def go():
        async with Logged() as s:
            first = await s.get(fault_server + "/json")
        async with requestx.AsyncSession() as s:
            plain = s.request

            async def replaced(method, url, **kwargs):
                calls.append(("instance", method, kwargs))
                return await plain(method, url, **kwargs)

            s.request = replaced
            second = await s.get(fault_server + "/json")
        return first.status_code, second.status_code

    assert asyncio.run(go()) == (200, 200)
    assert calls == [
        ("subclass", "GET", {"allow_redirects": True}),
        ("instance", "GET", {"allow_redirects": True}),
    ]


def test_plain_get_errors_and_cancellation(refused_url, fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            with pytest.raises(exc.ConnectionError):
                await s.get(refused_url)
            task = asyncio.ensure_future(s.get(fault_server + "/stall-headers"))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await s.get(fault_server + "/json")).status_code

    assert asyncio.run(go()) == 200


def test_sync_with_statement_is_refused():
    with pytest.raises(TypeError):
        with requestx.AsyncSession():
            pass


def test_awaitable_response_hook_is_awaited(httpbin):
    seen = []

    async def hook(r, **kwargs):
        await asyncio.sleep(0)
        seen.append(r.status_code)
        r.headers["X-Hooked"] = "yes"
        return r

    async def go():
        async with requestx.AsyncSession() as s:
            return await s.get(httpbin + "/redirect/2", hooks={"response": hook})

    r = asyncio.run(go())
    assert seen == [302, 302, 200]  # every hop, as the sync hooks run
    assert r.headers["X-Hooked"] == "yes"
    assert all(h.headers["X-Hooked"] == "yes" for h in r.history)


def test_digest_auth_retry_in_a_stream_context(httpbin):
    """The Digest retry of ``async with s.stream(...)``: the body read is the
    authorised response's."""
    url = httpbin + "/digest-auth/auth/user/pass"

    async def go():
        async with requestx.AsyncSession() as s:
            auth = requestx.auth.HTTPDigestAuth("user", "pass")
            async with s.stream("GET", url, auth=auth) as r:
                return r.status_code, [h.status_code for h in r.history], await r.aread()

    status, history, body = asyncio.run(go())
    assert (status, history) == (200, [401])
    assert json.loads(body) == {"authenticated": True, "user": "user"}
