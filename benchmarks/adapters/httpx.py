"""httpx: Client / AsyncClient with Limits sized to the concurrency; HTTP/2
through its optional h2 dependency (httpx[http2]); SSE through httpx-sse."""

import httpx

NAME = "httpx"


def version() -> str:
    import httpcore

    return f"{httpx.__version__} (httpcore {httpcore.__version__})"


def _options(pool, http2: bool) -> tuple:
    if pool is None:
        # Default limits (100 connections).  The default 5 s timeout also
        # bounds the wait for a free connection, which 10,000 queued requests
        # exceed by design: only that pool wait is unbounded.
        options = {"timeout": httpx.Timeout(5.0, pool=None)}
        setup = "timeout=Timeout(5.0, pool=None) (default limits: 100 connections)"
    else:
        options = {"limits": httpx.Limits(max_connections=pool, max_keepalive_connections=pool)}
        setup = f"limits=Limits(max_connections={pool}, max_keepalive_connections={pool})"
    return {**options, "http2": http2, "verify": False}, f"{setup}, http2={http2}, verify=False"


class Sync:
    def __init__(self, pool, http2: bool) -> None:
        options, setup = _options(pool, http2)
        self.client = httpx.Client(**options)
        self.setup = f"Client({setup})"

    def get(self, url):
        r = self.client.get(url)
        return r.status_code, len(r.content)

    def post(self, url, body):
        r = self.client.post(url, content=body)
        return r.status_code, len(r.content)

    def close(self):
        self.client.close()


class Async:
    def __init__(self, pool, http2: bool) -> None:
        options, setup = _options(pool, http2)
        self.client = httpx.AsyncClient(**options)
        self.setup = f"AsyncClient({setup})"

    async def get(self, url):
        r = await self.client.get(url)
        return r.status_code, len(r.content)

    async def post(self, url, body):
        r = await self.client.post(url, content=body)
        return r.status_code, len(r.content)

    async def close(self):
        await self.client.aclose()


def open_sync(pool, http2):
    return Sync(pool, http2)


async def open_async(pool, http2):
    return Async(pool, http2)


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
