"""Server-sent events: ``Response.iter_sse()`` and ``Response.aiter_sse()``,
and the EventSource helpers ``connect()`` / ``aconnect()``.

The parsing is done incrementally in C (``requestx/_engine/sse.h``) by the
WHATWG event-stream rules, and each event is yielded as soon as the blank line
that ends it has arrived: nothing waits for a buffer to fill.

``connect(session, "GET", url)`` asks for an event stream the way a browser's
EventSource does (``Accept: text/event-stream``, ``Cache-Control:
no-store``), checks that one came back and, with ``reconnect=True``, opens
the stream again after it drops, sending ``Last-Event-ID`` and waiting as
long as the server's last ``retry`` field asked.
"""

from __future__ import annotations

import asyncio
import json as _json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Optional

from . import _engine
from .exceptions import ChunkedEncodingError, ConnectionError, RequestException, Timeout
from .structures import _slotted_state

__all__ = [
    "ServerSentEvent",
    "SSEError",
    "EventSource",
    "AsyncEventSource",
    "connect",
    "aconnect",
    "iter_sse",
    "aiter_sse",
]


class ServerSentEvent:
    """One event: its type (``event``, "message" by default), ``data``, the
    last event ``id`` seen on the stream, and ``retry`` (milliseconds) when the
    event carried a valid one."""

    __slots__ = ("event", "data", "id", "retry")

    def __init__(
        self, event: str = "message", data: str = "", id: str = "", retry: Optional[int] = None
    ) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def __getstate__(self) -> Any:
        return _slotted_state(self)

    def json(self, **kwargs: Any) -> Any:
        """The data parsed as JSON."""
        return _json.loads(self.data, **kwargs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.event, self.data, self.id, self.retry) == (
            other.event,
            other.data,
            other.id,
            other.retry,
        )

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, "
            f"retry={self.retry!r})"
        )


def iter_sse(response: Any) -> Iterator[ServerSentEvent]:
    """The events of a (preferably stream=True) response, as they arrive."""
    parser = _engine.SSEParser()
    for chunk in response.iter_content(chunk_size=None):
        for fields in parser.feed(chunk):
            yield ServerSentEvent(*fields)


async def aiter_sse(response: Any) -> AsyncIterator[ServerSentEvent]:
    """The events of an AsyncSession response, as they arrive."""
    parser = _engine.SSEParser()
    async for chunk in response.aiter_content(None):
        for fields in parser.feed(chunk):
            yield ServerSentEvent(*fields)


class SSEError(RequestException):
    """The server did not answer with an event stream."""


# What ends a stream that reconnect=True opens again: the connection broke or
# went silent. HTTP errors and a wrong content type are not retried.
_DROPPED = (ConnectionError, ChunkedEncodingError, Timeout)


class _EventSourceState:
    """What the sync and async EventSource share: the request, the last event
    id and reconnection delay, and the checks on each response."""

    def __init__(
        self,
        session: Any,
        method: str,
        url: str,
        reconnect: bool,
        retry: float,
        max_retries: Optional[int],
        last_event_id: str,
        kwargs: dict[str, Any],
    ) -> None:
        if retry < 0:
            raise ValueError("retry must be a number of seconds, 0 or more")
        if max_retries is not None and max_retries < 0:
            raise ValueError("max_retries must be None or 0 or more")
        self.session = session
        self.method = method
        self.url = url
        self.reconnect = reconnect
        self.retry = float(retry)
        self.max_retries = max_retries
        self.last_event_id = last_event_id
        self.response: Any = None
        self.closed = False
        headers = dict(kwargs.pop("headers", None) or {})
        for name, value in (("Accept", "text/event-stream"), ("Cache-Control", "no-store")):
            if not any(k.lower() == name.lower() for k in headers):
                headers[name] = value
        kwargs["stream"] = True
        self._headers = headers
        self._kwargs = kwargs
        self._failures = 0

    def _request_kwargs(self) -> dict[str, Any]:
        headers = dict(self._headers)
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return {**self._kwargs, "headers": headers}

    def _accept(self, response: Any) -> bool:
        """Check a fresh response: False means the server said 204 (stop, as
        EventSource does); an HTTP error or another content type raises."""
        if response.status_code == 204:
            return False
        response.raise_for_status()
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip().lower() != "text/event-stream":
            raise SSEError(
                f"expected Content-Type text/event-stream, got {content_type!r}",
                response=response,
            )
        self._failures = 0
        return True

    def _parser(self) -> Any:
        return _engine.SSEParser(last_event_id=self.last_event_id)

    def _seen(self, fields: tuple[Any, ...]) -> ServerSentEvent:
        event = ServerSentEvent(*fields)
        self.last_event_id = event.id
        if event.retry is not None:
            self.retry = event.retry / 1000.0
        return event

    def _may_reconnect(self, error: Optional[BaseException]) -> bool:
        """After a drop (``error``, or None for a clean end of stream): try
        again? Raises the error once the retries are used up."""
        if not self.reconnect or self.closed:
            if error is not None:
                raise error
            return False
        self._failures += 1
        if self.max_retries is not None and self._failures > self.max_retries:
            if error is not None:
                raise error
            return False
        return True


class EventSource(_EventSourceState):
    """An event stream from a Session; iterate ``iter_sse()``. Made by
    :func:`connect`; a context manager that closes the stream on exit."""

    def _open(self) -> bool:
        """Open the stream, or retry until it opens; False: 204, stop."""
        while True:
            try:
                response = self.session.request(self.method, self.url, **self._request_kwargs())
            except _DROPPED as exc:
                if self.response is None or not self._may_reconnect(exc):
                    raise
                time.sleep(self.retry)
                continue
            self.response = response
            if not self._accept(response):
                response.close()
                return False
            return True

    def iter_sse(self) -> Iterator[ServerSentEvent]:
        """The events as they arrive, across reconnections when asked for."""
        while not self.closed:
            parser = self._parser()
            error: Optional[BaseException] = None
            try:
                for chunk in self.response.iter_content(chunk_size=None):
                    for fields in parser.feed(chunk):
                        yield self._seen(fields)
            except _DROPPED as exc:
                error = exc
            self.response.close()
            if not self._may_reconnect(error):
                return
            time.sleep(self.retry)
            if not self._open():
                return

    def close(self) -> None:
        self.closed = True
        if self.response is not None:
            self.response.close()

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncEventSource(_EventSourceState):
    """The asyncio twin of EventSource, from an AsyncSession; iterate
    ``aiter_sse()``. Made by :func:`aconnect`."""

    async def _open(self) -> bool:
        while True:
            try:
                response = await self.session.request(
                    self.method, self.url, **self._request_kwargs()
                )
            except _DROPPED as exc:
                if self.response is None or not self._may_reconnect(exc):
                    raise
                await asyncio.sleep(self.retry)
                continue
            self.response = response
            if not self._accept(response):
                await response.aclose()
                return False
            return True

    async def aiter_sse(self) -> AsyncIterator[ServerSentEvent]:
        while not self.closed:
            parser = self._parser()
            error: Optional[BaseException] = None
            try:
                async for chunk in self.response.aiter_content(None):
                    for fields in parser.feed(chunk):
                        yield self._seen(fields)
            except _DROPPED as exc:
                error = exc
            await self.response.aclose()
            if not self._may_reconnect(error):
                return
            await asyncio.sleep(self.retry)
            if not await self._open():
                return

    async def aclose(self) -> None:
        self.closed = True
        if self.response is not None:
            await self.response.aclose()

    async def __aenter__(self) -> AsyncEventSource:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def connect(
    session: Any,
    method: str,
    url: str,
    *,
    reconnect: bool = False,
    retry: float = 3.0,
    max_retries: Optional[int] = None,
    last_event_id: str = "",
    **kwargs: Any,
) -> EventSource:
    """Open an event stream: ``with requestx.sse.connect(s, "GET", url) as
    source: for event in source.iter_sse(): ...``.

    Sends ``Accept: text/event-stream`` and ``Cache-Control: no-store`` (unless
    ``headers`` has them), raises :class:`SSEError` if the answer is not an
    event stream and ``HTTPError`` for an error status; a 204 answer gives no
    events. With ``reconnect=True`` a stream that ends or breaks is opened
    again after ``retry`` seconds (updated by the server's ``retry`` field)
    with ``Last-Event-ID``; ``max_retries`` bounds the attempts in a row
    without a good response (None: no bound). Other keyword arguments go to
    ``session.request``."""
    source = EventSource(session, method, url, reconnect, retry, max_retries, last_event_id, kwargs)
    if not source._open():
        source.closed = True
    return source


class _AsyncConnect:
    """``async with aconnect(...) as source`` (or ``source = await aconnect(...)``)."""

    def __init__(self, source: AsyncEventSource) -> None:
        self._source = source

    def __await__(self) -> Any:
        return self._start().__await__()

    async def _start(self) -> AsyncEventSource:
        if not await self._source._open():
            self._source.closed = True
        return self._source

    async def __aenter__(self) -> AsyncEventSource:
        return await self._start()

    async def __aexit__(self, *exc: Any) -> None:
        await self._source.aclose()


def aconnect(
    session: Any,
    method: str,
    url: str,
    *,
    reconnect: bool = False,
    retry: float = 3.0,
    max_retries: Optional[int] = None,
    last_event_id: str = "",
    **kwargs: Any,
) -> _AsyncConnect:
    """The asyncio twin of :func:`connect`, for an AsyncSession:
    ``async with requestx.sse.aconnect(s, "GET", url) as source: async for
    event in source.aiter_sse(): ...``."""
    source = AsyncEventSource(
        session, method, url, reconnect, retry, max_retries, last_event_id, kwargs
    )
    return _AsyncConnect(source)
