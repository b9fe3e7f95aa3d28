"""httpr: Rust client behind an httpx-like Client; its AsyncClient runs the
sync client on a thread pool of max_concurrency threads (= concurrency)."""

from importlib.metadata import version as dist_version

import httpr

from .requests_like import AsyncSession, SyncSession

NAME = "httpr"


def version() -> str:
    return dist_version("httpr")


def open_sync(pool, http2):
    client = httpr.Client(verify=False, http1_only=not http2)
    return SyncSession(client, f"Client(verify=False, http1_only={not http2})", body="content")


async def open_async(pool, http2):
    client = httpr.AsyncClient(max_concurrency=pool, verify=False, http1_only=not http2)
    setup = f"AsyncClient(max_concurrency={pool}, verify=False, http1_only={not http2})"
    return AsyncSession(client, setup, body="content", close="aclose")
