"""Bad input and misbehaving servers map to requests' exceptions, nothing is
sent when the input is rejected, and the Session keeps working afterwards."""

from __future__ import annotations

import pytest

import requestx
from requestx import exceptions as exc

# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["127.0.0.1/get", "/relative/path", "localhost/x"])
def test_url_without_scheme_raises_missing_schema(url):
    with pytest.raises(exc.MissingSchema):
        requestx.get(url)


def test_missing_schema_is_a_value_error():
    with pytest.raises(ValueError):
        requestx.get("localhost/no-scheme")


@pytest.mark.parametrize(
    "scheme", ["ftp", "ftps", "file", "gopher", "dict", "telnet", "ldap", "scp", "sftp", "smtp"]
)
def test_non_http_scheme_raises_invalid_schema(isolated_fault_server, scheme):
    url = f"{scheme}://127.0.0.1:{isolated_fault_server.port}/x"
    with pytest.raises(exc.InvalidSchema):
        requestx.get(url)
    assert isolated_fault_server.connections_accepted == 0


def test_file_url_raises_invalid_schema_and_reads_nothing(tmp_path):
    path = tmp_path / "local.txt"
    path.write_text("local file contents")
    with pytest.raises(exc.InvalidSchema):
        requestx.get(path.as_uri())


@pytest.mark.parametrize(
    "url",
    [
        "http://",
        "http://exa mple.com/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:abc/",
        "http://:80/",
        "http://[::1/",
    ],
)
def test_malformed_url_raises_invalid_url(url):
    with pytest.raises(exc.InvalidURL):
        requestx.get(url)


def test_invalid_url_in_session_request(session):
    with pytest.raises(exc.InvalidURL):
        session.get("http://")


# ---------------------------------------------------------------------------
# headers
# ---------------------------------------------------------------------------

BAD_HEADERS = [
    pytest.param({"X-Bad": "a\r\nInjected: 1"}, id="crlf-in-value"),
    pytest.param({"X-Bad": "a\rb"}, id="cr-in-value"),
    pytest.param({"X-Bad": "a\nb"}, id="lf-in-value"),
    pytest.param({"X-Bad\r\nInjected": "1"}, id="crlf-in-name"),
    pytest.param({"X-Bad\n": "1"}, id="lf-in-name"),
    pytest.param({"X:Bad": "1"}, id="colon-in-name"),
    pytest.param({"X-Bad": " leading-space"}, id="leading-space-in-value"),
    pytest.param({"X-Bad": 12}, id="non-string-value"),
]


@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_invalid_header_raises_before_sending(isolated_fault_server, headers):
    with pytest.raises(exc.InvalidHeader):
        requestx.get(isolated_fault_server + "/echo-raw", headers=headers)
    assert isolated_fault_server.connections_accepted == 0


@pytest.mark.requestx_only
@pytest.mark.parametrize(
    "headers",
    [pytest.param({"X-Bad": "a\x00b"}, id="nul-in-value"),
     pytest.param({"X-Bad\x00": "1"}, id="nul-in-name")],
)  # fmt: skip
def test_nul_in_header_raises_before_sending(isolated_fault_server, headers):
    """requests lets NUL through; a C engine must refuse it (C strings)."""
    with pytest.raises(exc.InvalidHeader):
        requestx.get(isolated_fault_server + "/echo-raw", headers=headers)
    assert isolated_fault_server.connections_accepted == 0


def test_invalid_session_header_raises_before_sending(isolated_fault_server):
    with requestx.Session() as s:
        s.headers["X-Bad"] = "x\r\ny"
        with pytest.raises(exc.InvalidHeader):
            s.get(isolated_fault_server + "/echo-raw")
    assert isolated_fault_server.connections_accepted == 0


def test_invalid_header_is_a_value_error():
    assert issubclass(exc.InvalidHeader, ValueError)


# ---------------------------------------------------------------------------
# bodies
# ---------------------------------------------------------------------------


def test_invalid_json_body_raises_json_decode_error(fault_server):
    r = requestx.get(fault_server + "/json-bad")
    with pytest.raises(exc.JSONDecodeError):
        r.json()


def test_non_json_body_raises_requestx_json_decode_error(httpbin):
    r = requestx.get(httpbin + "/html")
    with pytest.raises(requestx.JSONDecodeError):
        r.json()


def test_empty_body_json_raises_json_decode_error(httpbin):
    r = requestx.get(httpbin + "/status/204")
    with pytest.raises(exc.JSONDecodeError):
        r.json()


@pytest.mark.parametrize("path", ["/short", "/bad-chunk", "/truncated-chunk"])
def test_broken_body_raises_chunked_encoding_error(fault_server, path):
    with pytest.raises(exc.ChunkedEncodingError):
        requestx.get(fault_server + path)


@pytest.mark.parametrize("path", ["/short", "/bad-chunk", "/truncated-chunk"])
def test_broken_streamed_body_raises_chunked_encoding_error(fault_server, path):
    r = requestx.get(fault_server + path, stream=True)
    assert r.status_code == 200
    with pytest.raises(exc.ChunkedEncodingError):
        for _ in r.iter_content(8):
            pass


@pytest.mark.parametrize("path", ["/short", "/bad-chunk", "/truncated-chunk"])
def test_broken_body_raises_in_iter_lines(fault_server, path):
    r = requestx.get(fault_server + path, stream=True)
    with pytest.raises(exc.ChunkedEncodingError):
        list(r.iter_lines())


def test_short_body_is_not_returned_silently(fault_server):
    """Content-Length: 100 with 10 bytes must never look like success."""
    with pytest.raises(exc.RequestException):
        requestx.get(fault_server + "/short").content  # noqa: B018


# ---------------------------------------------------------------------------
# connections
# ---------------------------------------------------------------------------


def test_refused_connection_raises_connection_error(refused_url):
    with pytest.raises(exc.ConnectionError):
        requestx.get(refused_url + "/x")


def test_refused_connection_is_not_a_timeout(refused_url):
    with pytest.raises(exc.ConnectionError) as info:
        requestx.get(refused_url + "/x", timeout=5)
    assert not isinstance(info.value, exc.Timeout)


def test_closed_without_response_raises_connection_error(fault_server):
    with pytest.raises(exc.ConnectionError):
        requestx.get(fault_server + "/close")


def test_reset_connection_raises_connection_error(fault_server):
    with pytest.raises(exc.ConnectionError):
        requestx.get(fault_server + "/reset")


def test_unreachable_proxy_raises_proxy_error(refused_url, isolated_fault_server):
    with pytest.raises(exc.ProxyError):
        requestx.get(isolated_fault_server + "/ok", proxies={"http": refused_url})
    assert isolated_fault_server.connections_accepted == 0


def test_proxy_refusing_connect_raises_proxy_error(fault_server, refused_url):
    https_url = refused_url.replace("http://", "https://") + "/"
    with pytest.raises(exc.ProxyError):
        requestx.get(https_url, proxies={"https": fault_server.url}, timeout=2)


def test_proxy_error_is_a_connection_error():
    assert issubclass(exc.ProxyError, exc.ConnectionError)


def test_connection_error_carries_the_request(refused_url):
    with pytest.raises(exc.ConnectionError) as info:
        requestx.get(refused_url + "/x")
    assert info.value.request is not None
    assert info.value.request.url == refused_url + "/x"


# ---------------------------------------------------------------------------
# the Session keeps working after every failure
# ---------------------------------------------------------------------------


# name -> (expected exception(s), call(session, fault_server, refused_url))
FAULTS = {
    "missing-schema": (exc.MissingSchema, lambda s, fs, ru: s.get("127.0.0.1/get")),
    "invalid-schema": (exc.InvalidSchema, lambda s, fs, ru: s.get("ftp://127.0.0.1/x")),
    "invalid-url": (exc.InvalidURL, lambda s, fs, ru: s.get("http://")),
    "invalid-header": (
        exc.InvalidHeader,
        lambda s, fs, ru: s.get(fs + "/ok", headers={"X": "a\r\nb"}),
    ),
    "json-decode": (exc.JSONDecodeError, lambda s, fs, ru: s.get(fs + "/json-bad").json()),
    "short": (exc.ChunkedEncodingError, lambda s, fs, ru: s.get(fs + "/short")),
    "short-stream": (
        exc.ChunkedEncodingError,
        lambda s, fs, ru: list(s.get(fs + "/short", stream=True).iter_content(4)),
    ),
    "bad-chunk": (exc.ChunkedEncodingError, lambda s, fs, ru: s.get(fs + "/bad-chunk")),
    "truncated-chunk": (
        exc.ChunkedEncodingError,
        lambda s, fs, ru: s.get(fs + "/truncated-chunk"),
    ),
    "bad-gzip": (exc.ContentDecodingError, lambda s, fs, ru: s.get(fs + "/bad-gzip")),
    "refused": (exc.ConnectionError, lambda s, fs, ru: s.get(ru + "/x")),
    "close": (exc.ConnectionError, lambda s, fs, ru: s.get(fs + "/close")),
    "reset": (exc.ConnectionError, lambda s, fs, ru: s.get(fs + "/reset")),
    "read-timeout": (
        exc.ReadTimeout,
        lambda s, fs, ru: s.get(fs + "/stall-headers", timeout=0.3),
    ),
    "body-timeout": (
        (exc.ReadTimeout, exc.ConnectionError),
        lambda s, fs, ru: s.get(fs + "/stall-body", timeout=0.3),
    ),
    "too-many-redirects": (
        exc.TooManyRedirects,
        lambda s, fs, ru: s.get(fs + "/redirect-loop"),
    ),
    "redirect-to-ftp": (
        exc.InvalidSchema,
        lambda s, fs, ru: s.get(fs + "/redirect?location=ftp://127.0.0.1/x"),
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_session_works_after_fault(session, fault_server, refused_url, httpbin, fault):
    expected, call = FAULTS[fault]
    session.get(httpbin + "/get")  # a pooled connection exists before the fault
    with pytest.raises(expected):
        call(session, fault_server, refused_url)
    r = session.get(httpbin + "/get", params={"after": fault})
    assert r.status_code == 200
    assert r.json()["args"] == {"after": fault}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_same_host_works_after_fault(session, fault_server, refused_url, fault):
    expected, call = FAULTS[fault]
    with pytest.raises(expected):
        call(session, fault_server, refused_url)
    assert session.get(fault_server + "/ok").text == "ok\n"


def test_session_works_after_connect_timeout(session, stalled_connect_url, httpbin):
    with pytest.raises(exc.ConnectTimeout):
        session.get(stalled_connect_url, timeout=(0.3, 5))
    assert session.get(httpbin + "/get").status_code == 200
