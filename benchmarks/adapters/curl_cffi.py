"""curl_cffi: requests-like Session / AsyncSession over its own libcurl build
(curl-impersonate); no browser impersonation, HTTP/1.1 unless the scenario is
HTTP/2 (its default would negotiate HTTP/2 wherever it can)."""

import curl_cffi
from curl_cffi import requests as cffi_requests

from .requests_like import AsyncSession, SyncSession

NAME = "curl_cffi"


def version() -> str:
    from curl_cffi import Curl

    libcurl = Curl().version().decode().split()[0]
    return f"{curl_cffi.__version__} ({libcurl})"


def _http_version(http2: bool) -> str:
    return "v2" if http2 else "v1"


def open_sync(pool, http2):
    session = cffi_requests.Session(verify=False, http_version=_http_version(http2))
    return SyncSession(session, f"Session(verify=False, http_version={_http_version(http2)!r})")


async def open_async(pool, http2):
    session = cffi_requests.AsyncSession(
        max_clients=pool, verify=False, http_version=_http_version(http2)
    )
    setup = f"AsyncSession(max_clients={pool}, verify=False, http_version={_http_version(http2)!r})"
    return AsyncSession(session, setup)
