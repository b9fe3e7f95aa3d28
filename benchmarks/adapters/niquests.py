"""niquests: Session / AsyncSession with pool_maxsize = concurrency; HTTP/3
off (nothing here speaks QUIC), HTTP/2 only where the scenario asks for it."""

import niquests

NAME = "niquests"


def version() -> str:
    import urllib3  # niquests' fork, urllib3-future, installs under this name

    return f"{niquests.__version__} (urllib3-future {urllib3.__version__})"


def _options(pool, http2: bool) -> tuple:
    options = {"disable_http2": not http2, "disable_http3": True}
    if pool is not None:
        options.update(pool_connections=1, pool_maxsize=pool)
    text = ", ".join(f"{k}={v}" for k, v in options.items())
    return options, f"{text}, verify=False"


class Sync:
    def __init__(self, pool, http2: bool) -> None:
        options, setup = _options(max(pool, 10), http2)
        self.session = niquests.Session(**options)  # verify=False on each call, as requests
        self.setup = f"Session({setup})"

    def get(self, url):
        r = self.session.get(url, verify=False)
        return r.status_code, len(r.content)

    def post(self, url, body):
        r = self.session.post(url, data=body, verify=False)
        return r.status_code, len(r.content)

    def close(self):
        self.session.close()


class Async:
    def __init__(self, pool, http2: bool) -> None:
        options, setup = _options(pool, http2)
        self.session = niquests.AsyncSession(**options)
        self.setup = f"AsyncSession({setup})"

    async def get(self, url):
        r = await self.session.get(url, verify=False)
        return r.status_code, len(r.content)

    async def post(self, url, body):
        r = await self.session.post(url, data=body, verify=False)
        return r.status_code, len(r.content)

    async def close(self):
        await self.session.close()


def open_sync(pool, http2):
    return Sync(pool, http2)


async def open_async(pool, http2):
    return Async(pool, http2)
