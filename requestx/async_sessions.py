"""AsyncSession: the Session API for asyncio, on the engine thread.

Requests are prepared exactly as by Session (same headers, cookies, auth,
redirect rules); each hop is handed to the engine thread, which runs every
transfer of the process on one libcurl multi handle. Completions come back
through one eventfd per event loop, and the loop's reader callback (C)
resolves all finished futures in one go.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import weakref
from typing import Any, Awaitable, Optional

from . import _engine
from ._body import astream_chunks
from ._raw import AsyncRawResponse
from ._url import prepare_url, sendable
from .exceptions import (
    ChunkedEncodingError,
    ContentDecodingError,
    from_transfer_error,
)
from .models import PreparedRequest, Request, Response
from .sessions import Session, _timeouts, _with_history

__all__ = ["AsyncSession"]

# One completion port per event loop, registered with loop.add_reader().
_ports: Any = weakref.WeakKeyDictionary()


def _port(loop: asyncio.AbstractEventLoop) -> _engine.Port:
    """The loop's completion port; a child process after fork() makes its
    own (the inherited eventfd is shared with the parent)."""
    pid = os.getpid()
    entry = _ports.get(loop)
    if entry is not None and entry[0] == pid:
        return entry[1]  # type: ignore[no-any-return]
    if entry is not None:
        loop.remove_reader(entry[1].fileno())
    port = _engine.Port()
    loop.add_reader(port.fileno(), port.drain)
    _ports[loop] = (pid, port)
    return port


# Upload tasks still running; asyncio itself keeps only weak references.
_uploads: set[asyncio.Task[None]] = set()


def _start_upload(transfer: Any, body: Any) -> asyncio.Task[None]:
    """Feed a streamed request body (file, iterator or async iterable) to the
    engine as libcurl takes it; paused while enough is buffered."""
    task = asyncio.get_running_loop().create_task(_upload(transfer, body))
    _uploads.add(task)
    task.add_done_callback(_uploads.discard)
    return task


async def _upload(transfer: Any, body: Any, new_future: Any = None) -> None:
    # new_future: what makes the waiters (the httpx transport's trio backend
    # passes its own); by default the running asyncio loop's futures
    if new_future is None:
        new_future = asyncio.get_running_loop().create_future
    try:
        async for chunk in astream_chunks(body):
            if not chunk:
                continue
            state = transfer.feed(chunk)
            if state == _FEED_WAIT:
                waiter = new_future()
                if transfer.wait_upload(waiter):
                    await waiter
            elif state == _FEED_OVER:
                return  # answered early, failed or cancelled
        transfer.feed(b"")
    except BaseException:
        transfer.cancel()  # the request fails with the body's own exception
        raise


_FEED_WAIT, _FEED_OVER = 1, 2  # AsyncTransfer.feed(): 0 means go on


# What _start_hop() hands back about one request given to the engine: the
# future to await, the transfer, the task producing a streamed body (or None)
# and how a proxy is used. A plain tuple, unpacked into the awaiting frame:
# 10,000 gathered requests would hold 10,000 objects of a class of its own.
_Hop = tuple[Any, Any, Optional[asyncio.Task[None]], Optional[str]]

_NO_TIMEOUTS = (0.0, 0.0)  # _timeouts(None)


def _plain_request(session: AsyncSession) -> bool:
    """AsyncSession.request is what the session's request() runs (neither a
    subclass nor the instance replaced it)."""
    return type(session).request is AsyncSession.request and "request" not in vars(session)


def _hop_failed(
    exc: BaseException, transfer: Any, producer: Any, prep: Any, proxy_kind: Any
) -> BaseException:
    """The exception to raise for ``exc`` from awaiting a hop's future."""
    if isinstance(exc, asyncio.CancelledError):
        transfer.cancel()  # frees its connection at once
        return exc
    if not isinstance(exc, _engine.TransferError):
        return exc
    if producer is not None and producer.done() and not producer.cancelled():
        error = producer.exception()
        if error is not None:
            return error  # the body's own error, as in Session
    return from_transfer_error(exc, request=prep, proxy=proxy_kind)


class AsyncSession(Session):
    """Session for asyncio: ``await s.get(url)``, ``async with s.stream(...)``.

    ``max_connections`` bounds the transfers in flight (and so the open
    connections); ``max_connections_per_host`` bounds them per host (default:
    no bound below ``max_connections``). Requests beyond the limits wait in a
    queue that holds only their description, not a libcurl handle.
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_connections_per_host: Optional[int] = None,
        http2: Any = False,
        _aclient: Optional[_engine.AsyncClient] = None,
    ) -> None:
        super().__init__(http2=http2)
        # on AsyncSession, `stream` is the context-manager method, not a setting
        del self.stream
        if max_connections < 1 or (
            max_connections_per_host is not None and max_connections_per_host < 1
        ):
            raise ValueError("connection limits must be at least 1")
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self._aconnection = AsyncSessionConnection(self)
        self._owns_aclient = _aclient is None
        self._aclient = _aclient or self._new_pool()

    # Pickling: Session's state without `stream` (a method here, not a
    # setting), plus the pool's limits, which __init__ needs to make the pool.
    __attrs__ = [attr for attr in Session.__attrs__ if attr != "stream"]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["max_connections"] = self.max_connections
        state["max_connections_per_host"] = self.max_connections_per_host
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state.pop("stream", None)
        self.__init__(  # type: ignore[misc]
            max_connections=state.pop("max_connections", 100),
            max_connections_per_host=state.pop("max_connections_per_host", None),
            http2=state.pop("http2", False),
        )
        for attr, value in state.items():
            setattr(self, attr, value)

    def _new_pool(self) -> _engine.AsyncClient:
        return _engine.AsyncClient(
            self.max_connections, self.max_connections_per_host or 0, bool(self.http2)
        )

    def __enter__(self) -> AsyncSession:
        raise TypeError("use `async with AsyncSession() as s:`")

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()

    async def close(self) -> None:  # type: ignore[override]
        """Close the pool once the transfers in flight end. As with Session, a
        closed session still works: its next request opens a new pool."""
        if self._owns_aclient:
            self._aclient.close()
            self._aclient = self._new_pool()
        super().close()

    # sending ------------------------------------------------------------------

    async def request(  # type: ignore[override]
        self,
        method: Any,
        url: Any,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Any = None,
        hooks: Any = None,
        stream: Any = None,
        verify: Any = None,
        cert: Any = None,
        json: Any = None,
    ) -> Response:
        """Send a request; the arguments are those of Session.request."""
        prep = self._prepare(method, url, params, data, headers, cookies, files, auth, json, hooks)
        # _asend() inlined: one coroutine per request instead of three (10,000
        # gathered requests hold 10,000 of each)
        timeouts = _timeouts(timeout)
        future, transfer, producer, proxy_kind = self._start_hop(
            prep, timeouts, proxies, bool(stream), verify, cert
        )
        try:
            result = await future
        except BaseException as exc:
            raise _hop_failed(exc, transfer, producer, prep, proxy_kind) from None
        response = self._hop_response(prep, result)
        if prep._hooks or self._may_redirect(response):
            return await self._after_hop(
                response, prep, timeout, timeouts, allow_redirects, proxies, stream, verify, cert
            )
        return response

    # The verbs return request()'s coroutine itself: one frame less per request.
    # A plain GET (no options) takes a second path: _engine.Pending, a coroutine
    # in C that runs request("GET", url) step for step through the three
    # _pending_* methods below and holds less than a coroutine frame while it
    # waits.
    def _pending_start(self, url: Any) -> tuple[Any, Any, Any, Any]:
        """Pending's first step: prepare and submit a plain GET."""
        prep = self._prepare("GET", url)
        future, transfer, _producer, proxy_kind = self._start_hop(prep, _NO_TIMEOUTS)
        return future, prep, transfer, proxy_kind  # a GET without a body has no producer

    def _pending_done(self, prep: Any, result: Any) -> Any:
        """Pending's step once the engine answered: the Response, or the
        coroutine that follows redirects and runs hooks (Pending awaits it)."""
        response = self._hop_response(prep, result)
        if prep._hooks or self._may_redirect(response):
            return self._after_hop(response, prep)
        return response

    def _pending_failed(
        self, exc: BaseException, transfer: Any, prep: Any, proxy_kind: Any
    ) -> BaseException:
        """Pending's step when the engine's future failed: the exception to raise."""
        return _hop_failed(exc, transfer, None, prep, proxy_kind)

    def get(self, url: Any, **kwargs: Any) -> Awaitable[Response]:  # type: ignore[override]
        if not kwargs and _plain_request(self):
            return _engine.Pending(self, url)
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, **kwargs)

    def options(self, url: Any, **kwargs: Any) -> Awaitable[Response]:  # type: ignore[override]
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: Any, **kwargs: Any) -> Awaitable[Response]:  # type: ignore[override]
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def post(  # type: ignore[override]
        self, url: Any, data: Any = None, json: Any = None, **kwargs: Any
    ) -> Awaitable[Response]:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: Any, data: Any = None, **kwargs: Any) -> Awaitable[Response]:  # type: ignore[override]
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: Any, data: Any = None, **kwargs: Any) -> Awaitable[Response]:  # type: ignore[override]
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: Any, **kwargs: Any) -> Awaitable[Response]:  # type: ignore[override]
        return self.request("DELETE", url, **kwargs)

    async def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        """Send a PreparedRequest."""
        if isinstance(request, Request):
            raise ValueError("You can only send PreparedRequests.")
        if request._target is None or request._target.url != request.url:
            request._target = prepare_url(request.url)
        return await self._asend(
            request,
            kwargs.get("timeout"),
            kwargs.get("allow_redirects", True),
            kwargs.get("proxies"),
            kwargs.get("stream"),
            kwargs.get("verify"),
            kwargs.get("cert"),
        )

    def stream(self, method: str, url: Any, **kwargs: Any) -> _StreamContext:  # type: ignore[override]
        """``async with s.stream("GET", url) as r:`` a response whose body is
        read with ``aiter_content``/``aiter_lines``/``aread``, closed on exit."""
        return _StreamContext(self, method, url, kwargs)

    def _start_hop(
        self,
        prep: PreparedRequest,
        timeouts: tuple[float, float],
        proxies: Any = None,
        stream: bool = False,
        verify: Any = None,
        cert: Any = None,
    ) -> _Hop:
        """Hand one request (no redirects) to the engine; await the future
        (the first item of what is returned)."""
        target = prep._target
        assert target is not None
        settings, proxy_kind = self._engine_settings(target.url, proxies, verify, cert)
        body, lines = self._wire(prep)
        upload = None
        if isinstance(body, tuple):  # streamed: fed to the engine as it is produced
            upload, body = body
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        transfer = self._aclient.submit(
            _port(loop),
            future,
            prep.method,
            sendable(target),
            target.origin,
            lines,
            body,
            timeouts[0],
            timeouts[1],
            settings,
            stream,
        )
        producer = None if upload is None else _start_upload(transfer, upload)
        return future, transfer, producer, proxy_kind

    def _hop_response(self, prep: PreparedRequest, result: tuple[Any, ...]) -> Response:
        return self._received(result, prep, AsyncRawResponse, self._aconnection)

    async def _asend_hop(
        self,
        prep: PreparedRequest,
        timeouts: tuple[float, float],
        proxies: Any,
        stream: bool,
        verify: Any,
        cert: Any,
    ) -> Response:
        future, transfer, producer, proxy_kind = self._start_hop(
            prep, timeouts, proxies, stream, verify, cert
        )
        try:
            result = await future
        except BaseException as exc:
            raise _hop_failed(exc, transfer, producer, prep, proxy_kind) from None
        return self._hop_response(prep, result)

    async def _asend(
        self,
        prep: PreparedRequest,
        timeout: Any,
        allow_redirects: bool,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Response:
        timeouts = _timeouts(timeout)
        response = await self._asend_hop(prep, timeouts, proxies, bool(stream), verify, cert)
        return await self._after_hop(
            response, prep, timeout, timeouts, allow_redirects, proxies, stream, verify, cert
        )

    async def _after_hop(
        self,
        response: Response,
        prep: PreparedRequest,
        timeout: Any = None,
        timeouts: tuple[float, float] = _NO_TIMEOUTS,
        allow_redirects: bool = True,
        proxies: Any = None,
        stream: Any = None,
        verify: Any = None,
        cert: Any = None,
    ) -> Response:
        """Response hooks, then redirects (followed, or noted in ``next``)."""
        hooks = prep._hooks
        if hooks and hooks.get("response"):
            response = await _dispatch_hook(
                hooks,
                response,
                timeout=timeout,
                proxies=proxies,
                stream=stream,
                verify=verify,
                cert=cert,
            )
        if self._may_redirect(response) and self.get_redirect_target(response):
            if allow_redirects:
                response = await self._afollow(
                    response, prep, timeouts, proxies, stream, verify, cert
                )
            else:
                response._next = self._redirect_request(response, prep)
        return response

    async def _afollow(
        self,
        resp: Response,
        req: PreparedRequest,
        timeouts: tuple[float, float],
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Response:
        history: list[Response] = []
        while self.get_redirect_target(resp):
            try:
                await resp.aread()
            except (ChunkedEncodingError, ContentDecodingError, RuntimeError):
                pass
            req, hop_proxies = self._redirect_step(resp, req, history, proxies)
            resp = await self._asend_hop(req, timeouts, hop_proxies, bool(stream), verify, cert)
            resp.history = history[:]
            if req._hooks and req._hooks.get("response"):
                resp = await _dispatch_hook(req._hooks, resp)
        return _with_history(resp, history)


async def _dispatch_hook(hooks: Any, response: Response, **kwargs: Any) -> Response:
    """dispatch_hook for AsyncSession: a hook may also return an awaitable
    (HTTPDigestAuth does, to resend the request), which is awaited."""
    handlers = hooks.get("response") or []
    if callable(handlers):
        handlers = [handlers]
    for hook in handlers:
        result = hook(response, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            response = result
    return response


class AsyncSessionConnection:
    """``Response.connection`` of an AsyncSession response: ``send()`` returns
    an awaitable of one more hop on the same session (no redirects, no hooks)."""

    __slots__ = ("_session",)
    is_async = True

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def send(
        self,
        request: PreparedRequest,
        stream: Any = False,
        timeout: Any = None,
        verify: Any = None,
        cert: Any = None,
        proxies: Any = None,
        **kwargs: Any,
    ) -> Response:
        if request._target is None or request._target.url != request.url:
            request._target = prepare_url(request.url)
        return await self._session._asend_hop(
            request, _timeouts(timeout), proxies, bool(stream), verify, cert
        )

    def close(self) -> None:
        pass


class _StreamContext:
    """What AsyncSession.stream() returns: an async context manager."""

    def __init__(self, session: AsyncSession, method: str, url: Any, kwargs: dict) -> None:
        self._session = session
        self._args = (method, url)
        self._kwargs = kwargs
        self._response: Optional[Response] = None

    async def __aenter__(self) -> Response:
        self._kwargs["stream"] = True
        self._response = await self._session.request(*self._args, **self._kwargs)
        return self._response

    async def __aexit__(self, *args: Any) -> None:
        if self._response is not None:
            await self._response.aclose()
