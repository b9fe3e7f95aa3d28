"""urllib3: one PoolManager, maxsize = threads."""

import urllib3

NAME = "urllib3"

urllib3.disable_warnings()


def version() -> str:
    return urllib3.__version__


class Sync:
    def __init__(self, pool: int) -> None:
        self.pool = urllib3.PoolManager(maxsize=pool, cert_reqs="CERT_NONE")
        self.setup = f"PoolManager(maxsize={pool}, cert_reqs='CERT_NONE')"

    def get(self, url):
        r = self.pool.request("GET", url)  # preload_content=True: the body is read
        return r.status, len(r.data)

    def post(self, url, body):
        r = self.pool.request("POST", url, body=body)
        return r.status, len(r.data)

    def close(self):
        self.pool.clear()


def open_sync(pool, http2):
    return Sync(pool)


UNSUPPORTED = {"async": "no asyncio API", "http2": "HTTP/1.1 only (2.x's HTTP/2 is experimental)"}
