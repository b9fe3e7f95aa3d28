"""requestx.HTTPTransport and AsyncHTTPTransport under httpx and httpx2: the
request on the wire is exactly httpx's, the response is the package's own,
and httpx keeps redirects, cookies, auth and decoding (one hop per call)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest
from _helpers import connection_last, parse_wire, token
from _httpx_faces import face_fixture, hx_fixture, send, send_default, server_fixture  # noqa: F401
from servers.fault import MULTI_VALUES, compressed_payload

import requestx

pytestmark = pytest.mark.requestx_only


# ---------------------------------------------------------------------------
# the transports and their packages
# ---------------------------------------------------------------------------


def test_import_requestx_does_not_import_httpx():
    code = (
        "import sys, requestx; "
        "assert 'httpx' not in sys.modules and 'httpx2' not in sys.modules; "
        "assert 'requestx.transports' not in sys.modules; "
        "requestx.HTTPTransport; requestx.AsyncHTTPTransport; "
        "assert 'httpx' not in sys.modules and 'httpx2' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_transports_are_of_neither_package_at_run_time(hx):
    """httpx2-based SDKs refuse objects with httpx classes in their MRO (and
    could refuse the reverse), so the transports derive from neither."""
    for transport in (requestx.HTTPTransport(), requestx.AsyncHTTPTransport()):
        roots = {cls.__module__.partition(".")[0] for cls in type(transport).__mro__}
        assert not roots & {"httpx", "httpx2"}


def test_star_import_brings_the_transports():
    namespace: dict = {}
    exec("from requestx import *", namespace)
    assert namespace["HTTPTransport"] is requestx.HTTPTransport
    assert namespace["AsyncHTTPTransport"] is requestx.AsyncHTTPTransport


def test_response_is_the_package_s_own(hx, face, server):
    r = send(hx, face, "GET", server + "/ok")
    assert type(r) is hx.Response
    assert isinstance(r.stream, hx.SyncByteStream if face == "sync" else hx.AsyncByteStream)
    assert r.status_code == 200
    assert r.text == "ok\n"
    assert r.http_version == "HTTP/1.1"
    assert r.reason_phrase == "OK"


def test_transport_used_directly(hx, server):
    with requestx.HTTPTransport() as transport:
        response = transport.handle_request(hx.Request("GET", server + "/ok"))
        assert response.status_code == 200
        assert response.read() == b"ok\n"


# ---------------------------------------------------------------------------
# the request on the wire
# ---------------------------------------------------------------------------


def _head(response) -> tuple:
    wire = parse_wire(response.content)
    return wire.request_line, connection_last(wire.headers), wire.body


@pytest.mark.parametrize(
    "method, kwargs",
    [
        ("GET", {}),
        ("GET", {"headers": {"X-Custom": "a", "x-lower": "b", "Accept": "text/html"}}),
        ("GET", {"params": {"q": "a b", "r": "é"}}),
        ("POST", {"content": b"raw bytes"}),
        ("POST", {"json": {"key": "value"}}),
        ("POST", {"data": {"field": "value"}}),
        ("POST", {"files": {"upload": ("a.txt", b"file body", "text/plain")}}),
        ("POST", {}),
        ("PUT", {"content": b""}),
        ("PATCH", {"content": b"patch"}),
        ("DELETE", {}),
        ("OPTIONS", {}),
        ("PURGE", {"content": b"custom method"}),
    ],
)
def test_wire_is_what_httpx_own_transport_sends(hx, face, server, method, kwargs):
    headers = kwargs.pop("headers", {})
    url = server + "/echo-raw"
    ours = send(hx, face, method, url, headers=headers, **kwargs)
    theirs = send_default(hx, face, method, url, headers=headers, **kwargs)
    line, fields, body = _head(ours)
    their_line, their_fields, their_body = _head(theirs)
    assert line == their_line
    # multipart boundaries are random; everything else is byte for byte
    if "files" not in kwargs:
        assert fields == their_fields
        assert body == their_body
    else:
        assert [n for n, _ in fields] == [n for n, _ in their_fields]


def test_streamed_body_wire_is_httpx_s(hx, face, server):
    def chunks():
        yield b"first,"
        yield b"second"

    async def achunks():
        yield b"first,"
        yield b"second"

    url = server + "/echo-raw"
    ours = send(hx, face, "POST", url, content=chunks() if face == "sync" else achunks())
    theirs = send_default(hx, face, "POST", url, content=chunks() if face == "sync" else achunks())
    assert _head(ours)[:2] == _head(theirs)[:2]
    wire = parse_wire(ours.content)
    assert wire.get("Transfer-Encoding") == "chunked"
    # chunk boundaries are framing, not content: the engine may merge chunks
    assert _unchunk(wire.body) == _unchunk(parse_wire(theirs.content).body) == b"first,second"


def _unchunk(body: bytes) -> bytes:
    out = b""
    while True:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out, body = out + rest[:n], rest[n + 2 :]


def test_nothing_added_when_httpx_headers_are_removed(hx, face, server):
    """With Accept and Accept-Encoding deleted from the request, libcurl adds
    neither of its own (nor Expect, nor a form Content-Type for a body)."""
    transport = requestx.HTTPTransport if face == "sync" else requestx.AsyncHTTPTransport
    request = hx.Request("POST", server + "/echo-raw", content=b"x" * 2048)
    for name in ("Accept", "Accept-Encoding"):
        request.headers.pop(name, None)
    if face == "sync":
        with hx.Client(transport=transport()) as c:
            for name in ("Accept", "Accept-Encoding", "Connection", "User-Agent"):
                c.headers.pop(name, None)
            wire = parse_wire(c.send(request).content)
    else:
        import asyncio

        async def go():
            async with hx.AsyncClient(transport=transport()) as c:
                for name in ("Accept", "Accept-Encoding", "Connection", "User-Agent"):
                    c.headers.pop(name, None)
                return (await c.send(request)).content

        wire = parse_wire(asyncio.run(go()))
    assert [n.lower() for n, _ in wire.headers] == ["host", "content-length"]


def test_host_header_passes_through(hx, face, server):
    r = send(hx, face, "GET", server + "/echo-raw", headers={"Host": "api.example.test"})
    assert parse_wire(r.content).get_all("Host") == ["api.example.test"]


def test_empty_header_value_is_sent_empty(hx, face, server):
    r = send(hx, face, "GET", server + "/echo-raw", headers={"X-Empty": ""})
    assert ("X-Empty", "") in parse_wire(r.content).headers


def test_url_userinfo_becomes_httpx_s_basic_auth_only(hx, face, server):
    url = server.url.replace("://", "://user:pass@") + "/echo-raw"
    wire = parse_wire(send(hx, face, "GET", url).content)
    assert wire.get_all("Authorization") == ["Basic dXNlcjpwYXNz"]


def test_header_with_newline_is_refused(hx, face, server):
    with pytest.raises(hx.LocalProtocolError):
        send(hx, face, "GET", server + "/echo-raw", headers={"X-Bad": "a\r\nInjected: yes"})


def test_unsupported_scheme(hx, face):
    with pytest.raises(hx.UnsupportedProtocol):
        send(hx, face, "GET", "ftp://127.0.0.1/file")


# ---------------------------------------------------------------------------
# the response as httpx sees it
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_encoded_body_reaches_httpx_undecoded_and_httpx_decodes_it(hx, face, server, encoding):
    if encoding not in hx._decoders.SUPPORTED_DECODERS:
        pytest.skip(f"{hx.__name__} cannot decode zstd")
    r = send(hx, face, "GET", server + f"/{encoding}")
    assert r.headers["Content-Encoding"] == encoding
    assert r.json() == json.loads(compressed_payload(encoding))


def test_raw_body_is_the_compressed_bytes(hx, server):
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with c.stream("GET", server + "/gzip") as r:
            raw = b"".join(r.iter_raw())
    assert raw[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(raw)) == json.loads(compressed_payload("gzip"))


def test_repeated_and_mixed_case_headers_keep_order(hx, face, server):
    r = send(hx, face, "GET", server + "/multi-header")
    assert r.headers.get_list("X-Multi") == list(MULTI_VALUES)
    assert [v for n, v in r.headers.raw if n.lower() == b"set-cookie"] == [
        b"first=1; Path=/",
        b"second=2; Path=/",
    ]
    r = send(hx, face, "GET", server + "/mixed-case-dup")
    assert [(n, v) for n, v in r.headers.raw if n.lower() == b"x-dup"] == [
        (b"x-dup", b"lower"),
        (b"X-DUP", b"upper"),
        (b"X-Dup", b"title"),
    ]


def test_reason_phrase_and_http_version(hx, face, server):
    r = send(hx, face, "GET", server + "/reason")
    assert (r.status_code, r.reason_phrase) == (299, "Totally Fine")
    assert r.extensions["reason_phrase"] == b"Totally Fine"
    r = send(hx, face, "GET", server + "/no-reason")
    assert r.extensions["reason_phrase"] == b""
    r = send(hx, face, "GET", server + "/http10")
    assert r.http_version == "HTTP/1.0"
    assert r.text == "old ok"


def test_latin1_header_value(hx, face, server):
    r = send(hx, face, "GET", server + "/latin1-header")
    assert r.headers.raw[0] == (b"X-Latin", "café crème".encode("latin-1"))


def test_interim_response_is_skipped(hx, face, server):
    r = send(hx, face, "GET", server + "/continue-first")
    assert r.status_code == 200
    assert r.headers["X-Final"] == "yes"
    assert "X-Interim" not in r.headers


def test_head_and_bodiless_statuses(hx, face, server):
    r = send(hx, face, "HEAD", server + "/big?size=1000")
    assert r.headers["Content-Length"] == "1000"
    assert r.content == b""
    assert send(hx, face, "GET", server + "/status/204").content == b""
    r = send(hx, face, "GET", server + "/not-modified-with-length")
    assert (r.status_code, r.content) == (304, b"")


def test_chunked_body_with_trailers(hx, face, server):
    r = send(hx, face, "GET", server + "/chunked-trailers")
    assert r.text == "body with trailers\n"
    assert "X-Trailer" not in r.headers


def test_body_framed_by_close(hx, face, server):
    assert send(hx, face, "GET", server + "/until-close").text == "read until the server closes\n"


# ---------------------------------------------------------------------------
# one hop: redirects, cookies and auth stay httpx's
# ---------------------------------------------------------------------------


def test_transport_does_not_follow_redirects(hx, face, server):
    mark = token()
    r = send(hx, face, "GET", server + f"/redirect?status=302&location=/ok&{mark}")
    assert r.status_code == 302
    assert r.headers["Location"] == "/ok"
    assert len(server.requests_with(mark)) == 1


def test_httpx_follows_redirects_hop_by_hop(hx, face, server):
    mark = token()
    url = server + f"/redirect?status=301&location=/echo-raw%3F{mark}&{mark}"
    r = send(hx, face, "GET", url, client={"follow_redirects": True})
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [301]
    assert [req.path for req in server.requests_with(mark)] == ["/redirect", "/echo-raw"]


def test_cookies_stay_in_httpx_s_jar(hx, face, server):
    url = server + "/cookie-redirect?location=/echo-raw"
    r = send(hx, face, "GET", url, client={"follow_redirects": True})
    assert parse_wire(r.content).get("Cookie") == "flavor=choco"
    assert r.history[0].cookies["flavor"] == "choco"


def test_auth_flow_is_httpx_s(hx, face, server):
    r = send(hx, face, "GET", server + "/echo-raw", auth=("user", "pass"))
    assert parse_wire(r.content).get("Authorization") == "Basic dXNlcjpwYXNz"


# ---------------------------------------------------------------------------
# connections
# ---------------------------------------------------------------------------


def test_keep_alive_reuses_the_connection(hx, server):
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        ids = {c.get(server + "/conn-id").text.split()[0] for _ in range(5)}
    assert len(ids) == 1


def test_close_drops_idle_connections(hx, server):
    transport = requestx.HTTPTransport()
    with hx.Client(transport=transport) as c:
        first = c.get(server + "/conn-id").text.split()[0]
        transport.close()
        second = c.get(server + "/conn-id").text.split()[0]
    assert first != second


def test_aclose_drops_idle_connections(hx, server):
    import asyncio

    async def go():
        transport = requestx.AsyncHTTPTransport()
        async with hx.AsyncClient(transport=transport) as c:
            first = (await c.get(server + "/conn-id")).text.split()[0]
            await transport.aclose()
            second = (await c.get(server + "/conn-id")).text.split()[0]
        return first, second

    first, second = asyncio.run(go())
    assert first != second


def test_many_concurrent_async_requests(hx, server):
    import asyncio

    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as c:
            responses = await asyncio.gather(
                *(c.get(server + "/echo-raw", params={"n": i}) for i in range(200))
            )
        return [parse_wire(r.content).target for r in responses]

    assert asyncio.run(go()) == [f"/echo-raw?n={i}" for i in range(200)]


def test_threads_share_one_sync_transport(hx, server):
    from concurrent.futures import ThreadPoolExecutor

    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with ThreadPoolExecutor(8) as pool:
            texts = list(pool.map(lambda i: c.get(server + f"/echo-raw?n={i}").content, range(64)))
    assert [parse_wire(t).target for t in texts] == [f"/echo-raw?n={i}" for i in range(64)]
