"""requestx: a requests-compatible HTTP client whose engine is C over libcurl.

>>> import requestx as requests
>>> r = requests.get("https://example.org/")
>>> r.status_code
200
"""

from . import exceptions, status_codes, structures, utils  # noqa: F401
from .__version__ import __version__
from ._engine import curl_version
from .api import delete, get, head, options, patch, post, put, request
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
)
from .models import PreparedRequest, Request, Response
from .sessions import Session, session
from .sse import ServerSentEvent
from .status_codes import codes

# The httpx transports (requestx.transports) are imported on first use.
_LAZY = {"HTTPTransport": "transports", "AsyncHTTPTransport": "transports"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'requestx' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "AsyncHTTPTransport",
    "AsyncSession",
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
    "ServerSentEvent",
    "Session",
    "Timeout",
    "TooManyRedirects",
    "URLRequired",
    "codes",
    "curl_version",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "session",
]
