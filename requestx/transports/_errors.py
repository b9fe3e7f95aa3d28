"""The one boundary where engine failures become httpx exceptions.

The engine raises ``TransferError(curl_code, message, phase)``; the phase says
how far the exchange got (connecting, sending the request and waiting for
the response, reading the body). :func:`httpx_error` maps it through
``_CURL_ERRORS`` to the most specific exception of the request's own package
(httpx or httpx2), the one httpx's transport would raise::

    TransportError
    ├── TimeoutException
    │   ├── ConnectTimeout      timed out connecting (TCP, TLS, proxy tunnel)
    │   ├── ReadTimeout         no byte of the response for `read` seconds
    │   └── PoolTimeout         no free connection within `pool` seconds
    ├── NetworkError
    │   ├── ConnectError        refused, unresolvable, TLS handshake or certificate
    │   ├── ReadError           the connection broke while receiving
    │   └── WriteError          the connection broke while sending
    ├── ProtocolError
    │   ├── LocalProtocolError  a request that cannot be sent as given
    │   └── RemoteProtocolError a malformed or incomplete response
    ├── ProxyError              the proxy could not be reached or refused the tunnel
    └── UnsupportedProtocol     a URL scheme other than http or https
"""

from __future__ import annotations

from typing import Any, Optional

from .._engine import (  # libcurl's CURLcode values (curl/curl.h), named by the engine
    CURLE_ABORTED_BY_CALLBACK,
    CURLE_BAD_CONTENT_ENCODING,
    CURLE_COULDNT_CONNECT,
    CURLE_COULDNT_RESOLVE_HOST,
    CURLE_COULDNT_RESOLVE_PROXY,
    CURLE_GOT_NOTHING,
    CURLE_HTTP2,
    CURLE_HTTP2_STREAM,
    CURLE_HTTP3,
    CURLE_OPERATION_TIMEDOUT,
    CURLE_PARTIAL_FILE,
    CURLE_PROXY,
    CURLE_QUIC_CONNECT_ERROR,
    CURLE_RECV_ERROR,
    CURLE_SEND_ERROR,
    CURLE_TOO_LARGE,
    CURLE_UNSUPPORTED_PROTOCOL,
    CURLE_URL_MALFORMAT,
    CURLE_WEIRD_SERVER_REPLY,
    CURLE_WRITE_ERROR,
    PHASE_CONNECT,
)
from ..exceptions import proxy_failed
from ._package import HttpxPackage

__all__ = ["httpx_error", "transport_error", "connect_retry_delay"]

# CURLcode -> exception name; a tuple is indexed by the phase the transfer
# had reached (connect, request sent / waiting, body). Codes not listed are
# failures to connect before a connection exists, to read after.
_CURL_ERRORS: dict[int, Any] = {
    # schemes are checked before the engine sees a URL: code 1 then means a
    # response libcurl cannot parse as HTTP (an HTTP/0.9 reply, garbage)
    CURLE_UNSUPPORTED_PROTOCOL: "RemoteProtocolError",
    CURLE_URL_MALFORMAT: "ConnectError",  # a URL httpx accepts and libcurl not (port > 65535)
    CURLE_COULDNT_RESOLVE_PROXY: "ProxyError",
    CURLE_COULDNT_RESOLVE_HOST: "ConnectError",
    CURLE_COULDNT_CONNECT: "ConnectError",
    CURLE_WEIRD_SERVER_REPLY: "RemoteProtocolError",  # a status line that is not HTTP
    CURLE_HTTP2: ("ConnectError", "RemoteProtocolError", "RemoteProtocolError"),
    CURLE_HTTP2_STREAM: "RemoteProtocolError",
    CURLE_HTTP3: ("ConnectError", "RemoteProtocolError", "RemoteProtocolError"),
    CURLE_QUIC_CONNECT_ERROR: "ConnectError",
    # the connection closed before the announced length or the last chunk
    CURLE_PARTIAL_FILE: "RemoteProtocolError",
    CURLE_WRITE_ERROR: "ReadError",
    CURLE_OPERATION_TIMEDOUT: ("ConnectTimeout", "ReadTimeout", "ReadTimeout"),
    # a streamed request body that ended before its Content-Length
    CURLE_ABORTED_BY_CALLBACK: "LocalProtocolError",
    # closed without a response ("Server disconnected without sending a response.")
    CURLE_GOT_NOTHING: "RemoteProtocolError",
    CURLE_SEND_ERROR: ("ConnectError", "WriteError", "WriteError"),
    CURLE_RECV_ERROR: ("ConnectError", "ReadError", "ReadError"),
    CURLE_BAD_CONTENT_ENCODING: "DecodingError",
    CURLE_PROXY: "ProxyError",
    CURLE_TOO_LARGE: "RemoteProtocolError",  # a header block over libcurl's limit
}
_DEFAULT = ("ConnectError", "ReadError", "ReadError")

# Connect-phase failures that `retries=` retries (nothing was sent yet), and
# how long to wait first: 0, 0.5, 1, 2, ... seconds, as httpcore does.
_CONNECT_RETRY_CODES = frozenset(
    {
        CURLE_COULDNT_RESOLVE_HOST,
        CURLE_COULDNT_CONNECT,
        CURLE_QUIC_CONNECT_ERROR,
        CURLE_OPERATION_TIMEDOUT,
    }
)
_RETRY_BACKOFF = 0.5


def connect_retry_delay(error: BaseException, attempt: int, retries: int) -> Optional[float]:
    """Seconds to wait before retrying after the engine's ``error`` on the
    ``attempt``-th retry (0 first), or None when it is not to be retried."""
    code, _, phase = error.args
    if attempt >= retries or phase != PHASE_CONNECT or code not in _CONNECT_RETRY_CODES:
        return None
    return _RETRY_BACKOFF * 2 ** (attempt - 1) if attempt else 0.0


def httpx_error(
    package: HttpxPackage, error: BaseException, request: Any, proxy: Optional[str] = None
) -> Exception:
    """The httpx exception for the engine's ``TransferError(code, message, phase)``.

    ``proxy`` says how the request used a proxy: None, "forward" (an http URL
    sent to an HTTP proxy, which answers for the origin) or "tunnel"."""
    code, message, phase = error.args
    if proxy_failed(code, phase, proxy):
        name = "ProxyError"
    else:
        name = _CURL_ERRORS.get(code, _DEFAULT)
        if isinstance(name, tuple):
            name = name[phase]
    exc: Exception = package.exception(name)(f"{message} (curl error {code})", request=request)
    # what the retry loop and the breaker classify by (policy/call.py)
    exc.curl_code = code  # type: ignore[attr-defined]
    exc.phase = phase  # type: ignore[attr-defined]
    return exc


def transport_error(package: HttpxPackage, name: str, message: str, request: Any) -> Exception:
    """An httpx exception the transport raises itself (bad URL, pool timeout, ...)."""
    exc: Exception = package.exception(name)(message, request=request)
    return exc
