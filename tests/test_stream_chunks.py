"""The chunks of a fast stream are bytes objects the engine wrote into
directly (requestx/_engine/lend.h): once a read brings 256 KiB or more, the
reader lends the transfer a bytes object, hands that same object out, and
lends it again once the caller has dropped it.

What a caller must see is ordinary bytes: a chunk kept (or viewed through a
memoryview) never changes afterwards, a recycled chunk's content and hash are
its own, nothing is lost or reordered when the stream slows down again, and
leaving a stream in the middle works. /counting bodies number every 8-byte
word with its offset, so a byte out of place shows. Sync and async.
"""

from __future__ import annotations

import asyncio
import functools
import time

import pytest
from servers.fault import counting_body

import requestx

SIZE = 16 * 1024 * 1024
FAST = 256 * 1024  # a read this large switches lending on


@functools.lru_cache(maxsize=4)
def expected(size: int) -> bytes:
    return counting_body(size)


def read_sync(url: str, consume, chunk_size=None) -> None:
    """Read ``url``, pausing after the first chunk so that the socket fills
    and the next read is a large one; ``consume(chunk)`` sees every chunk."""
    with requestx.Session() as s, s.get(url, stream=True) as r:
        for i, chunk in enumerate(r.iter_content(chunk_size)):
            consume(chunk)
            if i == 0:
                time.sleep(0.2)


def read_async(url: str, consume, chunk_size=None) -> None:
    async def go():
        async with requestx.AsyncSession() as s:
            r = await s.get(url, stream=True)
            i = 0
            async for chunk in r.aiter_content(chunk_size):
                consume(chunk)
                if i == 0:
                    await asyncio.sleep(0.2)
                i += 1

    asyncio.run(go())


READERS = {"sync": read_sync, "async": read_async}


@pytest.fixture(params=sorted(READERS))
def read(request):
    return READERS[request.param]


def test_kept_chunks_never_change(fault_server, read):
    chunks = []
    read(fault_server + f"/counting?size={SIZE}", chunks.append)
    assert max(map(len, chunks)) >= FAST  # the lending path was taken
    assert b"".join(chunks) == expected(SIZE)


def test_dropped_chunks_come_back_with_their_own_content_and_hash(fault_server, read):
    body = expected(SIZE)
    seen = {"offset": 0, "big": 0}
    hashes = {}

    def check(chunk):
        start = seen["offset"]
        assert chunk == body[start : start + len(chunk)]
        # the hash of a recycled object is recomputed, never a stale one
        assert hash(chunk) == hash(bytes(bytearray(chunk)))
        hashes[chunk] = start  # caches the hash inside the object
        hashes.clear()
        seen["offset"] += len(chunk)
        seen["big"] += len(chunk) >= FAST

    read(fault_server + f"/counting?size={SIZE}", check)
    assert seen["offset"] == SIZE
    assert seen["big"] >= 4  # enough large chunks for objects to be lent again


def test_a_chunk_seen_through_a_memoryview_is_not_reused(fault_server, read):
    views = []
    read(fault_server + f"/counting?size={SIZE}", lambda chunk: views.append(memoryview(chunk)))
    assert b"".join(v.tobytes() for v in views) == expected(SIZE)


def test_a_stream_that_slows_down_loses_nothing(fault_server, read):
    # 8 MiB at once, then 64 KiB in 512-byte pieces: lending stops, and the
    # bytes written into a lent object before that are handed out in order
    size = 8 * 1024 * 1024 + 64 * 1024
    chunks = []
    read(fault_server + f"/counting?size={size}&trickle={64 * 1024}", chunks.append)
    assert b"".join(chunks) == expected(size)
    assert min(map(len, chunks[-8:])) < FAST


def test_fixed_chunk_size_over_lent_chunks(fault_server, read):
    chunks = []
    read(fault_server + f"/counting?size={SIZE}", chunks.append, chunk_size=100_000)
    assert max(map(len, chunks)) == 100_000  # large arrivals cut to size
    assert b"".join(chunks) == expected(SIZE)


class Stop(Exception):
    pass


def test_leaving_a_lending_stream_keeps_the_session_working(fault_server):
    got = []

    def stop_when_fast(chunk):
        got.append(len(chunk))
        if len(chunk) >= FAST:
            raise Stop

    with requestx.Session() as s:
        with pytest.raises(Stop), s.get(fault_server + f"/counting?size={SIZE}", stream=True) as r:
            for i, chunk in enumerate(r.iter_content(None)):
                stop_when_fast(chunk)
                if i == 0:
                    time.sleep(0.2)
        assert s.get(fault_server + "/counting?size=1000").content == expected(1000)


def test_dropping_a_lending_async_stream_keeps_the_session_working(fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            r = await s.get(fault_server + f"/counting?size={SIZE}", stream=True)
            first = True
            async for chunk in r.aiter_content(None):
                if first:
                    await asyncio.sleep(0.2)
                    first = False
                elif len(chunk) >= FAST:
                    break
            del r, chunk  # dropped unread, a bytes object still lent to it
            r2 = await s.get(fault_server + "/counting?size=1000")
            return r2.content

    assert asyncio.run(go()) == expected(1000)
