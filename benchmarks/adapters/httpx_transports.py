"""httpx with each of the transports that can be put under its clients:

    httpx          httpx.AsyncHTTPTransport / HTTPTransport (httpcore), its default
    httpx-aiohttp  httpx_aiohttp.AiohttpTransport (async only)
    pyreqwest      pyreqwest.compatibility.httpx.HttpxTransport / SyncHttpxTransport
    requestx       requestx.AsyncHTTPTransport / HTTPTransport (from the run's snapshot)

All four run in one virtualenv, so they serve the same httpx.  The client is
set up as in adapters/httpx.py; the transport is built explicitly and passed
as ``transport=``, with the connection limit sized to the concurrency (for
pyreqwest on the reqwest client it wraps, HTTP/1.1 only as in
adapters/pyreqwest.py).  ``open_sync`` / ``open_async`` take the transport's
name as ``transport``.
"""

import httpx

from .requests_like import AsyncSession, SyncSession

NAME = "httpx-transports"
TIMEOUT = httpx.Timeout(5.0, pool=None)
CLIENT_SETUP = "timeout=Timeout(5.0, pool=None)"


def version() -> str:
    from importlib.metadata import version as dist

    import requestx

    return (
        f"httpx {httpx.__version__} (httpcore {dist('httpcore')}); httpx-aiohttp "
        f"{dist('httpx-aiohttp')} (aiohttp {dist('aiohttp')}); pyreqwest {dist('pyreqwest')}; "
        f"requestx {requestx.__version__}"
    )


def _limits(pool) -> tuple:
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    return limits, f"limits=Limits(max_connections={pool}, max_keepalive_connections={pool})"


def _pyreqwest_client(builder, pool) -> tuple:
    client = builder.max_connections(pool).http1_only().build()
    return client, f"{type(builder).__name__}().max_connections({pool}).http1_only().build()"


def _async_transport(name: str, pool) -> tuple:
    limits, text = _limits(pool)
    if name == "httpx":
        return httpx.AsyncHTTPTransport(limits=limits), f"httpx.AsyncHTTPTransport({text})"
    if name == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return AiohttpTransport(limits=limits), f"httpx_aiohttp.AiohttpTransport({text})"
    if name == "pyreqwest":
        from pyreqwest.client import ClientBuilder
        from pyreqwest.compatibility.httpx import HttpxTransport

        client, built = _pyreqwest_client(ClientBuilder(), pool)
        return HttpxTransport(client), f"pyreqwest HttpxTransport({built})"
    if name == "requestx":
        import requestx

        return requestx.AsyncHTTPTransport(limits=limits), f"requestx.AsyncHTTPTransport({text})"
    raise ValueError(f"unknown async transport {name!r}")


def _sync_transport(name: str, pool) -> tuple:
    limits, text = _limits(pool)
    if name == "httpx":
        return httpx.HTTPTransport(limits=limits), f"httpx.HTTPTransport({text})"
    if name == "pyreqwest":
        from pyreqwest.client import SyncClientBuilder
        from pyreqwest.compatibility.httpx import SyncHttpxTransport

        client, built = _pyreqwest_client(SyncClientBuilder(), pool)
        return SyncHttpxTransport(client), f"pyreqwest SyncHttpxTransport({built})"
    if name == "requestx":
        import requestx

        return requestx.HTTPTransport(limits=limits), f"requestx.HTTPTransport({text})"
    raise ValueError(f"unknown sync transport {name!r} (httpx-aiohttp is async only)")


def open_sync(pool, http2, transport):
    built, setup = _sync_transport(transport, pool)
    client = httpx.Client(transport=built, timeout=TIMEOUT)
    return SyncSession(client, f"Client(transport={setup}, {CLIENT_SETUP})", body="content")


async def open_async(pool, http2, transport):
    built, setup = _async_transport(transport, pool)
    client = httpx.AsyncClient(transport=built, timeout=TIMEOUT)
    setup = f"AsyncClient(transport={setup}, {CLIENT_SETUP})"
    return AsyncSession(client, setup, body="content", close="aclose")
