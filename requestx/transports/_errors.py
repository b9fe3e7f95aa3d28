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

from ..exceptions import (  # libcurl's CURLcode values, named once for both faces
    _ABORTED_BY_CALLBACK,
    _BAD_CONTENT_ENCODING,
    _COULDNT_CONNECT,
    _COULDNT_RESOLVE_HOST,
    _COULDNT_RESOLVE_PROXY,
    _GOT_NOTHING,
    _HTTP2,
    _HTTP2_STREAM,
    _OPERATION_TIMEDOUT,
    _PARTIAL_FILE,
    _PROXY,
    _RECV_ERROR,
    _SEND_ERROR,
    _UNSUPPORTED_PROTOCOL,
    _URL_MALFORMAT,
    _WRITE_ERROR,
    PHASE_CONNECT,
    proxy_failed,
)
from ._package import HttpxPackage

__all__ = ["httpx_error", "transport_error", "connect_retry_delay"]

_WEIRD_SERVER_REPLY = 8  # a status line that is not HTTP

# CURLcode -> exception name; a tuple is indexed by the phase the transfer
# had reached (connect, request sent / waiting, body). Codes not listed are
# failures to connect before a connection exists, to read after.
_CURL_ERRORS: dict[int, Any] = {
    # schemes are checked before the engine sees a URL: code 1 then means a
    # response libcurl cannot parse as HTTP (an HTTP/0.9 reply, garbage)
    _UNSUPPORTED_PROTOCOL: "RemoteProtocolError",
    _URL_MALFORMAT: "ConnectError",  # a URL httpx accepts and libcurl not (port > 65535)
    _COULDNT_RESOLVE_PROXY: "ProxyError",
    _COULDNT_RESOLVE_HOST: "ConnectError",
    _COULDNT_CONNECT: "ConnectError",
    _WEIRD_SERVER_REPLY: "RemoteProtocolError",
    _HTTP2: ("ConnectError", "RemoteProtocolError", "RemoteProtocolError"),
    _HTTP2_STREAM: "RemoteProtocolError",
    # the connection closed before the announced length or the last chunk
    _PARTIAL_FILE: "RemoteProtocolError",
    _WRITE_ERROR: "ReadError",
    _OPERATION_TIMEDOUT: ("ConnectTimeout", "ReadTimeout", "ReadTimeout"),
    # a streamed request body that ended before its Content-Length
    _ABORTED_BY_CALLBACK: "LocalProtocolError",
    # closed without a response ("Server disconnected without sending a response.")
    _GOT_NOTHING: "RemoteProtocolError",
    _SEND_ERROR: ("ConnectError", "WriteError", "WriteError"),
    _RECV_ERROR: ("ConnectError", "ReadError", "ReadError"),
    _BAD_CONTENT_ENCODING: "DecodingError",
    _PROXY: "ProxyError",
}
_DEFAULT = ("ConnectError", "ReadError", "ReadError")

# Connect-phase failures that `retries=` retries (nothing was sent yet), and
# how long to wait first: 0, 0.5, 1, 2, ... seconds, as httpcore does.
_CONNECT_RETRY_CODES = frozenset({_COULDNT_RESOLVE_HOST, _COULDNT_CONNECT, _OPERATION_TIMEDOUT})
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
    return exc


def transport_error(package: HttpxPackage, name: str, message: str, request: Any) -> Exception:
    """An httpx exception the transport raises itself (bad URL, pool timeout, ...)."""
    exc: Exception = package.exception(name)(message, request=request)
    return exc
