"""requests' exception tree, and the one table that maps engine errors onto it.

    IOError
    └── RequestException
        ├── InvalidJSONError
        │   └── JSONDecodeError (also json.JSONDecodeError)
        ├── HTTPError
        ├── ConnectionError
        │   ├── ProxyError
        │   ├── SSLError
        │   ├── CircuitOpenError   the origin's circuit breaker is open (nothing sent)
        │   └── ConnectTimeout (also Timeout)
        ├── Timeout
        │   └── ReadTimeout
        │       └── BodyReadTimeout (also ConnectionError)
        ├── URLRequired
        ├── TooManyRedirects
        ├── MissingSchema (also ValueError)
        ├── InvalidSchema (also ValueError)
        ├── InvalidURL (also ValueError)
        │   └── InvalidProxyURL
        ├── InvalidHeader (also ValueError)
        ├── ChunkedEncodingError
        ├── ContentDecodingError (also BaseHTTPError)
        ├── StreamConsumedError (also TypeError)
        ├── RetryError
        ├── UnrewindableBodyError
        ├── WebSocketError       a refused WebSocket handshake (status, headers)
        └── WebSocketClosed      the WebSocket is closed (code, reason)

Engine failures (``requestx._engine.TransferError``) become these exceptions
in exactly one place: :func:`from_transfer_error`.

Every exception carries ``error_type``, one of ERROR_TYPES: what went wrong,
in words that retries, circuit breakers and metrics use (the engine's
failures by CURLcode and phase, never by message text):

    name_resolution_error    the host name did not resolve
    connection_error         no connection, or it broke before the request was sent
    connect_timeout          the connect timeout ran out
    secure_connection_error  the TLS handshake failed, certificates included
    proxy_error              the proxy could not be reached or refused
    read_timeout             the read timeout ran out (headers or body)
    response_ended           the connection ended before the whole response arrived
    http_protocol_error      a response requestx cannot read (bad framing, HTTP/0.9, ...)
    content_decoding_error   a body that does not decode as its Content-Encoding says
    too_many_redirects       more redirects than max_redirects
    circuit_open             the origin's circuit breaker refused the call
    deadline_exceeded        Timeout(total=...) ran out
    invalid_request          refused before sending (URL, header, body)
    other                    anything else
"""

from __future__ import annotations

from json import JSONDecodeError as _StdJSONDecodeError
from typing import Any, Optional, Union

from ._engine import (  # libcurl's CURLcode values (curl/curl.h) and the engine's phases
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
    CURLE_PEER_FAILED_VERIFICATION,
    CURLE_PROXY,
    CURLE_QUIC_CONNECT_ERROR,
    CURLE_RECV_ERROR,
    CURLE_SEND_ERROR,
    CURLE_SSL_CACERT_BADFILE,
    CURLE_SSL_CERTPROBLEM,
    CURLE_SSL_CIPHER,
    CURLE_SSL_CLIENTCERT,
    CURLE_SSL_CONNECT_ERROR,
    CURLE_SSL_CRL_BADFILE,
    CURLE_SSL_ENGINE_NOTFOUND,
    CURLE_SSL_ISSUER_ERROR,
    CURLE_SSL_SHUTDOWN_FAILED,
    CURLE_TOO_LARGE,
    CURLE_TOO_MANY_REDIRECTS,
    CURLE_UNSUPPORTED_PROTOCOL,
    CURLE_URL_MALFORMAT,
    CURLE_WEIRD_SERVER_REPLY,
    PHASE_CONNECT,
    PHASE_WAIT,
)
from ._timeout import TimeoutSetting

__all__ = [
    "RequestException",
    "InvalidJSONError",
    "JSONDecodeError",
    "HTTPError",
    "ConnectionError",
    "ProxyError",
    "SSLError",
    "Timeout",
    "ConnectTimeout",
    "ReadTimeout",
    "BodyReadTimeout",
    "URLRequired",
    "TooManyRedirects",
    "MissingSchema",
    "InvalidSchema",
    "InvalidURL",
    "InvalidHeader",
    "InvalidProxyURL",
    "ChunkedEncodingError",
    "ContentDecodingError",
    "StreamConsumedError",
    "RetryError",
    "CircuitOpenError",
    "DeadlineExceeded",
    "ERROR_TYPES",
    "UnrewindableBodyError",
    "BaseHTTPError",
    "RequestsWarning",
    "FileModeWarning",
    "RequestsDependencyWarning",
    "WebSocketError",
    "WebSocketClosed",
]


_SETTING_KEYWORDS = frozenset({"connect", "read", "total"})


class RequestException(IOError):
    """There was an ambiguous exception that occurred while handling your request."""

    curl_code: int  # set on the exceptions from_transfer_error() makes
    phase: int  # likewise: how far the exchange got (PHASE_*)
    error_type: str = "other"  # one of ERROR_TYPES; engine failures set their own

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        response = kwargs.pop("response", None)
        self.response = response
        self.request = kwargs.pop("request", None)
        if response is not None and not self.request and hasattr(response, "request"):
            self.request = self.response.request
        super().__init__(*args, **kwargs)


class InvalidJSONError(RequestException):
    """A JSON error occurred."""


class JSONDecodeError(InvalidJSONError, _StdJSONDecodeError):
    """Couldn't decode the text into json."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _StdJSONDecodeError.__init__(self, *args)
        InvalidJSONError.__init__(self, *self.args, **kwargs)

    def __reduce__(self) -> Union[str, tuple[Any, ...]]:
        return _StdJSONDecodeError.__reduce__(self)


class HTTPError(RequestException):
    """An HTTP error occurred."""


class ConnectionError(RequestException):  # noqa: A001 - requests' name
    """A Connection error occurred."""

    error_type = "connection_error"


class ProxyError(ConnectionError):
    """A proxy error occurred."""

    error_type = "proxy_error"


class SSLError(ConnectionError):
    """An SSL error occurred."""

    error_type = "secure_connection_error"


class Timeout(RequestException):
    """The request timed out."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # requestx.Timeout(connect=, read=, total=) is the timeout setting
        # (requestx/_timeout.py); with anything else, this exception
        if cls is Timeout and not args and kwargs and kwargs.keys() <= _SETTING_KEYWORDS:
            return TimeoutSetting(**kwargs)
        return super().__new__(cls, *args)


class ConnectTimeout(ConnectionError, Timeout):
    """The request timed out while trying to connect to the remote server."""

    error_type = "connect_timeout"


class ReadTimeout(Timeout):
    """The server did not send any data in the allotted amount of time."""

    error_type = "read_timeout"


class BodyReadTimeout(ReadTimeout, ConnectionError):
    """The body stopped arriving for longer than the read timeout. requests
    reports this case as a ConnectionError, so it is both."""


class URLRequired(RequestException):
    """A valid URL is required to make a request."""


class TooManyRedirects(RequestException):
    """Too many redirects."""

    error_type = "too_many_redirects"


class MissingSchema(RequestException, ValueError):
    """The URL scheme (e.g. http or https) is missing."""

    error_type = "invalid_request"


class InvalidSchema(RequestException, ValueError):
    """The URL scheme provided is either invalid or unsupported."""

    error_type = "invalid_request"


class InvalidURL(RequestException, ValueError):
    """The URL provided was somehow invalid."""

    error_type = "invalid_request"


class InvalidHeader(RequestException, ValueError):
    """The header value provided was somehow invalid."""

    error_type = "invalid_request"


class InvalidProxyURL(InvalidURL):
    """The proxy URL provided is invalid."""


class ChunkedEncodingError(RequestException):
    """The server declared chunked encoding but sent an invalid chunk, or the
    body ended before its declared length."""

    error_type = "response_ended"


class BaseHTTPError(Exception):
    """Stands in for urllib3's HTTPError, which ContentDecodingError also derives from."""


class ContentDecodingError(RequestException, BaseHTTPError):
    """Failed to decode response content."""

    error_type = "content_decoding_error"


class StreamConsumedError(RequestException, TypeError):
    """The content for this response was already consumed."""


class CircuitOpenError(ConnectionError):
    """The circuit breaker of the request's origin is open (or its half-open
    probes are all taken): the call failed at once, without touching the
    network. ``key`` names the circuit (scheme://host:port), ``retry_after``
    says in how many seconds it lets a probe through, ``state`` is "open" or
    "half_open"."""

    error_type = "circuit_open"

    def __init__(
        self,
        *args: Any,
        key: Optional[str] = None,
        retry_after: Optional[float] = None,
        state: str = "open",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.key = key
        self.retry_after = retry_after
        self.state = state


class DeadlineExceeded(Timeout):
    """``Timeout(total=...)`` ran out: the whole call (every attempt, redirect
    and backoff sleep) took longer than allowed."""

    error_type = "deadline_exceeded"


class RetryError(RequestException):
    """Custom retries logic failed."""


class UnrewindableBodyError(RequestException):
    """Requests encountered an error when trying to rewind a body."""

    error_type = "invalid_request"


class WebSocketError(RequestException):
    """The server refused the WebSocket handshake: ``status`` is its response's
    status code (0 when there was none), ``headers`` its header fields."""

    def __init__(self, *args: Any, status: int = 0, headers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status = status
        self.headers = headers if headers is not None else {}


class WebSocketClosed(RequestException):
    """The WebSocket is closed. ``code``: the close frame's status code (1000
    a normal close, 1005 a close frame without one, 1006 a connection that
    ended without any close frame, 1009 a message over max_size, 1011 a
    keepalive ping that went unanswered); ``reason``: its text."""

    def __init__(self, code: int = 1006, reason: str = "", **kwargs: Any) -> None:
        super().__init__(f"WebSocket closed: {code} {reason}".rstrip(), **kwargs)
        self.code = code
        self.reason = reason


class RequestsWarning(Warning):
    """Base warning for requestx."""


class FileModeWarning(RequestsWarning, DeprecationWarning):
    """A file was opened in text mode, but requests determined its binary length."""


class RequestsDependencyWarning(RequestsWarning):
    """An imported dependency doesn't match the expected version range."""


# The one table: CURLcode -> exception class. A tuple value is indexed by the
# phase the transfer had reached (connect, waiting for the response, body).
_CURL_ERRORS: dict[int, Any] = {
    # schemes are checked before libcurl sees a URL: code 1 then means a
    # response libcurl cannot speak (such as HTTP/0.9)
    CURLE_UNSUPPORTED_PROTOCOL: ConnectionError,
    CURLE_URL_MALFORMAT: InvalidURL,
    CURLE_COULDNT_RESOLVE_PROXY: ProxyError,
    CURLE_COULDNT_RESOLVE_HOST: ConnectionError,
    CURLE_COULDNT_CONNECT: ConnectionError,
    CURLE_PARTIAL_FILE: (ConnectionError, ConnectionError, ChunkedEncodingError),
    CURLE_OPERATION_TIMEDOUT: (ConnectTimeout, ReadTimeout, BodyReadTimeout),
    CURLE_SSL_CONNECT_ERROR: SSLError,
    CURLE_SSL_ENGINE_NOTFOUND: SSLError,
    CURLE_SSL_CERTPROBLEM: SSLError,
    CURLE_SSL_CIPHER: SSLError,
    CURLE_PEER_FAILED_VERIFICATION: SSLError,
    CURLE_SSL_CACERT_BADFILE: SSLError,
    CURLE_SSL_SHUTDOWN_FAILED: SSLError,
    CURLE_SSL_CRL_BADFILE: SSLError,
    CURLE_SSL_ISSUER_ERROR: SSLError,
    CURLE_SSL_CLIENTCERT: SSLError,
    CURLE_TOO_MANY_REDIRECTS: TooManyRedirects,
    CURLE_ABORTED_BY_CALLBACK: ConnectionError,  # a streamed body shorter than announced
    CURLE_GOT_NOTHING: ConnectionError,
    CURLE_SEND_ERROR: ConnectionError,
    CURLE_RECV_ERROR: (ConnectionError, ConnectionError, ChunkedEncodingError),
    CURLE_BAD_CONTENT_ENCODING: ContentDecodingError,
    CURLE_HTTP2: (ConnectionError, ConnectionError, ChunkedEncodingError),
    CURLE_HTTP2_STREAM: (ConnectionError, ConnectionError, ChunkedEncodingError),
    CURLE_HTTP3: (ConnectionError, ConnectionError, ChunkedEncodingError),
    CURLE_QUIC_CONNECT_ERROR: ConnectionError,  # no QUIC connection (http3="only")
    CURLE_PROXY: ProxyError,
    CURLE_TOO_LARGE: ConnectionError,  # a header block over libcurl's limit (as LineTooLong)
}

# CURLcode -> error_type (a tuple: by phase, as above); codes not named here
# take the error_type of the exception class they map to.
_ERROR_TYPES: dict[int, Any] = {
    CURLE_UNSUPPORTED_PROTOCOL: "http_protocol_error",
    CURLE_COULDNT_RESOLVE_HOST: "name_resolution_error",
    CURLE_COULDNT_RESOLVE_PROXY: "proxy_error",
    CURLE_COULDNT_CONNECT: "connection_error",
    CURLE_PARTIAL_FILE: ("connection_error", "response_ended", "response_ended"),
    CURLE_GOT_NOTHING: ("connection_error", "response_ended", "response_ended"),
    CURLE_RECV_ERROR: ("connection_error", "response_ended", "response_ended"),
    CURLE_SEND_ERROR: ("connection_error", "response_ended", "response_ended"),
    CURLE_ABORTED_BY_CALLBACK: ("connection_error", "response_ended", "response_ended"),
    CURLE_HTTP2: ("connection_error", "http_protocol_error", "http_protocol_error"),
    CURLE_HTTP2_STREAM: ("connection_error", "http_protocol_error", "http_protocol_error"),
    CURLE_HTTP3: ("connection_error", "http_protocol_error", "http_protocol_error"),
    CURLE_QUIC_CONNECT_ERROR: "connection_error",
    CURLE_WEIRD_SERVER_REPLY: "http_protocol_error",
    CURLE_TOO_LARGE: "http_protocol_error",
}

ERROR_TYPES = frozenset(
    {
        "name_resolution_error",
        "connection_error",
        "connect_timeout",
        "secure_connection_error",
        "proxy_error",
        "read_timeout",
        "response_ended",
        "http_protocol_error",
        "content_decoding_error",
        "too_many_redirects",
        "circuit_open",
        "deadline_exceeded",
        "invalid_request",
        "other",
    }
)

# Before a connection exists, these mean the proxy (not the origin) failed.
_PROXY_CONNECT_CODES = frozenset(
    {
        CURLE_COULDNT_CONNECT,
        CURLE_COULDNT_RESOLVE_HOST,
        CURLE_GOT_NOTHING,
        CURLE_RECV_ERROR,
        CURLE_SEND_ERROR,
    }
)
# An HTTP proxy forwarding a plain-http request that drops it before answering.
_PROXY_DROP_CODES = frozenset({CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR})


def proxy_failed(code: int, phase: int, proxy: Optional[str]) -> bool:
    """Whether an engine failure is the proxy's rather than the origin's.

    ``proxy`` says how the request used a proxy: None, "forward" (an http URL
    sent to an HTTP proxy, which answers for the origin) or "tunnel"."""
    return bool(proxy) and (
        (phase == PHASE_CONNECT and code in _PROXY_CONNECT_CODES)
        or (proxy == "forward" and phase == PHASE_WAIT and code in _PROXY_DROP_CODES)
    )


def from_transfer_error(
    error: BaseException, request: Any = None, proxy: Optional[str] = None
) -> RequestException:
    """Turn the engine's ``TransferError(code, message, phase)`` into the most
    specific requests exception. The only place this translation happens.
    ``proxy``: how the request used a proxy (see proxy_failed)."""
    code, message, phase = error.args
    if proxy_failed(code, phase, proxy):
        cls: Any = ProxyError
    else:
        cls = _CURL_ERRORS.get(code, ConnectionError)
        if isinstance(cls, tuple):
            cls = cls[phase]
    exc: RequestException = cls(f"{message} (curl error {code})", request=request)
    exc.curl_code = code
    exc.phase = phase
    error_type = _ERROR_TYPES.get(code) if cls is not ProxyError else None
    if error_type is not None:
        exc.error_type = error_type if type(error_type) is str else error_type[phase]
    return exc
