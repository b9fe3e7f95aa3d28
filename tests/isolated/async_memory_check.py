"""Stream a big body through AsyncSession with a slow consumer and print JSON
with the peak RSS growth (ru_maxrss) and what arrived.

Usage: python async_memory_check.py BASE_URL SIZE [DELAY_PER_CHUNK]
  GET BASE_URL/download?size=SIZE as an async stream, read with
  aiter_content(64 KiB), sleeping DELAY_PER_CHUNK seconds (default 0.001)
  after each chunk, so the server can send far faster than it is consumed:
  without back-pressure the body would pile up in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import resource
import sys
import time

import requestx


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def main(base: str, size: int, delay: float) -> dict:
    async with requestx.AsyncSession() as s:
        warm = await s.get(base + "/download?size=1")  # start the engine thread
        assert warm.content == b"\x00"
        before = peak_kib()
        h = hashlib.sha256()
        count = chunks = biggest = 0
        started = time.monotonic()
        async with s.stream("GET", base + f"/download?size={size}") as r:
            async for chunk in r.aiter_content(64 * 1024):
                h.update(chunk)
                count += len(chunk)
                chunks += 1
                biggest = max(biggest, len(chunk))
                await asyncio.sleep(delay)
        return {
            "bytes": count,
            "sha256": h.hexdigest(),
            "chunks": chunks,
            "biggest": biggest,
            "seconds": time.monotonic() - started,
            "growth_kib": peak_kib() - before,
        }


if __name__ == "__main__":
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.001
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2]), delay))))
