"""requests' exception tree, and the one table that maps engine errors onto it.

    IOError
    └── RequestException
        ├── InvalidJSONError
        │   └── JSONDecodeError (also json.JSONDecodeError)
        ├── HTTPError
        ├── ConnectionError
        │   ├── ProxyError
        │   ├── SSLError
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
        └── UnrewindableBodyError

Engine failures (``requestx._engine.TransferError``) become these exceptions
in exactly one place: :func:`from_transfer_error`.
"""

from __future__ import annotations

from json import JSONDecodeError as _StdJSONDecodeError
from typing import Any, Optional, Union

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
    "UnrewindableBodyError",
    "BaseHTTPError",
    "RequestsWarning",
    "FileModeWarning",
    "RequestsDependencyWarning",
]


class RequestException(IOError):
    """There was an ambiguous exception that occurred while handling your request."""

    curl_code: int  # set on the exceptions from_transfer_error() makes

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


class ProxyError(ConnectionError):
    """A proxy error occurred."""


class SSLError(ConnectionError):
    """An SSL error occurred."""


class Timeout(RequestException):
    """The request timed out."""


class ConnectTimeout(ConnectionError, Timeout):
    """The request timed out while trying to connect to the remote server."""


class ReadTimeout(Timeout):
    """The server did not send any data in the allotted amount of time."""


class BodyReadTimeout(ReadTimeout, ConnectionError):
    """The body stopped arriving for longer than the read timeout. requests
    reports this case as a ConnectionError, so it is both."""


class URLRequired(RequestException):
    """A valid URL is required to make a request."""


class TooManyRedirects(RequestException):
    """Too many redirects."""


class MissingSchema(RequestException, ValueError):
    """The URL scheme (e.g. http or https) is missing."""


class InvalidSchema(RequestException, ValueError):
    """The URL scheme provided is either invalid or unsupported."""


class InvalidURL(RequestException, ValueError):
    """The URL provided was somehow invalid."""


class InvalidHeader(RequestException, ValueError):
    """The header value provided was somehow invalid."""


class InvalidProxyURL(InvalidURL):
    """The proxy URL provided is invalid."""


class ChunkedEncodingError(RequestException):
    """The server declared chunked encoding but sent an invalid chunk, or the
    body ended before its declared length."""


class BaseHTTPError(Exception):
    """Stands in for urllib3's HTTPError, which ContentDecodingError also derives from."""


class ContentDecodingError(RequestException, BaseHTTPError):
    """Failed to decode response content."""


class StreamConsumedError(RequestException, TypeError):
    """The content for this response was already consumed."""


class RetryError(RequestException):
    """Custom retries logic failed."""


class UnrewindableBodyError(RequestException):
    """Requests encountered an error when trying to rewind a body."""


class RequestsWarning(Warning):
    """Base warning for requestx."""


class FileModeWarning(RequestsWarning, DeprecationWarning):
    """A file was opened in text mode, but requests determined its binary length."""


class RequestsDependencyWarning(RequestsWarning):
    """An imported dependency doesn't match the expected version range."""


# libcurl's CURLcode values (curl/curl.h) that we map to something specific.
_UNSUPPORTED_PROTOCOL = 1
_URL_MALFORMAT = 3
_COULDNT_RESOLVE_PROXY = 5
_COULDNT_RESOLVE_HOST = 6
_COULDNT_CONNECT = 7
_PARTIAL_FILE = 18
_WRITE_ERROR = 23
_OPERATION_TIMEDOUT = 28
_SSL_CONNECT_ERROR = 35
_ABORTED_BY_CALLBACK = 42
_TOO_MANY_REDIRECTS = 47
_GOT_NOTHING = 52
_SSL_ENGINE_NOTFOUND = 53
_SEND_ERROR = 55
_RECV_ERROR = 56
_SSL_CERTPROBLEM = 58
_SSL_CIPHER = 59
_PEER_FAILED_VERIFICATION = 60
_BAD_CONTENT_ENCODING = 61
_SSL_CACERT_BADFILE = 77
_SSL_SHUTDOWN_FAILED = 80
_SSL_CRL_BADFILE = 82
_SSL_ISSUER_ERROR = 83
_HTTP2 = 16
_HTTP2_STREAM = 92
_PROXY = 97
_SSL_CLIENTCERT = 98

# engine phases (requestx/_engine/transfer.h: enum rx_phase)
PHASE_CONNECT = 0
PHASE_WAIT = 1
PHASE_BODY = 2

# The one table: CURLcode -> exception class. A tuple value is indexed by the
# phase the transfer had reached (connect, waiting for the response, body).
_CURL_ERRORS: dict[int, Any] = {
    # schemes are checked before libcurl sees a URL: code 1 then means a
    # response libcurl cannot speak (such as HTTP/0.9)
    _UNSUPPORTED_PROTOCOL: ConnectionError,
    _URL_MALFORMAT: InvalidURL,
    _COULDNT_RESOLVE_PROXY: ProxyError,
    _COULDNT_RESOLVE_HOST: ConnectionError,
    _COULDNT_CONNECT: ConnectionError,
    _PARTIAL_FILE: (ConnectionError, ConnectionError, ChunkedEncodingError),
    _OPERATION_TIMEDOUT: (ConnectTimeout, ReadTimeout, BodyReadTimeout),
    _SSL_CONNECT_ERROR: SSLError,
    _SSL_ENGINE_NOTFOUND: SSLError,
    _SSL_CERTPROBLEM: SSLError,
    _SSL_CIPHER: SSLError,
    _PEER_FAILED_VERIFICATION: SSLError,
    _SSL_CACERT_BADFILE: SSLError,
    _SSL_SHUTDOWN_FAILED: SSLError,
    _SSL_CRL_BADFILE: SSLError,
    _SSL_ISSUER_ERROR: SSLError,
    _SSL_CLIENTCERT: SSLError,
    _TOO_MANY_REDIRECTS: TooManyRedirects,
    _ABORTED_BY_CALLBACK: ConnectionError,  # a streamed body shorter than announced
    _GOT_NOTHING: ConnectionError,
    _SEND_ERROR: ConnectionError,
    _RECV_ERROR: (ConnectionError, ConnectionError, ChunkedEncodingError),
    _BAD_CONTENT_ENCODING: ContentDecodingError,
    _HTTP2: (ConnectionError, ConnectionError, ChunkedEncodingError),
    _HTTP2_STREAM: (ConnectionError, ConnectionError, ChunkedEncodingError),
    _PROXY: ProxyError,
}

# Before a connection exists, these mean the proxy (not the origin) failed.
_PROXY_CONNECT_CODES = frozenset(
    {_COULDNT_CONNECT, _COULDNT_RESOLVE_HOST, _GOT_NOTHING, _RECV_ERROR, _SEND_ERROR}
)
# An HTTP proxy forwarding a plain-http request that drops it before answering.
_PROXY_DROP_CODES = frozenset({_GOT_NOTHING, _RECV_ERROR, _SEND_ERROR})


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
    return exc
