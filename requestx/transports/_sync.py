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
from typing import TYPE_CHECKING, Any, Optional

from .. import _engine
from ._errors import CONNECT_RETRY_CODES, httpx_error, transport_error
from ._limits import SyncLimit
from ._options import transport_options
from ._package import HttpxPackage, package_of
from ._wire import HTTP_VERSIONS, engine_url, header_lines, response_head

__all__ = ["HTTPTransport"]

_FLAG_LENGTH_CONFLICT = 2  # RX_FLAG_LENGTH_CONFLICT in requestx/_engine/transfer.h
_RETRY_BACKOFF = 0.5  # seconds; httpcore's connect retries wait 0, 0.5, 1, 2, ...

# At run time the transports derive from neither package's BaseTransport:
# httpx's Client only calls the transport protocol (handle_request, close, the
# context manager), and SDKs built on httpx2 refuse objects whose classes come
# from httpx (anthropic's DefaultHttpxClient walks the MRO). Type checkers see
# a subclass of both.
if TYPE_CHECKING:
    import httpx
    import httpx2

    class _TransportBase(httpx.BaseTransport, httpx2.BaseTransport):
        pass

else:
    _TransportBase = object


class HTTPTransport(_TransportBase):
    """``httpx.Client(transport=requestx.HTTPTransport())``.

    The arguments are those of ``httpx.HTTPTransport``: ``verify`` (True,
    False, a CA bundle path or an ``ssl.SSLContext``), ``cert``,
    ``trust_env``, ``http1``, ``http2``, ``limits``, ``proxy``, ``uds``,
    ``local_address``, ``retries`` (connect failures) and ``socket_options``
    (refused: libcurl opens the sockets). See docs/httpx.md.
    """

    def __init__(
        self,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Any = None,
        proxy: Any = None,
        uds: Optional[str] = None,
        local_address: Optional[str] = None,
        retries: int = 0,
        socket_options: Any = None,
    ) -> None:
        options = transport_options(
            verify, cert, trust_env, http1, http2, limits, proxy, uds, local_address,
            retries, socket_options,
        )  # fmt: skip
        self._settings = options.settings
        self._proxy = options.proxy_url
        self._retries = options.retries
        self._limit = SyncLimit(options.max_connections) if options.max_connections else None
        self._client = _engine.Client()

    def __enter__(self) -> HTTPTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections; a later request opens new ones."""
        self._client.close()

    def handle_request(self, request: Any) -> Any:
        package = package_of(request)
        url, _ = engine_url(package, request)
        body = _request_body(package, request)
        lines = header_lines(package, request, request.headers.raw, body is not None)
        connect, read, pool = _timeouts(request.extensions.get("timeout"))
        limit = self._limit
        if limit is not None and not limit.acquire(pool):
            raise transport_error(
                package, "PoolTimeout", "no connection became free in time", request
            )
        try:
            result = self._perform(package, request, url, lines, body, connect, read)
        except BaseException:
            if limit is not None:
                limit.release()
            raise
        status, version, raw_head, stream, _, flags = result
        reason, headers = response_head(raw_head)
        body_stream = package.stream_class(ResponseStream)(stream, request, package, limit)
        if flags & _FLAG_LENGTH_CONFLICT:
            body_stream.close()
            raise transport_error(
                package, "RemoteProtocolError", "conflicting Content-Length headers", request
            )
        extensions = {"http_version": HTTP_VERSIONS.get(version, b"HTTP/1.1")}
        if version < 20:
            extensions["reason_phrase"] = reason
        return package.Response(status, headers=headers, stream=body_stream, extensions=extensions)

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
        retries = self._retries
        attempt = 0
        while True:
            try:
                return self._client.perform(  # type: ignore[no-any-return]
                    request.method, url, lines, body, connect, read, self._settings, True
                )
            except _engine.TransferError as exc:
                code, _, phase = exc.args
                if attempt < retries and phase == 0 and code in CONNECT_RETRY_CODES:
                    time.sleep(_RETRY_BACKOFF * (2 ** (attempt - 1)) if attempt else 0)
                    attempt += 1
                    continue
                raise httpx_error(package, exc, request, self._proxy_kind(url)) from None

    def _proxy_kind(self, url: str) -> Optional[str]:
        if not self._proxy:
            return None
        forward = url.startswith("http:") and self._proxy.startswith(("http:", "https:"))
        return "forward" if forward else "tunnel"


def _request_body(package: HttpxPackage, request: Any) -> Any:
    """bytes, None, or (iterator of bytes, length or -1) for a streamed body."""
    try:
        content = request.content
    except package.RequestNotRead:  # a streamed body
        length = request.headers.get("Content-Length")
        return (iter(request.stream), int(length) if length else -1)
    return content or None


def _timeouts(timeout: Any) -> tuple[float, float, Optional[float]]:
    """(connect, read, pool) from httpx's timeout extension; 0: no limit."""
    if not timeout:
        return 0.0, 0.0, None
    connect = timeout.get("connect")
    read = timeout.get("read")
    return connect or 0.0, read or 0.0, timeout.get("pool")


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
        stream = self._stream
        if stream is not None:
            self._stream = None
            stream.close()
            if self._limit is not None:
                self._limit.release()

    def __del__(self) -> None:
        if self._stream is not None:
            self.close()
