"""WebSockets: Session.ws_connect, AsyncSession.ws_connect and requestx.ws_connect
against the websockets library's server on loopback (tests/servers/ws.py)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from servers.proxy import ProxyServer
from servers.ws import RawFrameServer

import requestx
from requestx.exceptions import RequestException, WebSocketClosed, WebSocketError

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        "websockets" not in requestx.curl_features(),
        reason=f"{requestx.curl_version().split()[0]} has no WebSocket support "
        "(the bundled libcurl has; make test builds it unless LIBCURL=system)",
    ),
]


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def s():
    with requestx.Session() as session:
        yield session


# -- sync: messages ----------------------------------------------------------


def test_echo_text_and_binary(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=10) == b"\x00\x01\xff"
        ws.send(bytearray(b"ba"))
        assert ws.recv(timeout=10) == b"ba"
        ws.send("")
        assert ws.recv(timeout=10) == ""
    assert ws.close_code == 1000


def test_unicode_text_round_trips(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        ws.send("héllo ✓ 🎉")
        assert ws.recv(timeout=10) == "héllo ✓ 🎉"


@pytest.mark.parametrize("size", [1, 125, 126, 65535, 65536, 1 << 20, 8 << 20])
def test_message_sizes_echo(ws_server, s, size):
    data = bytes(range(256)) * (size // 256) + b"q" * (size % 256)
    with s.ws_connect(ws_server.url + "/echo", max_size=16 << 20) as ws:
        ws.send(data)
        assert ws.recv(timeout=30) == data


@pytest.mark.parametrize("size,frame", [(1, 1), (100_000, 7), (8 << 20, 65536), (3 << 20, 1 << 20)])
def test_fragmented_message_is_reassembled(ws_server, s, size, frame):
    expected = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    url = f"{ws_server.url}/big?size={size}&frame={frame}"
    with s.ws_connect(url, max_size=16 << 20) as ws:
        assert ws.recv(timeout=30) == expected


def test_json_helpers(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        ws.send_json({"a": [1, 2]})
        assert ws.recv_json(timeout=10) == {"a": [1, 2]}


def test_send_rejects_other_types(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        with pytest.raises(TypeError):
            ws.send(123)  # type: ignore[arg-type]


def test_recv_timeout_keeps_the_connection(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
        ws.send("after")
        assert ws.recv(timeout=10) == "after"


# -- sync: closing -----------------------------------------------------------


def test_server_push_then_normal_close_ends_iteration(ws_server, s):
    url = ws_server.url + "/push?n=5&code=1000&reason=all+done"
    with s.ws_connect(url) as ws:
        assert list(ws) == ["0", "1", "2", "3", "4"]
        assert ws.close_code == 1000
        assert ws.close_reason == "all done"
        with pytest.raises(WebSocketClosed):
            ws.recv()


@pytest.mark.parametrize("code", [1001, 1011, 4000, 4999])
def test_close_code_chosen_by_server(ws_server, s, code):
    with s.ws_connect(f"{ws_server.url}/close?code={code}&reason=why") as ws:
        with pytest.raises(WebSocketClosed) as info:
            ws.recv(timeout=10)
    assert info.value.code == code
    assert info.value.reason == "why"
    assert ws.close_code == code


def test_abnormal_close_code_raises_from_iteration(ws_server, s):
    with s.ws_connect(ws_server.url + "/push?n=1&code=4001&reason=x") as ws:
        got = []
        with pytest.raises(WebSocketClosed) as info:
            for message in ws:
                got.append(message)
    assert got == ["0"]
    assert info.value.code == 4001


def test_client_close_is_answered(ws_server, s):
    ws = s.ws_connect(ws_server.url + "/echo")
    ws.close(4002, "leaving")
    assert ws.close_code == 4002  # the server echoes our code
    ws.close()  # a second close does nothing
    with pytest.raises(WebSocketClosed):
        ws.send("late")


def test_close_rejects_reserved_codes(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        with pytest.raises(ValueError):
            ws.close(1006)
        with pytest.raises(ValueError):
            ws.close(1000, "x" * 124)


def test_abrupt_drop_is_1006(ws_server, s):
    with s.ws_connect(ws_server.url + "/drop") as ws:
        assert ws.recv(timeout=10) == "bye"
        with pytest.raises(WebSocketClosed) as info:
            ws.recv(timeout=10)
    assert info.value.code == 1006
    assert isinstance(info.value, RequestException)


def test_max_size_closes_with_1009(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo", max_size=1000) as ws:
        ws.send(b"x" * 1000)
        assert len(ws.recv(timeout=10)) == 1000
        ws.send(b"x" * 1001)
        with pytest.raises(WebSocketClosed) as info:
            ws.recv(timeout=10)
    assert info.value.code == 1009
    assert ws.close_code == 1009


def test_max_size_counts_fragments(ws_server, s):
    with s.ws_connect(ws_server.url + "/big?size=5000&frame=1000", max_size=4096) as ws:
        with pytest.raises(WebSocketClosed) as info:
            ws.recv(timeout=10)
    assert info.value.code == 1009


def test_invalid_utf8_text_closes_with_1007(ws_server, s):
    with s.ws_connect(ws_server.url + "/badtext") as ws:
        with pytest.raises(WebSocketClosed) as info:
            ws.recv(timeout=10)
    assert info.value.code == 1007


# -- sync: handshake ---------------------------------------------------------


def test_subprotocol_negotiated(ws_server, s):
    with s.ws_connect(ws_server.url + "/protocol", subprotocols=["superchat", "chat"]) as ws:
        assert ws.subprotocol == "superchat"
        assert ws.recv(timeout=10) == "superchat"


def test_no_subprotocol_offered(ws_server, s):
    with s.ws_connect(ws_server.url + "/protocol") as ws:
        assert ws.subprotocol is None
        assert ws.recv(timeout=10) == ""


def test_headers_and_cookies_on_the_upgrade(ws_server):
    with requestx.Session() as s:
        s.headers["X-Session"] = "yes"
        s.cookies.set("sid", "abc")
        with s.ws_connect(
            ws_server.url + "/headers",
            headers={"X-Call": "1"},
            cookies={"extra": "2"},
            auth=("user", "pw"),
        ) as ws:
            got = {k.lower(): v for k, v in json.loads(ws.recv(timeout=10)).items()}
    assert got["x-session"] == "yes"
    assert got["x-call"] == "1"
    assert "sid=abc" in got["cookie"] and "extra=2" in got["cookie"]
    assert got["authorization"].startswith("Basic ")
    assert got["upgrade"].lower() == "websocket"
    assert "upgrade" in got["connection"].lower()
    assert "user-agent" in got


def test_refused_handshake_is_websocket_error(ws_server, s):
    with pytest.raises(WebSocketError) as info:
        s.ws_connect(ws_server.url + "/refuse")
    assert info.value.status == 403
    assert info.value.headers["X-Refused"] == "yes"
    assert isinstance(info.value, RequestException)


def test_refused_connection_is_connection_error(refused_url, s):
    url = refused_url.replace("http://", "ws://")
    with pytest.raises(requestx.ConnectionError):
        s.ws_connect(url)


def test_http_server_is_not_a_websocket(httpbin, s):
    with pytest.raises(WebSocketError) as info:
        s.ws_connect(httpbin.url.replace("http://", "ws://") + "/get")
    assert info.value.status not in (0, 101)


def test_other_schemes_are_refused(s):
    with pytest.raises(requestx.exceptions.InvalidSchema):
        s.ws_connect("ftp://127.0.0.1/")


def test_wss_with_the_session_ca(wss_server, tls_materials):
    with requestx.Session() as s:
        s.verify = tls_materials.ca_file
        with s.ws_connect(wss_server.url + "/echo") as ws:
            ws.send("secure")
            assert ws.recv(timeout=10) == "secure"


def test_wss_unknown_ca_is_ssl_error(wss_server, s):
    with pytest.raises(requestx.exceptions.SSLError):
        s.ws_connect(wss_server.url + "/echo")


def test_wss_verify_false(wss_server, s):
    with s.ws_connect(wss_server.url + "/echo", verify=False) as ws:
        ws.send(b"x" * 100_000)
        assert ws.recv(timeout=10) == b"x" * 100_000


def test_through_the_proxy(ws_server, s):
    with ProxyServer() as proxy:
        with s.ws_connect(ws_server.url + "/echo", proxies={"http": proxy.url}) as ws:
            ws.send("proxied")
            assert ws.recv(timeout=10) == "proxied"
        kinds = [record.kind for record in proxy.records]
    assert kinds == ["connect"]


def test_wss_through_the_proxy(wss_server, tls_materials, s):
    with ProxyServer() as proxy:
        with s.ws_connect(
            wss_server.url + "/echo", proxies={"https": proxy.url}, verify=tls_materials.ca_file
        ) as ws:
            ws.send("tunnelled")
            assert ws.recv(timeout=10) == "tunnelled"
        assert [record.kind for record in proxy.records] == ["connect"]


def test_proxy_refusing_is_proxy_error(ws_server, s):
    with ProxyServer(mode="refuse-connect") as proxy:
        with pytest.raises(requestx.exceptions.ProxyError):
            s.ws_connect(ws_server.url + "/echo", proxies={"http": proxy.url})


# -- sync: pings -------------------------------------------------------------


def test_ping_returns_the_round_trip(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        rtt = ws.ping()
        assert 0 <= rtt < 10


def test_ping_keeps_messages_for_recv(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        ws.send("first")
        ws.ping()
        assert ws.recv(timeout=10) == "first"


def test_server_ping_is_answered(ws_server, s):
    with s.ws_connect(ws_server.url + "/ping") as ws:
        assert ws.recv(timeout=10) == "pong ok"


def test_keepalive_times_out_on_a_silent_server(ws_server, s):
    ws = s.ws_connect(ws_server.url + "/silent", ping_interval=0.2, ping_timeout=0.3)
    assert ws.recv(timeout=10) == "quiet now"
    started = time.monotonic()
    with pytest.raises(WebSocketClosed) as info:
        ws.recv(timeout=20)
    assert info.value.code == 1011
    assert time.monotonic() - started < 15  # well before recv's own timeout


def test_keepalive_keeps_a_live_connection(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo", ping_interval=0.05, ping_timeout=5) as ws:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)  # several keepalive rounds answered meanwhile
        ws.send("still here")
        assert ws.recv(timeout=10) == "still here"


def test_ping_on_a_silent_server_times_out(ws_server, s):
    with s.ws_connect(ws_server.url + "/silent", ping_interval=None, close_timeout=0.5) as ws:
        assert ws.recv(timeout=10) == "quiet now"
        with pytest.raises(TimeoutError):
            ws.ping(timeout=0.3)


# -- on the wire -------------------------------------------------------------


def test_every_frame_gets_a_fresh_mask(s):
    with RawFrameServer(frames=3) as server:
        ws = s.ws_connect(server.url, ping_interval=None, close_timeout=0.5)
        ws.send("same")
        ws.send("same")
        ws.send("same")
        assert server.done.wait(10)
        ws._conn.close()
    assert server.payloads == [b"same"] * 3
    assert all(key is not None for key in server.keys)
    assert len(set(server.keys)) == 3


def test_unoffered_subprotocol_fails_the_connection(s):
    with RawFrameServer(frames=0, protocol="mqtt") as server:
        with pytest.raises(WebSocketError) as info:
            s.ws_connect(server.url, subprotocols=["chat"])
    assert info.value.status == 101
    assert "mqtt" in str(info.value)


def test_handshake_that_never_answers_hits_open_timeout(s):
    with RawFrameServer(answer=False) as server:
        started = time.monotonic()
        with pytest.raises(requestx.exceptions.Timeout):
            s.ws_connect(server.url, open_timeout=0.3)
    assert time.monotonic() - started < 10


def test_async_handshake_that_never_answers_hits_open_timeout():
    async def go():
        async with requestx.AsyncSession() as s:
            with RawFrameServer(answer=False) as server:
                with pytest.raises(requestx.exceptions.Timeout):
                    await s.ws_connect(server.url, open_timeout=0.3)

    run(go())


# -- threads -----------------------------------------------------------------


def test_engine_close_from_another_thread_ends_a_waiting_recv(ws_server, s):
    ws = s.ws_connect(ws_server.url + "/echo", ping_interval=None)
    closer = threading.Timer(0.2, ws._conn.close)
    closer.start()
    with pytest.raises(WebSocketClosed) as info:
        ws.recv(timeout=10)
    closer.join()
    assert info.value.code == 1006
    with pytest.raises(WebSocketClosed):
        ws.send("after")


def test_send_from_another_thread_while_recv_waits(ws_server, s):
    with s.ws_connect(ws_server.url + "/echo") as ws:
        sender = threading.Timer(0.2, ws.send, args=("from a thread",))
        sender.start()
        assert ws.recv(timeout=10) == "from a thread"
        sender.join()


class Interrupted(Exception):
    pass


def test_a_signal_interrupts_a_waiting_recv(ws_server, s):
    import signal

    def handler(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        with s.ws_connect(ws_server.url + "/echo", ping_interval=None) as ws:
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            started = time.monotonic()
            with pytest.raises(Interrupted):
                ws.recv(timeout=30)
            assert time.monotonic() - started < 20  # not recv's own timeout
            ws.send("still usable")
            assert ws.recv(timeout=10) == "still usable"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_sync_send_waits_when_the_socket_is_full(ws_server, s):
    ws = s.ws_connect(ws_server.url + "/silent", ping_interval=None, close_timeout=0.5)
    assert ws.recv(timeout=10) == "quiet now"
    outcome = []

    def send_big():
        try:
            ws.send(b"x" * (64 << 20))
            outcome.append("sent")
        except WebSocketClosed as exc:
            outcome.append(exc.code)

    sender = threading.Thread(target=send_big)
    sender.start()
    sender.join(0.5)
    assert sender.is_alive()  # the server reads nothing: send waits
    ws._conn.close()  # the engine's close from another thread ends the wait
    sender.join(10)
    assert outcome == [1006]


# -- async -------------------------------------------------------------------


def test_async_echo(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/echo") as ws:
                await ws.send("hi")
                text = await ws.recv(timeout=10)
                await ws.send(b"\x01")
                binary = await ws.recv(timeout=10)
            return text, binary, ws.close_code

    assert run(go()) == ("hi", b"\x01", 1000)


def test_async_awaited_connect(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            ws = await s.ws_connect(ws_server.url + "/echo")
            await ws.send_json([1, 2])
            got = await ws.recv_json(timeout=10)
            await ws.close()
            return got

    assert run(go()) == [1, 2]


@pytest.mark.parametrize("size", [1, 65536, 8 << 20])
def test_async_large_messages(ws_server, size):
    data = b"m" * size

    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/echo", max_size=16 << 20) as ws:
                await ws.send(data)
                return await ws.recv(timeout=30)

    assert run(go()) == data


def test_async_fragmented_large_message(ws_server):
    size = 8 << 20

    async def go():
        async with requestx.AsyncSession() as s:
            url = f"{ws_server.url}/big?size={size}&frame=65536"
            async with s.ws_connect(url, max_size=16 << 20) as ws:
                return await ws.recv(timeout=30)

    got = run(go())
    assert len(got) == size and got[:256] == bytes(range(256))


def test_async_iteration_ends_on_normal_close(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/push?n=4&reason=bye") as ws:
                got = [m async for m in ws]
                return got, ws.close_code, ws.close_reason

    assert run(go()) == (["0", "1", "2", "3"], 1000, "bye")


def test_async_close_code_chosen_by_server(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/close?code=4004&reason=r") as ws:
                with pytest.raises(WebSocketClosed) as info:
                    async for _ in ws:
                        pass
                return info.value.code, info.value.reason

    assert run(go()) == (4004, "r")


def test_async_abrupt_drop_is_1006(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/drop") as ws:
                assert await ws.recv(timeout=10) == "bye"
                with pytest.raises(WebSocketClosed) as info:
                    await ws.recv(timeout=10)
                return info.value.code

    assert run(go()) == 1006


def test_async_max_size_closes_with_1009(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/echo", max_size=10) as ws:
                await ws.send(b"x" * 11)
                with pytest.raises(WebSocketClosed) as info:
                    await ws.recv(timeout=10)
                return info.value.code

    assert run(go()) == 1009


def test_async_refused_handshake(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            with pytest.raises(WebSocketError) as info:
                await s.ws_connect(ws_server.url + "/refuse")
            return info.value.status

    assert run(go()) == 403


def test_async_subprotocol_and_headers(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            s.headers["X-Async"] = "1"
            async with s.ws_connect(ws_server.url + "/headers", subprotocols=["chat"]) as ws:
                return ws.subprotocol, json.loads(await ws.recv(timeout=10))

    protocol, headers = run(go())
    assert protocol == "chat"
    assert {k.lower(): v for k, v in headers.items()}["x-async"] == "1"


def test_async_wss(wss_server, tls_materials):
    async def go():
        async with requestx.AsyncSession() as s:
            s.verify = tls_materials.ca_file
            async with s.ws_connect(wss_server.url + "/echo") as ws:
                await ws.send("tls")
                return await ws.recv(timeout=10)

    assert run(go()) == "tls"


def test_async_ping_and_server_ping(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/ping") as ws:
                rtt = await ws.ping()
                return rtt, await ws.recv(timeout=10)

    rtt, text = run(go())
    assert 0 <= rtt < 10 and text == "pong ok"


def test_async_keepalive_times_out(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            ws = await s.ws_connect(ws_server.url + "/silent", ping_interval=0.2, ping_timeout=0.3)
            assert await ws.recv(timeout=10) == "quiet now"
            with pytest.raises(WebSocketClosed) as info:
                await ws.recv(timeout=20)
            return info.value.code

    assert run(go()) == 1011


def test_async_cancelled_recv_loses_no_message(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/echo") as ws:
                task = asyncio.ensure_future(ws.recv())
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                # a message that arrives as a recv is cancelled goes to the next recv
                await ws.send("one")
                task = asyncio.ensure_future(ws.recv())
                await asyncio.sleep(0)
                while not ws._messages and not task.done():
                    await asyncio.sleep(0.001)
                task.cancel()
                try:
                    first = await task
                except asyncio.CancelledError:
                    first = await ws.recv(timeout=10)
                await ws.send("two")
                return first, await ws.recv(timeout=10)

    assert run(go()) == ("one", "two")


def test_async_recv_cancelled_after_its_wakeup_keeps_the_message(ws_server):
    """The exact race: a message arrives and wakes recv(), and the task is
    cancelled before it runs again. The message stays for the next recv()."""

    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/echo", ping_interval=None) as ws:
                task = asyncio.ensure_future(ws.recv())
                await asyncio.sleep(0)  # recv() waits
                ws._pause_reading()  # the test plays the reader's part
                ws._absorb([(1, "raced")])  # what a drain hands over: wakes recv()
                task.cancel()  # ... before the task runs again
                with pytest.raises(asyncio.CancelledError):
                    await task
                ws._resume_reading()
                return await ws.recv(timeout=10)

    assert run(go()) == "raced"


def test_async_recv_timeout(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/echo") as ws:
                with pytest.raises(asyncio.TimeoutError):
                    await ws.recv(timeout=0.1)
                await ws.send("ok")
                return await ws.recv(timeout=10)

    assert run(go()) == "ok"


def test_async_200_connections_at_once(ws_server):
    async def one(s, i):
        async with s.ws_connect(ws_server.url + "/echo", ping_interval=None) as ws:
            await ws.send(f"n{i}")
            return await ws.recv(timeout=30)

    async def go():
        async with requestx.AsyncSession() as s:
            return await asyncio.gather(*(one(s, i) for i in range(200)))

    assert run(go()) == [f"n{i}" for i in range(200)]


def test_async_loop_keeps_ticking_during_a_flood(ws_server):
    """A flood of 20,000 messages: the loop keeps running other tasks, and
    the messages come in batches (far fewer drains than messages)."""

    async def go():
        ticks = 0
        stop = False

        async def ticker():
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0)

        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/flood?n=20000&size=512") as ws:
                drains = 0
                real = ws._conn

                class Counting:
                    def __getattr__(self, name):
                        return getattr(real, name)

                    def drain(self, room):
                        nonlocal drains
                        drains += 1
                        return real.drain(room)

                ws._conn = Counting()
                task = asyncio.ensure_future(ticker())
                count = 0
                async for message in ws:
                    if message == "done":
                        break
                    count += 1
                stop = True
                await task
                return count, ticks, drains

    count, ticks, drains = run(go())
    assert count == 20000
    assert ticks > 100  # the ticker ran throughout, not only after the flood
    assert drains < count / 2


def test_async_slow_consumer_pauses_reading(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/flood?n=2000&size=4096", max_queue=4) as ws:
                await asyncio.sleep(0.3)  # the server keeps sending; we read nothing
                queued = len(ws._messages)
                reading = ws._reading
                count = 0
                async for message in ws:
                    if message == "done":
                        break
                    count += 1
                return queued, reading, count

    queued, reading, count = run(go())
    assert queued == 4  # read no further than max_queue
    assert reading is False
    assert count == 2000


def test_async_send_waits_when_the_socket_is_full(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            url = ws_server.url + "/silent"
            async with s.ws_connect(url, ping_interval=None, close_timeout=0.5) as ws:
                assert await ws.recv(timeout=10) == "quiet now"
                send = asyncio.ensure_future(ws.send(b"x" * (64 << 20)))
                await asyncio.sleep(0.5)
                blocked = not send.done()
                send.cancel()
                return blocked

    assert run(go()) is True


def test_module_ws_connect_sync(ws_server):
    with requestx.ws_connect(ws_server.url + "/echo") as ws:
        ws.send("module")
        assert ws.recv(timeout=10) == "module"


def test_module_ws_connect_inside_a_loop(ws_server):
    async def go():
        async with requestx.ws_connect(ws_server.url + "/echo") as ws:
            await ws.send("module async")
            first = await ws.recv(timeout=10)
        ws2 = await requestx.ws_connect(ws_server.url + "/echo")
        await ws2.send("awaited")
        second = await ws2.recv(timeout=10)
        await ws2.close()
        return first, second

    assert run(go()) == ("module async", "awaited")


def test_async_send_after_close_raises(ws_server):
    async def go():
        async with requestx.AsyncSession() as s:
            ws = await s.ws_connect(ws_server.url + "/echo")
            await ws.close()
            with pytest.raises(WebSocketClosed):
                await ws.send("late")
            return ws.close_code

    assert run(go()) == 1000


def test_async_echo_on_uvloop(ws_server):
    uvloop = pytest.importorskip("uvloop")

    async def go():
        async with requestx.AsyncSession() as s:
            async with s.ws_connect(ws_server.url + "/push?n=3") as ws:
                return [m async for m in ws]

    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(go()) == ["0", "1", "2"]
    finally:
        loop.close()
