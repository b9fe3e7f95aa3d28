"""requestx: a requests-compatible HTTP client whose engine is C over libcurl.

>>> import requestx as requests
>>> r = requests.get("https://example.org/")
>>> r.status_code
200
"""

from typing import TYPE_CHECKING

from . import adapters, exceptions, status_codes, structures  # noqa: F401
from .__version__ import __version__
from ._core.observe import observers
from ._engine import curl_version
from ._engine import features as curl_features
from .api import delete, get, head, options, patch, post, put, request, ws_connect
from .async_sessions import AsyncSession
from .auth import HTTPBasicAuth, HTTPDigestAuth, HTTPProxyAuth
from .exceptions import (
    ConnectionError,
    ConnectTimeout,
    FileModeWarning,
    HTTPError,
    JSONDecodeError,
    ReadTimeout,
    RequestException,
    Timeout,
    TooManyRedirects,
    URLRequired,
    WebSocketClosed,
    WebSocketError,
)
from .models import PreparedRequest, Request, Response
from .policy.breaker import CircuitBreaker
from .policy.retry import Retry
from .sessions import Session, session
from .sse import ServerSentEvent
from .status_codes import codes

# Imported on first use: the httpx transports (requestx.transports), and
# requests' helper modules `utils` and `cookies`, which need http.cookiejar
# (and with it urllib.request, http.client and email: ~3.5 MB that a request
# without cookies never uses).
_LAZY = {"HTTPTransport": "transports", "AsyncHTTPTransport": "transports"}
_LAZY_MODULES = frozenset({"cookies", "utils"})

if TYPE_CHECKING:  # what __getattr__ gives, for type checkers
    from . import cookies, utils  # noqa: F401
    from .transports import AsyncHTTPTransport, HTTPTransport


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'requestx' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _LAZY_MODULES)


__all__ = [
    "__version__",
    "AsyncHTTPTransport",
    "AsyncSession",
    "CircuitBreaker",
    "ConnectionError",
    "ConnectTimeout",
    "FileModeWarning",
    "HTTPBasicAuth",
    "HTTPDigestAuth",
    "HTTPError",
    "HTTPProxyAuth",
    "HTTPTransport",
    "JSONDecodeError",
    "PreparedRequest",
    "ReadTimeout",
    "Request",
    "RequestException",
    "Response",
    "Retry",
    "ServerSentEvent",
    "Session",
    "Timeout",
    "TooManyRedirects",
    "URLRequired",
    "codes",
    "curl_features",
    "curl_version",
    "delete",
    "get",
    "head",
    "observers",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "session",
    "ws_connect",
    "WebSocketClosed",
    "WebSocketError",
]
