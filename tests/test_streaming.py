"""stream=True: return at headers, deliver data as it arrives, and leave the
Session usable when a stream is closed or abandoned mid-body.

/slow-chunks?gate=T sends its first chunk and then waits until the test opens
gate T (or 3 s pass) before sending the second, so "the client had the first
chunk before the server sent the second" is checked without timing guesses.
"""

from __future__ import annotations

import gc

import pytest
from _helpers import token, wait_until
from servers.fault import SLOW_FIRST, SLOW_SECOND, big_body

import requestx


def _gated(fault_server):
    t = token()
    return fault_server + f"/slow-chunks?gate={t}", fault_server.gate(t)


def test_stream_returns_at_headers(fault_server):
    url, gate = _gated(fault_server)
    try:
        r = requestx.get(url, stream=True)
        assert r.status_code == 200
        assert not gate.second_sent.is_set()
    finally:
        gate.open()
    r.close()


def test_iter_content_delivers_first_chunk_before_second_is_sent(fault_server):
    url, gate = _gated(fault_server)
    try:
        r = requestx.get(url, stream=True)
        received = b""
        chunks = r.iter_content(chunk_size=None)
        while len(received) < len(SLOW_FIRST):
            received += next(chunks)
        assert received == SLOW_FIRST
        assert not gate.second_sent.is_set()
    finally:
        gate.open()
    assert received + b"".join(chunks) == SLOW_FIRST + SLOW_SECOND


def test_iter_content_small_chunks_arrive_before_second_is_sent(fault_server):
    url, gate = _gated(fault_server)
    try:
        r = requestx.get(url, stream=True)
        chunks = r.iter_content(chunk_size=1)
        received = b"".join(next(chunks) for _ in range(len(SLOW_FIRST)))
        assert received == SLOW_FIRST
        assert not gate.second_sent.is_set()
    finally:
        gate.open()
    assert b"".join(chunks) == SLOW_SECOND


def test_iter_lines_delivers_lines_before_second_chunk_is_sent(fault_server):
    url, gate = _gated(fault_server)
    try:
        r = requestx.get(url, stream=True)
        lines = r.iter_lines()
        first_two = [next(lines), next(lines)]
        assert first_two == [b"alpha", b"beta"]
        assert not gate.second_sent.is_set()
    finally:
        gate.open()
    assert list(lines) == [b"gamma"]


def test_module_level_stream_is_readable_after_call_returns(fault_server):
    """requestx.get() closes its own Session on return; a streamed response
    must still deliver its whole body afterwards."""
    r = requestx.get(fault_server + "/big?size=1000000", stream=True)
    gc.collect()
    assert b"".join(r.iter_content(65536)) == big_body(1000000)


def test_stream_content_reads_whole_body(fault_server):
    r = requestx.get(fault_server + "/big?size=1000000", stream=True)
    assert r.content == big_body(1000000)


def test_stream_chunked_body_reassembles(fault_server):
    r = requestx.get(fault_server + "/big-chunked?size=500000", stream=True)
    assert b"".join(r.iter_content(65536)) == big_body(500000)


def test_stream_raw_read_returns_bytes(fault_server):
    r = requestx.get(fault_server + "/big?size=4096", stream=True)
    assert r.raw.read(100) == big_body(100)
    r.close()


# ---------------------------------------------------------------------------
# closing or abandoning a stream
# ---------------------------------------------------------------------------


def test_closing_stream_mid_body_leaves_session_working(session, fault_server, httpbin):
    r = session.get(fault_server + "/big", stream=True)
    assert next(r.iter_content(1024)) == big_body(1024)
    r.close()
    assert session.get(httpbin + "/get").status_code == 200
    assert session.get(fault_server + "/big?size=5000").content == big_body(5000)


def test_closing_stream_mid_body_closes_its_connection(session, fault_server):
    t = token()
    r = session.get(fault_server + f"/big?t={t}", stream=True)
    next(r.iter_content(1024))
    r.close()
    [received] = fault_server.requests_with(t)
    assert wait_until(lambda: received.conn_id not in fault_server.open_connection_ids())


def test_abandoning_stream_mid_body_leaves_session_working(session, fault_server, httpbin):
    r = session.get(fault_server + "/big", stream=True)
    next(r.iter_content(1024))
    del r
    gc.collect()
    assert session.get(httpbin + "/get").status_code == 200
    assert session.get(fault_server + "/big?size=5000").content == big_body(5000)


def test_unread_stream_does_not_block_next_request_to_same_host(session, fault_server):
    r1 = session.get(fault_server + "/big?size=200000", stream=True)
    r2 = session.get(fault_server + "/big?size=3000")
    assert r2.content == big_body(3000)
    assert r1.content == big_body(200000)


def test_two_open_streams_on_one_session_interleave(session, fault_server):
    a = session.get(fault_server + "/big?size=300000", stream=True)
    b = session.get(fault_server + "/big-chunked?size=300000", stream=True)
    ia, ib = a.iter_content(10000), b.iter_content(10000)
    got = {"a": b"", "b": b""}
    live = {"a": ia, "b": ib}
    while live:  # one chunk from each open stream in turn
        for name in list(live):
            part = next(live[name], None)
            if part is None:
                del live[name]
            else:
                got[name] += part
    got_a, got_b = got["a"], got["b"]
    assert got_a == big_body(300000)
    assert got_b == big_body(300000)


def test_closing_stream_inside_context_manager_leaves_session_working(session, fault_server):
    with session.get(fault_server + "/big", stream=True) as r:
        next(r.iter_content(4096))
    assert session.get(fault_server + "/ok").text == "ok\n"


def test_stream_closed_before_reading_leaves_session_working(session, fault_server):
    r = session.get(fault_server + "/big", stream=True)
    r.close()
    assert session.get(fault_server + "/ok").text == "ok\n"


def test_fully_read_stream_returns_connection_to_pool(session, fault_server):
    first = session.get(fault_server + "/conn-id", stream=True)
    conn_a = first.content.split()[0]
    second = session.get(fault_server + "/conn-id")
    assert second.text.split()[0] == conn_a.decode()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_stream_iter_content_yields_decoded_data(fault_server, encoding):
    r = requestx.get(fault_server + f"/{encoding}", stream=True)
    body = b"".join(r.iter_content(64))
    assert body.startswith(b'{"encoding": "' + encoding.encode())
