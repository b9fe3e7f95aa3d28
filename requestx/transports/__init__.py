"""Transports for httpx and httpx2 on the requestx engine.

    httpx.Client(transport=requestx.HTTPTransport())
    httpx.AsyncClient(transport=requestx.AsyncHTTPTransport())

The transport contract (httpx's ``BaseTransport.handle_request`` /
``AsyncBaseTransport.handle_async_request``): one request in, one response
out, nothing more. httpx keeps redirects, cookies, auth and decoding; the
transport sends exactly the request it is given (headers, Host included, in
httpx's order), returns the response of that one hop with its body still
encoded as the server sent it, and streams the body in both directions.

Responses, byte streams and exceptions are those of the package the request
came from (httpx or httpx2); neither is a dependency of requestx, and this
package imports neither. See docs/httpx.md.

    _sync.py     HTTPTransport
    _async.py    AsyncHTTPTransport
    _options.py  constructor options -> engine settings (TLS, proxy, HTTP version)
    _wire.py     request -> URL and header lines; header block -> response parts
    _limits.py   limits.max_connections and the pool timeout
    _backends.py waiting for the engine under asyncio or trio
    _errors.py   engine failures -> httpx exceptions (the one boundary)
    _package.py  httpx or httpx2: the classes a request's package provides
"""

from ._async import AsyncHTTPTransport
from ._sync import HTTPTransport

__all__ = ["HTTPTransport", "AsyncHTTPTransport"]
