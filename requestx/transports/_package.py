"""httpx or httpx2: the package a request came from.

A transport serves httpx and its fork httpx2 alike. Whatever it hands back
belongs to the package of the request it was given: the Response class, the
byte-stream base class of the response body, and the exception classes. Both
packages are optional, and nothing here imports either: the package is found
from the request's class.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

__all__ = ["HttpxPackage", "package_of", "SyncTransportBase", "AsyncTransportBase"]

# At run time the transports derive from neither package's BaseTransport:
# httpx's clients only call the transport protocol (handle_request, close, the
# context manager), and SDKs built on httpx2 refuse objects whose classes come
# from httpx (anthropic's DefaultHttpxClient walks the MRO). Type checkers see
# a subclass of both packages' base classes.
if TYPE_CHECKING:
    import httpx
    import httpx2

    # The two packages' Request and Response are different classes: the
    # methods take and return either.
    class SyncTransportBase(httpx.BaseTransport, httpx2.BaseTransport):
        def handle_request(self, request: Any) -> Any: ...

    class AsyncTransportBase(httpx.AsyncBaseTransport, httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: Any) -> Any: ...

else:
    SyncTransportBase = AsyncTransportBase = object


class HttpxPackage:
    """One httpx package and the classes the transports build for it."""

    __slots__ = ("module", "Response", "RequestNotRead", "_streams")

    def __init__(self, module: Any) -> None:
        self.module = module
        self.Response = module.Response
        self.RequestNotRead = module.RequestNotRead
        self._streams: dict[type, type] = {}

    def stream_class(self, body: type[Any]) -> type:
        """``body`` (a response body class of ours) made a subclass of this
        package's byte-stream base, which httpx checks with isinstance()."""
        cls = self._streams.get(body)
        if cls is None:
            base = getattr(self.module, body.httpx_base)
            cls = type(body.__name__, (body, base), {"__module__": body.__module__})
            self._streams[body] = cls
        return cls

    def exception(self, name: str) -> type:
        return getattr(self.module, name)  # type: ignore[no-any-return]


_by_request_type: dict[type, HttpxPackage] = {}
_by_module: dict[str, HttpxPackage] = {}


def package_of(request: Any) -> HttpxPackage:
    """The package of ``request``'s class (or of the httpx class it derives from)."""
    try:
        return _by_request_type[type(request)]
    except KeyError:
        pass
    for cls in type(request).__mro__:
        root = cls.__module__.partition(".")[0]
        module = sys.modules.get(root)
        if module is not None and getattr(module, "Request", None) is cls:
            package = _by_module.get(root)
            if package is None:
                package = _by_module[root] = HttpxPackage(module)
            _by_request_type[type(request)] = package
            return package
    raise TypeError(f"expected an httpx or httpx2 Request, got {type(request).__name__}")
