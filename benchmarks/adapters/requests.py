"""requests: one Session, its HTTPAdapter pool sized to the threads."""

import requests
import urllib3

from .requests_like import SyncSession

NAME = "requests"

urllib3.disable_warnings()


def version() -> str:
    return f"{requests.__version__} (urllib3 {urllib3.__version__})"


def open_sync(pool, http2):
    size = max(pool, 10)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # verify=False on each call: REQUESTS_CA_BUNDLE in the environment would
    # override Session.verify (requests' documented precedence).
    setup = f"Session() with HTTPAdapter(pool_maxsize={size}), verify=False"
    return SyncSession(session, setup, options={"verify": False})


UNSUPPORTED = {"async": "no asyncio API", "http2": "HTTP/1.1 only"}
