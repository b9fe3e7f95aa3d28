"""curl_cffi: requests-like Session / AsyncSession over its own libcurl build
(curl-impersonate); no browser impersonation, HTTP/1.1 unless the scenario is
HTTP/2 (its default would negotiate HTTP/2 wherever it can)."""

import curl_cffi
from curl_cffi import requests as cffi_requests

NAME = "curl_cffi"


def version() -> str:
    from curl_cffi import Curl

    libcurl = Curl().version().decode().split()[0]
    return f"{curl_cffi.__version__} ({libcurl})"


def _http_version(http2: bool) -> str:
    return "v2" if http2 else "v1"


class Sync:
    def __init__(self, http2: bool) -> None:
        self.session = cffi_requests.Session(verify=False, http_version=_http_version(http2))
        self.setup = f"Session(verify=False, http_version={_http_version(http2)!r})"

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
        options = {"verify": False, "http_version": _http_version(http2)}
        if pool is not None:
            options["max_clients"] = pool
        self.session = cffi_requests.AsyncSession(**options)
        self.setup = (
            f"AsyncSession(max_clients={self.session.max_clients}, verify=False, "
            f"http_version={_http_version(http2)!r})"
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
