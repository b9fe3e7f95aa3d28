"""Whole response bodies: the engine sizes its buffer from Content-Length and
keeps modest buffers with the connection between responses.  Whatever the
order of sizes and framings on one connection, every body must come back
exact, and an absurd Content-Length must neither be trusted nor allocated."""

from __future__ import annotations

import asyncio

import pytest
from servers.fault import SHORT_BODY, big_body

import requestx
from requestx import exceptions as exc

MIB = 1024 * 1024

# Sizes around the engine's thresholds: a kept buffer (1 MiB), a larger one
# that is given back, tiny and empty bodies between them.
SIZES = [MIB, 7, 1_000_000, 3 * MIB, 0, MIB + 1, 300_000, MIB]
PATHS = ["/big", "/big-chunked"]  # announced length (presized) or not


@pytest.mark.parametrize("path", PATHS)
def test_sync_bodies_of_mixed_sizes_on_one_connection(fault_server, path):
    with requestx.Session() as s:
        for size in SIZES:
            r = s.get(fault_server + f"{path}?size={size}")
            assert r.status_code == 200
            assert len(r.content) == size
            assert r.content == big_body(size)


@pytest.mark.parametrize("path", PATHS)
def test_async_bodies_of_mixed_sizes(fault_server, path):
    async def go():
        async with requestx.AsyncSession(max_connections=2) as s:
            sequential = [await s.get(fault_server + f"{path}?size={n}") for n in SIZES]
            together = await asyncio.gather(
                *(s.get(fault_server + f"{path}?size={n}") for n in SIZES)
            )
            return sequential + together

    responses = asyncio.run(go())
    for size, r in zip(SIZES + SIZES, responses):
        assert r.content == big_body(size), size


def test_sync_reused_buffer_does_not_leak_an_earlier_body(fault_server):
    """A 1 MiB body, then a shorter one: no stale bytes after its end."""
    with requestx.Session() as s:
        assert s.get(fault_server + f"/big?size={MIB}").content == big_body(MIB)
        r = s.get(fault_server + "/echo-raw")
        assert r.content.startswith(b"GET /echo-raw HTTP/1.1\r\n")
        assert r.content.endswith(b"\r\n\r\n")


# A terabyte announced, ten bytes sent: the presize is capped, so this is a
# quick broken-body error, not a failed (or successful) huge allocation.
TERABYTE = 1 << 40


def test_sync_absurd_content_length_is_a_broken_body(fault_server):
    with requestx.Session() as s:
        with pytest.raises(exc.RequestException):
            s.get(fault_server + f"/short?declared={TERABYTE}")
        r = s.get(fault_server + f"/short?declared={TERABYTE}", stream=True)
        with pytest.raises(exc.ChunkedEncodingError):
            b"".join(r.iter_content(None))
        assert s.get(fault_server + "/ok").text == "ok\n"


def test_async_absurd_content_length_is_a_broken_body(fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            with pytest.raises(exc.RequestException):
                await s.get(fault_server + f"/short?declared={TERABYTE}")
            return (await s.get(fault_server + "/ok")).text

    assert asyncio.run(go()) == "ok\n"


def test_short_body_bytes_are_what_was_sent_when_streamed(fault_server):
    """The stream yields the bytes that came, then fails: nothing invented."""
    r = requestx.get(fault_server + "/short?declared=5000", stream=True)
    got = b""
    with pytest.raises(exc.ChunkedEncodingError):
        for chunk in r.iter_content(None):
            got += chunk
    assert got == SHORT_BODY
