"""Sessions with requests' shape, shared by the adapters of such peers.

requestx, requests, httpx, curl_cffi, niquests and httpr all answer
``session.get(url)`` / ``session.post(url, <body keyword>=body)`` with a
response that has ``status_code`` and ``content``; these two classes drive any
of them.  ``options`` are keywords every call gets (bound once, so a call costs
what the user's own call would).
"""

from functools import partial


def _bind(method, options: dict):
    return partial(method, **options) if options else method


class SyncSession:
    def __init__(self, session, setup: str, body: str = "data", options=None) -> None:
        self.session, self.setup, self.body = session, setup, body
        self._get = _bind(session.get, options or {})
        self._post = _bind(session.post, options or {})

    def get(self, url):
        r = self._get(url)
        return r.status_code, len(r.content)

    def post(self, url, body):
        r = self._post(url, **{self.body: body})
        return r.status_code, len(r.content)

    def close(self):
        self.session.close()


class AsyncSession:
    def __init__(self, session, setup: str, body: str = "data", options=None, close="close"):
        self.session, self.setup, self.body = session, setup, body
        self._get = _bind(session.get, options or {})
        self._post = _bind(session.post, options or {})
        self._close = getattr(session, close)

    async def get(self, url):
        r = await self._get(url)
        return r.status_code, len(r.content)

    async def post(self, url, body):
        r = await self._post(url, **{self.body: body})
        return r.status_code, len(r.content)

    async def close(self):
        await self._close()
