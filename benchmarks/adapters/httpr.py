"""httpr: Rust client behind an httpx-like Client; its AsyncClient runs the
sync client on a thread pool of max_concurrency threads (= concurrency)."""

from importlib.metadata import version as dist_version

import httpr

NAME = "httpr"


def version() -> str:
    return dist_version("httpr")


def _options(http2: bool) -> dict:
    return {"verify": False, "http1_only": not http2}


class Sync:
    def __init__(self, http2: bool) -> None:
        self.client = httpr.Client(**_options(http2))
        self.setup = f"Client(verify=False, http1_only={not http2})"

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
        limit = 64 if pool is None else pool
        self.client = httpr.AsyncClient(max_concurrency=limit, **_options(http2))
        self.setup = f"AsyncClient(max_concurrency={limit}, verify=False, http1_only={not http2})"

    async def get(self, url):
        r = await self.client.get(url)
        return r.status_code, len(r.content)

    async def post(self, url, body):
        r = await self.client.post(url, content=body)
        return r.status_code, len(r.content)

    async def close(self):
        await self.client.aclose()


def open_sync(pool, http2):
    return Sync(http2)


async def open_async(pool, http2):
    return Async(pool, http2)
