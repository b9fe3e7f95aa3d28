"""AsyncSession: the requests API for asyncio, on the engine thread.

A sibling of Session over BaseSession (requestx/_core/base.py): requests are
prepared exactly as by Session (same headers, cookies, auth, redirect
rules). What is here is what waits: each hop is handed to the engine thread,
which runs every transfer of the process on one libcurl multi handle;
completions come back through one eventfd per event loop (_core/aio.py),
whose reader callback (C) resolves all finished futures in one go.

A plain ``get(url)`` (no options) takes a second path with the same steps:
``_engine.Pending``, a coroutine written in C, runs request("GET", url)
through the three ``_pending_*`` methods below and holds less memory than a
Python coroutine frame while it waits (gathering many GETs holds one each).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from functools import partial
from typing import Any, Awaitable, Optional

from . import _engine
from ._core import aio
from ._core import observe as _observe
from ._core.base import _NO_TIMEOUTS, BaseConnection, BaseSession, timeouts, with_history
from ._raw import AsyncRawResponse
from ._timeout import TimeoutSetting
from ._url import sendable
from .async_websocket import Connecting
from .exceptions import ChunkedEncodingError, ContentDecodingError, from_transfer_error
from .models import PreparedRequest, Response
from .policy.call import run_async

__all__ = ["AsyncSession"]

# What _start_hop() hands back about one request given to the engine: the
# future to await, the transfer, the task producing a streamed body (or None)
# and how a proxy is used. A plain tuple, unpacked into the awaiting frame:
# many gathered requests would each hold an object of a class of its own.
_Hop = tuple[Any, Any, Optional[asyncio.Task[None]], Optional[str]]


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
        error: Optional[BaseException] = producer.exception()
        if error is not None:
            return error  # the body's own error, as in Session
    return from_transfer_error(exc, request=prep, proxy=proxy_kind)


class AsyncSession(BaseSession[Awaitable[Response]]):
    """Session for asyncio: ``await s.get(url)``, ``async with s.stream(...)``.

    ``max_connections`` bounds the transfers in flight (and so the open
    connections); ``max_connections_per_host`` bounds them per host (default:
    no bound below ``max_connections``). Requests beyond the limits wait in a
    queue that holds only their description, not a libcurl handle.
    """

    _init_state = (
        *BaseSession._init_state,
        "max_connections",
        "max_connections_per_host",
    )

    # Whether request() is AsyncSession's own: get() takes Pending's path only
    # then (set per class, below; an instance may still replace it).
    _own_request = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._own_request = cls.request is AsyncSession.request

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_connections_per_host: Optional[int] = None,
        http2: Any = False,
        http3: Any = False,
        retries: Any = None,
        breaker: Any = None,
        resend_stale_connections: str = "idempotent",
        observers: Optional[Iterable[Any]] = None,
        stats: bool = False,
        stats_max_origins: int = 1000,
        _aclient: Optional[_engine.AsyncClient] = None,
    ) -> None:
        """See BaseSession for ``http2``, ``http3``, ``retries``, ``breaker``,
        ``resend_stale_connections``, ``observers`` and ``stats``."""
        if max_connections < 1 or (
            max_connections_per_host is not None and max_connections_per_host < 1
        ):
            raise ValueError("connection limits must be at least 1")
        super().__init__(
            http2=http2,
            http3=http3,
            retries=retries,
            breaker=breaker,
            resend_stale_connections=resend_stale_connections,
            observers=observers,
            stats=stats,
            stats_max_origins=stats_max_origins,
        )
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self._connection = AsyncSessionConnection(self)
        self._owns_aclient = _aclient is None
        self._aclient = _aclient or self._new_pool()

    def _new_pool(self) -> _engine.AsyncClient:
        return _engine.AsyncClient(
            self.max_connections,
            self.max_connections_per_host or 0,
            bool(self.http2 or self.http3),  # new transfers wait to multiplex
            stats=self._stats,
        )

    def __enter__(self) -> AsyncSession:
        raise TypeError("use `async with AsyncSession() as s:`")

    def __exit__(self, *args: Any) -> None:
        pass  # never entered

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pool once the transfers in flight end. As with Session, a
        closed session still works: its next request opens a new pool."""
        if self._owns_aclient:
            self._aclient.close()
            self._aclient = self._new_pool()

    def ws_connect(self, url: str, **options: Any) -> Connecting:
        """Open a WebSocket with this session's headers, cookies, auth,
        proxies and TLS settings: ``ws = await s.ws_connect(url)`` or
        ``async with s.ws_connect(url) as ws``; see docs/websocket.md."""
        return Connecting(self, url, options)

    # sending ------------------------------------------------------------------

    async def request(
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
        retries: Any = None,
        breaker: Any = None,
    ) -> Response:
        """Send a request; the arguments are those of Session.request."""
        prep = self._prepare(method, url, params, data, headers, cookies, files, auth, json, hooks)
        watch = None
        if (
            self.observers
            or _observe.observers
            or (
                _observe.LEVELS.get(_observe.DEBUG) is not False
                and _observe.logger.isEnabledFor(_observe.DEBUG)
            )
        ):
            watch = prep._watch = _observe.Watch(self.observers, prep.method or "", prep.url or "")
            watch.request_start()
        try:  # (a try costs nothing until something is raised)
            hop_timeouts = timeouts(timeout)
            policy = None
            if (
                self._has_policy
                or retries is not None
                or breaker is not None
                or type(timeout) is TimeoutSetting
            ):
                policy = self._policy(timeout, retries, breaker)
            if policy is not None:
                response = await self._send_hop(
                    prep, hop_timeouts, proxies, bool(stream), verify, cert, policy
                )
            else:
                # the hop inlined: one coroutine per request instead of two
                future, transfer, producer, proxy_kind = self._start_hop(
                    prep, hop_timeouts, proxies, bool(stream), verify, cert
                )
                try:
                    result = await future
                except BaseException as exc:
                    raise _hop_failed(exc, transfer, producer, prep, proxy_kind) from None
                response = self._received(result, prep, AsyncRawResponse, self._connection)
            if prep._hooks or self._may_redirect(response):
                response = await self._after_hop(
                    response,
                    prep,
                    timeout,
                    hop_timeouts,
                    allow_redirects,
                    proxies,
                    stream,
                    verify,
                    cert,
                    policy,
                )
        except BaseException as exc:
            if watch is not None:
                prep._watch = None
                watch.request_end(None, exc)
            raise
        if watch is not None:
            prep._watch = None
            watch.request_end(response)
        return response

    # The verbs (BaseSession's) return request()'s coroutine itself: one frame
    # less per request. A plain GET returns _engine.Pending (see the module
    # docstring).
    def get(self, url: Any, **kwargs: Any) -> Awaitable[Response]:
        if (
            not kwargs
            and self._own_request
            and not self._has_policy
            and "request" not in vars(self)
            and not _observe.watched(self.observers)
        ):
            return _engine.Pending(self, url)
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, **kwargs)

    async def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """Send a PreparedRequest."""
        request = self._to_send(request)
        if _observe.watched(self.observers):
            watch = _observe.Watch(self.observers, request.method or "", request.url or "")
            request._watch = watch
            watch.request_start()
            try:
                response = await self._send_request(request, kwargs)
            except BaseException as exc:
                watch.request_end(None, exc)
                raise
            finally:
                request._watch = None
            watch.request_end(response)
            return response
        return await self._send_request(request, kwargs)

    async def _send_request(self, request: PreparedRequest, kwargs: dict[str, Any]) -> Response:
        timeout = kwargs.get("timeout")
        proxies, stream = kwargs.get("proxies"), kwargs.get("stream")
        verify, cert = kwargs.get("verify"), kwargs.get("cert")
        hop_timeouts = timeouts(timeout)
        policy = self._policy(timeout, kwargs.get("retries"), kwargs.get("breaker"))
        response = await self._send_hop(
            request, hop_timeouts, proxies, bool(stream), verify, cert, policy
        )
        return await self._after_hop(
            response,
            request,
            timeout,
            hop_timeouts,
            kwargs.get("allow_redirects", True),
            proxies,
            stream,
            verify,
            cert,
            policy,
        )

    def stream(self, method: str, url: Any, **kwargs: Any) -> _StreamContext:
        """``async with s.stream("GET", url) as r:`` a response whose body is
        read with ``aiter_content``/``aiter_lines``/``aread``, closed on exit."""
        return _StreamContext(self, method, url, kwargs)

    def _start_hop(
        self,
        prep: PreparedRequest,
        hop_timeouts: tuple[float, float],
        proxies: Any = None,
        stream: bool = False,
        verify: Any = None,
        cert: Any = None,
        total: float = 0.0,
    ) -> _Hop:
        """Hand one request (no redirects) to the engine; await the future
        (the first item of what is returned). ``total``: see Session._attempt."""
        connect, read = hop_timeouts
        if total:
            connect = min(connect or total, total)
            if stream:
                read, total = min(read or total, total), 0.0
        target = prep._target
        assert target is not None
        watch = prep._watch
        attempt = None
        if watch is not None:
            attempt = watch.attempt_start(prep.method or "", target.url)
            if attempt.headers:
                prep.headers.update(attempt.headers)
        settings, proxy_kind = self._engine_settings(target.url, proxies, verify, cert)
        body, lines = self._body_and_lines(prep, proxy_kind)
        upload = None
        if isinstance(body, tuple):  # streamed: fed to the engine as it is produced
            upload, body = body
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        transfer = self._aclient.submit(
            aio.port(loop),
            future,
            prep.method,  # type: ignore[arg-type]  # set by _prepare: a str
            sendable(target),
            target.origin,
            lines,
            body,
            connect,
            read,
            total,
            settings,
            stream,
        )
        if attempt is not None:
            # told from the future's done-callback: the completions of one
            # engine batch reach the observers in one turn of the loop
            future.add_done_callback(partial(_attempt_done, watch, attempt, prep, body, proxy_kind))
        producer = None if upload is None else aio.start_upload(transfer, upload)
        return future, transfer, producer, proxy_kind

    async def _send_hop(
        self,
        prep: PreparedRequest,
        hop_timeouts: tuple[float, float],
        proxies: Any,
        stream: bool,
        verify: Any,
        cert: Any,
        policy: Any = None,
        total: float = 0.0,
    ) -> Response:
        """One request, one response: no redirects followed; one transfer on
        the engine thread, or under a policy, as many attempts as it allows
        (``total``: see Session._send_hop)."""
        if policy is not None:  # awaited here: no coroutine of its own per hop
            hop = (prep, hop_timeouts, proxies, stream, verify, cert)
            if self._adapters is not None:
                adapter = self._custom_adapter(prep.url or "")
                if adapter is not None:
                    return await self._adapter_hop(adapter, *hop)
            attempts = self._attempts(prep, policy)
            if attempts is not None:
                return await run_async(attempts, self._send_hop, hop)  # type: ignore[no-any-return]
        future, transfer, producer, proxy_kind = self._start_hop(
            prep, hop_timeouts, proxies, stream, verify, cert, total
        )
        try:
            result = await future
        except BaseException as exc:
            raise _hop_failed(exc, transfer, producer, prep, proxy_kind) from None
        return self._received(result, prep, AsyncRawResponse, self._connection)

    async def _adapter_hop(
        self,
        adapter: Any,
        prep: PreparedRequest,
        hop_timeouts: tuple[float, float],
        proxies: Any,
        stream: bool,
        verify: Any,
        cert: Any,
    ) -> Response:
        """A hop through a mounted adapter of the user's: its send() answers;
        one that returns an awaitable is awaited (a sync one runs on the loop)."""
        timeout = hop_timeouts if any(hop_timeouts) else None
        response = adapter.send(
            prep, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )
        if inspect.isawaitable(response):
            response = await response
        return response  # type: ignore[no-any-return]

    async def _after_hop(
        self,
        response: Response,
        prep: PreparedRequest,
        timeout: Any = None,
        hop_timeouts: tuple[float, float] = _NO_TIMEOUTS,
        allow_redirects: bool = True,
        proxies: Any = None,
        stream: Any = None,
        verify: Any = None,
        cert: Any = None,
        policy: Any = None,
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
                response = await self._follow(
                    response, prep, hop_timeouts, proxies, stream, verify, cert, policy
                )
            else:
                response._next = self._redirect_request(response, prep)
        return response

    # the redirect loop --------------------------------------------------------

    async def _follow(
        self,
        resp: Response,
        req: PreparedRequest,
        hop_timeouts: tuple[float, float],
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
        policy: Any = None,
    ) -> Response:
        history: list[Response] = []
        while self.get_redirect_target(resp):
            try:
                await resp.aread()
            except (ChunkedEncodingError, ContentDecodingError, RuntimeError):
                pass
            req, hop_proxies = self._redirect_step(resp, req, history, proxies)
            resp = await self._send_hop(
                req, hop_timeouts, hop_proxies, bool(stream), verify, cert, policy
            )
            resp.history = history[:]
            if req._hooks and req._hooks.get("response"):
                resp = await _dispatch_hook(req._hooks, resp)
        return with_history(resp, history)

    # _engine.Pending's steps for a plain GET: the steps of request("GET", url)
    # around its one await.

    def _pending_start(self, url: Any) -> tuple[Any, Any, Any, Any]:
        """Prepare and submit: (future, prep, transfer, proxy kind)."""
        prep = self._prepare("GET", url)
        future, transfer, _producer, proxy_kind = self._start_hop(prep, _NO_TIMEOUTS)
        return future, prep, transfer, proxy_kind  # a GET without a body has no producer

    def _pending_done(self, prep: Any, result: Any) -> Any:
        """The Response, or the coroutine that follows redirects and runs hooks
        (Pending awaits it)."""
        response = self._received(result, prep, AsyncRawResponse, self._connection)
        if prep._hooks or self._may_redirect(response):
            return self._after_hop(response, prep)
        return response

    def _pending_failed(
        self, exc: BaseException, transfer: Any, prep: Any, proxy_kind: Any
    ) -> BaseException:
        """The exception to raise for what awaiting the future raised."""
        return _hop_failed(exc, transfer, None, prep, proxy_kind)


def _attempt_done(
    watch: _observe.Watch,
    attempt: _observe.AttemptInfo,
    prep: PreparedRequest,
    body: Any,
    proxy_kind: Any,
    future: asyncio.Future[Any],
) -> None:
    """An observed attempt's future is done: tell its end."""
    if future.cancelled():
        watch.attempt_end(attempt, error=asyncio.CancelledError(), body=body)
        return
    exc = future.exception()
    if exc is None:
        watch.attempt_end(attempt, future.result(), body=body)
        return
    if isinstance(exc, _engine.TransferError):
        exc = from_transfer_error(exc, request=prep, proxy=proxy_kind)
    watch.attempt_end(attempt, error=exc, body=body)


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


class AsyncSessionConnection(BaseConnection):
    """``Response.connection`` of an AsyncSession response: ``send()`` returns
    an awaitable of one more hop (see BaseConnection)."""

    __slots__ = ()
    _session: AsyncSession
    is_async = True

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
        session = self._session
        return await session._send_hop(
            session._to_send(request), timeouts(timeout), proxies, bool(stream), verify, cert
        )


class _StreamContext:
    """What AsyncSession.stream() returns: an async context manager."""

    def __init__(
        self, session: AsyncSession, method: str, url: Any, kwargs: dict[str, Any]
    ) -> None:
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
