"""niquests: Session / AsyncSession with pool_maxsize = concurrency; HTTP/3
off (nothing here speaks QUIC), HTTP/2 only where the scenario asks for it."""

import niquests

from .requests_like import AsyncSession, SyncSession

NAME = "niquests"


def version() -> str:
    import urllib3  # niquests' fork, urllib3-future, installs under this name

    return f"{niquests.__version__} (urllib3-future {urllib3.__version__})"


def _options(pool, http2: bool) -> tuple:
    options = {"disable_http2": not http2, "disable_http3": True}
    options.update(pool_connections=1, pool_maxsize=pool)
    text = ", ".join(f"{k}={v}" for k, v in options.items())
    # verify=False on each call, as for requests (the environment's CA bundle
    # would override the session's setting)
    return options, f"{text}, verify=False"


def open_sync(pool, http2):
    options, setup = _options(max(pool, 10), http2)
    session = niquests.Session(**options)
    return SyncSession(session, f"Session({setup})", options={"verify": False})


async def open_async(pool, http2):
    options, setup = _options(pool, http2)
    session = niquests.AsyncSession(**options)
    return AsyncSession(session, f"AsyncSession({setup})", options={"verify": False})
