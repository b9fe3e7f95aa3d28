"""What goes over the wire: default headers (checked with /echo-raw) and
transparent decompression of response bodies."""

from __future__ import annotations

import json

import pytest
import requests
from _helpers import parse_wire, token

import requestx

# ---------------------------------------------------------------------------
# default request headers
# ---------------------------------------------------------------------------


def _wire(fault_server, **kwargs):
    return parse_wire(requestx.get(fault_server + "/echo-raw", **kwargs).content)


@pytest.mark.requestx_only
def test_user_agent_names_requestx_and_its_version(fault_server):
    assert f"requestx/{requestx.__version__}" in _wire(fault_server).get("User-Agent")


def test_exactly_one_user_agent_is_sent(fault_server):
    assert len(_wire(fault_server).get_all("User-Agent")) == 1


def test_accept_is_any(fault_server):
    assert _wire(fault_server).get_all("Accept") == ["*/*"]


def test_connection_keep_alive_is_sent(fault_server):
    assert _wire(fault_server).get("Connection") == "keep-alive"


def test_host_header_has_host_and_port(fault_server):
    assert _wire(fault_server).get_all("Host") == [f"127.0.0.1:{fault_server.port}"]


def _accept_encoding_tokens(wire):
    values = wire.get_all("Accept-Encoding")
    assert len(values) == 1
    return [t.strip() for t in values[0].split(",")]


def test_accept_encoding_lists_gzip_deflate_br(fault_server):
    tokens = _accept_encoding_tokens(_wire(fault_server))
    assert {"gzip", "deflate", "br"} <= set(tokens)


@pytest.mark.requestx_only
def test_accept_encoding_lists_zstd(fault_server):
    assert "zstd" in _accept_encoding_tokens(_wire(fault_server))


@pytest.mark.requestx_only
def test_accept_encoding_is_requests_style_list(fault_server):
    assert _wire(fault_server).get("Accept-Encoding") == "gzip, deflate, br, zstd"


def test_plain_get_sends_the_same_header_names_as_requests(fault_server):
    ours = _wire(fault_server).names
    theirs = parse_wire(requests.get(fault_server + "/echo-raw").content).names
    assert ours == theirs


def test_request_line_uses_origin_form_and_http11(fault_server):
    wire = _wire(fault_server, params={"a": "1"})
    assert wire.request_line == "GET /echo-raw?a=1 HTTP/1.1"


def test_large_post_does_not_send_expect_continue(fault_server):
    t = token()
    payload = b"z" * (2 * 1024 * 1024)
    r = requestx.post(fault_server + f"/echo-head?t={t}", data=payload)
    wire = parse_wire(r.content)
    assert "expect" not in wire.names
    [received] = fault_server.requests_with(t)
    assert received.body == payload


def test_json_post_headers_on_wire(fault_server):
    r = requestx.post(fault_server + "/echo-raw", json={"a": 1})
    wire = parse_wire(r.content)
    assert wire.get("Content-Type") == "application/json"
    assert wire.get("Content-Length") == str(len(wire.body))


def test_binary_body_round_trips_exactly(fault_server):
    payload = bytes(range(256)) * 64
    r = requestx.put(fault_server + "/echo-raw", data=payload)
    assert parse_wire(r.content).body == payload


def test_session_default_headers_are_on_the_wire(session, fault_server):
    wire = parse_wire(session.get(fault_server + "/echo-raw").content)
    for name, value in session.headers.items():
        assert wire.get(name) == value, name


# ---------------------------------------------------------------------------
# decompression
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
def test_compressed_body_is_decoded(fault_server, encoding):
    r = requestx.get(fault_server + f"/{encoding}")
    assert r.json()["encoding"] == encoding


@pytest.mark.requestx_only
def test_zstd_body_is_decoded(fault_server):
    assert requestx.get(fault_server + "/zstd").json()["encoding"] == "zstd"


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_content_encoding_header_is_kept(fault_server, encoding):
    r = requestx.get(fault_server + f"/{encoding}")
    assert r.headers["Content-Encoding"] == encoding


def test_httpbin_gzip_is_decoded(httpbin):
    assert requestx.get(httpbin + "/gzip").json()["gzipped"] is True


def test_httpbin_deflate_is_decoded(httpbin):
    assert requestx.get(httpbin + "/deflate").json()["deflated"] is True


def test_httpbin_brotli_is_decoded(httpbin):
    assert requestx.get(httpbin + "/brotli").json()["brotli"] is True


def test_decoded_text_is_the_payload(fault_server):
    from servers.fault import compressed_payload

    r = requestx.get(fault_server + "/gzip")
    assert json.loads(r.text) == json.loads(compressed_payload("gzip"))


def test_corrupt_gzip_raises_content_decoding_error(fault_server):
    with pytest.raises(requestx.exceptions.ContentDecodingError):
        requestx.get(fault_server + "/bad-gzip")


def test_identity_body_is_untouched(fault_server):
    r = requestx.get(fault_server + "/big?size=4096")
    assert "Content-Encoding" not in r.headers
    assert len(r.content) == 4096


# ---------------------------------------------------------------------------
# header lines are validated and encoded once per (name, value), then reused
# ---------------------------------------------------------------------------


def test_posts_of_many_lengths_each_send_their_own_content_length(fault_server):
    """More distinct Content-Length values than the line cache holds: every
    request still carries its own, and the body it announces."""
    with requestx.Session() as s:
        for n in range(0, 1300, 2):
            wire = parse_wire(s.post(fault_server + "/echo-raw", data=b"x" * n).content)
            lengths = [v for k, v in wire.headers if k.lower() == "content-length"]
            assert lengths == [str(n)]
            assert wire.body == b"x" * n


def test_the_same_headers_with_and_without_a_body(fault_server):
    with requestx.Session() as s:
        for _ in range(3):
            got = parse_wire(s.get(fault_server + "/echo-raw", headers={"X-A": "1"}).content)
            assert ("X-A", "1") in got.headers
            assert not any(k.lower() == "content-length" for k, _ in got.headers)
            sent = parse_wire(
                s.post(fault_server + "/echo-raw", headers={"X-A": "1"}, data=b"abc").content
            )
            assert ("X-A", "1") in sent.headers and ("Content-Length", "3") in sent.headers
            assert sent.body == b"abc"


@pytest.mark.parametrize(
    "bad",
    [{"X-Good": "ok\r\nX-Injected: 1"}, {"X-Good": ["a", "list"]}, {"X-Good": b" lead"}],
    ids=["crlf", "unhashable", "bytes-leading-space"],
)
def test_a_bad_value_after_good_ones_under_the_same_name_still_raises(isolated_fault_server, bad):
    with requestx.Session() as s:
        for _ in range(3):
            s.get(isolated_fault_server + "/echo-raw", headers={"X-Good": "ok"})
        received = len(isolated_fault_server.requests)
        with pytest.raises(requestx.exceptions.InvalidHeader):
            s.post(isolated_fault_server + "/echo-raw", headers=bad, data=b"1")
        assert len(isolated_fault_server.requests) == received
