"""requests: one Session, its HTTPAdapter pool sized to the threads."""

import requests
import urllib3

NAME = "requests"

urllib3.disable_warnings()


def version() -> str:
    return f"{requests.__version__} (urllib3 {urllib3.__version__})"


class Sync:
    def __init__(self, pool: int) -> None:
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(pool, 10))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # verify=False on each call: REQUESTS_CA_BUNDLE in the environment
        # would override Session.verify (requests' documented precedence).
        self.setup = f"Session() with HTTPAdapter(pool_maxsize={max(pool, 10)}), verify=False"

    def get(self, url):
        r = self.session.get(url, verify=False)
        return r.status_code, len(r.content)

    def post(self, url, body):
        r = self.session.post(url, data=body, verify=False)
        return r.status_code, len(r.content)

    def close(self):
        self.session.close()


def open_sync(pool, http2):
    return Sync(pool)


UNSUPPORTED = {"async": "no asyncio API", "http2": "HTTP/1.1 only"}
