"""wreq (formerly rnet): Rust wreq behind blocking.Client / Client, no
browser emulation; pool_max_size = concurrency."""

import wreq
from wreq import blocking

NAME = "wreq"


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("wreq")


def _options(pool, http2: bool) -> tuple:
    options = {"tls_verify": False, "pool_max_size": pool}
    if not http2:
        options["http1_only"] = True
    return options, ", ".join(f"{k}={v}" for k, v in options.items())


class Sync:
    def __init__(self, pool, http2: bool) -> None:
        options, setup = _options(pool, http2)
        self.client = blocking.Client(**options)
        self.setup = f"blocking.Client({setup})"

    def get(self, url):
        r = self.client.get(url)
        return r.status.as_int(), len(r.bytes())

    def post(self, url, body):
        r = self.client.post(url, body=body)
        return r.status.as_int(), len(r.bytes())

    def close(self):
        self.client.close()


class Async:
    def __init__(self, pool, http2: bool) -> None:
        options, setup = _options(pool, http2)
        self.client = wreq.Client(**options)
        self.setup = f"Client({setup})"

    async def get(self, url):
        r = await self.client.get(url)
        return r.status.as_int(), len(await r.bytes())

    async def post(self, url, body):
        r = await self.client.post(url, body=body)
        return r.status.as_int(), len(await r.bytes())

    async def close(self):
        self.client.close()


def open_sync(pool, http2):
    return Sync(pool, http2)


async def open_async(pool, http2):
    return Async(pool, http2)
