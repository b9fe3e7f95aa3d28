"""Module functions (requestx.get and friends): a Response outside a running
event loop, an awaitable of one inside a loop."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from _helpers import parse_wire, token
from servers.fault import big_body

import requestx

METHODS = ["get", "post", "put", "patch", "delete", "options", "head"]


@pytest.mark.parametrize("name", METHODS)
def test_outside_a_loop_returns_a_response(fault_server, name):
    r = getattr(requestx, name)(fault_server + "/json")
    assert isinstance(r, requestx.Response)
    assert r.status_code == 200
    if name != "head":
        assert r.json()["method"] == name.upper()


@pytest.mark.parametrize("name", METHODS)
def test_inside_a_loop_returns_an_awaitable(fault_server, name):
    async def go():
        pending = getattr(requestx, name)(fault_server + "/json")
        assert inspect.isawaitable(pending)
        assert not isinstance(pending, requestx.Response)
        return await pending

    r = asyncio.run(go())
    assert isinstance(r, requestx.Response)
    assert r.status_code == 200
    if name == "head":
        assert r.content == b""
    else:
        assert r.json()["method"] == name.upper()


def test_request_inside_a_loop(httpbin):
    async def go():
        return await requestx.request("POST", httpbin + "/post", json={"a": 1}, params={"p": "1"})

    r = asyncio.run(go())
    assert r.json()["json"] == {"a": 1}
    assert r.json()["args"] == {"p": "1"}


def test_awaited_result_equals_the_sync_result(httpbin):
    kwargs = dict(params={"q": "1"}, headers={"X-Api": "yes"}, data={"f": "v"})
    sync = requestx.post(httpbin + "/anything", **kwargs)

    async def go():
        return await requestx.post(httpbin + "/anything", **kwargs)

    assert asyncio.run(go()).json() == sync.json()


def test_inside_a_callback_of_a_running_loop(fault_server):
    """A plain (non-async) function called by the loop also gets an awaitable."""

    async def go():
        loop = asyncio.get_running_loop()
        made = loop.create_future()
        loop.call_soon(lambda: made.set_result(requestx.get(fault_server + "/ok")))
        pending = await made
        assert inspect.isawaitable(pending)
        return await pending

    assert asyncio.run(go()).text == "ok\n"


def test_head_does_not_follow_redirects_inside_a_loop(httpbin):
    async def go():
        return await requestx.head(httpbin + "/redirect/1")

    r = asyncio.run(go())
    assert r.status_code == 302
    assert r.status_code == requestx.head(httpbin + "/redirect/1").status_code


def test_errors_raise_when_awaited(refused_url):
    async def go():
        pending = requestx.get(refused_url + "/")
        with pytest.raises(requestx.ConnectionError):
            await pending

    asyncio.run(go())


def test_bad_url_raises_when_awaited():
    async def go():
        with pytest.raises(requestx.exceptions.MissingSchema):
            await requestx.get("no-scheme.invalid/x")

    asyncio.run(go())


def test_cookies_do_not_leak_between_calls(fault_server):
    async def go():
        first = await requestx.get(fault_server + "/set-cookie?leak=1")
        second = await requestx.get(fault_server + "/echo-raw")
        return first, second

    first, second = asyncio.run(go())
    assert first.cookies.get("leak") == "1"
    assert parse_wire(second.content).get("Cookie") is None


def test_many_concurrent_module_calls(fault_server):
    tok = token()
    n = 300

    async def go():
        urls = [fault_server + f"/echo-raw?t={tok}&i={i}" for i in range(n)]
        return await asyncio.gather(*(requestx.get(u) for u in urls))

    responses = asyncio.run(go())
    assert [r.status_code for r in responses] == [200] * n
    # each response carries its own request, in order
    targets = [parse_wire(r.content).target for r in responses]
    assert targets == [f"/echo-raw?t={tok}&i={i}" for i in range(n)]
    assert len(fault_server.requests_with(tok)) == n


def test_module_calls_reuse_connections(isolated_fault_server):
    async def go():
        for _ in range(20):
            r = await requestx.get(isolated_fault_server + "/ok")
            assert r.text == "ok\n"

    asyncio.run(go())
    assert isolated_fault_server.connections_accepted == 1


def test_module_call_timeout_inside_a_loop(fault_server):
    async def go():
        with pytest.raises(requestx.ReadTimeout):
            await requestx.get(fault_server + "/stall-headers", timeout=0.3)
        return await requestx.get(fault_server + "/ok")

    assert asyncio.run(go()).text == "ok\n"


def test_sync_call_still_works_after_async_calls(fault_server):
    async def go():
        return await requestx.get(fault_server + "/ok")

    assert asyncio.run(go()).text == "ok\n"
    r = requestx.get(fault_server + "/ok")
    assert isinstance(r, requestx.Response) and r.text == "ok\n"


def test_module_call_stream_is_readable_after_it_returns(fault_server):
    """The per-call session is closed when the call returns; a stream=True
    body still arrives in full."""
    size = 5_000_000

    async def go():
        r = await requestx.get(fault_server + f"/big?size={size}", stream=True)
        return await r.aread()

    assert asyncio.run(go()) == big_body(size)
