"""Session: the requests-compatible session, sync.

Everything that does no I/O (preparing, settings, the redirect policy,
building responses) is BaseSession's (requestx/_core/base.py), shared with
AsyncSession. What is here is what waits: the hop (one request handed to the
engine's sync driver, with the GIL released), the redirect loop and
``Response.connection``. One Session owns one engine Client (a pool of libcurl
handles sharing connections), so keep-alive works across its requests and
threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Optional

from . import _engine
from ._body import is_async_only, stream_chunks
from ._core import observe as _observe
from ._core.base import (
    BaseConnection,
    BaseSession,
    merge_hooks,
    merge_setting,
    should_strip_auth,
    timeouts,
    with_history,
)
from ._environment import netrc_auth
from ._headers import default_headers, default_user_agent
from ._raw import RawResponse
from ._timeout import TimeoutSetting
from ._url import sendable
from .adapters import SENDING
from .exceptions import ChunkedEncodingError, ContentDecodingError, from_transfer_error
from .models import PreparedRequest, Response, dispatch_hook
from .policy.call import run_sync
from .websocket import WebSocket
from .websocket import connect as websocket_connect

__all__ = [
    "Session",
    "session",
    "default_headers",
    "default_user_agent",
    "merge_setting",
    "merge_hooks",
    "should_strip_auth",
]

# The cookie helpers are imported where used: http.cookiejar brings
# urllib.request, http.client and email with it (~3.5 MB of a process that a
# request without cookies never needs). requests.sessions has these names.
_COOKIE_NAMES = frozenset(
    {"RequestsCookieJar", "cookiejar_from_dict", "extract_cookies_to_jar", "merge_cookies"}
)


def __getattr__(name: str) -> Any:
    if name in _COOKIE_NAMES:
        from . import cookies

        return getattr(cookies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_netrc_auth(url: str, raise_errors: bool = False) -> Optional[tuple[str, str]]:
    """requests' name for the .netrc lookup."""
    return netrc_auth(url, raise_errors)


class Session(BaseSession[Response]):
    """A requests-compatible session: persistent headers, cookies, auth,
    params, proxies, TLS settings and a pool of keep-alive connections."""

    __attrs__ = [*BaseSession.__attrs__, "stream"]

    def __init__(
        self,
        *,
        http2: Any = False,
        http3: Any = False,
        retries: Any = None,
        breaker: Any = None,
        resend_stale_connections: str = "idempotent",
        observers: Optional[Iterable[Any]] = None,
        stats: bool = False,
        stats_max_origins: int = 1000,
        _client: Optional[_engine.Client] = None,
    ) -> None:
        """See BaseSession for the arguments."""
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
        self.stream = False
        self._owns_client = _client is None
        self._client = _engine.Client(stats=self._stats) if _client is None else _client
        self._connection = SessionConnection(self)

    def _session_stream(self) -> bool:
        return bool(self.stream)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections of this session's pool."""
        if self._owns_client:
            self._client.close()

    def ws_connect(self, url: str, **options: Any) -> WebSocket:
        """Open a WebSocket (ws:// or wss://) with this session's headers,
        cookies, auth, proxies and TLS settings; see docs/websocket.md."""
        return websocket_connect(self, url, **options)

    # sending ------------------------------------------------------------------

    def request(
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
        """Send a request; the arguments are those of requests.Session.request,
        plus ``retries`` and ``breaker`` for this request (False: none; None:
        the mounted adapter's or the session's). ``timeout`` may also be a
        requestx.Timeout, whose ``total`` bounds the whole call."""
        prep = self._prepare(method, url, params, data, headers, cookies, files, auth, json, hooks)
        policy = None
        if (
            self._has_policy
            or retries is not None
            or breaker is not None
            or type(timeout) is TimeoutSetting
        ):
            policy = self._policy(timeout, retries, breaker)
        return self._send(prep, timeout, allow_redirects, proxies, stream, verify, cert, policy)

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """Send a PreparedRequest (requests' Session.send)."""
        timeout = kwargs.get("timeout")
        return self._send(
            self._to_send(request),
            timeout,
            kwargs.get("allow_redirects", True),
            kwargs.get("proxies"),
            kwargs.get("stream"),
            kwargs.get("verify"),
            kwargs.get("cert"),
            self._policy(timeout, kwargs.get("retries"), kwargs.get("breaker")),
        )

    def _policy_hop(
        self,
        prep: PreparedRequest,
        hop_timeouts: tuple[float, float],
        proxies: Any,
        stream: bool,
        verify: Any,
        cert: Any,
        policy: Any,
    ) -> Response:
        """A hop under a policy (see BaseSession._policy): retried and guarded
        by its breaker, or sent by the user's adapter mounted for it."""
        hop = (prep, hop_timeouts, proxies, stream, verify, cert)
        if self._adapters is not None:
            adapter = self._custom_adapter(prep.url or "")
            if adapter is not None:
                return self._adapter_hop(adapter, *hop)
        attempts = self._attempts(prep, policy)
        if attempts is None:
            return self._send_hop(*hop)
        return run_sync(attempts, self._send_hop, hop)  # type: ignore[no-any-return]

    def _adapter_hop(
        self,
        adapter: Any,
        prep: PreparedRequest,
        hop_timeouts: tuple[float, float],
        proxies: Any,
        stream: bool,
        verify: Any,
        cert: Any,
    ) -> Response:
        """A hop through a mounted adapter of the user's: its send() answers
        (requests' contract); the session keeps the cookies it sets."""
        timeout = hop_timeouts if any(hop_timeouts) else None
        token = SENDING.set(self)
        try:
            response = adapter.send(
                prep, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )
        finally:
            SENDING.reset(token)
        return response  # type: ignore[no-any-return]

    def _adapter_send(
        self,
        adapter: Any,
        request: PreparedRequest,
        stream: bool,
        timeout: Any,
        verify: Any,
        cert: Any,
        proxies: Any,
    ) -> Response:
        """HTTPAdapter.send(): one hop with the adapter's retry policy."""
        request = self._to_send(request)
        attempts = self._attempts(request, (adapter.max_retries, None, None))
        args = (request, timeouts(timeout), proxies, bool(stream), verify, cert)
        if attempts is None:
            return self._send_hop(*args)
        return run_sync(attempts, self._send_hop, args)  # type: ignore[no-any-return]

    def _send_hop(
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
        """One request, one response: no redirects followed; one call into the
        engine, or under a policy, as many attempts as it allows. ``total``:
        the seconds the call's deadline leaves (0: none), the whole transfer's
        bound unless streamed (then the connect and read timeouts are kept
        within it)."""
        if policy is not None:
            return self._policy_hop(prep, hop_timeouts, proxies, stream, verify, cert, policy)
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
            attempt = watch.attempt_start(prep.method, target.url)
            if attempt.headers:
                prep.headers.update(attempt.headers)
        settings, proxy_kind = self._engine_settings(target.url, proxies, verify, cert)
        body, lines = self._body_and_lines(prep, proxy_kind)
        if isinstance(body, tuple):
            if is_async_only(body[0]):
                raise TypeError(
                    "an async iterable request body needs AsyncSession "
                    "(or `await requestx.post(...)` inside a running event loop)"
                )
            body = (stream_chunks(body[0]), body[1])
        if attempt is not None:
            return self._watched_perform(
                watch, attempt, prep, target, lines, body, connect, read, total, settings,
                stream, proxy_kind,
            )  # fmt: skip
        try:
            result = self._client.perform(
                prep.method,  # type: ignore[arg-type]  # set by _prepare: a str
                sendable(target),
                lines,
                body,
                connect,
                read,
                total,
                settings,
                stream,
            )
        except _engine.TransferError as exc:
            raise from_transfer_error(exc, request=prep, proxy=proxy_kind) from None
        return self._received(result, prep, RawResponse, self._connection)

    def _watched_perform(
        self,
        watch: _observe.Watch,
        attempt: _observe.AttemptInfo,
        prep: PreparedRequest,
        target: Any,
        lines: tuple[bytes, ...],
        body: Any,
        connect: float,
        read: float,
        total: float,
        settings: Any,
        stream: bool,
        proxy_kind: Any,
    ) -> Response:
        """_send_hop's call into the engine for an observed call: the
        attempt's end is told with the result or the error."""
        try:
            result = self._client.perform(
                prep.method,  # type: ignore[arg-type]  # set by _prepare: a str
                sendable(target),
                lines,
                body,
                connect,
                read,
                total,
                settings,
                stream,
            )
        except _engine.TransferError as exc:
            error = from_transfer_error(exc, request=prep, proxy=proxy_kind)
            watch.attempt_end(attempt, error=error, body=body)
            raise error from None
        except BaseException as exc:  # the body's iterator, a signal handler
            watch.attempt_end(attempt, error=exc, body=body)
            raise
        watch.attempt_end(attempt, result, body=body)
        return self._received(result, prep, RawResponse, self._connection)

    def _send(
        self,
        prep: PreparedRequest,
        timeout: Any,
        allow_redirects: bool,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
        policy: Any = None,
    ) -> Response:
        if (
            self.observers
            or _observe.observers
            or (
                _observe.LEVELS.get(_observe.DEBUG) is not False
                and _observe.logger.isEnabledFor(_observe.DEBUG)
            )
        ) and prep._watch is None:
            return self._watched_send(
                prep, timeout, allow_redirects, proxies, stream, verify, cert, policy
            )
        if stream is None:
            stream = self.stream
        hop_timeouts = timeouts(timeout)
        response = self._send_hop(prep, hop_timeouts, proxies, bool(stream), verify, cert, policy)
        hooks = prep._hooks
        if hooks and hooks.get("response"):
            response = dispatch_hook(
                "response",
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
                history = [response]
                history.extend(
                    self.resolve_redirects(
                        response, prep, stream, timeout, verify, cert, proxies, _policy=policy
                    )
                )
                response = with_history(history.pop(), history)
            else:
                response._next = self._redirect_request(response, prep)
        if not stream and response._stream is not None:
            response.content
        return response

    def _watched_send(self, prep: PreparedRequest, *args: Any) -> Response:
        """_send for an observed call: its start and end told around it."""
        watch = _observe.Watch(self.observers, prep.method or "", prep.url or "")
        prep._watch = watch
        watch.request_start()
        try:
            response = self._send(prep, *args)
        except BaseException as exc:
            watch.request_end(None, exc)
            raise
        finally:
            prep._watch = None
        watch.request_end(response)
        return response

    # the redirect loop --------------------------------------------------------

    def resolve_redirects(
        self,
        resp: Response,
        req: PreparedRequest,
        stream: Any = False,
        timeout: Any = None,
        verify: Any = None,
        cert: Any = None,
        proxies: Any = None,
        yield_requests: bool = False,
        **adapter_kwargs: Any,
    ) -> Iterator[Any]:
        """Follow the redirects from ``resp``, yielding each new Response (or,
        with ``yield_requests``, the first redirected PreparedRequest)."""
        history: list[Response] = []
        hop_timeouts = timeouts(timeout)
        policy = adapter_kwargs.get("_policy")
        while self.get_redirect_target(resp):
            try:
                resp.content
            except (ChunkedEncodingError, ContentDecodingError, RuntimeError):
                resp.close()
            req, hop_proxies = self._redirect_step(resp, req, history, proxies)
            if yield_requests:
                yield req
                return
            resp = self._send_hop(
                req, hop_timeouts, hop_proxies, bool(stream), verify, cert, policy
            )
            resp.history = history[:]
            hooks = req._hooks
            if hooks and hooks.get("response"):
                resp = dispatch_hook("response", hooks, resp)
            yield resp


class SessionConnection(BaseConnection):
    """``Response.connection`` of a Session response (see BaseConnection)."""

    __slots__ = ()
    _session: Session

    def send(
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
        response = session._send_hop(
            session._to_send(request), timeouts(timeout), proxies, bool(stream), verify, cert
        )
        if not stream:
            response.content
        return response


def session() -> Session:
    """Returns a new Session (deprecated in requests; kept for compatibility)."""
    return Session()
