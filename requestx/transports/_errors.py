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

from ..exceptions import PHASE_CONNECT, PHASE_WAIT
from ._package import HttpxPackage

__all__ = ["httpx_error", "transport_error", "CONNECT_RETRY_CODES"]

# libcurl's CURLcode values (curl/curl.h) with a mapping of their own.
_UNSUPPORTED_PROTOCOL = 1
_URL_MALFORMAT = 3
_COULDNT_RESOLVE_PROXY = 5
_COULDNT_RESOLVE_HOST = 6
_COULDNT_CONNECT = 7
_WEIRD_SERVER_REPLY = 8
_HTTP2 = 16
_PARTIAL_FILE = 18
_WRITE_ERROR = 23
_OPERATION_TIMEDOUT = 28
_ABORTED_BY_CALLBACK = 42
_GOT_NOTHING = 52
_SEND_ERROR = 55
_RECV_ERROR = 56
_BAD_CONTENT_ENCODING = 61
_HTTP2_STREAM = 92
_PROXY = 97

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

# Before a connection exists, these mean the proxy (not the origin) failed.
_PROXY_CONNECT_CODES = frozenset(
    {_COULDNT_CONNECT, _COULDNT_RESOLVE_HOST, _GOT_NOTHING, _RECV_ERROR, _SEND_ERROR}
)
# An HTTP proxy forwarding a plain-http request that drops it before answering.
_PROXY_DROP_CODES = frozenset({_GOT_NOTHING, _RECV_ERROR, _SEND_ERROR})

# Connect-phase failures that `retries=` retries (nothing was sent yet).
CONNECT_RETRY_CODES = frozenset({_COULDNT_RESOLVE_HOST, _COULDNT_CONNECT, _OPERATION_TIMEDOUT})


def httpx_error(
    package: HttpxPackage, error: BaseException, request: Any, proxy: Optional[str] = None
) -> Exception:
    """The httpx exception for the engine's ``TransferError(code, message, phase)``.

    ``proxy`` says how the request used a proxy: None, "forward" (an http URL
    sent to an HTTP proxy, which answers for the origin) or "tunnel"."""
    code, message, phase = error.args
    if proxy and (
        (phase == PHASE_CONNECT and code in _PROXY_CONNECT_CODES)
        or (proxy == "forward" and phase == PHASE_WAIT and code in _PROXY_DROP_CODES)
    ):
        name = "ProxyError"
    else:
        name = _CURL_ERRORS.get(code, _DEFAULT)
        if isinstance(name, tuple):
            name = name[phase]
    return package.exception(name)(f"{message} (curl error {code})", request=request)


def transport_error(package: HttpxPackage, name: str, message: str, request: Any) -> Exception:
    """An httpx exception the transport raises itself (bad URL, pool timeout, ...)."""
    return package.exception(name)(message, request=request)
