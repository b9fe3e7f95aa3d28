"""requestx.Response: every attribute and method of requests.Response."""

from __future__ import annotations

import datetime
import decimal

import pytest
from _helpers import parse_wire
from servers.fault import CHARSET_TEXT, LINK_HEADER, MULTI_VALUES, UNICODE_TEXT, big_body

import requestx

# ---------------------------------------------------------------------------
# status line
# ---------------------------------------------------------------------------


def test_status_code(httpbin):
    assert requestx.get(httpbin + "/status/418").status_code == 418


def test_reason_is_the_standard_phrase(httpbin):
    assert requestx.get(httpbin + "/status/404").reason == "NOT FOUND"


def test_reason_is_taken_from_the_status_line(fault_server):
    r = requestx.get(fault_server + "/reason")
    assert r.status_code == 299
    assert r.reason == "Totally Fine"


@pytest.mark.parametrize(("status", "ok"), [(200, True), (204, True), (399, True), (400, False)])
def test_ok_reflects_status(fault_server, status, ok):
    assert requestx.get(fault_server + f"/status/{status}").ok is ok


@pytest.mark.parametrize(("status", "truth"), [(200, True), (404, False), (500, False)])
def test_bool_is_ok(httpbin, status, truth):
    assert bool(requestx.get(httpbin + f"/status/{status}")) is truth


def test_repr_shows_status(httpbin):
    assert repr(requestx.get(httpbin + "/status/418")) == "<Response [418]>"


# ---------------------------------------------------------------------------
# headers
# ---------------------------------------------------------------------------


def test_headers_are_case_insensitive(httpbin):
    r = requestx.get(httpbin + "/get")
    assert r.headers["content-type"] == r.headers["CONTENT-TYPE"] == "application/json"
    assert "Content-Type" in r.headers
    assert "cOnTeNt-TyPe" in r.headers


def test_headers_are_a_case_insensitive_dict(httpbin):
    r = requestx.get(httpbin + "/get")
    assert isinstance(r.headers, requestx.structures.CaseInsensitiveDict)


def test_repeated_header_fields_are_joined_with_comma(fault_server):
    r = requestx.get(fault_server + "/multi-header")
    assert r.headers["X-Multi"] == ", ".join(MULTI_VALUES)


def test_repeated_fields_with_different_case_are_joined(fault_server):
    r = requestx.get(fault_server + "/mixed-case-dup")
    assert r.headers["x-dup"] == "lower, upper, title"


def test_latin1_header_bytes_are_decoded_as_latin1(fault_server):
    assert requestx.get(fault_server + "/latin1-header").headers["X-Latin"] == "café crème"


def test_interim_100_response_is_skipped(fault_server):
    r = requestx.get(fault_server + "/continue-first")
    assert r.status_code == 200
    assert r.text == "after continue\n"
    assert r.headers["X-Final"] == "yes"
    assert "X-Interim" not in r.headers


def test_trailer_fields_are_not_response_headers(fault_server):
    r = requestx.get(fault_server + "/chunked-trailers")
    assert r.text == "body with trailers\n"
    assert "X-Trailer" not in r.headers


def test_empty_reason_phrase(fault_server):
    r = requestx.get(fault_server + "/no-reason")
    assert r.status_code == 200
    assert r.reason == ""


def test_http10_response_is_read(session, fault_server):
    assert session.get(fault_server + "/http10").text == "old ok"
    assert session.get(fault_server + "/ok").text == "ok\n"


def test_304_with_content_length_has_no_body(session, fault_server):
    r = session.get(fault_server + "/not-modified-with-length", timeout=2)
    assert r.status_code == 304
    assert r.content == b""
    assert session.get(fault_server + "/ok", timeout=2).text == "ok\n"


def test_missing_header_get_returns_default(httpbin):
    r = requestx.get(httpbin + "/get")
    assert r.headers.get("X-Not-There") is None
    assert r.headers.get("X-Not-There", "dflt") == "dflt"


def test_response_header_set_by_server_is_exposed(httpbin):
    r = requestx.get(httpbin + "/response-headers", params={"X-Answer": "42"})
    assert r.headers["x-answer"] == "42"


# ---------------------------------------------------------------------------
# url, content, text, encoding, json
# ---------------------------------------------------------------------------


def test_url_is_the_final_url(httpbin):
    r = requestx.get(httpbin + "/redirect-to", params={"url": "/get"})
    assert r.url == httpbin + "/get"


def test_content_is_the_exact_body_bytes(fault_server):
    r = requestx.get(fault_server + "/big?size=100000")
    assert r.content == big_body(100000)


def test_content_of_body_read_until_close(fault_server):
    r = requestx.get(fault_server + "/until-close")
    assert r.content == b"read until the server closes\n"


def test_content_of_204_is_empty(httpbin):
    r = requestx.get(httpbin + "/status/204")
    assert r.content == b""
    assert r.text == ""


def test_encoding_comes_from_charset(fault_server):
    r = requestx.get(fault_server + "/charset", params={"cs": "iso-8859-1"})
    assert r.encoding == "iso-8859-1"
    assert r.text == CHARSET_TEXT


def test_text_decodes_utf16_charset(fault_server):
    r = requestx.get(fault_server + "/charset", params={"cs": "utf-16"})
    assert r.text == CHARSET_TEXT


def test_text_without_charset_defaults_to_latin1(fault_server):
    r = requestx.get(fault_server + "/unicode-text")
    assert r.encoding == "ISO-8859-1"
    assert r.text == UNICODE_TEXT.encode("utf-8").decode("iso-8859-1")


def test_json_content_type_defaults_to_utf8(fault_server):
    r = requestx.get(fault_server + "/unicode-text", params={"ct": "application/json"})
    assert r.encoding == "utf-8"


def test_encoding_is_none_without_text_content_type(fault_server):
    r = requestx.get(fault_server + "/unicode-text", params={"ct": "application/octet-stream"})
    assert r.encoding is None


def test_text_falls_back_to_apparent_encoding(fault_server):
    r = requestx.get(fault_server + "/unicode-text", params={"ct": "application/octet-stream"})
    assert r.text == UNICODE_TEXT


def test_apparent_encoding_detects_utf8(fault_server):
    r = requestx.get(fault_server + "/unicode-text")
    assert r.apparent_encoding.lower().replace("_", "-") == "utf-8"


def test_setting_encoding_changes_text(fault_server):
    r = requestx.get(fault_server + "/unicode-text")
    r.encoding = "utf-8"
    assert r.text == UNICODE_TEXT


def test_json_parses_body(httpbin):
    r = requestx.get(httpbin + "/json")
    assert r.json()["slideshow"]["title"] == "Sample Slide Show"


def test_json_passes_keyword_arguments_to_decoder(httpbin):
    r = requestx.post(httpbin + "/anything", json={"price": 1.10})
    assert r.json(parse_float=decimal.Decimal)["json"]["price"] == decimal.Decimal("1.1")


def test_json_detects_utf16_body_without_charset(fault_server):
    r = requestx.get(fault_server + "/json-utf16")
    assert r.json() == {"text": "utf-16 json ✓"}


# ---------------------------------------------------------------------------
# raise_for_status
# ---------------------------------------------------------------------------


def test_raise_for_status_returns_none_on_success(httpbin):
    assert requestx.get(httpbin + "/status/200").raise_for_status() is None


def test_raise_for_status_client_error(httpbin):
    r = requestx.get(httpbin + "/status/404")
    with pytest.raises(requestx.exceptions.HTTPError) as info:
        r.raise_for_status()
    assert str(info.value) == f"404 Client Error: NOT FOUND for url: {httpbin.url}/status/404"
    assert info.value.response is r


def test_raise_for_status_server_error(httpbin):
    r = requestx.get(httpbin + "/status/503")
    with pytest.raises(requestx.HTTPError, match=r"^503 Server Error: SERVICE UNAVAILABLE"):
        r.raise_for_status()


def test_raise_for_status_error_carries_request(httpbin):
    r = requestx.get(httpbin + "/status/500")
    with pytest.raises(requestx.HTTPError) as info:
        r.raise_for_status()
    assert info.value.request is r.request


# ---------------------------------------------------------------------------
# history, elapsed, cookies, request
# ---------------------------------------------------------------------------


def test_history_is_empty_without_redirects(httpbin):
    assert requestx.get(httpbin + "/get").history == []


def test_elapsed_is_a_positive_timedelta(httpbin):
    r = requestx.get(httpbin + "/get")
    assert isinstance(r.elapsed, datetime.timedelta)
    assert r.elapsed > datetime.timedelta(0)


def test_cookies_from_set_cookie(fault_server):
    r = requestx.get(fault_server + "/multi-header")
    assert r.cookies["first"] == "1"
    assert r.cookies["second"] == "2"


def test_cookies_with_comma_in_expires_are_all_parsed(fault_server):
    r = requestx.get(fault_server + "/cookie-expires")
    assert r.cookies.get("early") == "1"
    assert r.cookies.get("late") == "2"


def test_cookies_from_httpbin_set(httpbin):
    r = requestx.get(httpbin + "/cookies/set?k=v", allow_redirects=False)
    assert r.cookies.get("k") == "v"


def test_request_is_a_prepared_request(httpbin):
    r = requestx.get(httpbin + "/get")
    assert isinstance(r.request, requestx.PreparedRequest)
    assert r.request.method == "GET"
    assert r.request.url == httpbin + "/get"


def test_request_headers_are_what_was_sent(fault_server):
    r = requestx.get(fault_server + "/echo-raw", headers={"X-Sent": "yes"})
    wire = parse_wire(r.content)
    assert r.request.headers["X-Sent"] == "yes"
    assert r.request.headers["User-Agent"] == wire.get("User-Agent")


def test_request_body_is_the_form_body(httpbin):
    r = requestx.post(httpbin + "/post", data={"a": "1", "b": "2"})
    assert r.request.body == "a=1&b=2"


def test_request_body_is_the_json_bytes(httpbin):
    r = requestx.post(httpbin + "/post", json={"a": 1})
    assert r.request.body == b'{"a": 1}'


def test_request_body_is_none_for_get(httpbin):
    assert requestx.get(httpbin + "/get").request.body is None


def test_request_url_includes_params(httpbin):
    r = requestx.get(httpbin + "/get", params={"q": "1"})
    assert r.request.url == httpbin + "/get?q=1"


# ---------------------------------------------------------------------------
# links, redirect flags
# ---------------------------------------------------------------------------


def test_links_are_parsed_from_link_header(fault_server):
    r = requestx.get(fault_server + "/links")
    assert r.headers["Link"] == LINK_HEADER
    assert r.links["next"] == {"url": "http://127.0.0.1/page/2", "rel": "next"}
    assert r.links["last"]["url"] == "http://127.0.0.1/page/9"


def test_links_empty_without_link_header(httpbin):
    assert requestx.get(httpbin + "/get").links == {}


@pytest.mark.parametrize(
    ("status", "is_redirect", "is_permanent"),
    [(301, True, True), (302, True, False), (303, True, False), (307, True, False),
     (308, True, True)],
)  # fmt: skip
def test_redirect_flags(fault_server, status, is_redirect, is_permanent):
    r = requestx.get(
        fault_server + f"/redirect?status={status}&location=/ok", allow_redirects=False
    )
    assert r.status_code == status
    assert r.is_redirect is is_redirect
    assert r.is_permanent_redirect is is_permanent


def test_redirect_flags_false_for_200(httpbin):
    r = requestx.get(httpbin + "/get")
    assert r.is_redirect is False
    assert r.is_permanent_redirect is False


# ---------------------------------------------------------------------------
# iter_content, iter_lines
# ---------------------------------------------------------------------------


def test_iter_content_chunks_reassemble_the_body(fault_server):
    r = requestx.get(fault_server + "/big?size=300000", stream=True)
    assert b"".join(r.iter_content(chunk_size=8192)) == big_body(300000)


def test_iter_content_chunks_are_at_most_chunk_size(fault_server):
    # requests yields exactly chunk_size bytes (but the last) for a sized body;
    # requestx yields data as it arrives, never more than chunk_size at once.
    r = requestx.get(fault_server + "/big?size=10000", stream=True)
    chunks = list(r.iter_content(chunk_size=1000))
    assert all(0 < len(c) <= 1000 for c in chunks)
    assert b"".join(chunks) == big_body(10000)


def test_iter_content_after_content_slices_the_content(fault_server):
    r = requestx.get(fault_server + "/big?size=2500")
    chunks = list(r.iter_content(chunk_size=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    assert b"".join(chunks) == r.content


def test_iter_content_decode_unicode_yields_text(fault_server):
    r = requestx.get(fault_server + "/charset", params={"cs": "utf-8"}, stream=True)
    parts = list(r.iter_content(chunk_size=3, decode_unicode=True))
    assert all(isinstance(p, str) for p in parts)
    assert "".join(parts) == CHARSET_TEXT


def test_iter_lines_splits_lines(httpbin):
    r = requestx.get(httpbin + "/stream/5", stream=True)
    lines = list(r.iter_lines())
    assert len(lines) == 5
    assert all(isinstance(line, bytes) for line in lines)


def test_iter_lines_decode_unicode(fault_server):
    r = requestx.get(fault_server + "/slow-chunks?delay=0", stream=True)
    assert list(r.iter_lines(decode_unicode=True)) == ["alpha", "beta", "gamma"]


def test_iter_lines_with_delimiter(fault_server):
    r = requestx.get(fault_server + "/charset", params={"text": "a|b|c", "cs": "ascii"})
    assert list(r.iter_lines(delimiter=b"|")) == [b"a", b"b", b"c"]


def test_second_iteration_of_consumed_stream_raises(fault_server):
    r = requestx.get(fault_server + "/big?size=1000", stream=True)
    list(r.iter_content(100))
    with pytest.raises(requestx.exceptions.StreamConsumedError):
        r.iter_content(100)


def test_content_after_consumed_stream_raises_runtime_error(fault_server):
    r = requestx.get(fault_server + "/big?size=1000", stream=True)
    list(r.iter_content(100))
    with pytest.raises(RuntimeError):
        _ = r.content


# ---------------------------------------------------------------------------
# close, context manager
# ---------------------------------------------------------------------------


def test_response_is_a_context_manager(fault_server):
    with requestx.get(fault_server + "/big?size=1000", stream=True) as r:
        assert r.status_code == 200
        first = next(r.iter_content(100))
    assert first == big_body(100)


def test_close_is_idempotent(httpbin):
    r = requestx.get(httpbin + "/get")
    r.close()
    r.close()
    assert r.json()["url"] == httpbin + "/get"
