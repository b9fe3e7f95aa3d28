"""requestx with stats=True: the engine's aggregates updated on every
request (compare with the plain requestx rows)."""

import requestx

from .requests_like import AsyncSession, SyncSession

NAME = "requestx"


def version() -> str:
    return requestx.__version__


def open_sync(pool, http2):
    session = requestx.Session(http2=http2, stats=True)
    session.verify = False
    return SyncSession(session, "Session(stats=True), verify=False")


async def open_async(pool, http2):
    session = requestx.AsyncSession(max_connections=pool, http2=http2, stats=True)
    session.verify = False
    setup = f"AsyncSession(max_connections={pool}, stats=True), verify=False"
    return AsyncSession(session, setup)
