"""Events of a call for observers, and the ``requestx`` logger's lines.

An observer is any object with some of these methods (each optional; see
docs/observability.md)::

    on_request_start(info: RequestInfo)
    on_request_end(info: RequestInfo, response, error)   once per call, after
                                                          retries and redirects
    on_attempt_start(attempt: AttemptInfo)     before each physical send; may
                                               add headers (attempt.headers)
    on_attempt_end(attempt: AttemptInfo, result: AttemptResult)
    on_retry(attempt: AttemptInfo, delay: float, reason: str)
    on_breaker(key: str, old: str, new: str)

Observers come from the session or transport (``observers=[...]``) and from
the process-wide list ``requestx.observers``; the session's are called
first. They run on the caller's thread (sync) or on the event loop (async):
an async attempt's end is called from the done-callback of its future, so
the completions the engine delivers in one batch reach the observers in
that same turn of the loop, before the awaiting tasks resume. An observer
that raises is logged (``requestx`` logger) and the call goes on.

A call without observers, and without the ``requestx`` logger enabled for
DEBUG, makes no Watch: the faces test one condition (``watched``) and
take their usual path.

The logger: DEBUG, one line per attempt in urllib3's manner
(``GET http://host:port/path -> 200 (123 bytes, 1.2 ms, reused)``); retries
at INFO, breaker transitions at WARNING (to open) or INFO (policy/call.py).
Lines and event URLs never carry credentials: userinfo is removed, and the
logger leaves the query string out; ``AttemptInfo.url`` keeps the query
with the values of well-known signature parameters replaced by REDACTED.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional, Protocol
from urllib.parse import urlsplit

from .._url import redact_url
from .._wire import (
    FLAG_RESENT,
    HTTP_VERSIONS,
    RESULT_BODY,
    RESULT_FLAGS,
    RESULT_HEAD,
    RESULT_STATUS,
    RESULT_TIMINGS,
    RESULT_VERSION,
    TIMING_CONNECTS,
    TIMINGS,
    timings_dict,
)
from .stats import error_type as engine_error_type

__all__ = [
    "AttemptInfo",
    "AttemptResult",
    "Observer",
    "RequestInfo",
    "Watch",
    "logger",
    "observers",
    "redact_url",
    "watched",
]

logger = logging.getLogger("requestx")

# logging.Logger's cache of isEnabledFor() answers (emptied, not replaced, when
# levels change): the faces read it, a dict lookup, before calling
# isEnabledFor(DEBUG), a Python call. Where the stdlib has no such cache, an
# empty dict makes them always call.
LEVELS: dict[int, bool] = getattr(logger, "_cache", {})
DEBUG = logging.DEBUG

# requestx.observers: observers of every call of the process.
observers: list[Any] = []

_EVENTS = (
    "on_request_start",
    "on_request_end",
    "on_attempt_start",
    "on_attempt_end",
    "on_retry",
    "on_breaker",
)


class Observer(Protocol):
    """What an observer may implement; every method is optional (an object
    with any subset of them is an observer)."""

    def on_request_start(self, info: RequestInfo) -> None: ...
    def on_request_end(self, info: RequestInfo, response: Any, error: Any) -> None: ...
    def on_attempt_start(self, attempt: AttemptInfo) -> None: ...
    def on_attempt_end(self, attempt: AttemptInfo, result: AttemptResult) -> None: ...
    def on_retry(self, attempt: AttemptInfo, delay: float, reason: str) -> None: ...
    def on_breaker(self, key: str, old: str, new: str) -> None: ...


class RequestInfo:
    """One call (``on_request_start``/``on_request_end``): ``method``,
    ``url`` (redacted, see redact_url), ``attempts`` (physical sends so far:
    retries, redirects and libcurl's stale-connection re-sends counted as
    their own), ``start`` (time.monotonic()), ``duration`` (seconds, at the
    end) and ``context``, a dict observers may keep their own state in."""

    __slots__ = ("method", "url", "attempts", "start", "duration", "context")

    def __init__(self, method: str, url: str) -> None:
        self.method = method
        self.url = url_parts(url)[0]
        self.attempts = 0
        self.start = time.monotonic()
        self.duration = 0.0
        self.context: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<RequestInfo {self.method} {self.url} attempts={self.attempts}>"


# URLs already redacted and split, by the URL sent: (redacted, scheme, host,
# port). Most programs send to few URLs; emptied when full.
_URL_PARTS: dict[str, tuple[str, str, str, int]] = {}
_URL_PARTS_MAX = 512


def url_parts(url: str) -> tuple[str, str, str, int]:
    """(redacted URL, scheme, host, port) of a URL being sent."""
    parts = _URL_PARTS.get(url)
    if parts is None:
        redacted = redact_url(url)
        split = urlsplit(redacted)
        try:
            port = split.port
        except ValueError:
            port = None
        parts = (
            redacted,
            split.scheme,
            split.hostname or "",
            port or (443 if split.scheme == "https" else 80),
        )
        if len(_URL_PARTS) >= _URL_PARTS_MAX:
            _URL_PARTS.clear()
        _URL_PARTS[url] = parts
    return parts


class AttemptInfo:
    """One physical send: ``request`` (the RequestInfo), ``method``, ``url``
    (redacted), ``scheme``, ``host``, ``port``, ``attempt`` (0 for the first
    send of the call, then 1, 2...: OpenTelemetry's http.request.resend_count),
    ``headers`` (a dict: fields an observer adds to this send, such as
    ``traceparent``), ``start`` (time.monotonic()) and ``context`` (the
    observers' own dict for this attempt)."""

    __slots__ = (
        "request",
        "method",
        "url",
        "scheme",
        "host",
        "port",
        "attempt",
        "headers",
        "start",
        "context",
        "_ended",
    )

    def __init__(self, request: RequestInfo, method: str, url: str, attempt: int) -> None:
        self.request = request
        self.method = method
        self.url, self.scheme, self.host, self.port = url_parts(url)
        self.attempt = attempt
        self.headers: dict[str, str] = {}
        self.start = time.monotonic()
        self.context: dict[str, Any] = {}
        self._ended = False

    def __repr__(self) -> str:
        return f"<AttemptInfo {self.method} {self.url} attempt={self.attempt}>"


class AttemptResult:
    """How an attempt ended: ``status`` (None without a response),
    ``error`` (the exception, or None), ``error_type`` (the exception's, or
    None), ``timings`` (as Response.timings; {} without a response),
    ``reused`` (the connection was), ``http_version`` ("HTTP/1.1"...),
    ``bytes_in`` (response header block and body bytes received; a stream's
    body is not counted), ``bytes_out`` (the request body's size, -1 when
    streamed without a length) and ``duration`` (seconds since the attempt
    started, by time.monotonic())."""

    __slots__ = (
        "status",
        "error",
        "error_type",
        "_packed",
        "_timings",
        "http_version",
        "bytes_in",
        "bytes_out",
        "duration",
    )

    def __init__(
        self,
        status: Optional[int],
        error: Optional[BaseException],
        packed: Optional[bytes],
        http_version: Optional[str],
        bytes_in: int,
        bytes_out: int,
        duration: float,
    ) -> None:
        self.status = status
        self.error = error
        self._packed = packed  # the engine's timings, unpacked when read
        self._timings: Optional[dict[str, Any]] = None
        self.error_type: Optional[str] = None
        if error is not None:
            kind = getattr(error, "error_type", None)
            code = getattr(error, "curl_code", None)
            if kind is None and code is not None:  # an httpx exception of the transports
                kind = engine_error_type(code, getattr(error, "phase", 0))
            self.error_type = kind or type(error).__name__
        self.http_version = http_version
        self.bytes_in = bytes_in
        self.bytes_out = bytes_out
        self.duration = duration

    @property
    def timings(self) -> dict[str, Any]:
        """As Response.timings (attempts: 1); {} without a response."""
        if self._timings is None:
            self._timings = {} if self._packed is None else timings_dict(self._packed)
        return self._timings

    @property
    def reused(self) -> bool:
        """The attempt's connection was reused (False without a response)."""
        packed = self._packed
        return packed is not None and TIMINGS.unpack_from(packed)[TIMING_CONNECTS] == 0

    def __repr__(self) -> str:
        what = self.status if self.error is None else self.error_type
        return f"<AttemptResult {what}>"


# Per tuple of observers: the bound handlers of each event (observers keep
# their methods, so a list that does not change is looked at once).
_HANDLERS: dict[tuple[int, ...], tuple[Any, dict[str, tuple[Callable[..., Any], ...]]]] = {}


def _handlers(chosen: tuple[Any, ...]) -> dict[str, tuple[Callable[..., Any], ...]]:
    key = tuple(map(id, chosen))
    entry = _HANDLERS.get(key)
    if entry is not None and entry[0] == chosen:
        return entry[1]
    table = {
        name: tuple(h for h in (getattr(o, name, None) for o in chosen) if callable(h))
        for name in _EVENTS
    }
    if len(_HANDLERS) >= 64:
        _HANDLERS.clear()
    _HANDLERS[key] = (chosen, table)
    return table


def _call(handlers: tuple[Callable[..., Any], ...], *args: Any) -> None:
    for handler in handlers:
        try:
            handler(*args)
        except Exception:
            logger.exception("requestx observer %r failed", handler)


def _body_size(body: Any) -> int:
    if body is None:
        return 0
    if isinstance(body, (bytes, bytearray, memoryview, str)):
        return len(body)
    if isinstance(body, tuple):  # (stream, length)
        return int(body[1])
    if isinstance(body, int):  # an announced streamed length
        return body
    return -1


def watched(own: Any) -> bool:
    """Whether a call is observed: by the session's or transport's own
    observers, the process's, or the DEBUG logger. The faces test the same
    condition inline (a call nobody observes pays for no function call)."""
    return bool(own or observers or (LEVELS.get(DEBUG) is not False and logger.isEnabledFor(DEBUG)))


class Watch:
    """The events of one call: the faces call request_start/request_end
    around it and attempt_start/attempt_end around each send; the retry
    loop (policy.call.Attempts) calls retry() and breaker()."""

    __slots__ = ("info", "last", "_on", "_log")

    def __init__(self, own: Any, method: str, url: str) -> None:
        chosen = (*own, *observers) if own else tuple(observers)
        self._on = _handlers(chosen)
        self._log = logger.isEnabledFor(logging.DEBUG)
        self.info = RequestInfo(method, url)
        self.last: Optional[AttemptInfo] = None

    def request_start(self) -> None:
        if self._on["on_request_start"]:
            _call(self._on["on_request_start"], self.info)

    def request_end(self, response: Any, error: Optional[BaseException] = None) -> None:
        last = self.last
        if error is not None and last is not None and not last._ended:
            # the send failed before the engine had it (a bad proxy URL, a
            # missing CA file, a pool timeout...): its attempt ends with the call
            self.attempt_end(last, error=error)
        self.info.duration = time.monotonic() - self.info.start
        if self._on["on_request_end"]:
            _call(self._on["on_request_end"], self.info, response, error)

    def attempt_start(self, method: str, url: str) -> AttemptInfo:
        """A send begins; the caller adds ``attempt.headers`` to the request."""
        attempt = AttemptInfo(self.info, method, url, self.info.attempts)
        self.info.attempts += 1
        self.last = attempt
        if self._on["on_attempt_start"]:
            _call(self._on["on_attempt_start"], attempt)
        return attempt

    def attempt_end(
        self,
        attempt: AttemptInfo,
        result: Optional[tuple[Any, ...]] = None,
        error: Optional[BaseException] = None,
        body: Any = None,
        resent: bool = False,
    ) -> None:
        """A send ended with the engine's ``result`` tuple or ``error``
        (``body``: what was sent, for bytes_out); told once per attempt."""
        if attempt._ended:
            return
        attempt._ended = True
        duration = time.monotonic() - attempt.start
        if result is not None:
            payload = result[RESULT_BODY]
            received = len(result[RESULT_HEAD])
            if type(payload) is bytes:
                received += len(payload)
            outcome = AttemptResult(
                result[RESULT_STATUS],
                None,
                result[RESULT_TIMINGS],
                HTTP_VERSIONS.get(result[RESULT_VERSION], "HTTP/1.1"),
                received,
                _body_size(body),
                duration,
            )
            if result[RESULT_FLAGS] & FLAG_RESENT:  # libcurl's own re-send: a send more
                self.info.attempts += 1
        else:
            outcome = AttemptResult(None, error, None, None, 0, _body_size(body), duration)
        if self._on["on_attempt_end"]:
            _call(self._on["on_attempt_end"], attempt, outcome)
        if self._log:
            _log_attempt(attempt, outcome)

    def retry(self, delay: float, reason: str) -> None:
        """The retry loop waits ``delay`` seconds before sending again."""
        if self._on["on_retry"]:
            _call(self._on["on_retry"], self.last, delay, reason)

    def breaker(self, key: str, old: str, new: str) -> None:
        if self._on["on_breaker"]:
            _call(self._on["on_breaker"], key, old, new)


def _log_attempt(attempt: AttemptInfo, result: AttemptResult) -> None:
    url = redact_url(attempt.url, query=False)
    ms = result.duration * 1000
    if result.error is not None:
        logger.debug(
            "%s %s -> %s (%.1f ms, attempt %d)",
            attempt.method,
            url,
            result.error_type,
            ms,
            attempt.attempt + 1,
        )
        return
    logger.debug(
        "%s %s -> %s (%d bytes, %.1f ms, %s)",
        attempt.method,
        url,
        result.status,
        result.bytes_in,
        ms,
        "reused" if result.reused else "new connection",
    )
