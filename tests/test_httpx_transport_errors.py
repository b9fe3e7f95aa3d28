"""Every failure of an exchange through the httpx transports, against a real
fault server, raises the most specific exception of the request's package
(httpx or httpx2), with the request attached: refused and stalled
connections, stalls before the headers and in the body, cut and malformed
bodies, bad status lines, TLS and proxy failures, pool and upload errors."""

from __future__ import annotations

import asyncio
import time

import pytest
from _httpx_faces import face_fixture, hx_fixture, raised, send, server_fixture  # noqa: F401
from servers.proxy import ProxyServer

import requestx

pytestmark = pytest.mark.requestx_only


def _check(exc, hx, expected):
    """``exc`` is exactly hx.<expected> (not httpx's when hx is httpx2), names
    its request, and says what libcurl said."""
    assert type(exc) is getattr(hx, expected), repr(exc)
    assert isinstance(exc, hx.TransportError)
    assert exc.request is not None and type(exc.request) is hx.Request
    assert "curl error" in str(exc)


# ---------------------------------------------------------------------------
# connecting
# ---------------------------------------------------------------------------


def test_refused_connection(hx, face, refused_url):
    _check(raised(hx, face, "GET", refused_url + "/ok"), hx, "ConnectError")


def test_unresolvable_host(hx, face):
    exc = raised(hx, face, "GET", "http://no-such-host.invalid/", client={"timeout": 5})
    _check(exc, hx, "ConnectError")


def test_connect_timeout(hx, face, stalled_connect_url):
    start = time.monotonic()
    exc = raised(
        hx, face, "GET", stalled_connect_url, client={"timeout": hx.Timeout(5, connect=0.3)}
    )
    _check(exc, hx, "ConnectTimeout")
    assert time.monotonic() - start < 3


def test_tls_untrusted_certificate(hx, face, tls_server):
    _check(raised(hx, face, "GET", tls_server + "/ok"), hx, "ConnectError")


def test_tls_wrong_host(hx, face, tls_wrong_host_server, tls_materials):
    exc = raised(
        hx, face, "GET", tls_wrong_host_server + "/ok",
        transport={"verify": tls_materials.ca_file},
    )  # fmt: skip
    _check(exc, hx, "ConnectError")


def test_tls_client_certificate_required(hx, face, tls_client_cert_server, tls_materials):
    exc = raised(
        hx, face, "GET", tls_client_cert_server + "/client-cert",
        transport={"verify": tls_materials.ca_file},
    )  # fmt: skip
    # TLS 1.3: the server refuses the missing certificate after the client
    # has finished its handshake, so the failure shows when sending or reading
    assert isinstance(exc, hx.NetworkError), repr(exc)


# ---------------------------------------------------------------------------
# waiting for the response
# ---------------------------------------------------------------------------


def test_stall_before_headers_is_read_timeout(hx, face, server):
    start = time.monotonic()
    exc = raised(hx, face, "GET", server + "/stall-headers", client={"timeout": 0.3})
    _check(exc, hx, "ReadTimeout")
    assert time.monotonic() - start < 3


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/close", "RemoteProtocolError"),  # closed without a response
        ("/reset", "ReadError"),  # reset before the response
        ("/bad-status-line", "RemoteProtocolError"),
        ("/not-http", "RemoteProtocolError"),  # a reply that is no HTTP at all
        ("/headers-cut", "RemoteProtocolError"),  # the header block cut off
        ("/short", "RemoteProtocolError"),  # fewer bytes than Content-Length
        ("/truncated-chunk", "RemoteProtocolError"),  # no last chunk
        ("/bad-chunk", "ReadError"),  # a malformed chunk size
        ("/length-overflow", "RemoteProtocolError"),  # a length no body can have, 2 bytes
        ("/huge-headers", "RemoteProtocolError"),  # a 1 MiB header block
    ],
    ids=lambda value: value.strip("/"),
)
def test_broken_response_raises_the_specific_exception(hx, face, server, path, expected):
    _check(raised(hx, face, "GET", server + path), hx, expected)


def test_a_method_that_would_write_its_own_request_line_is_refused(hx, face, server):
    # httpx's own transport refuses it too (h11); nothing reaches the server
    exc = raised(hx, face, "GET /x HTTP/1.1\r\nX-Injected: 1\r\nY:", server + "/echo-raw")
    assert type(exc) is hx.LocalProtocolError
    assert "Illegal method" in str(exc)


def test_conflicting_content_lengths(hx, face, server):
    exc = raised(hx, face, "GET", server + "/conflicting-length")
    assert type(exc) is hx.RemoteProtocolError
    assert exc.request is not None


# ---------------------------------------------------------------------------
# reading the body
# ---------------------------------------------------------------------------


def test_stall_mid_body_is_read_timeout_after_the_bytes_that_came(hx, server):
    with hx.Client(transport=requestx.HTTPTransport(), timeout=0.3) as c:
        with c.stream("GET", server + "/stall-body") as r:
            chunks = r.iter_raw()
            assert next(chunks) == b"partial..."
            with pytest.raises(hx.ReadTimeout) as info:
                next(chunks)
    _check(info.value, hx, "ReadTimeout")


def test_stall_mid_body_async(hx, server):
    async def go():
        async with hx.AsyncClient(transport=requestx.AsyncHTTPTransport(), timeout=0.3) as c:
            async with c.stream("GET", server + "/stall-body") as r:
                chunks = r.aiter_raw()
                assert await chunks.__anext__() == b"partial..."
                with pytest.raises(hx.ReadTimeout) as info:
                    await chunks.__anext__()
        return info.value

    _check(asyncio.run(go()), hx, "ReadTimeout")


def test_short_body_keeps_the_bytes_that_came(hx, server):
    with hx.Client(transport=requestx.HTTPTransport()) as c:
        with c.stream("GET", server + "/short") as r:
            got = b""
            with pytest.raises(hx.RemoteProtocolError):
                for chunk in r.iter_raw():
                    got += chunk
    assert got == b"0123456789"


def test_transport_works_after_failures(hx, face, server):
    transport = {"retries": 0}
    for path in ("/close", "/reset", "/short", "/bad-chunk"):
        with pytest.raises(hx.TransportError):
            send(hx, face, "GET", server + path, transport=transport)
    assert send(hx, face, "GET", server + "/ok").text == "ok\n"


# ---------------------------------------------------------------------------
# proxies
# ---------------------------------------------------------------------------


def test_refused_proxy(hx, face, server, refused_url):
    exc = raised(hx, face, "GET", server + "/ok", transport={"proxy": refused_url})
    _check(exc, hx, "ProxyError")


@pytest.mark.parametrize("mode", ["close", "close-on-connect", "refuse-connect"])
def test_proxy_that_fails_the_tunnel(hx, face, tls_server, tls_materials, mode):
    with ProxyServer(mode=mode) as proxy:
        exc = raised(
            hx, face, "GET", tls_server + "/ok",
            transport={"proxy": proxy.url, "verify": tls_materials.ca_file},
        )  # fmt: skip
    _check(exc, hx, "ProxyError")


def test_proxy_that_drops_a_forwarded_request(hx, face, server):
    with ProxyServer(mode="close") as proxy:
        exc = raised(hx, face, "GET", server + "/ok", transport={"proxy": proxy.url})
    _check(exc, hx, "ProxyError")


def test_socks_proxy_rejecting_the_connection(hx, face, server):
    with ProxyServer(mode="socks-reject") as proxy:
        exc = raised(
            hx, face, "GET", server + "/ok", transport={"proxy": proxy.proxy_url("socks5")}
        )
    _check(exc, hx, "ProxyError")


def test_proxy_requiring_credentials_answers_407(hx, face, server):
    """A forward proxy's 407 is a response, as with httpx's own transport."""
    with ProxyServer(credentials=("u", "p")) as proxy:
        r = send(hx, face, "GET", server + "/ok", transport={"proxy": proxy.url})
    assert r.status_code == 407


# ---------------------------------------------------------------------------
# the pool, and request bodies
# ---------------------------------------------------------------------------


def test_pool_timeout_sync(hx, server):
    transport = requestx.HTTPTransport(limits=hx.Limits(max_connections=1))
    with hx.Client(transport=transport, timeout=hx.Timeout(5, pool=0.2)) as c:
        with c.stream("GET", server + "/slow-chunks?delay=2"):
            start = time.monotonic()
            with pytest.raises(hx.PoolTimeout) as info:
                c.get(server + "/ok")
            assert 0.15 < time.monotonic() - start < 2
        assert info.value.request is not None
        assert c.get(server + "/ok").status_code == 200  # the place was given back


def test_pool_timeout_async(hx, server):
    async def go():
        transport = requestx.AsyncHTTPTransport(limits=hx.Limits(max_connections=1))
        async with hx.AsyncClient(transport=transport, timeout=hx.Timeout(5, pool=0.2)) as c:
            async with c.stream("GET", server + "/slow-chunks?delay=2"):
                with pytest.raises(hx.PoolTimeout):
                    await c.get(server + "/ok")
            return (await c.get(server + "/ok")).status_code

    assert asyncio.run(go()) == 200


def test_streamed_body_shorter_than_its_content_length(hx, face, server):
    def body():
        yield b"only this"

    async def abody():
        yield b"only this"

    exc = raised(
        hx, face, "POST", server + "/echo-raw",
        content=body() if face == "sync" else abody(), headers={"Content-Length": "100"},
    )  # fmt: skip
    assert isinstance(exc, (hx.LocalProtocolError, hx.WriteError, hx.ReadError)), repr(exc)


def test_unsupported_protocol_names_the_scheme(hx, face):
    exc = raised(hx, face, "GET", "ftp://127.0.0.1/")
    assert type(exc) is hx.UnsupportedProtocol
    assert "ftp" in str(exc)
