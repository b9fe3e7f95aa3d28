"""HTTP/3: ``http3=True`` (QUIC raced against TCP, falling back to HTTP/2 or
HTTP/1.1) and ``http3="only"`` (QUIC, no fallback) on both faces of the
requests surface and on both httpx transports, against hypercorn (h3_server:
QUIC and TLS over TCP on one port number), the TCP-only TLS server (its UDP
port is closed) and nginx (h2 over TCP only).

With http3=True, libcurl 8 starts the QUIC attempt first and the TCP one only
when QUIC has failed (a closed UDP port answers at once), has seen no reply
after half the happy-eyeballs timeout (100 ms) or is inconclusive after all of
it (200 ms): on loopback QUIC wins, but on a loaded machine TCP may, so the
tests that must see HTTP/3 use http3="only", and those with http3=True accept
either protocol as long as client and server agree on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pickle
import shutil

import pytest
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

import requestx
from requestx import _engine

needs_http3 = pytest.mark.skipif(
    "http3" not in _engine.features(),
    reason="this libcurl has no HTTP/3 (the system-libcurl build); requestx's bundled one has it",
)
needs_nginx = pytest.mark.skipif(
    shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"),
    reason="nginx is not installed (make test installs nginx-light)",
)

pytestmark = pytest.mark.requestx_only

BODY = bytes(range(256)) * 400  # 100 KB
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()


@pytest.fixture(scope="module")
def nginx(tls_materials):
    from servers.nginx import NginxH2

    with NginxH2(tls_materials.server_pem) as server:
        yield server


# over QUIC -------------------------------------------------------------------------


@needs_http3
def test_get_over_http3(face, h3_server, tls_materials):
    with face.session(http3="only") as s:
        r = s.get(h3_server.url + "/echo/a?x=1", verify=tls_materials.ca_file)
    assert r.status_code == 200
    assert r.http_version == "HTTP/3"
    answer = r.json()
    assert answer["method"] == "GET"
    assert answer["path"] == "/echo/a"
    assert answer["http_version"] == "HTTP/3"


@needs_http3
def test_http3_true_speaks_what_the_server_sees_and_keeps_the_connection(
    face, h3_server, tls_materials
):
    # QUIC first, TCP raced after it: HTTP/3 on loopback, HTTP/2 if TCP won
    with face.session(http3=True) as s:
        s.verify = tls_materials.ca_file
        answers = [s.get(h3_server.url + "/client") for _ in range(3)]
    versions = {r.http_version for r in answers}
    assert len(versions) == 1 and versions <= {"HTTP/3", "HTTP/2"}
    assert {r.json()["http_version"] for r in answers} == versions
    assert len({tuple(r.json()["client"]) for r in answers}) == 1


@needs_http3
def test_post_100_kb_over_http3(face, h3_server, tls_materials):
    with face.session(http3="only") as s:
        r = s.post(h3_server.url + "/upload", data=BODY, verify=tls_materials.ca_file)
    assert r.http_version == "HTTP/3"
    assert r.json() == {"length": len(BODY), "sha256": BODY_SHA256, "http_version": "HTTP/3"}


@needs_http3
def test_streamed_upload_over_http3(h3_server, tls_materials):
    chunks = [BODY[i : i + 7000] for i in range(0, len(BODY), 7000)]
    with requestx.Session(http3="only") as s:
        r = s.post(h3_server.url + "/upload", data=iter(chunks), verify=tls_materials.ca_file)
    assert r.json() == {"length": len(BODY), "sha256": BODY_SHA256, "http_version": "HTTP/3"}


@needs_http3
def test_a_session_reuses_its_quic_connection(face, h3_server, tls_materials):
    h3_server.reset_log()
    with face.session(http3="only") as s:
        for _ in range(5):
            assert s.get(h3_server.url + "/echo", verify=tls_materials.ca_file).ok
    log = h3_server.log()
    assert len(log) == 5
    assert {version for _, version in log} == {"HTTP/3"}
    assert len({client for client, _ in log}) == 1


def _concurrent_gets(url: str, ca_file: str, http3: object, count: int) -> list:
    async def main():
        async with requestx.AsyncSession(http3=http3) as s:
            s.verify = ca_file
            return await asyncio.gather(*(s.get(f"{url}/echo/{i}") for i in range(count)))

    return asyncio.run(main())


@needs_http3
def test_50_concurrent_async_requests_share_one_quic_connection(h3_server, tls_materials):
    h3_server.reset_log()
    responses = _concurrent_gets(h3_server.url, tls_materials.ca_file, "only", 50)
    assert [r.status_code for r in responses] == [200] * 50
    assert {r.http_version for r in responses} == {"HTTP/3"}
    assert sorted(r.json()["path"] for r in responses) == sorted(f"/echo/{i}" for i in range(50))
    log = h3_server.log()
    assert len(log) == 50
    assert {version for _, version in log} == {"HTTP/3"}
    assert len({client for client, _ in log}) == 1, "requests were not multiplexed"


@needs_http3
def test_concurrent_async_requests_with_fallback_allowed_share_one_connection(
    h3_server, tls_materials
):
    h3_server.reset_log()
    responses = _concurrent_gets(h3_server.url, tls_materials.ca_file, True, 50)
    assert [r.status_code for r in responses] == [200] * 50
    versions = {r.http_version for r in responses}
    assert len(versions) == 1 and versions <= {"HTTP/3", "HTTP/2"}
    assert len({client for client, _ in h3_server.log()}) == 1


# fallback and failures ---------------------------------------------------------


@needs_http3
def test_fallback_to_http11_when_the_udp_port_is_closed(face, tls_server, tls_materials):
    # the TLS server listens on TCP only (no ALPN): QUIC is refused at once
    with face.session(http3=True) as s:
        r = s.get(tls_server.url + "/ok", verify=tls_materials.ca_file)
    assert r.status_code == 200
    assert r.content == b"ok\n"
    assert r.http_version == "HTTP/1.1"


@needs_http3
@needs_nginx
def test_fallback_to_http2_over_tcp(face, nginx, tls_materials):
    nginx.reset_log()
    with face.session(http3=True) as s:
        r = s.get(nginx.tls_url + "/", verify=tls_materials.ca_file)
    assert r.text == "h2 ok"
    assert r.http_version == "HTTP/2"
    assert [proto for _, proto in nginx.log()] == ["HTTP/2.0"]


@needs_http3
def test_http3_only_against_a_closed_udp_port_is_a_connection_error(
    face, tls_server, tls_materials
):
    # refused, not timed out: the generous timeouts only guard against a hang
    e = face.raises(
        requestx.ConnectionError,
        "GET",
        tls_server.url + "/ok",
        setup=lambda s: setattr(s, "http3", "only"),
        verify=tls_materials.ca_file,
        timeout=(30, 30),
    )
    assert not isinstance(e, requestx.Timeout)
    assert e.error_type == "connection_error"


@needs_http3
def test_http3_true_through_an_http_proxy_keeps_to_the_proxy(h3_server, tls_materials):
    # libcurl asks the proxy for a CONNECT-UDP tunnel first; this proxy refuses
    # it (400), so QUIC never goes around the proxy: a CONNECT tunnel, HTTP/2
    from servers.proxy import ProxyServer

    with ProxyServer() as proxy, requestx.Session(http3=True) as s:
        r = s.get(
            h3_server.url + "/client",
            verify=tls_materials.ca_file,
            proxies={"https": proxy.url},
        )
        kinds = [record.kind for record in proxy.records]
    assert r.http_version == "HTTP/2"
    assert r.json()["http_version"] == "HTTP/2"
    assert "connect" in kinds


@needs_http3
def test_http3_over_plain_http_sends_http11(face, fault_server):
    with face.session(http3=True) as s:
        r = s.get(fault_server.url + "/echo-raw")
    assert r.http_version == "HTTP/1.1"
    assert r.content.startswith(b"GET /echo-raw HTTP/1.1\r\n")
    assert b"upgrade" not in r.content.lower()


@needs_http3
def test_http3_only_refuses_a_plain_http_url(face, isolated_fault_server):
    e = face.raises(
        requestx.exceptions.InvalidURL,
        "GET",
        isolated_fault_server.url + "/ok",
        setup=lambda s: setattr(s, "http3", "only"),
    )
    assert e.error_type == "invalid_request"
    assert "HTTP/3" in str(e)
    assert isolated_fault_server.connections_accepted == 0


# options -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", 3, "ONLY"])
def test_an_unknown_http3_value_is_refused(value):
    for make in (
        requestx.Session,
        requestx.AsyncSession,
        requestx.HTTPTransport,
        requestx.AsyncHTTPTransport,
    ):
        with pytest.raises(ValueError, match="http3 must be True, False or 'only'"):
            make(http3=value)


def test_http3_with_http2_prior_knowledge_is_refused():
    with pytest.raises(ValueError, match="prior knowledge"):
        requestx.Session(http3=True, http2="prior_knowledge")
    with pytest.raises(ValueError, match="prior knowledge"):
        requestx.HTTPTransport(http3=True, http1=False, http2=True)


def test_http3_without_libcurl_support_fails_before_sending(monkeypatch):
    monkeypatch.setattr(_engine, "features", lambda: frozenset({"http2", "ssl"}))
    for make in (
        requestx.Session,
        requestx.AsyncSession,
        requestx.HTTPTransport,
        requestx.AsyncHTTPTransport,
    ):
        for value in (True, "only"):
            with pytest.raises(RuntimeError, match="without HTTP/3 support"):
                make(http3=value)
    requestx.Session(http3=False).close()  # the default needs nothing


@needs_http3
def test_http3_is_part_of_the_engine_settings(fault_server):
    url = fault_server.url + "/ok"
    with requestx.Session(http3=True) as s, requestx.Session() as plain:
        settings = s._engine_settings(url, None, None, None)[0]
        assert settings.http_version == _engine.HTTP_VERSION_3
        assert plain._engine_settings(url, None, None, None)[0].http_version == (
            _engine.HTTP_VERSION_1_1
        )
        s.http3 = "only"
        assert s._engine_settings(url, None, None, None)[0].http_version == (
            _engine.HTTP_VERSION_3_ONLY
        )
        s.http3 = False
        assert s._engine_settings(url, None, None, None)[0].http_version == (
            _engine.HTTP_VERSION_1_1
        )


@needs_http3
@pytest.mark.parametrize("value", [True, "only"])
def test_pickled_sessions_keep_http3(value):
    with requestx.Session(http3=value) as s:
        copied = pickle.loads(pickle.dumps(s))
    assert copied.http3 == value
    copied.close()

    async def roundtrip():
        async with requestx.AsyncSession(http3=value, http2=True) as s:
            copied = pickle.loads(pickle.dumps(s))
        assert (copied.http3, copied.http2) == (value, True)
        await copied.close()

    asyncio.run(roundtrip())


# httpx transports ----------------------------------------------------------------


@pytest.fixture(params=["httpx", "httpx2"])
def hx(request):
    return pytest.importorskip(request.param)


def _httpx_get(hx, transport_face, url, ca_file, **options):
    """One GET through a fresh client on requestx's sync or async transport."""
    if transport_face == "sync":
        with hx.Client(transport=requestx.HTTPTransport(verify=ca_file, **options)) as client:
            r = client.get(url)
            r.read()
            return r

    async def main():
        transport = requestx.AsyncHTTPTransport(verify=ca_file, **options)
        async with hx.AsyncClient(transport=transport) as client:
            r = await client.get(url)
            await r.aread()
            return r

    return asyncio.run(main())


@needs_http3
@pytest.mark.parametrize("transport_face", ["sync", "async"])
def test_httpx_transport_over_http3(hx, transport_face, h3_server, tls_materials):
    r = _httpx_get(
        hx, transport_face, h3_server.url + "/echo/hx", tls_materials.ca_file, http3="only"
    )
    assert r.status_code == 200
    assert r.http_version == "HTTP/3"
    assert r.extensions["http_version"] == b"HTTP/3"
    assert r.json()["http_version"] == "HTTP/3"
    assert r.json()["path"] == "/echo/hx"


@needs_http3
@pytest.mark.parametrize("transport_face", ["sync", "async"])
def test_httpx_transport_http3_falls_back(hx, transport_face, tls_server, tls_materials):
    r = _httpx_get(hx, transport_face, tls_server.url + "/ok", tls_materials.ca_file, http3=True)
    assert r.status_code == 200
    assert r.content == b"ok\n"
    assert r.extensions["http_version"] == b"HTTP/1.1"


@needs_http3
@pytest.mark.parametrize("transport_face", ["sync", "async"])
def test_httpx_transport_http3_only_closed_udp_port(hx, transport_face, tls_server, tls_materials):
    with pytest.raises(hx.ConnectError):
        _httpx_get(hx, transport_face, tls_server.url + "/ok", tls_materials.ca_file, http3="only")


@needs_http3
def test_httpx_async_transport_multiplexes_over_quic(hx, h3_server, tls_materials):
    async def main():
        transport = requestx.AsyncHTTPTransport(verify=tls_materials.ca_file, http3="only")
        async with hx.AsyncClient(transport=transport) as client:
            return await asyncio.gather(
                *(client.post(h3_server.url + "/upload", content=BODY) for _ in range(20))
            )

    h3_server.reset_log()
    responses = asyncio.run(main())
    assert {r.extensions["http_version"] for r in responses} == {b"HTTP/3"}
    assert all(r.json()["sha256"] == BODY_SHA256 for r in responses)
    log = h3_server.log()
    assert len(log) == 20
    assert len({client for client, _ in log}) == 1
