"""What is measured: the request scenarios, and the stream scenarios.

A request scenario is run by every client that supports it (``applies``),
each in its own process (workload.py), plus the practical limit of the
server and machine (limits.py): wrk for HTTP/1.1, h2load for HTTP/2; for
``async64`` also libcurl's multi interface driven by a small C program (the
best a libcurl-based client can do), on the system libcurl and on the
bundled one.
A transport scenario is a request scenario run by one client, httpx, with
each of the ``transports`` it names in turn (the httpx-transports peer).
Stream scenarios (SSE, 1 GiB down and up) compare fewer clients, named in
``STREAMS``, and use curl as the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import LIBCURL_CS
from servers import BODY_SIZES, JSON_BODY_BYTES


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    mode: str  # workload.py's mode: seq, threads, async, gather
    path: str = "/json"
    method: str = "GET"
    body_size: int = 0  # request body (POST)
    server: str = "http"  # http, https (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS)
    concurrency: int = 1
    gather: int = 0  # requests gathered at once (mode gather)
    transports: tuple = ()  # httpx transports compared, instead of the clients
    extra_limits: tuple = ()  # limit lines beside wrk/h2load (limits.LIBCURL_CS)

    @property
    def http2(self) -> bool:
        return self.server == "h2"

    @property
    def api(self) -> str:
        return "sync" if self.mode in ("seq", "threads") else "async"

    @property
    def expect_len(self) -> int:
        if self.path == "/upload":
            return 2  # "ok"
        if self.path.startswith("/bytes/"):
            return BODY_SIZES[self.path.rsplit("/", 1)[1]]
        return len(JSON_BODY_BYTES)

    @property
    def limit_tool(self) -> str | None:
        if self.mode == "gather":
            return None
        return "h2load" if self.http2 else "wrk"

    @property
    def limits(self) -> tuple:
        """Every limit line run beside the clients: the tool, then the extras."""
        return (self.limit_tool, *self.extra_limits) if self.limit_tool else self.extra_limits

    def applies(self, capabilities: dict) -> str | None:
        """None if a client with these capabilities runs this scenario, else why not."""
        if not capabilities.get(self.api):
            return capabilities.get("unsupported", {}).get(self.api, f"no {self.api} API")
        if self.http2 and "http2" in capabilities.get("unsupported", {}):
            return capabilities["unsupported"]["http2"]
        return None


def _body(size: str) -> Scenario:
    return Scenario(f"get_{size}", f"sync GET, {size.upper()}B body", "seq", f"/bytes/{size}")


def _post(key: str, label: str, size: int) -> Scenario:
    return Scenario(key, f"sync POST, {label} body", "seq", "/upload", "POST", size)


SCENARIOS = (
    Scenario("seq", "sync, sequential GETs of a small JSON body", "seq"),
    Scenario("threads8", "sync, 8 threads sharing one session", "threads", concurrency=8),
    Scenario(
        "async64",
        "async, 64 requests in flight",
        "async",
        concurrency=64,
        extra_limits=LIBCURL_CS,
    ),
    Scenario("async512", "async, 512 requests in flight", "async", concurrency=512),
    Scenario(
        "gather10k",
        "async, 10,000 requests gathered at once, 100 connections",
        "gather",
        concurrency=100,
        gather=10_000,
    ),
    *(_body(size) for size in ("1k", "100k", "1m", "10m")),
    _post("post_10k", "10 KB", 10_000),
    _post("post_1m", "1 MB", 1_000_000),
    Scenario("https", "sync, sequential GETs over HTTPS (keep-alive)", "seq", server="https"),
    Scenario("http2", "async, 64 streams over HTTP/2 (TLS)", "async", server="h2", concurrency=64),
    Scenario(
        "httpx_transports",
        "httpx.AsyncClient, 64 requests in flight, four transports",
        "async",
        concurrency=64,
        transports=("httpx", "httpx-aiohttp", "pyreqwest", "requestx"),
    ),
    # httpx-aiohttp has no sync transport.
    Scenario(
        "httpx_transports_sync",
        "httpx.Client, sequential GETs, three transports",
        "seq",
        transports=("httpx", "pyreqwest", "requestx"),
    ),
)
BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


@dataclass(frozen=True)
class Stream:
    key: str
    title: str
    mode: str  # workload.py's mode: sse, download, upload
    unit: str  # what per_s counts: "events" or "bytes"
    clients: tuple  # (peer, api) pairs; api: sync or async (upload: file or generator)


SSE_EVENTS = 100_000
BIG = BODY_SIZES["1g"]

STREAMS = (
    Stream(
        "sse",
        f"SSE: {SSE_EVENTS:,} small events",
        "sse",
        "events",
        (
            ("requestx", "sync"),
            ("requestx", "async"),
            ("httpx", "sync"),
            ("httpx", "async"),
            ("aiohttp", "async"),
        ),
    ),
    Stream(
        "download",
        "1 GiB streamed download",
        "download",
        "bytes",
        (("requestx", "sync"), ("requestx", "async")),
    ),
    Stream(
        "upload",
        "1 GiB streamed upload",
        "upload",
        "bytes",
        (("requestx", "file"), ("requestx", "generator")),
    ),
)
