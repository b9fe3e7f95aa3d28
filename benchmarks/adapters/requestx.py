"""requestx (this repository): Session and AsyncSession."""

import requestx

NAME = "requestx"


def version() -> str:
    return requestx.__version__


class Sync:
    def __init__(self, http2: bool) -> None:
        self.session = requestx.Session(http2=http2)
        self.session.verify = False
        self.setup = f"Session(http2={http2}), verify=False"

    def get(self, url):
        r = self.session.get(url)
        return r.status_code, len(r.content)

    def post(self, url, body):
        r = self.session.post(url, data=body)
        return r.status_code, len(r.content)

    def close(self):
        self.session.close()


class Async:
    def __init__(self, pool, http2: bool) -> None:
        if pool is None:
            self.session = requestx.AsyncSession(http2=http2)
        else:
            self.session = requestx.AsyncSession(max_connections=pool, http2=http2)
        self.session.verify = False
        self.setup = (
            f"AsyncSession(max_connections={self.session.max_connections}, http2={http2}), "
            "verify=False"
        )

    async def get(self, url):
        r = await self.session.get(url)
        return r.status_code, len(r.content)

    async def post(self, url, body):
        r = await self.session.post(url, data=body)
        return r.status_code, len(r.content)

    async def close(self):
        await self.session.close()


def open_sync(pool, http2):
    return Sync(http2)


async def open_async(pool, http2):
    return Async(pool, http2)


def sse_sync(url):
    with requestx.Session() as session:
        r = session.get(url, stream=True)
        return sum(1 for _event in r.iter_sse())


async def sse_async(url):
    async with requestx.AsyncSession() as session:
        r = await session.get(url, stream=True)
        count = 0
        async for _event in r.aiter_sse():
            count += 1
        return count


def download_sync(url):
    with requestx.Session() as session:
        r = session.get(url, stream=True)
        return sum(len(chunk) for chunk in r.iter_content(None))


async def download_async(url):
    async with requestx.AsyncSession() as session:
        r = await session.get(url, stream=True)
        total = 0
        async for chunk in r.aiter_content(None):
            total += len(chunk)
        return total
