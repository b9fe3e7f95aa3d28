"""httpx: Client / AsyncClient with Limits sized to the concurrency; HTTP/2
through its optional h2 dependency (httpx[http2]); SSE through httpx-sse."""

import httpx

from .requests_like import AsyncSession, SyncSession

NAME = "httpx"


def version() -> str:
    import httpcore

    return f"{httpx.__version__} (httpcore {httpcore.__version__})"


def _options(pool, http2: bool) -> tuple:
    # The default 5 s timeout also bounds the wait for a free connection,
    # which 10,000 gathered requests exceed by design: only that wait is unbounded.
    options = {
        "limits": httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
        "timeout": httpx.Timeout(5.0, pool=None),
        "http2": http2,
        "verify": False,
    }
    setup = (
        f"limits=Limits(max_connections={pool}, max_keepalive_connections={pool}), "
        f"timeout=Timeout(5.0, pool=None), http2={http2}, verify=False"
    )
    return options, setup


def open_sync(pool, http2):
    options, setup = _options(pool, http2)
    return SyncSession(httpx.Client(**options), f"Client({setup})", body="content")


async def open_async(pool, http2):
    options, setup = _options(pool, http2)
    client = httpx.AsyncClient(**options)
    return AsyncSession(client, f"AsyncClient({setup})", body="content", close="aclose")


def sse_sync(url):
    from httpx_sse import connect_sse

    with httpx.Client() as client, connect_sse(client, "GET", url) as source:
        return sum(1 for _event in source.iter_sse())


async def sse_async(url):
    from httpx_sse import aconnect_sse

    count = 0
    async with httpx.AsyncClient() as client, aconnect_sse(client, "GET", url) as source:
        async for _event in source.aiter_sse():
            count += 1
    return count
