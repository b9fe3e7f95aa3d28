"""pycurl: a reused Curl handle writing into a BytesIO (its fast path).

A Curl handle must not be used by two threads at once, so the threads
scenario gives each thread its own handle.
"""

from io import BytesIO

import pycurl

NAME = "pycurl"
SYNC_SESSION_THREAD_SAFE = False


def version() -> str:
    return (
        f"{pycurl.version.split()[0].replace('PycURL/', '')} (libcurl {pycurl.version_info()[1]})"
    )


class Sync:
    def __init__(self, http2: bool) -> None:
        self.curl = pycurl.Curl()
        self.buffer = BytesIO()
        self.curl.setopt(pycurl.WRITEDATA, self.buffer)
        self.curl.setopt(pycurl.SSL_VERIFYPEER, 0)
        self.curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        version = pycurl.CURL_HTTP_VERSION_2TLS if http2 else pycurl.CURL_HTTP_VERSION_1_1
        self.curl.setopt(pycurl.HTTP_VERSION, version)
        self.curl.setopt(pycurl.HTTPHEADER, ["Expect:"])  # no 100-continue wait on POST
        self.setup = "one Curl handle reused, WRITEDATA=BytesIO, SSL_VERIFYPEER=0"

    def _perform(self, url):
        self.buffer.seek(0)
        self.buffer.truncate()
        self.curl.setopt(pycurl.URL, url)
        self.curl.perform()
        return self.curl.getinfo(pycurl.RESPONSE_CODE), len(self.buffer.getvalue())

    def get(self, url):
        self.curl.setopt(pycurl.HTTPGET, 1)
        return self._perform(url)

    def post(self, url, body):
        self.curl.setopt(pycurl.POSTFIELDS, body)
        return self._perform(url)

    def close(self):
        self.curl.close()


def open_sync(pool, http2):
    return Sync(http2)


UNSUPPORTED = {"async": "no asyncio API (CurlMulti needs a hand-written event loop)"}
