"""Gather N GETs on one AsyncSession(max_connections=100) against the quick
HTTP server (tests/servers/quick_http.py) and print JSON with what the process
gained in RSS. Each response is dropped at once (status and length kept), as
in the benchmark's gather10k scenario.

Usage: python gather_memory_check.py SCENARIO BASE_URL [N]
  peak       the whole gather: peak RSS (VmHWM) over the RSS before it
  in-flight  the server holds every answer (/arm, /held) until all N are submitted:
             RSS once the N requests are in flight (one loop step after the
             tasks are made; nothing can have finished), over the RSS before;
             then /release, and the gather completes
  in-flight-api  the same with the module function: `await requestx.get(url)`
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from urllib.parse import urlsplit

import requestx

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_kib() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * PAGE // 1024


def peak_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def control(base: str, path: str) -> None:
    """GET ``path`` on a connection of its own (the session's may all be busy)."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: quick\r\n\r\n".encode("ascii"))
        sock.recv(4096)


async def main(scenario: str, base: str, n: int) -> dict:
    statuses: dict[int, int] = {}
    async with requestx.AsyncSession(max_connections=100) as s:
        get = requestx.get if scenario == "in-flight-api" else s.get

        async def one(url: str) -> None:
            r = await get(url)
            if len(r.content) != 5:
                raise AssertionError(f"body of {len(r.content)} bytes")
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        # start the engine thread and open the connections
        await asyncio.gather(*(one(base + "/") for _ in range(200)))
        statuses.clear()
        before = rss_kib()
        result: dict = {"n": n, "rss_before_kib": before}
        if scenario == "peak":
            await asyncio.gather(*(one(base + "/") for _ in range(n)))
            result["peak_kib"] = peak_kib()
            result["growth_kib"] = result["peak_kib"] - before
        elif scenario in ("in-flight", "in-flight-api"):
            control(base, "/arm")
            tasks = [asyncio.ensure_future(one(base + "/held")) for _ in range(n)]
            await asyncio.sleep(0)  # every task has run up to its first await
            result["growth_kib"] = rss_kib() - before
            control(base, "/release")
            await asyncio.gather(*tasks)
        else:
            raise SystemExit(f"unknown scenario {scenario!r}")
    result["statuses"] = statuses
    return result


if __name__ == "__main__":
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], count))))
