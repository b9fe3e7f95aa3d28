"""pyreqwest: Rust reqwest behind SyncClientBuilder / ClientBuilder;
max_connections (its bound on requests in flight) = concurrency."""

import pyreqwest
from pyreqwest.client import ClientBuilder, SyncClientBuilder

NAME = "pyreqwest"


def version() -> str:
    return pyreqwest.__version__


def _build(builder, pool, http2: bool) -> tuple:
    builder = builder.danger_accept_invalid_certs(True)
    builder = builder.max_connections(pool)
    setup = f"danger_accept_invalid_certs(True).max_connections({pool})"
    if not http2:
        builder = builder.http1_only()
        setup += ".http1_only()"
    return builder.build(), setup


class Sync:
    def __init__(self, pool, http2: bool) -> None:
        self.client, setup = _build(SyncClientBuilder(), pool, http2)
        self.setup = f"SyncClientBuilder().{setup}.build()"

    def get(self, url):
        r = self.client.get(url).build().send()
        return r.status, len(r.bytes())

    def post(self, url, body):
        r = self.client.post(url).body_bytes(body).build().send()
        return r.status, len(r.bytes())

    def close(self):
        self.client.close()


class Async:
    def __init__(self, pool, http2: bool) -> None:
        self.client, setup = _build(ClientBuilder(), pool, http2)
        self.setup = f"ClientBuilder().{setup}.build()"

    async def get(self, url):
        r = await self.client.get(url).build().send()
        return r.status, len(await r.bytes())

    async def post(self, url, body):
        r = await self.client.post(url).body_bytes(body).build().send()
        return r.status, len(await r.bytes())

    async def close(self):
        await self.client.close()


def open_sync(pool, http2):
    return Sync(pool, http2)


async def open_async(pool, http2):
    return Async(pool, http2)
