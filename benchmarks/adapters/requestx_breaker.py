"""requestx with CircuitBreaker() on the session: what the policy costs when the
server answers every request (compare with the plain requestx rows)."""

import requestx

from .requests_like import AsyncSession, SyncSession

NAME = "requestx"


def version() -> str:
    return requestx.__version__


def open_sync(pool, http2):
    session = requestx.Session(http2=http2, breaker=requestx.CircuitBreaker())
    session.verify = False
    return SyncSession(session, "Session(CircuitBreaker()), verify=False")


async def open_async(pool, http2):
    session = requestx.AsyncSession(
        max_connections=pool, http2=http2, breaker=requestx.CircuitBreaker()
    )
    session.verify = False
    setup = f"AsyncSession(max_connections={pool}, CircuitBreaker()), verify=False"
    return AsyncSession(session, setup)
