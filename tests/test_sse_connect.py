"""requestx.sse.connect / aconnect: the EventSource helpers. They ask for an
event stream (Accept, Cache-Control), refuse anything else, and with
reconnect=True open a dropped stream again with Last-Event-ID after the
server's retry delay."""

from __future__ import annotations

import asyncio
import time

import pytest
from servers.eventstream import EventStreamServer, Reply

import requestx
from requestx.sse import SSEError, aconnect, connect


def _events(source) -> list[tuple[str, str]]:
    return [(e.id, e.data) for e in source.iter_sse()]


def test_connect_asks_for_an_event_stream_and_yields_its_events():
    with EventStreamServer([Reply(b"id: 1\ndata: a\n\ndata: b\n\n")]) as server:
        with requestx.Session() as s, connect(s, "GET", server.url + "/feed") as source:
            assert source.response.status_code == 200
            assert _events(source) == [("1", "a"), ("1", "b")]
    (head,) = server.requests  # no reconnection unless asked for
    assert head[":request"] == "GET /feed HTTP/1.1"
    assert head["accept"] == "text/event-stream"
    assert head["cache-control"] == "no-store"
    assert "last-event-id" not in head


def test_callers_headers_and_arguments_are_kept():
    with EventStreamServer([Reply(b"data: x\n\n")]) as server:
        with requestx.Session() as s:
            with connect(
                s,
                "POST",
                server.url + "/chat",
                headers={"Accept": "text/event-stream; q=1", "X-Key": "k"},
                json={"q": 1},
                last_event_id="41",
            ) as source:
                assert _events(source) == [("41", "x")]  # the given id is carried on
    head = server.requests[0]
    assert head[":request"] == "POST /chat HTTP/1.1"
    assert head["accept"] == "text/event-stream; q=1"
    assert head["x-key"] == "k"
    assert head["content-type"] == "application/json"
    assert head["last-event-id"] == "41"


def test_another_content_type_is_an_sse_error():
    with EventStreamServer([Reply(b"<html>", content_type="text/html")]) as server:
        with requestx.Session() as s:
            with pytest.raises(SSEError, match="text/html") as info:
                connect(s, "GET", server.url, reconnect=True)
    assert isinstance(info.value, requestx.RequestException)
    assert info.value.response.status_code == 200
    assert len(server.requests) == 1  # never retried


def test_an_error_status_raises_http_error():
    with EventStreamServer([Reply(b"down", status=503, content_type="text/plain")]) as server:
        with requestx.Session() as s:
            with pytest.raises(requestx.HTTPError) as info:
                connect(s, "GET", server.url, reconnect=True)
    assert info.value.response.status_code == 503


def test_204_means_no_events_and_no_reconnection():
    with EventStreamServer([Reply(status=204)]) as server:
        with requestx.Session() as s, connect(s, "GET", server.url, reconnect=True) as source:
            assert _events(source) == []
    assert len(server.requests) == 1


def test_reconnects_with_last_event_id_after_the_servers_retry_delay():
    scripts = [
        Reply(b"retry: 200\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n"),
        Reply(b"data: c\n\nid: 3\ndata: d\n\n"),
        Reply(status=204),  # the server says: stop
    ]
    with EventStreamServer(scripts) as server:
        with requestx.Session() as s:
            # retry=30 would time the test out: the server's 200 ms must win
            with connect(s, "GET", server.url, reconnect=True, retry=30) as source:
                seen = []
                for event in source.iter_sse():
                    seen.append((event.id, event.data, time.monotonic()))
    assert [(i, d) for i, d, _ in seen] == [("1", "a"), ("2", "b"), ("2", "c"), ("3", "d")]
    assert seen[2][2] - seen[1][2] >= 0.2  # waited as the retry field asked
    assert [r.get("last-event-id") for r in server.requests] == [None, "2", "3"]
    assert source.retry == 0.2


def test_reconnects_after_a_reset_mid_stream():
    scripts = [
        Reply(b"retry: 10\nid: 7\ndata: a\n\n", end="reset"),
        Reply(b"id: 8\ndata: b\n\n"),
        Reply(status=204),
    ]
    with EventStreamServer(scripts) as server:
        with requestx.Session() as s, connect(s, "GET", server.url, reconnect=True) as source:
            assert _events(source) == [("7", "a"), ("8", "b")]
    assert server.requests[1]["last-event-id"] == "7"


def test_without_reconnect_a_reset_raises():
    with EventStreamServer([Reply(b"data: a\n\n", end="reset")]) as server:
        with requestx.Session() as s, connect(s, "GET", server.url) as source:
            events = source.iter_sse()
            assert next(events).data == "a"
            # a body cut off mid-way: requests' ChunkedEncodingError
            with pytest.raises(requestx.exceptions.ChunkedEncodingError):
                next(events)


def test_max_retries_bounds_failed_reconnections():
    scripts = [Reply(b"retry: 10\ndata: a\n\n"), Reply(end="refuse")]
    with EventStreamServer(scripts) as server:
        with requestx.Session() as s:
            source = connect(s, "GET", server.url, reconnect=True, max_retries=2)
            events = source.iter_sse()
            assert next(events).data == "a"
            with pytest.raises(requestx.ConnectionError):
                next(events)
    assert len(server.requests) == 3  # the stream, then two attempts


def test_bad_arguments_fail_before_sending():
    with EventStreamServer([Reply(b"data: a\n\n")]) as server:
        with requestx.Session() as s:
            with pytest.raises(ValueError, match="retry"):
                connect(s, "GET", server.url, retry=-1)
            with pytest.raises(ValueError, match="max_retries"):
                connect(s, "GET", server.url, max_retries=-1)
    assert server.requests == []


def test_aconnect_reconnects_with_last_event_id():
    scripts = [
        Reply(b"retry: 10\nid: 1\ndata: a\n\n"),
        Reply(b"id: 2\ndata: b\n\n"),
        Reply(status=204),
    ]

    async def main(url):
        async with requestx.AsyncSession() as s:
            async with aconnect(s, "GET", url, reconnect=True) as source:
                return [(e.id, e.data) async for e in source.aiter_sse()]

    with EventStreamServer(scripts) as server:
        assert asyncio.run(main(server.url)) == [("1", "a"), ("2", "b")]
    assert [r.get("last-event-id") for r in server.requests] == [None, "1", "2"]
    assert server.requests[0]["accept"] == "text/event-stream"


def test_aconnect_refuses_another_content_type():
    async def main(url):
        async with requestx.AsyncSession() as s:
            with pytest.raises(SSEError):
                async with aconnect(s, "GET", url):
                    pass

    with EventStreamServer([Reply(b"{}", content_type="application/json")]) as server:
        asyncio.run(main(server.url))


def test_aconnect_first_event_arrives_while_the_stream_stays_open():
    async def main(url):
        async with requestx.AsyncSession() as s:
            source = await aconnect(s, "GET", url)
            try:
                events = source.aiter_sse()
                first = await asyncio.wait_for(events.__anext__(), 5)
                await events.aclose()
                return first.data
            finally:
                await source.aclose()

    with EventStreamServer([Reply(b"data: now\n\n", end="hold")]) as server:
        assert asyncio.run(main(server.url)) == "now"
