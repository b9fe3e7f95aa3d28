"""WebSocket connections: the asyncio face.

``AsyncSession.ws_connect(url)`` gives an :class:`AsyncWebSocket`, awaited
(``ws = await s.ws_connect(url)``) or entered (``async with s.ws_connect(url)
as ws``).

The connection's socket is registered with the event loop itself
(``loop.add_reader``): each time it is readable the loop calls the engine
once (``WebSocket.drain``, GIL released), which reads every frame available
and returns every whole message among them. A consumer that falls behind
pauses reading (the reader is removed while ``max_queue`` messages wait, so
TCP's window pushes back on the server); a send that finds the socket full
waits for ``loop.add_writer``. The handshake itself is a blocking libcurl
call, run on a small thread pool.
"""

from __future__ import annotations

import asyncio
import json as _json
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Generator, Optional, Sequence

from . import _engine
from .exceptions import WebSocketClosed
from .structures import CaseInsensitiveDict
from .websocket import (
    BINARY,
    CLOSE,
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_MAX_SIZE,
    DEFAULT_PING_INTERVAL,
    DEFAULT_PING_TIMEOUT,
    NORMAL_CLOSE_CODES,
    PING,
    PONG,
    TEXT,
    Message,
    accepted,
    close_payload,
    frame_of,
    handshake_failed,
    ping_payload,
    prepare_handshake,
)

__all__ = ["AsyncWebSocket", "Connecting"]

DEFAULT_MAX_QUEUE = 16

# drain()'s status bits (ws.h)
_MORE, _OUT_PENDING = 1, 2

_pool: Optional[ThreadPoolExecutor] = None
_pool_lock = threading.Lock()


def _handshake_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="requestx-ws")
    return _pool


class AsyncWebSocket:
    """A WebSocket connection (asyncio). An async context manager; ``async
    for`` yields messages until the server closes normally."""

    def __init__(
        self,
        conn: Any,
        headers: CaseInsensitiveDict[str],
        subprotocol: Optional[str],
        loop: asyncio.AbstractEventLoop,
        *,
        url: str = "",
        max_queue: int = DEFAULT_MAX_QUEUE,
        ping_interval: Optional[float] = DEFAULT_PING_INTERVAL,
        ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT,
        close_timeout: Optional[float] = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        self._conn = conn
        self._loop = loop
        self._fd: int = conn.fileno()
        self.url = url
        self.response_headers = headers
        self.subprotocol = subprotocol
        self.close_code: Optional[int] = None
        self.close_reason: str = ""
        self._messages: deque[Message] = deque()
        self._max_queue = max(1, max_queue)
        self._waiters: list[asyncio.Future[None]] = []
        self._sends: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._pings: dict[bytes, tuple[float, asyncio.Future[float]]] = {}
        self._closing: Optional[asyncio.Future[None]] = None
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._reading = False
        self._writing = False
        self._drain_soon = False
        self._released = False
        self._resume_reading()
        self._keepalive: Optional[asyncio.Task[None]] = None
        if ping_interval:
            self._keepalive = loop.create_task(self._keepalive_loop())

    # -- the event loop's callbacks -----------------------------------------

    def _resume_reading(self) -> None:
        if not self._reading and not self._released:
            self._reading = True
            self._loop.add_reader(self._fd, self._on_readable)
            # libcurl (or TLS) may hold bytes the socket no longer signals
            self._schedule_drain()

    def _pause_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def _schedule_drain(self) -> None:
        if not self._drain_soon:
            self._drain_soon = True
            self._loop.call_soon(self._drain_later)

    def _drain_later(self) -> None:
        self._drain_soon = False
        if self._reading:
            self._on_readable()

    def _on_readable(self) -> None:
        if self._released:
            return
        try:
            events, status = self._conn.drain(self._max_queue - len(self._messages))
        except RuntimeError:  # released meanwhile
            return
        self._absorb(events)
        if self._released:
            return
        if status & _OUT_PENDING:
            self._want_write()
        if len(self._messages) >= self._max_queue:
            self._pause_reading()
        elif status & _MORE:
            self._schedule_drain()

    def _want_write(self) -> None:
        if not self._writing and not self._released:
            self._writing = True
            self._loop.add_writer(self._fd, self._on_writable)

    def _on_writable(self) -> None:
        if self._released:
            return
        try:
            done = self._conn.flush()
        except _engine.TransferError:
            self._closed(1006, "")
            return
        sends = self._sends
        while sends and sends[0][0] <= done:
            future = sends.popleft()[1]
            if not future.done():
                future.set_result(None)
        if not self._conn.pending and self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)

    def _absorb(self, events: list[Any]) -> None:
        woke = False
        for event in events:
            kind = event[0]
            if kind == TEXT or kind == BINARY:
                self._messages.append(event[1])
                woke = True
            elif kind == PONG:
                entry = self._pings.pop(event[1], None)
                if entry is not None and not entry[1].done():
                    entry[1].set_result(time.monotonic() - entry[0])
            elif kind == CLOSE:
                self._closed(event[1], event[2])
                return
        if woke:
            self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _closed(self, code: int, reason: str) -> None:
        """The end: every waiter learns it, the socket leaves the loop."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._release()
        self._wake()
        exc = WebSocketClosed(self.close_code, self.close_reason)
        for _, future in self._sends:
            if not future.done():
                future.set_exception(exc)
        self._sends.clear()
        for _, pong in self._pings.values():
            if not pong.done():
                pong.set_exception(exc)
        self._pings.clear()
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        if self._keepalive is not None and self._keepalive is not asyncio.current_task():
            self._keepalive.cancel()

    def _release(self) -> None:
        if self._released:
            return
        self._pause_reading()
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)
        if self._conn.pending:
            try:  # the close reply, if the socket takes it now
                self._conn.flush()
            except (_engine.TransferError, RuntimeError):
                pass
        self._released = True
        self._conn.close()

    # -- the context manager, iteration -------------------------------------

    async def __aenter__(self) -> AsyncWebSocket:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._messages_until_closed()

    async def _messages_until_closed(self) -> AsyncIterator[Message]:
        while True:
            try:
                message = await self.recv()
            except WebSocketClosed as exc:
                if exc.code in NORMAL_CLOSE_CODES:
                    return
                raise
            yield message

    def __repr__(self) -> str:
        state = "open" if self.close_code is None else f"closed {self.close_code}"
        return f"<AsyncWebSocket {self.url} [{state}]>"

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    # -- receiving -----------------------------------------------------------

    async def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message: str for text, bytes for binary. ``timeout``:
        seconds (None: forever), then TimeoutError. A cancelled recv() takes
        no message: the next one gets it."""
        while not self._messages:
            if self.close_code is not None:
                raise WebSocketClosed(self.close_code, self.close_reason)
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            try:
                if timeout is None:
                    await waiter
                else:
                    await asyncio.wait_for(waiter, timeout)
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        message = self._messages.popleft()
        if not self._reading and len(self._messages) < self._max_queue:
            self._resume_reading()
        return message

    async def recv_json(self, timeout: Optional[float] = None, **kwargs: Any) -> Any:
        return _json.loads(await self.recv(timeout), **kwargs)

    # -- sending -------------------------------------------------------------

    async def _send_frame(self, payload: Any, kind: int) -> None:
        if self.close_code is not None:
            raise WebSocketClosed(self.close_code, self.close_reason)
        try:
            seq, written = self._conn.send(payload, kind, 0)
        except _engine.TransferError:
            self._closed(1006, "")
            raise WebSocketClosed(1006, "") from None
        if written:
            return
        future: asyncio.Future[None] = self._loop.create_future()
        self._sends.append((seq, future))
        self._want_write()
        await future

    async def send(self, message: Message) -> None:
        """Send a message: str as text, bytes as binary. Returns once the
        socket took it; waits (without blocking the loop) while it is full.
        A cancelled send may still go out: the engine holds its copy."""
        payload, kind = frame_of(message)
        await self._send_frame(payload, kind)

    async def send_json(self, obj: Any, **kwargs: Any) -> None:
        await self.send(_json.dumps(obj, **kwargs))

    async def ping(self, timeout: Optional[float] = None) -> float:
        """Send a ping, wait for its pong: the round trip in seconds."""
        payload = ping_payload()
        future: asyncio.Future[float] = self._loop.create_future()
        self._pings[payload] = (time.monotonic(), future)
        try:
            await self._send_frame(payload, PING)
            wait = timeout if timeout is not None else self._ping_timeout
            if wait is None:
                return await future
            return await asyncio.wait_for(future, wait)
        finally:
            self._pings.pop(payload, None)

    async def _keepalive_loop(self) -> None:
        assert self._ping_interval
        try:
            while self.close_code is None:
                await asyncio.sleep(self._ping_interval)
                try:
                    await self.ping(self._ping_timeout)
                except asyncio.TimeoutError:
                    await self._fail(1011, "keepalive ping timeout")
                    return
        except WebSocketClosed:
            return

    async def _fail(self, code: int, reason: str) -> None:
        try:
            self._conn.send(close_payload(code, reason), CLOSE, 0)
        except (_engine.TransferError, RuntimeError):
            pass
        self._closed(code, reason)

    # -- closing -------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """The closing handshake: our close frame, the server's (up to
        close_timeout), then the connection is closed."""
        if self.close_code is not None:
            return
        payload = close_payload(code, reason)
        if self._closing is None:
            self._closing = self._loop.create_future()
            try:  # queued; a frame ahead of it may hold it back, close_timeout bounds that
                _, written = self._conn.send(payload, CLOSE, 0)
            except (_engine.TransferError, RuntimeError):
                self._closed(1006, "")
                return
            if not written:
                self._want_write()
        closing = self._closing
        try:
            if self._close_timeout is None:
                await asyncio.shield(closing)
            else:
                await asyncio.wait_for(asyncio.shield(closing), self._close_timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            if self.close_code is None:
                self._closed(code, reason)


async def connect(
    session: Any,
    url: str,
    *,
    subprotocols: Optional[Sequence[str]] = None,
    headers: Any = None,
    cookies: Any = None,
    auth: Any = None,
    params: Any = None,
    proxies: Any = None,
    verify: Any = None,
    cert: Any = None,
    timeout: Any = None,
    max_size: Optional[int] = DEFAULT_MAX_SIZE,
    max_queue: int = DEFAULT_MAX_QUEUE,
    ping_interval: Optional[float] = DEFAULT_PING_INTERVAL,
    ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT,
    open_timeout: Optional[float] = 10.0,
    close_timeout: Optional[float] = DEFAULT_CLOSE_TIMEOUT,
) -> AsyncWebSocket:
    """AsyncSession.ws_connect(), awaited: the handshake, then the open
    AsyncWebSocket."""
    handshake = prepare_handshake(
        session,
        url,
        subprotocols=subprotocols,
        headers=headers,
        cookies=cookies,
        auth=auth,
        params=params,
        proxies=proxies,
        verify=verify,
        cert=cert,
        timeout=timeout,
        open_timeout=open_timeout,
    )
    loop = asyncio.get_running_loop()
    conn = _engine.WebSocket(max_size=max_size or (1 << 62))
    try:
        await loop.run_in_executor(
            _handshake_pool(),
            conn.connect,
            handshake.url,
            handshake.lines,
            handshake.settings,
            handshake.connect_timeout,
            handshake.open_timeout,
        )
    except _engine.TransferError as error:
        raise handshake_failed(conn, error, handshake) from None
    response_headers, chosen = accepted(conn, handshake)
    return AsyncWebSocket(
        conn,
        response_headers,
        chosen,
        loop,
        url=handshake.url,
        max_queue=max_queue,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
    )


class Connecting:
    """What AsyncSession.ws_connect() returns: await it for the WebSocket,
    or use it as ``async with`` (closed on the way out)."""

    __slots__ = ("_coro", "_ws")

    def __init__(self, session: Any, url: str, options: dict[str, Any]) -> None:
        self._coro = connect(session, url, **options)
        self._ws: Optional[AsyncWebSocket] = None

    def __await__(self) -> Generator[Any, None, AsyncWebSocket]:
        return self._coro.__await__()

    async def __aenter__(self) -> AsyncWebSocket:
        self._ws = await self._coro
        return self._ws

    async def __aexit__(self, *exc: Any) -> None:
        if self._ws is not None:
            await self._ws.close()
