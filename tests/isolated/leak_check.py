"""Run one scenario many times and report how many Python memory blocks it
leaves behind (sys.getallocatedblocks works on release builds of CPython).

Usage: python leak_check.py SCENARIO BASE_URL ROUNDS
Prints one integer: the growth in allocated blocks over ROUNDS rounds, the
smaller of two consecutive batches (a leak grows in both; a cache that fills
up once, such as urllib's or http.cookiejar's, does not).
"""

from __future__ import annotations

import asyncio
import gc
import sys

import requestx


class Quiet:
    """An observer of every event that keeps nothing."""

    def on_request_start(self, info):
        pass

    def on_request_end(self, info, response, error):
        pass

    def on_attempt_start(self, attempt):
        attempt.headers["x-seen"] = "1"

    def on_attempt_end(self, attempt, result):
        pass


def scenarios(base: str, session: requestx.Session) -> dict:
    watched = requestx.Session(stats=True, observers=[Quiet()])

    def stats_get():
        watched.get(base + "/ok").content
        watched.stats()

    def stats_refused():
        try:
            watched.get("http://127.0.0.1:1/")
        except requestx.ConnectionError:
            pass

    def stats_stream():
        with watched.get(base + "/big?size=70000", stream=True) as r:
            r.content

    def get():
        session.get(base + "/ok").content

    def post_bytes():
        session.post(base + "/echo-raw", data=b"x" * 100).content

    def post_generator():
        session.post(base + "/echo-raw", data=(c for c in (b"a", b"b", b"c"))).content

    def stream_read_all():
        with session.get(base + "/big?size=70000", stream=True) as r:
            for _ in r.iter_content(8192):
                pass

    def stream_abandon():
        r = session.get(base + "/big?size=3000000", stream=True)
        next(r.iter_content(1024))
        r.close()

    def refused():
        try:
            session.get("http://127.0.0.1:9/", timeout=1)
        except requestx.ConnectionError:
            pass

    def broken_body():
        try:
            session.get(base + "/short")
        except requestx.exceptions.ChunkedEncodingError:
            pass

    def redirect_with_cookie():
        session.cookies.clear()
        session.get(base + "/cookie-redirect?location=/ok").content

    def bad_header():
        try:
            session.get(base + "/ok", headers={"X-Bad": "a\r\nb"})
        except requestx.exceptions.InvalidHeader:
            pass

    return {name: fn for name, fn in locals().items() if callable(fn)}


def async_scenarios(base: str) -> dict:
    """Plain AsyncSession.get() (the C coroutine of pending.h) on each of its
    paths: an answer, a redirect it delegates, a failure it maps, a task
    cancelled while it waits, and one closed without being awaited."""
    loop = asyncio.new_event_loop()
    session = requestx.AsyncSession()

    watched = requestx.AsyncSession(stats=True, observers=[Quiet()])

    def async_get():
        loop.run_until_complete(session.get(base + "/ok")).content

    def async_stats_get():
        loop.run_until_complete(watched.get(base + "/ok")).content
        watched.stats()

    def async_redirect():
        loop.run_until_complete(session.get(base + "/redirect?location=/ok")).content

    def async_refused():
        try:
            loop.run_until_complete(session.get("http://127.0.0.1:9/"))
        except requestx.ConnectionError:
            pass

    async def cancel_one():
        task = asyncio.ensure_future(session.get(base + "/stall-headers"))
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    def async_cancelled():
        loop.run_until_complete(cancel_one())

    def async_unawaited():
        session.get(base + "/ok").close()

    async def read_short_stream():
        async with session.stream("GET", base + "/short") as r:
            try:
                async for _ in r.aiter_content():
                    pass
            except requestx.exceptions.ChunkedEncodingError:
                pass

    def async_stream_broken():
        # AsyncTransfer.take() raising TransferError for a body that broke
        loop.run_until_complete(read_short_stream())

    return {name: fn for name, fn in locals().items() if name.startswith("async_")}


def ws_scenarios(base: str, session: requestx.Session) -> dict:
    """WebSockets (ws.h): ``base`` is a ws:// server (tests/servers/ws.py).
    One connection for the messages; the others open and close each round."""
    ws = session.ws_connect(base + "/echo", ping_interval=None)
    loop = asyncio.new_event_loop()
    asession = requestx.AsyncSession()
    aws = loop.run_until_complete(asession.ws_connect(base + "/echo", ping_interval=None))

    def ws_echo():
        ws.send("text")
        ws.recv()
        ws.send(b"bytes" * 100)
        ws.recv()

    def ws_ping():
        ws.ping()

    def ws_connect_close():
        with session.ws_connect(base + "/echo", ping_interval=None) as other:
            other.send("x")
            other.recv()

    def ws_closed_by_server():
        with session.ws_connect(base + "/close?code=4000", ping_interval=None) as other:
            try:
                other.recv()
            except requestx.WebSocketClosed:
                pass

    def ws_refused():
        try:
            session.ws_connect(base + "/refuse")
        except requestx.WebSocketError:
            pass

    async def echo_async():
        await aws.send("text")
        await aws.recv()
        await aws.ping()

    def async_ws_echo():
        loop.run_until_complete(echo_async())

    async def connect_async():
        async with asession.ws_connect(base + "/echo", ping_interval=None) as other:
            await other.send(b"x")
            await other.recv()

    def async_ws_connect_close():
        loop.run_until_complete(connect_async())

    return {name: fn for name, fn in locals().items() if "ws_" in name and callable(fn)}


def main() -> None:
    name, base, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session = requestx.Session()
    if "ws_" in name:
        run = ws_scenarios(base, session)[name]
    elif name.startswith("async_"):
        run = async_scenarios(base)[name]
    else:
        run = scenarios(base, session)[name]
    for _ in range(max(50, rounds // 5)):  # warm caches and pools
        run()
    growth = []
    for _batch in range(2):
        gc.collect()
        before = sys.getallocatedblocks()
        for _ in range(rounds):
            run()
        gc.collect()
        growth.append(sys.getallocatedblocks() - before)
    print(min(growth))


if __name__ == "__main__":
    main()
