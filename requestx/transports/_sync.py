"""HTTPTransport: httpx's sync transport on the requestx engine.

``handle_request()`` makes one exchange (httpx follows redirects, keeps the
cookies and runs the auth flow) with one call into the engine, which returns
at the end of the response headers. The response body is read as httpx asks
for it, each chunk as soon as it arrives; closing the response stops the
transfer. A request body that httpx streams (a generator, a file) is streamed
to the server chunk by chunk.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from .. import _engine
from ..policy.call import run_sync
from ._errors import connect_retry_delay, httpx_error, transport_error
from ._limits import SyncLimit
from ._options import ConfiguredTransport
from ._package import HttpxPackage, SyncTransportBase
from ._wire import incoming, outgoing, set_attempts

__all__ = ["HTTPTransport"]


class HTTPTransport(ConfiguredTransport, SyncTransportBase):
    """``httpx.Client(transport=requestx.HTTPTransport())``.

    The arguments are those of ``httpx.HTTPTransport``: ``verify`` (True,
    False, a CA bundle path or an ``ssl.SSLContext``), ``cert``,
    ``trust_env``, ``http1``, ``http2``, ``limits``, ``proxy``, ``uds``,
    ``local_address``, ``retries`` (connect failures) and ``socket_options``
    (refused: libcurl opens the sockets); requestx's keyword-only ``breaker``
    and ``http3`` (True: HTTP/3 over QUIC with fallback to TCP; "only": no
    fallback). See docs/httpx.md.
    """

    def _open(self) -> None:
        size = self._max_connections
        self._limit = SyncLimit(size) if size else None
        self._client = _engine.Client(stats=self._stats)

    def __enter__(self) -> HTTPTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections; a later request opens new ones."""
        self._client.close()

    def handle_request(self, request: Any) -> Any:
        watch = self._watch(request)
        if watch is not None:
            return self._watched(request, watch)
        attempts = self._attempts(request, _close)
        if attempts is None:
            return self._exchange(request)
        response = run_sync(attempts, _once, (self._exchange, request, None))
        set_attempts(response, attempts.count)
        return response

    def _watched(self, request: Any, watch: Any) -> Any:
        """handle_request for an observed request: its start and end told."""
        watch.request_start()
        try:
            attempts = self._attempts(request, _close, watch)
            if attempts is None:
                response = self._exchange(request, watch)
            else:
                response = run_sync(attempts, _once, (self._exchange, request, watch))
                set_attempts(response, attempts.count)
        except BaseException as exc:
            watch.request_end(None, exc)
            raise
        watch.request_end(response)
        return response

    def _exchange(self, request: Any, watch: Any = None) -> Any:
        """One request through the engine: the response at its headers."""
        attempt = None
        if watch is not None:
            attempt = watch.attempt_start(request.method, str(request.url))
            if attempt.headers:
                request.headers.update(attempt.headers)
        package, url, _, body, length, lines, connect, read, pool = outgoing(request)
        lines = self._lines_for(url, lines)
        if length is not None:
            body = (iter(request.stream), length)  # fed as libcurl takes it
        limit = self._limit
        if limit is not None and not limit.acquire(pool):
            raise transport_error(
                package, "PoolTimeout", "no connection became free in time", request
            )
        try:
            result = self._perform(package, request, url, lines, body, connect, read)
        except BaseException as exc:
            if limit is not None:
                limit.release()
            if attempt is not None:
                watch.attempt_end(attempt, error=exc, body=body)
            raise
        if attempt is not None:
            watch.attempt_end(attempt, result, body=body)
        stream = package.stream_class(ResponseStream)(result[3], request, package, limit)
        return incoming(package, request, result, stream)

    def _perform(
        self,
        package: HttpxPackage,
        request: Any,
        url: str,
        lines: tuple[bytes, ...],
        body: Any,
        connect: float,
        read: float,
    ) -> tuple[Any, ...]:
        """One exchange up to its response headers (again after a failed
        connect, up to `retries` times)."""
        attempt = 0
        while True:
            try:
                return self._client.perform(
                    request.method, url, lines, body, connect, read, 0.0, self._settings, True
                )
            except _engine.TransferError as exc:
                delay = connect_retry_delay(exc, attempt, self._retries)
                if delay is None:
                    raise httpx_error(package, exc, request, self._proxy_kind(url)) from None
            time.sleep(delay)
            attempt += 1


class ResponseStream:
    """The response body as httpx reads it: chunks as they arrive. Made a
    subclass of the request's package's SyncByteStream (HttpxPackage)."""

    httpx_base = "SyncByteStream"

    def __init__(
        self, stream: Any, request: Any, package: HttpxPackage, limit: Optional[SyncLimit]
    ) -> None:
        self._stream = stream
        self._request = request
        self._package = package
        self._limit = limit

    def __iter__(self) -> Any:
        stream = self._stream
        while stream is not None:
            try:
                chunk = stream.read()
            except _engine.TransferError as exc:
                self.close()
                raise httpx_error(self._package, exc, self._request) from None
            if not chunk:
                self.close()
                return
            yield chunk
            stream = self._stream

    def close(self) -> None:
        """Stop the transfer if it is still running (its connection is closed)."""
        stream = self._stream
        if stream is not None:
            self._stream = None
            stream.close()
            if self._limit is not None:
                self._limit.release()

    discard = close

    def __del__(self) -> None:
        if self._stream is not None:
            self.close()


def _close(response: Any) -> None:
    response.close()


def _once(exchange: Any, request: Any, watch: Any, _policy: Any, _total: float) -> Any:
    """One attempt for the retry loop (the transports take no deadline)."""
    return exchange(request, watch)
