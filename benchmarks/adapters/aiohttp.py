"""aiohttp: one ClientSession, TCPConnector(limit=concurrency); SSE by
splitting the body into lines (aiohttp has no SSE parser)."""

import aiohttp

NAME = "aiohttp"


def version() -> str:
    from aiohttp import http_parser

    compiled = http_parser.HttpResponseParser is not http_parser.HttpResponseParserPy
    return f"{aiohttp.__version__} ({'C' if compiled else 'pure-Python'} parser)"


class Async:
    def __init__(self, pool) -> None:
        connector = aiohttp.TCPConnector(limit=pool, ssl=False)
        self.session = aiohttp.ClientSession(connector=connector)
        self.setup = f"ClientSession(connector=TCPConnector(limit={connector.limit}, ssl=False))"

    async def get(self, url):
        async with self.session.get(url) as r:
            return r.status, len(await r.read())

    async def post(self, url, body):
        async with self.session.post(url, data=body) as r:
            return r.status, len(await r.read())

    async def close(self):
        await self.session.close()


async def open_async(pool, http2):
    return Async(pool)


async def sse_async(url):
    """Events are counted at each blank line, as an SSE parser ends them;
    the field lines are split off (what a hand-written parser has to do)."""
    count = 0
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        async for line in r.content:
            line = line.rstrip(b"\r\n")
            if not line:
                count += 1
            else:
                _field, _sep, _value = line.partition(b":")
    return count


UNSUPPORTED = {"sync": "asyncio only", "http2": "HTTP/1.1 only"}
