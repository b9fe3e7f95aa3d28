"""Differential tests: the same call through requests and through requestx
must give the same observable result.

Observations: status, reason, final url, ok, history (status and url of each
hop), final request method and url, response headers (except Date and, where
the body echoes the request, Content-Length), encoding, cookies, and the body
(as JSON when it is JSON, with the headers the two clients legitimately differ
in removed, else as bytes).  Exceptions are compared by class name.
"""

from __future__ import annotations

import codecs
import json

import pytest
import requests

import requestx

# Every call gets a (per-read) timeout so that a hang shows up as a failure of
# one test rather than stopping the run.
CALL_TIMEOUT = 5

# Request headers the two clients may legitimately send differently.
DIFFERING_REQUEST_HEADERS = {"user-agent", "accept-encoding"}
# Response headers that change from one response to the next.
VOLATILE_RESPONSE_HEADERS = {"date"}


def _normalise_echo(doc):
    """Remove client-specific request headers from an httpbin echo."""
    if isinstance(doc, dict) and isinstance(doc.get("headers"), dict):
        headers = {}
        for name, value in doc["headers"].items():
            if name.lower() in DIFFERING_REQUEST_HEADERS:
                continue
            if name.lower() == "content-type" and value.startswith("multipart/form-data"):
                value = "multipart/form-data"  # the boundary is random
            if name.lower() == "content-length" and _is_multipart(doc):
                continue  # depends on the boundary length
            headers[name] = value
        doc = dict(doc, headers=headers)
    return doc


def _is_multipart(doc):
    ct = doc.get("headers", {}).get("Content-Type", "")
    return ct.startswith("multipart/form-data")


def _body(r):
    ctype = r.headers.get("Content-Type", "")
    if "json" in ctype and r.content:
        try:
            return ("json", _normalise_echo(r.json()))
        except ValueError:  # e.g. /stream/n: one JSON document per line
            pass
    return ("bytes", r.content)


def _headers(r, echoes_request):
    skip = set(VOLATILE_RESPONSE_HEADERS)
    if echoes_request:
        skip.add("content-length")
    return {k.lower(): v for k, v in r.headers.items() if k.lower() not in skip}


def observe(r, echoes_request=True):
    return {
        "status": r.status_code,
        "reason": r.reason,
        "url": r.url,
        "ok": r.ok,
        "history": [(h.status_code, h.url) for h in r.history],
        "request": (r.request.method, r.request.url),
        "headers": _headers(r, echoes_request),
        "encoding": r.encoding,
        "cookies": sorted(r.cookies.items()),
        "body": _body(r),
        "links": r.links,
        "is_redirect": r.is_redirect,
    }


def both(call):
    """Run ``call(lib)`` with requests and with requestx."""
    return call(requests), call(requestx)


# ---------------------------------------------------------------------------
# httpbin calls
# ---------------------------------------------------------------------------


def _gen():
    yield b"generated "
    yield b"body"


HTTPBIN_CASES = {
    "get": ("GET", "/get", {}),
    "get-params": ("GET", "/get", {"params": {"a": "1", "b": ["x", "y"], "c": None}}),
    "get-params-tuples": ("GET", "/get?z=0", {"params": [("k", "v"), ("k", "w")]}),
    "get-unicode-params": ("GET", "/anything", {"params": {"q": "é ü/&=?"}}),
    "get-non-ascii-path": ("GET", "/anything/ü path?x=ä", {}),
    "get-fragment": ("GET", "/get?a=1#frag", {}),
    "get-empty-header": ("GET", "/headers", {"headers": {"X-Empty": ""}}),
    "get-headers": ("GET", "/headers", {"headers": {"X-One": "1", "X-Two": "two"}}),
    "post-form": ("POST", "/post", {"data": {"a": "1", "b": "2"}}),
    "post-form-list-values": ("POST", "/post", {"data": {"a": ["1", "2"], "b": "3"}}),
    "post-form-list": ("POST", "/post", {"data": [("a", "1"), ("a", "2")]}),
    "post-str": ("POST", "/post", {"data": "raw string body"}),
    "post-bytes": ("POST", "/post", {"data": b"\x00\x01\x02binary"}),
    "post-json": ("POST", "/post", {"json": {"k": [1, 2, {"n": None}], "u": "ü"}}),
    "post-json-list": ("POST", "/post", {"json": [1, "two", 3.5]}),
    "post-empty": ("POST", "/post", {}),
    "post-files": ("POST", "/post", {"files": {"f": ("a.txt", b"file body", "text/plain")}}),
    "post-files-data": (
        "POST",
        "/post",
        {"files": {"f": ("a.bin", b"\x00\xff")}, "data": {"field": "v"}},
    ),
    "post-generator": ("POST", "/post", {"data": _gen}),
    "put-bytes": ("PUT", "/put", {"data": b"put body"}),
    "patch-json": ("PATCH", "/patch", {"json": {"patched": True}}),
    "delete": ("DELETE", "/delete", {}),
    "delete-with-body": ("DELETE", "/delete", {"data": "gone"}),
    "head": ("HEAD", "/get", {}),
    "options": ("OPTIONS", "/get", {}),
    "anything-method": ("PATCH", "/anything/sub/path", {"data": "x"}),
    "status-404": ("GET", "/status/404", {}),
    "status-500": ("GET", "/status/500", {}),
    "status-204": ("GET", "/status/204", {}),
    "status-418": ("GET", "/status/418", {}),
    "redirect-3": ("GET", "/redirect/3", {}),
    "relative-redirect-2": ("GET", "/relative-redirect/2", {}),
    "absolute-redirect-2": ("GET", "/absolute-redirect/2", {}),
    "redirect-no-follow": ("GET", "/redirect/2", {"allow_redirects": False}),
    "redirect-to-307": ("GET", "/redirect-to?url=/get&status_code=307", {}),
    "redirect-to-post-302": ("POST", "/redirect-to?url=/anything&status_code=302", {"data": "b"}),
    "basic-auth-ok": ("GET", "/basic-auth/u/p", {"auth": ("u", "p")}),
    "basic-auth-bad": ("GET", "/basic-auth/u/p", {"auth": ("u", "nope")}),
    "hidden-basic-auth": ("GET", "/hidden-basic-auth/u/p", {}),
    "cookies-sent": ("GET", "/cookies", {"cookies": {"a": "1", "b": "2"}}),
    "cookies-set-redirect": ("GET", "/cookies/set?k1=v1&k2=v2", {}),
    "cookies-set-no-follow": ("GET", "/cookies/set?k=v", {"allow_redirects": False}),
    "gzip": ("GET", "/gzip", {}),
    "deflate": ("GET", "/deflate", {}),
    "brotli": ("GET", "/brotli", {}),
    "encoding-utf8": ("GET", "/encoding/utf8", {}),
    "html": ("GET", "/html", {}),
    "xml": ("GET", "/xml", {}),
    "json": ("GET", "/json", {}),
    "robots": ("GET", "/robots.txt", {}),
    "deny": ("GET", "/deny", {}),
    "bytes-seeded": ("GET", "/bytes/2048?seed=7", {}),
    "stream-bytes": ("GET", "/stream-bytes/4096?seed=3&chunk_size=512", {}),
    "range": ("GET", "/range/1024", {}),
    "range-header": ("GET", "/range/1024", {"headers": {"Range": "bytes=10-19"}}),
    "response-headers": ("GET", "/response-headers?X-A=1&X-A=2&X-B=b", {}),
    "cache-304": ("GET", "/cache", {"headers": {"If-Modified-Since": "Sat, 1 Jan 2000"}}),
    "etag-match": ("GET", "/etag/abc", {"headers": {"If-None-Match": '"abc"'}}),
    "links": ("GET", "/links/3/1", {}),
    "image-png": ("GET", "/image/png", {}),
    "status-202": ("GET", "/status/202", {}),
}


def _call_httpbin(lib, httpbin, method, path, kwargs):
    kwargs = {k: (v() if callable(v) and k == "data" else v) for k, v in kwargs.items()}
    return lib.request(method, httpbin + path, timeout=CALL_TIMEOUT, **kwargs)


@pytest.mark.parametrize("case", list(HTTPBIN_CASES))
def test_same_result_as_requests(httpbin, case):
    method, path, kwargs = HTTPBIN_CASES[case]
    theirs, ours = both(lambda lib: _call_httpbin(lib, httpbin, method, path, kwargs))
    assert observe(ours) == observe(theirs)


@pytest.mark.parametrize("case", ["post-form", "post-json", "post-bytes", "get-params", "get"])
def test_same_prepared_request_as_requests(httpbin, case):
    method, path, kwargs = HTTPBIN_CASES[case]
    theirs, ours = both(lambda lib: _call_httpbin(lib, httpbin, method, path, kwargs))
    assert ours.request.body == theirs.request.body
    assert type(ours.request.body) is type(theirs.request.body)
    assert {k.lower() for k in ours.request.headers} == {k.lower() for k in theirs.request.headers}


# ---------------------------------------------------------------------------
# redirect method matrix
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_redirect_method_and_body_like_requests(httpbin, status, method):
    url = httpbin + f"/redirect-to?url=/anything&status_code={status}"

    def call(lib):
        return lib.request(
            method, url, data=b"body bytes", allow_redirects=True, timeout=CALL_TIMEOUT
        )

    theirs, ours = both(call)
    assert observe(ours) == observe(theirs)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_json_post_like_requests(httpbin, status):
    url = httpbin + f"/redirect-to?url=/anything&status_code={status}"
    theirs, ours = both(lambda lib: lib.post(url, json={"j": 1}, timeout=CALL_TIMEOUT))
    assert observe(ours) == observe(theirs)


# ---------------------------------------------------------------------------
# Session behaviour
# ---------------------------------------------------------------------------


def _session_flow(lib, httpbin):
    with lib.Session() as s:
        s.headers["X-Session"] = "1"
        s.params = {"sp": "1"}
        s.auth = ("u", "p")
        out = [observe(s.get(httpbin + "/cookies/set?sc=1"))]
        out.append(observe(s.get(httpbin + "/get", params={"rp": "2"})))
        out.append(observe(s.post(httpbin + "/post", data={"f": "v"}, cookies={"once": "1"})))
        out.append(observe(s.get(httpbin + "/cookies")))
        out.append(sorted(s.cookies.items()))
        return out


def test_session_flow_like_requests(httpbin):
    theirs, ours = both(lambda lib: _session_flow(lib, httpbin))
    assert ours == theirs


# ---------------------------------------------------------------------------
# fault-server calls
# ---------------------------------------------------------------------------

FAULT_CASES = {
    "multi-header": "/multi-header",
    "links": "/links",
    "reason": "/reason",
    "charset-latin1": "/charset?cs=iso-8859-1",
    "charset-utf16": "/charset?cs=utf-16",
    "text-no-charset": "/unicode-text",
    "octet-stream": "/unicode-text?ct=application/octet-stream",
    "json-utf16": "/json-utf16",
    "cookie-redirect": "/cookie-redirect?location=/ok",
    "relative-location": "/redirect?location=ok",
    "until-close": "/until-close",
    "gzip": "/gzip",
    "deflate": "/deflate",
    "deflate-raw": "/deflate-raw",
    "br": "/br",
    "status-299": "/status/299",
    "redirect-301-get": "/redirect?status=301&location=/json",
    "big-chunked": "/big-chunked?size=200000",
    "continue-first": "/continue-first",
    "latin1-header": "/latin1-header",
    "mixed-case-dup": "/mixed-case-dup",
    "cookie-expires": "/cookie-expires",
    "no-reason": "/no-reason",
    "http10": "/http10",
    "chunked-trailers": "/chunked-trailers",
    "not-modified-with-length": "/not-modified-with-length",
}


@pytest.mark.parametrize("case", list(FAULT_CASES))
def test_fault_server_response_like_requests(fault_server, case):
    theirs, ours = both(lambda lib: lib.get(fault_server + FAULT_CASES[case], timeout=CALL_TIMEOUT))
    assert observe(ours, echoes_request=False) == observe(theirs, echoes_request=False)


@pytest.mark.parametrize(
    "case", ["charset-latin1", "charset-utf16", "text-no-charset", "octet-stream", "json-utf16"]
)
def test_text_like_requests(fault_server, case):
    theirs, ours = both(lambda lib: lib.get(fault_server + FAULT_CASES[case], timeout=CALL_TIMEOUT))
    assert ours.text == theirs.text


@pytest.mark.parametrize("case", ["text-no-charset", "octet-stream", "json-utf16"])
def test_apparent_encoding_names_the_same_codec_as_requests(fault_server, case):
    """Only for bodies whose encoding is unambiguous (UTF-8, UTF-16 with BOM):
    for 8-bit text the detector's choice between similar code pages is not
    part of the contract."""
    theirs, ours = both(lambda lib: lib.get(fault_server + FAULT_CASES[case], timeout=CALL_TIMEOUT))
    assert (
        codecs.lookup(ours.apparent_encoding).name == codecs.lookup(theirs.apparent_encoding).name
    )


def test_iter_lines_like_requests(httpbin):
    def call(lib):
        r = lib.get(httpbin + "/stream/6", stream=True)
        return [json.loads(line)["id"] for line in r.iter_lines()]

    theirs, ours = both(call)
    assert ours == theirs


def test_response_hook_calls_like_requests(httpbin):
    def call(lib):
        seen = []
        lib.get(httpbin + "/redirect/3", hooks={"response": lambda r, **kw: seen.append(r.url)})
        return seen

    theirs, ours = both(call)
    assert ours == theirs


# ---------------------------------------------------------------------------
# exceptions
# ---------------------------------------------------------------------------

ERROR_CASES = {
    "close": lambda lib, fs, ru: lib.get(fs + "/close"),
    "reset": lambda lib, fs, ru: lib.get(fs + "/reset"),
    "short": lambda lib, fs, ru: lib.get(fs + "/short"),
    "bad-chunk": lambda lib, fs, ru: lib.get(fs + "/bad-chunk"),
    "truncated-chunk": lambda lib, fs, ru: lib.get(fs + "/truncated-chunk"),
    "stall-headers": lambda lib, fs, ru: lib.get(fs + "/stall-headers", timeout=0.3),
    "bad-gzip": lambda lib, fs, ru: lib.get(fs + "/bad-gzip"),
    "redirect-loop": lambda lib, fs, ru: lib.get(fs + "/redirect-loop"),
    "redirect-ftp": lambda lib, fs, ru: lib.get(fs + "/redirect?location=ftp://127.0.0.1/"),
    "json-bad": lambda lib, fs, ru: lib.get(fs + "/json-bad").json(),
    "refused": lambda lib, fs, ru: lib.get(ru),
    "no-scheme": lambda lib, fs, ru: lib.get("127.0.0.1/x"),
    "host-port-no-scheme": lambda lib, fs, ru: lib.get(f"127.0.0.1:{fs.port}/ok"),
    "ftp": lambda lib, fs, ru: lib.get("ftp://127.0.0.1/"),
    "no-host": lambda lib, fs, ru: lib.get("http://"),
    "bad-port": lambda lib, fs, ru: lib.get("http://127.0.0.1:99999/"),
    "crlf-header": lambda lib, fs, ru: lib.get(fs + "/ok", headers={"X": "a\r\nb"}),
    "int-header": lambda lib, fs, ru: lib.get(fs + "/ok", headers={"X": 1}),
    "json-nan": lambda lib, fs, ru: lib.post(fs + "/ok", json=float("nan")),
    "raise-for-status": lambda lib, fs, ru: lib.get(fs + "/status/404").raise_for_status(),
    "bad-timeout": lambda lib, fs, ru: lib.get(fs + "/ok", timeout=(1, 2, 3)),
    "proxy-refused": lambda lib, fs, ru: lib.get(fs + "/ok", proxies={"http": ru}),
    "proxy-no-connect": lambda lib, fs, ru: lib.get(
        ru.replace("http:", "https:"), proxies={"https": fs.url}, timeout=2
    ),
}


def _exception_name(call):
    try:
        call()
    except Exception as e:  # the class is what is compared
        return type(e).__name__
    return None


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_same_exception_as_requests(fault_server, refused_url, case):
    call = ERROR_CASES[case]
    theirs = _exception_name(lambda: call(requests, fault_server, refused_url))
    ours = _exception_name(lambda: call(requestx, fault_server, refused_url))
    assert theirs is not None
    assert ours == theirs


@pytest.mark.parametrize("case", ["redirect-loop", "raise-for-status"])
def test_same_exception_message_as_requests(fault_server, refused_url, case):
    call = ERROR_CASES[case]

    def message(lib):
        try:
            call(lib, fault_server, refused_url)
        except Exception as e:
            return str(e)
        return None

    theirs, ours = both(message)
    assert theirs is not None
    assert ours == theirs
