"""Input that would put something else on the wire, and replies that would
make a short or untrue response look whole: each is refused with a clear
exception (requests' where requests has one), on both faces."""

from __future__ import annotations

import pytest
from _helpers import parse_wire
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

import requestx
from requestx import exceptions as exc

# --------------------------------------------------------------------------
# what the caller gives


@pytest.mark.parametrize(
    "method",
    [
        "GET /x HTTP/1.1\r\nX-Injected: 1\r\nY:",  # the CVE-2020-26116 class
        "GET\r\nX-Injected: 1",
        "GET /x",
        "GE\x00T",
        "G\x7fET",
        "",
    ],
    ids=["request-line", "crlf", "space", "nul", "del", "empty"],
)
def test_a_method_with_spaces_or_control_characters_is_refused_before_sending(
    face, fault_server, method
):
    before = len(fault_server.requests)
    with pytest.raises(ValueError, match="method can't"):
        face.request(method, fault_server + "/echo-raw")
    assert len(fault_server.requests) == before  # nothing was sent


def test_prepare_request_refuses_such_a_method_too(fault_server):
    with pytest.raises(ValueError):
        requestx.Request("GET /x HTTP/1.1\r\nX: 1", fault_server + "/").prepare()


def test_custom_token_methods_still_go_out(face, fault_server):
    r = face.request("PURGE", fault_server + "/echo-raw")
    assert parse_wire(r.content).request_line == "PURGE /echo-raw HTTP/1.1"


@pytest.mark.parametrize(
    "path, wire",
    [
        ("/echo-raw/a\r\nX-Injected: 1", "/echo-raw/a%0D%0AX-Injected:%201"),
        ("/echo-raw/a\nb", "/echo-raw/a%0Ab"),
        ("/echo-raw/a\tb", "/echo-raw/a%09b"),
        ("/echo-raw?x=1\r\n2", "/echo-raw?x=1%0D%0A2"),
    ],
    ids=["crlf-header", "lf", "tab", "query"],
)
def test_cr_lf_and_tab_in_a_url_are_percent_encoded_as_requests_does(
    face, fault_server, path, wire
):
    # urlsplit alone drops them silently ("/a\r\nX" would go out as "/aX")
    r = face.request("GET", fault_server + path)
    assert parse_wire(r.content).request_line == f"GET {wire} HTTP/1.1"
    assert "\r" not in r.request.url and "\n" not in r.request.url


def test_cr_lf_in_a_host_is_an_invalid_url(face):
    with pytest.raises(exc.InvalidURL):
        face.request("GET", "http://exa\r\nmple.com/")


# --------------------------------------------------------------------------
# what a hostile server replies


def test_a_content_length_no_body_can_have_is_a_short_body_not_a_whole_one(face, fault_server):
    # libcurl drops a length it cannot represent and reads to the end: two
    # bytes would come back as the whole body (requests: ChunkedEncodingError)
    with pytest.raises(exc.ChunkedEncodingError) as info:
        face.request("GET", fault_server + "/length-overflow")
    assert "Content-Length" in str(info.value)
    assert info.value.error_type == "response_ended"


def test_a_streamed_body_under_such_a_length_fails_after_its_bytes(fault_server):
    with requestx.get(fault_server + "/length-overflow", stream=True) as r:
        chunks = []
        with pytest.raises(exc.ChunkedEncodingError):
            for chunk in r.iter_content(1):
                chunks.append(chunk)
    assert b"".join(chunks) == b"ab"


def test_a_header_block_over_the_limit_says_so(face, fault_server):
    with pytest.raises(exc.ConnectionError) as info:
        face.request("GET", fault_server + "/huge-headers")
    assert "header block is larger than" in str(info.value)
    assert info.value.error_type == "http_protocol_error"


def test_a_large_header_block_under_the_limit_is_read(face, fault_server):
    r = face.request("GET", fault_server + "/huge-headers?kib=200")
    assert r.status_code == 200
    assert r.text == "ok"
    assert len([name for name in r.headers if name.startswith("X-Filler-")]) == 200
