"""requestx (this repository): Session and AsyncSession."""

import requestx

from .requests_like import AsyncSession, SyncSession

NAME = "requestx"


def version() -> str:
    """The version and the libcurl the engine runs on (bundled or system)."""
    return f"{requestx.__version__} on {requestx.curl_version().split()[0]}"


def open_sync(pool, http2):
    session = requestx.Session(http2=http2)
    session.verify = False
    return SyncSession(session, f"Session(http2={http2}), verify=False")


async def open_async(pool, http2):
    session = requestx.AsyncSession(max_connections=pool, http2=http2)
    session.verify = False
    setup = f"AsyncSession(max_connections={pool}, http2={http2}), verify=False"
    return AsyncSession(session, setup)


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
