"""Move a big body through requestx and print JSON with the peak RSS growth
(ru_maxrss) and what the transfer delivered.

Usage: python memory_check.py SCENARIO BASE_URL SIZE [FILE]
  upload-generator   POST /upload from a generator of 64 KiB blocks (chunked)
  upload-file        POST /upload from an open file of SIZE bytes (Content-Length)
  download           GET /download?size=SIZE with stream=True and iter_content
  async-upload-generator   POST /upload on AsyncSession from an async generator
  async-upload-file        POST /upload on AsyncSession from an open file
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import resource
import sys

import requestx

BLOCK = bytes(range(256)) * 256  # the sink server's pattern


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def blocks(size: int):
    left = size
    while left:
        n = min(left, len(BLOCK))
        yield BLOCK[:n]
        left -= n


async def async_blocks(size: int):
    for block in blocks(size):
        yield block


async def async_upload(base: str, body) -> dict:
    async with requestx.AsyncSession() as s:
        return (await s.post(base + "/upload", data=body)).json()


def main() -> None:
    scenario, base, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session = requestx.Session()
    session.get(base + "/download?size=1").content  # warm up the engine
    before = peak_kib()
    result: dict = {}
    if scenario == "upload-generator":
        result = session.post(base + "/upload", data=blocks(size)).json()
    elif scenario == "upload-file":
        with open(sys.argv[4], "rb") as f:
            result = session.post(base + "/upload", data=f).json()
    elif scenario == "async-upload-generator":
        result = asyncio.run(async_upload(base, async_blocks(size)))
    elif scenario == "async-upload-file":
        with open(sys.argv[4], "rb") as f:
            result = asyncio.run(async_upload(base, f))
    elif scenario == "download":
        h = hashlib.sha256()
        count = 0
        with session.get(base + f"/download?size={size}", stream=True) as r:
            for chunk in r.iter_content(64 * 1024):
                h.update(chunk)
                count += len(chunk)
        result = {"bytes": count, "sha256": h.hexdigest()}
    result["growth_kib"] = peak_kib() - before
    print(json.dumps(result))


if __name__ == "__main__":
    main()
