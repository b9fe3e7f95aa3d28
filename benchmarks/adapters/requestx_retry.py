"""requestx with Retry(total=3, status_forcelist=[503]) on the session: what
the policy costs when the server answers every request (compare with the
plain requestx rows)."""

import requestx

from .requests_like import AsyncSession, SyncSession

NAME = "requestx"
RETRY = "Retry(total=3, status_forcelist=[503])"


def version() -> str:
    return requestx.__version__


def open_sync(pool, http2):
    session = requestx.Session(http2=http2, retries=requestx.Retry(total=3, status_forcelist=[503]))
    session.verify = False
    return SyncSession(session, f"Session({RETRY}), verify=False")


async def open_async(pool, http2):
    session = requestx.AsyncSession(
        max_connections=pool, http2=http2, retries=requestx.Retry(total=3, status_forcelist=[503])
    )
    session.verify = False
    setup = f"AsyncSession(max_connections={pool}, {RETRY}), verify=False"
    return AsyncSession(session, setup)
